// events.ts — subscriptions over HTTP: GET /events (Server-Sent Events, with history catch-up from Last-Event-ID
// or ?since=) and GET /messages (history as JSON, pages both ways), for channels and globs alike, via hub.ts.
import type { Hub, HubListener } from "./hub";
import { InputError, compareIds, envelopeFromEntry, isReservedChannel, parsePayload, refuseReserved, type Envelope } from "./message";
import type { Store } from "./publisher";
import { encodeComment, encodeEvent } from "./sse";
import { isPattern } from "./glob";

export const KEEPALIVE_MS = 25_000;
const ID = /^\d{1,20}-\d{1,20}$/;

/** Channels from ?channel=a&channel=b or ?channels=a,b; at least one. */
export function channelsFrom(url: URL): string[] {
  const list = [...url.searchParams.getAll("channel"), ...url.searchParams.getAll("channels").flatMap((c) => c.split(","))]
    .map((c) => c.trim())
    .filter(Boolean);
  if (!list.length) throw new InputError('missing "channel": add ?channel=<name> (repeat it, or use ?channels=a,b, for several)');
  for (const c of list) {
    if (c.length > 1024) throw new InputError('a "channel" is longer than 1024 characters');
    refuseReserved(c);
  }
  return [...new Set(list)];
}

export function checkId(id: string | null, what: string): string | undefined {
  if (id === null || id === "") return undefined;
  if (!ID.test(id)) throw new InputError(`${what} must be a stream ID like 1700000000000-0, got ${JSON.stringify(id.slice(0, 100))}`);
  return id;
}

/** Turns an XRANGE/XREVRANGE reply (as Bun's RedisClient gives it) into envelopes. */
function entries(reply: unknown, channel: string): Envelope[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((e) => {
    const [id, fields] = e as [string, string[]];
    return envelopeFromEntry(String(id), (fields ?? []).map(String), channel);
  });
}

/** The channels with history that a name stands for: itself, or for a glob every channel it matches. */
async function channelsOf(name: string, store: Store): Promise<string[]> {
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
  const layout = await store.layout();
  const channels = [...new Set((await Promise.all(names.map((n) => channelsOf(n, store)))).flat())];
  // Sent together: one round trip for all of them on a connection that pipelines.
  const tops = await Promise.all(channels.map((ch) => store.send("XREVRANGE", [layout.historyKey(ch), "+", "-", "COUNT", "1"])));
  return new Map(channels.map((ch, i) => [ch, entries(tops[i], ch)[0]?.id ?? "0-0"]));
}

/** Where a stream that opened without `since` starts on `channel` (of `name`), from the tops read at its open. */
const startAt = (tops: Map<string, string>, name: string, channel: string): string | undefined =>
  tops.get(channel) ?? (isPattern(name) ? "0-0" : undefined);

/** No names: shared, so a stream that needs no tops keeps no array of its own. */
const NONE: string[] = [];

/** A channel's history after `from` (exclusive), oldest first. */
async function historyAfter(store: Store, channel: string, from: string, count?: number): Promise<Envelope[]> {
  const key = (await store.layout()).historyKey(channel);
  return entries(await store.send("XRANGE", [key, `(${from}`, "+", ...(count ? ["COUNT", String(count)] : [])]), channel);
}

/**
 * GET /messages: up to `limit` messages, oldest first: after `since`, or before `before` (older pages), or the
 * latest ones. Globs read every channel they match.
 */
export async function recentMessages(url: URL, store: Store): Promise<Envelope[]> {
  const names = channelsFrom(url);
  const since = checkId(url.searchParams.get("since"), "since");
  const before = checkId(url.searchParams.get("before"), "before");
  if (since && before) throw new InputError("give since or before, not both");
  const limitArg = url.searchParams.get("limit") ?? "50";
  const limit = Number(limitArg);
  if (!/^\d+$/.test(limitArg) || limit < 1 || limit > 1000) throw new InputError(`limit must be a whole number from 1 to 1000, got ${JSON.stringify(limitArg.slice(0, 50))}`);
  const all: Envelope[] = [];
  const seen = new Set<string>();
  for (const name of names)
    for (const ch of await channelsOf(name, store)) {
      if (seen.has(ch)) continue;
      seen.add(ch);
      if (since) all.push(...(await historyAfter(store, ch, since, limit)));
      else all.push(...entries(await store.send("XREVRANGE", [(await store.layout()).historyKey(ch), before ? `(${before}` : "+", "-", "COUNT", String(limit)]), ch).reverse());
    }
  all.sort((a, b) => compareIds(a.id, b.id));
  return since ? all.slice(0, limit) : all.slice(-limit);
}

const encoder = new TextEncoder();

// Encode once for all streams: the hub hands one live message to every stream's listener in one loop, so the last
// message parsed is kept, and each envelope's frame is made once (a stream only reads them). Why: with thousands
// of streams on one channel, parsing and encoding per stream was most of the web server's CPU per delivery.
const frames = new WeakMap<Envelope, Uint8Array>();
const frame = (env: Envelope): Uint8Array => {
  let f = frames.get(env);
  if (!f) frames.set(env, (f = encodeEvent({ id: env.id || undefined, data: JSON.stringify(env) })));
  return f;
};
let lastLive: { channel: string; payload: string; env: Envelope } | null = null;
function liveEnvelope(channel: string, payload: string): Envelope {
  if (lastLive === null || lastLive.payload !== payload || lastLive.channel !== channel) lastLive = { channel, payload, env: parsePayload(channel, payload) };
  return lastLive.env;
}

// One timer sends every stream's keepalive, instead of a timer per stream (memory per stream).
const open = new Set<SseStream>();
let keepaliveTimer: ReturnType<typeof setInterval> | null = null;
const KEEPALIVE_FRAME = encodeComment("keepalive");

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};

/**
 * GET /events: a Server-Sent Events stream. For each channel it buffers live messages, replays what came after
 * `since` (or, without it, after where history stood at the open) from history, then sends the buffer, skipping
 * anything already sent: each message once, in ID order.
 */
export function eventStream(hub: Hub, store: Store, channels: string[], since: string | undefined, onError: (err: unknown) => void, onClose?: () => void): Response {
  return new Response(new ReadableStream<Uint8Array>(new SseStream(hub, store, channels, since, onError, onClose)), { headers: SSE_HEADERS });
}

/**
 * One stream's state, and the underlying source of its ReadableStream. Why a class: thousands of streams stay open
 * at once, and methods on a prototype cost nothing per stream where a closure per callback did (bench/ssefloor.ts).
 */
class SseStream implements UnderlyingDefaultSource<Uint8Array> {
  /** The last ID sent per channel (a glob's messages are counted by the channel they came on); made on first use. */
  private last: Map<string, string> | null = null;
  /** Live messages held per name while its history replay runs; null when none runs (most of a stream's life). */
  private buffers: Map<string, Envelope[]> | null = new Map();
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

  constructor(
    private readonly hub: Hub,
    private readonly store: Store,
    private readonly channels: string[],
    private readonly since: string | undefined,
    private readonly onError: (err: unknown) => void,
    private readonly onClose?: () => void,
  ) {
    const late = since === undefined ? channels.filter((ch) => !hub.isLive(ch)) : NONE;
    this.late = late.length ? late : NONE;
    this.opened = this.late.length ? historyTops(store, this.late).catch(onError) : null;
    for (const ch of channels) this.buffers!.set(ch, []);
  }

  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.controller = controller;
    controller.enqueue(encoder.encode(`retry: 3000\n: subscribed to ${this.channels.join(", ")}\n\n`));
    for (const ch of this.channels) {
      const l = new SseListener(this, ch);
      this.listeners.push(l);
      this.hub.listen(ch, l);
    }
    // A comment line every 25 s keeps proxies and NAT mappings from closing an idle stream.
    open.add(this);
    keepaliveTimer ??= setInterval(() => {
      for (const s of open) s.controller?.enqueue(KEEPALIVE_FRAME);
    }, KEEPALIVE_MS);
  }

  cancel(): void {
    this.closed = true;
    open.delete(this);
    if (open.size === 0 && keepaliveTimer) {
      clearInterval(keepaliveTimer);
      keepaliveTimer = null;
    }
    this.listeners.forEach((l, i) => this.hub.unlisten(this.channels[i]!, l));
    this.onClose?.();
  }

  send(env: Envelope): void {
    if (this.closed) return;
    if (env.id) {
      const prev = this.last?.get(env.channel) ?? this.since;
      if (prev !== undefined && compareIds(env.id, prev) <= 0) return; // already sent
      (this.last ??= new Map()).set(env.channel, env.id);
    }
    this.controller!.enqueue(frame(env));
  }

  /** The shared subscription's state, sent when it changes: a browser must not sit on a silent "Live". */
  status(now: string | null): void {
    if (this.closed || now === this.problem) return;
    this.problem = now;
    this.controller!.enqueue(encodeEvent({ event: "status", data: JSON.stringify(now === null ? { connected: true } : { connected: false, error: now }) }));
  }

  message(name: string, channel: string, payload: string): void {
    if (isReservedChannel(channel)) return; // the server's own traffic, matched by a glob like *
    const env = liveEnvelope(channel, payload);
    const buf = this.buffers?.get(name);
    if (buf) buf.push(env);
    else this.send(env);
  }

  /** `name` is subscribed (again): hold its live messages while history fills the gap, so nothing is lost or doubled. */
  resubscribed(name: string): void {
    const buffers = (this.buffers ??= new Map());
    if (!buffers.has(name)) buffers.set(name, []);
    this.replay(name)
      .then((missed) => {
        for (const env of missed) this.send(env);
      })
      .catch(this.onError)
      .finally(() => {
        const held = this.buffers?.get(name) ?? [];
        this.buffers?.delete(name);
        if (this.buffers?.size === 0) this.buffers = null;
        for (const env of held) this.send(env);
      });
  }

  private async replay(name: string): Promise<Envelope[]> {
    const missed: Envelope[] = [];
    const tops = await this.opened;
    for (const c of await channelsOf(name, this.store)) {
      const from = this.last?.get(c) ?? this.since ?? (tops && this.late.includes(name) ? startAt(tops, name, c) : undefined);
      if (from) missed.push(...(await historyAfter(this.store, c, from)));
      // From here on `last` is the start: the tops need not be kept for the stream's life.
      if (from && tops && !isPattern(name) && !this.last?.has(c)) (this.last ??= new Map()).set(c, from);
    }
    if (tops && this.late.every((n) => !isPattern(n) && this.last?.has(n))) this.opened = null;
    return missed.sort((a, b) => compareIds(a.id, b.id));
  }
}

/** A stream's listener for one name on the hub: two fields, its methods shared. */
class SseListener implements HubListener {
  constructor(
    private readonly stream: SseStream,
    private readonly name: string,
  ) {}
  message(channel: string, payload: string): void {
    this.stream.message(this.name, channel, payload);
  }
  resubscribed(): void {
    this.stream.resubscribed(this.name);
  }
  status(problem: string | null): void {
    this.stream.status(problem);
  }
}
