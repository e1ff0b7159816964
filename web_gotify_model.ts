// web_gotify_model.ts — Gotify v2's data as Notistream keeps and shows it: records, requests, tokens, the priority maps,
// envelope ↔ Gotify message JSON, the extras mapping, dates as Go prints them, errors and paging. Pure: no I/O.
//
// API (used by web_gotify.ts, web_gotify_stream.ts, web_gotify_store.ts, web_gotify_history.ts):
//   Records      AppRecordSchema/AppRecord, ClientRecordSchema/ClientRecord, HiddenMarksSchema/HiddenMarks
//   Requests     AppParamsSchema, ClientParamsSchema, CreateMessageSchema, parseParams(schema, input) → value | {description}
//   Tokens       APP_TOKEN_FORMAT, CLIENT_TOKEN_FORMAT, newAppToken(), newClientToken(), newImageName(ext),
//                tokenRefusal(kind, token) (a token carried over from Gotify: its form, or why not)
//   Priorities   priorityFromGotify(p) (0–10 → 1–5), priorityToGotify(p) (1–5 → 0–10)
//   Messages     notificationFromGotify(app, req), messageJson(env, appid), extrasOf(env), goTime(ms)
//   JSON out     appJson(app), clientJson(client), userJson(id, name, admin), resolvedImage(image)
//   Channels     channelSlug(name), defaultChannel(name, id, taken)
//   Hidden       NO_HIDDEN, isHidden(marks, appId, n), hideMessage/hideAll/hideApp(marks, …)
//   Errors       gotifyError(status, description), STATUS_TEXT
//   Paging       parsePaging(query), pagedMessages(rows, limit, pageUrl), newestFirst(a, b), DEFAULT_LIMIT, MAX_LIMIT
import { randomInt } from "node:crypto";
import { z } from "zod";
import { compareIds, type Attachment, type Envelope, type Notification } from "./message";

// ---- Records, as kept in the pub/sub server (web_gotify_store.ts) ------------------------------------------------

/**
 * An application: a sending token bound to one channel of its user's. `image` is the stored image's name ("" for the
 * default one); `channel` is ours (Gotify's clients ignore unknown fields) and never changes on rename.
 */
export const AppRecordSchema = z.object({
  id: z.number().int().positive(),
  token: z.string(),
  user: z.string(),
  name: z.string(),
  description: z.string(),
  defaultPriority: z.number().int(),
  image: z.string(),
  channel: z.string(),
  sortKey: z.string(),
  /** RFC 3339, or null: never used (Gotify's lastUsed). */
  lastUsed: z.string().nullable(),
});
export type AppRecord = z.infer<typeof AppRecordSchema>;

/** A client: a receiving token of a user's (a phone, a tray app). */
export const ClientRecordSchema = z.object({
  id: z.number().int().positive(),
  token: z.string(),
  user: z.string(),
  name: z.string(),
  lastUsed: z.string().nullable(),
});
export type ClientRecord = z.infer<typeof ClientRecordSchema>;

/**
 * What one user no longer sees (Gotify's DELETE /message…): every number up to `all`, an app's numbers up to
 * `apps[appId]`, and single numbers in `ids` (at most MAX_HIDDEN_IDS, the oldest dropped first).
 */
export const HiddenMarksSchema = z.object({
  all: z.number().int().nonnegative(),
  apps: z.record(z.string(), z.number().int().nonnegative()),
  ids: z.array(z.number().int().positive()),
});
export type HiddenMarks = z.infer<typeof HiddenMarksSchema>;
export const NO_HIDDEN: HiddenMarks = { all: 0, apps: {}, ids: [] };
/** Why a cap: one user's single deletions must not grow a record without end; past it the oldest come back. */
export const MAX_HIDDEN_IDS = 10_000;

// ---- Requests ----------------------------------------------------------------------------------------------------

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/** A number sent as JSON, or as text by a form or a query (Gin binds both into an int). */
const intInput = z.union([z.number().int(), z.string().trim().regex(/^-?\d+$/).transform(Number)]);

/**
 * POST/PUT /application (api/application.go ApplicationParams), plus our `channel` and `token` (POST only: a token
 * carried over from a Gotify server, checked by tokenRefusal). `name` is required.
 */
export const AppParamsSchema = z.object({
  name: z.string().min(1),
  description: z.string().optional().default(""),
  defaultPriority: intInput.optional().default(0),
  sortKey: z.string().optional().default(""),
  channel: z.string().min(1).optional(),
  token: z.string().optional(),
});
export type AppParams = z.infer<typeof AppParamsSchema>;

/** POST/PUT /client (api/client.go ClientParams), plus our `token` (POST only, as for an application). */
export const ClientParamsSchema = z.object({ name: z.string().min(1), token: z.string().optional() });
export type ClientParams = z.infer<typeof ClientParamsSchema>;

/** POST /message (model/message.go MessageExternal's writable fields): `message` is required; extras only from JSON. */
export const CreateMessageSchema = z.object({
  message: z.string().min(1),
  title: z.string().optional().default(""),
  priority: intInput.nullable().optional(),
  extras: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type CreateMessage = z.infer<typeof CreateMessageSchema>;

/**
 * Checks a request as Gin's binding does, with Gotify's texts (error/handler.go validationErrorToText): "Field 'name'
 * is required", else "Field 'x' is not valid"; several joined with "; ".
 */
export function parseParams<T>(schema: z.ZodType<T>, input: unknown): { ok: true; value: T } | { ok: false; description: string } {
  const r = schema.safeParse(input ?? {});
  if (r.success) return { ok: true, value: r.data };
  const given = isRecord(input) ? input : {};
  const texts = r.error.issues.map((i) => {
    const field = String(i.path[0] ?? "body");
    // Gin's "required" refuses a missing field and the zero value ("").
    const missing = given[field] === undefined || given[field] === null || given[field] === "";
    return missing ? `Field '${field}' is required` : `Field '${field}' is not valid`;
  });
  return { ok: false, description: [...new Set(texts)].join("; ") };
}

// ---- Tokens (auth/token.go) --------------------------------------------------------------------------------------

const TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_";
/** "A" or "C" and 14 of a-z A-Z 0-9 . - _ (auth/token.go generateRandomToken, randomTokenLength 14). */
export const APP_TOKEN_FORMAT = /^A[a-zA-Z0-9._-]{14}$/;
export const CLIENT_TOKEN_FORMAT = /^C[a-zA-Z0-9._-]{14}$/;

function randomString(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += TOKEN_CHARS[randomInt(TOKEN_CHARS.length)];
  return out;
}
export const newAppToken = (): string => "A" + randomString(14);
export const newClientToken = (): string => "C" + randomString(14);
/** Gotify v3's enhanced tokens start so (v3.0.0 auth/token.go enhancedTokenPrefix): "gtfya.…", "gtfyc.…". */
const ENHANCED_TOKEN_PREFIX = "gtfy";

/**
 * Why a token carried over from a Gotify server cannot be an application's (kind "app") or a client's here; null
 * when it has Gotify v2's form for that kind. Gotify v3's enhanced tokens are refused: a v3 server keeps only their
 * public half and checks a signed form of them (ed25519, v3.0.0 auth/token.go ParseEnhancedToken), so neither its
 * API nor this server could carry one over as it is.
 */
export function tokenRefusal(kind: "app" | "client", token: string): string | null {
  const [format, letter, what, other] = kind === "app" ? [APP_TOKEN_FORMAT, "A", "an application", "a client"] : [CLIENT_TOKEN_FORMAT, "C", "a client", "an application"];
  if (format.test(token)) return null;
  if (token.startsWith(ENHANCED_TOKEN_PREFIX))
    return `Gotify v3's enhanced tokens (gtfy…) cannot be carried over: a v3 server keeps only their public half, and this server takes Gotify v2's tokens; leave out "token" to get a new one, and put it in your senders`;
  if ((kind === "app" ? CLIENT_TOKEN_FORMAT : APP_TOKEN_FORMAT).test(token)) return `that token is ${other}'s (it starts with "${kind === "app" ? "C" : "A"}"); ${what}'s token starts with "${letter}"`;
  return `${what}'s token has Gotify's form: "${letter}" and 14 of a-z A-Z 0-9 . - _ (this one has ${token.length} characters${token.length ? `, starting "${token[0]}"` : ""}); leave out "token" to get a new one`;
}

/** An uploaded image's name: 25 random characters and its extension (auth/token.go GenerateImageName). */
export const newImageName = (ext: string): string => randomString(25) + ext.toLowerCase();

// ---- Priorities --------------------------------------------------------------------------------------------------

/** Gotify's 0–10 onto our 1–5, as the Android app groups them: < 1, 1–3, 4–7, 8–9, ≥ 10. */
export function priorityFromGotify(p: number): number {
  if (p < 1) return 1;
  if (p <= 3) return 2;
  if (p <= 7) return 3;
  if (p <= 9) return 4;
  return 5;
}

const TO_GOTIFY = [0, 0, 2, 5, 8, 10] as const;
/** Our 1–5 onto Gotify's scale: 1→0, 2→2, 3→5, 4→8, 5→10 (each lands in the group it came from). */
export const priorityToGotify = (p: number): number => TO_GOTIFY[Math.min(5, Math.max(1, Math.trunc(p)))]!;

// ---- Messages ----------------------------------------------------------------------------------------------------

/** A Gotify message as its API shows it (model/message.go MessageExternal); `extras` left out when there are none. */
export type GotifyMessage = {
  id: number;
  appid: number;
  message: string;
  title: string;
  priority: number;
  extras?: Record<string, unknown>;
  date: string;
};

/** The last path segment of a URL, for an attachment's name ("image" when it has none). */
function lastSegment(url: string): string {
  try {
    const seg = new URL(url).pathname.split("/").filter(Boolean).pop();
    return seg ? decodeURIComponent(seg) : "image";
  } catch {
    return "image";
  }
}

const isHttpUrl = (s: unknown): s is string => typeof s === "string" && /^https?:\/\//i.test(s);

/**
 * POST /message as our notification (api/message.go CreateMessage): on the app's channel; a blank title is the app's
 * name; no priority is the app's default; `extras` kept whole (and the gotify id left 0 for the Publisher to number),
 * and mapped: client::display contentType text/markdown → content_type, client::notification click.url → url,
 * bigImageUrl → attachment.
 */
export function notificationFromGotify(app: AppRecord, req: CreateMessage): Notification {
  const priority = req.priority ?? app.defaultPriority;
  const extras = req.extras ?? undefined;
  const n: Notification = {
    channel: app.channel,
    message: req.message,
    title: req.title.trim() === "" ? app.name : req.title,
    priority: priorityFromGotify(priority),
    gotify: { id: 0, priority, ...(extras ? { extras } : {}) },
  };
  const display = extras?.["client::display"];
  if (isRecord(display) && display.contentType === "text/markdown") n.content_type = "text/markdown";
  const notification = extras?.["client::notification"];
  if (isRecord(notification)) {
    const click = notification.click;
    if (isRecord(click) && isHttpUrl(click.url)) n.url = click.url;
    if (isHttpUrl(notification.bigImageUrl)) n.attachment = { name: lastSegment(notification.bigImageUrl), url: notification.bigImageUrl } satisfies Attachment;
  }
  return n;
}

/** Extras for a message published another way: built from its Markdown, click URL and attachment (undefined: none). */
export function extrasOf(env: Envelope): Record<string, unknown> | undefined {
  if (env.gotify?.extras) return env.gotify.extras;
  const out: Record<string, unknown> = {};
  if (env.content_type === "text/markdown") out["client::display"] = { contentType: "text/markdown" };
  const notification: Record<string, unknown> = {};
  if (env.url !== undefined) notification.click = { url: env.url };
  if (env.attachment && /^image\//.test(env.attachment.type ?? "image/") && isHttpUrl(env.attachment.url)) notification.bigImageUrl = env.attachment.url;
  if (Object.keys(notification).length) out["client::notification"] = notification;
  return Object.keys(out).length ? out : undefined;
}

/** The millisecond a message was made: its stream ID's (exact), else its `time` in seconds. */
function madeAtMs(env: Envelope): number {
  const ms = Number(env.id.split("-")[0]);
  return env.id !== "" && Number.isFinite(ms) && ms > 0 ? ms : env.time * 1000;
}

/**
 * An envelope as Gotify's message JSON, for any numbered message however it was published; null for what Gotify
 * clients are not shown: no number, an ntfy event (message_delete/clear), a base64 body.
 */
export function messageJson(env: Envelope, appid: number): GotifyMessage | null {
  if (!env.gotify || env.gotify.id < 1 || env.event !== undefined || env.encoding === "base64") return null;
  const extras = extrasOf(env);
  return {
    id: env.gotify.id,
    appid,
    message: env.message,
    title: env.title ?? "",
    priority: env.gotify.priority ?? priorityToGotify(env.priority ?? 3),
    ...(extras ? { extras } : {}),
    date: goTime(madeAtMs(env)),
  };
}

/**
 * A time as Go's encoding/json prints a time.Time (RFC 3339 with nanoseconds, trailing zeros dropped, no fraction
 * when whole), in UTC: "2026-12-04T23:45:12.345Z".
 */
export function goTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-12-04T23:45:12.345Z
  return iso.replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac ? `.${frac}Z` : "Z"));
}

// ---- JSON out ----------------------------------------------------------------------------------------------------

/** An app's image path as Gotify answers it (api/application.go withResolvedImage). */
export const resolvedImage = (image: string): string => (image === "" ? "static/defaultapp.png" : `image/${image}`);

/** An application as GET/POST /application answer it (model/application.go), with our `channel`. */
export function appJson(app: AppRecord): Record<string, unknown> {
  return {
    id: app.id,
    token: app.token,
    name: app.name,
    description: app.description,
    internal: false,
    image: resolvedImage(app.image),
    defaultPriority: app.defaultPriority,
    lastUsed: app.lastUsed,
    sortKey: app.sortKey,
    channel: app.channel,
  };
}

/** A client as GET/POST /client answer it (model/client.go). */
export const clientJson = (c: ClientRecord): Record<string, unknown> => ({ id: c.id, token: c.token, name: c.name, lastUsed: c.lastUsed });

/** GET /current/user (model/user.go UserExternal). */
export const userJson = (id: number, name: string, admin: boolean): { id: number; name: string; admin: boolean } => ({ id, name, admin });

// ---- Channels ----------------------------------------------------------------------------------------------------

/** An app name as a channel's last part: lower-case, runs of anything but a-z 0-9 as one "-", "app" if nothing is left. */
export function channelSlug(name: string): string {
  const slug = name
    .normalize("NFKD")
    .replace(/\p{M}/gu, "") // accents off: "É" is "E"
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 48)
    .replace(/-+$/, "");
  return slug || "app";
}

/**
 * A new app's channel: gotify-<slug>, or gotify-<slug>-<id> when the user already has an app there; one word of at
 * most 64 characters, so that ntfy's apps can subscribe to it as a topic (server.go topicRegex).
 */
export function defaultChannel(name: string, id: number, taken: (channel: string) => boolean): string {
  const channel = `gotify-${channelSlug(name)}`;
  if (!taken(channel)) return channel;
  const suffix = `-${id}`;
  return channel.slice(0, 64 - suffix.length).replace(/-+$/, "") + suffix;
}

// ---- Sort keys ---------------------------------------------------------------------------------------------------

/** fracdex's digits (fracdex/fracdex.go base62Digits): a key sorts by its bytes. */
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** An integer key's length from its head: "a" two characters, "b" three … (fracdex getIntLen, positive heads). */
const intLength = (head: string): number => head.charCodeAt(0) - 97 + 2;

/**
 * The sort key a new app gets after the user's largest, as Gotify v3's CreateApplication takes
 * fracdex.KeyBetween(largest, ""): "a0" first, then the integer part counted up in base 62 (a0 … az, b00 …), so that
 * byte order is creation order. A largest key that is not fracdex's (a client may send any) is followed by itself and
 * "V", which still sorts after it.
 */
export function sortKeyAfter(largest: string | undefined): string {
  if (!largest) return "a0";
  const head = largest[0]!;
  const len = head >= "a" && head <= "z" ? intLength(head) : 0;
  if (len === 0 || largest.length < len || ![...largest.slice(1, len)].every((c) => BASE62.includes(c))) return `${largest}V`;
  const digits = [...largest.slice(1, len)];
  for (let i = digits.length - 1; i >= 0; i--) {
    const d = BASE62.indexOf(digits[i]!) + 1;
    if (d < BASE62.length) return head + digits.slice(0, i).join("") + BASE62[d] + "0".repeat(digits.length - 1 - i);
  }
  // Every digit was the last: the next head, one digit longer (fracdex incrementInt); past "z", a fraction after it.
  return head === "z" ? `${largest}V` : String.fromCharCode(head.charCodeAt(0) + 1) + "0".repeat(digits.length + 1);
}

/**
 * The n-th key of that count (0 → "a0", 61 → "az", 62 → "b00" …): a new app's key from its id, which the counter
 * makes unique across web servers, where "after the largest this web server knows" could be taken twice at once.
 */
export function sortKeyOfNumber(n: number): string {
  let width = 1;
  let first = 0; // how many keys the shorter heads hold
  while (n - first >= 62 ** width) (first += 62 ** width), width++;
  let rest = n - first;
  let digits = "";
  for (let i = 0; i < width; i++) (digits = BASE62[rest % 62] + digits), (rest = Math.floor(rest / 62));
  return String.fromCharCode(97 + width - 1) + digits;
}

// ---- Hidden messages ---------------------------------------------------------------------------------------------

export const isHidden = (m: HiddenMarks, appId: number, n: number): boolean => n <= m.all || n <= (m.apps[String(appId)] ?? 0) || m.ids.includes(n);

/** Hides one number (DELETE /message/{id}); past MAX_HIDDEN_IDS the oldest single marks go. */
export function hideMessage(m: HiddenMarks, n: number, max = MAX_HIDDEN_IDS): HiddenMarks {
  if (isHidden(m, 0, n)) return m;
  const ids = [...m.ids, n];
  return { ...m, ids: ids.slice(Math.max(0, ids.length - max)) };
}

/** Hides every number up to `upTo` (DELETE /message): marks it covers are dropped. */
export function hideAll(m: HiddenMarks, upTo: number): HiddenMarks {
  const all = Math.max(m.all, upTo);
  const apps = Object.fromEntries(Object.entries(m.apps).filter(([, v]) => v > all));
  return { all, apps, ids: m.ids.filter((n) => n > all) };
}

/** Hides one app's numbers up to `upTo` (DELETE /application/{id}/message). */
export function hideApp(m: HiddenMarks, appId: number, upTo: number): HiddenMarks {
  const key = String(appId);
  return { ...m, apps: { ...m.apps, [key]: Math.max(m.apps[key] ?? 0, upTo) } };
}

// ---- Errors (model/error.go, error/handler.go writeError) ---------------------------------------------------------

/** Go's http.StatusText for the statuses Gotify's API answers. */
export const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Request Entity Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export type GotifyError = { error: string; errorCode: number; errorDescription: string };
export const gotifyError = (status: number, description: string): GotifyError => ({ error: STATUS_TEXT[status] ?? "Error", errorCode: status, errorDescription: description });

// ---- Paging (api/message.go withPaging, buildWithPaging; model/paging.go) ---------------------------------------

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 200;
export type PagingQuery = { limit: number; since: number };
export type Paging = { next?: string; size: number; since: number; limit: number };
export type PagedMessages = { paging: Paging; messages: GotifyMessage[] };

/**
 * `limit` (1..200, default 100) and `since` (≥ 0, default 0) as Gin binds pagingParams; a bad one is Gotify's 400
 * with error/handler.go's text ("Field 'limit' must be less or equal to 200").
 */
export function parsePaging(query: URLSearchParams): { ok: true; value: PagingQuery } | { ok: false; description: string } {
  const out: PagingQuery = { limit: DEFAULT_LIMIT, since: 0 };
  const limit = query.get("limit");
  if (limit !== null && limit !== "") {
    if (!/^[-+]?\d+$/.test(limit.trim())) return { ok: false, description: `strconv.ParseInt: parsing "${limit}": invalid syntax` };
    const n = Number(limit);
    if (n < 1) return { ok: false, description: "Field 'limit' must be more or equal to 1" };
    if (n > MAX_LIMIT) return { ok: false, description: `Field 'limit' must be less or equal to ${MAX_LIMIT}` };
    out.limit = n;
  }
  const since = query.get("since");
  if (since !== null && since !== "") {
    if (!/^\+?\d+$/.test(since.trim())) return { ok: false, description: `strconv.ParseUint: parsing "${since}": invalid syntax` };
    out.since = Number(since);
  }
  return { ok: true, value: out };
}

/**
 * A page as buildWithPaging makes it from up to limit + 1 messages, newest first: the extra one only says there is
 * more; then `since` is the last shown id and `next` is `pageUrl` (origin and path, no query) with limit and since.
 */
export function pagedMessages(rows: GotifyMessage[], limit: number, pageUrl: string): PagedMessages {
  if (rows.length <= limit) return { paging: { size: rows.length, since: 0, limit }, messages: rows };
  const shown = rows.slice(0, limit);
  const since = shown[shown.length - 1]!.id;
  return { paging: { next: `${pageUrl}?limit=${limit}&since=${since}`, size: shown.length, since, limit }, messages: shown };
}

/** Newest first by Gotify number (then by stream ID), the order of every Gotify listing. */
export const newestFirst = (a: Envelope, b: Envelope): number => (b.gotify?.id ?? 0) - (a.gotify?.id ?? 0) || compareIds(b.id, a.id);
