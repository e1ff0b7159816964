// web_publisher.ts — the web server's commands and publishing: XADD to the channel's history, then PUBLISH the envelope,
// on one node (a Link, held from the start) or a Redis Cluster (cluster.ts); failures become 503s.
import { buildEnvelope, envelopeFields, type Notification } from "./message";
import { ClusterCommands } from "./cluster";
import { SINGLE_NODE, layoutFromInfo, type Layout } from "./layout";
import { isPattern } from "./glob";
import { DEFAULT_TIMING, Link, LinkError, linkOptionsFromUrl, type LinkFailure } from "./link";
import { replyToJS } from "./resp";

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

export type Published = { id: string; channel: string; receivers: number };

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

/** How long WAIT may hold a publish on a cluster before the web server answers 503. */
const CLUSTER_WAIT_MS = 1000;

/**
 * The one node's connection: a request waits at most this long for it to come up (then 503), and a lost one is
 * made again with the link's backoff capped at 5 s, or at once when a request is waiting.
 */
const NODE_TIMING = { ...DEFAULT_TIMING, connectTimeoutMs: 3000, backoffCapMs: 5000 };

export class Publisher implements Store {
  /** One node: commands go through one Link, written once per event-loop turn (one segment for many POSTs). */
  private link: Link | null = null;
  /** Requests waiting for the link to come up: told when it is ready or when the attempt failed. */
  private readyWaiters: { ready: () => void; failed: (f: LinkFailure) => void }[] = [];
  /** Known once the first node answered INFO cluster; a cluster then gets its own connections. */
  private known: Layout | null = null;
  private cluster: ClusterCommands | null = null;
  /** Cluster calls in flight and when they started: one watchdog timer fails those that take too long. */
  private readonly inflight = new Map<number, { started: number; reject: (e: Error) => void }>();
  private nextCall = 0;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  /** One node: commands sent and not answered yet, and since when no reply has come while some were. */
  private pending = 0;
  private waitingSince = 0;
  /** What publish() sent lately: the hub takes these as they are (see RecentlyPublished). */
  private readonly recent = new RecentlyPublished();

  constructor(
    private readonly url: string,
    private readonly historyMax: number,
    private readonly ca?: string,
    /** On a cluster: answer 200 only once this many replicas hold the message (--cluster-wait). */
    private readonly clusterWait = 0,
    /** On a cluster: also PUBLISH (broadcast to every node) so glob subscribers get messages (--cluster-globs). */
    readonly clusterGlobs = true,
    private readonly log: (line: string) => void = () => {},
  ) {}

  /**
   * One node or a cluster, asked of the node in the URL once (`INFO cluster`). A node that refuses INFO (an ACL) is
   * taken to be a single node. Fails with Unavailable while the node cannot be reached.
   */
  async layout(): Promise<Layout> {
    if (this.known) return this.known;
    let layout: Layout;
    try {
      layout = layoutFromInfo(String(await this.sendToNode("INFO", ["cluster"])));
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      layout = SINGLE_NODE;
    }
    if (this.known) return this.known; // another request detected it meanwhile
    this.known = layout;
    if (layout.cluster) {
      this.cluster = new ClusterCommands(this.url, this.ca);
      this.link?.stop();
      this.link = null;
      const globs = this.clusterGlobs ? " (and by PUBLISH, for glob subscribers)" : "; glob subscriptions are off (--cluster-globs off)";
      this.log(`web: ${redactUrl(this.url)} is a Redis Cluster node: history keys are hash-tagged, messages go by SPUBLISH${globs}${this.clusterWait ? `, and a publish waits for ${this.clusterWait} replica(s)` : ""}`);
    } else if (this.clusterWait) this.log("web: --cluster-wait applies to a Redis Cluster only; this is a single node");
    return layout;
  }

  /**
   * Connects now and stays connected: once subscribers fill the pub/sub server's --maxclients, a connection made
   * later would be refused, so the web server keeps the one it has, and the link makes a lost one again at once.
   */
  hold(): void {
    this.layout().catch(() => {}); // connects the node's link; a cluster's connections are kept by ioredis
  }

  private node(): Link {
    if (!this.link) {
      const link = new Link(
        linkOptionsFromUrl(this.url, this.ca),
        {
          ready: () => {
            for (const w of this.readyWaiters.splice(0)) w.ready();
          },
          push: () => {},
          // Every command on the link settles (reply or failure), so `pending` needs no reset here.
          down: (failure) => {
            for (const w of this.readyWaiters.splice(0)) w.failed(failure);
          },
        },
        NODE_TIMING,
      );
      link.start();
      this.link = link;
    }
    return this.link;
  }

  /** The node's link once it is up: a request that finds it down asks for a connection now and waits for it. */
  private async readyNode(): Promise<Link> {
    const link = this.node();
    if (link.ready) return link;
    link.connectNow();
    const failure = await new Promise<LinkFailure | null>((resolve) => {
      const timer = setTimeout(() => resolve({ fatal: false, code: "ETIMEDOUT", reason: `no connection within ${NODE_TIMING.connectTimeoutMs} ms` }), NODE_TIMING.connectTimeoutMs + 500);
      this.readyWaiters.push({ ready: () => (clearTimeout(timer), resolve(null)), failed: (f) => (clearTimeout(timer), resolve(f)) });
    });
    if (failure) throw new Unavailable(`cannot publish: the pub/sub server at ${redactUrl(this.url)} is unavailable (${failure.reason})`);
    return link;
  }

  // One shared 1 s watchdog instead of a setTimeout and a Promise.race per call: timers were a visible
  // share of the ingest profile. On one node it watches the connection, not each call: see sendToNode.
  private watch(): void {
    this.watchdog ??= setInterval(() => {
      const now = Date.now();
      for (const [k, call] of this.inflight) {
        if (now - call.started < PUBLISH_TIMEOUT_MS) continue;
        this.inflight.delete(k);
        call.reject(new Error(`no answer within ${PUBLISH_TIMEOUT_MS} ms`));
      }
      // Replies come back in order on one connection: no reply for that long while commands wait means it is stuck.
      // Ending it fails every command on it at once (503s) and makes a new one.
      if (this.pending > 0 && this.link?.ready && now - this.waitingSince >= PUBLISH_TIMEOUT_MS)
        this.link.abort({ fatal: false, code: "ETIMEDOUT", reason: `no answer within ${PUBLISH_TIMEOUT_MS} ms` });
    }, 1000);
  }

  /** A cluster call or a connect, failed by the watchdog if it takes longer than PUBLISH_TIMEOUT_MS. */
  private async withTimeout<T>(p: Promise<T>): Promise<T> {
    const id = this.nextCall++;
    this.watch();
    return await new Promise<T>((resolve, reject) => {
      this.inflight.set(id, { started: Date.now(), reject });
      p.then(
        (v) => {
          this.inflight.delete(id);
          resolve(v);
        },
        (e: unknown) => {
          this.inflight.delete(id);
          reject(e);
        },
      );
    });
  }

  /** Runs one command (routed by key on a cluster); an error reply or a broken connection becomes Unavailable. */
  async send(command: string, args: string[]): Promise<unknown> {
    if (!this.known) await this.layout(); // asked once; no await per command after that
    if (this.cluster) return this.onCluster((c) => c.run(command, args));
    return this.sendToNode(command, args);
  }

  /** Keys matching `pattern`: on a cluster, from every master. */
  async keys(pattern: string): Promise<string[]> {
    if (!this.known) await this.layout();
    const keys = this.cluster ? await this.onCluster((c) => c.keys(pattern)) : await this.sendToNode("KEYS", [pattern]);
    return Array.isArray(keys) ? keys.map(String) : [];
  }

  /** Publishes a payload as it is: PUBLISH on one node; SPUBLISH (and PUBLISH for globs) on a cluster. */
  async publishPayload(channel: string, payload: string): Promise<number> {
    if (!this.known) await this.layout();
    if (this.cluster) return await this.onCluster((c) => c.publish(channel, payload, this.clusterGlobs));
    return Number(await this.sendToNode("PUBLISH", [channel, payload]));
  }

  /** Null, or why live glob subscriptions cannot work here: a cluster where this web server does not PUBLISH for them. */
  async globRefusal(channels: string[]): Promise<string | null> {
    if (this.clusterGlobs || !channels.some(isPattern)) return null;
    if (!(await this.layout()).cluster) return null;
    return "glob subscriptions are off on this Redis Cluster (the web server runs with --cluster-globs off); subscribe to channels by name";
  }

  /** A cluster call with the same deadline and the same two kinds of failure as a single node's. */
  private async onCluster<T>(call: (c: ClusterCommands) => Promise<T>): Promise<T> {
    try {
      return await this.withTimeout(call(this.cluster!));
    } catch (err) {
      if (err instanceof Unavailable) throw err;
      const why = err instanceof Error ? err.message : String(err);
      if ((err as Error).name === "ReplyError" && !/CLUSTERDOWN|TRYAGAIN|MOVED|ASK|LOADING|MASTERDOWN/.test(why))
        throw new Refused(`cannot publish: the Redis Cluster refused it: ${why}`);
      throw new Unavailable(`cannot publish: the Redis Cluster at ${redactUrl(this.url)} is unavailable (${why})`);
    }
  }

  /** Runs one command on the node in the URL; an error reply is Refused, a lost connection Unavailable. */
  private async sendToNode(command: string, args: string[]): Promise<unknown> {
    const link = this.link?.ready ? this.link : await this.readyNode();
    if (this.pending++ === 0) this.waitingSince = Date.now();
    this.watch();
    try {
      return replyToJS(await link.call([command, ...args]));
    } catch (err) {
      // The server answered with an error (MISCONF on a full disk, NOPERM): the connection is fine, say what it said.
      if (err instanceof LinkError && err.reply !== null) throw new Refused(`cannot publish: the pub/sub server refused it: ${err.reply}`);
      throw new Unavailable(`cannot publish: the pub/sub server at ${redactUrl(this.url)} is unavailable (${(err as Error).message})`);
    } finally {
      this.pending--;
      this.waitingSince = Date.now();
    }
  }

  /**
   * XADD to the channel's history first: its ID becomes the envelope's id. Then PUBLISH the envelope. The history
   * copy and the live copy carry the same `time`, read once from one clock.
   */
  async publish(n: Notification): Promise<Published> {
    const now = Date.now();
    const layout = this.known ?? (await this.layout());
    const xadd = ["MAXLEN", "~", String(this.historyMax), "*", ...envelopeFields(n, now)];
    let id: string;
    if (this.cluster) {
      const stored = await this.onCluster((c) => c.append(layout.historyKey(n.channel), xadd, this.clusterWait, CLUSTER_WAIT_MS));
      // The master has it, but fewer replicas than asked: a failover now could lose it, so this is no 200.
      if (stored.acked < this.clusterWait)
        throw new Unavailable(`cannot confirm the message: ${stored.acked} of ${this.clusterWait} replica(s) acknowledged it within ${CLUSTER_WAIT_MS} ms (it may still be kept)`);
      id = stored.id;
    } else id = String(await this.sendToNode("XADD", [layout.historyKey(n.channel), ...xadd]));
    const payload = JSON.stringify(buildEnvelope(n, id, now));
    // Kept before it is sent: the hub's copy may arrive before the PUBLISH's reply does.
    this.recent.add(n.channel, id, payload);
    const receivers = await this.publishPayload(n.channel, payload);
    return { id, channel: n.channel, receivers };
  }

  /** Did this web server publish exactly `payload` on `channel` as `id`, lately? Then the hub need not check it. */
  publishedHere(channel: string, id: string, payload: string): boolean {
    return this.recent.has(channel, id, payload);
  }

  close(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.link?.stop();
    for (const w of this.readyWaiters.splice(0)) w.failed({ fatal: false, code: "CLOSED", reason: "the web server is stopping" });
    this.cluster?.close();
  }
}
