// test/message.test.ts — the envelope on its own: field validation with readable errors, building, and
// reading payloads back (JSON envelopes and plain text).
import { describe, expect, test } from "bun:test";
import { InputError, OPTIONAL_FIELDS, buildEnvelope, channelRefusal, checkNotification, compareIds, envelopeFields, envelopeFromEntry, fitText, formatLine, notificationFromFields, parsePayload, refuseReserved } from "../message";

const bad = (fields: Record<string, unknown>, pattern: RegExp, status = 400, maxMessage?: number) => {
  try {
    notificationFromFields(fields, { maxMessage });
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(pattern);
    expect((err as InputError).status).toBe(status);
    return;
  }
  throw new Error(`accepted ${JSON.stringify(fields)}`);
};

describe("notificationFromFields", () => {
  test("the seed's fields", () => {
    expect(notificationFromFields({ message: "hello", channel: "channel1" })).toEqual({ channel: "channel1", message: "hello" });
  });

  test("optional fields: title, priority, tags (comma list or array), url", () => {
    expect(notificationFromFields({ channel: "c", message: "m", title: "T", priority: "5", tags: "a, b,,c", url: "https://x.test/p" }, { source: "form" })).toEqual({
      channel: "c",
      message: "m",
      title: "T",
      priority: 5,
      tags: ["a", "b", "c"],
      url: "https://x.test/p",
      source: "form",
    });
    expect(notificationFromFields({ channel: "c", message: "m", tags: ["x", "y"], priority: 1 }).tags).toEqual(["x", "y"]);
  });

  test("bad input says what is wrong", () => {
    bad({ message: "m" }, /missing "channel"/);
    bad({ channel: "  ", message: "m" }, /"channel" is empty/);
    bad({ channel: "c" }, /missing "message"/);
    bad({ channel: "c", message: "" }, /"message" is empty/);
    bad({ channel: "c", message: "m", priority: "6" }, /"priority" must be a whole number from 1 to 5/);
    bad({ channel: "c", message: "m", priority: "2.5" }, /"priority"/);
    bad({ channel: "c", message: "m", tags: [1] }, /"tags" must be a list of strings/);
    bad({ channel: "c", message: "m", url: "javascript:alert(1)" }, /"url" must start with http/);
    bad({ channel: "c", message: "m", url: "not a url" }, /"url" is not a valid URL/);
    bad({ channel: { x: 1 }, message: "m" }, /"channel" must be a string/);
    bad({ channel: "c", message: "x".repeat(11) }, /"message" is 11 bytes; the limit is 10 bytes/, 413, 10);
  });
});

describe("the checks every route's notification passes (issue 22, High 1 and 4)", () => {
  const refused = (n: Parameters<typeof checkNotification>[0], pattern: RegExp, status = 400) => {
    try {
      checkNotification(n, 100);
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).message).toMatch(pattern);
      expect((err as InputError).status).toBe(status);
      return;
    }
    throw new Error(`accepted ${JSON.stringify(n)}`);
  };

  test("channel names: the server's own and control characters (C0, DEL, C1) are refused, everything else is taken", () => {
    expect(channelRefusal("octo/hello")).toBeNull();
    expect(channelRefusal("ünïcode ✓ with spaces")).toBeNull();
    expect(channelRefusal("notistream:push")).toMatch(/the server's own/);
    for (const c of ["\n", "\r", "\u0000", "\t", "\u001b", "\u007f", "\u0085", "\u009b"]) {
      const why = channelRefusal(`a${c}b`);
      expect(why).toContain("may not hold control characters");
      expect(why).toContain(`U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")} at position 2`);
      expect(() => refuseReserved(`a${c}b`)).toThrow(InputError);
    }
    bad({ channel: "a\r\nevent: forged", message: "m" }, /control characters/);
  });

  test("a built notification: the same channel rules, the message size (413), the title length, http(s) urls only", () => {
    expect(checkNotification({ channel: "c", message: "m", title: "t", url: "https://x.test/" }, 100)).toEqual({ channel: "c", message: "m", title: "t", url: "https://x.test/" });
    refused({ channel: "notistream:x", message: "m" }, /server's own/);
    refused({ channel: "a\nb", message: "m" }, /control characters/);
    refused({ channel: " ", message: "m" }, /"channel" is empty/);
    refused({ channel: "c".repeat(1025), message: "m" }, /"channel" is longer than 1024/);
    refused({ channel: "c", message: "" }, /"message" is empty/);
    refused({ channel: "c", message: "x".repeat(101) }, /"message" is 101 bytes; the limit is 100 bytes/, 413);
    refused({ channel: "c", message: "m", title: "t".repeat(1025) }, /"title" is longer than 1024 characters/);
    refused({ channel: "c", message: "m", url: "javascript:alert(1)" }, /"url" must start with http:\/\/ or https:\/\/, got "javascript:alert\(1\)"/);
    refused({ channel: "c", message: "m", url: "file:///etc/passwd" }, /"url" must start with http/);
    refused({ channel: "c", message: "m", url: "no url" }, /"url" is not a valid URL/);
  });

  test("fitText cuts a sender's title and message to the caps with …, on whole characters, and says which it cut", () => {
    const n = { channel: "c", title: "t".repeat(5000), message: "é".repeat(100) };
    expect(fitText(n, 50)).toEqual(["title", "message"]);
    expect(n.title.length).toBe(1024);
    expect(n.title.endsWith("t…")).toBe(true);
    expect(Buffer.byteLength(n.message)).toBeLessThanOrEqual(50);
    expect(n.message).toBe("é".repeat(23) + "…"); // 47 bytes of é (2 each) is 23 whole ones
    const emoji = { channel: "c", title: "😀".repeat(600), message: "ok" };
    expect(fitText(emoji, 50)).toEqual(["title"]);
    expect(emoji.title).toBe("😀".repeat(511) + "…"); // never half a surrogate pair
    const fine = { channel: "c", title: "short", message: "short" };
    expect(fitText(fine, 50)).toEqual([]);
    expect(fine).toEqual({ channel: "c", title: "short", message: "short" });
  });
});

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
    const n = { channel: "c", message: "m", title: "t", priority: 4, tags: ["a", "b"], url: "https://x.test/", source: "github" };
    expect([...OPTIONAL_FIELDS].sort()).toEqual(["priority", "source", "tags", "title", "url"]);
    const t = 1_700_000_000_999;
    const live = buildEnvelope(n, "1700000001000-0", t);
    const stored = envelopeFromEntry("1700000001000-0", envelopeFields(n, t), "c");
    expect(stored).toEqual(live);
    expect(live.time).toBe(1_700_000_000);
    for (const k of OPTIONAL_FIELDS) expect(live[k]).toEqual(n[k]);
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
