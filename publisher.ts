// publisher.ts — the web server's commands and publishing: XADD to the channel's history, then PUBLISH the envelope,
// on one node (Bun's RedisClient, made again whenever it breaks) or a Redis Cluster (cluster.ts); failures become 503s.
import { RedisClient } from "bun";
import { buildEnvelope, envelopeFields, type Notification } from "./message";
import { ClusterCommands } from "./cluster";
import { SINGLE_NODE, layoutFromInfo, type Layout } from "./layout";
import { isPattern } from "./glob";
import { backoffDelay } from "./link";

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

/** What the web server's readers (events.ts, push.ts) need of the store: commands, keys, the layout, publishing. */
export type Store = {
  send(command: string, args: string[]): Promise<unknown>;
  keys(pattern: string): Promise<string[]>;
  layout(): Promise<Layout>;
  publishPayload(channel: string, payload: string): Promise<number>;
};

/** How long WAIT may hold a publish on a cluster before the web server answers 503. */
const CLUSTER_WAIT_MS = 1000;

export class Publisher implements Store {
  private client: RedisClient | null = null;
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
  /** The connection the stall watchdog closed, so its failures say why. */
  private stalled: RedisClient | null = null;
  private readonly progressed = () => {
    this.pending--;
    this.waitingSince = Date.now();
  };

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
      this.client?.close();
      this.client = null;
      const globs = this.clusterGlobs ? " (and by PUBLISH, for glob subscribers)" : "; glob subscriptions are off (--cluster-globs off)";
      this.log(`web: ${redactUrl(this.url)} is a Redis Cluster node: history keys are hash-tagged, messages go by SPUBLISH${globs}${this.clusterWait ? `, and a publish waits for ${this.clusterWait} replica(s)` : ""}`);
    } else if (this.clusterWait) this.log("web: --cluster-wait applies to a Redis Cluster only; this is a single node");
    return layout;
  }

  /** Set by hold(): the connection is made again as soon as it closes, not at the next request. */
  private holding = false;
  private holdAttempt = 0;
  private holdTimer: ReturnType<typeof setTimeout> | null = null;
  /** What hold() does when the connection is lost; nothing until hold() is called. */
  private onLost: () => void = () => {};

  /**
   * Connects now and stays connected: once subscribers fill the pub/sub server's --maxclients, a connection made
   * later would be refused, so the web server keeps the one it has and makes a lost one again at once (with backoff).
   */
  hold(): void {
    this.holding = true;
    const again = () => {
      if (!this.holding || this.cluster) return; // ioredis keeps a cluster's connections itself
      this.layout()
        .then(() => this.sendToNode("PING", []))
        .then(() => (this.holdAttempt = 0))
        .catch(() => this.onLost());
    };
    // One pending retry at a time, with the link's backoff (full jitter, 100 ms doubling to 5 s).
    this.onLost = () => {
      if (this.holdTimer) clearTimeout(this.holdTimer);
      this.holdTimer = setTimeout(again, backoffDelay(this.holdAttempt++, Math.random, 100, 5000));
    };
    again();
  }

  private connection(): RedisClient {
    if (!this.client) {
      // No offline queue and no silent retries: a publish either reaches the server now or the caller gets 503.
      const c = new RedisClient(this.url, { autoReconnect: false, enableOfflineQueue: false, connectionTimeout: 3000, ...(this.ca ? { tls: { ca: this.ca } } : {}) });
      c.onclose = () => {
        if (this.client !== c) return;
        this.client = null;
        this.onLost();
      };
      this.client = c;
    }
    return this.client;
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
      // Closing it fails every command on it at once (503s) and makes a new one.
      if (this.pending > 0 && this.client && now - this.waitingSince >= PUBLISH_TIMEOUT_MS) {
        this.stalled = this.client;
        this.client.close();
      }
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

  /** Runs one command on the node in the URL (Bun's RedisClient). */
  private async sendToNode(command: string, args: string[]): Promise<unknown> {
    const c = this.connection();
    try {
      if (!c.connected) await this.withTimeout(c.connect());
      // The reply is awaited as it is, with no wrapper per call: a wrapper's extra turns spread the web server's
      // commands over more writes (less pipelining); measured 10-15 µs of CPU per POST (bench/ingest.ts).
      const reply = c.send(command, args);
      if (this.pending++ === 0) this.waitingSince = Date.now();
      this.watch();
      void reply.then(this.progressed, this.progressed);
      return await reply;
    } catch (err) {
      // The server answered with an error (MISCONF on a full disk, NOPERM): the connection is fine, say what it said.
      if ((err as { code?: string }).code === "ERR_REDIS_SERVER_ERROR")
        throw new Refused(`cannot publish: the pub/sub server refused it: ${(err as Error).message}`);
      // Drop the connection so the next request starts clean: the server may be back by then.
      if (this.client === c) this.client = null;
      c.close();
      this.onLost();
      const why = this.stalled === c ? `no answer within ${PUBLISH_TIMEOUT_MS} ms` : err instanceof Error ? err.message : String(err);
      throw new Unavailable(`cannot publish: the pub/sub server at ${redactUrl(this.url)} is unavailable (${why})`);
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
    const receivers = await this.publishPayload(n.channel, JSON.stringify(buildEnvelope(n, id, now)));
    return { id, channel: n.channel, receivers };
  }

  close(): void {
    this.holding = false;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    this.client?.close();
    this.cluster?.close();
  }
}
