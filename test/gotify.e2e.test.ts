// test/gotify.e2e.test.ts — Gotify's REST API (web_gotify.ts) over real sockets, on our pub/sub server and on
// redis-server: every route's answers and refusals checked against Gotify v2.9.1's code (each test cites the
// file:function it follows), publishing as JSON, form and query, the priority maps both ways, extras onto our
// envelope, Gotify's messages seen by /events, ntfy's /json and RESP, and messages published our way or ntfy's listed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, Raw, Subscriber, haveRedis, startPubSub, startRedis, startWebServer, tempPath, until, type Running } from "./helpers";

type Web = Running & { url: string };
type Json = Record<string, unknown>;
/** An answer: its status, type and text, the body as an object (`body`) or, for a list, its items (`items`). */
type Answer = { status: number; type: string | null; text: string; body: Json; items: Json[] };

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
/** Gotify's error body (model/error.go Error; error/handler.go writeError: the status text of net/http). */
const gotifyError = (status: number, description: string) => ({
  error: { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 413: "Request Entity Too Large" }[status],
  errorCode: status,
  errorDescription: description,
});
const NO_LOGIN = gotifyError(401, "you need to provide a valid access token or user credentials to access this api");
/** Go's time.Time in JSON: RFC 3339 with the fraction's trailing zeros dropped. */
const GO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

async function call(web: Web, method: string, path: string, opts: { headers?: Record<string, string>; body?: BodyInit; json?: unknown; form?: Record<string, string> } = {}): Promise<Answer> {
  const headers = { ...opts.headers };
  let body = opts.body;
  if (opts.json !== undefined) (headers["content-type"] = "application/json"), (body = JSON.stringify(opts.json));
  if (opts.form !== undefined) body = new URLSearchParams(opts.form);
  const r = await fetch(`${web.url}${path}`, { method, headers, body });
  const text = await r.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  const items = Array.isArray(parsed) ? (parsed as Json[]) : [];
  return { status: r.status, type: r.headers.get("content-type"), text, body: (parsed && !Array.isArray(parsed) ? parsed : {}) as Json, items };
}

/** An SSE stream's text as it arrives, until closed. */
function sse(url: string, headers: Record<string, string> = {}): { text: () => string; close: () => void } {
  const abort = new AbortController();
  let text = "";
  void (async () => {
    const r = await fetch(url, { headers, signal: abort.signal });
    const dec = new TextDecoder();
    for await (const chunk of r.body!) text += dec.decode(chunk as Uint8Array);
  })().catch(() => {});
  return { text: () => text, close: () => abort.abort() };
}

/** ntfy's poll of a channel (GET /<topic>/json?poll=1): its messages, oldest first. */
async function ntfyPoll(web: Web, channel: string): Promise<Json[]> {
  const text = await (await fetch(`${web.url}/${channel}/json?poll=1`)).text();
  return text.trim() ? text.trim().split("\n").map((l) => JSON.parse(l) as Json) : [];
}

/**
 * Waits until `web` knows an application made on another web server (announced on notistream-gotify:changes): a
 * web server numbers and lists only the apps it has heard of.
 */
async function seenBy(web: Web, app: Json, headers: Record<string, string> = {}): Promise<void> {
  let seen = false;
  for (const end = Date.now() + 15_000; !seen && Date.now() < end; await Bun.sleep(20)) seen = (await call(web, "GET", "/application", { headers })).items.some((a) => a.id === app.id);
  if (!seen) throw new Error(`application ${String(app.id)} never reached ${web.url}`);
}

const BACKENDS = [
  { name: "our pub/sub server", start: () => startPubSub() },
  ...(haveRedis ? [{ name: "redis-server 7", start: () => startRedis() }] : []),
];

describe.each(BACKENDS)("Gotify's API on an open server, on $name", ({ start }) => {
  let backend: Running;
  let web: Web;
  let web2: Web;
  beforeAll(async () => {
    backend = await start();
    const redis = `redis://127.0.0.1:${backend.port}`;
    [web, web2] = await Promise.all([startWebServer(redis), startWebServer(redis)]);
  });
  afterAll(async () => {
    await Promise.all([web?.stop(), web2?.stop()]);
    await backend?.stop();
  });

  // router.go's g.GET("version") answers model/version.go VersionInfo; api/health.go Health answers model/health.go Health.
  test("GET /version is Gotify's VersionInfo; /health has Gotify's fields beside ours", async () => {
    const v = await call(web, "GET", "/version");
    expect(v.status).toBe(200);
    expect(v.body).toEqual({ version: "2.9.1", commit: "notistream", buildDate: expect.any(String) });
    const h = await call(web, "GET", "/health");
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ health: "green", database: "green", ok: true, hub: { connected: true } });
    expect((await fetch(`${web.url}/health`, { method: "HEAD" })).status).toBe(200);
  });

  // api/user.go GetCurrentUser (model/user.go UserExternal); on a server without an ACL everyone is the one admin "*".
  test("GET /current/user without an ACL is the one user '*', an admin, with one id on every web server", async () => {
    const a = await call(web, "GET", "/current/user");
    expect(a.status).toBe(200);
    expect(a.body).toEqual({ id: expect.any(Number), name: "*", admin: true });
    expect((await call(web2, "GET", "/current/user")).body).toEqual(a.body);
    // A token that is given and unknown is still a 401 (auth/authentication.go requireToken).
    expect(await call(web, "GET", "/current/user?token=Cnotatokenatall")).toMatchObject({ status: 401, body: NO_LOGIN });
  });

  // api/application.go CreateApplication, GetApplications, UpdateApplication; error/handler.go validationErrorToText.
  test("applications: created on gotify-<slug> or a named channel, listed, renamed, and their refusals", async () => {
    const made = await call(web, "POST", "/application", { form: { name: "Backup Job", description: "nightly", defaultPriority: "6" } });
    expect(made.status).toBe(200);
    expect(made.type).toBe("application/json; charset=utf-8");
    expect(made.body).toEqual({
      id: expect.any(Number),
      token: expect.stringMatching(/^A[a-zA-Z0-9._-]{14}$/),
      name: "Backup Job",
      description: "nightly",
      internal: false,
      image: "static/defaultapp.png",
      defaultPriority: 6,
      lastUsed: null,
      sortKey: expect.any(String),
      channel: "gotify-backup-job",
    });
    const id = made.body.id as number;
    // The same name again: the user already has gotify-backup-job, so the new one takes its id as a suffix.
    const again = await call(web, "POST", "/application", { json: { name: "Backup Job" } });
    expect(again.body.channel).toBe(`gotify-backup-job-${again.body.id}`);
    // Our extension: the channel named in the body, once per user.
    expect((await call(web, "POST", "/application", { json: { name: "Alerts", channel: "alerts-gotify" } })).body.channel).toBe("alerts-gotify");
    const taken = await call(web, "POST", "/application", { json: { name: "Other", channel: "alerts-gotify" } });
    expect(taken.status).toBe(400);
    expect(taken.body).toMatchObject({ error: "Bad Request", errorCode: 400, errorDescription: expect.stringContaining("alerts-gotify") });
    expect(await call(web, "POST", "/application", { json: { description: "no name" } })).toMatchObject({ status: 400, body: gotifyError(400, "Field 'name' is required") });
    expect((await call(web, "POST", "/application", { json: { name: "x", channel: "notistream:own" } })).status).toBe(400);
    // Listed on every web server (kept in the pub/sub server), with its token (gotify-client and the Android app read it).
    await seenBy(web2, made.body);
    const listed = await call(web2, "GET", "/application");
    expect(listed.status).toBe(200);
    expect(listed.items.map((a) => a.name)).toEqual(["Backup Job", "Backup Job", "Alerts"]);
    expect(listed.items[0]).toEqual(made.body);
    // PUT renames; the channel never changes.
    const renamed = await call(web, "PUT", `/application/${id}`, { json: { name: "Backups", description: "", defaultPriority: 2 } });
    expect(renamed.body).toMatchObject({ id, name: "Backups", defaultPriority: 2, channel: "gotify-backup-job", token: made.body.token });
    expect((await call(web, "PUT", `/application/${id}`, { json: { name: "Backups", channel: "elsewhere" } })).status).toBe(400);
    expect(await call(web, "PUT", `/application/${id}`, { json: {} })).toMatchObject({ status: 400, body: gotifyError(400, "Field 'name' is required") });
    expect(await call(web, "PUT", "/application/99999", { json: { name: "x" } })).toMatchObject({ status: 404, body: gotifyError(404, "app with id 99999 doesn't exists") });
    // api/internalutil.go withID.
    expect(await call(web, "PUT", "/application/abc", { json: { name: "x" } })).toMatchObject({ status: 400, body: gotifyError(400, "invalid id") });
    expect(await call(web, "DELETE", "/application/99999")).toMatchObject({ status: 404, body: gotifyError(404, "app with id 99999 doesn't exists") });
    // error/notfound.go NotFound for a path Gotify has no route for.
    expect(await call(web, "GET", `/application/${id}/nothing`)).toMatchObject({ status: 404, body: gotifyError(404, "page not found") });
  });

  // api/client.go CreateClient, GetClients, UpdateClient, DeleteClient.
  test("clients: created, listed, renamed, deleted, and a deleted client's token stops working", async () => {
    const made = await call(web, "POST", "/client", { json: { name: "phone" } });
    expect(made.status).toBe(200);
    expect(made.body).toEqual({ id: expect.any(Number), token: expect.stringMatching(/^C[a-zA-Z0-9._-]{14}$/), name: "phone", lastUsed: null });
    const token = made.body.token as string;
    let listed: Json[] = [];
    for (const end = Date.now() + 15_000; !listed.some((c) => c.id === made.body.id) && Date.now() < end; await Bun.sleep(20)) listed = (await call(web2, "GET", "/client")).items;
    expect(listed).toContainEqual(made.body);
    expect(await call(web, "POST", "/client", { form: {} })).toMatchObject({ status: 400, body: gotifyError(400, "Field 'name' is required") });
    const renamed = await call(web, "PUT", `/client/${made.body.id}`, { form: { name: "tablet" } });
    expect(renamed.body).toEqual({ ...made.body, name: "tablet" });
    // The client token logs in: X-Gotify-Key, ?token= and Bearer (auth/authentication.go tokenFromQueryOrHeader).
    for (const headers of [{ "x-gotify-key": token }, { authorization: `Bearer ${token}` }] as Record<string, string>[]) expect((await call(web2, "GET", "/current/user", { headers })).status).toBe(200);
    expect((await call(web2, "GET", `/client?token=${token}`)).status).toBe(200);
    const gone = await call(web, "DELETE", `/client/${made.body.id}`);
    expect(gone).toMatchObject({ status: 200, text: "" });
    expect(await call(web, "DELETE", `/client/${made.body.id}`)).toMatchObject({ status: 404, body: gotifyError(404, `client with id ${made.body.id} doesn't exists`) });
    expect(await call(web, "PUT", "/client/x", { json: { name: "y" } })).toMatchObject({ status: 400, body: gotifyError(400, "invalid id") });
    // Every web server hears of the deletion (notistream-gotify:changes).
    let status = 200;
    for (const end = Date.now() + 15_000; status !== 401 && Date.now() < end; await Bun.sleep(50)) status = (await call(web2, "GET", `/current/user?token=${token}`)).status;
    expect(status).toBe(401);
  });

  // api/message.go CreateMessage (model/message.go MessageExternal: message required, title, priority; Gin's Bind reads
  // JSON, a form or the query); v3's CreateMessage takes a client token or a login with appid.
  test("POST /message: JSON, form and query, each token source, the app's name and priority as defaults, and its refusals", async () => {
    const app = (await call(web, "POST", "/application", { json: { name: "Publisher", defaultPriority: 4 } })).body;
    const token = app.token as string;
    await seenBy(web2, app);
    const json = await call(web, "POST", "/message", { headers: { "x-gotify-key": token }, json: { title: "T", message: "as json", priority: 9 } });
    expect(json.status).toBe(200);
    expect(json.body).toEqual({ id: expect.any(Number), appid: app.id, message: "as json", title: "T", priority: 9, date: expect.stringMatching(GO_TIME) });
    const form = await call(web, "POST", `/message?token=${token}`, { form: { message: "as form", title: "  " } });
    expect(form.body).toMatchObject({ appid: app.id, message: "as form", title: "Publisher", priority: 4 });
    const query = await call(web, "POST", `/message?message=as%20query&priority=0&title=Q`, { headers: { authorization: `Bearer ${token}` } });
    expect(query.body).toMatchObject({ message: "as query", title: "Q", priority: 0 });
    // Numbers only grow, whichever web server publishes.
    const other = await call(web2, "POST", "/message", { headers: { "x-gotify-key": token }, json: { message: "from web2" } });
    const ids = [json, form, query, other].map((a) => a.body.id as number);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(new Set(ids).size).toBe(4);
    // ?token= wins over X-Gotify-Key, which wins over Bearer (tokenFromQueryOrHeader).
    expect((await call(web, "POST", `/message?token=${token}`, { headers: { "x-gotify-key": "Anot-a-token-00" }, json: { message: "q wins" } })).status).toBe(200);
    expect((await call(web, "POST", "/message", { headers: { "x-gotify-key": "Anot-a-token-00", authorization: `Bearer ${token}` }, json: { message: "key first" } })).status).toBe(401);
    expect(await call(web, "POST", "/message", { headers: { "x-gotify-key": token }, json: { title: "no text" } })).toMatchObject({ status: 400, body: gotifyError(400, "Field 'message' is required") });
    expect(await call(web, "POST", "/message", { json: { message: "anonymous" } })).toMatchObject({ status: 400, body: gotifyError(400, "appid is required when not authenticating with an application token") });
    expect(await call(web, "POST", "/message?token=Anot-a-token-00", { json: { message: "x" } })).toMatchObject({ status: 401, body: NO_LOGIN });
    expect((await call(web, "POST", "/message", { headers: { "x-gotify-key": token, "content-type": "application/json" }, body: "{not json" })).body).toMatchObject({ errorCode: 400 });
    // v3: a client token (or a login) names its app.
    const client = (await call(web, "POST", "/client", { json: { name: "sender" } })).body.token as string;
    expect((await call(web, "POST", "/message", { headers: { "x-gotify-key": client }, json: { message: "by appid", appid: app.id } })).body).toMatchObject({ appid: app.id, message: "by appid" });
    expect(await call(web, "POST", "/message", { headers: { "x-gotify-key": client }, json: { message: "x", appid: 99999 } })).toMatchObject({ status: 400, body: gotifyError(400, "appid not found") });
    // An application token is taken only by POST /message (RequireClient on every other route).
    expect(await call(web, "GET", `/message?token=${token}`)).toMatchObject({ status: 401, body: NO_LOGIN });
    expect(await call(web, "GET", "/application", { headers: { "x-gotify-key": token } })).toMatchObject({ status: 401, body: NO_LOGIN });
  });

  // Issue 27's map: Gotify < 1 → 1, 1–3 → 2, 4–7 → 3, 8–9 → 4, ≥ 10 → 5; ours 1..5 → 0, 2, 5, 8, 10. A Gotify sender's own
  // priority is what Gotify readers get back.
  test("priorities map both ways, and a Gotify sender's exact priority comes back to Gotify readers", async () => {
    const app = (await call(web, "POST", "/application", { json: { name: "Priorities" } })).body;
    const sent = [0, 1, 3, 4, 7, 8, 9, 10, 15];
    for (const priority of sent) await call(web, "POST", "/message", { headers: { "x-gotify-key": app.token as string }, json: { message: `p${priority}`, priority } });
    const polled = await ntfyPoll(web, app.channel as string);
    expect(polled.map((m) => [m.message, m.priority ?? 3])).toEqual(sent.map((p, i) => [`p${p}`, [1, 2, 2, 3, 3, 4, 4, 5, 5][i]]));
    const listed = (await call(web, "GET", `/application/${app.id}/message`)).body.messages as unknown as Json[];
    expect(listed.map((m) => m.priority)).toEqual([...sent].reverse());
    // ntfy's priorities 1..5 published to the app's channel, read back by Gotify.
    for (const p of [1, 2, 3, 4, 5]) await fetch(`${web.url}/${app.channel}`, { method: "POST", body: `ntfy p${p}`, headers: { priority: String(p) } });
    const back = (await call(web, "GET", `/application/${app.id}/message?limit=5`)).body.messages as unknown as Json[];
    expect(back.map((m) => [m.message, m.priority])).toEqual([5, 4, 3, 2, 1].map((p) => [`ntfy p${p}`, [0, 0, 2, 5, 8, 10][p]]));
  });

  // Issue 27: client::display contentType text/markdown → content_type; client::notification click.url → url (ntfy's
  // click), bigImageUrl → attachment; the extras kept whole for Gotify readers.
  test("extras become the envelope's Markdown, click URL and attachment, seen on /events, ntfy's /json and RESP; Gotify readers get them whole", async () => {
    const app = (await call(web, "POST", "/application", { json: { name: "Rich" } })).body;
    await seenBy(web2, app);
    const channel = app.channel as string;
    const resp = await Subscriber.open(backend.port, [channel]);
    const events = sse(`${web2.url}/events?channel=${encodeURIComponent(channel)}`);
    await until("the SSE stream to open", () => events.text().length > 0).catch(() => {});
    await Bun.sleep(200); // the stream's subscription is live before the publish (a wait, not a timing assertion)
    const extras = {
      "client::display": { contentType: "text/markdown" },
      "client::notification": { click: { url: "https://example.com/run/7" }, bigImageUrl: "https://example.com/img/graph.png" },
      "android::action": { onReceive: { intentUrl: "https://example.com" } },
    };
    const sent = await call(web, "POST", "/message", { headers: { "x-gotify-key": app.token as string }, json: { title: "Build", message: "**green**", priority: 8, extras } });
    expect(sent.body).toMatchObject({ extras, priority: 8 });
    try {
      await resp.waitFor(1);
      const env = JSON.parse(resp.messages[0]!.payload) as Json;
      expect(env).toMatchObject({ channel, title: "Build", message: "**green**", priority: 4, content_type: "text/markdown", url: "https://example.com/run/7", attachment: { name: "graph.png", url: "https://example.com/img/graph.png" } });
      expect(env.gotify).toEqual({ id: sent.body.id, priority: 8, extras });
      await until("the message on /events", () => events.text().includes("**green**"));
      const polled = (await ntfyPoll(web2, channel)).at(-1)!;
      expect(polled).toMatchObject({ topic: channel, title: "Build", message: "**green**", priority: 4, click: "https://example.com/run/7", attachment: { name: "graph.png", url: "https://example.com/img/graph.png" } });
      const listed = (await call(web2, "GET", "/message?limit=1")).body.messages as unknown as Json[];
      expect(listed[0]).toEqual(sent.body);
    } finally {
      resp.close();
      events.close();
    }
  });

  // api/message.go GetMessages for messages published any other way: numbered when their channel has an app.
  test("messages published our way or ntfy's on an app's channel are listed; a raw RESP PUBLISH is not", async () => {
    const app = (await call(web, "POST", "/application", { json: { name: "Shared", channel: "shared-news" } })).body;
    await seenBy(web2, app);
    await fetch(`${web2.url}/shared-news`, { method: "POST", body: "from ntfy", headers: { title: "ntfy title", priority: "4", click: "https://example.com/n" } });
    await fetch(`${web.url}/`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ channel: "shared-news", message: "from POST /", priority: 5 }) });
    const raw = await Raw.open(backend.port);
    raw.command("PUBLISH", "shared-news", "raw text");
    await raw.reply();
    raw.close();
    const listed = (await call(web, "GET", `/application/${app.id}/message`)).body;
    expect(listed.messages).toEqual([
      { id: expect.any(Number), appid: app.id, message: "from POST /", title: "", priority: 10, date: expect.stringMatching(GO_TIME) },
      { id: expect.any(Number), appid: app.id, message: "from ntfy", title: "ntfy title", priority: 8, extras: { "client::notification": { click: { url: "https://example.com/n" } } }, date: expect.stringMatching(GO_TIME) },
    ]);
  });

  // api/message.go withPaging (limit 1..200, default 100), buildWithPaging (next only when there is more), and the
  // hiding routes DeleteMessage, DeleteMessageWithApplication, DeleteMessages with their 404s.
  test("paging with limit, since and next; limits out of range; hiding one, an app's and all messages", async () => {
    const app = (await call(web, "POST", "/application", { json: { name: "Pager" } })).body;
    await seenBy(web2, app);
    const key = { "x-gotify-key": app.token as string };
    const ids: number[] = [];
    for (let i = 1; i <= 5; i++) ids.push((await call(web, "POST", "/message", { headers: key, json: { message: `m${i}` } })).body.id as number);
    const first = await call(web, "GET", `/application/${app.id}/message?limit=2`);
    expect(first.body.paging).toEqual({ next: `${web.url}/application/${app.id}/message?limit=2&since=${ids[3]}`, size: 2, since: ids[3], limit: 2 });
    expect((first.body.messages as unknown as Json[]).map((m) => m.message)).toEqual(["m5", "m4"]);
    const next = await call(web, "GET", `/application/${app.id}/message?limit=2&since=${ids[3]}`);
    expect((next.body.messages as unknown as Json[]).map((m) => m.message)).toEqual(["m3", "m2"]);
    const last = await call(web, "GET", `/application/${app.id}/message?limit=2&since=${ids[1]}`);
    expect(last.body.paging).toEqual({ size: 1, since: 0, limit: 2 });
    expect((await call(web, "GET", "/message?limit=1")).body.paging).toMatchObject({ size: 1, limit: 1, next: expect.stringMatching(/\/message\?limit=1&since=\d+$/) });
    expect(await call(web, "GET", "/message?limit=201")).toMatchObject({ status: 400, body: gotifyError(400, "Field 'limit' must be less or equal to 200") });
    expect(await call(web, "GET", "/message?limit=0")).toMatchObject({ status: 400, body: gotifyError(400, "Field 'limit' must be more or equal to 1") });
    expect((await call(web, "GET", "/message?since=-1")).status).toBe(400);
    expect(await call(web, "GET", "/application/99999/message")).toMatchObject({ status: 404, body: gotifyError(404, "application does not exist") });
    // One hidden, on every web server.
    expect(await call(web, "DELETE", `/message/${ids[2]}`)).toMatchObject({ status: 200, text: "" });
    expect((((await call(web2, "GET", `/application/${app.id}/message`)).body.messages as unknown as Json[]).map((m) => m.message))).toEqual(["m5", "m4", "m2", "m1"]);
    expect(await call(web, "DELETE", `/message/${ids[2]}`)).toMatchObject({ status: 404, body: gotifyError(404, "message does not exist") });
    expect(await call(web, "DELETE", "/message/99999999")).toMatchObject({ status: 404, body: gotifyError(404, "message does not exist") });
    expect(await call(web, "DELETE", "/message/x")).toMatchObject({ status: 400, body: gotifyError(400, "invalid id") });
    // The app's messages.
    expect(await call(web, "DELETE", `/application/${app.id}/message`)).toMatchObject({ status: 200, text: "" });
    expect((await call(web, "GET", `/application/${app.id}/message`)).body.messages).toEqual([]);
    expect(await call(web, "DELETE", "/application/99999/message")).toMatchObject({ status: 404, body: gotifyError(404, "application does not exists") });
    const after = (await call(web, "POST", "/message", { headers: key, json: { message: "after" } })).body;
    expect((await call(web, "GET", `/application/${app.id}/message`)).body.messages).toEqual([after]);
    // All of them.
    expect(await call(web, "DELETE", "/message")).toMatchObject({ status: 200, text: "" });
    expect((await call(web2, "GET", "/message")).body).toEqual({ paging: { size: 0, since: 0, limit: 100 }, messages: [] });
  });

  // api/application.go UploadApplicationImage, RemoveApplicationImage, withResolvedImage, DeleteApplication;
  // router.go's /image (onlyImageFS) and ui's static/defaultapp.png.
  test("application images: uploaded, served at /image/<name>, removed; the default picture; deleting an app", async () => {
    const app = (await call(web, "POST", "/application", { json: { name: "Pictured" } })).body;
    await seenBy(web2, app);
    const png = readFileSync(join(ROOT, "app/icon-192.png"));
    const def = await fetch(`${web.url}/static/defaultapp.png`);
    expect(def.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await def.arrayBuffer()).equals(png)).toBe(true);
    const upload = (file: Blob | string | null, name = "icon.png") => {
      const form = new FormData();
      if (file !== null) form.set(file instanceof Blob ? "file" : "other", file as Blob, name);
      return call(web, "POST", `/application/${app.id}/image`, { body: form });
    };
    expect(await call(web, "DELETE", `/application/${app.id}/image`)).toMatchObject({ status: 400, body: gotifyError(400, `app with id ${app.id} does not have a customized image`) });
    expect(await upload(null)).toMatchObject({ status: 400, body: gotifyError(400, "file with key 'file' must be present") });
    expect(await upload(new Blob(["not a picture"]), "a.png")).toMatchObject({ status: 400, body: gotifyError(400, "file must be an image") });
    expect(await upload(new Blob([png]), "a.txt")).toMatchObject({ status: 400, body: gotifyError(400, "invalid file extension") });
    const up = await upload(new Blob([png]));
    expect(up.status).toBe(200);
    expect(up.body.image).toMatch(/^image\/[A-Za-z0-9._-]{25}\.png$/);
    const served = await fetch(`${web2.url}/${up.body.image}`);
    expect(served.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await served.arrayBuffer()).equals(png)).toBe(true);
    expect((await call(web, "GET", "/image/nothing-here.png")).body).toEqual(gotifyError(404, "page not found"));
    const removed = await call(web, "DELETE", `/application/${app.id}/image`);
    expect(removed.body.image).toBe("static/defaultapp.png");
    expect((await fetch(`${web.url}/${up.body.image}`)).status).toBe(404);
    // Deleting the app: 200 with no body; its token publishes no more.
    expect(await call(web, "DELETE", `/application/${app.id}`)).toMatchObject({ status: 200, text: "" });
    expect((await call(web, "POST", "/message", { headers: { "x-gotify-key": app.token as string }, json: { message: "x" } })).status).toBe(401);
  });

  // api/user.go's user routes and ChangePassword: users and passwords are the ACL file's here.
  test("the user routes and the password change are refused in Gotify's shape, saying the ACL file holds them", async () => {
    for (const [method, path] of [["GET", "/user"], ["POST", "/user"], ["GET", "/user/1"], ["POST", "/user/1"], ["DELETE", "/user/1"]] as const) {
      const r = await call(web, method, path, method === "GET" ? {} : { json: { name: "x", pass: "y" } });
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ error: "Forbidden", errorCode: 403, errorDescription: expect.stringContaining("ACL file") });
    }
    const pw = await call(web, "POST", "/current/user/password", { json: { pass: "new" } });
    expect(pw.status).toBe(400);
    expect(pw.body.errorDescription).toContain("ACL file");
  });
});

/** An ACL for the web server: alice reads and writes `aliceHas` (team/*), ci only writes team/*, bob has bob/*. */
function aclFile(path = tempPath("gotify.acl"), aliceHas = "team/*"): string {
  const reader = "-@all +subscribe +psubscribe +publish +xrange +xrevrange +xread";
  writeFileSync(
    path,
    [
      `user alice on #${sha("alice-pw")} &${aliceHas} %R~notistream:${aliceHas} ${reader}`,
      `user bob on #${sha("bob-pw")} &bob/* %R~notistream:bob/* ${reader}`,
      `user ci on #${sha("ci-pw")} %W&team/* -@all +publish`,
      "",
    ].join("\n"),
  );
  return path;
}

describe.each(BACKENDS)("Gotify's API with an ACL, on $name", ({ start }) => {
  let backend: Running;
  let web: Web;
  let acl: string;
  const ALICE = { authorization: basic("alice", "alice-pw") };
  const BOB = { authorization: basic("bob", "bob-pw") };
  beforeAll(async () => {
    backend = await start();
    acl = aclFile();
    web = await startWebServer(`redis://127.0.0.1:${backend.port}`, ["--acl", acl]);
  });
  afterAll(async () => {
    await web?.stop();
    await backend?.stop();
  });

  // auth/authentication.go requireToken: a right Basic login, else a token; neither is the 401.
  test("Basic logins are the ACL's users, no admins; no or wrong credentials are Gotify's 401", async () => {
    const me = await call(web, "GET", "/current/user", { headers: ALICE });
    const id = me.body.id;
    expect(me).toMatchObject({ status: 200, body: { id: expect.any(Number), name: "alice", admin: false } });
    expect((await call(web, "GET", "/current/user", { headers: ALICE })).body.id).toBe(id);
    expect((await call(web, "GET", "/current/user", { headers: BOB })).body.id).not.toBe(id);
    expect(await call(web, "GET", "/current/user")).toMatchObject({ status: 401, body: NO_LOGIN });
    expect(await call(web, "GET", "/current/user", { headers: { authorization: basic("alice", "wrong") } })).toMatchObject({ status: 401, body: NO_LOGIN });
    // A right Basic login wins over a token; a wrong one leaves the token to decide (requireToken asks auth(token, user)).
    const bobs = (await call(web, "POST", "/client", { headers: BOB, json: { name: "bob's phone" } })).body.token as string;
    expect((await call(web, "GET", "/current/user", { headers: { ...ALICE, "x-gotify-key": bobs } })).body.name).toBe("alice");
    expect((await call(web, "GET", `/current/user?token=${bobs}`, { headers: { authorization: basic("alice", "wrong") } })).body.name).toBe("bob");
    expect(await call(web, "GET", "/application")).toMatchObject({ status: 401, body: NO_LOGIN });
  });

  // Issue 27's design: binding an app needs write and read rights on its channel (403 in Gotify's shape otherwise).
  test("an application is bound only where its user may write and read; each user sees only their own", async () => {
    const made = await call(web, "POST", "/application", { headers: ALICE, json: { name: "Deploys", channel: "team/deploys" } });
    expect(made.body).toMatchObject({ name: "Deploys", channel: "team/deploys" });
    const refused = await call(web, "POST", "/application", { headers: ALICE, json: { name: "Elsewhere", channel: "bob/x" } });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: "Forbidden", errorCode: 403, errorDescription: expect.stringContaining("bob/x") });
    // The default channel gotify-<slug> needs rights too, which alice has not.
    expect((await call(web, "POST", "/application", { headers: ALICE, json: { name: "Plain" } })).status).toBe(403);
    // ci may only write team/*: no app (it could not read what it sends).
    expect((await call(web, "POST", "/application", { headers: { authorization: basic("ci", "ci-pw") }, json: { name: "CI", channel: "team/ci" } })).status).toBe(403);
    expect((await call(web, "GET", "/application", { headers: BOB })).items).toEqual([]);
    expect((await call(web, "PUT", `/application/${made.body.id}`, { headers: BOB, json: { name: "mine now" } })).status).toBe(404);
    // Two users may bind the same channel, each as their own app.
    expect((await call(web, "POST", "/application", { headers: BOB, json: { name: "Bob's", channel: "bob/news" } })).status).toBe(200);
  });

  // api/client.go CreateClient (the Android app's login), then the client token reads; v3's POST /message with Basic + appid.
  test("a client token made with Basic reads its user's messages; a login publishes with appid; others see nothing", async () => {
    const app = (await call(web, "GET", "/application", { headers: ALICE })).items.find((a) => a.channel === "team/deploys")!;
    const client = (await call(web, "POST", "/client", { headers: ALICE, json: { name: "Pixel" } })).body;
    const sent = await call(web, "POST", "/message", { headers: { "x-gotify-key": app.token as string }, json: { message: "deployed", priority: 5 } });
    expect(sent.status).toBe(200);
    const byLogin = await call(web, "POST", "/message", { headers: ALICE, json: { message: "by login", appid: app.id } });
    expect(byLogin.body).toMatchObject({ appid: app.id, message: "by login" });
    const listed = await call(web, "GET", `/message?token=${client.token}`);
    expect((listed.body.messages as unknown as Json[]).map((m) => m.message)).toEqual(["by login", "deployed"]);
    expect((await call(web, "GET", "/message", { headers: BOB })).body.messages).toEqual([]);
    expect(await call(web, "POST", "/message", { headers: BOB, json: { message: "x", appid: app.id } })).toMatchObject({ status: 400, body: gotifyError(400, "appid not found") });
    // Alice's client token is no application token.
    expect(await call(web, "POST", "/message", { headers: { "x-gotify-key": client.token as string }, json: { message: "x" } })).toMatchObject({ status: 400, body: gotifyError(400, "appid is required when not authenticating with an application token") });
  });

  // Issue 27's design: an application token publishes with its owner's write right at that moment, and a listing shows
  // only channels the user may read now (the ACL file is read again on SIGHUP).
  test("after the ACL takes a channel away, the app's token is Gotify's 403 and the user's listing leaves it out", async () => {
    const app = (await call(web, "GET", "/application", { headers: ALICE })).items.find((a) => a.channel === "team/deploys")!;
    aclFile(acl, "elsewhere/*");
    web.proc.kill("SIGHUP");
    await until("the ACL to be read again", () => web.output().includes("ACL reloaded"));
    const refused = await call(web, "POST", "/message", { headers: { "x-gotify-key": app.token as string }, json: { message: "not now" } });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: "Forbidden", errorCode: 403, errorDescription: expect.stringContaining("team/deploys") });
    expect((await call(web, "GET", "/message", { headers: ALICE })).body.messages).toEqual([]);
    aclFile(acl);
    web.proc.kill("SIGHUP");
    await until("the ACL to be read back", () => web.output().split("ACL reloaded").length > 2);
    expect((await call(web, "POST", "/message", { headers: { "x-gotify-key": app.token as string }, json: { message: "again" } })).status).toBe(200);
    expect(((await call(web, "GET", "/message", { headers: ALICE })).body.messages as Json[]).length).toBeGreaterThan(0);
  });
});
