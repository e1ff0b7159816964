// web_account.ts — ntfy's account routes over the ACL, as ntfy's clients call them: GET /v1/account, the tokens at
// /v1/account/token (made, extended, revoked), /v1/health, and the web app's /v1/config and /config.js; errors in ntfy's shape.
import { userFromAuthorization, type Acl, type AclUser } from "./acl";
import { authorizationOf, tokenOf } from "./web_access";
import { readBody } from "./web_body";
import type { WebContext } from "./web_context";
import { InputError } from "./web_input";
import { NTFY_CORS, NTFY_ERRORS, NtfyError, ntfyErrorForStatus, ntfyErrorResponse, readParam, type NtfyErrorKind } from "./web_ntfy";
import type { Handler } from "./web_routes";
import { TOKEN_FORMAT, TokenRequestSchema, expiryOf, tokenJson, updated, type TokenRequest, type TokenStore } from "./web_tokens";

/** ntfy's limit on a JSON request body (server.go jsonBodyBytesLimit). */
const JSON_BODY_LIMIT = 32768;

const ntfyJson = (body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(`${JSON.stringify(body)}\n`, { status: 200, headers: { "content-type": "application/json", ...NTFY_CORS, ...headers } });

/**
 * ntfy's account statistics (apiAccountStats). aiontfy, which Home Assistant uses, cannot read an account without
 * them, so they are sent; Notistream has no e-mails, calls, reservations or attachments, and counts no messages per
 * account, so every figure is 0.
 */
const NO_STATS = {
  messages: 0,
  messages_remaining: 0,
  emails: 0,
  emails_remaining: 0,
  calls: 0,
  calls_remaining: 0,
  reservations: 0,
  reservations_remaining: 0,
  attachment_total_size: 0,
  attachment_total_size_remaining: 0,
};

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

/** A token request's JSON body (an empty body is {}, as ntfy allows), checked; a 400 in ntfy's shape says what is wrong. */
async function tokenRequest(req: Request): Promise<TokenRequest> {
  const text = new TextDecoder().decode(await readBody(req, JSON_BODY_LIMIT)).trim();
  let body: unknown = {};
  if (text) {
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new NtfyError(NTFY_ERRORS.jsonInvalid, (err as Error).message);
    }
  }
  const parsed = TokenRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new NtfyError(NTFY_ERRORS.jsonInvalid, `"${issue.path.join(".") || "body"}": ${issue.message} (send {"label": "…", "expires": <Unix seconds, 0 for never>})`);
  }
  return parsed.data;
}

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

export type AccountRoutes = { account: Handler; tokenCreate: Handler; tokenUpdate: Handler; tokenDelete: Handler; health: Handler; config: Handler; configJs: Handler };

/** The /v1 account routes; `tokens` is null without an ACL (then no token is ever issued). */
export function accountRoutes(ctx: WebContext, tokens: TokenStore | null): AccountRoutes {
  const acl = () => ctx.opts.acl; // changes on SIGHUP: read per request
  const nowS = () => Math.floor(Date.now() / 1000);

  // ntfy's handleAccountGet: the user's name and role, or "*" and "anonymous"; limits are left out (Notistream sets no
  // daily quotas), and tokens too (only their hashes are kept, so they cannot be listed).
  const account: Handler = async (req, url) => {
    const caller = callerOf(acl(), req, url, tokens);
    if (caller instanceof Response) return caller;
    if (!caller.user) return ntfyJson({ username: "*", role: "anonymous", stats: NO_STATS });
    return ntfyJson({ username: caller.user.name, role: caller.user.unrestricted ? "admin" : "user", stats: NO_STATS });
  };

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

  return {
    account: ntfyShaped(account),
    tokenCreate: ntfyShaped(tokenCreate),
    tokenUpdate: ntfyShaped(tokenUpdate),
    tokenDelete: ntfyShaped(tokenDelete),
    // ntfy's handleHealth: the web server answers (/healthz says whether the pub/sub server does too).
    health: async () => ntfyJson({ healthy: true }),
    config: async () => ntfyJson(webConfig(acl())),
    // ntfy's handleWebConfig: the same object as a script for ntfy's web app.
    configJs: async () =>
      new Response(`// Generated server configuration\nvar config = ${JSON.stringify(webConfig(acl()), null, 2)};\n`, {
        headers: { "content-type": "text/javascript", "cache-control": "no-cache" },
      }),
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
 * What ntfy's web app reads at start (apiConfigResponse), said as this server is: login where an ACL file issues
 * tokens, required where anonymous clients may not log in; no signup, payments, calls, e-mails or reservations; and
 * no Web Push for ntfy's app (Notistream's own app has its own at /push/*, not ntfy's /v1/webpush).
 */
export function webConfig(acl: Acl | undefined): Record<string, unknown> {
  const anonymous = acl?.anonymous;
  return {
    base_url: "", // ntfy's web app reads "" as the page's own origin
    app_root: "/",
    enable_login: acl?.issuesTokens ?? false,
    require_login: acl !== undefined && !(anonymous!.enabled && anonymous!.nopass),
    enable_signup: false,
    enable_payments: false,
    enable_calls: false,
    enable_emails: false,
    enable_reservations: false,
    enable_web_push: false,
    billing_contact: "",
    web_push_public_key: "",
    disallowed_topics: [],
  };
}
