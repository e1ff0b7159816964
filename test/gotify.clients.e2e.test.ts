// test/gotify.clients.e2e.test.ts — real Gotify clients against our web server: npm gotify-client 0.4.2 (generated
// from Gotify's API spec) logs in, makes an application and a client, publishes, lists and deletes; Apprise 1.2.0's
// gotify:// sends title, priority and Markdown; messages published our ways (curl, ntfy's PUT) reach GET /stream;
// our own client (--json, --print, a real desktop) shows a Gotify-published message; /stream's refusals, cap and closes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApplicationApi, ClientApi, CurrentApi, GotifyClient, type HttpClient, type HttpRequestParams } from "gotify-client";
import { DESKTOP, Raw, killClients, needs, run, startClient, startDesktop, startPubSub, startWebServer, tempPath, until, type Running } from "./helpers";

const PASSWORD = "clients-pass-1";
const BASIC = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString("base64")}`;
type GotifyMessage = { id: number; appid: number; message: string; title: string; priority: number; extras?: Record<string, unknown>; date: string };

let pubsub: Running;
let web: Running & { url: string };
beforeAll(async () => {
  pubsub = await startPubSub();
  const dir = mkdtempSync(join(tmpdir(), "notistream-gotify-clients-"));
  const acl = join(dir, "users.acl");
  writeFileSync(acl, `user alice on #${new Bun.CryptoHasher("sha256").update(PASSWORD).digest("hex")} &gotify-* &alerts +@all\n`);
  web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--acl", acl]);
});
afterAll(async () => {
  killClients();
  await web?.stop();
  await pubsub?.stop();
});

/**
 * The library's HttpClient (its README's "Custom client") with a Basic login: its own FetchHttpClient sends only
 * tokens (X-Gotify-Key), and a user's first client token is made with the user's password, as Gotify's UI does.
 */
class BasicLogin implements HttpClient {
  constructor(
    private readonly host: string,
    private readonly authorization: string,
  ) {}
  async request<Result>(url: string, params: HttpRequestParams = {}): Promise<Result> {
    const hasBody = params.body !== undefined && params.body !== null;
    const res = await fetch(`${this.host}${url}`, {
      method: params.method ?? "GET",
      headers: { authorization: this.authorization, ...(hasBody ? { "content-type": "application/json" } : {}) },
      ...(hasBody ? { body: JSON.stringify(params.body) } : {}),
    });
    return (params.format === "json" ? await res.json() : await res.text()) as Result;
  }
}

/** A GET /stream WebSocket with a client token, keeping every frame. */
async function stream(token: string): Promise<{ frames: GotifyMessage[]; ws: WebSocket }> {
  const frames: GotifyMessage[] = [];
  const ws = new WebSocket(`${web.url.replace(/^http/, "ws")}/stream?token=${token}`);
  ws.onmessage = (e) => frames.push(JSON.parse(String(e.data)) as GotifyMessage);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("GET /stream did not open"));
  });
  return { frames, ws };
}

describe("npm gotify-client 0.4.2", () => {
  test("logs in, creates an application and a client, publishes, lists, deletes", async () => {
    // Log in: the user, then a client token made with the password (api/client.go CreateClient).
    const login = new BasicLogin(web.url, BASIC);
    const me = await new CurrentApi(login).currentUser();
    expect(me).toMatchObject({ name: "alice", admin: false });
    const client = await new ClientApi(login).createClient({ name: "gotify-client" });
    expect(client.token).toMatch(/^C[-_.a-zA-Z0-9]{14}$/);
    const gotify = new GotifyClient(web.url, { client: client.token });
    expect((await gotify.current.currentUser()).name).toBe("alice");
    expect((await gotify.client.getClients()).map((c) => c.name)).toContain("gotify-client");

    // An application (api/application.go CreateApplication): its token, image and default priority as Gotify answers.
    const app = await gotify.application.createApp({ name: "CI builds", description: "from the pipeline", defaultPriority: 4 });
    expect(app).toMatchObject({ name: "CI builds", description: "from the pipeline", defaultPriority: 4, internal: false, image: "static/defaultapp.png" });
    expect(app.token).toMatch(/^A[-_.a-zA-Z0-9]{14}$/);
    expect((await gotify.application.getApps()).map((a) => a.id)).toEqual([app.id]);

    // Publish with the app token (the library sends it in X-Gotify-Key on POST /message only).
    const sender = new GotifyClient(web.url, { app: app.token, client: client.token });
    const first = await sender.message.createMessage({ message: "build 41 passed", title: "CI" } as Parameters<typeof sender.message.createMessage>[0]);
    // No priority: the application's default (api/message.go CreateMessage).
    expect(first).toMatchObject({ appid: app.id, message: "build 41 passed", title: "CI", priority: 4 });
    const second = await sender.message.createMessage({ message: "build 42 **failed**", title: "CI", priority: 9, extras: { "client::display": { contentType: "text/markdown" } } } as Parameters<typeof sender.message.createMessage>[0]);
    expect(second.id).toBeGreaterThan(first.id);
    expect(second.extras).toEqual({ "client::display": { contentType: "text/markdown" } });

    // List: newest first, with Gotify's paging object; per application too.
    const listed = await gotify.message.getMessages({ limit: 10 });
    expect(listed.messages.map((m) => m.id)).toEqual([second.id, first.id]);
    expect(listed.paging).toMatchObject({ size: 2, limit: 10, since: 0 });
    expect(listed.messages[0]).toEqual(second);
    const perApp = await gotify.application.getAppMessages({ id: app.id, limit: 1 });
    expect(perApp.messages.map((m) => m.id)).toEqual([second.id]);
    expect(perApp.paging.next).toBe(`${web.url}/application/${app.id}/message?limit=1&since=${second.id}`);

    // Delete one, then all (hidden for this user: api/message.go DeleteMessage, DeleteMessages).
    await gotify.message.deleteMessage(second.id);
    expect((await gotify.message.getMessages({ limit: 10 })).messages.map((m) => m.id)).toEqual([first.id]);
    await gotify.message.deleteMessages();
    expect((await gotify.message.getMessages({})).messages).toEqual([]);
    const third = await sender.message.createMessage({ message: "build 43 passed" } as Parameters<typeof sender.message.createMessage>[0]);
    expect((await gotify.message.getMessages({})).messages.map((m) => m.id)).toEqual([third.id]);

    // Errors in Gotify's shape (model/error.go): a wrong token is 401.
    const stranger = new GotifyClient(web.url, { client: "Cnotavalidtoken" });
    expect(await stranger.application.getApps()).toMatchObject({ error: "Unauthorized", errorCode: 401 });

    // Delete the application and the client: the client token stops working.
    await gotify.application.deleteApp(app.id);
    expect(await gotify.application.getApps()).toEqual([]);
    await gotify.client.deleteClient(client.id);
    expect(await gotify.current.currentUser()).toMatchObject({ errorCode: 401 });
    // The login still works, and the deleted client is gone from its list.
    expect((await new ClientApi(login).getClients()).map((c) => c.id)).not.toContain(client.id);
    expect(await new ApplicationApi(login).getApps()).toEqual([]);
  }, 30_000);
});

describe("Apprise 1.2.0 gotify://", () => {
  needs("apprise").test("delivers title, priority and Markdown (plugins/NotifyGotify.py send)", async () => {
    const login = new BasicLogin(web.url, BASIC);
    const app = await new ApplicationApi(login).createApp({ name: "Apprise", description: "" });
    const client = await new ClientApi(login).createClient({ name: "apprise check" });
    const { frames, ws } = await stream(client.token);
    const port = new URL(web.url).port;
    // priority=high is Gotify's 8 (GotifyPriority.HIGH); format=markdown adds extras client::display text/markdown.
    const r = await run(["apprise", "-vv", "-t", "Disk space", "-b", "**/var** is at 91%", `gotify://127.0.0.1:${port}/${app.token}?priority=high&format=markdown`], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    await until("Apprise's message on /stream", () => frames.length === 1);
    expect(frames[0]).toMatchObject({ appid: app.id, title: "Disk space", message: "**/var** is at 91%", priority: 8, extras: { "client::display": { contentType: "text/markdown" } } });
    ws.close();
    // Our own readers see it as ours: priority 8 is our 4, Markdown is content_type (GET /messages, our history).
    const ours = (await (await fetch(`${web.url}/messages?channel=${encodeURIComponent("gotify-apprise")}`, { headers: { authorization: BASIC } })).json()) as Record<string, unknown>[];
    expect(ours.at(-1)).toMatchObject({ channel: "gotify-apprise", title: "Disk space", message: "**/var** is at 91%", priority: 4, content_type: "text/markdown", gotify: { priority: 8 } });
  }, 40_000);
});

needs(...DESKTOP).describe("our desktop client shows a Gotify-published message", () => {
  test("a real notification under dunst: the title, the Markdown body as text, urgency from the priority", async () => {
    const desk = await startDesktop();
    try {
      const login = new BasicLogin(web.url, BASIC);
      const app = await new ApplicationApi(login).createApp({ name: "Desk", description: "" });
      const channel = (app as unknown as { channel: string }).channel;
      const c = startClient(["--host", "127.0.0.1", "--port", String(pubsub.port), "--channels", channel, "--config", tempPath("none.json"), "--state", tempPath("state.json")], desk.env);
      await until("the desktop client subscribed", () => c.out().includes(`subscribed to ${channel}`));
      const sender = new GotifyClient(web.url, { app: app.token });
      await sender.message.createMessage({ title: "Deploy", message: "**prod** is live", priority: 10, extras: { "client::display": { contentType: "text/markdown" } } } as Parameters<typeof sender.message.createMessage>[0]);
      await until("the notification", () => desk.calls().some((call) => call.summary === "Deploy"), 10_000);
      const call = desk.calls().find((x) => x.summary === "Deploy")!;
      // Markdown shown as its text (client_markdown.ts), then the channel, as every notification of ours.
      expect(call.body).toBe(`prod is live\n${channel}`);
      // Gotify's 10 is our 5, shown as critical (urgency 2).
      expect(call.urgency).toBe(2);
    } finally {
      desk.stop();
    }
  }, 40_000);
});

describe("every way in reaches GET /stream", () => {
  test("curl to an app's channel and ntfy's PUT to a channel an app is bound to are numbered and streamed; a raw RESP PUBLISH is not", async () => {
    const login = new BasicLogin(web.url, BASIC);
    const backups = await new ApplicationApi(login).createApp({ name: "Backups", description: "" });
    expect((backups as unknown as { channel: string }).channel).toBe("gotify-backups");
    // ntfy's topics are one path segment (PUT /<topic>/<x> is ntfy's sequence-ID form), so an app meant for ntfy's
    // senders too is bound to an existing one-segment channel: our `channel` extension of POST /application.
    const alertsRes = await fetch(`${web.url}/application`, { method: "POST", headers: { authorization: BASIC, "content-type": "application/json" }, body: JSON.stringify({ name: "Alerts", channel: "alerts" }) });
    expect(alertsRes.status).toBe(200);
    const alerts = (await alertsRes.json()) as { id: number; channel: string };
    expect(alerts.channel).toBe("alerts");
    const client = await new ClientApi(login).createClient({ name: "stream check" });
    const { frames, ws } = await stream(client.token);
    const curl = await run(["curl", "-sS", "-f", "-u", `alice:${PASSWORD}`, "-H", "Title: from curl", "-H", "Priority: 5", "-d", "curl body", `${web.url}/gotify-backups`]);
    expect(curl.code).toBe(0);
    // A raw PUBLISH to the pub/sub server has no number: Gotify clients never see it.
    const raw = await Raw.open(pubsub.port);
    await raw.call("PUBLISH", "gotify-backups", "raw RESP text");
    raw.close();
    const put = await fetch(`${web.url}/alerts`, { method: "PUT", headers: { authorization: BASIC, "x-title": "from ntfy", "x-markdown": "yes" }, body: "ntfy *body*" });
    expect([put.status, put.status === 200 ? "" : await put.text()]).toEqual([200, ""]);
    await until("two frames", () => frames.length >= 2);
    expect(frames.map((f) => [f.title, f.message, f.priority, f.appid])).toEqual([
      // Our priorities shown on Gotify's scale: 5 → 10, and the default 3 → 5.
      ["from curl", "curl body", 10, backups.id],
      ["from ntfy", "ntfy *body*", 5, alerts.id],
    ]);
    expect(frames[1]!.extras).toEqual({ "client::display": { contentType: "text/markdown" } });
    expect(frames[1]!.id).toBeGreaterThan(frames[0]!.id);
    // The listing has the same two, newest first, under the same numbers.
    const gotify = new GotifyClient(web.url, { client: client.token });
    expect((await gotify.message.getMessages({ limit: 2 })).messages).toEqual([frames[1]!, frames[0]!] as never);
    ws.close();
  }, 30_000);
});

describe("our client shows a Gotify-published message", () => {
  test("notistream --json and --print, subscribed to the app's channel over RESP", async () => {
    const login = new BasicLogin(web.url, BASIC);
    const app = await new ApplicationApi(login).createApp({ name: "Printer", description: "", defaultPriority: 8 });
    const channel = (app as unknown as { channel: string }).channel;
    const j = startClient(["--json", "--host", "127.0.0.1", "--port", String(pubsub.port), "--channels", channel]);
    const p = startClient(["--print", "--host", "127.0.0.1", "--port", String(pubsub.port), "--channels", channel]);
    await until("both subscribed", () => j.out().includes(`subscribed to ${channel}`) && p.out().includes(`subscribed to ${channel}`));
    const sender = new GotifyClient(web.url, { app: app.token });
    const sent = await sender.message.createMessage({ message: "toner low", title: "Office printer", extras: { "client::notification": { click: { url: "https://printer.example/status" } } } } as Parameters<typeof sender.message.createMessage>[0]);
    expect(sent.priority).toBe(8);
    await until("the JSON line", () => j.out().includes("toner low"));
    const line = j.out().split("\n").find((l) => l.includes("toner low"))!;
    expect(JSON.parse(line)).toMatchObject({ channel, title: "Office printer", message: "toner low", priority: 4, url: "https://printer.example/status", gotify: { id: sent.id, priority: 8 } });
    await until("the printed line", () => p.out().includes("toner low"));
    expect(p.out()).toContain(`[${channel}] Office printer: toner low <https://printer.example/status>`);
  }, 30_000);
});

describe("GET /stream over a real socket", () => {
  test("refusals in Gotify's shape; follows an app made and deleted while open; deleting its client closes it", async () => {
    const login = new BasicLogin(web.url, BASIC);
    const client = await new ClientApi(login).createClient({ name: "follow check" });
    const first = await new ApplicationApi(login).createApp({ name: "Follow one", description: "" });
    // auth/authentication.go RequireClient: no credentials or an application token is 401 (model/error.go's shape).
    for (const query of ["", `?token=${first.token}`]) {
      const res = await fetch(`${web.url}/stream${query}`, { headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" } });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: "Unauthorized", errorCode: 401 });
    }
    // Not a WebSocket (gorilla's upgrader answers 400), and another site's page (stream.go isAllowedOrigin: 403).
    const plain = await fetch(`${web.url}/stream?token=${client.token}`);
    expect(plain.status).toBe(400);
    expect(await plain.json()).toMatchObject({ error: "Bad Request", errorCode: 400 });
    const foreign = await fetch(`${web.url}/stream?token=${client.token}`, { headers: { origin: "https://elsewhere.example", upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" } });
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toMatchObject({ error: "Forbidden", errorCode: 403 });

    // The user's Basic login opens a stream too (RequireClient takes a user), and so do X-Gotify-Key and Bearer.
    const logins: Record<string, string>[] = [{ Authorization: BASIC }, { "X-Gotify-Key": client.token }, { Authorization: `Bearer ${client.token}` }];
    for (const auth of logins) {
      const h = await handshake(Number(new URL(web.url).port), "/stream", auth);
      expect(h.status).toBe(101);
      h.close();
    }
    expect((await handshake(Number(new URL(web.url).port), "/stream", { Authorization: "Basic " + Buffer.from("alice:wrong").toString("base64") })).status).toBe(401);
    const { frames, ws } = await stream(client.token);
    const closed = new Promise<number>((resolve) => (ws.onclose = (e) => resolve(e.code)));
    const second = await new ApplicationApi(login).createApp({ name: "Follow two", description: "" });
    // The app made after the socket opened is followed (its channel is listened to once the change is announced).
    const sendAs = (token: string, message: string) => new GotifyClient(web.url, { app: token }).message.createMessage({ message } as Parameters<GotifyClient["message"]["createMessage"]>[0]);
    // The app made after the socket opened is followed at once (its first message is read from history if it came
    // before the subscription was live).
    const firstOfSecond = await sendAs(second.token, "to the new app");
    await until("the new app's message on the stream", () => frames.some((f) => f.appid === second.id));
    expect(frames).toEqual([firstOfSecond as GotifyMessage]);
    await new ApplicationApi(login).deleteApp(second.id);
    const afterDelete = await sendAs(first.token, "after the delete");
    await until("the first app's message", () => frames.length === 2);
    expect(frames).toEqual([firstOfSecond, afterDelete] as GotifyMessage[]);
    // api/client.go DeleteClient → stream.go NotifyDeletedClient: the socket closes.
    await new ClientApi(login).deleteClient(client.id);
    expect(await closed).toBe(1000);
  }, 30_000);
});

/** A WebSocket handshake over raw TCP, with headers Bun's WebSocket client does not send: the status line and body of the answer, and the socket. */
async function handshake(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string; close: () => void }> {
  let text = "";
  let got: () => void = () => {};
  const answered = new Promise<void>((resolve) => (got = resolve));
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, chunk) {
        text += new TextDecoder().decode(chunk);
        const end = text.indexOf("\r\n\r\n");
        if (end >= 0 && (text.startsWith("HTTP/1.1 101") || text.length >= end + 4 + Number(/content-length: (\d+)/i.exec(text)?.[1] ?? 0))) got();
      },
      close() {
        got();
      },
    },
  });
  const lines = [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.write(lines.join("\r\n") + "\r\n\r\n");
  await answered;
  return { status: Number(text.slice(9, 12)), body: text.slice(text.indexOf("\r\n\r\n") + 4), close: () => socket.end() };
}

describe("GET /stream takes its share of the visitor's streams", () => {
  test("--visitor-subscriptions 1: a second stream from the same address is Gotify's 429 until the first closes", async () => {
    const capped = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--trust-proxy", "--visitor-subscriptions", "1"]);
    try {
      // No ACL on this one: everyone is the user "*", and a stream needs no token.
      const from = { "X-Forwarded-For": "203.0.113.7" };
      const first = await handshake(capped.port, "/stream", from);
      expect(first.status).toBe(101);
      const second = await handshake(capped.port, "/stream", from);
      expect(second.status).toBe(429);
      expect(JSON.parse(second.body)).toMatchObject({ error: "Too Many Requests", errorCode: 429 });
      expect(JSON.parse(second.body).errorDescription).toContain("--visitor-subscriptions");
      // Another address has its own share.
      expect((await handshake(capped.port, "/stream", { "X-Forwarded-For": "198.51.100.9" })).status).toBe(101);
      expect(await (await fetch(`${capped.url}/metrics`)).text()).toContain("notistream_gotify_streams 2");
      first.close();
      // The server hears the close a moment later: try until the share is back (a wait, not a timing assertion).
      let again = 0;
      for (let i = 0; i < 200 && again !== 101; i++) {
        const h = await handshake(capped.port, "/stream", from);
        again = h.status;
        h.close();
        if (again !== 101) await Bun.sleep(20);
      }
      expect(again).toBe(101);
    } finally {
      await capped.stop();
    }
  }, 30_000);
});

describe("GET /stream after an ACL reload", () => {
  test("a user taken out of the ACL file (SIGHUP) loses their open streams, as a deleted user's close in Gotify (stream.go NotifyDeletedUser)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "notistream-gotify-sighup-"));
    const acl = join(dir, "users.acl");
    const bob = `user bob on #${new Bun.CryptoHasher("sha256").update("bob-pass-1").digest("hex")} &gotify-* +@all\n`;
    writeFileSync(acl, bob);
    const own = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--acl", acl]);
    try {
      const login = new BasicLogin(own.url, `Basic ${Buffer.from("bob:bob-pass-1").toString("base64")}`);
      await new ApplicationApi(login).createApp({ name: "Bob's", description: "" });
      const client = await new ClientApi(login).createClient({ name: "bob's phone" });
      const ws = new WebSocket(`${own.url.replace(/^http/, "ws")}/stream?token=${client.token}`);
      await new Promise<void>((resolve, reject) => ((ws.onopen = () => resolve()), (ws.onerror = () => reject(new Error("did not open")))));
      const closed = new Promise<number>((resolve) => (ws.onclose = (e) => resolve(e.code)));
      writeFileSync(acl, bob.replace("user bob on", "user bob off"));
      own.proc.kill("SIGHUP");
      expect(await closed).toBe(1000);
      // And the token is refused from now on (web_gotify.ts callerOf: a token's user must be in the file, and on).
      expect((await fetch(`${own.url}/current/user`, { headers: { "x-gotify-key": client.token } })).status).toBe(401);
    } finally {
      await own.stop();
    }
  }, 30_000);
});
