// test/web_input.test.ts — a request's input checked (web_input.ts): a publish's fields into a notification, the
// checks every route's notification passes, channel names HTTP refuses, and a sender's text fitted to the caps.
import { describe, expect, test } from "bun:test";
import { InputError, channelRefusal, checkNotification, fitText, notificationFromFields, refuseChannelName } from "../web_input";

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
      expect(() => refuseChannelName(`a${c}b`)).toThrow(InputError);
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
