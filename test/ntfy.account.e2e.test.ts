// test/ntfy.account.e2e.test.ts — who may do what, as ntfy's clients send it, against real processes: every credential
// form on the ACL (Basic, Bearer, Basic with no user name, ?auth=), /v1/account, tokens made, extended and revoked and
// shared by two web servers, /v1/health, /v1/config and /config.js, the failed-login and --visitor-subscriptions 429s,
// and Home Assistant's config flow replayed as aiontfy sends it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, ROOT, freePort, json, needs, post, startPubSub, startRedis, startWebServer, tempPath, until, type Running } from "./helpers";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const PASSWORDS: Record<string, string> = { web: "web-secret-24", alice: "alice-secret-24", ci: "ci-secret-24" };
const b64url = (s: string) => Buffer.from(s).toString("base64url");
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
const ALICE = basic("alice", PASSWORDS.alice!);
/** ntfy's apiAccountStats of a visitor who published nothing today; aiontfy's Account cannot do without them. */
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
/**
 * ntfy's apiAccountLimits without --rate-limit (server_account.go handleAccountGet; aiontfy's AccountLimits requires
 * every figure): basis "ip" as ntfy's for limits from the server's settings, 0 for what is not limited or not offered.
 */
const NO_LIMITS = {
  basis: "ip",
  messages: 0,
  messages_expiry_duration: 0,
  emails: 0,
  calls: 0,
  reservations: 0,
  attachment_total_size: 0,
  attachment_file_size: 0,
  attachment_expiry_duration: 0,
  attachment_bandwidth: 0,
};

/**
 * docs/users.acl with its placeholder hashes replaced (so the web user's documented grants are what the token store
 * gets), plus Home Assistant's user, who reads and publishes the ntfy-style topics ha_*.
 */
function aclFile(): string {
  let text = readFileSync(join(ROOT, "docs/users.acl"), "latin1");
  for (const [user, pass] of Object.entries(PASSWORDS)) text = text.replace(new RegExp(`^(user ${user} on )#0{63}[0-9]`, "m"), `$1#${sha(pass)}`);
  text += `\nuser hass on #${sha("hass-secret-24")} &ha_* -@all +subscribe +publish\n`;
  const path = tempPath("users.acl");
  writeFileSync(path, text);
  return path;
}

type Web = Running & { url: string };
/** `probe`'s answer once it is `want`, or its last one after 15 s (a web server acts on a notice as it arrives). */
async function eventually<T>(probe: () => Promise<T>, want: T): Promise<T> {
  let got = await probe();
  for (const end = Date.now() + 15_000; got !== want && Date.now() < end; got = await probe()) await Bun.sleep(50);
  return got;
}
const get = (web: Web, path: string, headers: Record<string, string> = {}) => fetch(`${web.url}${path}`, { headers });
const from = (visitor: string, headers: Record<string, string> = {}) => ({ "x-forwarded-for": visitor, ...headers });
/** An ntfy error body: {code, http, error, link}. */
type NtfyErr = { code: number; http: number; error: string; link?: string };

describe("ntfy's credentials, accounts and tokens on the ACL", () => {
  let pubsub: Running;
  let web1: Web;
  let web2: Web;
  const redis = () => `redis://web:${PASSWORDS.web}@127.0.0.1:${pubsub.port}`;
  beforeAll(async () => {
    const file = aclFile();
    pubsub = await startPubSub(["--acl", file]);
    // --trust-proxy: each test speaks as its own visitor through X-Forwarded-For (from this machine, a trusted proxy).
    [web1, web2] = await Promise.all([startWebServer(redis(), ["--acl", file, "--trust-proxy"]), startWebServer(redis(), ["--acl", file, "--trust-proxy"])]);
  });
  afterAll(async () => {
    await Promise.all([web1?.stop(), web2?.stop()]);
    await pubsub?.stop();
  });

  /** Issues a token to alice on `web` (POST /v1/account/token, logged in with Basic). */
  const issue = async (web: Web, body: unknown, visitor = "192.0.2.10") => {
    const r = await post(`${web.url}/v1/account/token`, json(body), { headers: from(visitor, { authorization: ALICE }) });
    expect(r.status).toBe(200);
    return (await r.json()) as { token: string; label?: string; expires?: number; last_access: number; last_origin?: string };
  };
  /** Whether `authorization` may read team/x on `web` (GET /messages, our own reading route, checked by the ACL). */
  const reads = async (web: Web, authorization: string | null, query = "", visitor = "192.0.2.11") =>
    (await get(web, `/messages?channel=team/x${query}`, from(visitor, authorization ? { authorization } : {}))).status;

  // ntfy: server.go maybeAuthenticate, readAuthHeader (?auth= is base64url of the header), authenticateBasicAuth (an
  // empty user name makes the password a token); docs/publish.md §Authentication.
  test("every credential form maps onto the ACL: Basic, Bearer (a password or a token), Basic with no user name, ?auth=", async () => {
    const { token } = await issue(web1, { label: "forms" });
    expect(await reads(web1, null)).toBe(401);
    expect(await reads(web1, ALICE)).toBe(200);
    expect(await reads(web1, `Bearer ${PASSWORDS.alice}`)).toBe(200);
    expect(await reads(web1, `Bearer ${token}`)).toBe(200);
    expect(await reads(web1, basic("", token))).toBe(200);
    expect(await reads(web1, basic("", PASSWORDS.alice!))).toBe(200);
    expect(await reads(web1, null, `&auth=${b64url(ALICE)}`)).toBe(200);
    expect(await reads(web1, null, `&auth=${b64url(`Bearer ${token}`)}`)).toBe(200);
    // ci may only publish: its token-less login reads nothing (403), and a wrong one is a 401.
    expect(await reads(web1, `Bearer ${PASSWORDS.ci}`)).toBe(403);
    expect(await reads(web1, basic("alice", "wrong"))).toBe(401);
    expect(await reads(web1, null, `&auth=${b64url("Bearer tk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaa")}`)).toBe(401);
    // ntfy's web app: a browser's WebSocket, which sends no headers, with ?auth= (web/src/app/Connection.js).
    const frames: string[] = [];
    const ws = new WebSocket(`${web1.url.replace("http", "ws")}/team/x/ws?auth=${b64url(`Bearer ${token}`)}`);
    ws.onmessage = (e) => frames.push(String(e.data));
    await until("the WebSocket's open event", () => frames.length > 0);
    ws.close();
    expect(JSON.parse(frames[0]!)).toMatchObject({ event: "open", topic: "team/x" });
    // Publishing with a token, as ntfy's CLI does with -k.
    const published = await post(`${web1.url}/`, json({ channel: "team/x", message: "by token" }), { headers: from("192.0.2.11", { authorization: `Bearer ${token}` }) });
    expect(published.status).toBe(200);
  });

  // ntfy: server_account.go handleAccountGet; types.go apiAccountResponse (username, role, limits, stats; empty ones left out).
  test("GET /v1/account: anonymous callers are *, users their name and role; a wrong login is ntfy's 401", async () => {
    const anonymous = await get(web1, "/v1/account", from("192.0.2.12"));
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers.get("access-control-allow-origin")).toBe("*");
    expect(await anonymous.json()).toEqual({ username: "*", role: "anonymous", limits: NO_LIMITS, stats: NO_STATS });
    // alice published once in the test above (by token): her own count, not the visitor's.
    expect(await (await get(web1, "/v1/account", from("192.0.2.12", { authorization: ALICE }))).json()).toEqual({ username: "alice", role: "user", limits: NO_LIMITS, stats: { ...NO_STATS, messages: 1 } });
    const wrong = await get(web1, "/v1/account", from("192.0.2.12", { authorization: basic("alice", "nope") }));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toBeNull();
    const body = (await wrong.json()) as NtfyErr;
    expect(body).toMatchObject({ code: 40101, http: 401, link: "https://ntfy.sh/docs/publish/#authentication" });
    expect(body.error).toStartWith("unauthorized; wrong user name or password");
  });

  // ntfy: server_account.go handleAccountTokenCreate, ...Update, ...Delete; user/manager.go CreateToken (tk_ + 29).
  test("tokens: made (72 hours by default, 0 for never), relabelled, extended, revoked by X-Token or by themselves", async () => {
    const now = Math.floor(Date.now() / 1000);
    const made = await issue(web1, { label: "phone" });
    expect(made.token).toMatch(/^tk_[a-z0-9]{29}$/);
    expect(made).toMatchObject({ label: "phone", last_origin: "192.0.2.10" });
    expect(made.expires! - now).toBeGreaterThanOrEqual(72 * 3600 - 5);
    expect(made.expires! - now).toBeLessThanOrEqual(72 * 3600 + 5);
    const forever = await issue(web1, { label: "server", expires: 0 });
    expect(forever.expires).toBeUndefined();

    const patch = (body: unknown, authorization = ALICE) => post(`${web1.url}/v1/account/token`, json(body), { method: "PATCH", headers: from("192.0.2.13", { authorization }) });
    const relabelled = await (await patch({ token: made.token, label: "laptop" })).json();
    expect(relabelled).toMatchObject({ token: made.token, label: "laptop", expires: made.expires });
    // No label and no expiry, logged in with the token itself: extended by 72 hours from now.
    const extended = (await (await patch({}, `Bearer ${forever.token}`)).json()) as { expires: number };
    expect(extended.expires - now).toBeGreaterThanOrEqual(72 * 3600 - 5);
    const never = await (await patch({ token: forever.token, expires: 0 })).json();
    expect(never).toEqual({ token: forever.token, label: "server", last_access: forever.last_access, last_origin: "192.0.2.10" });

    const refusals: [Response, number, number, string][] = [
      [await patch({ token: made.token, expires: now - 10 }), 400, 40000, "a time already past"],
      [await patch({ token: "tk_bbbbbbbbbbbbbbbbbbbbbbbbbbbbb" }), 404, 40401, "user 'alice' has no such live token"],
      [await patch({ label: "x" }), 400, 40023, "no token provided"],
      [await post(`${web1.url}/v1/account/token`, "{not json", { headers: from("192.0.2.13", { authorization: ALICE }) }), 400, 40024, "request body must be valid JSON"],
      [await post(`${web1.url}/v1/account/token`, json({ expires: "soon" }), { headers: from("192.0.2.13", { authorization: ALICE }) }), 400, 40024, '"expires"'],
      [await post(`${web1.url}/v1/account/token`, json({}), { headers: from("192.0.2.13") }), 401, 40101, "log in"],
    ];
    for (const [r, status, code, text] of refusals) {
      expect(r.status).toBe(status);
      const body = (await r.json()) as NtfyErr;
      expect(body.code).toBe(code);
      expect(body.error).toContain(text);
    }

    // Another user cannot revoke alice's token (ntfy scopes it to the caller; the answer is success all the same).
    const byCi = await post(`${web1.url}/v1/account/token`, null, { method: "DELETE", headers: from("192.0.2.13", { authorization: `Bearer ${PASSWORDS.ci}`, "x-token": made.token }) });
    expect(await byCi.json()).toEqual({ success: true });
    expect(await reads(web1, `Bearer ${made.token}`)).toBe(200);
    const revoked = await post(`${web1.url}/v1/account/token`, null, { method: "DELETE", headers: from("192.0.2.13", { authorization: ALICE, "x-token": made.token }) });
    expect(await revoked.json()).toEqual({ success: true });
    expect(await reads(web1, `Bearer ${made.token}`)).toBe(401);
    // With no X-Token, the token the caller logged in with.
    const itself = await post(`${web1.url}/v1/account/token`, null, { method: "DELETE", headers: from("192.0.2.13", { authorization: `Bearer ${forever.token}` }) });
    expect(await itself.json()).toEqual({ success: true });
    expect(await reads(web1, `Bearer ${forever.token}`)).toBe(401);
  });

  // ntfy: user/manager.go CreateToken keeps at most tokenMaxCount (60) per user.
  test("past 60 tokens a user's soonest to expire goes; the one just made always stays", async () => {
    const now = Math.floor(Date.now() / 1000);
    const made: string[] = [];
    // ci's own tokens (ci logs in with its password as a Bearer token), so alice's elsewhere are not counted.
    for (let i = 0; i < 61; i++) {
      const r = await post(`${web2.url}/v1/account/token`, json({ expires: now + 10_000 - i }), { headers: from("192.0.2.15", { authorization: `Bearer ${PASSWORDS.ci}` }), status: 200 });
      made.push(((await r.json()) as { token: string }).token);
    }
    const publishes = async (token: string) => (await post(`${web2.url}/`, json({ channel: "deploys", message: "x" }), { headers: from("192.0.2.15", { authorization: `Bearer ${token}` }) })).status;
    // The 61st made room by dropping the one expiring soonest among the others: the 60th made.
    expect(await publishes(made[59]!)).toBe(401);
    for (const kept of [made[60]!, made[58]!, made[0]!]) expect(await publishes(kept)).toBe(200);
  }, 20_000);

  test("a token made on one web server works on another, and on a web server started later; revoked on one, refused by all", async () => {
    const { token } = await issue(web1, { label: "shared", expires: 0 });
    expect(await reads(web2, `Bearer ${token}`)).toBe(200);
    const web3 = await startWebServer(redis(), ["--acl", aclFile(), "--trust-proxy"]);
    try {
      expect(await reads(web3, `Bearer ${token}`)).toBe(200);
      const revoked = await post(`${web2.url}/v1/account/token`, null, { method: "DELETE", headers: from("192.0.2.14", { authorization: `Bearer ${token}` }) });
      expect(await revoked.json()).toEqual({ success: true });
      expect(await reads(web2, `Bearer ${token}`)).toBe(401);
      // The others read it lately: the revocation's notice over the pub/sub server makes them read it again.
      for (const web of [web1, web3]) expect(await eventually(() => reads(web, `Bearer ${token}`), 401)).toBe(401);
    } finally {
      await web3.stop();
    }
  }, 40_000);

  // ntfy: server.go handleHealth, handleWebConfig (config.js), and /v1/config's apiConfigResponse.
  test("/v1/health, /v1/config and /config.js say what this server is", async () => {
    const health = await get(web1, "/v1/health");
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ healthy: true });
    const config = (await (await get(web1, "/v1/config")).json()) as Record<string, unknown>;
    expect(config).toEqual({
      base_url: "",
      app_root: "/",
      enable_login: true,
      require_login: false,
      enable_signup: false,
      enable_payments: false,
      enable_calls: false,
      enable_emails: false,
      enable_reservations: false,
      enable_web_push: false,
      billing_contact: "",
      web_push_public_key: "",
      // ntfy's own (config.go DefaultDisallowedTopics), then the names of our own routes.
      disallowed_topics: ["docs", "static", "file", "app", "metrics", "account", "settings", "signup", "login", "v1", "health", "healthz", "events", "messages", "github", "gitlab", "gitea", "message", "stream", "application", "client", "current", "user", "version", "image"],
      // What web/src/app/VersionChecker.js compares every 5 minutes (v2.16+; docs/api/openapi.yaml ServerConfig.config_hash).
      config_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // The same on every web server with the same settings, so a load balancer never makes the app offer a reload.
    expect(((await (await get(web2, "/v1/config")).json()) as { config_hash: string }).config_hash).toBe(config.config_hash as string);
    const script = await get(web1, "/config.js");
    expect(script.headers.get("content-type")).toBe("text/javascript");
    const text = await script.text();
    expect(text).toStartWith("// Generated server configuration\nvar config = {");
    expect(JSON.parse(text.slice(text.indexOf("{"), text.lastIndexOf(";")))).toEqual(config);
  });

  // ntfy: visitor.go AuthAllowed and AuthFailed (the authLimiter: 30 at once, then one a minute); errors.go 42909.
  test("repeated failed logins: a 429 in ntfy's shape for that visitor's logins, the right one too; others go on", async () => {
    const visitor = "198.51.100.9";
    let failures = 0;
    let last: Response | null = null;
    for (; failures < 40; failures++) {
      last = await get(web1, "/v1/account", from(visitor, { authorization: basic("alice", `guess-${failures}`) }));
      if (last.status !== 401) break;
    }
    expect(failures).toBe(29);
    expect(last!.status).toBe(429);
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await last!.json()) as NtfyErr;
    expect(body).toMatchObject({ code: 42909, http: 429, link: "https://ntfy.sh/docs/publish/#limitations" });
    expect(body.error).toStartWith(`limit reached: too many auth failures; ${visitor} failed to log in too often (30 tries at once, then one a minute); try again in `);
    expect((await get(web1, "/v1/account", from(visitor, { authorization: ALICE }))).status).toBe(429);
    expect(await reads(web1, ALICE, "", visitor)).toBe(429);
    expect(await reads(web1, ALICE, "", "198.51.100.10")).toBe(200);
    expect(await (await get(web1, "/v1/account", from(visitor))).json()).toMatchObject({ username: "*" });
  });
});

// Home Assistant's ntfy integration (homeassistant/components/ntfy/config_flow.py async_step_user, and its event
// entities through aiontfy's Ntfy.subscribe): the calls, headers and bodies aiontfy makes (src/aiontfy/ntfy.py).
describe("Home Assistant's config flow, replayed", () => {
  let pubsub: Running;
  let web: Web;
  const HASS = basic("hass", "hass-secret-24");
  const UA = { "user-agent": "aiontfy/0.6.1" };
  beforeAll(async () => {
    const file = aclFile();
    pubsub = await startPubSub(["--acl", file]);
    web = await startWebServer(`redis://web:${PASSWORDS.web}@127.0.0.1:${pubsub.port}`, ["--acl", file]);
  });
  afterAll(async () => {
    await web?.stop();
    await pubsub?.stop();
  });

  test("account anonymously, then as the user; a never-expiring token; then a WebSocket with that Bearer token and filters", async () => {
    // 1. The URL alone: Ntfy(url).account(); "*" means no token is made.
    expect(await (await get(web, "/v1/account", UA)).json()).toMatchObject({ username: "*" });
    // 2. With the user's name and password: BasicAuth(username, password, "utf8").encode().
    expect(await (await get(web, "/v1/account", { ...UA, authorization: HASS })).json()).toMatchObject({ username: "hass", role: "user" });
    // 3. generate_token("Home Assistant"): {"label": "Home Assistant", "expires": 0}.
    const made = await post(`${web.url}/v1/account/token`, json({ label: "Home Assistant", expires: 0 }), { headers: { ...UA, authorization: HASS }, status: 200 });
    const { token } = (await made.json()) as { token: string };
    expect(token).toMatch(/^tk_[a-z0-9]{29}$/);
    const bearer = { ...UA, authorization: `Bearer ${token}` };
    // From here on the entry holds only the token: the coordinator's account() and the event entity's subscribe().
    expect(await (await get(web, "/v1/account", bearer)).json()).toMatchObject({ username: "hass" });
    const auth = await get(web, "/ha_door/auth", bearer);
    expect(auth.status).toBe(200);
    expect(await auth.json()).toEqual({ success: true });
    expect((await get(web, "/ha_door/auth", UA)).status).toBe(401);

    const frames: Record<string, unknown>[] = [];
    const ws = new WebSocket(`${web.url.replace("http", "ws")}/ha_door/ws?tags=door&priority=4,5`, { headers: bearer } as unknown as string[]);
    ws.onmessage = (e) => frames.push(JSON.parse(String(e.data)) as Record<string, unknown>);
    await until("the WebSocket's open event", () => frames.length > 0);
    expect(frames[0]).toMatchObject({ event: "open", topic: "ha_door" });
    // aiontfy's publish(): POST / with the message as JSON, logged in with the token.
    const publish = (body: Record<string, unknown>) => post(`${web.url}/`, json({ topic: "ha_door", ...body }), { headers: bearer, status: 200 });
    await publish({ message: "opened", title: "Front door", priority: 5, tags: ["door", "alarm"] });
    await publish({ message: "low priority", priority: 3, tags: ["door"] });
    await publish({ message: "other tag", priority: 4, tags: ["window"] });
    await publish({ message: "closed", priority: 4, tags: ["door"] });
    await until("the two messages that pass the filters", () => frames.length >= 3);
    ws.close();
    expect(frames.slice(1).map((f) => [f.event, f.topic, f.message, f.title, f.priority, f.tags])).toEqual([
      ["message", "ha_door", "opened", "Front door", 5, ["door", "alarm"]],
      ["message", "ha_door", "closed", undefined, 4, ["door"]],
    ]);
  }, 30_000);
});

describe("ntfy's tokens without users", () => {
  test("without --acl everyone is anonymous, credentials are ignored, and no token is issued", async () => {
    const pubsub = await startPubSub();
    const web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`);
    try {
      expect(await (await get(web, "/v1/account", { authorization: basic("alice", "x") })).json()).toEqual({ username: "*", role: "anonymous", limits: NO_LIMITS, stats: NO_STATS });
      const refused = await post(`${web.url}/v1/account/token`, json({ label: "x" }), { headers: { authorization: basic("alice", "x") } });
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as NtfyErr).error).toBe("unauthorized; this server has no users (it runs without --acl), so it issues no tokens");
      expect(((await (await get(web, "/v1/config")).json()) as { enable_login: boolean }).enable_login).toBe(false);
    } finally {
      await web.stop();
      await pubsub.stop();
    }
  }, 20_000);
});

describe("--visitor-subscriptions", () => {
  // ntfy: config.go DefaultVisitorSubscriptionLimit 30; errors.go 42903.
  test("the streams one visitor may hold open; the 429 names the flag; the env twin and the old name set it too", async () => {
    const pubsub = await startPubSub();
    const web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--trust-proxy", "--visitor-subscriptions", "2"]);
    const open: AbortController[] = [];
    try {
      await until("the start-up line on streams", () => web.output().includes("may hold 2 streams"));
      // Streams open once the web server's subscription to the pub/sub server is up (/healthz), as on a loaded machine it may not be yet.
      expect(await eventually(async () => (await fetch(`${web.url}/healthz`)).status, 200)).toBe(200);
      const stream = async (visitor: string) => {
        const c = new AbortController();
        open.push(c);
        return fetch(`${web.url}/events?channel=news`, { headers: from(visitor), signal: c.signal });
      };
      expect((await stream("203.0.113.5")).status).toBe(200);
      expect((await stream("203.0.113.5")).status).toBe(200);
      const over = await stream("203.0.113.5");
      expect(over.status).toBe(429);
      expect(((await over.json()) as { error: string }).error).toContain("--visitor-subscriptions");
      // ntfy's streams count in the same share, refused in ntfy's shape (errors.go errHTTPTooManyRequestsLimitSubscriptions).
      const c = new AbortController();
      open.push(c);
      const ntfyOver = await fetch(`${web.url}/news/json`, { headers: from("203.0.113.5"), signal: c.signal });
      expect(ntfyOver.status).toBe(429);
      const body = (await ntfyOver.json()) as NtfyErr;
      expect(body).toMatchObject({ code: 42903, http: 429 });
      expect(body.error).toContain("--visitor-subscriptions");
      expect((await stream("203.0.113.6")).status).toBe(200);
      const other = await fetch(`${web.url}/news/json`, { headers: from("203.0.113.6"), signal: c.signal });
      expect(other.status).toBe(200);
    } finally {
      for (const c of open) c.abort();
      await web.stop();
    }
    const viaEnv = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, [], { NOTISTREAM_VISITOR_SUBSCRIPTIONS: "7" });
    const viaOld = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--max-streams-per-visitor", "5"]);
    try {
      await until("--visitor-subscriptions from its env twin", () => viaEnv.output().includes("may hold 7 streams"));
      await until("--visitor-subscriptions from its old name", () => viaOld.output().includes("may hold 5 streams"));
    } finally {
      await Promise.all([viaEnv.stop(), viaOld.stop()]);
    }
    const both = Bun.spawnSync([BUN, `${ROOT}/web.ts`, "--port", String(await freePort()), "--visitor-subscriptions", "3", "--max-streams-per-visitor", "4"]);
    expect(both.exitCode).toBe(2);
    expect(both.stderr.toString()).toContain("--visitor-subscriptions and its old name --max-streams-per-visitor disagree (3 and 4)");
    await pubsub.stop();
  }, 40_000);
});

/**
 * What ntfy's web app and aiontfy read of an account. Stats: ntfy counts each visitor's messages of the day, a visitor
 * being the user or, anonymous, the IP (server/visitor.go Stats, infoLightNoLock; reset at midnight UTC,
 * DefaultVisitorStatsResetTime), answered by server_account.go handleAccountGet. aiontfy (src/aiontfy/types.py
 * Account, AccountStats, AccountLimits) requires stats and limits, every figure an int and basis a string. The web
 * app's calls are web/src/app/AccountApi.js's (get, addSubscription, updateSubscription, deleteSubscription,
 * updateSettings) and Api.js's publish (a PUT / whose JSON body fetch labels text/plain).
 */
describe("what ntfy's web app and aiontfy read of an account", () => {
  let pubsub: Running;
  let web1: Web;
  let web2: Web;
  const HASS = basic("hass", "hass-secret-24");
  const RATE = 100; // web2's --rate-limit: r a second is at most r × 86,400 a day
  beforeAll(async () => {
    const file = aclFile();
    pubsub = await startPubSub(["--acl", file]);
    const redis = `redis://web:${PASSWORDS.web}@127.0.0.1:${pubsub.port}`;
    [web1, web2] = await Promise.all([startWebServer(redis, ["--acl", file, "--trust-proxy"]), startWebServer(redis, ["--acl", file, "--trust-proxy", "--rate-limit", String(RATE)])]);
  });
  afterAll(async () => {
    await Promise.all([web1?.stop(), web2?.stop()]);
    await pubsub?.stop();
  });
  type Account = { username: string; role: string; limits: Record<string, number | string>; stats: Record<string, number>; tokens?: { token: string; label?: string }[]; subscriptions?: unknown[]; language?: string; notification?: unknown };
  const account = async (web: Web, authorization: string, visitor = "192.0.2.50"): Promise<Account> => {
    const r = await get(web, "/v1/account", from(visitor, { authorization }));
    expect(r.status).toBe(200);
    return (await r.json()) as Account;
  };
  /** The count web reads for hass once it is `want` (a publish is counted as it is answered, on whichever web server took it). */
  const hassCount = (web: Web, want: number) => eventually(async () => (await account(web, HASS)).stats.messages, want);

  test("every publish form counts once for its user, on every web server; refused ones and reads do not", async () => {
    const before = await account(web1, HASS);
    // aiontfy's types: every stats and limits figure an int, basis a string.
    for (const v of Object.values(before.stats)) expect(Number.isInteger(v)).toBe(true);
    for (const [k, v] of Object.entries(before.limits)) expect(k === "basis" ? typeof v === "string" : Number.isInteger(v)).toBe(true);
    expect(before).toMatchObject({ username: "hass", role: "user", limits: NO_LIMITS, stats: NO_STATS });

    const headers = from("192.0.2.51", { authorization: HASS });
    // 1. ntfy-style POST /<topic> (curl, Apprise's topic URLs).
    expect((await fetch(`${web1.url}/ha_stats`, { method: "POST", headers, body: "one" })).status).toBe(200);
    expect(await hassCount(web2, 1)).toBe(1);
    // 2. GET /<topic>/publish (webhooks).
    expect((await fetch(`${web2.url}/ha_stats/publish?m=two`, { headers })).status).toBe(200);
    expect(await hassCount(web1, 2)).toBe(2);
    // 3. ntfy's web app: PUT / with JSON that fetch labels text/plain;charset=UTF-8 (Api.js publish). It was a 415.
    const asBrowsers = { ...headers, "content-type": "text/plain;charset=UTF-8" }; // what a browser's fetch labels a string body
    const put = await fetch(`${web1.url}/`, { method: "PUT", headers: asBrowsers, body: JSON.stringify({ topic: "ha_stats", message: "three", title: "From the web app" }) });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ event: "message", topic: "ha_stats", message: "three", title: "From the web app" });
    expect(await hassCount(web2, 3)).toBe(3);
    // 4. aiontfy's publish(): POST / with application/json.
    expect((await post(`${web2.url}/`, json({ topic: "ha_stats", message: "four" }), { headers })).status).toBe(200);
    expect(await hassCount(web1, 4)).toBe(4);

    // Not counted: a refused publish (hass may not write team/x), a bad one, a poll, a token made.
    expect((await fetch(`${web1.url}/team/x`, { method: "POST", headers, body: "no" })).status).toBe(403);
    expect((await fetch(`${web1.url}/ha_stats?priority=9`, { method: "POST", headers, body: "bad" })).status).toBe(400);
    expect((await fetch(`${web1.url}/ha_stats/json?poll=1`, { headers })).status).toBe(200);
    expect((await post(`${web1.url}/v1/account/token`, json({ label: "x" }), { headers })).status).toBe(200);
    // A last publish, so that once it shows every request before it has been counted or not.
    expect((await fetch(`${web1.url}/ha_stats`, { method: "POST", headers, body: "five" })).status).toBe(200);
    expect(await hassCount(web1, 5)).toBe(5);
    expect((await account(web2, HASS)).stats.messages).toBe(5);
  }, 30_000);

  test("limits: without --rate-limit none (0); with --rate-limit r, r × 86,400 a day, and messages_remaining counts down", async () => {
    const one = await account(web1, ALICE);
    const two = await account(web2, ALICE);
    expect(one.limits).toEqual(NO_LIMITS);
    expect(two.limits).toEqual({ ...NO_LIMITS, messages: RATE * 86_400 });
    const used = two.stats.messages!;
    expect(two.stats.messages_remaining).toBe(RATE * 86_400 - used);
    expect(one.stats.messages_remaining).toBe(0);
  });

  test("the web app's subscriptions and settings follow the user: added, renamed, removed; 409 twice; anonymous 401", async () => {
    const headers = from("192.0.2.52", { authorization: HASS });
    const send = (web: Web, method: string, body: unknown, extra: Record<string, string> = {}) =>
      fetch(`${web.url}/v1/account/subscription`, { method, headers: { ...headers, ...extra }, ...(body === null ? {} : { body: JSON.stringify(body) }) });
    const sub = { base_url: "https://notify.example", topic: "ha_door" };
    const added = await send(web1, "POST", sub);
    expect(added.status).toBe(200);
    expect(await added.json()).toEqual({ ...sub, display_name: null });
    const again = await send(web2, "POST", sub);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: 40903, http: 409 });
    const renamed = await send(web2, "PATCH", { ...sub, display_name: "Front door" });
    expect(await renamed.json()).toEqual({ ...sub, display_name: "Front door" });
    expect((await send(web1, "PATCH", { base_url: sub.base_url, topic: "ha_none", display_name: "x" })).status).toBe(404);
    const settings = await fetch(`${web2.url}/v1/account/settings`, { method: "PATCH", headers, body: JSON.stringify({ language: "de", notification: { min_priority: 4, delete_after: 0 } }) });
    expect(await settings.json()).toEqual({ success: true });
    expect(await account(web1, HASS)).toMatchObject({ language: "de", notification: { min_priority: 4, delete_after: 0 }, subscriptions: [{ ...sub, display_name: "Front door" }] });
    // DELETE names it in X-BaseURL and X-Topic; after it, no subscriptions key at all (the app would drop every local one on an empty list).
    expect(await (await send(web2, "DELETE", null, { "x-baseurl": sub.base_url, "x-topic": sub.topic })).json()).toEqual({ success: true });
    expect("subscriptions" in (await account(web1, HASS))).toBe(false);
    // Bad input and anonymous callers, in ntfy's shape.
    const bad = await fetch(`${web1.url}/v1/account/subscription`, { method: "POST", headers, body: "{nope" });
    expect(await bad.json()).toMatchObject({ code: 40024, http: 400 });
    const anonymous = await fetch(`${web1.url}/v1/account/subscription`, { method: "POST", headers: from("192.0.2.52"), body: JSON.stringify(sub) });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 40101 });
  });

  // web/src/app/errors.js throwAppError: a 401 or 403 is a lost login (the app logs out); another ntfy error shows its text.
  test("'Change password' and 'Delete account' get a 400 whose sentence the app shows (not a 404, nor a 401 or 403 that logs out)", async () => {
    const headers = from("192.0.2.54", { authorization: HASS });
    const password = await fetch(`${web1.url}/v1/account/password`, { method: "POST", headers, body: JSON.stringify({ password: "hass-secret-24", new_password: "x" }) });
    const remove = await fetch(`${web1.url}/v1/account`, { method: "DELETE", headers, body: JSON.stringify({ password: "hass-secret-24" }) });
    for (const r of [password, remove]) {
      expect(r.status).toBe(400);
      const body = (await r.json()) as NtfyErr;
      expect(body).toMatchObject({ code: 40000, http: 400 });
      expect(body.error).toContain("its admin changes a password or removes a user there and reloads it (SIGHUP)");
    }
    expect((await account(web1, HASS)).username).toBe("hass");
  });

  test("the token the caller logged in with is listed (the app's 'current browser session' row); with a password, none", async () => {
    const made = await post(`${web1.url}/v1/account/token`, json({ label: "browser" }), { headers: from("192.0.2.53", { authorization: HASS }) });
    const { token } = (await made.json()) as { token: string };
    const withToken = await account(web2, `Bearer ${token}`);
    expect(withToken.tokens).toEqual([expect.objectContaining({ token, label: "browser" })]);
    expect("tokens" in (await account(web2, HASS))).toBe(false);
  });
});

describe("anonymous visitors' counts (no --acl: everyone is ntfy's *)", () => {
  test("with --rate-limit, counted by IP as ntfy's visitors: each visitor's publishes are its own; /v1/account answers '*' with that visitor's count", async () => {
    const pubsub = await startPubSub();
    const web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--trust-proxy", "--rate-limit", "1000"]);
    try {
      const count = async (visitor: string) => ((await (await get(web, "/v1/account", from(visitor))).json()) as { username: string; stats: { messages: number } }).stats.messages;
      for (const body of ["a", "b", "c"]) expect((await fetch(`${web.url}/news`, { method: "POST", headers: from("198.51.100.7"), body })).status).toBe(200);
      expect((await fetch(`${web.url}/news`, { method: "POST", headers: from("198.51.100.8"), body: "d" })).status).toBe(200);
      expect(await eventually(() => count("198.51.100.7"), 3)).toBe(3);
      expect(await eventually(() => count("198.51.100.8"), 1)).toBe(1);
      expect(await count("198.51.100.9")).toBe(0);
      expect(await (await get(web, "/v1/account", from("198.51.100.7"))).json()).toMatchObject({ username: "*", role: "anonymous" });
    } finally {
      await web.stop();
      await pubsub.stop();
    }
  }, 20_000);
  test("with neither an ACL nor a rate limit nothing is limited: every anonymous caller is one visitor, and the count is theirs together", async () => {
    const pubsub = await startPubSub();
    const web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--trust-proxy"]);
    try {
      const count = async (visitor: string) => ((await (await get(web, "/v1/account", from(visitor))).json()) as { stats: { messages: number } }).stats.messages;
      for (const [visitor, body] of [["198.51.100.7", "a"], ["198.51.100.7", "b"], ["198.51.100.8", "c"]]) expect((await fetch(`${web.url}/news`, { method: "POST", headers: from(visitor!), body })).status).toBe(200);
      expect(await eventually(() => count("198.51.100.9"), 3)).toBe(3);
    } finally {
      await web.stop();
      await pubsub.stop();
    }
  }, 20_000);
});

/**
 * The count's store: XADD <day>-* MAXLEN 1 numbers a day's entries 0, 1, 2... from the stream's last ID though only one
 * entry is kept, and starts again at 0 on the next day (Redis 7's streamIncrID on s->last_id, t_stream.c). Shown on
 * redis-cli against our pub/sub server and a real redis-server, so the count holds on either.
 */
describe("the count's store on the pub/sub server and on Redis", () => {
  const cli = (port: number, ...args: string[]) => Bun.spawnSync(["redis-cli", "-p", String(port), ...args]).stdout.toString().trim();
  const replay = (port: number) => {
    const key = "notistream-account:stats:user:day-test";
    const ids = ["20426-*", "20426-*", "20426-*", "20427-*", "20427-*"].map((id) => cli(port, "XADD", key, "MAXLEN", "1", id, "n", "1"));
    return { ids, length: cli(port, "XLEN", key), last: cli(port, "XREVRANGE", key, "+", "-", "COUNT", "1").split("\n")[0] };
  };
  const want = { ids: ["20426-0", "20426-1", "20426-2", "20427-0", "20427-1"], length: "1", last: "20427-1" };
  test("our pub/sub server", async () => {
    const pubsub = await startPubSub();
    try {
      expect(replay(pubsub.port)).toEqual(want);
    } finally {
      await pubsub.stop();
    }
  });
  needs("redis-server").test("redis-server 7", async () => {
    const redis = await startRedis();
    try {
      expect(replay(redis.port)).toEqual(want);
    } finally {
      await redis.stop();
    }
  });
});
