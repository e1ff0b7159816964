// client_state.ts — what the client keeps between runs: the last stream ID shown per server and channel, and for an ntfy
// server's opaque IDs the place per server and stream (written whole and atomically, merged with other clients' entries),
// and the lock that lets one client run per config.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { homedir } from "node:os";
import { z } from "zod";
import { isStreamId, type Envelope } from "./message";
import { OpaquePlaces, advancePlace, type OpaquePlace } from "./catchup";

export function defaultStatePath(env: Record<string, string | undefined> = process.env): string {
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), ".local", "state");
  return join(base, "notistream", "state.json");
}

/** An opaque place as the file keeps it (catchup.ts's OpaquePlace): an ID is sent back as since=<id>, so its length is bounded. */
const OpaquePlaceSchema = z.object({
  since: z.string().min(1).max(200),
  horizon: z.number().int().nonnegative(),
  seen: z.array(z.tuple([z.string().min(1).max(200), z.number().int()])).max(10_000),
});

const StateSchema = z.object({
  servers: z.record(z.string(), z.record(z.string(), z.string())),
  /** Per server, per stream (an ntfy stream's topics): read entry by entry, so one damaged entry costs only itself. */
  opaque: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});
type StateData = { servers: Record<string, Record<string, string>>; opaque: Record<string, Record<string, OpaquePlace>> };

function readState(path: string): StateData {
  try {
    const parsed = StateSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
    if (parsed.success) {
      // A place that is not a stream ID (a damaged file, or a forged id an older client saved) is forgotten: that
      // channel starts again as on a first run, instead of failing every comparison.
      for (const places of Object.values(parsed.data.servers)) for (const [ch, id] of Object.entries(places)) if (!isStreamId(id)) delete places[ch];
      const opaque: StateData["opaque"] = {};
      for (const [server, streams] of Object.entries(parsed.data.opaque ?? {}))
        for (const [stream, place] of Object.entries(streams)) {
          const ok = OpaquePlaceSchema.safeParse(place);
          if (ok.success) (opaque[server] ??= {})[stream] = ok.data;
        }
      return { servers: parsed.data.servers, opaque };
    }
  } catch {
    // Missing or damaged: it only costs a replay, so start fresh.
  }
  return { servers: {}, opaque: {} };
}

/**
 * Takes `path` as a lock file (created exclusively, holding our PID), runs `fn`, and with `keep` false lets go. A lock
 * whose process is gone is taken over. Returns the PID of the live holder instead when there is one.
 */
function withLockFile<T>(path: string, fn: () => T, wait: boolean, keep = false): T | { heldBy: number } {
  for (let tries = 0; ; tries++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number(readFileSync(path, "utf8").trim());
      if (!alive(holder)) {
        try {
          unlinkSync(path); // stale: its process is gone
        } catch {
          // another process took it over first; try again
        }
        continue;
      }
      if (!wait || tries > 200) return { heldBy: holder };
      Bun.sleepSync(5);
    }
  }
  try {
    return fn();
  } finally {
    if (!keep) unlinkSync(path);
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Claims the config for this process: another `notistream` with the same config gets the PID of this one.
 * The lock lives beside the state file, named by the config path, and goes away when this process exits.
 */
export function claimConfig(configPath: string, statePath: string): { release: () => void } | { heldBy: number } {
  const dir = dirname(statePath);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lock = join(dir, `client-${createHash("sha256").update(configPath).digest("hex").slice(0, 16)}.pid`);
  const got = withLockFile(lock, () => null, false, true);
  if (got !== null) return got;
  const release = () => {
    try {
      if (readFileSync(lock, "utf8").trim() === String(process.pid)) unlinkSync(lock);
    } catch {
      // already gone
    }
  };
  process.on("exit", release);
  return { release };
}

/**
 * The last stream ID shown per server and channel, so a restarted client picks up where it stopped; on a server whose
 * IDs are opaque (ntfy's), the place of each stream (opaquePlaces).
 */
export class ClientState {
  private data: StateData = { servers: {}, opaque: {} };
  /** Channels this process moved on, so a save writes only them over what other clients saved. */
  private readonly changed = new Set<string>();
  /** The opaque places this process uses, by stream, and those moved since the last save. */
  private readonly opaque = new Map<string, OpaquePlaces>();
  private readonly opaqueChanged = new Set<string>();

  constructor(
    readonly path: string | null,
    private readonly server: string,
  ) {
    if (path && existsSync(path)) this.data = readState(path);
  }
  get(channel: string): string | undefined {
    return this.data.servers[this.server]?.[channel];
  }
  set(channel: string, id: string): void {
    (this.data.servers[this.server] ??= {})[channel] = id;
    this.changed.add(channel);
  }
  /** Moves a channel's place on to this message; false when it was shown already (catchup.ts's one rule). */
  advance(env: Envelope): boolean {
    return advancePlace(this, env);
  }
  /**
   * The place on this server of `stream` (an ntfy stream: its topics, sorted, joined by commas), as kept in the file;
   * one object per stream, whose moves the next save writes.
   */
  opaquePlaces(stream: string): OpaquePlaces {
    let places = this.opaque.get(stream);
    if (!places) {
      places = new OpaquePlaces(this.data.opaque[this.server]?.[stream] ?? null, () => this.opaqueChanged.add(stream));
      this.opaque.set(stream, places);
    }
    return places;
  }
  private saveQueued = false;
  /** Saves once at the end of this event-loop turn, not once per message of a burst. */
  saveSoon(): void {
    if (this.saveQueued) return;
    this.saveQueued = true;
    setImmediate(() => {
      this.saveQueued = false;
      this.save();
    });
  }

  /**
   * Writes our changes over the file as it is now, under a short lock: two clients (other configs, other servers)
   * never lose each other's entries, and the atomic rename means the file is never half written.
   */
  save(): void {
    const path = this.path;
    if (!path || this.changed.size + this.opaqueChanged.size === 0) return;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const done = withLockFile(
      `${path}.lock`,
      () => {
        const onDisk = existsSync(path) ? readState(path) : { servers: {}, opaque: {} };
        if (this.changed.size) {
          const mine = (onDisk.servers[this.server] ??= {});
          for (const ch of this.changed) mine[ch] = this.data.servers[this.server]![ch]!;
        }
        for (const stream of this.opaqueChanged) {
          const place = this.opaque.get(stream)!.snapshot();
          if (place) (onDisk.opaque[this.server] ??= {})[stream] = place;
        }
        const tmp = `${path}.${process.pid}.tmp`;
        writeFileSync(tmp, JSON.stringify(onDisk) + "\n", { mode: 0o600 });
        renameSync(tmp, path);
        this.data = onDisk;
        this.changed.clear();
        this.opaqueChanged.clear();
        return null;
      },
      true,
    );
    if (done !== null) throw new Error(`the state file ${path} stayed locked by process ${done.heldBy}`);
  }
}
