// pubsub_allocator.ts — starts the pub/sub server under the allocator settings it is measured with. mimalloc (Bun's
// allocator) reads its settings from the environment at process start only, so the server re-executes itself once with them.
//
// Why: under load mimalloc gives freed pages back to the system a few hundred times a second (madvise) and then faults
// them in again, a third of the store's CPU per webhook on a 2-core VM (docs/performance.md, issue 28's third part).
// These settings give back only what stays unused for 10 s, and leave the holes inside pages in use alone.
import { existsSync } from "node:fs";
import { FFIType, ptr } from "bun:ffi";
import { openLibc } from "./pubsub_libc";

/** What the server adds to its environment, unless the operator chose either setting (then nothing is changed). */
export const ALLOCATOR_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  MIMALLOC_PURGE_DELAY: "10000", // ms a freed page waits before it goes back to the system (mimalloc's default: 100)
  MIMALLOC_PURGE_HOLES: "0", // pages still in use keep their free holes (mimalloc's default: purged every 100 ms)
});

/** One line for the start-up log: which settings run, and how to choose others. */
export function allocatorLine(env: Readonly<Record<string, string | undefined>>): string {
  const ours = Object.entries(ALLOCATOR_SETTINGS).every(([k, v]) => env[k] === v);
  const set = Object.keys(ALLOCATOR_SETTINGS)
    .filter((k) => env[k] !== undefined)
    .map((k) => `${k}=${env[k]}`)
    .join(" ");
  if (ours) return `pubsub: allocator: memory unused for 10 s goes back to the system (${set}; set either in the environment to choose your own)`;
  return set ? `pubsub: allocator: your settings, ${set}` : "pubsub: allocator: mimalloc's defaults (the settings could not be applied at start)";
}

/**
 * The environment to re-execute with: the current one plus ALLOCATOR_SETTINGS. Null to run as it is: the settings
 * are there already (this is the re-executed process), or the operator set either of them (their choice stands).
 */
export function allocatorEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> | null {
  if (Object.keys(ALLOCATOR_SETTINGS).some((k) => env[k] !== undefined)) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return { ...out, ...ALLOCATOR_SETTINGS };
}

/**
 * Replaces this process with the same command under allocatorEnv() (execve: the same pid, parent and open files, so
 * a supervisor or a test still sees one process). Returns only when it runs as it is: no change needed,
 * a compiled binary (its argv cannot be rebuilt), or libc's execve unavailable or refused (said on stderr).
 */
export function reexecWithAllocatorSettings(): void {
  const env = allocatorEnv(process.env);
  if (!env || Bun.main.startsWith("/$bunfs/") || !existsSync(process.execPath)) return;
  const argv = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  let failed: string;
  try {
    const libc = openLibc({ execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 } });
    if (!libc) throw new Error("no libc with execve could be loaded");
    const keep: Buffer[] = []; // the strings the pointer arrays point into, alive until execve returns
    const cString = (s: string) => (keep.push(Buffer.from(`${s}\0`)), keep[keep.length - 1]!);
    const pointers = (xs: string[]) => {
      const a = new BigUint64Array(xs.length + 1); // NULL-terminated
      xs.forEach((x, i) => (a[i] = BigInt(ptr(cString(x)))));
      return a;
    };
    const path = cString(process.execPath);
    libc.symbols.execve(ptr(path), ptr(pointers(argv)), ptr(pointers(Object.entries(env).map(([k, v]) => `${k}=${v}`))));
    failed = "execve refused it";
    libc.close();
  } catch (err) {
    failed = (err as Error).message;
  }
  console.error(`pubsub: could not restart under the allocator settings (${failed}); running with mimalloc's defaults, which cost more CPU under load (docs/operations.md)`);
}
