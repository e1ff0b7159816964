// test/pubsub.redis-suite.test.ts — end to end: Redis 7.0.15's own tests/unit/pubsub.tcl, run against our server.
// .ci/run fetches the suite from Debian's source package; locally, set NOTISTREAM_REDIS_SUITE to an unpacked source tree.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { run, startPubSub, type Running } from "./helpers";

const suite = process.env.NOTISTREAM_REDIS_SUITE ?? `${import.meta.dir}/../.tmp/redis-src`;
const present = existsSync(`${suite}/runtest`) && Bun.which("tclsh") !== null;
if (!present && process.env.CI) throw new Error(`Redis's test suite is missing at ${suite}: .ci/run should have fetched it`);

let server: Running;
beforeAll(async () => {
  if (present) server = await startPubSub();
});
afterAll(async () => {
  await server?.stop();
});

test.skipIf(!present)("Redis 7.0.15's unit/pubsub passes: 15 ok, no errors", async () => {
  const r = await run(
    ["./runtest", "--host", "127.0.0.1", "--port", String(server.port), "--singledb", "--single", "unit/pubsub", "--skiptest", "/Keyspace notifications", "--clients", "1"],
    { timeoutMs: 120000, cwd: suite },
  );
  const out = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, ""); // runtest colours its verdicts
  const oks = out.split("\n").filter((l) => l.includes("[ok]:"));
  if (oks.length !== 15 || /\[err\]|\[exception\]/.test(out)) console.log(out);
  expect(out).not.toMatch(/\[err\]|\[exception\]/);
  expect(oks.length).toBe(15);
  expect(r.code).toBe(0);
}, 150000);
