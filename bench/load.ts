#!/usr/bin/env bun
// bench/load.ts — the long load test: RESP subscribers and SSE clients from several processes held through minutes of
// steady publishing, every delivery counted; memory per connection and CPU per delivery; reconnect storms; redis-server;
// and, with --ingest, bench/ingest.ts after it, so one run gives every figure. Usage: see --help.
import { spawn, type Subprocess } from "bun";
import { cpus } from "node:os";
import { BUN, ROOT, freePort, spawnPubSubAt, startRedis, tempPath, waitForPort } from "../test/helpers";
import { openFileLimit } from "../cli";
import { cpuSeconds, rssBytes } from "./procstat";

const argv = process.argv.slice(2);
if (argv.includes("--help")) {
  console.log(`Usage: bun bench/load.ts [options]
  --subscribers N   RESP subscribers (default: as many as the open-file limit allows the pub/sub server, ${defaultConns()})
  --sse N           SSE clients of the web server (default: the same)
  --seconds S       steady publishing, one channel to every subscriber (default 300)
  --rate R          messages a second (default 1: one message a second to every subscriber)
  --storm           then all subscribers drop at once: the web server restarts, then the pub/sub server
  --clients N       real notistream clients that check nothing is lost in the storms (default 5)
  --redis           then the same RESP subscribers and publishing against redis-server, side by side
  --ingest          last, webhook ingest: bench/ingest.ts --floors (CPU per POST), its table printed with the rest
  --ingest-rounds N, --ingest-seconds S, --ingest-warmup S   passed on to it (default 3 rounds of 5 s after 10 s)
Load generators run in processes of their own, each under 5,000 connections. Exits 1 if anything is lost.`);
  process.exit(0);
}
const arg = (name: string, fallback: number) => (argv.includes(`--${name}`) ? Number(argv[argv.indexOf(`--${name}`) + 1]) : fallback);
/** What one process may hold here: the open-file limit less the servers' own files and reserved slots. */
function defaultConns(): number {
  const limit = openFileLimit();
  return limit === null || limit === Infinity ? 10_000 : Math.max(100, Math.floor((limit - 100) / 100) * 100);
}
const SUBS = arg("subscribers", defaultConns());
const SSE = arg("sse", defaultConns());
const SECONDS = arg("seconds", 300);
const RATE = arg("rate", 1);
const STORM = argv.includes("--storm");
const REDIS = argv.includes("--redis");
const CLIENTS = arg("clients", 5);
const INGEST = argv.includes("--ingest");
const PER_PROCESS = 5000;
const here = import.meta.dir;
const log = (s: string) => console.log(`load: ${s}`);
const MB = (b: number) => (b / 2 ** 20).toFixed(1);

const sample = (pid: number): { rss: number; cpu: number } => ({ rss: rssBytes(pid), cpu: cpuSeconds(pid) });

/** Load generator processes: each reports "ready" and "progress <count> <connected>" lines. */
type Gen = { proc: Subprocess; count: number; connected: number; ready: boolean };
function generators(total: number, spec: (n: number) => object): Gen[] {
  const gens: Gen[] = [];
  for (let left = total; left > 0; left -= PER_PROCESS) {
    const n = Math.min(PER_PROCESS, left);
    const proc = spawn([BUN, `${here}/worker.ts`, JSON.stringify(spec(n))], { stdout: "pipe", stderr: "inherit" });
    const g: Gen = { proc, count: 0, connected: 0, ready: false };
    void (async () => {
      let buf = "";
      for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
        buf += new TextDecoder().decode(chunk);
        let nl: number;
        while ((nl = buf.indexOf("\n")) !== -1) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line === "ready") g.ready = true;
          if (line.startsWith("progress ")) [g.count, g.connected] = line.slice(9).split(" ").map(Number) as [number, number];
        }
      }
    })();
    gens.push(g);
  }
  return gens;
}
const sum = (gens: Gen[], f: (g: Gen) => number) => gens.reduce((a, g) => a + f(g), 0);
async function allReady(gens: Gen[], what: string): Promise<number> {
  const t0 = performance.now();
  while (!gens.every((g) => g.ready)) {
    if (gens.some((g) => g.proc.exitCode !== null)) throw new Error(`a ${what} generator exited`);
    await Bun.sleep(100);
  }
  return (performance.now() - t0) / 1000;
}
/** Steady publishing to channel "load" for `seconds`, straight to the RESP port (the rate worker). */
function publisher(port: number, seconds: number): Subprocess {
  return spawn([BUN, `${here}/worker.ts`, JSON.stringify({ role: "rate", port, channel: "load", rate: RATE, seconds, payload: 100 })], { stdout: "ignore", stderr: "inherit" });
}

/** The web server on a given port (a restart must come back where its SSE clients reconnect). */
async function webAt(port: number, redisPort: number): Promise<{ proc: Subprocess; stop: () => Promise<void> }> {
  const proc = spawn([BUN, `${ROOT}/web.ts`, "--host", "127.0.0.1", "--port", String(port), "--redis", `redis://127.0.0.1:${redisPort}`, "--data", webData], { stdout: "ignore", stderr: "inherit" });
  await waitForPort(port, 30_000);
  return {
    proc,
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}
const webData = tempPath("web-data");

log(`${SUBS} RESP subscribers, ${SSE} SSE clients, ${RATE} msg/s for ${SECONDS} s; ${cpus().length} cores; open-file limit ${openFileLimit()}; generators of at most ${PER_PROCESS} connections per process`);

// ---- Notistream: the pub/sub server and the web server, subscribers of both kinds.
const data = tempPath("load.db");
const pubsubPort = await freePort();
let pubsubProc = spawnPubSubAt(pubsubPort, data, ["--history-max-age", "0"], "ignore");
await waitForPort(pubsubPort);
const webPort = await freePort();
let web = await webAt(webPort, pubsubPort);
await Bun.sleep(1000);
const idle = { pubsub: sample(pubsubProc.pid), web: sample(web.proc.pid) };

const respGens = generators(SUBS, (n) => ({ role: "sub", port: pubsubPort, channels: ["load"], perConn: n, expect: 1e12, frameBytes: 100, reconnect: STORM }));
const respSecs = await allReady(respGens, "RESP");
await Bun.sleep(2000);
const afterResp = sample(pubsubProc.pid);
const sseGens = generators(SSE, (n) => ({ role: "sse", port: webPort, channel: "load", conns: n }));
const sseSecs = await allReady(sseGens, "SSE");
await Bun.sleep(2000);
const afterSse = sample(web.proc.pid);
const respPerConn = (afterResp.rss - idle.pubsub.rss) / SUBS;
const ssePerConn = (afterSse.rss - idle.web.rss) / Math.max(1, SSE);
log(`connected ${SUBS} RESP subscribers in ${respSecs.toFixed(1)} s and ${SSE} SSE clients in ${sseSecs.toFixed(1)} s; pub/sub RSS ${MB(afterResp.rss)} MB (${respPerConn.toFixed(0)} B per subscriber), web RSS ${MB(afterSse.rss)} MB (${ssePerConn.toFixed(0)} B per SSE stream)`);

const windowS = Math.min(60, Math.max(5, Math.floor(SECONDS / 5)));
const start = { pubsub: sample(pubsubProc.pid), web: sample(web.proc.pid), at: performance.now(), resp: sum(respGens, (g) => g.count), sse: sum(sseGens, (g) => g.count) };
const pub = publisher(pubsubPort, SECONDS);
const rssSamples: { pubsub: number; web: number }[] = [];
const cpuMarks: { at: number; pubsub: number; web: number; resp: number; sse: number }[] = [];
const mark = () => cpuMarks.push({ at: performance.now(), pubsub: sample(pubsubProc.pid).cpu, web: sample(web.proc.pid).cpu, resp: sum(respGens, (g) => g.count), sse: sum(sseGens, (g) => g.count) });
mark();
let ticks = 0;
const timer = setInterval(() => {
  ticks++;
  const s = { pubsub: sample(pubsubProc.pid).rss, web: sample(web.proc.pid).rss };
  rssSamples.push(s);
  mark();
  if (ticks % 2 === 0) log(`${ticks * 5} s: pub/sub RSS ${MB(s.pubsub)} MB, web RSS ${MB(s.web)} MB; delivered ${sum(respGens, (g) => g.count)} RESP frames, ${sum(sseGens, (g) => g.count)} SSE events`);
}, 5000);
await pub.exited;
await Bun.sleep(3000); // the last messages drain
clearInterval(timer);
mark();
const end = { pubsub: sample(pubsubProc.pid), web: sample(web.proc.pid), at: performance.now() };
await Bun.sleep(1500); // one more progress report from each worker
const secs = (end.at - start.at) / 1000;
const expected = RATE * SECONDS;
const resp = sum(respGens, (g) => g.count) - start.resp;
const sse = sum(sseGens, (g) => g.count) - start.sse;
const lostResp = expected * SUBS - resp;
const lostSse = expected * SSE - sse;

/** µs of CPU per delivery over a window of the marks: deliveries are RESP frames (pub/sub) and SSE events (web). */
function perDelivery(from: number, to: number): { pubsub: number; web: number } {
  const a = cpuMarks[Math.max(0, from)]!;
  const b = cpuMarks[Math.min(cpuMarks.length - 1, to)]!;
  // The pub/sub server also feeds the hub, one delivery per message: counted with the RESP frames.
  return { pubsub: ((b.pubsub - a.pubsub) * 1e6) / Math.max(1, b.resp - a.resp), web: ((b.web - a.web) * 1e6) / Math.max(1, b.sse - a.sse) };
}
const perWindow = Math.round(windowS / 5);
const first = perDelivery(0, perWindow);
const last = perDelivery(cpuMarks.length - 2 - perWindow, cpuMarks.length - 2);

// ---- Reconnect storms: every subscriber drops at once; real clients check nothing is lost meanwhile.
type Storm = { what: string; back: number; worstPingMs: number; posts: { ok: number; refused: number } };
const storms: Storm[] = [];
let stormLost = 0;
let stormDup = 0;
let stormAccepted = 0;
if (STORM) {
  const clients = Array.from({ length: CLIENTS }, () => {
    const proc = spawn([BUN, `${ROOT}/client.ts`, "--json", "--host", "127.0.0.1", "--port", String(pubsubPort), "--channels", "load"], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, NOTISTREAM_STATE: tempPath("state.json") },
    });
    let out = "";
    void (async () => {
      for await (const c of proc.stdout as ReadableStream<Uint8Array>) out += new TextDecoder().decode(c);
    })();
    return { proc, out: () => out };
  });
  await Bun.sleep(3000);
  const accepted: string[] = [];
  let refused = 0;
  let posting = true;
  const poster = (async () => {
    while (posting) {
      try {
        const r = await fetch(`http://127.0.0.1:${webPort}/`, { method: "POST", body: new URLSearchParams({ channel: "load", message: "storm" }) });
        const body = (await r.json()) as { id?: string };
        if (r.status === 200 && body.id) accepted.push(body.id);
        else refused++;
      } catch {
        refused++;
      }
      await Bun.sleep(50);
    }
  })();
  /** The slowest answer to PING (pub/sub) and GET /health (web), probed every 100 ms while `until` is false. */
  const probe = async (until: () => boolean): Promise<number> => {
    let worst = 0;
    while (!until()) {
      const t0 = performance.now();
      await Promise.all([
        fetch(`http://127.0.0.1:${webPort}/health`).then((r) => r.arrayBuffer()).catch(() => {}),
        Bun.$`redis-cli -p ${pubsubPort} PING`.quiet().nothrow(),
      ]);
      worst = Math.max(worst, performance.now() - t0);
      await Bun.sleep(100);
    }
    return worst;
  };
  const storm = async (what: string, kinds: Gen[], total: number, restart: () => Promise<void>) => {
    const before = { ok: accepted.length, refused };
    let over = false;
    const probing = probe(() => over); // from before the restart to the end of the storm
    const t0 = performance.now();
    await restart();
    // Until every subscriber reported its drop and its return: progress lines come once a second.
    const sawDrop = () => sum(kinds, (g) => g.connected) < total;
    while (!sawDrop() && performance.now() - t0 < 5000) await Bun.sleep(50);
    while (sum(kinds, (g) => g.connected) < total && performance.now() - t0 < 180_000) await Bun.sleep(50);
    const back = (performance.now() - t0) / 1000;
    over = true;
    const worstPingMs = await probing;
    storms.push({ what, back, worstPingMs, posts: { ok: accepted.length - before.ok, refused: refused - before.refused } });
    log(`${what}: all ${total} subscribed again after ${back.toFixed(1)} s; slowest PING/health answer meanwhile ${worstPingMs.toFixed(0)} ms`);
  };
  await Bun.sleep(2000);
  await storm(`web server restarted under ${SSE} SSE clients`, sseGens, SSE, async () => {
    await web.stop();
    web = await webAt(webPort, pubsubPort);
  });
  await Bun.sleep(2000);
  await storm(`pub/sub server restarted under ${SUBS} RESP subscribers`, respGens, SUBS, async () => {
    pubsubProc.kill("SIGTERM");
    await pubsubProc.exited;
    pubsubProc = spawnPubSubAt(pubsubPort, data, ["--history-max-age", "0"], "ignore");
    await waitForPort(pubsubPort, 30_000);
  });
  await Bun.sleep(5000);
  posting = false;
  await poster;
  await Bun.sleep(3000);
  stormAccepted = accepted.length;
  for (const c of clients) {
    const seen = c.out().split("\n").filter((l) => l.startsWith("{")).map((l) => (JSON.parse(l) as { id?: string }).id).filter((id): id is string => !!id);
    const counts = new Map<string, number>();
    for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
    stormLost += accepted.filter((id) => !counts.has(id)).length;
    stormDup += [...counts.values()].filter((n) => n > 1).length;
    c.proc.kill();
  }
  void refused;
}

for (const g of [...respGens, ...sseGens]) g.proc.kill();
await web.stop();
pubsubProc.kill("SIGTERM");
await pubsubProc.exited;

// ---- The same RESP subscribers and publishing against redis-server.
let redisRow: { perConn: number; cpuPerDelivery: number; cpuRun: number; lost: number } | null = null;
if (REDIS) {
  const redis = await startRedis(["--maxclients", String(SUBS + 100)]);
  await Bun.sleep(500);
  const before = sample(redis.proc.pid);
  const gens = generators(SUBS, (n) => ({ role: "sub", port: redis.port, channels: ["load"], perConn: n, expect: 1e12, frameBytes: 100 }));
  await allReady(gens, "RESP (redis-server)");
  await Bun.sleep(2000);
  const after = sample(redis.proc.pid);
  const t0 = performance.now();
  const c0 = sample(redis.proc.pid).cpu;
  const p = publisher(redis.port, SECONDS);
  await p.exited;
  await Bun.sleep(4500);
  const c1 = sample(redis.proc.pid).cpu;
  const got = sum(gens, (g) => g.count);
  redisRow = { perConn: (after.rss - before.rss) / SUBS, cpuPerDelivery: ((c1 - c0) * 1e6) / Math.max(1, got), cpuRun: (100 * (c1 - c0)) / ((performance.now() - t0) / 1000), lost: RATE * SECONDS * SUBS - got };
  for (const g of gens) g.proc.kill();
  await redis.stop();
}

// ---- Webhook ingest last, on a quiet machine: bench/ingest.ts in a process of its own (its progress goes to stderr).
let ingestTable = "";
if (INGEST) {
  log("webhook ingest: bench/ingest.ts --floors");
  const ingest = spawn([BUN, `${here}/ingest.ts`, "--floors", "--rounds", String(arg("ingest-rounds", 3)), "--seconds", String(arg("ingest-seconds", 5)), "--warmup", String(arg("ingest-warmup", 10))], { stdout: "pipe", stderr: "inherit" });
  ingestTable = (await new Response(ingest.stdout).text()).trim();
  if ((await ingest.exited) !== 0) throw new Error(`bench/ingest.ts failed (exit ${ingest.exitCode})`);
}

function spread(list: { pubsub: number; web: number }[], which: "pubsub" | "web"): string {
  if (!list.length) return "–";
  const mb = list.map((x) => x[which] / 2 ** 20);
  return `${Math.min(...mb).toFixed(1)}–${Math.max(...mb).toFixed(1)} MB`;
}
const us = (x: number) => `${x.toFixed(2)} µs`;
const lines = [
  "",
  `| | pub/sub server (${SUBS} RESP subscribers) | web server (${SSE} SSE streams) |${redisRow ? ` redis-server (${SUBS} RESP subscribers) |` : ""}`,
  `| --- | --- | --- |${redisRow ? " --- |" : ""}`,
  `| memory per connection | ${respPerConn.toFixed(0)} B | ${ssePerConn.toFixed(0)} B |${redisRow ? ` ${redisRow.perConn.toFixed(0)} B |` : ""}`,
  `| RSS at start | ${MB(start.pubsub.rss)} MB | ${MB(start.web.rss)} MB |${redisRow ? " |" : ""}`,
  `| RSS at end | ${MB(end.pubsub.rss)} MB | ${MB(end.web.rss)} MB |${redisRow ? " |" : ""}`,
  `| RSS over the first minute (min–max) | ${spread(rssSamples.slice(0, 12), "pubsub")} | ${spread(rssSamples.slice(0, 12), "web")} |${redisRow ? " |" : ""}`,
  `| RSS over the last minute (min–max) | ${spread(rssSamples.slice(-12), "pubsub")} | ${spread(rssSamples.slice(-12), "web")} |${redisRow ? " |" : ""}`,
  `| CPU per delivery, first ${windowS} s | ${us(first.pubsub)} | ${us(first.web)} |${redisRow ? ` ${us(redisRow.cpuPerDelivery)} (whole run) |` : ""}`,
  `| CPU per delivery, last ${windowS} s | ${us(last.pubsub)} | ${us(last.web)} |${redisRow ? " |" : ""}`,
  `| CPU over the run | ${((100 * (end.pubsub.cpu - start.pubsub.cpu)) / secs).toFixed(1)}% of a core | ${((100 * (end.web.cpu - start.web.cpu)) / secs).toFixed(1)}% of a core |${redisRow ? ` ${redisRow.cpuRun.toFixed(1)}% of a core |` : ""}`,
  `| lost | ${lostResp} | ${lostSse} |${redisRow ? ` ${redisRow.lost} |` : ""}`,
  "",
  `${expected} messages × ${SUBS} RESP subscribers: ${resp} frames received, lost ${lostResp}${lostResp < 0 ? " (more than sent: duplicates)" : ""}.`,
  `${expected} messages × ${SSE} SSE clients: ${sse} events received, lost ${lostSse}${lostSse < 0 ? " (more than sent: duplicates)" : ""}.`,
];
if (STORM) {
  lines.push("", "| reconnect storm | all subscribed again after | slowest PING / GET /health meanwhile | POSTs meanwhile: 200 / refused |", "| --- | --- | --- | --- |");
  for (const s of storms) lines.push(`| ${s.what} | ${s.back.toFixed(1)} s | ${s.worstPingMs.toFixed(0)} ms | ${s.posts.ok} / ${s.posts.refused} |`);
  lines.push("", `Storms: ${stormAccepted} POSTs accepted; ${CLIENTS} notistream clients: lost ${stormLost}, duplicated ${stormDup}.`);
}
if (INGEST) lines.push("", "Webhook ingest (bench/ingest.ts --floors), CPU per POST:", "", ingestTable);
console.log(lines.join("\n"));
process.exit(lostResp === 0 && lostSse === 0 && stormLost === 0 && stormDup === 0 ? 0 : 1);
