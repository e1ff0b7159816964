// pubsub_sqlite_upgrade.ts — reads a history file of the SQLite layout (0.1.0 until the append-only file) so it can be
// upgraded once, in place: every stream's entries, last ID and count, with the checks that refuse files it did not write.
import { Database } from "bun:sqlite";
import { existsSync, readFileSync } from "node:fs";
import { cmpId as cmp, type StreamId } from "./pubsub_aof";
import { pack, u64Of, type U64 } from "./pubsub_entry";

/** SQLite's file header: how a history file of this layout is told from an append-only one. */
export const SQLITE_MAGIC = "SQLite format 3\u0000";

/**
 * The layout 0.1.0 wrote. Entries keyed by ID first, then the stream's row id; ms and seq are u64 stored bit-for-bit
 * as i64. `streams` holds each stream's saved last ID, count and trim point; `meta` the write probe's row.
 */
export const TABLES = [
  "CREATE TABLE streams (id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE, last_ms TEXT NOT NULL, last_seq TEXT NOT NULL, added TEXT NOT NULL, trim_ms TEXT NOT NULL DEFAULT '0', trim_seq TEXT NOT NULL DEFAULT '0')",
  "CREATE TABLE entries (ms INTEGER NOT NULL, seq INTEGER NOT NULL, sid INTEGER NOT NULL, fields BLOB NOT NULL, PRIMARY KEY (ms, seq, sid)) WITHOUT ROWID",
  "CREATE TABLE meta (k TEXT PRIMARY KEY, v) WITHOUT ROWID",
];
/** PRAGMA user_version of the layout above. A file at 0 with this layout (made before the version was set) is read too. */
export const LAYOUT_VERSION = 1;

/** One stream as the old file holds it: entries in ID order, the last ID ever given, and how many were ever added. */
export type OldStream = { key: string; lastId: StreamId; added: U64; entries: { id: StreamId; packed: Uint8Array }[] };

/** True when `head` (a file's first bytes) is an SQLite database's. */
export function isSqlite(head: Uint8Array): boolean {
  return Buffer.from(head).toString("latin1", 0, SQLITE_MAGIC.length) === SQLITE_MAGIC;
}

/** Each table's columns (name, type, NOT NULL, default, key position), to tell the layout above from any other. */
function columnsOf(db: Database): string {
  return ["streams", "entries", "meta"]
    .map((table) => (db.query(`PRAGMA table_info(${table})`).all() as { name: string; type: string; notnull: unknown; dflt_value: unknown; pk: unknown }[]).map((c) => `${table}.${c.name} ${c.type} ${c.notnull} ${c.dflt_value} ${c.pk}`).join(", "))
    .join("; ");
}

let expected: string | null = null;
function expectedColumns(): string {
  if (expected === null) {
    const db = new Database(":memory:");
    for (const sql of TABLES) db.exec(sql);
    expected = columnsOf(db);
    db.close();
  }
  return expected;
}

function decodeFields(b: Uint8Array): Uint8Array[] {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Uint8Array[] = [];
  for (let at = 0; at < b.length; ) {
    const n = view.getUint32(at);
    out.push(b.subarray(at + 4, at + 4 + n)); // views: pack() copies them
    at += 4 + n;
  }
  return out;
}

/**
 * Opens the old file: for writing when it can be (SQLite then reads what its -wal holds, even after kill -9), else for
 * reading; in a read-only place, a copy in memory (SQLite would need to write its -shm file).
 */
function openOld(path: string): Database {
  try {
    const db = new Database(path, { create: false, readwrite: true, strict: false, safeIntegers: true });
    db.query("SELECT count(*) FROM sqlite_master").get();
    return db;
  } catch {
    // read-only: below
  }
  try {
    const db = new Database(path, { readonly: true, strict: false, safeIntegers: true });
    db.query("SELECT count(*) FROM sqlite_master").get();
    return db;
  } catch {
    if (!existsSync(path)) throw new Error(`${path} does not exist`);
    const copy = readFileSync(path);
    copy[18] = 1; // the header switched to rollback-journal mode, so SQLite accepts it read-only
    copy[19] = 1;
    return Database.deserialize(copy, { readonly: true, strict: false, safeIntegers: true });
  }
}

/** Refuses a file from a newer version or in a layout no release wrote, with what to do. */
function checkLayout(db: Database, path: string): void {
  const version = Number((db.query("PRAGMA user_version").get() as { user_version: unknown }).user_version);
  if (version > LAYOUT_VERSION)
    throw new Error(`${path} was written by a newer Notistream (history layout ${version}; this version reads layout ${LAYOUT_VERSION}): run the newer version, or move the file aside to start a new history`);
  const tables = db.query("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: unknown };
  if (Number(tables.n) !== 0 && columnsOf(db) !== expectedColumns())
    throw new Error(`${path} is not a history file this version reads (another program's database, or history from a development build before 0.1.0): move it aside to start a new history`);
}

/**
 * Every stream of the old file. Rows below a stream's saved trim point (trimmed, not deleted yet) are left out; the
 * saved last ID wins over the entries' (it stays above deleted ones); entries above it were added since the row was
 * saved (an XADD saved no row), so they are the additions the saved count lacks.
 */
export function readOldHistory(path: string): OldStream[] {
  const db = openOld(path);
  try {
    checkLayout(db, path);
    if (Number((db.query("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: unknown }).n) === 0) return [];
    const rows = db.query("SELECT id, key, last_ms, last_seq, added, trim_ms, trim_seq FROM streams").all() as { id: bigint; key: Uint8Array; last_ms: string; last_seq: string; added: string; trim_ms: string; trim_seq: string }[];
    const bySid = new Map<number, { stream: OldStream; trimmed: StreamId; saved: StreamId; savedAdded: U64 }>();
    for (const r of rows) {
      const saved = { ms: u64Of(BigInt(r.last_ms)), seq: u64Of(BigInt(r.last_seq)) };
      const stream: OldStream = { key: Buffer.from(r.key).toString("latin1"), lastId: saved, added: u64Of(BigInt(r.added)), entries: [] };
      bySid.set(Number(r.id), { stream, trimmed: { ms: u64Of(BigInt(r.trim_ms)), seq: u64Of(BigInt(r.trim_seq)) }, saved, savedAdded: u64Of(BigInt(r.added)) });
    }
    for (const e of db.query("SELECT sid, ms, seq, fields FROM entries").all() as { sid: bigint; ms: bigint; seq: bigint; fields: Uint8Array }[]) {
      const s = bySid.get(Number(e.sid));
      const id = { ms: u64Of(BigInt.asUintN(64, BigInt(e.ms))), seq: u64Of(BigInt.asUintN(64, BigInt(e.seq))) };
      if (!s || cmp(id, s.trimmed) <= 0) continue;
      s.stream.entries.push({ id, packed: pack(decodeFields(e.fields)) });
    }
    for (const { stream, saved, savedAdded } of bySid.values()) {
      stream.entries.sort((a, b) => cmp(a.id, b.id));
      let since = 0;
      for (let i = stream.entries.length - 1; i >= 0 && cmp(stream.entries[i]!.id, saved) > 0; i--) since++;
      const newest = stream.entries.at(-1)?.id;
      stream.lastId = newest && cmp(newest, saved) > 0 ? newest : saved;
      stream.added = u64Of(BigInt(savedAdded) + BigInt(since));
    }
    try {
      db.exec("PRAGMA wal_checkpoint(TRUNCATE)"); // the file kept beside the upgraded one holds everything itself
    } catch {
      // read-only: the -wal stays with it
    }
    return [...bySid.values()].map((s) => s.stream);
  } finally {
    db.close();
  }
}
