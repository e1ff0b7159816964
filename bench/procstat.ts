// bench/procstat.ts — what the benchmarks read of a process from /proc: its resident memory and its CPU time.
// Linux only; a reading that is not there (the process is gone) is NaN.
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
 * CPU time so far in nanoseconds, every thread's time on a CPU summed from /proc/<pid>/task/<tid>/schedstat (user and
 * system together). Why beside cpuSeconds: its 10 ms ticks are a tenth of a half-second fan-out run's server CPU.
 * Threads that ended before the reading are not counted; a process that is gone reads NaN.
 */
export function cpuNanoseconds(pid: number): number {
  let ns = 0;
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return NaN;
  }
  for (const tid of tasks) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns;
}
