#!/usr/bin/env bun
// bench/xadd.ts — history write throughput: redis-benchmark XADD against redis-server with AOF (appendfsync
// everysec) and against Notistream with --appendfsync everysec and always, alternating, 3 rounds, medians.
import { cpus } from "node:os";
import { mkdirSync, writeFileSync } from "node:fs";
import { startPubSub, startRedis, tempPath, type Running } from "../test/helpers";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 100_000);
const PIPELINES = [1, 16];

async function xadd(port: number, pipeline: number, round: number): Promise<number> {
  const key = `bench:xadd:${round}:${pipeline}:${Math.random().toString(36).slice(2, 6)}`;
  const cmd = ["redis-benchmark", "-p", String(port), "-c", "50", "-n", String(REQUESTS), "-P", String(pipeline), "-q", "XADD", key, "MAXLEN", "~", "1000", "*", "message", "x".repeat(100)];
  const out = await Bun.$`${cmd}`.quiet().text();
  const m = /([\d.]+) requests per second/.exec(out.replace(/\r/g, "\n"));
  if (!m) throw new Error(`redis-benchmark said: ${out}`);
  return Number(m[1]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = tempPath("redis");
mkdirSync(dir, { recursive: true });
const servers: [string, Running][] = [
  ["redis-server (appendonly yes, appendfsync everysec)", await startRedis(["--appendonly", "yes", "--appendfsync", "everysec", "--dir", dir])],
  ["notistream (appendfsync everysec)", await startPubSub(["--appendfsync", "everysec"])],
  ["notistream (appendfsync always)", await startPubSub(["--appendfsync", "always"])],
];
const results: Record<string, Record<number, number[]>> = {};
console.log(`# XADD throughput (MAXLEN ~ 1000, 100-byte field), redis-benchmark -c 50 -n ${REQUESTS}`);
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}); ${ROUNDS} rounds, servers in turn within each round\n`);
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const p of PIPELINES) {
      for (const [name, srv] of servers) {
        ((results[name] ??= {})[p] ??= []).push(await xadd(srv.port, p, r));
        process.stderr.write(`  round ${r + 1}, -P ${p}, ${name}: ${results[name]![p]!.at(-1)!.toFixed(0)}/s\n`);
      }
    }
  }
} finally {
  for (const [, s] of servers) await s.stop();
}
const base = servers[0]![0];
console.log("| server | -P 1 XADD/s | ratio | -P 16 XADD/s | ratio |");
console.log("| --- | --- | --- | --- | --- |");
const table: Record<string, unknown> = {};
for (const [name] of servers) {
  const row = PIPELINES.map((p) => {
    const v = median(results[name]![p]!);
    return `${v.toFixed(0)} | ${(v / median(results[base]![p]!)).toFixed(2)}x`;
  });
  console.log(`| ${name} | ${row.join(" | ")} |`);
  table[name] = Object.fromEntries(PIPELINES.map((p) => [`P${p}`, { runs: results[name]![p], median: median(results[name]![p]!) }]));
}
mkdirSync(`${import.meta.dir}/results`, { recursive: true });
const file = `${import.meta.dir}/results/xadd-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
writeFileSync(file, JSON.stringify({ cores: cpus().length, rounds: ROUNDS, requests: REQUESTS, results: table }, null, 2));
console.log(`\nresults: ${file}`);
