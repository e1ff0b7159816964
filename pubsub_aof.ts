// pubsub_aof.ts — the history's append-only file format (pure): records encoded into one buffer per event-loop turn,
// and an incremental reader that takes any split of the bytes and stops at a torn or damaged tail (length + CRC-32).

import { isPacked, putU32, putU64, u32, u64, type U64 } from "./pubsub_entry";
import { latin1Range } from "./resp";

/**
 * The file's first bytes: tells this format (and its version) from the SQLite layout it replaces. Version 2 adds the
 * entries record; a version 1 file (no entries records) is read as it is, and its first rewrite makes it version 2. Why
 * a new version: a reader of version 1 would take an entries record for damage and cut the file there, where it now
 * refuses the file and says so.
 */
export const AOF_MAGIC = new TextEncoder().encode("NSAOF002");
/** The magic of version 1 files, read too. They differ from AOF_MAGIC in the last byte only. */
const AOF_MAGIC_V1_LAST = 0x31;
/** Is bytes[i] (i < AOF_MAGIC.length) what a file this version reads has there? */
export const magicByteFits = (b: number, i: number): boolean => b === AOF_MAGIC[i] || (i === AOF_MAGIC.length - 1 && b === AOF_MAGIC_V1_LAST);
/** Each record: payload length (u32 LE), CRC-32 of the payload (u32 LE), then the payload (op byte first). */
export const RECORD_HEADER = 8;
/** Larger than any record the server makes (a request is at most 512 MB): a length above it is damage, not data. */
export const MAX_RECORD = 1 << 30;

/** CRC-32 (IEEE, as zlib's and Bun.hash.crc32's) tables for eight bytes at a time (slicing-by-8). */
const CRC_TABLE = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c;
}
for (let t = 1; t < 8; t++) for (let n = 0; n < 256; n++) CRC_TABLE[t * 256 + n] = (CRC_TABLE[(t - 1) * 256 + n]! >>> 8) ^ CRC_TABLE[CRC_TABLE[(t - 1) * 256 + n]! & 0xff]!;
/** Above this many bytes Bun's native CRC is faster than the loop below, whose only gain is making no view. */
const CRC_NATIVE_FROM = 1024;

/**
 * The CRC-32 of bytes [start, end) of `b`, equal to Bun.hash.crc32(b.subarray(start, end)). Why not that: the view it
 * needs was garbage on every record of every XADD, and for a record's usual 30-150 bytes this loop is as fast or
 * faster (measured: 73-81 ns against 93-97 ns for 110 bytes).
 */
export function crc32(b: Uint8Array, start: number, end: number): number {
  if (end - start >= CRC_NATIVE_FROM) return Bun.hash.crc32(b.subarray(start, end));
  const t = CRC_TABLE;
  let c = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
    c = t[1792 + (a & 0xff)]! ^ t[1536 + ((a >>> 8) & 0xff)]! ^ t[1280 + ((a >>> 16) & 0xff)]! ^ t[1024 + (a >>> 24)]! ^
      t[768 + b[i + 4]!]! ^ t[512 + b[i + 5]!]! ^ t[256 + b[i + 6]!]! ^ t[b[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** A stream ID, "<ms>-<seq>", each part a canonical U64 (pubsub_entry.ts); pubsub_history.ts and its users take it from here. */
export type StreamId = { ms: U64; seq: U64 };
/** Stream IDs in order: -1, 0 or 1. */
export const cmpId = (a: StreamId, b: StreamId): number => (a.ms < b.ms ? -1 : a.ms > b.ms ? 1 : a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0);

export const OP = { add: 1, xdel: 2, trim: 3, drop: 4, flush: 5, meta: 6, noop: 7, entries: 8 } as const;

/**
 * A history node's row: the slots of one live entry in its Uint32Array of rows, which an entries record is written
 * from. Its ID's ms and seq, each as two 32-bit halves (high first), then where its packed fields are: the page, start
 * and end. Halves, not doubles: an ID part above 2^53 is a BigInt, which no typed array holds.
 */
export const ROW = 7;
/** An entries record's bytes per entry before the fields: its ID (16) and the length of its packed fields (4). */
const ENTRY_HEAD = 20;

export type AofRecord =
  /** `packed`: the entry's fields and values as pubsub_entry.ts packs them, which is also their layout here. */
  | { op: "add"; key: string; id: StreamId; packed: Uint8Array }
  | { op: "xdel"; key: string; ids: StreamId[] }
  /** Trimming removed the stream's first entries, up to and including `through`. */
  | { op: "trim"; key: string; through: StreamId }
  | { op: "drop"; key: string }
  | { op: "flush" }
  /** A snapshot's stream: its last ID and entries added, after its entries (and the stream itself when it has none). */
  | { op: "meta"; key: string; lastId: StreamId; added: U64 }
  /** A probe's write: proves the disk takes writes again, changes nothing. */
  | { op: "noop" }
  /**
   * A rewrite's run of one stream's entries (a node's live ones), in ID order: what as many add records would say,
   * with the key, the op, a length and a CRC written once for all of them. `packed` are views of one copy of the record.
   */
  | { op: "entries"; key: string; entries: { id: StreamId; packed: Uint8Array }[] };

/**
 * Records of one turn, encoded into one growing buffer: one write() for the whole turn. A plain Uint8Array written by
 * hand: Buffer's writeUInt32LE, writeBigUInt64LE, write() and subarray() (its species) cost more than the bytes they
 * move, which made a record cost more than the XADD that asked for it (profiled: 1.3 µs of 2.2).
 */
export class RecordBuffer {
  private buf = new Uint8Array(64 * 1024);
  length = 0;
  private start = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    bigger.set(this.buf.subarray(0, this.length), 0);
    this.buf = bigger;
  }
  private open(op: number, size: number): void {
    this.room(RECORD_HEADER + 1 + size);
    this.start = this.length;
    this.buf[this.length + RECORD_HEADER] = op;
    this.length += RECORD_HEADER + 1;
  }
  private close(): void {
    const from = this.start + RECORD_HEADER;
    putU32(this.buf, this.start, this.length - from);
    putU32(this.buf, this.start + 4, crc32(this.buf, from, this.length));
  }
  private key(key: string): void {
    const buf = this.buf;
    const at = this.length + 4;
    putU32(buf, this.length, key.length);
    for (let i = 0; i < key.length; i++) buf[at + i] = key.charCodeAt(i); // keys are byte strings held as latin1: one char, one byte
    this.length = at + key.length;
  }
  private id(id: StreamId): void {
    putU64(this.buf, this.length, id.ms);
    putU64(this.buf, this.length + 8, id.seq);
    this.length += 16;
  }

  add(key: string, id: StreamId, packed: Uint8Array): void {
    this.open(OP.add, 4 + key.length + 16 + packed.length);
    this.key(key);
    this.id(id);
    this.buf.set(packed, this.length);
    this.length += packed.length;
    this.close();
  }
  /**
   * An entries record of the live rows `rows[0, slots)` (ROW slots each) whose packed fields are in `pages`: what a
   * rewrite writes for each node. Why one record per node: a record per entry wrote its key, op, length and CRC again
   * for every entry, and made the rewrite's CPU per entry much more than the copy of its bytes (Redis's rewrite, like
   * this, writes a node's entries as one blob). The fields are copied in runs: a node's entries lie end to end.
   */
  entries(key: string, rows: Uint32Array, slots: number, pages: readonly Uint8Array[]): void {
    const n = slots / ROW;
    let data = 0;
    for (let r = 0; r < slots; r += ROW) data += rows[r + 6]! - rows[r + 5]!;
    this.open(OP.entries, 4 + key.length + 4 + ENTRY_HEAD * n + data);
    this.key(key);
    const buf = this.buf;
    putU32(buf, this.length, n);
    let at = this.length + 4;
    for (let r = 0; r < slots; r += ROW) {
      putU32(buf, at, rows[r + 1]!);
      putU32(buf, at + 4, rows[r]!);
      putU32(buf, at + 8, rows[r + 3]!);
      putU32(buf, at + 12, rows[r + 2]!);
      putU32(buf, at + 16, rows[r + 6]! - rows[r + 5]!);
      at += ENTRY_HEAD;
    }
    for (let r = 0; r < slots; ) {
      const page = rows[r + 4]!;
      const start = rows[r + 5]!;
      let end = rows[r + 6]!;
      for (r += ROW; r < slots && rows[r + 4] === page && rows[r + 5] === end; r += ROW) end = rows[r + 6]!;
      buf.set(pages[page]!.subarray(start, end), at);
      at += end - start;
    }
    this.length = at;
    this.close();
  }
  xdel(key: string, ids: StreamId[]): void {
    this.open(OP.xdel, 4 + key.length + 4 + 16 * ids.length);
    this.key(key);
    putU32(this.buf, this.length, ids.length);
    this.length += 4;
    for (const id of ids) this.id(id);
    this.close();
  }
  trim(key: string, through: StreamId): void {
    this.open(OP.trim, 4 + key.length + 16);
    this.key(key);
    this.id(through);
    this.close();
  }
  drop(key: string): void {
    this.open(OP.drop, 4 + key.length);
    this.key(key);
    this.close();
  }
  flush(): void {
    this.open(OP.flush, 0);
    this.close();
  }
  meta(key: string, lastId: StreamId, added: U64): void {
    this.open(OP.meta, 4 + key.length + 16 + 8);
    this.key(key);
    this.id(lastId);
    putU64(this.buf, this.length, added);
    this.length += 8;
    this.close();
  }
  noop(): void {
    this.open(OP.noop, 0);
    this.close();
  }

  /** The bytes so far (a view: valid until the next record or reset). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
  reset(): void {
    this.length = 0;
    // A rare huge turn should not pin its buffer for good.
    if (this.buf.length > 16 * 1024 * 1024) this.buf = new Uint8Array(64 * 1024);
  }
}

/**
 * Decodes one payload (CRC already checked); null when its inside does not match its op (damage the CRC missed). With
 * `borrow`, an entry's fields are views of `p`, valid only until its bytes are reused; else copies.
 */
export function decodePayload(p: Uint8Array, borrow = false): AofRecord | null {
  let at = 1;
  const need = (n: number): boolean => at + n <= p.length;
  const key = (): string | null => {
    if (!need(4)) return null;
    const n = u32(p, at);
    if (!need(4 + n)) return null;
    const k = latin1Range(p, at + 4, at + 4 + n);
    at += 4 + n;
    return k;
  };
  const id = (): StreamId | null => {
    if (!need(16)) return null;
    const v = { ms: u64(p, at), seq: u64(p, at + 8) };
    at += 16;
    return v;
  };
  const count = (): number | null => {
    if (!need(4)) return null;
    at += 4;
    return u32(p, at - 4);
  };
  const done = <T extends AofRecord>(r: T | null): T | null => (r && at === p.length ? r : null);
  switch (p[0]) {
    case OP.add: {
      const k = key();
      const i = k === null ? null : id();
      if (k === null || i === null || !isPacked(p, at, p.length)) return null;
      const packed = borrow ? p.subarray(at, p.length) : copy(p, at, p.length); // a copy: a view would pin (or, reused, overwrite) the chunk read
      at = p.length;
      return done({ op: "add", key: k, id: i, packed });
    }
    case OP.xdel: {
      const k = key();
      const n = k === null ? null : count();
      if (k === null || n === null || !need(16 * n)) return null;
      const ids: StreamId[] = [];
      for (let j = 0; j < n; j++) ids.push(id()!);
      return done({ op: "xdel", key: k, ids });
    }
    case OP.trim: {
      const k = key();
      const i = k === null ? null : id();
      return k === null || i === null ? null : done({ op: "trim", key: k, through: i });
    }
    case OP.drop: {
      const k = key();
      return k === null ? null : done({ op: "drop", key: k });
    }
    case OP.flush:
      return done({ op: "flush" });
    case OP.meta: {
      const k = key();
      const i = k === null ? null : id();
      if (k === null || i === null || !need(8)) return null;
      at += 8;
      return done({ op: "meta", key: k, lastId: i, added: u64(p, at - 8) });
    }
    case OP.noop:
      return done({ op: "noop" });
    case OP.entries: {
      const k = key();
      const n = k === null ? null : count();
      if (k === null || n === null || !need(ENTRY_HEAD * n)) return null;
      let data = at + ENTRY_HEAD * n;
      // Unless borrowed, one copy of the fields for the whole record (a view would pin, or once reused overwrite, the chunk read).
      const bytes = borrow ? p : copy(p, data, p.length);
      const base = borrow ? 0 : data;
      const entries: { id: StreamId; packed: Uint8Array }[] = [];
      for (let j = 0; j < n; j++, at += ENTRY_HEAD) {
        const len = u32(p, at + 16);
        if (data + len > p.length || !isPacked(p, data, data + len)) return null;
        entries.push({ id: { ms: u64(p, at), seq: u64(p, at + 8) }, packed: bytes.subarray(data - base, data - base + len) });
        data += len;
      }
      at = data;
      return done({ op: "entries", key: k, entries });
    }
    default:
      return null;
  }
}

/**
 * Reads a file's bytes in chunks of any size. Records come out whole and in order; `good` is the offset just past the
 * last whole record. At the end, `torn` says why bytes after `good` were not read (a record cut short by kill -9 or a
 * full disk, or damaged): the caller cuts the file there, as Redis's aof-load-truncated does.
 */
export class AofReader {
  /**
   * `borrow`: each record's fields are views of the bytes read, valid only while `each` runs (the loader copies them
   * into the history's pages at once). Why: a copy per entry, made only to be copied again and dropped, was most of the
   * garbage a start-up made, and RSS right after it.
   */
  constructor(private readonly borrow = false) {}
  /** Offset (from the file's start, magic included) just past the last whole record. */
  good = 0;
  /** Why reading stopped before the end; null while everything read so far is whole. */
  damage: string | null = null;
  private pending: Uint8Array = new Uint8Array(0);
  private sawMagic = false;

  /** Feeds the next bytes; calls `each` for every whole record they complete. After damage, further bytes are ignored. */
  push(chunk: Uint8Array, each: (r: AofRecord) => void): void {
    if (this.damage !== null) return;
    // A plain Uint8Array view of a Buffer: its subarray() and slice() then skip Buffer's species lookup (a third of
    // the start-up's samples went to slicing each record's entry out of a Buffer).
    const plain = chunk instanceof Buffer ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length) : chunk;
    const buf = this.pending.length ? concat(this.pending, plain) : plain;
    let at = 0;
    if (!this.sawMagic) {
      const n = Math.min(buf.length, AOF_MAGIC.length);
      for (let i = 0; i < n; i++)
        if (!magicByteFits(buf[i]!, i)) {
          this.damage = "the file does not start as a Notistream history file";
          return;
        }
      if (buf.length < AOF_MAGIC.length) {
        this.pending = copy(buf, 0, buf.length);
        return;
      }
      this.sawMagic = true;
      at = AOF_MAGIC.length;
      this.good = AOF_MAGIC.length;
    }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    while (buf.length - at >= RECORD_HEADER) {
      const len = view.getUint32(at, true);
      if (len === 0 || len > MAX_RECORD) {
        this.damage = `a record at byte ${this.good} has an impossible length (${len})`;
        return;
      }
      if (buf.length - at - RECORD_HEADER < len) break;
      const from = at + RECORD_HEADER;
      const record = crc32(buf, from, from + len) === view.getUint32(at + 4, true) ? decodePayload(buf.subarray(from, from + len), this.borrow) : null;
      if (!record) {
        this.damage = `the record at byte ${this.good} is damaged (its checksum or contents do not match)`;
        return;
      }
      each(record);
      at += RECORD_HEADER + len;
      this.good += RECORD_HEADER + len;
    }
    this.pending = at < buf.length ? copy(buf, at, buf.length) : new Uint8Array(0); // the caller may reuse its chunk
  }

  /** After the last chunk: why the bytes after `good` are not records, or null when the file ended on a record. */
  end(): string | null {
    if (this.damage !== null) return this.damage;
    if (!this.sawMagic) return this.pending.length ? "the file ends inside its header" : null;
    if (this.pending.length) return `the last record, at byte ${this.good}, is cut short (${this.pending.length} bytes of it)`;
    return null;
  }
}

/** A copy of bytes [from, to): Uint8Array's slice, since a Buffer's own slice() is a view. */
const copy = (b: Uint8Array, from: number, to: number): Uint8Array => Uint8Array.prototype.slice.call(b, from, to);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
