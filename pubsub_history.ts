// pubsub_history.ts — message history as Redis streams: stream IDs, append, range reads, deletes and trimming, kept in
// memory for reads and in bun:sqlite (WAL mode) for durability, with group commit and an appendfsync-like policy.
import { Database, type Statement } from "bun:sqlite";
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { NODE_MAX_BYTES, entrySize, masterSize, rawLength, sameFields } from "./pubsub_listpack";

export type StreamId = { ms: bigint; seq: bigint };
export type Entry = { id: StreamId; fields: Uint8Array[] };

const U64_MAX = 18446744073709551615n;
export const MIN_ID: StreamId = { ms: 0n, seq: 0n };
export const MAX_ID: StreamId = { ms: U64_MAX, seq: U64_MAX };
/** Redis's stream-node-max-entries: approximate trimming removes whole nodes of this many entries. */
export const NODE_MAX_ENTRIES = 100;

export const cmpId = (a: StreamId, b: StreamId): number => (a.ms < b.ms ? -1 : a.ms > b.ms ? 1 : a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0);
export const idString = (id: StreamId): string => `${id.ms}-${id.seq}`;

/** The next ID after `id`, or null when it is the largest possible (streamIncrID). */
export function incrId(id: StreamId): StreamId | null {
  if (id.seq === U64_MAX) return id.ms === U64_MAX ? null : { ms: id.ms + 1n, seq: 0n };
  return { ms: id.ms, seq: id.seq + 1n };
}
/** The ID before `id`, or null when it is 0-0 (streamDecrID). */
export function decrId(id: StreamId): StreamId | null {
  if (id.seq === 0n) return id.ms === 0n ? null : { ms: id.ms - 1n, seq: U64_MAX };
  return { ms: id.ms, seq: id.seq - 1n };
}

/** Redis's string2ull: a strict decimal first, then strtoull's looser rules (spaces, a sign, leading zeros). */
export function parseU64(s: string): bigint | null {
  if (/^(0|-?[1-9][0-9]{0,19})$/.test(s) && s.length < 21) {
    const v = BigInt(s);
    if (v >= -(2n ** 63n) && v < 2n ** 63n) return v < 0n ? null : v;
  }
  const m = /^[\t\n\v\f\r ]*([+-]?)([0-9]+)$/.exec(s);
  if (!m) return null;
  let v = BigInt(m[2]!);
  if (v > U64_MAX) return null;
  if (m[1] === "-" && v !== 0n) v = (1n << 64n) - v;
  return v;
}

/**
 * One radix-tree node's worth of entries, so approximate trimming removes what Redis would: its master entry (the
 * first entry's ID and field names) and its listpack's size in bytes, which deletions do not shrink.
 */
type Node = { entries: Entry[]; deleted: number; master: Entry; bytes: number };

export class Stream {
  /** The stream's row id in SQLite (0 until saved). */
  sid = 0;
  /** Trimming has removed every entry up to this ID (0-0: none). Saved with the stream, so trimmed rows may be deleted later. */
  trimmedThrough: StreamId = MIN_ID;
  nodes: Node[] = [];
  length = 0;
  lastId: StreamId = MIN_ID;
  entriesAdded = 0n;

  /** Appends in ID order; the caller has checked the ID is above lastId. */
  append(entry: Entry): void {
    let tail = this.nodes.at(-1);
    // streamAppendItem: a new node once the bytes would reach stream-node-max-bytes or the entries node-max-entries.
    if (!tail || tail.bytes + rawLength(entry.fields) >= NODE_MAX_BYTES || tail.entries.length + tail.deleted >= NODE_MAX_ENTRIES)
      this.nodes.push((tail = { entries: [], deleted: 0, master: entry, bytes: masterSize(entry.fields) }));
    const m = tail.master;
    tail.bytes += entrySize(entry.id.ms - m.id.ms, entry.id.seq - m.id.seq, entry.fields, m === entry || sameFields(m.fields, entry.fields));
    tail.entries.push(entry);
    this.length++;
    this.entriesAdded++;
    this.lastId = entry.id;
  }

  /** The ID XADD * would give now: the clock, or just above lastId when the clock is behind it. */
  nextId(nowMs: bigint): StreamId | null {
    if (nowMs > this.lastId.ms) return { ms: nowMs, seq: 0n };
    return incrId(this.lastId);
  }

  firstId(): StreamId | null {
    return this.nodes[0]?.entries[0]?.id ?? null;
  }
  lastLiveId(): StreamId | null {
    const n = this.nodes.at(-1);
    return n?.entries.at(-1)?.id ?? null;
  }

  /** Entries with start <= id <= end, in order (or reversed), at most `count` (0: all). */
  range(start: StreamId, end: StreamId, count = 0, rev = false): Entry[] {
    const out: Entry[] = [];
    if (cmpId(start, end) > 0) return out;
    if (!rev) {
      for (let i = this.firstNodeAtOrAfter(start); i < this.nodes.length; i++) {
        for (const e of this.nodes[i]!.entries) {
          if (cmpId(e.id, start) < 0) continue;
          if (cmpId(e.id, end) > 0) return out;
          out.push(e);
          if (count && out.length >= count) return out;
        }
      }
    } else {
      for (let i = this.nodes.length - 1; i >= 0; i--) {
        const es = this.nodes[i]!.entries;
        if (es.length && cmpId(es[0]!.id, end) > 0) continue;
        for (let j = es.length - 1; j >= 0; j--) {
          const e = es[j]!;
          if (cmpId(e.id, end) > 0) continue;
          if (cmpId(e.id, start) < 0) return out;
          out.push(e);
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
      const last = this.nodes[mid]!.entries.at(-1);
      if (last && cmpId(last.id, id) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Deletes one entry and returns it (null when absent). A node left empty goes away, as in Redis. */
  delete(id: StreamId): Entry | null {
    for (let i = this.firstNodeAtOrAfter(id); i < this.nodes.length; i++) {
      const node = this.nodes[i]!;
      const j = node.entries.findIndex((e) => cmpId(e.id, id) === 0);
      if (j === -1) {
        if (node.entries.length && cmpId(node.entries[0]!.id, id) > 0) return null;
        continue;
      }
      const [gone] = node.entries.splice(j, 1);
      node.deleted++;
      this.length--;
      if (node.entries.length === 0) this.nodes.splice(i, 1);
      return gone!;
    }
    return null;
  }

  /**
   * Redis's streamTrim. MAXLEN keeps at most `maxlen` entries; MINID drops entries below `minid`.
   * Approximate trimming removes only whole nodes and stops at `limit` entries (0: no limit).
   * Returns the removed entries.
   */
  trim(opts: { maxlen?: number; minid?: StreamId; approx: boolean; limit: number }): Entry[] {
    const removed: Entry[] = [];
    while (this.nodes.length) {
      if (opts.maxlen !== undefined && this.length <= opts.maxlen) break;
      const node = this.nodes[0]!;
      const live = node.entries.length;
      if (opts.limit && removed.length + live > opts.limit) break;
      const removeNode = opts.maxlen !== undefined ? this.length - live >= opts.maxlen : cmpId(node.entries.at(-1)!.id, opts.minid!) < 0;
      if (removeNode) {
        removed.push(...node.entries);
        this.nodes.shift();
        this.length -= live;
        continue;
      }
      if (opts.approx) break;
      while (node.entries.length) {
        if (opts.maxlen !== undefined ? this.length <= opts.maxlen : cmpId(node.entries[0]!.id, opts.minid!) >= 0) break;
        removed.push(node.entries.shift()!);
        node.deleted++;
        this.length--;
      }
      break;
    }
    return removed;
  }
}

export type FsyncPolicy = "always" | "everysec";

/**
 * The file's layout, as 0.1.0 writes it; a change to it raises LAYOUT_VERSION and upgrades the files of every lower one.
 * Entries are keyed by their ID first, then the stream's row id: IDs come from the clock, so a turn's inserts over many
 * channels land together at the end of the tree (one page or two), where keying by stream first writes a page per
 * channel. Integer columns, because TEXT/BLOB keys make every insert compare strings. ms and seq are u64 stored
 * bit-for-bit as i64 (order is restored in memory). `meta` holds the write probe's row.
 */
const TABLES = [
  "CREATE TABLE streams (id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE, last_ms TEXT NOT NULL, last_seq TEXT NOT NULL, added TEXT NOT NULL, trim_ms TEXT NOT NULL DEFAULT '0', trim_seq TEXT NOT NULL DEFAULT '0')",
  "CREATE TABLE entries (ms INTEGER NOT NULL, seq INTEGER NOT NULL, sid INTEGER NOT NULL, fields BLOB NOT NULL, PRIMARY KEY (ms, seq, sid)) WITHOUT ROWID",
  "CREATE TABLE meta (k TEXT PRIMARY KEY, v) WITHOUT ROWID",
];
/** PRAGMA user_version of the layout above. A file at 0 with this layout (made before the version was set) is adopted. */
export const LAYOUT_VERSION = 1;

let expected: string | null = null;
/** columnsOf a database made from TABLES, worked out once. */
function expectedColumns(): string {
  if (expected === null) {
    const db = new Database(":memory:");
    for (const sql of TABLES) db.exec(sql);
    expected = columnsOf(db);
    db.close();
  }
  return expected;
}

/** Each table's columns (name, type, NOT NULL, default, key position), to tell the layout above from any other. */
function columnsOf(db: Database): string {
  return ["streams", "entries", "meta"]
    .map((table) => (db.query(`PRAGMA table_info(${table})`).all() as { name: string; type: string; notnull: unknown; dflt_value: unknown; pk: unknown }[]).map((c) => `${table}.${c.name} ${c.type} ${c.notnull} ${c.dflt_value} ${c.pk}`).join(", "))
    .join("; ");
}

function encodeFields(fields: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const f of fields) size += 4 + f.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const f of fields) {
    view.setUint32(at, f.length);
    out.set(f, at + 4);
    at += 4 + f.length;
  }
  return out;
}

function decodeFields(b: Uint8Array): Uint8Array[] {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Uint8Array[] = [];
  for (let at = 0; at < b.length; ) {
    const n = view.getUint32(at);
    out.push(b.slice(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

/**
 * All streams, in memory for reads, written through to SQLite. Writes made during one event-loop turn share one
 * transaction (group commit); the server commits before it sends any reply, so an acknowledged write is on disk.
 */
export class History {
  readonly streams = new Map<string, Stream>();
  private db!: Database;
  private inTx = false;
  private dirtySinceSync = false;
  private syncTimer: ReturnType<typeof setInterval> | null = null;
  private st!: {
    insert: Statement;
    remove: Statement;
    newStream: Statement;
    saveStream: Statement;
    dropStream: Statement;
  };
  /**
   * Streams whose row (last id, entries added, trimmed through) must be saved at commit: those that lost entries (XDEL,
   * trims). An XADD alone saves no row: what it changes is derived on load from the entries above the saved last ID
   * (the one write per turn is then the entries' tail page, not also a page of the streams table per channel).
   */
  private readonly touched = new Set<Stream>();
  /**
   * Rows of trimmed entries, deleted together about once a second rather than at each trim: entries sit on disk in
   * time order, so a second's trims empty whole pages at once. Until then the saved trim point hides them on load.
   */
  private trimmedRows: [sid: number, ms: bigint, seq: bigint][] = [];
  private trimmedRowsSince = 0;
  /** Why the last commit failed (a full disk, a read-only file); null while writes work. Cleared by a probe. */
  failure: string | null = null;
  private probeTimer: ReturnType<typeof setInterval> | null = null;

  /** The file's permission bits when other users may use it (an older file, or one made so by hand); null when not. */
  readonly looseMode: number | null = null;

  constructor(
    readonly path: string,
    readonly fsync: FsyncPolicy = "everysec",
  ) {
    if (path !== ":memory:") this.looseMode = History.makeFile(path);
    this.open();
    this.load();
    // A read-only file (or a full disk) at start: serve what is there, refuse writes, and say so now.
    const err = this.tryWrite();
    if (err) this.fail(err);
    if (fsync === "everysec") {
      this.syncTimer = setInterval(() => this.sync(), 1000);
      this.syncTimer.unref?.();
    }
  }

  /**
   * The file holds private messages and push secrets. Directories made for it are 0700; a new file is made 0600 before
   * SQLite opens it, and SQLite gives the -wal and -shm files the database file's mode. An existing directory (the
   * cwd, say) or file keeps its mode: returns the file's mode bits when group or others may use it, else null.
   */
  private static makeFile(path: string): number | null {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      closeSync(openSync(path, "wx", 0o600)); // "wx": made here and now, or left alone if it exists (an empty file is an empty database)
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

  /** Opens (or opens again) the database and prepares the statements. */
  private open(): void {
    // safeIntegers: IDs are unsigned 64-bit; they must come back as BigInt, never as rounded doubles.
    try {
      this.db = new Database(this.path, { create: true, strict: false, safeIntegers: true });
      this.db.exec("PRAGMA journal_mode = WAL");
    } catch (err) {
      // A read-only directory or mount: read what is there (writes are refused until it is writable again).
      if (!existsSync(this.path)) throw err;
      try {
        this.db = new Database(this.path, { readonly: true, strict: false, safeIntegers: true });
        this.db.query("SELECT count(*) FROM sqlite_master").get();
      } catch {
        // A cleanly closed WAL database in a read-only place cannot be opened (SQLite would need its -shm file):
        // read a copy in memory, its header switched to rollback-journal mode so SQLite accepts it. Writes still fail.
        const copy = readFileSync(this.path);
        copy[18] = 1;
        copy[19] = 1;
        this.db = Database.deserialize(copy, { readonly: true, strict: false, safeIntegers: true });
      }
    }
    // always: fsync the WAL at every commit. everysec: let commits reach the OS at once, fsync once a second.
    this.db.exec(`PRAGMA synchronous = ${this.fsync === "always" ? "FULL" : "NORMAL"}`);
    this.db.exec("PRAGMA wal_autocheckpoint = 10000");
    try {
      this.checkLayout();
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.st = {
      insert: this.db.prepare("INSERT OR REPLACE INTO entries (ms, seq, sid, fields) VALUES (?, ?, ?, ?)"),
      remove: this.db.prepare("DELETE FROM entries WHERE ms = ? AND seq = ? AND sid = ?"),
      newStream: this.db.prepare("INSERT INTO streams (key, last_ms, last_seq, added) VALUES (?, '0', '0', '0') RETURNING id"),
      saveStream: this.db.prepare("UPDATE streams SET last_ms = ?, last_seq = ?, added = ?, trim_ms = ?, trim_seq = ? WHERE id = ?"),
      dropStream: this.db.prepare("DELETE FROM streams WHERE id = ?"),
    };
  }

  /**
   * A new file gets the tables and LAYOUT_VERSION; a file of this layout at version 0 is adopted (set to it when it can
   * be written). A file from a newer version, or in a layout this code did not write, is refused with what to do.
   */
  private checkLayout(): void {
    const version = Number((this.db.query("PRAGMA user_version").get() as { user_version: unknown }).user_version);
    if (version > LAYOUT_VERSION)
      throw new Error(`${this.path} was written by a newer Notistream (history layout ${version}; this version reads layout ${LAYOUT_VERSION}): run the newer version, or move the file aside to start a new history`);
    const tables = this.db.query("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: unknown };
    if (Number(tables.n) === 0) {
      this.db.transaction(() => {
        for (const sql of TABLES) this.db.exec(sql);
        this.db.exec(`PRAGMA user_version = ${LAYOUT_VERSION}`);
      })();
      return;
    }
    if (columnsOf(this.db) !== expectedColumns())
      throw new Error(`${this.path} is not a history file this version reads (another program's database, or history from a development build before 0.1.0): move it aside to start a new history`);
    if (version === 0) {
      try {
        this.db.exec(`PRAGMA user_version = ${LAYOUT_VERSION}`);
      } catch {
        // a read-only file: read as it is (writes are refused anyway), adopted when it can be written
      }
    }
  }

  /** A write transaction is open: this turn's changes are not on disk yet. */
  get pending(): boolean {
    return this.inTx;
  }

  private load(): void {
    this.trimmedRows = [];
    const rows = this.db.query("SELECT id, key, last_ms, last_seq, added, trim_ms, trim_seq FROM streams").all() as {
      id: bigint;
      key: Uint8Array;
      last_ms: string;
      last_seq: string;
      added: string;
      trim_ms: string;
      trim_seq: string;
    }[];
    const byId = new Map<number, Stream>();
    for (const r of rows) {
      const s = new Stream();
      s.sid = Number(r.id);
      s.trimmedThrough = { ms: BigInt(r.trim_ms), seq: BigInt(r.trim_seq) };
      byId.set(s.sid, s);
      this.streams.set(Buffer.from(r.key).toString("latin1"), s);
    }
    const lists = new Map<Stream, Entry[]>();
    for (const e of this.db.query("SELECT sid, ms, seq, fields FROM entries").all() as { sid: bigint; ms: bigint; seq: bigint; fields: Uint8Array }[]) {
      const s = byId.get(Number(e.sid));
      const id = { ms: BigInt.asUintN(64, e.ms), seq: BigInt.asUintN(64, e.seq) };
      // Trimmed (or of a dropped stream) but not deleted yet when the server stopped: delete it now, never serve it.
      if (!s || cmpId(id, s.trimmedThrough) <= 0) {
        this.trimmedRows.push([Number(e.sid), e.ms, e.seq]);
        continue;
      }
      let list = lists.get(s);
      if (!list) lists.set(s, (list = []));
      list.push({ id, fields: decodeFields(e.fields) });
    }
    for (const r of rows) {
      const s = byId.get(Number(r.id))!;
      const list = lists.get(s) ?? [];
      list.sort((a, b) => cmpId(a.id, b.id));
      for (const e of list) s.append(e);
      // The saved last ID wins: it stays above deleted and trimmed entries, so IDs never go backwards.
      const saved = { ms: BigInt(r.last_ms), seq: BigInt(r.last_seq) };
      if (cmpId(saved, s.lastId) > 0) s.lastId = saved;
      // Entries above the saved last ID were added since the row was saved (XADD saves none), and none of them has
      // been deleted or trimmed: that saves the row. So they are exactly the additions the saved count lacks.
      let since = 0n;
      for (let i = list.length - 1; i >= 0 && cmpId(list[i]!.id, saved) > 0; i--) since++;
      s.entriesAdded = BigInt(r.added) + since;
    }
    this.trimmedRowsSince = Date.now();
  }

  private begin(): void {
    if (!this.inTx) {
      this.db.exec("BEGIN");
      this.inTx = true;
    }
  }

  /**
   * Ends this turn's transaction; false when the disk refused it. The server calls it before writing replies, and on
   * false turns this turn's write replies into errors: nothing acknowledged is ever missing from the disk.
   */
  commit(): boolean {
    if (!this.inTx) return true;
    try {
      for (const s of this.touched) {
        if (!s.sid) continue;
        const saved = [String(s.lastId.ms), String(s.lastId.seq), String(s.entriesAdded)];
        this.st.saveStream.run(...saved, String(s.trimmedThrough.ms), String(s.trimmedThrough.seq), s.sid);
      }
      // About once a second, the trimmed rows go in this commit (a full disk refuses them with the rest: they stay hidden).
      if (this.trimmedRows.length && (Date.now() - this.trimmedRowsSince >= 1000 || this.trimmedRows.length >= 50_000)) this.deleteTrimmedRows();
      this.db.exec("COMMIT");
      this.dirtySinceSync = true;
      return true;
    } catch (err) {
      try {
        this.db.exec("ROLLBACK");
      } catch {
        // already rolled back by SQLite
      }
      this.fail(err);
      // Memory must match the disk again: the refused entries were never acknowledged.
      this.streams.clear();
      this.load();
      return false;
    } finally {
      this.touched.clear();
      this.inTx = false;
    }
  }

  /** Enters the failed state: writes are refused (MISCONF) until a probe write succeeds, tried once a second. */
  private fail(err: unknown): void {
    const first = this.failure === null;
    this.failure = (err as Error).message;
    if (first)
      console.error(`history: writing to ${this.path} failed (${this.failure}); writes are refused (MISCONF) and retried every second, live delivery goes on`);
    this.probeTimer ??= setInterval(() => this.probe(), 1000);
    this.probeTimer.unref?.();
  }

  /** One small real write; the error if the disk (or a read-only file) refuses it. */
  private tryWrite(): Error | null {
    // SQLite opens a read-only file read-only, and the connection stays so: open it again to see a fix.
    if (this.failure !== null && /readonly/i.test(this.failure)) {
      try {
        // Cheap check first: reopening reads the file, which is too much to do every second for nothing.
        accessSync(this.path, constants.W_OK);
        accessSync(dirname(this.path), constants.W_OK);
      } catch {
        return new Error(this.failure);
      }
      try {
        this.db.close();
        this.open();
      } catch (err) {
        return err as Error;
      }
    }
    try {
      this.db.exec("BEGIN");
      this.db.query("INSERT OR REPLACE INTO meta (k, v) VALUES ('probe', ?)").run(String(Date.now()));
      this.db.exec("COMMIT");
      return null;
    } catch (err) {
      try {
        this.db.exec("ROLLBACK");
      } catch {
        // nothing to roll back
      }
      return err as Error;
    }
  }

  /** Run once a second while writes fail: when a write reaches the disk again, writes are accepted again. */
  probe(): boolean {
    if (this.failure === null) return true;
    const err = this.tryWrite();
    if (err) {
      this.failure = err.message;
      return false;
    }
    console.log(`history: writing to ${this.path} works again; writes are accepted`);
    this.failure = null;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
    return true;
  }

  /** The once-a-second fsync of the everysec policy: a checkpoint syncs the WAL, then the database. */
  sync(): void {
    if (!this.dirtySinceSync || this.inTx) return;
    this.dirtySinceSync = false;
    try {
      this.db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    } catch (err) {
      // Runs on a timer: a failure here must never take the server down.
      console.error(`history: syncing ${this.path} failed (${(err as Error).message})`);
    }
  }

  get(key: string): Stream | undefined {
    return this.streams.get(key);
  }

  create(key: string): Stream {
    const s = new Stream();
    this.streams.set(key, s);
    this.begin();
    const row = this.st.newStream.get(Buffer.from(key, "latin1")) as { id: bigint };
    s.sid = Number(row.id);
    return s;
  }

  add(_key: string, s: Stream, entry: Entry): void {
    // Disk first: if SQLite refuses (a full disk, a read-only file), memory stays as it was and the caller errors.
    this.begin();
    this.st.insert.run(BigInt.asIntN(64, entry.id.ms), BigInt.asIntN(64, entry.id.seq), s.sid, encodeFields(entry.fields));
    s.append(entry); // no row to save: load() derives the last ID and the count from this entry (see `touched`)
  }

  /** XDEL: the rows go now (a deleted entry is not below the trim point, so nothing else would hide it). */
  deleted(key: string, entries: Entry[]): void {
    if (!entries.length) return;
    const s = this.streams.get(key);
    if (!s) return;
    this.begin();
    this.removeRows(s.sid, entries);
    this.touched.add(s);
  }

  /**
   * Trimming (MAXLEN, MINID, the history's max age) removes the oldest entries, so everything up to the last one
   * removed is gone: that trim point is saved with this turn's commit, and the rows are deleted later in one batch.
   */
  trimmed(key: string, entries: Entry[]): void {
    if (!entries.length) return;
    const s = this.streams.get(key);
    if (!s) return;
    this.begin();
    const last = entries[entries.length - 1]!.id;
    if (cmpId(last, s.trimmedThrough) > 0) s.trimmedThrough = last;
    for (const e of entries) this.trimmedRows.push([s.sid, BigInt.asIntN(64, e.id.ms), BigInt.asIntN(64, e.id.seq)]);
    this.touched.add(s);
  }

  /** Deletes `entries`' rows of stream `sid` now, inside the open transaction. */
  private removeRows(sid: number, entries: Entry[]): void {
    for (const e of entries) this.st.remove.run(BigInt.asIntN(64, e.id.ms), BigInt.asIntN(64, e.id.seq), sid);
  }

  /** Deletes rows kept as [sid, ms, seq] (trimmed ones), inside the open transaction. */
  private removeRowTuples(rows: [number, bigint, bigint][]): void {
    for (const [sid, ms, seq] of rows) this.st.remove.run(ms, seq, sid);
  }

  /** Deletes the trimmed rows waiting for it, inside the open transaction. */
  private deleteTrimmedRows(): void {
    // Sorted by ID: deletes walk the tree in order, page after page.
    this.removeRowTuples(this.trimmedRows.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : a[0] - b[0])));
    this.trimmedRows = [];
    this.trimmedRowsSince = Date.now();
  }

  deleteKey(key: string): boolean {
    const s = this.streams.get(key);
    if (!s) return false;
    this.streams.delete(key);
    this.begin();
    // Every row of this stream goes now, its trimmed ones too: a new stream may get the same row id later.
    for (const node of s.nodes) this.removeRows(s.sid, node.entries);
    this.removeRowTuples(this.trimmedRows.filter((row) => row[0] === s.sid));
    this.trimmedRows = this.trimmedRows.filter((row) => row[0] !== s.sid);
    this.st.dropStream.run(s.sid);
    this.touched.delete(s);
    return true;
  }

  flushAll(): void {
    this.begin();
    this.streams.clear();
    this.touched.clear();
    this.trimmedRows = [];
    this.db.exec("DELETE FROM entries");
    this.db.exec("DELETE FROM streams");
  }

  /** Drops entries older than `maxAgeMs` from every stream (exact MINID trimming); returns how many. */
  expire(maxAgeMs: number, nowMs = Date.now()): number {
    if (this.failure !== null) return 0; // the disk refuses writes: expire once it takes them again
    const minid: StreamId = { ms: BigInt(Math.max(0, Math.floor(nowMs - maxAgeMs))), seq: 0n };
    let n = 0;
    for (const [key, s] of this.streams) {
      const first = s.firstId();
      if (!first || cmpId(first, minid) >= 0) continue;
      const gone = s.trim({ minid, approx: false, limit: 0 });
      this.trimmed(key, gone);
      n += gone.length;
    }
    this.commit();
    return n;
  }

  close(): void {
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    if (this.trimmedRows.length && this.failure === null) {
      this.begin();
      this.deleteTrimmedRows();
    }
    this.commit();
    try {
      this.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (err) {
      console.error(`history: final checkpoint of ${this.path} failed (${(err as Error).message}); the WAL keeps the data`);
    }
    this.db.close();
  }
}
