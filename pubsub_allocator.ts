// pubsub_allocator.ts — `--allocator memory|balanced|cpu`: the mimalloc settings (Bun's allocator) the pub/sub server
// runs with. mimalloc (and JSC) read them from the environment at process start only, so the server re-executes once.
//
// Why: under load mimalloc gives freed memory back to the system every 100 ms (madvise), then faults it in again as
// it is reused: a tenth to a quarter of the store's CPU per webhook on a 2-core VM (docs/performance.md, issue 28).
// - memory: mimalloc's defaults, no re-execution.
// - balanced: the same, but at most every 10 s, and no JSC block warm-up: near the CPU of `cpu` under load, and
//   once idle for 15-25 s the memory of `memory` (a storm of connections settles as low).
// - cpu: freed holes inside pages in use are never given back: the least CPU, about 500 B more per idle connection.
import { existsSync } from "node:fs";
import { FFIType, ptr } from "bun:ffi";
import { openLibc } from "./pubsub_libc";

/** What each mode sets; `memory` sets nothing (mimalloc's own defaults). */
export const ALLOCATOR_MODES = {
  memory: {},
  // JSC's warm-up thread keeps fresh heap blocks faulted in ahead of need; with memory given back every 10 s it is
  // what still faults (0.027 against 0.008 page faults per POST without it, bench/storemix.ts): so it goes too.
  balanced: { MIMALLOC_PURGE_HOLES_MIN_INTERVAL: "10000", MIMALLOC_PURGE_DELAY: "10000", BUN_JSC_useWarmUpMarkedBlocks: "0" },
  cpu: { MIMALLOC_PURGE_HOLES: "0" },
} as const satisfies Record<string, Readonly<Record<string, string>>>;
export type AllocatorMode = keyof typeof ALLOCATOR_MODES;
export const isAllocatorMode = (v: string | undefined): v is AllocatorMode => v !== undefined && Object.hasOwn(ALLOCATOR_MODES, v);

const settingsOf = (mode: AllocatorMode): [string, string][] => Object.entries(ALLOCATOR_MODES[mode]);
const shown = (pairs: [string, string | undefined][]) => pairs.map(([k, v]) => `${k}=${v}`).join(" ");
/** A mode's settings as the log and `--help` print them, such as "MIMALLOC_PURGE_HOLES=0": from the table, never retyped. */
export const settingsText = (mode: AllocatorMode): string => shown(settingsOf(mode));
/** Every variable any mode sets: the ones whose values tell which mode a process runs under. */
const NAMES = [...new Set((Object.keys(ALLOCATOR_MODES) as AllocatorMode[]).flatMap((m) => settingsOf(m).map(([k]) => k)))];

/** The mode whose settings `env` holds exactly (none of them: memory), or null for any other mix. */
function modeOf(env: Readonly<Record<string, string | undefined>>): AllocatorMode | null {
  for (const mode of Object.keys(ALLOCATOR_MODES) as AllocatorMode[]) {
    const want: Record<string, string> = ALLOCATOR_MODES[mode];
    if (NAMES.every((k) => env[k] === want[k])) return mode;
  }
  return null;
}

const SAYS: Record<AllocatorMode, string> = {
  memory: "saves memory (mimalloc's defaults: freed memory goes back to the system within 100 ms); --allocator balanced or cpu take a tenth to a quarter less CPU per webhook under load",
  balanced: `balanced (${settingsText("balanced")}): freed memory goes back to the system after 10 s instead of 100 ms, so a busy server spends less CPU and an idle one settles as low as with --allocator memory`,
  cpu: `saves CPU (${settingsText("cpu")}): freed memory inside pages in use is kept for reuse, so memory stays higher (--allocator balanced or memory give it back)`,
};

/** One line for the start-up log: the settings the server runs with, and how to choose another. */
export function allocatorLine(env: Readonly<Record<string, string | undefined>>, asked: AllocatorMode): string {
  const mode = modeOf(env);
  if (mode === null) return `pubsub: allocator: ${shown(NAMES.filter((k) => env[k] !== undefined).map((k) => [k, env[k]]))}, as set in the environment`;
  if (mode === "memory" && asked !== "memory") return `pubsub: allocator: mimalloc's defaults (--allocator ${asked} could not set ${settingsText(asked)} at start)`;
  return `pubsub: allocator: ${SAYS[mode]}`;
}

/**
 * The environment to re-execute with: the current one plus the mode's settings it lacks. Null to run as it is:
 * nothing to add (memory, the re-executed process, or the operator set them: their values stand).
 */
export function allocatorEnv(env: Readonly<Record<string, string | undefined>>, mode: AllocatorMode): Record<string, string> | null {
  const missing = settingsOf(mode).filter(([k]) => env[k] === undefined);
  if (!missing.length) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  for (const [k, v] of missing) out[k] = v;
  return out;
}

/**
 * Replaces this process with the same command under allocatorEnv(mode) (execve: the same pid, parent and open files, so
 * a supervisor or a test still sees one process). Returns only when it runs as it is: no change needed,
 * a compiled binary (its argv cannot be rebuilt), or libc's execve unavailable or refused (said on stderr).
 */
export function reexecWithAllocatorSettings(mode: AllocatorMode): void {
  const env = allocatorEnv(process.env, mode);
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
