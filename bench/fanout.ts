#!/usr/bin/env bun
// bench/fanout.ts — fan-out benchmark: one publisher, N subscribers (spread over worker processes), 100-byte
// payloads, against a real redis-server and Notistream on the same machine, alternating A B A B.
import { spawn, type Subprocess } from "bun";
import { cpus } from "node:os";
import { mkdirSync, writeFileSync } from "node:fs";
import { startPubSub, startRedis, type Running } from "../test/helpers";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SIZES = (process.env.BENCH_SUBSCRIBERS ?? "100,1000").split(",").map(Number);
const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 2_000_000); // per run, whatever the fan-out
const PAYLOAD = 100;
const WORKERS = 4;
const here = import.meta.dir;

function lines(proc: Subprocess<"ignore", "pipe", "inherit">): AsyncGenerator<string> {
  return (async function* () {
    let buf = "";
    for await (const chunk of proc.stdout) {
      buf += new TextDecoder().decode(chunk);
      let nl: number;
      while ((nl = buf.indexOf("\n")) !== -1) {
        yield buf.slice(0, nl);
        buf = buf.slice(nl + 1);
      }
    }
  })();
}

async function fanout(port: number, subscribers: number, round: number): Promise<number> {
  const channel = `bench-${subscribers}-${round}-${Math.random().toString(36).slice(2, 6)}`;
  const messages = Math.max(100, Math.floor(DELIVERIES / subscribers));
  const frameBytes = `*3\r\n$7\r\nmessage\r\n$${channel.length}\r\n${channel}\r\n$${PAYLOAD}\r\n`.length + PAYLOAD + 2;
  const per = Math.ceil(subscribers / WORKERS);
  const subs: { proc: Subprocess<"ignore", "pipe", "inherit">; out: AsyncGenerator<string> }[] = [];
  for (let w = 0, left = subscribers; left > 0; w++, left -= per) {
    const proc = spawn([process.execPath, `${here}/worker.ts`, "sub", String(port), channel, String(Math.min(per, left)), String(messages), String(frameBytes)], {
      stdout: "pipe",
      stderr: "inherit",
    });
    subs.push({ proc, out: lines(proc) });
  }
  for (const s of subs) {
    const first = await s.out.next();
    if (first.value !== "ready") throw new Error(`subscriber worker failed: ${first.value}`);
  }
  const pub = spawn([process.execPath, `${here}/worker.ts`, "pub", String(port), channel, String(messages), String(PAYLOAD), "200"], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const pubOut = lines(pub);
  const start = Number((await pubOut.next()).value!.split(" ")[1]);
  let end = 0;
  for (const s of subs) {
    const line = (await s.out.next()).value!;
    end = Math.max(end, Number(line.split(" ")[1]));
  }
  await pub.exited;
  for (const s of subs) s.proc.kill();
  return (messages * subscribers) / ((end - start) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const redis: Running = await startRedis();
const ours: Running = await startPubSub();
console.log(`# Fan-out: Notistream vs redis-server ${/v=(\S+)/.exec(await Bun.$`redis-server --version`.text())?.[1] ?? "?"}`);
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}); ${ROUNDS} rounds, A B A B; ${PAYLOAD}-byte payloads; ${WORKERS} subscriber processes + 1 publisher process\n`);
const results: Record<string, { redis: number[]; notistream: number[] }> = {};
try {
  for (const n of SIZES) {
    results[n] = { redis: [], notistream: [] };
    for (let r = 0; r < ROUNDS; r++) {
      results[n].redis.push(await fanout(redis.port, n, r));
      results[n].notistream.push(await fanout(ours.port, n, r));
      process.stderr.write(`  ${n} subscribers, round ${r + 1}: redis ${results[n].redis.at(-1)!.toFixed(0)}/s, notistream ${results[n].notistream.at(-1)!.toFixed(0)}/s\n`);
    }
  }
} finally {
  await redis.stop();
  await ours.stop();
}
console.log("| subscribers | redis-server deliveries/s | notistream deliveries/s | ratio |");
console.log("| --- | --- | --- | --- |");
const table: Record<string, unknown> = {};
for (const n of SIZES) {
  const r = median(results[n]!.redis);
  const o = median(results[n]!.notistream);
  console.log(`| ${n} | ${r.toFixed(0)} | ${o.toFixed(0)} | ${(o / r).toFixed(2)}x |`);
  table[n] = { redis: results[n]!.redis, notistream: results[n]!.notistream, medianRedis: r, medianNotistream: o, ratio: o / r };
}
mkdirSync(`${here}/results`, { recursive: true });
const file = `${here}/results/fanout-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
writeFileSync(file, JSON.stringify({ cores: cpus().length, rounds: ROUNDS, payload: PAYLOAD, results: table }, null, 2));
console.log(`\nresults: ${file}`);
