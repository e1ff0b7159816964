// cluster.ts — talking to a Redis Cluster through ioredis, for backend.ts: commands routed by key (KEYS on every master),
// publishing with SPUBLISH, and sharded subscriptions that follow failovers and say when each one is live again (to catch up).
import { readFileSync } from "node:fs";
import { Cluster, type ClusterOptions, type Redis } from "ioredis";
import ShardedSubscriber from "ioredis/built/cluster/ShardedSubscriber";
import { isPattern } from "./glob";
import { keySlot } from "./layout";
import { linkOptionsFromUrl, type LinkOptions } from "./link";

/**
 * ioredis 5.11's ShardedSubscriber.stop() disconnects its node connection and then removes every listener, its "error"
 * one too; a reply already on the wire (an SUNSUBSCRIBE's, during a failover) then fails ioredis's own queue check and
 * is emitted as an "error" nobody listens to, which throws and ends the process (seen in a cluster e2e run: "Command
 * queue state error … Last reply: sunsubscribe,spread/050,7"). A stopped subscriber's connection keeps a listener that
 * drops what it says: it is being closed, and the subscriber group makes a new one.
 */
export function keepStoppedSubscribersQuiet(): void {
  const proto = ShardedSubscriber.prototype as { stop(): void; getInstance(): Redis | null; quieted?: true };
  if (proto.quieted) return;
  const stop = proto.stop;
  proto.stop = function (this: ShardedSubscriber) {
    const instance = this.getInstance();
    stop.call(this);
    instance?.on("error", () => {});
  };
  proto.quieted = true;
}
keepStoppedSubscribersQuiet();

/** Any one node of the cluster: a redis:// or rediss:// URL (with the CA to trust), or link.ts's options. */
export type ClusterNode = string | LinkOptions;

/** An ioredis Cluster client that starts from `node` (user, password, TLS and CA as link.ts takes them). */
export function clusterOf(node: ClusterNode, ca?: string, extra: ClusterOptions = {}): Cluster {
  const o = typeof node === "string" ? linkOptionsFromUrl(node, ca) : node;
  const trusted = o.ca ?? (o.caFile ? readFileSync(o.caFile, "utf8") : undefined);
  const tls = o.tls ? { ...(trusted ? { ca: trusted } : {}) } : undefined;
  return new Cluster([{ host: o.host, port: o.port }], {
    // One sharded subscriber per master, made again after a failover or a reshard (ioredis's ClusterSubscriberGroup).
    shardedSubscribers: true,
    // A failover takes the cluster a few seconds: keep retrying a command a little, then let the caller answer 503.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    maxRedirections: 16,
    slotsRefreshTimeout: 2000,
    redisOptions: {
      username: o.user,
      password: o.password,
      tls,
      connectTimeout: 3000,
      maxRetriesPerRequest: 2,
    },
    ...extra,
  });
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Commands on a cluster, routed by their key. */
export class ClusterCommands {
  readonly cluster: Cluster;

  constructor(node: ClusterNode, ca?: string) {
    this.cluster = clusterOf(node, ca, { enableOfflineQueue: true });
    // Failures reach the caller through the command that failed; the event only keeps them from being unhandled.
    this.cluster.on("error", () => {});
  }

  /** One command, sent to the master of its key's slot (a keyless one to any node). */
  run(name: string, args: string[]): Promise<unknown> {
    if (name.toUpperCase() === "KEYS") return this.keys(args[0] ?? "*");
    return this.cluster.call(name, ...args);
  }

  /** KEYS on every master, merged: each master holds only its own slots' keys. */
  async keys(pattern: string): Promise<string[]> {
    if (this.cluster.status !== "ready") await this.cluster.call("PING");
    const lists = await Promise.all(this.cluster.nodes("master").map((n) => n.keys(pattern)));
    return lists.flat();
  }

  /**
   * XADD, then (when `replicas` > 0) WAIT on the same connection to the same master, so WAIT counts this write.
   * Returns the new ID and how many replicas confirmed it. A MOVED or ASK for the XADD (it did not run) sends both
   * again where the cluster says; ioredis does not do that for a pipeline whose second reply is no error.
   */
  async append(key: string, xaddArgs: string[], replicas: number, waitMs: number): Promise<{ id: string; acked: number }> {
    if (replicas === 0) return { id: String(await this.cluster.call("XADD", key, ...xaddArgs)), acked: 0 };
    let asking: string | null = null;
    for (let attempt = 0; ; attempt++) {
      const node = asking ? this.nodeAt(asking) : await this.masterOf(key);
      const p = node.pipeline();
      if (asking) p.asking();
      p.call("XADD", key, ...xaddArgs).call("WAIT", String(replicas), String(waitMs));
      let results: [Error | null, unknown][];
      try {
        results = ((await p.exec()) ?? []).slice(asking ? 1 : 0);
      } catch (err) {
        this.cluster.refreshSlotsCache(); // the master may have died: the next request should find its successor
        throw err;
      }
      const [[xaddErr, id] = [new Error("no reply to XADD"), null], [waitErr, acked] = [new Error("no reply to WAIT"), null]] = results;
      const redirect = xaddErr ? /^(MOVED|ASK) \d+ (\S+)/.exec(xaddErr.message) : null;
      if (redirect && attempt < 5) {
        asking = redirect[1] === "ASK" ? redirect[2]! : null;
        if (!asking) await new Promise<void>((resolve) => this.cluster.refreshSlotsCache(() => resolve()));
        continue;
      }
      if (xaddErr) throw xaddErr;
      if (waitErr) throw waitErr;
      return { id: String(id), acked: Number(acked) };
    }
  }

  /** The connection to the master that serves `key`'s slot now, by ioredis's slot map. */
  private async masterOf(key: string): Promise<Redis> {
    if (this.cluster.status !== "ready") await this.cluster.call("PING");
    const address = this.cluster.slots[keySlot(key)]?.[0];
    if (!address) throw new Error(`no master serves the slot of ${key} (the cluster is down?)`);
    return this.nodeAt(address);
  }

  private nodeAt(address: string): Redis {
    const node = this.cluster.nodes("master").find((n) => `${n.options.host}:${n.options.port}` === address);
    if (!node) {
      this.cluster.refreshSlotsCache();
      throw new Error(`the cluster's map names ${address}, which is not a known master (a failover under way?)`);
    }
    return node;
  }

  /**
   * SPUBLISH to the channel's shard and, with `forGlobs`, a classic PUBLISH (broadcast by the cluster bus to every
   * node) for glob subscribers, which have no sharded form. Returns the receivers counted.
   */
  async publish(channel: string, payload: string, forGlobs: boolean): Promise<number> {
    if (!forGlobs) return Number(await this.cluster.call("SPUBLISH", channel, payload));
    const [sharded, classic] = await Promise.all([this.cluster.call("SPUBLISH", channel, payload), this.cluster.call("PUBLISH", channel, payload)]);
    return Number(sharded) + Number(classic);
  }

  close(): void {
    this.cluster.disconnect();
  }
}

export type ClusterSubscriberEvents = {
  /** A message for `name` (a channel, or the glob that matched `channel`). */
  message: (name: string, channel: string, payload: string) => void;
  /** `name`'s subscription is live (again): its listeners catch up from history now. */
  live: (name: string) => void;
  /** The cluster cannot be reached or a subscription failed: why. Cleared by the next `live`. */
  problem: (reason: string) => void;
};

/** How long the subscriber waits for ioredis to settle after a topology change before confirming every subscription. */
const SETTLE_MS = 250;

/**
 * Channels by SSUBSCRIBE on their shard's master, globs by PSUBSCRIBE on one node (classic PUBLISH reaches every
 * node). After a failover or a reshard ioredis subscribes again by itself, but does not say when a subscription is
 * live again, so this confirms each one itself (unsubscribe, subscribe, wait for the reply) and only then says `live`:
 * anything published in between is in history, which the listener reads after `live`. Meanwhile live messages are
 * held, and handed on after `live`: one let through first could hide older ones missed from the catch-up.
 */
export class ClusterSubscriber {
  private readonly cluster: Cluster;
  private readonly names = new Set<string>();
  /** Live messages per name held while its subscription may be moving, as [channel, payload]. */
  private readonly held = new Map<string, [string, string][]>();
  private settle: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private attempt = 0;

  constructor(node: ClusterNode, ca: string | undefined, private readonly on: ClusterSubscriberEvents) {
    // Slots are read again every 2 s as well: a reshard that moves a channel's slot ends its SSUBSCRIBE on the old
    // master (Redis 7 sends SUNSUBSCRIBE), and ioredis subscribes again on the new one once it knows the new map.
    this.cluster = clusterOf(node, ca, { slotsRefreshInterval: 2000 });
    this.cluster.on("smessage", (channel: string, payload: string) => this.deliver(channel, channel, payload));
    this.cluster.on("pmessage", (pattern: string, channel: string, payload: string) => this.deliver(pattern, channel, payload));
    const changed = () => {
      for (const name of this.names) if (!this.held.has(name)) this.held.set(name, []);
      this.confirmSoon();
    };
    // A new subscriber set after a topology change, or a node lost: confirm every subscription once things settle.
    this.cluster.on("subscribersReady", changed);
    this.cluster.on("-node", changed);
    this.cluster.on("+node", changed);
    // A subscriber connection's error, such as the unexpected SUNSUBSCRIBE of a moved slot: read the slots now.
    this.cluster.on("nodeError", () => {
      this.cluster.refreshSlotsCache();
      changed();
    });
    this.cluster.on("error", (err: unknown) => {
      this.on.problem(`the Redis Cluster: ${errorText(err)}`);
      changed();
    });
  }

  private deliver(name: string, channel: string, payload: string): void {
    if (!this.names.has(name)) return;
    const h = this.held.get(name);
    if (h) h.push([channel, payload]);
    else this.on.message(name, channel, payload);
  }

  /** Says `name` is live, then hands on what was held for it meanwhile. */
  private live(name: string): void {
    const h = this.held.get(name) ?? [];
    this.held.delete(name);
    this.on.live(name);
    for (const [channel, payload] of h) this.on.message(name, channel, payload);
  }

  /** Subscribes to `name` (a glob uses PSUBSCRIBE); `live` follows once it is. */
  add(name: string): void {
    this.names.add(name);
    void this.confirm(name).then((ok) => ok || this.confirmSoon());
  }

  remove(name: string): void {
    if (!this.names.delete(name)) return;
    this.held.delete(name);
    const done = isPattern(name) ? this.cluster.punsubscribe(name) : this.cluster.sunsubscribe(name);
    void done.catch(() => {});
  }

  private async confirm(name: string): Promise<boolean> {
    try {
      if (isPattern(name)) {
        await this.cluster.punsubscribe(name);
        if (this.names.has(name)) await this.cluster.psubscribe(name);
      } else {
        // Unsubscribing first keeps ioredis's own list of the shard's channels from growing by one each time.
        await this.cluster.sunsubscribe(name);
        if (this.names.has(name)) await this.cluster.ssubscribe(name);
      }
      if (this.names.has(name) && !this.stopped) this.live(name);
      return true;
    } catch (err) {
      if (this.stopped) return false;
      this.on.problem(`cannot subscribe to ${JSON.stringify(name)} on the Redis Cluster: ${errorText(err)}`);
      return false;
    }
  }

  /** One confirmation round after things settle; failures back off (up to 5 s) until a round succeeds. */
  private confirmSoon(): void {
    if (this.stopped || this.settle) return;
    const delay = this.attempt === 0 ? SETTLE_MS : Math.min(5000, SETTLE_MS * 2 ** this.attempt);
    this.settle = setTimeout(async () => {
      this.settle = null;
      const results = await Promise.all([...this.names].map((n) => this.confirm(n)));
      if (results.every(Boolean)) this.attempt = 0;
      else {
        this.attempt++;
        this.confirmSoon();
      }
    }, delay);
  }

  stop(): void {
    this.stopped = true;
    if (this.settle) clearTimeout(this.settle);
    this.cluster.disconnect();
  }
}
