// test/load.e2e.test.ts — the load test's short version, so it cannot rot: 1,000 RESP subscribers and 100 SSE clients
// for 10 s of steady publishing, every delivery counted. (The long run: bun bench/load.ts, 10,000 + 1,000 for 5 minutes.)
import { expect, test } from "bun:test";
import { BUN, ROOT, run } from "./helpers";

test("bun bench/load.ts (short): nothing lost, memory and CPU reported", async () => {
  const r = await run([BUN, `${ROOT}/bench/load.ts`, "--subscribers", "1000", "--sse", "100", "--seconds", "10", "--rate", "50"], { timeoutMs: 110000, cwd: ROOT });
  if (r.code !== 0) console.log(r.stdout, r.stderr);
  expect(r.stdout).toContain("500 messages × 1000 RESP subscribers: 500000 frames received, lost 0.");
  expect(r.stdout).toContain("500 messages × 100 SSE clients: 50000 events received, lost 0.");
  expect(r.stdout).toMatch(/RSS at end \| [\d.]+ MB/);
  expect(r.code).toBe(0);
}, 120000);
