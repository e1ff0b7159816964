// backend.ts — the pub/sub server as the web server and the client talk to it: one interface (Backend) in front of one
// node (link.ts) or a Redis Cluster (cluster.ts, ioredis), chosen once when the first node answers INFO cluster.
import { bulkText, replyToJS, type Reply } from "./resp";
import { isPattern } from "./glob";
import { CLUSTER, type Layout } from "./layout";
import { DEFAULT_TIMING, Link, LinkError, type LinkFailure, type LinkOptions, type Timing } from "./link";
import type { ClusterCommands, ClusterSubscriber } from "./cluster";

/** What the owner hears. Every handler is optional: the web server's publisher listens to none. */
export type BackendEvents = {
  /** Connected and logged in, the choice made: one node says so after every reconnect, a cluster once (ioredis keeps it up). */
  ready?: () => void;
  /** A message for `name` (a channel, or the glob that matched `channel`); `channel` is the message frame's. */
  message?: (name: string, channel: string, payload: string) => void;
  /**
   * `name`'s subscription is confirmed (again): anything published from now on reaches `message`, so the owner
   * catches up from history now. Said once per distinct name per connection (one node), and again after each
   * failover or reshard (a cluster, whose messages meanwhile are held and come after this).
   */
  live?: (name: string) => void;
  /**
   * The connection went down (tried again in `retryInMs`), or the cluster cannot be reached or a subscription there
   * failed (`retryInMs` null: ioredis retries by itself). Subscriptions come back by themselves, each with `live`.
   */
  down?: (failure: LinkFailure, retryInMs: number | null) => void;
  /** One node refused something no command waited for (a SUBSCRIBE without the right, say); the connection stays up. */
  refused?: (failure: LinkFailure) => void;
};

export type BackendOptions = {
  /** The one node's keepalive, connect deadline and backoff (link.ts). A command waits up to connectTimeoutMs + 500 for it. */
  timing?: Timing;
  /** A command with no answer for this long fails (one node: the stuck connection is ended and made again). None if unset. */
  commandTimeoutMs?: number;
  /** Told once, when the subscriptions go to a Redis Cluster's shards. */
  log?: (line: string) => void;
};

/**
 * The pub/sub server, one node or a Redis Cluster: the same calls either way. A command that fails rejects with a
 * LinkError: `reply` set when the server refused it (MISCONF, NOPERM: the connection is fine), else `failure` (not
 * reachable in time). Subscriptions are kept across reconnects and failovers; `live` says when each one is confirmed.
 */
export interface Backend {
  /** "the pub/sub server" (one node, or not known yet) or "the Redis Cluster", for messages. */
  readonly name: string;
  /** Connected and logged in (a cluster: once chosen; ioredis keeps its own connections up). */
  readonly connected: boolean;
  /** Connects now, and again after every break, until stop(). Commands and subscriptions start it too. */
  start(): void;
  /** Ends every connection; commands waiting for one fail with `reason`. */
  stop(reason?: string): void;
  /** One node (SINGLE_NODE) or a cluster (CLUSTER), asked once; a node that refuses INFO is one node. */
  layout(): Promise<Layout>;
  /** One command (on a cluster sent to the master of its key's slot; KEYS asks every master), its reply as JS values. */
  call(args: string[]): Promise<unknown>;
  /** Keys matching `pattern` (on a cluster, from every master). */
  keys(pattern: string): Promise<string[]>;
  /** PUBLISH on one node; on a cluster SPUBLISH to the channel's shard and, with `forGlobs`, PUBLISH too. Receivers counted. */
  publish(channel: string, payload: string, forGlobs: boolean): Promise<number>;
  /** XADD to `key`; on a cluster, with `replicas` > 0, then WAIT that many for `waitMs` on the same master (one node: acked 0). */
  append(key: string, xaddArgs: string[], replicas: number, waitMs: number): Promise<{ id: string; acked: number }>;
  /** Subscribes to `name` until unsubscribe: a glob by PSUBSCRIBE, a channel by SUBSCRIBE (on a cluster SSUBSCRIBE on its shard). */
  subscribe(name: string): void;
  unsubscribe(name: string): void;
}

/** The pub/sub server at `node`: connects when started (or at the first command or subscription), then chooses once. */
export function openBackend(node: LinkOptions, on: BackendEvents = {}, options: BackendOptions = {}): Backend {
  return new ChosenOnce(node, on, options);
}

/** A cluster's error that says it is moving or down (a 503 that may pass), not that it refused the command. */
const CLUSTER_IN_FLUX = /CLUSTERDOWN|TRYAGAIN|MOVED|ASK|LOADING|MASTERDOWN/;

/** An ioredis failure as the LinkError every Backend rejects with: refused (a reply) or unreachable (a failure). */
export function clusterError(err: unknown): LinkError {
  const why = err instanceof Error ? err.message : String(err);
  if (err instanceof Error && err.name === "ReplyError" && !CLUSTER_IN_FLUX.test(why)) return new LinkError(why, null, why);
  return new LinkError(why, { fatal: false, code: "CLUSTER", reason: why });
}

/** Requests waiting for the one node's connection: told when it is ready, or when the attempt failed. */
type ReadyWaiter = { ready: () => void; failed: (f: LinkFailure) => void };

/**
 * One node over one Link: commands written once per turn (one segment for many requests), subscriptions renewed
 * on every reconnect. It asks INFO cluster on its first login; a cluster node hands over to `toCluster` and stops.
 */
class OneNode implements Backend {
  readonly name = "the pub/sub server";
  readonly link: Link;
  /** SINGLE_NODE once the node answered INFO cluster; CLUSTER once the cluster took over. */
  known: Layout | null = null;
  readonly names = new Set<string>();
  /** Names whose (P)SUBSCRIBE this connection confirmed. */
  private confirmed = new Set<string>();
  private waiters: ReadyWaiter[] = [];
  private readonly timing: Timing;
  /** Commands sent and not answered yet, and since when no reply has come while some were (the watchdog's view). */
  private pending = 0;
  private waitingSince = 0;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  /** The node said it is a cluster node: its link stays stopped, whoever asks. */
  private handingOver = false;

  constructor(
    node: LinkOptions,
    private readonly on: BackendEvents,
    private readonly options: BackendOptions,
    /** Hands everything to a cluster; false when stopped meanwhile. */
    private readonly toCluster: () => Promise<boolean>,
  ) {
    this.timing = options.timing ?? DEFAULT_TIMING;
    this.link = new Link(
      node,
      {
        ready: () => (this.known ? this.ready() : this.link.askLayout((layout) => void this.detected(layout))),
        push: (items) => this.onPush(items),
        // Every command on the link settles (reply or failure), so `pending` needs no reset here.
        down: (failure, retryInMs) => {
          this.confirmed = new Set();
          for (const w of this.waiters.splice(0)) w.failed(failure);
          this.on.down?.(failure, retryInMs);
        },
        refused: (failure) => this.on.refused?.(failure),
      },
      this.timing,
    );
  }

  private async detected(layout: Layout): Promise<void> {
    if (!layout.cluster) {
      this.known = layout;
      return this.ready();
    }
    this.handingOver = true;
    this.link.stop();
    try {
      if (!(await this.toCluster())) return;
      this.known = CLUSTER;
      for (const w of this.waiters.splice(0)) w.ready();
      this.on.ready?.();
    } catch (err) {
      const failure = { fatal: true, code: "CLUSTER", reason: `cannot talk to the Redis Cluster: ${(err as Error).message}` };
      for (const w of this.waiters.splice(0)) w.failed(failure);
      this.on.down?.(failure, null);
    }
  }

  /** Logged in on one node: subscribe to everything again, then tell who waits. */
  private ready(): void {
    this.confirmed = new Set();
    const names = [...this.names];
    const channels = names.filter((n) => !isPattern(n));
    const patterns = names.filter(isPattern);
    if (channels.length) this.link.send(["SUBSCRIBE", ...channels]);
    if (patterns.length) this.link.send(["PSUBSCRIBE", ...patterns]);
    for (const w of this.waiters.splice(0)) w.ready();
    this.on.ready?.();
  }

  private onPush(items: Reply[]): void {
    const kind = bulkText(items[0]);
    if (kind === "message" || kind === "pmessage") {
      // [message, channel, payload] or [pmessage, pattern, channel, payload]: a pattern's owner gets the channel.
      const at = kind === "message" ? 1 : 2;
      const name = bulkText(items[1]);
      if (this.names.has(name)) this.on.message?.(name, bulkText(items[at]), bulkText(items[at + 1]));
    } else if (kind === "subscribe" || kind === "psubscribe") {
      const name = bulkText(items[1]);
      if (!this.names.has(name) || this.confirmed.has(name)) return;
      this.confirmed.add(name);
      this.on.live?.(name);
    }
  }

  get connected(): boolean {
    return this.link.ready;
  }

  start(): void {
    if (!this.handingOver) this.link.start();
  }

  /** Resolves once the link is up and the node has said what it is; fails with the attempt's failure or after the deadline. */
  whenReady(): Promise<void> {
    this.start();
    this.link.connectNow();
    const ms = this.timing.connectTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new LinkError(`no connection within ${ms} ms`, { fatal: false, code: "ETIMEDOUT", reason: `no connection within ${ms} ms` }));
      }, ms + 500);
      const waiter: ReadyWaiter = {
        ready: () => (clearTimeout(timer), resolve()),
        failed: (f) => (clearTimeout(timer), reject(new LinkError(f.reason, f))),
      };
      this.waiters.push(waiter);
    });
  }

  layout(): Promise<Layout> {
    return this.known ? Promise.resolve(this.known) : this.whenReady().then(() => this.known!);
  }

  call(args: string[]): Promise<unknown> {
    return this.command(args, replyToJS);
  }

  /** Sends `args` once the link is up; the reply as `read` makes it (one step per command: this is the publish path). */
  private command<T>(args: string[], read: (r: Reply) => T): Promise<T> {
    if (!this.link.ready) return this.whenReady().then(() => this.sendNow(args, read));
    return this.sendNow(args, read);
  }

  private sendNow<T>(args: string[], read: (r: Reply) => T): Promise<T> {
    const limitMs = this.options.commandTimeoutMs;
    if (limitMs !== undefined) {
      if (this.pending++ === 0) this.waitingSince = Date.now();
      this.watch(limitMs);
    }
    return new Promise((resolve, reject) =>
      this.link.send(
        args,
        (r) => {
          this.settled(limitMs);
          if (r.type === "error") reject(new LinkError(r.value, null, r.value));
          else resolve(read(r));
        },
        (f) => {
          this.settled(limitMs);
          reject(new LinkError(f.reason, f));
        },
      ),
    );
  }

  private settled(limitMs: number | undefined): void {
    if (limitMs === undefined) return;
    this.pending--;
    this.waitingSince = Date.now();
  }

  // One shared 1 s watchdog instead of a timer per command. Replies come back in order on one connection: no reply
  // for that long while commands wait means it is stuck. Ending it fails every command on it at once and makes a new one.
  private watch(limitMs: number): void {
    this.watchdog ??= setInterval(() => {
      if (this.pending > 0 && this.link.ready && Date.now() - this.waitingSince >= limitMs)
        this.link.abort({ fatal: false, code: "ETIMEDOUT", reason: `no answer within ${limitMs} ms` });
    }, 1000);
  }

  async keys(pattern: string): Promise<string[]> {
    const keys = await this.call(["KEYS", pattern]);
    return Array.isArray(keys) ? keys.map(String) : [];
  }

  publish(channel: string, payload: string): Promise<number> {
    return this.command(["PUBLISH", channel, payload], (r) => Number(replyToJS(r)));
  }

  append(key: string, xaddArgs: string[]): Promise<{ id: string; acked: number }> {
    return this.command(["XADD", key, ...xaddArgs], (r) => ({ id: String(replyToJS(r)), acked: 0 }));
  }

  subscribe(name: string): void {
    if (this.names.has(name)) return;
    this.names.add(name);
    if (this.known) this.link.send([isPattern(name) ? "PSUBSCRIBE" : "SUBSCRIBE", name]); // not ready: sent on login
    this.start();
  }

  unsubscribe(name: string): void {
    if (!this.names.delete(name)) return;
    this.confirmed.delete(name);
    if (this.known) this.link.send([isPattern(name) ? "PUNSUBSCRIBE" : "UNSUBSCRIBE", name]);
  }

  stop(reason = "the connection was closed"): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    this.link.stop();
    for (const w of this.waiters.splice(0)) w.failed({ fatal: false, code: "CLOSED", reason });
  }
}

/**
 * A Redis Cluster through ioredis (cluster.ts): commands on one Cluster client (opened at the first command),
 * subscriptions on another (ClusterSubscriber, which follows failovers and says `live` each time).
 */
class OnCluster implements Backend {
  readonly name = "the Redis Cluster";
  readonly connected = true;
  private commands: ClusterCommands | null = null;
  private subscriber: ClusterSubscriber | null = null;
  /** Calls in flight and when they started: one watchdog timer fails those that take too long. */
  private readonly inflight = new Map<number, { started: number; reject: (e: Error) => void }>();
  private nextCall = 0;
  private watchdog: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly cluster: typeof import("./cluster"),
    private readonly node: LinkOptions,
    private readonly on: BackendEvents,
    private readonly options: BackendOptions,
  ) {}

  private get run(): ClusterCommands {
    return (this.commands ??= new this.cluster.ClusterCommands(this.node));
  }

  private get sub(): ClusterSubscriber {
    if (!this.subscriber) {
      this.options.log?.("the pub/sub server is a Redis Cluster node; subscribing by SSUBSCRIBE on each shard (PSUBSCRIBE for globs)");
      this.subscriber = new this.cluster.ClusterSubscriber(this.node, undefined, {
        message: (name, channel, payload) => this.on.message?.(name, channel, payload),
        live: (name) => this.on.live?.(name),
        problem: (reason) => this.on.down?.({ fatal: false, code: "CLUSTER", reason }, null),
      });
    }
    return this.subscriber;
  }

  /** The subscriber opens at once for an owner that listens (the hub, the client): the first SUBSCRIBE finds it up. */
  openSubscriber(): void {
    if (this.on.message) void this.sub;
  }

  /** `call`'s result, failed as LinkError, and by the watchdog after commandTimeoutMs. */
  private async settle<T>(p: Promise<T>): Promise<T> {
    try {
      return await this.limit(p);
    } catch (err) {
      throw clusterError(err);
    }
  }

  // One shared 1 s watchdog instead of a setTimeout and a Promise.race per call (timers showed in the ingest profile).
  private limit<T>(p: Promise<T>): Promise<T> {
    const limitMs = this.options.commandTimeoutMs;
    if (limitMs === undefined) return p;
    const id = this.nextCall++;
    this.watchdog ??= setInterval(() => {
      const now = Date.now();
      for (const [k, call] of this.inflight) {
        if (now - call.started < limitMs) continue;
        this.inflight.delete(k);
        call.reject(new Error(`no answer within ${limitMs} ms`));
      }
    }, 1000);
    return new Promise<T>((resolve, reject) => {
      this.inflight.set(id, { started: Date.now(), reject });
      p.then(
        (v) => (this.inflight.delete(id), resolve(v)),
        (e: unknown) => (this.inflight.delete(id), reject(e)),
      );
    });
  }

  start(): void {}

  layout(): Promise<Layout> {
    return Promise.resolve(CLUSTER);
  }

  call(args: string[]): Promise<unknown> {
    return this.settle(this.run.run(args[0]!, args.slice(1)));
  }

  async keys(pattern: string): Promise<string[]> {
    return (await this.settle(this.run.keys(pattern))).map(String);
  }

  publish(channel: string, payload: string, forGlobs: boolean): Promise<number> {
    return this.settle(this.run.publish(channel, payload, forGlobs));
  }

  append(key: string, xaddArgs: string[], replicas: number, waitMs: number): Promise<{ id: string; acked: number }> {
    return this.settle(this.run.append(key, xaddArgs, replicas, waitMs));
  }

  subscribe(name: string): void {
    this.sub.add(name);
  }

  unsubscribe(name: string): void {
    this.subscriber?.remove(name);
  }

  stop(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.commands?.close();
    this.subscriber?.stop();
  }
}

/**
 * The choice, made once: everything goes to the one node until it says it is a cluster node; then ioredis loads
 * (only then: a client on one node never loads it) and the subscriptions so far move to the cluster.
 */
class ChosenOnce implements Backend {
  private readonly node: OneNode;
  private current: Backend;
  private stopped = false;

  constructor(
    private readonly where: LinkOptions,
    private readonly on: BackendEvents,
    private readonly options: BackendOptions,
  ) {
    this.node = new OneNode(where, on, options, () => this.toCluster());
    this.current = this.node;
  }

  private async toCluster(): Promise<boolean> {
    const cluster = await import("./cluster");
    if (this.stopped) return false;
    const onCluster = new OnCluster(cluster, this.where, this.on, this.options);
    this.current = onCluster;
    onCluster.openSubscriber();
    for (const name of this.node.names) onCluster.subscribe(name);
    return true;
  }

  /** `then` now when the choice is made (no await per command after that), else once it is. */
  private chosen<T>(then: (b: Backend) => Promise<T>): Promise<T> {
    return this.node.known ? then(this.current) : this.node.layout().then(() => then(this.current));
  }

  get name(): string {
    return this.current.name;
  }

  get connected(): boolean {
    return this.current.connected;
  }

  start(): void {
    this.current.start();
  }

  stop(reason?: string): void {
    this.stopped = true;
    if (this.current !== this.node) this.current.stop(reason);
    this.node.stop(reason);
  }

  layout(): Promise<Layout> {
    return this.node.layout();
  }

  call(args: string[]): Promise<unknown> {
    return this.chosen((b) => b.call(args));
  }

  keys(pattern: string): Promise<string[]> {
    return this.chosen((b) => b.keys(pattern));
  }

  publish(channel: string, payload: string, forGlobs: boolean): Promise<number> {
    return this.chosen((b) => b.publish(channel, payload, forGlobs));
  }

  append(key: string, xaddArgs: string[], replicas: number, waitMs: number): Promise<{ id: string; acked: number }> {
    return this.chosen((b) => b.append(key, xaddArgs, replicas, waitMs));
  }

  subscribe(name: string): void {
    this.current.subscribe(name);
  }

  unsubscribe(name: string): void {
    this.current.unsubscribe(name);
  }
}
