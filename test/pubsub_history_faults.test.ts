// test/pubsub_history_faults.test.ts — the append-only history under faults: kill -9 at every stage of a rewrite, a real
// full disk after a rewrite and at start with a torn tail, torn tails from two crashes, a failed everysec fsync, when
// appendfsync always syncs, and one writer per file (<file>.lock) between two real pub/sub server processes.
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync, type Subprocess } from "bun";
import { closeSync, copyFileSync, existsSync, fstatSync, linkSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { History, idString, type StreamId } from "../pubsub_history";
import { pack, unpack } from "../pubsub_entry";
import { TABLES } from "../pubsub_sqlite_upgrade";
import { collect, freePort, needs, spawnPubSubAt, tempPath, until, waitForPort } from "./helpers";

const id = (ms: number, seq = 0): StreamId => ({ ms, seq });
const f = (s: string) => pack([Buffer.from("k"), Buffer.from(s)]);
type Inner = { fd: number; rewriting: { fd: number } | null; rewriteSlice(): void; finishRewrite(rw: unknown): void; dirtySinceSync: boolean };
const inner = (h: History) => h as unknown as Inner;

/** Every stream as a line: what a restart must bring back (last ID, entries added, live IDs and their values). */
function state(h: History): string {
  return [...h.streams]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, s]) => `${k}: ${idString(s.lastId)} added ${s.entriesAdded} ` + s.range(id(0), id(1e15)).map((e) => `${idString(e.id)}=${Buffer.from(unpack(e.packed)[1]!).toString()}`).join(","))
    .join("\n");
}

const mounts: string[] = [];
const procs: Subprocess[] = [];
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  for (const m of mounts.reverse()) spawnSync(["umount", "-l", m]);
});
function tmpfs(sizeKb: number): string {
  const dir = mkdtempSync(join(tmpdir(), "notistream-faults-"));
  const r = spawnSync(["mount", "-t", "tmpfs", "-o", `size=${sizeKb}k`, "tmpfs", dir]);
  if (r.exitCode !== 0) throw new Error(`mount failed: ${r.stderr.toString()}`);
  mounts.push(dir);
  return dir;
}
/** Fills the filesystem until the kernel says ENOSPC; returns the filler's path (delete it to make room). */
function fill(dir: string): string {
  const path = join(dir, "filler");
  writeFileSync(path, "");
  try {
    for (;;) writeFileSync(path, Buffer.alloc(4096), { flag: "a" });
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe("ENOSPC");
  }
  return path;
}

/** Turns of adds (with trims and deletes) until a rewrite has been swapped in; each turn yields as the server does. */
async function untilRewritten(h: History, keys: string[], ms: { next: number }): Promise<void> {
  let swapped = false;
  const finish = inner(h).finishRewrite;
  inner(h).finishRewrite = function (this: Inner, rw: unknown) {
    finish.call(this, rw);
    swapped = true;
  };
  for (let turn = 0; !swapped; turn++) {
    if (turn > 20000) throw new Error("no rewrite happened");
    for (const k of keys) {
      const s = h.get(k) ?? h.create(k);
      h.add(k, s, id(ms.next++), f(`v${turn}`));
      h.trimmed(k, s.trim({ maxlen: 300, approx: false, limit: 0 }));
    }
    h.commit();
    await new Promise((r) => setImmediate(r));
  }
  inner(h).finishRewrite = finish;
}

describe("kill -9 during a rewrite", () => {
  test("at every stage (each slice, before its tail, between its last write and the rename, right after the rename) a restart brings back exactly what was committed, and no stale new file is left", async () => {
    const path = tempPath("stages.aof");
    const h = new History(path, "always", 32 * 1024);
    const snapshots: { stage: string; dir: string; expected: string }[] = [];
    /** What kill -9 leaves: the files as they are now (the page cache survives it), copied aside. */
    const snapshot = (stage: string) => {
      const dir = mkdtempSync(join(tmpdir(), "notistream-kill9-"));
      for (const name of readdirSync(join(path, ".."))) if (!name.endsWith(".lock")) copyFileSync(join(path, "..", name), join(dir, name));
      snapshots.push({ stage, dir, expected: state(h) });
    };
    const slice = inner(h).rewriteSlice;
    inner(h).rewriteSlice = function (this: Inner) {
      if (this.rewriting) snapshot("between slices");
      slice.call(this);
    };
    const finish = inner(h).finishRewrite;
    let inFinish = false;
    inner(h).finishRewrite = function (this: Inner, rw: unknown) {
      snapshot("before the tail");
      inFinish = true;
      try {
        finish.call(this, rw);
      } finally {
        inFinish = false;
      }
      snapshot("right after the rename");
    };
    const sync = h.syncFile;
    h.syncFile = (fd) => {
      sync(fd);
      if (inFinish) snapshot("between the last write and the rename"); // the rewrite's own sync is its last step before the rename
    };
    // A stream whose entries are all deleted (its last ID must survive), one trimmed to nothing, DEL then XADD, FLUSHALL.
    const ms = { next: 1 };
    const gone = h.create("gone");
    h.add("gone", gone, id(9_000_000), f("x"));
    h.commit();
    h.deleted("gone", [gone.delete(id(9_000_000))!]);
    const trimmed = h.create("trimmed");
    h.add("trimmed", trimmed, id(8_000_000, 5), f("y"));
    h.trimmed("trimmed", trimmed.trim({ maxlen: 0, approx: false, limit: 0 }));
    h.add("dropped", h.create("dropped"), id(7_000_000), f("z"));
    h.commit();
    h.deleteKey("dropped");
    h.add("dropped", h.create("dropped"), id(5), f("again"));
    h.commit();
    await untilRewritten(h, ["a", "b"], ms);
    h.flushAll();
    h.add("after", h.create("after"), id(ms.next++), f("flushed"));
    h.commit();
    await untilRewritten(h, ["a", "c"], ms);
    h.close();
    const stages = new Set(snapshots.map((s) => s.stage));
    expect([...stages].sort()).toEqual(["before the tail", "between slices", "between the last write and the rename", "right after the rename"]);
    for (const s of snapshots) {
      const file = join(s.dir, "stages.aof");
      const again = new History(file, "always", 1 << 30);
      expect(`${s.stage}:\n${state(again)}`).toBe(`${s.stage}:\n${s.expected}`);
      again.close();
      expect(existsSync(`${file}.rewrite`)).toBe(false); // a rewrite's file cut short by the kill is not left behind
      rmSync(s.dir, { recursive: true, force: true });
    }
  }, 60000);
});

needs("root").describe("a full disk (a real 1 MB tmpfs)", () => {
  test("during the SQLite upgrade: the old file's entries are served, writes refused, and the upgrade done once there is room", () => {
    const dir = tmpfs(1024);
    const path = join(dir, "history.db");
    oldFile(path, 2000);
    const filler = fill(dir);
    const h = new History(path, "always");
    expect(ids(h)).toEqual(upgraded(2000));
    expect(h.failure).not.toBeNull();
    expect(readFileSync(path).subarray(0, 6).toString()).toBe("SQLite"); // left as it was
    rmSync(filler);
    expect(h.probe()).toBe(true);
    expect(readFileSync(path).subarray(0, 8).toString()).toBe("NSAOF002");
    h.add("k", h.get("k")!, id(5000), f("after"));
    expect(h.commit()).toBe(true);
    h.close();
    const again = new History(path);
    expect(ids(again)).toEqual([...upgraded(2000), "5000-0"]);
    again.close();
  });

  test("after a rewrite swapped its file in, a refused write answers false, and memory keeps every committed entry", async () => {
    const dir = tmpfs(2048);
    const path = join(dir, "history.aof");
    const h = new History(path, "always", 32 * 1024);
    const ms = { next: 1 };
    await untilRewritten(h, ["a"], ms);
    const before = state(h);
    const filler = fill(dir);
    h.add("a", h.get("a")!, id(ms.next++), f("x".repeat(64 * 1024)));
    expect(h.commit()).toBe(false); // once threw EBADF: the swapped-in file was open write-only, so reloading it failed
    expect(h.failure).toBe("database or disk is full");
    expect(state(h)).toBe(before);
    rmSync(filler);
    expect(h.probe()).toBe(true);
    h.add("a", h.get("a")!, id(ms.next++), f("after"));
    expect(h.commit()).toBe(true);
    const expected = state(h);
    h.close();
    const again = new History(path);
    expect(state(again)).toBe(expected);
    again.close();
  }, 60000);

  test("a torn tail found at start on a full disk: the server starts, writes are refused, and the tail is kept aside once there is room", () => {
    const dir = tmpfs(1024);
    const path = join(dir, "history.aof");
    const h = new History(path, "always");
    const s = h.create("k");
    for (let i = 1; i <= 3; i++) {
      h.add("k", s, id(i), f(`m${i}`));
      h.commit();
    }
    h.close();
    const whole = statSync(path).size;
    truncateSync(path, whole - 3); // kill -9 cut the last record short
    const filler = fill(dir);
    const again = new History(path, "always"); // once threw ENOSPC: the torn bytes could not be written to <file>.torn
    expect(ids(again)).toEqual(["1-0", "2-0"]);
    expect(again.failure).toBe("database or disk is full");
    rmSync(filler);
    expect(again.probe()).toBe(true);
    expect(readFileSync(`${path}.torn`).length).toBeGreaterThan(0);
    again.add("k", again.get("k")!, id(3), f("m3 again"));
    expect(again.commit()).toBe(true);
    again.close();
    const third = new History(path);
    expect(ids(third)).toEqual(["1-0", "2-0", "3-0"]);
    third.close();
  });
});
const ids = (h: History, key = "k") => h.get(key)!.range(id(0), id(1e15)).map((e) => idString(e.id));

test("a second crash's torn tail goes to a new <file>.torn.2: the first one's bytes are not overwritten", () => {
  const path = tempPath("torn2.aof");
  const tear = (from: number) => {
    const h = new History(path, "always");
    const s = h.get("k") ?? h.create("k");
    for (let i = from; i < from + 3; i++) {
      h.add("k", s, id(i), f(`m${i}`));
      h.commit();
    }
    h.close();
    truncateSync(path, statSync(path).size - 3);
  };
  tear(1);
  new History(path).close();
  const first = readFileSync(`${path}.torn`);
  tear(10);
  const h = new History(path);
  expect(ids(h)).toEqual(["1-0", "2-0", "10-0", "11-0"]);
  h.close();
  expect(readFileSync(`${path}.torn`)).toEqual(first);
  expect(readFileSync(`${path}.torn.2`).length).toBeGreaterThan(0);
});

test("another program's file larger than one read (4 MB) is refused and left whole, whatever its last read's bytes are", () => {
  // The check of the file's first bytes once looked at the read buffer after the last read, which had reused it.
  const path = tempPath("other-large.txt");
  const text = Buffer.concat([Buffer.from("not a history file\n"), Buffer.alloc(4 * 1024 * 1024 - 19, 0x2e), Buffer.from("NSAOF001")]);
  writeFileSync(path, text);
  expect(() => new History(path, "always")).toThrow("is not a history file this version reads");
  expect(readFileSync(path).equals(text)).toBe(true);
  expect(existsSync(`${path}.torn`)).toBe(false);
});

/** A history file of the SQLite layout, as releases before the append-only file wrote it (in WAL mode). */
function oldFile(path: string, n = 3): void {
  const db = new Database(path, { create: true });
  db.exec("PRAGMA journal_mode = WAL");
  for (const sql of TABLES) db.exec(sql);
  db.exec("PRAGMA user_version = 1");
  db.exec("INSERT INTO streams (id, key, last_ms, last_seq, added) VALUES (1, 'k', '99', '0', '0')");
  const ins = db.prepare("INSERT INTO entries (ms, seq, sid, fields) VALUES (?, ?, ?, ?)");
  const blob = (s: string) => Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from("k"), Buffer.from([0, 0, 0, s.length]), Buffer.from(s)]);
  db.transaction(() => {
    for (let ms = 1; ms <= n; ms++) ins.run(ms, 0, 1, blob(`m${ms}`));
  })();
  ins.finalize();
  db.close();
}
const upgraded = (n: number) => Array.from({ length: n }, (_, i) => `${i + 1}-0`);

describe("kill -9 during the SQLite upgrade", () => {
  test("before its rename: the old file is upgraded again, the half-made new file replaced, the old kept as .sqlite-v1", () => {
    const path = tempPath("before-rename.db");
    oldFile(path);
    linkSync(path, `${path}.sqlite-v1`); // the upgrade links the old file aside first
    writeFileSync(`${path}.upgrade`, Buffer.concat([Buffer.from("NSAOF001"), Buffer.alloc(20, 7)])); // cut short by the kill
    const h = new History(path);
    expect(ids(h)).toEqual(upgraded(3));
    expect(idString(h.get("k")!.lastId)).toBe("99-0");
    h.close();
    expect(existsSync(`${path}.upgrade`)).toBe(false);
    expect(readFileSync(`${path}.sqlite-v1`).subarray(0, 6).toString()).toBe("SQLite");
  });

  test("right after its rename: the new file is the history; the old file's emptied -wal and -shm are not left beside it", () => {
    const path = tempPath("after-rename.db");
    oldFile(path);
    new History(path).close();
    writeFileSync(`${path}-wal`, ""); // what the kill left: the rename done, the -wal and -shm not yet removed
    writeFileSync(`${path}-shm`, Buffer.alloc(32768));
    const h = new History(path);
    expect(ids(h)).toEqual(upgraded(3));
    h.close();
    expect([existsSync(`${path}-wal`), existsSync(`${path}-shm`)]).toEqual([false, false]);
  });
});

test("a failure after the upgrade's rename (its directory sync, the old -wal's removal) does not undo it: writes go on", () => {
  const path = tempPath("after-rename-fails.db");
  oldFile(path);
  const db = new Database(path);
  db.exec("PRAGMA journal_mode = DELETE"); // its -wal checkpointed and gone, so the path is free for the stand-in below
  db.close();
  mkdirSync(`${path}-wal/keep`, { recursive: true }); // stands in for any failure after the rename: a -wal rm cannot remove
  const h = new History(path, "always");
  expect(h.failure).toBeNull(); // once: judged not upgraded, and the retry read the new file as SQLite, refusing writes for good
  expect(ids(h)).toEqual(upgraded(3));
  h.add("k", h.get("k")!, id(1000), f("after"));
  expect(h.commit()).toBe(true);
  h.close();
  const again = new History(path);
  expect(ids(again)).toEqual([...upgraded(3), "1000-0"]);
  again.close();
});

describe("fsync", () => {
  test("appendfsync always: commit syncs this turn's bytes once, before it returns (the server writes replies after commit returns); everysec and no do not", () => {
    for (const policy of ["always", "everysec", "no"] as const) {
      const path = tempPath(`sync-${policy}.aof`);
      const h = new History(path, policy);
      const synced: number[] = [];
      h.syncFile = (fd) => synced.push(statSync(path).size); // the file's size when synced
      h.syncInBackground = (fd, done) => (synced.push(statSync(path).size), done(null));
      const s = h.create("k");
      h.add("k", s, id(1), f("one"));
      h.add("k", s, id(2), f("two"));
      expect(h.commit()).toBe(true);
      expect([policy, synced]).toEqual([policy, policy === "always" ? [statSync(path).size] : []]);
      if (policy === "everysec") {
        h.sync(); // the once-a-second timer
        expect(synced).toEqual([statSync(path).size]);
      }
      h.close();
    }
  });

  test("everysec: a failed background fsync refuses writes (MISCONF), as Redis does, until a probe's write and fsync succeed", () => {
    const path = tempPath("syncfail.aof");
    const h = new History(path, "everysec");
    const s = h.create("k");
    h.add("k", s, id(1), f("one"));
    h.commit();
    h.syncInBackground = (fd, done) => done(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
    h.sync();
    expect(h.failure).toContain("EIO"); // once only logged: writes went on being acknowledged with nothing reaching the disk
    expect(h.probe()).toBe(true);
    h.close();
  });

  test("everysec: the fsync runs off the event loop, one at a time; what came meanwhile goes with the next", () => {
    const path = tempPath("syncbg.aof");
    const h = new History(path, "everysec");
    const inFlight: ((err: Error | null) => void)[] = [];
    const sizes: number[] = [];
    h.syncInBackground = (fd, done) => (sizes.push(statSync(path).size), inFlight.push(done));
    const s = h.create("k");
    h.add("k", s, id(1), f("one"));
    expect(h.commit()).toBe(true);
    h.sync(); // starts one and returns at once
    expect(inFlight).toHaveLength(1);
    h.add("k", s, id(2), f("two"));
    expect(h.commit()).toBe(true); // writes go on while it runs
    h.sync(); // the next tick: one is under way, so none starts
    expect(inFlight).toHaveLength(1);
    inFlight[0]!(null);
    h.sync(); // the tick after: the bytes written meanwhile
    expect(sizes).toEqual([sizes[0]!, statSync(path).size]);
    expect(sizes[1]!).toBeGreaterThan(sizes[0]!);
    inFlight[1]!(null);
    h.sync(); // nothing new: none
    expect(inFlight).toHaveLength(2);
    expect(h.failure).toBeNull();
    h.close();
  });

  test("everysec: a descriptor closed while its fsync runs is closed only after it (the pool never syncs a reused number); an error then is not the server's", () => {
    const path = tempPath("syncclose.aof");
    const h = new History(path, "everysec");
    let release: ((err: Error | null) => void) | null = null;
    h.syncInBackground = (fd, done) => (release = done);
    h.add("k", h.create("k"), id(1), f("one"));
    h.commit();
    const fd = (h as unknown as { fd: number }).fd;
    h.sync();
    h.close();
    expect(() => fstatSync(fd)).not.toThrow(); // still open: the fsync in flight has it
    release!(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
    expect(() => fstatSync(fd)).toThrow(); // closed once it ended
    expect(h.failure).toBeNull(); // the history is closed: no MISCONF state, no probe timer left behind
  });

  test("everysec: the real background fsync (fdatasync on the thread pool) ends without error", async () => {
    const path = tempPath("syncreal.aof");
    const h = new History(path, "everysec");
    let ended = false;
    const real = h.syncInBackground;
    h.syncInBackground = (fd, done) => real(fd, (err) => ((ended = true), done(err)));
    h.add("k", h.create("k"), id(1), f("one"));
    h.commit();
    h.sync();
    for (let i = 0; i < 200 && !ended; i++) await Bun.sleep(5);
    expect(ended).toBe(true);
    expect(h.failure).toBeNull();
    h.close();
  });

  test("the age limit, run between a turn's commands and its group commit, leaves that commit (and its MISCONF) to the server", () => {
    const path = tempPath("expire.aof");
    const h = new History(path, "always");
    const s = h.create("old");
    h.add("old", s, id(1), f("old"));
    h.commit();
    h.add("k", h.create("k"), id(Date.now()), f("a reply waits for this"));
    expect(h.expire(1000)).toBe(1);
    expect(h.pending).toBe(true); // once false: the age timer committed the turn, so a refusal never reached its replies
    expect(h.commit()).toBe(true);
    h.close();
  });
});

describe("one server per history file", () => {
  test("a second server on the same --data is refused with the first's pid; after kill -9 the lock is taken over; a clean stop removes it", async () => {
    const data = tempPath("locked.aof");
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    const first = spawnPubSubAt(p1, data, [], "pipe");
    procs.push(first);
    await waitForPort(p1);
    expect(readFileSync(`${data}.lock`, "latin1").trim()).toBe(String(first.pid));
    const second = spawnPubSubAt(p2, data, [], "pipe");
    procs.push(second);
    const secondOut = collect(second);
    expect(await second.exited).toBe(1);
    await until("its sentence", () => secondOut().includes(`in use by another Notistream pub/sub server (pid ${first.pid})`));
    expect(secondOut()).toContain("give this one its own --data file");
    expect(cli(p1, "XADD", "s", "*", "f", "v")).toMatch(/^\d+-0$/); // the first goes on serving
    first.kill("SIGKILL");
    await first.exited;
    expect(existsSync(`${data}.lock`)).toBe(true);
    const third = spawnPubSubAt(p3, data, [], "pipe");
    procs.push(third);
    const thirdOut = collect(third);
    await waitForPort(p3);
    expect(thirdOut()).toContain(`taking over ${data}.lock, left by process ${first.pid}`);
    expect(cli(p3, "XLEN", "s")).toBe("1");
    third.kill("SIGTERM");
    expect(await third.exited).toBe(0);
    expect(existsSync(`${data}.lock`)).toBe(false);
  }, 30000);
});

test("a server killed but not yet reaped by its parent (a zombie, as under an init that does not reap) does not hold the lock", async () => {
  const data = tempPath("zombie.aof");
  const [p1, p2] = [await freePort(), await freePort()];
  // sh starts the server, then becomes `sleep`, which never reaps it: once killed, it stays a zombie.
  const parent = Bun.spawn(["sh", "-c", `"$0" "$1" --host 127.0.0.1 --port ${p1} --data "$2" --history-max-age 0 & echo $! ; exec sleep 30`, process.execPath, `${import.meta.dir}/../pubsub.ts`, data], { stdout: "pipe", stderr: "ignore" });
  procs.push(parent);
  const reader = parent.stdout.getReader();
  const pid = Number(new TextDecoder().decode((await reader.read()).value).trim());
  await waitForPort(p1);
  process.kill(pid, "SIGKILL");
  await until("a zombie", () => readFileSync(`/proc/${pid}/stat`, "latin1").includes(") Z "));
  const next = spawnPubSubAt(p2, data, [], "pipe");
  procs.push(next);
  const out = collect(next);
  await waitForPort(p2); // once refused: kill(pid, 0) succeeds on a zombie
  expect(out()).toContain(`taking over ${data}.lock, left by process ${pid}`);
  next.kill("SIGTERM");
  await next.exited;
});

function cli(port: number, ...args: string[]): string {
  const r = spawnSync(["redis-cli", "-p", String(port), ...args]);
  return r.stdout.toString().trim();
}

describe("kill -9 of a real server", () => {
  test("nothing deleted comes back and IDs never go back: XDEL of every entry, MAXLEN 0, DEL then XADD, FLUSHALL", async () => {
    const data = tempPath("ids.aof");
    const port = await freePort();
    const keepAll = ["--history-max-age", "0"]; // the IDs below are from 1970: no age limit
    let server = spawnPubSubAt(port, data, keepAll);
    procs.push(server);
    await waitForPort(port);
    const SMALLER = "ERR The ID specified in XADD is equal or smaller than the target stream top item";
    for (const cmd of [
      ["XADD", "flushed", "1-0", "f", "v"],
      ["FLUSHALL"],
      ["XADD", "deleted", "5-0", "f", "v"],
      ["XDEL", "deleted", "5-0"],
      ["XADD", "trimmed", "MAXLEN", "0", "7-3", "f", "v"],
      ["XADD", "dropped", "100-0", "f", "old"],
      ["DEL", "dropped"],
      ["XADD", "dropped", "3-0", "f", "new"],
      ["XADD", "kept", "1-0", "f", "a"],
      ["XADD", "kept", "2-0", "f", "b"],
      ["XDEL", "kept", "2-0"],
    ])
      cli(port, ...cmd);
    server.kill("SIGKILL");
    await server.exited;
    server = spawnPubSubAt(port, data, keepAll);
    procs.push(server);
    await waitForPort(port);
    expect(cli(port, "EXISTS", "flushed")).toBe("0");
    expect([cli(port, "XLEN", "deleted"), cli(port, "XLEN", "trimmed"), cli(port, "TYPE", "deleted"), cli(port, "TYPE", "trimmed")]).toEqual(["0", "0", "stream", "stream"]);
    expect(cli(port, "XRANGE", "dropped", "-", "+")).toBe("3-0\nf\nnew");
    expect(cli(port, "XRANGE", "kept", "-", "+")).toBe("1-0\nf\na");
    // The last IDs survive their entries: an XADD at or below them is refused, just above is taken.
    expect([cli(port, "XADD", "deleted", "5-0", "f", "v"), cli(port, "XADD", "trimmed", "7-3", "f", "v"), cli(port, "XADD", "kept", "2-0", "f", "v")]).toEqual([SMALLER, SMALLER, SMALLER]);
    expect([cli(port, "XADD", "deleted", "5-1", "f", "v"), cli(port, "XADD", "trimmed", "7-4", "f", "v"), cli(port, "XADD", "dropped", "3-1", "f", "v")]).toEqual(["5-1", "7-4", "3-1"]);
    server.kill("SIGTERM");
    await server.exited;
  }, 30000);
});
