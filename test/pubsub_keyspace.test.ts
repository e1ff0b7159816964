// test/pubsub_keyspace.test.ts — pubsub_keyspace.ts's handlers on their own, over an in-memory History and a recording host: each
// reply byte for byte (the same steps are replayed against redis-server 7.0.15 to keep the bytes honest), and when
// XADD wakes blocked readers and XREAD BLOCK parks a client.
import { unpack } from "../pubsub_entry";
import { afterAll, describe, expect, test } from "bun:test";
import { History, idString, type StreamId } from "../pubsub_history";
import { KEY_HANDLERS, type KeyClient, type KeyHost } from "../pubsub_keyspace";
import { RequestParser, encodeCommand, type Proto } from "../resp";
import { Raw, needs, startRedis } from "./helpers";

/** A host over a fresh in-memory history that records what the handlers ask of it. */
function host() {
  const history = new History(":memory:", "always");
  const signals: string[] = [];
  const blocks: { keys: string[]; after: string[]; count: number; timeoutMs: number }[] = [];
  const h: KeyHost = {
    history,
    block: (_c, keys, after: StreamId[], count, timeoutMs) => void blocks.push({ keys, after: after.map(idString), count, timeoutMs }),
    signal: (key) => void signals.push(key),
  };
  return { h, history, signals, blocks };
}

/** A client that keeps its replies; `call` runs one command (arity already checked, as pubsub_commands.ts does) and returns its reply. */
function client(h: KeyHost, resp: Proto = 2) {
  const out: string[] = [];
  const c: KeyClient = { resp, reply: (s) => void out.push(s), replyId: (id) => void out.push(`$${idString(id).length}\r\n${idString(id)}\r\n`) };
  const call = (...args: string[]): string => {
    const handler = KEY_HANDLERS[args[0]!.toLowerCase()];
    if (!handler) throw new Error(`no handler for ${args[0]}`);
    handler(h, c, args.map((a) => Buffer.from(a, "latin1")));
    return out.splice(0).join("");
  };
  return { c, call };
}

const err = (text: string) => `-ERR ${text}\r\n`;
const bulk = (s: string) => `$${s.length}\r\n${s}\r\n`;
const entry = (id: string, ...fields: string[]) => `*2\r\n${bulk(id)}*${fields.length}\r\n${fields.map(bulk).join("")}`;
const BAD_ID = err("Invalid stream ID specified as stream command argument");
const MAX = "18446744073709551615";

/** Steps run in order on one keyspace, each with the exact reply (RESP2 unless the step says 3). */
const STEPS: { resp?: Proto; args: string[]; reply: string }[] = [
  // XADD: explicit IDs, "<ms>-*", and each refusal with Redis's words.
  { args: ["XADD", "s", "1-1", "f", "v"], reply: bulk("1-1") },
  { args: ["XADD", "s", "1-*", "f", "w"], reply: bulk("1-2") },
  { args: ["XADD", "s", "1-2", "f", "x"], reply: err("The ID specified in XADD is equal or smaller than the target stream top item") },
  { args: ["XADD", "s", "0-0", "f", "x"], reply: err("The ID specified in XADD must be greater than 0-0") },
  { args: ["XADD", "s", "2-1", "f"], reply: err("wrong number of arguments for 'xadd' command") },
  { args: ["XADD", "s", "abc", "f", "v"], reply: BAD_ID },
  { args: ["XADD", "s", "MAXLEN", "1", "MINID", "0", "*", "f", "v"], reply: err("syntax error, MAXLEN and MINID options at the same time are not compatible") },
  { args: ["XADD", "s", "MAXLEN", "-1", "*", "f", "v"], reply: err("The MAXLEN argument must be >= 0.") },
  { args: ["XADD", "s", "MAXLEN", "x", "*", "f", "v"], reply: err("value is not an integer or out of range") },
  { args: ["XADD", "s", "MAXLEN", "1", "LIMIT", "10", "*", "f", "v"], reply: err("syntax error, LIMIT cannot be used without the special ~ option") },
  { args: ["XADD", "s", "LIMIT", "10", "*", "f", "v"], reply: err("syntax error, LIMIT cannot be used without specifying a trimming strategy") },
  { args: ["XADD", "nokey", "NOMKSTREAM", "*", "f", "v"], reply: "$-1\r\n" },
  { resp: 3, args: ["XADD", "nokey", "NOMKSTREAM", "*", "f", "v"], reply: "_\r\n" },
  { args: ["XADD", "s", "3-0", "f", "v", "g", "w"], reply: bulk("3-0") },
  { args: ["XLEN", "s"], reply: ":3\r\n" },
  { args: ["XLEN", "nokey"], reply: ":0\r\n" },
  // The last IDs there are: no sequence after the top one, no ID after the very last.
  { args: ["XADD", "big", `5-${MAX}`, "f", "v"], reply: bulk(`5-${MAX}`) },
  { args: ["XADD", "big", "5-*", "f", "v"], reply: err("Elements are too large to be stored") },
  { args: ["XADD", "big", `${MAX}-${MAX}`, "f", "v"], reply: bulk(`${MAX}-${MAX}`) },
  { args: ["XADD", "big", "*", "f", "v"], reply: err("The stream has exhausted the last possible ID, unable to add more items") },
  // IDs in and around the plain forms XADD reads from the bytes ("<ms>-<seq>", "<ms>-*", up to 15 digits each, no
  // leading zero); every other form goes to parseId, and both must answer as string2ull and Redis do.
  { args: ["XADD", "p", "0-*", "f", "v"], reply: bulk("0-1") },
  { args: ["XADD", "p", "01-*", "f", "v"], reply: bulk("1-0") },
  { args: ["XADD", "p", "1-*", "f", "v"], reply: bulk("1-1") },
  { args: ["XADD", "p", "999999999999999-*", "f", "v"], reply: bulk("999999999999999-0") },
  { args: ["XADD", "p", "999999999999999-999999999999999", "f", "v"], reply: bulk("999999999999999-999999999999999") },
  { args: ["XADD", "p", "999999999999999-*", "f", "v"], reply: bulk("999999999999999-1000000000000000") },
  { args: ["XADD", "p", "1000000000000000-5", "f", "v"], reply: bulk("1000000000000000-5") },
  { args: ["XADD", "p", "1000000000000000-*", "f", "v"], reply: bulk("1000000000000000-6") },
  { args: ["XADD", "p", "1000000000000000-01", "f", "v"], reply: err("The ID specified in XADD is equal or smaller than the target stream top item") },
  { args: ["XADD", "p", "1000000000000000-+7", "f", "v"], reply: bulk("1000000000000000-7") },
  { args: ["XADD", "p", " 1000000000000001-1", "f", "v"], reply: bulk("1000000000000001-1") },
  { args: ["XADD", "p", "1000000000000002", "f", "v"], reply: bulk("1000000000000002-0") },
  { args: ["XADD", "p", "1-", "f", "v"], reply: BAD_ID },
  { args: ["XADD", "p", "-1", "f", "v"], reply: BAD_ID },
  { args: ["XADD", "p", "3000000000000000-*x", "f", "v"], reply: BAD_ID },
  { args: ["XADD", "p", "3000000000000000-1-1", "f", "v"], reply: BAD_ID },
  { args: ["XADD", "p", "3000000000000000--1", "f", "v"], reply: BAD_ID },
  { args: ["XADD", "p", "3000000000000000-**", "f", "v"], reply: BAD_ID },
  { args: ["XADD", "p", "18446744073709551616-0", "f", "v"], reply: BAD_ID },
  { args: ["XADD", "p", "3000000000000000-1 ", "f", "v"], reply: BAD_ID },
  { args: ["XADD", "p", "3000000000000000-*", "f", "v"], reply: bulk("3000000000000000-0") },
  { args: ["XADD", "p", "2999999999999999-*", "f", "v"], reply: err("The ID specified in XADD is equal or smaller than the target stream top item") },
  { args: ["XLEN", "p"], reply: ":12\r\n" },
  // XADD with MAXLEN trims after adding.
  { args: ["XADD", "m", "MAXLEN", "2", "1-0", "n", "1"], reply: bulk("1-0") },
  { args: ["XADD", "m", "MAXLEN", "2", "2-0", "n", "2"], reply: bulk("2-0") },
  { args: ["XADD", "m", "MAXLEN", "=", "2", "3-0", "n", "3"], reply: bulk("3-0") },
  { args: ["XRANGE", "m", "-", "+"], reply: `*2\r\n${entry("2-0", "n", "2")}${entry("3-0", "n", "3")}` },

  // XRANGE and XREVRANGE: whole, exclusive, incomplete IDs, COUNT, and the refusals.
  { args: ["XRANGE", "s", "-", "+"], reply: `*3\r\n${entry("1-1", "f", "v")}${entry("1-2", "f", "w")}${entry("3-0", "f", "v", "g", "w")}` },
  { args: ["XRANGE", "s", "(1-1", "+", "COUNT", "1"], reply: `*1\r\n${entry("1-2", "f", "w")}` },
  { args: ["XRANGE", "s", "1", "1"], reply: `*2\r\n${entry("1-1", "f", "v")}${entry("1-2", "f", "w")}` },
  { args: ["XREVRANGE", "s", "+", "-", "COUNT", "1"], reply: `*1\r\n${entry("3-0", "f", "v", "g", "w")}` },
  { args: ["XREVRANGE", "s", "(3-0", "(1-1"], reply: `*1\r\n${entry("1-2", "f", "w")}` },
  { args: ["XRANGE", "s", "-", "+", "COUNT", "0"], reply: "*-1\r\n" },
  { resp: 3, args: ["XRANGE", "s", "-", "+", "COUNT", "0"], reply: "_\r\n" },
  { args: ["XRANGE", "s", "-", "+", "COUNT", "-5"], reply: "*-1\r\n" },
  { args: ["XRANGE", "nokey", "-", "+"], reply: "*0\r\n" },
  { args: ["XRANGE", "s", `(${MAX}-${MAX}`, "+"], reply: err("invalid start ID for the interval") },
  { args: ["XRANGE", "s", "-", "(0-0"], reply: err("invalid end ID for the interval") },
  { args: ["XRANGE", "s", "(-", "+"], reply: BAD_ID },
  { args: ["XRANGE", "s", "x", "+"], reply: BAD_ID },
  { args: ["XRANGE", "s", "-", "+", "COUNT"], reply: err("syntax error") },
  { args: ["XRANGE", "s", "-", "+", "COUNT", "x"], reply: err("value is not an integer or out of range") },

  // XREAD without BLOCK: what is there, or a null array; RESP3 answers with a map.
  { args: ["XREAD", "COUNT", "1", "STREAMS", "s", "m", "0", "2-0"], reply: `*2\r\n*2\r\n${bulk("s")}*1\r\n${entry("1-1", "f", "v")}*2\r\n${bulk("m")}*1\r\n${entry("3-0", "n", "3")}` },
  { resp: 3, args: ["XREAD", "STREAMS", "s", "1-2"], reply: `%1\r\n${bulk("s")}*1\r\n${entry("3-0", "f", "v", "g", "w")}` },
  { args: ["XREAD", "STREAMS", "s", "$"], reply: "*-1\r\n" },
  { resp: 3, args: ["XREAD", "STREAMS", "s", "nokey", "3-0", "0"], reply: "_\r\n" },
  { args: ["XREAD", "STREAMS", "s", "t", "0"], reply: err("Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.") },
  { args: ["XREAD", "GROUP", "g", "c", "STREAMS", "s", ">"], reply: err("The GROUP option is only supported by XREADGROUP. You called XREAD instead.") },
  { args: ["XREAD", "NOACK", "STREAMS", "s", "0"], reply: err("The NOACK option is only supported by XREADGROUP. You called XREAD instead.") },
  { args: ["XREAD", "STREAMS", "s", ">"], reply: err("The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.") },
  { args: ["XREAD", "STREAMS", "s", "-"], reply: BAD_ID },
  { args: ["XREAD", "BLOCK", "-1", "STREAMS", "s", "0"], reply: err("timeout is negative") },
  { args: ["XREAD", "BLOCK", "x", "STREAMS", "s", "0"], reply: err("timeout is not an integer or out of range") },
  { args: ["XREAD", "FOO", "STREAMS", "s", "0"], reply: err("syntax error") },
  { args: ["XREAD", "COUNT", "1", "s", "0"], reply: err("syntax error") },

  // XDEL and XTRIM.
  { args: ["XDEL", "s", "1-2", "9-9"], reply: ":1\r\n" },
  { args: ["XDEL", "s", "bad"], reply: BAD_ID },
  { args: ["XDEL", "nokey", "1-1"], reply: ":0\r\n" },
  { args: ["XTRIM", "s", "MAXLEN", "=", "1"], reply: ":1\r\n" },
  { args: ["XTRIM", "s", "MINID", "3-0"], reply: ":0\r\n" },
  { args: ["XTRIM", "s", "LIMIT", "1"], reply: err("syntax error, LIMIT cannot be used without specifying a trimming strategy") },
  { args: ["XTRIM", "s", "FOO", "1"], reply: err("syntax error") },
  { args: ["XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "-1"], reply: err("The LIMIT argument must be >= 0.") },
  { args: ["XTRIM", "nokey", "MAXLEN", "0"], reply: ":0\r\n" },
  { args: ["XRANGE", "s", "-", "+"], reply: `*1\r\n${entry("3-0", "f", "v", "g", "w")}` },

  // The key commands over streams.
  { args: ["EXISTS", "s", "s", "nokey"], reply: ":2\r\n" },
  { args: ["TYPE", "s"], reply: "+stream\r\n" },
  { args: ["TYPE", "nokey"], reply: "+none\r\n" },
  { args: ["XADD", "u:1", "1-0", "f", "v"], reply: bulk("1-0") },
  { args: ["KEYS", "u*"], reply: `*1\r\n${bulk("u:1")}` },
  { args: ["KEYS", "nothing*"], reply: "*0\r\n" },
  { args: ["SCAN", "0", "MATCH", "u:?", "COUNT", "10"], reply: `*2\r\n${bulk("0")}*1\r\n${bulk("u:1")}` },
  { args: ["SCAN", "0", "MATCH", "u*", "TYPE", "string"], reply: `*2\r\n${bulk("0")}*0\r\n` },
  { args: ["SCAN", "x"], reply: err("invalid cursor") },
  { args: ["SCAN", "18446744073709551616"], reply: err("invalid cursor") },
  { args: ["SCAN", "0", "COUNT", "0"], reply: err("syntax error") },
  { args: ["SCAN", "0", "MATCH"], reply: err("syntax error") },
  { args: ["DEL", "s", "m", "nokey"], reply: ":2\r\n" },
  { args: ["TYPE", "s"], reply: "+none\r\n" },
  { args: ["XLEN", "s"], reply: ":0\r\n" },
];

describe("each reply, byte for byte", () => {
  test("the steps in order", () => {
    const { h, history } = host();
    const clients = { 2: client(h, 2), 3: client(h, 3) };
    for (const step of STEPS) expect({ args: step.args, reply: clients[step.resp ?? 2].call(...step.args) }).toEqual({ args: step.args, reply: step.reply });
    history.close();
  });
});

describe("the host: woken readers and parked ones", () => {
  test("a stored XADD signals its key once; a refused one, or one NOMKSTREAM turns away, signals nothing", () => {
    const { h, history, signals } = host();
    const { call } = client(h);
    call("XADD", "s", "1-0", "f", "v");
    call("XADD", "s", "1-0", "f", "v"); // equal to the top: refused
    call("XADD", "t", "NOMKSTREAM", "*", "f", "v");
    call("XADD", "s", "MAXLEN", "0", "2-0", "f", "v"); // stored, then trimmed away: still a new entry for waiting readers
    expect(signals).toEqual(["s", "s"]);
    history.close();
  });

  test("XREAD BLOCK with nothing newer parks the client with its keys, IDs ($ resolved) and COUNT, and replies nothing", () => {
    const { h, history, blocks } = host();
    const { call } = client(h);
    call("XADD", "s", "4-2", "f", "v");
    expect(call("XREAD", "BLOCK", "0", "COUNT", "7", "STREAMS", "s", "nokey", "$", "$")).toBe("");
    expect(call("XREAD", "BLOCK", "250", "STREAMS", "s", "9")).toBe("");
    expect(blocks).toEqual([
      { keys: ["s", "nokey"], after: ["4-2", "0-0"], count: 7, timeoutMs: 0 },
      { keys: ["s"], after: ["9-0"], count: 0, timeoutMs: 250 },
    ]);
    history.close();
  });

  test("XREAD BLOCK with something newer answers at once and parks nobody", () => {
    const { h, history, blocks } = host();
    const { call } = client(h);
    call("XADD", "s", "4-2", "f", "v");
    expect(call("XREAD", "BLOCK", "0", "STREAMS", "s", "4-1")).toBe(`*1\r\n*2\r\n${bulk("s")}*1\r\n${entry("4-2", "f", "v")}`);
    expect(blocks).toEqual([]);
    history.close();
  });

  // Bun hands each socket read to the server as a Buffer, and the parser's arguments are views of it; a Buffer's
  // slice() is another view, which would keep the whole read alive for as long as the entry lives.
  test("XADD keeps copies of its fields, not views of the socket read they came in", () => {
    const { h, history } = host();
    const read = Buffer.from(encodeCommand(["XADD", "s", "1-0", "f", "value"])); // as the socket's data handler gets it
    const parser = new RequestParser();
    parser.push(read);
    const parsed = parser.next({ authRequired: false, maxBulk: 512 * 1024 * 1024 });
    if (parsed?.kind !== "command") throw new Error("the parser did not return the command");
    KEY_HANDLERS.xadd!(h, { resp: 2, reply: () => {}, replyId: () => {} }, parsed.argv);
    const stored = history.get("s")!.range({ ms: 0, seq: 0 }, { ms: 9, seq: 0 }, 0)[0]!.packed;
    expect(stored.buffer === read.buffer).toBe(false);
    read.fill(0x21);
    expect(unpack(stored).map((x) => Buffer.from(x).toString())).toEqual(["f", "value"]);
    history.close();
  });
});

// The literals above are Redis's: the same steps against a real redis-server give the same bytes.
needs("redis-server").describe("the same steps against redis-server 7.0.15", () => {
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  afterAll(async () => await redis?.stop());

  test("every reply matches", async () => {
    redis = await startRedis();
    const conns = { 2: await Raw.open(redis.port), 3: await Raw.open(redis.port) };
    conns[3].command("HELLO", "3");
    await conns[3].reply();
    conns[3].take();
    for (const step of STEPS) {
      const raw = conns[step.resp ?? 2];
      raw.command(...step.args);
      await raw.reply();
      expect({ args: step.args, reply: raw.take().toString("latin1") }).toEqual({ args: step.args, reply: step.reply });
    }
    for (const raw of Object.values(conns)) raw.close();
  });
});
