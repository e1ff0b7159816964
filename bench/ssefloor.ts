#!/usr/bin/env bun
// bench/ssefloor.ts — memory per SSE stream: the web server's /events against a bare Bun.serve stream that keeps
// nothing (Bun's floor), with a default and a "direct" ReadableStream, A B A B.
// Usage: bun bench/ssefloor.ts [--streams 4000] [--rounds 2] [--against DIR] [--no-floor]
import { spawn, type Subprocess } from "bun";
import { rssBytes as rss } from "./procstat";
import { BUN, freePort, startPubSub, startWebServer, waitForPort } from "../test/helpers";

const args = process.argv.slice(2);
const num = (name: string, fallback: number) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);

// A bare SSE server: every request gets a stream that sends one comment and stays open.
if (args[0] === "--serve") {
  const direct = args[1] === "direct";
  const hello = new TextEncoder().encode("retry: 3000\n: subscribed\n\n");
  Bun.serve({
    hostname: "127.0.0.1",
    port: Number(args[2]),
    idleTimeout: 0,
    fetch() {
      const stream = direct
        ? new ReadableStream({ type: "direct", pull: (c: { write: (b: Uint8Array) => void; flush: () => void }) => (c.write(hello), c.flush(), new Promise<void>(() => {})) } as unknown as UnderlyingDefaultSource<Uint8Array>)
        : new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(hello) });
      return new Response(stream, { headers: { "content-type": "text/event-stream" } });
    },
  });
  console.log("ready");
  await Bun.sleep(1e9);
}

// The readers: one process holding `n` raw HTTP connections, each reading an SSE stream.
if (args[0] === "--open") {
  const [port, n, path] = [Number(args[1]), Number(args[2]), args[3]!];
  let got = 0;
  for (let i = 0; i < n; i++)
    await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (s) => void s.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n`),
        data: (_s, d) => void (new TextDecoder().decode(d).includes("200 OK") && got++),
      },
    });
  while (got < n) await Bun.sleep(50);
  console.log("open");
  await Bun.sleep(1e9);
}

const STREAMS = num("streams", 4000);
const ROUNDS = num("rounds", 2);
const log = (s: string) => console.error(`bench/ssefloor: ${s}`);

/** Opens STREAMS streams on `port` and returns the server's RSS growth per stream after they settle. */
async function perStream(pid: number, port: number, path: string): Promise<number> {
  await Bun.sleep(500);
  const before = rss(pid);
  const readers: Subprocess = spawn([BUN, import.meta.path, "--open", String(port), String(STREAMS), path], { stdout: "pipe", stderr: "inherit" });
  const reader = (readers.stdout as ReadableStream<Uint8Array>).getReader();
  await reader.read(); // "open": every stream answered
  await Bun.sleep(3000); // let the server settle (no forced GC: the same for every setup)
  const after = rss(pid);
  readers.kill();
  await readers.exited;
  return (after - before) / STREAMS;
}

async function bare(mode: "default" | "direct"): Promise<number> {
  const port = await freePort();
  const proc = spawn([BUN, import.meta.path, "--serve", mode, String(port)], { stdout: "ignore", stderr: "inherit" });
  try {
    await waitForPort(port);
    return await perStream(proc.pid, port, "/");
  } finally {
    proc.kill();
    await proc.exited;
  }
}

async function ours(root?: string): Promise<number> {
  const pubsub = await startPubSub();
  const web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, [], {}, root);
  try {
    // The hub holds the channel before the streams open, as it does once any reader is on it.
    const first = spawn([BUN, import.meta.path, "--open", String(web.port), "1", "/events?channel=mem"], { stdout: "ignore", stderr: "inherit" });
    await Bun.sleep(500);
    const bytes = await perStream(web.proc.pid, web.port, "/events?channel=mem");
    first.kill();
    return bytes;
  } finally {
    await web.stop();
    await pubsub.stop();
  }
}

const AGAINST = args.includes("--against") ? args[args.indexOf("--against") + 1]! : null;
const setups: [string, () => Promise<number>][] = [
  ["web server GET /events (one channel)", () => ours()],
  ...(AGAINST ? [[`${AGAINST}: its web server GET /events`, () => ours(AGAINST)] as [string, () => Promise<number>]] : []),
  ...(args.includes("--no-floor") ? [] : ([
    ["bare Bun.serve, default ReadableStream", () => bare("default")],
    ["bare Bun.serve, direct ReadableStream", () => bare("direct")],
  ] as [string, () => Promise<number>][])),
];
log(`${STREAMS} streams per setup, ${ROUNDS} rounds, A B A B; RSS growth per stream, no forced GC`);
const results = new Map<string, number[]>(setups.map(([n]) => [n, []]));
for (let r = 1; r <= ROUNDS; r++)
  for (const [name, run] of setups) {
    const b = await run();
    results.get(name)!.push(b);
    log(`round ${r}, ${name}: ${Math.round(b)} bytes per stream`);
  }
console.log(`\n| setup | bytes per stream (each round) |\n| --- | --- |`);
for (const [name, bs] of results) console.log(`| ${name} | ${bs.map((b) => Math.round(b).toLocaleString("en")).join(", ")} |`);
