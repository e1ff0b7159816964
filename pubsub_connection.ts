// pubsub_connection.ts — one server-side connection (Redis's networking.c): its state, replies and frames queued for one
// write per event-loop turn, backpressure both ways, the output limits, and the one way a connection is closed.
import type { Socket } from "bun";
import { RequestParser, bulkIdSize, enc, writeAscii, writeBulkId, type InPlaceResult, type ParseLimits, type Proto } from "./resp";
import type { AclUser } from "./acl";
import { idString, type StreamId } from "./pubsub_history";
import type { Subscriber, SubscriptionSets } from "./pubsub_channels";
import type { OutputLimits } from "./cli";

/** Redis's two classes that apply here: subscribers (pubsub), and every other client (normal). */
type OutputClass = "normal" | "pubsub";

/**
 * A client's input is not read while this much of its output is unsent: its own pipelined commands cannot make the
 * server hold more than this plus one reply, whether or not it reads. 64 KB: a turn's replies to a fast reader.
 */
export const INPUT_HOLD_BYTES = 64 * 1024;

/** What the server does around the output path: commit before any write, and forget a connection that closes. */
export interface ConnectionOwner {
  /** Runs before anything is written, so no reply acknowledges a write that is not yet on disk. */
  beforeWrite(): void;
  /** The connection is gone: drop its subscriptions and blocked reads. */
  released(c: Connection): void;
  /** A client passed its class's output limit and is being cut off. */
  overLimit(c: Connection, which: "hard" | "soft", cls: OutputClass): void;
  /** A held client's output went out in full: read its input again (what came while it was held first). */
  inputResumed(c: Connection): void;
  /** An error reply was queued (INFO errorstats counts it, even under CLIENT REPLY OFF, as afterErrorReply does). */
  errorReplied(reply: string): void;
}

/**
 * A connection's yes/no state, one bit each in one number: each field of a class costs every connection 8 bytes, and
 * a hundred thousand idle subscribers are what this server is for. Read and set as plain boolean properties.
 */
const FLAG_BITS = {
  authenticated: 1,
  pubsubFlag: 2,
  replyOff: 4,
  replySkipNext: 8,
  replySkip: 16,
  closeAfterReply: 32,
  closed: 64,
  inputHeld: 128,
  dirty: 256,
} as const;
/** Set when the connection speaks RESP3 (Connection.resp). */
const RESP3_BIT = 512;

/** An XREAD BLOCK under way. */
type Blocked = { keys: string[]; after: StreamId[]; count: number; timer: ReturnType<typeof setTimeout> | null };

/**
 * What few connections ever set: a name and library (CLIENT SETNAME/SETINFO), a blocked read, a reserved slot, a
 * soft-limit clock. One object made on the first set, so the rest pay one field for all six (JSC sizes an object by
 * its count of fields in steps: this and the protocol bit below take Connection a step down).
 */
type Rare = {
  name: string | null;
  libName: string;
  libVer: string;
  blocked: Blocked | null;
  reserved: ReturnType<typeof setTimeout> | null;
  softLimitSince: number;
};
const RARE_UNSET: Readonly<Rare> = Object.freeze({ name: null, libName: "", libVer: "", blocked: null, reserved: null, softLimitSince: 0 });

/** What CLIENT LIST reads of a connection with no parser: nothing buffered. */
const NO_INPUT: { readonly buffered: number } = { buffered: 0 };

/**
 * JSC's fastSizeLimit: a Uint8Array of up to this many bytes is kept inside the collector's heap until its .buffer is
 * asked for (which then copies it out); a larger one is allocated apart, and .buffer wraps that memory in place.
 */
const FAST_TYPED_ARRAY_BYTES = 1000;
/** Bytes written by hand below this; Buffer's write() is a native call, which costs more than a short reply. */
const HAND_WRITE = 48;
/**
 * A new reply buffer's size; it doubles as replies need. Small, because a turn may lend one to every client at once
 * (ten thousand subscribing together), and a lent buffer lives only until the turn's write.
 */
const REPLY_BYTES = 1024;
/** The pool keeps reply buffers up to this size (one that grew for a huge reply does not stay)... */
const REPLY_BYTES_KEPT = 16 * 1024;
/** ...and this many of them (256 KB at most). */
const SPARE_REPLIES = 16;

/**
 * One connection's replies of a turn, as the latin1 bytes they are sent as. The pool lends one to a connection when it
 * queues a reply and takes it back once written, so an idle connection holds none. Why bytes and not a string: each
 * reply appended to a string made a rope, joined at the write into a flat string and then a buffer: three objects per
 * reply, and most of what a command left for the collector.
 */
export class ReplyBytes {
  bytes: Buffer = Buffer.allocUnsafeSlow(REPLY_BYTES);
  length = 0;

  append(s: string): void {
    const n = s.length;
    if (this.length + n > this.bytes.length) this.grow(n);
    const b = this.bytes;
    const at = this.length;
    if (n <= HAND_WRITE) writeAscii(b, at, s);
    else b.write(s, at, n, "latin1");
    this.length = at + n;
  }
  /** A stream ID's bulk reply, both parts below 2^53 (resp.ts's writeBulkId). */
  appendBulkId(ms: number, seq: number): void {
    const n = bulkIdSize(ms, seq);
    if (this.length + n > this.bytes.length) this.grow(n);
    this.length = writeBulkId(this.bytes, this.length, ms, seq);
  }
  /** Replaces bytes [from, to) with `by` (a refused write's reply, with its error). */
  replace(from: number, to: number, by: string): void {
    const tail = new Uint8Array(this.bytes.subarray(to, this.length)); // a copy (Buffer's slice() is a view)
    this.length = from;
    this.append(by);
    if (this.length + tail.length > this.bytes.length) this.grow(tail.length);
    this.bytes.set(tail, this.length);
    this.length += tail.length;
  }
  private grow(n: number): void {
    const bigger = Buffer.allocUnsafeSlow(Math.max(2 * this.bytes.length, this.length + n));
    bigger.set(this.bytes.subarray(0, this.length));
    this.bytes = bigger;
  }
}

/** One connection's state: what Redis keeps in its `client` struct, trimmed to what pub/sub and streams need. */
export class Connection implements Subscriber {
  subs: SubscriptionSets | null = null;
  private flags = 0;
  declare authenticated: boolean;
  declare pubsubFlag: boolean;
  declare replyOff: boolean;
  declare replySkipNext: boolean;
  declare replySkip: boolean;
  declare closeAfterReply: boolean;
  declare closed: boolean;
  /** Its socket is paused: output passed the hold mark, and nothing more is read until it has all gone out. */
  declare inputHeld: boolean;
  declare dirty: boolean;
  lastCommand = "NULL";
  readonly createdAt = Date.now();
  lastInteraction = this.createdAt;
  /** Held only while a command is incomplete; an idle connection holds none (Connections lends one). */
  private input: RequestParser | null = null;
  /**
   * Replies waiting for this turn's single write, as bytes in a buffer the pool lends while there are any; frames as
   * shared bytes in `chunks`.
   */
  private replies: ReplyBytes | null = null;
  /** Made when output is queued, dropped once written: an idle connection holds no array. */
  private chunks: Uint8Array[] | null = null;
  private queuedBytes = 0;
  /** What the kernel did not take last time; nothing more is written before drain (backpressure). */
  unsent: Uint8Array | null = null;
  private rare: Rare = RARE_UNSET;
  /** Its neighbours in the pool's list of live connections (ConnectionList). */
  older: Connection | null = null;
  newer: Connection | null = null;

  constructor(
    readonly id: number,
    readonly socket: Socket<Connection>,
    readonly laddr: string,
    /** The ACL user this connection runs as (without an ACL file, the one all-powerful "default"). */
    public user: AclUser,
    authenticated: boolean,
    private readonly pool: Connections,
  ) {
    if (authenticated) this.flags = FLAG_BITS.authenticated;
  }

  /** The protocol HELLO chose: 2 or 3, a bit of the flags. */
  get resp(): Proto {
    return (this.flags & RESP3_BIT) !== 0 ? 3 : 2;
  }
  set resp(v: Proto) {
    this.flags = v === 3 ? this.flags | RESP3_BIT : this.flags & ~RESP3_BIT;
  }

  private setRare<K extends keyof Rare>(key: K, value: Rare[K]): void {
    if (this.rare === RARE_UNSET) {
      if (value === RARE_UNSET[key]) return;
      this.rare = { ...RARE_UNSET };
    }
    this.rare[key] = value;
  }
  get name(): string | null {
    return this.rare.name;
  }
  set name(v: string | null) {
    this.setRare("name", v);
  }
  get libName(): string {
    return this.rare.libName;
  }
  set libName(v: string) {
    this.setRare("libName", v);
  }
  get libVer(): string {
    return this.rare.libVer;
  }
  set libVer(v: string) {
    this.setRare("libVer", v);
  }
  /** Set while XREAD BLOCK waits; input is not read meanwhile, as in Redis. */
  get blocked(): Blocked | null {
    return this.rare.blocked;
  }
  set blocked(v: Blocked | null) {
    this.setRare("blocked", v);
  }
  /** In a reserved slot (past --maxclients) until it logs in; the timer closes it if it does not in time. */
  get reserved(): ReturnType<typeof setTimeout> | null {
    return this.rare.reserved;
  }
  set reserved(v: ReturnType<typeof setTimeout> | null) {
    this.setRare("reserved", v);
  }
  /** When its output passed the soft limit (0: it is under it). */
  get softLimitSince(): number {
    return this.rare.softLimitSince;
  }
  set softLimitSince(v: number) {
    this.setRare("softLimitSince", v);
  }

  /** Bytes from the socket, for the parser (lent by the pool when this connection has none). */
  feed(chunk: Uint8Array): void {
    (this.input ??= this.pool.lendParser()).push(chunk);
  }
  /**
   * After a read's commands ran: frees the read's bytes now if nothing refers to them (every command parsed, so the
   * parser went back to the pool; commands copy what they keep). Why: Bun gives each read a buffer of its own, which
   * otherwise waits for the collector's sweep; by then the allocator has given its pages back and later reads fault
   * them in again. Freed at once, the next read reuses the same memory: about 40% fewer page faults per webhook
   * (docs/performance.md, issue 28, sixteenth part).
   */
  doneWith(chunk: Uint8Array): void {
    if (this.input !== null) return; // a command is under way: the parser holds the bytes, or views of them
    // A small read lives in the collector's heap, not the allocator's, and asking for its .buffer would copy it out.
    if (chunk.byteLength <= FAST_TYPED_ARRAY_BYTES) return;
    const whole = chunk.buffer; // a larger read's own memory, wrapped in place (no copy)
    if (whole instanceof ArrayBuffer && chunk.byteOffset === 0 && chunk.byteLength === whole.byteLength) whole.transfer(0);
  }
  /**
   * The next whole command, or null; once all input is parsed, the parser goes back to the pool. A command that is
   * all here comes read in place (valid until the next call), any other as an argv.
   */
  nextCommand(limits: ParseLimits): InPlaceResult {
    const p = this.input;
    if (p === null) return null;
    const r = p.next(limits, true);
    if (r === null && p.idle) {
      this.input = null;
      this.pool.returnParser(p);
    }
    return r;
  }
  /** The query buffer as CLIENT LIST reads it. */
  get parser(): { readonly buffered: number } {
    return this.input ?? NO_INPUT;
  }

  /** ip:port of the peer, made when asked (CLIENT LIST, a log line), not kept by every connection. */
  get addr(): string {
    return `${this.socket.remoteAddress}:${(this.socket as unknown as { remotePort?: number }).remotePort ?? 0}`;
  }

  /** A normal reply: suppressed by CLIENT REPLY OFF/SKIP, as prepareClientToWrite does. */
  reply(s: string): void {
    if (s.charCodeAt(0) === 45) this.pool.owner.errorReplied(s); // '-': an error reply
    if ((this.flags & (FLAG_BITS.replyOff | FLAG_BITS.replySkip)) !== 0) return; // both bits in one test
    (this.replies ??= this.pool.lendReplies()).append(s);
  }
  /** XADD's reply, the new ID as a bulk string (addReplyStreamID), written as bytes: no string is made for it. */
  replyId(id: StreamId): void {
    if (typeof id.ms !== "number" || typeof id.seq !== "number") return this.reply(enc.bulk(idString(id))); // past 2^53
    if ((this.flags & (FLAG_BITS.replyOff | FLAG_BITS.replySkip)) !== 0) return;
    (this.replies ??= this.pool.lendReplies()).appendBulkId(id.ms, id.seq);
  }
  /** A pub/sub notification: always sent, even with CLIENT REPLY OFF (Redis's CLIENT_PUSHING). */
  push(s: string): void {
    (this.replies ??= this.pool.lendReplies()).append(s);
  }
  /** A delivery: the same frame object goes to every subscriber; the output limit is checked as it grows. */
  queueFrame(frame: Uint8Array): void {
    if (this.replies !== null) this.moveReplies();
    (this.chunks ??= []).push(frame);
    this.queuedBytes += frame.length;
    this.pool.markDirty(this);
    this.pool.checkOutputLimit(this);
  }
  /**
   * The replies, when they are all this connection has queued (the usual case): taken, for the caller to write from
   * and give back (Connections.writeQueued). Null when there are none, or when frames are queued too.
   */
  takeReplies(): ReplyBytes | null {
    const r = this.replies;
    if (r === null || this.chunks !== null) return null;
    this.replies = null;
    return r;
  }
  /** The replies so far become a chunk of their own (a copy), ahead of the frame that follows them; the buffer goes back. */
  private moveReplies(): void {
    const r = this.replies!;
    this.replies = null;
    if (r.length > 0) {
      (this.chunks ??= []).push(new Uint8Array(r.bytes.subarray(0, r.length))); // a copy: the buffer is reused
      this.queuedBytes += r.length;
    }
    this.pool.returnReplies(r);
  }
  /**
   * Where the next reply will sit: at offset replyOffset of the replies, which become chunks[replyChunk] when moved.
   * Two numbers, not an object: a write command takes a mark before and after it runs, every time.
   */
  get replyChunk(): number {
    return this.chunks?.length ?? 0;
  }
  get replyOffset(): number {
    return this.replies?.length ?? 0;
  }
  /**
   * Replaces the reply queued between offsets `from` and `to` of chunk `chunk` (marks of one command) with `by`: a
   * refused write's reply with its error. Replies are latin1, one char per byte, so the offsets hold in the replies
   * and in the chunk they became.
   */
  replaceReply(chunk: number, from: number, to: number, by: string): boolean {
    if (to === from) return false; // no reply was queued (CLIENT REPLY OFF)
    if ((this.chunks?.length ?? 0) === chunk) {
      this.replies?.replace(from, to, by);
      return this.replies !== null;
    }
    const old = this.chunks?.[chunk];
    if (!old || !this.chunks) return false;
    const next = Buffer.concat([old.subarray(0, from), Buffer.from(by, "latin1"), old.subarray(to)]);
    this.chunks[chunk] = next;
    this.queuedBytes += next.length - old.length;
    return true;
  }
  get outputBytes(): number {
    return this.queuedBytes + (this.replies?.length ?? 0) + (this.unsent ? this.unsent.length : 0);
  }
  hasOutput(): boolean {
    return (this.replies !== null && this.replies.length > 0) || this.chunks !== null;
  }
  /**
   * Takes everything queued as one buffer, so the socket gets a single write. With `last`, the buffer joined for the
   * connection before: subscribers of one channel queue the very same frames in a turn, so theirs is joined once.
   */
  takeOutput(last?: JoinedOutput): Uint8Array | null {
    if (this.replies !== null) this.moveReplies();
    const chunks = this.chunks;
    if (chunks === null) return null;
    let out: Uint8Array;
    if (chunks.length === 1) out = chunks[0]!;
    else if (last !== undefined && sameChunks(last.chunks, chunks)) out = last.out!;
    else {
      out = new Uint8Array(this.queuedBytes);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.length;
      }
      if (last !== undefined) {
        last.chunks = chunks;
        last.out = out;
      }
    }
    this.chunks = null;
    this.queuedBytes = 0;
    return out;
  }
}

for (const [name, bit] of Object.entries(FLAG_BITS))
  Object.defineProperty(Connection.prototype, name, {
    get(this: { flags: number }): boolean {
      return (this.flags & bit) !== 0;
    },
    set(this: { flags: number }, on: boolean) {
      this.flags = on ? this.flags | bit : this.flags & ~bit;
    },
  });

/** The last output joined in one flush: which chunks, and the buffer they made (never written to afterwards). */
type JoinedOutput = { chunks: Uint8Array[] | null; out: Uint8Array | null };

/** The same chunk objects in the same order: comparing references costs far less than copying their bytes again. */
function sameChunks(a: Uint8Array[] | null, b: Uint8Array[]): boolean {
  if (a === null || a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The live connections, oldest first: a list threaded through the connections themselves (two fields each) rather than
 * a Map entry per connection, which costs several times that. Looking one up by id walks the list (CLIENT LIST ID).
 */
export class ConnectionList {
  private oldest: Connection | null = null;
  private newest: Connection | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }
  add(c: Connection): void {
    if (this.has(c)) return;
    c.older = this.newest;
    c.newer = null;
    if (this.newest) this.newest.newer = c;
    else this.oldest = c;
    this.newest = c;
    this.count++;
  }
  has(c: Connection): boolean {
    return c.older !== null || this.oldest === c;
  }
  /** Takes `c` out; false if it was not in. */
  delete(c: Connection): boolean {
    if (!this.has(c)) return false;
    if (c.older) c.older.newer = c.newer;
    else this.oldest = c.newer;
    if (c.newer) c.newer.older = c.older;
    else this.newest = c.older;
    c.older = c.newer = null;
    this.count--;
    return true;
  }
  get(id: number): Connection | undefined {
    for (let c = this.oldest; c; c = c.newer) if (c.id === id) return c;
    return undefined;
  }
  /** Oldest first; taking out the connection just yielded is safe (its successor was read before). */
  *values(): Generator<Connection> {
    for (let c = this.oldest; c; ) {
      const next: Connection | null = c.newer;
      yield c;
      c = next;
    }
  }
}

/** How a connection ends: after its queued output, at once (a slow subscriber), or already gone (the peer closed). */
type CloseHow = "end" | "abort" | "gone";

/** The live connections and their output: the dirty list, the one write per turn, drain, limits and closing. */
export class Connections {
  readonly all = new ConnectionList();
  private readonly dirty: Connection[] = [];
  private flushScheduled = false;
  /** One parser kept for the next connection that receives bytes while holding none: no allocation per read. */
  private spareParser: RequestParser | null = null;
  /** Reply buffers given back, for the next connections that queue replies. */
  private readonly spareReplies: ReplyBytes[] = [];

  /** The smallest of the limits that are on, in either class: below it there is nothing to check. */
  private readonly lowestLimit: number;
  /** Output at which a client's input is held (and its output checked): INPUT_HOLD_BYTES, or a normal limit below it. */
  readonly holdAt: number;

  constructor(
    readonly owner: ConnectionOwner,
    readonly limits: Record<OutputClass, OutputLimits>,
  ) {
    const lowest = (l: OutputLimits) => Math.min(l.hard > 0 ? l.hard : Infinity, l.soft > 0 ? l.soft : Infinity);
    this.lowestLimit = Math.min(lowest(limits.normal), lowest(limits.pubsub));
    this.holdAt = Math.min(INPUT_HOLD_BYTES, lowest(limits.normal));
  }

  lendParser(): RequestParser {
    const p = this.spareParser;
    if (p === null) return new RequestParser();
    this.spareParser = null;
    return p;
  }
  returnParser(p: RequestParser): void {
    this.spareParser = p;
  }
  lendReplies(): ReplyBytes {
    return this.spareReplies.pop() ?? new ReplyBytes();
  }
  /** Kept for reuse unless it grew for a huge reply, or enough are kept. */
  returnReplies(r: ReplyBytes): void {
    r.length = 0;
    if (r.bytes.length <= REPLY_BYTES_KEPT && this.spareReplies.length < SPARE_REPLIES) this.spareReplies.push(r);
  }

  markDirty(c: Connection): void {
    if (c.dirty) return;
    c.dirty = true;
    this.dirty.push(c);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // setImmediate runs after every socket event of this loop turn: one write per socket per turn.
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.flushScheduled = false;
    this.owner.beforeWrite();
    const list = this.dirty.splice(0);
    // Subscribers marked one after another by the same deliveries have the same queue: joined once for all of them.
    const last: JoinedOutput = { chunks: null, out: null };
    for (const c of list) {
      c.dirty = false;
      if (!c.closed && !c.unsent) this.writeQueued(c, last);
    }
  }

  /** Writes what is queued now (a drain can come before the end of the turn), then closes if that was the last reply. */
  writeQueued(c: Connection, last?: JoinedOutput): void {
    this.owner.beforeWrite();
    const replies = c.takeReplies();
    if (replies !== null) {
      this.writeOut(c, replies.bytes, replies.length, true); // from the lent buffer itself, which then goes back
      this.returnReplies(replies);
    } else {
      const out = c.takeOutput(last);
      if (out) this.writeOut(c, out);
    }
    if (c.closeAfterReply && !c.unsent && !c.hasOutput()) this.close(c, "end");
    else if (c.inputHeld && !c.unsent && !c.closed) {
      // All of it went to the kernel: read this client again.
      c.inputHeld = false;
      c.socket.resume();
      this.owner.inputResumed(c);
    }
  }

  /**
   * The client's unsent output reached holdAt: check its output limit, then stop reading it until that output has
   * gone out (the peer then sees TCP backpressure instead of the server buffering its replies without end).
   */
  holdInput(c: Connection): void {
    this.checkOutputLimit(c);
    if (c.closed || c.inputHeld) return;
    c.inputHeld = true;
    c.socket.pause();
    this.markDirty(c);
  }

  /** The socket can take more: first the rest of the last write, then whatever was queued meanwhile. */
  drained(c: Connection): void {
    if (c.unsent) {
      const u = c.unsent;
      c.unsent = null;
      this.writeOut(c, u);
    }
    if (!c.unsent) this.writeQueued(c);
  }

  /** Writes `out`'s first `length` bytes; the rest waits for drain: a view of it, or a copy when `out` is a lent buffer. */
  private writeOut(c: Connection, out: Uint8Array, length = out.length, lent = false): void {
    const n = c.socket.write(out, 0, length);
    if (n < 0) return; // closed; the close handler releases the connection
    if (n < length) c.unsent = lent ? new Uint8Array(out.subarray(n, length)) : out.subarray(n, length);
  }

  /**
   * Redis's client-output-buffer-limit, the class as getClientType says (a subscriber is pubsub, others normal):
   * checked when a frame is queued, when output reaches holdAt, and once a second.
   */
  checkOutputLimit(c: Connection): void {
    const used = c.outputBytes;
    // The common case, once per delivery: well under every limit and never over the soft one.
    if (used < this.lowestLimit && c.softLimitSince === 0) return;
    const cls: OutputClass = c.pubsubFlag ? "pubsub" : "normal";
    const { hard, soft, softSeconds } = this.limits[cls];
    if (hard > 0 && used >= hard) return this.cutOff(c, "hard", cls);
    if (soft > 0 && used >= soft) {
      if (!c.softLimitSince) c.softLimitSince = Date.now();
      else if (Date.now() - c.softLimitSince >= softSeconds * 1000) this.cutOff(c, "soft", cls);
    } else c.softLimitSince = 0;
  }

  /** The soft limit is about time, so it is checked on a clock too, not only when output grows. */
  checkSoftLimits(): void {
    for (const c of this.all.values()) if (c.softLimitSince) this.checkOutputLimit(c);
  }

  private cutOff(c: Connection, which: "hard" | "soft", cls: OutputClass): void {
    if (c.closed) return;
    this.owner.overLimit(c, which, cls);
    this.close(c, "abort");
  }

  /** The one way a connection ends: it is forgotten everywhere once, and its socket is ended or cut. */
  close(c: Connection, how: CloseHow): void {
    const wasClosed = c.closed;
    c.closed = true;
    if (this.all.delete(c)) this.owner.released(c);
    if (wasClosed && how !== "abort") return;
    if (how === "end") c.socket.end();
    else if (how === "abort") c.socket.terminate();
  }

  /** Ends every connection after what is already queued for it (the server is stopping). */
  closeAll(): void {
    this.flush();
    for (const c of [...this.all.values()]) this.close(c, "end");
  }
}
