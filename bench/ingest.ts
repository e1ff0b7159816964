#!/usr/bin/env bun
// bench/ingest.ts — webhook ingest: POST / through the web server with wrk, our pub/sub server and redis-server (AOF
// everysec) as the store, the floor (bench/floor.ts) and, with --floors, more floors (floor.ts --script, bare.ts),
// A B A B; POST/s and each process's CPU per POST.
import { byThread, cpuSeconds, threadShares } from "./procstat";
import { cpus } from "node:os";
import { startOnFreePort, startPubSub, startRedisAof, startWebServer, tempPath, type Running } from "../test/helpers";
import { median } from "./median";
import { pubsubEnv, startPubSubWithEnv } from "./pubsubenv";

const args = process.argv.slice(2);
if (args.includes("--help")) {
  console.log(`Usage: bun bench/ingest.ts [--rounds 3] [--seconds 5] [--warmup 10] [--connections 50] [--channels 100] [--history-max 1000] [--against DIR] [--pubsub-env NAME=VALUE] [--pubsub-args "FLAGS"] [--floors] [--threads]

POST / (the seed's form body, spread over --channels channels) with wrk through the web server, with Notistream's
pub/sub server and with redis-server (appendonly yes, appendfsync everysec) as the store, and bench/floor.ts (a bare
Bun.serve that only sends XADD and PUBLISH, through the web server's own client) for the floor, alternating A B A B.
Prints POST/s and the CPU time per POST of the web server and of the store (utime + stime from /proc), and their sum.
  --warmup S      seconds of the same load, not recorded, before each measurement (every setup alike): a server
                  that runs for days has long finished compiling; its first seconds measure the JIT (0: none). Why 10:
                  after 3 s our store's JIT thread still took about 2 µs of its CPU per POST in every round
                  (--threads), and after 10 s 0 to 0.9
  --history-max N messages kept per channel (the web server's --history-max; MAXLEN ~ N): a small N trims from
                  the start, so a short run measures the steady state of a full history
  --against DIR   also run the web server and pub/sub server of another Notistream checkout (old code vs new),
                  its web server with redis-server too
  --pubsub-env NAME=VALUE
                  also Notistream's pub/sub server started with this in its environment (repeatable, all in one
                  setup): an allocator setting such as MIMALLOC_PURGE_DELAY=-1, measured in the same run
  --pubsub-args "FLAGS"
                  also Notistream's pub/sub server started with these flags (split at spaces), such as
                  "--allocator cpu": the shipped switch itself, measured in the same run
  --floors        also the floor in one round trip (bench/floor.ts --script: XADD and PUBLISH in one EVALSHA), and
                  bench/bare.ts with no store at all: a Bun.serve that reads and parses the form (--form), and one
                  that answers 200 without reading the body; what Bun.serve alone costs here
  --threads       also the store's CPU per POST by thread (the event loop, and for ours Bun's helpers: the allocator's
                  scavenger, the collector's warm-up, the JIT), each round: what its event loop's profile misses`);
  process.exit(0);
}
const num = (name: string, fallback: number) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);
const ROUNDS = num("rounds", 3);
const SECONDS = num("seconds", 5);
const CONNECTIONS = num("connections", 50);
const CHANNELS = num("channels", 100);
const HISTORY_MAX = num("history-max", 1000);
const WARMUP = num("warmup", 10);
const webArgs = ["--history-max", String(HISTORY_MAX)];
const AGAINST = args.includes("--against") ? args[args.indexOf("--against") + 1]! : null;
const FLOORS = args.includes("--floors");
const THREADS = args.includes("--threads");
const PUBSUB_ENV = pubsubEnv(args, "bench/ingest");
const PUBSUB_ARGS = args.includes("--pubsub-args") ? (args[args.indexOf("--pubsub-args") + 1] ?? "").split(" ").filter(Boolean) : null;
if (PUBSUB_ARGS && !PUBSUB_ARGS.length) {
  console.error(`bench/ingest: --pubsub-args takes the pub/sub server's flags in one argument, such as "--allocator cpu"`);
  process.exit(2);
}
const log = (s: string) => console.error(`bench/ingest: ${s}`);

const lua = tempPath(`post-${CHANNELS}.lua`);
await Bun.write(lua, `-- POST / over ${CHANNELS} channels\nlocal n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format("POST", "/", { ["Content-Type"] = "application/x-www-form-urlencoded" }, "message=hello%20from%20wrk&channel=ingest/" .. (n % ${CHANNELS}))\nend\n`);

type Web = { url: string; proc: { pid: number }; stop: () => Promise<void> };
/** No store: the floors that show what Bun.serve costs by itself (its store CPU reads 0). */
type Setup = { name: string; store: (() => Promise<Running>) | null; web: (storeUrl: string) => Promise<Web> };
/** A bench/ script that takes its port first, run as the web server. */
async function benchServer(script: string, args: string[]): Promise<Web> {
  const { port, proc, stop } = await startOnFreePort((p) => [`${import.meta.dir}/${script}`, String(p), ...args]);
  return { url: `http://127.0.0.1:${port}`, proc, stop };
}
/** bench/floor.ts: what Bun.serve and link.ts cost for XADD + PUBLISH with nothing else (--script: one EVALSHA). */
const floorServer = (storeUrl: string, ...flags: string[]) => benchServer("floor.ts", [storeUrl, String(HISTORY_MAX), ...flags]);
const setups: Setup[] = [
  { name: "web server + Notistream pub/sub", store: () => startPubSub(), web: (u) => startWebServer(u, webArgs) },
  { name: "web server + redis-server (AOF everysec)", store: startRedisAof, web: (u) => startWebServer(u, webArgs) },
  { name: "floor: bench/floor.ts + redis-server (AOF everysec)", store: startRedisAof, web: floorServer },
];
// Second, so A B A B alternates it with the default setup and redis-server alike.
if (PUBSUB_ENV) {
  const { env, shown } = PUBSUB_ENV;
  const store = () => startPubSubWithEnv(env);
  setups.splice(1, 0, { name: `web server + Notistream pub/sub with ${shown}`, store, web: (u) => startWebServer(u, webArgs) });
}
if (PUBSUB_ARGS) setups.splice(1, 0, { name: `web server + Notistream pub/sub ${PUBSUB_ARGS.join(" ")}`, store: () => startPubSub(PUBSUB_ARGS), web: (u) => startWebServer(u, webArgs) });
if (AGAINST)
  setups.push(
    { name: `${AGAINST}: its web server + its pub/sub`, store: () => startPubSub([], {}, AGAINST), web: (u) => startWebServer(u, webArgs, {}, AGAINST) },
    { name: `${AGAINST}: its web server + redis-server (AOF everysec)`, store: startRedisAof, web: (u) => startWebServer(u, webArgs, {}, AGAINST) },
  );
if (FLOORS)
  setups.push(
    { name: "floor, one round trip: bench/floor.ts --script + redis-server (AOF everysec)", store: startRedisAof, web: (u) => floorServer(u, "--script") },
    { name: "no store: bench/bare.ts --form (reads and parses the form)", store: null, web: () => benchServer("bare.ts", ["--form"]) },
    { name: "no store: bench/bare.ts (answers 200, body unread)", store: null, web: () => benchServer("bare.ts", []) },
  );

type Result = { rps: number; web: number; store: number; non2xx: number; threads: string };
async function once(s: Setup): Promise<Result> {
  const store = s.store ? await s.store() : null;
  const web = await s.web(store ? `redis://127.0.0.1:${store.port}` : "");
  try {
    for (let i = 0; i < 200; i++) await fetch(web.url, { method: "POST", body: new URLSearchParams({ channel: `ingest/${i % CHANNELS}`, message: "warm" }) });
    // Unrecorded, the same for every setup: a JIT-compiled server's first seconds measure its compiler, not its work.
    if (WARMUP > 0) await Bun.$`wrk -t2 -c${CONNECTIONS} -d${WARMUP}s -s ${lua} ${web.url}/`.quiet();
    const storeCpu = () => (store ? cpuSeconds(store.proc.pid) : 0);
    const storeThreads = () => (store && THREADS ? byThread(store.proc.pid) : new Map<string, number>());
    const before = { web: cpuSeconds(web.proc.pid), store: storeCpu(), threads: storeThreads() };
    const out = await Bun.$`wrk -t2 -c${CONNECTIONS} -d${SECONDS}s -s ${lua} ${web.url}/`.quiet().text();
    const after = { web: cpuSeconds(web.proc.pid), store: storeCpu(), threads: storeThreads() };
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
    const posts = Number(/(\d+) requests in/.exec(out)?.[1] ?? rps * SECONDS);
    const threads = after.threads.size ? threadShares(before.threads, after.threads, posts) : "";
    return { rps, web: ((after.web - before.web) * 1e6) / posts, store: ((after.store - before.store) * 1e6) / posts, non2xx, threads };
  } finally {
    await web.stop();
    await store?.stop();
  }
}

log(`${cpus().length} cores; ${ROUNDS} rounds of ${SECONDS} s, wrk -c${CONNECTIONS} over ${CHANNELS} channel(s), MAXLEN ~ ${HISTORY_MAX}, ${WARMUP} s unrecorded warm-up each, A B A B`);
const results = new Map<string, Result[]>(setups.map((s) => [s.name, []]));
for (let r = 1; r <= ROUNDS; r++)
  for (const s of setups) {
    const res = await once(s);
    results.get(s.name)!.push(res);
    log(`round ${r}, ${s.name}: ${Math.round(res.rps)} POST/s, CPU per POST: web ${res.web.toFixed(1)} µs + store ${res.store.toFixed(1)} µs = ${(res.web + res.store).toFixed(1)} µs${res.threads ? ` (store by thread, µs: ${res.threads})` : ""}${res.non2xx ? `; ${res.non2xx} non-2xx!` : ""}`);
  }
console.log(`\n| setup | POST/s | web server CPU per POST | store CPU per POST | total CPU per POST |\n| --- | --- | --- | --- | --- |`);
for (const [name, rs] of results) {
  const [rps, web, store] = [median(rs.map((x) => x.rps)), median(rs.map((x) => x.web)), median(rs.map((x) => x.store))];
  console.log(`| ${name} | ${Math.round(rps).toLocaleString("en")} | ${web.toFixed(1)} µs | ${store.toFixed(1)} µs | ${(web + store).toFixed(1)} µs |`);
}
console.log(`\n(medians of ${ROUNDS} rounds; non-2xx answers: ${[...results.values()].flat().reduce((a, x) => a + x.non2xx, 0)})`);
