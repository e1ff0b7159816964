// web_ntfy.ts — ntfy's wire format (v2.27), for the web server's ntfy routes (pure): the message JSON built from our
// envelope and ntfy's other events, ntfy's error shape and codes, topic paths (/<topics>/<verb>) and a subscription's parameters.
//
// Checked against ntfy's server/types.go (message, newOpenMessage, queryFilter), server/errors.go (errHTTP and its
// table), server/server.go (the path regexes, handleSubscribe*, parseSince, topicsFromPath) and server/util.go (readParam).
import { isPattern } from "./glob";
import { isStreamId, priorityFrom, type Action, type Attachment, type Envelope } from "./message";
import { channelRefusal, InputError } from "./web_input";

// ---- Errors ----------------------------------------------------------------------------------------------------

/** One of ntfy's errors: its code, HTTP status, text and documentation link (server/errors.go). */
export type NtfyErrorKind = { readonly code: number; readonly http: number; readonly error: string; readonly link: string };

const DOCS = "https://ntfy.sh/docs";
/** ntfy's message-size-limit: a longer body (or one that is not UTF-8) is a file, as ntfy's handlePublishBody decides. */
export const NTFY_MESSAGE_LIMIT = 4096;
const e = (code: number, error: string, link = ""): NtfyErrorKind => ({ code, http: Math.floor(code / 100), error, link });

/** ntfy's error codes, as server/errors.go names them; other route files take theirs from here. */
export const NTFY_ERRORS = {
  badRequest: e(40000, "invalid request"),
  emailDisabled: e(40001, "e-mail notifications are not enabled", `${DOCS}/config/#e-mail-notifications`),
  delayNoCache: e(40002, "cannot disable cache for delayed message"),
  delayNoEmail: e(40003, "delayed e-mail notifications are not supported"),
  delayCannotParse: e(40004, "invalid delay parameter: unable to parse delay", `${DOCS}/publish/#scheduled-delivery`),
  delayTooSmall: e(40005, "invalid delay parameter: too small, please refer to the docs", `${DOCS}/publish/#scheduled-delivery`),
  delayTooLarge: e(40006, "invalid delay parameter: too large, please refer to the docs", `${DOCS}/publish/#scheduled-delivery`),
  priorityInvalid: e(40007, "invalid priority parameter", `${DOCS}/publish/#message-priority`),
  sinceInvalid: e(40008, "invalid since parameter", `${DOCS}/subscribe/api/#fetch-cached-messages`),
  topicInvalid: e(40009, "invalid request: topic invalid"),
  topicDisallowed: e(40010, "invalid request: topic name is not allowed"),
  messageNotUtf8: e(40011, "invalid request: message must be UTF-8 encoded"),
  attachmentUrlInvalid: e(40013, "invalid request: attachment URL is invalid", `${DOCS}/publish/#attachments`),
  attachmentsDisallowed: e(40014, "invalid request: attachments not allowed", `${DOCS}/config/#attachments`),
  attachmentExpiresBeforeDue: e(40015, "invalid request: attachment expiry before delayed delivery date", `${DOCS}/publish/#scheduled-delivery`),
  webSocketUpgradeMissing: e(40016, "invalid request: client not using the websocket protocol", `${DOCS}/subscribe/api/#websockets`),
  messageJsonInvalid: e(40017, "invalid request: request body must be message JSON", `${DOCS}/publish/#publish-as-json`),
  actionsInvalid: e(40018, "invalid request: actions invalid", `${DOCS}/publish/#action-buttons`),
  iconUrlInvalid: e(40021, "invalid request: icon URL is invalid", `${DOCS}/publish/#icons`),
  noTokenProvided: e(40023, "invalid request: no token provided"),
  jsonInvalid: e(40024, "invalid request: request body must be valid JSON"),
  callsDisabled: e(40032, "invalid request: calling is disabled", `${DOCS}/config/#phone-calls`),
  templateMessageTooLarge: e(40041, "invalid request: message or title is too large after replacing template", `${DOCS}/publish/#message-templating`),
  templateMessageNotJson: e(40042, "invalid request: message body must be JSON if templating is enabled", `${DOCS}/publish/#message-templating`),
  sequenceIdInvalid: e(40049, "invalid request: sequence ID invalid", `${DOCS}/publish/#updating-deleting-notifications`),
  templateInvalid: e(40043, "invalid request: could not parse template", `${DOCS}/publish/#message-templating`),
  templateExecuteFailed: e(40045, "invalid request: template execution failed", `${DOCS}/publish/#message-templating`),
  unauthorized: e(40101, "unauthorized", `${DOCS}/publish/#authentication`),
  forbidden: e(40301, "forbidden", `${DOCS}/publish/#authentication`),
  notFound: e(40401, "page not found"),
  entityTooLargeAttachment: e(41301, "attachment too large, or bandwidth limit reached", `${DOCS}/publish/#limitations`),
  entityTooLargeJsonBody: e(41303, "JSON body too large"),
  tooManyRequests: e(42901, "limit reached: too many requests", `${DOCS}/publish/#limitations`),
  tooManyEmails: e(42902, "limit reached: too many emails", `${DOCS}/publish/#limitations`),
  tooManySubscriptions: e(42903, "limit reached: too many active subscriptions", `${DOCS}/publish/#limitations`),
  bandwidthUsedUp: e(42905, "limit reached: daily bandwidth reached", `${DOCS}/publish/#limitations`),
  tooManyMessages: e(42908, "limit reached: daily message quota reached", `${DOCS}/publish/#limitations`),
  tooManyAuthFailures: e(42909, "limit reached: too many auth failures", `${DOCS}/publish/#limitations`),
  matrixMessageInvalid: e(40019, "invalid request: Matrix JSON invalid", `${DOCS}/publish/#matrix-gateway`),
  entityTooLargeMatrixRequest: e(41302, "Matrix request is larger than the max allowed length"),
  internal: e(50001, "internal server error"),
  missingBaseUrl: e(50003, "internal server error: base-url must be be configured for this feature", `${DOCS}/config/`),
  insufficientStorageUnifiedPush: e(50701, "cannot publish to UnifiedPush topic without previously active subscriber"),
} as const satisfies Record<string, NtfyErrorKind>;

/** The error for a status when nothing more precise is known (a 401 from the ACL check, a 429 from the rate limit...). */
export function ntfyErrorForStatus(status: number): NtfyErrorKind {
  const byStatus: Record<number, NtfyErrorKind> = {
    400: NTFY_ERRORS.badRequest,
    401: NTFY_ERRORS.unauthorized,
    403: NTFY_ERRORS.forbidden,
    404: NTFY_ERRORS.notFound,
    413: NTFY_ERRORS.entityTooLargeJsonBody,
    429: NTFY_ERRORS.tooManyRequests,
  };
  // No code of ntfy's for it (a 503 when the pub/sub server is away, a 405): the status and our text alone.
  return byStatus[status] ?? (status === 500 ? NTFY_ERRORS.internal : { code: 0, http: status, error: "", link: "" });
}

/**
 * A bad request on an ntfy route, with ntfy's code. An InputError, so every route's catch answers it; on an ntfy
 * route the answer has ntfy's shape (ntfyErrorBody), elsewhere ours.
 */
export class NtfyError extends InputError {
  constructor(
    readonly kind: NtfyErrorKind,
    readonly detail?: string,
  ) {
    super(kind.error && detail ? `${kind.error}; ${detail}` : kind.error || detail || "request failed", kind.http);
  }
}

/**
 * ntfy's error body, `{"code","http","error","link"}` in that order, code and link left out when empty (errHTTP's
 * omitempty), and the newline handleError writes. The detail says what was wrong, after ntfy's own text, as errHTTP.Wrap does.
 */
export function ntfyErrorBody(kind: NtfyErrorKind, detail?: string): string {
  const body: Record<string, unknown> = {};
  if (kind.code) body.code = kind.code;
  body.http = kind.http;
  body.error = kind.error && detail ? `${kind.error}; ${detail}` : kind.error || detail || "request failed";
  if (kind.link) body.link = kind.link;
  return `${JSON.stringify(body)}\n`;
}

/** CORS as ntfy sends it on every answer (server.go: Access-Control-Allow-Origin from access-control-allow-origin, default *). */
export const NTFY_CORS = { "access-control-allow-origin": "*" } as const;

/** ntfy's answer to OPTIONS (handleOptions): any origin, its methods, any header (so Authorization from a page). */
export const NTFY_PREFLIGHT = {
  "access-control-allow-methods": "GET, PUT, POST, PATCH, DELETE",
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "*",
} as const;

/** ntfy's error as a Response: its JSON with the status, application/json and CORS (handleError). */
export function ntfyErrorResponse(kind: NtfyErrorKind, detail?: string, headers: Record<string, string> = {}): Response {
  return new Response(ntfyErrorBody(kind, detail), { status: kind.http, headers: { "content-type": "application/json", ...NTFY_CORS, ...headers } });
}

/**
 * An answer on an ntfy route in ntfy's shape: CORS on every answer, and our own `{"error"}` replies (a 401 or 403
 * from the rights check, a 429, a 503) rewritten as ntfy's error for their status, our text as the detail. No
 * WWW-Authenticate challenge, as ntfy sends none (a browser would put up its login box over ntfy's web app).
 */
export async function inNtfyShape(res: Response): Promise<Response> {
  if (res.status < 400 || res.headers.has("access-control-allow-origin")) {
    res.headers.set("access-control-allow-origin", NTFY_CORS["access-control-allow-origin"]);
    return res;
  }
  const text = await errorTextOf(res);
  const kept: Record<string, string> = {};
  for (const name of ["retry-after", "allow"]) {
    const v = res.headers.get(name);
    if (v !== null) kept[name] = v;
  }
  const kind = ntfyErrorForStatus(res.status);
  return ntfyErrorResponse(kind.http === res.status ? kind : { ...kind, http: res.status }, text, kept);
}

/**
 * An error on ntfy-style publishing (POST or PUT /<topic>) in ntfy's shape for ntfy's senders (Home Assistant's
 * library reads its code), keeping every header (a 401's WWW-Authenticate for curl and browsers) and adding no CORS:
 * the route is ours as much as ntfy's. Our own clients read `error`, which ntfy's shape has too. An answer already in
 * ntfy's shape (it has a code) is left as it is.
 */
export async function withNtfyErrorFields(res: Response): Promise<Response> {
  if (res.status < 400) return res;
  const body = await res.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = null;
  }
  const headers = new Headers(res.headers);
  headers.delete("content-length");
  if (parsed && typeof parsed === "object" && "code" in parsed) return new Response(body, { status: res.status, headers });
  const text = parsed && typeof parsed === "object" && "error" in parsed && typeof parsed.error === "string" ? parsed.error : "";
  const kind = ntfyErrorForStatus(res.status);
  headers.set("content-type", "application/json");
  return new Response(ntfyErrorBody(kind.http === res.status ? kind : { ...kind, http: res.status }, text), { status: res.status, headers });
}

/** The text of one of our `{"error"}` answers, or "" for any other body. */
async function errorTextOf(res: Response): Promise<string> {
  try {
    const body: unknown = await res.json();
    return body && typeof body === "object" && "error" in body && typeof body.error === "string" ? body.error : "";
  } catch {
    return "";
  }
}

// ---- Paths -------------------------------------------------------------------------------------------------------

/** The subscribing verbs (jsonPathRegex ... authPathRegex) and the publishing ones (publishPathRegex). */
const SUBSCRIBE_VERBS = ["json", "sse", "raw", "ws", "auth"] as const;
export const PUBLISH_VERBS = ["publish", "send", "trigger"] as const;
type NtfyVerb = (typeof SUBSCRIBE_VERBS)[number] | (typeof PUBLISH_VERBS)[number];
const VERBS = new Set<string>([...SUBSCRIBE_VERBS, ...PUBLISH_VERBS]);

/** Most topics one ntfy path may name (as /events's MAX_NAMES). */
const MAX_TOPICS = 100;

/**
 * Whether a path is one of ntfy's verb paths, `/<topics>/<verb>`: its last segment is a verb and something comes
 * before it. A channel literally ending in /json is read as /<channel>/json/json (the last segment is the verb).
 */
export function ntfyVerbOf(pathname: string): NtfyVerb | null {
  const slash = pathname.lastIndexOf("/");
  if (slash <= 0) return null;
  const verb = pathname.slice(slash + 1);
  return VERBS.has(verb) ? (verb as NtfyVerb) : null;
}

/**
 * Whether a request goes to one of ntfy's routes before its row is known (the rate limit's 429, an OPTIONS
 * preflight): a verb path, or ntfy's API under /v1/. A preflight (OPTIONS) asks for any method.
 */
export function isNtfyRequest(method: string, pathname: string): boolean {
  if (pathname.startsWith("/v1/")) return true;
  const verb = ntfyVerbOf(pathname);
  if (verb !== null) return method === "GET" || method === "OPTIONS";
  // ntfy's delete and clear (v2.16): DELETE /<topic>/<sid> (DELETE /push/subscribe is ours), /<topic>/<sid>/clear ...
  if (method === "DELETE") return !pathname.startsWith("/push/");
  const last = pathname.slice(pathname.lastIndexOf("/") + 1);
  return EVENT_VERBS.has(last) && pathname.lastIndexOf("/") > 0 && (method === "GET" || method === "PUT" || method === "OPTIONS");
}

/** The last segments of ntfy's delete and clear paths (web_ntfy_publish.ts EVENT_OF_VERB). */
const EVENT_VERBS: ReadonlySet<string> = new Set(["delete", "clear", "read"]);

/**
 * The topics a path's `<topics>` part names (still percent-escaped, as the matcher hands it over): one topic or a
 * comma list, each a channel (slashes allowed: `/owner/repo/json` is channel `owner/repo`; a comma in a name is %2C), percent-decoded, named
 * once each, at most MAX_TOPICS, no glob (ntfy's topics have none). Anything else is ntfy's 40009.
 */
export function topicsOf(raw: string): string[] {
  // Split before decoding, so that a channel with a comma in its name is still reachable as %2C.
  let decoded: string[];
  try {
    decoded = raw.split(",").map(decodeURIComponent);
  } catch {
    throw new NtfyError(NTFY_ERRORS.topicInvalid, `the path has a broken percent-escape: write % itself as %25`);
  }
  const topics = [...new Set(decoded.filter((t) => t !== ""))];
  if (!topics.length) throw new NtfyError(NTFY_ERRORS.topicInvalid, "name a topic before the verb: /<topic>/json, or /<topic1>,<topic2>/json");
  if (topics.length > MAX_TOPICS) throw new NtfyError(NTFY_ERRORS.topicInvalid, `${topics.length} topics in one path; the limit is ${MAX_TOPICS}`);
  for (const t of topics) {
    const why = t.length > 1024 ? "a topic is longer than 1024 characters" : channelRefusal(t);
    if (why !== null) throw new NtfyError(NTFY_ERRORS.topicInvalid, why);
    if (isPattern(t)) throw new NtfyError(NTFY_ERRORS.topicInvalid, `${JSON.stringify(t)} is a glob; an ntfy path names topics, so subscribe to /events?channel=<glob> for globs`);
  }
  return topics;
}

/** The `<topics>` part as ntfy's `open` and `keepalive` events carry it: the path's comma string, decoded (topicsFromPath's parts[1]). */
export function topicString(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

// ---- Parameters --------------------------------------------------------------------------------------------------

/**
 * RFC 2047 encoded words (`=?UTF-8?B?...?=`, `=?ISO-8859-1?Q?...?=`) in a header value, decoded as Go's
 * mime.WordDecoder.DecodeHeader does; a value with a word it cannot read comes back as it was.
 */
export function decodeHeaderWords(value: string): string {
  if (!value.includes("=?")) return value;
  try {
    // Whitespace between two encoded words is dropped (RFC 2047 section 6.2).
    return value.replace(/=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=(?:\s+(?==\?))?/g, (_all, charset: string, how: string, text: string) => {
      const bytes = how.toUpperCase() === "B" ? Buffer.from(text, "base64") : Buffer.from(text.replace(/_/g, " ").replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), "latin1");
      return new TextDecoder(charset.toLowerCase(), { fatal: true }).decode(bytes);
    });
  } catch {
    return value;
  }
}

/** RFC 9218's Priority header (`u=3`, `u=3, i`), which Cloudflare adds to requests: no ntfy priority (util.go priorityHeaderIgnoreRegex). */
const RFC9218_PRIORITY = /^u=\d,\s*(i|\d)$|^u=\d$/;

/**
 * A header's value as ntfy's readHeaderParam reads it: as the UTF-8 its bytes are (fetch's Headers hand each byte over
 * as one Latin-1 character, where Go reads UTF-8; bytes that are not UTF-8 stay as they came), RFC 2047 decoded,
 * trimmed, and "" for Cloudflare's `Priority: u=3, i` (maybeIgnoreSpecialHeader).
 */
export function headerParam(name: string, raw: string): string {
  let text = raw;
  if (/[\u0080-\u00ff]/.test(raw) && !/[^\u0000-\u00ff]/.test(raw)) {
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(raw, "latin1"));
    } catch {
      text = raw;
    }
  }
  const value = decodeHeaderWords(text).trim();
  return name.toLowerCase() === "priority" && RFC9218_PRIORITY.test(value) ? "" : value;
}

/**
 * A parameter as ntfy's readParam reads it: the first of `names` set as a header (headerParam), else the first set
 * as a query key, written in lower case (readQueryParam lowercases the name, so ?Since= is not read).
 */
export function readParam(headers: Headers, query: URLSearchParams, ...names: string[]): string {
  for (const name of names) {
    const v = headerParam(name, headers.get(name) ?? "");
    if (v) return v;
  }
  for (const name of names) {
    const v = query.get(name.toLowerCase())?.trim();
    if (v) return v;
  }
  return "";
}

/** ntfy's toBool (server/util.go): 1, yes and true; anything else is false. Empty: the default. */
function readBoolParam(headers: Headers, query: URLSearchParams, fallback: boolean, ...names: string[]): boolean {
  const v = readParam(headers, query, ...names).toLowerCase();
  return v === "" ? fallback : v === "1" || v === "yes" || v === "true";
}

/** ntfy's priority names and numbers (util.ParsePriority), as message.ts reads them everywhere; null: not one. */
export const ntfyPriority = priorityFrom;

/** Go's time.ParseDuration: `10m`, `100ms`, `1h30m`, `1.5h`, `-2s` (units ns, us, µs, ms, s, m, h; no days); null if not one. */
export function parseGoDuration(s: string): number | null {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const m = /^([-+]?)((?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(s);
  if (!m) return s === "0" || s === "+0" || s === "-0" ? 0 : null;
  let ms = 0;
  for (const part of m[2]!.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) ms += Number(part[1]) * units[part[2]!]!;
  return m[1] === "-" ? -ms : ms;
}

/** Where cached messages start (ntfy's sinceMarker): none, all, the newest per topic, after a message ID, or from a time. */
export type Since = { kind: "none" } | { kind: "all" } | { kind: "latest" } | { kind: "id"; id: string } | { kind: "time"; seconds: number };

/** ntfy's own message IDs: 12 characters of [A-Za-z0-9] (validMessageID). */
const NTFY_ID = /^[A-Za-z0-9]{12}$/;

/**
 * ntfy's parseSince: empty is `none` when streaming and `all` when polling; all, none, latest; a message ID; a Unix
 * time; a Go duration back from now; anything else 40008. Our IDs are stream IDs (`<ms>-<seq>`), positions in time:
 * `since=<stream ID>` is everything after it on every topic, whether or not that message is still cached. An ntfy
 * ID (12 characters) is none of ours: like ntfy with an ID it does not hold, it gives everything cached.
 */
export function parseSince(raw: string, poll: boolean, nowMs: number): Since {
  if (raw === "") return poll ? { kind: "all" } : { kind: "none" };
  if (raw === "all" || raw === "none" || raw === "latest") return { kind: raw };
  if (isStreamId(raw)) return { kind: "id", id: raw };
  if (NTFY_ID.test(raw)) return { kind: "all" };
  if (/^[-+]?\d{1,18}$/.test(raw)) return { kind: "time", seconds: Number(raw) };
  const back = parseGoDuration(raw);
  if (back !== null) return { kind: "time", seconds: Math.floor((nowMs - back) / 1000) };
  throw new NtfyError(NTFY_ERRORS.sinceInvalid, `since must be all, none, latest, a message ID, a Unix time or a duration like 10m or 1h30m, got ${JSON.stringify(raw.slice(0, 100))}`);
}

/**
 * The stream ID cached messages of a `time` since come after: every ID whose millisecond part is at or past
 * `seconds` (ntfy's `time >= since`; a message's time is its ID's millisecond, cut to seconds).
 */
export function idBeforeTime(seconds: number): string {
  return seconds <= 0 ? "0-0" : `${BigInt(seconds) * 1000n - 1n}-18446744073709551615`;
}

/** The stream ID just before `id` (so that "after" it includes `id`): since=latest starts there on each topic. */
export function idBefore(id: string): string {
  const [ms, seq] = id.split("-").map(BigInt) as [bigint, bigint];
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  return ms > 0n ? `${ms - 1n}-18446744073709551615` : "0-0";
}

/** queryFilter: exact id, message and title; any of the priorities; all of the tags. */
export type Filters = { id: string; message: string; title: string; priorities: number[]; tags: string[] };

/** A subscription's parameters (parseSubscribeParams): each a header or a lower-case query key, with ntfy's aliases. */
type SubscribeParams = { poll: boolean; scheduled: boolean; since: Since; filters: Filters | null };

export function parseSubscribeParams(headers: Headers, query: URLSearchParams, nowMs: number): SubscribeParams {
  const poll = readBoolParam(headers, query, false, "x-poll", "poll", "po");
  // With poll=1, the scheduled messages follow the cached ones (web_scheduled.ts withScheduled).
  const scheduled = readBoolParam(headers, query, false, "x-scheduled", "scheduled", "sched");
  const since = parseSince(readParam(headers, query, "x-since", "since", "si"), poll, nowMs);
  const priorities: number[] = [];
  for (const p of splitNoEmpty(readParam(headers, query, "x-priority", "priority", "prio", "p"))) {
    const n = ntfyPriority(p);
    if (n === null) throw new NtfyError(NTFY_ERRORS.priorityInvalid, `priority must be 1 to 5 or min, low, default, high, max, urgent (a comma list for any of them), got ${JSON.stringify(p.slice(0, 50))}`);
    priorities.push(n);
  }
  const filters: Filters = {
    id: readParam(headers, query, "x-id", "id"),
    message: readParam(headers, query, "x-message", "message", "m"),
    title: readParam(headers, query, "x-title", "title", "t"),
    priorities,
    tags: splitNoEmpty(readParam(headers, query, "x-tags", "tags", "tag", "ta")),
  };
  const any = filters.id || filters.message || filters.title || priorities.length || filters.tags.length;
  return { poll, scheduled, since, filters: any ? filters : null };
}

/** util.SplitNoEmpty, with each part trimmed. */
const splitNoEmpty = (s: string): string[] =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/** queryFilter.Pass for a message: no priority counts as 3 (the default). Other events always pass. */
export function passes(f: Filters | null, env: Envelope): boolean {
  if (f === null) return true;
  if (f.id && env.id !== f.id) return false;
  if (f.message && env.message !== f.message) return false;
  if (f.title && (env.title ?? "") !== f.title) return false;
  if (f.priorities.length && !f.priorities.includes(env.priority ?? 3)) return false;
  if (f.tags.length && !f.tags.every((t) => env.tags?.includes(t))) return false;
  return true;
}

// ---- Messages and events -----------------------------------------------------------------------------------------

/** The events a stream carries (model.go): a message, and since v2.16 a message's withdrawal or its being read. */
type NtfyEventName = "open" | "keepalive" | "message" | "message_delete" | "message_clear" | "poll_request";
/** The events a subscriber's filters apply to and that are the stream's content, not its upkeep. */
const MESSAGE_EVENTS: ReadonlySet<string> = new Set(["message", "message_delete", "message_clear"]);

/** ntfy's message JSON, in its struct's field order (model.go `Message`): what its apps and libraries parse. */
export type NtfyMessage = {
  id: string;
  sequence_id?: string;
  time: number;
  expires?: number;
  event: NtfyEventName;
  topic: string;
  title?: string;
  message?: string;
  priority?: number;
  tags?: string[];
  click?: string;
  icon?: string;
  actions?: Action[];
  attachment?: Attachment;
  poll_id?: string;
  content_type?: string;
  /** "base64": a binary UnifiedPush body, base64-encoded (model.go Encoding). */
  encoding?: "base64";
  /** Ours, riding along (ntfy's apps ignore fields they do not know): which sender made the message. */
  source?: string;
};

/**
 * An envelope as ntfy's message: the stream ID as its id (opaque to ntfy's clients), the channel as its topic, our
 * `url` as `click`; empty fields left out (omitempty), and `sequence_id` when it is the id itself (ForJSON). An
 * event (message_delete, message_clear) is its kind, topic and sequence ID. No `expires`: history keeps a count of
 * messages, not an age (and a Cache: no message has none in ntfy either).
 */
export function ntfyMessage(env: Envelope): NtfyMessage {
  // In the struct's order, sequence_id right after id.
  const sid = env.sequence_id && env.sequence_id !== env.id ? { sequence_id: env.sequence_id } : {};
  const m: NtfyMessage = { id: env.id, ...sid, time: env.time, event: env.event ?? "message", topic: env.channel };
  if (env.title) m.title = env.title;
  if (env.message) m.message = env.message;
  if (env.priority) m.priority = env.priority;
  if (env.tags?.length) m.tags = env.tags;
  if (env.url) m.click = env.url;
  if (env.icon) m.icon = env.icon;
  if (env.actions?.length) m.actions = env.actions;
  if (env.attachment) m.attachment = env.attachment;
  if (env.content_type) m.content_type = env.content_type;
  if (env.encoding) m.encoding = env.encoding;
  if (env.source) m.source = env.source;
  return m;
}

/** ntfy's random 12-character IDs for its own events (util.RandomString, messageIDLength). */
export function randomNtfyId(): string {
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  let id = "";
  for (const b of bytes) id += chars[b % chars.length];
  return id;
}

/** An event other than a message (newOpenMessage, newKeepaliveMessage): id, time, event, topic; a poll request also says "New message". */
export function ntfyEvent(event: Exclude<NtfyEventName, "message">, topic: string, nowMs: number, id = randomNtfyId(), pollId?: string): NtfyMessage {
  const m: NtfyMessage = { id, time: Math.floor(nowMs / 1000), event, topic };
  if (event === "poll_request") {
    m.message = "New message";
    if (pollId) m.poll_id = pollId;
  }
  return m;
}

/** JSON as Go's encoder writes it with HTML escaping off (v2.25 on): U+2028 and U+2029 still escaped. */
export function ntfyJson(m: NtfyMessage): string {
  const s = JSON.stringify(m);
  return /[\u2028\u2029]/.test(s) ? s.replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029") : s;
}

/** The line formats of the HTTP streams (handleSubscribeJSON, handleSubscribeSSE, handleSubscribeRaw). */
export type LineFormat = "json" | "sse" | "raw";

/** The Content-Type of each HTTP stream, with the charset Android's Volley needs. */
export const STREAM_TYPES: Record<LineFormat, string> = {
  json: "application/x-ndjson; charset=utf-8",
  sse: "text/event-stream; charset=utf-8",
  raw: "text/plain; charset=utf-8",
};

/**
 * One event as a stream writes it (handleSubscribeSSE, handleSubscribeRaw): NDJSON is the JSON and a newline; SSE is
 * `data: <json>`, with an `event:` line first for anything but a message, message_delete or message_clear (so
 * EventSource.onmessage fires on those three); raw is a message's text on one line (newlines as spaces), and an
 * empty line for any other event, deletes and clears among them.
 */
export function ntfyLine(format: LineFormat, m: NtfyMessage, json = m.event === "message" && format === "raw" ? "" : ntfyJson(m)): string {
  if (format === "json") return `${json}\n`;
  if (format === "sse") return MESSAGE_EVENTS.has(m.event) ? `data: ${json}\n\n` : `event: ${m.event}\ndata: ${json}\n\n`;
  return m.event === "message" ? `${(m.message ?? "").replace(/\n/g, " ")}\n` : "\n";
}
