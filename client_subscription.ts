// client_subscription.ts — the client's subscription over RESP, kept up by link.ts: SUBSCRIBE (PSUBSCRIBE for globs),
// then catch-up from each channel's history stream while live messages wait, each message exactly once, in order.
import { bulkText, type Reply } from "./resp";
import { DEFAULT_TIMING, Link, type LinkFailure, type Timing } from "./link";
import { isStreamId, type Envelope } from "./message";
import { ArrivalOrder, inIdOrder, envelopeFromHistory, liveMessage, replayMissed, restartIfPastHistory, settleLive, type Entry, type Handlers, type Subscribing } from "./catchup";
import { SINGLE_NODE } from "./layout";
import type { Config } from "./client_config";
import { isPattern } from "./glob";
import { ClientState } from "./client_state";

/** The entries of an XRANGE or XREVRANGE reply (RESP3 over link.ts); anything else reads as none. */
export function entriesOfReply(r: Reply): Entry[] {
  const entries = r.type === "array" && r.value ? r.value : [];
  return entries.map((e) => {
    const parts = e.type === "array" && e.value ? e.value : [];
    return { id: bulkText(parts[0]), fields: parts[1]?.type === "array" && parts[1].value ? parts[1].value.map(bulkText) : [] };
  });
}

/**
 * Holds one subscription open for as long as the process runs (link.ts reconnects it). On every connection:
 * SUBSCRIBE, then catch up from history while live messages wait in a buffer, then deliver the buffer and go live.
 */
export class Subscription implements Subscribing {
  private readonly link: Link;
  /** When the last connection ended; 0 before the first one (a fresh start counts as a long absence). */
  private lastDisconnectAt = 0;
  /** Live messages held back until catch-up is done; null once live. */
  private buffer: Envelope[] | null = null;
  private confirmed = 0;
  private finished: (() => void) | null = null;
  private readonly plain: string[];
  private readonly patterns: string[];
  /** Set once the server says it is a Redis Cluster node: that subscription runs instead of this link's. */
  private cluster: Subscribing | null = null;
  /** Live messages in line for their history check. */
  private readonly arrivals = new ArrivalOrder((env) => this.deliverLive(env));
  /** Channels whose history could not be read to check a live message (said once each). */
  private readonly uncheckable = new Set<string>();

  constructor(
    private readonly config: Config,
    private readonly on: Handlers,
    timing: Timing = DEFAULT_TIMING,
    private readonly state: ClientState = new ClientState(null, ""),
    private readonly replayLimit = 50,
  ) {
    this.plain = config.channels.filter((c) => !isPattern(c));
    this.patterns = config.channels.filter(isPattern);
    this.link = new Link(
      { host: config.host, port: config.port, user: config.user, password: config.password, tls: config.tls, caFile: config.ca },
      {
        ready: () => this.link.askLayout((layout) => (layout.cluster ? void this.useCluster() : this.subscribe())),
        push: (items) => this.onPush(items),
        down: (failure, retryInMs) => {
          this.lastDisconnectAt = Date.now();
          this.buffer = null;
          this.arrivals.clear();
          this.state.save();
          if (failure.fatal) return this.giveUp(failure);
          this.on.status(`disconnected: ${failure.reason}; reconnecting in ${(retryInMs / 1000).toFixed(1)} s`);
        },
        // A SUBSCRIBE refused (NOPERM): retrying will not change the server's mind.
        refused: (failure) => this.giveUp(failure),
      },
      timing,
    );
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
    this.cluster = new ClusterSubscription(this.config, this.on, this.state, this.replayLimit, this.lastDisconnectAt);
    await this.cluster.run();
    this.finished?.();
  }

  private giveUp(failure: LinkFailure): void {
    this.stop();
    this.on.fatal(failure);
  }

  private subscribe(): void {
    this.buffer = [];
    this.confirmed = 0;
    if (this.plain.length) this.link.send(["SUBSCRIBE", ...this.plain]);
    if (this.patterns.length) this.link.send(["PSUBSCRIBE", ...this.patterns]);
  }

  private onPush(items: Reply[]): void {
    const kind = bulkText(items[0]);
    if (kind === "message" || kind === "pmessage") {
      // The channel is the frame's: ["message", channel, payload] or ["pmessage", pattern, channel, payload].
      const m = kind === "message" ? liveMessage(bulkText(items[1]), bulkText(items[2])) : liveMessage(bulkText(items[2]), bulkText(items[3]));
      const settle = this.arrivals.take();
      if (m.checkId === null) return settle(m.plain);
      // On this connection, so the answer comes in line with the catch-up's; if it ends first, catch-up has it.
      this.link.send(["XRANGE", SINGLE_NODE.historyKey(m.channel), m.checkId, m.checkId], (r) => {
        if (r.type === "error") this.cannotCheck(m.channel, r.value);
        settle(settleLive(m, entriesOfReply(r)));
      });
      return;
    }
    if ((kind === "subscribe" || kind === "psubscribe") && ++this.confirmed === this.config.channels.length) this.catchUp();
  }

  private deliverLive(env: Envelope): void {
    if (this.buffer) this.buffer.push(env);
    else if (this.state.advance(env)) {
      this.on.message(env, false);
      this.state.saveSoon();
    }
  }

  private cannotCheck(ch: string, why: string): void {
    if (this.uncheckable.has(ch)) return;
    this.uncheckable.add(ch);
    this.on.status(`cannot read ${ch}'s history to check its messages (${why}); they show as plain text`);
  }

  /** Reads what each channel missed (XRANGE after the last ID seen), then delivers the held live messages. */
  private catchUp(): void {
    const { host, port, channels } = this.config;
    let waiting = this.plain.length;
    const done = () => {
      if (--waiting > 0) return;
      const held = this.buffer ?? [];
      this.buffer = null;
      for (const env of inIdOrder(held)) if (this.state.advance(env)) this.on.message(env, true);
      this.state.save();
      this.on.caughtUp();
      // Said only now: from here on the place in history is saved, so a stop loses nothing.
      this.on.status(`connected to ${host}:${port}; subscribed to ${channels.join(", ")}`);
    };
    if (waiting === 0) {
      waiting = 1;
      done();
    }
    for (const ch of this.plain) {
      const last = this.state.get(ch);
      const key = SINGLE_NODE.historyKey(ch);
      if (last === undefined) {
        // First time on this channel: nothing old is replayed; remember where history stands now.
        this.link.send(["XREVRANGE", key, "+", "-", "COUNT", "1"], (r) => {
          const top = entriesOfReply(r)[0]?.id;
          if (this.state.get(ch) === undefined) this.state.set(ch, top && isStreamId(top) ? top : "0-0");
          done();
        });
        continue;
      }
      this.link.send(["XRANGE", key, `(${last}`, "+"], (r) => {
        if (r.type === "error") this.on.status(`history for ${ch} is unavailable (${r.value}); showing live messages only`);
        const missed = entriesOfReply(r).map((e) => envelopeFromHistory(e, ch));
        if (missed.length > 0 || r.type === "error") {
          replayMissed(ch, missed, this.lastDisconnectAt, this.replayLimit, this.state, this.on);
          return done();
        }
        // Nothing after the saved place: is the place still inside history?
        this.link.send(["XREVRANGE", key, "+", "-", "COUNT", "1"], (top) => {
          if (top.type !== "error") restartIfPastHistory(ch, entriesOfReply(top)[0]?.id, this.state, this.on);
          done();
        });
      });
    }
  }
}

