// test/typecheck.test.ts — the strict TypeScript check (tsc --noEmit, strict mode) is part of the tests.
// A type error anywhere in the project fails `bun test`.
import { expect, test } from "bun:test";
import { ROOT, run } from "./helpers";

test("tsc --noEmit passes under strict mode", async () => {
  const r = await run([`${ROOT}/node_modules/.bin/tsc`, "--noEmit", "-p", ROOT], { timeoutMs: 120000, cwd: ROOT });
  expect(r.stdout + r.stderr).toBe("");
  expect(r.code).toBe(0);
}, 130000);
