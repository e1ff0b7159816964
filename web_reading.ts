// web_reading.ts — reading over HTTP: GET /events (a Server-Sent Events stream, within each visitor's share of streams
// and glob patterns) and GET /messages (recent history). The dispatcher has checked read rights on the query's channels.
import { isPattern } from "./glob";
import { HeldLimits } from "./ratelimit";
import { error, json, type WebContext } from "./web_context";
import { checkId, eventStream, recentMessages, streamStats } from "./web_events";
import type { Handler } from "./web_routes";
import { isLoopback, visitorKey } from "./web_visitor";

/** Per visitor: ntfy's visitor-subscription-limit is 30; a household's or an office's tabs fit, a script's thousands do not. */
export const DEFAULT_MAX_STREAMS_PER_VISITOR = 30;
/** Per visitor, over all its streams: each distinct glob costs the pub/sub server a match on every PUBLISH. */
export const DEFAULT_MAX_PATTERNS_PER_VISITOR = 50;

/** GET /events and GET /messages, and the stream gauges in the metrics. */
export function readingRoutes(ctx: WebContext): { events: Handler; messages: Handler } {
  const { opts, log, publisher, hub, metrics } = ctx;
  let sseStreams = 0;
  metrics.gauge("notistream_sse_streams", "Open Server-Sent Events streams.", () => sseStreams);
  metrics.counterFrom("notistream_sse_output_limit_closed_total", "Event streams closed because their unread output passed --sse-output-limit.", () => streamStats.outputLimitCloses);
  metrics.counterFrom("notistream_sse_revoked_closed_total", "Event streams closed because an ACL reload took their rights away.", () => streamStats.revokedCloses);
  // Shared by every stream rather than made for each: thousands stay open at once.
  const replayFailed = (err: unknown) => log(`web: history replay failed: ${(err as Error).message}`);
  /** What each visitor's open streams hold: one visitor may not hold every stream, nor make the hub match every glob. */
  const held = new HeldLimits({ streams: opts.maxStreamsPerVisitor ?? DEFAULT_MAX_STREAMS_PER_VISITOR, patterns: opts.maxPatternsPerVisitor ?? DEFAULT_MAX_PATTERNS_PER_VISITOR });
  const streamClosed = () => void sseStreams--;
  /** A stream's options when no user logged in (no ACL): one object for all of them, as thousands stay open. */
  const anonymousStreams = { limits: opts.sseOutputLimit, log };
  let proxyWarned = false;

  const events: Handler = async (req, url, { channels, who }) => {
    const noGlobs = await publisher.globRefusal(channels);
    if (noGlobs) return error(400, noGlobs);
    const since = checkId(req.headers.get("last-event-id") ?? url.searchParams.get("since"), "Last-Event-ID / since");
    const tooManyGlobs = hub.patternRefusal(channels);
    if (tooManyGlobs) return error(429, tooManyGlobs);
    const address = ctx.clientOf(req);
    const holds = { streams: 1, patterns: channels.filter(isPattern).length };
    // This machine is not counted: capping it would cap everyone behind a reverse proxy that --trust-proxy does not name.
    const visitor = isLoopback(address) ? null : visitorKey(address);
    if (visitor === null && !ctx.trusted && !proxyWarned && req.headers.has("x-forwarded-for")) {
      proxyWarned = true;
      log("web: warning: streams come through a reverse proxy (X-Forwarded-For) but --trust-proxy is off, so per-visitor limits see only the proxy, and do not count it: add --trust-proxy");
    }
    const over = visitor === null ? null : held.take(visitor, holds);
    if (over === "streams")
      return error(429, `${visitor} already has ${held.caps.streams} streams open, the most --visitor-subscriptions allows: close one (each tab of the app holds one) and try again`);
    if (over === "patterns")
      return error(429, `this stream's ${holds.patterns} glob pattern(s) would take ${visitor} past ${held.caps.patterns} patterns over its open streams, the most --max-patterns-per-visitor allows: close a stream, or subscribe to channels by name`);
    ctx.keepOpen(req); // a stream stays open; the 25 s keepalive proves it is alive
    sseStreams++;
    const streamOpts = who !== undefined ? { ...anonymousStreams, user: who.name } : anonymousStreams;
    if (visitor === null) return eventStream(hub, publisher, channels, since, replayFailed, streamClosed, streamOpts);
    // A closure per counted stream (unlike the shared callbacks above): it gives back what this visitor's stream held.
    const closed = () => {
      streamClosed();
      held.give(visitor, holds);
    };
    return eventStream(hub, publisher, channels, since, replayFailed, closed, streamOpts);
  };

  const messages: Handler = async (_req, url) => json(200, await recentMessages(url, publisher));
  return { events, messages };
}
