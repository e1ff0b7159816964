// web_gotify_stream.ts — Gotify's GET /stream WebSocket (v2.9.1 api/stream/stream.go, client.go), its route and sessions:
// one JSON text frame per numbered message on the channels its user's applications are bound to, following the apps.
import { isPattern } from "./glob";
import { compareIds, type Envelope } from "./message";
import { NOT_CONNECTED, type WebContext } from "./web_context";
import { cachedMessages, type SocketSession } from "./web_events";
import { callerOf } from "./web_gotify";
import { gotifyError, messageJson } from "./web_gotify_model";
import type { GotifyStore } from "./web_gotify_store";
import type { HubListener } from "./web_hub";
import type { Upgrade } from "./web_ntfy_subscribe";
import type { readingRoutes } from "./web_reading";
import type { Handler, RouteRow } from "./web_routes";
import type { ServerWebSocket } from "bun";

/**
 * How far back a channel bound while a stream is open is read: an app's announcement reaches other web servers a
 * moment after it was made, and its first message may come before.
 */
const LATE_BINDING_SLACK_MS = 5000;

/** An application as the stream needs it: its number and the channel it is bound to. */
export type BoundApp = { readonly id: number; readonly channel: string };

/** What a stream reads of the Gotify store (web_gotify_store.ts), so this file stays testable without one. */
export type StreamDirectory = {
  /** The user's applications now. */
  appsOf(user: string): readonly BoundApp[];
  /** Does the stream's login still hold (its client token not deleted, its user still there)? Asked on every change. */
  stillValid(): boolean;
  /** Calls `listener` after any change to apps or clients (here or on another web server); returns how to stop. */
  onChange(listener: () => void): () => void;
};

/** The hub's part a stream uses: listening to channels by name. */
export type ChannelHub = { listen(channel: string, l: HubListener): void; unlisten(channel: string, l: HubListener): void };

/** Reads a channel's history after a stream ID, oldest first (web_events.ts cachedMessages), for a catch-up. */
export type HistoryAfter = (channel: string, after: string) => AsyncIterable<Envelope>;

// Made once per envelope and app number, shared by every stream showing it under that number: with many phones on a
// channel, encoding per socket would be most of the work per delivery.
const frames = new WeakMap<Envelope, Map<number, string | null>>();

/** A message's Gotify frame under app `appid`, or null for one Gotify clients are not shown (no number, an ntfy event). */
export function gotifyFrame(env: Envelope, appid: number): string | null {
  let byApp = frames.get(env);
  if (!byApp) frames.set(env, (byApp = new Map()));
  let frame = byApp.get(appid);
  if (frame === undefined) {
    const json = messageJson(env, appid);
    byApp.set(appid, (frame = json && JSON.stringify(json)));
  }
  return frame;
}

/**
 * One channel the stream listens to: the app shown for it, where it stands in the channel's history (`last`, the last
 * ID seen; before any, `from`, the time it began listening, where a catch-up starts), and, while it catches up, the
 * live messages held back until the catch-up is done.
 */
type ChannelState = { appid: number; from: string; last: string | null; confirmed: boolean; held: Envelope[] | null; listener: HubListener };

/** Every open Gotify stream of this web server. */
const open = new Set<GotifyStream>();

/**
 * One GET /stream socket. No catch-up when it opens (Gotify streams from now on; its clients page GET /message for
 * what they missed), but when the web server's shared subscription to a channel comes back after an outage, what was
 * published meanwhile is read from history and sent, in order and once, before the live messages held back meanwhile.
 */
export class GotifyStream implements SocketSession {
  private ws: ServerWebSocket<SocketSession> | null = null;
  private readonly channels = new Map<string, ChannelState>();
  private pinger: ReturnType<typeof setInterval> | null = null;
  private stopWatching: (() => void) | null = null;
  private gone = false;

  constructor(
    private readonly user: string,
    private readonly hub: ChannelHub,
    private readonly directory: StreamDirectory,
    private readonly historyAfter: HistoryAfter,
    private readonly pingMs: number,
    private readonly onError: (err: unknown) => void,
    private readonly onClose: () => void = () => {},
  ) {}

  opened(ws: ServerWebSocket<SocketSession>): void {
    this.ws = ws;
    open.add(this);
    this.stopWatching = this.directory.onChange(() => this.changed());
    this.follow(true);
    // api/stream/client.go startWriteHandler: a ping every pingPeriod; the pong (or anything) keeps Bun's idle timer back.
    this.pinger = setInterval(() => this.ws?.ping(), this.pingMs);
    this.pinger.unref?.();
  }

  /** Bun buffers what a socket cannot take yet, up to the handler's backpressure limit; nothing waits on a drain here. */
  drained(): void {}

  closed(): void {
    if (this.gone) return;
    this.gone = true;
    open.delete(this);
    if (this.pinger) clearInterval(this.pinger);
    this.stopWatching?.();
    for (const [channel, state] of this.channels) this.hub.unlisten(channel, state.listener);
    this.channels.clear();
    this.onClose();
  }

  /**
   * Apps, clients or the ACL changed: a deleted client or user ends the stream (stream.go NotifyDeletedClient,
   * NotifyDeletedUser); else it follows the apps, and lets go of channels the user may no longer read.
   */
  changed(): void {
    if (this.gone) return;
    if (!this.directory.stillValid()) return this.end(1000, "the client or its user was deleted");
    this.follow(false);
  }

  /**
   * Listens to the channels of the user's apps now, and stops listening to those no app is bound to any more. A
   * channel followed when the socket opens starts from then, as Gotify's stream does; one bound later (an app made
   * here or on another web server) is read from history from a little before the change was heard, once its
   * subscription is confirmed: the app's first messages may have been published before (the announcement travels).
   */
  private follow(opening: boolean): void {
    const wanted = new Map<string, number>();
    // Our channels are names, never globs (the store refuses those); one channel shows under the user's first app on it.
    for (const app of this.directory.appsOf(this.user)) if (!isPattern(app.channel) && !wanted.has(app.channel)) wanted.set(app.channel, app.id);
    for (const [channel, state] of this.channels)
      if (!wanted.has(channel)) {
        this.channels.delete(channel);
        this.hub.unlisten(channel, state.listener);
      } else state.appid = wanted.get(channel)!;
    for (const [channel, appid] of wanted)
      if (!this.channels.has(channel)) {
        // Until its first message, a catch-up starts at the time it began listening (for a channel bound later, a
        // little before). One listener per channel: the hub's resubscribed() does not say which channel.
        const since = opening ? Date.now() : Date.now() - LATE_BINDING_SLACK_MS;
        const state: ChannelState = { appid, from: `${since}-0`, last: null, confirmed: !opening, held: null, listener: { message: (env) => this.onMessage(state, env), resubscribed: () => this.onResubscribed(channel, state) } };
        this.channels.set(channel, state);
        this.hub.listen(channel, state.listener);
      }
  }

  private onMessage(state: ChannelState, env: Envelope): void {
    if (this.gone) return;
    if (state.held) return void state.held.push(env);
    this.deliver(state, env);
  }

  /** Sends a message not sent before (its history ID past where the channel stands), and moves the channel on. */
  private deliver(state: ChannelState, env: Envelope): void {
    if (env.id !== "") {
      // Only IDs seen decide what is old: the web server's clock (`from`) is not the pub/sub server's.
      if (state.last !== null && compareIds(env.id, state.last) <= 0) return;
      state.last = env.id;
    }
    const frame = gotifyFrame(env, state.appid);
    if (frame === null || !this.ws) return;
    // 0: past the backpressure limit, Bun dropped the frame. A gap must not pass silently: end the socket abruptly, as
    // a failed write ends Gotify's (client.go writeJSON error), so the app reconnects and pages GET /message for it.
    if (this.ws.sendText(frame) === 0) this.ws.terminate();
  }

  /**
   * The hub's subscription to `channel` is (again) confirmed. The first time for a channel followed at the opening,
   * nothing is owed; otherwise (bound later, or the pub/sub server was away) it catches up from where it stood.
   */
  private onResubscribed(channel: string, state: ChannelState): void {
    if (this.gone) return;
    if (!state.confirmed) return void (state.confirmed = true);
    if (state.held) return;
    state.held = [];
    void this.catchUp(channel, state);
  }

  private async catchUp(channel: string, state: ChannelState): Promise<void> {
    try {
      for await (const env of this.historyAfter(channel, state.last ?? state.from)) {
        if (this.gone || this.channels.get(channel) !== state) return;
        this.deliver(state, env);
      }
    } catch (err) {
      this.onError(err);
    }
    const held = state.held ?? [];
    state.held = null;
    if (this.gone || this.channels.get(channel) !== state) return;
    for (const env of held) this.deliver(state, env);
  }

  /** Closes the socket (Gotify closes without a reason: client.Close; ours says why). */
  end(code: number, reason: string): void {
    if (this.gone) return;
    this.ws?.close(code, reason);
  }

  /** The channels the stream listens to, with the app number each shows under (for tests and logs). */
  get listening(): Map<string, number> {
    return new Map([...this.channels].map(([c, s]) => [c, s.appid]));
  }
}

/** How many Gotify streams this web server holds (for tests). */
export const openGotifyStreams = (): number => open.size;

/** After an ACL reload (SIGHUP): each open stream checks its login and its channels again, as closeRevokedStreams does for ours. */
export function recheckGotifyStreams(): void {
  for (const stream of [...open]) stream.changed();
}

const gotifyAnswer = (status: number, description: string): Response => Response.json(gotifyError(status, description), { status });

/**
 * A browser page of another site may not open a stream with the visitor's login (stream.go isAllowedOrigin, without
 * Gotify's allowed-origins list): no Origin, or one whose host is the request's own.
 */
export function originAllowed(origin: string | null, host: string | null): boolean {
  if (origin === null || origin === "") return true;
  try {
    return host !== null && new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * GET /stream's row (stream.go Handle, under auth RequireClient): a client token (?token=, X-Gotify-Key, Bearer) or
 * the user's Basic login; the socket is handed to web.ts's shared WebSocket handler with its GotifyStream.
 * `pingSeconds` is --keepalive (Gotify's own 45 by default), so Bun's idle close (15 s past it) fits the pings.
 */
export function gotifyStreamRow(ctx: WebContext, store: GotifyStore, admit: ReturnType<typeof readingRoutes>["admit"], upgrade: Upgrade, pingSeconds: number): RouteRow {
  const historyAfter: HistoryAfter = (channel, after) => cachedMessages(ctx.publisher, [channel], { after });
  const onError = (err: unknown) => ctx.log(`web: gotify: /stream could not catch up from history: ${(err as Error).message}`);
  const handler: Handler = async (req, url) => {
    if (!originAllowed(req.headers.get("origin"), req.headers.get("host")))
      return gotifyAnswer(403, "the WebSocket was opened by a page of another site (its Origin is not this server's); open it from this server's own pages or a client that sends no Origin");
    // A web server just started may still be loading the clients: a valid token must not be refused meanwhile.
    if (!(await store.ready().then(() => true, () => false))) return gotifyAnswer(503, NOT_CONNECTED);
    // As the REST routes log in (web_gotify.ts callerOf, auth/authentication.go RequireClient): an app token is a 401.
    const who = callerOf({ ctx, store }, req, url, "client");
    if (who instanceof Response) return who;
    const user = who.user;
    const clientToken = who.client?.token ?? null;
    // The user's apps whose channels the user may still read (an ACL reload may have taken a right away since).
    const mayRead = (channel: string): boolean => ctx.opts.acl?.users.get(user)?.mayReadOverHttp([channel]) ?? true;
    const directory: StreamDirectory = {
      appsOf: (name) => store.appsOf(name).filter((app) => mayRead(app.channel)),
      // Its client not deleted, and its user still in the ACL file and on (as callerOf logs a token's user in).
      stillValid: () => (clientToken === null || store.clientByToken(clientToken) !== null) && (!ctx.opts.acl || ctx.opts.acl.users.get(user)?.enabled === true),
      onChange: (listener) => store.onChange(() => listener()),
    };
    if ((req.headers.get("upgrade") ?? "").toLowerCase() !== "websocket")
      return gotifyAnswer(400, "GET /stream is a WebSocket: connect with a WebSocket client (Upgrade: websocket); GET /message lists messages over plain HTTP");
    // Its share of the visitor's streams (--visitor-subscriptions), as every stream of ours and ntfy's takes one.
    const admitted = admit(req, directory.appsOf(user).map((app) => app.channel), user, "gotify");
    if ("over" in admitted) return gotifyAnswer(429, admitted.message);
    const session = new GotifyStream(user, ctx.hub, directory, historyAfter, pingSeconds * 1000, onError, admitted.closed);
    if (!upgrade(req, session)) {
      admitted.closed();
      return gotifyAnswer(400, "the WebSocket handshake is incomplete (Sec-WebSocket-Key and Sec-WebSocket-Version: 13)");
    }
    // Bun answers the handshake itself once upgraded, and ignores this; it is what the request metrics count.
    return new Response(null, { status: 200 });
  };
  return { method: "GET", path: "/stream", right: "none", handler, token: "query" };
}
