// test/load.e2e.test.ts — the load test's short version, so it cannot rot: 1,000 RESP subscribers and 100 SSE clients
// for 10 s of steady publishing, every delivery counted, both reconnect storms, redis-server side by side, and the
// webhook-ingest round that ends the run (--ingest). (The
// long run: bun bench/load.ts, as many connections as the open-file limit allows, for 5 minutes.) No timing asserted.
import { expect, test } from "bun:test";
import { BUN, ROOT, run } from "./helpers";

test("bun bench/load.ts (short): nothing lost, memory and CPU reported, storms survived, redis-server beside, ingest after", async () => {
  const args = ["--subscribers", "1000", "--sse", "100", "--seconds", "10", "--rate", "50", "--storm", "--clients", "3", "--redis", "--ingest", "--ingest-rounds", "1", "--ingest-seconds", "1", "--ingest-warmup", "1"];
  const r = await run([BUN, `${ROOT}/bench/load.ts`, ...args], { timeoutMs: 200000, cwd: ROOT });
  if (r.code !== 0) console.log(r.stdout, r.stderr);
  expect(r.stdout).toContain("500 messages × 1000 RESP subscribers: 500000 frames received, lost 0.");
  expect(r.stdout).toContain("500 messages × 100 SSE clients: 50000 events received, lost 0.");
  expect(r.stdout).toMatch(/RSS at end \| [\d.]+ MB/);
  expect(r.stdout).toMatch(/\| memory per connection \| \d+ B \| \d+ B \| \d+ B \|/);
  expect(r.stdout).toMatch(/\| web server restarted under 100 SSE clients \| [\d.]+ s \|/);
  expect(r.stdout).toMatch(/\| pub\/sub server restarted under 1000 RESP subscribers \| [\d.]+ s \|/);
  expect(r.stdout).toMatch(/Storms: \d+ POSTs accepted; 3 notistream clients: lost 0, duplicated 0\./);
  // The ingest table, in the same output: the web server on both stores with CPU per POST, and the floors.
  expect(r.stdout).toMatch(/\| web server \+ Notistream pub\/sub \| [\d,]+ \| [\d.]+ µs \| [\d.]+ µs \| [\d.]+ µs \|/);
  expect(r.stdout).toMatch(/\| web server \+ redis-server \(AOF everysec\) \| [\d,]+ \| [\d.]+ µs \| [\d.]+ µs \| [\d.]+ µs \|/);
  expect(r.stdout).toContain("| no store: bench/bare.ts --form (reads and parses the form) |");
  expect(r.stdout).toContain("non-2xx answers: 0");
  expect(r.code).toBe(0);
}, 210000);
