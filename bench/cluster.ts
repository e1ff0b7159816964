#!/usr/bin/env bun
// bench/cluster.ts — Notistream on a Redis Cluster (3 masters + 3 replicas) against one redis-server, A B A B on this
// machine: webhook ingest through the web server (req/s, CPU per POST by process), and fan-out (deliveries/s, per shard).
// Usage: bun bench/cluster.ts [--rounds 2] [--seconds 5] [--subs 10] [--messages 20000]
import { spawn, type Subprocess } from "bun";
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { BUN, startRedis, startWebServer, tempPath } from "../test/helpers";
import { startCluster } from "../test/cluster";
import { keySlot } from "../layout";
import { cpuSeconds } from "./procstat";
import { ReplyParser, bulkText, encodeCommand } from "../resp";
import { median } from "./median";

const arg = (name: string, fallback: number) => (process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : fallback);
if (process.argv.includes("--help")) {
  console.log("Usage: bun bench/cluster.ts [--rounds 2] [--seconds 5] [--subs 10] [--messages 20000]\n\nIngest (wrk, POST / over 100 channels) and fan-out (SPUBLISH vs PUBLISH to --subs subscribers on each of 100 channels) on a 3+3 Redis Cluster against one redis-server, alternating A B A B.");
  process.exit(0);
}

// A subscriber process: connects to each (port, channels) group, subscribes, counts payloads, reports when told.
if (process.argv[2] === "--sub") {
  const spec = JSON.parse(process.argv[3]!) as { groups: { port: number; channels: string[] }[]; command: string; perChannel: number };
  let received = 0;
  let pending = 0;
  for (const g of spec.groups)
    for (let k = 0; k < spec.perChannel; k++) {
      pending++;
      const parser = new ReplyParser();
      let confirmed = 0;
      await Bun.connect({
        hostname: "127.0.0.1",
        port: g.port,
        socket: {
          open(s) {
            // SSUBSCRIBE takes channels of one slot only: one command per channel, pipelined.
            s.write(Buffer.concat(g.channels.map((ch) => encodeCommand([spec.command, ch]))));
          },
          data(_s, chunk) {
            parser.push(chunk);
            for (let r = parser.next(); r; r = parser.next()) {
              const kind = r.type === "array" || r.type === "push" ? bulkText(r.value?.[0]) : "";
              if (kind === "message" || kind === "smessage") received++;
              else if ((kind === "subscribe" || kind === "ssubscribe") && ++confirmed === g.channels.length && --pending === 0) console.log("ready");
            }
          },
        },
      });
    }
  for await (const line of console) if (line === "count") console.log(`count ${received}`);
  process.exit(0);
}

const ROUNDS = arg("rounds", 2);
const SECONDS = arg("seconds", 5);
const SUBS = arg("subs", 10);
const MESSAGES = arg("messages", 20_000);
const CHANNELS = Array.from({ length: 100 }, (_, i) => `bench/${i}`);
const log = (s: string) => console.error(`bench/cluster: ${s}`);
/** About the size of a small notification envelope. */
const PAYLOAD = `{"id":"1700000000000-0","time":1700000000,"channel":"bench/1","message":"${"x".repeat(40)}","source":"form"}`;

const single = await startRedis();
const cluster = await startCluster();
const masters = await cluster.masters();
const masterPids = new Map(cluster.nodes.map((n) => [n.port, n.proc.pid]));
log(`${cpus().length} cores; one redis-server on ${single.port}; cluster masters ${masters.join(", ")}`);

/** Which master serves each channel's slot, from CLUSTER SLOTS. */
async function owners(): Promise<Map<string, number>> {
  const out = (await Bun.$`redis-cli -p ${masters[0]!} --json CLUSTER SLOTS`.quiet().text()) || "[]";
  const ranges = JSON.parse(out) as [number, number, [string, number, string]][];
  const byChannel = new Map<string, number>();
  for (const ch of CHANNELS) {
    const slot = keySlot(ch);
    const r = ranges.find(([a, b]) => a <= slot && slot <= b)!;
    byChannel.set(ch, r[2][1]);
  }
  return byChannel;
}

type Target = { name: string; url: string; pids: number[]; webArgs: string[]; fanout: boolean };
const targets: Target[] = [
  { name: "one redis-server", url: `redis://127.0.0.1:${single.port}`, pids: [single.proc.pid], webArgs: [], fanout: true },
  { name: "cluster 3+3", url: cluster.url, pids: cluster.nodes.map((n) => n.proc.pid), webArgs: [], fanout: true },
  // What the classic PUBLISH for glob subscribers costs: the same cluster without it.
  { name: "cluster, --cluster-globs off", url: cluster.url, pids: cluster.nodes.map((n) => n.proc.pid), webArgs: ["--cluster-globs", "off"], fanout: false },
];

const lua = tempPath("post-spread.lua");
writeFileSync(lua, `-- POST / over 100 channels, so a cluster's three shards all get traffic\nlocal n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format("POST", "/", { ["Content-Type"] = "application/x-www-form-urlencoded" }, "message=hello%20from%20wrk&channel=bench/" .. (n % 100))\nend\n`);

type IngestResult = { rps: number; webUsPerPost: number; storeUsPerPost: number };
async function ingest(t: Target): Promise<IngestResult> {
  const web = await startWebServer(t.url, t.webArgs);
  try {
    await fetch(web.url, { method: "POST", body: new URLSearchParams({ channel: "bench/0", message: "warm" }) });
    const before = { web: cpuSeconds(web.proc.pid), store: t.pids.reduce((a, p) => a + cpuSeconds(p), 0) };
    const out = await Bun.$`wrk -t2 -c50 -d${SECONDS}s -s ${lua} ${web.url}/`.quiet().text();
    const after = { web: cpuSeconds(web.proc.pid), store: t.pids.reduce((a, p) => a + cpuSeconds(p), 0) };
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
    const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
    if (non2xx) log(`warning: ${non2xx} non-2xx answers from the web server on ${t.name}`);
    const posts = rps * SECONDS;
    return { rps, webUsPerPost: ((after.web - before.web) * 1e6) / posts, storeUsPerPost: ((after.store - before.store) * 1e6) / posts };
  } finally {
    await web.stop();
  }
}

type FanoutResult = { perSecond: number; perShard: string; storeUsPerDelivery: number };
async function fanout(t: Target, clusterMode: boolean): Promise<FanoutResult> {
  const own = clusterMode ? await owners() : new Map(CHANNELS.map((c) => [c, single.port]));
  const groups = [...new Set(own.values())].map((port) => ({ port, channels: CHANNELS.filter((c) => own.get(c) === port) }));
  const sub = spawn([BUN, import.meta.path, "--sub", JSON.stringify({ groups, command: clusterMode ? "SSUBSCRIBE" : "SUBSCRIBE", perChannel: SUBS })], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const lines = (async function* () {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of sub.stdout as ReadableStream<Uint8Array>) {
      buf += dec.decode(chunk);
      let at;
      while ((at = buf.indexOf("\n")) !== -1) {
        yield buf.slice(0, at);
        buf = buf.slice(at + 1);
      }
    }
  })();
  await lines.next(); // ready
  const expected = MESSAGES * SUBS;
  // One publishing connection per shard, pipelined in windows of 100, each message to its channel's owner.
  const before = new Map(groups.map((g) => [g.port, cpuSeconds(clusterMode ? masterPids.get(g.port)! : single.proc.pid)]));
  const t0 = performance.now();
  await Promise.all(
    groups.map(async (g) => {
      const share = Math.round((MESSAGES * g.channels.length) / CHANNELS.length);
      const parser = new ReplyParser();
      let answered = 0;
      let wake: (() => void) | null = null;
      const s = await Bun.connect({ hostname: "127.0.0.1", port: g.port, socket: { data(_s, c) { parser.push(c); while (parser.next()) answered++; wake?.(); } } });
      for (let sent = 0; sent < share; ) {
        const n = Math.min(100, share - sent);
        const batch: Uint8Array[] = [];
        for (let i = 0; i < n; i++) batch.push(encodeCommand([clusterMode ? "SPUBLISH" : "PUBLISH", g.channels[(sent + i) % g.channels.length]!, PAYLOAD]));
        s.write(Buffer.concat(batch));
        sent += n;
        while (answered < sent) await new Promise<void>((r) => (wake = r));
      }
      s.end();
    }),
  );
  // Wait for every delivery.
  let got = 0;
  while (got < expected) {
    sub.stdin.write("count\n");
    sub.stdin.flush();
    got = Number(((await lines.next()).value as string).split(" ")[1]);
    if (got < expected) await Bun.sleep(20);
    if (performance.now() - t0 > 120_000) break;
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu = groups.map((g) => ({ port: g.port, cpu: cpuSeconds(clusterMode ? masterPids.get(g.port)! : single.proc.pid) - before.get(g.port)! }));
  sub.kill();
  const totalCpu = cpu.reduce((a, c) => a + c.cpu, 0);
  const perShard = groups.map((g) => `${g.channels.length} ch/${((100 * cpu.find((c) => c.port === g.port)!.cpu) / Math.max(totalCpu, 0.01)).toFixed(0)}% CPU`).join(", ");
  return { perSecond: got / secs, perShard, storeUsPerDelivery: (totalCpu * 1e6) / got };
}

const results = new Map<string, { ingest: IngestResult[]; fanout: FanoutResult[] }>(targets.map((t) => [t.name, { ingest: [], fanout: [] }]));
for (let r = 0; r < ROUNDS; r++)
  for (const t of targets) {
    log(`round ${r + 1}/${ROUNDS}: ${t.name}: ingest`);
    results.get(t.name)!.ingest.push(await ingest(t));
    if (!t.fanout) continue;
    log(`round ${r + 1}/${ROUNDS}: ${t.name}: fan-out`);
    results.get(t.name)!.fanout.push(await fanout(t, t.name.startsWith("cluster")));
  }
const rows: string[] = [
  `Machine: ${cpus().length} cores; ${ROUNDS} round(s), A B A B; medians. Ingest: wrk -t2 -c50 ${SECONDS} s, POST / over 100 channels, through the web server. Fan-out: ${MESSAGES} messages over 100 channels, ${SUBS} subscribers each, published straight to each channel's master (SPUBLISH on the cluster, PUBLISH on one node).`,
  "",
  `| workload | ${targets.map((t) => t.name).join(" | ")} | cluster / one |`,
  `| --- | ${targets.map(() => "---").join(" | ")} | --- |`,
];
const all = targets.map((t) => results.get(t.name)!);
const row = (what: string, f: (x: { ingest: IngestResult[]; fanout: FanoutResult[] }) => number | null, digits = 0) => {
  const v = all.map(f);
  rows.push(`| ${what} | ${v.map((x) => (x === null ? "–" : x.toFixed(digits))).join(" | ")} | ${(v[1]! / v[0]!).toFixed(2)}x |`);
};
const m = (xs: number[]) => (xs.length ? median(xs) : null);
row("POST / per second", (x) => m(x.ingest.map((i) => i.rps)));
row("web server CPU per POST (µs)", (x) => m(x.ingest.map((i) => i.webUsPerPost)), 1);
row("Redis CPU per POST, all nodes (µs)", (x) => m(x.ingest.map((i) => i.storeUsPerPost)), 1);
row("fan-out deliveries per second", (x) => m(x.fanout.map((f) => f.perSecond)));
row("Redis CPU per delivery, masters (µs)", (x) => m(x.fanout.map((f) => f.storeUsPerDelivery)), 2);
rows.push("", `Fan-out split across the cluster's shards (last round): ${all[1]!.fanout.at(-1)!.perShard}`);
console.log(rows.join("\n"));
await cluster.stop();
await single.stop();
process.exit(0);
