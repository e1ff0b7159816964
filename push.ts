// push.ts — Web Push for the web server: VAPID keys kept across restarts, subscriptions kept in the pub/sub server
// (shared by every web server), and each message pushed once per phone: claimed, encrypted, queued, retried.
import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import webpush from "web-push";
import { z } from "zod";
import { compileGlob, isPattern } from "./glob";
import { RESERVED_CHANNEL_PREFIX, envelopeFromEntry, isReservedChannel, parsePayload, type Envelope } from "./message";
import { EXPIRE_AFTER_MS, endpointRefusal, outcomeOf, pushPayload, retryDelayMs, urgencyFor, type BrowserSubscription } from "./pushpolicy";
import { InputError } from "./message";
import type { Hub } from "./hub";
import type { Store } from "./publisher";

const VapidFileSchema = z.object({ publicKey: z.string().min(80), privateKey: z.string().min(40) });
export type VapidKeys = z.infer<typeof VapidFileSchema>;

/** The VAPID key pair: from `file`, or from `dataDir`/vapid.json, made there (mode 0600) on the first start. */
export function loadVapidKeys(file: string | undefined, dataDir: string): { keys: VapidKeys; path: string; made: boolean } {
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
    return { keys: keys.data, path, made: false };
  }
  if (file) throw new Error(`the VAPID key file ${file} does not exist; make one with: npx web-push generate-vapid-keys --json > ${file}`);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const keys = webpush.generateVAPIDKeys();
  writeFileSync(path, JSON.stringify(keys, null, 2) + "\n", { mode: 0o600 });
  return { keys, path, made: true };
}

/** A subscription as stored: the browser's endpoint and keys, its channels, who made it, and when it was last renewed. */
const RecordSchema = z.object({
  endpoint: z.string(),
  keys: z.object({ p256dh: z.string(), auth: z.string() }),
  channels: z.array(z.string()),
  user: z.string(),
  renewedAt: z.number(),
});
type PushRecord = z.infer<typeof RecordSchema>;
const ChangeSchema = z.union([z.object({ op: z.literal("put"), record: RecordSchema }), z.object({ op: z.literal("del"), endpoint: z.string() })]);

/** Where subscriptions live in the pub/sub server: one single-entry stream per endpoint, and a channel for changes. */
// Keys outside history's notistream:<channel> namespace, so no channel's history can be read as one of them.
const SUB_PREFIX = "notistream-push:sub:";
const CHANGES = `${RESERVED_CHANNEL_PREFIX}push:changes`;
const subKey = (endpoint: string) => SUB_PREFIX + createHash("sha256").update(endpoint).digest("hex");

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
};

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
  private queue: Job[] = [];
  private head = 0;
  private inflight = 0;
  private readonly concurrency: number;
  private readonly queueMax: number;
  /** The signed VAPID JWT per push-service origin, reused until an hour before it expires (signing dominated a push). */
  private readonly jwts = new Map<string, { header: string; until: number }>();
  /** Messages already handled, as channel and id: a channel and a pattern watch both see each message. */
  private readonly seen = new Set<string>();
  private readonly serverId = randomUUID();
  private sweeper: ReturnType<typeof setInterval> | null = null;
  private unwatchChanges: (() => void) | null = null;

  constructor(private readonly o: PushOptions) {
    this.concurrency = o.concurrency ?? 64;
    this.queueMax = o.queueMax ?? 100_000;
  }

  get publicKey(): string {
    return this.o.keys.publicKey;
  }

  get subscriptionCount(): number {
    return this.subs.size;
  }

  get queued(): number {
    return this.queue.length - this.head + this.inflight;
  }

  /** Loads every stored subscription and listens for messages and other web servers' changes; resolves once subscribed. */
  async start(): Promise<void> {
    this.unwatchChanges = this.o.hub.watch(CHANGES, { message: (_ch, payload) => this.applyChange(payload), resubscribed: () => void this.reload().catch(() => {}) });
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
    const keys = await this.o.store.keys(`${SUB_PREFIX}*`);
    const found = new Map<string, PushRecord>();
    for (const key of keys) {
      const entries = (await this.o.store.send("XREVRANGE", [key, "+", "-", "COUNT", "1"])) as [string, string[]][];
      const fields = entries?.[0]?.[1] ?? [];
      const rec = RecordSchema.safeParse(JSON.parse(fields[fields.indexOf("sub") + 1] ?? "null"));
      if (rec.success) found.set(rec.data.endpoint, rec.data);
    }
    for (const endpoint of [...this.subs.keys()]) if (!found.has(endpoint)) this.forget(endpoint);
    for (const rec of found.values()) void this.remember(rec);
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
      message: (channel, payload) => this.onMessage(channel, payload),
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

  /** POST /push/subscribe, after the access check: stores (or renews, replacing the channels) and tells the others. */
  async subscribe(sub: BrowserSubscription, channels: string[], user: string): Promise<void> {
    const refused = endpointRefusal(sub.endpoint, this.o.extraOrigins);
    if (refused) throw new InputError(refused);
    const record: PushRecord = { endpoint: sub.endpoint, keys: sub.keys, channels: [...new Set(channels)], user, renewedAt: Date.now() };
    await this.o.store.send("XADD", [subKey(sub.endpoint), "MAXLEN", "1", "*", "sub", JSON.stringify(record)]);
    await this.o.store.publishPayload(CHANGES, JSON.stringify({ op: "put", record }));
    // Answered once this server is subscribed: a message published after the 201 is pushed.
    await this.remember(record);
  }

  /** DELETE /push/subscribe, and a push service's 404/410: gone for every web server. Returns whether it existed. */
  async unsubscribe(endpoint: string): Promise<boolean> {
    const existed = Number(await this.o.store.send("DEL", [subKey(endpoint)])) > 0;
    await this.o.store.publishPayload(CHANGES, JSON.stringify({ op: "del", endpoint }));
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

  private onMessage(channel: string, payload: string): void {
    if (isReservedChannel(channel)) return; // a glob like * also matches the server's own channels

    const env = parsePayload(channel, payload);
    this.inOrder(channel, () => this.handle(channel, env, payload));
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
    const top = (await this.o.store.send("XREVRANGE", [`notistream-push:claims:${channel}`, "+", "-", "COUNT", "1"])) as [string, string[]][] | null;
    const last = top?.[0]?.[0];
    if (!last) return;
    const missed = (await this.o.store.send("XRANGE", [(await this.o.store.layout()).historyKey(channel), `(${last}`, "+", "COUNT", "100"])) as [string, string[]][] | null;
    for (const [id, fields] of missed ?? []) {
      const env = envelopeFromEntry(String(id), (fields ?? []).map(String), channel);
      await this.handle(channel, env, JSON.stringify(env));
    }
  }

  private async handle(channel: string, env: Envelope & { plain?: true }, payload: string): Promise<void> {
    // A channel watch and a pattern watch both deliver the same message: handle it once here.
    const key = `${channel}\n${env.id || payload}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (this.seen.size > 10_000) this.seen.delete(this.seen.values().next().value!);
    const targets = this.targets(channel);
    if (!targets.length) return;
    try {
      if (!(await this.claim(env, channel, payload))) return; // another web server pushes this one
    } catch (err) {
      this.o.count.failed("claim");
      this.o.log(`web: push: cannot claim a message on ${channel}, not pushed: ${(err as Error).message}`);
      return;
    }
    const body = pushPayload(env);
    const urgency = urgencyFor(env.priority);
    for (const rec of targets) this.enqueue({ endpoint: rec.endpoint, payload: body, urgency, attempt: 0 });
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
        await this.o.store.send("XADD", [`notistream-push:claims:${channel}`, "MAXLEN", "~", "1000", env.id, "by", this.serverId]);
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
    if (this.queue.length - this.head >= this.queueMax) {
      this.o.count.failed("queue_full");
      return;
    }
    this.queue.push(job);
    this.pump();
  }

  /** Starts pushes while fewer than `concurrency` are in flight; the POST that published never waits for them. */
  private pump(): void {
    while (this.inflight < this.concurrency && this.head < this.queue.length) {
      const job = this.queue[this.head++]!;
      // Drop the consumed part now and then instead of shifting the array on every job.
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.inflight++;
      void this.send(job).finally(() => {
        this.inflight--;
        this.pump();
      });
    }
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
    try {
      const origin = new URL(rec.endpoint).origin;
      const req = webpush.generateRequestDetails({ endpoint: rec.endpoint, keys: rec.keys }, job.payload, {
        headers: { Authorization: this.vapid(origin) },
        TTL: this.o.ttlSeconds(),
        urgency: job.urgency,
        contentEncoding: "aes128gcm",
      });
      const res = await fetch(req.endpoint, { method: "POST", headers: req.headers as Record<string, string>, body: new Uint8Array(req.body), signal: AbortSignal.timeout(30_000) });
      status = res.status;
      retryAfter = res.headers.get("retry-after");
      await res.arrayBuffer(); // let the connection be reused
    } catch (err) {
      status = 0; // no answer: the network, DNS or a timeout; worth another try
      if (job.attempt === 0) this.o.log(`web: push to ${new URL(rec.endpoint).origin} failed: ${(err as Error).message}; trying again`);
    }
    const outcome = status === 0 ? "retry" : outcomeOf(status);
    if (outcome === "sent") return this.o.count.sent();
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

