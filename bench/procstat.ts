// bench/procstat.ts — what the benchmarks read of a process from /proc: its resident memory and its CPU time.
// Linux only; a reading that is not there (the process is gone) is NaN.
import { readFileSync } from "node:fs";

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
