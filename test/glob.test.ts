// test/glob.test.ts — the glob matcher: Redis's documented cases, deep nesting, and random patterns checked
// against a real redis-server's own matcher (PUBSUB CHANNELS <pattern>).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { GLOB_LIMITS, compileGlob, globCostRefusal, globMatch, globWithin, MAX_NESTING, wildcardCount } from "../glob";
import { Raw, needs, seededRandom, startRedis, type Running } from "./helpers";

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

  /**
   * `text` as a subject that counts globMatch's reads of it (it reads by charCodeAt) and throws past `budget`: a
   * matcher that would run for ever fails at once, measured in work, not time (a synchronous loop outlives any timeout).
   */
  const readLimited = (text: string, budget: number): string => {
    let reads = 0;
    const subject = {
      length: text.length,
      charCodeAt(i: number): number {
        if (++reads > budget) throw new Error(`the matcher read its ${text.length}-char subject more than ${budget} times`);
        return text.charCodeAt(i);
      },
    };
    return subject as unknown as string;
  };

  test("deeply nested stars neither overflow the stack nor take forever", () => {
    // Once the rest of the pattern matches nowhere, earlier stars stop trying (Redis's skipLongerMatches): at most a
    // read per pattern byte per subject byte, where trying every split would take about 2^100 reads.
    const pat = "a*".repeat(MAX_NESTING * 5) + "b";
    expect(globMatch(pat, readLimited("a".repeat(100), pat.length * 101))).toBe(false);
    // Stars nested MAX_NESTING deep still match; one more and the matcher gives up with no match, as redis-server
    // 7.0.15 does (checked with PUBSUB CHANNELS). Without the cap, 100,000 nested stars would overflow the stack.
    expect(globMatch("*a".repeat(MAX_NESTING), "a".repeat(MAX_NESTING))).toBe(true);
    expect(globMatch("*a".repeat(MAX_NESTING + 1), "a".repeat(MAX_NESTING + 1))).toBe(false);
    expect(globMatch("*a".repeat(MAX_NESTING * 100), "a".repeat(MAX_NESTING * 100))).toBe(false);
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

describe("a stranger's glob (issue 22, Medium 4)", () => {
  test.each([
    // [glob, grant, covered]
    ["public/*", "public/*", true],
    ["public/a*", "public/*", true],
    ["public/*a*b", "public/*", true],
    ["public/[a]*", "public/*", true],
    ["public/?", "public/*", true],
    ["public/\\*", "public/*", true],
    ["public/[", "public/*", true], // an unterminated class still only matches after the prefix
    ["*", "*", true],
    ["p*", "*", true],
    ["[x]*", "*", true],
    ["public/x", "public/*", true], // a name is no pattern: the grant matches it
    ["*", "public/*", false],
    ["p*", "public/*", false],
    ["public*", "public/*", false], // also matches "publicity"
    ["publi?/*", "public/*", false],
    ["[p]ublic/*", "public/*", false],
    ["publi[c]/*", "public/*", false],
    ["publi\\c/*", "public/*", false], // covered in truth, but refused: only the plain prefix is understood
    ["?ublic/*", "public/*", false],
    ["alerts*", "alerts?", false], // the grant matches the text "alerts*", but the glob matches "alertsXYZ"
    ["alerts?", "alerts?", true],
    ["alerts[12]", "alerts?", false],
    ["a*", "a?*", false],
    ["a\\*b*", "a\\*b*", true],
    ["a*b*c", "a\\*b*", false], // a grant whose prefix is no plain text covers only itself
    ["team/*/x", "*/x", false],
    ["team", "public/*", false],
    // A grant whose prefix holds a wildcard or an escape: starting with its text proves nothing.
    ["a[b]?", "a[*", false], // the grant is "a" then a class of "*": it matches "a*", the glob matches "abx"
    ["a\\x*", "a\\*", false], // the grant is the literal "a*"; the glob matches "ax..."
    ["a?x*", "a?*", false],
  ])("%p under the grant %p: %p", (glob, grant, covered) => expect(globWithin(glob, grant)).toBe(covered));

  test("whatever it answers yes to, the grant matches every channel the glob matches (random globs and channels)", () => {
    const rnd = seededRandom(4);
    const pick = <T,>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const atoms = ["p", "public/", "pub", "a", "b", "/", "*", "?", "[", "]", "[ab]", "[^a]", "\\", "\\*", "-", "lic"];
    const grants = ["public/*", "*", "p*", "pub*", "public/a*", "a?", "public/?", "[ab]*", "a\\*", "public/[ab]*"];
    const word = (n: number) => Array.from({ length: n }, () => pick(atoms)).join("");
    const channels = Array.from({ length: 400 }, () => word(1 + Math.floor(rnd() * 5)).replace(/[\\]/g, ""));
    let yes = 0;
    for (let i = 0; i < 3000; i++) {
      const glob = word(1 + Math.floor(rnd() * 5));
      const grant = pick(grants);
      if (!globWithin(glob, grant)) continue;
      yes++;
      const allowed = compileGlob(grant);
      for (const ch of channels) if (globMatch(glob, ch)) expect({ glob, grant, ch, allowed: allowed(ch) }).toEqual({ glob, grant, ch, allowed: true });
    }
    expect(yes).toBeGreaterThan(100); // the property was tried on many covered globs, not on none
  });

  test("wildcards are counted as the matcher reads them", () => {
    expect(wildcardCount("public/x")).toBe(0);
    expect(wildcardCount("public/*")).toBe(1);
    expect(wildcardCount("public/***")).toBe(1); // a run of stars is one star
    expect(wildcardCount("a*b*c")).toBe(2);
    expect(wildcardCount("a\\*b\\?")).toBe(0);
    expect(wildcardCount("[*?]")).toBe(1); // inside a class, * and ? are plain
    expect(wildcardCount("[\\]*]x*")).toBe(2);
    expect(wildcardCount("a?[bc]*")).toBe(3);
    expect(wildcardCount("[abc")).toBe(1);
  });

  test("a costly glob is refused with the limit named; an ordinary one is not", () => {
    expect(globCostRefusal("public/*")).toBeNull();
    expect(globCostRefusal("team/*/alerts/[ab]?")).toBeNull();
    const many = "public/" + "*a".repeat(20) + "*b";
    expect(globCostRefusal(many)).toContain(`at most ${GLOB_LIMITS.maxWildcards}`);
    expect(globCostRefusal(many)).toContain("21 wildcards");
    expect(globCostRefusal("public/" + "x".repeat(300) + "*")).toContain(`at most ${GLOB_LIMITS.maxLength}`);
  });
});

needs("redis-server").describe("globMatch agrees with redis-server's stringmatchlen", () => {
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
