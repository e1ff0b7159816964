#!/usr/bin/env node
// notistream.mjs — the `notistream` command as npm installs it: finds the Bun that came with this package and runs
// client.ts with it, so `npm install -g` and `npx notistream` work on a machine with no bun on PATH.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** The bun binary: the bun package's (its install step puts the platform's binary there), else bun on PATH. */
function findBun() {
  const exe = process.platform === "win32" ? "bun.exe" : "bun";
  const candidates = [];
  try {
    candidates.push(join(dirname(require.resolve("bun/package.json")), "bin", "bun.exe"));
  } catch {
    // the bun package is not installed beside us
  }
  try {
    const pkg = `@oven/bun-${process.platform === "win32" ? "windows" : process.platform}-${process.arch === "arm64" ? "aarch64" : "x64"}`;
    candidates.push(join(dirname(require.resolve(`${pkg}/package.json`)), "bin", exe));
  } catch {
    // no platform package either
  }
  return candidates.find((c) => existsSync(c)) ?? "bun";
}

const child = spawn(findBun(), [join(here, "client.ts"), ...process.argv.slice(2)], { stdio: "inherit" });
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
child.on("error", (err) => {
  process.stderr.write(
    `notistream: cannot start Bun (${err.message}). It should have come with this package: reinstall it with npm install -g notistream (without --ignore-scripts).\n`,
  );
  process.exit(1);
});
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
