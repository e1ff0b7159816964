#!/usr/bin/env bun
// web.ts — the web server: start-up (startWeb, and main with its flags), the route table (rows of method, path, right
// and handler, from the web_* route files) and the dispatch: rate limit, cross-site check, 404/405, the row's right, JSON errors, metrics.
import { Acl } from "./acl";
import { aclSummary, exitOnSignals, intFlag, outputLimitFlag, listenOrExit, loadAcl, loadTls, readAcl, reloadAclOnHup, parseFlags, type FlagSpec } from "./cli";
import { RateLimiter } from "./ratelimit";
import { AUTH_FAILURE_BURST, LoginGuard, checkRight } from "./web_access";
import { accountRoutes, countsAsPublish, type AccountRoutes } from "./web_account";
import { attachmentsFromFlags, fileRoute, openAttachments } from "./web_attachments";
import { appRoutes, buildApp } from "./web_app";
import { error, NOT_CONNECTED, type WebContext, type WebOptions } from "./web_context";
import { DEFAULT_SSE_OUTPUT_LIMIT, closeRevokedStreams, type SocketSession } from "./web_events";
import { DEFAULT_MAX_PATTERNS, Hub } from "./web_hub";
import { DEFAULT_MAX_MESSAGE, InputError } from "./web_input";
import { Metrics } from "./web_metrics";
import { opsRoutes } from "./web_ops";
import { Publisher, Refused, Unavailable, redactUrl } from "./web_publisher";
import { countedPublish, ntfyEventRows, ntfyPublishRows, ntfyPutRow, publishPath, publishRoot } from "./web_publishing";
import { loadVapidKeys } from "./web_push";
import { DEFAULT_PUSH_LIMITS, MAX_CHANNELS_CEILING, parseOrigins, type PushLimits } from "./web_pushpolicy";
import { pushRoutes, startPush } from "./web_pushroutes";
import { matrixGatewayRows, unifiedPushDiscovery } from "./web_unifiedpush";
import { startUpstream, upstreamFromFlags } from "./web_upstream";
import { DEFAULT_MAX_PATTERNS_PER_VISITOR, DEFAULT_MAX_STREAMS_PER_VISITOR, readingRoutes } from "./web_reading";
import { CHANNEL, buildRoutes, matchRoute, methodRefusal, type Handler, type Right, type RouteRow, type RouteTable, type TokenFrom } from "./web_routes";
import { GITHUB_MAX_BODY, SENDERS, senderRow } from "./web_senders";
import { DEFAULT_TRUSTED_PROXIES, clientAddress, crossSiteRefusal, parseCidrs, visitorKey, type Cidr } from "./web_visitor";
import { NTFY_ERRORS, NTFY_PREFLIGHT, NtfyError, inNtfyShape, isNtfyRequest, ntfyErrorResponse, withNtfyErrorFields } from "./web_ntfy";
import { DEFAULT_NTFY_KEEPALIVE_SECONDS, ntfySubscribeRows, ntfyWebSocket, type Upgrade } from "./web_ntfy_subscribe";
import { TokenStore } from "./web_tokens";
import { GotifyStore } from "./web_gotify_store";
import { gotifyRoutes, isGotifyRequest } from "./web_gotify";
import { gotifyStreamRow, recheckGotifyStreams } from "./web_gotify_stream";
import { Scheduler, schedulingMetrics } from "./web_scheduled";
import { EMAIL_BURST, Mailer, defaultSmtpFrom, smtpSettingsRefusal } from "./web_email";
import { DEFAULT_DELAY_LIMIT_MS, MIN_DELAY_MS, formatDuration, parseDuration } from "./web_delay";
import { mediaType } from "./web_body";
import { readFileSync } from "node:fs";
import type { Server } from "bun";

const DEFAULT_MAX_BODY = 1024 * 1024;

/**
 * A 503's text: NOT_CONNECTED, except that a refusal keeps the server's error code (MISCONF on a full disk, NOPERM,
 * OOM), and a cluster that could not confirm a write says so with its counts (it may still keep the message).
 */
function unavailableText(err: Unavailable): string {
  if (err instanceof Refused) {
    const code = /refused it: -?([A-Z]+)\b/.exec(err.message)?.[1];
    return `cannot publish: the pub/sub server refused to store the message${code ? ` (${code})` : ""}; the web server's log has its answer`;
  }
  if (err.message.startsWith("cannot confirm the message")) return err.message; // replica counts and a time, nothing more
  return NOT_CONNECTED;
}

/** The handlers the route files made, for the table. */
type Features = {
  app: ReturnType<typeof appRoutes>;
  reading: ReturnType<typeof readingRoutes>;
  ops: ReturnType<typeof opsRoutes>;
  push: ReturnType<typeof pushRoutes>;
  /** ntfy's subscribing routes, GET /<channels>/json, sse, raw, ws and auth (web_ntfy_subscribe.ts). */
  ntfySubscribe: RouteRow[];
  account: AccountRoutes;
  /** Gotify's REST API (web_gotify.ts), GET and HEAD /health among its rows (ours, with Gotify's fields). */
  gotify: RouteRow[];
};

/**
 * The route table: one row per method and path, with the right the dispatcher checks before the handler runs and where
 * a login's token may come from besides Authorization (see web_routes.ts). A request matches a fixed path first, then
 * a /<prefix>/<channel>, then any other path is a channel, ntfy-style (except under a fixed path's folder, /push/).
 * A 405's Allow lists a path's methods in the order written here.
 */
function routeTable(ctx: WebContext, { app, reading, ops, push, account, ntfySubscribe, gotify }: Features): RouteRow[] {
  const row = (method: string, path: string, right: Right, handler: Handler, token?: TokenFrom): RouteRow => ({ method, path, right, handler, ...(token ? { token } : {}) });
  const toChannel = publishPath(ctx);
  const toRoot = publishRoot(ctx);
  const files = fileRoute(ctx);
  const noPage: Handler = async (_req, url) => error(404, `no such page ${url.pathname}: GET / is the app; POST or PUT /<channel> publishes to a channel`);
  return [
    row("GET", "/", "none", app.page),
    row("HEAD", "/", "none", app.page),
    row("POST", "/", "login", toRoot, "query or body"),
    // ntfy's: PUT / as POST /, and GET /<topic>/publish, /send and /trigger ("write" on the one topic named).
    ...ntfyPublishRows(toRoot, toChannel),
    // ntfy's delete and clear: DELETE /<topic>/<sid>, GET /<topic>/<sid>/delete, PUT or GET /<topic>/<sid>/clear and /read ("write").
    ...ntfyEventRows(ctx),
    // /github, /gitlab, /gitea ("login", or "signed" with their secret), /alertmanager/<channel>, /grafana/<channel> ("write" or "signed").
    ...SENDERS.map((sender) => senderRow(ctx, sender)),
    // Uploaded files (ntfy's /file/<id>.<ext>): the handler checks read rights on the channel each was published to.
    row("GET", "/file/<channel>", "none", files),
    row("HEAD", "/file/<channel>", "none", files),
    row("GET", "/healthz", "none", ops.healthz),
    row("GET", "/metrics", "none", ops.metrics),
    row("GET", "/events", "read", reading.events),
    row("GET", "/messages", "read", reading.messages),
    row("GET", "/push/vapid", "none", push.vapid),
    row("POST", "/push/subscribe", push.right, push.subscribe),
    row("DELETE", "/push/subscribe", push.right, push.unsubscribe),
    // ntfy's streams, GET /<channels>/json, sse, raw, ws and auth: "read" on every channel the path names.
    ...ntfySubscribe,
    // ntfy's account routes: each logs its caller in itself, answering a wrong login in ntfy's shape.
    row("GET", "/v1/health", "none", account.health),
    row("GET", "/v1/config", "none", account.config),
    row("GET", "/config.js", "none", account.configJs),
    row("GET", "/v1/account", "none", account.account),
    row("POST", "/v1/account/token", "none", account.tokenCreate),
    row("PATCH", "/v1/account/token", "none", account.tokenUpdate),
    row("DELETE", "/v1/account/token", "none", account.tokenDelete),
    row("PATCH", "/v1/account/settings", "none", account.settings),
    row("POST", "/v1/account/subscription", "none", account.subscriptionAdd),
    row("PATCH", "/v1/account/subscription", "none", account.subscriptionChange),
    row("DELETE", "/v1/account/subscription", "none", account.subscriptionDelete),
    row("DELETE", "/v1/account", "none", account.managedByAcl),
    row("POST", "/v1/account/password", "none", account.managedByAcl),
    // Gotify's API: /message, /application, /client, /current/user, /user, /version, /health, images (each logs its caller in).
    ...gotify,
    ...app.files.map(([path, handler]) => row("GET", path, "none", handler)),
    row("POST", `/${CHANNEL}`, "write", toChannel, "query"),
    ntfyPutRow(toChannel),
    // UnifiedPush: the Matrix push gateway, and discovery on GET /<topic>?up=1 (any other GET /<topic> is no page).
    ...matrixGatewayRows(ctx, toChannel),
    row("GET", `/${CHANNEL}`, "none", unifiedPushDiscovery(noPage)),
  ];
}

type RequestCounters = { requests: (labels: Record<string, string>) => void; errors: (labels: Record<string, string>) => void };

/**
 * Every request's way: the rate limit, the cross-site check, its row (404, 405 with Allow), the row's right (before any
 * body is read), the handler, and the answer counted by the row's label; InputError and Unavailable become JSON errors.
 */
function dispatcher(ctx: WebContext, routes: RouteTable, count: RequestCounters, logins: LoginGuard, published: AccountRoutes["published"]): { fetch: (req: Request) => Promise<Response>; stop: () => void } {
  const limiter = new RateLimiter(ctx.opts.rateLimit ?? 0);
  const sweeper = setInterval(() => (limiter.sweep(Date.now()), logins.sweep(Date.now())), 60_000);
  sweeper.unref?.();
  const answer = async (req: Request, url: URL): Promise<Response> => {
    if (limiter.perSecond > 0) {
      const ip = ctx.visitorOf(req);
      const wait = limiter.take(ip, Date.now());
      if (wait > 0) {
        count.requests({ route: "rate_limited", code: "429" });
        return error(429, `too many requests from ${ip}: the limit is ${limiter.perSecond} a second; try again in ${wait} s`, { "retry-after": String(wait) });
      }
    }
    // Another site's page may not use the visitor's browser (its login, its network) to change anything here.
    const site = req.headers.get("sec-fetch-site");
    const crossSite = site === null ? null : crossSiteRefusal(req.method, site, mediaType(req));
    if (crossSite) {
      count.requests({ route: "cross_site", code: "403" });
      return error(403, crossSite);
    }
    // ntfy's routes answer a preflight from any origin, as ntfy's handleOptions does; ours and the app's answer none.
    if (req.method === "OPTIONS" && isNtfyRequest(req.method, url.pathname)) return new Response(null, { headers: NTFY_PREFLIGHT });
    const found = matchRoute(routes, req.method, url.pathname);
    if (found.kind === "no such path") return error(404, `no such endpoint ${url.pathname}: POST / or POST /<channel> publishes, POST /github takes GitHub webhooks, GET /events streams`);
    if (found.kind === "no such method") {
      const refusal = methodRefusal(req.method, url.pathname, found.allow);
      return error(405, refusal.message, refusal.headers);
    }
    const { row, label } = found;
    // A GET that publishes (a row that needs write rights) is as much a change as a form's POST.
    const publishingGet = site === null || row.right !== "write" ? null : crossSiteRefusal(req.method, site, mediaType(req), true);
    if (publishingGet) {
      count.requests({ route: "cross_site", code: "403" });
      return error(403, publishingGet);
    }
    try {
      const acl = ctx.opts.acl;
      // A visitor past its failed logins is turned away, and an issued token read, before the row's check.
      const early = logins.before(acl, req, url, row);
      const checked = (early instanceof Promise ? await early : early) ?? checkRight(acl, req, url, row, found.rawChannel);
      const res = checked instanceof Response ? checked : await row.handler(req, url, checked);
      logins.after(acl, req, url, row, res.status);
      // Counted for /v1/account's stats (ntfy's messages per visitor per day); not awaited.
      if (res.status === 200 && !(checked instanceof Response) && countsAsPublish(row)) published(req, url, checked);
      count.requests({ route: label, code: String(res.status) });
      return res;
    } catch (err) {
      if (err instanceof NtfyError) {
        count.requests({ route: label, code: String(err.status) });
        return ntfyErrorResponse(err.kind, err.detail);
      }
      if (err instanceof InputError) {
        count.requests({ route: label, code: String(err.status) });
        return error(err.status, err.message);
      }
      if (err instanceof Unavailable) {
        count.errors({ reason: "pubsub_unavailable" });
        count.requests({ route: label, code: "503" });
        ctx.log(`web: ${err.message}`);
        return error(503, unavailableText(err), { "retry-after": "5" });
      }
      count.errors({ reason: "internal" });
      console.error("web: unexpected error", err);
      return error(500, "internal error; the server log has the details");
    }
  };
  // ntfy's clients read every answer on ntfy's routes in ntfy's shape, with CORS, as ntfy sends it (web_ntfy.ts inNtfyShape).
  const fetch = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const res = await answer(req, url);
    if (isNtfyRequest(req.method, url.pathname) && !isGotifyRequest(req.method, url.pathname)) return inNtfyShape(res);
    // ntfy-style publishing, POST or PUT /<topic>: errors carry ntfy's fields too (its senders read the code).
    if (res.status >= 400 && (req.method === "POST" || req.method === "PUT")) {
      const found = matchRoute(routes, req.method, url.pathname);
      if (found.kind === "found" && found.row.path === `/${CHANNEL}`) return withNtfyErrorFields(res);
    }
    return res;
  };
  return { fetch, stop: () => clearInterval(sweeper) };
}

/**
 * A request's client address (behind a trusted proxy, the one X-Forwarded-For names), asked of Bun once per request:
 * the rate limit, the day's count, a login's failures and a mail may each want it, and Bun's requestIP builds a new
 * address object per call, which showed as a quarter of a webhook's CPU in a profile.
 */
function clientAddresses(trusted: Cidr[] | null, server: () => Server<SocketSession>): (req: Request) => string {
  const addresses = new WeakMap<Request, string>();
  return (req) => {
    let address = addresses.get(req);
    if (address === undefined) addresses.set(req, (address = clientAddress(server().requestIP(req)?.address ?? "unknown", trusted && req.headers.get("x-forwarded-for"), trusted)));
    return address;
  };
}

export async function startWeb(opts: WebOptions) {
  const log = (line: string): void => void (opts.quiet || console.log(line));
  const logError = (line: string): void => void (opts.quiet || console.error(line));
  const publisher = new Publisher(opts.redisUrl, opts.historyMax, opts.redisCa, opts.clusterWait ?? 0, opts.clusterGlobs ?? true, log);
  // Connected from the start and made again at once: a pub/sub server full of subscribers refuses newcomers.
  publisher.hold();
  const hub = new Hub(opts.redisUrl, opts.redisCa, logError, { history: publisher, maxPatterns: opts.maxPatterns });
  const assets = await buildApp();
  // The metrics in the order /metrics lists them: counters, then gauges, each in the order made.
  const metrics = new Metrics();
  const publishing = countedPublish(publisher, metrics, log);
  const count: RequestCounters = {
    requests: metrics.counter("notistream_http_requests_total", "HTTP requests by route and status code."),
    errors: metrics.counter("notistream_errors_total", "Publishes that failed, by reason."),
  };
  const trusted = opts.trustProxy ? (opts.trustedProxies ?? parseCidrs(DEFAULT_TRUSTED_PROXIES)) : null;
  let server: Server<SocketSession>;
  const clientOf = clientAddresses(trusted, () => server);
  const visitorOf = (req: Request): string => visitorKey(clientOf(req));
  const keepOpen = (req: Request): void => server.timeout(req, 0);
  // Scheduled messages wait in the pub/sub server; any publish with a sequence ID cancels the scheduled ones it names.
  const scheduler = new Scheduler({ store: publisher, publish: publishing.publish, log });
  const mailer = opts.smtp ? new Mailer(opts.smtp.url, opts.smtp.from, log) : null;
  const ctx: WebContext = { opts, log, logError, publisher, hub, metrics, publish: scheduler.publishNow, trusted, clientOf, visitorOf, keepOpen, scheduler, mailer };
  scheduler.start();
  schedulingMetrics(metrics, scheduler, mailer);
  const reading = readingRoutes(ctx);
  const attachments = await openAttachments(ctx);
  // ntfy's /ws: the request is handed to the websocket handler below with the stream it carries.
  const upgrade: Upgrade = (req, session) => server.upgrade(req, { data: session });
  const keepalive = opts.keepalive ?? DEFAULT_NTFY_KEEPALIVE_SECONDS;
  const ops = opsRoutes(ctx);
  const push = await startPush(ctx);
  // Poll requests for ntfy's iOS app: off the publishing path, listening on the hub as Web Push does.
  const upstream = await startUpstream(opts.upstream, { store: publisher, hub, metrics, acl: () => opts.acl, self: decodeURIComponent(new URL(opts.redisUrl).username) || undefined, log: logError });
  // ntfy's tokens, issued to an ACL file's users: kept in the pub/sub server, so every web server takes each one.
  const tokens = opts.acl?.issuesTokens ? new TokenStore(publisher, hub) : null;
  tokens?.start();
  // Gotify's apps and clients, shared by every web server; a message to a channel an app is bound to gets its number.
  const gotifyStore = (publisher.numbering = new GotifyStore(publisher, hub, logError));
  void gotifyStore.start();
  const takeTokens = (acl: Acl) => void (acl.issued = tokens ? (token) => tokens.userOf(token) : undefined);
  if (opts.acl) takeTokens(opts.acl);
  const logins = new LoginGuard({
    visitorOf,
    ...(tokens ? { refreshToken: (token: string) => tokens.refresh(token) } : {}),
    tooManyFailures: (visitor, wait) =>
      ntfyErrorResponse(NTFY_ERRORS.tooManyAuthFailures, `${visitor} failed to log in too often (${AUTH_FAILURE_BURST} tries at once, then one a minute); try again in ${wait} s`, { "retry-after": String(wait) }),
    storeAway: () => error(503, `cannot check the token: ${NOT_CONNECTED}`, { "retry-after": "5" }),
  });
  const account = accountRoutes(ctx, tokens);
  const routes = buildRoutes(routeTable(ctx, { app: appRoutes(ctx, assets), reading, ops, push: pushRoutes(ctx, push), account, ntfySubscribe: ntfySubscribeRows(ctx, reading, upgrade, keepalive), gotify: [...gotifyRoutes(ctx, gotifyStore, ops.health), gotifyStreamRow(ctx, gotifyStore, reading.admit, upgrade, keepalive)] }));
  const dispatch = dispatcher(ctx, routes, count, logins, account.published);
  server = Bun.serve({
    hostname: opts.host,
    port: opts.port,
    // Bun's own cap sits above ours so that our readBody answers with a JSON 413 first.
    maxRequestBodySize: Math.max(opts.maxBody, GITHUB_MAX_BODY, opts.attachments?.limits.fileSize ?? 0) + 1024 * 1024,
    ...(opts.tls ? { tls: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
    fetch: dispatch.fetch,
    // ntfy's /ws and Gotify's /stream alike: each socket carries its session (SocketSession), and both read only pongs.
    websocket: ntfyWebSocket(keepalive, (opts.sseOutputLimit ?? DEFAULT_SSE_OUTPUT_LIMIT).hard),
    error(err) {
      console.error("web: unexpected error", err);
      return error(500, "internal error; the server log has the details");
    },
  });
  return {
    server,
    port: server.port,
    /**
     * New users and rights (SIGHUP): every later request is checked against them, and what they no longer allow stops
     * now, as Redis 7 does on RESP: open streams that may not read their channels end, push subscriptions lose them.
     */
    setAcl: (next: Acl) => {
      takeTokens(next);
      opts.acl = next;
      const ended = closeRevokedStreams((user, channels) => next.users.get(user)?.mayReadOverHttp(channels) ?? false);
      if (ended) log(`web: ended ${ended} event stream${ended === 1 ? "" : "s"} whose user may no longer read its channels`);
      recheckGotifyStreams();
      void push?.revoke(next).catch((err: Error) => log(`web: push: cannot apply the new ACL to stored subscriptions yet (${err.message}); pushes are still checked against it one by one`));
    },
    stop: () => {
      publishing.stop();
      dispatch.stop();
      push?.stop();
      upstream?.stop();
      scheduler.stop();
      mailer?.close();
      attachments?.stop();
      tokens?.stop();
      gotifyStore.stop();
      hub.close();
      publisher.close();
      server.stop(true);
    },
  };
}

/**
 * --visitor-subscriptions, or its old name --max-streams-per-visitor when only that is given (flag or env twin); both
 * with different values is a usage error (exit 2).
 */
function visitorSubscriptions(f: Record<string, string | undefined>, argv: string[]): number {
  const given = (flag: string, env: string) => argv.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`)) || !!process.env[env];
  const newGiven = given("visitor-subscriptions", "NOTISTREAM_VISITOR_SUBSCRIPTIONS");
  if (f["max-streams-per-visitor"] === undefined) return intFlag("web", f, "visitor-subscriptions", 0, 100_000_000);
  const old = intFlag("web", f, "max-streams-per-visitor", 0, 100_000_000);
  if (newGiven && intFlag("web", f, "visitor-subscriptions", 0, 100_000_000) !== old) {
    console.error(`web: --visitor-subscriptions and its old name --max-streams-per-visitor disagree (${f["visitor-subscriptions"]} and ${old}); give only --visitor-subscriptions`);
    process.exit(2);
  }
  return old;
}

const FLAGS: FlagSpec[] = [
  { name: "host", env: "NOTISTREAM_WEB_HOST", help: "listen address", default: "0.0.0.0" },
  { name: "port", env: "NOTISTREAM_WEB_PORT", help: "listen port (0 picks a free one)", default: "8080" },
  { name: "redis", env: "NOTISTREAM_REDIS_URL", help: "where to publish: redis://[:password@]host:port or rediss:// (any node of a Redis Cluster: detected by itself)", default: "redis://127.0.0.1:6379" },
  { name: "token", env: "NOTISTREAM_TOKEN", help: "require this token to publish on POST /, /<channel> and the senders without their secret (Authorization: Bearer, a token field or ?token=)" },
  { name: "acl", env: "NOTISTREAM_ACL", help: "users and channel rights for POST /, the senders, /events and /messages (Bearer or Basic auth); the pub/sub server's ACL syntax" },
  { name: "github-secret", env: "NOTISTREAM_GITHUB_SECRET", help: "check X-Hub-Signature-256 on POST /github with this secret" },
  { name: "gitlab-secret", env: "NOTISTREAM_GITLAB_SECRET", help: "the Secret token POST /gitlab must carry in X-Gitlab-Token" },
  { name: "gitea-secret", env: "NOTISTREAM_GITEA_SECRET", help: "check X-Gitea-Signature / X-Forgejo-Signature on POST /gitea with this secret" },
  { name: "grafana-secret", env: "NOTISTREAM_GRAFANA_SECRET", help: "check X-Grafana-Alerting-Signature on POST /grafana/<channel> with this HMAC secret" },
  { name: "max-message", env: "NOTISTREAM_MAX_MESSAGE", help: "largest message, in bytes", default: String(DEFAULT_MAX_MESSAGE) },
  { name: "tls-cert", env: "NOTISTREAM_WEB_TLS_CERT", help: "serve HTTPS with this PEM certificate (with --tls-key)" },
  { name: "tls-key", env: "NOTISTREAM_WEB_TLS_KEY", help: "PEM private key for HTTPS" },
  { name: "redis-ca", env: "NOTISTREAM_REDIS_CA", help: "PEM CA file to trust for a rediss:// pub/sub server with a self-signed certificate" },
  { name: "rate-limit", env: "NOTISTREAM_RATE_LIMIT", help: "requests per second per client IP, burst twice that (0: no limit)", default: "0" },
  { name: "trust-proxy", env: "NOTISTREAM_TRUST_PROXY", help: "take the client IP from X-Forwarded-For, its rightmost entry that is not a --trusted-proxies address (only behind your own reverse proxy)", boolean: true },
  { name: "trusted-proxies", env: "NOTISTREAM_TRUSTED_PROXIES", help: "with --trust-proxy, the reverse proxies' addresses or networks (comma list, e.g. 127.0.0.0/8,::1,10.0.0.0/8), whose X-Forwarded-For entries are believed", default: DEFAULT_TRUSTED_PROXIES },
  { name: "visitor-subscriptions", env: "NOTISTREAM_VISITOR_SUBSCRIPTIONS", help: "open streams per client IP, GET /events and ntfy's /<topics>/json, sse, raw and ws alike (ntfy's visitor-subscription-limit; IPv6 per /64; this machine's own are not counted); more are refused with 429 (0: no limit)", default: String(DEFAULT_MAX_STREAMS_PER_VISITOR) },
  { name: "max-streams-per-visitor", env: "NOTISTREAM_MAX_STREAMS_PER_VISITOR", help: "the old name of --visitor-subscriptions, still read" },
  { name: "max-patterns-per-visitor", env: "NOTISTREAM_MAX_PATTERNS_PER_VISITOR", help: "glob patterns one client IP's open GET /events streams may hold in all (IPv6 per /64; this machine's own are not counted); more are refused with 429 (0: no limit)", default: String(DEFAULT_MAX_PATTERNS_PER_VISITOR) },
  { name: "keepalive", env: "NOTISTREAM_KEEPALIVE", help: "seconds between keepalives on ntfy's streams: a keepalive event on /<topics>/json, sse and raw, a ping on /ws (ntfy's keepalive-interval; its Android app gives up after 77 s of silence)", default: String(DEFAULT_NTFY_KEEPALIVE_SECONDS) },
  { name: "sse-output-limit", env: "NOTISTREAM_SSE_OUTPUT_LIMIT", help: "close a stream (GET /events, ntfy's /<topics>/json, sse, raw and ws) whose unread output passes <hard> bytes, or stays over <soft> bytes for <seconds>", default: `${DEFAULT_SSE_OUTPUT_LIMIT.hard} ${DEFAULT_SSE_OUTPUT_LIMIT.soft} ${DEFAULT_SSE_OUTPUT_LIMIT.softSeconds}` },
  { name: "max-patterns", env: "NOTISTREAM_MAX_PATTERNS", help: "distinct glob patterns the web server subscribes to in all (each costs the pub/sub server a match per PUBLISH); a stream with a new one past it gets 429", default: String(DEFAULT_MAX_PATTERNS) },
  { name: "cluster-wait", env: "NOTISTREAM_CLUSTER_WAIT", help: "on a Redis Cluster, answer 200 only once this many replicas hold the message (WAIT N); 0 answers when the master has it", default: "0" },
  { name: "cluster-globs", env: "NOTISTREAM_CLUSTER_GLOBS", help: "on a Redis Cluster, also PUBLISH each message (broadcast to every node) so glob subscriptions get it: on or off", default: "on" },
  { name: "history-max", env: "NOTISTREAM_HISTORY_MAX", help: "messages kept per channel for catch-up (XADD MAXLEN ~)", default: "1000" },
  { name: "max-body", env: "NOTISTREAM_MAX_BODY", help: "largest request body on POST /, in bytes (POST /github allows 25 MB)", default: String(DEFAULT_MAX_BODY) },
  { name: "base-url", env: "NOTISTREAM_BASE_URL", help: "the server's public URL, like https://notify.example.com (ntfy's base-url): links the server hands out (attachments) and the pushkeys the Matrix push gateway takes (UnifiedPush) start with it; never taken from a request's Host" },
  { name: "upstream-base-url", env: "NOTISTREAM_UPSTREAM_BASE_URL", help: "announce each message (UnifiedPush's aside) to this ntfy server as a poll request, so ntfy's iOS app gets instant pushes (ntfy's upstream-base-url, e.g. https://ntfy.sh); it sees the hash of <base-url>/<topic> and the message's id, never the text; needs --base-url; ntfy.sh allows 250 a day without a token" },
  { name: "visitor-subscriber-rate-limiting", env: "NOTISTREAM_VISITOR_SUBSCRIBER_RATE_LIMITING", help: "UnifiedPush (ntfy's visitor-subscriber-rate-limiting, off as in ntfy): a publish with up=1 or Content-Encoding: aes128gcm to a topic that had no subscriber (ntfy's /json, sse, raw, ws) in the last day is refused with ntfy's 507, so strangers cannot fill unused up… topics; subscriptions are recorded in the pub/sub server (notistream-push:up-subscriber:*), shared by every web server", boolean: true },
  { name: "upstream-access-token", env: "NOTISTREAM_UPSTREAM_ACCESS_TOKEN", help: "with --upstream-base-url, sent as Authorization: Bearer (an ntfy.sh account's token raises its daily limit)" },
  { name: "attachment-cache-dir", env: "NOTISTREAM_ATTACHMENT_CACHE_DIR", help: "keep uploaded files (ntfy's attachments) in this directory, served at /file/<id>; needs --base-url; web servers behind one name share one directory; unset: files are refused (40014)" },
  { name: "attachment-file-size-limit", env: "NOTISTREAM_ATTACHMENT_FILE_SIZE_LIMIT", help: "largest uploaded file (K, M, G); larger ones get 413 (41301)", default: "15M" },
  { name: "attachment-total-size-limit", env: "NOTISTREAM_ATTACHMENT_TOTAL_SIZE_LIMIT", help: "all uploaded files together, the disk they may take (K, M, G)", default: "5G" },
  { name: "visitor-attachment-total-size-limit", env: "NOTISTREAM_VISITOR_ATTACHMENT_TOTAL_SIZE_LIMIT", help: "uploaded files one visitor (a user, else a client IP, IPv6 per /64) may keep at once (K, M, G)", default: "100M" },
  { name: "visitor-attachment-daily-bandwidth-limit", env: "NOTISTREAM_VISITOR_ATTACHMENT_DAILY_BANDWIDTH_LIMIT", help: "bytes a visitor's files may move in a day, uploads and downloads of them alike (K, M, G); past it uploads get 413, downloads 429", default: "500M" },
  { name: "attachment-expiry-duration", env: "NOTISTREAM_ATTACHMENT_EXPIRY_DURATION", help: "how long an uploaded file is kept (3h, 90m, 2d), then removed", default: "3h" },
  { name: "data", env: "NOTISTREAM_WEB_DATA", help: "directory for the web server's own data (the VAPID keys for Web Push)", default: "./notistream-web" },
  { name: "vapid-keys", env: "NOTISTREAM_VAPID_KEYS", help: "Web Push VAPID key pair, JSON {publicKey, privateKey} (default: made on first start in --data)" },
  { name: "push-contact", env: "NOTISTREAM_PUSH_CONTACT", help: "mailto: or https: contact that push services see (Apple's wants a real one)", default: "mailto:notistream@localhost" },
  { name: "push-endpoints", env: "NOTISTREAM_PUSH_ENDPOINTS", help: "comma list of push service origins allowed besides Google's, Mozilla's, Apple's and Microsoft's (self-hosted autopush, UnifiedPush)" },
  { name: "push-max-subscriptions", env: "NOTISTREAM_PUSH_MAX_SUBSCRIPTIONS", help: "Web Push subscriptions kept in all, across web servers (each is a push per message); more are refused with 429", default: String(DEFAULT_PUSH_LIMITS.maxSubscriptions) },
  { name: "push-max-per-visitor", env: "NOTISTREAM_PUSH_MAX_PER_VISITOR", help: "Web Push subscriptions per client address (IPv6 per /64); more are refused with 429", default: String(DEFAULT_PUSH_LIMITS.maxPerVisitor) },
  { name: "push-max-channels", env: "NOTISTREAM_PUSH_MAX_CHANNELS", help: `channels (or globs) one Web Push subscription may name, at most ${MAX_CHANNELS_CEILING}; more are refused with 400`, default: String(DEFAULT_PUSH_LIMITS.maxChannels) },
  { name: "delay-limit", env: "NOTISTREAM_DELAY_LIMIT", help: "how far ahead a message may be scheduled (X-Delay, At, In, or delay in POST /): a duration such as 3d, 12h or 90m, at least 10s (ntfy's message-delay-limit); scheduled messages wait in the pub/sub server", default: formatDuration(DEFAULT_DELAY_LIMIT_MS) },
  { name: "smtp-url", env: "NOTISTREAM_SMTP_URL", help: "send e-mail notifications (X-Email, or email in POST /) through this SMTP server: smtp://user:password@host:587 (STARTTLS when the server offers it) or smtps://user:password@host:465; unset, a publish asking for one is refused (400, 40001)" },
  { name: "smtp-from", env: "NOTISTREAM_SMTP_FROM", help: "the e-mails' sender address (default: --smtp-url's login when it is an address, else notistream@<this machine's name>)" },
];

/** Web Push's settings from the flags (the VAPID keys made or read in --data); a bad one is a usage error (exit 2). */
function pushFromFlags(f: Record<string, string | undefined>, argv: string[]): NonNullable<WebOptions["push"]> {
  try {
    const contact = f["push-contact"]!;
    if (!/^(mailto:.+@.+|https:\/\/.+)/.test(contact)) throw new Error(`--push-contact must be mailto:you@example.com or an https:// URL, got ${JSON.stringify(contact)}`);
    const extraOrigins = parseOrigins(f["push-endpoints"] ?? "");
    const vapid = loadVapidKeys(f["vapid-keys"], f.data!);
    if (vapid.made) console.log(`web: made a VAPID key pair for Web Push in ${vapid.path}; keep it: phones subscribed with it`);
    if (vapid.warning) console.warn(`web: warning: ${vapid.warning}`);
    if (!process.env.NOTISTREAM_PUSH_CONTACT && !argv.some((a) => a.startsWith("--push-contact")))
      console.warn("web: warning: --push-contact is not set; push services (Apple's above all) want a real mailto: or https: contact");
    const limits: PushLimits = {
      maxSubscriptions: intFlag("web", f, "push-max-subscriptions", 1, 100_000_000),
      maxPerVisitor: intFlag("web", f, "push-max-per-visitor", 1, 100_000_000),
      maxChannels: intFlag("web", f, "push-max-channels", 1, MAX_CHANNELS_CEILING),
    };
    console.log(`web: Web Push keeps at most ${limits.maxSubscriptions} subscriptions, ${limits.maxPerVisitor} per client address, ${limits.maxChannels} channels each`);
    return { keys: vapid.keys, contact, extraOrigins, limits };
  } catch (err) {
    console.error(`web: ${(err as Error).message}`);
    process.exit(2);
  }
}

/** --delay-limit and --smtp-url/--smtp-from, said at start-up; a bad one is a usage error (exit 2). */
function scheduleAndMailFromFlags(f: Record<string, string | undefined>): Pick<WebOptions, "delayLimitMs" | "smtp"> {
  const delayLimitMs = parseDuration(f["delay-limit"]!.trim());
  if (delayLimitMs === null || delayLimitMs < MIN_DELAY_MS) {
    console.error(`web: --delay-limit must be a duration of at least ${MIN_DELAY_MS / 1000} s, such as 3d, 12h or 90m, got ${JSON.stringify(f["delay-limit"])}`);
    process.exit(2);
  }
  console.log(`web: scheduled messages (X-Delay, At, In) may be due up to ${formatDuration(delayLimitMs)} ahead (--delay-limit); they wait in the pub/sub server, and one web server delivers each`);
  const url = f["smtp-url"];
  if (url === undefined) {
    console.log("web: e-mail notifications are off (no --smtp-url): a publish asking for one (X-Email) is refused with 400");
    return { delayLimitMs };
  }
  const from = f["smtp-from"] ?? defaultSmtpFrom(url);
  const refusal = smtpSettingsRefusal(url, from);
  if (refusal) {
    console.error(`web: ${refusal}`);
    process.exit(2);
  }
  console.log(`web: e-mail notifications (X-Email) go out through ${redactUrl(url)} from ${from}, at most ${EMAIL_BURST} per client address at once, then one an hour`);
  return { delayLimitMs, smtp: { url, from } };
}

/** With an ACL (or --token): which sender routes are closed to callers without write rights (no secret set), and the failed-login limit. */
function sayAccessRules(f: Record<string, string | undefined>): void {
  const secrets: [string, string, string | undefined][] = [
    ["POST /github", "github-secret", f["github-secret"]],
    ["POST /gitlab", "gitlab-secret", f["gitlab-secret"]],
    ["POST /gitea", "gitea-secret", f["gitea-secret"]],
    ["POST /grafana/<channel>", "grafana-secret", f["grafana-secret"]],
  ];
  for (const [route, flag, secret] of secrets)
    if (secret === undefined) console.log(`web: ${route}: no --${flag}, so only callers with write rights on the channel may use it (Authorization, or ?token= in the webhook's URL)`);
  console.log("web: POST /alertmanager/<channel>: Alertmanager signs nothing, so only callers with write rights on the channel may use it (its basic_auth, or ?token=)");
  console.log(`web: a client IP that fails to log in ${AUTH_FAILURE_BURST} times gets 429 for any login, then may try once a minute`);
}

export async function main(argv: string[]): Promise<void> {
  const f = parseFlags("bun web.ts", "The Notistream web server: webhooks in, notifications published over RESP.", FLAGS, argv);
  const port = intFlag("web", f, "port", 0, 65535);
  const maxMessage = intFlag("web", f, "max-message", 1, 512 * 1024 * 1024);
  const maxBody = intFlag("web", f, "max-body", 1, 1024 * 1024 * 1024);
  const historyMax = intFlag("web", f, "history-max", 1, 100_000_000);
  const rateLimit = intFlag("web", f, "rate-limit", 0, 10_000_000);
  const clusterWait = intFlag("web", f, "cluster-wait", 0, 100);
  const maxPatterns = intFlag("web", f, "max-patterns", 1, 100_000_000);
  const sseOutputLimit = outputLimitFlag("web", f, "sse-output-limit");
  const keepalive = intFlag("web", f, "keepalive", 1, 900);
  const maxStreamsPerVisitor = visitorSubscriptions(f, argv);
  const maxPatternsPerVisitor = intFlag("web", f, "max-patterns-per-visitor", 0, 100_000_000);
  const trustProxy = ["true", "1", "yes"].includes(f["trust-proxy"] ?? "");
  const visitorSubscriberRateLimiting = ["true", "1", "yes"].includes(f["visitor-subscriber-rate-limiting"] ?? "");
  let trustedProxies: Cidr[];
  try {
    trustedProxies = parseCidrs(f["trusted-proxies"]!);
  } catch (err) {
    console.error(`web: --trusted-proxies: ${(err as Error).message}`);
    process.exit(2);
  }
  if (!["on", "off"].includes(f["cluster-globs"]!)) {
    console.error(`web: --cluster-globs must be on or off, got ${JSON.stringify(f["cluster-globs"])}`);
    process.exit(2);
  }
  const tls = loadTls("web", f, port);
  // --token is a one-user ACL: anonymous clients read, the token's holder publishes.
  const acl = loadAcl("web", f.acl, f.token, "--token") ?? (f.token !== undefined ? Acl.publishToken(f.token) : undefined);
  let redisCa: string | undefined;
  try {
    redisCa = f["redis-ca"] ? readFileSync(f["redis-ca"], "utf8") : undefined;
  } catch (err) {
    console.error(`web: cannot read --redis-ca: ${(err as Error).message}`);
    process.exit(2);
  }
  const push = pushFromFlags(f, argv);
  const files = attachmentsFromFlags(f);
  let upstream: ReturnType<typeof upstreamFromFlags>;
  try {
    upstream = upstreamFromFlags(f, files.baseUrl);
  } catch (err) {
    console.error(`web: ${(err as Error).message}`);
    process.exit(2);
  }
  const redisUrl = f.redis!;
  if (!/^rediss?:\/\//.test(redisUrl)) {
    console.error(`web: --redis must be a redis:// or rediss:// URL, got ${JSON.stringify(redactUrl(redisUrl))}`);
    process.exit(2);
  }
  const web = await listenOrExit("web", f.host!, port, () =>
    startWeb({ host: f.host!, port, redisUrl, acl, push, githubSecret: f["github-secret"], gitlabSecret: f["gitlab-secret"], giteaSecret: f["gitea-secret"], grafanaSecret: f["grafana-secret"], maxMessage, maxBody, historyMax, rateLimit, sseOutputLimit, keepalive, maxPatterns, trustProxy, trustedProxies, maxStreamsPerVisitor, maxPatternsPerVisitor, tls, redisCa, clusterWait, clusterGlobs: f["cluster-globs"] === "on", upstream, visitorSubscriberRateLimiting, ...scheduleAndMailFromFlags(f), ...files }),
  );
  if (acl && f.acl) {
    console.log(`web: ${aclSummary(acl)} (${f.acl}); SIGHUP reads it again`);
    console.log(`web: ntfy's tokens (POST /v1/account/token) are issued to its users and kept in the pub/sub server (notistream-token:*), shared by every web server`);
    if (!new URL(redisUrl).username)
      console.warn("web: warning: --redis names no user, so the web server publishes as the pub/sub server's default user; with an ACL there give it its own user: redis://web:<password>@host:port");
  }
  if (acl) sayAccessRules(f);
  if (visitorSubscriberRateLimiting)
    console.log("web: --visitor-subscriber-rate-limiting: a UnifiedPush publish (up=1, Content-Encoding: aes128gcm) to a topic with no subscriber in the last day is refused with ntfy's 507 (50701); subscriptions to up… topics are recorded in notistream-push:up-subscriber:*");
  if (trustProxy) console.log(`web: --trust-proxy: a client's address is the rightmost X-Forwarded-For entry that is not a trusted proxy (${f["trusted-proxies"]})`);
  else if (process.env.NOTISTREAM_TRUSTED_PROXIES || argv.some((a) => a.startsWith("--trusted-proxies")))
    console.warn("web: warning: --trusted-proxies does nothing without --trust-proxy: X-Forwarded-For is ignored");
  console.log(`web: each client IP (IPv6 per /64; this machine's own are not counted) may hold ${maxStreamsPerVisitor || "any number of"} streams (GET /events and ntfy's /<topics>/json, sse, raw and ws; --visitor-subscriptions) with ${maxPatternsPerVisitor || "any number of"} glob patterns in all`);
  console.log(`web: ntfy's streams (GET /<topics>/json, sse, raw, ws) send a keepalive every ${keepalive} s (--keepalive)`);
  console.log(`web: Gotify's API (POST /message, GET /stream, /application, /client; docs/gotify.md) keeps its applications and clients in the pub/sub server (notistream-gotify:*); /stream pings every ${keepalive} s (--keepalive)`);
  console.log(`web: listening on ${tls ? "https" : "http"}://${f.host}:${web.port}, publishing to ${redactUrl(redisUrl)}${f.token ? " (token required)" : ""}`);
  if (acl && f.acl)
    reloadAclOnHup("web", () => {
      try {
        const next = readAcl(f.acl!);
        web.setAcl(next);
        console.log(`web: ACL reloaded from ${f.acl}: ${aclSummary(next)}`);
        return null;
      } catch (err) {
        return (err as Error).message;
      }
    });
  exitOnSignals(() => web.stop());
}

if (import.meta.main) await main(process.argv.slice(2));
