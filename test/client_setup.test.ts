// test/client_setup.test.ts — client_setup.ts's tryConnection, the check made before a config is saved: over HTTPS (--url) against
// a small web server the test controls, and over RESP against our pub/sub server. (The prompts themselves are
// driven in a real terminal by client.e2e.test.ts.)
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Config } from "../client_config";
import { tryConnection } from "../client_setup";
import { freePort, startPubSub, tempPath, type Running } from "./helpers";
import { startNtfyServer, type NtfyServer } from "./ntfyserver";

describe("tryConnection over --url", () => {
  let server: ReturnType<typeof Bun.serve>;
  let base = "";
  const asked: { path: string; authorization: string | null }[] = [];
  /** The status and body the web server answers with, by the channel asked for. */
  const answers: Record<string, [number, string]> = {
    ok: [200, "[]"],
    locked: [401, JSON.stringify({ error: "a login is needed" })],
    long: [403, "x".repeat(1000)],
    broken: [502, "bad gateway"],
  };

  beforeAll(() => {
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (req) => {
        const url = new URL(req.url);
        // What the client asks first (client_http.ts askKind): our web server's /health names its hub.
        if (url.pathname === "/notify/health") return Response.json({ ok: true, hub: { connected: true } });
        if (url.pathname === "/notify/v1/health") return new Response("no such page", { status: 404 });
        asked.push({ path: url.pathname + url.search, authorization: req.headers.get("authorization") });
        const channel = url.searchParams.get("channel") ?? "";
        if (channel === "silent") return await new Promise<Response>(() => {}); // never answers
        const [status, body] = answers[channel] ?? [404, "no such channel"];
        return new Response(body, { status });
      },
    });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(() => server.stop(true));

  const config = (channels: string[], extra: Partial<Config> = {}): Config => ({ host: "unused", port: 1, channels, url: `${base}/notify//`, ...extra }); // behind a proxy, at a path

  test("a 200 from /messages is a working connection: one message of the first channel is asked for, with the login", async () => {
    asked.length = 0;
    expect(await tryConnection(config(["ok", "other"]))).toBeNull();
    expect(await tryConnection(config(["ok"], { password: "tok" }))).toBeNull();
    expect(await tryConnection(config(["ok"], { user: "ann", password: "pw" }))).toBeNull();
    expect(asked).toEqual([
      { path: "/notify/messages?channel=ok&limit=1", authorization: null }, // the URL's trailing slashes are dropped
      { path: "/notify/messages?channel=ok&limit=1", authorization: "Bearer tok" },
      { path: "/notify/messages?channel=ok&limit=1", authorization: `Basic ${btoa("ann:pw")}` },
    ]);
  });

  test("a glob's name is sent escaped", async () => {
    asked.length = 0;
    await tryConnection(config(["octo/*"]));
    expect(asked[0]!.path).toBe("/notify/messages?channel=octo%2F*&limit=1");
  });

  test("any other status is a failure that will not fix itself, saying what the server answered (cut at 200 characters)", async () => {
    expect(await tryConnection(config(["locked"]))).toEqual({ fatal: true, code: "HTTP401", reason: `${base}/notify// answered 401: {"error":"a login is needed"}` });
    expect(await tryConnection(config(["broken"]))).toEqual({ fatal: true, code: "HTTP502", reason: `${base}/notify// answered 502: bad gateway` });
    expect(await tryConnection(config(["long"]))).toEqual({ fatal: true, code: "HTTP403", reason: `${base}/notify// answered 403: ${"x".repeat(200)}` });
  });

  test("no server, or one that does not answer in time, is a failure that may fix itself, naming the URL", async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const refused = await tryConnection(config(["ok"], { url: nobody }));
    expect(refused).toMatchObject({ fatal: false, code: "ERROR" });
    expect(refused!.reason.startsWith(`${nobody}: `)).toBe(true);
    const silent = await tryConnection(config(["silent"]), 300);
    expect(silent).toMatchObject({ fatal: false, code: "ERROR" });
    expect(silent!.reason.startsWith(`${base}/notify//: `)).toBe(true);
  });
});

describe("tryConnection against an ntfy server (test/ntfyserver.ts, ntfy's wire format)", () => {
  let ntfy: NtfyServer;
  beforeAll(async () => {
    ntfy = await startNtfyServer(tempPath("setup-ntfy-cache.jsonl"), ["--user", "ann:pw", "--deny-anonymous"]);
  });
  afterAll(async () => {
    await ntfy?.kill();
  });
  const config = (extra: Partial<Config> = {}): Config => ({ host: "unused", port: 1, channels: ["alerts", "backups"], url: ntfy.url, ...extra });

  test("asked what it is, then one poll of the channels' stream with the login: a working connection", async () => {
    expect(await tryConnection(config({ user: "ann", password: "pw" }))).toBeNull();
    expect(await tryConnection(config({ user: "ann", password: "pw", ntfy: true }))).toBeNull();
  });

  test("a wrong password or no login is ntfy's refusal, said; a channel ntfy cannot name is said before asking", async () => {
    expect(await tryConnection(config({ user: "ann", password: "nope" }))).toMatchObject({ fatal: true, code: "HTTP401" });
    expect(await tryConnection(config())).toMatchObject({ fatal: true, code: "HTTP403" });
    const glob = await tryConnection(config({ channels: ["octo/*"], user: "ann", password: "pw" }));
    expect(glob).toMatchObject({ fatal: true, code: "CONFIG" });
    expect(glob!.reason).toContain("ntfy has no glob topics");
  });
});

describe("tryConnection over RESP", () => {

  let open: Running;
  let locked: Running;
  beforeAll(async () => {
    [open, locked] = await Promise.all([startPubSub(), startPubSub(["--password", "right"])]);
  });
  afterAll(async () => {
    await Promise.all([open.stop(), locked.stop()]);
  });
  const config = (port: number, extra: Partial<Config> = {}): Config => ({ host: "127.0.0.1", port, channels: ["a"], ...extra });

  test("a server that lets the user in is a working connection", async () => {
    expect(await tryConnection(config(open.port))).toBeNull();
    expect(await tryConnection(config(locked.port, { password: "right" }))).toBeNull();
  });

  test("a refused login will not fix itself, and says what the server said", async () => {
    expect(await tryConnection(config(locked.port, { password: "wrong" }))).toEqual({
      fatal: true,
      code: "WRONGPASS",
      reason: "the server said: WRONGPASS invalid username-password pair or user is disabled.",
    });
    expect(await tryConnection(config(locked.port))).toMatchObject({ fatal: true, code: "NOAUTH" });
  });

  test("nothing listening may fix itself", async () => {
    const f = await tryConnection(config(await freePort()));
    expect(f).toMatchObject({ fatal: false });
    expect(f!.reason).toContain("127.0.0.1");
  });
});

describe("tryConnection against a server that never answers", () => {
  // link.ts's connect timeout runs until the login is answered: a server that accepts and then says nothing (a
  // stopped one: the kernel still accepts) must not keep setup's "Trying …" spinning for ever.
  test("it is a failure within the timeout asked for, one that may fix itself", async () => {
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      // 300 ms asked for; the race only keeps a hang from holding the run (10 s is no timing claim).
      const f = await Promise.race([tryConnection({ host: "127.0.0.1", port: silent.port, channels: ["a"] }, 300), Bun.sleep(10_000).then(() => "no answer after 10 s")]);
      expect(f).toMatchObject({ fatal: false });
    } finally {
      silent.stop(true);
    }
  }, 15_000);
});
