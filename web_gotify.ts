// web_gotify.ts — Gotify's REST API as its apps and senders call it (v2.9.1, plus v3's POST /message by a client naming
// appid): who a request is, /message, /application, /client, /current/user, /user, /version, /health's fields, images.
//
// Who a request is, as auth/authentication.go requireToken reads it: a token from ?token=, else X-Gotify-Key, else
// Authorization: Bearer; and a Basic user:password, an ACL user (acl.ts userFromAuthorization), which wins when it is
// right. Application tokens are taken only by POST /message; everything else wants a client token or a login. Without
// an ACL every request is the one user "*", but a token that is given and unknown is still a 401.
import { readFileSync } from "node:fs";
import { userFromAuthorization, type AclUser } from "./acl";
import { historyOver } from "./catchup";
import { buildEnvelope, type Notification } from "./message";
import type { z } from "zod";
import { mediaType, readBody } from "./web_body";
import { NOT_CONNECTED, type WebContext } from "./web_context";
import { sniff } from "./web_filetype";
import { InputError, channelRefusal, checkNotification } from "./web_input";
import { Unavailable } from "./web_publisher";
import type { Handler, RouteRow } from "./web_routes";
import {
  AppParamsSchema,
  ClientParamsSchema,
  CreateMessageSchema,
  appJson,
  channelSlug,
  clientJson,
  gotifyError,
  hideAll,
  hideApp,
  hideMessage,
  isHidden,
  messageJson,
  newImageName,
  notificationFromGotify,
  pagedMessages,
  parsePaging,
  parseParams,
  tokenRefusal,
  userJson,
  type AppRecord,
  type ClientRecord,
  type GotifyMessage,
} from "./web_gotify_model";
import { findMessage, readMessages, type GotifyRow } from "./web_gotify_history";
import { ChannelTaken, MAX_IMAGE_BYTES, SortKeyTaken, TokenTaken, type GotifyStore } from "./web_gotify_store";

/** The Gotify version whose API this is: the Android app and gotify-client 0.4.2 speak v2.9.1's. */
export const GOTIFY_API_VERSION = "2.9.1";

// Gotify's own texts (auth/authentication.go requireToken, api/internalutil.go withID, error/notfound.go).
const NO_LOGIN = "you need to provide a valid access token or user credentials to access this api";
const NOT_ALLOWED = "you are not allowed to access this api";
const INVALID_ID = "invalid id";
const PAGE_NOT_FOUND = "page not found";
export const PASSWORDS_IN_ACL =
  "passwords live in the ACL file (--acl), not here: change the user's line there (a new #<sha256>, which printf %s 'password' | sha256sum prints) and send the web server SIGHUP";
export const USERS_IN_ACL = "users are the ACL file's (--acl): add, change or remove them there and send the web server SIGHUP; this server keeps no Gotify users of its own";

const JSON_TYPE = { "content-type": "application/json; charset=utf-8" };
const ok = (body: unknown): Response => new Response(JSON.stringify(body), { status: 200, headers: JSON_TYPE });
/** What Gin answers a handler that wrote nothing (a DELETE): 200, no body, the type Gotify's middleware set. */
const done = (): Response => new Response("", { status: 200, headers: { "content-type": "application/json" } });
/** An error in Gotify's shape (model/error.go, error/handler.go writeError). */
export const gotifyFail = (status: number, description: string, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(gotifyError(status, description)), { status, headers: { ...JSON_TYPE, ...headers } });

/** A refusal a handler throws, answered in Gotify's shape. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * DELETE on Gotify's paths, which ntfy's rule (DELETE /<topic>/<sid>) would otherwise claim: web.ts leaves these
 * answers in Gotify's shape.
 */
export const isGotifyRequest = (method: string, pathname: string): boolean => method === "DELETE" && /^\/(message|application|client|user)(\/|$)/.test(pathname);

/** The token a request brings, in auth/authentication.go tokenFromQueryOrHeader's order: ?token=, X-Gotify-Key, Bearer. */
export function gotifyToken(req: Request, url: URL): string {
  const query = url.searchParams.get("token");
  if (query) return query;
  const key = req.headers.get("x-gotify-key");
  if (key) return key;
  const header = req.headers.get("authorization") ?? "";
  return header.length >= 7 && header.slice(0, 7).toLowerCase() === "bearer " ? header.slice(7) : "";
}

/** Who a Gotify request is: its user's name, the ACL's user (null without an ACL) and the token it came with. */
export type GotifyCaller = { user: string; acl: AclUser | null; app: AppRecord | null; client: ClientRecord | null };
/** What a route takes: a client token or a login (most), or also an application token (POST /message). */
type Takes = "client" | "app or client";

/** The routes' shared state: the context, the store and reading histories. */
type Deps = { ctx: WebContext; store: GotifyStore; history: ReturnType<typeof historyOver> };

/**
 * The caller as requireToken finds them: a right Basic login wins; else the token: a client's, an application's where
 * `takes` allows (another is a 401, as there), or, beyond Gotify, a login token of the ACL's (ntfy's tk_…) as Bearer.
 * With no credentials: "*" on a server without an ACL, else the 401.
 */
export function callerOf(d: Pick<Deps, "ctx" | "store">, req: Request, url: URL, takes: Takes): GotifyCaller | Response {
  const acl = d.ctx.opts.acl;
  const header = req.headers.get("authorization");
  const login = (scheme: RegExp): AclUser | null => {
    if (!acl || !header || !scheme.test(header)) return null;
    const who = userFromAuthorization(acl, header);
    return "user" in who && who.user !== acl.anonymous ? who.user : null;
  };
  const basic = login(/^basic\s/i);
  if (basic) return { user: basic.name, acl: basic, app: null, client: null };
  // A token's user must still be in the ACL file, and on: a user taken out there loses their tokens too.
  const userOf = (name: string): AclUser | null | false => (!acl ? null : acl.users.get(name)?.enabled ? acl.users.get(name)! : false);
  const token = gotifyToken(req, url);
  if (token) {
    const client = d.store.clientByToken(token);
    const app = client || takes === "client" ? null : d.store.appByToken(token);
    const owner = client?.user ?? app?.user;
    if (owner !== undefined) {
      const user = userOf(owner);
      if (user === false) return gotifyFail(401, NO_LOGIN);
      return { user: owner, acl: user, app, client };
    }
    const bearer = login(/^bearer\s/i);
    if (bearer) return { user: bearer.name, acl: bearer, app: null, client: null };
    return gotifyFail(401, NO_LOGIN);
  }
  if (!acl) return { user: "*", acl: null, app: null, client: null };
  return gotifyFail(401, NO_LOGIN);
}

/** Whether the caller may read a channel now (rights change on SIGHUP); everyone may without an ACL. */
const mayRead = (c: GotifyCaller, channel: string): boolean => c.acl === null || c.acl.mayReadOverHttp([channel]);

/**
 * A request's fields as Gin's ctx.Bind reads them: a JSON body (application/json) alone; else the query and a form
 * or multipart body's text fields, the body's winning (Go's Request.Form). Extras come only in JSON (form:"-").
 */
async function bindFields(req: Request, url: URL, maxBody: number): Promise<Record<string, unknown>> {
  const raw = await readBody(req, maxBody);
  const type = mediaType(req);
  const text = new TextDecoder().decode(raw);
  if (type === "application/json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new Refusal(400, text.trim() === "" ? "the JSON body is empty: send an object" : `the body is not valid JSON: ${(err as Error).message}`);
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Refusal(400, "the JSON body must be an object");
    return parsed as Record<string, unknown>;
  }
  const fields: Record<string, unknown> = Object.fromEntries(url.searchParams);
  delete fields.token;
  if (type === "application/x-www-form-urlencoded") Object.assign(fields, Object.fromEntries(new URLSearchParams(text)));
  else if (type === "multipart/form-data") {
    for (const [k, v] of await formOf(req, raw)) if (typeof v === "string") fields[k] = v;
  }
  delete fields.extras;
  return fields;
}

/** A multipart body as FormData, or Gotify's 400 when it cannot be read. */
async function formOf(req: Request, raw: Uint8Array): Promise<FormData> {
  try {
    return await new Response(Buffer.from(raw), { headers: { "content-type": req.headers.get("content-type")! } }).formData();
  } catch (err) {
    throw new Refusal(400, `the multipart body cannot be read: ${(err as Error).message}`);
  }
}

/** A request checked by a model schema, or Gotify's 400 with Gin's texts ("Field 'name' is required"). */
function bound<T>(schema: z.ZodType<T>, fields: Record<string, unknown>): T {
  const r = parseParams(schema, fields);
  if (!r.ok) throw new Refusal(400, r.description);
  return r.value;
}

/** A path's id as withID parses it (an unsigned integer), or its 400 "invalid id". */
function idOf(text: string | undefined): number {
  if (text === undefined || !/^\d{1,15}$/.test(text)) throw new Refusal(400, INVALID_ID);
  return Number(text);
}

/**
 * Runs a handler and answers its refusals in Gotify's shape: a Refusal, bad input (InputError, a 413 among them), and
 * the pub/sub server away (503, as the dispatcher words it). Anything else goes on to the dispatcher's 500.
 */
function shaped(handler: Handler): Handler {
  return async (req, url, checked) => {
    try {
      return await handler(req, url, checked);
    } catch (err) {
      if (err instanceof Refusal || err instanceof InputError) return gotifyFail(err.status, err.message);
      if (err instanceof ChannelTaken || err instanceof SortKeyTaken || err instanceof TokenTaken) return gotifyFail(400, err.message);
      if (err instanceof Unavailable) return gotifyFail(503, NOT_CONNECTED, { "retry-after": "5" });
      throw err;
    }
  };
}

/** A handler for a caller who logged in as `takes` allows; the 401 otherwise. */
function withCaller(d: Deps, takes: Takes, handler: (c: GotifyCaller, req: Request, url: URL) => Promise<Response>): Handler {
  return shaped(async (req, url) => {
    // A web server just started may still be loading apps and clients: a valid token must not get a 401 meanwhile.
    if (!(await d.store.ready().then(() => true, () => false))) return gotifyFail(503, NOT_CONNECTED, { "retry-after": "5" });
    const caller = callerOf(d, req, url, takes);
    if (caller instanceof Response) return caller;
    // Gotify's lastUsed, written before the answer: a write still under way could bring back a client deleted next.
    if (caller.client) await d.store.touchClient(caller.client).catch(() => {});
    return handler(caller, req, url);
  });
}

/** Gotify's listing rows as its message JSON, each with the id of the user's app on its channel. */
const asMessages = (rows: GotifyRow[]): GotifyMessage[] => rows.flatMap((r) => messageJson(r.env, r.app.id) ?? []);

/** Where a page's `next` points: --base-url, else the request's origin, and its path (api/message.go buildWithPaging). */
const pageUrl = (d: Deps, url: URL): string => `${d.ctx.opts.baseUrl ?? url.origin}${url.pathname}`;

// ---- POST /message ----------------------------------------------------------------------------------------------

/** The app a login or client token publishes as (v3's appid), or Gotify v3's 400s. */
function appNamed(d: Deps, c: GotifyCaller, fields: Record<string, unknown>): AppRecord {
  const raw = fields.appid;
  const appid = typeof raw === "number" ? raw : typeof raw === "string" && /^\d{1,15}$/.test(raw.trim()) ? Number(raw) : 0;
  if (!appid) throw new Refusal(400, "appid is required when not authenticating with an application token");
  const app = d.store.appOf(c.user, appid);
  if (!app) throw new Refusal(400, "appid not found");
  return app;
}

/**
 * api/message.go CreateMessage: an application token's app, or (v3) a login's or client's `appid`; the owner's write
 * right on its channel now; published the normal way (history, streams, RESP, Web Push); Gotify's message JSON back.
 */
function createMessage(d: Deps): Handler {
  return withCaller(d, "app or client", async (c, req, url) => {
    const fields = await bindFields(req, url, d.ctx.opts.maxBody);
    const asked = bound(CreateMessageSchema, fields);
    const app = c.app ?? appNamed(d, c, fields);
    const acl = d.ctx.opts.acl;
    const owner = acl?.users.get(app.user);
    if (acl && !(owner?.enabled && owner.mayPublish(app.channel)))
      throw new Refusal(403, `user '${app.user}' may not publish to "${app.channel}", the channel of application ${app.id}; the ACL file sets each user's channels`);
    const n = checkNotification(notificationFromGotify(app, asked), d.ctx.opts.maxMessage);
    const now = Date.now();
    const published = await d.ctx.publish(n, now);
    if (c.app) await d.store.touchApp(app).catch(() => {});
    // The Publisher numbered it on its way to history: Gotify's answer is the envelope as stored, number included.
    const shown = published.gotify === undefined ? null : messageJson(buildEnvelope({ ...n, gotify: { ...n.gotify, id: published.gotify } }, published.id, now), app.id);
    if (!shown) throw new Refusal(500, `the message was published to "${app.channel}" (${published.id}) but got no Gotify number: the channel's application was deleted meanwhile`);
    return ok(shown);
  });
}

// ---- Listing and hiding messages ---------------------------------------------------------------------------------

/** A page of the caller's messages on `apps` (those they may read now), as api/message.go withPaging answers. */
async function page(d: Deps, c: GotifyCaller, apps: AppRecord[], url: URL): Promise<Response> {
  const paging = parsePaging(url.searchParams);
  if (!paging.ok) throw new Refusal(400, paging.description);
  const readable = apps.filter((a) => mayRead(c, a.channel));
  const rows = await readMessages(d.history, readable, await d.store.hidden(c.user), paging.value);
  return ok(pagedMessages(asMessages(rows), paging.value.limit, pageUrl(d, url)));
}

function messageRoutes(d: Deps): { list: Handler; hideAll: Handler; hideOne: Handler } {
  return {
    // api/message.go GetMessages.
    list: withCaller(d, "client", (c, _req, url) => page(d, c, d.store.appsOf(c.user), url)),
    // api/message.go DeleteMessages: every message numbered so far is hidden from this user.
    hideAll: withCaller(d, "client", async (c) => {
      const upTo = await d.store.current("message");
      await d.store.hide(c.user, (m) => hideAll(m, upTo));
      return done();
    }),
    // api/message.go DeleteMessage: one of the user's messages, else 404 "message does not exist".
    hideOne: withCaller(d, "client", async (c, _req, url) => {
      const n = idOf(url.pathname.slice("/message/".length));
      const marks = await d.store.hidden(c.user);
      const apps = d.store.appsOf(c.user).filter((a) => mayRead(c, a.channel));
      const found = n > 0 ? await findMessage(d.history, apps, n) : null;
      if (!found || isHidden(marks, found.app.id, n)) throw new Refusal(404, "message does not exist");
      await d.store.hide(c.user, (m) => hideMessage(m, n));
      return done();
    }),
  };
}

// ---- Applications -----------------------------------------------------------------------------------------------

/** Write and read rights on the channel an app is to be bound to, or the 403 (or the 400 for a name HTTP does not take). */
function bindable(c: GotifyCaller, channel: string): void {
  const why = channelRefusal(channel);
  if (why) throw new Refusal(400, why);
  if (c.acl && !(c.acl.mayPublish(channel) && c.acl.mayReadOverHttp([channel])))
    throw new Refusal(403, `user '${c.user}' may not both publish to and read "${channel}", so no application can be bound to it; the ACL file sets each user's channels`);
}

/**
 * A token carried over from a Gotify server (our extension: `token` in a POST body, never the query, whose ?token= is
 * the login): Gotify v2's form for its kind, or the 400 saying why. Whether it is in use is the store's to say.
 */
function carriedToken(kind: "app" | "client", token: string | undefined): void {
  const why = token === undefined ? null : tokenRefusal(kind, token);
  if (why) throw new Refusal(400, why);
}

/**
 * api/application.go CreateApplication, bound to the `channel` named or to gotify-<slug of the name>, with the
 * `token` given (carried over) or a new one.
 */
function createApp(d: Deps): Handler {
  return withCaller(d, "client", async (c, req, url) => {
    const params = bound(AppParamsSchema, await bindFields(req, url, d.ctx.opts.maxBody));
    carriedToken("app", params.token);
    bindable(c, params.channel ?? `gotify-${channelSlug(params.name)}`);
    const app = await d.store.createApp(c.user, params);
    // The default channel took its -<id> suffix (the user already had gotify-<slug>): its rights are asked again.
    if (params.channel === undefined && app.channel !== `gotify-${channelSlug(params.name)}`) {
      try {
        bindable(c, app.channel);
      } catch (err) {
        await d.store.deleteApp(app);
        throw err;
      }
    }
    return ok(appJson(app));
  });
}

/** The image in a multipart body's `file` field, checked as UploadApplicationImage does; its bytes, type and extension. */
async function uploadedImage(req: Request): Promise<{ bytes: Uint8Array; type: string; ext: string }> {
  // An image is kept in the pub/sub server, so the body's limit is the image's, with room for the form around it.
  const raw = await readBody(req, MAX_IMAGE_BYTES + 64 * 1024);
  const file = mediaType(req) === "multipart/form-data" ? (await formOf(req, raw)).get("file") : null;
  if (!file || typeof file === "string") throw new Refusal(400, "file with key 'file' must be present");
  const bytes = new Uint8Array(await file.arrayBuffer());
  const type = sniff(bytes, file.name, true).type;
  if (!type.startsWith("image/")) throw new Refusal(400, "file must be an image");
  const ext = /\.[^./]*$/.exec(file.name)?.[0].toLowerCase() ?? "";
  if (![".gif", ".png", ".jpg", ".jpeg"].includes(ext)) throw new Refusal(400, "invalid file extension");
  if (bytes.length > MAX_IMAGE_BYTES) throw new Refusal(413, `the image has ${bytes.length} bytes; an application image may have at most ${MAX_IMAGE_BYTES}`);
  return { bytes, type, ext };
}

/** PUT, DELETE /application/{id}; GET, DELETE /application/{id}/message; POST, DELETE /application/{id}/image. */
function appRoutes(d: Deps): Handler {
  const missing = (id: number) => new Refusal(404, `app with id ${id} doesn't exists`);
  return withCaller(d, "client", async (c, req, url) => {
    const [idText, sub, ...more] = url.pathname.slice("/application/".length).split("/");
    const what = `${req.method} ${sub ?? ""}`;
    const known = more.length === 0 && ["PUT ", "DELETE ", "GET message", "DELETE message", "POST image", "DELETE image"].includes(what);
    if (!known) throw new Refusal(404, PAGE_NOT_FOUND);
    const id = idOf(idText);
    if (what === "GET message") {
      // api/message.go GetMessagesWithApplication checks the paging before the app.
      const paging = parsePaging(url.searchParams);
      if (!paging.ok) throw new Refusal(400, paging.description);
      const app = d.store.appOf(c.user, id);
      if (!app) throw new Refusal(404, "application does not exist");
      return page(d, c, [app], url);
    }
    const app = d.store.appOf(c.user, id);
    if (what === "DELETE message") {
      if (!app) throw new Refusal(404, "application does not exists");
      const upTo = await d.store.current("message");
      await d.store.hide(c.user, (m) => hideApp(m, app.id, upTo));
      return done();
    }
    if (!app) throw missing(id);
    if (what === "PUT ") return ok(appJson(await updateApp(d, app, await bindFields(req, url, d.ctx.opts.maxBody))));
    if (what === "DELETE ") {
      await d.store.deleteApp(app);
      if (app.image) await d.store.dropImage(app.image);
      return done();
    }
    if (what === "POST image") {
      const image = await uploadedImage(req);
      const name = newImageName(image.ext);
      await d.store.putImage(name, image.bytes, image.type);
      const updated = await d.store.updateApp({ ...app, image: name });
      if (app.image) await d.store.dropImage(app.image);
      return ok(appJson(updated));
    }
    if (!app.image) throw new Refusal(400, `app with id ${id} does not have a customized image`);
    const updated = await d.store.updateApp({ ...app, image: "" });
    await d.store.dropImage(app.image);
    return ok(appJson(updated));
  });
}

/** api/application.go UpdateApplication: name, description and default priority; a sort key when one is given. */
async function updateApp(d: Deps, app: AppRecord, fields: Record<string, unknown>): Promise<AppRecord> {
  const params = bound(AppParamsSchema, fields);
  if (params.channel !== undefined && params.channel !== app.channel)
    throw new Refusal(400, `an application's channel never changes (application ${app.id} is bound to "${app.channel}"): create another application for "${params.channel}"`);
  if (params.token !== undefined && params.token !== app.token)
    throw new Refusal(400, `an application's token never changes: a token is given only when the application is made (POST /application)`);
  return d.store.updateApp({ ...app, name: params.name, description: params.description, defaultPriority: params.defaultPriority, sortKey: params.sortKey || app.sortKey });
}

// ---- Clients ----------------------------------------------------------------------------------------------------

function clientRoutes(d: Deps): { list: Handler; create: Handler; one: Handler } {
  return {
    list: withCaller(d, "client", async (c) => ok(d.store.clientsOf(c.user).map(clientJson))),
    create: withCaller(d, "client", async (c, req, url) => {
      const params = bound(ClientParamsSchema, await bindFields(req, url, d.ctx.opts.maxBody));
      carriedToken("client", params.token);
      return ok(clientJson(await d.store.createClient(c.user, params.name, params.token)));
    }),
    // api/client.go UpdateClient and DeleteClient.
    one: withCaller(d, "client", async (c, req, url) => {
      const rest = url.pathname.slice("/client/".length);
      if (rest.includes("/")) throw new Refusal(404, PAGE_NOT_FOUND);
      const id = idOf(rest);
      const client = d.store.clientOf(c.user, id);
      if (!client) throw new Refusal(404, `client with id ${id} doesn't exists`);
      if (req.method === "DELETE") {
        await d.store.deleteClient(client);
        return done();
      }
      const params = bound(ClientParamsSchema, await bindFields(req, url, d.ctx.opts.maxBody));
      if (params.token !== undefined && params.token !== client.token)
        throw new Refusal(400, "a client's token never changes: a token is given only when the client is made (POST /client)");
      return ok(clientJson(await d.store.updateClient({ ...client, name: params.name })));
    }),
  };
}

// ---- Users, version, health, images -----------------------------------------------------------------------------

function userRoutes(d: Deps): { current: Handler; password: Handler; users: Handler; register: Handler } {
  return {
    // api/user.go GetCurrentUser: the id kept for the name; an ACL user is no admin, the open server's "*" is.
    current: withCaller(d, "client", async (c) => ok(userJson(await d.store.userId(c.user), c.user, d.ctx.opts.acl === undefined))),
    password: withCaller(d, "client", async () => gotifyFail(400, PASSWORDS_IN_ACL)),
    // The admin's routes (RequireAdmin): logged in first, then refused.
    users: withCaller(d, "client", async () => gotifyFail(403, USERS_IN_ACL)),
    // POST /user (registration, auth optional there): refused as it is when registration is off.
    register: shaped(async () => gotifyFail(403, USERS_IN_ACL)),
  };
}

/** Gotify's GET/HEAD /health fields (api/health.go: green, or orange with the database red) ahead of ours. */
function healthWithGotify(d: Deps, ours: Handler): Handler {
  return async (req, url, checked) => {
    const res = await ours(req, url, checked);
    const body = (await res.json()) as Record<string, unknown>;
    const up = d.ctx.hub.connected;
    return new Response(JSON.stringify({ health: up ? "green" : "orange", database: up ? "green" : "red", ...body }), { status: res.status, headers: res.headers });
  };
}

/** GET /image/<name>: an app's uploaded image (router.go onlyImageFS: .gif .png .jpg .jpeg only), else Gotify's 404. */
function imageRoute(d: Deps): Handler {
  return shaped(async (_req, url) => {
    const name = url.pathname.slice("/image/".length);
    const found = /^[A-Za-z0-9._-]+\.(gif|png|jpe?g)$/i.test(name) ? await d.store.image(name) : null;
    if (!found) throw new Refusal(404, PAGE_NOT_FOUND);
    // Served as the picture it was sniffed to be, never run: no sniffing by the browser, no script, a sandbox.
    const headers = { "content-type": found.type, "x-content-type-options": "nosniff", "content-security-policy": "default-src 'none'; sandbox", "cache-control": "public, max-age=86400" };
    return new Response(Buffer.from(found.bytes), { headers });
  });
}

/** The picture of an app without its own (Gotify's static/defaultapp.png): the web app's icon, read once. */
function defaultAppImage(): Handler {
  const png = readFileSync(new URL("./app/icon-192.png", import.meta.url));
  return async () => new Response(png, { headers: { "content-type": "image/png", "cache-control": "public, max-age=86400" } });
}

/**
 * Gotify's routes for web.ts's route table. Each logs its caller in itself (right "none"), so its refusals keep
 * Gotify's shape; ?token= is named (token "query") so the dispatcher counts a wrong one as a failed login. `health`
 * is web_ops.ts's GET /health, answered with Gotify's fields added.
 */
export function gotifyRoutes(ctx: WebContext, store: GotifyStore, health: Handler): RouteRow[] {
  const history = historyOver((command, args) => ctx.publisher.send(command, args), async (channel) => (await ctx.publisher.layout()).historyKey(channel));
  const d: Deps = { ctx, store, history };
  const row = (method: string, path: string, handler: Handler): RouteRow => ({ method, path, right: "none", handler, token: "query" });
  const messages = messageRoutes(d);
  const apps = appRoutes(d);
  const clients = clientRoutes(d);
  const users = userRoutes(d);
  const started = new Date().toISOString();
  const version: Handler = async () => ok({ version: GOTIFY_API_VERSION, commit: "notistream", buildDate: started });
  const withFields = healthWithGotify(d, health);
  return [
    row("POST", "/message", createMessage(d)),
    row("GET", "/message", messages.list),
    row("DELETE", "/message", messages.hideAll),
    row("DELETE", "/message/<channel>", messages.hideOne),
    row("GET", "/application", withCaller(d, "client", async (c) => ok(d.store.appsOf(c.user).sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : a.id - b.id)).map(appJson)))),
    row("POST", "/application", createApp(d)),
    ...["GET", "POST", "PUT", "DELETE"].map((method) => row(method, "/application/<channel>", apps)),
    row("GET", "/client", clients.list),
    row("POST", "/client", clients.create),
    row("PUT", "/client/<channel>", clients.one),
    row("DELETE", "/client/<channel>", clients.one),
    row("GET", "/current/user", users.current),
    row("POST", "/current/user/password", users.password),
    row("GET", "/user", users.users),
    row("POST", "/user", users.register),
    ...["GET", "POST", "DELETE"].map((method) => row(method, "/user/<channel>", users.users)),
    row("GET", "/version", version),
    row("GET", "/health", withFields),
    row("HEAD", "/health", withFields),
    row("GET", "/static/defaultapp.png", defaultAppImage()),
    row("GET", "/image/<channel>", imageRoute(d)),
  ];
}
