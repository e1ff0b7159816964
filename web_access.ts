// web_access.ts — who may use a route: a row's right checked before its handler runs (before any body is read), and
// the ACL's answers to a request, asked directly (mayPublish, mayReadOverHttp): who it is, a 401 with the challenge, a 403.
import { userFromAuthorization, type Acl, type AclUser } from "./acl";
import { CHALLENGE, error } from "./web_context";
import { channelsFrom } from "./web_events";
import { InputError, refuseChannelName } from "./web_input";
import type { Checked, RouteRow } from "./web_routes";

/** The user a request logs in as (Authorization, else `token`, else anonymous), or its 401 with the challenge. */
export function identify(acl: Acl, req: Request, token?: string): AclUser | Response {
  const who = userFromAuthorization(acl, req.headers.get("authorization"), token);
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
  const waitForBody = row.token === "query or body" && token === undefined && !req.headers.get("authorization");
  const who = identify(acl, req, token);
  if (who instanceof Response) return waitForBody ? checked : who;
  checked.who = who;
  if (row.right === "write") return rightsRefusal(acl, who, "publish", [checked.channel]) ?? checked;
  if (row.right === "read") return rightsRefusal(acl, who, "subscribe", checked.channels) ?? checked;
  return checked;
}
