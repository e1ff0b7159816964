// client_clustersub.ts — the client's subscription on a Redis Cluster (cluster.ts): SSUBSCRIBE per channel, PSUBSCRIBE per
// glob, and each time a channel's subscription is live (again, after a failover) its catch-up from hash-tagged history.
import { readFileSync } from "node:fs";
import { ClusterCommands, ClusterSubscriber } from "./cluster";
import type { Config } from "./client_config";
import { isPattern } from "./glob";
import { CLUSTER } from "./layout";
import { isStreamId, type Envelope } from "./message";
import { ClientState } from "./client_state";
import { ArrivalOrder, inIdOrder, envelopeFromHistory, liveMessage, replayMissed, restartIfPastHistory, settleLive, type Entry, type Handlers, type LiveMessage, type Subscribing } from "./catchup";

/** ioredis's answer to XRANGE or XREVRANGE ([[id, [field, value, …]], …]) as entries. */
const entriesOf = (reply: unknown): Entry[] => (Array.isArray(reply) ? (reply as [unknown, unknown[]][]).map(([id, fields]) => ({ id: String(id), fields: (fields ?? []).map(String) })) : []);

/** The redis:// URL of the node a config names (user and password included), for the cluster client. */
export function urlOfConfig(c: Config): string {
  const auth = c.user || c.password ? `${encodeURIComponent(c.user ?? "")}${c.password ? `:${encodeURIComponent(c.password)}` : ""}@` : "";
  return `${c.tls ? "rediss" : "redis"}://${auth}${c.host.includes(":") ? `[${c.host}]` : c.host}:${c.port}`;
}

export class ClusterSubscription implements Subscribing {
  private readonly commands: ClusterCommands;
  private readonly subscriber: ClusterSubscriber;
  /** Live messages held per channel while its catch-up runs. */
  private readonly held = new Map<string, Envelope[]>();
  /** Names whose first catch-up is done: once all are, the client is caught up. */
  private readonly ready = new Set<string>();
  /** Per name, live messages in line for their history check: each name's order is kept. */
  private readonly arrivals = new Map<string, ArrivalOrder>();
  /** Channels whose history could not be read to check a live message (said once each). */
  private readonly uncheckable = new Set<string>();
  private lastDownAt: number;
  private finished: (() => void) | null = null;

  constructor(
    private readonly config: Config,
    private readonly on: Handlers,
    private readonly state: ClientState,
    private readonly replayLimit: number,
    /** When the connection before this one ended (0: a fresh start). */
    lastDownAt: number,
  ) {
    this.lastDownAt = lastDownAt;
    const url = urlOfConfig(config);
    const ca = config.ca ? readFileSync(config.ca, "utf8") : undefined;
    this.commands = new ClusterCommands(url, ca);
    this.subscriber = new ClusterSubscriber(url, ca, {
      message: (name, channel, payload) => this.onLive(name, liveMessage(channel, payload)),
      live: (name) => void this.catchUp(name),
      problem: (reason) => {
        if (this.ready.size === 0) return this.on.status(reason);
        this.lastDownAt = Date.now();
        this.state.save();
        this.on.status(`${reason}; subscribing again when the cluster answers`);
      },
    });
  }

  run(): Promise<void> {
    return new Promise((resolve) => {
      this.finished = resolve;
      this.on.status(`${this.config.host}:${this.config.port} is a Redis Cluster node; subscribing on each shard`);
      for (const name of this.config.channels) {
        this.held.set(name, []);
        this.subscriber.add(name);
      }
    });
  }

  stop(): void {
    this.subscriber.stop();
    this.commands.close();
    this.state.save();
    this.finished?.();
  }

  /** A live message, checked against its channel's history (the key's master answers) before it is let through. */
  private onLive(name: string, m: LiveMessage): void {
    let line = this.arrivals.get(name);
    if (!line) this.arrivals.set(name, (line = new ArrivalOrder((env) => this.onMessage(name, env))));
    const settle = line.take();
    if (m.checkId === null) return settle(m.plain);
    this.commands.run("XRANGE", [CLUSTER.historyKey(m.channel), m.checkId, m.checkId]).then(
      (reply) => settle(settleLive(m, entriesOf(reply))),
      (err: Error) => {
        // Not checked is not trusted: the payload shows as text (and a real message is still in history).
        if (!this.uncheckable.has(m.channel)) this.on.status(`cannot read ${m.channel}'s history to check its messages (${err.message}); they show as plain text`);
        this.uncheckable.add(m.channel);
        settle(m.plain);
      },
    );
  }

  private onMessage(name: string, env: Envelope): void {
    const held = this.held.get(name);
    if (held) held.push(env);
    else if (this.state.advance(env)) {
      this.on.message(env, false);
      this.state.saveSoon();
    }
  }

  /** `name` is subscribed (again): hold its live messages, read what it missed, show both in order, once each. */
  private async catchUp(name: string): Promise<void> {
    if (!this.held.has(name)) this.held.set(name, []);
    if (!isPattern(name)) {
      try {
        const last = this.state.get(name);
        const key = CLUSTER.historyKey(name);
        if (last === undefined) {
          // First time on this channel: nothing old is replayed; remember where history stands now.
          const top = entriesOf(await this.commands.run("XREVRANGE", [key, "+", "-", "COUNT", "1"]))[0]?.id;
          if (this.state.get(name) === undefined) this.state.set(name, top && isStreamId(top) ? top : "0-0");
        } else {
          const missed = entriesOf(await this.commands.run("XRANGE", [key, `(${last}`, "+"])).map((e) => envelopeFromHistory(e, name));
          if (missed.length > 0) replayMissed(name, missed, this.lastDownAt, this.replayLimit, this.state, this.on);
          // Nothing after the saved place: is the place still inside history?
          else restartIfPastHistory(name, entriesOf(await this.commands.run("XREVRANGE", [key, "+", "-", "COUNT", "1"]))[0]?.id, this.state, this.on);
        }
      } catch (err) {
        this.on.status(`history for ${name} is unavailable (${(err as Error).message}); showing live messages only`);
      }
    }
    const held = this.held.get(name) ?? [];
    this.held.delete(name);
    for (const env of inIdOrder(held)) if (this.state.advance(env)) this.on.message(env, true);
    this.state.save();
    const first = !this.ready.has(name);
    this.ready.add(name);
    if (first && this.ready.size === this.config.channels.length) {
      this.on.caughtUp();
      this.on.status(`connected to ${this.config.host}:${this.config.port} (Redis Cluster); subscribed to ${this.config.channels.join(", ")}`);
    } else if (!first) this.on.caughtUp();
  }
}
