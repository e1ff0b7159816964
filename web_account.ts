// web_account.ts — ntfy's account routes over the ACL, as ntfy's clients call them: GET /v1/account (with today's publish
// count), the tokens at /v1/account/token, the web app's settings and subscriptions, /v1/health, /v1/config and /config.js.
import { createHash } from "node:crypto";
import { userFromAuthorization, type Acl, type AclUser } from "./acl";
import { authorizationOf, tokenOf } from "./web_access";
import type { z } from "zod";
import { readBody } from "./web_body";
import type { WebContext } from "./web_context";
import { InputError } from "./web_input";
import type { AttachmentLimits } from "./web_attachlimits";
import { EMAIL_BURST } from "./web_email";
import { NTFY_CORS, NTFY_ERRORS, NtfyError, ntfyErrorForStatus, ntfyErrorResponse, readParam, type NtfyErrorKind } from "./web_ntfy";
import { PrefsStore, PublishCounts, SavedSubscriptionSchema, SettingsSchema, renamed, withSettings, withSubscription, without, type Counted, type Prefs } from "./web_account_data";
import type { Checked, Handler, RouteRow } from "./web_routes";
import { TOKEN_FORMAT, TokenRequestSchema, expiryOf, tokenJson, updated, type TokenRequest, type TokenStore } from "./web_tokens";

/** ntfy's limit on a JSON request body (server.go jsonBodyBytesLimit). */
const JSON_BODY_LIMIT = 32768;

const ntfyJson = (body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(`${JSON.stringify(body)}\n`, { status: 200, headers: { "content-type": "application/json", ...NTFY_CORS, ...headers } });

/** ntfy's 40903 (server/errors.go errHTTPConflictSubscriptionExists), which only these routes answer. */
const SUBSCRIPTION_EXISTS: NtfyErrorKind = { code: 40903, http: 409, error: "conflict: topic subscription already exists", link: "" };

/**
 * ntfy's account limits (apiAccountLimits), which aiontfy requires and ntfy's web app reads on its account page. The
 * basis is "ip", as ntfy's for limits from the server's settings rather than a tier (visitor.go configBasedVisitorLimits).
 * Messages: with --rate-limit r, at most r × 86,400 a day, as ntfy approximates its own from its request limiter
 * (replenishDurationToDailyLimit); without one, 0, ntfy's figure for what is not limited. Everything else is 0:
 * history keeps a count of messages, not an age, and Notistream sends no e-mails or calls and takes no reservations
 * or uploads.
 */
export function accountLimits(rateLimit: number | undefined, attachments?: AttachmentLimits, emails = 0) {
  return {
    basis: "ip",
    messages: (rateLimit ?? 0) * 86_400,
    messages_expiry_duration: 0,
    emails,
    calls: 0,
    reservations: 0,
    // With --attachment-cache-dir: a visitor's share on disk, one file, how long a file is kept (s), a day's bandwidth.
    attachment_total_size: attachments?.visitorTotal ?? 0,
    attachment_file_size: attachments?.fileSize ?? 0,
    attachment_expiry_duration: Math.floor((attachments?.expiryMs ?? 0) / 1000),
    attachment_bandwidth: attachments?.visitorBandwidth ?? 0,
  };
}

/**
 * ntfy's account statistics (apiAccountStats), which aiontfy cannot read an account without: `messages` is what the
 * visitor published today (UTC); each `*_remaining` is its limit less the use, never below 0 (visitor.go zeroIfNegative).
 */
export function accountStats(messages: number, limits: ReturnType<typeof accountLimits>) {
  return {
    messages,
    messages_remaining: Math.max(0, limits.messages - messages),
    emails: 0,
    emails_remaining: 0,
    calls: 0,
    calls_remaining: 0,
    reservations: 0,
    reservations_remaining: 0,
    attachment_total_size: 0,
    attachment_total_size_remaining: 0,
  };
}

/**
 * Whether a row's 200 is a published message, counted in /v1/account's stats as ntfy counts each visitor's messages:
 * every route that needs write rights on a channel or a sender's signature, and POST or PUT to / and the senders that
 * take a login. (A GitHub ping is answered 200 and counted though it publishes nothing.)
 */
export function countsAsPublish(row: Pick<RouteRow, "method" | "path" | "right">): boolean {
  if (row.right === "write" || row.right === "signed") return true;
  return row.right === "login" && (row.method === "POST" || row.method === "PUT") && !row.path.startsWith("/push/");
}

/** Who calls an account route: a named ACL user, with the issued token they logged in with (if so), or anonymous (null). */
type Caller = { user: AclUser | null; token: string | null };

/**
 * The caller, as ntfy's maybeAuthenticate reads them: without an ACL everyone is anonymous and credentials are
 * ignored (ntfy without auth-file); with one, no credentials is anonymous, wrong ones a 401 in ntfy's shape (no
 * challenge: a browser would ask for a login on every fetch of ntfy's web app).
 */
function callerOf(acl: Acl | undefined, req: Request, url: URL, tokens: TokenStore | null): Caller | Response {
  if (!acl) return { user: null, token: null };
  const header = authorizationOf(req, url);
  if (header === false) return ntfyErrorResponse(NTFY_ERRORS.unauthorized, "the auth parameter must be the Authorization header's value, base64url-encoded");
  if (header === null) return { user: null, token: null };
  const who = userFromAuthorization(acl, header);
  if (!("user" in who)) return ntfyErrorResponse(NTFY_ERRORS.unauthorized, who.message);
  if (who.user === acl.anonymous) return { user: null, token: null };
  const token = tokenOf(header, url);
  return { user: who.user, token: token && TOKEN_FORMAT.test(token) && tokens?.userOf(token) === who.user.name ? token : null };
}

/** A logged-in ACL user who may hold tokens, or the 401 (anonymous, or no ACL) or 403 (--token's one user) that says not. */
function tokenHolder(acl: Acl | undefined, caller: Caller): AclUser | Response {
  if (!acl) return ntfyErrorResponse(NTFY_ERRORS.unauthorized, "this server has no users (it runs without --acl), so it issues no tokens");
  if (!caller.user) return ntfyErrorResponse(NTFY_ERRORS.unauthorized, "log in (Authorization: Basic <user:password>) to manage your tokens");
  if (!acl.issuesTokens) return ntfyErrorResponse(NTFY_ERRORS.forbidden, "tokens are issued to the users of an --acl file; --token has one user, whose token is the server's flag");
  return caller.user;
}

/**
 * A request's JSON body (an empty body is {}, as ntfy allows) checked by `schema`; a 400 in ntfy's shape says what
 * is wrong and, with `example`, what to send.
 */
async function jsonRequest<T>(req: Request, schema: z.ZodType<T>, example: string): Promise<T> {
  const text = new TextDecoder().decode(await readBody(req, JSON_BODY_LIMIT)).trim();
  let body: unknown = {};
  if (text) {
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new NtfyError(NTFY_ERRORS.jsonInvalid, (err as Error).message);
    }
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new NtfyError(NTFY_ERRORS.jsonInvalid, `"${issue.path.join(".") || "body"}": ${issue.message} (send ${example})`);
  }
  return parsed.data;
}

const tokenRequest = (req: Request): Promise<TokenRequest> => jsonRequest(req, TokenRequestSchema, '{"label": "…", "expires": <Unix seconds, 0 for never>}');

/** Answers an InputError (a too large body, a bad field) in ntfy's shape; anything else goes on to the dispatcher. */
function ntfyShaped(handler: Handler): Handler {
  return async (req, url, checked) => {
    try {
      return await handler(req, url, checked);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      const kind: NtfyErrorKind = err instanceof NtfyError ? err.kind : err.status === 413 ? NTFY_ERRORS.entityTooLargeJsonBody : ntfyErrorForStatus(err.status);
      return ntfyErrorResponse(kind, err instanceof NtfyError ? err.detail : err.message);
    }
  };
}

export type AccountRoutes = {
  account: Handler;
  tokenCreate: Handler;
  tokenUpdate: Handler;
  tokenDelete: Handler;
  settings: Handler;
  subscriptionAdd: Handler;
  subscriptionChange: Handler;
  subscriptionDelete: Handler;
  /** DELETE /v1/account and POST /v1/account/password: a 400 with a sentence (the ACL file holds users and passwords). */
  managedByAcl: Handler;
  health: Handler;
  config: Handler;
  configJs: Handler;
  /** Counts a publish the dispatcher answered 200 (countsAsPublish) for its caller, not awaited. */
  published: (req: Request, url: URL, checked: Checked) => void;
};

/** The /v1 account routes; `tokens` is null without an ACL (then no token is ever issued). */
export function accountRoutes(ctx: WebContext, tokens: TokenStore | null): AccountRoutes {
  const acl = () => ctx.opts.acl; // changes on SIGHUP: read per request
  const counts = new PublishCounts(ctx.publisher, ctx.logError);
  const prefs = new PrefsStore(ctx.publisher);

  // ntfy's handleAccountGet: the user's name and role, or "*" and "anonymous"; limits, and stats counted for the user
  // or, anonymous, for the visitor (ntfy's visitor per IP); a user's saved settings and subscriptions; and the token
  // the caller logged in with (only hashes are kept, so no other can be listed).
  const account: Handler = async (req, url) => {
    const caller = callerOf(acl(), req, url, tokens);
    if (caller instanceof Response) return caller;
    const limits = accountLimits(ctx.opts.rateLimit, ctx.opts.attachments?.limits, ctx.mailer ? EMAIL_BURST : 0);
    const who: Counted = caller.user ? { user: caller.user.name } : anonymousVisitor(req);
    const stats = accountStats(await counts.today(who), limits);
    if (!caller.user) return ntfyJson({ username: "*", role: "anonymous", limits, stats });
    const saved = await prefs.read(caller.user.name);
    const rec = caller.token ? await tokens?.find(caller.user.name, caller.token) : null;
    return ntfyJson({
      username: caller.user.name,
      role: caller.user.unrestricted ? "admin" : "user",
      ...prefsJson(saved),
      ...(rec && caller.token ? { tokens: [tokenJson(caller.token, rec)] } : {}),
      limits,
      stats,
    });
  };

  /**
   * Whose count an anonymous publish is: with an ACL or --rate-limit, the visitor by address as ntfy counts it; with
   * neither, nothing is limited and all anonymous callers are one visitor, "*" (Bun's requestIP was a fifth of a
   * webhook's CPU in a profile, too dear for a figure nobody is charged by).
   */
  const anonymousVisitor = (req: Request): Counted => ({ visitor: acl() || (ctx.opts.rateLimit ?? 0) > 0 ? ctx.visitorOf(req) : "*" });

  const published = (req: Request, url: URL, checked: Checked): void => {
    const list = acl();
    let user = checked.who;
    if (list && user === undefined) {
      // The row's check waited for the body (POST /): the caller is read again from the request.
      const caller = callerOf(list, req, url, tokens);
      user = caller instanceof Response ? undefined : (caller.user ?? undefined);
    }
    counts.count(user && user !== list?.anonymous ? { user: user.name } : anonymousVisitor(req));
  };

  return {
    account: ntfyShaped(account),
    ...tokenRoutes(ctx, acl, tokens),
    ...prefsRoutes(acl, tokens, prefs),
    // ntfy's web app offers "Change password" and "Delete account" (AccountApi.js changePassword, delete): a 400 with a
    // sentence the app shows in its dialog (errors.js throwAppError reads a 401 or 403 as a lost login and logs the
    // user out; the 404 and 405 said nothing).
    managedByAcl: ntfyShaped(async (req, url) => {
      const caller = callerOf(acl(), req, url, tokens);
      if (caller instanceof Response) return caller;
      return ntfyErrorResponse(
        NTFY_ERRORS.badRequest,
        "this server's users and passwords are its --acl file's (kept as SHA-256 hashes): its admin changes a password or removes a user there and reloads it (SIGHUP)",
      );
    }),
    // ntfy's handleHealth: the web server answers (/healthz says whether the pub/sub server does too).
    health: async () => ntfyJson({ healthy: true }),
    config: async () => ntfyJson(webConfig(acl(), !!ctx.mailer)),
    // ntfy's handleWebConfig: the same object as a script for ntfy's web app.
    configJs: async () =>
      new Response(`// Generated server configuration\nvar config = ${JSON.stringify(webConfig(acl(), !!ctx.mailer), null, 2)};\n`, {
        headers: { "content-type": "text/javascript", "cache-control": "no-cache" },
      }),
    published,
  };
}

/** Saved prefs as GET /v1/account carries them (apiAccountResponse): empty ones left out, as ntfy's omitempty does. */
function prefsJson(p: Prefs): Record<string, unknown> {
  return {
    ...(p.language ? { language: p.language } : {}),
    ...(p.notification && Object.keys(p.notification).length ? { notification: p.notification } : {}),
    // Never an empty list: ntfy's web app removes every local subscription missing from one (syncFromRemote).
    ...(p.subscriptions?.length ? { subscriptions: p.subscriptions } : {}),
  };
}

/** POST, PATCH and DELETE /v1/account/token. */
function tokenRoutes(ctx: WebContext, acl: () => Acl | undefined, tokens: TokenStore | null): Pick<AccountRoutes, "tokenCreate" | "tokenUpdate" | "tokenDelete"> {
  const nowS = () => Math.floor(Date.now() / 1000);

  // ntfy's handleAccountTokenCreate: {"label", "expires"}; no expires: 72 hours; 0: never.
  const tokenCreate: Handler = async (req, url) => {
    const caller = callerOf(acl(), req, url, tokens);
    if (caller instanceof Response) return caller;
    const user = tokenHolder(acl(), caller);
    if (user instanceof Response) return user;
    const body = await tokenRequest(req);
    const expires = refusedAs400(() => expiryOf(body.expires, nowS()));
    const made = await tokens!.create(user.name, body.label ?? "", expires, ctx.clientOf(req));
    ctx.log(`web: issued a token to user '${user.name}'${made.rec.label ? ` labelled ${JSON.stringify(made.rec.label)}` : ""}, ${expires ? `expiring ${new Date(expires * 1000).toISOString()}` : "never expiring"}`);
    return ntfyJson(tokenJson(made.token, made.rec));
  };

  // ntfy's handleAccountTokenUpdate: {"token", "label", "expires"}; no token: the one the caller logged in with.
  const tokenUpdate: Handler = async (req, url) => {
    const caller = callerOf(acl(), req, url, tokens);
    if (caller instanceof Response) return caller;
    const user = tokenHolder(acl(), caller);
    if (user instanceof Response) return user;
    const body = await tokenRequest(req);
    const token = body.token || caller.token;
    if (!token) return ntfyErrorResponse(NTFY_ERRORS.noTokenProvided, 'name the token: {"token": "tk_…"}, or log in with it');
    const rec = await tokens!.find(user.name, token);
    if (!rec) return ntfyErrorResponse(NTFY_ERRORS.notFound, `user '${user.name}' has no such live token`);
    const next = refusedAs400(() => updated(rec, body, nowS()));
    await tokens!.save(token, next);
    return ntfyJson(tokenJson(token, next));
  };

  // ntfy's handleAccountTokenDelete: the token in X-Token (a DELETE has no body), else the one the caller logged in
  // with; a token that is not the caller's is left alone, and the answer is success either way, as ntfy's.
  const tokenDelete: Handler = async (req, url) => {
    const caller = callerOf(acl(), req, url, tokens);
    if (caller instanceof Response) return caller;
    const user = tokenHolder(acl(), caller);
    if (user instanceof Response) return user;
    const token = readParam(req.headers, url.searchParams, "X-Token", "Token") || caller.token;
    if (!token) return ntfyErrorResponse(NTFY_ERRORS.noTokenProvided, "name the token in an X-Token header, or log in with it");
    if (await tokens!.revoke(user.name, token)) ctx.log(`web: user '${user.name}' revoked a token`);
    return ntfyJson({ success: true });
  };

  return { tokenCreate: ntfyShaped(tokenCreate), tokenUpdate: ntfyShaped(tokenUpdate), tokenDelete: ntfyShaped(tokenDelete) };
}

/**
 * PATCH /v1/account/settings and POST, PATCH and DELETE /v1/account/subscription, which ntfy's web app calls while
 * logged in (web/src/app/AccountApi.js updateSettings, addSubscription, updateSubscription, deleteSubscription), so a
 * user's subscriptions and settings follow them to another browser (server_account.go handleAccountSettingsChange,
 * handleAccountSubscription*). Any logged-in user; anonymous callers get ntfy's 401.
 */
function prefsRoutes(acl: () => Acl | undefined, tokens: TokenStore | null, prefs: PrefsStore): Pick<AccountRoutes, "settings" | "subscriptionAdd" | "subscriptionChange" | "subscriptionDelete"> {
  /** The logged-in user a prefs route acts for, or the 401 that says to log in. */
  const userOf = (req: Request, url: URL): AclUser | Response => {
    const caller = callerOf(acl(), req, url, tokens);
    if (caller instanceof Response) return caller;
    if (!acl()) return ntfyErrorResponse(NTFY_ERRORS.unauthorized, "this server has no users (it runs without --acl), so it keeps no settings or subscriptions");
    return caller.user ?? ntfyErrorResponse(NTFY_ERRORS.unauthorized, "log in to keep settings and subscriptions on the server");
  };
  const subscriptionExample = '{"base_url": "https://…", "topic": "…", "display_name": "…"}';

  const settings: Handler = async (req, url) => {
    const user = userOf(req, url);
    if (user instanceof Response) return user;
    const body = await jsonRequest(req, SettingsSchema, '{"language": "de", "notification": {"sound": "…", "min_priority": 1-5, "delete_after": <seconds>}}');
    await prefs.write(user.name, withSettings(await prefs.read(user.name), body));
    return ntfyJson({ success: true });
  };

  // 40903 when it is there already (ntfy's errHTTPConflictSubscriptionExists).
  const subscriptionAdd: Handler = async (req, url) => {
    const user = userOf(req, url);
    if (user instanceof Response) return user;
    const sub = await jsonRequest(req, SavedSubscriptionSchema, subscriptionExample);
    const saved = await prefs.read(user.name);
    const next = refusedAs400(() => withSubscription(saved, sub));
    if (next === "exists") return ntfyErrorResponse(SUBSCRIPTION_EXISTS, `${sub.base_url}/${sub.topic} is saved already`);
    await prefs.write(user.name, next);
    return ntfyJson(next.subscriptions!.at(-1));
  };

  // A new display name; 40401 when there is no such subscription.
  const subscriptionChange: Handler = async (req, url) => {
    const user = userOf(req, url);
    if (user instanceof Response) return user;
    const sub = await jsonRequest(req, SavedSubscriptionSchema, subscriptionExample);
    const changed = renamed(await prefs.read(user.name), sub);
    if (!changed) return ntfyErrorResponse(NTFY_ERRORS.notFound, `no saved subscription to ${sub.base_url}/${sub.topic}`);
    await prefs.write(user.name, changed.prefs);
    return ntfyJson(changed.sub);
  };

  // Named by X-BaseURL and X-Topic (a DELETE has no body); success whether it was there or not, as ntfy's.
  const subscriptionDelete: Handler = async (req, url) => {
    const user = userOf(req, url);
    if (user instanceof Response) return user;
    const saved = await prefs.read(user.name);
    const next = without(saved, readParam(req.headers, url.searchParams, "X-BaseURL", "BaseURL"), readParam(req.headers, url.searchParams, "X-Topic", "Topic"));
    if (next !== saved) await prefs.write(user.name, next);
    return ntfyJson({ success: true });
  };

  return {
    settings: ntfyShaped(settings),
    subscriptionAdd: ntfyShaped(subscriptionAdd),
    subscriptionChange: ntfyShaped(subscriptionChange),
    subscriptionDelete: ntfyShaped(subscriptionDelete),
  };
}

/** web_tokens.ts's rules, their refusal (a RangeError's sentence) a 400 in ntfy's shape. */
function refusedAs400<T>(rule: () => T): T {
  try {
    return rule();
  } catch (err) {
    if (err instanceof RangeError) throw new NtfyError(NTFY_ERRORS.badRequest, err.message);
    throw err;
  }
}

/**
 * Topic names ntfy's web app refuses to subscribe to (its SubscribeDialog checks config.disallowed_topics): ntfy's own
 * (config.go DefaultDisallowedTopics: the app's pages and files, which share its paths), and the names of this
 * server's own routes, where POST /<name> is no publish (GET /health, /events, /messages; POST /github, /gitlab, /gitea), and Gotify's (web_gotify.ts: /message, /stream,
 * /application, /client, /current/user, /user, /version, /image).
 */
export const DISALLOWED_TOPICS = ["docs", "static", "file", "app", "metrics", "account", "settings", "signup", "login", "v1", "health", "healthz", "events", "messages", "github", "gitlab", "gitea", "message", "stream", "application", "client", "current", "user", "version", "image"];

/**
 * What ntfy's web app reads at start (apiConfigResponse), said as this server is: login where an ACL file issues
 * tokens, required where anonymous clients may not log in; no signup, payments, calls, e-mails or reservations; and
 * no Web Push for ntfy's app (Notistream's own app has its own at /push/*, not ntfy's /v1/webpush). config_hash
 * (v2.16+; docs/api/openapi.yaml ServerConfig) is what the app's VersionChecker.js compares every 5 minutes to offer
 * a reload: a digest of the rest, the same on every web server with the same settings, new when a SIGHUP changes them.
 */
export function webConfig(acl: Acl | undefined, emails = false): Record<string, unknown> {
  const anonymous = acl?.anonymous;
  const config = {
    base_url: "", // ntfy's web app reads "" as the page's own origin
    app_root: "/",
    enable_login: acl?.issuesTokens ?? false,
    require_login: acl !== undefined && !(anonymous!.enabled && anonymous!.nopass),
    enable_signup: false,
    enable_payments: false,
    enable_calls: false,
    enable_emails: emails, // --smtp-url set (ntfy: smtp-sender-from): its web app offers an e-mail field
    enable_reservations: false,
    enable_web_push: false,
    billing_contact: "",
    web_push_public_key: "",
    disallowed_topics: DISALLOWED_TOPICS,
  };
  return { ...config, config_hash: createHash("sha256").update(JSON.stringify(config)).digest("hex") };
}
