// web_unifiedpush.ts — UnifiedPush's routes: discovery (GET /<topic>?up=1) and the Matrix push gateway (GET and POST
// /_matrix/push/v1/notify), which publishes a homeserver's notification to the topic its pushkey names on this server;
// and, with --visitor-subscriber-rate-limiting, the shared record of which up… topics have a subscriber (ntfy's 507).
import { entriesFromReply } from "./catchup";
import { publishRefusal, rightsRefusal } from "./web_access";
import { readBody } from "./web_body";
import type { WebContext } from "./web_context";
import { InputError, refuseChannelName } from "./web_input";
import { NTFY_CORS, NTFY_ERRORS, NTFY_MESSAGE_LIMIT, NtfyError, inNtfyShape, ntfyErrorResponse } from "./web_ntfy";
import { isTrue, readParam } from "./web_ntfy_publish";
import type { Checked, Handler, RouteRow } from "./web_routes";
import {
  UP_SUBSCRIBER_RENEW_MS,
  isUnifiedPushTopic,
  matrixAnswer,
  matrixPushkey,
  matrixRejectsPushkey,
  pushkeyPath,
  streamIdMs,
  upSubscriberState,
} from "./web_unifiedpush_rules";

/** ntfy's matrixPushPath (server.go): the Matrix push gateway API's path (spec.matrix.org push-gateway-api). */
export const MATRIX_PUSH_PATH = "/_matrix/push/v1/notify";

const ntfyJsonAnswer = (body: string): Response => new Response(body, { status: 200, headers: { "content-type": "application/json", ...NTFY_CORS } });

/**
 * GET /<topic> with up=1 (or the X-UnifiedPush header): UnifiedPush's discovery, {"unifiedpush":{"version":1}}, as
 * ntfy's handleTopic answers it for any topic, with no rights asked (it says nothing about the topic). Any other GET
 * /<topic> is `otherwise`'s.
 */
export function unifiedPushDiscovery(otherwise: Handler): Handler {
  return async (req, url, checked) => {
    const up = readParam({ header: (name) => req.headers.get(name), query: url.searchParams }, ["x-unifiedpush", "unifiedpush", "up"]);
    if (!up || !isTrue(up.value)) return otherwise(req, url, checked);
    return ntfyJsonAnswer(`{"unifiedpush":{"version":1}}\n`);
  };
}

/**
 * POST /_matrix/push/v1/notify (server_matrix.go newRequestFromMatrixJSON, server.go handlePublishMatrix): the
 * request, at most ntfy's message limit (41302), is published whole, as UnifiedPush's body, to the topic its first
 * pushkey names when the pushkey starts with --base-url and "/"; otherwise 200 {"rejected":[pushkey]}, which tells the
 * homeserver to drop it. The caller needs write rights on that topic, asked once it is known. Success is 200
 * {"rejected":[]}; a refused publish is its ntfy error. Without --base-url: ntfy's 500 (50003).
 */
function matrixPublish(ctx: WebContext, toChannel: Handler): Handler {
  const publish: Handler = async (req, url, checked) => {
    const base = ctx.opts.baseUrl;
    if (!base) return ntfyErrorResponse(NTFY_ERRORS.missingBaseUrl, "the Matrix gateway needs --base-url (the public URL that pushkeys start with)");
    const raw = await readMatrixBody(req, Math.min(NTFY_MESSAGE_LIMIT, ctx.opts.maxMessage));
    const pushkey = matrixPushkey(raw);
    const path = pushkeyPath(pushkey, base);
    if (path === null) {
      counters(ctx).matrix("rejected");
      return ntfyJsonAnswer(matrixAnswer([pushkey]));
    }
    const target = new URL(path, url.origin);
    const channel = decodedChannel(target.pathname.slice(1));
    const denied = publishRefusal(ctx.opts.acl, req, checked, channel, checked.token);
    if (denied) return denied;
    // As ntfy's newRequest: the body alone, and the client's address as the proxy gave it.
    const forwarded = req.headers.get("x-forwarded-for");
    const inner = new Request(target, { method: "POST", body: new Uint8Array(raw), headers: forwarded ? { "x-forwarded-for": forwarded } : {} });
    const published = await toChannel(inner, target, { ...checked, channel, channels: [channel] });
    if (published.status === 200) {
      counters(ctx).matrix("accepted");
      return ntfyJsonAnswer(matrixAnswer([]));
    }
    return matrixRefused(ctx, channel, pushkey, published);
  };
  // Every answer in ntfy's shape: its codes for bad requests, and the ACL's 401 or 403 rewritten (inNtfyShape).
  return async (req, url, checked) => {
    try {
      return await inNtfyShape(await publish(req, url, checked));
    } catch (err) {
      if (err instanceof NtfyError) return ntfyErrorResponse(err.kind, err.detail);
      throw err;
    }
  };
}

/**
 * A gateway push whose publish was refused (server.go handlePublishMatrix): ntfy's 507 for a topic whose subscriber
 * is long gone becomes {"rejected":[pushkey]}, so the homeserver drops the pushkey; a topic nobody ever subscribed to
 * keeps the 507 (ntfy's topic is new then), as does any other refusal.
 */
async function matrixRefused(ctx: WebContext, channel: string, pushkey: string, published: Response): Promise<Response> {
  if (published.status === 507 && matrixRejectsPushkey(await subscriberState(ctx.publisher, channel))) {
    counters(ctx).matrix("rejected");
    return ntfyJsonAnswer(matrixAnswer([pushkey]));
  }
  counters(ctx).matrix("failed");
  return published;
}

/** The gateway's body, at most `limit` bytes: past it ntfy's 413 (41302, errHTTPEntityTooLargeMatrixRequest). */
async function readMatrixBody(req: Request, limit: number): Promise<Uint8Array> {
  try {
    return await readBody(req, limit);
  } catch (err) {
    if (err instanceof InputError && err.status === 413) throw new NtfyError(NTFY_ERRORS.entityTooLargeMatrixRequest, `${err.message} (ntfy's message limit)`);
    throw err;
  }
}

/** The topic a pushkey's path names, percent-decoded and checked as a path's channel is (a 400 otherwise). */
function decodedChannel(raw: string): string {
  let channel: string;
  try {
    channel = decodeURIComponent(raw);
  } catch {
    throw new NtfyError(NTFY_ERRORS.topicInvalid, `the pushkey's path ${JSON.stringify(raw.slice(0, 200))} has a broken percent-escape`);
  }
  try {
    refuseChannelName(channel);
  } catch (err) {
    if (err instanceof InputError) throw new NtfyError(NTFY_ERRORS.topicInvalid, `the pushkey names ${JSON.stringify(channel.slice(0, 200))}: ${err.message}`);
    throw err;
  }
  return channel;
}

/**
 * The Matrix push gateway's rows for web.ts's table: GET answers UnifiedPush's gateway discovery,
 * {"unifiedpush":{"gateway":"matrix"}} (server_matrix.go writeMatrixDiscoveryResponse; ntfy's 50003 without
 * --base-url); POST publishes (matrixPublish), "login" before the body, write rights on the pushkey's topic after.
 */
export function matrixGatewayRows(ctx: WebContext, toChannel: Handler): RouteRow[] {
  const discovery: Handler = async () =>
    ctx.opts.baseUrl ? ntfyJsonAnswer(`{"unifiedpush":{"gateway":"matrix"}}\n`) : ntfyErrorResponse(NTFY_ERRORS.missingBaseUrl, "the Matrix gateway needs --base-url (the public URL that pushkeys start with)");
  return [
    { method: "GET", path: MATRIX_PUSH_PATH, right: "none", handler: discovery },
    { method: "POST", path: MATRIX_PUSH_PATH, right: "login", handler: matrixPublish(ctx, toChannel) },
  ];
}

// ---- UnifiedPush's subscribers and counters ---------------------------------------------------------------------

/**
 * Per up… topic, a stream of one entry whose ID is the last time a subscriber was seen (the pub/sub server's clock,
 * shared by every web server). A stream because the web user may only XADD and XRANGE there (docs/users.acl's
 * notistream-push:*); MAXLEN 1 keeps one entry per topic.
 */
const subscriberKey = (topic: string) => `notistream-push:up-subscriber:${topic}`;

type Store = Pick<WebContext["publisher"], "send">;
type Counters = { unifiedPush: () => void; matrix: (result: "accepted" | "rejected" | "failed") => void };

/** ntfy's metricUnifiedPushPublishedSuccess and metricMatrixPublished{Success,Failure} (server_metrics.go), once per server. */
const countersOf = new WeakMap<WebContext, Counters>();
function counters(ctx: WebContext): Counters {
  let c = countersOf.get(ctx);
  if (!c) {
    const up = ctx.metrics.counter("notistream_unifiedpush_published_total", "UnifiedPush messages published (up=1, Content-Encoding: aes128gcm or an up… topic), as ntfy_unifiedpush_published_success.");
    const matrix = ctx.metrics.counter(
      "notistream_matrix_pushes_total",
      "Matrix push gateway pushes, by result: accepted (published), rejected (answered {\"rejected\":[pushkey]}), failed (the publish was refused, a 507 included).",
    );
    c = { unifiedPush: () => up(), matrix: (result) => matrix({ result }) };
    countersOf.set(ctx, c);
  }
  return c;
}

/** Counts a UnifiedPush message published (web_attachments.ts's publishBody, once the publish answered 200). */
export const countUnifiedPush = (ctx: WebContext): void => counters(ctx).unifiedPush();

/** When a subscriber was last seen on an up… topic: "fresh", "never" or "gone" (web_unifiedpush_rules.ts). */
async function subscriberState(store: Store, topic: string): Promise<"fresh" | "never" | "gone"> {
  const last = entriesFromReply(await store.send("XREVRANGE", [subscriberKey(topic), "+", "-", "COUNT", "1"]))[0];
  return upSubscriberState(last ? streamIdMs(last.id) : null, Date.now());
}

/**
 * ntfy's check before a UnifiedPush publish (server.go handlePublishInternal): with --visitor-subscriber-rate-limiting,
 * a UnifiedPush publish (up=1 or Content-Encoding: aes128gcm, ntfy's own test; not the topic's shape alone) to a topic
 * no subscriber holds is ntfy's 507 (50701), before the body is read; nothing is published. A 5xx, because Mastodon
 * drops a subscription on most 4xx. Any other publish goes on.
 */
export async function refuseWithoutSubscriber(ctx: WebContext, channel: string, unifiedPush: boolean): Promise<void> {
  if (!ctx.opts.visitorSubscriberRateLimiting || !unifiedPush) return;
  const state = await subscriberState(ctx.publisher, channel);
  if (state !== "fresh") throw new NtfyError(NTFY_ERRORS.insufficientStorageUnifiedPush, `${JSON.stringify(channel)} has had no subscriber in the last day: the phone's UnifiedPush distributor subscribes to it first`);
}

/**
 * A subscription's hold on the up… topics it reads (server.go maybeSetRateVisitors): each becomes "subscribed" now,
 * awaited so that a publish right after sees it, and again every UP_SUBSCRIBER_RENEW_MS while the stream is open (as
 * ntfy's keepalive loop keeps its visitor seen); poll=1 marks once. With an ACL, only topics the subscriber may also
 * write count (or that anyone may write), as ntfy asks. Returns the stream's `closed` with the renewal stopped; a store that fails is logged and
 * the subscription goes on.
 */
export async function holdUpTopics(ctx: WebContext, req: Request, checked: Checked, poll: boolean, closed: () => void): Promise<() => void> {
  if (!ctx.opts.visitorSubscriberRateLimiting) return closed;
  const acl = ctx.opts.acl;
  // ntfy's Authorize counts the grants to everyone with the user's own: anonymous publishing there (docs/security.md's
  // UnifiedPush lines) lets the phone's user, who only reads, hold the topic.
  const mayWrite = (t: string) => !acl || rightsRefusal(acl, acl.anonymous, "publish", [t]) === null || publishRefusal(acl, req, checked, t, checked.token) === null;
  const topics = checked.channels.filter((t) => isUnifiedPushTopic(t) && mayWrite(t));
  if (topics.length === 0) return closed;
  const mark = () =>
    Promise.all(topics.map((t) => ctx.publisher.send("XADD", [subscriberKey(t), "MAXLEN", "1", "*", "seen", "1"]))).then(
      () => undefined,
      (err: Error) => ctx.logError(`web: unifiedpush: cannot record the subscriber of ${topics.join(",")} (${err.message}); publishes there may be answered 507`),
    );
  await mark();
  if (poll) return closed;
  const renew = setInterval(() => void mark(), UP_SUBSCRIBER_RENEW_MS);
  return () => {
    clearInterval(renew);
    closed();
  };
}
