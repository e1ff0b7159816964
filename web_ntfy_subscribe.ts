// web_ntfy_subscribe.ts — ntfy's subscribing routes, as ntfy v2.27 serves them: GET /<topics>/json, /sse, /raw, /ws and
// /auth (server.go handleSubscribe*, handleTopicAuth), on web_events.ts's streams and catch-up, written in web_ntfy.ts's format.
import { compareIds, isStreamId, type Envelope } from "./message";
import type { WebContext } from "./web_context";
import { STRATEGY, cachedMessages, eventStream, socketStream, type CachedStart, type SocketSession, type StreamFormat } from "./web_events";
import {
  NTFY_CORS,
  NTFY_ERRORS,
  NtfyError,
  STREAM_TYPES,
  idBefore,
  idBeforeTime,
  ntfyEvent,
  ntfyJson,
  ntfyLine,
  ntfyMessage,
  parseSubscribeParams,
  passes,
  randomNtfyId,
  topicString,
  topicsOf,
  type Filters,
  type LineFormat,
  type Since,
} from "./web_ntfy";
import type { readingRoutes } from "./web_reading";
import type { Handler, RouteRow } from "./web_routes";
import { withScheduled } from "./web_scheduled";
import { holdUpTopics } from "./web_unifiedpush";
import type { ServerWebSocket, WebSocketHandler } from "bun";

/** ntfy's keepalive-interval (config.go DefaultKeepaliveInterval): the Android app gives up after 77 s of silence. */
export const DEFAULT_NTFY_KEEPALIVE_SECONDS = 45;
/** How long a WebSocket may stay silent past a keepalive before it is closed: ntfy's wsPongWait. */
const WS_PONG_WAIT_SECONDS = 15;
/** The most a WebSocket client may send in one frame: ntfy reads only pongs (wsReadLimit). */
const WS_READ_LIMIT = 64;

/** Hands a request over to the web server's WebSocket handler with the session it carries; false: not a WebSocket handshake. */
export type Upgrade = (req: Request, session: SocketSession) => boolean;

const encoder = new TextEncoder();

// Made once per envelope and shared by every stream and format, as SSE's frames are (web_events.ts): with thousands of
// streams on a topic, encoding per stream would be most of the work per delivery.
const jsonOf = new WeakMap<Envelope, string>();
const linesOf: Record<LineFormat, WeakMap<Envelope, Uint8Array>> = { json: new WeakMap(), sse: new WeakMap(), raw: new WeakMap() };

/** A message's ntfy JSON. Plain text published straight to the pub/sub server has no id: it gets ntfy's kind of random one. */
function messageJson(env: Envelope): string {
  let j = jsonOf.get(env);
  if (j === undefined) jsonOf.set(env, (j = ntfyJson(ntfyMessage(env.id ? env : { ...env, id: randomNtfyId() }))));
  return j;
}

/** The HTTP streams' headers: ntfy's type with its charset, CORS, and no buffering by a proxy on the way. */
const lineHeaders = (type: string): Record<string, string> => ({ "content-type": type, ...NTFY_CORS, "cache-control": "no-cache", "x-accel-buffering": "no" });
const LINE_HEADERS: Record<LineFormat, Record<string, string>> = { json: lineHeaders(STREAM_TYPES.json), sse: lineHeaders(STREAM_TYPES.sse), raw: lineHeaders(STREAM_TYPES.raw) };

/** One HTTP stream's format: its line format, its topics (the path's string, for open and keepalive) and filters. */
class NtfyLines implements StreamFormat<Uint8Array> {
  constructor(
    private readonly kind: LineFormat,
    private readonly topic: string,
    private readonly filters: Filters | null,
    readonly keepaliveMs: number,
  ) {}
  get headers(): Record<string, string> {
    return LINE_HEADERS[this.kind];
  }
  opening(): Uint8Array {
    return encoder.encode(ntfyLine(this.kind, ntfyEvent("open", this.topic, Date.now())));
  }
  message(env: Envelope): Uint8Array | null {
    if (!passes(this.filters, env)) return null;
    const cache = linesOf[this.kind];
    let f = cache.get(env);
    if (!f) cache.set(env, (f = encoder.encode(ntfyLine(this.kind, ntfyMessage(env), this.kind === "raw" ? "" : messageJson(env)))));
    return f;
  }
  keepalive(): Uint8Array {
    return encoder.encode(ntfyLine(this.kind, ntfyEvent("keepalive", this.topic, Date.now())));
  }
  /** ntfy has no event for the pub/sub server being away: keepalives go on, and the catch-up fills the gap after. */
  status(): null {
    return null;
  }
  revoked(): null {
    return null;
  }
}

/** One WebSocket's format: JSON text frames; its keepalive is a ping frame, not an event (handleSubscribeWS). */
class NtfyFrames implements StreamFormat<string> {
  readonly headers: Record<string, string> = {};
  constructor(
    private readonly topic: string,
    private readonly filters: Filters | null,
    readonly keepaliveMs: number,
  ) {}
  opening(): string {
    return ntfyJson(ntfyEvent("open", this.topic, Date.now()));
  }
  message(env: Envelope): string | null {
    return passes(this.filters, env) ? messageJson(env) : null;
  }
  keepalive(): null {
    return null;
  }
  status(): null {
    return null;
  }
  revoked(): null {
    return null;
  }
}

/**
 * Where a stream starts, from ntfy's since: none streams from the open on; all, a message ID or a time start after
 * an ID on every topic; latest at each topic's newest. `cached` is what poll=1 reads (null: nothing).
 */
function startOf(since: Since): { since: string | undefined; latest: boolean; cached: CachedStart | null } {
  switch (since.kind) {
    case "none":
      return { since: undefined, latest: false, cached: null };
    case "all":
      return { since: "0-0", latest: false, cached: { after: "0-0" } };
    case "latest":
      return { since: undefined, latest: true, cached: "latest" };
    case "id":
      return { since: since.id, latest: false, cached: { after: since.id } };
    case "time": {
      const id = idBeforeTime(since.seconds);
      return { since: id, latest: false, cached: { after: id } };
    }
  }
}

/**
 * What poll=1 reads. With id=<message ID> and no since, ntfy's iOS app fetching the message a poll request named
 * (queryFilter's ID on sinceAllMessages): only that ID on each topic, read from just before it, not the whole history
 * the filter would then throw away. Otherwise the cached messages from `cached` on (null: none).
 */
function polled(store: WebContext["publisher"], channels: string[], cached: CachedStart | null, params: { since: Since; filters: Filters | null }): AsyncGenerator<Envelope> | null {
  const id = params.filters?.id ?? "";
  if (params.since.kind === "all" && isStreamId(id)) return upTo(cachedMessages(store, channels, { after: idBefore(id) }), id);
  return cached && cachedMessages(store, channels, cached);
}

/** The messages up to `id`: IDs come in order, so the read stops at the first one past it. */
async function* upTo(messages: AsyncGenerator<Envelope>, id: string): AsyncGenerator<Envelope> {
  for await (const env of messages) {
    if (compareIds(env.id, id) > 0) return;
    yield env;
  }
}

/** poll=1 over HTTP: the cached messages, read as the client takes them, then the end of the response (no open, no keepalive). */
function pollResponse(messages: AsyncGenerator<Envelope> | null, format: NtfyLines, done: () => void, onError: (err: unknown) => void): Response {
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done();
  };
  const source: UnderlyingDefaultSource<Uint8Array> = {
    async pull(controller) {
      try {
        while (messages) {
          const next = await messages.next();
          if (next.done) break;
          const f = format.message(next.value);
          if (f !== null) return controller.enqueue(f);
        }
        controller.close();
      } catch (err) {
        onError(err);
        controller.error(err);
      }
      finish();
    },
    cancel() {
      void messages?.return(undefined);
      finish();
    },
  };
  return new Response(new ReadableStream<Uint8Array>(source, STRATEGY), { headers: format.headers });
}

/** poll=1 over a WebSocket: the cached messages as text frames, waiting for the socket to drain, then a normal close. */
class PollSocket implements SocketSession {
  private ws: ServerWebSocket<SocketSession> | null = null;
  private drain: (() => void) | null = null;
  private gone = false;

  constructor(
    private readonly messages: AsyncGenerator<Envelope> | null,
    private readonly format: NtfyFrames,
    private readonly done: () => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  opened(ws: ServerWebSocket<SocketSession>): void {
    this.ws = ws;
    void this.send().then(
      () => !this.gone && ws.close(1000, "poll done"),
      (err: unknown) => {
        this.onError(err);
        if (!this.gone) ws.close(1011, "cannot read the cached messages");
      },
    );
  }

  private async send(): Promise<void> {
    if (!this.messages) return;
    for await (const env of this.messages) {
      if (this.gone) return;
      const f = this.format.message(env);
      if (f === null) continue;
      const sent = this.ws!.sendText(f);
      if (sent === 0) throw new Error("the WebSocket would take no more output");
      if (sent === -1) await new Promise<void>((resolve) => (this.drain = resolve));
    }
  }

  drained(): void {
    const d = this.drain;
    this.drain = null;
    d?.();
  }

  closed(): void {
    if (this.gone) return;
    this.gone = true;
    this.drained();
    void this.messages?.return(undefined);
    this.done();
  }
}

/** The `<topics>` part of a verb path, as ntfy's open and keepalive events carry it. */
const topicsPart = (url: URL): string => topicString(url.pathname.slice(1, url.pathname.lastIndexOf("/")));

/**
 * The rows of ntfy's subscribing routes, "read" on every topic the path names (checked before anything else, as
 * ntfy's authorizeTopicRead wraps each handler). `keepaliveSeconds` is --keepalive.
 */
export function ntfySubscribeRows(ctx: WebContext, reading: ReturnType<typeof readingRoutes>, upgrade: Upgrade, keepaliveSeconds: number): RouteRow[] {
  const { hub, publisher } = ctx;
  const keepaliveMs = keepaliveSeconds * 1000;
  const { admit, replayFailed } = reading;

  /** The visitor's share of streams (42903, as ntfy's visitor-subscription-limit), or the stream's options. */
  const admitted = (req: Request, channels: string[], who: string | undefined) => {
    const a = admit(req, channels, who, "ntfy");
    if ("over" in a) throw new NtfyError(a.over === "streams" ? NTFY_ERRORS.tooManySubscriptions : NTFY_ERRORS.tooManyRequests, a.message);
    return a;
  };

  const lines =
    (kind: LineFormat): Handler =>
    async (req, url, checked) => {
      const { channels, who } = checked;
      const params = parseSubscribeParams(req.headers, url.searchParams, Date.now());
      const start = startOf(params.since);
      const format = new NtfyLines(kind, topicsPart(url), params.filters, keepaliveMs);
      const a = admitted(req, channels, who?.name);
      const closed = await holdUpTopics(ctx, req, checked, params.poll, a.closed);
      if (params.poll) return pollResponse(withScheduled(polled(publisher, channels, start.cached, params), ctx.scheduler, channels, params.scheduled), format, closed, replayFailed);
      return eventStream(hub, publisher, channels, start.since, replayFailed, closed, { ...a.options, format, latest: start.latest, afterHistory: scheduledAfter(ctx, channels, params.scheduled) });
    };

  const ws: Handler = async (req, url, checked) => {
    const { channels, who } = checked;
    if ((req.headers.get("upgrade") ?? "").toLowerCase() !== "websocket")
      throw new NtfyError(NTFY_ERRORS.webSocketUpgradeMissing, "connect with a WebSocket client (Upgrade: websocket); /json, /sse and /raw stream over plain HTTP");
    const params = parseSubscribeParams(req.headers, url.searchParams, Date.now());
    const start = startOf(params.since);
    const format = new NtfyFrames(topicsPart(url), params.filters, keepaliveMs);
    const a = admitted(req, channels, who?.name);
    const closed = await holdUpTopics(ctx, req, checked, params.poll, a.closed);
    const session = params.poll
      ? new PollSocket(withScheduled(polled(publisher, channels, start.cached, params), ctx.scheduler, channels, params.scheduled), format, closed, replayFailed)
      : socketStream(hub, publisher, channels, start.since, replayFailed, closed, { ...a.options, format, latest: start.latest, afterHistory: scheduledAfter(ctx, channels, params.scheduled) });
    if (!upgrade(req, session)) {
      closed();
      throw new NtfyError(NTFY_ERRORS.webSocketUpgradeMissing, "the WebSocket handshake is incomplete (Sec-WebSocket-Key and Sec-WebSocket-Version: 13)");
    }
    // Bun answers the handshake itself once upgraded, and ignores this; it is what the request metrics count.
    return new Response(null, { status: 200 });
  };

  // The dispatcher checked read rights on every topic before this runs (handleTopicAuth is only reached past authorizeTopicRead).
  const auth: Handler = async () => new Response('{"success":true}\n', { headers: { "content-type": "application/json", ...NTFY_CORS } });

  const row = (verb: string, handler: Handler): RouteRow => ({ method: "GET", path: `/<channels>/${verb}`, right: "read", handler, channelsOf: topicsOf });
  return [row("json", lines("json")), row("sse", lines("sse")), row("raw", lines("raw")), row("ws", ws), row("auth", auth)];
}

/** scheduled=1 on a stream: the messages not yet due on its channels, after the cached ones (ntfy's sendOldMessages). */
function scheduledAfter(ctx: WebContext, channels: string[], asked: boolean): (() => Promise<Envelope[]>) | undefined {
  const scheduler = ctx.scheduler;
  return asked && scheduler ? () => scheduler.listed(channels) : undefined;
}

/**
 * The web server's WebSocket handler (Bun.serve's `websocket`), for ntfy's /ws: each socket's data is the session it
 * carries. ntfy's limits: a client sends nothing but pongs (64 bytes at most), and a socket silent for a keepalive and
 * 15 s more is closed; the pings are the streams' own (one per keepalive), not Bun's. A socket's buffer past the
 * streams' hard output limit makes Bun drop a frame, which ends the stream (web_events.ts) rather than leave a gap.
 */
export function ntfyWebSocket(keepaliveSeconds: number, hardOutputLimit: number): WebSocketHandler<SocketSession> {
  return {
    open: (ws) => ws.data.opened(ws),
    drain: (ws) => ws.data.drained(),
    close: (ws) => ws.data.closed(),
    message: () => {},
    maxPayloadLength: WS_READ_LIMIT,
    idleTimeout: Math.min(960, keepaliveSeconds + WS_PONG_WAIT_SECONDS),
    sendPings: false,
    backpressureLimit: hardOutputLimit > 0 ? hardOutputLimit + 1024 * 1024 : 0,
  };
}
