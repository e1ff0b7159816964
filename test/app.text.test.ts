// test/app.text.test.ts — the app's pure rules: channel input, which of your channels or globs a message belongs to,
// messages kept per channel, links in text (trailing punctuation left out), and what counts as long.
import { describe, expect, test } from "bun:test";
import { channelMatcher, isLong, keepPerChannel, parseChannelInput, splitLinks } from "../app/text";

const env = (channel: string, n: number) => ({ id: `${n}-0`, time: n, channel, message: `m${n}` });

describe("app text rules", () => {
  test("'x, y' is two channels; blanks and repeats go", () => {
    expect(parseChannelInput("x, y ,, x")).toEqual(["x", "y"]);
    expect(parseChannelInput("  ")).toEqual([]);
  });
  test("a message belongs to its channel by name, else to the first glob that matches", () => {
    const owner = channelMatcher(["alerts", "octo/*", "o*"]);
    expect(owner("alerts")).toBe("alerts");
    expect(owner("octo/hello")).toBe("octo/*");
    expect(owner("other")).toBe("o*");
    expect(owner("zzz")).toBeNull();
  });
  test("each channel keeps its own newest ones: a busy one never pushes out a quiet one", () => {
    const all = [env("quiet", 1), ...Array.from({ length: 300 }, (_, i) => env("busy", i + 2)), env("gone", 999)];
    const kept = keepPerChannel(all, ["quiet", "busy"], 200);
    expect(kept.filter((m) => m.channel === "busy").length).toBe(200);
    expect(kept.some((m) => m.channel === "quiet")).toBe(true);
    expect(kept.some((m) => m.channel === "gone")).toBe(false);
    expect(kept[0]!.id).toBe("301-0"); // newest first
  });
  test("links are found, a sentence's punctuation stays outside, and a link with brackets keeps them", () => {
    expect(splitLinks("see https://x.test/a. Then (https://y.test/b) and https://w.test/wiki/Foo_(bar)!")).toEqual([
      { text: "see " },
      { url: "https://x.test/a" },
      { text: ". Then (" },
      { url: "https://y.test/b" },
      { text: ") and " },
      { url: "https://w.test/wiki/Foo_(bar)" },
      { text: "!" },
    ]);
    expect(splitLinks("no links here")).toEqual([{ text: "no links here" }]);
    expect(splitLinks("javascript:alert(1) ftp://x")).toEqual([{ text: "javascript:alert(1) ftp://x" }]);
  });
  test("long is over 600 characters or 12 lines", () => {
    expect(isLong("a".repeat(600))).toBe(false);
    expect(isLong("a".repeat(601))).toBe(true);
    expect(isLong("a\n".repeat(12))).toBe(true);
  });
});
