// web_upstream.ts — instant pushes to ntfy's iOS app (ntfy's upstream-base-url): every message on a channel someone may
// read, UnifiedPush's aside, is told to an upstream ntfy server as a poll request (the topic's hash and the id, no text); once.
import { SendQueue } from "./web_sendqueue";
import { createHash, randomUUID } from "node:crypto";
import { backoffDelay } from "./link";
import { isReservedChannel } from "./message";
import { retryDelayMs } from "./web_pushpolicy";
import { isUnifiedPushMessage } from "./web_unifiedpush_rules";
import type { Acl } from "./acl";
import type { CheckedEnvelope, Hub } from "./web_hub";
import type { Metrics } from "./web_metrics";
import type { Store } from "./web_publisher";

/** --upstream-base-url and --upstream-access-token, checked, with --base-url (the topic URL the iOS app knows). */
export type UpstreamSettings = { baseUrl: string; upstreamUrl: string; accessToken?: string };

/**
 * The settings from the flags, checked as ntfy's serve.go checks them: http(s), no trailing slash, --base-url set and
 * not the same URL. Throws a sentence saying what to change (web.ts exits 2 with it). Undefined when off.
 */
export function upstreamSettings(upstream: string | undefined, token: string | undefined, baseUrl: string | undefined): UpstreamSettings | undefined {
  if (upstream === undefined || upstream === "") {
    if (token) throw new Error("--upstream-access-token does nothing without --upstream-base-url (e.g. https://ntfy.sh); set both or neither");
    return undefined;
  }
  if (!/^https?:\/\/[^/]/.test(upstream)) throw new Error(`--upstream-base-url must start with http:// or https://, like https://ntfy.sh, got ${JSON.stringify(upstream)}`);
  if (upstream.endsWith("/")) throw new Error(`--upstream-base-url must not end with a slash: ${upstream.replace(/\/+$/, "")}, not ${upstream}`);
  if (!baseUrl)
    throw new Error("--upstream-base-url needs --base-url, the public URL people enter in ntfy's iOS app (like https://notify.example.com): the upstream is told the hash of <base-url>/<topic>");
  if (baseUrl === upstream) throw new Error(`--base-url and --upstream-base-url are the same (${upstream}); the upstream is the server that wakes iPhones, usually https://ntfy.sh`);
  return { baseUrl, upstreamUrl: upstream, ...(token ? { accessToken: token } : {}) };
}

/** The topic the iOS app subscribes to upstream for <base-url>/<topic> (forwardPollRequest): sha256 hex of that URL. */
export function upstreamTopic(baseUrl: string, channel: string): string {
  return createHash("sha256").update(`${baseUrl}/${channel}`).digest("hex");
}

/**
 * ntfy's forwardPollRequest: POST {upstream}/{hash} with X-Poll-ID and, when set, Authorization: Bearer, and an empty
 * body. No text header (no X-Message, no X-Title): the upstream makes "New message" itself, and the text stays here.
 */
export function pollRequest(s: UpstreamSettings, channel: string, id: string): { url: string; headers: Record<string, string> } {
  const headers: Record<string, string> = { "user-agent": "notistream", "x-poll-id": id };
  if (s.accessToken) headers.authorization = `Bearer ${s.accessToken}`;
  return { url: `${s.upstreamUrl}/${upstreamTopic(s.baseUrl, channel)}`, headers };
}

/**
 * Whether anyone may read `channel` over HTTP under `acl` (no ACL: everyone), not counting `self`, the web server's own
 * pub/sub user (docs/users.acl's web, which reads every channel for the others). A channel nobody may read gets no
 * poll request: no iPhone could fetch the message, and each request spends the upstream's daily allowance.
 */
export function someoneMayRead(acl: Acl | undefined, channel: string, self?: string): boolean {
  if (!acl) return true;
  for (const [name, user] of acl.users) if (name !== self && user.mayReadOverHttp([channel])) return true;
  return false;
}

/** How long to wait before try number `attempt` (1, 2, …): the upstream's Retry-After when given, else link.ts's backoff. */
export function upstreamRetryMs(attempt: number, retryAfter: string | null, random = Math.random): number {
  return retryAfter ? retryDelayMs(attempt, retryAfter) : backoffDelay(attempt, random, 1000, 60_000);
}

/** Why a message is not forwarded (counted as notistream_upstream_skipped_total's reason). */
export type SkipReason = "unifiedpush" | "no_id" | "event" | "no_reader" | "claimed_elsewhere";

export type UpstreamOptions = {
  settings: UpstreamSettings;
  /** The web server's command connection: the claims live there. */
  store: Store;
  hub: Hub;
  /** The ACL in force now (none: everyone reads everything), asked per message. */
  acl: () => Acl | undefined;
  /** The web server's own user on the pub/sub server (--redis's), not a reader: it reads every channel for the others. */
  self?: string;
  count: { forwarded: () => void; retried: (reason: string) => void; failed: (reason: string) => void; dropped: (reason: string) => void; skipped: (reason: SkipReason) => void };
  log: (line: string) => void;
  /** Poll requests waiting or being claimed at most; more are dropped (counted and logged). */
  queueMax?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Tries after the first, for a 429, a 5xx or no answer. */
  retries?: number;
};

type Job = { channel: string; id: string; attempt: number };

/** Per channel, a stream of the message IDs claimed for forwarding (beside Web Push's claims, under the same grant). */
const claimsKey = (channel: string) => `notistream-push:upstream:${channel}`;

export class Upstream {
  /** Poll requests waiting and in flight (web_sendqueue.ts), paused after a 429. */
  private readonly sends: SendQueue<Job>;
  /** Claims asked and not yet answered: they count against the queue's limit too. */
  private claiming = 0;
  private unwatch: (() => void) | null = null;
  private readonly serverId = randomUUID();
  /** The last time each kind of failure was logged: a dead upstream would otherwise log every message. */
  private readonly logged = new Map<string, number>();
  /** Per channel, whether someone may read it, under the ACL `readersOf`. */
  private readonly readers = new Map<string, boolean>();
  private readersOf: Acl | undefined;
  private readonly queueMax: number;
  private readonly retries: number;

  constructor(private readonly o: UpstreamOptions) {
    this.queueMax = o.queueMax ?? 10_000;
    this.sends = new SendQueue((job) => this.send(job), o.concurrency ?? 4);
    this.retries = o.retries ?? 5;
  }

  /** Waiting, being claimed or in flight. */
  get queued(): number {
    return this.sends.waiting + this.sends.running + this.claiming;
  }

  /**
   * Listens to every channel (one pattern, *, on the shared subscription): the publishing path never waits for the
   * upstream. Messages published while the hub was away are not forwarded; the iOS app polls when it is opened.
   */
  async start(): Promise<void> {
    const { promise: live, resolve } = Promise.withResolvers<void>();
    this.unwatch = this.o.hub.watch("*", { message: (env) => this.onMessage(env), resubscribed: resolve });
    // Subscribed before the server takes requests, as Web Push is; a pub/sub server that is away does not hold the start up.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([live, new Promise<void>((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
  }

  stop(): void {
    this.unwatch?.();
    this.sends.stop();
  }

  private onMessage(env: CheckedEnvelope): void {
    if (isReservedChannel(env.channel)) return; // the server's own channels (push changes, tokens) are nobody's messages
    // ntfy: "UP messages are not sent to upstream" (server.go handlePublishInternal); web_unifiedpush_rules.ts tells them.
    if (isUnifiedPushMessage(env)) return this.o.count.skipped("unifiedpush");
    // A plain RESP PUBLISH or a Cache: no message has no id the iOS app could fetch it by.
    if (env.plain || !env.id) return this.o.count.skipped("no_id");
    // A delete or a clear: the app sees it at its next poll; the day's allowance upstream goes to new messages.
    if (env.event) return this.o.count.skipped("event");
    if (!this.readable(env.channel)) return this.o.count.skipped("no_reader");
    if (this.queued >= this.queueMax) {
      this.o.count.dropped("queue_full");
      this.warn("queue_full", `web: upstream: ${this.queued} poll requests wait already (the upstream is slow or refusing); a message on ${env.channel} is not forwarded`);
      return;
    }
    this.claiming++;
    // Asked now, not after an await: commands on one connection run in the order sent, so claims go in ID order.
    void this.claim(env.channel, env.id)
      .then((mine) => {
        if (mine) this.enqueue({ channel: env.channel, id: env.id, attempt: 0 });
        else this.o.count.skipped("claimed_elsewhere");
      })
      .catch((err: Error) => {
        this.o.count.failed("claim");
        this.warn("claim", `web: upstream: cannot claim a message on ${env.channel}, not forwarded: ${err.message}`);
      })
      .finally(() => this.claiming--);
  }

  /**
   * Several web servers see every message; one forwards it. XADD with the message's own ID to the channel's claims
   * stream succeeds once and fails for everyone after ("equal or smaller"), as Web Push claims (web_push.ts).
   */
  private async claim(channel: string, id: string): Promise<boolean> {
    try {
      await this.o.store.send("XADD", [claimsKey(channel), "MAXLEN", "~", "1000", id, "by", this.serverId]);
      return true;
    } catch (err) {
      if (/equal or smaller/.test((err as Error).message)) return false;
      throw err;
    }
  }

  private enqueue(job: Job): void {
    this.sends.add(job);
  }

  private async send(job: Job): Promise<void> {
    const { url, headers } = pollRequest(this.o.settings, job.channel, job.id);
    let status = 0;
    let retryAfter: string | null = null;
    try {
      // ntfy's client waits 10 s; "manual": a redirect is not followed to wherever it leads.
      const res = await fetch(url, { method: "POST", headers, body: "", redirect: "manual", signal: AbortSignal.timeout(10_000) });
      status = res.status;
      retryAfter = res.headers.get("retry-after");
      await res.arrayBuffer(); // let the connection be reused
    } catch (err) {
      this.warn("network", `web: upstream: ${this.o.settings.upstreamUrl} did not answer a poll request (${(err as Error).message}); trying again`);
    }
    if (status >= 200 && status < 300) return this.o.count.forwarded();
    const retry = status === 0 || status === 429 || status >= 500;
    if (status === 429) {
      const ms = upstreamRetryMs(job.attempt + 1, retryAfter);
      // After a 429, nothing goes out before then: every request would be refused meanwhile.
      this.sends.pauseUntil(Date.now() + ms);
      this.warn("http_429", `web: upstream: ${this.o.settings.upstreamUrl} answered 429 (too many requests; ntfy.sh allows 250 a day without an account): waiting ${Math.ceil(ms / 1000)} s; --upstream-access-token with an ntfy.sh account raises the limit`);
    } else if (status !== 0) this.warn(`http_${status}`, `web: upstream: ${this.o.settings.upstreamUrl} answered ${status} to a poll request${retry ? "; trying again" : ", not forwarded"}`);
    if (retry && job.attempt < this.retries) {
      this.o.count.retried(status === 0 ? "network" : `http_${status}`);
      const next = { ...job, attempt: job.attempt + 1 };
      // A 429 pauses the whole queue (pump); the job itself waits its backoff too.
      setTimeout(() => this.enqueue(next), status === 429 ? 0 : upstreamRetryMs(next.attempt, retryAfter)).unref?.();
      return;
    }
    this.o.count.failed(status === 0 ? "network" : `http_${status}`);
  }

  /** someoneMayRead, remembered per channel until the ACL changes (SIGHUP): it walks every user. */
  private readable(channel: string): boolean {
    const acl = this.o.acl();
    if (acl !== this.readersOf) {
      this.readersOf = acl;
      this.readers.clear();
    }
    let yes = this.readers.get(channel);
    if (yes === undefined) {
      if (this.readers.size >= 10_000) this.readers.clear(); // any publisher may name new channels: bounded
      this.readers.set(channel, (yes = someoneMayRead(acl, channel, this.o.self)));
    }
    return yes;
  }

  /** Logs a kind of failure at most once a minute. */
  private warn(kind: string, line: string): void {
    const now = Date.now();
    if (now - (this.logged.get(kind) ?? 0) < 60_000) return;
    this.logged.set(kind, now);
    this.o.log(line);
  }
}

/**
 * --upstream-base-url and --upstream-access-token at start-up, with a line saying what goes where (the token never
 * shown). Throws a sentence for a bad setting (web.ts exits 2 with it).
 */
export function upstreamFromFlags(f: Record<string, string | undefined>, baseUrl: string | undefined): UpstreamSettings | undefined {
  const s = upstreamSettings(f["upstream-base-url"], f["upstream-access-token"], baseUrl);
  if (!s) {
    console.log("web: instant pushes to ntfy's iOS app are off (no --upstream-base-url): iPhones see messages when the app polls");
    return undefined;
  }
  console.log(
    `web: each message (UnifiedPush's aside) on a channel someone may read is announced to ${s.upstreamUrl} as a poll request, the hash of ${s.baseUrl}/<channel> and the message's id, never its text, ${s.accessToken ? "with --upstream-access-token (hidden)" : "without a token: ntfy.sh allows 250 a day (--upstream-access-token with an account raises it)"}`,
  );
  return s;
}

/** The forwarder, started, with its counters in /metrics; null when --upstream-base-url is not set. */
export async function startUpstream(
  settings: UpstreamSettings | undefined,
  on: { store: Store; hub: Hub; metrics: Metrics; acl: () => Acl | undefined; self?: string | undefined; log: (line: string) => void },
): Promise<Upstream | null> {
  if (!settings) return null;
  const forwarded = on.metrics.counter("notistream_upstream_forwarded_total", "Poll requests the upstream ntfy server (--upstream-base-url) accepted.");
  const retried = on.metrics.counter("notistream_upstream_retried_total", "Poll requests tried again after a 429, a 5xx or no answer, by reason.");
  const failed = on.metrics.counter("notistream_upstream_failed_total", "Poll requests that failed for good, by reason.");
  const dropped = on.metrics.counter("notistream_upstream_dropped_total", "Poll requests dropped before a try, by reason (queue_full).");
  const skipped = on.metrics.counter("notistream_upstream_skipped_total", "Messages not forwarded upstream, by reason (unifiedpush, no_id, event: a delete or clear, no_reader, claimed_elsewhere: another web server forwards it).");
  const upstream = new Upstream({
    settings,
    store: on.store,
    hub: on.hub,
    acl: on.acl,
    ...(on.self ? { self: on.self } : {}),
    count: { forwarded: () => forwarded(), retried: (reason) => retried({ reason }), failed: (reason) => failed({ reason }), dropped: (reason) => dropped({ reason }), skipped: (reason) => skipped({ reason }) },
    log: on.log,
  });
  on.metrics.gauge("notistream_upstream_queued", "Poll requests waiting, being claimed or in flight.", () => upstream.queued);
  await upstream.start();
  return upstream;
}
