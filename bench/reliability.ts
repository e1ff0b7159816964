#!/usr/bin/env bun
// bench/reliability.ts — the reliability report: runs the load test, the fault injections, the fuzzers and the access
// checks as real processes, reads the figures each one prints, and prints one report; exits 1 unless lost = duplicated = 0.
// Usage: bun bench/reliability.ts [--quick | --smoke]   (default: the full sizes, about 10 minutes on 2 cores)
import { spawn } from "bun";

const ROOT = new URL("..", import.meta.url).pathname;
const BUN = process.execPath;

type Size = { subs: number; sse: number; seconds: number; rate: number; faultClients: number; faultRate: number; faultSeconds: number; fuzz: number };
const SIZES: Record<string, Size> = {
  full: { subs: 10_000, sse: 1000, seconds: 300, rate: 50, faultClients: 100, faultRate: 1000, faultSeconds: 4, fuzz: 1_000_000 },
  quick: { subs: 1000, sse: 100, seconds: 30, rate: 50, faultClients: 20, faultRate: 200, faultSeconds: 4, fuzz: 100_000 },
  smoke: { subs: 100, sse: 10, seconds: 3, rate: 20, faultClients: 5, faultRate: 100, faultSeconds: 3, fuzz: 2000 },
};
if (process.argv.includes("--help")) {
  console.log("Usage: bun bench/reliability.ts [--quick | --smoke]\n\nFull: 10,000 RESP + 1,000 SSE subscribers for 5 minutes, kill -9 under 1,000 msg/s to 100 clients,\n1,000,000 fuzzed RESP inputs, a full disk, a read-only data file, a slow subscriber, SIGTERM, and the ACL checks.");
  process.exit(0);
}
const mode = process.argv.includes("--smoke") ? "smoke" : process.argv.includes("--quick") ? "quick" : "full";
const size = SIZES[mode]!;

type Row = { area: string; check: string; result: string; ok: boolean; lost?: number; duplicated?: number };
const rows: Row[] = [];

async function runStep(label: string, cmd: string[], env: Record<string, string> = {}, timeoutMs = 900_000): Promise<{ ok: boolean; out: string; seconds: number }> {
  const t0 = performance.now();
  process.stderr.write(`reliability: ${label} ... `);
  const p = spawn(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  const seconds = (performance.now() - t0) / 1000;
  process.stderr.write(`${code === 0 ? "ok" : `FAILED (exit ${code})`} in ${seconds.toFixed(0)} s\n`);
  const out = stdout + stderr;
  if (code !== 0) process.stderr.write(out.split("\n").slice(-40).join("\n") + "\n");
  return { ok: code === 0, out, seconds };
}

const find = (out: string, re: RegExp) => re.exec(out);
const test = (file: string, filter?: string) => [BUN, "test", file, ...(filter ? ["-t", filter] : [])];

// 1. Load held.
{
  const r = await runStep(`load: ${size.subs} RESP + ${size.sse} SSE subscribers for ${size.seconds} s`, [BUN, "bench/load.ts", "--subscribers", String(size.subs), "--sse", String(size.sse), "--seconds", String(size.seconds), "--rate", String(size.rate)]);
  const resp = find(r.out, /(\d+) messages × (\d+) RESP subscribers: (\d+) frames received, lost (-?\d+)/);
  const sse = find(r.out, /(\d+) messages × (\d+) SSE clients: (\d+) events received, lost (-?\d+)/);
  const rss = find(r.out, /RSS at start \| ([\d.]+) MB \| ([\d.]+) MB \|\n\| RSS at end \| ([\d.]+) MB \| ([\d.]+) MB/);
  const first = find(r.out, /RSS over the first minute \(min–max\) \| ([^|]+) \|/);
  const last = find(r.out, /RSS over the last minute \(min–max\) \| ([^|]+) \|/);
  const cpu = find(r.out, /CPU over the run \| ([\d.]+)% of a core \| ([\d.]+)% of a core/);
  const lost = Math.max(0, Number(resp?.[4] ?? NaN)) + Math.max(0, Number(sse?.[4] ?? NaN));
  const dup = Math.max(0, -Number(resp?.[4] ?? 0)) + Math.max(0, -Number(sse?.[4] ?? 0));
  rows.push({
    area: "load",
    check: `${size.subs} RESP + ${size.sse} SSE subscribers, ${size.rate} msg/s for ${size.seconds} s`,
    result: resp && sse ? `${resp[3]} RESP frames + ${sse[3]} SSE events; pub/sub RSS ${rss?.[1]} → ${rss?.[3]} MB, web ${rss?.[2]} → ${rss?.[4]} MB; pub/sub RSS first minute ${first?.[1]?.trim() ?? "–"}, last minute ${last?.[1]?.trim() ?? "–"}; CPU ${cpu?.[1]}% / ${cpu?.[2]}% of a core` : "no figures (see above)",
    ok: r.ok && resp !== null && sse !== null,
    lost: resp && sse ? lost : undefined,
    duplicated: resp && sse ? dup : undefined,
  });
}

// 2. Faults injected and survived.
{
  const r = await runStep(`kill -9 under ${size.faultRate} msg/s to ${size.faultClients} clients`, test("test/faults.e2e.test.ts"), {
    NOTISTREAM_FAULT_CLIENTS: String(size.faultClients),
    NOTISTREAM_FAULT_RATE: String(size.faultRate),
    NOTISTREAM_FAULT_SECONDS: String(size.faultSeconds),
  });
  const m = find(r.out, /faults: (\d+) POSTs at (\d+)\/s, kill -9 after #(\d+); (\d+) accepted \(200\), (\d+) refused \(503\); (\d+) clients each showed all (\d+) accepted; lost (\d+), duplicated (\d+)/);
  rows.push({
    area: "fault",
    check: `kill -9 of the pub/sub server under ${size.faultRate} msg/s to ${size.faultClients} notistream clients, restart 0.5 s later`,
    result: m ? `${m[1]} POSTs: ${m[4]} accepted (200), ${m[5]} refused (all 503); every client showed all ${m[7]} accepted` : "no figures (see above)",
    ok: r.ok && m !== null,
    lost: m ? Number(m[8]) : undefined,
    duplicated: m ? Number(m[9]) : undefined,
  });
}
{
  const r = await runStep("full disk and read-only data file", test("test/disk.e2e.test.ts"));
  const full = find(r.out, /disk: full tmpfs: (\d+) accepted \(200\) and all kept after kill -9; first refusal (\d+) MISCONF[^\n]*lost (\d+)/);
  const ro = find(r.out, /disk: read-only mount: [^\n]*/);
  rows.push({
    area: "fault",
    check: "history on a 1 MB tmpfs filled up, then space freed",
    result: full ? `${full[1]} accepted and kept after kill -9; refusals answered ${full[2]} with MISCONF; live PUBLISH delivered while full; writes resumed` : "no figures (see above)",
    ok: r.ok && full !== null,
    lost: full ? Number(full[3]) : undefined,
    duplicated: full ? 0 : undefined,
  });
  rows.push({
    area: "fault",
    check: "history on a read-only mount, then remounted read-write",
    result: ro ? ro[0].replace("disk: read-only mount: ", "") : "no figures (see above)",
    ok: r.ok && ro !== null,
  });
}
{
  const r = await runStep("slow subscriber and SIGTERM", test("test/pubsub.test.ts", "output limit|SIGTERM"));
  const slow = find(r.out, /slow subscriber cut off after (\d+) x 1 KB messages; server RSS ([\d.]+) MB/);
  const term = find(r.out, /SIGTERM to exit: (\d+) ms/);
  rows.push({ area: "fault", check: "a subscriber that stops reading", result: slow ? `cut off at its output limit after ${slow[1]} x 1 KB published; the other subscriber got all ${slow[1]}; server RSS ${slow[2]} MB` : "no figures", ok: r.ok && slow !== null, lost: slow ? 0 : undefined });
  rows.push({ area: "fault", check: "SIGTERM with 200 acknowledged XADDs", result: term ? `exit 0 in ${term[1]} ms, all 200 entries kept, clients closed` : "no figures", ok: r.ok && term !== null, lost: term ? 0 : undefined });
}

// 3. Inputs fuzzed.
{
  const r = await runStep(`fuzz: ${size.fuzz} RESP inputs and the HTTP cases`, test("test/fuzz.e2e.test.ts"), { NOTISTREAM_FUZZ_INPUTS: String(size.fuzz) }, 1_800_000);
  const resp = find(r.out, /fuzzed the pub\/sub server with (\d+) inputs; it still answers PING/);
  const http = find(r.out, /HTTP fuzz: ([^;]+); \/health still 200/);
  rows.push({ area: "fuzz", check: "random and mutated RESP, split at random points, over real sockets", result: resp ? `${resp[1]} inputs; no crash, no hang, PING answered after` : "no figures", ok: r.ok && resp !== null });
  rows.push({ area: "fuzz", check: "malformed HTTP: bodies, UTF-8, content types, huge headers, bad signatures", result: http ? `${http[1]}; no 5xx; /health 200 after` : "no figures", ok: r.ok && http !== null });
}

// 4. No one let in.
{
  const unit = await runStep("ACL: the file syntax, credentials and permission checks", test("test/acl.test.ts"));
  const e2e = await runStep("ACL: RESP and HTTP end to end", test("test/acl.e2e.test.ts"));
  const compat = await runStep("ACL: byte-for-byte against redis-server --aclfile", test("test/pubsub.redis-compat.test.ts", "ACL"));
  const passed = [unit, e2e, compat].reduce((n, r) => n + Number(/(\d+) pass/.exec(r.out)?.[1] ?? 0), 0);
  rows.push({
    area: "security",
    check: "ACL users and channel rights: NOPERM byte-for-byte with redis-server, Bearer/Basic with 401/403, no secret in any log",
    result: `${passed} tests passed`,
    ok: unit.ok && e2e.ok && compat.ok,
  });
}

const lost = rows.reduce((n, r) => n + (r.lost ?? 0), 0);
const duplicated = rows.reduce((n, r) => n + (r.duplicated ?? 0), 0);
const failed = rows.filter((r) => !r.ok);
const cell = (n: number | undefined) => (n === undefined ? "–" : String(n));
console.log(`
# Notistream reliability report (${mode}, ${new Date().toISOString().slice(0, 19)}Z)

| area | check | result | lost | duplicated | |
| --- | --- | --- | --- | --- | --- |
${rows.map((r) => `| ${r.area} | ${r.check} | ${r.result} | ${cell(r.lost)} | ${cell(r.duplicated)} | ${r.ok ? "ok" : "FAILED"} |`).join("\n")}

Messages lost: ${lost}. Messages duplicated: ${duplicated}. Checks failed: ${failed.length} of ${rows.length}.`);
process.exit(lost === 0 && duplicated === 0 && failed.length === 0 ? 0 : 1);
