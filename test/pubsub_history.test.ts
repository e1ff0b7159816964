// test/pubsub_history.test.ts — pubsub_history.ts on its own: stream IDs, append and range reads, deletes, exact and
// approximate trimming, the age limit, and an append-only file that survives being reopened (and a torn tail, a rewrite,
// a refused write) with IDs that never go back; files of the SQLite layout upgraded once, in place.
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { History, MAX_ID, MIN_ID, Stream, NODE_MAX_ENTRIES, cmpId, decrId, idString, incrId, parseU64, type StreamId } from "../pubsub_history";
import { pack, u64Of, unpack } from "../pubsub_entry";
import { AOF_MAGIC, RecordBuffer } from "../pubsub_aof";
import { TABLES } from "../pubsub_sqlite_upgrade";
import { tempPath } from "./helpers";
import { appendFileSync, chmodSync, closeSync, copyFileSync, existsSync, openSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const id = (ms: number, seq = 0): StreamId => ({ ms, seq });
const f = (s: string) => pack([Buffer.from("k"), Buffer.from(s)]);
const filled = (n: number) => {
  const s = new Stream();
  for (let i = 1; i <= n; i++) s.append(id(i), f(String(i)));
  return s;
};
const ids = (entries: readonly { id: StreamId }[]) => entries.map((e) => idString(e.id));

describe("stream IDs", () => {
  test("compare, increment and decrement across the 64-bit edges", () => {
    expect(cmpId(id(1, 2), id(1, 3))).toBe(-1);
    expect(cmpId(id(2), id(1, 99))).toBe(1);
    expect(idString(incrId({ ms: 5, seq: 18446744073709551615n })!)).toBe("6-0");
    expect(incrId({ ms: 1, seq: 9007199254740991 })).toEqual({ ms: 1, seq: 9007199254740992n }); // 2^53: a BigInt from here
    expect(decrId({ ms: 1, seq: 9007199254740992n })).toEqual({ ms: 1, seq: 9007199254740991 }); // and a double again below
    expect(incrId({ ms: 18446744073709551615n, seq: 18446744073709551615n })).toBeNull();
    expect(idString(decrId(id(6))!)).toBe("5-18446744073709551615");
    expect(decrId(id(0))).toBeNull();
    // printed exactly on both sides of 2^53, where the double fast path stops
    for (const v of [0n, 9007199254740991n, 9007199254740992n, 9007199254740993n, 18446744073709551615n])
      expect(idString({ ms: u64Of(v), seq: u64Of(v) })).toBe(`${v.toString()}-${v.toString()}`);
  });
  test("parseU64 follows Redis's string2ull", () => {
    expect(parseU64("42")).toBe(42);
    expect(parseU64("007")).toBe(7);
    expect(parseU64("+3")).toBe(3);
    // one form per value: a double below 2^53, a BigInt from there
    expect(parseU64("999999999999999")).toBe(999999999999999);
    expect(parseU64("9007199254740991")).toBe(9007199254740991);
    expect(parseU64("9007199254740992")).toBe(9007199254740992n);
    expect(parseU64("-0")).toBe(0);
    expect(parseU64("-1")).toBeNull();
    expect(parseU64("-01")).toBe(18446744073709551615n);
    expect(parseU64("18446744073709551616")).toBeNull();
    expect(parseU64("1x")).toBeNull();
    expect(parseU64("")).toBeNull();
  });
  test("XADD * keeps increasing when the clock goes backwards", () => {
    const s = filled(0);
    s.append(s.nextId(1000)!, f("a"));
    expect(idString(s.nextId(500)!)).toBe("1000-1"); // clock behind: sequence goes up instead
    expect(idString(s.nextId(2000)!)).toBe("2000-0");
  });
});

describe("Stream", () => {
  test("a node holds its entries packed end to end in pages: reads stay right as pages fill and the node closes, and deletes keep the bytes", () => {
    const s = new Stream();
    const early: { id: StreamId; packed: Uint8Array }[] = [];
    for (let i = 1; i <= NODE_MAX_ENTRIES + 1; i++) {
      s.append(id(i), f(`value ${i} `.repeat(i % 7)));
      if (i <= 3) early.push(s.range(id(i), id(i))[0]!); // views read before later entries filled the node
    }
    const [first, second] = s.nodes;
    expect([first!.count, second!.count]).toEqual([NODE_MAX_ENTRIES, 1]);
    expect(first!.pages[0]!.length).toBe(f("value 1 ").length); // the first page fits the first entry: a one-entry stream stays small
    expect(first!.pages[1]!.length).toBe(960); // the second is small: so does a stream of a few
    expect(first!.pages.length).toBe(3); // then the node is filling, and takes a recycled page (pubsub_nodebuffers.ts)
    expect(first!.pages.at(-1)!.length).toBe(first!.used); // closed with most of that page unused: it shrunk to its bytes, the page went back
    expect(first!.rows.length).toBe(NODE_MAX_ENTRIES * 7); // a full row table, kept whole: nearly all of it is used
    for (const [i, e] of early.entries()) expect(Buffer.from(unpack(e.packed)[1]!).toString()).toBe(`value ${i + 1} `.repeat((i + 1) % 7));
    for (const e of s.range(MIN_ID, MAX_ID)) expect(Buffer.from(unpack(e.packed)[1]!).toString()).toBe(`value ${e.id.ms} `.repeat(Number(e.id.ms) % 7));
    const [used, bytes] = [first!.used, first!.bytes];
    expect(idString(s.delete(id(50))!.id)).toBe("50-0");
    expect(s.delete(id(50))).toBeNull();
    expect([first!.count, first!.deleted, first!.used, first!.bytes]).toEqual([NODE_MAX_ENTRIES - 1, 1, used, bytes]); // a listpack does not shrink either
    expect(ids(s.range(id(49), id(51)))).toEqual(["49-0", "51-0"]);
    expect(ids(s.range(id(49), id(51), 0, true))).toEqual(["51-0", "49-0"]);
  });
  test("a trimmed node gives its page and row table to the next nodes, and every entry still reads as written", () => {
    const s = new Stream();
    const value = (i: number) => `entry ${i} `.repeat(1 + (i % 5));
    const holder = new Map<ArrayBufferLike, Map<number, unknown>>(); // which node last had these bytes as its third page
    let reused = 0;
    for (let i = 1; i <= 5000; i++) {
      s.append(id(i), f(value(i)));
      const tail = s.nodes.at(-1)!;
      const page = tail.pages[2];
      if (page) {
        const at = holder.get(page.buffer) ?? new Map<number, unknown>();
        holder.set(page.buffer, at);
        const was = at.get(page.byteOffset);
        if (was !== undefined && was !== tail) reused++;
        at.set(page.byteOffset, tail);
      }
      s.trim({ maxlen: 300, approx: true, limit: 0 });
    }
    expect(reused).toBeGreaterThan(10); // the same bytes served node after node
    expect(s.length).toBeLessThan(300 + NODE_MAX_ENTRIES);
    for (const e of s.range(MIN_ID, MAX_ID)) expect(Buffer.from(unpack(e.packed)[1]!).toString()).toBe(value(Number(e.id.ms)));
  });
  test("a stream deleted whole, or a node emptied by XDEL, gives its pages and table back to the pool", () => {
    const s = filled(3 * NODE_MAX_ENTRIES);
    const pool = (s as unknown as { buffers: { kept: { pages: number; tables: number } } }).buffers;
    for (let i = 1; i <= NODE_MAX_ENTRIES; i++) s.delete(id(i));
    expect(s.nodes.length).toBe(2);
    expect(pool.kept.tables).toBe(1);
    s.recycle();
    expect(s.nodes.length).toBe(0);
    expect(pool.kept.tables).toBe(3);
    expect(pool.kept.pages).toBeGreaterThan(0);
  });
  test("IDs past 2^53 and up to 2^64-1 are kept exactly in a node's rows, and compare and range as numbers do", () => {
    const s = new Stream();
    const big = [9007199254740991, 9007199254740992n, 9007199254740993n, 4294967296 * 3 + 7, 18446744073709551614n, 18446744073709551615n];
    const all: StreamId[] = [];
    for (const ms of [1, 4294967295, 4294967296, ...big].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
      for (const seq of [0, 4294967297, 18446744073709551615n]) all.push({ ms: u64Of(BigInt(ms)), seq: u64Of(BigInt(seq)) });
    for (const i of all) s.append(i, f(idString(i)));
    expect(ids(s.range(MIN_ID, MAX_ID))).toEqual(all.map(idString));
    for (const e of s.range(MIN_ID, MAX_ID)) expect(Buffer.from(unpack(e.packed)[1]!).toString()).toBe(idString(e.id));
    const mid = all[Math.floor(all.length / 2)]!;
    expect(ids(s.range(mid, MAX_ID, 2))).toEqual(all.slice(Math.floor(all.length / 2), Math.floor(all.length / 2) + 2).map(idString));
    expect(s.lastLiveId()).toEqual({ ms: 18446744073709551615n, seq: 18446744073709551615n });
    expect(typeof s.firstId()!.ms).toBe("number"); // canonical: a double below 2^53
  });
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
  test("its file is private: 0600 in 0700 directories it made; an older file's loose mode is reported", () => {
    const mode = (p: string) => statSync(p).mode & 0o777;
    const base = dirname(tempPath("x"));
    const path = join(base, "a", "b", "h.aof");
    const h = new History(path, "always");
    h.add("notistream:a", h.create("notistream:a"), id(1), f("private"));
    h.commit();
    expect(mode(path)).toBe(0o600);
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
    const path = tempPath("h.aof");
    const h = new History(path, "always");
    const s = h.create("notistream:a");
    for (let i = 1; i <= 5; i++) h.add("notistream:a", s, id(i), pack([Buffer.from("bin"), Buffer.from([0, 255, i])]));
    h.trimmed("notistream:a", s.trim({ maxlen: 0, approx: false, limit: 0 }));
    h.add("notistream:a", s, id(9), f("last"));
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
    expect(idString(s3.nextId(1)!)).toBe("9-1");
    third.close();
  });

  /** What a second process reading the file now (as after kill -9: the first never closed) sees of stream k. */
  const values = (s: Stream) => s.range(id(0), MAX_ID).map((e) => `${idString(e.id)}=${Buffer.from(unpack(e.packed)[1]!).toString()}`);
  const valuesBy = (path: string, key: string) => {
    const other = new History(path, "always");
    const s = other.get(key);
    const seen = s ? values(s) : [];
    other.close();
    return seen;
  };
  const seenBy = (path: string, key = "k") => {
    const other = new History(path, "always");
    const s = other.get(key);
    const seen = s ? `${idString(s.lastId)} added ${s.entriesAdded} length ${s.length} ids ${ids(s.range(id(0), id(1e12)))}` : "none";
    other.close();
    return seen;
  };

  test("a second process sees every committed change: last ID and entries added after XDEL and trims, nothing uncommitted", () => {
    const path = tempPath("derive.aof");
    const h = new History(path, "always");
    const s = h.create("k");
    for (let i = 1; i <= 5; i++) h.add("k", s, id(i), f(`m${i}`));
    expect(seenBy(path)).toBe("none"); // not committed: not on disk, and never acknowledged
    h.commit();
    expect(seenBy(path)).toBe("5-0 added 5 length 5 ids 1-0,2-0,3-0,4-0,5-0");
    h.deleted("k", [s.delete(id(5))!, s.delete(id(4))!]);
    h.commit();
    expect(seenBy(path)).toBe("5-0 added 5 length 3 ids 1-0,2-0,3-0");
    for (const ms of [6, 7]) h.add("k", s, id(ms), f(`m${ms}`));
    h.commit();
    h.trimmed("k", s.trim({ maxlen: 1, approx: false, limit: 0 }));
    h.add("k", s, id(8), f("m8"));
    h.commit();
    expect(seenBy(path)).toBe("8-0 added 8 length 2 ids 7-0,8-0");
    h.close();
    expect(seenBy(path)).toBe("8-0 added 8 length 2 ids 7-0,8-0");
  });

  test("approximate trimming after a restart removes the same whole nodes it would have before (the nodes are replayed)", () => {
    const path = tempPath("nodes.aof");
    const h = new History(path, "always");
    const s = h.create("k");
    for (let i = 1; i <= 3 * NODE_MAX_ENTRIES; i++) h.add("k", s, id(i), f(`m${i}`));
    h.deleted("k", [s.delete(id(NODE_MAX_ENTRIES + 1))!]);
    h.trimmed("k", s.trim({ maxlen: 2 * NODE_MAX_ENTRIES + 50, approx: false, limit: 0 }));
    h.commit();
    const again = new History(path);
    const s2 = again.get("k")!;
    expect(s2.nodes.map((n) => [n.count, n.deleted, n.bytes])).toEqual(s.nodes.map((n) => [n.count, n.deleted, n.bytes]));
    const cut = { maxlen: NODE_MAX_ENTRIES, approx: true, limit: 0 };
    const [cut2, cut1] = [s2.trim(cut), s.trim(cut)];
    expect([cut2.length, idString(cut2.last!)]).toEqual([cut1.length, idString(cut1.last!)]);
    expect(ids(s2.range(MIN_ID, MAX_ID))).toEqual(ids(s.range(MIN_ID, MAX_ID)));
    again.close();
    h.close();
  });

  test("DEL and FLUSHALL reach the file; a new stream of the same name starts empty", () => {
    const path = tempPath("del.aof");
    const h = new History(path, "always");
    const a = h.create("a");
    for (let i = 1; i <= 4; i++) h.add("a", a, id(i), f(`a${i}`));
    h.commit();
    expect(h.deleteKey("a")).toBe(true);
    const b = h.create("a");
    h.add("a", b, id(7), f("again"));
    h.add("z", h.create("z"), id(1), f("z"));
    h.commit();
    expect(seenBy(path, "a")).toBe("7-0 added 1 length 1 ids 7-0");
    h.flushAll();
    h.commit();
    expect([seenBy(path, "a"), seenBy(path, "z")]).toEqual(["none", "none"]);
    h.close();
  });

  test("a rewrite keeps exactly the live entries, last IDs and counts, swaps in a smaller file, and keeps writes made during it", async () => {
    const path = tempPath("rewrite.aof");
    const h = new History(path, "everysec", 64 * 1024);
    const streams = ["a", "b", "c"].map((k) => [k, h.create(k)] as const);
    let ms = 1;
    let shrunk = 0;
    let spanning = 0;
    let last = statSync(path).size;
    for (let turn = 0; turn < 6000; turn++) {
      for (const [k, s] of streams) {
        h.add(k, s, id(ms++), f(`x${turn}`));
        h.trimmed(k, s.trim({ maxlen: 2000, approx: true, limit: 0 })); // more live entries than two rewrite slices hold
      }
      if (turn % 7 === 0) h.deleted("a", [streams[0]![1].delete(streams[0]![1].lastLiveId()!)!]);
      h.commit();
      if ((h as unknown as { rewriting: unknown }).rewriting) spanning++; // turns committed while a rewrite was under way
      await new Promise((r) => setImmediate(r)); // the rewrite's slices run between turns, as between the server's
      const size = statSync(path).size;
      if (size < last) {
        shrunk++;
        // Just swapped in: the new file alone holds what memory holds, records made during the rewrite included.
        for (const [k, s] of streams) expect(seenBy(path, k)).toBe(`${idString(s.lastId)} added ${s.entriesAdded} length ${s.length} ids ${ids(s.range(id(0), id(1e12)))}`);
        // And the bytes: the snapshot read pages that trimming removed meanwhile, which must not have been reused.
        for (const [k, s] of streams) expect(valuesBy(path, k)).toEqual(values(s));
      }
      last = size;
    }
    expect(shrunk).toBeGreaterThan(2); // rewritten again and again, each time from a file twice the last rewrite's size
    expect(spanning).toBeGreaterThan(2); // and some rewrites took several turns: their records went after the snapshot
    expect(statSync(path).mode & 0o777).toBe(0o600); // the rewritten file is as private as the first
    const expected = streams.map(([k]) => seenBy(path, k));
    expect(expected).toEqual(streams.map(([, s]) => `${idString(s.lastId)} added ${s.entriesAdded} length ${s.length} ids ${ids(s.range(id(0), id(1e12)))}`));
    expect(existsSync(`${path}.rewrite`)).toBe(false);
    h.close();
  }, 30000); // 6,000 real writes and their everysec fsyncs: ~0.5 s here, 0.75 s under three busy loops, past 5 s once in CI

  test("a page that a rewrite's snapshot still reads is not reused meanwhile: nodes closed and trimmed during it leave its bytes alone", async () => {
    const path = tempPath("rewrite-pages.aof");
    const h = new History(path, "everysec", 1024);
    const s = h.create("k");
    const value = (i: number) => `value ${i} `.repeat(2);
    let i = 0;
    // Uncommitted, so no rewrite starts yet: the open node fills until it writes into a recycled page (its third).
    while (s.nodes.length < 3 || s.nodes.at(-1)!.pages.length < 3) h.add("k", s, id(++i), f(value(i)));
    h.commit(); // the file passes 1 KB: the rewrite takes its snapshot now, and writes it in slices on later turns
    expect((h as unknown as { rewriting: unknown }).rewriting).not.toBeNull();
    // Before any slice runs: the open node closes (its mostly empty recycled page goes back), the oldest node is trimmed
    // (its pages go back), and new nodes fill recycled pages with other bytes. The node that was open stays.
    const open = s.nodes.at(-1)!;
    const target = i + 2 * NODE_MAX_ENTRIES;
    while (i < target) {
      h.add("k", s, id(++i), f(value(i)));
      if (s.nodes.length > 4) h.trimmed("k", s.trim({ maxlen: s.length - s.nodes[0]!.count, approx: true, limit: 0 }));
    }
    expect(s.nodes.includes(open)).toBe(true);
    h.commit();
    while ((h as unknown as { rewriting: unknown }).rewriting) await new Promise((r) => setImmediate(r));
    expect(valuesBy(path, "k")).toEqual(values(s));
    expect(values(s).every((v) => v.endsWith(`=${value(Number(v.split("-")[0]))}`))).toBe(true);
    h.close();
  });

  test("rows a rewrite reads in place, shifted meanwhile by exact trims and XDEL and then appended to, are written as they were when it began", async () => {
    const path = tempPath("rewrite-rows.aof");
    const h = new History(path, "everysec", 64 * 1024);
    // The log first, and long: its slices take several turns, so the count's node changes before the rewrite writes it.
    const log = h.create("log");
    const count = h.create("count");
    let ms = 1;
    for (let i = 0; i < 4500; i++) h.add("log", log, id(ms++), f(`pre${i}`));
    h.commit();
    let rewrites = 0;
    let spanning = 0;
    let last = statSync(path).size;
    for (let turn = 0; turn < 3000 && rewrites < 3; turn++) {
      // The visitor's count: MAXLEN 1, exact, so every XADD shifts the node's rows down over the one it trims.
      h.add("count", count, id(ms++), f(`n${turn}`));
      h.trimmed("count", count.trim({ maxlen: 1, approx: false, limit: 0 }));
      // And a stream whose middle entries XDEL removes, shifting the rows after them.
      h.add("log", log, id(ms++), f(`l${turn}`));
      if (turn % 3 === 2 && log.length > 2) h.deleted("log", [log.delete(log.range(id(0), MAX_ID)[log.length - 2]!.id)!]);
      h.commit();
      if ((h as unknown as { rewriting: unknown }).rewriting) spanning++;
      await new Promise((r) => setImmediate(r));
      const size = statSync(path).size;
      if (size < last) {
        rewrites++;
        for (const [k, s] of [["count", count], ["log", log]] as const) {
          expect(seenBy(path, k)).toBe(`${idString(s.lastId)} added ${s.entriesAdded} length ${s.length} ids ${ids(s.range(id(0), id(1e12)))}`);
          expect(valuesBy(path, k)).toEqual(values(s));
        }
      }
      last = size;
    }
    expect(rewrites).toBe(3);
    expect(spanning).toBeGreaterThan(6); // each rewrite took several turns, each with a trim and an append meanwhile
    h.close();
  }, 30000); // three rewrites and their re-reads: 1.2-1.9 s here, past 5 s once in CI

  test("a torn tail (kill -9 or a full disk mid-write) is cut at the last whole record and kept aside; what came before stays", () => {
    const path = tempPath("torn.aof");
    const h = new History(path, "always");
    const s = h.create("k");
    for (let i = 1; i <= 3; i++) {
      h.add("k", s, id(i), f(`m${i}`));
      h.commit();
    }
    h.close();
    const whole = statSync(path).size;
    truncateSync(path, whole - 3); // the last record cut short
    appendFileSync(path, Buffer.alloc(0));
    expect(seenBy(path)).toBe("2-0 added 2 length 2 ids 1-0,2-0");
    const kept = statSync(path).size - 9; // less the no-op record each start writes to prove the disk takes writes
    expect(kept).toBeLessThan(whole - 3);
    expect(readFileSync(`${path}.torn`).length).toBe(whole - 3 - kept);
    const again = new History(path, "always");
    again.add("k", again.get("k")!, id(3), f("m3 again"));
    again.commit();
    again.close();
    expect(seenBy(path)).toBe("3-0 added 3 length 3 ids 1-0,2-0,3-0");
  });

  /** A history file of the SQLite layout, as releases before the append-only file wrote it. */
  const oldFile = (path: string, version: number) => {
    const db = new Database(path, { create: true });
    db.exec("PRAGMA journal_mode = WAL");
    for (const sql of TABLES) db.exec(sql);
    db.exec(`PRAGMA user_version = ${version}`);
    db.exec("INSERT INTO streams (id, key, last_ms, last_seq, added, trim_ms, trim_seq) VALUES (1, X'6b00ff', '9', '0', '6', '2', '0'), (2, 'empty', '18446744073709551615', '5', '1', '0', '0')");
    // Entries 1-2 were trimmed (below the trim point, not yet deleted); 9-0 was XDELed (the saved last ID keeps it);
    // 10-0 and 11-0 were added after the row was saved. ms is u64 stored bit-for-bit as i64.
    const ins = db.prepare("INSERT INTO entries (ms, seq, sid, fields) VALUES (?, ?, ?, ?)");
    const blob = (s: string) => Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from("k"), Buffer.from([0, 0, 0, s.length]), Buffer.from(s)]);
    for (const ms of [1, 2, 3, 5, 10, 11]) ins.run(ms, 0, 1, blob(`m${ms}`));
    db.close();
  };

  for (const version of [0, 1])
    test(`a file of the SQLite layout (user_version ${version}) is upgraded once, in place: entries, last IDs and counts kept, the old file beside it`, () => {
      const path = tempPath(`old-${version}.db`);
      oldFile(path, version);
      const h = new History(path, "always");
      const s = h.get("k\x00\xff")!;
      expect(ids(s.range(id(0), id(99)))).toEqual(["3-0", "5-0", "10-0", "11-0"]);
      expect(unpack(s.range(id(3), id(3))[0]!.packed).map((x) => Buffer.from(x).toString())).toEqual(["k", "m3"]);
      expect(`${idString(s.lastId)} added ${s.entriesAdded}`).toBe("11-0 added 8");
      expect(`${idString(h.get("empty")!.lastId)} length ${h.get("empty")!.length}`).toBe("18446744073709551615-5 length 0");
      h.add("k\x00\xff", s, id(12), f("new"));
      h.commit();
      h.close();
      expect(readFileSync(path).subarray(0, AOF_MAGIC.length)).toEqual(Buffer.from(AOF_MAGIC));
      expect(existsSync(`${path}-wal`) || existsSync(`${path}.upgrade`)).toBe(false);
      expect(readFileSync(`${path}.sqlite-v1`).subarray(0, 6).toString()).toBe("SQLite");
      expect(seenBy(path, "k\x00\xff")).toBe("12-0 added 9 length 5 ids 3-0,5-0,10-0,11-0,12-0");
    });

  test("a version 1 file (add records, no entries records) keeps its entries, is appended to as it is, and its rewrite makes it version 2", async () => {
    const path = tempPath("v1.aof");
    const records = new RecordBuffer();
    for (let i = 1; i <= 300; i++) records.add("k", id(i), f(`v${i}`));
    records.meta("k", id(300), 300);
    writeFileSync(path, Buffer.concat([Buffer.from("NSAOF001"), records.bytes()]));
    const h = new History(path, "always", 1024);
    const s = h.get("k")!;
    expect(`${idString(s.lastId)} length ${s.length}`).toBe("300-0 length 300");
    for (let i = 301; i <= 700; i++) h.add("k", s, id(i), f(`v${i}`));
    h.commit(); // the file has doubled since the load: a rewrite begins, and writes its slices between turns
    expect((h as unknown as { rewriting: unknown }).rewriting).not.toBeNull();
    expect(readFileSync(path).subarray(0, 8).toString()).toBe("NSAOF001"); // the turn went to the file as it was
    while ((h as unknown as { rewriting: unknown }).rewriting) await new Promise((r) => setImmediate(r));
    expect(readFileSync(path).subarray(0, 8).toString()).toBe("NSAOF002");
    expect(valuesBy(path, "k")).toEqual(values(s));
    expect(valuesBy(path, "k").length).toBe(700);
    h.close();
  });

  test("an old file left by kill -9, its last entry only in its -wal, keeps it through the upgrade", () => {
    const live = tempPath("live.db");
    oldFile(live, 1);
    const db = new Database(live);
    db.exec("PRAGMA wal_autocheckpoint = 0");
    const fields = Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from("k"), Buffer.from([0, 0, 0, 3]), Buffer.from("m12")]);
    db.prepare("INSERT INTO entries (ms, seq, sid, fields) VALUES (12, 0, 1, ?)").run(fields);
    const path = tempPath("crashed.db");
    copyFileSync(live, path); // as kill -9 leaves it: the committed entry is in the -wal, not yet in the file
    copyFileSync(`${live}-wal`, `${path}-wal`);
    db.close();
    const h = new History(path, "always");
    expect(ids(h.get("k\x00\xff")!.range(id(0), id(99)))).toEqual(["3-0", "5-0", "10-0", "11-0", "12-0"]);
    h.close();
  });

  test("a file from a newer version is refused with what to do, and left as it was", () => {
    const path = tempPath("newer.db");
    oldFile(path, 2);
    const bytes = readFileSync(path);
    expect(() => new History(path, "always")).toThrow(`${path} was written by a newer Notistream (history layout 2; this version reads layout 1): run the newer version, or move the file aside to start a new history`);
    expect(readFileSync(path)).toEqual(bytes);
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
  });

  test("another program's file is refused, not cut", () => {
    const path = tempPath("other.txt");
    writeFileSync(path, "not a history file\n");
    expect(() => new History(path, "always")).toThrow("is not a history file this version reads");
    expect(readFileSync(path, "utf8")).toBe("not a history file\n");
  });

  test("a file larger than one read (4 MB) reloads every entry and field exactly", () => {
    const path = tempPath("big.aof");
    const h = new History(path, "no");
    const s = h.create("k");
    const field = (i: number) => Buffer.alloc(1000 + (i % 37), i % 251);
    for (let i = 1; i <= 6000; i++) h.add("k", s, id(i), pack([Buffer.from("m"), field(i)]));
    h.commit();
    h.close();
    const again = new History(path, "no");
    const entries = again.get("k")!.range(id(0), id(1e9));
    expect(entries.length).toBe(6000);
    expect(entries.every((e, i) => Buffer.from(unpack(e.packed)[1]!).equals(field(i + 1)))).toBe(true);
    again.close();
  });

  test("binary fields round-trip", () => {
    const path = tempPath("b.aof");
    const h = new History(path);
    const s = h.create("k\x00\xff");
    h.add("k\x00\xff", s, id(1), pack([Buffer.from([0, 1, 2]), Buffer.alloc(0)]));
    h.close();
    const again = new History(path);
    const e = again.get("k\x00\xff")!.range(id(0), id(9))[0]!;
    expect([...unpack(e.packed)[0]!]).toEqual([0, 1, 2]);
    expect(unpack(e.packed)[1]!.length).toBe(0);
    again.close();
  });
  test("when the disk refuses a write, commit says so, memory goes back to what the file holds, and a probe ends it", () => {
    const path = tempPath("refuse.aof");
    const h = new History(path, "always");
    const s = h.create("k");
    h.add("k", s, id(1), f("ok"));
    h.commit();
    const inner = h as unknown as { fd: number };
    const writable = inner.fd;
    inner.fd = openSync(path, "r"); // stands in for a full disk or a read-only file: write() fails
    h.add("k", s, id(2), f("lost"));
    expect(h.commit()).toBe(false);
    expect(h.failure).not.toBeNull();
    expect(ids(h.get("k")!.range(id(0), id(9)))).toEqual(["1-0"]);
    expect(idString(h.get("k")!.lastId)).toBe("1-0");
    closeSync(inner.fd);
    inner.fd = writable; // the disk takes writes again
    expect(h.probe()).toBe(true);
    h.add("k", h.get("k")!, id(3), f("after"));
    expect(h.commit()).toBe(true);
    h.close();
    expect(seenBy(path)).toBe("3-0 added 2 length 2 ids 1-0,3-0");
  });

  test("the age limit drops old entries from every stream", () => {
    const h = new History(":memory:");
    const now = 10_000_000;
    for (const key of ["a", "b"]) {
      const s = h.create(key);
      h.add(key, s, id(now - 5000), f("old"));
      h.add(key, s, id(now - 10), f("new"));
    }
    expect(h.expire(1000, now)).toBe(2);
    expect(h.get("a")!.length).toBe(1);
    expect(idString(h.get("b")!.firstId()!)).toBe(`${now - 10}-0`);
    h.close();
  });
});
