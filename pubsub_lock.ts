// pubsub_lock.ts — one writer per history file: <file>.lock, held with flock(2) for the server's life (the kernel lets
// go when the holder dies, however it dies), the holder's pid written in it for the refusal; a link-made lock without flock.
import { closeSync, fstatSync, ftruncateSync, linkSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { FFIType } from "bun:ffi";
import { openLibc } from "./pubsub_libc";

/**
 * Two servers appending to one file would interleave their records, and one's rewrite would rename away the other's
 * writes. flock is the kernel's: no stale lock survives its holder, so two starters after a crash cannot both take it
 * (the pid-file lock below could let both through when they judged one dead holder stale at the same instant). Where
 * libc's flock cannot be loaded, <path>.lock is made whole (written aside, then linked into place, which fails if one
 * exists) and a lock whose pid is dead is taken over. One process may open the file more than once (tests, an
 * in-process restart): it counts its opens.
 */
const heldLocks = new Map<string, { fd: number; opens: number }>();

const LOCK_EX = 2;
const LOCK_NB = 4;
type Flock = (fd: number, operation: number) => number;
let flockFn: Flock | null | undefined;
/** libc's flock through bun:ffi, loaded once; null where no libc offers it (then the link-made lock is used). */
function loadFlock(): Flock | null {
  if (flockFn !== undefined) return flockFn;
  const lib = openLibc({ flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
  flockFn = lib ? (fd, op) => lib.symbols.flock(fd, op) : null;
  return flockFn;
}

/** Takes <path>.lock; true when held, false in a read-only place; throws, saying what to do, when a live process has it. */
export function takeLock(path: string): boolean {
  const lock = `${path}.lock`;
  const mine = heldLocks.get(lock);
  if (mine !== undefined) {
    mine.opens++;
    return true;
  }
  const flock = loadFlock();
  return flock ? takeFlock(path, lock, flock) : takeLinkLock(path);
}

function takeFlock(path: string, lock: string, flock: Flock): boolean {
  for (;;) {
    let fd: number;
    try {
      fd = openSync(lock, "a+", 0o600); // made if missing, never truncated before it is ours
    } catch (err) {
      return cannotMake(err, lock, path);
    }
    if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
      closeSync(fd);
      throw inUse(path, lock, holderPid(lock));
    }
    // Locked, but the path may name another file by now: a holder that stopped removed the one this opened.
    let same = false;
    try {
      same = statSync(lock).ino === fstatSync(fd).ino;
    } catch {
      // removed: open the new one
    }
    if (!same) {
      closeSync(fd);
      continue;
    }
    const before = lockOwner(lock);
    if (before !== null && before !== process.pid) console.log(`history: taking over ${lock}, left by process ${before}, which is no longer running`);
    try {
      ftruncateSync(fd, 0);
      writeSync(fd, `${process.pid}\n`, 0);
    } catch (err) {
      // A full disk: held all the same; only the refusal of a second server will lack this pid.
      console.error(`history: holding ${lock}, but could not write this pid in it (${(err as Error).message})`);
    }
    heldLocks.set(lock, { fd, opens: 1 });
    return true;
  }
}

/** The flock holder's pid: it writes it just after taking the lock, so a dead or missing one is read again, briefly. */
function holderPid(lock: string): number | null {
  for (let tries = 0; tries < 50; tries++) {
    const pid = lockOwner(lock);
    if (pid !== null && alive(pid)) return pid;
    Bun.sleepSync(2);
  }
  return null;
}

/** A lock file that cannot be made: a read-only place (false: no one can write the history there), or a full disk. */
function cannotMake(err: unknown, lock: string, path: string): false {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  if (READ_ONLY_CODES.has(code)) return false;
  // A full disk at start: serve what is there (writes are refused until it has room) rather than not start.
  if (code !== "ENOSPC" && code !== "EDQUOT") throw err;
  console.error(`history: cannot make ${lock} (the disk is full), so a second server on ${path} would not be stopped`);
  return false;
}

function inUse(path: string, lock: string, owner: number | null): Error {
  const who = owner === null ? "" : ` (pid ${owner})`;
  const check = owner === null ? "" : ` If no process ${owner} is a Notistream server, delete ${lock} and start again`;
  return new Error(`${path} is in use by another Notistream pub/sub server${who}: stop that one first, or give this one its own --data file.${check}`);
}

/** The pid-file lock, where flock cannot be loaded (exported for the tests, which race it against flock). */
export function takeLinkLock(path: string): boolean {
  const lock = `${path}.lock`;
  const aside = `${lock}.${process.pid}`;
  try {
    writeFileSync(aside, `${process.pid}\n`, { mode: 0o600 });
  } catch (err) {
    rmSync(aside, { force: true }); // a full disk may have made it empty
    return cannotMake(err, lock, path);
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(aside, lock);
        heldLocks.set(lock, { fd: -1, opens: 1 });
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw err;
      }
      const owner = lockOwner(lock);
      if (owner !== null && owner !== process.pid && alive(owner))
        throw inUse(path, lock, owner);
      // A dead owner (or our own pid, reused after a restart in a container): the lock is stale.
      console.log(`history: taking over ${lock}, left by process ${owner ?? "unknown"}, which is no longer running`);
      rmSync(lock, { force: true });
    }
  } finally {
    rmSync(aside, { force: true });
  }
}

/** Lets go of <path>.lock after this process's last open: the file is removed, then (for flock) closed. */
export function releaseLock(path: string): void {
  const lock = `${path}.lock`;
  const held = heldLocks.get(lock);
  if (held === undefined) return;
  if (--held.opens > 0) return;
  heldLocks.delete(lock);
  try {
    // Removed while still held: a starter that opened it meanwhile sees the path name another file, and retries.
    if (held.fd >= 0 || lockOwner(lock) === process.pid) rmSync(lock, { force: true });
  } catch (err) {
    console.error(`history: could not remove ${lock} (${(err as Error).message}); the next start takes it over`);
  }
  if (held.fd >= 0) closeSync(held.fd);
}

function lockOwner(lock: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(lock, "latin1"), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    // A killed server its parent has not reaped yet (a zombie) answers kill(0) but holds no file: Linux says so here.
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    if (stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z") return false;
  } catch {
    // no /proc (not Linux), or no such process: kill(0) decides
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // another user's process is alive too
  }
}

/** The errors of a place this process may not write (a read-only mount, a file or directory not its own). */
export const READ_ONLY_CODES: ReadonlySet<string> = new Set(["EROFS", "EACCES", "EPERM"]);
