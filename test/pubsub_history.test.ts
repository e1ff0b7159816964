// test/pubsub_history.test.ts — pubsub_history.ts on its own: stream IDs, append and range reads, deletes, exact and
// approximate trimming, the age limit, and a database that survives being reopened with IDs that never go back.
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { History, LAYOUT_VERSION, Stream, NODE_MAX_ENTRIES, cmpId, decrId, idString, incrId, parseU64, type StreamId } from "../pubsub_history";
import { tempPath } from "./helpers";
import { chmodSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

const id = (ms: number, seq = 0): StreamId => ({ ms: BigInt(ms), seq: BigInt(seq) });
const f = (s: string) => [Buffer.from("k"), Buffer.from(s)];
const filled = (n: number) => {
  const s = new Stream();
  for (let i = 1; i <= n; i++) s.append({ id: id(i), fields: f(String(i)) });
  return s;
};
const ids = (entries: { id: StreamId }[]) => entries.map((e) => idString(e.id));

describe("stream IDs", () => {
  test("compare, increment and decrement across the 64-bit edges", () => {
    expect(cmpId(id(1, 2), id(1, 3))).toBe(-1);
    expect(cmpId(id(2), id(1, 99))).toBe(1);
    expect(idString(incrId({ ms: 5n, seq: 18446744073709551615n })!)).toBe("6-0");
    expect(incrId({ ms: 18446744073709551615n, seq: 18446744073709551615n })).toBeNull();
    expect(idString(decrId(id(6))!)).toBe("5-18446744073709551615");
    expect(decrId(id(0))).toBeNull();
  });
  test("parseU64 follows Redis's string2ull", () => {
    expect(parseU64("42")).toBe(42n);
    expect(parseU64("007")).toBe(7n);
    expect(parseU64("+3")).toBe(3n);
    expect(parseU64("-1")).toBeNull();
    expect(parseU64("-01")).toBe(18446744073709551615n);
    expect(parseU64("18446744073709551616")).toBeNull();
    expect(parseU64("1x")).toBeNull();
    expect(parseU64("")).toBeNull();
  });
  test("XADD * keeps increasing when the clock goes backwards", () => {
    const s = filled(0);
    s.append({ id: s.nextId(1000n)!, fields: f("a") });
    expect(idString(s.nextId(500n)!)).toBe("1000-1"); // clock behind: sequence goes up instead
    expect(idString(s.nextId(2000n)!)).toBe("2000-0");
  });
});

describe("Stream", () => {
  test("range reads, forwards and backwards, with counts", () => {
    const s = filled(250);
    expect(ids(s.range(id(99), id(102)))).toEqual(["99-0", "100-0", "101-0", "102-0"]);
    expect(ids(s.range(id(0), id(1000), 2))).toEqual(["1-0", "2-0"]);
    expect(ids(s.range(id(0), id(1000), 2, true))).toEqual(["250-0", "249-0"]);
    expect(ids(s.range(id(200), id(199)))).toEqual([]);
    expect(s.length).toBe(250);
    expect(s.nodes.length).toBe(3);
  });
  test("delete marks entries; an emptied node goes away", () => {
    const s = filled(150);
    expect(s.delete(id(1)) !== null).toBe(true);
    expect(s.delete(id(1)) !== null).toBe(false);
    expect(s.length).toBe(149);
    for (let i = 2; i <= NODE_MAX_ENTRIES; i++) s.delete(id(i));
    expect(s.nodes.length).toBe(1);
    expect(idString(s.firstId()!)).toBe("101-0");
  });
  test("exact and approximate MAXLEN, and MINID", () => {
    const exact = filled(250);
    expect(exact.trim({ maxlen: 120, approx: false, limit: 0 }).length).toBe(130);
    expect(exact.length).toBe(120);
    const approx = filled(250);
    expect(approx.trim({ maxlen: 120, approx: true, limit: 10000 }).length).toBe(100); // whole nodes only
    expect(approx.length).toBe(150);
    const minid = filled(250);
    expect(minid.trim({ minid: id(201), approx: false, limit: 0 }).length).toBe(200);
    expect(idString(minid.firstId()!)).toBe("201-0");
  });
});

describe("History", () => {
  test("its files are private: a new database, -wal and -shm 0600 in 0700 directories it made; an older file's loose mode is reported", () => {
    const mode = (p: string) => statSync(p).mode & 0o777;
    const base = dirname(tempPath("x"));
    const path = join(base, "a", "b", "h.db");
    const h = new History(path, "always");
    h.add("notistream:a", h.create("notistream:a"), { id: id(1), fields: f("private") });
    h.commit();
    expect([mode(path), mode(`${path}-wal`), mode(`${path}-shm`)]).toEqual([0o600, 0o600, 0o600]);
    expect([mode(join(base, "a")), mode(join(base, "a", "b"))]).toEqual([0o700, 0o700]);
    expect(h.looseMode).toBeNull();
    h.close();
    chmodSync(path, 0o640);
    const again = new History(path);
    expect(again.looseMode).toBe(0o640);
    expect(mode(path)).toBe(0o640); // reported, not changed: the file is the operator's
    expect(mode(base)).toBe(0o700); // mkdtemp's: an existing directory is left as it is
    again.close();
  });

  test("survives a reopen: entries, binary fields, and the last ID after trimming", () => {
    const path = tempPath("h.db");
    const h = new History(path, "always");
    const s = h.create("notistream:a");
    for (let i = 1; i <= 5; i++) h.add("notistream:a", s, { id: id(i), fields: [Buffer.from("bin"), Buffer.from([0, 255, i])] });
    h.trimmed("notistream:a", s.trim({ maxlen: 0, approx: false, limit: 0 }));
    h.add("notistream:a", s, { id: id(9), fields: f("last") });
    h.commit();
    h.close();
    const again = new History(path);
    const s2 = again.get("notistream:a")!;
    expect(s2.length).toBe(1);
    expect(idString(s2.lastId)).toBe("9-0");
    again.trimmed("notistream:a", s2.trim({ maxlen: 0, approx: false, limit: 0 }));
    again.commit();
    again.close();
    const third = new History(path);
    const s3 = third.get("notistream:a")!;
    expect(s3.length).toBe(0);
    expect(idString(s3.lastId)).toBe("9-0"); // kept, so the next ID is still above every ID ever given
    expect(idString(s3.nextId(1n)!)).toBe("9-1");
    third.close();
  });
  const rowsOnDisk = (path: string) => {
    const db = new Database(path, { readonly: true });
    const rows = (db.query("SELECT ms FROM entries ORDER BY ms").all() as { ms: number }[]).map((r) => r.ms);
    db.close();
    return rows;
  };

  test("trimmed rows are deleted later in one batch; a stop before that keeps them hidden, and the next start deletes them", () => {
    const path = tempPath("trim.db");
    const h = new History(path, "always");
    const s = h.create("k");
    for (let i = 1; i <= 5; i++) h.add("k", s, { id: id(i), fields: f(`m${i}`) });
    h.commit();
    h.trimmed("k", s.trim({ maxlen: 2, approx: false, limit: 0 }));
    h.commit();
    expect(rowsOnDisk(path)).toEqual([1, 2, 3, 4, 5]); // not deleted yet: the trim point hides them
    // A second process reading the file now (as after kill -9) sees what the first one acknowledged.
    const crashed = new History(path, "always");
    expect(crashed.get("k")!.range(id(0), id(9)).map((e) => idString(e.id))).toEqual(["4-0", "5-0"]);
    crashed.close(); // deletes what it found trimmed
    expect(rowsOnDisk(path)).toEqual([4, 5]);
    h.close();
  });

  test("an XADD saves no stream row: a second process derives the last ID and entries added from the entries", () => {
    const path = tempPath("derive.db");
    const savedRow = () => {
      const db = new Database(path, { readonly: true });
      const row = db.query("SELECT last_ms, last_seq, added FROM streams").get() as { last_ms: string; last_seq: string; added: string };
      db.close();
      return `${row.last_ms}-${row.last_seq} added ${row.added}`;
    };
    const reopened = () => {
      const other = new History(path, "always"); // as after kill -9: the first process never closed
      const s = other.get("k")!;
      const seen = `${idString(s.lastId)} added ${s.entriesAdded} length ${s.length}`;
      other.close();
      return seen;
    };
    const h = new History(path, "always");
    const s = h.create("k");
    for (let i = 1; i <= 5; i++) h.add("k", s, { id: id(i), fields: f(`m${i}`) });
    h.commit();
    expect(savedRow()).toBe("0-0 added 0"); // only the entries were written
    expect(reopened()).toBe("5-0 added 5 length 5");
    // XDEL of the newest entries saves the row: the last ID stays above them, and the count keeps them.
    h.deleted("k", [s.delete(id(5))!, s.delete(id(4))!]);
    h.commit();
    expect(savedRow()).toBe("5-0 added 5");
    expect(reopened()).toBe("5-0 added 5 length 3");
    for (const ms of [6, 7]) h.add("k", s, { id: id(ms), fields: f(`m${ms}`) });
    h.commit();
    expect(reopened()).toBe("7-0 added 7 length 5");
    // Trimming saves it too (with the trim point), and additions after count on from there.
    h.trimmed("k", s.trim({ maxlen: 1, approx: false, limit: 0 }));
    h.add("k", s, { id: id(8), fields: f("m8") });
    h.commit();
    expect(reopened()).toBe("8-0 added 8 length 2");
    h.close();
    expect(reopened()).toBe("8-0 added 8 length 2");
  });

  test("XDEL's rows go at once; DEL takes the stream's trimmed rows with it, so a new stream never inherits them", () => {
    const path = tempPath("del.db");
    const h = new History(path, "always");
    const a = h.create("a");
    for (let i = 1; i <= 4; i++) h.add("a", a, { id: id(i), fields: f(`a${i}`) });
    h.deleted("a", [a.delete(id(4))!]);
    h.commit();
    expect(rowsOnDisk(path)).toEqual([1, 2, 3]);
    h.trimmed("a", a.trim({ maxlen: 1, approx: false, limit: 0 }));
    h.commit();
    expect(h.deleteKey("a")).toBe(true);
    const b = h.create("b"); // SQLite may give it a's row id
    h.add("b", b, { id: id(7), fields: f("b7") });
    h.commit();
    expect(rowsOnDisk(path)).toEqual([7]);
    const again = new History(path, "always");
    expect(again.get("a")).toBeUndefined();
    expect(again.get("b")!.range(id(0), id(99)).map((e) => idString(e.id))).toEqual(["7-0"]);
    again.close();
    h.close();
  });

  const userVersion = (path: string) => {
    const db = new Database(path, { readonly: true });
    const v = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
    db.close();
    return v;
  };

  test("a new file is marked with the layout's version (PRAGMA user_version)", () => {
    const path = tempPath("versioned.db");
    new History(path, "always").close();
    expect(userVersion(path)).toBe(LAYOUT_VERSION);
    expect(LAYOUT_VERSION).toBe(1);
  });

  test("a file of this layout at user_version 0 (from before the version was set) is adopted: read whole, then marked", () => {
    const path = tempPath("unversioned.db");
    const h = new History(path, "always");
    const s = h.create("kept");
    h.add("kept", s, { id: id(5), fields: f("five") });
    h.close();
    const db = new Database(path);
    db.exec("PRAGMA user_version = 0");
    db.close();
    const again = new History(path, "always");
    expect(again.get("kept")!.range(id(0), id(99)).map((e) => idString(e.id))).toEqual(["5-0"]);
    again.close();
    expect(userVersion(path)).toBe(LAYOUT_VERSION);
  });

  test("a file from a newer version is refused with what to do, and left as it was", () => {
    const path = tempPath("newer.db");
    new History(path, "always").close();
    const db = new Database(path);
    db.exec("PRAGMA user_version = 2");
    db.close();
    expect(() => new History(path, "always")).toThrow(`${path} was written by a newer Notistream (history layout 2; this version reads layout 1): run the newer version, or move the file aside to start a new history`);
    expect(userVersion(path)).toBe(2);
  });

  test("a file in a layout no release wrote (entries keyed by stream first, from a development build) is refused, not upgraded", () => {
    const path = tempPath("dev-layout.db");
    const old = new Database(path, { create: true });
    old.exec("CREATE TABLE streams (id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE, last_ms TEXT NOT NULL, last_seq TEXT NOT NULL, added TEXT NOT NULL)");
    old.exec("CREATE TABLE entries (sid INTEGER NOT NULL, ms INTEGER NOT NULL, seq INTEGER NOT NULL, fields BLOB NOT NULL, PRIMARY KEY (sid, ms, seq)) WITHOUT ROWID");
    old.close();
    expect(() => new History(path, "always")).toThrow(`${path} is not a history file this version reads (another program's database, or history from a development build before 0.1.0): move it aside to start a new history`);
    const db = new Database(path, { readonly: true });
    expect((db.query("SELECT sql FROM sqlite_master WHERE name = 'entries'").get() as { sql: string }).sql).toContain("PRIMARY KEY (sid, ms, seq)");
    db.close();
    expect(userVersion(path)).toBe(0);
  });

  test("binary fields round-trip", () => {
    const path = tempPath("b.db");
    const h = new History(path);
    const s = h.create("k\x00\xff");
    h.add("k\x00\xff", s, { id: id(1), fields: [Buffer.from([0, 1, 2]), Buffer.alloc(0)] });
    h.close();
    const again = new History(path);
    const e = again.get("k\x00\xff")!.range(id(0), id(9))[0]!;
    expect([...e.fields[0]!]).toEqual([0, 1, 2]);
    expect(e.fields[1]!.length).toBe(0);
    again.close();
  });
  test("when the disk refuses a write, memory stays as it was and the error reaches the caller", () => {
    const h = new History(tempPath("refuse.db"), "always"); // no sync timer to trip over the closed handle
    const s = h.create("k");
    h.add("k", s, { id: id(1), fields: f("ok") });
    h.commit();
    (h as unknown as { db: { close(): void } }).db.close(); // stands in for a full disk or a read-only file
    expect(() => h.add("k", s, { id: id(2), fields: f("lost") })).toThrow();
    expect(s.length).toBe(1);
    expect(idString(s.lastId)).toBe("1-0");
  });

  test("the age limit drops old entries from every stream", () => {
    const h = new History(":memory:");
    const now = 10_000_000;
    for (const key of ["a", "b"]) {
      const s = h.create(key);
      h.add(key, s, { id: id(now - 5000), fields: f("old") });
      h.add(key, s, { id: id(now - 10), fields: f("new") });
    }
    expect(h.expire(1000, now)).toBe(2);
    expect(h.get("a")!.length).toBe(1);
    expect(idString(h.get("b")!.firstId()!)).toBe(`${now - 10}-0`);
    h.close();
  });
});
