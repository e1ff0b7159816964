// pubsub_keyspace.ts — the stream and key commands that history needs (XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM, XREAD,
// DEL, EXISTS, TYPE, SCAN, KEYS): their handlers, argument parsing and replies as in Redis 7.0.15's t_stream.c and db.c.
import { ArgvArgs, enc, equalsIgnoreCase, latin1, latin1Range, cString, strictInt, type CommandArgs, type Proto } from "./resp";
import { globMatch } from "./glob";
import { eachElement, elementCount, packArgsScratch, type U64 } from "./pubsub_entry";
import { History, Stream, MAX_ID, MIN_ID, cmpId, decrId, idString, incrId, parseU64, type Entry, type StreamId } from "./pubsub_history";

export interface KeyClient {
  resp: Proto;
  reply(s: string): void;
  /** Replies with a stream ID as a bulk string, as reply(enc.bulk(idString(id))) would (the server writes its bytes). */
  replyId(id: StreamId): void;
}

export interface KeyHost {
  readonly history: History;
  /** Parks the client until one of `keys` gets an entry above its ID, or `timeoutMs` passes (0: forever). */
  block(c: KeyClient, keys: string[], after: StreamId[], count: number, timeoutMs: number): void;
  /** A stream got new entries: serve the clients blocked on it. */
  signal(key: string): void;
}

type KeyHandler = (h: KeyHost, c: KeyClient, argv: Uint8Array[]) => void;
/** A handler that reads its arguments where they arrived (resp.ts's CommandArgs): no copy of each is made for it. */
export type InPlaceKeyHandler = (h: KeyHost, c: KeyClient, args: CommandArgs) => void;

const SYNTAX = "syntax error";
const NOT_INT = "value is not an integer or out of range";
const BAD_ID = "Invalid stream ID specified as stream command argument";
const eqi = equalsIgnoreCase;

/** Redis's streamGenericParseIDOrReply. `strict` refuses "-" and "+"; `seqGiven` accepts "<ms>-*". */
function parseId(arg: Uint8Array, missingSeq: U64, strict: boolean, allowSeqStar = false): { id: StreamId; seqGiven: boolean } | null {
  if (arg.length > 127) return null;
  const s = cString(arg);
  if (strict && (s === "-" || s === "+")) return null;
  if (s === "-") return { id: MIN_ID, seqGiven: true };
  if (s === "+") return { id: MAX_ID, seqGiven: true };
  const dot = s.indexOf("-");
  const msPart = dot === -1 ? s : s.slice(0, dot);
  const ms = parseU64(msPart);
  if (ms === null) return null;
  if (dot === -1) return { id: { ms, seq: missingSeq }, seqGiven: true };
  const seqPart = s.slice(dot + 1);
  if (allowSeqStar && seqPart === "*") return { id: { ms, seq: 0 }, seqGiven: false };
  const seq = parseU64(seqPart);
  if (seq === null) return null;
  return { id: { ms, seq }, seqGiven: true };
}

function entryReply(e: Entry): string {
  const id = idString(e.id);
  const p = e.packed;
  let s = `*2\r\n$${id.length}\r\n${id}\r\n*${elementCount(p)}\r\n`;
  eachElement(p, (start, end) => (s += `$${end - start}\r\n${latin1Range(p, start, end)}\r\n`));
  return s;
}
const entriesReply = (list: Entry[]): string => `*${list.length}\r\n` + list.map(entryReply).join("");
const nullArray = (c: KeyClient) => (c.resp === 3 ? "_\r\n" : "*-1\r\n");

/** One stream's part of an XREAD reply: [key, entries] in RESP2, key => entries in a RESP3 map. */
export function xreadPart(resp: Proto, key: string, entries: Entry[]): string {
  return (resp === 2 ? "*2\r\n" : "") + enc.bulk(key) + entriesReply(entries);
}
export const xreadHeader = (resp: Proto, n: number): string => (resp === 2 ? `*${n}\r\n` : `%${n}\r\n`);

type TrimArgs = {
  maxlen: number | undefined;
  minid: StreamId | undefined;
  approx: boolean;
  limit: number;
  noMkStream: boolean;
  /** XADD's ID, when given (not "*"): its parts, and whether it gave the sequence ("<ms>-*" did not). */
  idGiven: boolean;
  idMs: U64;
  idSeq: U64;
  seqGiven: boolean;
  /** Where the ID ("*" or given) is: the fields follow it. */
  idPos: number;
};

/**
 * The one TrimArgs that parseAddOrTrim fills, valid until its next call (the handlers use it at once). Why one: an
 * object made per XADD, then grown field by field as options were read, was garbage on every message.
 */
const TRIM_ARGS: TrimArgs = { maxlen: undefined, minid: undefined, approx: false, limit: 0, noMkStream: false, idGiven: false, idMs: 0, idSeq: 0, seqGiven: true, idPos: -1 };

/** Is argument j the one byte `b` ("*", "~", "=")? */
const oneByte = (args: CommandArgs, j: number, b: number): boolean => args.size(j) === 1 && args.byteAt(j, 0) === b;

/** The digits of argument i from byte k to `end` as a number: 1 to 15 of them, no leading zero (below 2^53, exact), else -1. */
function plainNumber(args: CommandArgs, i: number, k: number, end: number): number {
  const n = end - k;
  if (n < 1 || n > 15 || (n > 1 && args.byteAt(i, k) === 48)) return -1;
  let v = 0;
  for (; k < end; k++) {
    const d = args.byteAt(i, k) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * XADD's ID in its plain forms, "<ms>-<seq>" and "<ms>-*", read from the bytes into `a`; false for any other form,
 * which parseId reads as Redis does (both read a plain form alike). Why: parseId's strings and objects were garbage
 * on every XADD that names its ID, as the web server's daily counters do ("<day>-*").
 */
function readPlainId(args: CommandArgs, i: number, a: TrimArgs): boolean {
  const size = args.size(i);
  let dash = 0;
  while (dash < size && args.byteAt(i, dash) !== 45) dash++;
  if (dash === size) return false;
  const ms = plainNumber(args, i, 0, dash);
  if (ms < 0) return false;
  const star = size === dash + 2 && args.byteAt(i, dash + 1) === 42;
  const seq = star ? 0 : plainNumber(args, i, dash + 1, size);
  if (seq < 0) return false;
  a.idGiven = true;
  a.idMs = ms;
  a.idSeq = seq;
  a.seqGiven = !star;
  return true;
}

/** streamParseAddOrTrimArgsOrReply. Returns an error message, or the parsed arguments (TRIM_ARGS). */
function parseAddOrTrim(args: CommandArgs, xadd: boolean): TrimArgs | string {
  const a = TRIM_ARGS;
  a.maxlen = undefined;
  a.minid = undefined;
  a.approx = false;
  a.limit = 0;
  a.noMkStream = false;
  a.idGiven = false;
  a.idMs = 0;
  a.idSeq = 0;
  a.seqGiven = true;
  a.idPos = -1;
  let strategy: "none" | "maxlen" | "minid" = "none";
  let limitGiven = false;
  let i = 2;
  for (; i < args.length; i++) {
    const more = args.length - 1 - i;
    if (xadd && oneByte(args, i, 42)) break;
    if ((args.is(i, "maxlen") || args.is(i, "minid")) && more) {
      if (strategy !== "none") return "syntax error, MAXLEN and MINID options at the same time are not compatible";
      const isMax = args.is(i, "maxlen");
      a.approx = false;
      if (more >= 2 && oneByte(args, i + 1, 126)) {
        a.approx = true;
        i++;
      } else if (more >= 2 && oneByte(args, i + 1, 61)) i++;
      if (isMax) {
        const v = args.int(i + 1);
        if (v === null) return NOT_INT;
        if (v < 0) return "The MAXLEN argument must be >= 0.";
        a.maxlen = v;
        strategy = "maxlen";
      } else {
        const p = parseId(args.bytes(i + 1), 0, true);
        if (!p) return BAD_ID;
        a.minid = p.id;
        strategy = "minid";
      }
      i++;
    } else if (args.is(i, "limit") && more) {
      const v = args.int(i + 1);
      if (v === null) return NOT_INT;
      if (v < 0) return "The LIMIT argument must be >= 0.";
      a.limit = v;
      limitGiven = true;
      i++;
    } else if (xadd && args.is(i, "nomkstream")) {
      a.noMkStream = true;
    } else if (xadd) {
      if (!readPlainId(args, i, a)) {
        const p = parseId(args.bytes(i), 0, true, true);
        if (!p) return BAD_ID;
        a.idGiven = true;
        a.idMs = p.id.ms;
        a.idSeq = p.id.seq;
        a.seqGiven = p.seqGiven;
      }
      break;
    } else return SYNTAX;
  }
  a.idPos = i;
  if (a.limit && strategy === "none") return "syntax error, LIMIT cannot be used without specifying a trimming strategy";
  if (!xadd && strategy === "none") return "syntax error, XTRIM must be called with a trimming strategy";
  if (limitGiven) {
    if (!a.approx) return "syntax error, LIMIT cannot be used without the special ~ option";
  } else a.limit = a.approx ? 100 * 100 : 0;
  return a;
}

function trim(h: KeyHost, key: string, s: Stream, a: TrimArgs): number {
  const gone = s.trim(a);
  h.history.trimmed(key, gone);
  return gone.length;
}

/** XADD, on its arguments wherever they are: an array, or the received bytes (the fields are packed straight from there). */
const xadd: InPlaceKeyHandler = (h, c, args) => {
  const a = parseAddOrTrim(args, true);
  if (typeof a === "string") return c.reply(enc.error(a));
  const fieldPos = a.idPos + 1;
  const nf = args.length - fieldPos;
  if (nf < 2 || nf % 2 === 1) return c.reply(enc.error("wrong number of arguments for 'xadd' command"));
  if (a.idGiven && a.seqGiven && a.idMs === 0 && a.idSeq === 0) return c.reply(enc.error("The ID specified in XADD must be greater than 0-0"));
  const key = args.text(1);
  let s = h.history.get(key);
  if (!s) {
    if (a.noMkStream) return c.reply(enc.null(c.resp));
    s = h.history.create(key);
  }
  if (s.lastId.ms === MAX_ID.ms && s.lastId.seq === MAX_ID.seq) return c.reply(enc.error("The stream has exhausted the last possible ID, unable to add more items"));
  let id: StreamId | null;
  if (!a.idGiven) id = s.nextId(Date.now());
  else if (a.seqGiven) id = { ms: a.idMs, seq: a.idSeq };
  else if (s.lastId.ms !== a.idMs) id = { ms: a.idMs, seq: 0 };
  // "<ms>-*" after "<ms>-<max seq>": the sequence would overflow into the next millisecond, which Redis refuses.
  else if (s.lastId.seq === MAX_ID.seq) return c.reply(enc.error("Elements are too large to be stored"));
  else id = incrId(s.lastId);
  if (!id || cmpId(id, s.lastId) <= 0) return c.reply(enc.error("The ID specified in XADD is equal or smaller than the target stream top item"));
  h.history.add(key, s, id, packArgsScratch(args, fieldPos)); // copied into the node and the file's record at once
  c.replyId(id);
  if (a.maxlen !== undefined || a.minid !== undefined) trim(h, key, s, a);
  h.signal(key);
};

function rangeCommand(rev: boolean): KeyHandler {
  return (h, c, argv) => {
    const startArg = rev ? argv[3]! : argv[2]!;
    const endArg = rev ? argv[2]! : argv[3]!;
    const interval = (arg: Uint8Array, missing: U64) => {
      const excl = arg.length > 1 && arg[0] === 40;
      const p = excl ? parseId(arg.subarray(1), missing, true) : parseId(arg, missing, false);
      return p ? { id: p.id, excl } : null;
    };
    const st = interval(startArg, 0);
    if (!st) return c.reply(enc.error(BAD_ID));
    let start: StreamId | null = st.id;
    if (st.excl && !(start = incrId(st.id))) return c.reply(enc.error("invalid start ID for the interval"));
    const en = interval(endArg, MAX_ID.seq);
    if (!en) return c.reply(enc.error(BAD_ID));
    let end: StreamId | null = en.id;
    if (en.excl && !(end = decrId(en.id))) return c.reply(enc.error("invalid end ID for the interval"));
    let count = -1;
    for (let j = 4; j < argv.length; j++) {
      if (eqi(argv[j], "count") && argv.length - j - 1 >= 1) {
        const v = strictInt(argv[j + 1]!);
        if (v === null) return c.reply(enc.error(NOT_INT));
        count = v < 0 ? 0 : v;
        j++;
      } else return c.reply(enc.error(SYNTAX));
    }
    const s = h.history.get(latin1(argv[1]!));
    if (!s) return c.reply("*0\r\n");
    if (count === 0) return c.reply(nullArray(c));
    c.reply(entriesReply(rev ? s.range(start, end, count === -1 ? 0 : count, true) : s.range(start, end, count === -1 ? 0 : count)));
  };
}

const xread: KeyHandler = (h, c, argv) => {
  let timeout = -1;
  let count = 0;
  let streamsArg = 0;
  let n = 0;
  for (let i = 1; i < argv.length; i++) {
    const more = argv.length - i - 1;
    const o = argv[i]!;
    if (eqi(o, "block") && more) {
      i++;
      const v = strictInt(argv[i]!);
      if (v === null) return c.reply(enc.error("timeout is not an integer or out of range"));
      if (v < 0) return c.reply(enc.error("timeout is negative"));
      timeout = v;
    } else if (eqi(o, "count") && more) {
      i++;
      const v = strictInt(argv[i]!);
      if (v === null) return c.reply(enc.error(NOT_INT));
      count = v < 0 ? 0 : v;
    } else if (eqi(o, "streams") && more) {
      streamsArg = i + 1;
      n = argv.length - streamsArg;
      if (n % 2 !== 0) return c.reply(enc.error("Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."));
      n /= 2;
      break;
    } else if (eqi(o, "group") && more >= 2) {
      return c.reply(enc.error("The GROUP option is only supported by XREADGROUP. You called XREAD instead."));
    } else if (eqi(o, "noack")) {
      return c.reply(enc.error("The NOACK option is only supported by XREADGROUP. You called XREAD instead."));
    } else return c.reply(enc.error(SYNTAX));
  }
  if (streamsArg === 0) return c.reply(enc.error(SYNTAX));
  const keys: string[] = [];
  const after: StreamId[] = [];
  for (let i = 0; i < n; i++) {
    const key = latin1(argv[streamsArg + i]!);
    const arg = argv[streamsArg + n + i]!;
    keys.push(key);
    const s = cString(arg);
    if (s === "$") {
      after.push(h.history.get(key)?.lastId ?? MIN_ID);
      continue;
    }
    if (s === ">") return c.reply(enc.error("The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."));
    const p = parseId(arg, 0, true);
    if (!p) return c.reply(enc.error(BAD_ID));
    after.push(p.id);
  }
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = h.history.get(keys[i]!);
    if (!s || !s.length) continue;
    const last = s.lastLiveId();
    if (!last || cmpId(last, after[i]!) <= 0) continue;
    const start = incrId(after[i]!);
    if (!start) continue;
    parts.push(xreadPart(c.resp, keys[i]!, s.range(start, MAX_ID, count)));
  }
  if (parts.length) return c.reply(xreadHeader(c.resp, parts.length) + parts.join(""));
  if (timeout !== -1) return h.block(c, keys, after, count, timeout);
  c.reply(nullArray(c));
};

function scanKeys(h: KeyHost, pattern: string | null, type: string | null): string[] {
  const keys: string[] = [];
  for (const k of h.history.streams.keys()) {
    if (pattern !== null && !globMatch(pattern, k)) continue;
    if (type !== null && type !== "stream") continue;
    keys.push(k);
  }
  return keys;
}

/** The commands that also read their arguments in place, by name. */
export const KEY_IN_PLACE: Record<string, InPlaceKeyHandler> = { xadd };

/** The handlers; each command's arity, flags, ACL categories and keys are its row in pubsub_commands.ts. */
export const KEY_HANDLERS: Record<string, KeyHandler> = {
  xadd: (h, c, argv) => xadd(h, c, new ArgvArgs(argv)),
  xrange: rangeCommand(false),
  xrevrange: rangeCommand(true),
  xlen: (h, c, argv) => c.reply(enc.int(h.history.get(latin1(argv[1]!))?.length ?? 0)),
  xdel: (h, c, argv) => {
    const ids: StreamId[] = [];
    for (let j = 2; j < argv.length; j++) {
      const p = parseId(argv[j]!, 0, true);
      if (!p) return c.reply(enc.error(BAD_ID));
      ids.push(p.id);
    }
    const key = latin1(argv[1]!);
    const s = h.history.get(key);
    if (!s) return c.reply(":0\r\n");
    const gone: Entry[] = [];
    for (const id of ids) {
      const e = s.delete(id);
      if (e) gone.push(e);
    }
    h.history.deleted(key, gone);
    c.reply(enc.int(gone.length));
  },
  xtrim: (h, c, argv) => {
    const key = latin1(argv[1]!);
    const s = h.history.get(key);
    if (!s) return c.reply(":0\r\n");
    const a = parseAddOrTrim(new ArgvArgs(argv), false);
    if (typeof a === "string") return c.reply(enc.error(a));
    c.reply(enc.int(trim(h, key, s, a)));
  },
  xread: xread,
  del: (h, c, argv) => {
    let n = 0;
    for (let i = 1; i < argv.length; i++) if (h.history.deleteKey(latin1(argv[i]!))) n++;
    c.reply(enc.int(n));
  },
  exists: (h, c, argv) => {
    let n = 0;
    for (let i = 1; i < argv.length; i++) if (h.history.get(latin1(argv[i]!))) n++;
    c.reply(enc.int(n));
  },
  type: (h, c, argv) => c.reply(h.history.get(latin1(argv[1]!)) ? "+stream\r\n" : "+none\r\n"),
  keys: (h, c, argv) => {
    const pat = latin1(argv[1]!);
    const keys = pat === "*" ? [...h.history.streams.keys()] : scanKeys(h, pat, null);
    c.reply(enc.array(keys.length) + keys.map(enc.bulk).join(""));
  },
  scan: (h, c, argv) => {
    // strtoul's rules, as Redis parses cursors: an optional sign, digits, nothing else, no overflow.
    const cur = /^([+-]?)([0-9]+)$/.exec(latin1(argv[1]!));
    if (!cur || BigInt(cur[2]!) > 18446744073709551615n) return c.reply(enc.error("invalid cursor"));
    let pattern: string | null = null;
    let type: string | null = null;
    for (let i = 2; i < argv.length; ) {
      const left = argv.length - i;
      if (eqi(argv[i], "count") && left >= 2) {
        const v = strictInt(argv[i + 1]!);
        if (v === null) return c.reply(enc.error(NOT_INT));
        if (v < 1) return c.reply(enc.error(SYNTAX));
        i += 2;
      } else if (eqi(argv[i], "match") && left >= 2) {
        pattern = latin1(argv[i + 1]!);
        if (pattern === "*") pattern = null;
        i += 2;
      } else if (eqi(argv[i], "type") && left >= 2) {
        type = latin1(argv[i + 1]!).toLowerCase();
        i += 2;
      } else return c.reply(enc.error(SYNTAX));
    }
    // The whole keyspace fits in one answer, so every scan completes in one call and returns cursor 0.
    const keys = scanKeys(h, pattern, type);
    c.reply(enc.array(2) + enc.bulk("0") + enc.array(keys.length) + keys.map(enc.bulk).join(""));
  },
};
