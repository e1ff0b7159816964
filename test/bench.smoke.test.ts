// test/bench.smoke.test.ts — the benchmark suite's smoke mode runs in the tests so it cannot rot: every workload
// runs once at tiny sizes against redis-server and Notistream; the push, ingest, store-mix, start-up, client, SSE-memory and ntfy-streams benchmarks. No timing assertions.
import { expect, test } from "bun:test";
import { BUN, ROOT, needs, run } from "./helpers";

needs("redis-server", "redis-benchmark").test("bun bench/run.ts --smoke runs every workload and reports a table", async () => {
  const r = await run([BUN, `${ROOT}/bench/run.ts`, "--smoke"], { timeoutMs: 170000, cwd: ROOT });
  if (r.code !== 0) console.log(r.stdout, r.stderr);
  expect(r.code).toBe(0);
  for (const w of ["PUBLISH throughput", "Fan-out", "Latency p99", "Memory per idle", "Many channels", "Patterns", "Webhook ingest", "XADD -P 1"]) expect(r.stdout).toContain(w);
  const rows = r.stdout.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| workload") && !l.startsWith("| ---"));
  expect(rows.length).toBeGreaterThanOrEqual(14);
  // The server's CPU per unit of work, read from /proc for both servers, and redis-benchmark's own: a positive figure in each column.
  for (const per of ["PUBLISH throughput, no subscribers, -c 50 -P 1: server CPU per request", "Fan-out, 1 publisher → 10 subscribers, 100-byte payloads: server CPU per delivery", "XADD -P 16, Redis AOF everysec vs Notistream everysec: server CPU per request", "PUBLISH throughput, no subscribers, -c 50 -P 16: redis-benchmark's own CPU per request"]) {
    const row = rows.find((l) => l.startsWith(`| ${per} |`));
    expect(row).toBeDefined();
    const [, unit, redis, ours] = row!.split(" | ");
    expect(unit).toBe("ns");
    expect(Number(redis)).toBeGreaterThan(0);
    expect(Number(ours)).toBeGreaterThan(0);
  }
  expect(r.stdout).toMatch(/JSON: .*smoke-.*\.json/);
}, 180000);

test("bun bench/push.ts --smoke pushes to every subscription and reports the rate", async () => {
  const r = await run([BUN, `${ROOT}/bench/push.ts`, "--smoke"], { timeoutMs: 60000, cwd: ROOT });
  if (r.code !== 0) console.log(r.stdout, r.stderr);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/one JWT per push service \d+ µs/);
  expect(r.stdout).toMatch(/the last of 200 pushes arrived \d+ ms after the POST/);
  expect(r.stdout).toContain("notistream_push_sent_total 200");
}, 70000);

needs("redis-server", "wrk").test("bun bench/ingest.ts (short) reports POST/s and CPU per POST for the web server on both stores (ours also with an allocator setting, with a flag, and by thread), for the floor and for Bun.serve with no store", async () => {
  const r = await run([BUN, `${ROOT}/bench/ingest.ts`, "--rounds", "1", "--seconds", "1", "--warmup", "1", "--floors", "--threads", "--pubsub-env", "MIMALLOC_PURGE_DELAY=-1", "--pubsub-args", "--allocator cpu"], { timeoutMs: 140000, cwd: ROOT });
  if (r.code !== 0) console.log(r.stdout, r.stderr);
  expect(r.code).toBe(0);
  const rows = r.stdout.split("\n").filter((l) => /^\| (web server|floor|no store)/.test(l));
  expect(rows.map((l) => l.split(" | ")[0])).toEqual([
    "| web server + Notistream pub/sub",
    "| web server + Notistream pub/sub --allocator cpu",
    "| web server + Notistream pub/sub with MIMALLOC_PURGE_DELAY=-1",
    "| web server + redis-server (AOF everysec)",
    "| floor: bench/floor.ts + redis-server (AOF everysec)",
    "| floor, one round trip: bench/floor.ts --script + redis-server (AOF everysec)",
    "| no store: bench/bare.ts --form (reads and parses the form)",
    "| no store: bench/bare.ts (answers 200, body unread)",
  ]);
  for (const row of rows) expect(row).toMatch(/^\| [^|]+ \| [\d,]+ \| [\d.]+ µs \| [\d.]+ µs \| [\d.]+ µs \|$/);
  expect(r.stdout).toContain("non-2xx answers: 0");
  // --threads: each store's CPU by thread, its event loop among them (redis-server's main thread is named after it).
  expect(r.stderr).toMatch(/round 1, web server \+ Notistream pub\/sub: .* \(store by thread, µs: bun\.exe [0-9.]+/);
  expect(r.stderr).toMatch(/round 1, web server \+ redis-server \(AOF everysec\): .* \(store by thread, µs: redis-server [0-9.]+/);
}, 150000);

test("bench/ingest.ts --pubsub-args without flags is refused with what it takes", async () => {
  const r = await run([BUN, `${ROOT}/bench/ingest.ts`, "--pubsub-args", " "], { timeoutMs: 20000, cwd: ROOT });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`--pubsub-args takes the pub/sub server's flags in one argument, such as "--allocator cpu"`);
});

needs("redis-server").test("bun bench/storemix.ts (short) reports the store's CPU and page faults per POST for our pub/sub server (also with an allocator setting), redis-server and the bare floor, by thread too", async () => {
  const r = await run([BUN, `${ROOT}/bench/storemix.ts`, "--posts", "300", "--rate", "3000", "--rounds", "1", "--threads", "--pubsub-env", "MIMALLOC_PURGE_HOLES=0", "--floor"], { timeoutMs: 60000, cwd: ROOT });
  if (r.code !== 0) console.log(r.stdout, r.stderr);
  expect(r.code).toBe(0);
  const rows = r.stdout.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| store") && !l.startsWith("| ---"));
  expect(rows.map((l) => l.split(" | ")[0])).toEqual(["| notistream pub/sub", "| notistream pub/sub with MIMALLOC_PURGE_HOLES=0", "| redis-server (AOF everysec)", "| floor: bare Bun.listen, +OK per command"]);
  for (const row of rows) {
    expect(row).toMatch(/^\| [^|]+ \| [0-9.]+ µs \| [0-9.]+ \| [0-9.]+× \| [0-9.]+ \|$/);
    expect(Number(row.split(" | ")[1]!.replace(" µs", ""))).toBeGreaterThan(0);
  }
  expect(r.stderr).toMatch(/round 1, notistream pub\/sub: [0-9.]+ µs CPU per POST at [0-9]+ POST\/s, [0-9.]+ page faults per POST \(by thread, µs: /);
}, 70000);

needs("redis-server").test("bun bench/storemix.ts --count write (short): the visitor's count once per write, read then numbered after the last, as the web server does under load", async () => {
  const r = await run([BUN, `${ROOT}/bench/storemix.ts`, "--posts", "300", "--rate", "3000", "--rounds", "1", "--count", "write"], { timeoutMs: 60000, cwd: ROOT });
  if (r.code !== 0) console.log(r.stdout, r.stderr);
  expect(r.code).toBe(0); // a count numbered at or below the last would be refused, and the run would stop with the server's error
  expect(r.stderr).toContain("the visitor's count once per write");
  expect(r.stdout).toMatch(/^\| notistream pub\/sub \| [0-9.]+ µs \|/m);
  const bad = await run([BUN, `${ROOT}/bench/storemix.ts`, "--count", "turn"], { timeoutMs: 20000, cwd: ROOT });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("--count takes post or write, not 'turn'");
}, 70000);

needs("redis-server", "redis-benchmark").test("bun bench/startup.ts (small) fills redis-server and Notistream alike (ours also with an allocator setting), restarts each, and reports start-up and memory per entry", async () => {
  const r = await run([BUN, `${ROOT}/bench/startup.ts`, "--entries", "3000", "--channels", "10", "--rounds", "1", "--pubsub-env", "MIMALLOC_PURGE_DELAY=-1"], { timeoutMs: 60000, cwd: ROOT });
  if (r.code !== 0) console.log(r.stdout, r.stderr);
  expect(r.code).toBe(0);
  const rows = r.stdout.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| server") && !l.startsWith("| ---"));
  expect(rows.map((l) => l.split(" | ")[0])).toEqual(["| redis-server (AOF everysec)", "| notistream", "| notistream with MIMALLOC_PURGE_DELAY=-1"]);
  for (const row of rows) expect(row).toMatch(/^\| [^|]+ \| \d+ \| -?\d+ \| -?\d+ \| \d+ \|$/);
}, 70000);

test("--pubsub-env without NAME=VALUE is refused with what it takes", async () => {
  for (const tool of ["ingest.ts", "startup.ts", "storemix.ts", "idlefloor.ts"]) {
    const r = await run([BUN, `${ROOT}/bench/${tool}`, "--pubsub-env", "MIMALLOC_PURGE_DELAY"], { timeoutMs: 20000, cwd: ROOT });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--pubsub-env takes NAME=VALUE (such as MIMALLOC_PURGE_DELAY=-1), not 'MIMALLOC_PURGE_DELAY'");
  }
});

needs("redis-server").test("bun bench/redisclient.ts (short) compares Bun's RedisClient, ioredis and the web server's Publisher", async () => {
  const r = await run([BUN, `${ROOT}/bench/redisclient.ts`, "--rounds", "1", "--seconds", "0.3"], { timeoutMs: 60000, cwd: ROOT });
  if (r.code !== 0) console.log(r.stdout, r.stderr);
  expect(r.code).toBe(0);
  const rows = r.stdout.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| client") && !l.startsWith("| ---"));
  expect(rows.map((l) => l.split(" | ")[0])).toEqual(["| Bun RedisClient", "| ioredis", "| Publisher (link.ts)"]);
  for (const row of rows) expect(row).toMatch(/^\| [^|]+ \| \d+ \| [\d.]+ µs \| [\d.]+ µs \| [\d.]+x, [\d.]+x \|$/);
}, 70000);

test("bun bench/ssefloor.ts (small) reports memory per SSE stream for the web server and Bun's floor", async () => {
  const r = await run([BUN, `${ROOT}/bench/ssefloor.ts`, "--streams", "200", "--rounds", "1"], { timeoutMs: 60000, cwd: ROOT });
  if (r.code !== 0) console.log(r.stdout, r.stderr);
  expect(r.code).toBe(0);
  const rows = r.stdout.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| setup") && !l.startsWith("| ---"));
  expect(rows.map((l) => l.split(" | ")[0])).toEqual(["| web server GET /events (one channel)", "| bare Bun.serve, default ReadableStream", "| bare Bun.serve, direct ReadableStream"]);
  for (const row of rows) expect(row).toMatch(/^\| [^|]+ \| -?[\d,]+ \|$/);
}, 70000);

test("bun bench/idlefloor.ts (small) reports memory per idle RESP subscriber for the pub/sub server and a bare Bun.listen, each also with an allocator setting, read after --settle seconds", async () => {
  const r = await run([BUN, `${ROOT}/bench/idlefloor.ts`, "--conns", "200", "--rounds", "1", "--settle", "1", "--pubsub-env", "MIMALLOC_PURGE_HOLES=0"], { timeoutMs: 60000, cwd: ROOT });
  if (r.code !== 0) console.log(r.stdout, r.stderr);
  expect(r.code).toBe(0);
  // 200 connections are too few for a stable figure: only that each setup is measured and reported is checked.
  for (const setup of ["bare Bun\\.listen", "notistream", "bare Bun\\.listen with MIMALLOC_PURGE_HOLES=0", "notistream with MIMALLOC_PURGE_HOLES=0"])
    expect(r.stdout).toMatch(new RegExp(`^${setup}: -?\\d+ bytes per idle subscribed connection \\(200 connections, read after 1 s idle\\)$`, "m"));
}, 70000);

test("bench/idlefloor.ts and bench/run.ts refuse a --settle that is not seconds, saying what it takes", async () => {
  for (const [script, tool] of [["idlefloor.ts", "bench/idlefloor"], ["run.ts", "bench/run"]]) {
    const r = await run([BUN, `${ROOT}/bench/${script}`, "--settle", "soon"], { timeoutMs: 30000, cwd: ROOT });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${tool}: --settle takes seconds (such as 25), not 'soon'`);
  }
});

test("bun bench/ntfystreams.ts --smoke holds /json and /ws streams through a few messages, none lost, and reports memory per stream beside SSE's and RESP's", async () => {
  const r = await run([BUN, `${ROOT}/bench/ntfystreams.ts`, "--smoke"], { timeoutMs: 110000, cwd: ROOT });
  if (r.code !== 0) console.log(r.stdout, r.stderr);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/\| ntfy GET \/<topic>\/json \| 40 \| -?[\d.]+ KB \| 40 of 40 \(short 0, doubled 0\) \|/);
  expect(r.stdout).toMatch(/\| ntfy GET \/<topic>\/ws \| 10 \| -?[\d.]+ KB \| 10 of 10 \(short 0, doubled 0\) \|/);
  expect(r.stdout).toMatch(/\| SSE GET \/events \| 40 \| -?[\d.]+ KB \|/);
  expect(r.stdout).toMatch(/\| RESP SUBSCRIBE connection \(pub\/sub server\) \| 40 \| -?[\d.]+ KB \|/);
  expect(r.stdout).toContain("streams with a message lost or doubled: 0");
}, 120000);
