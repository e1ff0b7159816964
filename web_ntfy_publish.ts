// web_ntfy_publish.ts — an ntfy publish read as ntfy's server reads it (server/server.go parsePublishParams, readParam,
// transformBodyJSON; server/util.go): headers, lowercase query keys and a JSON body into a notification's fields, or a refusal. Pure.
//
// Every parameter goes by several names (X-Title, Title, ti, t ...). Headers win over the query, in the order of the
// names; header values may be RFC 2047 encoded-words. A publish that asks for something Notistream does not do yet
// (the features left in UNSUPPORTED) is refused with a 400 naming it, never published without it.
import { SEQUENCE_ID_PATTERN, type Action, type Notification } from "./message";
import { parseActions } from "./web_actions";
import { headerParam, NTFY_ERRORS, NtfyError, ntfyPriority, topicsOf, type NtfyErrorKind } from "./web_ntfy";

/** Where a publish's parameters come from: the request's headers and query, and ntfy's JSON body (POST / with a topic). */
export type ParamSource = {
  /** A request header by name (any case), or null. */
  header: (name: string) => string | null;
  /**
   * The request's header names, in lower case, when known: a name not among them is not looked up. A publish reads
   * some sixty names, nearly all absent, and this keeps that to a set lookup each.
   */
  present?: ReadonlySet<string>;
  query: URLSearchParams;
  /**
   * ntfy's JSON publish as the headers transformBodyJSON sets from it (lower-case names: x-title, x-priority ...): they
   * replace the request's own headers of the same name, so X-* headers the JSON does not set still count.
   */
  json?: Map<string, string>;
  /** What the `json` values came as, for the sentences: "the JSON" (ntfy's JSON publish), "the request" (our own POST /'s fields). */
  jsonName?: string;
};

/** What a publish asks for, read: the fields a notification takes. `message` is the X-Message parameter, `\n` decoded. */
export type PublishParams = { title?: string; priority?: number; tags?: string[]; click?: string; message?: string; template: boolean; unifiedPush?: true } & Features;

/** The features of issue 25 a publish may ask for, read the same way on ntfy's routes and our own POST /. */
export type Features = {
  sequenceId?: string;
  actions?: Action[];
  icon?: string;
  markdown?: true;
  /** Cache: no: delivered to whoever is listening, not kept in history. */
  noCache?: true;
};

const DOCS = "https://ntfy.sh/docs/publish/";
/** An ntfy error of the table with a link to the part of ntfy's docs about the feature. */
const linked = (kind: NtfyErrorKind, anchor: string): NtfyErrorKind => ({ ...kind, link: DOCS + anchor });

// ---- reading a parameter: readParam, readHeaderParam, readQueryParam, maybeDecodeHeader (server/util.go) ----

/** Where a value was found, for the sentences that name it: `the X-Delay header`, `the delay query parameter`, `"delay" in the JSON`. */
type Found = { value: string; readonly where: string };
/** A value found, its `where` worded only when a sentence asks for it (most publishes never do). */
const found = (value: string, where: () => string): Found => ({
  value,
  get where() {
    return where();
  },
});

/** ntfy's JSON publish keys that transformBodyJSON turns into headers, and the header each becomes (server/types.go publishMessage). */
const JSON_HEADERS: [key: string, header: string][] = [
  ["title", "x-title"], ["priority", "x-priority"], ["tags", "x-tags"], ["attach", "x-attach"], ["filename", "x-filename"], ["click", "x-click"],
  ["icon", "x-icon"], ["markdown", "x-markdown"], ["actions", "x-actions"], ["email", "x-email"], ["delay", "x-delay"], ["call", "x-call"],
  ["cache", "x-cache"], ["firebase", "x-firebase"], ["sequence_id", "x-sequence-id"],
];
/** The JSON key a header came from, to name it in a refusal. */
const JSON_KEY_OF_HEADER = new Map(JSON_HEADERS.map(([key, header]) => [header, key]));

/** A header's name as people write it: X-Title, Content-Type. */
const headerName = (name: string): string => name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());

/**
 * The first non-empty value among `names`: every name as a header first (the JSON's value replacing the request's),
 * read as web_ntfy.ts's headerParam reads it (UTF-8, RFC 2047, Cloudflare's Priority ignored), then every name as a
 * lower-case query key, trimmed. Unset: null.
 */
export function readParam(src: ParamSource, names: readonly string[]): Found | null {
  for (const name of names) {
    const fromJson = src.json?.get(name);
    if (fromJson === undefined && src.present && !src.present.has(name)) continue;
    const raw = fromJson ?? src.header(name);
    if (raw === null) continue;
    const value = headerParam(name, raw);
    if (value !== "") return found(value, () => (fromJson !== undefined ? `"${JSON_KEY_OF_HEADER.get(name) ?? name}" in ${src.jsonName ?? "the JSON"}` : `the ${headerName(name)} header`));
  }
  if (src.query.size === 0) return null;
  for (const name of names) {
    const value = (src.query.get(name.toLowerCase()) ?? "").trim();
    if (value !== "") return found(value, () => `the "${name.toLowerCase()}" query parameter`);
  }
  return null;
}

/** ntfy's booleans (server/util.go toBool): 1, yes and true are true, in any case; anything else is false. */
export const isTrue = (value: string): boolean => ["1", "yes", "true"].includes(value.toLowerCase());
const isFalse = (value: string): boolean => ["0", "no", "false"].includes(value.toLowerCase());

// ---- the parameters ----

/** Every name of each parameter ntfy reads (server/server.go parsePublishParams, in its order). */
export const PARAM_NAMES = {
  title: ["x-title", "title", "ti", "t"],
  click: ["x-click", "click"],
  message: ["x-message", "message", "m"],
  priority: ["x-priority", "priority", "prio", "p"],
  tags: ["x-tags", "tags", "tag", "ta"],
  template: ["x-template", "template", "tpl"],
  sequenceId: ["x-sequence-id", "sequence-id", "sid"],
  actions: ["x-actions", "actions", "action"],
  icon: ["x-icon", "icon"],
  markdown: ["x-markdown", "markdown", "md"],
  contentType: ["content-type", "content_type"],
  cache: ["x-cache", "cache"],
} as const;

/** What Notistream does not do yet, each with every name ntfy takes for it, the ntfy error code and the docs' anchor. */
type Unsupported = { feature: string; names: readonly string[]; kind: NtfyErrorKind; asks?: (value: string) => boolean };

/**
 * The refusal table. Codes are ntfy's own where ntfy has one for a feature its server has turned off (40001 e-mail,
 * 40014 attachments, 40032 calls); the others are ntfy's generic 40000.
 */
export const UNSUPPORTED: readonly Unsupported[] = [
  { feature: "call (phone calls)", names: ["x-call", "call"], kind: NTFY_ERRORS.callsDisabled },
  { feature: "poll_id (poll requests)", names: ["x-poll-id", "poll-id"], kind: linked(NTFY_ERRORS.badRequest, "../config/#ios-instant-notifications") },
];

/** Every name the refusal table reads. */
const FEATURE_NAMES = new Set(UNSUPPORTED.flatMap((rule) => rule.names));

/** The features a publish asks for that Notistream lacks, with where each was asked for. */
export function unsupportedAsked(src: ParamSource): { rule: Unsupported; where: string }[] {
  const asked: { rule: Unsupported; where: string }[] = [];
  // The common case, a publish with none of those names and no query: no lookups through the table.
  if (!src.json && src.query.size === 0 && src.present && ![...src.present].some((name) => FEATURE_NAMES.has(name))) return [];
  for (const rule of UNSUPPORTED) {
    const found = readParam(src, rule.names);
    if (found && (rule.asks ?? (() => true))(found.value) && !asked.some((a) => a.rule.feature === rule.feature)) asked.push({ rule, where: found.where });
  }
  return asked;
}

/** The 400 for features Notistream lacks: each named, with where it was asked for; ntfy's code is the first one's. */
export function unsupportedRefusal(asked: { rule: Unsupported; where: string }[]): NtfyError {
  const list = asked.map((a) => `${a.rule.feature}, asked by ${a.where}`).join("; ");
  return new NtfyError(asked[0]!.rule.kind, `Notistream does not support ${list}; nothing was published: send the message without ${asked.length === 1 ? "it" : "them"}`);
}

/**
 * The fields of an ntfy publish, read as parsePublishParams reads them; throws an NtfyError for a bad priority
 * (40007), a named template (Notistream fills only inline ones) or a feature it lacks.
 */
export function readPublishParams(src: ParamSource): PublishParams {
  const asked = unsupportedAsked(src);
  if (asked.length) throw unsupportedRefusal(asked);
  const params: PublishParams = { template: false };
  const title = readParam(src, PARAM_NAMES.title);
  if (title) params.title = title.value;
  const click = readParam(src, PARAM_NAMES.click);
  if (click) params.click = click.value;
  const message = readParam(src, PARAM_NAMES.message);
  if (message) params.message = message.value.replaceAll("\\n", "\n"); // ntfy: a literal \n in X-Message is a newline
  const priority = readParam(src, PARAM_NAMES.priority);
  if (priority) {
    const p = ntfyPriority(priority.value);
    if (p === null) throw new NtfyError(NTFY_ERRORS.priorityInvalid, `${JSON.stringify(priority.value)} from ${priority.where} is not one: give 1 to 5, or a name (min, low, default, high, max, urgent)`);
    params.priority = p;
  }
  const tags = readParam(src, PARAM_NAMES.tags);
  if (tags) {
    const list = tags.value.split(",").map((t) => t.trim()).filter(Boolean);
    if (list.length) params.tags = list;
  }
  // UnifiedPush (up=1, or an encrypted Web Push body): the body is kept byte for byte (web_attachments.ts's publishBody).
  const up = readParam(src, ["x-unifiedpush", "unifiedpush", "up"]);
  if ((up && isTrue(up.value)) || readParam(src, ["content-encoding"])?.value === "aes128gcm") params.unifiedPush = true;
  const template = readParam(src, PARAM_NAMES.template);
  if (template && !isFalse(template.value)) {
    if (!isTrue(template.value)) throw new NtfyError(NTFY_ERRORS.templateInvalid, `Notistream has no template named ${JSON.stringify(template.value)} (from ${template.where}): use template=yes with the message and title as {{.path}} templates, or POST /github, /alertmanager/<channel> or /grafana/<channel>`);
    params.template = true;
  }
  return Object.assign(params, readFeatures(src));
}

/** Whether `value` is an http(s) URL (ntfy's urlRegex, ^https?://, and one that parses). */
const isHttpUrl = (value: string): boolean => /^https?:\/\//i.test(value) && URL.canParse(value);

/**
 * The features of issue 25 as parsePublishParams reads them: a sequence ID (ntfy's topic regex, else 40049), actions
 * (web_actions.ts, 40018), an icon (an http(s) URL, else 40021), Markdown (a true Markdown parameter, or the
 * Content-Type text/markdown) and Cache (ntfy's booleans; no: not kept in history; any other word is refused).
 */
export function readFeatures(src: ParamSource): Features {
  const f: Features = {};
  const sid = readParam(src, PARAM_NAMES.sequenceId);
  if (sid) {
    if (!SEQUENCE_ID_PATTERN.test(sid.value)) throw new NtfyError(NTFY_ERRORS.sequenceIdInvalid, `${JSON.stringify(sid.value.slice(0, 100))} from ${sid.where} is not one: 1 to 64 letters, digits, - or _`);
    f.sequenceId = sid.value;
  }
  const actions = readParam(src, PARAM_NAMES.actions);
  if (actions) {
    const list = parseActions(actions.value);
    if (list.length) f.actions = list;
  }
  const icon = readParam(src, PARAM_NAMES.icon);
  if (icon) {
    if (!isHttpUrl(icon.value)) throw new NtfyError(NTFY_ERRORS.iconUrlInvalid, `${JSON.stringify(icon.value.slice(0, 200))} from ${icon.where} is not an http:// or https:// URL`);
    f.icon = icon.value;
  }
  const markdown = readParam(src, PARAM_NAMES.markdown);
  // Content-Type's media type alone: text/markdown; charset=utf-8 is Markdown too.
  const type = markdown ? null : readParam(src, PARAM_NAMES.contentType);
  if ((markdown && isTrue(markdown.value)) || type?.value.split(";")[0]!.trim().toLowerCase() === "text/markdown") f.markdown = true;
  const cache = readParam(src, PARAM_NAMES.cache);
  if (cache) {
    if (!isTrue(cache.value) && !isFalse(cache.value)) throw new NtfyError(linked(NTFY_ERRORS.badRequest, "#message-caching"), `cache must be yes or no, got ${JSON.stringify(cache.value.slice(0, 60))} from ${cache.where}`);
    if (isFalse(cache.value)) f.noCache = true;
  }
  return f;
}

// ---- ntfy's JSON publish (server/types.go publishMessage, server/server.go transformBodyJSON) ----

/** ntfy's JSON publish: what its body holds besides the headers it becomes. */
export type JsonPublish = { topic: string; message: string | undefined; headers: Map<string, string>; token: string | undefined };

/** Whether a POST / body is ntfy's JSON publish: a JSON object naming a `topic` and no `channel` (that is our own form). */
export const isNtfyJson = (body: Record<string, unknown>): boolean => typeof body.topic === "string" && !("channel" in body);

const badJson = (key: string, want: string): NtfyError => new NtfyError(linked(NTFY_ERRORS.jsonInvalid, "#publish-as-json"), `"${key}" in the JSON must be ${want}`);

/** A JSON value as the header text transformBodyJSON writes for it; "" for what it skips (empty, zero, false, null). */
function jsonHeaderValue(key: string, v: unknown): string {
  // ntfy's cache and firebase are strings ("no"); a boolean says the same.
  if (key === "cache" || key === "firebase") return typeof v === "boolean" ? (v ? "yes" : "no") : typeof v === "string" ? v : "";
  if (v === null || v === undefined || v === "" || v === false) return "";
  if (key === "actions") {
    if (typeof v === "string") return v; // ntfy's short form, as X-Actions takes it
    if (!Array.isArray(v)) throw badJson(key, "a list of actions");
    return v.length ? JSON.stringify(v) : "";
  }
  if (key === "tags") {
    if (typeof v === "string") return v;
    if (!Array.isArray(v) || !v.every((t) => typeof t === "string")) throw badJson(key, "a list of strings");
    return v.join(",");
  }
  if (key === "markdown") return v === true ? "yes" : typeof v === "string" ? v : "";
  if (key === "priority") {
    if (v === 0) return "";
    if (typeof v === "number" || typeof v === "string") return String(v);
    throw badJson(key, "a number from 1 to 5 (or a name: min, low, default, high, max, urgent)");
  }
  if (typeof v !== "string") throw badJson(key, "a string");
  return v;
}

/**
 * The headers transformBodyJSON makes of a JSON object's keys (`url`, our own name for the link, stands for `click`
 * when that is not given), or of those of `keys`. Keys ntfy does not know are not read, as ntfy ignores them.
 */
export function jsonHeaders(body: Record<string, unknown>, keys?: Set<string>): Map<string, string> {
  const headers = new Map<string, string>();
  for (const [key, header] of JSON_HEADERS) {
    if (keys && !keys.has(key)) continue;
    const value = jsonHeaderValue(key, key === "click" && (body.click === undefined || body.click === "") ? body.url : body[key]);
    if (value !== "") headers.set(header, value);
  }
  return headers;
}

/** ntfy's JSON publish, read: the topic, the message and the headers its other keys become; `token` logs in, as on our own POST /. */
export function readJsonPublish(body: Record<string, unknown>): JsonPublish {
  if (typeof body.topic !== "string" || body.topic.trim() === "") throw new NtfyError(NTFY_ERRORS.topicInvalid, '"topic" in the JSON must name the topic (the channel) to publish to');
  if (body.message !== undefined && body.message !== null && typeof body.message !== "string") throw badJson("message", "a string");
  if (body.token !== undefined && typeof body.token !== "string") throw badJson("token", "a string");
  return { topic: body.topic, message: typeof body.message === "string" ? body.message : undefined, headers: jsonHeaders(body), token: body.token as string | undefined };
}

/** The JSON keys of ntfy's features that our own POST / reads beside its own fields (web_input.ts reads those). */
const FEATURE_KEYS = new Set(["attach", "filename", "icon", "markdown", "actions", "email", "delay", "call", "cache", "sequence_id"]);

/**
 * Our own POST / (form, JSON with a `channel`, or query fields): ntfy's keys for its features, read as ntfy's JSON
 * publish reads them (`actions` a JSON array or the simple format, `markdown` true, `cache` "no", `icon`,
 * `sequence_id`); those Notistream lacks are refused there too, rather than published without them.
 */
export function readFeatureFields(fields: Record<string, unknown>): Features {
  const src: ParamSource = { header: () => null, query: new URLSearchParams(), json: jsonHeaders(fields, FEATURE_KEYS), jsonName: "the request" };
  const asked = unsupportedAsked(src);
  if (asked.length) throw unsupportedRefusal(asked);
  return readFeatures(src);
}

// ---- the body (server/server.go handlePublishBody, handleBodyAsTextMessage) ----

/**
 * The body as text: ntfy keeps a body that is not UTF-8 as a file (an attachment), and without --attachment-cache-dir
 * Notistream keeps none, so it is refused (40014). UnifiedPush's binary bodies never come here: web_attachments.ts's
 * publishBody takes them first, base64-encoded, as ntfy's handlePublishBody does.
 */
export function bodyText(raw: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    throw new NtfyError(NTFY_ERRORS.attachmentsDisallowed, "the body is not UTF-8 text, so it is a file (an attachment), and this server keeps no files (its operator turns them on with --attachment-cache-dir and --base-url): send the message as UTF-8 text");
  }
}

/**
 * The body as the message, trimmed as ntfy trims it. One over `maxMessage` bytes is a file to ntfy too (an
 * attachment): refused, 413 (41301), as is one that is not UTF-8 (bodyText).
 */
export function bodyMessage(raw: Uint8Array, maxMessage: number): string {
  const text = bodyText(raw);
  if (raw.length > maxMessage)
    throw new NtfyError(NTFY_ERRORS.entityTooLargeAttachment, `the body is ${raw.length} bytes, over the message limit of ${maxMessage} bytes (--max-message); a longer body is a file (an attachment), and this server keeps no files (its operator turns them on with --attachment-cache-dir and --base-url): send a shorter message`);
  return text.trim();
}

// ---- update, delete, clear (v2.16: server.go handlePublish with a sequence ID, handleDelete, handleClear) ----

/** ntfy's event routes' last segment and the event each publishes: /delete (beside DELETE), /clear and its alias /read. */
export const EVENT_OF_VERB = { delete: "message_delete", clear: "message_clear", read: "message_clear" } as const;

/**
 * The notification an event path names, `<channel>/<sequence_id>` (still percent-escaped, as the route matcher hands
 * it over): the last segment is the sequence ID (ntfy's topic regex, else 40049), everything before it the one channel
 * (ntfy's topic; here a channel may hold a slash, as /owner/repo/json reads owner/repo).
 */
export function sequencePath(raw: string): { channel: string; sequenceId: string } {
  const slash = raw.lastIndexOf("/");
  if (slash <= 0) throw new NtfyError(NTFY_ERRORS.notFound, "name the notification as /<topic>/<sequence_id>: DELETE /<topic>/<sequence_id>, or PUT /<topic>/<sequence_id>/clear");
  const channels = topicsOf(raw.slice(0, slash));
  if (channels.length !== 1) throw new NtfyError(NTFY_ERRORS.notFound, "a notification is on one topic: send one request per topic");
  let sequenceId: string;
  try {
    sequenceId = decodeURIComponent(raw.slice(slash + 1));
  } catch {
    sequenceId = raw.slice(slash + 1);
  }
  if (!SEQUENCE_ID_PATTERN.test(sequenceId)) throw new NtfyError(NTFY_ERRORS.sequenceIdInvalid, `${JSON.stringify(sequenceId.slice(0, 100))} in the path is not one: 1 to 64 letters, digits, - or _`);
  return { channel: channels[0]!, sequenceId };
}

/** The envelope's fields for a publish's features: a sequence ID, actions, an icon, Markdown, Cache: no. */
export function featureFields(f: Features): Pick<Notification, "sequence_id" | "actions" | "icon" | "content_type" | "uncached"> {
  const n: Pick<Notification, "sequence_id" | "actions" | "icon" | "content_type" | "uncached"> = {};
  if (f.sequenceId) n.sequence_id = f.sequenceId;
  if (f.actions?.length) n.actions = f.actions;
  if (f.icon) n.icon = f.icon;
  if (f.markdown) n.content_type = "text/markdown";
  if (f.noCache) n.uncached = true;
  return n;
}

/**
 * The message ntfy publishes: the body, else the X-Message parameter, else "triggered" (server.go emptyMessageBody:
 * a publish with neither, as GET /<topic>/trigger is, still notifies).
 */
export const messageOf = (body: string, params: PublishParams): string => (body !== "" ? body : (params.message ?? "triggered"));
