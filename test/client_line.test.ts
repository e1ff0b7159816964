// test/client_line.test.ts — the line printed for a message (issue 25): Markdown as clean text, the attachment's URL,
// broadcast buttons said to be left out, and a delete or clear said as what it did.
import { describe, expect, test } from "bun:test";
import { messageLine } from "../client_line";
import type { Envelope } from "../message";

const env = (extra: Partial<Envelope> = {}): Envelope => ({ id: "1-0", time: 1, channel: "cam", message: "motion", ...extra });

describe("messageLine", () => {
  test("an ordinary message is formatLine's line", () => {
    expect(messageLine(env({ title: "Yard", url: "https://cam.test/" }))).toBe("[cam] Yard: motion <https://cam.test/>");
  });
  test("the attachment's name and URL are printed; Markdown is clean text", () => {
    expect(messageLine(env({ attachment: { name: "yard.jpg", url: "https://n.test/file/abc.jpg", type: "image/jpeg" } }))).toBe("[cam] motion [file yard.jpg: https://n.test/file/abc.jpg]");
    expect(messageLine(env({ message: "**front** door", content_type: "text/markdown" }))).toBe("[cam] front door");
  });
  test("a broadcast button is said to be left out", () => {
    const line = messageLine(env({ actions: [{ id: "b", action: "broadcast", label: "Ring", clear: false }, { id: "v", action: "view", label: "Open", clear: false, url: "https://x.test" }] }));
    expect(line).toBe('[cam] motion ("Ring" left out: broadcast sends an Android intent, which a desktop has no use for)');
  });
  test("a delete and a clear name the notification they withdraw", () => {
    expect(messageLine(env({ event: "message_delete", sequence_id: "door-1", message: "" }))).toBe("[cam] deleted door-1");
    expect(messageLine(env({ event: "message_clear", message: "" }))).toBe("[cam] cleared 1-0");
  });
});
