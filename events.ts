// events.ts — subscriptions over HTTP: GET /events (Server-Sent Events, with history catch-up from Last-Event-ID
// or ?since=) and GET /messages (history as JSON, pages both ways), for channels and globs alike, via hub.ts.
import type { Hub } from "./hub";
import { InputError, compareIds, envelopeFromEntry, historyKey, isReservedChannel, parsePayload, refuseReserved, type Envelope } from "./message";
import { encodeComment, encodeEvent } from "./sse";
import { isPattern } from "./glob";

/** Runs one command on the web server's command connection (XRANGE, XREVRANGE). */
export type Command = (name: string, args: string[]) => Promise<unknown>;

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
async function channelsOf(name: string, run: Command): Promise<string[]> {
  if (!isPattern(name)) return [name];
  const prefix = historyKey("");
  const keys = (await run("KEYS", [historyKey(name)])) as unknown;
  return Array.isArray(keys) ? keys.map(String).map((k) => k.slice(prefix.length)).filter((c) => !isReservedChannel(c)) : [];
}

/**
 * GET /messages: up to `limit` messages, oldest first: after `since`, or before `before` (older pages), or the
 * latest ones. Globs read every channel they match.
 */
export async function recentMessages(url: URL, run: Command): Promise<Envelope[]> {
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
    for (const ch of await channelsOf(name, run)) {
      if (seen.has(ch)) continue;
      seen.add(ch);
      if (since) all.push(...entries(await run("XRANGE", [historyKey(ch), `(${since}`, "+", "COUNT", String(limit)]), ch));
      else all.push(...entries(await run("XREVRANGE", [historyKey(ch), before ? `(${before}` : "+", "-", "COUNT", String(limit)]), ch).reverse());
    }
  all.sort((a, b) => compareIds(a.id, b.id));
  return since ? all.slice(0, limit) : all.slice(-limit);
}

const encoder = new TextEncoder();
const frame = (env: Envelope): Uint8Array => encodeEvent({ id: env.id || undefined, data: JSON.stringify(env) });

/**
 * GET /events: a Server-Sent Events stream. For each channel it buffers live messages, replays what came after
 * `since` from history, then sends the buffer, skipping anything already sent: each message once, in ID order.
 */
export function eventStream(hub: Hub, run: Command, channels: string[], since: string | undefined, onError: (err: unknown) => void, onClose?: () => void): Response {
  /** The last ID sent per channel (a glob's messages are counted by the channel they came on). */
  const last = new Map<string, string>();
  const buffers = new Map<string, Envelope[]>(channels.map((ch) => [ch, []]));
  const unwatch: (() => void)[] = [];
  let keepalive: ReturnType<typeof setInterval> | undefined;
  let closed = false;

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
              const env = parsePayload(channel, payload);
              const buf = buffers.get(ch);
              if (buf) buf.push(env);
              else send(env);
            },
            resubscribed: () => {
              // Hold live messages while history fills the gap, so nothing is lost or doubled.
              if (!buffers.has(ch)) buffers.set(ch, []);
              const replay = async () => {
                const missed: Envelope[] = [];
                for (const c of await channelsOf(ch, run)) {
                  const from = last.get(c) ?? since;
                  if (from) missed.push(...entries(await run("XRANGE", [historyKey(c), `(${from}`, "+"]), c));
                }
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
      keepalive = setInterval(() => {
        if (!closed) controller.enqueue(encodeComment("keepalive"));
      }, KEEPALIVE_MS);
    },
    cancel() {
      closed = true;
      clearInterval(keepalive);
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
