// test/reliability.smoke.test.ts — the reliability report at tiny sizes runs in the tests so it cannot rot: every
// step runs (load, kill -9, full disk, read-only file, slow subscriber, SIGTERM, fuzz, ACL) and the table adds up.
import { expect, test } from "bun:test";
import { BUN, ROOT, needs, run } from "./helpers";

// The disk faults mount filesystems, so the report needs root (as CI has).
needs("redis-server", "root").test("bun bench/reliability.ts --smoke prints the report with lost 0 and duplicated 0", async () => {
  const r = await run([BUN, `${ROOT}/bench/reliability.ts`, "--smoke"], { timeoutMs: 280000, cwd: ROOT });
  if (r.code !== 0) console.log(r.stdout, r.stderr);
  expect(r.stdout).toContain("# Notistream reliability report (smoke");
  for (const area of ["| load |", "| fault | kill -9", "| fault | history on a 1 MB tmpfs", "| fault | history on a read-only mount", "| fault | a subscriber that stops reading", "| fault | SIGTERM", "| fuzz | random and mutated RESP", "| fuzz | malformed HTTP", "| security |"])
    expect(r.stdout).toContain(area);
  expect(r.stdout).toContain("Messages lost: 0. Messages duplicated: 0. Checks failed: 0 of 9.");
  expect(r.code).toBe(0);
}, 300000);
