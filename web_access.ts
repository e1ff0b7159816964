// web_access.ts — who may use a route: a row's right checked before its handler runs (before any body is read), the
// ACL's answers to a request (who it is in every form ntfy takes, a 401 with the challenge, a 403), and failed logins' limit.
import { userFromAuthorization, type Acl, type AclUser } from "./acl";
import { RateLimiter } from "./ratelimit";
import { CHALLENGE, error } from "./web_context";
import { channelsFrom } from "./web_events";
import { InputError, refuseChannelName } from "./web_input";
import type { Checked, RouteRow } from "./web_routes";

/**
 * The Authorization a request brings: `?auth=` (or `?authorization=`), the header's whole value base64url-encoded,
 * which ntfy's web app sends because a browser's WebSocket cannot set headers, wins over the header, as in ntfy's
 * readAuthHeader (server.go; it decodes RawURLEncoding, no padding; padding is taken here too). null: none; false: a
 * parameter that is not base64url.
 */
export function authorizationOf(req: Request, url?: URL): string | null | false {
  // Only a query that may hold the parameter is parsed: this runs on every request of a server with an ACL.
  const query = (url ? url.search : req.url).includes("auth") ? (url ?? new URL(req.url)).searchParams : null;
  const param = query?.get("authorization") || query?.get("auth");
  if (!param) return req.headers.get("authorization") || null;
  const bare = param.trim().replace(/={0,2}$/, "");
  if (!/^[A-Za-z0-9_-]+$/.test(bare) || bare.length % 4 === 1) return false;
  return Buffer.from(bare, "base64url").toString("utf8").trim();
}

const AUTH_PARAM_REFUSAL = "the auth parameter must be the Authorization header's value (Basic … or Bearer …), base64url-encoded";

/** The user a request logs in as (Authorization or ?auth=, else `token`, else anonymous), or its 401 with the challenge. */
export function identify(acl: Acl, req: Request, token?: string, url?: URL): AclUser | Response {
  const header = authorizationOf(req, url);
  if (header === false) return error(401, AUTH_PARAM_REFUSAL, CHALLENGE);
  const who = userFromAuthorization(acl, header, token);
  return "user" in who ? who.user : error(who.status, who.message, CHALLENGE);
}

/** Whether `user` may publish to the channel or read the channels: null, or the 401 (anonymous) or 403 (a user) that says not. */
export function rightsRefusal(acl: Acl, user: AclUser, command: "publish" | "subscribe", channels: string[]): Response | null {
  const allowed = command === "publish" ? user.mayPublish(channels[0]!) : user.mayReadOverHttp(channels);
  if (allowed) return null;
  const what = command === "publish" ? `publish to ${JSON.stringify(channels[0])}` : `read ${channels.map((c) => JSON.stringify(c)).join(", ")}`;
  if (user === acl.anonymous) return error(401, `anonymous clients may not ${what}: log in with Authorization: Bearer <token> or Basic <user:password>`, CHALLENGE);
  return error(403, `user '${user.name}' may not ${what}; the ACL file sets each user's channels`);
}

/** With an ACL, the request's user must be allowed to `command` every channel; null: go ahead. */
export function refuse(acl: Acl | undefined, req: Request, command: "publish" | "subscribe", channels: string[], token?: string): Response | null {
  if (!acl) return null;
  const who = identify(acl, req, token);
  return who instanceof Response ? who : rightsRefusal(acl, who, command, channels);
}

/**
 * Write rights on a channel found in the body, for a caller who logs in with `token`: the user the dispatcher let in
 * when it logged in the same way (no second password hash), else asked again.
 */
export function publishRefusal(acl: Acl | undefined, req: Request, checked: Checked, channel: string, token: string | undefined): Response | null {
  if (!acl) return null;
  if (checked.who !== undefined && token === checked.token) return rightsRefusal(acl, checked.who, "publish", [channel]);
  return refuse(acl, req, "publish", [channel], token);
}

/** The channel a path names (the part after its pattern's prefix), percent-decoded; a broken escape is a 400. */
function pathChannel(url: URL, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new InputError(`the path ${JSON.stringify(url.pathname.slice(0, 200))} has a broken percent-escape: write % itself as %25, and other bytes as %XX of their UTF-8`);
  }
}

/**
 * The row's right, checked before its handler runs and before any body is read (the model is ntfy's
 * limitRequestsWithTopic(authorizeTopicWrite(handlePublish))): what the handler gets, or the 401 or 403 that ends
 * the request. The path's channel is decoded and its name checked first (a 400), then the caller. Without an ACL only
 * the names are checked. Bad input throws InputError.
 */
export function checkRight(acl: Acl | undefined, req: Request, url: URL, row: RouteRow, rawChannel: string): Checked | Response {
  const token = row.token !== undefined ? (url.searchParams.get("token") ?? undefined) : undefined;
  const checked: Checked = { channel: "", channels: [], who: undefined, token };
  if (row.right === "none") return checked;
  if (row.path.endsWith("/<channel>")) {
    checked.channel = pathChannel(url, rawChannel);
    if (!checked.channel) throw new InputError(`name the channel in the path: ${row.method} ${row.path}`);
    refuseChannelName(checked.channel);
  }
  if (row.channelsOf) checked.channel = (checked.channels = row.channelsOf(rawChannel))[0] ?? "";
  else if (row.right === "read") checked.channels = channelsFrom(url);
  if (!acl || row.right === "signed") return checked;
  // With no login outside the body, one may come in it (POST /'s token field): the handler decides once it is read.
  const waitForBody = row.token === "query or body" && token === undefined && authorizationOf(req, url) === null;
  const who = identify(acl, req, token, url);
  if (who instanceof Response) return waitForBody ? checked : who;
  checked.who = who;
  if (row.right === "write") return rightsRefusal(acl, who, "publish", [checked.channel]) ?? checked;
  if (row.right === "read") return rightsRefusal(acl, who, "subscribe", checked.channels) ?? checked;
  return checked;
}

/** ntfy's limit on failed logins per visitor (visitor.go authLimiter; config.go): a burst of 30, then one a minute. */
export const AUTH_FAILURE_BURST = 30;
const AUTH_FAILURES_PER_SECOND = 1 / 60;

/** The token a request's login brings, if any: Bearer's, Basic's password under an empty user name, or ?token= where the row takes it. */
export function tokenOf(header: string | null, url: URL, row?: RouteRow): string | null {
  const m = header ? /^(\S+)\s+(.*)$/.exec(header.trim()) : null;
  const scheme = m?.[1]?.toLowerCase();
  if (scheme === "bearer") return m![2]!.trim();
  if (scheme === "basic") {
    const decoded = Buffer.from(m![2]!.trim(), "base64").toString("utf8");
    return decoded.startsWith(":") ? decoded.slice(1) : null;
  }
  return row?.token !== undefined ? url.searchParams.get("token") : null;
}

/** What the login guard needs of the web server: who a request comes from, the token store, and the answers it gives. */
export type LoginGuardOptions = {
  visitorOf: (req: Request) => string;
  /** Reads an issued token the web server has not read lately (web_tokens.ts TokenStore.refresh): null, nothing to read; rejects when the store is away. */
  refreshToken?: (token: string) => Promise<void> | null;
  /** 429 past the limit (ntfy's 42909), and 503 when a token cannot be read now. */
  tooManyFailures: (visitor: string, retryAfter: number) => Response;
  storeAway: () => Response;
};

/**
 * Logins, before and after the row's check, as ntfy's maybeAuthenticate does them: a visitor past its failed logins
 * gets a 429 for any request that brings credentials (the right ones too, so guessing stops), and each 401 answered to
 * a request with credentials counts as one failure. An issued token not read lately is read first, so the check
 * itself stays synchronous. Without an ACL nobody logs in, and credentials are ignored, as in ntfy without auth-file.
 */
export class LoginGuard {
  private readonly failures = new RateLimiter(AUTH_FAILURES_PER_SECOND, AUTH_FAILURE_BURST);

  constructor(private readonly o: LoginGuardOptions) {}

  /**
   * Before the row's check: the 429, or null to go on; a Promise (of null, or a 503 when the store is away) only while
   * a token is read, so most requests take no extra turn.
   */
  before(acl: Acl | undefined, req: Request, url: URL, row: RouteRow): Response | null | Promise<Response | null> {
    if (!acl || !this.bringsLogin(req, url, row)) return null;
    const visitor = this.o.visitorOf(req);
    const left = this.failures.peek(visitor, Date.now());
    // ntfy's visitor.AuthAllowed: more than one token left; whole tokens, so the count does not depend on how fast failures come.
    if (Math.floor(left) <= 1) return this.o.tooManyFailures(visitor, Math.ceil((2 - left) / AUTH_FAILURES_PER_SECOND));
    const header = authorizationOf(req, url);
    const token = header === false ? null : tokenOf(header, url, row);
    const reading = token ? (this.o.refreshToken?.(token) ?? null) : null;
    return reading && reading.then(
      () => null,
      () => this.o.storeAway(),
    );
  }

  /** After the answer: a 401 to a request that brought credentials is a failed login. */
  after(acl: Acl | undefined, req: Request, url: URL, row: RouteRow, status: number): void {
    if (status === 401 && acl && this.bringsLogin(req, url, row)) this.failures.take(this.o.visitorOf(req), Date.now());
  }

  /** Forgets visitors whose failures have all been forgiven. */
  sweep(nowMs: number): void {
    this.failures.sweep(nowMs);
  }

  private bringsLogin(req: Request, url: URL, row: RouteRow): boolean {
    return authorizationOf(req, url) !== null || (row.token !== undefined && url.searchParams.has("token"));
  }
}
