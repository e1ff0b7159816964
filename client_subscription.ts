// client_subscription.ts — the client's subscription over RESP, one path for one node or a Redis Cluster (backend.ts):
// SUBSCRIBE (SSUBSCRIBE on a cluster, PSUBSCRIBE for globs), and each time a name is live its catch-up (catchup.ts).
import { DEFAULT_TIMING, type LinkFailure, type Timing } from "./link";
import { openBackend, type Backend } from "./backend";
import { ClientCatchUp, historyOver, liveMessage, type Handlers, type Subscribing } from "./catchup";
import type { Config } from "./client_config";
import { ClientState } from "./client_state";

/**
 * Holds one subscription open for as long as the process runs (the backend reconnects it, and follows a cluster's
 * failovers). Each time a name is subscribed (again), its live messages wait while it catches up from history.
 */
export class Subscription implements Subscribing {
  private readonly backend: Backend;
  private readonly catchUp: ClientCatchUp;
  /** Whether the client has been caught up once: a cluster's problem before that is only said, not an absence. */
  private started = false;
  private finished: (() => void) | null = null;

  constructor(
    private readonly config: Config,
    private readonly on: Handlers,
    timing: Timing = DEFAULT_TIMING,
    state: ClientState = new ClientState(null, ""),
    replayLimit = 50,
    /** When the connection before this one ended (0: a fresh start, which counts as a long absence). */
    lastDownAt = 0,
  ) {
    const where = `${config.host}:${config.port}`;
    this.backend = openBackend(
      { host: config.host, port: config.port, user: config.user, password: config.password, tls: config.tls, caFile: config.ca },
      {
        // Logged in (one node: after every reconnect; a cluster: once): every name waits for its catch-up.
        ready: () => this.catchUp.begin(),
        message: (name, channel, payload) => this.catchUp.live(name, liveMessage(channel, payload)),
        live: (name) => void this.caughtUp(name),
        down: (failure, retryInMs) => {
          if (failure.fatal) return this.giveUp(failure);
          if (retryInMs !== null) {
            // One node: what this connection held goes with it (catch-up brings it back from history).
            this.catchUp.down(true);
            return this.on.status(`disconnected: ${failure.reason}; reconnecting in ${(retryInMs / 1000).toFixed(1)} s`);
          }
          // A cluster: the subscriber holds live messages itself until each name is live again.
          if (!this.started) return this.on.status(failure.reason);
          this.catchUp.down(false);
          this.on.status(`${failure.reason}; subscribing again when the cluster answers`);
        },
        // A SUBSCRIBE refused (NOPERM): retrying will not change the server's mind.
        refused: (failure) => this.giveUp(failure),
      },
      { timing, log: () => this.on.status(`${where} is a Redis Cluster node; subscribing on each shard`) },
    );
    // On one node, replies come in order on the one connection: a live message's check answers in line with the
    // catch-up's, one line of arrivals keeps the order across channels, and its history took every message before it
    // was published. A cluster's shards keep no such order, and a failover may answer a read from a node behind.
    const history = historyOver((command, args) => this.backend.call([command, ...args]), async (channel) => (await this.backend.layout()).historyKey(channel));
    this.catchUp = new ClientCatchUp(history, state, on, replayLimit, lastDownAt, config.channels, () => this.backend.name !== "the Redis Cluster");
  }

  /** Runs until stop(). */
  run(): Promise<void> {
    return new Promise((resolve) => {
      this.finished = resolve;
      for (const name of this.config.channels) this.backend.subscribe(name);
      this.backend.start();
    });
  }

  stop(): void {
    this.catchUp.down(true); // saves the places; a catch-up under way ends quietly, not as "history unavailable"
    this.backend.stop();
    this.finished?.();
  }

  private giveUp(failure: LinkFailure): void {
    this.stop();
    this.on.fatal(failure);
  }

  /** `name` is subscribed (again): read what it missed, show that and what it held, once each; say when all are in. */
  private async caughtUp(name: string): Promise<void> {
    this.catchUp.hold([name]);
    const now = await this.catchUp.catchUp([name]);
    if (now !== "all" && now !== "again") return;
    this.on.caughtUp();
    if (now === "again" && this.started) return; // a cluster's failover: one name caught up again
    this.started = true;
    // Said only now: from here on the place in history is saved, so a stop loses nothing.
    const cluster = this.backend.name === "the Redis Cluster" ? " (Redis Cluster)" : "";
    this.on.status(`connected to ${this.config.host}:${this.config.port}${cluster}; subscribed to ${this.config.channels.join(", ")}`);
  }
}
