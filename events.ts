// events.ts — subscriptions over HTTP: GET /events (Server-Sent Events, with history catch-up from Last-Event-ID
// or ?since=) and GET /messages (history as JSON, pages both ways), for channels and globs alike, via hub.ts.
import type { Hub } from "./hub";
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
const keepalives = new Set<() => void>();
let keepaliveTimer: ReturnType<typeof setInterval> | null = null;
const KEEPALIVE_FRAME = encodeComment("keepalive");
function keepAlive(send: () => void): () => void {
  keepalives.add(send);
  keepaliveTimer ??= setInterval(() => {
    for (const k of keepalives) k();
  }, KEEPALIVE_MS);
  return () => {
    keepalives.delete(send);
    if (keepalives.size === 0 && keepaliveTimer) {
      clearInterval(keepaliveTimer);
      keepaliveTimer = null;
    }
  };
}

/**
 * GET /events: a Server-Sent Events stream. For each channel it buffers live messages, replays what came after
 * `since` (or, without it, after where history stood at the open) from history, then sends the buffer, skipping
 * anything already sent: each message once, in ID order.
 */
export function eventStream(hub: Hub, store: Store, channels: string[], since: string | undefined, onError: (err: unknown) => void, onClose?: () => void): Response {
  /** The last ID sent per channel (a glob's messages are counted by the channel they came on). */
  const last = new Map<string, string>();
  const buffers = new Map<string, Envelope[]>(channels.map((ch) => [ch, []]));
  const unwatch: (() => void)[] = [];
  let stopKeepalive: (() => void) | undefined;
  let closed = false;
  // No since, and the hub not yet subscribed to a name (the first stream on it, or the hub subscribing again): the
  // stream starts where that name's history stands now, so what is published before the subscription is live is
  // replayed, not missed. A channel a glob matches that had no history then is new: all of its history came after.
  // Names the hub already holds need nothing: the stream gets their messages live from now on.
  const late = since === undefined && !channels.every((ch) => hub.isLive(ch)) ? channels.filter((ch) => !hub.isLive(ch)) : NONE;
  let opened: Promise<Map<string, string> | void> | null = late.length ? historyTops(store, late).catch(onError) : null;

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (env: Envelope) => {
        if (closed) return;
        if (env.id) {
          const prev = last.get(env.channel) ?? since;
          if (prev !== undefined && compareIds(env.id, prev) <= 0) return; // already sent
          last.set(env.channel, env.id);
        }
        controller.enqueue(frame(env));
      };
      controller.enqueue(encoder.encode(`retry: 3000\n: subscribed to ${channels.join(", ")}\n\n`));
      // The shared subscription's state, sent when it changes: a browser must not sit on a silent "Live".
      let problem: string | null = null;
      const status = (now: string | null) => {
        if (closed || now === problem) return;
        problem = now;
        controller.enqueue(encodeEvent({ event: "status", data: JSON.stringify(now === null ? { connected: true } : { connected: false, error: now }) }));
      };
      for (const ch of channels) {
        unwatch.push(
          hub.watch(ch, {
            message: (channel, payload) => {
              if (isReservedChannel(channel)) return; // the server's own traffic, matched by a glob like *
              const env = liveEnvelope(channel, payload);
              const buf = buffers.get(ch);
              if (buf) buf.push(env);
              else send(env);
            },
            resubscribed: () => {
              // Hold live messages while history fills the gap, so nothing is lost or doubled.
              if (!buffers.has(ch)) buffers.set(ch, []);
              const replay = async () => {
                const missed: Envelope[] = [];
                const tops = await opened;
                for (const c of await channelsOf(ch, store)) {
                  const from = last.get(c) ?? since ?? (tops && late.includes(ch) ? startAt(tops, ch, c) : undefined);
                  if (from) missed.push(...(await historyAfter(store, c, from)));
                  // From here on `last` is the start: the tops need not be kept for the stream's life.
                  if (from && !last.has(c) && tops && !isPattern(ch)) last.set(c, from);
                }
                if (tops && late.every((name) => !isPattern(name) && last.has(name))) opened = null;
                return missed.sort((a, b) => compareIds(a.id, b.id));
              };
              replay()
                .then((missed) => {
                  for (const env of missed) send(env);
                })
                .catch(onError)
                .finally(() => {
                  const held = buffers.get(ch) ?? [];
                  buffers.delete(ch);
                  for (const env of held) send(env);
                });
            },
            status,
          }),
        );
      }
      // A comment line every 25 s keeps proxies and NAT mappings from closing an idle stream.
      stopKeepalive = keepAlive(() => {
        if (!closed) controller.enqueue(KEEPALIVE_FRAME);
      });
    },
    cancel() {
      closed = true;
      stopKeepalive?.();
      for (const u of unwatch) u();
      onClose?.();
    },
  });
  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    },
  });
}
