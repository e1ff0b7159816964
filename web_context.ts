// web_context.ts — what the web server's route files share: its options, the context each route file is handed (log,
// publisher, hub, metrics, who a request comes from), and the JSON replies every route answers with.
import type { Acl } from "./acl";
import type { OutputLimits } from "./cli";
import type { AttachmentSettings } from "./web_attachlimits";
import type { Notification } from "./message";
import type { Hub } from "./web_hub";
import type { Metrics } from "./web_metrics";
import type { Published, Publisher } from "./web_publisher";
import type { VapidKeys } from "./web_push";
import type { PushLimits } from "./web_pushpolicy";
import type { Cidr } from "./web_visitor";
import type { Scheduler } from "./web_scheduled";
import type { Mailer } from "./web_email";

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
  /** Seconds between keepalives on ntfy's streams (--keepalive); default 45, as ntfy's keepalive-interval. */
  keepalive?: number;
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
  /** The server's public URL, without a trailing slash (--base-url): links the server hands out start with it. */
  baseUrl?: string;
  /** ntfy's visitor-subscriber-rate-limiting: a UnifiedPush publish to an up… topic no subscriber holds is a 507 (web_unifiedpush.ts). */
  visitorSubscriberRateLimiting?: boolean;
  /** Poll requests to an upstream ntfy server for ntfy's iOS app (--upstream-base-url, web_upstream.ts); unset: none. */
  upstream?: import("./web_upstream").UpstreamSettings;
  /** Uploaded files: where they live and their limits (--attachment-cache-dir and the rest); unset, files are refused. */
  attachments?: AttachmentSettings;
  quiet?: boolean;
  /** How far ahead a message may be scheduled (--delay-limit), in ms; default 3 days (ntfy's message-delay-limit). */
  delayLimitMs?: number;
  /** Where e-mail notifications go out (--smtp-url, smtp:// or smtps://) and from whom (--smtp-from); none: X-Email is refused (40001). */
  smtp?: { url: string; from: string };
};

/** What startWeb hands each route file. `opts.acl` changes on SIGHUP: read it per request, never keep it. */
export type WebContext = {
  readonly opts: WebOptions;
  /** A line for the log (stdout), unless quiet. */
  readonly log: (line: string) => void;
  /** A line for the error log (stderr), unless quiet. */
  readonly logError: (line: string) => void;
  readonly publisher: Publisher;
  readonly hub: Hub;
  readonly metrics: Metrics;
  /** Publishes one notification, timed and counted in the metrics; `now` (default the clock) is its envelope's time. */
  readonly publish: (n: Notification, now?: number) => Promise<Published>;
  /** Behind --trust-proxy, the proxies whose X-Forwarded-For is believed; null: the header is ignored. */
  readonly trusted: Cidr[] | null;
  /** The client's IP: behind --trust-proxy, the rightmost X-Forwarded-For entry that is not a trusted proxy. */
  readonly clientOf: (req: Request) => string;
  /** Who a request comes from, for per-visitor limits (rate, streams, push): the client's IP, an IPv6 one by its /64. */
  readonly visitorOf: (req: Request) => string;
  /** Lifts the server's idle timeout for a request whose answer stays open (an event stream). */
  readonly keepOpen: (req: Request) => void;
  /** Scheduled delivery (web_scheduled.ts): keeps, delivers, cancels and lists scheduled messages. */
  readonly scheduler?: Scheduler;
  /** E-mail notifications (web_email.ts), when --smtp-url is set. */
  readonly mailer?: Mailer | null;
};

/** Both schemes in one challenge; a browser that sees Basic asks for a login and sends it with later requests. */
export const CHALLENGE = { "www-authenticate": 'Basic realm="notistream", charset="UTF-8", Bearer realm="notistream"' };

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } });
export const error = (status: number, message: string, headers: Record<string, string> = {}): Response => json(status, { error: message }, headers);

/** What anyone asking over HTTP is told of an outage: never the pub/sub server's address, user or raw error (the log has them). */
export const NOT_CONNECTED = "the pub/sub server is not connected (or not answering); try again in a few seconds (the web server's log says why)";
export const HUB_DOWN = "the web server cannot subscribe to the pub/sub server (its log says why)";
