// hub.ts — one shared RESP subscription per web server: channels (and glob patterns) are subscribed while any
// listener wants them (on a Redis Cluster through cluster.ts), messages fan out to their listeners, failures are told.
import { DEFAULT_TIMING, Link, linkOptionsFromUrl, type LinkFailure } from "./link";
import { ClusterSubscriber } from "./cluster";
import { isPattern } from "./glob";
import { bulkText as text, type Reply } from "./resp";

export type HubListener = {
  /** A message on `channel` (for a pattern's listener, the channel that matched). */
  message: (channel: string, payload: string) => void;
  /** The subscription was (re)established: the listener catches up from history for anything it missed. */
  resubscribed: () => void;
  /** The shared subscription went down (with why) or came back (null). */
  status?: (problem: string | null) => void;
};


export class Hub {
  private readonly listeners = new Map<string, Set<HubListener>>();
  /** Channels whose SUBSCRIBE the current connection has confirmed. */
  private confirmed = new Set<string>();
  private readonly link: Link;
  /** Set once the node in the URL says it is a Redis Cluster node: subscriptions go through it from then on. */
  private cluster: ClusterSubscriber | null = null;
  /** Why the hub cannot deliver, if it cannot: a refused login or SUBSCRIBE, or the server being away. */
  private problem: LinkFailure | null = null;
  /** The last reason logged, so a failure that repeats on every retry is logged once. */
  private logged = "";

  constructor(
    private readonly url: string,
    private readonly ca?: string,
    private readonly log: (line: string) => void = console.error,
  ) {
    this.link = new Link(linkOptionsFromUrl(url, ca), {
      ready: () => this.link.askLayout((layout) => (layout.cluster ? this.useCluster() : this.subscribeAll())),
      push: (items) => this.onPush(items),
      down: (failure, retryInMs) => {
        this.confirmed = new Set();
        this.failed(failure, retryInMs);
      },
      refused: (failure) => this.failed(failure, null),
    },
    // SSE readers wait on the hub: come back within 5 s of the server (they catch up from history meanwhile).
    { ...DEFAULT_TIMING, backoffCapMs: 5000 });
    // Connected from the start, not at the first listener: a pub/sub server full of subscribers refuses newcomers.
    this.link.start();
  }

  /** On one node: (re)subscribes to everything listened to, on the link. */
  private subscribeAll(): void {
    this.confirmed = new Set();
    const names = [...this.listeners.keys()];
    const channels = names.filter((n) => !isPattern(n));
    const patterns = names.filter(isPattern);
    if (channels.length) this.link.send(["SUBSCRIBE", ...channels]);
    if (patterns.length) this.link.send(["PSUBSCRIBE", ...patterns]);
    if (!names.length) this.recovered();
  }

  /** The node is part of a Redis Cluster: hand every subscription to a cluster subscriber and close the link. */
  private useCluster(): void {
    this.link.stop();
    this.log("web: hub: the pub/sub server is a Redis Cluster node; subscribing by SSUBSCRIBE on each shard (PSUBSCRIBE for globs)");
    this.cluster = new ClusterSubscriber(this.url, this.ca, {
      message: (name, channel, payload) => {
        for (const l of this.listeners.get(name) ?? []) l.message(channel, payload);
      },
      // Live again (first time, or after a failover): listeners catch up from history, which has what was missed;
      // the messages the subscriber held come after (each listener keeps them back until its catch-up is done).
      live: (name) => {
        this.recovered();
        this.confirmed.add(name);
        for (const l of this.listeners.get(name) ?? []) l.resubscribed();
      },
      problem: (reason) => {
        this.confirmed = new Set();
        this.failed({ fatal: false, code: "CLUSTER", reason }, null);
      },
    });
    this.recovered();
    for (const name of this.listeners.keys()) this.cluster.add(name);
  }

  /** Listens to `channel` (a glob pattern uses PSUBSCRIBE) until the returned function is called. The first listener subscribes. */
  watch(channel: string, l: HubListener): () => void {
    this.listen(channel, l);
    return () => this.unlisten(channel, l);
  }

  /** watch() without the function to stop: for callers that hold many listeners and keep them anyway (SSE streams). */
  listen(channel: string, l: HubListener): void {
    let set = this.listeners.get(channel);
    if (!set) {
      this.listeners.set(channel, (set = new Set()));
      if (this.cluster) this.cluster.add(channel);
      else this.link.send([isPattern(channel) ? "PSUBSCRIBE" : "SUBSCRIBE", channel]);
    }
    set.add(l);
    // Already live: the newcomer can catch up now; otherwise it will when the SUBSCRIBE is confirmed.
    if (this.confirmed.has(channel)) queueMicrotask(() => l.resubscribed());
    if (this.problem) queueMicrotask(() => l.status?.(this.problem?.reason ?? null));
    if (!this.cluster) this.link.start();
  }

  /** Stops `l` listening to `channel`; the last listener to go unsubscribes. */
  unlisten(channel: string, l: HubListener): void {
    const s = this.listeners.get(channel);
    if (!s) return;
    s.delete(l);
    if (s.size === 0) {
      this.listeners.delete(channel);
      this.confirmed.delete(channel);
      if (this.cluster) this.cluster.remove(channel);
      else this.link.send([isPattern(channel) ? "PUNSUBSCRIBE" : "UNSUBSCRIBE", channel]);
    }
  }

  /** How many channels the one shared connection is subscribed to (for tests and /health). */
  get channelCount(): number {
    return this.listeners.size;
  }

  /** `name`'s subscription is confirmed now: a listener added now misses nothing published from now on. */
  isLive(name: string): boolean {
    return this.confirmed.has(name) && this.problem === null;
  }

  /** Connected, logged in and not refused. */
  get connected(): boolean {
    return (this.cluster !== null || this.link.ready) && this.problem === null;
  }

  /** Why the hub cannot deliver right now (null when it can, or when nobody has asked it for anything yet). */
  get error(): string | null {
    return this.problem?.reason ?? null;
  }

  private onPush(items: Reply[]): void {
    const kind = text(items[0]);
    if (kind === "message" || kind === "pmessage") {
      // [message, channel, payload] or [pmessage, pattern, channel, payload]: a pattern's listeners get the channel.
      const at = kind === "message" ? 1 : 2;
      const ch = text(items[at]);
      const payload = text(items[at + 1]);
      for (const l of this.listeners.get(text(items[1])) ?? []) l.message(ch, payload);
    } else if (kind === "subscribe" || kind === "psubscribe") {
      this.recovered();
      const ch = text(items[1]);
      if (!this.confirmed.has(ch) && this.listeners.has(ch)) {
        this.confirmed.add(ch);
        for (const l of this.listeners.get(ch) ?? []) l.resubscribed();
      }
    }
  }

  private failed(failure: LinkFailure, retryInMs: number | null): void {
    this.problem = failure;
    if (failure.reason !== this.logged) {
      this.logged = failure.reason;
      const what = failure.fatal ? "cannot subscribe (this will not fix itself: check --redis and the pub/sub server's users)" : "lost the pub/sub server";
      this.log(`web: hub ${what}: ${failure.reason}${retryInMs !== null ? `; trying again in ${(retryInMs / 1000).toFixed(1)} s` : ""}`);
    }
    for (const set of this.listeners.values()) for (const l of set) l.status?.(failure.reason);
  }

  private recovered(): void {
    if (!this.problem) return;
    this.problem = null;
    if (this.logged) this.log("web: hub subscribed again");
    this.logged = "";
    for (const set of this.listeners.values()) for (const l of set) l.status?.(null);
  }

  close(): void {
    this.link.stop();
    this.cluster?.stop();
  }
}
