// test/docs.layout.test.ts — docs/development.md's file table tells the truth: every source file at the top level is named
// in it, and every file it names exists (a rename, a new file or a deleted one shows here first).
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { ROOT } from "./helpers";

const table = readFileSync(`${ROOT}/docs/development.md`, "utf8")
  .split("\n")
  .filter((line) => line.startsWith("| `"))
  .map((line) => line.split(" | ")[0]!);
const named = new Set(table.flatMap((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)));

test("every top-level source file has a row in docs/development.md's file table", () => {
  const files = readdirSync(ROOT).filter((f) => (f.endsWith(".ts") && !f.endsWith(".d.ts")) || f === "notistream.mjs" || f === "startserver.sh");
  expect(files.filter((f) => !named.has(f))).toEqual([]);
});

test("every file the table names exists", () => {
  expect([...named].filter((f) => !existsSync(`${ROOT}/${f}`))).toEqual([]);
});
