// info.ts — INFO's text as Redis 7.0.15 lays it out: which sections a request names, their fixed order, and the
// per-command and per-error counters behind commandstats and errorstats. Pure: the server hands in the lines.

/** Redis 7.0's sections in the order genRedisInfoString writes them, whatever order they were asked in. */
export const SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "commandstats", "errorstats", "cluster", "keyspace"] as const;
export type Section = (typeof SECTIONS)[number];

const HEADERS: Record<Section, string> = {
  server: "Server", clients: "Clients", memory: "Memory", persistence: "Persistence", stats: "Stats", replication: "Replication",
  cpu: "CPU", modules: "Modules", commandstats: "Commandstats", errorstats: "Errorstats", cluster: "Cluster", keyspace: "Keyspace",
};

/** What INFO with no argument (or "default") shows: every section but commandstats, as in Redis. */
const DEFAULT = new Set<Section>(SECTIONS.filter((s) => s !== "commandstats"));

/** The sections an INFO request names: "default", "all" and "everything" stand for groups; unknown names add nothing. */
export function requestedSections(names: string[]): Set<Section> {
  if (names.length === 0) return DEFAULT;
  const out = new Set<Section>();
  for (const raw of names) {
    const n = raw.toLowerCase();
    if (n === "all" || n === "everything") for (const s of SECTIONS) out.add(s);
    else if (n === "default") for (const s of DEFAULT) out.add(s);
    else if ((SECTIONS as readonly string[]).includes(n)) out.add(n as Section);
  }
  return out;
}

/** INFO's text: each wanted section's header and lines, in Redis's order, separated by a blank line. */
export function renderInfo(wanted: Set<Section>, lines: (s: Section) => string[]): string {
  const parts: string[] = [];
  for (const s of SECTIONS) if (wanted.has(s)) parts.push(`# ${HEADERS[s]}\r\n` + lines(s).map((l) => `${l}\r\n`).join(""));
  return parts.join("\r\n");
}

/**
 * One command's counters, as Redis keeps them in its command table. The clock is read on every 16th call only
 * (two clock reads cost about 10% of a pipelined PUBLISH), so `usec` is the sampled mean times the calls.
 */
export type CommandStat = { name: string; calls: number; rejected: number; failed: number; sampled: number; sampledUsec: number };

/** Counters for commandstats and errorstats. */
export class InfoStats {
  /** By the command's index in the table: an array index is the cheapest lookup on the hot path. */
  private readonly commands: CommandStat[] = [];
  readonly errors = new Map<string, number>();
  totalErrors = 0;

  command(cmd: { index: number; fullname: string }): CommandStat {
    return (this.commands[cmd.index] ??= { name: cmd.fullname, calls: 0, rejected: 0, failed: 0, sampled: 0, sampledUsec: 0 });
  }

  /** An error reply went out: counted by its code, the first word after '-' (afterErrorReply). */
  error(reply: string): void {
    this.totalErrors++;
    // Redis looks for a space in the first 32 bytes; without one it counts the error as ERR.
    const space = reply.slice(0, 32).indexOf(" ");
    const code = space > 1 ? reply.slice(1, space) : "ERR";
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  commandLines(): string[] {
    const out: string[] = [];
    for (const s of this.commands) {
      if (!s || (s.calls === 0 && s.rejected === 0 && s.failed === 0)) continue;
      const usec = s.sampled ? (s.sampledUsec / s.sampled) * s.calls : 0;
      const per = s.calls ? (usec / s.calls).toFixed(2) : "0.00";
      out.push(`cmdstat_${s.name}:calls=${s.calls},usec=${Math.round(usec)},usec_per_call=${per},rejected_calls=${s.rejected},failed_calls=${s.failed}`);
    }
    return out;
  }

  errorLines(): string[] {
    return [...this.errors].map(([code, n]) => `errorstat_${code}:count=${n}`);
  }
}
