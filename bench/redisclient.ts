#!/usr/bin/env bun
// bench/redisclient.ts — the web server's publish (XADD then PUBLISH) through Bun's RedisClient, ioredis and the web
// server's own Publisher (link.ts) on one redis-server, A B C A B C: publishes/s and client and Redis CPU per publish.
// Usage: bun bench/redisclient.ts [--rounds 4] [--seconds 3] [--concurrency 50]
import { RedisClient } from "bun";
import Redis from "ioredis";
import { startRedis } from "../test/helpers";
import { Publisher } from "../web_publisher";
import { cpuSeconds } from "./procstat";
import { median } from "./median";

const arg = (name: string, fallback: number) => (process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : fallback);
if (process.argv.includes("--help")) {
  console.log("Usage: bun bench/redisclient.ts [--rounds 4] [--seconds 3] [--concurrency 50]\n\nXADD + PUBLISH loops through Bun's RedisClient, ioredis and the web server's Publisher (link.ts: one write per turn) on one\nredis-server, alternating; prints publishes/s and µs of client CPU and of redis-server CPU per publish.");
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
const publisher = new Publisher(url, 1000);
await publisher.send("PING", []);
const clients: [string, Send][] = [
  ["Bun RedisClient", (cmd, args) => bunClient.send(cmd, args)],
  ["ioredis", (cmd, args) => io.call(cmd, ...args)],
  ["Publisher (link.ts)", (cmd, args) => publisher.send(cmd, args)],
];

const fields = ["message", "hello from the bench", "time", "1700000000", "source", "form"];
async function run(send: Send): Promise<{ perSecond: number; cpuUs: number; redisUs: number }> {
  let done = 0;
  const end = performance.now() + SECONDS * 1000;
  const cpu0 = process.cpuUsage();
  const redis0 = cpuSeconds(redis.proc.pid);
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
  return { perSecond: done / secs, cpuUs: (cpu.user + cpu.system) / done, redisUs: ((cpuSeconds(redis.proc.pid) - redis0) * 1e6) / done };
}

const results = new Map<string, { perSecond: number[]; cpuUs: number[]; redisUs: number[] }>(clients.map(([n]) => [n, { perSecond: [], cpuUs: [], redisUs: [] }]));
for (let r = 0; r < ROUNDS; r++)
  for (const [name, send] of clients) {
    const x = await run(send);
    const into = results.get(name)!;
    into.perSecond.push(x.perSecond);
    into.cpuUs.push(x.cpuUs);
    into.redisUs.push(x.redisUs);
    console.error(`round ${r + 1}: ${name}: ${x.perSecond.toFixed(0)} publishes/s, ${x.cpuUs.toFixed(1)} µs client CPU and ${x.redisUs.toFixed(1)} µs redis-server CPU each`);
  }
const base = results.get(clients[0]![0])!;
console.log(`| client | publishes/s (XADD + PUBLISH) | client CPU per publish | redis-server CPU per publish | vs Bun RedisClient (publishes, client CPU) |\n| --- | --- | --- | --- | --- |`);
for (const [name] of clients) {
  const x = results.get(name)!;
  const ratio = `${(median(x.perSecond) / median(base.perSecond)).toFixed(2)}x, ${(median(x.cpuUs) / median(base.cpuUs)).toFixed(2)}x`;
  console.log(`| ${name} | ${median(x.perSecond).toFixed(0)} | ${median(x.cpuUs).toFixed(1)} µs | ${median(x.redisUs).toFixed(1)} µs | ${ratio} |`);
}
console.log(`\n(${ROUNDS} rounds A B C A B C, ${CONCURRENCY} concurrent, ${SECONDS} s each, medians)`);
bunClient.close();
io.disconnect();
publisher.close();
await redis.stop();
