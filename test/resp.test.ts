// test/resp.test.ts — the RESP codec on its own: every request and reply case whole, byte by byte, and split at every
// boundary; reply encoders; and fuzz runs of random, mutated and generated input through both parsers.
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
  ArgvArgs,
  equalsIgnoreCase,
  bulkIdSize,
  writeBulkId,
  type CommandArgs,
  type ParseResult,
  type ParseLimits,
  type Reply,
} from "../resp";
import { seededRandom } from "./helpers";

const b = (s: string) => Buffer.from(s, "latin1");
const LIMITS: ParseLimits = { authRequired: false, maxBulk: 512 * 1024 * 1024 };

type Outcome = string[][] | { error: string; before: string[][] };

/** Every argument of `args` through each of its accessors, which must agree with its bytes. */
function readArgs(args: CommandArgs): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const bytes = args.bytes(i);
    const text = args.text(i);
    expect(latin1(bytes)).toBe(text);
    expect(args.size(i)).toBe(bytes.length);
    for (let k = 0; k < bytes.length; k++) expect(args.byteAt(i, k)).toBe(bytes[k]!);
    expect(args.int(i)).toBe(strictInt(bytes));
    const lower = text.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
    expect(args.is(i, lower)).toBe(equalsIgnoreCase(bytes, lower));
    expect(args.is(i, lower)).toBe(true);
    expect(args.is(i, lower + "x")).toBe(false);
    const copy = new Uint8Array(bytes.length + 2).fill(0xee);
    args.copyInto(i, copy, 1);
    expect([...copy]).toEqual([0xee, ...bytes, 0xee]);
    out.push(text);
  }
  return out;
}

/**
 * Feeds `chunks` in order and collects every command (as latin1 strings) until the parser needs more or errors. With
 * `inPlace`, commands read in place are read through their accessors, and their argv() must say the same.
 */
function parseChunks(chunks: Uint8Array[], limits = LIMITS, inPlace = false): Outcome {
  const p = new RequestParser();
  const cmds: string[][] = [];
  for (const c of chunks) {
    p.push(c);
    for (;;) {
      const r = p.next(limits, inPlace);
      if (r === null) break;
      if (r.kind === "error") return { error: r.message, before: cmds };
      if (r.kind === "in-place") {
        const args = readArgs(r);
        expect(r.argv().map(latin1)).toEqual(args);
        cmds.push(args);
      } else cmds.push(r.argv.map(latin1));
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
  // A bulk's length is read in one pass when it is 1 to 9 digits without a leading zero; the rest by string2ll's rules.
  ["bulk length of leading zeros", `*2\r\n$4\r\nECHO\r\n$000000003\r\nabc\r\n`, { error: "Protocol error: invalid bulk length", before: [] }],
  ["bulk length with a leading zero", "*1\r\n$03\r\nabc\r\n", { error: "Protocol error: invalid bulk length", before: [] }],
  ["bulk length with a plus", "*1\r\n$+3\r\nabc\r\n", { error: "Protocol error: invalid bulk length", before: [] }],
  ["bulk length of 9 digits over the limit", "*1\r\n$999999999\r\n", { error: "Protocol error: invalid bulk length", before: [] }],
  ["bulk length of 10 digits", "*1\r\n$1000000000\r\n", { error: "Protocol error: invalid bulk length", before: [] }],
  ["bulk length of 20 digits", "*1\r\n$00000000000000000003\r\n", { error: "Protocol error: invalid bulk length", before: [] }],
  ["bulk length then a NUL: strchr stops there, so the line never ends", "*1\r\n$3\x00\r\nabc\r\n", []],
  ["bulk length then a space", "*1\r\n$3 \r\nabc\r\n", { error: "Protocol error: invalid bulk length", before: [] }],
  ["bulk lengths of 1, 2 and 3 digits", `*3\r\n$1\r\na\r\n$12\r\n${"b".repeat(12)}\r\n$123\r\n${"c".repeat(123)}\r\n`, [["a", "b".repeat(12), "c".repeat(123)]]],
  ["unbalanced quotes", 'ECHO "abc\r\n', { error: "Protocol error: unbalanced quotes in request", before: [] }],
  ["closing quote must end the argument", "ECHO 'a'b\r\n", { error: "Protocol error: unbalanced quotes in request", before: [] }],
  ["error after good commands", "PING\r\n*z\r\n", { error: "Protocol error: invalid multibulk length", before: [["PING"]] }],
];

describe("RequestParser", () => {
  for (const [name, input, want] of CASES) {
    test(`${name}: whole, byte by byte, and split at every boundary`, () => {
      for (const way of everySplit(input)) expect(parseChunks(way)).toEqual(want);
    });
    test(`${name}, read in place where whole: the same commands and errors, every way`, () => {
      for (const way of everySplit(input)) expect(parseChunks(way, LIMITS, true)).toEqual(want);
    });
  }

  test("in place: a whole multibulk is read where it arrived, once; one split across chunks, an inline one, or an unusual one is an argv", () => {
    const p = new RequestParser();
    const chunk = b("*3\r\n$4\r\nXADD\r\n$1\r\nk\r\n$5\r\nhello\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi");
    p.push(chunk);
    const first = p.next(LIMITS, true);
    if (first?.kind !== "in-place") throw new Error("expected a command read in place");
    expect(first.buf).toBe(chunk);
    expect(first.length).toBe(3);
    expect([...first.spans.subarray(0, 6)]).toEqual([8, 12, 18, 19, 25, 30]);
    expect(p.next(LIMITS, true)).toBeNull(); // the ECHO is not all here yet
    p.push(b("\r\nPING\r\n*1\r\n$04\r\nPING\r\n"));
    const second = p.next(LIMITS, true);
    expect(second?.kind).toBe("command"); // it began in the chunk before: the general path carried it
    const third = p.next(LIMITS, true);
    expect(third?.kind === "command" && third.argv.map(latin1)).toEqual(["PING"]); // inline
    const fourth = p.next(LIMITS, true);
    expect(fourth?.kind === "error" && fourth.message).toBe("Protocol error: invalid bulk length"); // "$04": the general path's error
  });

  test("in place: nothing is read in place before AUTH, past 64 arguments, or past a limit, and the general path says the same", () => {
    const cmd = (n: number) => `*${n}\r\n` + "$1\r\na\r\n".repeat(n);
    const kinds = (input: string, limits: ParseLimits) => {
      const p = new RequestParser();
      p.push(b(input));
      const r = p.next(limits, true);
      return r?.kind === "error" ? r.message : r?.kind;
    };
    expect(kinds(cmd(64), LIMITS)).toBe("in-place");
    expect(kinds(cmd(65), LIMITS)).toBe("command");
    expect(kinds(cmd(2), { authRequired: true, maxBulk: 1e9 })).toBe("command");
    expect(kinds("*1\r\n$11\r\n01234567890\r\n", { authRequired: false, maxBulk: 10 })).toBe("Protocol error: invalid bulk length");
    const budget = { authRequired: false, maxBulk: 1e9, maxRequest: 2 * ARG_OVERHEAD + 2 };
    expect(kinds(cmd(2), budget)).toBe("in-place");
    expect(kinds(cmd(3), budget)).toBe("Protocol error: invalid bulk length");
  });

  test("in place: the command lets go of the received chunk once all input is parsed (an idle connection keeps none)", () => {
    const p = new RequestParser();
    p.push(b("*1\r\n$4\r\nPING\r\n"));
    const r = p.next(LIMITS, true);
    if (r?.kind !== "in-place") throw new Error("expected a command read in place");
    expect(r.buf.length).toBeGreaterThan(0);
    expect(p.next(LIMITS, true)).toBeNull();
    expect(r.buf.length).toBe(0);
    expect(p.idle).toBe(true);
  });

  test("ArgvArgs reads an argv through the same accessors", () => {
    const argv = [b("XADD"), b("MaxLen"), b("1000"), b("-12"), b("\x00\xff"), b("x".repeat(40))];
    expect(readArgs(new ArgvArgs(argv))).toEqual(argv.map(latin1));
    const args = new ArgvArgs(argv);
    expect(args.is(1, "maxlen")).toBe(true);
    expect(args.is(1, "maxle")).toBe(false);
    expect(args.int(2)).toBe(1000);
    expect(args.int(3)).toBe(-12);
    expect(args.int(1)).toBeNull();
  });

  test("an incomplete command waits for more bytes", () => {
    for (const partial of ["*", "*1", "*1\r", "*1\r\n$", "*1\r\n$4\r\nPI", "*1\r\n$4\r\nPING\r", "PIN", "PING\r"]) {
      expect(parseChunks([b(partial)])).toEqual([]);
    }
  });

  test("arguments past 64 bytes are views into the received chunk; shorter ones are copies of the same bytes", () => {
    const p = new RequestParser();
    const long = "y".repeat(65);
    const chunk = b(`*3\r\n$4\r\nECHO\r\n$3\r\nabc\r\n$65\r\n${long}\r\n`);
    p.push(chunk);
    const r = p.next(LIMITS);
    if (r?.kind !== "command") throw new Error("expected a command");
    expect(r.argv[2]!.buffer).toBe(chunk.buffer);
    expect(r.argv[1]!.buffer).not.toBe(chunk.buffer);
    expect(r.argv.map((a) => Buffer.from(a).toString())).toEqual(["ECHO", "abc", long]);
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

  test("limits read in place: the same outcomes as the general path", () => {
    const small = { authRequired: false, maxBulk: 10 };
    for (const [input, limits] of [
      ["*1\r\n$11\r\n01234567890\r\n", small],
      ["*1\r\n$10\r\n0123456789\r\n", small],
      ["*11\r\n", { authRequired: true, maxBulk: 1e9 }],
      ["*1\r\n$16385\r\n", { authRequired: true, maxBulk: 1e9 }],
      ["*2\r\n$1\r\na\r\n$2\r\nbc\r\n", { authRequired: true, maxBulk: 1e9 }],
    ] as const)
      for (const way of everySplit(input)) expect(parseChunks(way, limits, true)).toEqual(parseChunks(way, limits));
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

  test("small counts come from the table, exactly as the general form writes them", () => {
    for (let n = -2; n < 40; n++) expect(enc.int(n)).toBe(`:${n}\r\n`);
    expect(enc.int(1.5)).toBe(":1.5\r\n");
  });

  test("a stream ID's bulk reply is written as bytes exactly as enc.bulk writes its text, at every digit count", () => {
    const values = [0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10_000, 99_999, 1_765_000_000_000, 999_999_999_999_999, 1e15, Number.MAX_SAFE_INTEGER];
    const random = seededRandom(7);
    for (let i = 0; i < 200; i++) values.push(Math.floor(random() * 10 ** Math.floor(random() * 16)));
    const dst = new Uint8Array(64).fill(0x21);
    for (const ms of values)
      for (const seq of [0, 7, 10, 12345, ms]) {
        const text = `${ms}-${seq}`;
        const want = enc.bulk(text);
        expect(bulkIdSize(ms, seq)).toBe(want.length);
        const end = writeBulkId(dst, 3, ms, seq);
        expect(end).toBe(3 + want.length);
        expect(latin1(dst.subarray(3, end))).toBe(want);
        expect([dst[2], dst[end]]).toEqual([0x21, 0x21]); // nothing written outside its bytes
        dst.fill(0x21);
      }
  });

  test("a delivery frame is exact, binary-safe, and its push form differs in the first byte only", () => {
    const publish = (channel: Uint8Array, message: Uint8Array) => new ArgvArgs([b("publish"), channel, message]);
    const f = encodeDelivery("message", null, publish(b("ch"), b("a\r\n\x00b")));
    expect(latin1(f)).toBe("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\na\r\n\x00b\r\n");
    const p = asPush(f);
    expect(latin1(p)).toBe(">" + latin1(f).slice(1));
    expect(latin1(encodeDelivery("pmessage", b("c*"), publish(b("ch"), b("m"))))).toBe("*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$1\r\nm\r\n");
    expect(latin1(encodeDelivery("smessage", null, publish(b(""), b(""))))).toBe("*3\r\n$8\r\nsmessage\r\n$0\r\n\r\n$0\r\n\r\n");
    // Every length's digits, and the same frame whether the arguments are an argv or read in place from a request.
    const random = seededRandom(11);
    for (const n of [1, 9, 10, 99, 100, 999, 1000, 12_345, 100_000]) {
      const message = Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
      const channel = b(`c${n}\x00\xff`);
      const want = `*4\r\n$8\r\npmessage\r\n$3\r\np:*\r\n$${channel.length}\r\n${latin1(channel)}\r\n$${n}\r\n${latin1(message)}\r\n`;
      expect(latin1(encodeDelivery("pmessage", b("p:*"), publish(channel, message)))).toBe(want);
      const parser = new RequestParser();
      parser.push(encodeCommand(["PUBLISH", channel, message]));
      const inPlace = parser.next(LIMITS, true);
      if (inPlace === null || inPlace.kind !== "in-place") throw new Error("the request was not read in place");
      expect(latin1(encodeDelivery("pmessage", b("p:*"), inPlace))).toBe(want);
    }
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

/** A reply's bytes as Redis would send them (latin1), for feeding the reply parser. */
function encodeReply(r: Reply): string {
  switch (r.type) {
    case "simple":
      return `+${r.value}\r\n`;
    case "error":
      return `-${r.value}\r\n`;
    case "int":
      return `:${r.value}\r\n`;
    case "null":
      return "_\r\n";
    case "other":
      return `${r.prefix}${r.value}\r\n`;
    case "bulk":
      return r.value === null ? "$-1\r\n" : `$${r.value.length}\r\n${latin1(r.value)}\r\n`;
    case "array":
      return r.value === null ? "*-1\r\n" : `*${r.value.length}\r\n${r.value.map(encodeReply).join("")}`;
    case "push":
      return `>${r.value.length}\r\n${r.value.map(encodeReply).join("")}`;
    case "map":
      return `%${r.value.length / 2}\r\n${r.value.map(encodeReply).join("")}`;
  }
}

/** Feeds `chunks` to one ReplyParser, calling next() after each push (or only at the end), and returns every reply. */
function parseReplies(chunks: Uint8Array[], drainEachPush = true): Reply[] {
  const p = new ReplyParser();
  const got: Reply[] = [];
  const drain = () => {
    for (let r = p.next(); r; r = p.next()) got.push(r);
  };
  for (const c of chunks) {
    p.push(c);
    if (drainEachPush) drain();
  }
  drain();
  expect(p.next()).toBeNull();
  return got;
}

/** Cuts `bytes` into pieces of 1..max bytes. */
function randomPieces(bytes: Uint8Array, rand: () => number, max: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = 1 + Math.floor(rand() * max);
    pieces.push(bytes.subarray(at, at + n));
    at += n;
  }
  return pieces;
}

/** An XRANGE reply of `n` entries, each [id, [field, value, ...]], as the stream readers get it. */
function xrangeReply(n: number, payload: number): Reply {
  const bulk = (t: string): Reply => ({ type: "bulk", value: b(t) });
  return {
    type: "array",
    value: Array.from({ length: n }, (_, i) => ({
      type: "array",
      value: [bulk(`${1700000000000 + i}-0`), { type: "array", value: [bulk("message"), bulk(`m${i}:` + "x".repeat(payload)), bulk("title"), bulk("t\r\n")] }],
    })),
  };
}

describe("ReplyParser", () => {
  const bulk = (t: string): Reply => ({ type: "bulk", value: b(t) });
  const EVERY_TYPE: Reply[] = [
    { type: "simple", value: "OK" },
    { type: "error", value: "ERR x" },
    { type: "int", value: 5 },
    { type: "int", value: -9223372036854775807 },
    bulk("abc"),
    bulk(""),
    bulk("bin\x00\r\n\xff"),
    { type: "bulk", value: null },
    { type: "array", value: [bulk("a"), { type: "int", value: 1 }] },
    { type: "push", value: [bulk("message"), bulk("c"), bulk("m")] },
    { type: "map", value: [bulk("k"), { type: "null" }] },
    { type: "array", value: null },
    { type: "array", value: [] },
    { type: "array", value: [{ type: "array", value: [{ type: "array", value: [] }, { type: "array", value: [bulk("deep")] }] }, { type: "map", value: [] }] },
    { type: "other", prefix: ",", value: "3.14" },
    { type: "other", prefix: "#", value: "t" },
    { type: "other", prefix: "(", value: "12345678901234567890" },
  ];
  const input = EVERY_TYPE.map(encodeReply).join("");

  test("every type, whole, byte by byte, and split at every boundary, gives the same replies", () => {
    for (const way of everySplit(input)) expect(parseReplies(way)).toEqual(EVERY_TYPE);
  });

  test("split in three at every pair of boundaries (a nested reply resumes at any depth)", () => {
    const nested = b(encodeReply(EVERY_TYPE[13]!) + encodeReply(xrangeReply(2, 3)) + "+OK\r\n");
    const want = parseReplies([nested]);
    expect(want).toHaveLength(3);
    for (let i = 1; i < nested.length; i++)
      for (let j = i + 1; j < nested.length; j++) expect(parseReplies([nested.subarray(0, i), nested.subarray(i, j), nested.subarray(j)])).toEqual(want);
  });

  test("verbatim strings and blob errors read as bulks; a null map or push is a null array", () => {
    expect(parseReplies([b("=7\r\ntxt:abc\r\n!5\r\nERR x\r\n%-1\r\n>-1\r\n=-1\r\n")])).toEqual([
      bulk("txt:abc"), bulk("ERR x"), { type: "array", value: null }, { type: "array", value: null }, { type: "bulk", value: null },
    ]);
  });

  test("chunks pushed before next() is called parse the same as chunks drained one by one", () => {
    const bytes = b(input);
    const pieces = Array.from(bytes, (x) => Uint8Array.of(x));
    expect(parseReplies(pieces, false)).toEqual(EVERY_TYPE);
  });

  test("a reply waits for its last byte, and a bulk for its CRLF", () => {
    for (const partial of ["+OK", "+OK\r", "$3\r\nab", "$3\r\nabc", "$3\r\nabc\r", "*2\r\n:1\r\n", "*1\r\n*1\r\n$1\r\na", "%1\r\n+k\r\n", ">1\r\n"])
      expect(parseReplies([b(partial)])).toEqual([]);
  });

  test("bulk values are copies: they outlive the chunk they came in", () => {
    const chunk = b("$3\r\nabc\r\n");
    const [r] = parseReplies([chunk]);
    chunk.fill(0);
    expect(r).toEqual(bulk("abc"));
  });

  test("big bulks (past 32 KB) in many chunks, with the next reply starting inside the chunk that ends one", () => {
    const big1 = "a".repeat(100_000);
    const big2 = "b\r\n".repeat(20_000);
    const want: Reply[] = [bulk(big1), { type: "array", value: [bulk(big2), bulk("small")] }, { type: "simple", value: "OK" }, bulk(big1)];
    const bytes = b(want.map(encodeReply).join(""));
    const rand = seededRandom(0xb16);
    for (const max of [1000, 4096, 32 * 1024 + 3, 70_000]) expect(parseReplies(randomPieces(bytes, rand, max))).toEqual(want);
    // The length line alone first, then the body a byte at a time at both ends.
    const head = `$${big1.length}\r\n`.length;
    expect(parseReplies([bytes.subarray(0, head), bytes.subarray(head, head + 1), bytes.subarray(head + 1, head + big1.length + 1), bytes.subarray(head + big1.length + 1)])).toEqual(want);
  });

  test("a 10,000-entry XRANGE reply in 1 KB chunks is the same reply as whole", () => {
    const want = xrangeReply(10_000, 40);
    const bytes = b(encodeReply(want));
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += 1024) pieces.push(bytes.subarray(at, at + 1024));
    expect(parseReplies(pieces)).toEqual([want]);
  });

  test("a huge length line costs nothing until its bytes come: the buffer grows with what arrives", () => {
    const p = new ReplyParser();
    p.push(b("$9000000000000000\r\n" + "x".repeat(40_000)));
    expect(p.next()).toBeNull();
    for (let i = 0; i < 10; i++) p.push(b("y".repeat(1000)));
    expect(p.next()).toBeNull();
  });

  test("bytes that are not RESP throw, naming what was wrong", () => {
    expect(() => parseReplies([b("?x\r\n")])).toThrow("not a RESP reply: unexpected byte");
    expect(() => parseReplies([b("$x\r\n")])).toThrow("not a RESP reply: bad length");
    expect(() => parseReplies([b("*1\r\n*01\r\n")])).toThrow("not a RESP reply: bad length");
    expect(() => parseReplies([b("$\r\n")])).toThrow("not a RESP reply: bad length");
    // What came before the bad byte was still returned.
    const p = new ReplyParser();
    p.push(b("+OK\r\n?\r\n"));
    expect(p.next()).toEqual({ type: "simple", value: "OK" });
    expect(() => p.next()).toThrow("not a RESP reply");
  });
});

describe("fuzz", () => {
  const rand = seededRandom(0x9e3779b9); // seeded: failures stay reproducible
  const alphabet = b("*$\r\n0123456789-+:\"' \\xPINGabc\x00\xff");
  /** Round `round`'s input: random bytes of `letters` on even rounds, `valid` with 1 to 4 bytes changed on odd ones. */
  const fuzzInput = (round: number, valid: Uint8Array, letters: Uint8Array): Uint8Array => {
    const letter = () => letters[Math.floor(rand() * letters.length)]!;
    if (round % 2 === 0) return new Uint8Array(1 + Math.floor(rand() * 64)).map(letter);
    const input = valid.slice();
    for (let i = 0, flips = 1 + Math.floor(rand() * 4); i < flips; i++) input[Math.floor(rand() * input.length)] = letter();
    return input;
  };

  test("random and mutated input never throws, never hangs, and always makes progress", () => {
    const valid = b("*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$5\r\nhello\r\nPING\r\n*1\r\n$4\r\nPING\r\n");
    for (let round = 0; round < 3000; round++) {
      const input = fuzzInput(round, valid, alphabet);
      const p = new RequestParser();
      let at = 0;
      let steps = 0;
      while (at < input.length) {
        const n = 1 + Math.floor(rand() * 8);
        p.push(input.subarray(at, at + n));
        at += n;
        for (;;) {
          if (++steps > 10_000) throw new Error(`parser loops on ${JSON.stringify(latin1(input))}`);
          const r = p.next({ authRequired: rand() < 0.2, maxBulk: 1 + Math.floor(rand() * 100) }, rand() < 0.5);
          if (r === null || r.kind === "error") break;
          expect(r.kind === "in-place" ? r.length : r.argv.length).toBeGreaterThan(0);
        }
      }
      // Whatever was accepted is also what a whole-buffer parse accepts (split points never change meaning).
    }
  });

  test("read in place or not, random and mutated input gives the same commands and errors, fed in random pieces", () => {
    const valid = b("*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$5\r\nhello\r\n*8\r\n$4\r\nXADD\r\n$1\r\nk\r\n$6\r\nMAXLEN\r\n$1\r\n~\r\n$2\r\n10\r\n$1\r\n*\r\n$1\r\nf\r\n$1\r\nv\r\nPING\r\n");
    for (let round = 0; round < 2000; round++) {
      const input = fuzzInput(round, valid, alphabet);
      const limits = { authRequired: rand() < 0.2, maxBulk: 1 + Math.floor(rand() * 100), maxRequest: rand() < 0.3 ? Math.floor(rand() * 600) : undefined };
      const pieces = randomPieces(input, rand, 1 + Math.floor(rand() * 16));
      expect(parseChunks(pieces, limits, true)).toEqual(parseChunks(pieces, limits));
    }
  });

  /** A random reply tree, up to `depth` aggregates deep, with binary bulks and every type. */
  function randomReply(depth: number): Reply {
    const k = Math.floor(rand() * (depth > 0 ? 12 : 8));
    const text = () => Array.from({ length: Math.floor(rand() * 6) }, () => "ab 9:_-x"[Math.floor(rand() * 8)]).join("");
    const items = (n: number) => Array.from({ length: n }, () => randomReply(depth - 1));
    switch (k) {
      case 0:
        return { type: "simple", value: text() };
      case 1:
        return { type: "error", value: `ERR ${text()}` };
      case 2:
        return { type: "int", value: Math.floor((rand() - 0.5) * 1e12) };
      case 3:
        return { type: "null" };
      case 4:
        return { type: "other", prefix: ",#("[Math.floor(rand() * 3)]!, value: text() };
      case 5:
        return { type: "bulk", value: rand() < 0.1 ? null : new Uint8Array(Math.floor(rand() * (rand() < 0.05 ? 40_000 : 12))).map(() => Math.floor(rand() * 256)) };
      case 6:
      case 7:
        return { type: "bulk", value: new Uint8Array(Math.floor(rand() * 8)).map(() => [13, 10, 36, 42, 48][Math.floor(rand() * 5)]!) };
      case 8:
        return { type: "array", value: rand() < 0.1 ? null : items(Math.floor(rand() * 5)) };
      case 9:
        return { type: "push", value: items(1 + Math.floor(rand() * 4)) };
      case 10:
        return { type: "map", value: items(2 * Math.floor(rand() * 3)) };
      default:
        return { type: "array", value: items(Math.floor(rand() * 3)) };
    }
  }

  test("reply trees: random replies, cut into random pieces, drained or not, parse back to themselves", () => {
    for (let round = 0; round < 1500; round++) {
      const replies = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => randomReply(4));
      const bytes = b(replies.map(encodeReply).join(""));
      const max = [1, 3, 16, 1024][round % 4]!;
      const got = parseReplies(randomPieces(bytes, rand, max), rand() < 0.7);
      // Compared as bytes again: a bulk's value may be a Buffer or a Uint8Array, its bytes must be the same.
      expect(got.map(encodeReply).join("")).toBe(latin1(bytes));
      expect(got.length).toBe(replies.length);
    }
  });

  test("reply parser on random and mutated bytes: returns replies, waits, or throws 'not a RESP reply', never hangs", () => {
    const valid = b(encodeReply(xrangeReply(3, 5)) + ">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n%1\r\n+k\r\n:1\r\n");
    const replyAlphabet = b("*$%>~=!+-:_,#(\r\n0123456789-abc\x00\xff");
    for (let round = 0; round < 3000; round++) {
      const input = fuzzInput(round, valid, replyAlphabet);
      const p = new ReplyParser();
      let steps = 0;
      try {
        for (const piece of randomPieces(input, rand, 8)) {
          p.push(piece);
          for (;;) {
            if (++steps > 10_000) throw new Error(`reply parser loops on ${JSON.stringify(latin1(input))}`);
            if (p.next() === null) break;
          }
        }
      } catch (e) {
        expect((e as Error).message).toStartWith("not a RESP reply");
      }
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
