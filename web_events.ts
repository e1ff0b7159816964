// web_events.ts — subscriptions over HTTP: GET /events (Server-Sent Events) and ntfy's streams (any StreamFormat, over a
// response or a WebSocket), with catch-up (catchup.ts) read only as fast as the client takes it, under output limits; GET /messages (history, paged).
import type { CheckedEnvelope, Hub, HubListener } from "./web_hub";
import { compareIds, isReservedChannel, isStreamId, type Envelope } from "./message";
import { CatchUpBuffer, MemoryPlaces, historyOver, type CommandHistory } from "./catchup";
import { InputError, refuseChannelName } from "./web_input";
import { serverReplyIn } from "./link";
import type { Store } from "./web_publisher";
import type { OutputLimits } from "./cli";
import { encodeComment, encodeEvent, encodeOpening } from "./sse";
import { globCostRefusal, isPattern } from "./glob";
import { idBefore } from "./web_ntfy";
import type { ServerWebSocket } from "bun";

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

// ---- Streams ------------------------------------------------------------------------------------------------------

/** A frame as a stream writes it: bytes on an HTTP stream, a text frame on a WebSocket. */
export type Frame = Uint8Array | string;
/** A frame's size for the output limits: its bytes, or a text frame's length (its bytes, for the JSON it carries). */
const sizeOf = (f: Frame): number => (typeof f === "string" ? f.length : f.byteLength);

/**
 * What a stream writes, and how often it says it is alive: /events's SSE (SSE_FORMAT), or ntfy's lines and frames
 * (web_ntfy_subscribe.ts). A format may be one object for every stream (SSE) or one per stream (ntfy's carry the
 * stream's topics and filters); either way a message's frame is made once per envelope and shared, as below.
 */
export interface StreamFormat<F extends Frame = Frame> {
  /** An HTTP stream's response headers. */
  readonly headers: Record<string, string>;
  /** How often keepalive() goes out. */
  readonly keepaliveMs: number;
  /** The first frame, once the stream listens; null: none. */
  opening(channels: string[]): F | null;
  /** A message's frame; null leaves it out of this stream (its filters) without moving where the stream stands. */
  message(env: Envelope): F | null;
  /** The keepalive frame; null: the stream pings instead (a WebSocket). */
  keepalive(): F | null;
  /** The shared subscription came back (error null) or is down, with what a stranger may be told; null: nothing said. */
  status(error: string | null): F | null;
  /** The last frame when the stream's rights are withdrawn; null: none. */
  revoked(): F | null;
}

// Encode once for all streams: the hub checks each live message once and hands the same envelope to every stream's
// listener, so each envelope's frame is made once (a stream only reads it). Why: with thousands of streams on one
// channel, encoding per stream was most of the web server's CPU per delivery.
const sseFrames = new WeakMap<Envelope, Uint8Array>();
const statusFrame = (body: { connected: boolean; error?: string }): Uint8Array => encodeEvent({ event: "status", data: JSON.stringify(body) });
const KEEPALIVE_FRAME = encodeComment("keepalive");

/** GET /events's format: our envelope as an SSE event with its id, a comment as keepalive, `status` events. */
const SSE_FORMAT: StreamFormat<Uint8Array> = {
  headers: {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  },
  keepaliveMs: KEEPALIVE_MS,
  opening: (channels) => encodeOpening(3000, `subscribed to ${channels.join(", ")}`),
  message(env) {
    let f = sseFrames.get(env);
    if (!f) sseFrames.set(env, (f = encodeEvent({ id: env.id || undefined, data: JSON.stringify(env) })));
    return f;
  },
  keepalive: () => KEEPALIVE_FRAME,
  status: (error) => statusFrame(error === null ? { connected: true } : { connected: false, error }),
  revoked: () => statusFrame({ connected: false, error: "your rights to read these channels were withdrawn; this stream is closed" }),
};

// Every open stream (closeRevokedStreams asks them all), and per keepalive interval one timer that beats all of its
// streams, instead of a timer per stream (memory per stream).
const open = new Set<Stream<Frame>>();
const beats = new Map<number, { streams: Set<Stream<Frame>>; timer: ReturnType<typeof setInterval> }>();
// One clock for the soft limit, over only the streams that are over it: it is about time, not only about writes.
const overSoft = new Set<Stream<Frame>>();
let softTimer: ReturnType<typeof setInterval> | null = null;

/** Streams closed for their output (the limits) and for rights taken away (closeRevokedStreams), since the start. */
export const streamStats = { outputLimitCloses: 0, revokedCloses: 0 };

// Counted in bytes, so a stream's queue is what the client has not taken yet (Bun moves a chunk out as the socket
// takes it). A high-water mark of 1 byte: Bun's buffer per stream grows with the mark (bench/ssefloor.ts measures
// it), and pull() then comes once the queue is empty. One strategy object for every stream.
const STRATEGY_MARK = 1;
export const STRATEGY: QueuingStrategy<Uint8Array> = { highWaterMark: STRATEGY_MARK, size: (chunk) => chunk?.byteLength ?? 0 };

export type StreamOptions = {
  /** Who opened the stream (an ACL user's name): closeRevokedStreams asks about it. */
  user?: string;
  /** --sse-output-limit; DEFAULT_SSE_OUTPUT_LIMIT when not given. */
  limits?: OutputLimits;
  /** Where a stream closed for its output is told (one line each, as the pub/sub server logs its clients). */
  log?: (line: string) => void;
  /** What the stream writes; SSE_FORMAT when not given. */
  format?: StreamFormat<Frame>;
  /** With no `since`: start at each channel's newest message (ntfy's since=latest) rather than after it. */
  latest?: boolean;
  /**
   * Messages sent once, after the first catch-up and before anything live: ntfy's scheduled=1 lists the messages not
   * yet due there, after the cached ones (sendOldMessages), their times in the future. Not history: no place moves.
   */
  afterHistory?: () => Promise<Envelope[]>;
};

/**
 * GET /events: a Server-Sent Events stream (or, with options.format, another format over HTTP). For each channel it
 * buffers live messages, replays what came after `since` (or, without it, after where history stood at the open)
 * from history, then sends the buffer, skipping anything already sent: each message once, in ID order. The first
 * catch-up waits until every channel is subscribed, then reads their histories merged in ID order. The caller has
 * asked hub.patternRefusal(channels) first.
 */
export function eventStream(hub: Hub, store: Store, channels: string[], since: string | undefined, onError: (err: unknown) => void, onClose?: () => void, options: StreamOptions = {}): Response {
  const source = new HttpStream(hub, store, channels, since, onError, onClose, options);
  return new Response(new ReadableStream<Uint8Array>(source, STRATEGY), { headers: (options.format ?? SSE_FORMAT).headers });
}

/** What a WebSocket's `data` is: the stream it carries, told by web.ts's websocket handler when the socket opens, drains and closes. */
export interface SocketSession {
  opened(ws: ServerWebSocket<SocketSession>): void;
  drained(): void;
  closed(): void;
}

/** The same stream as eventStream's over a WebSocket (ntfy's /ws): text frames, ping frames as keepalive. Starts once upgraded. */
export function socketStream(hub: Hub, store: Store, channels: string[], since: string | undefined, onError: (err: unknown) => void, onClose: (() => void) | undefined, options: StreamOptions & { format: StreamFormat<string> }): SocketSession {
  return new SocketStream(hub, store, channels, since, onError, onClose, options);
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
 * One stream's state, whatever carries it (an HTTP response's body, a WebSocket). Why a class: thousands of streams
 * stay open at once, and methods on a prototype cost nothing per stream where a closure per callback did.
 */
abstract class Stream<F extends Frame> {
  /** The last ID sent per channel (a glob's messages are counted by the channel they came on), from `since`. */
  private readonly places: MemoryPlaces;
  /** Live messages held per name while its history replay runs, then sent in ID order, each once (catchup.ts). */
  private readonly held: CatchUpBuffer;
  /**
   * Names whose replay runs, each with whether it must run once more (the subscription came back meanwhile) before
   * the held messages go out; null when none runs.
   */
  private replays: Map<string, boolean> | null = null;
  /** Names not yet subscribed once, when there are several: the first catch-up waits for all, then reads them merged. */
  private firstWait: Set<string> | null;
  protected isClosed = false;
  /** The shared subscription's problem as last told to this stream (null: fine). */
  private problem: string | null = null;
  /** Its listener on the hub for each name, in the order of `channels`. */
  private readonly listeners: StreamListener[] = [];
  /**
   * No since, and the hub not yet subscribed to a name (the first stream on it, or the hub subscribing again): the
   * stream starts where that name's history stands now, so what is published before the subscription is live is
   * replayed, not missed. Names the hub already holds need nothing: their messages come live from the open on.
   * With options.latest, every name starts there, at its newest message.
   */
  private readonly late: string[];
  private topsAtOpen: Promise<Map<string, string> | void> | null;
  /** Bytes of the live messages in `held`: output the client has not taken either. */
  private heldBytes = 0;
  /** Since when the unread output has been over the soft limit (0: it is not). */
  private softSince = 0;
  /** A replay waiting for the client to take what is queued; called by pull(). */
  private roomWaiter: (() => void) | null = null;
  protected readonly format: StreamFormat<F>;
  /** options.afterHistory until the first catch-up has sent it. */
  private afterHistory: (() => Promise<Envelope[]>) | null;

  constructor(
    private readonly hub: Hub,
    private readonly store: Store,
    readonly channels: string[],
    since: string | undefined,
    private readonly onError: (err: unknown) => void,
    private readonly onClose: (() => void) | undefined,
    private readonly options: StreamOptions,
  ) {
    this.format = (options.format ?? SSE_FORMAT) as StreamFormat<F>;
    this.afterHistory = options.afterHistory ?? null;
    const late = options.latest ? channels : since === undefined ? channels.filter((ch) => !hub.isLive(ch)) : NONE;
    this.late = late.length ? late : NONE;
    this.topsAtOpen = this.late.length ? historyTops(store, this.late).catch(onError) : null;
    this.places = new MemoryPlaces(since);
    this.held = new CatchUpBuffer(this.places, (env) => this.show(env));
    for (const ch of channels) this.held.hold(ch);
    this.firstWait = channels.length > 1 ? new Set(channels) : null;
  }

  /** Bytes queued for the client: written, and not yet taken by the socket. */
  protected abstract get queued(): number;
  /** Hands a frame to the socket; false: it refused it (a WebSocket past its buffer), and the stream must end. */
  protected abstract send(frame: F): boolean;
  /** Closes the socket after a last frame (rights withdrawn). */
  protected abstract finish(): void;
  /** Closes the socket at once, dropping what is queued (a limit). */
  protected abstract abort(why: string): void;

  /** Subscribed (to the hub, each name), then the opening frame, then keepalives on the format's beat. */
  protected begin(): void {
    for (const ch of this.channels) {
      const l = new StreamListener(this, ch);
      this.listeners.push(l);
      this.hub.listen(ch, l);
    }
    const first = this.format.opening(this.channels);
    if (first !== null) this.write(first);
    open.add(this);
    const every = this.format.keepaliveMs;
    let beat = beats.get(every);
    if (!beat) {
      const streams = new Set<Stream<Frame>>();
      // A keepalive keeps proxies and NAT mappings from closing an idle stream, and tells the client it is alive.
      const timer = setInterval(() => {
        for (const s of streams) s.keepalive();
      }, every);
      beats.set(every, (beat = { streams, timer }));
    }
    beat.streams.add(this);
  }

  /** The keepalive frame, or (a WebSocket) a ping. */
  keepalive(): void {
    const f = this.format.keepalive();
    if (f !== null) this.write(f);
  }

  /** The client took all that was queued: a replay waiting for room goes on. */
  pull(): void {
    const d = this.roomWaiter;
    this.roomWaiter = null;
    d?.();
  }

  /** The one way a stream ends (the client left, a limit, revoked rights): forgotten everywhere, once. */
  protected end(): boolean {
    if (this.isClosed) return false;
    this.isClosed = true;
    open.delete(this);
    overSoft.delete(this);
    const beat = beats.get(this.format.keepaliveMs);
    if (beat?.streams.delete(this) && beat.streams.size === 0) {
      clearInterval(beat.timer);
      beats.delete(this.format.keepaliveMs);
    }
    this.listeners.forEach((l, i) => this.hub.unlisten(this.channels[i]!, l));
    this.held.clear();
    this.heldBytes = 0;
    this.pull(); // a replay waiting for room sees the stream closed and stops
    this.onClose?.();
    return true;
  }

  /** Rights taken away: a last frame says so (SSE's status event), then the stream ends (a retry then gets a 401/403). */
  revoke(): void {
    if (this.isClosed) return;
    const last = this.format.revoked();
    if (last !== null) this.write(last);
    if (this.end()) this.finish();
  }

  /** A message for the client, unless the format leaves it out. */
  private show(env: Envelope): void {
    const f = this.format.message(env);
    if (f !== null) this.write(f);
  }

  /** Queues a frame for the client, then holds the stream to its output limits. */
  private write(frame: F): void {
    if (this.isClosed) return;
    if (!this.send(frame)) return this.cutOff("the socket would take no more output");
    this.checkOutput();
  }

  /** Who opened the stream (an ACL user's name), if anyone logged in. */
  get user(): string | undefined {
    return this.options.user;
  }

  /** Bytes the client has not taken: the stream's queue, and live messages held behind a replay. */
  private get unread(): number {
    return this.queued + this.heldBytes;
  }

  /** Redis's client-output-buffer-limit, for streams: closed past `hard`, or over `soft` for `softSeconds`. */
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
    const unread = this.unread;
    if (!this.end()) return;
    streamStats.outputLimitCloses++;
    this.options.log?.(`web: a stream on ${this.channels.map((ch) => JSON.stringify(ch)).join(", ")}${this.user !== undefined ? ` (user ${this.user})` : ""} closed: ${why} (${unread} bytes unread)`);
    this.abort(why);
  }

  /** The shared subscription's state, sent when it changes: a browser must not sit on a silent "Live". */
  status(now: string | null): void {
    if (this.isClosed || now === this.problem) return;
    this.problem = now;
    // Addresses and hosts are for the log, not for strangers: the stream says it waits, and only Redis's own reply why.
    const said = now === null ? null : serverReplyIn(now);
    const f = this.format.status(now === null ? null : said === null ? HUB_AWAY : `the pub/sub server said: ${said}`);
    if (f !== null) this.write(f);
  }

  message(name: string, env: CheckedEnvelope): void {
    if (this.isClosed || isReservedChannel(env.channel)) return; // the server's own traffic, matched by a glob like *
    if (!this.held.live(name, env)) return;
    this.heldBytes += this.sizeHeld(env);
    this.checkOutput();
  }

  /** What a held message will cost once sent (nothing, if the format leaves it out). */
  private sizeHeld(env: Envelope): number {
    const f = this.format.message(env);
    return f === null ? 0 : sizeOf(f);
  }

  /** `name` is subscribed (again): hold its live messages while history fills the gap, so nothing is lost or doubled. */
  resubscribed(name: string): void {
    if (this.isClosed) return;
    if (this.firstWait) {
      // Every name is held from the start; once all are subscribed, their histories are read as one, in ID order.
      this.firstWait.delete(name);
      if (this.firstWait.size === 0) {
        this.firstWait = null;
        this.startReplay(this.channels);
      }
      return;
    }
    if (this.replays?.has(name)) {
      // A replay runs already (a long one, for a slow client): it goes once more when it is done.
      this.replays.set(name, true);
      return;
    }
    this.held.hold(name);
    this.startReplay([name]);
  }

  private startReplay(names: string[]): void {
    const running = (this.replays ??= new Map());
    for (const n of names) running.set(n, false);
    void this.replayHeld(names);
  }

  /** Replays `names` (those asked to, again), then sends what was held meanwhile. */
  private async replayHeld(names: string[]): Promise<void> {
    try {
      let todo = names;
      while (todo.length && !this.isClosed) {
        for (const n of todo) this.replays?.set(n, false);
        await this.replay(todo);
        todo = todo.filter((n) => this.replays?.get(n));
      }
      const after = this.afterHistory;
      this.afterHistory = null;
      if (after) for (const env of await after()) if (!this.isClosed) this.show(env);
    } catch (err) {
      this.onError(err);
    } finally {
      for (const n of names) this.replays?.delete(n);
      if (this.replays?.size === 0) this.replays = null;
      // Sent in ID order, each once: what the replay sent already is dropped.
      for (const env of this.held.release(names)) this.heldBytes -= this.sizeHeld(env);
    }
  }

  /** Where a late name's channel starts: after its newest (or with `latest`, at it), from the tops read at the open. */
  private startOf(tops: Map<string, string>, name: string, channel: string): string | undefined {
    if (!this.options.latest) return startAt(tops, name, channel);
    const top = tops.get(channel) ?? "0-0";
    return top === "0-0" ? top : idBefore(top);
  }

  /** Sends the names' histories from where this stream stands, merged in ID order, a page at a time, waiting while the client's queue is full. */
  private async replay(names: string[]): Promise<void> {
    const tops = await this.topsAtOpen;
    const starts = new Map<string, string>();
    const lists = await Promise.all(names.map((name) => channelsWithHistory(name, this.store)));
    names.forEach((name, i) => {
      for (const c of lists[i]!) {
        const from = this.places.get(c) ?? (tops && this.late.includes(name) ? this.startOf(tops, name, c) : undefined);
        if (from && !starts.has(c)) starts.set(c, from);
        // From here on `last` is the start: the tops need not be kept for the stream's life.
        if (from && tops && !isPattern(name) && !this.places.has(c)) this.places.set(c, from);
      }
    });
    if (tops && this.late.every((n) => !isPattern(n) && this.places.has(n))) this.topsAtOpen = null;
    for await (const env of mergedHistory(this.store, [...starts], false, pageFor(starts.size, READ_BUDGET))) {
      if (this.isClosed) return;
      this.held.replayed(env);
      // Backpressure: read no more history until the client has taken what is queued.
      if (this.queued >= REPLAY_HIGH_WATER) await new Promise<void>((resolve) => (this.roomWaiter = resolve));
    }
  }
}

/** A stream as an HTTP response's body (SSE, ntfy's lines): the underlying source of its ReadableStream. */
class HttpStream extends Stream<Uint8Array> implements UnderlyingDefaultSource<Uint8Array> {
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;

  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.controller = controller;
    this.begin();
  }

  cancel(): void {
    this.end();
  }

  protected get queued(): number {
    return STRATEGY_MARK - (this.controller?.desiredSize ?? STRATEGY_MARK);
  }

  protected send(frame: Uint8Array): boolean {
    this.controller!.enqueue(frame);
    return true;
  }

  protected finish(): void {
    this.controller?.close();
  }

  protected abort(why: string): void {
    this.controller?.error(new Error(`stream closed: ${why}`));
  }
}

/** A stream over a WebSocket (ntfy's /ws): JSON text frames, a ping frame as keepalive. */
class SocketStream extends Stream<string> implements SocketSession {
  private ws: ServerWebSocket<SocketSession> | null = null;

  opened(ws: ServerWebSocket<SocketSession>): void {
    this.ws = ws;
    this.begin();
  }

  drained(): void {
    this.pull();
  }

  closed(): void {
    this.end();
  }

  override keepalive(): void {
    this.ws?.ping();
  }

  protected get queued(): number {
    return this.ws?.getBufferedAmount() ?? 0;
  }

  // sendText answers -1 when the frame is queued behind others (backpressure, counted by `queued`), and 0 when Bun
  // dropped it (past its backpressureLimit): a gap the client would never see, so the stream ends instead.
  protected send(frame: string): boolean {
    return this.ws!.sendText(frame) !== 0;
  }

  protected finish(): void {
    this.ws?.close(1008, "your rights to read these topics were withdrawn");
  }

  protected abort(why: string): void {
    this.ws?.close(1008, why.slice(0, 120));
  }
}

/** A stream's listener for one name on the hub: two fields, its methods shared. */
class StreamListener implements HubListener {
  constructor(
    private readonly stream: Stream<Frame>,
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

/** Where a read of cached messages starts on every channel: after an ID (0-0: all of them), or at each one's newest. */
export type CachedStart = { after: string } | "latest";

/**
 * Cached messages on `channels` (names, not globs), merged in ID order, read a page at a time as the reader asks for
 * more (ntfy's poll=1, which needs no subscription).
 */
export async function* cachedMessages(store: Store, channels: string[], start: CachedStart): AsyncGenerator<Envelope> {
  if (start === "latest") {
    const history = historyIn(store);
    const newest = await Promise.all(channels.map((c) => history.before(c, "+", 1)));
    yield* newest.flat().sort((a, b) => compareIds(a.id, b.id));
    return;
  }
  yield* mergedHistory(store, channels.map((c): [string, string] => [c, start.after]), false, pageFor(channels.length, READ_BUDGET));
}
