// test/tests.test.ts — the tests' own rules (issue 23): no test skips in silence (every one goes through helpers.ts's
// needs(), which fails under CI=true), needs() and .ci/setup say what is missing and how to get it, and `npm test` runs setup.
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, ROOT, have, run, tempPath } from "./helpers";

/** Lines of the .ts files in `dir` that skip a test, or an assertion, without needs(): helpers.ts implements needs(), and
 * this file names the forms. */
function silentSkips(dir: string): string[] {
  const forms = [
    /\b(?:test|it|describe)\s*\.\s*(?:skip|skipIf|if|todoIf)\b/, // bun's own skips: silent, and never a failure
    /\bif\s*\(\s*!?\s*(?:Bun\.which\(|have)[^\n]*\)\s*(?:expect|test|it|describe)\b/, // a check or a test only when a tool is there
  ];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && f !== "helpers.ts" && f !== "tests.test.ts")
    .flatMap((f) =>
      readFileSync(join(dir, f), "utf8")
        .split("\n")
        .flatMap((line, i) => (forms.some((form) => form.test(line)) && !line.trimStart().startsWith("//") ? [`${f}:${i + 1}: ${line.trim()}`] : [])),
    );
}

test("no test in test/ skips in silence: each one that needs a tool says so through needs()", () => {
  expect(silentSkips(join(ROOT, "test"))).toEqual([]);
});

test("the check finds the forms it forbids, and lets needs() and a comment be", () => {
  const dir = tempPath("skips");
  mkdirSync(dir, { recursive: true });
  const lines = [
    'test.skipIf(!haveRedis)("x", () => {});',
    'describe.skip("y", () => {});',
    '  if (Bun.which("redis-cli")) expect(1).toBe(1);',
    '  if (!haveDunst) test.skip("z", () => {});',
    'needs("redis-server").describe("w", () => {});',
    "// test.skip is what bun offers",
  ];
  writeFileSync(join(dir, "probe.test.ts"), lines.join("\n"));
  expect(silentSkips(dir)).toEqual(lines.slice(0, 4).map((l, i) => `probe.test.ts:${i + 1}: ${l.trim()}`));
});

/** Runs a test file that uses needs() for redis-server and tmux, on a PATH where neither is, with CI set or not. */
async function runWithout(ci: string): Promise<{ code: number; out: string }> {
  const dir = tempPath("needs");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "gated.test.ts");
  writeFileSync(
    file,
    [
      'import { expect } from "bun:test";',
      `import { needs } from "${ROOT}test/helpers.ts";`,
      'needs("redis-server").describe("a group that needs redis-server", () => { needs().test("inside", () => expect(1).toBe(1)); });',
      'needs("tmux").test("a test that needs tmux", () => expect(1).toBe(1));',
      'needs().test("a test that needs nothing", () => expect(1).toBe(1));',
    ].join("\n"),
  );
  const r = await run([BUN, "test", file], { cwd: dir, env: { CI: ci, PATH: dir }, timeoutMs: 30000 });
  return { code: r.code, out: r.stdout + r.stderr };
}

describe("needs()", () => {
  test("under CI=true a test that needs a missing tool fails, naming the tool and the command that installs it", async () => {
    const r = await runWithout("true");
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("(fail) a group that needs redis-server > cannot run here");
    expect(r.out).toContain("a group that needs redis-server: needs redis-server, missing here: ");
    expect(r.out).toContain("apt-get install -y redis-server (npm test installs them when it can)");
    expect(r.out).toContain("a test that needs tmux: needs tmux, missing here: ");
    expect(r.out).toContain("apt-get install -y tmux");
    expect(r.out).toContain("Under CI=true a test that cannot run is a failure.");
    expect(r.out).toMatch(/\b1 pass\b/);
    expect(r.out).toMatch(/\b2 fail\b/);
  }, 40000);

  test("outside CI it is skipped, with one line naming what is missing", async () => {
    const r = await runWithout("");
    expect(r.code).toBe(0);
    const said = r.out.split("\n").filter((l) => l.startsWith("skipped "));
    expect(said).toEqual([
      expect.stringMatching(/^skipped "a group that needs redis-server": needs redis-server, missing here: (sudo )?apt-get install -y redis-server /),
      expect.stringMatching(/^skipped "a test that needs tmux": needs tmux, missing here: (sudo )?apt-get install -y tmux /),
    ]);
    expect(r.out).toMatch(/\b1 pass\b/);
    expect(r.out).toMatch(/\b2 skip\b/);
  }, 40000);

  test("a need that no package of .ci/packages provides is a mistake in the test, and says where to add it", () => {
    expect(() => have("notistream-no-such-program")).toThrow('"notistream-no-such-program" is in no package of .ci/packages');
    expect(have("/")).toBe(true);
    expect(have("/notistream/no/such/path")).toBe(false);
  });
});

describe("setup", () => {
  test("npm test runs .ci/setup, then bun test; .ci/run runs npm install and npm test, with no package list of its own", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.test).toBe("bash .ci/setup && bun test --timeout 60000"); // bunfig.toml's [test] timeout is not read by Bun 1.4.5: 5 s was the limit
    const ci = readFileSync(join(ROOT, ".ci/run"), "utf8");
    expect(ci).toContain("\nnpm install --no-audit --no-fund\nnpm test\n");
    expect(ci).not.toContain("apt-get");
  });

  test("a package it may not install: its first lines name it and the one command that installs it, and it exits 0 so the tests run", async () => {
    // A copy of .ci/setup with a list that names a package that is not installed, and a Redis suite already there.
    const dir = tempPath("setup");
    mkdirSync(join(dir, ".ci"), { recursive: true });
    mkdirSync(join(dir, ".tmp/redis-src"), { recursive: true });
    writeFileSync(join(dir, ".tmp/redis-src/runtest"), "");
    chmodSync(join(dir, ".tmp/redis-src/runtest"), 0o755);
    writeFileSync(join(dir, ".ci/setup"), readFileSync(join(ROOT, ".ci/setup")));
    writeFileSync(join(dir, ".ci/packages"), "# a comment\nnotistream-no-such-package  notistream-no-such-program   # why\n");
    const r = await run(["bash", join(dir, ".ci/setup")], { env: { NOTISTREAM_TEST_INSTALL: "0" } });
    expect(r.code).toBe(0);
    const sudo = process.getuid?.() === 0 ? "" : "sudo ";
    expect(r.stdout.split("\n").slice(0, 3)).toEqual([
      "setup: missing Debian packages: notistream-no-such-package (no notistream-no-such-program on PATH)",
      `setup: install them with: ${sudo}apt-get install -y notistream-no-such-package`,
      "setup: not installing them here (NOTISTREAM_TEST_INSTALL=0); the tests run anyway, and those that need them say so",
    ]);
  });
});
