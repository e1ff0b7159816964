// test/security.web.e2e.test.ts — issue 22 against the web server's routes, end to end on real servers: sender routes
// under the ACL and the checks every route shares, cross-site requests, control characters in channel names,
// X-Forwarded-For behind trusted proxies, per-visitor stream caps, bad input as 400s, and outages told without details.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { BUN, ROOT, Subscriber, freePort, post, run, startPubSub, startWebServer, tempPath, until, type Running } from "./helpers";

type Web = Running & { url: string };
const sha = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
const JSON_TYPE = { "content-type": "application/json" };

/** The README's public server: anonymous visitors read public/*; a CI job publishes to team/* and octo/*; alice reads and writes team/*. */
const ACL = [
  "user default on nopass %R&public/* %R~notistream:public/* -@all +@connection +subscribe +psubscribe +unsubscribe +punsubscribe +xrange +xread",
  `user ci on #${sha("ci-token")} %W&team/* %W&octo/* -@all +publish`,
  `user alice on #${sha("alice-pw")} &team/* ~notistream:team/* +@all`,
].join("\n");

/** The push the issue forged, for any repository. */
const pushFor = (repo: string, extra: Record<string, unknown> = {}) => ({
  repository: { full_name: repo },
  ref: "refs/heads/main",
  pusher: { name: "x" },
  head_commit: { id: "deadbeef1", message: "FORGED" },
  ...extra,
});
const gitlabPush = (project: string, extra: Record<string, unknown> = {}) => ({
  object_kind: "push",
  ref: "refs/heads/main",
  before: "1".repeat(40),
  after: "2".repeat(40),
  user_name: "x",
  project: { path_with_namespace: project, web_url: `https://gitlab.example/${project}`, ...extra },
  commits: [{ id: "3".repeat(40), title: "FORGED" }],
  total_commits_count: 1,
});
const ALERT = { version: "4", status: "firing", receiver: "r", groupLabels: { alertname: "Down" }, alerts: [{ status: "firing", labels: { alertname: "Down" }, annotations: { summary: "it is down" } }] };

let pubsub: Running;
/** --acl, no sender secrets. */
let acl: Web;
/** --token, no sender secrets. */
let token: Web;
/** --acl with every sender's secret. */
let signed: Web;
/** No ACL, no secrets, and --trust-proxy, so each test below is its own visitor through X-Forwarded-For. */
let open: Web;
let sub: Subscriber;
const WATCHED = ["secret/x", "team/app", "octo/hello", "team/alerts", "secret/alerts", "public/x", "team/x", "open/x", "big/x", "evil/x"];

beforeAll(async () => {
  pubsub = await startPubSub();
  const file = tempPath("security.acl");
  writeFileSync(file, ACL + "\n");
  const redis = `redis://127.0.0.1:${pubsub.port}`;
  const secrets = ["--github-secret", "gh-secret", "--gitlab-secret", "gl-secret", "--gitea-secret", "gt-secret", "--grafana-secret", "gf-secret"];
  [acl, token, signed, open] = await Promise.all([
    startWebServer(redis, ["--acl", file]),
    startWebServer(redis, ["--token", "t0ken"]),
    startWebServer(redis, ["--acl", file, ...secrets]),
    startWebServer(redis, ["--trust-proxy", "--max-streams-per-visitor", "2", "--max-patterns-per-visitor", "3"]),
  ]);
  sub = await Subscriber.open(pubsub.port, WATCHED);
});
afterAll(async () => {
  sub?.close();
  await Promise.all([acl?.stop(), token?.stop(), signed?.stop(), open?.stop()]);
  await pubsub?.stop();
});

/** The payloads published on `channel` so far. */
const publishedOn = (channel: string) => sub.messages.filter((m) => m.channel === channel).map((m) => JSON.parse(m.payload) as Record<string, unknown>);
/** curl as a person types it; the status code comes after the body, on a line of its own. */
const curl = async (...args: string[]) => {
  const r = await run(["curl", "-s", "-w", "\n%{http_code}", ...args]);
  const cut = r.stdout.lastIndexOf("\n");
  return { status: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, cut) };
};
const errorOf = async (r: Response) => ((await r.json()) as { error: string }).error;

describe("High 1: sender routes with an ACL need their secret or a caller with write rights", () => {
  test("the issue's reproduction answers 401 with --acl and with --token, on every sender route, and nothing is published", async () => {
    const forged = JSON.stringify(pushFor("secret/x"));
    for (const web of [acl, token]) {
      const r = await curl("-H", "X-GitHub-Event: push", "-H", "content-type: application/json", "-d", forged, `${web.url}/github`);
      expect(r.status).toBe(401);
      expect(r.body).toContain("anonymous clients may not publish to");
      const gitlab = await post(`${web.url}/gitlab`, JSON.stringify(gitlabPush("secret/x")), { headers: { ...JSON_TYPE, "x-gitlab-event": "Push Hook" } });
      expect(gitlab.status).toBe(401);
      const gitea = await post(`${web.url}/gitea`, forged, { headers: { ...JSON_TYPE, "x-gitea-event": "push" } });
      expect(gitea.status).toBe(401);
      for (const path of ["/alertmanager/secret/alerts", "/grafana/secret/alerts"]) expect((await post(`${web.url}${path}`, JSON.stringify(ALERT), { headers: JSON_TYPE })).status).toBe(401);
      // Reserved channels, which even the web server's own traffic uses, are no way around it.
      expect((await post(`${web.url}/github`, JSON.stringify(pushFor("notistream:push")), { headers: { ...JSON_TYPE, "x-github-event": "push" } })).status).toBeGreaterThanOrEqual(400);
    }
    await Bun.sleep(300);
    expect(publishedOn("secret/x")).toEqual([]);
    expect(publishedOn("secret/alerts")).toEqual([]);
  });

  test("a caller with write rights may use them (Bearer, Basic, ?token=); one without gets 403", async () => {
    const push = (web: Web, repo: string, headers: Record<string, string>, query = "") =>
      post(`${web.url}/github${query}`, JSON.stringify(pushFor(repo)), { headers: { ...JSON_TYPE, "x-github-event": "push", ...headers } });
    expect((await push(acl, "team/app", { authorization: "Bearer ci-token" })).status).toBe(200);
    expect((await push(acl, "team/app", {}, "?token=ci-token")).status).toBe(200);
    expect((await push(acl, "team/app", { authorization: basic("alice", "alice-pw") })).status).toBe(200);
    expect((await push(token, "team/app", { authorization: "Bearer t0ken" })).status).toBe(200);
    const denied = await push(acl, "secret/x", { authorization: "Bearer ci-token" });
    expect(denied.status).toBe(403);
    expect(await errorOf(denied)).toContain(`user 'ci' may not publish to "secret/x"`);
    expect((await push(acl, "team/app", { authorization: "Bearer wrong" })).status).toBe(401);
    const alert = await post(`${acl.url}/alertmanager/team/alerts`, JSON.stringify(ALERT), { headers: { ...JSON_TYPE, authorization: "Bearer ci-token" } });
    expect(alert.status).toBe(200);
    await until("four pushes and an alert", () => publishedOn("team/app").length === 4 && publishedOn("team/alerts").length === 1);
    expect(publishedOn("team/app")[0]).toMatchObject({ channel: "team/app", source: "github" });
    expect(publishedOn("secret/x")).toEqual([]);
  });

  test("with its secret a signed delivery needs no login; an unsigned one is 401, unless its caller may write the channel", async () => {
    const body = JSON.stringify(pushFor("octo/hello"));
    const sig = `sha256=${createHmac("sha256", "gh-secret").update(body).digest("hex")}`;
    const h = { ...JSON_TYPE, "x-github-event": "push" };
    expect((await post(`${signed.url}/github`, body, { headers: { ...h, "x-hub-signature-256": sig } })).status).toBe(200);
    const unsigned = await post(`${signed.url}/github`, body, { headers: h });
    expect(unsigned.status).toBe(401);
    expect(await errorOf(unsigned)).toContain("X-Hub-Signature-256");
    expect((await post(`${signed.url}/github`, body, { headers: { ...h, authorization: "Bearer ci-token" } })).status).toBe(200);
    const other = JSON.stringify(pushFor("secret/x"));
    expect((await post(`${signed.url}/github`, other, { headers: { ...h, authorization: "Bearer ci-token" } })).status).toBe(403);
    expect((await post(`${signed.url}/gitlab`, JSON.stringify(gitlabPush("secret/x")), { headers: { ...JSON_TYPE, "x-gitlab-event": "Push Hook", "x-gitlab-token": "wrong" } })).status).toBe(401);
    await until("two pushes", () => publishedOn("octo/hello").length === 2);
    expect(publishedOn("secret/x")).toEqual([]);
  });

  test("at start, one line per sender route that has no secret says it is closed to callers without write rights", () => {
    const out = acl.output();
    expect(out).toContain("web: POST /github: no --github-secret, so only callers with write rights on the channel may use it");
    for (const line of ["POST /gitlab: no --gitlab-secret", "POST /gitea: no --gitea-secret", "POST /grafana/<channel>: no --grafana-secret", "POST /alertmanager/<channel>: Alertmanager signs nothing"]) expect(out).toContain(line);
    expect(token.output()).toContain("web: POST /github: no --github-secret");
    expect(signed.output()).not.toContain("no --github-secret");
    expect(open.output()).not.toContain("no --github-secret");
  });
});

describe("High 1: every sender goes through POST /'s checks", () => {
  const github = (payload: object, event = "push") => post(`${open.url}/github`, JSON.stringify(payload), { headers: { ...JSON_TYPE, "x-github-event": event } });

  test("reserved names and control characters from a payload are refused with 400", async () => {
    const reserved = await github(pushFor("notistream:push"));
    expect(reserved.status).toBe(400);
    expect(await errorOf(reserved)).toContain(`channels starting with "notistream:" are the server's own`);
    const newline = await github(pushFor("evil/x\nevent: forged"));
    expect(newline.status).toBe(400);
    expect(await errorOf(newline)).toContain("may not hold control characters");
    const gl = await post(`${open.url}/gitlab`, JSON.stringify(gitlabPush("evil/x\r")), { headers: { ...JSON_TYPE, "x-gitlab-event": "Push Hook" } });
    expect(gl.status).toBe(400);
  });

  test("a javascript: or file: url from a payload is refused with a 400 naming the field, and nothing is stored", async () => {
    for (const url of ["javascript:alert(document.cookie)", "file:///etc/passwd"]) {
      const r = await github(pushFor("evil/x", { compare: url }));
      expect(r.status).toBe(400);
      expect(await errorOf(r)).toContain(`"url" must start with http:// or https://, got ${JSON.stringify(url)}`);
      const gl = await post(`${open.url}/gitlab`, JSON.stringify(gitlabPush("evil/x", { web_url: url })), { headers: { ...JSON_TYPE, "x-gitlab-event": "Push Hook" } });
      expect(gl.status).toBe(400);
      const am = await post(`${open.url}/alertmanager/evil/x`, JSON.stringify({ ...ALERT, externalURL: url }), { headers: JSON_TYPE });
      expect(am.status).toBe(400);
      expect(await errorOf(am)).toContain('"url"');
    }
    await Bun.sleep(300);
    expect(publishedOn("evil/x")).toEqual([]);
  });

  test("a 5 MB title and an over-long message are cut to the caps with …, and the reply says which fields were shortened", async () => {
    const r = await github(pushFor("big/x", { ref: `refs/heads/${"b".repeat(5 * 1024 * 1024)}`, head_commit: { id: "deadbeef1", message: "m".repeat(100 * 1024) } }));
    expect(r.status).toBe(200);
    expect(((await r.json()) as { shortened: string[] }).shortened).toEqual(["title", "message"]);
    await until("the push", () => publishedOn("big/x").length === 1);
    const env = publishedOn("big/x")[0]!;
    expect((env.title as string).length).toBe(1024);
    expect((env.title as string).endsWith("…")).toBe(true);
    expect(Buffer.byteLength(env.message as string)).toBeLessThanOrEqual(64 * 1024);
    expect((env.message as string).endsWith("…")).toBe(true);
  });
});

describe("High 3: cross-site requests", () => {
  const alice = { authorization: basic("alice", "alice-pw") };
  const form = (channel: string, message: string) => new URLSearchParams({ channel, message }).toString();
  const FORM = { "content-type": "application/x-www-form-urlencoded" };

  test("a cross-site or same-site form, multipart, text/plain or untyped POST is refused with 403, even with a login", async () => {
    const cases: [string, BodyInit, Record<string, string>][] = [
      ["/", form("team/x", "forged"), FORM],
      ["/team/x", "forged", { "content-type": "text/plain;charset=UTF-8" }],
      ["/team/x", "forged", {}],
      ["/github", JSON.stringify(pushFor("team/x")), { "content-type": "text/plain", "x-github-event": "push" }],
    ];
    const multipart = new FormData();
    multipart.set("channel", "team/x");
    multipart.set("message", "forged");
    for (const site of ["cross-site", "same-site"]) {
      for (const [path, body, headers] of cases) {
        const r = await post(`${acl.url}${path}`, body, { headers: { ...headers, ...alice, "sec-fetch-site": site, "sec-fetch-mode": "no-cors" } });
        expect(r.status).toBe(403);
        expect(await errorOf(r)).toContain("a page on another site may not make a browser POST here");
      }
      expect((await post(`${acl.url}/`, multipart, { headers: { ...alice, "sec-fetch-site": site } })).status).toBe(403);
    }
    await Bun.sleep(300);
    expect(publishedOn("team/x")).toEqual([]);
  });

  test("same-origin, none, no Sec-Fetch-Site at all (curl, webhooks), and preflighted requests (PUT, JSON) still work; so do GETs", async () => {
    expect((await post(`${acl.url}/`, form("team/x", "same-origin"), { headers: { ...FORM, ...alice, "sec-fetch-site": "same-origin" } })).status).toBe(200);
    expect((await post(`${acl.url}/`, form("team/x", "typed in"), { headers: { ...FORM, ...alice, "sec-fetch-site": "none" } })).status).toBe(200);
    expect((await curl("-u", "alice:alice-pw", "-d", "curl", `${acl.url}/team/x`)).status).toBe(200);
    // PUT /<channel>/<sid> is ntfy's update form: the channel is team/x, the sequence ID put-1.
    expect((await post(`${acl.url}/team/x/put-1`, "put", { headers: { ...alice, "sec-fetch-site": "cross-site" }, method: "PUT" })).status).toBe(200);
    expect((await post(`${acl.url}/`, JSON.stringify({ channel: "team/x", message: "json" }), { headers: { ...JSON_TYPE, ...alice, "sec-fetch-site": "cross-site" } })).status).toBe(200);
    expect((await fetch(`${acl.url}/messages?channel=public/x`, { headers: { "sec-fetch-site": "cross-site" } })).status).toBe(200);
    await until("five messages", () => publishedOn("team/x").length === 5);
  });

  test("ntfy's GET /<topic>/publish (send, trigger) from another site's page is refused with 403 even with a login: an <img> would publish; curl's GET still publishes", async () => {
    for (const site of ["cross-site", "same-site"])
      for (const verb of ["publish", "send", "trigger"]) {
        const r = await fetch(`${acl.url}/team/x/${verb}?message=forged`, { headers: { ...alice, "sec-fetch-site": site, "sec-fetch-mode": "no-cors", "sec-fetch-dest": "image" } });
        expect(r.status).toBe(403);
        expect(await errorOf(r)).toContain("may not make a browser publish here with a GET");
      }
    await Bun.sleep(300);
    expect(publishedOn("team/x").filter((m) => m.message === "forged")).toEqual([]);
    expect((await fetch(`${acl.url}/team/x/publish?message=by-curl`, { headers: alice })).status).toBe(200);
    expect((await fetch(`${acl.url}/team/x/trigger`, { headers: { ...alice, "sec-fetch-site": "same-origin" } })).status).toBe(200);
  });

  test("POST /push/subscribe takes only JSON (415 otherwise), so a page on another site cannot send it without a preflight", async () => {
    const subscription = { endpoint: "https://fcm.googleapis.com/fcm/send/security-web", keys: { p256dh: Buffer.alloc(65, 4).toString("base64url"), auth: Buffer.alloc(16, 1).toString("base64url") } };
    const body = JSON.stringify({ subscription, channels: ["team/x"] });
    const plain = await post(`${acl.url}/push/subscribe`, body, { headers: { ...alice, "content-type": "text/plain" } });
    expect(plain.status).toBe(415);
    expect(await errorOf(plain)).toContain("Content-Type: application/json");
    expect((await post(`${acl.url}/push/subscribe`, body, { headers: { ...alice, "content-type": "text/plain", "sec-fetch-site": "cross-site" } })).status).toBe(403);
    expect((await post(`${acl.url}/push/subscribe`, body, { headers: { ...alice, ...JSON_TYPE } })).status).toBe(201);
    expect((await post(`${acl.url}/push/subscribe`, JSON.stringify({ endpoint: subscription.endpoint }), { headers: { ...alice, ...JSON_TYPE }, method: "DELETE" })).status).toBe(200);
  });

  // Issue 24 made ntfy's routes (GET /<topics>/json, sse, raw, ws, auth; /v1/) answer with CORS as ntfy does, so that
  // ntfy's web app and other pages can use them; the app's and our own routes still send none.
  test("no CORS on our own routes and the app's: a preflight or a request with an Origin gets no Access-Control-Allow-* header, so no credentialed CORS either; ntfy's routes send ntfy's", async () => {
    const origin = { origin: "https://evil.example" };
    const answers = [
      await fetch(`${acl.url}/push/subscribe`, { method: "OPTIONS", headers: { ...origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type, authorization" } }),
      await fetch(`${acl.url}/`, { method: "OPTIONS", headers: { ...origin, "access-control-request-method": "PUT" } }),
      await fetch(`${acl.url}/messages?channel=public/x`, { headers: { ...origin, ...alice } }),
      await post(`${acl.url}/`, JSON.stringify({ channel: "team/x", message: "with an origin" }), { headers: { ...origin, ...alice, ...JSON_TYPE } }),
    ];
    for (const r of answers) {
      const cors = [...r.headers.keys()].filter((k) => k.startsWith("access-control-"));
      expect(cors).toEqual([]);
      expect(r.headers.get("access-control-allow-origin")).toBeNull();
      expect(r.headers.get("access-control-allow-credentials")).toBeNull();
    }
    // ntfy's: any origin (server.go handleOptions), never with credentials.
    const ntfy = await fetch(`${acl.url}/public/x/json`, { method: "OPTIONS", headers: { ...origin, "access-control-request-method": "GET" } });
    expect(ntfy.headers.get("access-control-allow-origin")).toBe("*");
    expect(ntfy.headers.get("access-control-allow-credentials")).toBeNull();
  });
});

describe("High 4 (part): a channel name with control characters is a 400 wherever a channel enters over HTTP", () => {
  test("POST /, /<channel>, /alertmanager and /grafana, /events, /messages and push subscriptions", async () => {
    const statuses: [string, number][] = [];
    const check = async (what: string, r: Promise<Response>) => {
      const res = await r;
      statuses.push([what, res.status]);
      if (res.status === 400) expect(await errorOf(res)).toContain("control characters");
      else await res.body?.cancel();
    };
    await check("POST / LF", post(`${open.url}/`, JSON.stringify({ channel: "open/x\nevent: forged", message: "m" }), { headers: JSON_TYPE }));
    await check("POST / C1", post(`${open.url}/`, JSON.stringify({ channel: "open/x\u0085", message: "m" }), { headers: JSON_TYPE }));
    await check("POST /<channel> CR LF", post(`${open.url}/open%2Fx%0D%0Aevent:%20forged`, "m"));
    await check("POST /<channel> DEL", post(`${open.url}/open%7F`, "m"));
    await check("POST /alertmanager", post(`${open.url}/alertmanager/open%0Ax`, JSON.stringify(ALERT), { headers: JSON_TYPE }));
    await check("POST /grafana", post(`${open.url}/grafana/open%1Bx`, JSON.stringify(ALERT), { headers: JSON_TYPE }));
    await check("GET /events", fetch(`${open.url}/events?channels=open/x,open%0Aevent:%20forged`));
    await check("GET /messages", fetch(`${open.url}/messages?channel=open%0Dx`));
    const subscription = { endpoint: "https://fcm.googleapis.com/fcm/send/ctl", keys: { p256dh: Buffer.alloc(65, 4).toString("base64url"), auth: Buffer.alloc(16, 1).toString("base64url") } };
    await check("POST /push/subscribe", post(`${open.url}/push/subscribe`, JSON.stringify({ subscription, channels: ["open/x\n"] }), { headers: JSON_TYPE }));
    expect(statuses).toEqual(statuses.map(([what]) => [what, 400]));
    await Bun.sleep(300);
    expect(publishedOn("open/x")).toEqual([]);
  });
});

describe("Medium 2: --trust-proxy takes the rightmost X-Forwarded-For entry that is not a trusted proxy", () => {
  let limited: Web;
  beforeAll(async () => {
    limited = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--rate-limit", "1", "--trust-proxy"]);
  });
  afterAll(async () => {
    await limited?.stop();
  });
  /** Three requests (the burst is two): the statuses. */
  const three = async (url: string, forwardedFor: (i: number) => string) => {
    const out: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${url}/healthz`, { headers: { "x-forwarded-for": forwardedFor(i) } });
      await r.body?.cancel();
      out.push(r.status === 429 ? 429 : 200);
    }
    return out;
  };

  test("what the client writes on the left changes nothing: one visitor, one bucket", async () => {
    expect(await three(limited.url, (i) => `10.9.9.${i}, 203.0.113.7`)).toEqual([200, 200, 429]);
    expect(limited.output()).toContain("web: --trust-proxy: a client's address is the rightmost X-Forwarded-For entry that is not a trusted proxy (127.0.0.0/8,::1)");
  });

  test("an IPv6 client counts by its /64", async () => {
    expect(await three(limited.url, (i) => `2001:db8:7:7::${i + 1}`)).toEqual([200, 200, 429]);
    expect(await three(limited.url, (i) => `2001:db8:7:${i + 10}::1`)).toEqual([200, 200, 200]);
  });

  test("--trusted-proxies names the proxies (and its env twin): a peer that is not one is the client, its header ignored", async () => {
    const strict = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--rate-limit", "1", "--trust-proxy"], { NOTISTREAM_TRUSTED_PROXIES: "10.0.0.0/8" });
    try {
      expect(await three(strict.url, (i) => `203.0.113.${i}`)).toEqual([200, 200, 429]); // all of them are 127.0.0.1
      expect(strict.output()).toContain("not a trusted proxy (10.0.0.0/8)");
    } finally {
      await strict.stop();
    }
    const bad = await run([BUN, `${ROOT}/web.ts`, "--port", "0", "--trusted-proxies", "10.0.0.0/8,proxy.local"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('web: --trusted-proxies: "proxy.local" is not an IP address or a network like 10.0.0.0/8 or fd00::/8');
  });
});

describe("Low: per-visitor caps on GET /events streams and the glob patterns they hold", () => {
  /** Opens a stream as `visitor` (through X-Forwarded-For): an open stream and its closer, or the refusal. */
  const stream = async (visitor: string, channels: string) => {
    const abort = new AbortController();
    const r = await fetch(`${open.url}/events?channels=${encodeURIComponent(channels)}`, { headers: { "x-forwarded-for": visitor }, signal: abort.signal });
    if (r.status !== 200) return { status: r.status, error: await errorOf(r), close: () => {} };
    await r.body!.getReader().read(); // the stream is open once its first line came
    return { status: 200, error: "", close: () => abort.abort() };
  };

  test("over --max-streams-per-visitor a 429 says so; a closed stream frees its place; another visitor has its own", async () => {
    const a = await stream("198.51.100.1", "open/a");
    const b = await stream("198.51.100.1", "open/b");
    expect([a.status, b.status]).toEqual([200, 200]);
    const c = await stream("198.51.100.1", "open/c");
    expect(c.status).toBe(429);
    expect(c.error).toContain("198.51.100.1 already has 2 streams open, the most --visitor-subscriptions allows");
    expect((await stream("198.51.100.2", "open/c")).status).toBe(200);
    // An IPv6 neighbour in the same /64 is the same visitor.
    const v6 = [await stream("2001:db8:5:5::1", "open/a"), await stream("2001:db8:5:5::2", "open/a"), await stream("2001:db8:5:5::3", "open/a")];
    expect(v6.map((s) => s.status)).toEqual([200, 200, 429]);
    a.close();
    // The server learns of the close a moment later: try until the place is free.
    let again = await stream("198.51.100.1", "open/c");
    for (let i = 0; i < 100 && again.status !== 200; i++) {
      await Bun.sleep(50);
      again = await stream("198.51.100.1", "open/c");
    }
    expect(again.status).toBe(200);
    for (const s of [b, again, ...v6]) s.close();
  });

  test("over --max-patterns-per-visitor across its streams a 429 says so; channels by name do not count", async () => {
    const globs = await stream("198.51.100.9", "open/a*,open/b*");
    expect(globs.status).toBe(200);
    const more = await stream("198.51.100.9", "open/c*,open/d*");
    expect(more.status).toBe(429);
    expect(more.error).toContain("past 3 patterns over its open streams, the most --max-patterns-per-visitor allows");
    const named = await stream("198.51.100.9", "open/c,open/d,open/e,open/f");
    expect(named.status).toBe(200);
    globs.close();
    named.close();
  });

  test("the env twins set the caps, and the start says what they are", async () => {
    const web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--trust-proxy"], { NOTISTREAM_MAX_STREAMS_PER_VISITOR: "1", NOTISTREAM_MAX_PATTERNS_PER_VISITOR: "7" });
    try {
      const line = "web: each client IP (IPv6 per /64; this machine's own are not counted) may hold 1 streams (GET /events and ntfy's /<topics>/json, sse, raw and ws; --visitor-subscriptions) with 7 glob patterns in all";
      // Start-up lines may come just after the one that says the server listens: waited for, not read at once.
      await until("the start-up line on the caps", () => web.output().includes(line), 10_000);
      expect(web.output()).toContain(line);
      const abort = new AbortController();
      const visitor = { "x-forwarded-for": "192.0.2.33" };
      const first = await fetch(`${web.url}/events?channel=open/x`, { headers: visitor, signal: abort.signal });
      expect(first.status).toBe(200);
      const second = await fetch(`${web.url}/events?channel=open/y`, { headers: visitor });
      expect(second.status).toBe(429);
      abort.abort();
    } finally {
      await web.stop();
    }
  });

  test("this machine is not counted (a reverse proxy that --trust-proxy does not name would be everyone), and the log says to add it", async () => {
    const web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--max-streams-per-visitor", "1"]);
    const aborts: AbortController[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        aborts.push(new AbortController());
        const r = await fetch(`${web.url}/events?channel=open/x`, { headers: { "x-forwarded-for": `192.0.2.${i}` }, signal: aborts[i]!.signal });
        expect(r.status).toBe(200);
      }
      await until("the warning", () => web.output().includes("--trust-proxy is off, so per-visitor limits see only the proxy"));
      expect(web.output().split("--trust-proxy is off").length).toBe(2); // once
    } finally {
      for (const a of aborts) a.abort();
      await web.stop();
    }
  });
});

describe("Low: bad input is a 400, not a 500", () => {
  test("a broken percent-escape in the path", async () => {
    for (const path of ["/open%ZZ", "/open%E0%A4%A", "/alertmanager/open%ZZ", "/grafana/%"]) {
      const r = await post(`${open.url}${path}`, "m", { headers: JSON_TYPE });
      expect([path, r.status]).toEqual([path, 400]);
      expect(await errorOf(r)).toContain("broken percent-escape");
    }
  });

  test("template JSON nested deeper than 64 levels", async () => {
    const deep = `{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    const r = await post(`${open.url}/open/x?template=1&message=${encodeURIComponent("{{.a}}")}`, deep);
    expect(r.status).toBe(400);
    expect(await errorOf(r)).toContain("nests arrays or objects more than 64 levels deep");
    const fine = await post(`${open.url}/open/tpl?template=1&message=${encodeURIComponent("{{.a.0.0}}")}`, '{"a":[["ok"]]}');
    expect(fine.status).toBe(200);
  });
});

describe("Low: an outage is told without the pub/sub server's address or user", () => {
  test("503 bodies, /healthz and /health say only that it is not connected; the log has the details", async () => {
    const port = await freePort();
    const down = await startWebServer(`redis://web:secret-pw@127.0.0.1:${port}`);
    try {
      const r = await post(`${down.url}/`, JSON.stringify({ channel: "open/x", message: "m" }), { headers: JSON_TYPE });
      expect(r.status).toBe(503);
      const bodies = [await r.text()];
      const healthz = await fetch(`${down.url}/healthz`);
      expect(healthz.status).toBe(503);
      bodies.push(await healthz.text());
      await until("the hub says it cannot subscribe", () => down.output().includes("web: hub"));
      bodies.push(await (await fetch(`${down.url}/health`)).text());
      for (const body of bodies) {
        expect(body).not.toContain(String(port));
        expect(body).not.toContain("127.0.0.1");
        expect(body).not.toContain("web@");
        expect(body).not.toContain("redis://");
      }
      expect(JSON.parse(bodies[0]!).error).toContain("the pub/sub server is not connected");
      expect(JSON.parse(bodies[1]!)).toMatchObject({ ok: false, pubsub: "down" });
      expect(down.output()).toContain(`127.0.0.1:${port}`);
      expect(down.output()).not.toContain("secret-pw");
    } finally {
      await down.stop();
    }
  });
});
