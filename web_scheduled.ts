// web_scheduled.ts — scheduled delivery (ntfy's X-Delay): messages kept in the shared store until due, each delivered
// once by whichever web server claims it, replaced or cancelled by sequence ID, and listed to those who ask (scheduled=1).
// What a publishing route does with a publish's delay and e-mail is web_publishextras.ts's.
//
// The store (our pub/sub server, Redis or a Redis Cluster) holds them in one stream, PENDING_KEY: one entry per scheduled
// message, its envelope fields (time = the due second) plus `due` (ms). Only stream commands are used, since those are
// all our pub/sub server has, and it persists streams: scheduled messages outlive a restart of either server. Each web
// server keeps an index of the entries (id, due, channel, sequence ID), read incrementally every tick and whole every
// RESYNC_MS, and delivers the due ones through the normal publisher, so a message's time and stream ID are those of
// its delivery. Delivering or cancelling an entry first claims it (claim()); the claim is the one lock all of it needs.
import { compileGlob, isPattern } from "./glob";
import { buildEnvelope, compareIds, envelopeFields, envelopeFromEntry, type Envelope, type Notification } from "./message";
import { entriesFromReply } from "./catchup";
import { NTFY_ERRORS, NtfyError, randomNtfyId } from "./web_ntfy";
import type { Published, Store } from "./web_publisher";
import type { Mailer } from "./web_email";
import type { Metrics } from "./web_metrics";
import { isTrue } from "./web_ntfy_publish";
import { randomUUID } from "node:crypto";

/**
 * Outside history's `notistream:<channel>` namespace (no channel's history can be read as it). One key: on a Redis
 * Cluster it lives in one slot, and every command here names one key, so it routes as any other.
 */
export const PENDING_KEY = "notistream-sched:pending";
/** One small stream per entry being delivered or cancelled: the claim (see claim()). */
const claimKey = (entryId: string) => `notistream-sched:claim:${entryId}`;

/** How often due messages are looked for: ntfy's is 10 s (DefaultDelayedSenderInterval); an incremental read is cheap. */
export const TICK_MS = 1000;
/** How often the whole index is read again, dropping what other web servers delivered or cancelled. */
const RESYNC_MS = 30_000;
/** A claim older than this whose entry is still there is a web server that died mid-way: another takes it over. */
const STALE_CLAIM_MS = 60_000;
/** Scheduled messages kept at once, over all web servers: each tick's reads and each resync grow with them. */
export const MAX_PENDING = 10_000;
/** Entries read per XRANGE. */
const PAGE = 500;

/** A scheduled message as the index knows it: enough to find it by due time or by channel and sequence ID. */
type Pending = { entryId: string; due: number; channel: string; sid: string };

/** The answer to a scheduled publish: the handle (its sequence ID, which DELETE /<topic>/<id> cancels) and the due time. */
export type ScheduledReply = { id: string; channel: string; dueMs: number; envelope: Envelope };

export type SchedulerOptions = {
  store: Store;
  /** The normal publish (timed and counted): a due message goes out through it. */
  publish: (n: Notification, now?: number) => Promise<Published>;
  log: (line: string) => void;
  tickMs?: number;
};

/** A history entry's fields as a map. */
const fieldMap = (fields: string[]): Map<string, string> => {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!, fields[i + 1]!);
  return m;
};

/** The notification a scheduled entry holds (its id and time are given at delivery). */
function notificationOf(entryId: string, fields: string[]): Notification {
  const { id: _id, time: _time, ...n } = envelopeFromEntry(entryId, fields, "");
  return n;
}

export class Scheduler {
  private readonly index = new Map<string, Pending>();
  /** The newest entry ID read: the next incremental read starts after it. */
  private last = "0-0";
  private lastResync = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private running: Promise<void> | null = null;
  private readonly serverId = randomUUID();
  private failing = false;

  constructor(private readonly o: SchedulerOptions) {}

  /** Scheduled messages waiting, as this web server's index knows them (every web server's, read every tick). */
  get pending(): number {
    return this.index.size;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.tickMs ?? TICK_MS);
    this.timer.unref?.();
    void this.tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One tick at a time: reads what is new (or everything, every RESYNC_MS), then delivers what is due. */
  tick(): Promise<void> {
    this.running ??= this.runTick().finally(() => (this.running = null));
    return this.running;
  }

  private async runTick(): Promise<void> {
    try {
      await (Date.now() - this.lastResync >= RESYNC_MS ? this.resync() : this.refresh());
      const now = Date.now();
      const due = [...this.index.values()].filter((p) => p.due <= now).sort((a, b) => a.due - b.due || compareIds(a.entryId, b.entryId));
      for (const p of due) await this.deliver(p);
      if (this.failing) this.o.log("web: scheduled messages: the store answers again");
      this.failing = false;
    } catch (err) {
      // Said once per outage, not once a tick; nothing is lost: the entries stay in the store for the next tick.
      if (!this.failing) this.o.log(`web: scheduled messages: cannot read or deliver them now, trying again every tick: ${(err as Error).message}`);
      this.failing = true;
    }
  }

  /** Reads the entries added since the last read into the index. */
  private async refresh(): Promise<void> {
    for (;;) {
      const page = entriesFromReply(await this.o.store.send("XRANGE", [PENDING_KEY, `(${this.last}`, "+", "COUNT", String(PAGE)]));
      for (const e of page) this.remember(e.id, e.fields);
      if (page.length) this.last = page[page.length - 1]!.id;
      if (page.length < PAGE) return;
    }
  }

  /** Reads every entry again: what others delivered or cancelled leaves the index. */
  private async resync(): Promise<void> {
    const seen = new Set<string>();
    let from = "-";
    for (;;) {
      const page = entriesFromReply(await this.o.store.send("XRANGE", [PENDING_KEY, from, "+", "COUNT", String(PAGE)]));
      for (const e of page) {
        seen.add(e.id);
        this.remember(e.id, e.fields);
        if (compareIds(e.id, this.last) > 0) this.last = e.id;
      }
      if (page.length < PAGE) break;
      from = `(${page[page.length - 1]!.id}`;
    }
    for (const id of this.index.keys()) if (!seen.has(id)) this.index.delete(id);
    this.lastResync = Date.now();
  }

  private remember(entryId: string, fields: string[]): void {
    const m = fieldMap(fields);
    const due = Number(m.get("due"));
    const channel = m.get("channel");
    const sid = m.get("sequence_id");
    // Anything else in the stream is not ours to deliver: left alone.
    if (Number.isFinite(due) && channel !== undefined && sid !== undefined) this.index.set(entryId, { entryId, due, channel, sid });
  }

  /**
   * Claims an entry: XADD with an explicit ID to the entry's claim stream succeeds once and fails for everyone after
   * ("equal or smaller"), as Web Push claims pushes (web_push.ts claim()), on our server and on Redis alike. A claim
   * left behind by a web server that died mid-way (older than STALE_CLAIM_MS) is taken over with the next ID, which
   * again only one succeeds in adding. Null: someone else holds it; else this web server holds it now, and
   * `takenOverFrom` is when the dead one claimed it (it may have published the message before it died).
   */
  private async claim(entryId: string): Promise<{ takenOverFrom?: number } | null> {
    const key = claimKey(entryId);
    const tryAdd = async (id: string): Promise<boolean> => {
      try {
        await this.o.store.send("XADD", [key, id, "by", this.serverId, "at", String(Date.now())]);
        return true;
      } catch (err) {
        if (/equal or smaller/.test((err as Error).message)) return false;
        throw err;
      }
    };
    if (await tryAdd("1-1")) return {};
    const top = entriesFromReply(await this.o.store.send("XREVRANGE", [key, "+", "-", "COUNT", "1"]))[0];
    if (!top) return (await tryAdd("1-1")) ? {} : null; // released meanwhile
    const at = Number(fieldMap(top.fields).get("at"));
    if (Date.now() - at < STALE_CLAIM_MS) return null;
    return (await tryAdd(`${BigInt(top.id.split("-")[0]!) + 1n}-1`)) ? { takenOverFrom: Number.isFinite(at) ? at : 0 } : null;
  }

  /**
   * Was the message published already, by a web server that died before it could remove the entry? Its channel's
   * history since that server's claim holds an entry with its sequence ID then (stream IDs are milliseconds).
   * Scheduled messages are always kept in history (Cache: no with a delay is ntfy's 40002), so history tells.
   */
  private async deliveredSince(p: Pending, sinceMs: number): Promise<boolean> {
    const key = (await this.o.store.layout()).historyKey(p.channel);
    let from = `${Math.max(0, sinceMs - 1000)}-0`; // a second of slack for clocks that differ between web servers
    for (;;) {
      const page = entriesFromReply(await this.o.store.send("XRANGE", [key, from, "+", "COUNT", String(PAGE)]));
      if (page.some((e) => fieldMap(e.fields).get("sequence_id") === p.sid)) return true;
      if (page.length < PAGE) return false;
      from = `(${page[page.length - 1]!.id}`;
    }
  }

  private release(entryId: string): Promise<unknown> {
    return this.o.store.send("DEL", [claimKey(entryId)]);
  }

  /** Claims a due entry, reads it again (it may be gone: delivered or cancelled), publishes it now, removes it. */
  private async deliver(p: Pending): Promise<void> {
    const claim = await this.claim(p.entryId);
    if (!claim) return; // another web server has it, or a cancel does
    try {
      const entry = entriesFromReply(await this.o.store.send("XRANGE", [PENDING_KEY, p.entryId, p.entryId]))[0];
      if (entry) {
        // A web server that died between publishing and XDEL: its message is out already, so only the entry goes.
        const done = claim.takenOverFrom !== undefined && (await this.deliveredSince(p, claim.takenOverFrom));
        // Delivered now: its time and stream ID are those of this moment (ntfy's time is the due time, a second away).
        if (!done) await this.o.publish(notificationOf(entry.id, entry.fields), Date.now());
        await this.o.store.send("XDEL", [PENDING_KEY, p.entryId]);
      }
      this.index.delete(p.entryId);
    } finally {
      await this.release(p.entryId);
    }
  }

  /**
   * Keeps `n` until `dueMs`. Its sequence ID is the publisher's, or a new ntfy-style ID that the reply gives as the
   * message's id: the handle DELETE /<topic>/<id> cancels it by, and the delivered message's sequence_id (its own id
   * is the stream ID it gets when delivered). An earlier scheduled message with that sequence ID is replaced.
   */
  async schedule(n: Notification, dueMs: number): Promise<ScheduledReply> {
    const length = Number(await this.o.store.send("XLEN", [PENDING_KEY]));
    if (length >= MAX_PENDING)
      throw new NtfyError(NTFY_ERRORS.tooManyRequests, `this server holds ${length} scheduled messages, the most it keeps (${MAX_PENDING}); send this one without a delay, or later`);
    const id = n.sequence_id ?? randomNtfyId();
    const kept: Notification = { ...n, sequence_id: id };
    const entryId = String(await this.o.store.send("XADD", [PENDING_KEY, "*", "due", String(dueMs), ...envelopeFields(kept, dueMs)]));
    // The dead man's switch: the one kept last stands, earlier ones with its sequence ID go (those added after it stay:
    // of two publishes at once, the later wins on every web server alike).
    await this.cancel(n.channel, id, entryId);
    return { id, channel: n.channel, dueMs, envelope: buildEnvelope(kept, id, dueMs) };
  }

  /**
   * Cancels the scheduled messages on `channel` with sequence ID `sid` (those older than `before`, when given): what
   * DELETE /<topic>/<sid> and a later publish with that sequence ID do. One being delivered right now is not stopped.
   * Returns how many were cancelled.
   */
  async cancel(channel: string, sid: string, before?: string, taken?: string[][]): Promise<number> {
    await this.refresh(); // an entry another web server added a moment ago counts too
    let cancelled = 0;
    for (const p of [...this.index.values()]) {
      if (p.channel !== channel || p.sid !== sid || (before !== undefined && compareIds(p.entryId, before) >= 0)) continue;
      if (!(await this.claim(p.entryId))) continue; // being delivered
      try {
        // Its fields, when the caller may have to put it back (publishNow's failed publish).
        const entry = taken ? entriesFromReply(await this.o.store.send("XRANGE", [PENDING_KEY, p.entryId, p.entryId]))[0] : undefined;
        const gone = Number(await this.o.store.send("XDEL", [PENDING_KEY, p.entryId]));
        if (gone && entry) taken!.push(entry.fields);
        cancelled += gone;
        this.index.delete(p.entryId);
      } finally {
        await this.release(p.entryId);
      }
    }
    return cancelled;
  }

  /**
   * The normal publish, then the scheduled messages with its sequence ID on its channel cancelled (ntfy: publishing
   * with the sequence ID of a still-scheduled message deletes it; DELETE /<topic>/<sid> publishes a message_delete
   * with it and so cancels it here). A clear only marks read: it cancels nothing.
   */
  readonly publishNow = async (n: Notification, now?: number): Promise<Published> => {
    if (n.sequence_id === undefined || n.event === "message_clear") return this.o.publish(n, now);
    // Cancelled first, then published: whoever the live copy tells and asks for the scheduled list at once (the app
    // does) must not find the message it replaces still there. Cancelled after, the app's card of a DELETEd one stayed
    // until the minute's refresh whenever its read came before the XDEL (seen in CI). A publish that fails puts back
    // what it cancelled, so a refused replacement loses nothing.
    const taken: string[][] = [];
    await this.cancel(n.channel, n.sequence_id, undefined, taken);
    try {
      return await this.o.publish(n, now);
    } catch (err) {
      await this.putBack(n, taken);
      throw err;
    }
  };

  /** Puts back the scheduled entries a failed publishNow cancelled (their fields as they were; new entry IDs). */
  private async putBack(n: Notification, taken: string[][]): Promise<void> {
    try {
      for (const fields of taken) this.remember(String(await this.o.store.send("XADD", [PENDING_KEY, "*", ...fields])), fields);
    } catch (err) {
      this.o.log(`web: scheduled messages: the publish on ${n.channel} failed, and the ${taken.length} scheduled with sequence ID ${n.sequence_id} it replaced cannot be put back: ${(err as Error).message}`);
    }
  }

  /**
   * The scheduled messages on `channels` (names or globs), due first, as envelopes whose id is their handle and whose
   * time is their due second: what scheduled=1 lists. Read from the store, not the index, so another web server's
   * newest are there too.
   */
  async listed(channels: string[]): Promise<Envelope[]> {
    const matchers = channels.map((c) => (isPattern(c) ? compileGlob(c) : (ch: string) => ch === c));
    const out: { due: number; env: Envelope }[] = [];
    let from = "-";
    for (;;) {
      const page = entriesFromReply(await this.o.store.send("XRANGE", [PENDING_KEY, from, "+", "COUNT", String(PAGE)]));
      for (const e of page) {
        const env = envelopeFromEntry(e.id, e.fields, "");
        const due = Number(fieldMap(e.fields).get("due"));
        if (env.sequence_id === undefined || !Number.isFinite(due) || !matchers.some((m) => m(env.channel))) continue;
        out.push({ due, env: { ...env, id: env.sequence_id } });
      }
      if (page.length < PAGE) break;
      from = `(${page[page.length - 1]!.id}`;
    }
    return out.sort((a, b) => a.due - b.due).map((x) => x.env);
  }
}

/**
 * ntfy's `scheduled=1` on a poll (server.go sendOldMessages with scheduled): the cached messages, then the scheduled
 * ones on those channels, due first; their time is in the future, so this is ntfy's order by time too.
 */
export function withScheduled(cached: AsyncGenerator<Envelope> | null, scheduler: Scheduler | undefined, channels: string[], asked: boolean): AsyncGenerator<Envelope> | null {
  if (!cached || !asked || !scheduler) return cached;
  return (async function* () {
    yield* cached;
    yield* await scheduler.listed(channels);
  })();
}

/** /messages?scheduled=1: the scheduled messages on the channels asked for, each marked `scheduled`, after the history. */
export async function scheduledForMessages(url: URL, scheduler: Scheduler | undefined, channels: string[]): Promise<(Envelope & { scheduled: true })[]> {
  const asked = url.searchParams.get("scheduled") ?? url.searchParams.get("sched");
  if (!scheduler || asked === null || !isTrue(asked)) return [];
  return (await scheduler.listed(channels)).map((e) => ({ ...e, scheduled: true as const }));
}

/** The metrics of scheduled delivery and e-mail: messages waiting, and mails sent and failed (when --smtp-url is set). */
export function schedulingMetrics(metrics: Metrics, scheduler: Scheduler, mailer: Mailer | null | undefined): void {
  metrics.gauge("notistream_scheduled_messages", "Scheduled messages waiting to be delivered (X-Delay), over all web servers.", () => scheduler.pending);
  if (!mailer) return;
  metrics.counterFrom("notistream_emails_sent_total", "E-mail notifications (X-Email) handed to the SMTP server.", () => mailer.sent);
  metrics.counterFrom("notistream_emails_failed_total", "E-mail notifications the SMTP server did not take (the log says why).", () => mailer.failed);
}
