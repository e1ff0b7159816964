// pubsub_info.ts — INFO's text as Redis 7.0.15 lays it out: which sections a request names, their fixed order, a lone
// master's replication fields, and the counters behind commandstats and errorstats. Pure: the server hands in the lines.

/** Redis 7.0's sections in the order genRedisInfoString writes them, whatever order they were asked in. */
const SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "commandstats", "errorstats", "latencystats", "cluster", "keyspace"] as const;
export type Section = (typeof SECTIONS)[number];

const HEADERS: Record<Section, string> = {
  server: "Server", clients: "Clients", memory: "Memory", persistence: "Persistence", stats: "Stats", replication: "Replication",
  cpu: "CPU", modules: "Modules", commandstats: "Commandstats", errorstats: "Errorstats", latencystats: "Latencystats", cluster: "Cluster", keyspace: "Keyspace",
};

/** What INFO with no argument (or "default") shows: every section but commandstats and latencystats, as in Redis. */
const DEFAULT = new Set<Section>(SECTIONS.filter((s) => s !== "commandstats" && s !== "latencystats"));

/**
 * The sections an INFO request names, in any case and any mix (genInfoSectionDict): "default" adds the default
 * sections, "all" and "everything" add every section, "module_list" is the Modules section's other name, and
 * unknown names (a module's sections, "sentinel") add nothing.
 */
export function requestedSections(names: string[]): Set<Section> {
  if (names.length === 0) return DEFAULT;
  const out = new Set<Section>();
  for (const raw of names) {
    const n = raw.toLowerCase();
    if (n === "all" || n === "everything") for (const s of SECTIONS) out.add(s);
    else if (n === "default") for (const s of DEFAULT) out.add(s);
    else if (n === "module_list") out.add("modules");
    else if ((SECTIONS as readonly string[]).includes(n)) out.add(n as Section);
  }
  return out;
}

/**
 * The Replication section of a master with no replicas and no backlog, field for field as Redis 7.0.15 prints it:
 * nothing replicates from this server, so the offsets stay at Redis's starting values. `replid` is the 40 hex
 * characters Redis draws at start-up (changeReplicationId).
 */
export function replicationLines(replid: string): string[] {
  return ["role:master", "connected_slaves:0", "master_failover_state:no-failover", `master_replid:${replid}`, `master_replid2:${"0".repeat(40)}`,
    "master_repl_offset:0", "second_repl_offset:-1", "repl_backlog_active:0", "repl_backlog_size:1048576", "repl_backlog_first_byte_offset:0", "repl_backlog_histlen:0"];
}

/** INFO's text: each wanted section's header and lines, in Redis's order, separated by a blank line. */
export function renderInfo(wanted: Set<Section>, lines: (s: Section) => string[]): string {
  const parts: string[] = [];
  for (const s of SECTIONS) if (wanted.has(s)) parts.push(`# ${HEADERS[s]}\r\n` + lines(s).map((l) => `${l}\r\n`).join(""));
  return parts.join("\r\n");
}

/**
 * One command's counters, as Redis keeps them in its command table. The clock is read on every 16th call only
 * (two clock reads per command weigh on a pipelined PUBLISH), so `usec` is the sampled mean times the calls.
 */
type CommandStat = { name: string; calls: number; rejected: number; failed: number; sampled: number; sampledUsec: number };

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

  /** In byte order of the code: Redis keeps them in a radix tree, not in the order they happened. */
  errorLines(): string[] {
    return [...this.errors.keys()].sort().map((code) => `errorstat_${code}:count=${this.errors.get(code)}`);
  }
}
