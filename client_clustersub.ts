// client_clustersub.ts — the client's subscription on a Redis Cluster (cluster.ts): SSUBSCRIBE per channel, PSUBSCRIBE per
// glob, and each time a name's subscription is live (again, after a failover) its catch-up (catchup.ts) from hash-tagged history.
import { readFileSync } from "node:fs";
import { ClusterCommands, ClusterSubscriber } from "./cluster";
import type { Config } from "./client_config";
import { CLUSTER } from "./layout";
import type { ClientState } from "./client_state";
import { ClientCatchUp, historyOver, liveMessage, type Handlers, type Subscribing } from "./catchup";

/** The redis:// URL of the node a config names (user and password included), for the cluster client. */
export function urlOfConfig(c: Config): string {
  const auth = c.user || c.password ? `${encodeURIComponent(c.user ?? "")}${c.password ? `:${encodeURIComponent(c.password)}` : ""}@` : "";
  return `${c.tls ? "rediss" : "redis"}://${auth}${c.host.includes(":") ? `[${c.host}]` : c.host}:${c.port}`;
}

export class ClusterSubscription implements Subscribing {
  private readonly commands: ClusterCommands;
  private readonly subscriber: ClusterSubscriber;
  /** Catch-up per name: each name has its own line of arrivals (shards keep no order between them). */
  private readonly catchUp: ClientCatchUp;
  /** Whether any name has caught up yet: a problem before that is only said, not counted as an absence. */
  private started = false;
  private finished: (() => void) | null = null;

  constructor(
    private readonly config: Config,
    private readonly on: Handlers,
    private readonly state: ClientState,
    replayLimit: number,
    /** When the connection before this one ended (0: a fresh start). */
    lastDownAt: number,
  ) {
    const url = urlOfConfig(config);
    const ca = config.ca ? readFileSync(config.ca, "utf8") : undefined;
    this.commands = new ClusterCommands(url, ca);
    // Each read goes to the master of its key's slot.
    this.catchUp = new ClientCatchUp(historyOver((command, args) => this.commands.run(command, args), CLUSTER.historyKey), state, on, replayLimit, lastDownAt, config.channels, false);
    this.subscriber = new ClusterSubscriber(url, ca, {
      message: (name, channel, payload) => this.catchUp.live(name, liveMessage(channel, payload)),
      live: (name) => void this.caughtUp(name),
      problem: (reason) => {
        if (!this.started) return this.on.status(reason);
        // The subscriber holds live messages itself until `live`; only the absence is counted here.
        this.catchUp.down(false);
        this.on.status(`${reason}; subscribing again when the cluster answers`);
      },
    });
  }

  run(): Promise<void> {
    return new Promise((resolve) => {
      this.finished = resolve;
      this.on.status(`${this.config.host}:${this.config.port} is a Redis Cluster node; subscribing on each shard`);
      this.catchUp.hold(this.config.channels);
      for (const name of this.config.channels) this.subscriber.add(name);
    });
  }

  stop(): void {
    this.subscriber.stop();
    this.commands.close();
    this.state.save();
    this.finished?.();
  }

  /** `name` is subscribed (again): hold its live messages, read what it missed, show both in order, once each. */
  private async caughtUp(name: string): Promise<void> {
    this.catchUp.hold([name]);
    const now = await this.catchUp.catchUp([name]);
    this.started = true;
    if (now === "all") {
      this.on.caughtUp();
      this.on.status(`connected to ${this.config.host}:${this.config.port} (Redis Cluster); subscribed to ${this.config.channels.join(", ")}`);
    } else if (now === "again") this.on.caughtUp();
  }
}
