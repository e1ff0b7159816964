// test/message.test.ts — the envelope on its own: building, its history fields, and reading payloads back (JSON
// envelopes and plain text). A request's fields and their errors are test/web_input.test.ts's.
import { describe, expect, test } from "bun:test";
import { z } from "zod/mini";
import { OPTIONAL_FIELDS, type Envelope, type Notification, buildEnvelope, compareIds, encryptedNote, envelopeFields, envelopeFromEntry, formatLine, parsePayload, priorityFrom } from "../message";

describe("envelopes", () => {
  test("build and read back", () => {
    const env = buildEnvelope({ channel: "c", message: "m", title: "t", priority: 3 }, "1-0", 1_700_000_000_500);
    expect(env).toEqual({ id: "1-0", time: 1_700_000_000, channel: "c", message: "m", title: "t", priority: 3 });
    expect(parsePayload("c", JSON.stringify(env))).toEqual(env);
  });

  test("a plain payload is the message", () => {
    const p = parsePayload("ch", "hello there");
    expect(p.message).toBe("hello there");
    expect(p.channel).toBe("ch");
    expect(p.plain).toBe(true);
    expect(parsePayload("ch", "{not json").message).toBe("{not json");
    expect(parsePayload("ch", '{"some":"json"}').message).toBe('{"some":"json"}');
  });

  test("the printed line", () => {
    expect(formatLine({ id: "", time: 0, channel: "c", message: "m", title: "T" })).toBe("[c] T: m");
    expect(formatLine({ id: "", time: 0, channel: "c", message: "a\nb" })).toBe("[c] a b");
  });
});

describe("the envelope, defined once", () => {
  test("every optional field survives history: the stored copy reads back as the live copy, with the same time", () => {
    const n: Notification = {
      channel: "c", message: "m", title: "t", priority: 4, tags: ["a", "b"], url: "https://x.test/", source: "github",
      sequence_id: "build-42",
      actions: [
        { id: "a1b2c3d4e5", action: "view", label: "Open", clear: true, url: "https://x.test/run" },
        { id: "f6g7h8i9j0", action: "http", label: "Close, now", clear: false, url: "https://x.test/c", method: "PUT", headers: { Authorization: "Bearer x" }, body: '{"a":1}' },
        { id: "k1l2m3n4o5", action: "broadcast", label: "B", clear: false, intent: "io.x.Y", extras: { cmd: "pic" } },
      ],
      attachment: { name: "a.png", type: "image/png", size: 10, expires: 1_700_010_000, url: "https://x.test/file/a.png" },
      icon: "https://x.test/i.png", content_type: "text/markdown", encoding: "base64",
      gotify: { id: 7, priority: 9, extras: { "client::display": { contentType: "text/markdown" }, "x::y": [1, null] } },
    };
    expect([...OPTIONAL_FIELDS].sort()).toEqual(["actions", "attachment", "content_type", "encoding", "event", "gotify", "icon", "priority", "sequence_id", "source", "tags", "title", "url"]);
    const t = 1_700_000_000_999;
    const live = buildEnvelope(n, "1700000001000-0", t);
    const stored = envelopeFromEntry("1700000001000-0", envelopeFields(n, t), "c");
    expect(stored).toEqual(live);
    expect(live.time).toBe(1_700_000_000);
    for (const k of OPTIONAL_FIELDS) expect(live[k]).toEqual(n[k]);
    const del = { channel: "c", message: "", event: "message_delete" as const, sequence_id: "build-42" };
    expect(envelopeFromEntry("1-0", envelopeFields(del, t), "c")).toEqual(buildEnvelope(del, "1-0", t));
  });
  test("an unreadable field in history is dropped, as tags are, and the message still shows", () => {
    const f = ["time", "5", "channel", "c", "message", "hi"];
    const bad = [
      ["tags", "[1]"], ["actions", "{not json"], ["actions", '[{"action":"fly","label":"x","id":"1","clear":false}]'],
      ["actions", JSON.stringify(Array(4).fill({ id: "1", action: "copy", label: "x", clear: false, value: "v" }))],
      ["attachment", '{"name":"x"}'], ["event", "message_explode"], ["sequence_id", "has space"], ["sequence_id", "x".repeat(65)],
      ["content_type", "text/html"], ["encoding", "base32"],
      ["gotify", '{"id":-1}'], ["gotify", '{"id":1.5}'], ["gotify", '{"priority":3}'], ["gotify", "{not json"],
    ];
    for (const [k, v] of bad) expect(envelopeFromEntry("1-0", [...f, k!, v!], "c")).toEqual({ id: "1-0", time: 5, channel: "c", message: "hi" });
  });
  test("a reader that knows only the old fields still shows the text of a message with every new one", () => {
    // The envelope as an older reader (client, app, service worker) parsed it: unknown keys are dropped, never an error.
    const OldSchema = z.object({ id: z.string(), time: z.number(), channel: z.string(), message: z.string(), title: z.optional(z.string()) });
    const payload: Envelope = { id: "1-0", time: 1, channel: "c", message: "build passed", title: "CI", sequence_id: "b", actions: [{ id: "x", action: "view", label: "L", clear: false, url: "https://x.test" }], icon: "https://x.test/i.png", content_type: "text/markdown", attachment: { name: "f", url: "https://x.test/f" } };
    expect(OldSchema.parse(payload)).toEqual({ id: "1-0", time: 1, channel: "c", message: "build passed", title: "CI" });
    expect(parsePayload("c", JSON.stringify(payload))).toEqual(payload);
  });
  test("stream IDs compare as 64-bit numbers, past 2^53 too", () => {
    expect(compareIds("9007199254740993-0", "9007199254740992-0")).toBe(1);
    expect(compareIds("5-18446744073709551615", "5-18446744073709551614")).toBe(1);
    expect(compareIds("10-0", "9-5")).toBe(1);
    expect(compareIds("3-1", "3-1")).toBe(0);
  });
});

describe("a payload from RESP is a claim, not a fact (issue 22, High 5)", () => {
  const env = { id: "1700000000000-0", time: 1_700_000_000, channel: "alerts", message: "hi" };
  test("the channel is the frame's, never the payload's own", () => {
    expect(parsePayload("team/x", JSON.stringify(env))).toEqual({ ...env, channel: "team/x" });
  });
  test("an envelope whose id is no complete stream ID is a plain payload: its whole text, no id", () => {
    for (const id of ["1-0\nevent: x", "abc", "", "5", "1-0-0", "18446744073709551616-0", "0-18446744073709551616", "99999999999999999999-0", " 1-0"]) {
      const payload = JSON.stringify({ ...env, id });
      const p = parsePayload("alerts", payload);
      expect(p.plain).toBe(true);
      expect(p.id).toBe("");
      expect(p.message).toBe(payload);
      expect(p.channel).toBe("alerts");
    }
    expect(parsePayload("alerts", JSON.stringify({ ...env, id: "18446744073709551615-18446744073709551615" })).plain).toBeUndefined();
  });
  test("an uncached envelope (Cache: no) has no id and is taken as it came; one claiming a made-up id is still plain", () => {
    const live = { id: "", time: 1, channel: "alerts", message: "now only", title: "T", uncached: true as const };
    expect(parsePayload("x", JSON.stringify(live))).toEqual({ ...live, channel: "x" });
    for (const forged of [{ ...live, uncached: undefined }, { ...live, id: "abc" }, { ...live, uncached: "yes" }]) expect(parsePayload("x", JSON.stringify(forged)).plain).toBe(true);
    // Never a history field: envelopeFields does not write it.
    expect(envelopeFields({ channel: "c", message: "m", uncached: true }, 0)).not.toContain("uncached");
  });
  test("compareIds never throws, and what is no ID never sorts after an ID", () => {
    const junk = ["", "abc", "1-x", "-", "1-2-3", "x".repeat(100), "1".repeat(30) + "-0", "\n"];
    for (const j of junk) {
      expect(compareIds(j, "0-0")).toBe(-1);
      expect(compareIds("0-0", j)).toBe(1);
      expect(compareIds(j, j)).toBe(0);
    }
    expect(["b", "2-0", "a", "1-0"].sort(compareIds)).toEqual(["a", "b", "1-0", "2-0"]);
    expect(compareIds("5", "5-0")).toBe(0); // an incomplete ID is <ms>-0, as Redis reads it
    expect(compareIds("007-1", "7-1")).toBe(0);
    expect(compareIds("18446744073709551615-0", "18446744073709551614-99")).toBe(1);
  });
});

test("priorityFrom: 1 to 5 or ntfy's names in any case, urgent as max; anything else is none (the one reading every way in shares)", () => {
  expect(["1", " 5 ", "min", "LOW", "default", "High", "max", "urgent"].map(priorityFrom)).toEqual([1, 5, 1, 2, 3, 4, 5, 5]);
  expect(["0", "6", "04", "4.0", "", "highest", "u=3, i"].map(priorityFrom)).toEqual([null, null, null, null, null, null, null]);
});

describe("encryptedNote: what a person is shown for UnifiedPush's ciphertext (issue 26)", () => {
  test("a base64 body is a note of its size in bytes, whatever its padding; anything else is null", () => {
    for (const n of [1, 2, 3, 4, 200, 4096]) {
      const message = Buffer.from(new Uint8Array(n).fill(255)).toString("base64");
      expect(encryptedNote({ encoding: "base64", message })).toBe(`(an encrypted UnifiedPush message, ${n} bytes)`);
    }
    expect(encryptedNote({ message: "/w==" })).toBeNull();
  });
});
