#!/usr/bin/env bun
// bench/load.ts — the long load test: many subscribed RESP connections plus SSE clients held for minutes of steady
// publishing; counts every delivery, and reports memory and CPU of both servers at the start and at the end.
// Usage: bun bench/load.ts [--subscribers 10000] [--sse 1000] [--seconds 300] [--rate 50]; exits 1 if anything is lost.
import { spawn } from "bun";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { BUN, startPubSub, startWebServer } from "../test/helpers";

const arg = (name: string, fallback: number) => (process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : fallback);
const SUBS = arg("subscribers", 10_000);
const SSE = arg("sse", 1000);
const SECONDS = arg("seconds", 300);
const RATE = arg("rate", 50);
const WORKERS = 4;
const here = import.meta.dir;
const log = (s: string) => console.log(`load: ${s}`);

function sample(pid: number): { rss: number; cpu: number } {
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return { rss, cpu: (Number(f[11]) + Number(f[12])) / 100 }; // utime + stime in seconds (USER_HZ 100)
}

const pubsub = await startPubSub(["--maxclients", String(SUBS + SSE + 1000), "--history-max-age", "0"]);
const web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`);
const expected = RATE * SECONDS;
log(`${SUBS} RESP subscribers, ${SSE} SSE clients, ${RATE} msg/s for ${SECONDS} s (${expected} messages); ${cpus().length} cores`);

// RESP subscribers, spread over worker processes; each reports how many whole frames arrived.
const per = Math.ceil(SUBS / WORKERS);
const progress: number[] = [];
const workers = [];
for (let w = 0, left = SUBS; left > 0; w++, left -= per) {
  const proc = spawn([BUN, `${here}/worker.ts`, JSON.stringify({ role: "sub", port: pubsub.port, channels: ["load"], perConn: Math.min(per, left), expect: expected, frameBytes: 100 })], { stdout: "pipe", stderr: "inherit" });
  const idx = workers.length;
  progress.push(0);
  let ready = false;
  const readyP = (async () => {
    let buf = "";
    for await (const chunk of proc.stdout) {
      buf += new TextDecoder().decode(chunk);
      let nl: number;
      while ((nl = buf.indexOf("\n")) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === "ready") ready = true;
        if (line.startsWith("progress ")) progress[idx] = Number(line.slice(9));
      }
    }
  })();
  void readyP;
  workers.push({ proc, isReady: () => ready });
}
while (!workers.every((w) => w.isReady())) await Bun.sleep(100);

// SSE clients: raw sockets, counting data events.
const sseCounts = new Array<number>(SSE).fill(0);
const webPort = Number(new URL(web.url).port);
const sockets: { end(): void }[] = [];
for (let i = 0; i < SSE; i++) {
  const idx = i;
  sockets.push(
    await Bun.connect({
      hostname: "127.0.0.1",
      port: webPort,
      socket: {
        open: (s) => void s.write("GET /events?channel=load HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"),
        data: (_s, chunk) => {
          const text = Buffer.from(chunk).toString();
          for (let at = text.indexOf("\ndata: "); at !== -1; at = text.indexOf("\ndata: ", at + 1)) sseCounts[idx]!++;
          if (text.startsWith("data: ")) sseCounts[idx]!++;
        },
      },
    }),
  );
}
await Bun.sleep(1000);
const start = { pubsub: sample(pubsub.proc.pid), web: sample(web.proc.pid), at: performance.now() };
log(`all connected; start: pub/sub RSS ${(start.pubsub.rss / 2 ** 20).toFixed(1)} MB, web RSS ${(start.web.rss / 2 ** 20).toFixed(1)} MB`);

const pub = spawn([BUN, `${here}/worker.ts`, JSON.stringify({ role: "rate", port: pubsub.port, channel: "load", rate: RATE, seconds: SECONDS, payload: 100 })], { stdout: "ignore", stderr: "inherit" });
let minute = 0;
// RSS every 10 s: one sample at the end can land on either side of a GC, so growth is judged on the spread of
// the first minute against the spread of the last.
const rssSamples: { pubsub: number; web: number }[] = [];
const timer = setInterval(() => {
  minute++;
  const s = sample(pubsub.proc.pid);
  rssSamples.push({ pubsub: s.rss, web: sample(web.proc.pid).rss });
  log(`${minute * 10} s: pub/sub RSS ${(s.rss / 2 ** 20).toFixed(1)} MB, delivered ${progress.reduce((a, b) => a + b, 0)} RESP frames, ${sseCounts.reduce((a, b) => a + b, 0)} SSE events`);
}, 10_000);
await pub.exited;
await Bun.sleep(3000); // the last messages drain
clearInterval(timer);
const end = { pubsub: sample(pubsub.proc.pid), web: sample(web.proc.pid), at: performance.now() };
const secs = (end.at - start.at) / 1000;
await Bun.sleep(1500); // one more progress report from each worker
const resp = progress.reduce((a, b) => a + b, 0);
const sse = sseCounts.reduce((a, b) => a + b, 0);
const lostResp = expected * SUBS - resp;
const lostSse = expected * SSE - sse;
for (const w of workers) w.proc.kill();
for (const s of sockets) s.end();
await web.stop();
await pubsub.stop();

function spread(list: { pubsub: number; web: number }[], which: "pubsub" | "web"): string {
  if (!list.length) return "–";
  const mb = list.map((x) => x[which] / 2 ** 20);
  return `${Math.min(...mb).toFixed(1)}–${Math.max(...mb).toFixed(1)} MB`;
}

console.log(`
| | pub/sub server | web server |
| --- | --- | --- |
| RSS at start | ${(start.pubsub.rss / 2 ** 20).toFixed(1)} MB | ${(start.web.rss / 2 ** 20).toFixed(1)} MB |
| RSS at end | ${(end.pubsub.rss / 2 ** 20).toFixed(1)} MB | ${(end.web.rss / 2 ** 20).toFixed(1)} MB |
| RSS over the first minute (min–max) | ${spread(rssSamples.slice(0, 6), "pubsub")} | ${spread(rssSamples.slice(0, 6), "web")} |
| RSS over the last minute (min–max) | ${spread(rssSamples.slice(-6), "pubsub")} | ${spread(rssSamples.slice(-6), "web")} |
| CPU over the run | ${((100 * (end.pubsub.cpu - start.pubsub.cpu)) / secs).toFixed(1)}% of a core | ${((100 * (end.web.cpu - start.web.cpu)) / secs).toFixed(1)}% of a core |

${expected} messages × ${SUBS} RESP subscribers: ${resp} frames received, lost ${lostResp}${lostResp < 0 ? " (more than sent: duplicates)" : ""}.
${expected} messages × ${SSE} SSE clients: ${sse} events received, lost ${lostSse}${lostSse < 0 ? " (more than sent: duplicates)" : ""}.`);
process.exit(lostResp === 0 && lostSse === 0 ? 0 : 1);
