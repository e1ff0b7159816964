// test/resp.test.ts — the RESP codec on its own: every request case whole, byte by byte, and split at every
// boundary; reply encoders; the reply parser; and a fuzz run of random and mutated input.
import { describe, expect, test } from "bun:test";
import {
  RequestParser,
  ReplyParser,
  encodeCommand,
  encodeCommandText,
  encodeDelivery,
  asPush,
  enc,
  splitArgs,
  strictInt,
  latin1,
  INLINE_MAX,
  ARG_OVERHEAD,
  type ParseResult,
  type ParseLimits,
} from "../resp";
import { seededRandom } from "./helpers";

const b = (s: string) => Buffer.from(s, "latin1");
const LIMITS: ParseLimits = { authRequired: false, maxBulk: 512 * 1024 * 1024 };

type Outcome = string[][] | { error: string; before: string[][] };

/** Feeds `chunks` in order and collects every command (as latin1 strings) until the parser needs more or errors. */
function parseChunks(chunks: Uint8Array[], limits = LIMITS): Outcome {
  const p = new RequestParser();
  const cmds: string[][] = [];
  for (const c of chunks) {
    p.push(c);
    for (;;) {
      const r: ParseResult = p.next(limits);
      if (r === null) break;
      if (r.kind === "error") return { error: r.message, before: cmds };
      cmds.push(r.argv.map(latin1));
    }
  }
  return cmds;
}

/** Every way of feeding `input`: whole, one byte at a time, and split in two at every boundary. */
function everySplit(input: string): Uint8Array[][] {
  const bytes = b(input);
  const ways: Uint8Array[][] = [[bytes], Array.from(bytes, (x) => Uint8Array.of(x))];
  for (let i = 1; i < bytes.length; i++) ways.push([bytes.subarray(0, i), bytes.subarray(i)]);
  return ways;
}

const CASES: [string, string, Outcome][] = [
  ["multibulk", "*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n", [["ECHO", "hello"]]],
  ["pipelined", "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n", [["PING"], ["PING"]]],
  ["binary bulk", "*2\r\n$4\r\nECHO\r\n$4\r\n\x00\r\n\xff\r\n", [["ECHO", "\x00\r\n\xff"]]],
  ["empty bulk", "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", [["ECHO", ""]]],
  ["zero count is skipped", "*0\r\n*1\r\n$1\r\nA\r\n", [["A"]]],
  ["negative count is skipped", "*-1\r\n*1\r\n$1\r\nA\r\n", [["A"]]],
  ["inline", "PING\r\n", [["PING"]]],
  ["inline with LF only", "ECHO hi\n", [["ECHO", "hi"]]],
  ["inline quotes", 'SET "a b" \'c d\' "\\x41\\n"\r\n', [["SET", "a b", "c d", "A\n"]]],
  ["inline empty lines", "\r\n\n  \r\nPING\r\n", [["PING"]]],
  ["inline then multibulk", "PING\r\n*1\r\n$4\r\nPING\r\n", [["PING"], ["PING"]]],
  ["bad count", "*x\r\n", { error: "Protocol error: invalid multibulk length", before: [] }],
  ["leading zero count", "*01\r\n", { error: "Protocol error: invalid multibulk length", before: [] }],
  ["count too large", "*2147483648\r\n", { error: "Protocol error: invalid multibulk length", before: [] }],
  ["expected dollar", "*1\r\n:1\r\n", { error: "Protocol error: expected '$', got ':'", before: [] }],
  ["negative bulk", "*1\r\n$-1\r\n", { error: "Protocol error: invalid bulk length", before: [] }],
  ["bad bulk", "*1\r\n$1a\r\n", { error: "Protocol error: invalid bulk length", before: [] }],
  ["unbalanced quotes", 'ECHO "abc\r\n', { error: "Protocol error: unbalanced quotes in request", before: [] }],
  ["closing quote must end the argument", "ECHO 'a'b\r\n", { error: "Protocol error: unbalanced quotes in request", before: [] }],
  ["error after good commands", "PING\r\n*z\r\n", { error: "Protocol error: invalid multibulk length", before: [["PING"]] }],
];

describe("RequestParser", () => {
  for (const [name, input, want] of CASES) {
    test(`${name}: whole, byte by byte, and split at every boundary`, () => {
      for (const way of everySplit(input)) expect(parseChunks(way)).toEqual(want);
    });
  }

  test("an incomplete command waits for more bytes", () => {
    for (const partial of ["*", "*1", "*1\r", "*1\r\n$", "*1\r\n$4\r\nPI", "*1\r\n$4\r\nPING\r", "PIN", "PING\r"]) {
      expect(parseChunks([b(partial)])).toEqual([]);
    }
  });

  test("arguments are views into the received chunk, not copies", () => {
    const p = new RequestParser();
    const chunk = b("*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n");
    p.push(chunk);
    const r = p.next(LIMITS);
    if (r?.kind !== "command") throw new Error("expected a command");
    expect(r.argv[1]!.buffer).toBe(chunk.buffer);
  });

  test("a big bulk arriving in many chunks is assembled once", () => {
    const payload = "x".repeat(100_000);
    const input = b(`*2\r\n$4\r\nECHO\r\n$${payload.length}\r\n${payload}\r\n*1\r\n$4\r\nPING\r\n`);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < input.length; i += 1000) chunks.push(input.subarray(i, i + 1000));
    expect(parseChunks(chunks)).toEqual([["ECHO", payload], ["PING"]]);
  });

  test("limits: inline size, count and bulk strings, and the unauthenticated caps", () => {
    expect(parseChunks([b("A".repeat(INLINE_MAX + 1))])).toEqual({ error: "Protocol error: too big inline request", before: [] });
    expect(parseChunks([b("A".repeat(INLINE_MAX))])).toEqual([]);
    expect(parseChunks([b("*" + "1".repeat(INLINE_MAX + 1))])).toEqual({ error: "Protocol error: too big mbulk count string", before: [] });
    expect(parseChunks([b("*1\r\n$" + "1".repeat(INLINE_MAX + 1))])).toEqual({ error: "Protocol error: too big bulk count string", before: [] });
    const small = { authRequired: false, maxBulk: 10 };
    expect(parseChunks([b("*1\r\n$11\r\n")], small)).toEqual({ error: "Protocol error: invalid bulk length", before: [] });
    expect(parseChunks([b("*1\r\n$10\r\n0123456789\r\n")], small)).toEqual([["0123456789"]]);
    const unauth = { authRequired: true, maxBulk: 1e9 };
    expect(parseChunks([b("*11\r\n")], unauth)).toEqual({ error: "Protocol error: unauthenticated multibulk length", before: [] });
    expect(parseChunks([b("*1\r\n$16385\r\n")], unauth)).toEqual({ error: "Protocol error: unauthenticated bulk length", before: [] });
    expect(parseChunks([b("*10\r\n")], unauth)).toEqual([]);
  });

  test("a request budget (anonymous clients): one bulk over it, or arguments adding up past it, is an invalid bulk length", () => {
    const budget = { authRequired: false, maxBulk: 1e9, maxRequest: 3 * ARG_OVERHEAD + 20 };
    const fits = 2 * ARG_OVERHEAD + 20; // one argument: its bytes plus ARG_OVERHEAD
    expect(parseChunks([b(`*1\r\n$${fits}\r\n${"x".repeat(fits)}\r\n`)], budget)).toEqual([["x".repeat(fits)]]);
    expect(parseChunks([b(`*1\r\n$${fits + 1}\r\n`)], budget)).toEqual({ error: "Protocol error: invalid bulk length", before: [] });
    // Three arguments of 6 + 7 + 7 bytes fit exactly; a fourth, even empty, does not.
    expect(parseChunks([b("*3\r\n$6\r\nabcdef\r\n$7\r\nabcdefg\r\n$7\r\nabcdefg\r\n")], budget)).toEqual([["abcdef", "abcdefg", "abcdefg"]]);
    expect(parseChunks([b("*4\r\n$6\r\nabcdef\r\n$7\r\nabcdefg\r\n$7\r\nabcdefg\r\n$0\r\n")], budget)).toEqual({ error: "Protocol error: invalid bulk length", before: [] });
    // The budget is per request: one that fits does not count against the next.
    const twice = b("*3\r\n$6\r\nabcdef\r\n$7\r\nabcdefg\r\n$7\r\nabcdefg\r\n").toString("latin1").repeat(2);
    expect(parseChunks([b(twice)], budget)).toEqual([["abcdef", "abcdefg", "abcdefg"], ["abcdef", "abcdefg", "abcdefg"]]);
    // Refused at the length line: no buffer is made for a big bulk that does not fit.
    expect(parseChunks([b("*1\r\n$536870912\r\n")], { ...budget, maxRequest: 2 * 1024 * 1024 })).toEqual({ error: "Protocol error: invalid bulk length", before: [] });
  });
});

describe("strictInt (Redis's string2ll)", () => {
  test.each([
    ["0", 0],
    ["12", 12],
    ["-7", -7],
    ["9223372036854775807", 9223372036854775807],
    ["-9223372036854775808", -9223372036854775808],
  ])("%s is %d", (s, n) => expect(strictInt(b(s))).toBe(n));
  test.each(["", "-", "+1", "01", "-0", "1a", " 1", "9223372036854775808", "123456789012345678901"])("%p is not a number", (s) =>
    expect(strictInt(b(s))).toBeNull(),
  );
});

describe("splitArgs (Redis's sdssplitargs)", () => {
  test("escapes and quotes", () => {
    expect(splitArgs(b('a "b\\tc" \'d\\\'e\' "\\xzz"'))!.map(latin1)).toEqual(["a", "b\tc", "d'e", "xzz"]);
    expect(splitArgs(b('"unterminated'))).toBeNull();
    expect(splitArgs(b("   "))).toEqual([]);
  });
});

describe("encoders", () => {
  test("replies", () => {
    expect(enc.simple("OK")).toBe("+OK\r\n");
    expect(enc.error("boom")).toBe("-ERR boom\r\n");
    expect(enc.error("-WRONGPASS x")).toBe("-WRONGPASS x\r\n");
    expect(enc.int(-3)).toBe(":-3\r\n");
    expect(enc.bulk("hi")).toBe("$2\r\nhi\r\n");
    expect(enc.null(2)).toBe("$-1\r\n");
    expect(enc.null(3)).toBe("_\r\n");
    expect(enc.map(2, 2)).toBe("*4\r\n");
    expect(enc.map(2, 3)).toBe("%2\r\n");
    expect(enc.push(3, 3)).toBe(">3\r\n");
    expect(enc.verbatim("x", 3)).toBe("=5\r\ntxt:x\r\n");
  });

  test("a delivery frame is exact, binary-safe, and its push form differs in the first byte only", () => {
    const f = encodeDelivery("message", [b("ch"), b("a\r\n\x00b")]);
    expect(latin1(f)).toBe("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\na\r\n\x00b\r\n");
    const p = asPush(f);
    expect(latin1(p)).toBe(">" + latin1(f).slice(1));
    expect(latin1(encodeDelivery("pmessage", [b("c*"), b("ch"), b("m")]))).toBe("*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$1\r\nm\r\n");
  });

  test("encodeCommand round-trips through the request parser", () => {
    const bytes = encodeCommand(["PUBLISH", "ch", Buffer.from([0, 255, 13, 10])]);
    expect(parseChunks([bytes])).toEqual([["PUBLISH", "ch", "\x00\xff\r\n"]]);
  });

  test("encodeCommandText, once UTF-8 encoded, is encodeCommand's bytes: ASCII, multi-byte, emoji, lone surrogates, empty", () => {
    const rand = seededRandom(0x5eed);
    const pool = ["a", "Z", " ", "\r", "\n", "é", "€", "😀", "\ud800", "\udfff", "\u0000", "$", "*"];
    const cases: string[][] = [["PING"], ["PUBLISH", "", ""], ["XADD", "notistream:ch", "MAXLEN", "~", "1000", "*", "message", "héllo 😀"]];
    for (let i = 0; i < 300; i++)
      cases.push(Array.from({ length: 1 + Math.floor(rand() * 5) }, () => Array.from({ length: Math.floor(rand() * 12) }, () => pool[Math.floor(rand() * pool.length)]!).join("")));
    for (const args of cases) expect(Buffer.from(encodeCommandText(args)).equals(Buffer.from(encodeCommand(args)))).toBe(true);
    // Several commands joined, as a client batches a turn, parse back as those commands.
    expect(parseChunks([Buffer.from(encodeCommandText(["PING"]) + encodeCommandText(["PUBLISH", "ch", "é"]))])).toEqual([["PING"], ["PUBLISH", "ch", "\xc3\xa9"]]);
  });
});

describe("ReplyParser", () => {
  const input = "+OK\r\n-ERR x\r\n:5\r\n$3\r\nabc\r\n$-1\r\n*2\r\n$1\r\na\r\n:1\r\n>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n%1\r\n$1\r\nk\r\n_\r\n*-1\r\n=7\r\ntxt:abc\r\n";
  test("every type, whole and split at every boundary", () => {
    for (const way of everySplit(input)) {
      const p = new ReplyParser();
      const got: string[] = [];
      for (const c of way) {
        p.push(c);
        for (let r = p.next(); r; r = p.next()) got.push(r.type);
      }
      expect(got).toEqual(["simple", "error", "int", "bulk", "bulk", "array", "push", "map", "array", "bulk"]);
    }
  });
});

describe("fuzz", () => {
  const rand = seededRandom(0x9e3779b9); // seeded: failures stay reproducible
  const alphabet = b("*$\r\n0123456789-+:\"' \\xPINGabc\x00\xff");

  test("random and mutated input never throws, never hangs, and always makes progress", () => {
    const valid = b("*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$5\r\nhello\r\nPING\r\n*1\r\n$4\r\nPING\r\n");
    for (let round = 0; round < 3000; round++) {
      let input: Uint8Array;
      if (round % 2 === 0) {
        input = new Uint8Array(1 + Math.floor(rand() * 64)).map(() => alphabet[Math.floor(rand() * alphabet.length)]!);
      } else {
        input = valid.slice();
        const flips = 1 + Math.floor(rand() * 4);
        for (let i = 0; i < flips; i++) input[Math.floor(rand() * input.length)] = alphabet[Math.floor(rand() * alphabet.length)]!;
      }
      const p = new RequestParser();
      let at = 0;
      let steps = 0;
      while (at < input.length) {
        const n = 1 + Math.floor(rand() * 8);
        p.push(input.subarray(at, at + n));
        at += n;
        for (;;) {
          if (++steps > 10_000) throw new Error(`parser loops on ${JSON.stringify(latin1(input))}`);
          const r = p.next({ authRequired: rand() < 0.2, maxBulk: 1 + Math.floor(rand() * 100) });
          if (r === null || r.kind === "error") break;
          expect(r.argv.length).toBeGreaterThan(0);
        }
      }
      // Whatever was accepted is also what a whole-buffer parse accepts (split points never change meaning).
    }
  });

  test("split points never change the parse", () => {
    for (let round = 0; round < 500; round++) {
      const args = Array.from({ length: 1 + Math.floor(rand() * 4) }, () =>
        new Uint8Array(Math.floor(rand() * 20)).map(() => Math.floor(rand() * 256)),
      );
      const bytes = encodeCommand(args);
      const whole = parseChunks([bytes]);
      const pieces: Uint8Array[] = [];
      for (let at = 0; at < bytes.length; ) {
        const n = 1 + Math.floor(rand() * 7);
        pieces.push(bytes.subarray(at, at + n));
        at += n;
      }
      expect(parseChunks(pieces)).toEqual(whole);
      expect(whole).toEqual([args.map(latin1)]);
    }
  });
});
