// web_reading.ts — reading over HTTP: GET /events (a Server-Sent Events stream) and GET /messages (recent history), and
// each visitor's share of streams and glob patterns, which ntfy's streams take too. The dispatcher has checked read rights.
import { isPattern } from "./glob";
import { HeldLimits } from "./ratelimit";
import { error, json, type WebContext } from "./web_context";
import { channelsFrom, checkId, eventStream, recentMessages, streamStats, type StreamOptions } from "./web_events";
import { scheduledForMessages } from "./web_scheduled";
import type { Handler } from "./web_routes";
import { isLoopback, visitorKey } from "./web_visitor";

/** Per visitor: ntfy's visitor-subscription-limit is 30; a household's or an office's tabs fit, a script's thousands do not. */
export const DEFAULT_MAX_STREAMS_PER_VISITOR = 30;
/** Per visitor, over all its streams: each distinct glob costs the pub/sub server a match on every PUBLISH. */
export const DEFAULT_MAX_PATTERNS_PER_VISITOR = 50;

/** A stream let in: the options it opens with (its user, limits, log) and what to call when it closes. */
type Admitted = { options: StreamOptions; closed: () => void };
/** A stream refused for its visitor's share: which cap, and the sentence that says so. */
type Refused = { over: "streams" | "patterns"; message: string };
/** Which gauge a stream counts in: /events's, ntfy's streams', or Gotify's GET /stream. */
type StreamKind = "sse" | "ntfy" | "gotify";

/**
 * GET /events and GET /messages, the stream gauges in the metrics, and `admit`, the one way any stream (ours or
 * ntfy's) takes its share of its visitor's streams and globs.
 */
export function readingRoutes(ctx: WebContext): { events: Handler; messages: Handler; admit: (req: Request, channels: string[], user: string | undefined, kind: StreamKind) => Admitted | Refused; replayFailed: (err: unknown) => void } {
  const { opts, log, publisher, hub, metrics } = ctx;
  const open = { sse: 0, ntfy: 0, gotify: 0 };
  metrics.gauge("notistream_sse_streams", "Open Server-Sent Events streams.", () => open.sse);
  metrics.gauge("notistream_ntfy_streams", "Open ntfy streams (GET /<topics>/json, /sse, /raw and /ws).", () => open.ntfy);
  metrics.gauge("notistream_gotify_streams", "Open Gotify streams (GET /stream).", () => open.gotify);
  metrics.counterFrom("notistream_sse_output_limit_closed_total", "Event streams closed because their unread output passed --sse-output-limit.", () => streamStats.outputLimitCloses);
  metrics.counterFrom("notistream_sse_revoked_closed_total", "Event streams closed because an ACL reload took their rights away.", () => streamStats.revokedCloses);
  // Shared by every stream rather than made for each: thousands stay open at once.
  const replayFailed = (err: unknown) => log(`web: history replay failed: ${(err as Error).message}`);
  /** What each visitor's open streams hold: one visitor may not hold every stream, nor make the hub match every glob. */
  const held = new HeldLimits({ streams: opts.maxStreamsPerVisitor ?? DEFAULT_MAX_STREAMS_PER_VISITOR, patterns: opts.maxPatternsPerVisitor ?? DEFAULT_MAX_PATTERNS_PER_VISITOR });
  const closedUncounted = { sse: () => void open.sse--, ntfy: () => void open.ntfy--, gotify: () => void open.gotify-- };
  /** A stream's options when no user logged in (no ACL): one object for all of them, as thousands stay open. */
  const anonymousStreams = { limits: opts.sseOutputLimit, log };
  let proxyWarned = false;

  const admit = (req: Request, channels: string[], user: string | undefined, kind: StreamKind): Admitted | Refused => {
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
      return { over, message: `${visitor} already has ${held.caps.streams} streams open, the most --visitor-subscriptions allows: close one (each tab of the app, each ntfy subscription holds one) and try again` };
    if (over === "patterns")
      return { over, message: `this stream's ${holds.patterns} glob pattern(s) would take ${visitor} past ${held.caps.patterns} patterns over its open streams, the most --max-patterns-per-visitor allows: close a stream, or subscribe to channels by name` };
    ctx.keepOpen(req); // a stream stays open; its keepalive proves it is alive
    open[kind]++;
    const options = user !== undefined ? { ...anonymousStreams, user } : anonymousStreams;
    if (visitor === null) return { options, closed: closedUncounted[kind] };
    // A closure per counted stream (unlike the shared callbacks above): it gives back what this visitor's stream held.
    const closed = () => {
      open[kind]--;
      held.give(visitor, holds);
    };
    return { options, closed };
  };

  const events: Handler = async (req, url, { channels, who }) => {
    const noGlobs = await publisher.globRefusal(channels);
    if (noGlobs) return error(400, noGlobs);
    const since = checkId(req.headers.get("last-event-id") ?? url.searchParams.get("since"), "Last-Event-ID / since");
    const tooManyGlobs = hub.patternRefusal(channels);
    if (tooManyGlobs) return error(429, tooManyGlobs);
    const admitted = admit(req, channels, who?.name, "sse");
    if ("over" in admitted) return error(429, admitted.message);
    return eventStream(hub, publisher, channels, since, replayFailed, admitted.closed, admitted.options);
  };

  // With ?scheduled=1, the scheduled messages follow the history, each marked `scheduled` (its time is when it is due).
  const messages: Handler = async (_req, url) => json(200, [...(await recentMessages(url, publisher)), ...(await scheduledForMessages(url, ctx.scheduler, channelsFrom(url)))]);
  return { events, messages, admit, replayFailed };
}
