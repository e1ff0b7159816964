// test/upstream.e2e.test.ts — instant pushes to ntfy's iOS app, end to end: two real web servers forward each message
// once to a fake upstream ntfy server written here (the poll request of ntfy's server.go forwardPollRequest), never a
// UnifiedPush one; a 429 and a 500 are tried again; then the iOS app's fetch, GET /<topic>/json?poll=1&id=<poll id>.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, ROOT, run, startPubSub, startWebServer, tempPath, until, type Running } from "./helpers";

type Web = Running & { url: string };
type Seen = { path: string; headers: Record<string, string>; body: string };

const BASE = "https://notify.example.com";
const TOKEN = "tk_upstream_token_1";
/** ntfy's forwardPollRequest: the upstream topic is the sha256 hex of "<base-url>/<topic>". */
const hashOf = (topic: string) => createHash("sha256").update(`${BASE}/${topic}`).digest("hex");

let pubsub: Running;
let upstream: ReturnType<typeof Bun.serve>;
const seen: Seen[] = [];
/** What the fake upstream answers next (a status and its headers); 200 when none is queued. */
const answers: { status: number; headers?: Record<string, string> }[] = [];
let a: Web;
let b: Web;

beforeAll(async () => {
  pubsub = await startPubSub();
  upstream = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      seen.push({ path: new URL(req.url).pathname, headers: Object.fromEntries(req.headers), body: await req.text() });
      const next = answers.shift() ?? { status: 200 };
      return new Response(next.status === 200 ? '{"id":"xyz","event":"poll_request"}\n' : '{"error":"no"}\n', { status: next.status, headers: next.headers ?? {} });
    },
  });
  const args = ["--base-url", BASE, "--upstream-base-url", `http://127.0.0.1:${upstream.port}`, "--upstream-access-token", TOKEN];
  a = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, args);
  b = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, args);
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  upstream?.stop(true);
  await pubsub?.stop();
});

/** A counter's value in /metrics, summed over both web servers (0 when not there yet). */
async function counted(line: string, webs: Web[] = [a, b]): Promise<number> {
  let sum = 0;
  for (const web of webs) {
    const text = await (await fetch(`${web.url}/metrics`)).text();
    const found = text.split("\n").find((l) => l.startsWith(`${line} `));
    sum += found ? Number(found.slice(line.length + 1)) : 0;
  }
  return sum;
}
async function untilCounted(line: string, n: number, webs: Web[] = [a, b]): Promise<void> {
  let now = -1;
  const end = Date.now() + 20_000;
  while ((now = await counted(line, webs)) < n) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${line} to reach ${n} (it is ${now})`);
    await Bun.sleep(50);
  }
}
/** Publishes ntfy-style (PUT /<topic>, the text as the body) and returns the message's id. */
async function put(web: Web, topic: string, text: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${web.url}/${topic}`, { method: "PUT", body: text, headers });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: string }).id;
}
const to = (topic: string) => seen.filter((s) => s.path === `/${hashOf(topic)}`);

describe("poll requests to an upstream ntfy server (server.go forwardPollRequest)", () => {
  test("each message once from two web servers: the topic's hash, X-Poll-ID, the Bearer token, no body and no text", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await put(i % 2 ? b : a, "iosalerts", `the secret text ${i}`, { Title: `secret title ${i}` }));
    await until("six poll requests", () => to("iosalerts").length >= 6);
    // Both servers saw every message: one forwarded it, the other found it claimed.
    await untilCounted('notistream_upstream_skipped_total{reason="claimed_elsewhere"}', 6);
    const got = to("iosalerts");
    expect(got.length).toBe(6);
    expect(got.map((s) => s.headers["x-poll-id"]).sort()).toEqual([...ids].sort());
    for (const s of got) {
      expect(s.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(s.body).toBe("");
      expect(s.headers["x-message"]).toBeUndefined();
      expect(s.headers["x-title"]).toBeUndefined();
      // The topic's name, the text and the title never leave the server.
      expect(JSON.stringify(s)).not.toMatch(/secret|iosalerts/);
    }
    expect(await counted("notistream_upstream_forwarded_total")).toBe(6);

    // ntfy's iOS app, woken by the poll request, fetches that one message (queryFilter's id on a poll).
    const one = await (await fetch(`${a.url}/iosalerts/json?poll=1&id=${ids[2]}`)).text();
    const lines = one.trim().split("\n").map((l) => JSON.parse(l) as { id: string; event: string; message: string; title: string; topic: string });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ id: ids[2], event: "message", topic: "iosalerts", message: "the secret text 2", title: "secret title 2" });
    // An id this topic does not hold gives nothing; poll=1&since= still gives what follows.
    expect(await (await fetch(`${b.url}/iosalerts/json?poll=1&id=1-0`)).text()).toBe("");
    const after = (await (await fetch(`${b.url}/iosalerts/json?poll=1&since=${ids[3]}`)).text()).trim().split("\n");
    expect(after.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(ids.slice(4));
  });

  test("UnifiedPush messages are never forwarded (an up… topic, or an aes128gcm body), the next ordinary message is", async () => {
    // ntfy: "UP messages are not sent to upstream" (server.go handlePublishInternal); web_unifiedpush_rules.ts's
    // isUnifiedPushMessage tells them: an up… topic (as ntfy's Android distributor names them) or a base64 body.
    await put(a, "upAbCdEf123456", '{"notification":"encrypted elsewhere"}');
    await put(b, "upZyXwVu987654", "a second one");
    // A Web Push body as Mastodon sends it (Content-Encoding: aes128gcm, binary) to a topic of any name.
    const binary = new Uint8Array([0x00, 0xff, 0xfe, 0x80, 0x81, 0x10, 0x20, 0xc3]);
    const res = await fetch(`${a.url}/iosmastodon`, { method: "POST", body: binary, headers: { "content-encoding": "aes128gcm" } });
    expect(res.status).toBe(200);
    await untilCounted('notistream_upstream_skipped_total{reason="unifiedpush"}', 6); // both servers, three messages
    const id = await put(a, "iosafterup", "an ordinary one");
    await until("the ordinary message's poll request", () => to("iosafterup").length === 1);
    expect(to("iosafterup")[0]!.headers["x-poll-id"]).toBe(id);
    expect(to("upAbCdEf123456").length + to("upZyXwVu987654").length + to("iosmastodon").length).toBe(0);
  });

  test("a 429 (with Retry-After) and a 500 are tried again and counted; a 400 fails once, counted", async () => {
    answers.push({ status: 429, headers: { "retry-after": "1" } }, { status: 500 });
    const id = await put(b, "iosretry", "try me");
    await untilCounted('notistream_upstream_retried_total{reason="http_500"}', 1);
    await until("the third try", () => to("iosretry").length === 3);
    expect(to("iosretry").map((s) => s.headers["x-poll-id"])).toEqual([id, id, id]);
    expect(await counted('notistream_upstream_retried_total{reason="http_429"}')).toBe(1);
    await untilCounted("notistream_upstream_forwarded_total", 8);

    answers.push({ status: 400 });
    await put(a, "iosrefused", "refused");
    await untilCounted('notistream_upstream_failed_total{reason="http_400"}', 1);
    expect(to("iosrefused")).toHaveLength(1);
  }, 30_000); // a 1 s Retry-After, then link.ts's backoff of up to 4 s before the third try

  test("the start-up line hides the token; --upstream-base-url without --base-url is a usage error (exit 2)", async () => {
    expect(a.output()).toContain("--upstream-access-token (hidden)");
    expect(a.output()).not.toContain(TOKEN);
    const r = await run([BUN, `${ROOT}/web.ts`, "--port", "0", "--upstream-base-url", "https://ntfy.sh"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--upstream-base-url needs --base-url");
    const help = await run([BUN, `${ROOT}/web.ts`, "--help"]);
    expect(help.stdout).toContain("--upstream-base-url");
    expect(help.stdout).toContain("NOTISTREAM_UPSTREAM_ACCESS_TOKEN");
  });

  test("under docs/users.acl the web user may claim and forward (no NOPERM); a channel nobody may read is not announced", async () => {
    // The documented file, the web user's placeholder hash replaced by its test password's, as its comments ask.
    const pass = "web-upstream-pass";
    const text = readFileSync(join(ROOT, "docs/users.acl"), "latin1").replace(/^(user web on )#0{63}1/m, `$1#${createHash("sha256").update(pass).digest("hex")}`);
    const aclPath = tempPath("upstream-users.acl");
    writeFileSync(aclPath, text);
    const guarded = await startPubSub(["--acl", aclPath]);
    const args = ["--acl", aclPath, "--base-url", BASE, "--upstream-base-url", `http://127.0.0.1:${upstream.port}`];
    const web = await startWebServer(`redis://web:${pass}@127.0.0.1:${guarded.port}`, args);
    try {
      const auth = { authorization: `Bearer ${pass}` };
      // public/* is anonymous's to read: announced. deploys is only ci's to publish to, and only the web server's own
      // user (allchannels, --redis's login, which reads for the others) reads it: nobody may read it, so not announced.
      expect((await fetch(`${web.url}/deploys`, { method: "POST", body: "a release", headers: auth })).status).toBe(200);
      await untilCounted('notistream_upstream_skipped_total{reason="no_reader"}', 1, [web]);
      const res = await fetch(`${web.url}/public/iosacl`, { method: "POST", body: "for everyone", headers: auth });
      expect(res.status).toBe(200);
      const id = ((await res.json()) as { id: string }).id;
      await until("the public message's poll request", () => to("public/iosacl").length === 1);
      expect(to("public/iosacl")[0]!.headers["x-poll-id"]).toBe(id);
      expect(to("deploys")).toHaveLength(0);
      expect(web.output()).not.toContain("NOPERM");
    } finally {
      await web.stop();
      await guarded.stop();
    }
  });
});
