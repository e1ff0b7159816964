#!/usr/bin/env bun
// web.ts — the HTTP server on Bun.serve: the route table, who may do what (ACL), replies and errors, and `main`.
// Bodies are read in web_body.ts, payloads rendered by message.ts and the senders (github.ts, gitlab.ts, … on sender.ts), messages published by web_publisher.ts.
import type { Notification } from "./message";
import { DEFAULT_MAX_MESSAGE, InputError, checkNotification, fitText, notificationFromFields, refuseChannelName } from "./web_input";
import { githubNotification, verifyGithubSignature } from "./github";
import { gitlabNotification, verifyGitlabToken } from "./gitlab";
import { giteaEvent, giteaNotification, verifyGiteaSignature } from "./gitea";
import { alertmanagerNotification, grafanaNotification, verifyGrafanaSignature } from "./alerts";
import { MAX_DATA_DEPTH, TemplateError, renderTemplate } from "./web_template";
import type { SenderOutcome } from "./sender";
import { DEFAULT_MAX_PATTERNS, Hub } from "./web_hub";
import { DEFAULT_SSE_OUTPUT_LIMIT, channelsFrom, checkId, closeRevokedStreams, eventStream, recentMessages, streamStats } from "./web_events";
import { Metrics } from "./web_metrics";
import { HeldLimits, RateLimiter } from "./ratelimit";
import { Publisher, Refused, Unavailable, redactUrl } from "./web_publisher";
import { bodyFields, mediaType, parseJson, readBody, senderPayload } from "./web_body";
import { DEFAULT_TRUSTED_PROXIES, clientAddress, crossSiteRefusal, isLoopback, parseCidrs, visitorKey, type Cidr } from "./web_visitor";
import { isPattern } from "./glob";
import { Push, loadVapidKeys, type VapidKeys } from "./web_push";
import { DEFAULT_PUSH_LIMITS, MAX_CHANNELS_CEILING, SubscribeBodySchema, UnsubscribeBodySchema, parseOrigins, type PushLimits } from "./web_pushpolicy";
import { aclSummary, exitOnSignals, intFlag, outputLimitFlag, listenOrExit, loadAcl, loadTls, readAcl, reloadAclOnHup, parseFlags, type FlagSpec, type OutputLimits } from "./cli";
import { Acl, userFromAuthorization } from "./acl";
import { readFileSync } from "node:fs";
import type { Server } from "bun";

export { redactUrl };
export const DEFAULT_MAX_BODY = 1024 * 1024;
/** GitHub caps webhook payloads at 25 MB. */
export const GITHUB_MAX_BODY = 25 * 1024 * 1024;

export type WebOptions = {
  host: string;
  port: number;
  redisUrl: string;
  /** Users and their channel rights: --acl FILE (the pub/sub server's syntax), or --token as a one-user ACL. */
  acl?: Acl;
  githubSecret?: string;
  /** X-Gitlab-Token that POST /gitlab must carry. */
  gitlabSecret?: string;
  /** HMAC secret for X-Gitea-Signature / X-Forgejo-Signature on POST /gitea. */
  giteaSecret?: string;
  /** HMAC secret for X-Grafana-Alerting-Signature on POST /grafana/<channel>. */
  grafanaSecret?: string;
  maxMessage: number;
  maxBody: number;
  /** How many messages each channel's history keeps (XADD MAXLEN ~). */
  historyMax: number;
  /** Requests per second per client IP (burst twice that); 0 turns the limit off. */
  rateLimit?: number;
  /** Take the client's IP from X-Forwarded-For (only behind a reverse proxy you run). */
  trustProxy?: boolean;
  /** With trustProxy: the proxies whose X-Forwarded-For entries are believed (default loopback). */
  trustedProxies?: Cidr[];
  /** Open SSE streams per visitor (IPv4 address, IPv6 /64); 0: no cap. Default DEFAULT_MAX_STREAMS_PER_VISITOR. */
  maxStreamsPerVisitor?: number;
  /** Glob patterns one visitor's open streams may hold in all; 0: no cap. Default DEFAULT_MAX_PATTERNS_PER_VISITOR. */
  maxPatternsPerVisitor?: number;
  /** SSE streams' output limits (--sse-output-limit); default DEFAULT_SSE_OUTPUT_LIMIT. */
  sseOutputLimit?: OutputLimits;
  /** Most distinct glob patterns the hub holds (--max-patterns); default DEFAULT_MAX_PATTERNS. */
  maxPatterns?: number;
  /** Serve HTTPS with this PEM certificate and key. */
  tls?: { cert: string; key: string };
  /** A PEM CA to trust for rediss:// (a self-signed pub/sub server). */
  redisCa?: string;
  /** On a Redis Cluster, answer 200 only once this many replicas hold the message (WAIT); 0 does not wait. */
  clusterWait?: number;
  /** On a Redis Cluster, also PUBLISH each message (a broadcast to every node) so glob subscriptions work; default on. */
  clusterGlobs?: boolean;
  /** Web Push: the VAPID keys, the contact for push services, and push services allowed beyond the known ones. */
  push?: { keys: VapidKeys; contact: string; extraOrigins: string[]; limits?: PushLimits };
  quiet?: boolean;
};

/** Per visitor: ntfy's visitor-subscription-limit is 30; a household's or an office's tabs fit, a script's thousands do not. */
export const DEFAULT_MAX_STREAMS_PER_VISITOR = 30;
/** Per visitor, over all its streams: each distinct glob costs the pub/sub server a match on every PUBLISH. */
export const DEFAULT_MAX_PATTERNS_PER_VISITOR = 50;

/** Both schemes in one challenge; a browser that sees Basic asks for a login and sends it with later requests. */
const CHALLENGE = { "www-authenticate": 'Basic realm="notistream", charset="UTF-8", Bearer realm="notistream"' };

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } });
const error = (status: number, message: string, headers: Record<string, string> = {}) => json(status, { error: message }, headers);

/** What anyone asking over HTTP is told of an outage: never the pub/sub server's address, user or raw error (the log has them). */
const NOT_CONNECTED = "the pub/sub server is not connected (or not answering); try again in a few seconds (the web server's log says why)";
const HUB_DOWN = "the web server cannot subscribe to the pub/sub server (its log says why)";

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

/** The 401 for a sender's delivery whose signature or token is missing or wrong: which header, and where the secret goes. */
const UNSIGNED = {
  github: "the X-Hub-Signature-256 header is missing or does not match: check the webhook secret on GitHub and NOTISTREAM_GITHUB_SECRET",
  gitlab: "the X-Gitlab-Token header is missing or wrong: put the same Secret token in GitLab's webhook settings and NOTISTREAM_GITLAB_SECRET",
  gitea: "the X-Gitea-Signature (or X-Forgejo-Signature) header is missing or does not match: check the webhook secret in Gitea or Forgejo and NOTISTREAM_GITEA_SECRET",
  grafana: "the X-Grafana-Alerting-Signature header is missing or does not match: set the same HMAC secret in Grafana's webhook contact point and NOTISTREAM_GRAFANA_SECRET",
};

/** The channel a path names after its first `skip` characters (/<channel>, /alertmanager/<channel>), percent-decoded. */
function pathChannel(url: URL, skip: number): string {
  try {
    return decodeURIComponent(url.pathname.slice(skip));
  } catch {
    throw new InputError(`the path ${JSON.stringify(url.pathname.slice(0, 200))} has a broken percent-escape: write % itself as %25, and other bytes as %XX of their UTF-8`);
  }
}

type Asset = { body: ArrayBuffer | string; type: string };

/** The app's static files and their content types; "/" is the page itself. */
const APP_FILES: [string, string, string][] = [
  ["/", "index.html", "text/html; charset=utf-8"],
  ["/app.css", "app.css", "text/css; charset=utf-8"],
  ["/manifest.webmanifest", "manifest.webmanifest", "application/manifest+json"],
  ["/icon-192.png", "icon-192.png", "image/png"],
  ["/icon-512.png", "icon-512.png", "image/png"],
];

/** Builds the browser app (app/) once at start: TypeScript bundled by Bun.build, static files read as they are. */
async function buildApp(): Promise<Map<string, Asset>> {
  const dir = `${import.meta.dir}/app`;
  const assets = new Map<string, Asset>();
  const built = await Bun.build({ entrypoints: [`${dir}/app.ts`, `${dir}/sw.ts`], target: "browser", minify: true, naming: "[name].[ext]" });
  if (!built.success) throw new Error(`cannot build the web app: ${built.logs.map(String).join("; ")}`);
  for (const out of built.outputs) assets.set(`/${out.path.split("/").pop()}`, { body: await out.text(), type: "text/javascript; charset=utf-8" });
  for (const [path, file, type] of APP_FILES) assets.set(path, { body: await Bun.file(`${dir}/${file}`).arrayBuffer(), type });
  return assets;
}

/** A route's handler: the request and its parsed URL. */
type Route = (req: Request, url: URL) => Promise<Response>;

export async function startWeb(opts: WebOptions) {
  const log = (line: string) => {
    if (!opts.quiet) console.log(line);
  };
  const publisher = new Publisher(opts.redisUrl, opts.historyMax, opts.redisCa, opts.clusterWait ?? 0, opts.clusterGlobs ?? true, log);
  // Connected from the start and made again at once: a pub/sub server full of subscribers refuses newcomers.
  publisher.hold();
  const hub = new Hub(opts.redisUrl, opts.redisCa, (line) => {
    if (!opts.quiet) console.error(line);
  }, { history: publisher, maxPatterns: opts.maxPatterns });
  const assets = await buildApp();
  const run = (name: string, args: string[]) => publisher.send(name, args);
  const limiter = new RateLimiter(opts.rateLimit ?? 0);
  const sweeper = setInterval(() => limiter.sweep(Date.now()), 60_000);
  sweeper.unref?.();
  const metrics = new Metrics();
  const countPublished = metrics.counter("notistream_messages_published_total", "Messages accepted and published (POST / and /github).");
  const countRequests = metrics.counter("notistream_http_requests_total", "HTTP requests by route and status code.");
  const countErrors = metrics.counter("notistream_errors_total", "Publishes that failed, by reason.");
  const publishSeconds = metrics.histogram("notistream_publish_seconds", "Time to XADD and PUBLISH one message.", [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]);
  let sseStreams = 0;
  metrics.gauge("notistream_sse_streams", "Open Server-Sent Events streams.", () => sseStreams);
  metrics.counterFrom("notistream_sse_output_limit_closed_total", "Event streams closed because their unread output passed --sse-output-limit.", () => streamStats.outputLimitCloses);
  metrics.counterFrom("notistream_sse_revoked_closed_total", "Event streams closed because an ACL reload took their rights away.", () => streamStats.revokedCloses);
  metrics.gauge("notistream_hub_channels", "Channels the shared RESP subscription holds.", () => hub.channelCount);
  metrics.gauge("notistream_hub_connected", "1 when the shared RESP subscription is connected.", () => (hub.connected ? 1 : 0));
  const countPushes = metrics.counter("notistream_push_sent_total", "Web Pushes a push service accepted.");
  const countPushFailures = metrics.counter("notistream_push_failed_total", "Web Pushes that failed for good, by reason.");
  const countPushRemoved = metrics.counter("notistream_push_removed_total", "Push subscriptions removed: gone (404/410) at the push service, or expired.");
  // A push's TTL follows how long history keeps a message: the pub/sub server says (ours in INFO), else 7 days.
  let pushTtl = 7 * 24 * 3600;
  const push = opts.push
    ? new Push({
        store: publisher,
        hub,
        ...opts.push,
        acl: () => opts.acl, // asked before each push: a right the ACL no longer gives stops at once
        ttlSeconds: () => pushTtl,
        count: { sent: () => countPushes(), failed: (reason) => countPushFailures({ reason }), removed: () => countPushRemoved() },
        log: (line) => {
          if (!opts.quiet) console.error(line);
        },
      })
    : null;
  if (push) {
    metrics.gauge("notistream_push_subscriptions", "Web Push subscriptions.", () => push.subscriptionCount);
    metrics.gauge("notistream_push_queued", "Web Pushes waiting or in flight.", () => push.queued);
    // Subscribed before the server listens: a message published once it answers is pushed.
    await push.start().catch((err: Error) => log(`web: push: cannot load subscriptions yet (${err.message}); trying again when the pub/sub server is back`));
    void run("INFO", ["persistence"])
      .then((info) => {
        const age = /notistream_history_max_age:(\d+)/.exec(String(info))?.[1];
        if (age && Number(age) > 0) pushTtl = Math.min(Number(age), 28 * 24 * 3600);
      })
      .catch(() => {});
  }
  // A line a minute instead of a line a request: printing was a measurable cost under load.
  let published = 0;
  const summary = setInterval(() => {
    if (published) log(`web: published ${published} message${published === 1 ? "" : "s"} in the last minute`);
    published = 0;
  }, 60_000);
  summary.unref?.();

  const publish = async (n: Notification) => {
    const t0 = performance.now();
    const result = await publisher.publish(n);
    publishSeconds((performance.now() - t0) / 1000);
    countPublished();
    published++;
    return result;
  };

  /** Behind --trust-proxy, the proxies whose X-Forwarded-For is believed; null: the header is ignored. */
  const trusted = opts.trustProxy ? (opts.trustedProxies ?? parseCidrs(DEFAULT_TRUSTED_PROXIES)) : null;
  /** The client's IP: behind --trust-proxy, the rightmost X-Forwarded-For entry that is not a trusted proxy. */
  const clientOf = (req: Request): string => clientAddress(server.requestIP(req)?.address ?? "unknown", trusted && req.headers.get("x-forwarded-for"), trusted);
  /** Who a request comes from, for per-visitor limits (rate, streams, push): the client's IP, an IPv6 one by its /64. */
  const visitorOf = (req: Request): string => visitorKey(clientOf(req));

  /** With an ACL (--acl or --token), the request's user must be allowed to `command` every channel; null: go ahead. */
  function refuse(req: Request, command: "publish" | "subscribe", channels: string[], token?: string): Response | null {
    const acl = opts.acl;
    if (!acl) return null;
    const who = userFromAuthorization(acl, req.headers.get("authorization"), token);
    if (!("user" in who)) return error(who.status, who.message, CHALLENGE);
    const allowed = command === "publish" ? who.user.mayPublish(channels[0]!) : who.user.mayReadOverHttp(channels);
    if (allowed) return null;
    const what = command === "publish" ? `publish to ${JSON.stringify(channels[0])}` : `read ${channels.map((c) => JSON.stringify(c)).join(", ")}`;
    if (who.user === acl.anonymous) return error(401, `anonymous clients may not ${what}: log in with Authorization: Bearer <token> or Basic <user:password>`, CHALLENGE);
    return error(403, `user '${who.user.name}' may not ${what}; the ACL file sets each user's channels`);
  }

  /** The app page asks for a login when anonymous clients have no rights, so the browser sends it to /events later. */
  function appLogin(req: Request): Response | null {
    const acl = opts.acl;
    if (!acl || (acl.anonymous.enabled && acl.anonymous.nopass)) return null;
    const who = userFromAuthorization(acl, req.headers.get("authorization"));
    return "user" in who ? null : new Response("This Notistream server needs a login.\n", { status: 401, headers: { ...CHALLENGE, "content-type": "text/plain; charset=utf-8" } });
  }

  const publishRoot: Route = async (req, url) => {
    const raw = await readBody(req, opts.maxBody);
    const fields: Record<string, unknown> = { ...Object.fromEntries(url.searchParams), ...(await bodyFields(req, raw)) };
    const token = typeof fields.token === "string" ? fields.token : undefined;
    delete fields.token;
    const n = notificationFromFields(fields, { maxMessage: opts.maxMessage, source: "form" });
    return refuse(req, "publish", [n.channel], token) ?? json(200, await publish(n));
  };

  /** With an ACL, a caller who cannot log in (a wrong password or token, or anonymous clients turned off) gets its 401. */
  function refuseLogin(req: Request, token: string | undefined): Response | null {
    const who = userFromAuthorization(opts.acl!, req.headers.get("authorization"), token);
    return "user" in who ? null : error(who.status, who.message, CHALLENGE);
  }

  /**
   * A sender route's body, read behind the first half of its gate. With an ACL (or --token), a sender route takes a
   * delivery whose secret matches, or a caller who logs in (Authorization, or ?token= for senders that only take a
   * URL) with write rights on the channel, as POST / asks. Without an ACL, only a secret that is set is checked.
   * - No secret set: with an ACL, the caller is checked before the body is read (on `channel` when the path names it).
   * - A secret set: a missing or wrong signature is a 401, unless with an ACL the caller logs in instead.
   * `authorized` is false when the rights on the payload's channel are still to be checked (senderReply does).
   */
  async function senderBody(
    req: Request,
    url: URL,
    limit: number,
    secret: string | undefined,
    matches: (secret: string, raw: Uint8Array) => boolean,
    refusal: string,
    channel: string | null,
  ): Promise<Response | { raw: Uint8Array; authorized: boolean }> {
    const acl = opts.acl;
    const token = url.searchParams.get("token") ?? undefined;
    const callerRefusal = () => (channel !== null ? refuse(req, "publish", [channel], token) : refuseLogin(req, token));
    if (secret === undefined) {
      const denied = acl ? callerRefusal() : null;
      return denied ?? { raw: await readBody(req, limit), authorized: !acl || channel !== null };
    }
    const raw = await readBody(req, limit);
    if (matches(secret, raw)) return { raw, authorized: true };
    if (!acl || (!req.headers.has("authorization") && token === undefined)) return error(401, refusal);
    return callerRefusal() ?? { raw, authorized: channel !== null };
  }

  /**
   * What a sender's delivery became: published (200), a ping (200), or not worth a notification (202). A notification
   * passes the checks every route's does (message.ts): its text cut to the caps (the reply says which fields were
   * shortened), then the channel's name and an http(s) url, or a 400 naming the field. Unless `authorized`, the caller
   * needs write rights on the channel.
   */
  const senderReply = async (
    req: Request,
    url: URL,
    authorized: boolean,
    outcome: SenderOutcome,
    extra: Record<string, unknown>,
  ): Promise<Response> => {
    if (outcome.kind === "ignored") return json(202, { ignored: true, ...extra, reason: outcome.reason });
    const channel = outcome.kind === "ping" ? outcome.channel : outcome.notification.channel;
    const shortened = outcome.kind === "publish" ? fitText(outcome.notification, opts.maxMessage) : [];
    if (outcome.kind === "publish") checkNotification(outcome.notification, opts.maxMessage);
    const denied = authorized || channel === null ? null : refuse(req, "publish", [channel], url.searchParams.get("token") ?? undefined);
    if (denied) return denied;
    if (outcome.kind === "ping") return json(200, { ok: true, event: "ping", zen: outcome.zen, channel: outcome.channel, ...extra });
    return json(200, { ...(await publish(outcome.notification)), ...extra, ...(shortened.length ? { shortened } : {}) });
  };

  const publishGithub: Route = async (req, url) => {
    const signed = (secret: string, raw: Uint8Array) => verifyGithubSignature(secret, raw, req.headers.get("x-hub-signature-256"));
    const got = await senderBody(req, url, Math.max(opts.maxBody, GITHUB_MAX_BODY), opts.githubSecret, signed, UNSIGNED.github, null);
    if (got instanceof Response) return got;
    const event = req.headers.get("x-github-event");
    const outcome = githubNotification(event, senderPayload(req, got.raw, "GitHub"));
    return senderReply(req, url, got.authorized, outcome, { event: event ?? "push", delivery: req.headers.get("x-github-delivery") });
  };

  const publishGitlab: Route = async (req, url) => {
    const signed = (secret: string) => verifyGitlabToken(secret, req.headers.get("x-gitlab-token"));
    const got = await senderBody(req, url, Math.max(opts.maxBody, GITHUB_MAX_BODY), opts.gitlabSecret, signed, UNSIGNED.gitlab, null);
    if (got instanceof Response) return got;
    const event = req.headers.get("x-gitlab-event");
    return senderReply(req, url, got.authorized, gitlabNotification(event, senderPayload(req, got.raw, "GitLab")), { event, delivery: req.headers.get("x-gitlab-event-uuid") });
  };

  const publishGitea: Route = async (req, url) => {
    const header = (name: string) => req.headers.get(name);
    const signed = (secret: string, raw: Uint8Array) => verifyGiteaSignature(secret, raw, header);
    const got = await senderBody(req, url, Math.max(opts.maxBody, GITHUB_MAX_BODY), opts.giteaSecret, signed, UNSIGNED.gitea, null);
    if (got instanceof Response) return got;
    const { sender, event } = giteaEvent(header);
    return senderReply(req, url, got.authorized, giteaNotification(sender, event, senderPayload(req, got.raw, sender === "forgejo" ? "Forgejo" : "Gitea")), { event, delivery: header("x-forgejo-delivery") ?? header("x-gitea-delivery") });
  };

  /** /alertmanager/<channel> and /grafana/<channel>: the channel is the rest of the path, and needs write rights. */
  const alertRoute =
    (prefix: string, sender: "Alertmanager" | "Grafana"): Route =>
    async (req, url) => {
      const channel = pathChannel(url, prefix.length);
      if (!channel) throw new InputError(`name the channel in the path: POST ${prefix}<channel>`);
      refuseChannelName(channel);
      const header = (name: string) => req.headers.get(name);
      const signed = (secret: string, raw: Uint8Array) => verifyGrafanaSignature(secret, raw, header("x-grafana-alerting-signature"), header("x-grafana-alerting-timestamp"));
      // Alertmanager signs nothing: with an ACL its caller needs write rights on the channel, checked before the body is read.
      const got = await senderBody(req, url, opts.maxBody, sender === "Grafana" ? opts.grafanaSecret : undefined, signed, UNSIGNED.grafana, channel);
      if (got instanceof Response) return got;
      const payload = senderPayload(req, got.raw, sender);
      return senderReply(req, url, got.authorized, sender === "Grafana" ? grafanaNotification(channel, payload) : alertmanagerNotification(channel, payload), { sender: sender.toLowerCase() });
    };

  /**
   * POST or PUT /<channel>, as ntfy takes it: the body is the message, whatever its type; Title, Priority, Tags and
   * Click come as headers (also X-…, and ntfy's short names) or query fields. With template=1 the body is JSON and
   * the message and title are templates filled from it.
   */
  const publishPath: Route = async (req, url) => {
    const channel = pathChannel(url, 1);
    const q = url.searchParams;
    const pick = (names: string[]): string | undefined => {
      for (const n of names) {
        const v = req.headers.get(n) ?? req.headers.get(`x-${n}`) ?? q.get(n);
        if (v !== null) return v;
      }
      return undefined;
    };
    const raw = await readBody(req, opts.maxBody);
    let body: string;
    try {
      body = new TextDecoder("utf-8", { fatal: true }).decode(raw);
    } catch {
      throw new InputError("the body is not UTF-8 text: send the message as text", 415);
    }
    const fields: Record<string, unknown> = { channel, title: pick(["title", "t"]), priority: pick(["priority", "prio", "p"]), tags: pick(["tags", "tag", "ta"]), url: pick(["click"]) };
    const messageField = pick(["message", "m"]);
    if (/^(1|yes|true)$/i.test(pick(["template", "tpl"]) ?? "")) {
      const data = parseJson(body, "with a template, the body", MAX_DATA_DEPTH);
      const fill = (tpl: string, what: string) => {
        try {
          return renderTemplate(tpl, data);
        } catch (err) {
          if (err instanceof TemplateError) throw new InputError(`the ${what} template does not parse: ${err.message}`);
          throw err;
        }
      };
      if (messageField === undefined) throw new InputError("a template needs a message template: ?message=… or an X-Message header, e.g. {{.alerts.0.labels.alertname}} is {{.status}}");
      fields.message = fill(messageField, "message");
      if (typeof fields.title === "string") fields.title = fill(fields.title, "title");
    } else fields.message = body !== "" ? body : messageField;
    const token = q.get("token") ?? undefined;
    const n = notificationFromFields(fields, { maxMessage: opts.maxMessage, source: "http" });
    return refuse(req, "publish", [channel], token) ?? json(200, await publish(n));
  };

  // Ready only when the pub/sub server answers and the hub can subscribe: a load balancer can take this instance out.
  // The answer says only up or down; the log has why (the hub logs its own), a reason once until it changes.
  let healthLogged: string | null = null;
  const healthz: Route = async () => {
    let pubsub = "up";
    try {
      await publisher.send("PING", []);
      healthLogged = null;
    } catch (err) {
      pubsub = "down";
      if ((err as Error).message !== healthLogged) log(`web: /healthz: ${(healthLogged = (err as Error).message)}`);
    }
    const hubDown = hub.error !== null;
    if (pubsub === "up" && !hubDown) return json(200, { ok: true, pubsub });
    return json(503, { ok: false, pubsub, hub: hubDown ? "down" : "up", error: pubsub === "down" ? NOT_CONNECTED : HUB_DOWN });
  };

  let server: Server<undefined>;
  // Shared by every stream rather than made for each: thousands stay open at once.
  const replayFailed = (err: unknown) => log(`web: history replay failed: ${(err as Error).message}`);
  /** What each visitor's open streams hold: one visitor may not hold every stream, nor make the hub match every glob. */
  const held = new HeldLimits({ streams: opts.maxStreamsPerVisitor ?? DEFAULT_MAX_STREAMS_PER_VISITOR, patterns: opts.maxPatternsPerVisitor ?? DEFAULT_MAX_PATTERNS_PER_VISITOR });
  const streamClosed = () => void sseStreams--;
  /** A stream's options when no user logged in (no ACL): one object for all of them, as thousands stay open. */
  const anonymousStreams = { limits: opts.sseOutputLimit, log };
  let proxyWarned = false;
  const events: Route = async (req, url) => {
    const channels = channelsFrom(url);
    const denied = refuse(req, "subscribe", channels);
    if (denied) return denied;
    const noGlobs = await publisher.globRefusal(channels);
    if (noGlobs) return error(400, noGlobs);
    const since = checkId(req.headers.get("last-event-id") ?? url.searchParams.get("since"), "Last-Event-ID / since");
    const tooManyGlobs = hub.patternRefusal(channels);
    if (tooManyGlobs) return error(429, tooManyGlobs);
    const address = clientOf(req);
    const holds = { streams: 1, patterns: channels.filter(isPattern).length };
    // This machine is not counted: capping it would cap everyone behind a reverse proxy that --trust-proxy does not name.
    const visitor = isLoopback(address) ? null : visitorKey(address);
    if (visitor === null && !trusted && !proxyWarned && req.headers.has("x-forwarded-for")) {
      proxyWarned = true;
      log("web: warning: streams come through a reverse proxy (X-Forwarded-For) but --trust-proxy is off, so per-visitor limits see only the proxy, and do not count it: add --trust-proxy");
    }
    const over = visitor === null ? null : held.take(visitor, holds);
    if (over === "streams")
      return error(429, `${visitor} already has ${held.caps.streams} streams open, the most --max-streams-per-visitor allows: close one (each tab of the app holds one) and try again`);
    if (over === "patterns")
      return error(429, `this stream's ${holds.patterns} glob pattern(s) would take ${visitor} past ${held.caps.patterns} patterns over its open streams, the most --max-patterns-per-visitor allows: close a stream, or subscribe to channels by name`);
    server.timeout(req, 0); // a stream stays open; the 25 s keepalive proves it is alive
    sseStreams++;
    const who = opts.acl && userFromAuthorization(opts.acl, req.headers.get("authorization"));
    const streamOpts = who && "user" in who ? { ...anonymousStreams, user: who.user.name } : anonymousStreams;
    if (visitor === null) return eventStream(hub, publisher, channels, since, replayFailed, streamClosed, streamOpts);
    // A closure per counted stream (unlike the shared callbacks above): it gives back what this visitor's stream held.
    const closed = () => {
      streamClosed();
      held.give(visitor, holds);
    };
    return eventStream(hub, publisher, channels, since, replayFailed, closed, streamOpts);
  };

  /**
   * The body of a push request as JSON, checked against its schema; a 400 says which field is wrong. Only with a JSON
   * content type (415 otherwise): a browser asks this server before sending one from another site (a CORS preflight,
   * which it never grants), so another site's page cannot subscribe its own endpoint with the visitor's login.
   */
  const pushBody = async <T,>(req: Request, schema: { safeParse: (v: unknown) => { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }): Promise<T> => {
    const type = mediaType(req);
    if (type !== "application/json" && !type.endsWith("+json"))
      throw new InputError(`send the body as JSON with Content-Type: application/json, not ${JSON.stringify(type || "(none)")}`, 415);
    const parsed = schema.safeParse(parseJson(new TextDecoder().decode(await readBody(req, 64 * 1024)), "the body"));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InputError(`"${issue.path.join(".") || "body"}": ${issue.message}`);
    }
    return parsed.data;
  };
  const pushOff = async () => error(404, "Web Push is off on this server");
  const pushRoutes: Record<string, Record<string, Route>> = push
    ? {
        "/push/vapid": { GET: async () => json(200, { publicKey: push.publicKey }) },
        "/push/subscribe": {
          POST: async (req) => {
            const body = await pushBody(req, SubscribeBodySchema);
            const denied = refuse(req, "subscribe", body.channels);
            if (denied) return denied;
            const noGlobs = await publisher.globRefusal(body.channels);
            if (noGlobs) return error(400, noGlobs);
            const who = opts.acl ? userFromAuthorization(opts.acl, req.headers.get("authorization")) : null;
            await push.subscribe(body.subscription, body.channels, who && "user" in who ? who.user.name : "default", visitorOf(req));
            return json(201, { ok: true, channels: [...new Set(body.channels)] });
          },
          DELETE: async (req) => {
            const body = await pushBody(req, UnsubscribeBodySchema);
            // Knowing the endpoint is the right to drop it (only its browser has it); a closed server still wants a login.
            if (opts.acl) {
              const who = userFromAuthorization(opts.acl, req.headers.get("authorization"));
              if (!("user" in who)) return error(who.status, who.message, CHALLENGE);
            }
            return json(200, { ok: true, removed: await push.unsubscribe(body.endpoint) });
          },
        },
      }
    : { "/push/vapid": { GET: pushOff }, "/push/subscribe": { POST: pushOff, DELETE: pushOff } };

  const asset =
    (path: string): Route =>
    async (req) => {
      if (path === "/") {
        const login = appLogin(req);
        if (login) return login;
      }
      const a = assets.get(path)!;
      // The page and the service worker must always be fresh; the rest may be cached briefly.
      const cache = path === "/" || path === "/sw.js" ? "no-cache" : "public, max-age=300";
      return new Response(a.body, { headers: { "content-type": a.type, "cache-control": cache } });
    };

  /** The route table, built once: path, then method. */
  const routes: Record<string, Record<string, Route>> = {
    "/": { GET: asset("/"), HEAD: asset("/"), POST: publishRoot },
    "/github": { POST: publishGithub },
    "/gitlab": { POST: publishGitlab },
    "/gitea": { POST: publishGitea },
    "/health": { GET: async () => json(200, { ok: true, hub: { connected: hub.connected, channels: hub.channelCount, error: hub.error === null ? null : HUB_DOWN } }) },
    "/healthz": { GET: healthz },
    "/metrics": { GET: async () => new Response(metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4" } }) },
    "/events": { GET: events },
    "/messages": { GET: async (req, url) => refuse(req, "subscribe", channelsFrom(url)) ?? json(200, await recentMessages(url, publisher)) },
    ...pushRoutes,
  };
  for (const path of assets.keys()) if (path !== "/") routes[path] = { GET: asset(path) };
  /** Routes under a prefix: the rest of the path is the channel. */
  const prefixed: [string, Record<string, Route>][] = [
    ["/alertmanager/", { POST: alertRoute("/alertmanager/", "Alertmanager") }],
    ["/grafana/", { POST: alertRoute("/grafana/", "Grafana") }],
  ];
  /** Every other path is a channel, ntfy-style, except the ones the server uses (and anything under /push/). */
  const channelRoute: Record<string, Route> = {
    POST: publishPath,
    PUT: publishPath,
    GET: async (_req, url) => error(404, `no such page ${url.pathname}: GET / is the app; POST or PUT /<channel> publishes to a channel`),
  };
  /**
   * Each route with its name in the request metrics: the path itself for fixed routes, a pattern for the others, so
   * channels and scanners' random paths do not each grow a label of their own. Made once, looked up per request.
   */
  type Found = { route: Record<string, Route>; label: string };
  const fixedRoutes = new Map<string, Found>(Object.entries(routes).map(([path, route]) => [path, { route, label: path }]));
  const prefixedRoutes = prefixed.map(([p, route]): [string, Found] => [p, { route, label: `${p}<channel>` }]);
  const channelFound: Found = { route: channelRoute, label: "/<channel>" };
  const routeFor = (path: string): Found | undefined =>
    fixedRoutes.get(path) ??
    prefixedRoutes.find(([p]) => path.startsWith(p))?.[1] ??
    (path.length > 1 && !path.startsWith("/push/") && !path.endsWith("/") ? channelFound : undefined);

  server = Bun.serve({
    hostname: opts.host,
    port: opts.port,
    // Bun's own cap sits above ours so that our readBody answers with a JSON 413 first.
    maxRequestBodySize: Math.max(opts.maxBody, GITHUB_MAX_BODY) + 1024 * 1024,
    ...(opts.tls ? { tls: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
    async fetch(req) {
      const url = new URL(req.url);
      if (limiter.perSecond > 0) {
        const ip = visitorOf(req);
        const wait = limiter.take(ip, Date.now());
        if (wait > 0) {
          countRequests({ route: "rate_limited", code: "429" });
          return error(429, `too many requests from ${ip}: the limit is ${limiter.perSecond} a second; try again in ${wait} s`, { "retry-after": String(wait) });
        }
      }
      // Another site's page may not use the visitor's browser (its login, its network) to change anything here.
      const site = req.headers.get("sec-fetch-site");
      const crossSite = site === null ? null : crossSiteRefusal(req.method, site, mediaType(req));
      if (crossSite) {
        countRequests({ route: "cross_site", code: "403" });
        return error(403, crossSite);
      }
      const found = routeFor(url.pathname);
      if (!found) return error(404, `no such endpoint ${url.pathname}: POST / or POST /<channel> publishes, POST /github takes GitHub webhooks, GET /events streams`);
      const { route, label } = found;
      const handle = route[req.method];
      if (!handle) return error(405, `${req.method} is not allowed on ${url.pathname}; use ${Object.keys(route).join(" or ")}`, { allow: Object.keys(route).join(", ") });
      try {
        const res = await handle(req, url);
        countRequests({ route: label, code: String(res.status) });
        return res;
      } catch (err) {
        if (err instanceof InputError) {
          countRequests({ route: label, code: String(err.status) });
          return error(err.status, err.message);
        }
        if (err instanceof Unavailable) {
          countErrors({ reason: "pubsub_unavailable" });
          countRequests({ route: label, code: "503" });
          log(`web: ${err.message}`);
          return error(503, unavailableText(err), { "retry-after": "5" });
        }
        countErrors({ reason: "internal" });
        console.error("web: unexpected error", err);
        return error(500, "internal error; the server log has the details");
      }
    },
    error(err) {
      console.error("web: unexpected error", err);
      return error(500, "internal error; the server log has the details");
    },
  });
  return {
    server,
    port: server.port,
    /** New users and rights (SIGHUP): every later request is checked against them. */
    /**
     * New users and rights (SIGHUP): every later request is checked against them, and what they no longer allow stops
     * now, as Redis 7 does on RESP: open streams that may not read their channels end, push subscriptions lose them.
     */
    setAcl: (next: Acl) => {
      opts.acl = next;
      const ended = closeRevokedStreams((user, channels) => next.users.get(user)?.mayReadOverHttp(channels) ?? false);
      if (ended) log(`web: ended ${ended} event stream${ended === 1 ? "" : "s"} whose user may no longer read its channels`);
      void push?.revoke(next).catch((err: Error) => log(`web: push: cannot apply the new ACL to stored subscriptions yet (${err.message}); pushes are still checked against it one by one`));
    },
    stop: () => {
      clearInterval(summary);
      clearInterval(sweeper);
      push?.stop();
      hub.close();
      publisher.close();
      server.stop(true);
    },
  };
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
  { name: "max-streams-per-visitor", env: "NOTISTREAM_MAX_STREAMS_PER_VISITOR", help: "open GET /events streams per client IP (IPv6 per /64; this machine's own are not counted); more are refused with 429 (0: no limit)", default: String(DEFAULT_MAX_STREAMS_PER_VISITOR) },
  { name: "max-patterns-per-visitor", env: "NOTISTREAM_MAX_PATTERNS_PER_VISITOR", help: "glob patterns one client IP's open GET /events streams may hold in all (IPv6 per /64; this machine's own are not counted); more are refused with 429 (0: no limit)", default: String(DEFAULT_MAX_PATTERNS_PER_VISITOR) },
  { name: "sse-output-limit", env: "NOTISTREAM_SSE_OUTPUT_LIMIT", help: "close a GET /events stream whose unread output passes <hard> bytes, or stays over <soft> bytes for <seconds>", default: `${DEFAULT_SSE_OUTPUT_LIMIT.hard} ${DEFAULT_SSE_OUTPUT_LIMIT.soft} ${DEFAULT_SSE_OUTPUT_LIMIT.softSeconds}` },
  { name: "max-patterns", env: "NOTISTREAM_MAX_PATTERNS", help: "distinct glob patterns the web server subscribes to in all (each costs the pub/sub server a match per PUBLISH); a stream with a new one past it gets 429", default: String(DEFAULT_MAX_PATTERNS) },
  { name: "cluster-wait", env: "NOTISTREAM_CLUSTER_WAIT", help: "on a Redis Cluster, answer 200 only once this many replicas hold the message (WAIT N); 0 answers when the master has it", default: "0" },
  { name: "cluster-globs", env: "NOTISTREAM_CLUSTER_GLOBS", help: "on a Redis Cluster, also PUBLISH each message (broadcast to every node) so glob subscriptions get it: on or off", default: "on" },
  { name: "history-max", env: "NOTISTREAM_HISTORY_MAX", help: "messages kept per channel for catch-up (XADD MAXLEN ~)", default: "1000" },
  { name: "max-body", env: "NOTISTREAM_MAX_BODY", help: "largest request body on POST /, in bytes (POST /github allows 25 MB)", default: String(DEFAULT_MAX_BODY) },
  { name: "data", env: "NOTISTREAM_WEB_DATA", help: "directory for the web server's own data (the VAPID keys for Web Push)", default: "./notistream-web" },
  { name: "vapid-keys", env: "NOTISTREAM_VAPID_KEYS", help: "Web Push VAPID key pair, JSON {publicKey, privateKey} (default: made on first start in --data)" },
  { name: "push-contact", env: "NOTISTREAM_PUSH_CONTACT", help: "mailto: or https: contact that push services see (Apple's wants a real one)", default: "mailto:notistream@localhost" },
  { name: "push-endpoints", env: "NOTISTREAM_PUSH_ENDPOINTS", help: "comma list of push service origins allowed besides Google's, Mozilla's, Apple's and Microsoft's (self-hosted autopush, UnifiedPush)" },
  { name: "push-max-subscriptions", env: "NOTISTREAM_PUSH_MAX_SUBSCRIPTIONS", help: "Web Push subscriptions kept in all, across web servers (each is a push per message); more are refused with 429", default: String(DEFAULT_PUSH_LIMITS.maxSubscriptions) },
  { name: "push-max-per-visitor", env: "NOTISTREAM_PUSH_MAX_PER_VISITOR", help: "Web Push subscriptions per client address (IPv6 per /64); more are refused with 429", default: String(DEFAULT_PUSH_LIMITS.maxPerVisitor) },
  { name: "push-max-channels", env: "NOTISTREAM_PUSH_MAX_CHANNELS", help: `channels (or globs) one Web Push subscription may name, at most ${MAX_CHANNELS_CEILING}; more are refused with 400`, default: String(DEFAULT_PUSH_LIMITS.maxChannels) },
];

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
  const maxStreamsPerVisitor = intFlag("web", f, "max-streams-per-visitor", 0, 100_000_000);
  const maxPatternsPerVisitor = intFlag("web", f, "max-patterns-per-visitor", 0, 100_000_000);
  const trustProxy = ["true", "1", "yes"].includes(f["trust-proxy"] ?? "");
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
  let push: WebOptions["push"];
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
    push = { keys: vapid.keys, contact, extraOrigins, limits };
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
    startWeb({ host: f.host!, port, redisUrl, acl, push, githubSecret: f["github-secret"], gitlabSecret: f["gitlab-secret"], giteaSecret: f["gitea-secret"], grafanaSecret: f["grafana-secret"], maxMessage, maxBody, historyMax, rateLimit, sseOutputLimit, maxPatterns, trustProxy, trustedProxies, maxStreamsPerVisitor, maxPatternsPerVisitor, tls, redisCa, clusterWait, clusterGlobs: f["cluster-globs"] === "on" }),
  );
  if (acl && f.acl) {
    console.log(`web: ${aclSummary(acl)} (${f.acl}); SIGHUP reads it again`);
    if (!new URL(redisUrl).username)
      console.warn("web: warning: --redis names no user, so the web server publishes as the pub/sub server's default user; with an ACL there give it its own user: redis://web:<password>@host:port");
  }
  if (acl) {
    // With an ACL (or --token) a sender route takes its secret or a caller with write rights: say which ones are closed.
    const secrets: [string, string, string | undefined][] = [
      ["POST /github", "github-secret", f["github-secret"]],
      ["POST /gitlab", "gitlab-secret", f["gitlab-secret"]],
      ["POST /gitea", "gitea-secret", f["gitea-secret"]],
      ["POST /grafana/<channel>", "grafana-secret", f["grafana-secret"]],
    ];
    for (const [route, flag, secret] of secrets)
      if (secret === undefined) console.log(`web: ${route}: no --${flag}, so only callers with write rights on the channel may use it (Authorization, or ?token= in the webhook's URL)`);
    console.log("web: POST /alertmanager/<channel>: Alertmanager signs nothing, so only callers with write rights on the channel may use it (its basic_auth, or ?token=)");
  }
  if (trustProxy) console.log(`web: --trust-proxy: a client's address is the rightmost X-Forwarded-For entry that is not a trusted proxy (${f["trusted-proxies"]})`);
  else if (process.env.NOTISTREAM_TRUSTED_PROXIES || argv.some((a) => a.startsWith("--trusted-proxies")))
    console.warn("web: warning: --trusted-proxies does nothing without --trust-proxy: X-Forwarded-For is ignored");
  console.log(`web: each client IP (IPv6 per /64; this machine's own are not counted) may hold ${maxStreamsPerVisitor || "any number of"} GET /events streams with ${maxPatternsPerVisitor || "any number of"} glob patterns in all`);
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
