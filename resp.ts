// resp.ts — the RESP2/RESP3 codec: an incremental command parser (multibulk and inline, as Redis 7.0's
// networking.c reads them), reply encoders, and a reply parser for clients and tests. Pure: no sockets, no timers.

/** Redis's PROTO_INLINE_MAX_SIZE: the longest inline line or count line it will wait for. */
export const INLINE_MAX = 64 * 1024;
/** Redis's default proto-max-bulk-len. */
export const DEFAULT_MAX_BULK = 512 * 1024 * 1024;
/** Bulks at least this big get their own buffer, so a slow upload is not re-copied per chunk (Redis's PROTO_MBULK_BIG_ARG). */
const BIG_ARG = 32 * 1024;
/**
 * What holding one argument costs beyond its bytes (its view object and its slot in argv), charged against a request
 * budget: without it, a million empty arguments would fit in any budget and still cost ~80 MB.
 */
export const ARG_OVERHEAD = 64;

const CR = 13;
const LF = 10;
const NUL = 0;

export type ParseLimits = {
  /** The connection has not authenticated yet and a password is set: Redis caps counts at 10 and bulks at 16384. */
  authRequired: boolean;
  /** proto-max-bulk-len. */
  maxBulk: number;
  /**
   * The most one request may hold, its arguments' bytes plus ARG_OVERHEAD each (anonymous clients); absent: no cap
   * beyond maxBulk per argument. A bulk that would pass it is refused as Redis refuses one over proto-max-bulk-len.
   */
  maxRequest?: number;
};

export type ParseResult =
  | { kind: "command"; argv: Uint8Array[] }
  | { kind: "error"; message: string }
  | null;
/** next() with inPlace: a whole command may also come back read in place, its arguments left in the received bytes. */
export type InPlaceResult = ParseResult | InPlaceCommand;

/**
 * A command's arguments read by index, whether they are an array of copies (ArgvArgs) or ranges of the received bytes
 * (InPlaceCommand): a handler written against this takes either, and reads an argument without a copy being made of it.
 */
export interface CommandArgs {
  readonly length: number;
  /** Argument i's length in bytes. */
  size(i: number): number;
  /** Byte k of argument i. */
  byteAt(i: number, k: number): number;
  /** Does argument i spell `word` (lower-case ASCII), in any case? */
  is(i: number, word: string): boolean;
  /** Argument i as Redis's string2ll reads it (strictInt). */
  int(i: number): number | null;
  /** Argument i as a binary-safe latin1 string. */
  text(i: number): string;
  /** Argument i's bytes as the general path makes an argument (a short copy or a view, see SMALL_ARG), or the argument itself. */
  bytes(i: number): Uint8Array;
  /** Copies argument i into `out` at `at`. */
  copyInto(i: number, out: Uint8Array, at: number): void;
}

/** Short copies by hand: set() is a native call, which costs more than moving a few bytes. */
const HAND_COPY = 32;

/** An argv array read through CommandArgs. */
export class ArgvArgs implements CommandArgs {
  constructor(private readonly argv: readonly Uint8Array[]) {}
  get length(): number {
    return this.argv.length;
  }
  size(i: number): number {
    return this.argv[i]!.length;
  }
  byteAt(i: number, k: number): number {
    return this.argv[i]![k]!;
  }
  is(i: number, word: string): boolean {
    return equalsIgnoreCase(this.argv[i], word);
  }
  int(i: number): number | null {
    return strictInt(this.argv[i]!);
  }
  text(i: number): string {
    return latin1(this.argv[i]!);
  }
  bytes(i: number): Uint8Array {
    return this.argv[i]!;
  }
  copyInto(i: number, out: Uint8Array, at: number): void {
    const e = this.argv[i]!;
    const n = e.length;
    if (n <= HAND_COPY) for (let j = 0; j < n; j++) out[at + j] = e[j]!;
    else out.set(e, at);
  }
}

/** The most arguments a command may have to be read in place; longer ones take the general path. */
const IN_PLACE_MAX_ARGS = 64;

/**
 * A whole command whose arguments are left where they arrived: argument i is buf[spans[2i], spans[2i + 1]). Why: a
 * copy per argument is an object per argument for the collector, which a handler that packs the bytes straight from
 * here (XADD) never needs. One per parser, reused: valid until that parser's next call.
 */
export class InPlaceCommand implements CommandArgs {
  readonly kind = "in-place";
  buf: Uint8Array = NO_BYTES;
  readonly spans = new Int32Array(2 * IN_PLACE_MAX_ARGS);
  length = 0;
  size(i: number): number {
    return this.spans[2 * i + 1]! - this.spans[2 * i]!;
  }
  byteAt(i: number, k: number): number {
    return this.buf[this.spans[2 * i]! + k]!;
  }
  is(i: number, word: string): boolean {
    const from = this.spans[2 * i]!;
    if (this.spans[2 * i + 1]! - from !== word.length) return false;
    for (let k = 0; k < word.length; k++) {
      let c = this.buf[from + k]!;
      if (c >= 65 && c <= 90) c |= 32;
      if (c !== word.charCodeAt(k)) return false;
    }
    return true;
  }
  int(i: number): number | null {
    return strictInt(this.buf, this.spans[2 * i]!, this.spans[2 * i + 1]!);
  }
  text(i: number): string {
    return latin1Range(this.buf, this.spans[2 * i]!, this.spans[2 * i + 1]!);
  }
  bytes(i: number): Uint8Array {
    const from = this.spans[2 * i]!;
    const n = this.spans[2 * i + 1]! - from;
    return n <= SMALL_ARG ? copySmall(this.buf, from, n) : this.buf.subarray(from, from + n);
  }
  copyInto(i: number, out: Uint8Array, at: number): void {
    const from = this.spans[2 * i]!;
    const n = this.spans[2 * i + 1]! - from;
    const buf = this.buf;
    if (n <= HAND_COPY) for (let j = 0; j < n; j++) out[at + j] = buf[from + j]!;
    else out.set(buf.subarray(from, from + n), at);
  }
  /** The arguments as the general path makes them: short ones copied, longer ones views (see SMALL_ARG). */
  argv(): Uint8Array[] {
    const out: Uint8Array[] = new Array(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.bytes(i);
    return out;
  }
}

/**
 * Redis's string2ll: a strict decimal, no '+', no leading zeros, at most 20 characters.
 * Returns null when the bytes are not such a number.
 */
export function strictInt(b: Uint8Array, start = 0, end = b.length): number | null {
  const len = end - start;
  if (len === 0 || len >= 21) return null;
  if (len === 1 && b[start] === 48) return 0;
  let p = start;
  let negative = false;
  if (b[p] === 45) {
    negative = true;
    p++;
    if (p === end) return null;
  }
  const first = b[p]!;
  if (first < 49 || first > 57) return null;
  let small = first - 48;
  p++;
  // Plain numbers stay in a double; only long ones (overflow checks) need BigInt.
  if (end - start <= 15) {
    for (; p < end; p++) {
      const c = b[p]!;
      if (c < 48 || c > 57) return null;
      small = small * 10 + (c - 48);
    }
    return negative ? -small : small;
  }
  // Long numbers take the BigInt path for exact overflow checks; short ones never allocate one.
  let v = BigInt(small);
  for (; p < end; p++) {
    const c = b[p]!;
    if (c < 48 || c > 57) return null;
    v = v * 10n + BigInt(c - 48);
  }
  if (negative ? v > 9223372036854775808n : v > 9223372036854775807n) return null;
  return Number(negative ? -v : v);
}

const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;
/**
 * Bytes [start, end) of `b` as latin1 (see latin1). Buffer's native latin1Slice, called on any Uint8Array: a flat
 * string with no Buffer made (a char-by-char loop built a rope, which every Map lookup by that key then flattened).
 */
export const latin1Range = (b: Uint8Array, start: number, end: number): string => latin1Slice.call(b, start, end);
/** Bytes as a binary-safe JS string: one char per byte, so Map keys and replies round-trip exactly. */
export const latin1 = (b: Uint8Array): string => latin1Slice.call(b, 0, b.length);

/** The part of bytes that C's "%s" prints: up to the first NUL. */
export function cString(b: Uint8Array): string {
  const nul = b.indexOf(NUL);
  return latin1(nul === -1 ? b : b.subarray(0, nul));
}

/** Does `b` spell `word` (lower-case ASCII), in any case? No string is built. */
export function equalsIgnoreCase(b: Uint8Array | undefined, word: string): boolean {
  if (b === undefined || b.length !== word.length) return false;
  for (let i = 0; i < b.length; i++) {
    let c = b[i]!;
    if (c >= 65 && c <= 90) c |= 32;
    if (c !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** Shared empties for a parser with nothing buffered and no command under way (no allocation per idle connection). */
const NO_BYTES = new Uint8Array(0);
const NO_ARGS: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];

/** The unparsed tail of `buf` (from `pos`) followed by `chunk`: the chunk itself when nothing is left over. */
function joinTail(buf: Uint8Array, pos: number, chunk: Uint8Array): Uint8Array {
  if (pos >= buf.length) return chunk; // no leftover: keep the chunk itself, no copy
  const left = buf.length - pos;
  const merged = new Uint8Array(left + chunk.length); // copy only the unparsed tail
  merged.set(buf.subarray(pos), 0);
  merged.set(chunk, left);
  return merged;
}

/**
 * Arguments up to this size are copied, larger ones are views. A view of a socket chunk makes JSC give the chunk an
 * ArrayBuffer of its own (and the view is a heavier object); a short copy is a plain allocation and a few byte moves.
 */
const SMALL_ARG = 64;
function copySmall(buf: Uint8Array, from: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = buf[from + i]!;
  return out;
}

function indexOfStopAtNul(buf: Uint8Array, byte: number, from: number): number {
  // Redis uses strchr on a NUL-terminated buffer: a NUL hides everything after it.
  for (let i = from; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === byte) return i;
    if (c === NUL) return -1;
  }
  return -1;
}

/**
 * Redis's sdssplitargs: splits an inline command line into arguments, honouring "double" quotes
 * with \n \r \t \b \a \\ \" and \xHH escapes, and 'single' quotes with \'. Returns null on unbalanced quotes.
 */
export function splitArgs(line: Uint8Array): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  let p = 0;
  const n = line.length;
  const at = (i: number): number => (i < n ? line[i]! : NUL);
  const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);
  const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
  const hexVal = (c: number) => (c <= 57 ? c - 48 : (c | 32) - 87);
  for (;;) {
    while (at(p) !== NUL && isSpace(at(p))) p++;
    if (at(p) === NUL) return out;
    let inq = false;
    let insq = false;
    let done = false;
    const cur: number[] = [];
    while (!done) {
      const c = at(p);
      if (inq) {
        if (c === 92 && at(p + 1) === 120 && isHex(at(p + 2)) && isHex(at(p + 3))) {
          cur.push(hexVal(at(p + 2)) * 16 + hexVal(at(p + 3)));
          p += 3;
        } else if (c === 92 && at(p + 1) !== NUL) {
          p++;
          const e = at(p);
          cur.push(e === 110 ? 10 : e === 114 ? 13 : e === 116 ? 9 : e === 98 ? 8 : e === 97 ? 7 : e);
        } else if (c === 34) {
          if (at(p + 1) !== NUL && !isSpace(at(p + 1))) return null;
          done = true;
        } else if (c === NUL) {
          return null;
        } else {
          cur.push(c);
        }
      } else if (insq) {
        if (c === 92 && at(p + 1) === 39) {
          p++;
          cur.push(39);
        } else if (c === 39) {
          if (at(p + 1) !== NUL && !isSpace(at(p + 1))) return null;
          done = true;
        } else if (c === NUL) {
          return null;
        } else {
          cur.push(c);
        }
      } else if (c === 32 || c === 10 || c === 13 || c === 9 || c === NUL) {
        done = true;
      } else if (c === 34) {
        inq = true;
      } else if (c === 39) {
        insq = true;
      } else {
        cur.push(c);
      }
      if (at(p) !== NUL) p++;
    }
    out.push(Uint8Array.from(cur));
  }
}

/**
 * The incremental request parser. Feed it socket chunks with push(); pull commands with next().
 * Arguments are short copies, or views into the received bytes (SMALL_ARG), valid until the next push(); with next()'s
 * inPlace, a whole command may instead come as ranges of the received bytes (InPlaceCommand), valid until the next call.
 */
export class RequestParser {
  // Shared empties until input comes, and again once it is all parsed: an idle connection holds no buffer of its own.
  private buf: Uint8Array = NO_BYTES;
  private pos = 0;
  private multibulkLen = 0;
  private bulkLen = -1;
  private argv: Uint8Array[] = NO_ARGS;
  /** A big bulk being filled in place, with how much of it (CRLF included) has arrived. */
  private big: Uint8Array | null = null;
  private bigFill = 0;
  /** What the multibulk under way holds so far, as ParseLimits.maxRequest counts it. */
  private requestBytes = 0;
  /** next()'s in-place result, made at its first use. */
  private inPlace: InPlaceCommand | null = null;

  /** Nothing buffered and no command under way: the parser can be dropped or lent to another connection. */
  get idle(): boolean {
    return this.big === null && this.multibulkLen === 0 && this.pos >= this.buf.length;
  }

  /** Bytes received but not yet turned into a command: Redis's query buffer length. */
  get buffered(): number {
    return this.buf.length - this.pos + this.bigFill;
  }

  push(chunk: Uint8Array): void {
    if (this.big) {
      // Fill the big argument's own buffer; anything after it becomes the normal buffer.
      const need = this.big.length - this.bigFill;
      const take = Math.min(need, chunk.length);
      this.big.set(chunk.subarray(0, take), this.bigFill);
      this.bigFill += take;
      const rest = chunk.subarray(take);
      if (rest.length) this.append(rest);
      return;
    }
    this.append(chunk);
  }

  private append(chunk: Uint8Array): void {
    this.buf = joinTail(this.buf, this.pos, chunk);
    this.pos = 0;
  }

  /**
   * The next command, or null when none is whole yet. With `inPlace`, a multibulk that is all here already comes back as
   * the parser's InPlaceCommand (its arguments left in the received bytes, valid until the next call); anything else,
   * and any request that is not plainly well formed, takes the general path, which says what is wrong as Redis does.
   */
  next(limits: ParseLimits): ParseResult;
  next(limits: ParseLimits, inPlace: boolean): InPlaceResult;
  next(limits: ParseLimits, inPlace = false): InPlaceResult {
    for (;;) {
      if (this.big === null && this.pos >= this.buf.length) {
        // All parsed: let go of the last chunk (an idle connection would keep it for as long as it stays idle).
        this.buf = NO_BYTES;
        this.pos = 0;
        if (this.inPlace !== null) this.inPlace.buf = NO_BYTES;
        return null;
      }
      if (inPlace && this.multibulkLen === 0 && this.buf[this.pos] === 42) {
        const whole = this.whole(limits);
        if (whole !== null) return whole;
      }
      // Redis's reqtype, derived rather than kept (one field less per connection): a multibulk is under way, or starts
      // here with '*'; anything else is an inline command, which is read whole or not at all.
      const r = this.multibulkLen > 0 || this.buf[this.pos] === 42 ? this.multibulk(limits) : this.inline();
      if (r === null) return null;
      if (r.kind === "error") return r;
      if (r.argv.length === 0) continue; // empty line or *0: Redis resets and reads on
      return r;
    }
  }

  /**
   * A multibulk read in one pass when it is all in the buffer and plainly well formed: "*" and a count of 1 to 64, then
   * per argument "$", its length (digits, no leading zero) and CR, each within the limits. Null, with nothing consumed,
   * for anything else: the general path reads it instead and gives the error, if there is one.
   */
  private whole(limits: ParseLimits): InPlaceCommand | null {
    if (limits.authRequired) return null; // Redis's tighter caps before AUTH: the general path has them
    const buf = this.buf;
    const end = buf.length;
    let at = this.pos + 1;
    let c = buf[at]!;
    if (!(c >= 49 && c <= 57)) return null;
    let count = c - 48;
    for (at++; at < end && (c = buf[at]!) >= 48 && c <= 57; at++) if ((count = count * 10 + (c - 48)) > IN_PLACE_MAX_ARGS) return null;
    if (buf[at] !== CR || at + 2 > end) return null;
    at += 2; // the byte after CR is not looked at, as Redis does not
    const cmd = (this.inPlace ??= new InPlaceCommand());
    const spans = cmd.spans;
    let budget = limits.maxRequest ?? Infinity;
    for (let i = 0; i < count; i++) {
      if (buf[at] !== 36) return null;
      c = buf[++at]!;
      if (!(c >= 49 && c <= 57)) return null;
      let len = c - 48;
      const stop = Math.min(at + 9, end);
      for (at++; at < stop && (c = buf[at]!) >= 48 && c <= 57; at++) len = len * 10 + (c - 48);
      if (buf[at] !== CR) return null;
      at += 2;
      if (len > limits.maxBulk || (budget -= len + ARG_OVERHEAD) < 0 || at + len + 2 > end) return null;
      spans[2 * i] = at;
      spans[2 * i + 1] = at + len;
      at += len + 2;
    }
    this.pos = at;
    cmd.buf = buf;
    cmd.length = count;
    return cmd;
  }

  private inline(): ParseResult {
    const nl = indexOfStopAtNul(this.buf, LF, this.pos);
    if (nl === -1) {
      if (this.buf.length - this.pos > INLINE_MAX) return { kind: "error", message: "Protocol error: too big inline request" };
      return null;
    }
    let end = nl;
    if (end !== this.pos && this.buf[end - 1] === CR) end--;
    const argv = splitArgs(this.buf.subarray(this.pos, end));
    if (argv === null) return { kind: "error", message: "Protocol error: unbalanced quotes in request" };
    this.pos = nl + 1;
    return { kind: "command", argv };
  }

  private multibulk(limits: ParseLimits): ParseResult {
    const buf = this.buf;
    if (this.multibulkLen === 0) {
      const cr = indexOfStopAtNul(buf, CR, this.pos);
      if (cr === -1) {
        if (buf.length - this.pos > INLINE_MAX) return { kind: "error", message: "Protocol error: too big mbulk count string" };
        return null;
      }
      if (cr - this.pos > buf.length - this.pos - 2) return null; // the byte after \r has not arrived
      const ll = strictInt(buf, this.pos + 1, cr);
      if (ll === null || ll > 2147483647) return { kind: "error", message: "Protocol error: invalid multibulk length" };
      if (ll > 10 && limits.authRequired) return { kind: "error", message: "Protocol error: unauthenticated multibulk length" };
      this.pos = cr + 2;
      if (ll <= 0) return { kind: "command", argv: [] };
      this.multibulkLen = ll;
      this.argv = [];
      this.requestBytes = 0;
    }
    while (this.multibulkLen) {
      if (this.big) {
        if (this.bigFill < this.big.length) return null;
        this.argv.push(this.big.subarray(0, this.big.length - 2));
        this.big = null;
        this.bigFill = 0;
        this.bulkLen = -1;
        this.multibulkLen--;
        continue;
      }
      if (this.bulkLen === -1) {
        // The common header first, in one pass: "$" and 1 to 9 digits without a leading zero, then CR. Anything else
        // (longer, "0", a sign, a NUL, not all here yet) takes the general path below, which says what is wrong.
        const buf = this.buf; // not the one read above: a big argument replaces it
        let cr = -1;
        let ll: number | null = 0;
        if (buf[this.pos] === 36) {
          let at = this.pos + 1;
          let c = buf[at]!;
          if (c >= 49 && c <= 57) {
            const stop = Math.min(at + 9, buf.length);
            ll = c - 48;
            for (at++; at < stop && (c = buf[at]!) >= 48 && c <= 57; at++) ll = ll * 10 + (c - 48);
            if (buf[at] === CR) cr = at;
          }
        }
        if (cr === -1) {
          cr = indexOfStopAtNul(buf, CR, this.pos);
          if (cr === -1) {
            if (buf.length - this.pos > INLINE_MAX) return { kind: "error", message: "Protocol error: too big bulk count string" };
            return null;
          }
          if (cr - this.pos > buf.length - this.pos - 2) return null;
          if (buf[this.pos] !== 36) {
            const got = buf[this.pos]!;
            // addReplyErrorFormat turns \r and \n into spaces.
            const ch = got === CR || got === LF ? " " : String.fromCharCode(got);
            return { kind: "error", message: `Protocol error: expected '$', got '${ch}'` };
          }
          ll = strictInt(buf, this.pos + 1, cr);
        } else if (cr + 2 > buf.length) return null; // the byte after \r has not arrived
        if (ll === null || ll < 0 || ll > limits.maxBulk) return { kind: "error", message: "Protocol error: invalid bulk length" };
        if (ll > 16384 && limits.authRequired) return { kind: "error", message: "Protocol error: unauthenticated bulk length" };
        // Checked at the length line, before any buffer is made for the bulk: the budget bounds memory, not just argv.
        if (limits.maxRequest !== undefined && (this.requestBytes += ll + ARG_OVERHEAD) > limits.maxRequest)
          return { kind: "error", message: "Protocol error: invalid bulk length" };
        this.pos = cr + 2;
        this.bulkLen = ll;
        if (ll >= BIG_ARG && this.buf.length - this.pos < ll + 2) {
          // Give a big argument its own buffer so each later chunk is copied once, not re-merged.
          this.big = new Uint8Array(ll + 2);
          const have = this.buf.subarray(this.pos);
          this.big.set(have, 0);
          this.bigFill = have.length;
          this.buf = new Uint8Array(0);
          this.pos = 0;
          continue;
        }
      }
      if (this.buf.length - this.pos < this.bulkLen + 2) return null;
      this.argv.push(this.bulkLen <= SMALL_ARG ? copySmall(this.buf, this.pos, this.bulkLen) : this.buf.subarray(this.pos, this.pos + this.bulkLen));
      this.pos += this.bulkLen + 2;
      this.bulkLen = -1;
      this.multibulkLen--;
    }
    const argv = this.argv;
    this.argv = NO_ARGS; // the next multibulk makes its own array
    return { kind: "command", argv };
  }
}

// ---------------------------------------------------------------------------------------------
// Reply encoding. Replies are built as binary-safe latin1 strings (one char per byte) and turned
// into bytes once per socket write; the hot path (message frames) builds bytes directly.

export type Proto = 2 | 3;

const SMALL_INT_REPLIES: readonly string[] = Array.from({ length: 32 }, (_, n) => `:${n}\r\n`);

export const enc = {
  simple: (s: string) => `+${s}\r\n`,
  /** An error line; a message that starts with '-' carries its own code, as in addReplyErrorLength. */
  error: (msg: string) => (msg.startsWith("-") ? `${msg}\r\n` : `-ERR ${msg}\r\n`),
  /** Small counts (PUBLISH's receivers, mostly) come from a table: a reply string made per command is garbage. */
  int: (n: number) => (n >= 0 && n < SMALL_INT_REPLIES.length && n === (n | 0) ? SMALL_INT_REPLIES[n]! : `:${n}\r\n`),
  bulk: (s: string) => `$${s.length}\r\n${s}\r\n`,
  bulkBytes: (b: Uint8Array) => `$${b.length}\r\n${latin1(b)}\r\n`,
  null: (proto: Proto) => (proto === 3 ? "_\r\n" : "$-1\r\n"),
  array: (n: number) => `*${n}\r\n`,
  map: (n: number, proto: Proto) => (proto === 3 ? `%${n}\r\n` : `*${n * 2}\r\n`),
  push: (n: number, proto: Proto) => (proto === 3 ? `>${n}\r\n` : `*${n}\r\n`),
  /** A (un)subscribe notice: [kind, name or null, count], pushed in RESP3 (addReplyPubsub*Subscribed). */
  notice: (proto: Proto, kind: string, name: string | null, count: number): string =>
    enc.push(3, proto) + enc.bulk(kind) + (name === null ? enc.null(proto) : enc.bulk(name)) + enc.int(count),
  /** A verbatim string in RESP3, a bulk string in RESP2 (addReplyVerbatim). */
  verbatim: (s: string, proto: Proto) => (proto === 3 ? `=${s.length + 4}\r\ntxt:${s}\r\n` : `$${s.length}\r\n${s}\r\n`),
};

/** How many decimal digits a non-negative integer below 2^53 has. */
function digitCount(v: number): number {
  let d = 1;
  for (let p = 10; v >= p; p *= 10) d++; // powers of ten up to 10^16 are exact doubles
  return d;
}
/** Writes `v` (a non-negative integer below 2^53) as decimal digits ending just before `end`. */
function writeDigits(dst: Uint8Array, end: number, v: number): void {
  let i = end - 1;
  for (;;) {
    const q = Math.floor(v / 10);
    dst[i--] = 48 + (v - q * 10); // the digit first: 48 + v could round past 2^53
    if (q === 0) return;
    v = q;
  }
}
/** A bulk string's bytes: "$<n>\r\n", the n bytes, "\r\n". */
const bulkBytes = (n: number): number => 1 + digitCount(n) + 2 + n + 2;
/** Writes "$<n>\r\n" at `at`; returns where the data goes. */
function writeBulkHead(dst: Uint8Array, at: number, n: number): number {
  const end = at + 1 + digitCount(n);
  dst[at] = 36; // '$'
  writeDigits(dst, end, n);
  dst[end] = CR;
  dst[end + 1] = LF;
  return end + 2;
}

/** The bytes of a stream ID's bulk reply, "$<n>\r\n<ms>-<seq>\r\n"; both parts below 2^53. */
export const bulkIdSize = (ms: number, seq: number): number => bulkBytes(digitCount(ms) + 1 + digitCount(seq));
/**
 * Writes a stream ID's bulk reply (XADD's answer) at `at` and returns where it ends; bulkIdSize bytes must be free.
 * Why bytes: as strings, the ID, its bulk and their joins were several objects per XADD for the collector.
 */
export function writeBulkId(dst: Uint8Array, at: number, ms: number, seq: number): number {
  const msDigits = digitCount(ms);
  const seqDigits = digitCount(seq);
  let i = writeBulkHead(dst, at, msDigits + 1 + seqDigits);
  writeDigits(dst, (i += msDigits), ms);
  dst[i++] = 45; // '-'
  writeDigits(dst, (i += seqDigits), seq);
  dst[i++] = CR;
  dst[i++] = LF;
  return i;
}

/** Writes a latin1 string's chars as bytes, one each, at `at`; returns where they end (room must be there). */
export function writeAscii(dst: Uint8Array, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) dst[at + i] = s.charCodeAt(i);
  return at + s.length;
}

/** A delivery's first bytes, per kind: the array's length and the kind's bulk string, made once. */
const DELIVERY_HEADS = {
  message: Buffer.from("*3\r\n$7\r\nmessage\r\n", "latin1"),
  smessage: Buffer.from("*3\r\n$8\r\nsmessage\r\n", "latin1"),
  pmessage: Buffer.from("*4\r\n$8\r\npmessage\r\n", "latin1"),
};
/**
 * Encodes the delivery of a PUBLISH (or SPUBLISH) into one buffer: "message"/"smessage" channel payload, or "pmessage"
 * pattern channel payload, the channel and payload being the command's arguments 1 and 2, copied from wherever they
 * are (read in place, or an argv). The server encodes it once per PUBLISH and hands the same bytes to every
 * subscriber. The first byte is '*'; for RESP3 subscribers the caller uses a copy whose first byte is '>'.
 * Why no strings: the header and lengths made as text were several objects per PUBLISH for the collector.
 */
export function encodeDelivery(kind: "message" | "smessage" | "pmessage", pattern: Uint8Array | null, publish: CommandArgs): Uint8Array {
  const head = DELIVERY_HEADS[kind];
  const channelBytes = publish.size(1);
  const messageBytes = publish.size(2);
  const out = new Uint8Array(head.length + (pattern === null ? 0 : bulkBytes(pattern.length)) + bulkBytes(channelBytes) + bulkBytes(messageBytes));
  for (let i = 0; i < head.length; i++) out[i] = head[i]!;
  let at = head.length;
  if (pattern !== null) {
    at = writeBulkHead(out, at, pattern.length);
    out.set(pattern, at);
    at += pattern.length;
    out[at++] = CR;
    out[at++] = LF;
  }
  at = writeBulkHead(out, at, channelBytes);
  publish.copyInto(1, out, at);
  at += channelBytes;
  out[at++] = CR;
  out[at++] = LF;
  at = writeBulkHead(out, at, messageBytes);
  publish.copyInto(2, out, at);
  at += messageBytes;
  out[at++] = CR;
  out[at] = LF;
  return out;
}

/** The RESP3 push form of a frame from encodeDelivery: identical but for the type byte. */
export function asPush(frame: Uint8Array): Uint8Array {
  const copy = frame.slice();
  copy[0] = 62; // '>'
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Encoding commands (for clients) and parsing replies (for clients and tests).

/**
 * The bytes of encodeCommand for text arguments, as one string to be UTF-8 encoded later: a client that batches a
 * turn's commands encodes the batch once (a Buffer.from per argument costs on every publish the web server makes).
 */
export function encodeCommandText(args: readonly string[]): string {
  let out = `*${args.length}\r\n`;
  for (const a of args) out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return out;
}

export function encodeCommand(args: (string | Uint8Array)[]): Uint8Array {
  const parts: Uint8Array[] = args.map((a) => (typeof a === "string" ? Buffer.from(a) : a));
  let size = `*${parts.length}\r\n`.length;
  for (const p of parts) size += `$${p.length}\r\n`.length + p.length + 2;
  const out = new Uint8Array(size);
  let at = writeAscii(out, 0, `*${parts.length}\r\n`);
  for (const p of parts) {
    at = writeAscii(out, at, `$${p.length}\r\n`);
    out.set(p, at);
    at += p.length;
    out[at++] = CR;
    out[at++] = LF;
  }
  return out;
}

export type Reply =
  | { type: "simple"; value: string }
  | { type: "error"; value: string }
  | { type: "int"; value: number }
  | { type: "bulk"; value: Uint8Array | null }
  | { type: "array"; value: Reply[] | null }
  | { type: "push"; value: Reply[] }
  | { type: "map"; value: Reply[] }
  | { type: "null" }
  | { type: "other"; prefix: string; value: string };

/** An aggregate reply whose header is read and whose items are still arriving. */
type OpenAggregate = { type: "array" | "push" | "map"; items: Reply[]; left: number };

/**
 * An incremental reply parser covering RESP2 and the RESP3 types Redis 7 sends. It resumes where the last chunk
 * ended: finished items stay parsed (on a stack of open aggregates) and only the unfinished tail is kept, so a reply
 * that arrives in k chunks costs time linear in its size, not in k times its size.
 */
export class ReplyParser {
  private buf: Uint8Array = NO_BYTES;
  private pos = 0;
  /** Chunks pushed since the last next(): joined once, when the parser gets to them, not once per push. */
  private pending: Uint8Array[] = [];
  /** The aggregates under way, outermost first: where the parse resumes. */
  private readonly open: OpenAggregate[] = [];
  /** The length of a bulk whose length line is read and whose body has not all arrived; -1 when none. */
  private bulkLen = -1;
  /**
   * A big bulk being filled in its own buffer, so a slow one is not re-copied per chunk: `bigSize` bytes (CRLF
   * included) are due, `bigFill` have come. The buffer doubles as bytes come rather than trusting the length line,
   * so a bogus "$999999999" costs nothing until the bytes are really sent.
   */
  private big: Uint8Array | null = null;
  private bigFill = 0;
  private bigSize = 0;

  push(chunk: Uint8Array): void {
    if (this.big && this.bigFill < this.bigSize) {
      const take = Math.min(this.bigSize - this.bigFill, chunk.length);
      if (this.bigFill + take > this.big.length) {
        const grown = new Uint8Array(Math.min(this.bigSize, Math.max(this.big.length * 2, this.bigFill + take)));
        grown.set(this.big.subarray(0, this.bigFill));
        this.big = grown;
      }
      this.big.set(chunk.subarray(0, take), this.bigFill);
      this.bigFill += take;
      chunk = chunk.subarray(take);
    }
    if (chunk.length) this.pending.push(chunk);
  }

  /** The next complete reply, or null when more bytes are needed. Throws on bytes that are not RESP. */
  next(): Reply | null {
    if (this.pending.length) this.takePending();
    for (;;) {
      const item = this.item();
      if (item === null) return null;
      if (item === OPENED) continue;
      // A finished item completes its parent when it was the last one, and so on outwards.
      let done: Reply = item;
      for (;;) {
        const top = this.open[this.open.length - 1];
        if (top === undefined) return done;
        top.items.push(done);
        if (--top.left > 0) break;
        this.open.pop();
        done = { type: top.type, value: top.items } as Reply;
      }
    }
  }

  private takePending(): void {
    const tail = this.buf.length - this.pos;
    if (tail === 0 && this.pending.length === 1) this.buf = this.pending[0]!; // the chunk itself, no copy
    else {
      let size = tail;
      for (const c of this.pending) size += c.length;
      const merged = new Uint8Array(size);
      merged.set(this.buf.subarray(this.pos), 0);
      let at = tail;
      for (const c of this.pending) {
        merged.set(c, at);
        at += c.length;
      }
      this.buf = merged;
    }
    this.pos = 0;
    this.pending = [];
  }

  /** One item: a finished scalar or empty aggregate, OPENED when an aggregate with items began, null for more bytes. */
  private item(): Reply | typeof OPENED | null {
    if (this.bulkLen >= 0) return this.bulkBody();
    const buf = this.buf;
    const at = this.pos;
    if (at >= buf.length) {
      // All parsed: let go of the last chunk.
      this.buf = NO_BYTES;
      this.pos = 0;
      return null;
    }
    const cr = buf.indexOf(CR, at + 1);
    if (cr === -1 || cr + 1 >= buf.length) return null;
    const prefix = String.fromCharCode(buf[at]!);
    switch (prefix) {
      case "+":
      case "-":
      case ":":
      case "_":
      case ",":
      case "#":
      case "(": {
        this.pos = cr + 2;
        const text = latin1(buf.subarray(at + 1, cr));
        if (prefix === "+") return { type: "simple", value: text };
        if (prefix === "-") return { type: "error", value: text };
        if (prefix === ":") return { type: "int", value: Number(text) };
        if (prefix === "_") return { type: "null" };
        return { type: "other", prefix, value: text };
      }
      // A verbatim string (=) keeps its "txt:"; a blob error (!) reads as a bulk.
      case "$":
      case "=":
      case "!": {
        const n = replyLength(buf, at, cr);
        this.pos = cr + 2;
        if (n < 0) return { type: "bulk", value: null };
        this.bulkLen = n;
        return this.bulkBody();
      }
      // A set (~) reads as an array; a map (%) counts pairs.
      case "*":
      case ">":
      case "%":
      case "~": {
        const n = replyLength(buf, at, cr);
        this.pos = cr + 2;
        if (n < 0) return { type: "array", value: null };
        const type = prefix === ">" ? "push" : prefix === "%" ? "map" : "array";
        const left = prefix === "%" ? n * 2 : n;
        if (left === 0) return { type, value: [] } as Reply;
        this.open.push({ type, items: [], left });
        return OPENED;
      }
      default:
        throw new Error(`not a RESP reply: unexpected byte ${JSON.stringify(prefix)}`);
    }
  }

  /** The body of the bulk whose length line was read, once it has all arrived. */
  private bulkBody(): Reply | null {
    const n = this.bulkLen;
    let value: Uint8Array;
    if (this.big) {
      if (this.bigFill < this.bigSize) return null;
      value = this.big.subarray(0, n);
      this.big = null;
      this.bigFill = this.bigSize = 0;
    } else if (this.buf.length - this.pos < n + 2) {
      if (n >= BIG_ARG) {
        // Move what has come into the bulk's own buffer; later chunks are copied into it once each (amortized).
        const have = this.buf.length - this.pos;
        this.bigSize = n + 2;
        this.big = new Uint8Array(Math.min(this.bigSize, Math.max(2 * have, BIG_ARG)));
        this.big.set(this.buf.subarray(this.pos), 0);
        this.bigFill = have;
        this.buf = NO_BYTES;
        this.pos = 0;
      }
      return null;
    } else {
      // A copy, and a plain Uint8Array: a Buffer's slice() would be a view that pins (and follows) the whole chunk.
      value = Uint8Array.prototype.slice.call(this.buf, this.pos, this.pos + n);
      this.pos += n + 2;
    }
    this.bulkLen = -1;
    return { type: "bulk", value };
  }
}

/** Marks an aggregate header just read: its items come next. */
const OPENED = Symbol("opened");

/** A reply's length line (after its type byte): a strict integer, -1 (or any negative) for null. */
function replyLength(buf: Uint8Array, at: number, cr: number): number {
  const n = strictInt(buf, at + 1, cr);
  if (n === null) throw new Error(`not a RESP reply: bad length ${JSON.stringify(latin1(buf.subarray(at, cr)))}`);
  return n;
}

/** A bulk string reply as UTF-8 text; anything else (or nothing) is "". */
export const bulkText = (r: Reply | undefined): string => (r && r.type === "bulk" && r.value ? Buffer.from(r.value).toString("utf8") : "");

/** A reply as plain JS data, for tests and clients: bulk strings become UTF-8 strings. */
export function replyToJS(r: Reply): unknown {
  switch (r.type) {
    case "simple":
    case "other":
      return r.value;
    case "error":
      return new Error(r.value);
    case "int":
      return r.value;
    case "bulk":
      return r.value === null ? null : Buffer.from(r.value).toString();
    case "null":
      return null;
    case "array":
      return r.value === null ? null : r.value.map(replyToJS);
    case "push":
    case "map":
      return r.value.map(replyToJS);
  }
}
