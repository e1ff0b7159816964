// web_publisher.ts — the web server's commands and publishing: XADD to the channel's history, then PUBLISH the envelope
// (PUBLISH alone for Cache: no), through backend.ts (one node, its connection held from the start, or a Redis Cluster); failures become 503s.
import { buildEnvelope, envelopeFields, type Notification } from "./message";
import { openBackend, type Backend } from "./backend";
import type { Layout } from "./layout";
import { isPattern } from "./glob";
import { DEFAULT_TIMING, LinkError, linkOptionsFromUrl } from "./link";
import { ArrivalOrder } from "./catchup";

const PUBLISH_TIMEOUT_MS = 5000;

/** The pub/sub server could not take the message: the caller answers 503. */
export class Unavailable extends Error {}

/** The server answered with an error (MISCONF on a full disk, NOPERM): still a 503, but the connection is fine. */
export class Refused extends Unavailable {}

/** A redis URL safe to print: the password is replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString().replace(/\/$/, "");
  } catch {
    return "(unparsable URL)";
  }
}

/** What a publish did: its stream ID ("" if uncached), channel, receivers, and its Gotify number when its channel is bound to an app. */
export type Published = { id: string; channel: string; receivers: number; gotify?: number };

/**
 * Gotify's message numbers (web_gotify_store.ts): whether a channel is bound to some Gotify app (from memory, no round
 * trip), and the next number of the counter every web server shares.
 */
export type Numbering = {
  /** From memory; a Promise only until the bindings are first loaded (a publish then waits for them). */
  isBound(channel: string): boolean | Promise<boolean>;
  nextMessageNumber(): Promise<number>;
};

/** What the web server's readers (web_events.ts, web_push.ts) need of the store: commands, keys, the layout, publishing. */
export type Store = {
  send(command: string, args: string[]): Promise<unknown>;
  keys(pattern: string): Promise<string[]>;
  layout(): Promise<Layout>;
  publishPayload(channel: string, payload: string): Promise<number>;
};

/**
 * The envelopes this web server published lately, exactly as it sent them, by channel and id: the hub trusts a live
 * payload that is one of them without reading it back from history. Bounded by count and bytes, oldest out first:
 * a payload that fell out costs the hub one XRANGE, nothing more.
 */
export class RecentlyPublished {
  private readonly byKey = new Map<string, string>();
  private chars = 0;
  constructor(
    private readonly maxEntries = 4096,
    private readonly maxChars = 8 * 1024 * 1024,
  ) {}

  add(channel: string, id: string, payload: string): void {
    const key = `${channel}\n${id}`; // an id has no line break, so the key is unambiguous
    const old = this.byKey.get(key);
    if (old !== undefined) this.chars -= old.length;
    this.byKey.delete(key);
    this.byKey.set(key, payload);
    this.chars += payload.length;
    for (const [k, v] of this.byKey) {
      if (this.byKey.size <= this.maxEntries && this.chars <= this.maxChars) break;
      this.byKey.delete(k);
      this.chars -= v.length;
    }
  }

  /** Is `payload` exactly what this web server published on `channel` with `id`? */
  has(channel: string, id: string, payload: string): boolean {
    return this.byKey.get(`${channel}\n${id}`) === payload;
  }
}

/** Channels whose idle publish line is kept (Publisher.publishTurn): past this many, the idle ones go. */
const PUBLISH_LINES_KEPT = 1024;
const runNow = (send: () => void): void => send();

/** How long WAIT may hold a publish on a cluster before the web server answers 503. */
const CLUSTER_WAIT_MS = 1000;

/**
 * The one node's connection: a request waits at most this long for it to come up (then 503), and a lost one is
 * made again with the link's backoff capped at 5 s, or at once when a request is waiting.
 */
const NODE_TIMING = { ...DEFAULT_TIMING, connectTimeoutMs: 3000, backoffCapMs: 5000 };

/**
 * How the web server publishes where it is: the replicas a publish waits for (--cluster-wait, a cluster's only), why
 * live glob subscriptions cannot work (a cluster where it does not PUBLISH for them: --cluster-globs off), and the
 * line that says so at start-up (null: nothing to say). Pure.
 */
export type PublishingPlan = { replicas: number; noGlobs: string | null; line: string | null };

export function publishingPlan(layout: Layout, url: string, clusterWait: number, clusterGlobs: boolean): PublishingPlan {
  if (!layout.cluster) return { replicas: 0, noGlobs: null, line: clusterWait ? "web: --cluster-wait applies to a Redis Cluster only; this is a single node" : null };
  const globs = clusterGlobs ? " (and by PUBLISH, for glob subscribers)" : "; glob subscriptions are off (--cluster-globs off)";
  const wait = clusterWait ? `, and a publish waits for ${clusterWait} replica(s)` : "";
  return {
    replicas: clusterWait,
    noGlobs: clusterGlobs ? null : "glob subscriptions are off on this Redis Cluster (the web server runs with --cluster-globs off); subscribe to channels by name",
    line: `web: ${redactUrl(url)} is a Redis Cluster node: history keys are hash-tagged, messages go by SPUBLISH${globs}${wait}`,
  };
}

/** A notification without a `gotify` field: only the shared counter gives numbers, so a given one is dropped. */
function unnumbered(n: Notification): Notification {
  if (n.gotify === undefined) return n;
  const { gotify: _dropped, ...rest } = n;
  return rest;
}

export class Publisher implements Store {
  /** The pub/sub server, one node or a cluster (backend.ts); on one node every command goes through one connection. */
  private readonly backend: Backend;
  /** Known once the first node answered INFO cluster. */
  private known: Layout | null = null;
  /** How it publishes here, known with the layout. */
  private plan: PublishingPlan = { replicas: 0, noGlobs: null, line: null };
  /** What publish() sent lately: the hub takes these as they are (see RecentlyPublished). */
  private readonly recent = new RecentlyPublished();
  /** Per channel, the publishes whose PUBLISH waits for an earlier one's (publishTurn); idle ones are swept when many. */
  private readonly publishLines = new Map<string, ArrivalOrder<() => void>>();
  /** Gotify's numbering, set by web.ts once its store has started (null: no Gotify apps are kept here). */
  numbering: Numbering | null = null;

  constructor(
    private readonly url: string,
    private readonly historyMax: number,
    ca?: string,
    /** On a cluster: answer 200 only once this many replicas hold the message (--cluster-wait). */
    private readonly clusterWait = 0,
    /** On a cluster: also PUBLISH (broadcast to every node) so glob subscribers get messages (--cluster-globs). */
    readonly clusterGlobs = true,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.backend = openBackend(linkOptionsFromUrl(url, ca), {}, { timing: NODE_TIMING, commandTimeoutMs: PUBLISH_TIMEOUT_MS });
  }

  /**
   * One node or a cluster, asked of the node in the URL once (`INFO cluster`). A node that refuses INFO (an ACL) is
   * taken to be a single node. Fails with Unavailable while the node cannot be reached.
   */
  async layout(): Promise<Layout> {
    if (this.known) return this.known;
    const layout = await this.failsAs(this.backend.layout());
    if (this.known) return this.known; // another request detected it meanwhile
    this.known = layout;
    this.plan = publishingPlan(layout, this.url, this.clusterWait, this.clusterGlobs);
    if (this.plan.line) this.log(this.plan.line);
    return layout;
  }

  /**
   * Connects now and stays connected: once subscribers fill the pub/sub server's --maxclients, a connection made
   * later would be refused, so the web server keeps the one it has, and the link makes a lost one again at once.
   */
  hold(): void {
    this.layout().catch(() => {}); // connects the node's link; a cluster's connections are kept by ioredis
  }

  /**
   * `p`'s result, or its failure in the web server's two kinds: the server refused (an error reply such as MISCONF
   * on a full disk, or NOPERM: the connection is fine, say what it said), or it could not be reached in time.
   */
  private failsAs<T>(p: Promise<T>): Promise<T> {
    return p.catch(this.sorted);
  }

  private readonly sorted = (err: unknown): never => {
    const what = this.backend.name;
    if (err instanceof LinkError && err.reply !== null) throw new Refused(`cannot publish: ${what} refused it: ${err.reply}`);
    throw new Unavailable(`cannot publish: ${what} at ${redactUrl(this.url)} is unavailable (${(err as Error).message})`);
  };

  /** Runs one command (routed by key on a cluster); an error reply is Refused, a broken connection Unavailable. */
  async send(command: string, args: string[]): Promise<unknown> {
    if (!this.known) await this.layout(); // asked once; no await per command after that
    return this.failsAs(this.backend.call([command, ...args]));
  }

  /** Keys matching `pattern`: on a cluster, from every master. */
  async keys(pattern: string): Promise<string[]> {
    if (!this.known) await this.layout();
    return this.failsAs(this.backend.keys(pattern));
  }

  /** Publishes a payload as it is: PUBLISH on one node; SPUBLISH (and PUBLISH for globs) on a cluster. */
  async publishPayload(channel: string, payload: string): Promise<number> {
    if (!this.known) await this.layout();
    return this.failsAs(this.backend.publish(channel, payload, this.clusterGlobs));
  }

  /** Null, or why live glob subscriptions cannot work here: a cluster where this web server does not PUBLISH for them. */
  async globRefusal(channels: string[]): Promise<string | null> {
    if (this.clusterGlobs || !channels.some(isPattern)) return null;
    if (!this.known) await this.layout();
    return this.plan.noGlobs;
  }

  /**
   * XADD to the channel's history first: its ID becomes the envelope's id. Then PUBLISH the envelope. The history
   * copy and the live copy carry the same `time`, read once from one clock. An uncached one is only PUBLISHed.
   */
  async publish(given: Notification, now = Date.now()): Promise<Published> {
    const numbered = this.numbered(given);
    // Awaited only when a number is taken: an unbound channel's publish costs no extra turn.
    const n = numbered instanceof Promise ? await numbered : numbered;
    // Cache: no: PUBLISH alone, so only whoever listens now gets it; no id, since history holds no entry for it.
    const number = n.gotify ? { gotify: n.gotify.id } : {};
    const layout = this.known ?? (await this.layout());
    if (n.uncached) {
      const uncached = JSON.stringify(buildEnvelope(n, "", now));
      return { id: "", channel: n.channel, receivers: await this.publishInTurn(this.publishTurn(n.channel), n.channel, uncached), ...number };
    }
    const xadd = ["MAXLEN", "~", String(this.historyMax), "*", ...envelopeFields(n, now)];
    const { replicas } = this.plan;
    // Taken as the XADD is sent, with nothing between that could throw: turns follow the stream's IDs, and each is settled.
    const turn = this.publishTurn(n.channel);
    let stored: { id: string; acked: number };
    try {
      stored = await this.failsAs(this.backend.append(layout.historyKey(n.channel), xadd, replicas, CLUSTER_WAIT_MS));
      // The master has it, but fewer replicas than asked: a failover now could lose it, so this is no 200.
      if (stored.acked < replicas)
        throw new Unavailable(`cannot confirm the message: ${stored.acked} of ${replicas} replica(s) acknowledged it within ${CLUSTER_WAIT_MS} ms (it may still be kept)`);
    } catch (err) {
      turn(() => {}); // nothing to publish: the next one goes on
      throw err;
    }
    const payload = JSON.stringify(buildEnvelope(n, stored.id, now));
    // Kept before it is sent: the hub's copy may arrive before the PUBLISH's reply does.
    this.recent.add(n.channel, stored.id, payload);
    const receivers = await this.publishInTurn(turn, n.channel, payload);
    return { id: stored.id, channel: n.channel, receivers, ...number };
  }

  /**
   * A place in `channel`'s line of PUBLISHes: call it with the PUBLISH to send once its XADD has answered; it is sent
   * after those of every earlier place. Why: a reader that saw a message takes every lower ID of its channel as seen
   * (catchup.ts's places), so a PUBLISH that overtook an earlier XADD's lost that message for it. Replies come in
   * order, but a request that waited for the connection took one promise step more than one sent once it was up, and
   * when both XADD replies came in one read, the later message was published first.
   */
  private publishTurn(channel: string): (send: () => void) => void {
    let line = this.publishLines.get(channel);
    if (!line) {
      // Idle lines stay, and go in a sweep once there are many: a line made and dropped per publish cost 2-3 µs of
      // the web server's CPU per publish (measured), a kept one next to nothing.
      if (this.publishLines.size >= PUBLISH_LINES_KEPT) for (const [ch, l] of this.publishLines) if (l.idle) this.publishLines.delete(ch);
      this.publishLines.set(channel, (line = new ArrivalOrder<() => void>(runNow)));
    }
    return line.take();
  }

  /** PUBLISHes `payload` in its turn: the number of receivers, or the publish's failure. */
  private publishInTurn(turn: (send: () => void) => void, channel: string, payload: string): Promise<number> {
    return new Promise((resolve, reject) => turn(() => void this.publishPayload(channel, payload).then(resolve, reject)));
  }

  /**
   * The notification with its Gotify number: the next one for a channel some Gotify app is bound to (only those pay
   * the extra round trip), taken before the XADD so numbers follow publish order; elsewhere no `gotify` field at all,
   * so a number never comes from anywhere but the shared counter.
   */
  private numbered(n: Notification): Notification | Promise<Notification> {
    const numbering = this.numbering;
    const bound = numbering?.isBound(n.channel) ?? false;
    const withNumber = async (): Promise<Notification> => ({ ...n, gotify: { ...n.gotify, id: await numbering!.nextMessageNumber() } });
    if (bound === true) return withNumber();
    if (bound !== false) return bound.then((yes) => (yes ? withNumber() : unnumbered(n)));
    return unnumbered(n);
  }

  /** Did this web server publish exactly `payload` on `channel` as `id`, lately? Then the hub need not check it. */
  publishedHere(channel: string, id: string, payload: string): boolean {
    return this.recent.has(channel, id, payload);
  }

  close(): void {
    this.backend.stop("the web server is stopping");
  }
}
