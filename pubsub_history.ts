// pubsub_history.ts — message history as Redis streams: stream IDs, append, range reads, deletes and trimming, kept in
// memory for reads and in an append-only file (pubsub_aof.ts) for durability, one write per turn, fsynced per appendfsync.
import { accessSync, close, closeSync, constants, existsSync, fdatasync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, linkSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { AOF_MAGIC, AofReader, ROW, RecordBuffer, cmpId, magicByteFits, type AofRecord, type StreamId } from "./pubsub_aof";
import { NODE_MAX_BYTES, entrySize, masterSize, sameFields } from "./pubsub_listpack";
import { U64_MAX, decU64, incU64, rawBytes, u64Of, type U64 } from "./pubsub_entry";
import { isSqlite, readOldHistory } from "./pubsub_sqlite_upgrade";
import { READ_ONLY_CODES, releaseLock, takeLock } from "./pubsub_lock";
import { NodeBuffers, PAGE_BYTES } from "./pubsub_nodebuffers";

export { cmpId, type StreamId };
/** `packed`: the fields and values in one buffer (pubsub_entry.ts), as the file's add record holds them. */
export type Entry = { id: StreamId; packed: Uint8Array };

export const MIN_ID: StreamId = { ms: 0, seq: 0 };
export const MAX_ID: StreamId = { ms: U64_MAX, seq: U64_MAX };
/** Redis's stream-node-max-entries: approximate trimming removes whole nodes of this many entries. */
export const NODE_MAX_ENTRIES = 100;

/** "<ms>-<seq>" (a double below 2^53 prints every digit, as a BigInt does). */
export const idString = (id: StreamId): string => `${id.ms}-${id.seq}`;

/** The next ID after `id`, or null when it is the largest possible (streamIncrID). */
export function incrId(id: StreamId): StreamId | null {
  if (id.seq === U64_MAX) return id.ms === U64_MAX ? null : { ms: incU64(id.ms), seq: 0 };
  return { ms: id.ms, seq: incU64(id.seq) };
}
/** The ID before `id`, or null when it is 0-0 (streamDecrID). */
export function decrId(id: StreamId): StreamId | null {
  if (id.seq === 0) return id.ms === 0 ? null : { ms: decU64(id.ms), seq: U64_MAX };
  return { ms: id.ms, seq: decU64(id.seq) };
}

/** Redis's string2ull: a strict decimal first, then strtoull's looser rules (spaces, a sign, leading zeros). */
export function parseU64(s: string): U64 | null {
  if (/^(0|-?[1-9][0-9]{0,19})$/.test(s) && s.length < 21) {
    if (s.length <= 15) return s.charCodeAt(0) === 45 ? null : Number(s); // below 10^15 < 2^53: exact, no BigInt
    const v = BigInt(s);
    if (v >= -(2n ** 63n) && v < 2n ** 63n) return v < 0n ? null : u64Of(v);
  }
  const m = /^[\t\n\v\f\r ]*([+-]?)([0-9]+)$/.exec(s);
  if (!m) return null;
  let v = BigInt(m[2]!);
  if (v > U64_MAX) return null;
  if (m[1] === "-" && v !== 0n) v = (1n << 64n) - v;
  return u64Of(v);
}

/**
 * a - b wrapped to int64 as Redis's uint64 arithmetic is read back (entrySize wants it). A double when both are doubles,
 * as stream IDs from the clock are: then the difference is exact and no BigInt is made per entry.
 */
function idDiff(a: U64, b: U64): number | bigint {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return BigInt.asIntN(64, BigInt(a) - BigInt(b));
}

/** How to trim: MAXLEN (`maxlen`) or MINID (`minid`), approximate or not, at most `limit` entries (0: no limit). */
export type TrimOptions = { readonly maxlen?: number | undefined; readonly minid?: StreamId | undefined; readonly approx: boolean; readonly limit: number };
/** What trimming removed: how many entries, and the last of them (null when none), which the file's trim record names. */
export type Trimmed = { readonly length: number; readonly last: StreamId | null };
const NOTHING: Trimmed = Object.freeze({ length: 0, last: null });

/** A full node's row table: NODE_MAX_ENTRIES rows. */
const NODE_TABLE_SLOTS = NODE_MAX_ENTRIES * ROW;
const TWO32 = 4294967296;
/** A high half below this makes a U64 below 2^53: a double (pubsub_entry.ts's canonical form). */
const DOUBLE_HIGH = 0x200000;

/** The U64 whose halves start at `o`. */
function rowU64(rows: Uint32Array, o: number): U64 {
  const hi = rows[o]!;
  return hi < DOUBLE_HIGH ? hi * TWO32 + rows[o + 1]! : (BigInt(hi) << 32n) | BigInt(rows[o + 1]!);
}
function putRowU64(rows: Uint32Array, o: number, v: U64): void {
  if (typeof v === "number") {
    const lo = v % TWO32;
    rows[o] = (v - lo) / TWO32;
    rows[o + 1] = lo;
  } else {
    rows[o] = Number(v >> 32n);
    rows[o + 1] = Number(v & 0xffffffffn);
  }
}

/**
 * The entry whose row starts at `r` in `rows` (a node's own, or a rewrite's snapshot of them): its packed fields are a
 * view of its page, whose bytes do not change while the node holds them (see NodeBuffers for when it stops).
 */
function rowEntry(rows: Uint32Array, pages: readonly Uint8Array[], r: number): Entry {
  return { id: { ms: rowU64(rows, r), seq: rowU64(rows, r + 2) }, packed: pages[rows[r + 4]!]!.subarray(rows[r + 5]!, rows[r + 6]!) };
}

/** A node's second page: a stream of a few short messages stays small. */
const SMALL_PAGE_BYTES = 960;
/** Rows a node makes room for itself at its second entry; from there on it takes a full table from the pool. */
const SMALL_ROWS = 8;
/** A node's rows before its first entry. */
const NO_ROWS = new Uint32Array(0);

/**
 * One radix-tree node's worth of entries, so approximate trimming removes what Redis would: its master entry (the
 * first entry's ID and field names) and its listpack's size in bytes, which deletions do not shrink.
 *
 * The entries are held much as Redis's listpack holds them: their packed fields end to end in a few pages, and per live
 * entry a row of plain numbers (ID, page, start, end). Why: an entry held as objects (the entry, its ID, its buffer) was
 * three garbage-collected cells kept for as long as the history keeps it. Entry objects are made only for reads. The
 * pages and a full node's rows come from the stream's NodeBuffers and go back there when trimming removes the node.
 */
export class Node {
  /** ROW slots per live entry, in ID order. Slots past the live ones are room. */
  rows: Uint32Array = NO_ROWS;
  /** Live entries: their rows are the first ROW * n slots. */
  private n = 0;
  /** Every entry ever appended, deleted ones too, as a listpack keeps them; the master entry's fields open page 0. */
  pages: Uint8Array[] = [];
  /** Bytes used in the last page. */
  used = 0;
  deleted = 0;
  /**
   * A rewrite's snapshot reads this node's rows and pages in place: the next remove() shifts a copy instead. Append
   * writes only past the live rows, and every other change swaps in a new array or page, so none needs a copy.
   */
  shared = false;
  /** The listpack's size in bytes (pubsub_listpack.ts). */
  bytes: number;
  readonly masterMs: U64;
  readonly masterSeq: U64;

  constructor(
    firstId: StreamId,
    firstPacked: Uint8Array,
    private readonly buffers: NodeBuffers,
  ) {
    this.masterMs = firstId.ms;
    this.masterSeq = firstId.seq;
    this.bytes = masterSize(firstPacked);
  }

  /** Live entries. */
  get count(): number {
    return this.n;
  }
  /** The master entry's packed fields start page 0 (sameFields reads them from there). */
  get master(): Uint8Array {
    return this.pages[0]!;
  }

  /** Copies the entry in (nothing of the caller's buffer is kept): into the last page, or a new one when it is full. */
  push(id: StreamId, packed: Uint8Array): void {
    let page = this.pages.at(-1);
    if (!page || page.length - this.used < packed.length) {
      // The first page fits the first entry exactly (a stream of one short message stays small), the second is small (so
      // does one of a few); from the third on the node is filling, and takes recycled pages.
      const k = this.pages.length;
      page = k >= 2 && packed.length <= PAGE_BYTES ? this.buffers.page() : new Uint8Array(k === 0 ? packed.length : Math.max(SMALL_PAGE_BYTES, packed.length));
      this.pages.push(page);
      this.used = 0;
    }
    page.set(packed, this.used);
    const r = this.n * ROW;
    if (r === this.rows.length) this.makeRoom();
    const rows = this.rows;
    putRowU64(rows, r, id.ms);
    putRowU64(rows, r + 2, id.seq);
    rows[r + 4] = this.pages.length - 1;
    rows[r + 5] = this.used;
    rows[r + 6] = this.used + packed.length;
    this.n++;
    this.used += packed.length;
  }

  /**
   * Rows for more entries: the first entry's row alone (a stream of one short message stays small), then room for
   * SMALL_ROWS (so does a stream of a few), then a full table from the pool: the node is filling.
   */
  private makeRoom(): void {
    const n = this.n;
    let rows: Uint32Array;
    if (n === 0) rows = new Uint32Array(ROW);
    else if (n < SMALL_ROWS) rows = new Uint32Array(SMALL_ROWS * ROW);
    else if ((n + 1) * ROW <= this.buffers.tableSlots) rows = this.buffers.table();
    else rows = new Uint32Array(Math.ceil(n * 1.5) * ROW); // past NODE_MAX_ENTRIES: not made by append, kept general
    rows.set(this.rows.subarray(0, n * ROW));
    this.rows = rows;
  }

  /**
   * The node takes no more entries. A recycled page or table more than half unused is swapped for a copy of what it
   * holds and given back; one mostly used is kept whole (a copy per node would be made and freed again at every trim).
   */
  close(): void {
    const last = this.pages.length - 1;
    const page = this.pages[last];
    if (page !== undefined && page.length === PAGE_BYTES && this.used < PAGE_BYTES >> 1) {
      this.pages[last] = page.slice(0, this.used);
      this.buffers.givePage(page);
    }
    const live = this.n * ROW;
    if (this.rows.length === this.buffers.tableSlots && live < this.rows.length >> 1) {
      const table = this.rows;
      this.rows = table.slice(0, live);
      this.buffers.giveTable(table);
    } else if (this.rows.length !== this.buffers.tableSlots && this.rows.length - live > this.rows.length >> 3) this.rows = this.rows.slice(0, live);
  }

  /** The node has left its stream (trimmed): its pool buffers can serve new nodes. */
  recycle(): void {
    for (let i = 1; i < this.pages.length; i++) this.buffers.givePage(this.pages[i]!);
    this.buffers.giveTable(this.rows);
    this.pages = [];
    this.rows = NO_ROWS;
    this.n = 0;
  }

  /** What a rewrite writes of this node: its live rows and its pages, as they are now, shared until remove() copies. */
  snapshot(): NodeSnapshot {
    this.shared = true;
    return { rows: this.rows, slots: this.n * ROW, pages: this.pages };
  }

  /** Entry i's ID against `id`: -1, 0 or 1 (cmpId without making an ID). */
  cmp(i: number, id: StreamId): number {
    const ms = rowU64(this.rows, i * ROW);
    if (ms !== id.ms) return ms < id.ms ? -1 : 1;
    const seq = rowU64(this.rows, i * ROW + 2);
    return seq < id.seq ? -1 : seq > id.seq ? 1 : 0;
  }
  id(i: number): StreamId {
    return { ms: rowU64(this.rows, i * ROW), seq: rowU64(this.rows, i * ROW + 2) };
  }
  /** Entry i, made for a read. */
  entry(i: number): Entry {
    return rowEntry(this.rows, this.pages, i * ROW);
  }
  /** Removes `n` live entries from entry i on; their bytes stay, as a listpack's deleted entries do. */
  remove(i: number, n: number): void {
    if (this.shared) {
      // A rewrite may still read these rows: shift a copy, and give the old table back (reused only after the rewrite).
      const old = this.rows;
      this.rows = old.length === this.buffers.tableSlots ? this.buffers.table() : new Uint32Array(old.length);
      this.rows.set(old.subarray(0, this.n * ROW));
      this.buffers.giveTable(old);
      this.shared = false;
    }
    this.rows.copyWithin(i * ROW, (i + n) * ROW, this.n * ROW);
    this.n -= n;
    this.deleted += n;
  }
}

export class Stream {
  nodes: Node[] = [];
  length = 0;
  lastId: StreamId = MIN_ID;
  entriesAdded: U64 = 0;

  /** `buffers`: where its nodes take pages and rows (a History shares one among its streams). */
  constructor(private readonly buffers: NodeBuffers = new NodeBuffers(NODE_TABLE_SLOTS)) {}

  /**
   * Appends in ID order (copying the packed fields); the caller has checked the ID is above lastId. The ID and fields
   * come apart, not as an Entry: an object made per XADD only to be taken apart here was garbage on every message.
   */
  append(id: StreamId, packed: Uint8Array): void {
    let tail = this.nodes.at(-1);
    // streamAppendItem: a new node once the bytes would reach stream-node-max-bytes or the entries node-max-entries.
    if (!tail || tail.bytes + rawBytes(packed) >= NODE_MAX_BYTES || tail.count + tail.deleted >= NODE_MAX_ENTRIES) {
      tail?.close();
      this.nodes.push((tail = new Node(id, packed, this.buffers)));
    }
    const same = tail.pages.length === 0 || sameFields(tail.master, packed);
    tail.bytes += entrySize(idDiff(id.ms, tail.masterMs), idDiff(id.seq, tail.masterSeq), packed, same);
    tail.push(id, packed);
    this.length++;
    this.entriesAdded = incU64(this.entriesAdded);
    this.lastId = id;
  }

  /** The stream is gone (DEL, FLUSHALL): its nodes' buffers go back to the pool. */
  recycle(): void {
    for (const node of this.nodes) node.recycle();
    this.nodes = [];
  }

  /** Removes the first entries up to and including `id`, as trim() removed them (the file's trim record, replayed). */
  trimThrough(id: StreamId): void {
    while (this.nodes.length) {
      const node = this.nodes[0]!;
      if (node.cmp(node.count - 1, id) <= 0) {
        this.length -= node.count;
        this.nodes.shift();
        node.recycle();
        continue;
      }
      let n = 0;
      while (node.cmp(n, id) <= 0) n++;
      node.remove(0, n);
      this.length -= n;
      return;
    }
  }

  /** The ID XADD * would give now: the clock, or just above lastId when the clock is behind it. */
  nextId(nowMs: number): StreamId | null {
    if (nowMs > this.lastId.ms) return { ms: nowMs, seq: 0 };
    return incrId(this.lastId);
  }

  firstId(): StreamId | null {
    const n = this.nodes[0];
    return n ? n.id(0) : null;
  }
  lastLiveId(): StreamId | null {
    const n = this.nodes.at(-1);
    return n ? n.id(n.count - 1) : null;
  }

  /** Entries with start <= id <= end, in order (or reversed), at most `count` (0: all). */
  range(start: StreamId, end: StreamId, count = 0, rev = false): Entry[] {
    const out: Entry[] = [];
    if (cmpId(start, end) > 0) return out;
    if (!rev) {
      for (let i = this.firstNodeAtOrAfter(start); i < this.nodes.length; i++) {
        const node = this.nodes[i]!;
        for (let j = 0; j < node.count; j++) {
          if (node.cmp(j, start) < 0) continue;
          if (node.cmp(j, end) > 0) return out;
          out.push(node.entry(j));
          if (count && out.length >= count) return out;
        }
      }
    } else {
      for (let i = this.nodes.length - 1; i >= 0; i--) {
        const node = this.nodes[i]!;
        if (node.cmp(0, end) > 0) continue;
        for (let j = node.count - 1; j >= 0; j--) {
          if (node.cmp(j, end) > 0) continue;
          if (node.cmp(j, start) < 0) return out;
          out.push(node.entry(j));
          if (count && out.length >= count) return out;
        }
      }
    }
    return out;
  }

  private firstNodeAtOrAfter(id: StreamId): number {
    // Binary search on each node's last entry: the first node that can hold ids >= `id`.
    let lo = 0;
    let hi = this.nodes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const node = this.nodes[mid]!;
      if (node.cmp(node.count - 1, id) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Deletes one entry and returns it (null when absent). A node left empty goes away, as in Redis. */
  delete(id: StreamId): Entry | null {
    for (let i = this.firstNodeAtOrAfter(id); i < this.nodes.length; i++) {
      const node = this.nodes[i]!;
      let j = 0;
      while (j < node.count && node.cmp(j, id) < 0) j++;
      if (j === node.count) continue;
      if (node.cmp(j, id) > 0) return null;
      const gone = node.entry(j);
      node.remove(j, 1);
      this.length--;
      if (node.count === 0) {
        this.nodes.splice(i, 1);
        node.recycle(); // `gone` stays readable until another node writes its page: the caller reads it at once
      }
      return gone;
    }
    return null;
  }

  /**
   * Redis's streamTrim. MAXLEN keeps at most `maxlen` entries; MINID drops entries below `minid`.
   * Approximate trimming removes only whole nodes and stops at `limit` entries (0: no limit).
   * Returns how many entries went, and the last of them.
   */
  trim(opts: TrimOptions): Trimmed {
    // The common case under MAXLEN: nothing to remove, and no object made for it.
    if (opts.maxlen !== undefined && this.length <= opts.maxlen) return NOTHING;
    // MAXLEN ~ between N and N plus a node: the first node cannot go whole, so nothing goes (most XADDs of a full stream).
    if (opts.approx && opts.maxlen !== undefined && this.nodes.length && this.length - this.nodes[0]!.count < opts.maxlen) return NOTHING;
    let removed = 0;
    let last: StreamId | null = null;
    while (this.nodes.length) {
      if (opts.maxlen !== undefined && this.length <= opts.maxlen) break;
      const node = this.nodes[0]!;
      const live = node.count;
      if (opts.limit && removed + live > opts.limit) break;
      const removeNode = opts.maxlen !== undefined ? this.length - live >= opts.maxlen : node.cmp(live - 1, opts.minid!) < 0;
      if (removeNode) {
        last = node.id(live - 1);
        removed += live;
        this.nodes.shift();
        node.recycle();
        this.length -= live;
        continue;
      }
      if (opts.approx) break;
      let n = 0;
      while (n < live && (opts.maxlen !== undefined ? this.length - n > opts.maxlen : node.cmp(n, opts.minid!) < 0)) n++;
      if (n) {
        last = node.id(n - 1);
        node.remove(0, n);
        this.length -= n;
        removed += n;
      }
      break;
    }
    return removed ? { length: removed, last } : NOTHING;
  }
}

export type FsyncPolicy = "always" | "everysec" | "no";

/**
 * A node's live entries when a rewrite began: the first `slots` of its rows, and its pages. Nothing is copied: an
 * append writes past them, a remove shifts a copy (Node.shared), close() swaps in a page with the same first bytes,
 * and the pool reuses nothing given back while the rewrite runs. Why not copies: they were a few MB per rewrite that
 * lived through young collections and died later, the garbage that costs the collector most.
 */
type NodeSnapshot = { readonly rows: Uint32Array; readonly slots: number; readonly pages: readonly Uint8Array[] };

/** A rewrite under way: the streams as they were when it began, written out in slices, and the records made since. */
type Rewrite = {
  fd: number;
  tmp: string;
  /** Bytes written to the new file so far. */
  at: number;
  items: { key: string; lastId: StreamId; added: U64; nodes: NodeSnapshot[] }[];
  item: number;
  /** The next node to write in the item. */
  node: number;
  /**
   * The file's size when the rewrite began: the records made since (Redis's rewrite buffer) are copied from the file
   * to the new one at its end, rather than each turn's bytes kept in memory until then.
   */
  from: number;
  /** Each slice's records, written and reset: one buffer for the whole rewrite, sized by its first slice. */
  buf: RecordBuffer;
};

/** Entries encoded per rewrite slice (whole nodes, so up to a node more): small enough that no turn waits long behind one. */
const REWRITE_SLICE = 2000;
/** Redis's auto-aof-rewrite-min-size: below this the file is never rewritten. */
export const REWRITE_MIN_BYTES = 64 * 1024 * 1024;
/** Bytes read per chunk at load. */
const READ_CHUNK = 4 * 1024 * 1024;

/**
 * All streams, in memory for reads, written through to an append-only file (pubsub_aof.ts's records), as Redis's AOF:
 * the records of one event-loop turn go in one buffer and one write() before any reply is sent (commit), fsynced per
 * the policy (always: before the replies; everysec: once a second; no: when the OS likes). When the file has doubled
 * since its last rewrite, it is rewritten in slices between turns to the streams' live entries, then swapped in.
 */
export class History {
  readonly streams = new Map<string, Stream>();
  /** Pages and row tables that trimmed nodes gave back, for the streams' next nodes. */
  private readonly buffers = new NodeBuffers(NODE_TABLE_SLOTS);
  private readonly memory: boolean;
  private fd = -1;
  private writable = false;
  /** Bytes at the file's start that are whole records: the next turn's write goes here. */
  private size = 0;
  /** The file's size after its last rewrite (or at load): the next rewrite begins once it has doubled. */
  private baseSize = 0;
  private readonly out = new RecordBuffer();
  private dirtySinceSync = false;
  private syncTimer: ReturnType<typeof setInterval> | null = null;
  private rewriting: Rewrite | null = null;
  /** The fsync of the history file (fdatasync: the data and the size, not the times); tests count its calls. */
  syncFile: (fd: number) => void = fdatasyncSync;
  /**
   * everysec's once-a-second fsync, on the thread pool as Redis's runs on its background thread: a slow disk then
   * stalls no client. `done` gets the error or null; tests replace it to hold a sync in flight.
   */
  syncInBackground: (fd: number, done: (err: Error | null) => void) => void = (fd, done) => fdatasync(fd, (err) => done(err));
  /** A background fsync is under way: descriptors closed meanwhile wait for it (the pool must never sync a reused number). */
  private syncing = false;
  private closeAfterSync: number[] = [];
  private closed = false;
  /** Why the last write failed (a full disk, a read-only file); null while writes work. Cleared by a probe. */
  failure: string | null = null;
  private probeTimer: ReturnType<typeof setInterval> | null = null;
  /** The file's permission bits when other users may use it (an older file, or one made so by hand); null when not. */
  readonly looseMode: number | null = null;

  constructor(
    readonly path: string,
    readonly fsync: FsyncPolicy = "everysec",
    readonly rewriteMinBytes = REWRITE_MIN_BYTES,
  ) {
    this.memory = path === ":memory:";
    if (this.memory) return;
    this.looseMode = History.makeFile(path);
    this.locked = takeLock(path);
    if (this.locked) removeLeftovers(path);
    try {
      if (isSqlite(readHead(path))) this.upgrade();
      this.open();
      this.load();
    } catch (err) {
      if (this.locked) releaseLock(path);
      throw err;
    }
    this.baseSize = this.size;
    // A read-only file (or a full disk) at start: serve what is there, refuse writes, and say so now.
    const err = this.tryWrite();
    if (err) this.fail(err);
    if (fsync === "everysec") {
      this.syncTimer = setInterval(() => this.sync(), 1000);
      this.syncTimer.unref?.();
    }
  }

  /**
   * The file holds private messages and push secrets. Directories made for it are 0700 and a new file 0600 (the
   * rewrite's new file too). An existing directory (the cwd, say) or file keeps its mode: returns the file's mode bits
   * when group or others may use it, else null.
   */
  private static makeFile(path: string): number | null {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      closeSync(openSync(path, "wx", 0o600)); // "wx": made here and now, or left alone if it exists
    } catch {
      // it exists, or cannot be made here (a read-only place): open() reads what is there or says why not
    }
    try {
      const mode = statSync(path).mode & 0o777;
      return mode & 0o077 ? mode : null;
    } catch {
      return null;
    }
  }

  /**
   * A file of the SQLite layout becomes an append-only file once, in place: its streams are written to a new file,
   * which replaces it in one rename (a crash before that leaves the old file to upgrade again). The old file stays
   * beside it as <path>.sqlite-v1 until the operator deletes it. A read-only one is read as it is, writes refused.
   */
  private upgrade(): void {
    const old = readOldHistory(this.path);
    const tmp = `${this.path}.upgrade`;
    let fd = -1;
    try {
      fd = openSync(tmp, "w", 0o600);
      const buf = new RecordBuffer();
      let at = writeAll(fd, AOF_MAGIC, 0);
      for (const s of old) {
        for (const e of s.entries) buf.add(s.key, e.id, e.packed);
        buf.meta(s.key, s.lastId, s.added);
        if (buf.length >= READ_CHUNK) at += writeAll(fd, buf.bytes(), at), buf.reset();
      }
      writeAll(fd, buf.bytes(), at);
      fdatasyncSync(fd);
      closeSync(fd);
      fd = -1;
      rmSync(`${this.path}.sqlite-v1`, { force: true });
      linkSync(this.path, `${this.path}.sqlite-v1`);
      renameSync(tmp, this.path);
      // Renamed: from here the new file is the history, whatever else fails (the upgrade must not be judged undone).
      try {
        syncDir(this.path);
        for (const suffix of ["-wal", "-shm"]) rmSync(`${this.path}${suffix}`, { force: true });
      } catch (err) {
        console.error(`history: upgraded ${this.path}, but could not sync its directory or remove the old -wal and -shm (${(err as Error).message})`);
      }
      const n = old.reduce((sum, s) => sum + s.entries.length, 0);
      console.log(`history: upgraded ${this.path} to the append-only file (${old.length} streams, ${n} entries); the old file is kept as ${this.path}.sqlite-v1: delete it once you no longer need to go back`);
    } catch (err) {
      if (fd >= 0) closeSync(fd);
      rmSync(tmp, { force: true });
      // A read-only file or place: serve the old file's streams from memory; writes are refused until it can be upgraded.
      for (const s of old) {
        const st = new Stream(this.buffers);
        for (const e of s.entries) st.append(e.id, e.packed);
        st.lastId = s.lastId;
        st.entriesAdded = s.added;
        this.streams.set(s.key, st);
      }
      this.failure = `${this.path} needs its one-time upgrade and cannot be written (${(err as Error).message})`;
      this.upgradePending = true;
    }
  }
  private upgradePending = false;
  /** This History holds <path>.lock (false in a read-only place, where no one can write the file anyway). */
  private locked = false;

  /** Opens the file for reading and writing, or for reading only when it cannot be written. */
  private open(): void {
    if (this.upgradePending) return;
    try {
      this.fd = openSync(this.path, "r+");
      this.writable = true;
    } catch (err) {
      if (!READ_ONLY_CODES.has((err as NodeJS.ErrnoException).code ?? "")) throw err;
      this.fd = openSync(this.path, "r");
      this.writable = false;
      this.failure = reason(err);
    }
  }

  /** A turn's records are waiting for commit: this turn's changes are not on disk yet. */
  get pending(): boolean {
    return this.out.length > 0;
  }

  /**
   * Reads the file into memory. A torn tail (a write cut by kill -9 or a full disk) or damage ends the reading at the
   * last whole record; the rest is kept aside in <path>.torn and cut from the file, as Redis's aof-load-truncated does.
   */
  private load(): void {
    if (this.upgradePending) return;
    this.streams.clear();
    const reader = new AofReader(true); // apply() copies every entry into its node at once
    const chunk = Buffer.allocUnsafe(READ_CHUNK);
    let head: Uint8Array | null = null;
    for (let at = 0; reader.damage === null; ) {
      const n = readSync(this.fd, chunk, 0, chunk.length, at);
      if (n === 0) break;
      head ??= Uint8Array.prototype.slice.call(chunk, 0, Math.min(n, AOF_MAGIC.length)); // a copy: the next read reuses chunk
      at += n;
      reader.push(chunk.subarray(0, n), (r) => this.apply(r));
    }
    const total = fstatSync(this.fd).size; // reading stops at damage: the rest is never records
    const torn = reader.end();
    if (reader.good === 0 && head !== null && !isMagicPrefix(head))
      throw new Error(`${this.path} is not a history file this version reads (${torn}): move it aside to start a new history`);
    this.size = reader.good;
    if (total === this.size) {
      if (total === 0 && this.writable) this.size = writeAll(this.fd, AOF_MAGIC, 0);
      return;
    }
    console.error(`history: ${this.path}: ${torn}; the ${total - this.size} bytes from byte ${this.size} on are cut, once kept aside`);
    this.tornPending = true;
    if (!this.writable) return; // tryWrite keeps them aside once the file can be written
    try {
      this.keepTorn();
    } catch (err) {
      // A full disk: the tail stays (memory ends at the last whole record) until a probe can keep it aside and cut it.
      console.error(`history: cannot keep the cut bytes aside (${(err as Error).message}); writes wait until it can`);
    }
  }

  /**
   * The bytes after the last whole record go to a new <path>.torn (then .torn.2, .torn.3...: an older one, from an
   * earlier crash, is never overwritten; the operator deletes them), synced, and only then cut from the file.
   */
  private keepTorn(): void {
    const end = fstatSync(this.fd).size;
    if (end > this.size) {
      const rest = Buffer.allocUnsafe(end - this.size);
      for (let got = 0; got < rest.length; ) got += readSync(this.fd, rest, got, rest.length - got, this.size + got);
      let name = `${this.path}.torn`;
      for (let n = 2; existsSync(name); n++) name = `${this.path}.torn.${n}`;
      const fd = openSync(name, "wx", 0o600);
      try {
        writeAll(fd, rest, 0);
        fdatasyncSync(fd);
      } catch (err) {
        rmSync(name, { force: true });
        throw err;
      } finally {
        closeSync(fd);
      }
      console.error(`history: the ${rest.length} cut bytes of ${this.path} are kept in ${name}`);
      ftruncateSync(this.fd, this.size);
    }
    this.tornPending = false;
    if (this.size === 0) this.size = writeAll(this.fd, AOF_MAGIC, 0);
  }
  /** load() found a torn tail it could not keep aside yet (a read-only file, a full disk): the next probe does. */
  private tornPending = false;

  /** Replays one record into memory. */
  private apply(r: AofRecord): void {
    if (r.op === "add") {
      let s = this.streams.get(r.key);
      if (!s) this.streams.set(r.key, (s = new Stream(this.buffers)));
      if (cmpId(r.id, s.lastId) > 0) s.append(r.id, r.packed);
    } else if (r.op === "entries") {
      let s = this.streams.get(r.key);
      if (!s) this.streams.set(r.key, (s = new Stream(this.buffers)));
      for (const e of r.entries) if (cmpId(e.id, s.lastId) > 0) s.append(e.id, e.packed);
    } else if (r.op === "xdel") {
      const s = this.streams.get(r.key);
      if (s) for (const id of r.ids) s.delete(id);
    } else if (r.op === "trim") this.streams.get(r.key)?.trimThrough(r.through);
    else if (r.op === "drop") this.streams.delete(r.key);
    else if (r.op === "flush") this.streams.clear();
    else if (r.op === "meta") {
      let s = this.streams.get(r.key);
      if (!s) this.streams.set(r.key, (s = new Stream(this.buffers)));
      s.lastId = r.lastId;
      s.entriesAdded = r.added;
    }
  }

  /**
   * Writes this turn's records in one write(); false when the disk refused them. The server calls it before writing
   * replies, and on false turns this turn's write replies into errors: nothing acknowledged is ever missing from the disk.
   */
  commit(): boolean {
    if (this.out.length === 0) return true;
    if (this.memory) {
      this.out.reset();
      return true;
    }
    const bytes = this.out.bytes();
    try {
      if (!this.writable) throw new Error(this.failure ?? `${this.path} is read-only`);
      writeAll(this.fd, bytes, this.size);
      if (this.fsync === "always") this.syncFile(this.fd); // before commit returns: the replies are written after it
      this.size += bytes.length;
      this.dirtySinceSync = true;
      return true;
    } catch (err) {
      this.undo(err);
      return false;
    } finally {
      this.out.reset();
      this.maybeRewrite();
    }
  }

  /** A refused write: the file is cut back to its whole records and memory made to match it again. */
  private undo(err: unknown): void {
    try {
      if (this.writable) ftruncateSync(this.fd, this.size);
    } catch {
      // the probe cuts it before the next write (a write is never made after bytes that were refused)
    }
    this.abandonRewrite("a write failed");
    this.fail(err);
    this.load();
  }

  /** Enters the failed state: writes are refused (MISCONF) until a probe write succeeds, tried once a second. */
  private fail(err: unknown): void {
    const first = this.failure === null || !this.probeTimer;
    this.failure = reason(err);
    if (first) console.error(`history: writing to ${this.path} failed (${(err as NodeJS.ErrnoException).code ? `${(err as NodeJS.ErrnoException).code}: ` : ""}${this.failure}); writes are refused (MISCONF) and retried every second, live delivery goes on`);
    this.probeTimer ??= setInterval(() => this.probe(), 1000);
    this.probeTimer.unref?.();
  }

  /** One small real write (a no-op record); the error if the disk (or a read-only file) refuses it. */
  private tryWrite(): Error | null {
    try {
      if (!this.locked) this.locked = takeLock(this.path); // started in a read-only place (or on a full disk): lock before writing
      if (this.upgradePending) {
        accessSync(this.path, constants.W_OK); // cheap checks first: the upgrade reads the whole old file
        accessSync(dirname(this.path), constants.W_OK);
        this.upgradePending = false;
        this.streams.clear();
        this.failure = null;
        this.upgrade();
        if (this.upgradePending) return new Error(this.failure ?? "the upgrade failed");
        this.open();
        this.load();
      }
      if (!this.writable) {
        const next = openSync(this.path, "r+"); // the file or its mount was made writable again
        this.closeFd(this.fd);
        this.fd = next;
        this.writable = true;
      }
      if (this.tornPending) this.keepTorn(); // a torn tail found at load is kept aside before anything cuts it
      ftruncateSync(this.fd, this.size); // whatever a refused write left past the whole records goes first
      const probe = new RecordBuffer();
      probe.noop();
      writeAll(this.fd, probe.bytes(), this.size);
      if (this.fsync !== "no") this.syncFile(this.fd);
      this.size += probe.length;
      return null;
    } catch (err) {
      return err as Error;
    }
  }

  /** Run once a second while writes fail: when a write reaches the disk again, writes are accepted again. */
  probe(): boolean {
    if (this.failure === null) return true;
    const err = this.tryWrite();
    if (err) {
      this.failure = reason(err);
      return false;
    }
    console.log(`history: writing to ${this.path} works again; writes are accepted`);
    this.failure = null;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
    return true;
  }

  /**
   * The once-a-second fsync of the everysec policy, in the background. One at a time, as Redis's: while one is under
   * way the tick passes, and the next takes what came meanwhile (the bytes stay marked dirty).
   */
  sync(): void {
    if (!this.dirtySinceSync || this.fd < 0 || this.syncing) return;
    this.dirtySinceSync = false;
    this.syncing = true;
    this.syncInBackground(this.fd, (err) => {
      this.syncing = false;
      for (const fd of this.closeAfterSync.splice(0)) closeQuietly(fd);
      if (!err || this.closed) return;
      // As Redis after a failed background fsync: writes are refused (MISCONF) until a probe's write and fsync succeed.
      console.error(`history: syncing ${this.path} failed (${err.message})`);
      this.fail(err);
    });
  }

  /** Closes a descriptor of the history file now, or once the background fsync under way has ended. */
  private closeFd(fd: number): void {
    if (this.syncing) this.closeAfterSync.push(fd);
    else closeSync(fd);
  }

  /**
   * Closes the file a rewrite replaced, on the thread pool: the kernel drops its cache (tens of MB, the file being
   * renamed over) there, not in the server's turn. Measured: 36-40 ms of the event loop per rewrite of a 64 MB file.
   * Redis closes it on a background thread too (bio_close_file).
   */
  private closeReplaced(fd: number): void {
    if (this.syncing) this.closeAfterSync.push(fd);
    else close(fd, () => {}); // an error closing a file no longer used changes nothing
  }

  /** Starts a rewrite once the file has doubled since the last one (and is past the minimum), as Redis does. */
  private maybeRewrite(): void {
    if (this.rewriting || !this.writable || this.failure !== null || this.size < this.rewriteMinBytes || this.size < 2 * this.baseSize) return;
    const tmp = `${this.path}.rewrite`;
    let fd: number;
    try {
      fd = openSync(tmp, "w+", 0o600); // read too: once swapped in it is the history, which a refused write reloads
      writeAll(fd, AOF_MAGIC, 0);
    } catch (err) {
      console.error(`history: cannot rewrite ${this.path} (${(err as Error).message}); tried again once it has doubled`);
      this.baseSize = this.size;
      return;
    }
    // The streams as they are now: a page's written bytes do not change while it is held, so a node's rows and pages are a snapshot.
    const items = [...this.streams].map(([key, s]) => ({ key, lastId: s.lastId, added: s.entriesAdded, nodes: s.nodes.map((n) => n.snapshot()) }));
    this.rewriting = { fd, tmp, at: AOF_MAGIC.length, items, item: 0, node: 0, from: this.size, buf: new RecordBuffer() };
    this.buffers.hold(); // the snapshot reads pages that trimming may remove meanwhile: none is reused until it is done
    setImmediate(() => this.rewriteSlice());
  }

  /** Writes the next slice of the rewrite between turns; swaps the new file in after the last. */
  private rewriteSlice(): void {
    const rw = this.rewriting;
    if (!rw) return;
    try {
      const buf = rw.buf;
      buf.reset();
      let budget = REWRITE_SLICE;
      while (rw.item < rw.items.length && budget > 0) {
        const it = rw.items[rw.item]!;
        for (; rw.node < it.nodes.length && budget > 0; rw.node++) {
          // Straight from the rows and pages, one record per node: no entry, ID or view made per entry of the history.
          const { rows, slots, pages } = it.nodes[rw.node]!;
          if (slots) buf.entries(it.key, rows, slots, pages);
          budget -= slots / ROW;
        }
        if (rw.node < it.nodes.length) break;
        buf.meta(it.key, it.lastId, it.added);
        rw.item++;
        rw.node = 0;
        budget--;
      }
      rw.at += writeAll(rw.fd, buf.bytes(), rw.at);
      if (rw.item < rw.items.length) {
        setImmediate(() => this.rewriteSlice());
        return;
      }
      this.finishRewrite(rw);
    } catch (err) {
      this.abandonRewrite((err as Error).message);
    }
  }

  /** The records made during the rewrite go after its snapshot; then the new file replaces the old in one rename. */
  private finishRewrite(rw: Rewrite): void {
    rw.at += copyRange(this.fd, rw.from, this.size, rw.fd, rw.at);
    this.syncFile(rw.fd); // whatever the policy, as Redis: a rename must never put an unsynced file in place of a synced one
    renameSync(rw.tmp, this.path);
    // Renamed: from here the new file is the history, whatever else fails.
    const old = this.fd;
    this.fd = rw.fd;
    this.size = rw.at;
    this.baseSize = rw.at;
    this.rewriting = null;
    this.buffers.release();
    this.closeReplaced(old);
    try {
      syncDir(this.path);
    } catch (err) {
      console.error(`history: syncing the directory of ${this.path} failed (${(err as Error).message})`);
    }
  }

  private abandonRewrite(why: string): void {
    const rw = this.rewriting;
    if (!rw) return;
    this.rewriting = null;
    this.buffers.release();
    this.baseSize = this.size; // tried again once the file has doubled from here
    try {
      closeSync(rw.fd);
      rmSync(rw.tmp, { force: true });
    } catch {
      // nothing more to clean
    }
    console.error(`history: rewriting ${this.path} stopped (${why}); the file as it is keeps everything`);
  }

  get(key: string): Stream | undefined {
    return this.streams.get(key);
  }

  /** A new, empty stream; its first entry's record makes it on disk. */
  create(key: string): Stream {
    const s = new Stream(this.buffers);
    this.streams.set(key, s);
    return s;
  }

  add(key: string, s: Stream, id: StreamId, packed: Uint8Array): void {
    if (!this.memory) this.out.add(key, id, packed);
    s.append(id, packed);
  }

  /** XDEL: the deleted entries' IDs. */
  deleted(key: string, entries: Entry[]): void {
    if (!entries.length || this.memory) return;
    this.out.xdel(key, entries.map((e) => e.id));
  }

  /** Trimming (MAXLEN, MINID, the history's max age) removes the oldest entries: everything up to the last one removed. */
  trimmed(key: string, gone: Trimmed): void {
    if (!gone.last || this.memory) return;
    this.out.trim(key, gone.last);
  }

  deleteKey(key: string): boolean {
    const s = this.streams.get(key);
    if (s === undefined) return false;
    this.streams.delete(key);
    s.recycle();
    if (!this.memory) this.out.drop(key);
    return true;
  }

  flushAll(): void {
    for (const s of this.streams.values()) s.recycle();
    this.streams.clear();
    if (!this.memory) this.out.flush();
  }

  /** Drops entries older than `maxAgeMs` from every stream (exact MINID trimming); returns how many. */
  expire(maxAgeMs: number, nowMs = Date.now()): number {
    if (this.failure !== null) return 0; // the disk refuses writes: expire once it takes them again
    const minid: StreamId = { ms: Math.max(0, Math.floor(nowMs - maxAgeMs)), seq: 0 };
    // Records of commands whose replies wait for the server's group commit: that commit (and its MISCONF, if the disk
    // refuses) is theirs, so this one is left to it.
    const theirs = this.pending;
    let n = 0;
    for (const [key, s] of this.streams) {
      const first = s.firstId();
      if (!first || cmpId(first, minid) >= 0) continue;
      const gone = s.trim({ minid, approx: false, limit: 0 });
      this.trimmed(key, gone);
      n += gone.length;
    }
    if (!theirs) this.commit();
    return n;
  }

  close(): void {
    this.closed = true;
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.commit();
    this.abandonRewrite("the server is stopping");
    if (this.fd < 0) return;
    try {
      if (this.writable && this.fsync !== "no") this.syncFile(this.fd);
    } catch (err) {
      console.error(`history: final sync of ${this.path} failed (${(err as Error).message})`);
    }
    this.closeFd(this.fd);
    this.fd = -1;
    if (this.locked) releaseLock(this.path);
    this.locked = false;
  }
}

/**
 * Why a write failed, in the words clients have always seen in MISCONF (the SQLite store's, which operators' alerts may
 * match): a full disk and a read-only file by name, anything else as the system said it.
 */
function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG") return "database or disk is full";
  if (READ_ONLY_CODES.has(code ?? "")) return "attempt to write a readonly database";
  return (err as Error).message;
}

/** Writes all of `bytes` at `position` (write() may take less than asked); returns how many. */
function writeAll(fd: number, bytes: Uint8Array, position: number): number {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
  return bytes.length;
}

/** Bytes [from, to) of one file written at `at` of another, through one buffer of READ_CHUNK at most; how many. */
function copyRange(src: number, from: number, to: number, dst: number, at: number): number {
  if (to <= from) return 0;
  const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, to - from));
  for (let done = 0; from + done < to; ) {
    const n = readSync(src, chunk, 0, Math.min(chunk.length, to - from - done), from + done);
    if (n === 0) throw new Error(`${to - from - done} bytes of the history file were not there to copy`);
    writeAll(dst, chunk.subarray(0, n), at + done);
    done += n;
  }
  return to - from;
}

/** The file's first bytes (empty when it cannot be read: open() says why). */
function readHead(path: string): Uint8Array {
  try {
    const fd = openSync(path, "r");
    const head = Buffer.alloc(16);
    const n = readSync(fd, head, 0, 16, 0);
    closeSync(fd);
    return head.subarray(0, n);
  } catch {
    return new Uint8Array(0);
  }
}

const isMagicPrefix = (head: Uint8Array): boolean => head.every((b, i) => magicByteFits(b, i));

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already gone: nothing to release
  }
}

/** A rename is on disk once its directory is synced. */
function syncDir(path: string): void {
  const fd = openSync(dirname(path), "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * What kill -9 can leave beside the file: a rewrite's new file cut before its rename (the file still holds everything),
 * and after an upgrade's rename the old file's -wal and -shm (emptied by its checkpoint). Only the lock's holder may
 * remove them (another server's rewrite could be under way); a failure here never stops the start.
 */
function removeLeftovers(path: string): void {
  const left = isSqlite(readHead(path)) ? [".rewrite"] : [".rewrite", "-wal", "-shm"];
  for (const suffix of left) {
    try {
      rmSync(`${path}${suffix}`, { force: true });
    } catch (err) {
      console.error(`history: could not remove ${path}${suffix}, left by an earlier run (${(err as Error).message}); remove it by hand`);
    }
  }
}
