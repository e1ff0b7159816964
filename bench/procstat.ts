// bench/procstat.ts — what the benchmarks read of a process from /proc: its resident memory and its CPU time, in all and
// by thread. Linux only; a reading that is not there (the process is gone) is NaN.
import { readFileSync, readdirSync } from "node:fs";

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** CPU time used so far, user plus system, in seconds (utime + stime at USER_HZ 100). */
export function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/**
 * Minor page faults so far (minflt): each is a page the process touched that the kernel had to map, as after the
 * allocator gave it back. Why a benchmark reads it: a store that purges and re-faults its memory per write shows it here.
 */
export function minorFaults(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[7]);
}

/**
 * Each thread's CPU time so far in ns (from /proc/<pid>/task/<tid>/schedstat, user and system together), under the key
 * `keyOf(tid)` makes; null when the process is gone. A thread that ends between the listing and its reading is left out.
 */
function threadTimes(pid: number, keyOf: (tid: string) => string): Map<string, number> | null {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  const out = new Map<string, number>();
  for (const tid of tasks) {
    try {
      out.set(keyOf(tid), Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/**
 * CPU time so far in nanoseconds, every thread's time on a CPU summed (user and system together). Why beside
 * cpuSeconds: its 10 ms ticks are a tenth of a half-second fan-out run's server CPU. Threads that ended before the
 * reading are not counted; a process that is gone reads NaN.
 */
export function cpuNanoseconds(pid: number): number {
  const times = threadTimes(pid, (tid) => tid);
  if (times === null) return NaN;
  let ns = 0;
  for (const t of times.values()) ns += t;
  return ns;
}

/**
 * CPU time so far by thread, in ns, keyed by name and thread id (the name without its trailing digits, so a pool's
 * threads add up in threadShares). A thread that ended before the reading is not there; a process that is gone has none.
 */
export function byThread(pid: number): Map<string, number> {
  const name = (tid: string) => readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim().replace(/[0-9]+$/, "");
  return threadTimes(pid, (tid) => `${name(tid)}\0${tid}`) ?? new Map();
}

/**
 * Each thread name's CPU between two byThread readings, per unit of work (a POST), in µs: "bun.exe 9.3, mi-scavenger
 * 0.6". Names under 0.05 µs per unit are left out. Why a benchmark shows it: a runtime's helper threads (the
 * allocator's scavenger, the collector's, the JIT's) are part of a store's CPU that its event loop's profile misses.
 */
export function threadShares(before: Map<string, number>, after: Map<string, number>, units: number): string {
  const sum = new Map<string, number>();
  for (const [key, ns] of after) {
    const name = key.split("\0")[0]!;
    sum.set(name, (sum.get(name) ?? 0) + ns - (before.get(key) ?? 0));
  }
  return [...sum]
    .filter(([, ns]) => ns / units >= 50)
    .map(([name, ns]) => `${name.trim()} ${(ns / units / 1000).toFixed(1)}`)
    .join(", ");
}
