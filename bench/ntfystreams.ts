#!/usr/bin/env bun
// bench/ntfystreams.ts — ntfy's streams at scale on one web server: N GET /<topic>/json streams and M /ws streams held
// while 1 message a second is published for S seconds, every stream checked for every message (nothing lost), and
// memory per stream (the web server's RSS growth) beside an SSE stream's (GET /events, on a web server of its own) and a RESP connection's.
// Usage: bun bench/ntfystreams.ts [--json 18000] [--ws 1000] [--seconds 300] [--sse 2000] [--resp 2000] [--smoke]
import { spawn, type Subprocess } from "bun";
import { readFileSync } from "node:fs";
import { rssBytes } from "./procstat";
import { BUN, startPubSub, startWebServer } from "../test/helpers";

const args = process.argv.slice(2);
const num = (name: string, fallback: number) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);
const log = (s: string) => console.error(`bench/ntfystreams: ${s}`);
/** Connections one reader process holds: its own file descriptors stay well under any limit. */
const PER_READER = 4000;

// ---- A reader process: holds `n` streams of one kind and counts each one's messages -------------------------------

/** Counts `"event":"message"` in a stream's bytes, across chunk boundaries. */
class Counter {
  count = 0;
  opened = false;
  private tail = "";
  feed(text: string): void {
    const s = this.tail + text;
    if (!this.opened && s.includes('"event":"open"')) this.opened = true;
    let at = 0;
    for (;;) {
      const i = s.indexOf('"event":"message"', at);
      if (i < 0) break;
      this.count++;
      at = i + 1;
    }
    this.tail = s.slice(-20);
  }
}

async function reader(kind: "json" | "ws" | "sse" | "resp", port: number, n: number, path: string, expect: number): Promise<void> {
  const counters: Counter[] = [];
  const dec = new TextDecoder();
  for (let i = 0; i < n; i++) {
    const c = new Counter();
    counters.push(c);
    if (kind === "ws") {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
      ws.onmessage = (e) => c.feed(String(e.data));
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve();
        ws.onerror = () => reject(new Error(`WebSocket ${i} failed`));
      });
      continue;
    }
    const request =
      kind === "resp" ? `*2\r\n$9\r\nSUBSCRIBE\r\n$${Buffer.byteLength(path)}\r\n${path}\r\n` : `GET ${path} HTTP/1.1\r\nHost: bench\r\n\r\n`;
    await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (s) => void s.write(request),
        data: (_s, d) => {
          const text = dec.decode(d);
          if (kind === "json") return c.feed(text);
          c.opened ||= kind === "sse" ? text.includes("200 OK") : text.includes("subscribe");
        },
      },
    });
  }
  const until = Date.now() + 60_000;
  while (counters.some((c) => !c.opened) && Date.now() < until) await Bun.sleep(50);
  console.log(JSON.stringify({ open: counters.filter((c) => c.opened).length }));
  if (expect === 0) return void (await Bun.sleep(1e9));
  // Wait for the messages (the parent publishes them), then say how each stream did.
  const deadline = Date.now() + (expect + 60) * 1000;
  while (counters.some((c) => c.count < expect) && Date.now() < deadline) await Bun.sleep(200);
  const counts = counters.map((c) => c.count);
  console.log(JSON.stringify({ complete: counts.filter((x) => x === expect).length, short: counts.filter((x) => x < expect).length, over: counts.filter((x) => x > expect).length, min: Math.min(...counts), max: Math.max(...counts) }));
  process.exit(0);
}

if (args[0] === "--reader") {
  await reader(args[1] as "json" | "ws" | "sse" | "resp", Number(args[2]), Number(args[3]), args[4]!, Number(args[5]));
}

// ---- The run ----------------------------------------------------------------------------------------------------

const SMOKE = args.includes("--smoke");
const JSON_STREAMS = num("json", SMOKE ? 40 : 18_000);
const WS_STREAMS = num("ws", SMOKE ? 10 : 1_000);
const SECONDS = num("seconds", SMOKE ? 3 : 300);
const SSE_STREAMS = num("sse", SMOKE ? 40 : 2_000);
const RESP_CONNECTIONS = num("resp", SMOKE ? 40 : 2_000);
const FDS = 2 * (JSON_STREAMS + WS_STREAMS + SSE_STREAMS + RESP_CONNECTIONS) + 10_000;

// Every connection is a file descriptor in the web server (and the readers): raise the limit for this process and its
// children first, by running again under a shell that raised it (a process cannot raise its own from Bun).
if (!args.includes("--reader") && !process.env.NTFYSTREAMS_RAISED) {
  const r = spawn(["bash", "-c", `ulimit -n ${FDS} 2>/dev/null || ulimit -n $(ulimit -Hn); exec "$@"`, "bash", BUN, import.meta.path, ...args], {
    stdio: ["inherit", "inherit", "inherit"],
    env: { ...process.env, NTFYSTREAMS_RAISED: "1" },
  });
  process.exit(await r.exited);
}

type Readers = { procs: Subprocess[]; lines: AsyncGenerator<string>[] };

async function* linesOf(proc: Subprocess): AsyncGenerator<string> {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
    buf += dec.decode(chunk, { stream: true });
    let end: number;
    while ((end = buf.indexOf("\n")) !== -1) {
      yield buf.slice(0, end);
      buf = buf.slice(end + 1);
    }
  }
}

/** Opens `n` streams of `kind` over reader processes and waits until every one is open. */
async function open(kind: string, port: number, n: number, path: string, expect: number): Promise<Readers> {
  const procs: Subprocess[] = [];
  const lines: AsyncGenerator<string>[] = [];
  for (let left = n; left > 0; left -= PER_READER) {
    const p = spawn([BUN, import.meta.path, "--reader", kind, String(port), String(Math.min(left, PER_READER)), path, String(expect)], { stdout: "pipe", stderr: "inherit" });
    procs.push(p);
    lines.push(linesOf(p));
  }
  let opened = 0;
  for (const l of lines) opened += (JSON.parse((await l.next()).value ?? "{}") as { open?: number }).open ?? 0;
  if (opened !== n) throw new Error(`${kind}: only ${opened} of ${n} streams opened`);
  return { procs, lines };
}

/** The web server's RSS growth per stream while `opening` runs, after a settle. */
async function grows(pid: number, count: number, opening: () => Promise<Readers>): Promise<[number, Readers]> {
  await Bun.sleep(1000);
  const before = rssBytes(pid);
  const readers = await opening();
  await Bun.sleep(3000);
  return [(rssBytes(pid) - before) / count, readers];
}

const stopAll = async (r: Readers) => {
  for (const p of r.procs) p.kill();
  await Promise.all(r.procs.map((p) => p.exited));
};

log(`${JSON_STREAMS} /json and ${WS_STREAMS} /ws streams, 1 message a second for ${SECONDS} s; memory beside ${SSE_STREAMS} SSE streams and ${RESP_CONNECTIONS} RESP connections`);
// A warm-up of each kind first (kept open, not counted): the first streams also pay for the heap's first growth.
const warmUp = (n: number) => Math.max(1, Math.min(300, Math.floor(n / 4)));
// Every stream is a file descriptor of the one web server, which may not hold more than its limit (a container may not
// let even root raise it).
const fdLimit = Number(/Max open files\s+(\d+)/.exec(readFileSync("/proc/self/limits", "utf8"))?.[1] ?? Infinity);
const webFds = warmUp(JSON_STREAMS) + warmUp(WS_STREAMS) + JSON_STREAMS + WS_STREAMS + 100;
if (webFds > fdLimit) {
  console.error(`bench/ntfystreams: the web server would hold ${webFds} connections, past this machine's limit of ${fdLimit} open files (ulimit -n; it could not be raised here): ask for fewer with --json and --ws`);
  process.exit(2);
}
const pubsub = await startPubSub(["--maxclients", String(RESP_CONNECTIONS + 1000)]);
const TOPIC = "bench-ntfy";
// SSE's figure on a web server of its own, so that ntfy's streams alone hold the other one's file descriptors.
const sseWeb = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--max-streams-per-visitor", "0"]);
let perSse: number;
try {
  const warmSse = await open("sse", sseWeb.port, warmUp(SSE_STREAMS), `/events?channel=${TOPIC}`, 0);
  const [bytes, sse] = await grows(sseWeb.proc.pid, SSE_STREAMS, () => open("sse", sseWeb.port, SSE_STREAMS, `/events?channel=${TOPIC}`, 0));
  perSse = bytes;
  await Promise.all([stopAll(sse), stopAll(warmSse)]);
} catch (err) {
  await pubsub.stop();
  throw err;
} finally {
  await sseWeb.stop();
}
const web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--max-streams-per-visitor", "0"]);
try {
  // The hub holds the topic before the streams are measured, as it does once any reader is on it; /ws is measured on
  // top of /json, both kept open.
  const first = await open("json", web.port, warmUp(JSON_STREAMS), `/${TOPIC}/json`, 0);
  const firstWs = await open("ws", web.port, warmUp(WS_STREAMS), `/${TOPIC}/ws`, 0);
  const [perJson, json] = await grows(web.proc.pid, JSON_STREAMS, () => open("json", web.port, JSON_STREAMS, `/${TOPIC}/json`, SECONDS));
  const [perWs, ws] = await grows(web.proc.pid, WS_STREAMS, () => open("ws", web.port, WS_STREAMS, `/${TOPIC}/ws`, SECONDS));
  const respPort = pubsub.port;
  const [perResp, resp] = await grows(pubsub.proc.pid, RESP_CONNECTIONS, () => open("resp", respPort, RESP_CONNECTIONS, `${TOPIC}-resp`, 0));
  await stopAll(resp);
  log(`all ${JSON_STREAMS + WS_STREAMS} streams open; web server RSS ${Math.round(rssBytes(web.proc.pid) / 1048576)} MB; publishing`);
  const started = Date.now();
  for (let i = 1; i <= SECONDS; i++) {
    const r = await fetch(`${web.url}/`, { method: "POST", body: new URLSearchParams({ channel: TOPIC, message: `tick ${i}` }) });
    if (r.status !== 200) throw new Error(`publish ${i}: ${r.status} ${await r.text()}`);
    const wait = started + i * 1000 - Date.now();
    if (wait > 0) await Bun.sleep(wait);
  }
  const results = { json: { complete: 0, short: 0, over: 0 }, ws: { complete: 0, short: 0, over: 0 } };
  for (const [kind, readers] of [["json", json], ["ws", ws]] as const)
    for (const l of readers.lines) {
      const r = JSON.parse((await l.next()).value ?? "{}") as { complete: number; short: number; over: number };
      results[kind].complete += r.complete;
      results[kind].short += r.short;
      results[kind].over += r.over;
    }
  const peak = rssBytes(web.proc.pid);
  await Promise.all([stopAll(json), stopAll(ws), stopAll(first), stopAll(firstWs)]);
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
  console.log(`\n| what | count | memory per stream | every message, once |\n| --- | --- | --- | --- |`);
  console.log(`| ntfy GET /<topic>/json | ${JSON_STREAMS} | ${kb(perJson)} | ${results.json.complete} of ${JSON_STREAMS} (short ${results.json.short}, doubled ${results.json.over}) |`);
  console.log(`| ntfy GET /<topic>/ws | ${WS_STREAMS} | ${kb(perWs)} | ${results.ws.complete} of ${WS_STREAMS} (short ${results.ws.short}, doubled ${results.ws.over}) |`);
  console.log(`| SSE GET /events | ${SSE_STREAMS} | ${kb(perSse)} | (memory only) |`);
  console.log(`| RESP SUBSCRIBE connection (pub/sub server) | ${RESP_CONNECTIONS} | ${kb(perResp)} | (memory only) |`);
  const lost = results.json.short + results.ws.short + results.json.over + results.ws.over;
  console.log(`\n${SECONDS} messages at 1 a second; web server peak RSS ${Math.round(peak / 1048576)} MB; streams with a message lost or doubled: ${lost}`);
  if (lost) process.exitCode = 1;
} finally {
  await web.stop();
  await pubsub.stop();
}
