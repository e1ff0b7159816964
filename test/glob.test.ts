// test/glob.test.ts — the glob matcher: Redis's documented cases, deep nesting, and random patterns checked
// against a real redis-server's own matcher (PUBSUB CHANNELS <pattern>).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { compileGlob, globMatch, MAX_NESTING } from "../glob";
import { Raw, haveRedis, startRedis, type Running } from "./helpers";

describe("globMatch", () => {
  test.each([
    ["*", "anything", true],
    ["*", "", false], // a pattern never matches the empty channel: the loop needs a byte
    ["h?llo", "hello", true],
    ["h?llo", "hllo", false],
    ["h*llo", "heeeello", true],
    ["h[ae]llo", "hallo", true],
    ["h[ae]llo", "hillo", false],
    ["h[^e]llo", "hallo", true],
    ["h[^e]llo", "hello", false],
    ["h[a-b]llo", "hbllo", true],
    ["h[b-a]llo", "hallo", true], // reversed ranges are swapped
    ["h[a-b]llo", "hcllo", false],
    ["a\\*b", "a*b", true],
    ["a\\*b", "axb", false],
    ["[\\]]", "]", true],
    ["foo[", "foo", false], // the unterminated class is still left over when the string ends
    ["octo/*", "octo/hello", true],
    ["octo/*", "octo/", true], // trailing stars are skipped once the string is used up
    ["a**b", "ab", true],
    ["*a*", "bab", true],
    ["a*", "a", true],
  ])("%p ~ %p is %p", (pat, str, want) => expect(globMatch(pat, str)).toBe(want));

  test("bytes above 0x7f compare as signed chars in ranges, like C", () => {
    expect(globMatch("[a-\xff]", "b")).toBe(false); // 0xff is -1, so the range is [-1, 'a']
    expect(globMatch("[\x80-\xff]", "\x90")).toBe(true);
  });

  test("deeply nested stars neither overflow the stack nor take forever", () => {
    const pat = "a*".repeat(MAX_NESTING * 5) + "b";
    const t0 = performance.now();
    expect(globMatch(pat, "a".repeat(100))).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(0); // completing at all is the check; no timing assertion
    expect(globMatch("*".repeat(10000) + "x", "abcx")).toBe(true); // consecutive stars collapse, no recursion
  });
});

describe("compileGlob", () => {
  test("its fast paths answer exactly as globMatch, on literals, prefix stars and everything else", () => {
    const pats = ["", "*", "a", "abc", "abc*", "a*", "octo/*", "a*c", "a?c", "[ab]*", "a\\*", "**", "a**", "\x80*"];
    const strs = ["", "a", "ab", "abc", "abcd", "octo/", "octo/x", "ac", "a*", "x", "\x80", "\x80z", "a**"];
    for (const p of pats) {
      const m = compileGlob(p);
      for (const s of strs) expect({ p, s, m: m(s) }).toEqual({ p, s, m: globMatch(p, s) });
    }
  });
});

describe.skipIf(!haveRedis)("globMatch agrees with redis-server's stringmatchlen", () => {
  let redis: Running;
  let sub: Raw;
  let q: Raw;
  const CHANNELS = ["a", "b", "ab", "ba", "abc", "a*c", "a?c", "a[c", "a]c", "a\\c", "a-c", "aXc", "\x80", "\xff", "zzz", "a^c", "[", "]", "-", "^"];
  beforeAll(async () => {
    redis = await startRedis();
    sub = await Raw.open(redis.port);
    sub.command("SUBSCRIBE", ...CHANNELS.map((c) => Buffer.from(c, "latin1")));
    await sub.waitBytes(1);
    await sub.settle();
    q = await Raw.open(redis.port);
  });
  afterAll(async () => {
    sub?.close();
    q?.close();
    await redis?.stop();
  });

  test("800 random patterns", async () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    const atoms = ["a", "b", "c", "*", "?", "[", "]", "^", "-", "\\", "X", "\x80", "\xff", "[a-c]", "[^a]", "\\*"];
    for (let i = 0; i < 800; i++) {
      const pat = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => atoms[Math.floor(rand() * atoms.length)]).join("");
      q.command("PUBSUB", "CHANNELS", Buffer.from(pat, "latin1"));
      const r = await q.reply();
      if (r.type !== "array" || !r.value) throw new Error("unexpected reply");
      const redisSays = r.value.map((x) => (x.type === "bulk" && x.value ? Buffer.from(x.value).toString("latin1") : "")).sort();
      const weSay = CHANNELS.filter((c) => globMatch(pat, c)).sort();
      expect({ pat, matches: weSay }).toEqual({ pat, matches: redisSays });
    }
  }, 60000);
});
