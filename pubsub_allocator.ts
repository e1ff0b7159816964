// pubsub_allocator.ts — `--allocator cpu`: the pub/sub server under MIMALLOC_PURGE_HOLES=0. mimalloc (Bun's allocator)
// reads its settings from the environment at process start only, so the server re-executes itself once with it.
//
// Why: under load mimalloc gives the freed holes inside pages still in use back to the system every 100 ms (madvise),
// then faults them in again as they are reused: a tenth to a quarter of the store's CPU per webhook on a 2-core VM
// (docs/performance.md, issue 28). Kept for reuse instead, they cost memory: 20-40% more in steady use, and about
// 500 B more per idle connection, so saving memory stays the default (--allocator memory).
import { existsSync } from "node:fs";
import { FFIType, ptr } from "bun:ffi";
import { openLibc } from "./pubsub_libc";

const SETTING = "MIMALLOC_PURGE_HOLES";

/** One line for the start-up log: the setting the server runs with, and how to choose the other. */
export function allocatorLine(env: Readonly<Record<string, string | undefined>>, asked: "memory" | "cpu"): string {
  const v = env[SETTING];
  if (v === "0") return `pubsub: allocator: saves CPU (${SETTING}=0): freed memory inside pages in use is kept for reuse, so memory stays higher (--allocator memory gives it back)`;
  if (v !== undefined) return `pubsub: allocator: ${SETTING}=${v}, as set in the environment`;
  if (asked === "cpu") return `pubsub: allocator: mimalloc's defaults (--allocator cpu could not set ${SETTING}=0 at start)`;
  return "pubsub: allocator: saves memory (mimalloc's defaults); --allocator cpu takes a tenth to a quarter less CPU per webhook under load, for more memory";
}

/**
 * The environment to re-execute with: the current one plus MIMALLOC_PURGE_HOLES=0. Null to run as it is: the setting
 * is there (this is the re-executed process, or the operator chose it: their choice stands).
 */
export function allocatorEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> | null {
  if (env[SETTING] !== undefined) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  out[SETTING] = "0";
  return out;
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
