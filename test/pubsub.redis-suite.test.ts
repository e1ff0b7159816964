// test/pubsub.redis-suite.test.ts — end to end: Redis 7.0.15's own tests/unit/pubsub.tcl, unit/pubsubshard.tcl and
// unit/info-command.tcl, run against our server. .ci/setup (run by `npm test`) fetches them;
// NOTISTREAM_REDIS_SUITE may point elsewhere.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { REDIS_SUITE as suite, have, needs, run, startPubSub, type Running } from "./helpers";

const present = have("redis-suite") && have("tclsh");

let server: Running;
beforeAll(async () => {
  if (present) server = await startPubSub();
});
afterAll(async () => {
  await server?.stop();
});

async function runUnit(unit: string, extra: string[] = []): Promise<string[]> {
  const r = await run(["./runtest", "--host", "127.0.0.1", "--port", String(server.port), "--singledb", "--single", unit, "--clients", "1", ...extra], { timeoutMs: 120000, cwd: suite });
  const out = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, ""); // runtest colours its verdicts
  const oks = out.split("\n").filter((l) => l.includes("[ok]:"));
  if (/\[err\]|\[exception\]/.test(out) || r.code !== 0) console.log(out);
  expect(out).not.toMatch(/\[err\]|\[exception\]/);
  expect(r.code).toBe(0);
  return oks;
}

needs("redis-suite", "tclsh").test("Redis 7.0.15's unit/pubsub passes: 15 ok, no errors", async () => {
  expect((await runUnit("unit/pubsub", ["--skiptest", "/Keyspace notifications"])).length).toBe(15);
}, 150000);

needs("redis-suite", "tclsh").test("Redis 7.0.15's unit/pubsubshard passes: 9 ok, no errors", async () => {
  // The file tags itself external:skip because its last block starts a replica pair. Its first block only talks to
  // the server under test, so run that block, unchanged but for the tag, against ours.
  const text = readFileSync(`${suite}/tests/unit/pubsubshard.tcl`, "utf8");
  const cut = text.indexOf('start_server {tags {"pubsubshard external:skip"}} {\nstart_server');
  expect(cut).toBeGreaterThan(0);
  writeFileSync(`${suite}/tests/unit/notistream-pubsubshard.tcl`, text.slice(0, cut).replace('{tags {"pubsubshard external:skip"}}', '{tags {"pubsubshard"}}'));
  expect((await runUnit("unit/notistream-pubsubshard")).length).toBe(9);
}, 150000);

needs("redis-suite", "tclsh").test("Redis 7.0.15's unit/info-command passes: 3 ok, no errors (INFO with several sections, all, default)", async () => {
  expect((await runUnit("unit/info-command")).length).toBe(3);
}, 150000);
