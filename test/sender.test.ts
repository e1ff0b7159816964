// test/sender.test.ts — the senders' shared toolkit on its own: each JSON accessor's one meaning (str keeps "",
// nonEmpty refuses it), the constant-time secret and HMAC checks, the text helpers, and the outcomes a forge renders.
import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { clip, firstLine, forgeNotice, hmacMatches, ignored, nonEmpty, num, obj, objs, plural, published, sameSecret, str } from "../sender";

describe("JSON accessors", () => {
  test("str is any string, the empty one included; nonEmpty refuses the empty one; neither takes a non-string", () => {
    expect(str("a")).toBe("a");
    expect(str("")).toBe("");
    expect(nonEmpty("a")).toBe("a");
    expect(nonEmpty("")).toBeUndefined();
    for (const v of [undefined, null, 0, 1, true, {}, [], ["a"]]) {
      expect(str(v)).toBeUndefined();
      expect(nonEmpty(v)).toBeUndefined();
    }
    // So an empty field stops a `??` chain with str, and falls through with nonEmpty.
    expect(str("") ?? "next").toBe("");
    expect(nonEmpty("") ?? "next").toBe("next");
  });
  test("obj is an object and never an array or null; objs reads an array's items with obj", () => {
    const o = { a: 1 };
    expect(obj(o)).toBe(o);
    for (const v of [undefined, null, "x", 3, [], [{ a: 1 }]]) expect(obj(v)).toEqual({});
    expect(obj(obj(obj(undefined).a).b)).toEqual({});
    expect(objs([o, null, "x", [1]])).toEqual([o, {}, {}, {}]);
    expect(objs(o)).toEqual([]);
    expect(objs("abc")).toEqual([]);
  });
  test("num is a number and nothing else", () => {
    expect(num(0)).toBe(0);
    expect(num(12.5)).toBe(12.5);
    for (const v of ["1", null, undefined, true, [1]]) expect(num(v)).toBeUndefined();
  });
});

describe("text helpers", () => {
  test("firstLine, clip and plural", () => {
    expect(firstLine("  Fix the parser  \n\nLonger body")).toBe("Fix the parser");
    expect(firstLine("")).toBe("");
    expect(clip("abcdef", 6)).toBe("abcdef");
    expect(clip("abcdefg", 6)).toBe("abcde…");
    expect(clip("abcdefg", 6).length).toBe(6);
    expect(plural(0, "commit")).toBe("0 commits");
    expect(plural(1, "commit")).toBe("1 commit");
    expect(plural(2, "commit")).toBe("2 commits");
  });
});

describe("checks", () => {
  test("sameSecret: equal strings only, whatever their lengths", () => {
    expect(sameSecret("s3cret", "s3cret")).toBe(true);
    expect(sameSecret("s3cre", "s3cret")).toBe(false);
    expect(sameSecret("s3cret!", "s3cret")).toBe(false);
    expect(sameSecret("", "s3cret")).toBe(false);
    expect(sameSecret("S3CRET", "s3cret")).toBe(false);
  });
  test("hmacMatches: the hex HMAC-SHA256 of the parts in order, either case; anything else is refused", () => {
    const body = Buffer.from('{"a":1}');
    const whole = createHmac("sha256", "key").update(body).digest("hex");
    expect(hmacMatches("key", [body], whole)).toBe(true);
    expect(hmacMatches("key", [body], whole.toUpperCase())).toBe(true);
    expect(hmacMatches("other", [body], whole)).toBe(false);
    expect(hmacMatches("key", [body], whole.slice(0, -1))).toBe(false);
    expect(hmacMatches("key", [body], "")).toBe(false);
    const stamped = createHmac("sha256", "key").update("1700000000:").update(body).digest("hex");
    expect(hmacMatches("key", ["1700000000:", body], stamped)).toBe(true);
    expect(hmacMatches("key", [body, "1700000000:"], stamped)).toBe(false);
    expect(hmacMatches("key", [body], stamped)).toBe(false);
  });
});

describe("outcomes", () => {
  test("published adds the url only when there is one; ignored carries its reason", () => {
    expect(published({ channel: "c", message: "m" }, "https://x.example/")).toEqual({ kind: "publish", notification: { channel: "c", message: "m", url: "https://x.example/" } });
    expect(published({ channel: "c", message: "m" }, "")).toEqual({ kind: "publish", notification: { channel: "c", message: "m" } });
    expect(published({ channel: "c", message: "m" }, undefined)).toEqual({ kind: "publish", notification: { channel: "c", message: "m" } });
    expect(ignored("not news")).toEqual({ kind: "ignored", reason: "not news" });
  });
  test("forgeNotice: the title led by the channel, the title for an empty message, the message clipped to 2000", () => {
    const make = forgeNotice("octo/hello", "github");
    expect(make("octo pushed", "abc1234 Fix", "https://github.com/octo/hello")).toEqual({
      kind: "publish",
      notification: { channel: "octo/hello", title: "octo/hello: octo pushed", message: "abc1234 Fix", source: "github", url: "https://github.com/octo/hello" },
    });
    const empty = make("octo starred octo/hello", "", undefined);
    expect(empty).toEqual({ kind: "publish", notification: { channel: "octo/hello", title: "octo/hello: octo starred octo/hello", message: "octo starred octo/hello", source: "github" } });
    const long = make("t", "x".repeat(2010), undefined);
    if (long.kind !== "publish") throw new Error(`not published: ${JSON.stringify(long)}`);
    expect(long.notification.message.length).toBe(2000);
    expect(long.notification.message.endsWith("…")).toBe(true);
  });
});
