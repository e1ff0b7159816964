#!/usr/bin/env bun
// bench/redisclient.ts — the web server's publish (XADD then PUBLISH) through Bun's RedisClient and through ioredis
// on one redis-server, A B A B: publishes per second and the client's CPU per publish, to choose the single-node client.
// Usage: bun bench/redisclient.ts [--rounds 4] [--seconds 3] [--concurrency 50]
import { RedisClient } from "bun";
import Redis from "ioredis";
import { startRedis } from "../test/helpers";

const arg = (name: string, fallback: number) => (process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : fallback);
if (process.argv.includes("--help")) {
  console.log("Usage: bun bench/redisclient.ts [--rounds 4] [--seconds 3] [--concurrency 50]\n\nXADD + PUBLISH loops through Bun's RedisClient and ioredis on one redis-server, alternating; prints publishes/s and µs of client CPU per publish.");
  process.exit(0);
}
const ROUNDS = arg("rounds", 4);
const SECONDS = arg("seconds", 3);
const CONCURRENCY = arg("concurrency", 50);

type Send = (cmd: string, args: string[]) => Promise<unknown>;
const redis = await startRedis();
const url = `redis://127.0.0.1:${redis.port}`;
const bunClient = new RedisClient(url);
await bunClient.connect();
const io = new Redis(url);
const clients: [string, Send][] = [
  ["Bun RedisClient", (cmd, args) => bunClient.send(cmd, args)],
  ["ioredis", (cmd, args) => io.call(cmd, ...args)],
];

const fields = ["message", "hello from the bench", "time", "1700000000", "source", "form"];
async function run(send: Send): Promise<{ perSecond: number; cpuUs: number }> {
  let done = 0;
  const end = performance.now() + SECONDS * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, i) => {
      while (performance.now() < end) {
        const id = await send("XADD", [`notistream:bench${i % 10}`, "MAXLEN", "~", "1000", "*", ...fields]);
        await send("PUBLISH", [`bench${i % 10}`, `{"id":"${String(id)}","message":"hello from the bench"}`]);
        done++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: done / secs, cpuUs: (cpu.user + cpu.system) / done };
}

const results = new Map<string, { perSecond: number[]; cpuUs: number[] }>(clients.map(([n]) => [n, { perSecond: [], cpuUs: [] }]));
for (let r = 0; r < ROUNDS; r++)
  for (const [name, send] of clients) {
    const x = await run(send);
    results.get(name)!.perSecond.push(x.perSecond);
    results.get(name)!.cpuUs.push(x.cpuUs);
    console.error(`round ${r + 1}: ${name}: ${x.perSecond.toFixed(0)} publishes/s, ${x.cpuUs.toFixed(1)} µs client CPU each`);
  }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const [a, b] = clients.map(([n]) => results.get(n)!);
console.log(`| client | publishes/s (XADD + PUBLISH) | client CPU per publish |\n| --- | --- | --- |`);
for (const [name] of clients) {
  const x = results.get(name)!;
  console.log(`| ${name} | ${median(x.perSecond).toFixed(0)} | ${median(x.cpuUs).toFixed(1)} µs |`);
}
console.log(`\nBun RedisClient / ioredis: ${(median(a!.perSecond) / median(b!.perSecond)).toFixed(2)}x the publishes, ${(median(a!.cpuUs) / median(b!.cpuUs)).toFixed(2)}x the CPU per publish (${ROUNDS} rounds A B A B, ${CONCURRENCY} concurrent, ${SECONDS} s each, medians).`);
bunClient.close();
io.disconnect();
await redis.stop();
