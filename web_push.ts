// web_push.ts — Web Push for the web server: VAPID keys kept across restarts, subscriptions kept in the pub/sub server
// (shared by every web server), and each message pushed once per phone: claimed, encrypted, queued, retried.
import { SendQueue } from "./web_sendqueue";
import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import webpush from "web-push";
import { z } from "zod";
import { compileGlob, isPattern } from "./glob";
import { RESERVED_CHANNEL_PREFIX, isReservedChannel, type Envelope } from "./message";
import { entriesFromReply, historyOver, type CommandHistory } from "./catchup";
import {
  DEFAULT_PUSH_LIMITS,
  EXPIRE_AFTER_MS,
  endpointRefusal,
  limitRefusal,
  mayRead,
  outcomeOf,
  pushPayload,
  retryDelayMs,
  pushUrgency,
  type BrowserSubscription,
  type PushLimits,
} from "./web_pushpolicy";
import { InputError } from "./web_input";
import type { Acl } from "./acl";
import type { CheckedEnvelope, Hub } from "./web_hub";
import type { Store } from "./web_publisher";

const VapidFileSchema = z.object({ publicKey: z.string().min(80), privateKey: z.string().min(40) });
export type VapidKeys = z.infer<typeof VapidFileSchema>;

/**
 * The VAPID key pair: from `file`, or from `dataDir`/vapid.json, made there (mode 0600, in a 0700 directory when it
 * makes it) on the first start. A key file others may read comes with a warning: the key signs every push.
 */
export function loadVapidKeys(file: string | undefined, dataDir: string): { keys: VapidKeys; path: string; made: boolean; warning?: string } {
  const path = file ?? join(dataDir, "vapid.json");
  if (existsSync(path)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, "utf8"));
    } catch (err) {
      throw new Error(`the VAPID key file ${path} is not valid JSON (${(err as Error).message}); fix it, or remove it to make a new pair (phones then subscribe again)`);
    }
    const keys = VapidFileSchema.safeParse(parsed);
    if (!keys.success) throw new Error(`the VAPID key file ${path} needs "publicKey" and "privateKey" (base64url, as web-push generate-vapid-keys --json prints them)`);
    const mode = statSync(path).mode & 0o777;
    const warning =
      mode & 0o077 ? `the VAPID key file ${path} can be read by other users of this machine (mode ${mode.toString(8).padStart(4, "0")}); anyone with it can push as this server: chmod 600 ${path}` : undefined;
    return { keys: keys.data, path, made: false, ...(warning ? { warning } : {}) };
  }
  if (file) throw new Error(`the VAPID key file ${file} does not exist; make one with: npx web-push generate-vapid-keys --json > ${file}`);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const keys = webpush.generateVAPIDKeys();
  // "wx": made here and now, never written through a file (or a link) someone else put there first.
  writeFileSync(path, JSON.stringify(keys, null, 2) + "\n", { mode: 0o600, flag: "wx" });
  return { keys, path, made: true };
}

/**
 * A subscription as stored: the browser's endpoint and keys, its channels, who made it (the ACL user, and the visitor
 * as a hash: counted for --push-max-per-visitor, and the store need not hold addresses), and when it was last renewed.
 */
const RecordSchema = z.object({
  endpoint: z.string(),
  keys: z.object({ p256dh: z.string(), auth: z.string() }),
  channels: z.array(z.string()),
  user: z.string(),
  visitor: z.string().optional(),
  renewedAt: z.number(),
});
type PushRecord = z.infer<typeof RecordSchema>;
const ChangeSchema = z.union([z.object({ op: z.literal("put"), record: RecordSchema }), z.object({ op: z.literal("del"), endpoint: z.string() })]);

/** Where subscriptions live in the pub/sub server: one single-entry stream per endpoint, and a channel for changes. */
// Keys outside history's notistream:<channel> namespace, so no channel's history can be read as one of them.
const SUB_PREFIX = "notistream-push:sub:";
const CHANGES = `${RESERVED_CHANNEL_PREFIX}push:changes`;
/** Per channel, a stream of the IDs claimed for pushing (Push.claim): its newest is where a catch-up starts. */
const claimsKey = (channel: string) => `notistream-push:claims:${channel}`;
const subKey = (endpoint: string) => SUB_PREFIX + createHash("sha256").update(endpoint).digest("hex");
const visitorHash = (visitor: string) => createHash("sha256").update(`notistream-push-visitor\0${visitor}`).digest("base64url").slice(0, 22);

type Job = { endpoint: string; payload: string; urgency: "low" | "normal" | "high"; attempt: number };

export type PushOptions = {
  /** The web server's command connection (one node or a cluster). */
  store: Store;
  hub: Hub;
  keys: VapidKeys;
  /** mailto: or https: — who the push services may contact about this sender (RFC 8292's sub). */
  contact: string;
  /** Origins allowed beyond the known push services (--push-endpoints). */
  extraOrigins: string[];
  /** The push's TTL: how long a push service keeps it for a phone that is off (history's retention). */
  ttlSeconds: () => number;
  count: { sent: () => void; failed: (reason: string) => void; removed: () => void };
  log: (line: string) => void;
  concurrency?: number;
  queueMax?: number;
  /** How many subscriptions, per visitor and in all, and channels each (DEFAULT_PUSH_LIMITS when not given). */
  limits?: PushLimits;
  /** The ACL in force now (none: everyone reads everything); asked before each push, so a revoked right stops at once. */
  acl?: () => Acl | undefined;
};

/** Where a redirect pointed, as an origin only: the rest of a URL may carry a token. */
function redirectTarget(location: string, base: string): string {
  try {
    return new URL(location, base).origin;
  } catch {
    return "an address that is not a URL";
  }
}

/** Waits for all, but not forever: a pub/sub server that is away must not hold up a start or a reply. */
async function settled(all: Promise<void>[], ms = 5000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([Promise.all(all), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

export class Push {
  private readonly subs = new Map<string, PushRecord>();
  /** One hub watch per channel or pattern any subscription names, counted, so the last one to go unsubscribes. */
  private readonly watches = new Map<string, { count: number; unwatch: () => void; ready: Promise<void>; resolve: () => void }>();
  /** Per channel, messages are claimed one after another, in ID order (a claim below the last one fails). */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly matchers = new Map<string, (ch: string) => boolean>();
  /** Pushes waiting and in flight (web_sendqueue.ts): the POST that published never waits for them. */
  private readonly sends: SendQueue<Job>;
  private readonly queueMax: number;
  /** The signed VAPID JWT per push-service origin, reused until an hour before it expires (signing dominated a push). */
  private readonly jwts = new Map<string, { header: string; until: number }>();
  /** Messages already handled, as channel and id: a channel and a pattern watch both see each message. */
  private readonly seen = new Set<string>();
  private readonly serverId = randomUUID();
  private sweeper: ReturnType<typeof setInterval> | null = null;
  private unwatchChanges: (() => void) | null = null;
  /** Whether `subs` holds what the pub/sub server stores: the caps count it, so a subscribe before that reads it first. */
  private loaded = false;
  /**
   * One set per reload under way: the endpoints changed (stored, renewed, dropped) while it was reading. Its view is
   * older than theirs, so it leaves them alone: a reload whose KEYS came before a new subscription must not drop it.
   */
  private readonly reloading = new Set<Set<string>>();
  /** Subscriptions being stored right now, counted with `subs`: parallel requests cannot all pass the caps at once. */
  private readonly storing = new Map<string, PushRecord>();
  private readonly limits: PushLimits;
  /** Channels' histories and their claims, read through catchup.ts. */
  private readonly history: CommandHistory;
  private readonly claims: CommandHistory;

  constructor(private readonly o: PushOptions) {
    const run = (command: string, args: string[]) => o.store.send(command, args);
    this.history = historyOver(run, async (channel) => (await o.store.layout()).historyKey(channel));
    this.claims = historyOver(run, claimsKey);
    this.sends = new SendQueue((job) => this.send(job), o.concurrency ?? 64);
    this.queueMax = o.queueMax ?? 100_000;
    this.limits = o.limits ?? DEFAULT_PUSH_LIMITS;
  }

  get publicKey(): string {
    return this.o.keys.publicKey;
  }

  get subscriptionCount(): number {
    return this.subs.size;
  }

  get queued(): number {
    return this.sends.waiting + this.sends.running;
  }

  /** Loads every stored subscription and listens for messages and other web servers' changes; resolves once subscribed. */
  async start(): Promise<void> {
    this.unwatchChanges = this.o.hub.watch(CHANGES, { message: (env) => this.applyChange(env.message), resubscribed: () => void this.reload().catch(() => {}) });
    await this.reload();
    await settled([...this.watches.values()].map((w) => w.ready));
    void this.expire();
    this.sweeper = setInterval(() => void this.expire(), 3600_000);
    this.sweeper.unref?.();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.unwatchChanges?.();
    for (const w of this.watches.values()) w.unwatch();
    this.watches.clear();
  }

  /** Reads every subscription from the pub/sub server (at start, and after the hub was away). */
  private async reload(): Promise<void> {
    const changedMeanwhile = new Set<string>();
    this.reloading.add(changedMeanwhile);
    try {
      const keys = await this.o.store.keys(`${SUB_PREFIX}*`);
      const found = new Map<string, PushRecord>();
      for (const key of keys) {
        const fields = entriesFromReply(await this.o.store.send("XREVRANGE", [key, "+", "-", "COUNT", "1"]))[0]?.fields ?? [];
        const rec = RecordSchema.safeParse(JSON.parse(fields[fields.indexOf("sub") + 1] ?? "null"));
        if (rec.success) found.set(rec.data.endpoint, rec.data);
      }
      for (const endpoint of [...this.subs.keys()]) if (!found.has(endpoint) && !changedMeanwhile.has(endpoint)) this.forget(endpoint);
      for (const rec of found.values()) if (!changedMeanwhile.has(rec.endpoint)) void this.remember(rec);
      this.loaded = true;
    } finally {
      this.reloading.delete(changedMeanwhile);
    }
  }

  /** An endpoint changed now: every reload under way leaves it alone (see `reloading`). */
  private changed(endpoint: string): void {
    for (const meanwhile of this.reloading) meanwhile.add(endpoint);
  }

  private applyChange(payload: string): void {
    let change: z.infer<typeof ChangeSchema>;
    try {
      const parsed = ChangeSchema.safeParse(JSON.parse(payload));
      if (!parsed.success) return;
      change = parsed.data;
    } catch {
      return;
    }
    this.changed(change.op === "put" ? change.record.endpoint : change.endpoint);
    if (change.op === "put") void this.remember(change.record);
    else this.forget(change.endpoint);
  }

  /** Keeps a subscription and watches its channels; resolves when the hub has confirmed every one of them. */
  private remember(rec: PushRecord): Promise<void> {
    const old = this.subs.get(rec.endpoint);
    this.subs.set(rec.endpoint, rec);
    // The new channels are watched before the old ones are let go, so a channel both name stays subscribed.
    const ready = settled(rec.channels.map((ch) => this.watch(ch)));
    for (const ch of old?.channels ?? []) this.unwatch(ch);
    return ready;
  }

  private forget(endpoint: string): void {
    const old = this.subs.get(endpoint);
    if (!old) return;
    this.subs.delete(endpoint);
    for (const ch of old.channels) this.unwatch(ch);
  }

  private watch(ch: string): Promise<void> {
    const w = this.watches.get(ch);
    if (w) {
      w.count++;
      return w.ready;
    }
    if (isPattern(ch)) this.matchers.set(ch, compileGlob(ch));
    const { promise: ready, resolve } = Promise.withResolvers<void>();
    const unwatch = this.o.hub.watch(ch, {
      message: (env) => this.onMessage(env),
      // Subscribed (again): push what came while nobody here listened, before anything live on this channel.
      resubscribed: () => {
        if (!isPattern(ch)) this.inOrder(ch, () => this.catchUp(ch));
        resolve();
      },
    });
    this.watches.set(ch, { count: 1, unwatch, ready, resolve });
    return ready;
  }

  private unwatch(ch: string): void {
    const w = this.watches.get(ch);
    if (!w || --w.count > 0) return;
    w.resolve(); // nobody waits for a channel that is no longer wanted
    w.unwatch();
    this.watches.delete(ch);
    this.matchers.delete(ch);
  }

  /**
   * POST /push/subscribe, after the access check: stores (or renews, replacing the channels) and tells the others.
   * `visitor` is who asks (visitorOf: the client's address). The caps count what the pub/sub server stores, which
   * every web server loads and follows, so they hold across restarts and servers; a renewal replaces, not adds.
   */
  async subscribe(sub: BrowserSubscription, channels: string[], user: string, visitor: string): Promise<void> {
    const refused = endpointRefusal(sub.endpoint, this.o.extraOrigins);
    if (refused) throw new InputError(refused);
    const record: PushRecord = { endpoint: sub.endpoint, keys: sub.keys, channels: [...new Set(channels)], user, visitor: visitorHash(visitor), renewedAt: Date.now() };
    if (!this.loaded) await this.reload();
    let stored = 0;
    let byVisitor = 0;
    for (const map of [this.subs, this.storing])
      for (const rec of map.values())
        if (rec.endpoint !== record.endpoint && (map === this.subs || !this.subs.has(rec.endpoint))) {
          stored++;
          if (rec.visitor === record.visitor) byVisitor++;
        }
    const over = limitRefusal(this.limits, record.channels.length, stored, byVisitor, this.subs.has(record.endpoint) || this.storing.has(record.endpoint));
    if (over) throw new InputError(over.message, over.status);
    this.storing.set(record.endpoint, record);
    try {
      await this.save(record);
    } finally {
      if (this.storing.get(record.endpoint) === record) this.storing.delete(record.endpoint); // a later renewal may be storing it now
    }
  }

  /** Stores a subscription, tells the other web servers, and resolves once this one is subscribed to its channels. */
  private async save(record: PushRecord): Promise<void> {
    await this.o.store.send("XADD", [subKey(record.endpoint), "MAXLEN", "1", "*", "sub", JSON.stringify(record)]);
    await this.o.store.publishPayload(CHANGES, JSON.stringify({ op: "put", record }));
    // Answered once this server is subscribed: a message published after the 201 is pushed.
    this.changed(record.endpoint);
    await this.remember(record);
  }

  /**
   * The ACL changed (SIGHUP): each subscription keeps the channels its user may still read, and one left with none,
   * or whose user is off or gone, is dropped, for every web server. Channels are removed rather than the whole
   * subscription: the browser still shows push as on, and the user keeps what they may still read. The check before
   * each push (the `acl` option) already stops the rest; this makes the store say so too.
   */
  async revoke(acl: Acl): Promise<{ dropped: number; trimmed: number }> {
    let dropped = 0;
    let trimmed = 0;
    for (const rec of [...this.subs.values()]) {
      const kept = rec.channels.filter((ch) => mayRead(acl, rec.user, ch));
      if (kept.length === rec.channels.length) continue;
      try {
        if (kept.length === 0) {
          await this.unsubscribe(rec.endpoint);
          dropped++;
        } else {
          await this.save({ ...rec, channels: kept });
          trimmed++;
        }
      } catch (err) {
        this.o.log(`web: push: cannot apply the new ACL to a subscription of user '${rec.user}' (${(err as Error).message}); it is not pushed what it may no longer read meanwhile`);
      }
    }
    if (dropped || trimmed)
      this.o.log(`web: push: the new ACL dropped ${dropped} subscription${dropped === 1 ? "" : "s"} and took channels from ${trimmed} other${trimmed === 1 ? "" : "s"}`);
    return { dropped, trimmed };
  }

  /** DELETE /push/subscribe, and a push service's 404/410: gone for every web server. Returns whether it existed. */
  async unsubscribe(endpoint: string): Promise<boolean> {
    const existed = Number(await this.o.store.send("DEL", [subKey(endpoint)])) > 0;
    await this.o.store.publishPayload(CHANGES, JSON.stringify({ op: "del", endpoint }));
    this.changed(endpoint);
    this.forget(endpoint);
    return existed;
  }

  /** Drops subscriptions not renewed for 60 days: the browser has most likely forgotten them. */
  private async expire(): Promise<void> {
    const cutoff = Date.now() - EXPIRE_AFTER_MS;
    for (const rec of [...this.subs.values()])
      if (rec.renewedAt < cutoff) {
        this.o.count.removed(); // counted as it is dropped, like a gone one below, not after the change is announced
        await this.unsubscribe(rec.endpoint).catch((err: Error) => this.o.log(`web: push: cannot drop an expired subscription: ${err.message}`));
      }
  }

  /** Which subscriptions want a message on `channel`: by name or by glob. */
  private targets(channel: string): PushRecord[] {
    const out: PushRecord[] = [];
    for (const rec of this.subs.values()) if (rec.channels.some((c) => c === channel || (this.matchers.get(c)?.(channel) ?? false))) out.push(rec);
    return out;
  }

  /** A live message, as the hub checked it: its channel is the frame's, and an id is one its history holds. */
  private onMessage(env: CheckedEnvelope): void {
    if (isReservedChannel(env.channel)) return; // a glob like * also matches the server's own channels
    // A plain message's text is its whole payload.
    this.inOrder(env.channel, () => this.handle(env.channel, env, env.message));
  }

  /** Runs `task` after every earlier one for `channel`: claims must go in ID order. */
  private inOrder(channel: string, task: () => Promise<void>): void {
    const next = (this.chains.get(channel) ?? Promise.resolve()).then(task).catch((err: Error) => this.o.log(`web: push on ${channel}: ${err.message}`));
    this.chains.set(channel, next);
    void next.then(() => {
      if (this.chains.get(channel) === next) this.chains.delete(channel);
    });
  }

  /**
   * Messages on `channel` after the last one any web server claimed for pushing (at most 100): after a restart, or
   * while the hub was away. Their claims still make each one pushed once.
   */
  private async catchUp(channel: string): Promise<void> {
    const last = await this.claims.top(channel);
    if (last === null) return;
    for (const env of await this.history.after(channel, last, 100)) await this.handle(channel, env, JSON.stringify(env));
  }

  /**
   * One message, from history (catch-up) or as the hub checked it: its id, if any, is one the channel's history holds,
   * so the claim below, keyed by that id, cannot be pushed past every real ID by a forged one.
   */
  private async handle(channel: string, env: CheckedEnvelope, payload: string): Promise<void> {
    // A base64 body is UnifiedPush's ciphertext for another app: no browser can read it, so it is not pushed.
    if (env.encoding === "base64") return;
    const targets = this.targets(channel);
    if (!targets.length) return;
    // A channel watch and a pattern watch both deliver the same message: handle it once here. Plain text is keyed by
    // its hash: 10,000 remembered payloads of up to 64 KB each would be a memory bill anyone who may publish could run up.
    // A Cache: no message has no id either (issue 25): keyed by its hash too, or every one after the first would be "seen".
    const key = `${channel}\n${env.plain || !env.id ? createHash("sha256").update(payload).digest("base64url") : env.id}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (this.seen.size > 10_000) this.seen.delete(this.seen.values().next().value!);
    // Only to users who may read the channel under the ACL in force now (asked once per user per message).
    const acl = this.o.acl?.();
    const allowed = new Map<string, boolean>();
    const mayGet = (rec: PushRecord) => {
      let yes = allowed.get(rec.user);
      if (yes === undefined) allowed.set(rec.user, (yes = mayRead(acl, rec.user, channel)));
      return yes;
    };
    const readers = acl ? targets.filter(mayGet) : targets;
    if (!readers.length) return;
    try {
      if (!(await this.claim(env, channel, payload))) return; // another web server pushes this one
    } catch (err) {
      this.o.count.failed("claim");
      this.o.log(`web: push: cannot claim a message on ${channel}, not pushed: ${(err as Error).message}`);
      return;
    }
    const body = pushPayload(env);
    const urgency = pushUrgency(env.priority);
    for (const rec of readers) this.enqueue({ endpoint: rec.endpoint, payload: body, urgency, attempt: 0 });
  }

  /**
   * Several web servers see every message; exactly one pushes it. XADD with the message's own ID to a claims
   * stream succeeds once and fails for everyone after ("equal or smaller"), on our server and on Redis alike.
   * A plain PUBLISH has no ID: its claim is a stream named by its content and second, created once (1-1).
   */
  private async claim(env: Envelope & { plain?: true }, channel: string, payload: string): Promise<boolean> {
    const refusedAsTaken = (err: unknown) => /equal or smaller/.test((err as Error).message);
    if (env.id && !env.plain) {
      try {
        await this.o.store.send("XADD", [claimsKey(channel), "MAXLEN", "~", "1000", env.id, "by", this.serverId]);
        return true;
      } catch (err) {
        if (refusedAsTaken(err)) return false;
        throw err;
      }
    }
    const key = `notistream-push:once:${createHash("sha256").update(`${channel}\0${payload}\0${Math.floor(Date.now() / 1000)}`).digest("hex")}`;
    try {
      await this.o.store.send("XADD", [key, "1-1", "by", this.serverId]);
    } catch (err) {
      if (refusedAsTaken(err)) return false;
      throw err;
    }
    setTimeout(() => void this.o.store.send("DEL", [key]).catch(() => {}), 60_000).unref?.();
    return true;
  }

  private enqueue(job: Job): void {
    if (this.sends.waiting >= this.queueMax) {
      this.o.count.failed("queue_full");
      return;
    }
    this.sends.add(job);
  }

  /** The VAPID Authorization header for a push service's origin: signed once and reused while it is valid. */
  private vapid(origin: string): string {
    const now = Math.floor(Date.now() / 1000);
    const cached = this.jwts.get(origin);
    if (cached && cached.until - now > 3600) return cached.header;
    const until = now + 12 * 3600; // RFC 8292: at most 24 hours
    const h = webpush.getVapidHeaders(origin, this.o.contact, this.o.keys.publicKey, this.o.keys.privateKey, "aes128gcm", until);
    this.jwts.set(origin, { header: h.Authorization, until });
    return h.Authorization;
  }

  private async send(job: Job): Promise<void> {
    const rec = this.subs.get(job.endpoint);
    if (!rec) return; // unsubscribed while it waited
    // Another web server may have stored it under other --push-endpoints: this one contacts only what it allows.
    if (endpointRefusal(rec.endpoint, this.o.extraOrigins) !== null) return this.o.count.failed("endpoint_not_allowed_here");
    let status = 0;
    let retryAfter: string | null = null;
    let location: string | null = null;
    try {
      const origin = new URL(rec.endpoint).origin;
      const req = webpush.generateRequestDetails({ endpoint: rec.endpoint, keys: rec.keys }, job.payload, {
        headers: { Authorization: this.vapid(origin) },
        TTL: this.o.ttlSeconds(),
        urgency: job.urgency,
        contentEncoding: "aes128gcm",
      });
      // "manual": a redirect is answered, not followed; it could lead outside the allowed push services.
      const res = await fetch(req.endpoint, { method: "POST", headers: req.headers as Record<string, string>, body: new Uint8Array(req.body), redirect: "manual", signal: AbortSignal.timeout(30_000) });
      status = res.status;
      retryAfter = res.headers.get("retry-after");
      location = res.headers.get("location");
      await res.arrayBuffer(); // let the connection be reused
    } catch (err) {
      status = 0; // no answer: the network, DNS or a timeout; worth another try
      if (job.attempt === 0) this.o.log(`web: push to ${new URL(rec.endpoint).origin} failed: ${(err as Error).message}; trying again`);
    }
    const outcome = status === 0 ? "retry" : outcomeOf(status);
    if (outcome === "sent") return this.o.count.sent();
    if (outcome === "redirect") {
      this.o.log(`web: push to ${new URL(rec.endpoint).origin} answered ${status}, a redirect${location ? ` to ${redirectTarget(location, rec.endpoint)}` : ""}; not followed (push services do not redirect, and it could lead outside the allowed ones), so not sent`);
      return this.o.count.failed("redirect");
    }
    if (outcome === "gone") {
      this.o.count.removed();
      await this.unsubscribe(rec.endpoint).catch((err: Error) => this.o.log(`web: push: cannot remove a gone subscription: ${err.message}`));
      return;
    }
    if (outcome === "retry" && job.attempt < 3) {
      const next = { ...job, attempt: job.attempt + 1 };
      setTimeout(() => this.enqueue(next), retryDelayMs(next.attempt, retryAfter)).unref?.();
      return;
    }
    this.o.count.failed(status === 0 ? "network" : `http_${status}`);
  }
}

