// client_subscription.ts — the client's subscription over RESP, kept up by link.ts: SUBSCRIBE (PSUBSCRIBE for globs),
// then catch-up from each channel's history stream while live messages wait, each message exactly once, in order.
import { bulkText, type Reply } from "./resp";
import { DEFAULT_TIMING, Link, type LinkFailure, type Timing } from "./link";
import { ClientCatchUp, historyOver, liveMessage, type Handlers, type Subscribing } from "./catchup";
import { SINGLE_NODE } from "./layout";
import type { Config } from "./client_config";
import { isPattern } from "./glob";
import { ClientState } from "./client_state";

/**
 * Holds one subscription open for as long as the process runs (link.ts reconnects it). On every connection:
 * SUBSCRIBE, then catch up from history while live messages wait in a buffer, then deliver the buffer and go live.
 */
export class Subscription implements Subscribing {
  private readonly link: Link;
  /** Catch-up on this link: one line of arrivals for all names, since one connection keeps their order. */
  private readonly catchUp: ClientCatchUp;
  private confirmed = 0;
  private finished: (() => void) | null = null;
  /** Set once the server says it is a Redis Cluster node: that subscription runs instead of this link's. */
  private cluster: Subscribing | null = null;

  constructor(
    private readonly config: Config,
    private readonly on: Handlers,
    timing: Timing = DEFAULT_TIMING,
    private readonly state: ClientState = new ClientState(null, ""),
    private readonly replayLimit = 50,
  ) {
    this.link = new Link(
      { host: config.host, port: config.port, user: config.user, password: config.password, tls: config.tls, caFile: config.ca },
      {
        ready: () => this.link.askLayout((layout) => (layout.cluster ? void this.useCluster() : this.subscribe())),
        push: (items) => this.onPush(items),
        down: (failure, retryInMs) => {
          this.catchUp.down(true);
          if (failure.fatal) return this.giveUp(failure);
          this.on.status(`disconnected: ${failure.reason}; reconnecting in ${(retryInMs / 1000).toFixed(1)} s`);
        },
        // A SUBSCRIBE refused (NOPERM): retrying will not change the server's mind.
        refused: (failure) => this.giveUp(failure),
      },
      timing,
    );
    // Replies come in order on the one connection, so a live message's check answers in line with the catch-up's.
    const history = historyOver((command, args) => this.link.call([command, ...args]), SINGLE_NODE.historyKey);
    this.catchUp = new ClientCatchUp(history, state, on, replayLimit, 0, config.channels, true);
  }

  /** Runs until stop(). */
  run(): Promise<void> {
    return new Promise((resolve) => {
      this.finished = resolve;
      this.link.start();
    });
  }

  stop(): void {
    this.link.stop();
    this.cluster?.stop();
    this.state.save();
    this.finished?.();
  }

  /** The node is part of a Redis Cluster (logged in already, so the settings are right): subscribe shard by shard. */
  private async useCluster(): Promise<void> {
    this.link.stop();
    const { ClusterSubscription } = await import("./client_clustersub"); // ioredis loads only for a cluster
    this.cluster = new ClusterSubscription(this.config, this.on, this.state, this.replayLimit, this.catchUp.lastDownAt);
    await this.cluster.run();
    this.finished?.();
  }

  private giveUp(failure: LinkFailure): void {
    this.stop();
    this.on.fatal(failure);
  }

  private subscribe(): void {
    const { channels } = this.config;
    this.catchUp.hold(channels);
    this.confirmed = 0;
    const plain = channels.filter((c) => !isPattern(c));
    const patterns = channels.filter(isPattern);
    if (plain.length) this.link.send(["SUBSCRIBE", ...plain]);
    if (patterns.length) this.link.send(["PSUBSCRIBE", ...patterns]);
  }

  private onPush(items: Reply[]): void {
    const kind = bulkText(items[0]);
    // The channel is the frame's: ["message", channel, payload] or ["pmessage", pattern, channel, payload].
    if (kind === "message") this.catchUp.live(bulkText(items[1]), liveMessage(bulkText(items[1]), bulkText(items[2])));
    else if (kind === "pmessage") this.catchUp.live(bulkText(items[1]), liveMessage(bulkText(items[2]), bulkText(items[3])));
    else if ((kind === "subscribe" || kind === "psubscribe") && ++this.confirmed === this.config.channels.length) void this.caughtUp();
  }

  /** Every name is subscribed: read what each channel missed, then show what was held, then say so. */
  private async caughtUp(): Promise<void> {
    if ((await this.catchUp.catchUp(this.config.channels)) === "stale") return;
    this.on.caughtUp();
    // Said only now: from here on the place in history is saved, so a stop loses nothing.
    this.on.status(`connected to ${this.config.host}:${this.config.port}; subscribed to ${this.config.channels.join(", ")}`);
  }
}
