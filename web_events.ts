// web_events.ts — subscriptions over HTTP: GET /events (Server-Sent Events, with catch-up (catchup.ts) from Last-Event-ID
// or ?since=, read only as fast as the client takes it, under output limits) and GET /messages (history as JSON, paged).
import type { CheckedEnvelope, Hub, HubListener } from "./web_hub";
import { compareIds, isReservedChannel, isStreamId, type Envelope } from "./message";
import { CatchUpBuffer, MemoryPlaces, historyOver, type CommandHistory } from "./catchup";
import { InputError, refuseChannelName } from "./web_input";
import { serverReplyIn } from "./link";
import type { Store } from "./web_publisher";
import type { OutputLimits } from "./cli";
import { encodeComment, encodeEvent, encodeOpening } from "./sse";
import { globCostRefusal, isPattern } from "./glob";

export const KEEPALIVE_MS = 25_000;
/** What a stream says while the shared subscription is down for a reason other than a refusal; the log has the reason. */
export const HUB_AWAY = "the pub/sub server cannot be reached just now (the web server's log says why)";

/** Most channel names and globs one request may name. */
export const MAX_NAMES = 100;
/** Most channels with history one GET /messages may read (its names and what its globs match). */
export const MAX_READ_CHANNELS = 100;
/**
 * The entries a catch-up holds at once, shared out among its channels (at least one each), whatever the history
 * holds: 64 entries of up to 64 KB (--max-message) is at most 4 MB for a stream whose client has stopped reading.
 */
const READ_BUDGET = 64;
/**
 * Unread bytes past which a catch-up stops reading history until the client has taken what is queued. Live messages
 * cannot wait; they count against the output limits instead.
 */
const REPLAY_HIGH_WATER = 64 * 1024;
/** The pub/sub server's --pubsub-output-limit default, for SSE streams too: 32 MB hard, 8 MB for 60 s soft. */
export const DEFAULT_SSE_OUTPUT_LIMIT: OutputLimits = { hard: 32 * 1024 * 1024, soft: 8 * 1024 * 1024, softSeconds: 60 };

/** Channels from ?channel=a&channel=b or ?channels=a,b; at least one, at most MAX_NAMES, globs within GLOB_LIMITS. */
export function channelsFrom(url: URL): string[] {
  const list = [...url.searchParams.getAll("channel"), ...url.searchParams.getAll("channels").flatMap((c) => c.split(","))]
    .map((c) => c.trim())
    .filter(Boolean);
  if (!list.length) throw new InputError('missing "channel": add ?channel=<name> (repeat it, or use ?channels=a,b, for several)');
  const names = [...new Set(list)];
  if (names.length > MAX_NAMES) throw new InputError(`${names.length} channels and globs in one request; the limit is ${MAX_NAMES}: use a glob, or split them over several requests`);
  for (const c of names) {
    if (c.length > 1024) throw new InputError('a "channel" is longer than 1024 characters');
    refuseChannelName(c);
    const costly = isPattern(c) ? globCostRefusal(c) : null;
    if (costly) throw new InputError(costly);
  }
  return names;
}

export function checkId(id: string | null, what: string): string | undefined {
  if (id === null || id === "") return undefined;
  if (!isStreamId(id)) throw new InputError(`${what} must be a stream ID like 1700000000000-0 (two whole numbers, each at most 18446744073709551615), got ${JSON.stringify(id.slice(0, 100))}`);
  return id;
}

/** The store's channel histories, read through catchup.ts (its one decoder of XRANGE replies). */
const historyIn = (store: Store): CommandHistory =>
  historyOver(
    (command, args) => store.send(command, args),
    async (channel) => (await store.layout()).historyKey(channel),
  );

/** The channels with history that a name stands for: itself, or for a glob every channel it matches. */
async function channelsWithHistory(name: string, store: Store): Promise<string[]> {
  if (!isPattern(name)) return [name];
  const layout = await store.layout();
  return layout.channelsMatching(await store.keys(layout.historyKeys(name)), name).filter((c) => !isReservedChannel(c));
}

/**
 * Where each channel's history stands now (its newest ID, or 0-0 when it has none), for the channels `names` stand
 * for: a stream opened without `since` replays from here, so a message published after it opened is never missed
 * while the hub's subscription is still being made (the first stream on a channel) or made again.
 */
async function historyTops(store: Store, names: string[]): Promise<Map<string, string>> {
  const history = historyIn(store);
  const channels = [...new Set((await Promise.all(names.map((n) => channelsWithHistory(n, store)))).flat())];
  // Sent together: one round trip for all of them on a connection that pipelines.
  const tops = await Promise.all(channels.map((ch) => history.top(ch)));
  return new Map(channels.map((ch, i) => [ch, tops[i] ?? "0-0"]));
}

/** Where a stream that opened without `since` starts on `channel` (of `name`), from the tops read at its open. */
const startAt = (tops: Map<string, string>, name: string, channel: string): string | undefined =>
  tops.get(channel) ?? (isPattern(name) ? "0-0" : undefined);

/** No names: shared, so a stream that needs no tops keeps no array of its own. */
const NONE: string[] = [];

/** A binary heap by `first`: a merge takes the channel whose next entry comes first in O(log n), for any n. */
class Heap<T> {
  private readonly items: T[] = [];
  constructor(private readonly first: (a: T, b: T) => boolean) {}
  get size(): number {
    return this.items.length;
  }
  peek(): T {
    return this.items[0]!;
  }
  push(x: T): void {
    const a = this.items;
    a.push(x);
    for (let i = a.length - 1; i > 0; ) {
      const up = (i - 1) >> 1;
      if (!this.first(a[i]!, a[up]!)) break;
      [a[i], a[up]] = [a[up]!, a[i]!];
      i = up;
    }
  }
  /** Takes the top away. */
  pop(): void {
    const a = this.items;
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      this.down();
    }
  }
  /** The top's key changed (its channel moved on to its next entry): it sinks to its place. */
  down(): void {
    const a = this.items;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < a.length && this.first(a[l]!, a[best]!)) best = l;
      if (r < a.length && this.first(a[r]!, a[best]!)) best = r;
      if (best === i) return;
      [a[i], a[best]] = [a[best]!, a[i]!];
      i = best;
    }
  }
}

/** One channel in a merged read: the page in hand and how far into it the merge is. */
type Cursor = { channel: string; page: Envelope[]; at: number };

/**
 * Several channels' histories read as one, in ID order: oldest first after each channel's start (exclusive), or with
 * `newestFirst` newest first before it ("+": from the newest). Each channel is read a page of `page` entries at a
 * time, the next page only once the last is used up: memory holds a page per channel, whatever the histories hold,
 * and a reader that stops early (a limit reached, a stream closed) reads no further. Every read has a COUNT.
 */
async function* mergedHistory(store: Store, starts: [channel: string, from: string][], newestFirst: boolean, page: number): AsyncGenerator<Envelope> {
  if (!starts.length) return;
  const history = historyIn(store);
  // After (or before) `from`, not including it; "+" reads from the newest. Past the largest ID or before 0-0 reads nothing.
  const read = async (c: Cursor, from: string) => {
    c.page = await (newestFirst ? history.before(c.channel, from, page) : history.after(c.channel, from, page));
    c.at = 0;
  };
  const cursors = starts.map(([channel]): Cursor => ({ channel, page: [], at: 0 }));
  // The first pages sent together: one round trip on a connection that pipelines.
  await Promise.all(cursors.map((c, i) => read(c, starts[i]![1])));
  const order = newestFirst ? -1 : 1;
  const heap = new Heap<Cursor>((a, b) => order * compareIds(a.page[a.at]!.id, b.page[b.at]!.id) < 0);
  for (const c of cursors) if (c.page.length) heap.push(c);
  while (heap.size) {
    const c = heap.peek();
    const env = c.page[c.at++]!;
    yield env;
    if (c.at === c.page.length) {
      if (c.page.length < page) {
        heap.pop(); // a short page was the channel's last
        continue;
      }
      await read(c, env.id);
      if (!c.page.length) {
        heap.pop();
        continue;
      }
    }
    heap.down();
  }
}

/** Entries per channel per read when `channels` are merged: `budget` shared out, at least 1 each. */
const pageFor = (channels: number, budget: number): number => Math.max(1, Math.floor(budget / Math.max(1, channels)));

/**
 * GET /messages: up to `limit` messages, oldest first: after `since`, or before `before` (older pages), or the
 * latest ones. Globs read every channel they match, up to MAX_READ_CHANNELS; each channel is read a page at a time
 * and only as far as the answer needs, so a request reads at most about twice `limit` entries (the pages in hand
 * when the answer is full), whatever the channels hold.
 */
export async function recentMessages(url: URL, store: Store): Promise<Envelope[]> {
  const names = channelsFrom(url);
  const since = checkId(url.searchParams.get("since"), "since");
  const before = checkId(url.searchParams.get("before"), "before");
  if (since && before) throw new InputError("give since or before, not both");
  const limitArg = url.searchParams.get("limit") ?? "50";
  const limit = Number(limitArg);
  if (!/^\d+$/.test(limitArg) || limit < 1 || limit > 1000) throw new InputError(`limit must be a whole number from 1 to 1000, got ${JSON.stringify(limitArg.slice(0, 50))}`);
  const channels = [...new Set((await Promise.all(names.map((n) => channelsWithHistory(n, store)))).flat())];
  if (channels.length > MAX_READ_CHANNELS)
    throw new InputError(`${names.map((n) => JSON.stringify(n)).join(", ")} stand for ${channels.length} channels with history; /messages reads at most ${MAX_READ_CHANNELS} at once: narrow the glob, or name the channels`);
  const out: Envelope[] = [];
  const from = since ?? before ?? "+";
  for await (const env of mergedHistory(store, channels.map((c) => [c, from]), !since, Math.min(limit, pageFor(channels.length, Math.max(limit, READ_BUDGET))))) {
    out.push(env);
    if (out.length === limit) break;
  }
  return since ? out : out.reverse();
}

// Encode once for all streams: the hub checks each live message once and hands the same envelope to every stream's
// listener, so each envelope's frame is made once (a stream only reads it). Why: with thousands of streams on one
// channel, encoding per stream was most of the web server's CPU per delivery.
const frames = new WeakMap<Envelope, Uint8Array>();
const frame = (env: Envelope): Uint8Array => {
  let f = frames.get(env);
  if (!f) frames.set(env, (f = encodeEvent({ id: env.id || undefined, data: JSON.stringify(env) })));
  return f;
};

// One timer sends every stream's keepalive, instead of a timer per stream (memory per stream).
const open = new Set<SseStream>();
let keepaliveTimer: ReturnType<typeof setInterval> | null = null;
const KEEPALIVE_FRAME = encodeComment("keepalive");
// One clock for the soft limit, over only the streams that are over it: it is about time, not only about writes.
const overSoft = new Set<SseStream>();
let softTimer: ReturnType<typeof setInterval> | null = null;

/** Streams closed for their output (the limits) and for rights taken away (closeRevokedStreams), since the start. */
export const streamStats = { outputLimitCloses: 0, revokedCloses: 0 };

// Counted in bytes, so a stream's queue is what the client has not taken yet (Bun moves a chunk out as the socket
// takes it). A high-water mark of 1 byte: Bun's buffer per stream grows with it (a 64 KB mark doubled the memory per
// idle stream, bench/ssefloor.ts), and pull() then comes once the queue is empty. One strategy object for every stream.
const STRATEGY_MARK = 1;
const STRATEGY: QueuingStrategy<Uint8Array> = { highWaterMark: STRATEGY_MARK, size: (chunk) => chunk?.byteLength ?? 0 };

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};

export type StreamOptions = {
  /** Who opened the stream (an ACL user's name): closeRevokedStreams asks about it. */
  user?: string;
  /** --sse-output-limit; DEFAULT_SSE_OUTPUT_LIMIT when not given. */
  limits?: OutputLimits;
  /** Where a stream closed for its output is told (one line each, as the pub/sub server logs its clients). */
  log?: (line: string) => void;
};

/**
 * GET /events: a Server-Sent Events stream. For each channel it buffers live messages, replays what came after
 * `since` (or, without it, after where history stood at the open) from history, then sends the buffer, skipping
 * anything already sent: each message once, in ID order. The caller has asked hub.patternRefusal(channels) first.
 */
export function eventStream(hub: Hub, store: Store, channels: string[], since: string | undefined, onError: (err: unknown) => void, onClose?: () => void, options: StreamOptions = {}): Response {
  const source = new SseStream(hub, store, channels, since, onError, onClose, options);
  return new Response(new ReadableStream<Uint8Array>(source, STRATEGY), { headers: SSE_HEADERS });
}

/**
 * After the ACL changed: ends every open stream whose user may no longer read its channels (`mayRead` says, by the
 * user's name and the stream's channels and globs), with a last status event saying why. Returns how many it ended.
 * Streams opened with no user (no ACL) are left alone.
 */
export function closeRevokedStreams(mayRead: (user: string, channels: string[]) => boolean): number {
  let n = 0;
  for (const s of [...open])
    if (s.user !== undefined && !mayRead(s.user, s.channels)) {
      s.revoke();
      n++;
    }
  streamStats.revokedCloses += n;
  return n;
}

/**
 * One stream's state, and the underlying source of its ReadableStream. Why a class: thousands of streams stay open
 * at once, and methods on a prototype cost nothing per stream where a closure per callback did (bench/ssefloor.ts).
 */
class SseStream implements UnderlyingDefaultSource<Uint8Array> {
  /** The last ID sent per channel (a glob's messages are counted by the channel they came on), from `since`. */
  private readonly places: MemoryPlaces;
  /** Live messages held per name while its history replay runs, then sent in ID order, each once (catchup.ts). */
  private readonly held: CatchUpBuffer;
  /**
   * Names whose replay runs, each with whether it must run once more (the subscription came back meanwhile) before
   * the held messages go out; null when none runs.
   */
  private replays: Map<string, boolean> | null = null;
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  private closed = false;
  /** The shared subscription's problem as last told to this stream (null: fine). */
  private problem: string | null = null;
  /** Its listener on the hub for each name, in the order of `channels`. */
  private readonly listeners: SseListener[] = [];
  /**
   * No since, and the hub not yet subscribed to a name (the first stream on it, or the hub subscribing again): the
   * stream starts where that name's history stands now, so what is published before the subscription is live is
   * replayed, not missed. Names the hub already holds need nothing: their messages come live from the open on.
   */
  private readonly late: string[];
  private opened: Promise<Map<string, string> | void> | null;
  /** Bytes of the live messages in `held`: output the client has not taken either. */
  private heldBytes = 0;
  /** Since when the unread output has been over the soft limit (0: it is not). */
  private softSince = 0;
  /** A replay waiting for the client to take what is queued; called by pull(). */
  private drained: (() => void) | null = null;

  constructor(
    private readonly hub: Hub,
    private readonly store: Store,
    readonly channels: string[],
    since: string | undefined,
    private readonly onError: (err: unknown) => void,
    private readonly onClose: (() => void) | undefined,
    private readonly options: StreamOptions,
  ) {
    const late = since === undefined ? channels.filter((ch) => !hub.isLive(ch)) : NONE;
    this.late = late.length ? late : NONE;
    this.opened = this.late.length ? historyTops(store, this.late).catch(onError) : null;
    this.places = new MemoryPlaces(since);
    this.held = new CatchUpBuffer(this.places, (env) => this.write(frame(env)));
    for (const ch of channels) this.held.hold(ch);
  }

  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.controller = controller;
    this.write(encodeOpening(3000, `subscribed to ${this.channels.join(", ")}`));
    for (const ch of this.channels) {
      const l = new SseListener(this, ch);
      this.listeners.push(l);
      this.hub.listen(ch, l);
    }
    // A comment line every 25 s keeps proxies and NAT mappings from closing an idle stream.
    open.add(this);
    keepaliveTimer ??= setInterval(() => {
      for (const s of open) s.write(KEEPALIVE_FRAME);
    }, KEEPALIVE_MS);
  }

  /** The client took all that was queued: a replay waiting for room goes on. */
  pull(): void {
    const d = this.drained;
    this.drained = null;
    d?.();
  }

  cancel(): void {
    this.end();
  }

  /** The one way a stream ends (the client left, a limit, revoked rights): forgotten everywhere, once. */
  private end(): boolean {
    if (this.closed) return false;
    this.closed = true;
    open.delete(this);
    overSoft.delete(this);
    if (open.size === 0 && keepaliveTimer) {
      clearInterval(keepaliveTimer);
      keepaliveTimer = null;
    }
    this.listeners.forEach((l, i) => this.hub.unlisten(this.channels[i]!, l));
    this.held.clear();
    this.heldBytes = 0;
    this.pull(); // a replay waiting for room sees the stream closed and stops
    this.onClose?.();
    return true;
  }

  /** Rights taken away: a last status event says so, then the stream ends (the browser's retry then gets a 401/403). */
  revoke(): void {
    if (this.closed) return;
    this.write(encodeEvent({ event: "status", data: JSON.stringify({ connected: false, error: "your rights to read these channels were withdrawn; this stream is closed" }) }));
    const c = this.controller;
    if (this.end()) c?.close();
  }

  /** Queues bytes for the client, then holds the stream to its output limits. */
  private write(bytes: Uint8Array): void {
    if (this.closed) return;
    this.controller!.enqueue(bytes);
    this.checkOutput();
  }

  /** Who opened the stream (an ACL user's name), if anyone logged in. */
  get user(): string | undefined {
    return this.options.user;
  }

  /** Bytes in the stream's queue: written, and not yet taken by the socket. */
  private get queued(): number {
    return STRATEGY_MARK - (this.controller?.desiredSize ?? STRATEGY_MARK);
  }

  /** Bytes the client has not taken: the stream's queue, and live messages held behind a replay. */
  private get unread(): number {
    return this.queued + this.heldBytes;
  }

  /** Redis's client-output-buffer-limit, for SSE: closed past `hard`, or over `soft` for `softSeconds`. */
  checkOutput(): void {
    const used = this.unread;
    const { hard, soft, softSeconds } = this.options.limits ?? DEFAULT_SSE_OUTPUT_LIMIT;
    // The common case, once per delivery: well under every limit and never over the soft one.
    if (used < Math.min(hard || Infinity, soft || Infinity) && this.softSince === 0) return;
    if (hard > 0 && used >= hard) return this.cutOff(`its unread output passed the hard limit of ${hard} bytes`);
    if (soft > 0 && used >= soft) {
      if (!this.softSince) {
        this.softSince = Date.now();
        overSoft.add(this);
        softTimer ??= setInterval(() => {
          for (const s of overSoft) s.checkOutput();
          if (overSoft.size === 0 && softTimer) {
            clearInterval(softTimer);
            softTimer = null;
          }
        }, 1000);
      } else if (Date.now() - this.softSince >= softSeconds * 1000) this.cutOff(`its unread output stayed over the soft limit of ${soft} bytes for ${softSeconds} s`);
    } else {
      this.softSince = 0;
      overSoft.delete(this);
    }
  }

  /** Over a limit: the stream is ended at once and what is queued for it dropped (the client is not reading it). */
  private cutOff(why: string): void {
    const c = this.controller;
    const unread = this.unread;
    if (!this.end()) return;
    streamStats.outputLimitCloses++;
    this.options.log?.(`web: an SSE stream on ${this.channels.map((ch) => JSON.stringify(ch)).join(", ")}${this.user !== undefined ? ` (user ${this.user})` : ""} closed: ${why} (${unread} bytes unread)`);
    c?.error(new Error(`SSE stream closed: ${why}`));
  }

  /** The shared subscription's state, sent when it changes: a browser must not sit on a silent "Live". */
  status(now: string | null): void {
    if (this.closed || now === this.problem) return;
    this.problem = now;
    // Addresses and hosts are for the log, not for strangers: the stream says it waits, and only Redis's own reply why.
    const said = now === null ? null : serverReplyIn(now);
    const error = said === null ? HUB_AWAY : `the pub/sub server said: ${said}`;
    this.write(encodeEvent({ event: "status", data: JSON.stringify(now === null ? { connected: true } : { connected: false, error }) }));
  }

  message(name: string, env: CheckedEnvelope): void {
    if (this.closed || isReservedChannel(env.channel)) return; // the server's own traffic, matched by a glob like *
    if (!this.held.live(name, env)) return;
    this.heldBytes += frame(env).byteLength;
    this.checkOutput();
  }

  /** `name` is subscribed (again): hold its live messages while history fills the gap, so nothing is lost or doubled. */
  resubscribed(name: string): void {
    if (this.closed) return;
    if (this.replays?.has(name)) {
      // A replay runs already (a long one, for a slow client): it goes once more when it is done.
      this.replays.set(name, true);
      return;
    }
    this.held.hold(name);
    (this.replays ??= new Map()).set(name, false);
    void this.replayHeld(name);
  }

  /** Replays `name` (again while asked to), then sends what was held meanwhile. */
  private async replayHeld(name: string): Promise<void> {
    try {
      do {
        this.replays?.set(name, false);
        await this.replay(name);
      } while (this.replays?.get(name) && !this.closed);
    } catch (err) {
      this.onError(err);
    } finally {
      this.replays?.delete(name);
      if (this.replays?.size === 0) this.replays = null;
      // Sent in ID order, each once: what the replay sent already is dropped.
      for (const env of this.held.release([name])) this.heldBytes -= frame(env).byteLength;
    }
  }

  /** Sends `name`'s history from where this stream stands, a page at a time, waiting while the client's queue is full. */
  private async replay(name: string): Promise<void> {
    const tops = await this.opened;
    const starts: [string, string][] = [];
    for (const c of await channelsWithHistory(name, this.store)) {
      const from = this.places.get(c) ?? (tops && this.late.includes(name) ? startAt(tops, name, c) : undefined);
      if (from) starts.push([c, from]);
      // From here on `last` is the start: the tops need not be kept for the stream's life.
      if (from && tops && !isPattern(name) && !this.places.has(c)) this.places.set(c, from);
    }
    if (tops && this.late.every((n) => !isPattern(n) && this.places.has(n))) this.opened = null;
    for await (const env of mergedHistory(this.store, starts, false, pageFor(starts.length, READ_BUDGET))) {
      if (this.closed) return;
      this.held.replayed(env);
      // Backpressure: read no more history until the client has taken what is queued.
      if (this.queued >= REPLAY_HIGH_WATER) await new Promise<void>((resolve) => (this.drained = resolve));
    }
  }
}

/** A stream's listener for one name on the hub: two fields, its methods shared. */
class SseListener implements HubListener {
  constructor(
    private readonly stream: SseStream,
    private readonly name: string,
  ) {}
  message(env: CheckedEnvelope): void {
    this.stream.message(this.name, env);
  }
  resubscribed(): void {
    this.stream.resubscribed(this.name);
  }
  status(problem: string | null): void {
    this.stream.status(problem);
  }
}
