// test/gotify.android.e2e.test.ts — the Gotify Android app's session, replayed request by request from its code
// (gotify/android app/src/main/kotlin/com/github/gotify/): log in, list, stream; then its web server is killed,
// messages are published meanwhile through another web server, and the app's MissedMessageUtil pages them back.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, type Subprocess } from "bun";
import { BUN, ROOT, collect, freePort, haveRedis, startPubSub, startRedis, startWebServer, until, waitForPort, type Running } from "./helpers";

const PASSWORD = "android-pass-1";
/** What OkHttp (the app's HTTP client, under Retrofit 2.7) sends on every request it makes. */
const OKHTTP = { "user-agent": "okhttp/4.12.0", "accept-encoding": "gzip" };
const BASIC = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString("base64")}`;

/** Gotify's message JSON (v2.9.1 model/message.go MessageExternal), as the app's generated client reads it. */
type GotifyMessage = { id: number; appid: number; message: string; title: string; priority: number; extras?: Record<string, unknown>; date: string };
type Paged = { paging: { size: number; since: number; limit: number; next?: string }; messages: GotifyMessage[] };

const servers: { stop: () => Promise<void> }[] = [];
afterAll(async () => {
  for (const s of servers.splice(0).reverse()) await s.stop().catch(() => {});
});

/** The web server on a port of the test's choosing: the app keeps one URL, so the restarted server must be at the same one. */
async function webAt(port: number, redisUrl: string, acl: string, data: string): Promise<{ proc: Subprocess; output: () => string }> {
  const proc = spawn([BUN, `${ROOT}/web.ts`, "--host", "127.0.0.1", "--port", String(port), "--redis", redisUrl, "--acl", acl, "--data", data], { stdout: "pipe", stderr: "pipe" });
  const output = collect(proc);
  servers.push({ stop: async () => void (proc.kill("SIGKILL"), await proc.exited) });
  await waitForPort(port);
  return { proc, output };
}

/**
 * The app's requests, each as its generated Retrofit client (client/src/main/java/com/github/gotify/client/api/*.java)
 * sends it, and a log of them in order: the session below is checked to be exactly the app's.
 */
class AndroidApp {
  readonly calls: string[] = [];
  token = "";
  constructor(readonly base: string) {}

  private async call<T>(method: string, path: string, auth: "none" | "basic" | "token", body?: unknown): Promise<T> {
    this.calls.push(`${method} ${path}${auth === "none" ? "" : ` (${auth})`}`);
    const headers: Record<string, string> = { ...OKHTTP };
    // ClientFactory.basicAuth: HttpBasicAuth; ClientFactory.clientToken: ApiKeyAuth("header", "X-Gotify-Key").
    if (auth === "basic") headers.authorization = BASIC;
    if (auth === "token") headers["x-gotify-key"] = this.token;
    // @Headers({"Content-Type:application/json"}) on createClient, with Gson's body.
    if (body !== undefined) headers["content-type"] = "application/json; charset=UTF-8";
    const res = await fetch(`${this.base}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
    expect(res.headers.get("content-type") ?? "").toStartWith("application/json");
    return JSON.parse(text) as T;
  }

  /** VersionApi.getVersion, unauthorized (LoginActivity.doCheckUrl, InitializationActivity.requestVersion). */
  version = () => this.call<{ version: string; commit: string; buildDate: string }>("GET", "/version", "none");
  /** UserApi.currentUser: with Basic in LoginActivity.doLogin, with the client token in InitializationActivity.tryAuthenticate. */
  currentUser = (auth: "basic" | "token") => this.call<{ id: number; name: string; admin: boolean }>("GET", "/current/user", auth);
  /** ClientApi.createClient with Basic (LoginActivity.doCreateClient; the name defaults to Build.MODEL). */
  createClient = (name: string) => this.call<{ id: number; token: string; name: string }>("POST", "/client", "basic", { name });
  /** MessageApi.getMessages(limit, since): Retrofit leaves out a null query parameter. */
  messages = (limit: number, since: number | null) => this.call<Paged>("GET", `/message?limit=${limit}${since === null ? "" : `&since=${since}`}`, "token");
  /** ApplicationApi.getApps (WebSocketService.fetchApps). */
  apps = () => this.call<{ id: number; token: string; name: string; description: string; image: string; internal: boolean; defaultPriority: number }[]>("GET", "/application", "token");

  /** WebSocketConnection.request(): <url>/stream?token=<client token>, no header of the app's own. */
  stream(received: GotifyMessage[]): Promise<WebSocket> {
    this.calls.push("WS /stream?token=");
    const ws = new WebSocket(`${this.base.replace(/^http/, "ws")}/stream?token=${encodeURIComponent(this.token)}`);
    ws.onmessage = (e) => received.push(JSON.parse(String(e.data)) as GotifyMessage);
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve(ws);
      ws.onerror = () => reject(new Error("the WebSocket to /stream did not open"));
    });
  }

  /**
   * MissedMessageUtil.missingMessages(till), line for line: page /message?limit=10 from the newest, keep the messages
   * with an id above `till` until the first that is not, stop at an empty page or one without paging.next, and go on
   * from paging.since; the result reversed (oldest first) is what WebSocketService.notifyMissedNotifications shows.
   */
  async missingMessages(till: number): Promise<GotifyMessage[]> {
    const result: GotifyMessage[] = [];
    let since: number | null = null;
    for (;;) {
      const paged: Paged = await this.messages(10, since);
      const filtered: GotifyMessage[] = [];
      for (const m of paged.messages) {
        if (m.id > till) filtered.push(m);
        else break;
      }
      result.push(...filtered);
      if (paged.messages.length !== filtered.length || paged.messages.length === 0 || paged.paging.next === undefined || paged.paging.next === null) break;
      since = paged.paging.since;
    }
    return result.reverse();
  }
}

/** Gotify's date: RFC 3339 with up to nine fractional digits, as Go's time.Time marshals (v2.9.1 model/message.go). */
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;

/** Publishes as an application (its token in X-Gotify-Key, as Apprise and most senders do) through `base`. */
async function publish(base: string, appToken: string, body: Record<string, unknown>): Promise<GotifyMessage> {
  const res = await fetch(`${base}/message`, { method: "POST", headers: { "x-gotify-key": appToken, "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST /message answered ${res.status}: ${text}`);
  return JSON.parse(text) as GotifyMessage;
}

const backends: [string, () => Promise<Running>][] = [["our pub/sub server", () => startPubSub()]];
if (haveRedis) backends.push(["redis-server 7", () => startRedis()]);

describe.each(backends)("the Gotify Android app's session on %s", (_name, startBackend) => {
  test("login, stream, kill -9 and restart: paging /message?limit=10&since= recovers exactly the missed messages, in order", async () => {
    const backend = await startBackend();
    servers.push(backend);
    const redisUrl = `redis://127.0.0.1:${backend.port}`;
    const dir = mkdtempSync(join(tmpdir(), "notistream-gotify-android-"));
    const acl = join(dir, "users.acl");
    writeFileSync(acl, `user alice on #${new Bun.CryptoHasher("sha256").update(PASSWORD).digest("hex")} &gotify-* &alerts +@all\n`);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    let web = await webAt(port, redisUrl, acl, join(dir, "web-a"));

    // Before the phone: alice made an application (Gotify's web UI, POST /application with her login) and it sent two messages.
    const created = await fetch(`${base}/application`, { method: "POST", headers: { authorization: BASIC, "content-type": "application/json" }, body: JSON.stringify({ name: "Backups", description: "nightly" }) });
    expect(created.status).toBe(200);
    const backups = (await created.json()) as { id: number; token: string };
    await publish(base, backups.token, { title: "backup", message: "started" });
    const before = await publish(base, backups.token, { title: "backup", message: "done", priority: 8 });

    // 1. LoginActivity: doCheckUrl (/version), doLogin (Basic /current/user), doCreateClient (POST /client).
    const app = new AndroidApp(base);
    const version = await app.version();
    expect(typeof version.version).toBe("string");
    expect(typeof version.buildDate).toBe("string");
    const user = await app.currentUser("basic");
    expect(user).toMatchObject({ name: "alice", admin: false });
    expect(Number.isInteger(user.id)).toBe(true);
    const client = await app.createClient("Pixel 7");
    // A v2 client token: "C" and 14 characters (v2.9.1 auth/token.go GenerateNotExistingToken, clientPrefix).
    expect(client.token).toMatch(/^C[-_.a-zA-Z0-9]{14}$/);
    expect(client.name).toBe("Pixel 7");
    app.token = client.token;

    // 2. InitializationActivity.tryAuthenticate (/current/user by token), authenticated → requestVersion; then
    // WebSocketService.startPushService: MissedMessageUtil.lastReceivedMessage (getMessages(1, 0L)), the stream, fetchApps.
    expect((await app.currentUser("token")).name).toBe("alice");
    await app.version();
    const newest = await app.messages(1, 0);
    expect(newest.messages.map((m) => m.id)).toEqual([before.id]);
    expect(newest.paging).toMatchObject({ size: 1, limit: 1 });
    // More than one message: Gotify's next link (api/message.go buildWithPaging), since the last id on the page.
    expect(newest.paging.since).toBe(before.id);
    expect(newest.paging.next).toBe(`${base}/message?limit=1&since=${before.id}`);
    let lastReceived = newest.messages[0]!.id;
    const live: GotifyMessage[] = [];
    let ws = await app.stream(live);
    const apps = await app.apps();
    expect(apps.map((a) => [a.id, a.name, a.token])).toEqual([[backups.id, "Backups", backups.token]]);

    // A message while connected arrives as one JSON text frame (api/stream/client.go startWriteHandler: WriteJSON).
    const sent = await publish(base, backups.token, { title: "disk", message: "**90%** full", priority: 5, extras: { "client::display": { contentType: "text/markdown" } } });
    await until("the live message on /stream", () => live.length === 1);
    expect(live[0]).toEqual(sent);
    expect(live[0]).toMatchObject({ appid: backups.id, title: "disk", message: "**90%** full", priority: 5, extras: { "client::display": { contentType: "text/markdown" } } });
    expect(live[0]!.date).toMatch(RFC3339);
    expect(live[0]!.id).toBeGreaterThan(before.id);
    lastReceived = Math.max(lastReceived, live[0]!.id); // WebSocketService.onMessage

    // 3. The web server dies (kill -9: no close frame), so the app's socket fails (WebSocketConnection.Listener.onFailure).
    const failed = new Promise<void>((resolve) => (ws.onclose = () => resolve()));
    web.proc.kill("SIGKILL");
    await web.proc.exited;
    await failed;

    // Meanwhile twelve messages go through another web server on the same pub/sub server: more than one page of ten.
    const other = await startWebServer(redisUrl, ["--acl", acl]);
    servers.push(other);
    const missed: GotifyMessage[] = [];
    for (let i = 1; i <= 12; i++) missed.push(await publish(other.url, backups.token, { title: `missed ${i}`, message: `while the server was down (${i})`, priority: i % 11 }));
    // Numbers only grow, across web servers (the design's counter in the pub/sub server).
    for (let i = 1; i < missed.length; i++) expect(missed[i]!.id).toBeGreaterThan(missed[i - 1]!.id);
    expect(missed[0]!.id).toBeGreaterThan(sent.id);
    // A message on a channel no application is bound to has no number: the app never sees it.
    expect((await fetch(`${other.url}/alerts`, { method: "POST", headers: { authorization: BASIC }, body: "not for Gotify" })).status).toBe(200);

    // The web server comes back at the same address; the app reconnects (scheduleReconnect) and, being a reconnect
    // after a failure (errorCount > 0), runs notifyMissedNotifications: MissedMessageUtil.missingMessages(lastReceived).
    web = await webAt(port, redisUrl, acl, join(dir, "web-a"));
    const after: GotifyMessage[] = [];
    ws = await app.stream(after);
    const pagesBefore = app.calls.length;
    const recovered = await app.missingMessages(lastReceived);
    expect(recovered).toEqual(missed);
    expect(new Set(recovered.map((m) => m.id)).size).toBe(12);
    // Two pages: ten missed ones with a next link, then missed 2 and 1, stopped by the first message the app had seen.
    expect(app.calls.slice(pagesBefore)).toEqual(["GET /message?limit=10 (token)", `GET /message?limit=10&since=${missed[2]!.id} (token)`]);

    // And the stream after the restart is live again.
    const next = await publish(base, backups.token, { message: "back" });
    await until("the message after the restart on /stream", () => after.length === 1);
    expect(after[0]).toEqual(next);
    // An untitled message is titled with its application's name (api/message.go CreateMessage).
    expect(next.title).toBe("Backups");
    ws.close();

    // The whole session, in the app's order.
    expect(app.calls.slice(0, 9)).toEqual([
      "GET /version",
      "GET /current/user (basic)",
      "POST /client (basic)",
      "GET /current/user (token)",
      "GET /version",
      "GET /message?limit=1&since=0 (token)",
      "WS /stream?token=",
      "GET /application (token)",
      "WS /stream?token=",
    ]);
  }, 60_000);
});
