// web_hub.ts — one shared subscription per web server (backend.ts: one node or a Redis Cluster): channels (and glob
// patterns) are subscribed while any listener wants them, messages are checked once and fan out; failures are told.
import { DEFAULT_TIMING, linkOptionsFromUrl, type LinkFailure } from "./link";
import { openBackend, type Backend } from "./backend";
import { isPattern } from "./glob";
import { parsePayload, plainEnvelope, type Envelope } from "./message";
import { envelopesFromReply } from "./catchup";
import type { Store } from "./web_publisher";

/** A live message as the hub hands it on: on the channel of its RESP frame, with an id only if history holds it. */
export type CheckedEnvelope = Envelope & { plain?: true };

export type HubListener = {
  /**
   * A message, checked (for a pattern's listener, on the channel that matched). Its channel is the RESP frame's; an
   * id is one that channel's history holds, and the fields are history's; anything else is plain text, with no id.
   */
  message: (env: CheckedEnvelope) => void;
  /** The subscription was (re)established: the listener catches up from history for anything it missed. */
  resubscribed: () => void;
  /** The shared subscription went down (with why) or came back (null). */
  status?: (problem: string | null) => void;
};

/** What the hub checks a live payload's id with: the web server's commands, and what it published itself. */
export type HistoryCheck = Pick<Store, "send" | "layout"> & {
  /** Did this web server publish exactly `payload` on `channel` as `id`, lately? (web_publisher.ts) */
  publishedHere(channel: string, id: string, payload: string): boolean;
};

export type HubOptions = {
  /** The web server's publisher: it reads history for the checks, and knows what it published itself. */
  history: HistoryCheck;
  /** Most distinct glob patterns held at once: each one is matched against every PUBLISH on the pub/sub server. */
  maxPatterns?: number;
};

export const DEFAULT_MAX_PATTERNS = 1000;

/** A message waiting behind a check on its channel: `env` is null until its check is done. */
type Waiting = { name: string; env: CheckedEnvelope | null };

export class Hub {
  private readonly listeners = new Map<string, Set<HubListener>>();
  /** Channels whose subscription is confirmed (on one node: by the current connection). */
  private confirmed = new Set<string>();
  /** The shared subscription: one node's connection, or a Redis Cluster's sharded subscribers. */
  private readonly backend: Backend;
  /** Why the hub cannot deliver, if it cannot: a refused login or SUBSCRIBE, or the server being away. */
  private problem: LinkFailure | null = null;
  /** The last reason logged, so a failure that repeats on every retry is logged once. */
  private logged = "";
  /** How many of the names listened to are glob patterns. */
  private patterns = 0;
  /**
   * Per channel, messages held behind one whose id is being checked, in the order they came: a channel's messages
   * reach listeners in order. Absent for a channel with nothing waiting (nearly always).
   */
  private readonly waiting = new Map<string, Waiting[]>();
  /** Checks under way, by channel and id: the copies of one message (a channel's and a pattern's) share one XRANGE. */
  private readonly checks = new Map<string, Promise<Envelope | null>>();
  /** The last listener or check failure logged, so one that repeats is logged once. */
  private loggedFailure = "";
  private readonly history: HistoryCheck;
  readonly maxPatterns: number;

  constructor(
    url: string,
    ca: string | undefined,
    private readonly log: (line: string) => void = console.error,
    options: HubOptions,
  ) {
    this.history = options.history;
    this.maxPatterns = options.maxPatterns ?? DEFAULT_MAX_PATTERNS;
    this.backend = openBackend(
      linkOptionsFromUrl(url, ca),
      {
        // Logged in (again): every subscription is being renewed, and each says `live` when it is.
        ready: () => {
          this.confirmed = new Set();
          if (!this.listeners.size) this.recovered();
        },
        message: (name, channel, payload) => this.onMessage(name, channel, payload),
        // Live (first time, after a reconnect or a failover): listeners catch up from history, which has what was
        // missed; on a cluster the messages held meanwhile come after (each listener keeps them back until its catch-up is done).
        live: (name) => {
          this.recovered();
          this.confirmed.add(name);
          this.tell(this.listeners.get(name), (l) => l.resubscribed());
        },
        down: (failure, retryInMs) => {
          this.confirmed = new Set();
          this.failed(failure, retryInMs);
        },
        refused: (failure) => this.failed(failure, null),
      },
      // SSE readers wait on the hub: come back within 5 s of the server (they catch up from history meanwhile).
      { timing: { ...DEFAULT_TIMING, backoffCapMs: 5000 }, log: (line) => this.log(`web: hub: ${line}`) },
    );
    // Connected from the start, not at the first listener: a pub/sub server full of subscribers refuses newcomers.
    this.backend.start();
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
      if (isPattern(channel)) this.patterns++;
      this.backend.subscribe(channel);
    }
    set.add(l);
    // Already live: the newcomer can catch up now; otherwise it will when the SUBSCRIBE is confirmed.
    if (this.confirmed.has(channel)) queueMicrotask(() => this.tell([l], (x) => x.resubscribed()));
    if (this.problem) queueMicrotask(() => this.tell([l], (x) => x.status?.(this.problem?.reason ?? null)));
  }

  /** Stops `l` listening to `channel`; the last listener to go unsubscribes. */
  unlisten(channel: string, l: HubListener): void {
    const s = this.listeners.get(channel);
    if (!s) return;
    s.delete(l);
    if (s.size === 0) {
      this.listeners.delete(channel);
      if (isPattern(channel)) this.patterns--;
      this.confirmed.delete(channel);
      this.backend.unsubscribe(channel);
    }
  }

  /**
   * Why listening to `names` would take the hub past --max-patterns (the glob patterns it does not hold yet, added
   * to those it holds), or null. Patterns already held cost nothing more: anyone may share them.
   */
  patternRefusal(names: string[]): string | null {
    const fresh = new Set(names.filter((n) => isPattern(n) && !this.listeners.has(n))).size;
    if (fresh === 0 || this.patterns + fresh <= this.maxPatterns) return null;
    return `this server already holds ${this.patterns} distinct glob patterns, its limit (--max-patterns ${this.maxPatterns}); subscribe by channel name, or to a glob already in use, or try again later`;
  }

  /** How many distinct glob patterns the shared connection holds. */
  get patternCount(): number {
    return this.patterns;
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
    return this.backend.connected && this.problem === null;
  }

  /** Why the hub cannot deliver right now (null when it can, or when nobody has asked it for anything yet). */
  get error(): string | null {
    return this.problem?.reason ?? null;
  }

  /**
   * A live message for the listeners of `name`, on `channel` (the frame's). Its id is a claim anyone who may publish
   * there can make, so it is checked once, here, for every listener: an envelope this web server just published is
   * taken as it is; any other that names an id is read back from the channel's history (one XRANGE, pipelined) and
   * handed on as history has it, or as plain text when history has no such entry. Messages behind one being checked
   * wait for it, so each channel's stay in order.
   */
  private onMessage(name: string, channel: string, payload: string): void {
    if (!this.listeners.has(name)) return;
    const env = parsePayload(channel, payload);
    const queue = this.waiting.get(channel);
    if (env.plain || env.uncached || this.history.publishedHere(channel, env.id, payload)) {
      if (queue) queue.push({ name, env });
      else this.deliver(name, env);
      return;
    }
    const item: Waiting = { name, env: null };
    if (queue) queue.push(item);
    else this.waiting.set(channel, [item]);
    void this.check(channel, env.id).then(
      (found) => {
        item.env = found ?? plainEnvelope(channel, payload);
        this.drain(channel);
      },
      (err: unknown) => {
        this.failure(`cannot check a message's id against the history of ${JSON.stringify(channel)}, so it goes out as plain text: ${(err as Error).message}`);
        item.env = plainEnvelope(channel, payload);
        this.drain(channel);
      },
    );
  }

  /** The entry `id` in `channel`'s history as an envelope on `channel`, or null when there is none. */
  private check(channel: string, id: string): Promise<Envelope | null> {
    const key = `${channel}\n${id}`;
    let pending = this.checks.get(key);
    if (!pending) {
      pending = (async () => {
        const reply = await this.history.send("XRANGE", [(await this.history.layout()).historyKey(channel), id, id]);
        // catchup.ts's one decoder: on the frame's channel, even if someone wrote another into the entry.
        return envelopesFromReply(reply, channel).find((e) => e.id === id) ?? null;
      })().finally(() => this.checks.delete(key));
      this.checks.set(key, pending);
    }
    return pending;
  }

  /** Hands on, in order, the messages at the head of `channel`'s queue whose checks are done. */
  private drain(channel: string): void {
    const queue = this.waiting.get(channel);
    if (!queue) return;
    let i = 0;
    for (; i < queue.length && queue[i]!.env !== null; i++) this.deliver(queue[i]!.name, queue[i]!.env!);
    if (i === queue.length) this.waiting.delete(channel);
    else queue.splice(0, i);
  }

  private deliver(name: string, env: CheckedEnvelope): void {
    const set = this.listeners.get(name);
    if (!set) return;
    // A listener that throws must not stop the others, nor the connection's read loop.
    for (const l of set)
      try {
        l.message(env);
      } catch (err) {
        this.failure(`a listener failed on a message on ${JSON.stringify(env.channel)}: ${(err as Error).message}`);
      }
  }

  /** Calls `fn` on each listener; one that throws is logged and the rest are still told. */
  private tell(set: Iterable<HubListener> | undefined, fn: (l: HubListener) => void): void {
    for (const l of set ?? [])
      try {
        fn(l);
      } catch (err) {
        this.failure(`a listener failed: ${(err as Error).message}`);
      }
  }

  private failure(line: string): void {
    if (line === this.loggedFailure) return;
    this.loggedFailure = line;
    this.log(`web: hub: ${line}`);
  }

  private failed(failure: LinkFailure, retryInMs: number | null): void {
    this.problem = failure;
    if (failure.reason !== this.logged) {
      this.logged = failure.reason;
      const what = failure.fatal ? "cannot subscribe (this will not fix itself: check --redis and the pub/sub server's users)" : "lost the pub/sub server";
      this.log(`web: hub ${what}: ${failure.reason}${retryInMs !== null ? `; trying again in ${(retryInMs / 1000).toFixed(1)} s` : ""}`);
    }
    for (const set of this.listeners.values()) this.tell(set, (l) => l.status?.(failure.reason));
  }

  private recovered(): void {
    if (!this.problem) return;
    this.problem = null;
    if (this.logged) this.log("web: hub subscribed again");
    this.logged = "";
    for (const set of this.listeners.values()) this.tell(set, (l) => l.status?.(null));
  }

  close(): void {
    this.backend.stop();
  }
}
