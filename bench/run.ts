#!/usr/bin/env bun
// bench/run.ts — the benchmark suite: Notistream against a real redis-server on the same machine, each workload
// run against both in alternation (A B A B), load generators in their own processes; a markdown table and JSON.
// Usage: bun bench/run.ts [--smoke] [--only name,name] [--rounds N] [--against DIR]
// --against DIR: the reference is the pub/sub server of another Notistream checkout (old code vs new), not Redis.
import { spawn } from "bun";
import { cpus, totalmem } from "node:os";
import { mkdirSync, writeFileSync } from "node:fs";
import { encodeCommand } from "../resp";
import { cpuNanoseconds, rssBytes as rss } from "./procstat";
import { BUN, lines, startOnFreePort, startPubSub, startRedis, startRedisAof, startWebServer, type Running } from "../test/helpers";
import { median } from "./median";

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(`Usage: bun bench/run.ts [--smoke] [--only name,name] [--rounds N] [--against DIR]
  --smoke         tiny sizes and one round (what the tests run)
  --only NAMES    only these workloads: publish, fanout, latency, idle, channels, webhook, xadd
  --rounds N      rounds per workload, each alternating reference and Notistream (default 3)
  --against DIR   compare with the pub/sub server of another Notistream checkout instead of redis-server
  --deliveries N  deliveries per fan-out run (default 2,000,000; 10,000,000 puts subscribers megabytes behind)
  --fanout A,B    subscriber counts for the fan-out runs (default 100,1000,10000)
  --settle S      seconds the idle row's connections sit idle before RSS is read (default 2); --allocator balanced
                  gives memory back after 10 s, so its settled figure needs 25
XADD rows: each server first takes an unrecorded warm-up (the same XADDs, 4x the count, -P 16), since a JIT-compiled
server's first seconds measure its compiler; -P 16 then runs 4x the requests of -P 1, so it lasts long enough to read.
PUBLISH -P 16 runs 20x the requests of -P 1 (about 6 s a round), since a shorter round catches one pattern of how
redis-benchmark and the server share the cores.
Throughput rows (PUBLISH, fan-out, channels, patterns, XADD) are each followed by the server's CPU per request or per
delivery while measured: all its threads, user and system, from /proc/<pid>/task/*/schedstat. redis-benchmark rows
also give redis-benchmark's own CPU per request: it is one thread, so near a whole core it is what sets the rate.
Writes a markdown table to stdout and the figures as JSON under bench/results/.`);
  process.exit(0);
}
const SMOKE = args.includes("--smoke");
const ONLY = args.includes("--only") ? args[args.indexOf("--only") + 1]!.split(",") : null;
const ROUNDS = args.includes("--rounds") ? Number(args[args.indexOf("--rounds") + 1]) : SMOKE ? 1 : 3;
const WORKERS = SMOKE ? 2 : 4;
const AGAINST = args.includes("--against") ? args[args.indexOf("--against") + 1]! : null;
const SETTLE_S = args.includes("--settle") ? Number(args[args.indexOf("--settle") + 1]) : 2;
if (!(SETTLE_S >= 0)) {
  console.error(`bench/run: --settle takes seconds (such as 25), not '${args[args.indexOf("--settle") + 1] ?? ""}'`);
  process.exit(2);
}
const here = import.meta.dir;

/** Sizes for a full run, and tiny ones for the smoke run the tests use. */
const S = SMOKE
  ? { publishN: 2000, fanout: [10, 50], deliveries: 20_000, latencyRate: 500, latencySubs: 10, latencySeconds: 1, idle: 200, channels: 200, patterns: 10, ingestSeconds: 1, xaddN: 2000, webhookLatencyN: 50 }
  : { publishN: 200_000, fanout: [100, 1000, 10000], deliveries: 2_000_000, latencyRate: 10_000, latencySubs: 100, latencySeconds: 5, idle: 10_000, channels: 10_000, patterns: 100, ingestSeconds: 10, xaddN: 100_000, webhookLatencyN: 2000 };

if (args.includes("--deliveries")) S.deliveries = Number(args[args.indexOf("--deliveries") + 1]);
if (args.includes("--fanout")) S.fanout = args[args.indexOf("--fanout") + 1]!.split(",").map(Number);

type Row = { workload: string; unit: string; better: "higher" | "lower"; target: string; redis: number[]; notistream: number[]; baseline?: { name: string; values: number[] } };
/**
 * A measurement, and the server's CPU per unit of work while it ran (all its threads, user and system): what a rate
 * bounded by the load generators (2 cores shared with 4 subscriber workers) cannot show, and what the server controls.
 */
type Measured = { value: number; cpuNs: number; clientCpuNs?: number };
/** The server's CPU in ns per unit over `run`, read from /proc (pid) before and after. */
async function withCpu(pid: number, units: number, run: () => Promise<number>): Promise<Measured> {
  const before = cpuNanoseconds(pid);
  const value = await run();
  return { value, cpuNs: (cpuNanoseconds(pid) - before) / units };
}
const rows: Row[] = [];
const wanted = (name: string) => !ONLY || ONLY.some((o) => name.startsWith(o));
const log = (s: string) => process.stderr.write(`  ${s}\n`);

function worker(spec: object) {
  const proc = spawn([BUN, `${here}/worker.ts`, JSON.stringify(spec)], { stdout: "pipe", stderr: "inherit" });
  return { proc, out: lines(proc) };
}

/** The next line from a worker starting with `prefix`; a worker that goes quiet for 2 minutes fails the run. */
async function expectLine(out: AsyncGenerator<string>, prefix: string, ms = 120_000): Promise<string> {
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const quiet = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`a load worker said nothing for ${ms / 1000} s while waiting for "${prefix}"`)), ms);
    });
    const { value, done } = await Promise.race([out.next(), quiet]).finally(() => clearTimeout(timer));
    if (done) throw new Error(`a load worker ended before saying "${prefix}"`);
    if (value.startsWith(prefix)) return value;
  }
}

function split<T>(items: T[], parts: number): T[][] {
  const out: T[][] = Array.from({ length: parts }, () => []);
  items.forEach((x, i) => out[i % parts]!.push(x));
  return out.filter((p) => p.length);
}

/** redis-benchmark against `s`, with the server's CPU per request and redis-benchmark's own. */
async function benchmarkWithCpu(s: Server, cmd: string[], n: number, pipeline: number): Promise<Measured> {
  let clientNs = 0;
  const m = await withCpu(s.run.proc.pid, n, async () => {
    const r = await redisBenchmarkRun(s.run.port, cmd, n, pipeline);
    clientNs = r.cpuNs;
    return r.rate;
  });
  return { ...m, clientCpuNs: clientNs / n };
}

async function redisBenchmark(port: number, cmd: string[], n: number, pipeline: number): Promise<number> {
  return (await redisBenchmarkRun(port, cmd, n, pipeline)).rate;
}

/** One redis-benchmark run: requests per second, and the CPU it used itself (user and system, in ns). */
async function redisBenchmarkRun(port: number, cmd: string[], n: number, pipeline: number): Promise<{ rate: number; cpuNs: number }> {
  const proc = spawn(["redis-benchmark", "-p", String(port), "-c", "50", "-n", String(n), "-P", String(pipeline), "-q", ...cmd], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const m = /([\d.]+) requests per second/.exec(out.replace(/\r/g, "\n"));
  if (!m) throw new Error(`redis-benchmark said: ${out}${err}`);
  const cpu = proc.resourceUsage()?.cpuTime; // in µs
  return { rate: Number(m[1]), cpuNs: cpu ? Number(cpu.total) * 1000 : NaN };
}

type SubSpec = { channels: string[]; perConn: number; expect: number; patterns?: string[] };

/** Starts the subscriber workers, then one publisher over `pubChannels`; deliveries per second until all have arrived. */
async function measureDeliveries(server: Running, subSpecs: SubSpec[], pubChannels: string[], messages: number, total: number): Promise<Measured> {
  const port = server.port;
  const subs = subSpecs.map((spec) => worker({ role: "sub", port, frameBytes: 100, ...spec }));
  for (const s of subs) await expectLine(s.out, "ready");
  const cpuBefore = cpuNanoseconds(server.proc.pid); // from here: the deliveries, not the subscribers' connecting
  const pub = worker({ role: "pub", port, channels: pubChannels, messages, payload: 100, window: 200 });
  const start = Number((await expectLine(pub.out, "start")).split(" ")[1]);
  let end = 0;
  for (const s of subs) end = Math.max(end, Number((await expectLine(s.out, "done")).split(" ")[1]));
  const cpuNs = (cpuNanoseconds(server.proc.pid) - cpuBefore) / total;
  await pub.proc.exited;
  for (const s of subs) s.proc.kill();
  return { value: total / ((end - start) / 1000), cpuNs };
}

/** Many channels (or patterns), one subscriber each, spread over the workers; publishes round-robin over them. */
function deliveries(server: Running, channels: string[], messages: number, patterns?: string[]): Promise<Measured> {
  const parts = split(
    channels.map((c, i) => [c, patterns?.[i]] as const),
    WORKERS,
  ).map((part) => ({ channels: part.map((p) => p[0]), patterns: patterns ? part.map((p) => p[1]!) : undefined, perConn: 1, expect: Math.round(messages / channels.length) }));
  return measureDeliveries(server, parts, channels, messages, messages);
}

/** One channel, n subscriber connections spread over the workers. */
function fanout(server: Running, n: number, messages: number): Promise<Measured> {
  const ch = `fan-${n}-${Math.random().toString(36).slice(2, 7)}`;
  const per = Math.ceil(n / WORKERS);
  const parts: SubSpec[] = [];
  for (let left = n; left > 0; left -= per) parts.push({ channels: [ch], perConn: Math.min(per, left), expect: messages });
  return measureDeliveries(server, parts, [ch], messages, messages * n);
}

type Server = { name: "redis" | "notistream"; run: Running };

/**
 * Runs `measure` on each server in turn, ROUNDS times (A B A B). A measurement that comes with the server's CPU adds a
 * second row after the first: "<workload>: server CPU per <cpuPer>" in ns, lower is better, aiming at `cpuTarget`.
 */
async function both(workload: string, unit: string, better: Row["better"], target: string, measure: (s: Server) => Promise<number | Measured>, servers: Server[], cpuPer = "", cpuTarget = "(reported)"): Promise<Row> {
  const row: Row = { workload, unit, better, target, redis: [], notistream: [] };
  const cpu: Row = { workload: `${workload}: server CPU per ${cpuPer}`, unit: "ns", better: "lower", target: cpuTarget, redis: [], notistream: [] };
  // redis-benchmark is one thread: near 1 s of its CPU per second, the rate above measures it more than the server.
  const client: Row = { workload: `${workload}: redis-benchmark's own CPU per ${cpuPer}`, unit: "ns", better: "lower", target: "(reported)", redis: [], notistream: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of servers) {
      const m = await measure(s);
      const v = typeof m === "number" ? m : m.value;
      row[s.name].push(v);
      if (typeof m !== "number") cpu[s.name].push(m.cpuNs);
      if (typeof m !== "number" && m.clientCpuNs !== undefined) client[s.name].push(m.clientCpuNs);
      const clientNote = typeof m === "number" || m.clientCpuNs === undefined ? "" : `, redis-benchmark's CPU ${m.clientCpuNs.toFixed(0)} ns (${((m.clientCpuNs * v) / 1e9).toFixed(2)} of a core)`;
      log(`${workload}, round ${r + 1}, ${s.name}: ${v.toFixed(v < 100 ? 3 : 0)} ${unit}${typeof m === "number" ? "" : `, server CPU ${m.cpuNs.toFixed(0)} ns per ${cpuPer}`}${clientNote}`);
    }
  }
  rows.push(row);
  if (cpu.notistream.length) rows.push(cpu);
  if (client.notistream.length) rows.push(client);
  return row;
}

// ----------------------------------------------------------------------------------------------

// Redis's default maxclients (10000) would refuse part of the 10,000-subscriber runs.
const redis = AGAINST ? await startPubSub(["--maxclients", "30000", "--history-max-age", "0"], {}, AGAINST) : await startRedis(["--maxclients", "15000"]);
const ours = await startPubSub(["--maxclients", "30000", "--history-max-age", "0"]);
const servers: Server[] = [
  { name: "redis", run: redis },
  { name: "notistream", run: ours },
];
const version = /v=(\S+)/.exec(await Bun.$`redis-server --version`.text())?.[1] ?? "?";
const started = Date.now();
process.stderr.write(`bench: ${SMOKE ? "smoke" : "full"} run, ${ROUNDS} round(s), redis-server ${version}, ${cpus().length} cores\n`);

/**
 * PUBLISH -P 16 runs this many times -P 1's requests, about 6 s a round: a one-second round is one pattern of how
 * redis-benchmark and the server take turns on a small machine (800,000-request rounds read 0.89-1.34x Redis).
 */
const PUBLISH_P16_TIMES = 20;

try {
  for (const p of [1, 16]) {
    if (wanted("publish")) await both(`PUBLISH throughput, no subscribers, -c 50 -P ${p}`, "req/s", "higher", "≥ 1.0× Redis", (s) => benchmarkWithCpu(s, ["PUBLISH", "bench-ch", "hello"], S.publishN * (p === 16 ? PUBLISH_P16_TIMES : 1), p), servers, "request");
  }

  for (const n of S.fanout) {
    if (!wanted("fanout")) break;
    const messages = Math.max(50, Math.floor(S.deliveries / n));
    await both(`Fan-out, 1 publisher → ${n} subscribers, 100-byte payloads`, "deliveries/s", "higher", n === 100 ? "≥ 1.2× Redis" : "≥ 1.0× Redis", (s) => fanout(s.run, n, messages), servers, "delivery", "below Redis's");
  }

  if (wanted("latency")) {
    const lat: Record<string, { p50: number[]; p99: number[]; p999: number[] }> = { redis: { p50: [], p99: [], p999: [] }, notistream: { p50: [], p99: [], p999: [] } };
    for (let r = 0; r < ROUNDS; r++) {
      for (const s of servers) {
        const ch = `lat-${Math.random().toString(36).slice(2, 7)}`;
        const perWorker = split(Array.from({ length: S.latencySubs }, () => ch), WORKERS);
        const subs = perWorker.map((part) => worker({ role: "sub", port: s.run.port, channels: part, perConn: 1, expect: S.latencyRate * S.latencySeconds, frameBytes: 100, latency: true }));
        for (const w of subs) await expectLine(w.out, "ready");
        const pub = worker({ role: "rate", port: s.run.port, channel: ch, rate: S.latencyRate, seconds: S.latencySeconds, payload: 100 });
        const all: number[] = [];
        for (const w of subs) for (const v of JSON.parse((await expectLine(w.out, "latency")).slice(8)) as number[]) all.push(v); // no spread: millions of samples
        await pub.proc.exited;
        for (const w of subs) w.proc.kill();
        all.sort((a, b) => a - b);
        const pct = (q: number) => all[Math.min(all.length - 1, Math.floor(q * all.length))]! / 1000;
        lat[s.name]!.p50.push(pct(0.5));
        lat[s.name]!.p99.push(pct(0.99));
        lat[s.name]!.p999.push(pct(0.999));
        log(`latency round ${r + 1}, ${s.name}: p50 ${pct(0.5).toFixed(3)} ms, p99 ${pct(0.99).toFixed(3)} ms, p99.9 ${pct(0.999).toFixed(3)} ms (${all.length} samples)`);
      }
    }
    for (const [q, label] of [["p50", "p50"], ["p99", "p99"], ["p999", "p99.9"]] as const)
      rows.push({
        workload: `Latency ${label}, ${S.latencyRate} msg/s to ${S.latencySubs} subscribers`,
        unit: "ms",
        better: "lower",
        target: q === "p99" ? "≤ Redis's p99" : "(reported)",
        redis: lat.redis![q],
        notistream: lat.notistream![q],
      });
  }

  if (wanted("idle")) {
    await both(`Memory per idle subscribed connection (${S.idle} connections, ${SMOKE ? 0.2 : SETTLE_S} s idle)`, "bytes", "lower", "≤ Redis's", async (s) => {
      const before = rss(s.run.proc.pid);
      const subs = split(Array.from({ length: S.idle }, (_, i) => `idle-${i % 100}`), 2).map((part) => worker({ role: "sub", port: s.run.port, channels: part, perConn: 1, expect: 1e9, frameBytes: 100 }));
      for (const w of subs) await expectLine(w.out, "ready");
      await Bun.sleep(SMOKE ? 200 : SETTLE_S * 1000); // let allocators settle before reading RSS
      const after = rss(s.run.proc.pid);
      for (const w of subs) w.proc.kill();
      await Promise.all(subs.map((w) => w.proc.exited));
      await Bun.sleep(SMOKE ? 200 : 1000);
      return (after - before) / S.idle;
    }, servers);
  }

  if (wanted("channels")) {
    const chans = Array.from({ length: S.channels }, (_, i) => `many-${i}`);
    await both(`Many channels: ${S.channels} channels × 1 subscriber, publishes spread across them`, "deliveries/s", "higher", "≥ 1.0× Redis", (s) => deliveries(s.run, chans, S.channels * (SMOKE ? 10 : 20)), servers, "delivery");
    const pats = Array.from({ length: S.patterns }, (_, i) => `pat${i}.*`);
    const patChans = Array.from({ length: S.patterns }, (_, i) => `pat${i}.x`);
    await both(`Patterns: ${S.patterns} PSUBSCRIBE patterns, publishes spread across matching channels`, "deliveries/s", "higher", "≥ 1.0× Redis", (s) => deliveries(s.run, patChans, S.patterns * (SMOKE ? 100 : 2000), pats), servers, "delivery");
  }

  if (wanted("webhook") && !AGAINST) await webhook(); // these compare with Redis (AOF, raw PUBLISH) by design

  if (wanted("xadd") && !AGAINST) {
    const aof = await startRedisAof();
    const always = await startPubSub(["--appendfsync", "always", "--history-max-age", "0"]);
    try {
      const xs: Server[] = [
        { name: "redis", run: aof },
        { name: "notistream", run: ours },
      ];
      const cmd = ["XADD", "bench:xadd", "MAXLEN", "~", "1000", "*", "message", "x".repeat(100)];
      // Unrecorded warm-up, the same for every server: a JIT needs a moment that a server running for days has long
      // had (a fresh process's first 100,000 XADDs measured its compiler, not its store); Redis gets the same run.
      for (const s of [...xs, { name: "always", run: always }]) await redisBenchmark(s.run.port, cmd, 4 * S.xaddN, 16);
      for (const p of [1, 16]) await both(`XADD -P ${p}, Redis AOF everysec vs Notistream everysec`, "req/s", "higher", "≥ 0.9× Redis AOF everysec", (s) => benchmarkWithCpu(s, cmd, p === 16 ? 4 * S.xaddN : S.xaddN, p), xs, "request");
      const cost = { workload: "XADD -P 1, Notistream appendfsync always (fsync cost)", unit: "req/s", better: "higher" as const, target: "(reported)", redis: [] as number[], notistream: [] as number[] };
      for (let r = 0; r < ROUNDS; r++) cost.notistream.push(await redisBenchmark(always.port, cmd, S.xaddN, 1));
      cost.redis = rows.find((x) => x.workload.startsWith("XADD -P 1"))!.redis;
      rows.push(cost);
    } finally {
      await aof.stop();
      await always.stop();
    }
  }
} finally {
  await redis.stop();
  await ours.stop();
}

/** POST / throughput through the web server, against a bare Bun.serve and raw PUBLISH; and webhook→subscriber latency. */
async function webhook(): Promise<void> {
  const web = await startWebServer(`redis://127.0.0.1:${ours.port}`, [], {});
  const bare = await startOnFreePort((port) => [`${here}/bare.ts`, String(port)]);
  const haveWrk = Bun.which("wrk") !== null;
  const load = async (url: string): Promise<number> => {
    if (haveWrk) {
      const out = await Bun.$`wrk -t2 -c50 -d${S.ingestSeconds}s -s ${here}/post.lua ${url}`.quiet().text();
      const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
      if (!m) throw new Error(`wrk said: ${out}`);
      return Number(m[1]);
    }
    // Without wrk: 50 concurrent keep-alive loops of fetch for the same time.
    let done = 0;
    const until = Date.now() + S.ingestSeconds * 1000;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (Date.now() < until) {
          await fetch(url, { method: "POST", body: "message=hello&channel=ingest", headers: { "content-type": "application/x-www-form-urlencoded" } }).then((r) => r.arrayBuffer());
          done++;
        }
      }),
    );
    return done / S.ingestSeconds;
  };
  try {
    const row: Row = { workload: `Webhook ingest, POST / with 50 connections (${haveWrk ? "wrk" : "fetch loops"})`, unit: "req/s", better: "higher", target: "≥ 0.8× bare Bun.serve", redis: [], notistream: [], baseline: { name: "bare Bun.serve", values: [] } };
    const raw: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      row.baseline!.values.push(await load(`http://127.0.0.1:${bare.port}/`));
      row.notistream.push(await load(`${web.url}/`));
      raw.push(await redisBenchmark(ours.port, ["PUBLISH", "ingest", "hello from wrk"], S.publishN, 1));
      log(`webhook round ${r + 1}: bare ${row.baseline!.values.at(-1)!.toFixed(0)}/s, notistream web ${row.notistream.at(-1)!.toFixed(0)}/s, raw PUBLISH ${raw.at(-1)!.toFixed(0)}/s`);
    }
    row.redis = raw; // the "redis" column of this row holds the raw-PUBLISH baseline against our pub/sub server
    rows.push(row);

    // Webhook to subscriber: POST stamped messages at a modest rate and time their arrival on a RESP subscriber.
    const lat: number[] = [];
    const sent = new Map<string, number>();
    const sub = await Bun.connect({
      hostname: "127.0.0.1",
      port: ours.port,
      socket: {
        open: (s) => void s.write(encodeCommand(["SUBSCRIBE", "wh-lat"])),
        data: (_s, chunk) => {
          const t = performance.now();
          for (const m of Buffer.from(chunk).toString().matchAll(/"message":"(w\d+)"/g)) {
            const at = sent.get(m[1]!);
            if (at !== undefined) lat.push(t - at);
          }
        },
      },
    });
    await Bun.sleep(100);
    for (let i = 0; i < S.webhookLatencyN; i++) {
      sent.set(`w${i}`, performance.now());
      await fetch(`${web.url}/`, { method: "POST", body: `message=w${i}&channel=wh-lat`, headers: { "content-type": "application/x-www-form-urlencoded" } });
    }
    await Bun.sleep(300);
    sub.end();
    lat.sort((a, b) => a - b);
    const p99 = lat[Math.floor(0.99 * (lat.length - 1))] ?? NaN;
    rows.push({ workload: `Webhook → subscriber latency p99 (${lat.length} POSTs, one at a time)`, unit: "ms", better: "lower", target: "(reported)", redis: [], notistream: [p99] });
    log(`webhook → subscriber p50 ${lat[Math.floor(lat.length / 2)]?.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms`);
  } finally {
    await bare.stop();
    await web.stop();
  }
}

// ----------------------------------------------------------------------------------------------
// Report

const fmt = (v: number, unit: string) => (Number.isNaN(v) ? "–" : unit === "ms" ? v.toFixed(3) : v.toFixed(0));
const out: string[] = [];
const REF = AGAINST ? `baseline (${AGAINST})` : `redis-server ${version}`;
out.push(`# Notistream vs ${REF}`);
out.push("");
out.push(`Machine: ${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Bun ${Bun.version}. ${SMOKE ? "SMOKE run (tiny sizes: not a measurement)" : "Full run"}, ${ROUNDS} round(s), servers alternated A B A B; medians; load generators in separate processes (${WORKERS} subscriber workers).`);
out.push("");
out.push(`| workload | unit | ${AGAINST ? "baseline" : "redis-server"} | notistream | ratio | target |`);
out.push("| --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  const a = r.baseline ? median(r.baseline.values) : median(r.redis);
  const b = median(r.notistream);
  const ratio = r.better === "higher" ? b / a : a / b; // > 1 is better for Notistream either way
  const left = r.baseline ? `${fmt(a, r.unit)} (${r.baseline.name}); raw PUBLISH ${fmt(median(r.redis), r.unit)}` : fmt(a, r.unit);
  out.push(`| ${r.workload} | ${r.unit} | ${left} | ${fmt(b, r.unit)} | ${Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "–"} | ${r.target} |`);
}
out.push("");
out.push(`Ratios read "Notistream is N× as good": above 1 beats the baseline, whether higher or lower is better. Took ${((Date.now() - started) / 1000).toFixed(0)} s.`);
console.log(out.join("\n"));
mkdirSync(`${here}/results`, { recursive: true });
const file = `${here}/results/${SMOKE ? "smoke" : "run"}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
writeFileSync(file, JSON.stringify({ machine: { cores: cpus().length, model: cpus()[0]?.model, memory: totalmem() }, bun: Bun.version, redis: version, smoke: SMOKE, rounds: ROUNDS, rows }, null, 2));
console.log(`\nJSON: ${file}`);
