#!/usr/bin/env bun
// bench/idlefloor.ts — memory per idle subscribed RESP connection: our pub/sub server against Bun's floor, a bare
// Bun.listen that answers SUBSCRIBE and keeps nothing, and optionally another checkout (A B A B, RSS growth per
// connection, clients in worker processes as bench/run.ts's idle row). Usage: bun bench/idlefloor.ts [--conns N]
// [--rounds N] [--settle S] [--against DIR] [--pubsub-env NAME=VALUE]; `bun bench/idlefloor.ts --serve-bare <port>` is the floor server itself.
import { spawn } from "bun";
import { rssBytes } from "./procstat";
import { BUN, lines, startOnFreePort, startPubSub, type Running } from "../test/helpers";
import { pubsubEnv, startPubSubWithEnv } from "./pubsubenv";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : dflt);

if (args.includes("--serve-bare")) {
  // The floor: per connection only what Bun keeps for an open socket. The reply is built from the request's bytes
  // (the channel name sits after the last "$<len>\r\n") and nothing outlives the data callback.
  Bun.listen({
    hostname: "127.0.0.1",
    port: Number(opt("--serve-bare", "0")),
    socket: {
      data(socket, chunk) {
        const s = Buffer.from(chunk).toString("latin1");
        const name = s.slice(s.lastIndexOf("\r\n", s.length - 3) + 2, -2);
        socket.write(`*3\r\n$9\r\nsubscribe\r\n$${name.length}\r\n${name}\r\n:1\r\n`);
      },
    },
  });
  await new Promise(() => {});
}

if (args.includes("--help")) {
  console.log(`Usage: bun bench/idlefloor.ts [--conns N (10000)] [--rounds N (2)] [--settle S (2)] [--against DIR] [--pubsub-env NAME=VALUE]
  --settle S               seconds the connections sit idle before RSS is read (default 2); an allocator that gives
                           memory back late (--allocator balanced: after 10 s) settles in 15-25 s, so read it at 25
  --pubsub-env NAME=VALUE  also our server and the bare floor with this in their environment (repeatable), such as
                           MIMALLOC_PURGE_HOLES=0 (what --allocator cpu sets): each measured against its own floor too`);
  process.exit(0);
}
const CONNS = Number(opt("--conns", "10000"));
const ROUNDS = Number(opt("--rounds", "2"));
const SETTLE_S = Number(opt("--settle", "2"));
if (!(SETTLE_S >= 0)) {
  console.error(`bench/idlefloor: --settle takes seconds (such as 25), not '${opt("--settle", "")}'`);
  process.exit(2);
}
const AGAINST = args.includes("--against") ? opt("--against", "") : null;
const PUBSUB_ENV = pubsubEnv(args, "bench/idlefloor");

const startBare = (env: Record<string, string> = {}): Promise<Running> => startOnFreePort((port) => [import.meta.path, "--serve-bare", String(port)], env);

/** RSS growth per connection while CONNS subscribers (100 channels, two worker processes) sit idle. */
async function perConnection(run: Running): Promise<number> {
  await Bun.sleep(500);
  const before = rssBytes(run.proc.pid);
  const workers = [0, 1].map((w) => {
    const channels = Array.from({ length: CONNS / 2 }, (_, i) => `idle-${(i * 2 + w) % 100}`);
    const proc = spawn([BUN, `${import.meta.dir}/worker.ts`, JSON.stringify({ role: "sub", port: run.port, channels, perConn: 1, expect: 1e9, frameBytes: 100 })], { stdout: "pipe", stderr: "inherit" });
    return { proc, out: lines(proc) };
  });
  for (const w of workers) for (;;) { const { value, done } = await w.out.next(); if (done || value.startsWith("ready")) break; }
  await Bun.sleep(SETTLE_S * 1000); // as bench/run.ts: let allocators settle before reading RSS
  const after = rssBytes(run.proc.pid);
  for (const w of workers) w.proc.kill();
  await Promise.all(workers.map((w) => w.proc.exited));
  return (after - before) / CONNS;
}

const SERVER_FLAGS = ["--maxclients", "30000", "--history-max-age", "0"];
const kinds: [string, () => Promise<Running>][] = [
  ["bare Bun.listen", () => startBare()],
  ["notistream", () => startPubSub(SERVER_FLAGS)],
];
if (PUBSUB_ENV)
  kinds.push([`bare Bun.listen with ${PUBSUB_ENV.shown}`, () => startBare(PUBSUB_ENV.env)], [`notistream with ${PUBSUB_ENV.shown}`, () => startPubSubWithEnv(PUBSUB_ENV.env, SERVER_FLAGS)]);
if (AGAINST) kinds.push([`notistream at ${AGAINST}`, () => startPubSub(SERVER_FLAGS, {}, AGAINST)]);
const results = new Map<string, number[]>();
for (let r = 0; r < ROUNDS; r++)
  for (const [name, start] of kinds) {
    const run = await start(); // a fresh process each time: what one process already grew to does not hide the next
    const v = await perConnection(run);
    await run.stop();
    (results.get(name) ?? results.set(name, []).get(name)!).push(v);
    console.error(`  round ${r + 1}, ${name}: ${v.toFixed(0)} bytes per idle connection`);
  }
for (const [name, vs] of results) console.log(`${name}: ${vs.map((v) => v.toFixed(0)).join(", ")} bytes per idle subscribed connection (${CONNS} connections, read after ${SETTLE_S} s idle)`);
