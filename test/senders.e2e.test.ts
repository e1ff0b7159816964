// test/senders.e2e.test.ts — end to end: every sender a real web server takes, each delivery checked on a real RESP
// subscriber. ntfy-style publishing as ntfy's documentation shows it with curl (paths, headers, short names, priority
// names, PUT, JSON with topic); templates; GitLab, Gitea and Forgejo, Alertmanager and Grafana with their secrets.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { Subscriber, json, post, run, startPubSub, startWebServer, tempPath, type Running } from "./helpers";
import { ALERTMANAGER, GITEA, GITLAB, GRAFANA } from "./fixtures/senders";

let pubsub: Running;
let web: Running & { url: string };
let sub: Subscriber;
const CHANNELS = ["octo", "diaspora-phone", "mytopic", "phil_alerts", "short", "cam", "octo/hello", "alerts", "plain", "tpl", "mike/diaspora", "gitea/webhooks", "ops", "grafana-ops"];
beforeAll(async () => {
  pubsub = await startPubSub();
  web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--gitlab-secret", "gl-secret", "--gitea-secret", "gt-secret", "--grafana-secret", "gf-secret"]);
  sub = await Subscriber.open(pubsub.port, CHANNELS);
});
afterAll(async () => {
  sub?.close();
  await web?.stop();
  await pubsub?.stop();
});

/** The envelope published by the last delivery (waits for it). */
async function next(): Promise<Record<string, unknown>> {
  const want = seen + 1;
  await sub.waitFor(want);
  seen = want;
  return JSON.parse(sub.messages[want - 1]!.payload) as Record<string, unknown>;
}
let seen = 0;
/** curl as a person types it; the status code comes after the body, on a line of its own. */
const curl = async (...args: string[]) => {
  const r = await run(["curl", "-s", "-w", "\n%{http_code}", ...args]);
  const cut = r.stdout.lastIndexOf("\n");
  return { status: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, cut) };
};

describe("ntfy-style publishing, as ntfy's docs show it with curl", () => {
  test("the body is the message; the path is the channel", async () => {
    expect((await curl("-d", "Backup successful 😀", `${web.url}/mytopic`)).status).toBe(200);
    expect(await next()).toMatchObject({ channel: "mytopic", message: "Backup successful 😀", source: "http" });
  });
  test("Title, Priority (a name), Tags as headers", async () => {
    const r = await curl("-H", "Title: Dogs are better than cats", "-H", "Priority: urgent", "-H", "Tags: warning,skull", "-d", "Unauthorized access detected", `${web.url}/phil_alerts`);
    expect(r.status).toBe(200);
    expect(await next()).toMatchObject({ channel: "phil_alerts", title: "Dogs are better than cats", priority: 5, tags: ["warning", "skull"], message: "Unauthorized access detected" });
  });
  test("X- headers and the short names t, p, ta", async () => {
    await curl("-H", "X-Title: Long form", "-H", "X-Priority: 2", "-H", "X-Tags: a", "-d", "x-headers", `${web.url}/short`);
    expect(await next()).toMatchObject({ title: "Long form", priority: 2, tags: ["a"], message: "x-headers" });
    await curl("-H", "t: Short", "-H", "p: high", "-H", "ta: cd,rotating_light", "-d", "short names", `${web.url}/short`);
    expect(await next()).toMatchObject({ title: "Short", priority: 4, tags: ["cd", "rotating_light"], message: "short names" });
  });
  test("Click is the url; PUT works; with POST a slash in the path is kept (PUT /<topic>/<id> is ntfy's update)", async () => {
    await curl("-H", "Click: https://home.nest.com/", "-d", "Motion detected", `${web.url}/cam`);
    expect(await next()).toMatchObject({ channel: "cam", url: "https://home.nest.com/", message: "Motion detected" });
    expect((await curl("-X", "PUT", "-d", "Put it there", `${web.url}/octo`)).status).toBe(200);
    expect(await next()).toMatchObject({ channel: "octo", message: "Put it there" });
    expect((await curl("-d", "Posted there", `${web.url}/octo/hello`)).status).toBe(200);
    expect(await next()).toMatchObject({ channel: "octo/hello", message: "Posted there" });
  });
  test("query twins: ?title=&priority=&tags=, and ?t=&p=&ta=", async () => {
    await curl("-d", "from the query", `${web.url}/alerts?title=Query%20title&priority=high&tags=a,b`);
    expect(await next()).toMatchObject({ title: "Query title", priority: 4, tags: ["a", "b"] });
    await curl("-d", "short query", `${web.url}/alerts?t=T&p=min&ta=x`);
    expect(await next()).toMatchObject({ title: "T", priority: 1, tags: ["x"] });
  });
  test("text/plain is taken (it was a 415 on POST /); JSON to / with topic and click, sent the way curl -d sends it", async () => {
    expect((await curl("-H", "Content-Type: text/plain", "-d", "plain text body", `${web.url}/plain`)).status).toBe(200);
    expect(await next()).toMatchObject({ channel: "plain", message: "plain text body" });
    const r = await curl(web.url, "-d", JSON.stringify({ topic: "mytopic", message: "Disk space is low at 5.1 GB", title: "Low disk space alert", tags: ["warning", "cd"], priority: 4, click: "https://homecamera.local" }));
    expect(r.status).toBe(200);
    expect(await next()).toMatchObject({ channel: "mytopic", message: "Disk space is low at 5.1 GB", title: "Low disk space alert", tags: ["warning", "cd"], priority: 4, url: "https://homecamera.local" });
    // Priority names on POST / as a form too.
    expect((await curl("-d", "channel=alerts&message=named&priority=max", web.url)).status).toBe(200);
    expect(await next()).toMatchObject({ priority: 5, message: "named" });
  });
  test("the server's own paths are not channels; bad priorities and empty bodies say what is wrong", async () => {
    expect((await curl("-X", "POST", `${web.url}/events`)).status).toBe(405);
    // A form (as curl -d sends it) is no JSON: 415, since the push routes take only JSON (issue 22, High 3).
    expect((await curl("-X", "POST", `${web.url}/push/subscribe`, "-d", "{}")).status).toBe(415);
    expect((await curl("-X", "POST", `${web.url}/push/subscribe`, "-H", "content-type: application/json", "-d", "{}")).status).toBe(400);
    const bad = await curl("-H", "Priority: loud", "-d", "x", `${web.url}/alerts`);
    expect(bad.status).toBe(400);
    expect(bad.body).toContain("min, low, default, high, max, urgent");
    // An empty POST is ntfy's "triggered" since issue 24 (server.go emptyMessageBody), no longer a 400.
    expect((await curl("-X", "POST", `${web.url}/alerts`)).status).toBe(200);
    expect(await next()).toMatchObject({ channel: "alerts", message: "triggered" });
  });
});

describe("templates for any JSON webhook", () => {
  test("headers or query: {{.path}} and {{path}} filled from the body; a bad template is a 400 with the position", async () => {
    const body = JSON.stringify(ALERTMANAGER.firing);
    const h = await curl("-H", "X-Template: 1", "-H", "X-Title: {{.alerts.0.labels.alertname}} ({{status}})", "-H", "X-Message: {{.alerts.0.annotations.summary}} on {{.alerts.1.labels.instance}}{{.missing}}", "-d", body, `${web.url}/tpl`);
    expect(h.status).toBe(200);
    expect(await next()).toMatchObject({ channel: "tpl", title: "HighLatency (firing)", message: "High request latency on api-1:8080 on api-2:8080" });
    const q = new URLSearchParams({ template: "1", title: "{{.receiver}}", message: "{{.commonLabels.job}} is {{.status}}" });
    expect((await curl("-d", body, `${web.url}/tpl?${q}`)).status).toBe(200);
    expect(await next()).toMatchObject({ title: "notistream", message: "api is firing" });
    const bad = await curl("-H", "X-Template: yes", "-H", "X-Message: {{.status", "-d", body, `${web.url}/tpl`);
    expect(bad.status).toBe(400);
    expect(bad.body).toContain("at position 1");
    const notJson = await curl("-H", "X-Template: 1", "-H", "X-Message: {{.a}}", "-d", "not json", `${web.url}/tpl`);
    expect(notJson.status).toBe(400);
  });
});

describe("forges", () => {
  /** A forge's webhook delivery: its JSON payload to `path`, with the forge's headers. */
  const deliver = (path: string, payload: object, headers: Record<string, string>) => post(`${web.url}${path}`, json(payload), { headers });
  test("GitLab: the token, then each event on project.path_with_namespace; not worth it is 202", async () => {
    expect((await deliver("/gitlab", GITLAB.push, { "x-gitlab-event": "Push Hook" })).status).toBe(401);
    expect((await deliver("/gitlab", GITLAB.push, { "x-gitlab-event": "Push Hook", "x-gitlab-token": "wrong" })).status).toBe(401);
    const ok = { "x-gitlab-token": "gl-secret" };
    for (const [event, payload, title] of [
      ["Push Hook", GITLAB.push, "mike/diaspora: John Smith pushed 4 commits to master"],
      ["Push Hook", GITLAB.newBranch, "mike/diaspora: John Smith created branch feature/x"],
      ["Tag Push Hook", GITLAB.tagPush, "mike/diaspora: John Smith pushed tag v1.0.0"],
      ["Merge Request Hook", GITLAB.mergeRequest("merge"), "mike/diaspora: Administrator merged MR !1"],
      ["Pipeline Hook", GITLAB.pipeline("failed"), "mike/diaspora: Pipeline #31 failed on master"],
      ["Issue Hook", GITLAB.issue("open"), "mike/diaspora: Administrator opened issue #23"],
      ["Note Hook", GITLAB.note, "mike/diaspora: Administrator commented on MR !1"],
      ["Release Hook", GITLAB.release("create"), "mike/diaspora: released v1.1"],
    ] as const) {
      const r = await deliver("/gitlab", payload, { ...ok, "x-gitlab-event": event });
      expect(r.status).toBe(200);
      expect(await next()).toMatchObject({ channel: "mike/diaspora", title, source: "gitlab" });
    }
    const ignored = await deliver("/gitlab", GITLAB.pipeline("success"), { ...ok, "x-gitlab-event": "Pipeline Hook" });
    expect(ignored.status).toBe(202);
  });
  test("Gitea and Forgejo: a bare hex signature, GitHub-like renderings on owner/repo", async () => {
    const sign = (b: object) => createHmac("sha256", "gt-secret").update(JSON.stringify(b)).digest("hex");
    expect((await deliver("/gitea", GITEA.push, { "x-gitea-event": "push" })).status).toBe(401);
    expect((await deliver("/gitea", GITEA.push, { "x-gitea-event": "push", "x-gitea-signature": "00" })).status).toBe(401);
    expect((await deliver("/gitea", GITEA.push, { "x-gitea-event": "push", "x-gitea-signature": sign(GITEA.push) })).status).toBe(200);
    expect(await next()).toMatchObject({ channel: "gitea/webhooks", title: "gitea/webhooks: gitea pushed 1 commit to develop", source: "gitea" });
    const pr = GITEA.pullRequest("closed", true);
    expect((await deliver("/gitea", pr, { "x-forgejo-event": "pull_request", "x-forgejo-signature": sign(pr) })).status).toBe(200);
    expect(await next()).toMatchObject({ title: "gitea/webhooks: gitea merged PR #12", source: "forgejo" });
    const edited = { ...GITEA.issues, action: "edited" };
    expect((await deliver("/gitea", edited, { "x-gitea-event": "issues", "x-gitea-signature": sign(edited) })).status).toBe(202);
  });
  test("?channel= sends a forge's events to a channel ntfy's apps can name (no slash); a bad name is a 400 before the body", async () => {
    const ok = { "x-gitlab-token": "gl-secret", "x-gitlab-event": "Push Hook" };
    const r = await deliver("/gitlab?channel=diaspora-phone", GITLAB.push, ok);
    expect(r.status).toBe(200);
    expect(await next()).toMatchObject({ channel: "diaspora-phone", title: "mike/diaspora: John Smith pushed 4 commits to master", source: "gitlab" });
    const bad = await deliver("/gitlab?channel=notistream%3Ax", GITLAB.push, ok);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("the server's own");
  });
});

describe("alerting", () => {
  test("Alertmanager (v4): one notification per group, firing and resolved, with write rights", async () => {
    for (const [payload, title, priority] of [
      [ALERTMANAGER.firing, "[FIRING:2] HighLatency", 5],
      [ALERTMANAGER.resolved, "[RESOLVED] HighLatency", 3],
    ] as const) {
      const r = await post(`${web.url}/alertmanager/ops`, json(payload));
      expect(r.status).toBe(200);
      expect(await next()).toMatchObject({ channel: "ops", title, priority, source: "alertmanager", url: "http://alertmanager.example.org:9093" });
    }
  });
  test("Grafana: signed with the HMAC secret, or refused", async () => {
    const body = JSON.stringify(GRAFANA.firing);
    expect((await post(`${web.url}/grafana/grafana-ops`, body, { headers: { "content-type": "application/json" } })).status).toBe(401);
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = createHmac("sha256", "gf-secret").update(`${ts}:`).update(body).digest("hex");
    const r = await post(`${web.url}/grafana/grafana-ops`, body, { headers: { "content-type": "application/json", "x-grafana-alerting-signature": sig, "x-grafana-alerting-timestamp": ts } });
    expect(r.status).toBe(200);
    expect(await next()).toMatchObject({ channel: "grafana-ops", title: "[FIRING:2]  (blue)", priority: 4, url: "https://grafana.example.com/alerting/1afz29v7z/edit", source: "grafana" });
  });
  test("with an ACL, the alert routes and /<channel> need write rights on the channel (Basic, as Alertmanager sends it)", async () => {
    const acl = tempPath("senders.acl");
    const sha = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");
    writeFileSync(acl, `user default on nopass %R&* ~* +@all\nuser am on #${sha("am-pw")} &ops &ntfy/* ~* +@all\n`);
    const locked = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--acl", acl]);
    try {
      const body = json(ALERTMANAGER.firing);
      expect((await post(`${locked.url}/alertmanager/ops`, body)).status).toBe(401);
      const basic = { authorization: `Basic ${Buffer.from("am:am-pw").toString("base64")}` };
      expect((await post(`${locked.url}/alertmanager/secret`, body, { headers: basic })).status).toBe(403);
      expect((await post(`${locked.url}/alertmanager/ops`, body, { headers: basic })).status).toBe(200);
      await next();
      expect((await post(`${locked.url}/ntfy/x`, "hi")).status).toBe(401);
      expect((await post(`${locked.url}/ntfy/x`, "hi", { headers: basic })).status).toBe(200);
    } finally {
      await locked.stop();
    }
  }, 20000);
});
