// test/ntfy.publish.e2e.test.ts — publishing exactly as ntfy's senders expect, against a real web server and pub/sub
// server, each message read back from a real RESP subscriber and /messages: ntfy's reply (200 and its message JSON),
// JSON to / merged with the request's headers, GET /<topic>/publish, the aliases, and the 400 for every feature
// Notistream lacks. Then the real senders with their own code and documented payloads: Debian's apprise (ntfy://),
// the `ntfy` npm package and @cityssm/ntfy-publish. Each message arrives with every field it set, or is refused.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import ntfyPublishCityssm from "@cityssm/ntfy-publish";
import { writeFileSync } from "node:fs";
import { MessagePriority, publish as ntfyPublish, type BaseConfig } from "ntfy";
import { Subscriber, needs, run, startPubSub, startWebServer, tempPath, until, type Running } from "./helpers";

let pubsub: Running;
let web: Running & { url: string };
let sub: Subscriber;
const CHANNELS = ["reply", "form", "json", "gets", "names", "refused", "owner/repo", "apprise", "npm-ntfy", "cityssm"];

beforeAll(async () => {
  pubsub = await startPubSub();
  web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`);
  sub = await Subscriber.open(pubsub.port, CHANNELS);
});
afterAll(async () => {
  sub?.close();
  await web?.stop();
  await pubsub?.stop();
});

type Envelope = Record<string, unknown>;

/** The envelopes the RESP subscriber has had on `channel`, in order. */
const on = (channel: string): Envelope[] => sub.messages.filter((m) => m.channel === channel).map((m) => JSON.parse(m.payload) as Envelope);

/** The next envelope on `channel` after the `seen` first, as a subscriber got it; /messages holds the same. */
async function nextOn(channel: string, seen: number): Promise<Envelope> {
  await until(`a message on ${channel}`, () => on(channel).length > seen, 10_000);
  const env = on(channel)[seen]!;
  const stored = (await (await fetch(`${web.url}/messages?channel=${encodeURIComponent(channel)}&limit=1000`)).json()) as Envelope[];
  expect(stored.find((m) => m.id === env.id)).toEqual(env);
  return env;
}

/** Proves that what was refused published nothing on `channel`: a marker published after it is the next message there. */
async function nothingPublished(channel: string, seen: number): Promise<void> {
  const marker = `marker ${Math.random()}`;
  expect((await fetch(`${web.url}/${channel}`, { method: "POST", body: marker })).status).toBe(200);
  expect((await nextOn(channel, seen)).message).toBe(marker);
}

/** curl as a person types it; the status comes after the body, on a line of its own. */
async function curl(...args: string[]): Promise<{ status: number; body: string }> {
  const r = await run(["curl", "-sS", "-w", "\n%{http_code}", ...args]);
  const cut = r.stdout.lastIndexOf("\n");
  return { status: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, cut) };
}

/** An ntfy error body: its shape is errHTTP's (server/errors.go): code, http, error, link. */
function ntfyError(body: string): { code: number; http: number; error: string; link?: string } {
  const e = JSON.parse(body) as { code: number; http: number; error: string; link?: string };
  expect(Object.keys(e).filter((k) => k !== "link")).toEqual(["code", "http", "error"]);
  return e;
}

describe("the reply: 200 and ntfy's message JSON (server.go handlePublish: writeJSON(m))", () => {
  test("POST /<topic>: id, time, event, topic and every field set; the id and time are the stored message's", async () => {
    const seen = on("reply").length;
    const r = await curl("-H", "Title: Dogs are better than cats", "-H", "Priority: urgent", "-H", "Tags: warning,skull", "-H", "Click: https://home.nest.com/", "-d", "Unauthorized access detected", `${web.url}/reply`);
    expect(r.status).toBe(200);
    const reply = JSON.parse(r.body) as Envelope;
    const env = await nextOn("reply", seen);
    expect(reply).toEqual({ id: env.id, time: env.time, event: "message", topic: "reply", title: "Dogs are better than cats", message: "Unauthorized access detected", priority: 5, tags: ["warning", "skull"], click: "https://home.nest.com/", source: "http" });
    expect(env).toMatchObject({ channel: "reply", title: "Dogs are better than cats", message: "Unauthorized access detected", priority: 5, tags: ["warning", "skull"], url: "https://home.nest.com/" });
  });

  test("POST /<topic>, and a channel with a slash (owner/repo): the path is the channel", async () => {
    const seen = on("owner/repo").length;
    const r = await curl("-X", "POST", "-d", "Deployed", `${web.url}/owner/repo?t=Deploy&p=high&ta=rocket`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ event: "message", topic: "owner/repo", message: "Deployed", title: "Deploy", priority: 4, tags: ["rocket"] });
    expect(await nextOn("owner/repo", seen)).toMatchObject({ channel: "owner/repo", message: "Deployed" });
  });

  test("POST / with our own form fields keeps our reply {id, channel, receivers}", async () => {
    const seen = on("form").length;
    const r = await curl("-d", "message=hello&channel=form&priority=high", `${web.url}/`);
    expect(r.status).toBe(200);
    const reply = JSON.parse(r.body) as Envelope;
    expect(Object.keys(reply)).toEqual(["id", "channel", "receivers"]);
    expect(reply).toMatchObject({ channel: "form", receivers: 1 });
    expect(await nextOn("form", seen)).toMatchObject({ id: reply.id, message: "hello", priority: 4, source: "form" });
    // Our JSON with a channel is ours too, even with a topic beside it.
    const j = await curl("-H", "content-type: application/json", "-d", JSON.stringify({ channel: "form", topic: "ignored", message: "ours" }), `${web.url}/`);
    expect(Object.keys(JSON.parse(j.body))).toEqual(["id", "channel", "receivers"]);
    expect(await nextOn("form", seen + 1)).toMatchObject({ channel: "form", message: "ours" });
    // ntfy's keys for features Notistream lacks are refused there too, in our own shape ({"error"}), not dropped.
    const refused = await curl("-d", "message=later&channel=form&call=yes", `${web.url}/`);
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toEqual({ error: 'Notistream does not support call (phone calls), asked by "call" in the request; nothing was published: send the message without it' });
    await nothingPublished("form", seen + 2);
  });

  test("an empty POST /<topic> is 'triggered' (server.go emptyMessageBody), and the body is trimmed (handleBodyAsTextMessage)", async () => {
    const seen = on("reply").length;
    expect((await curl("-X", "POST", `${web.url}/reply`)).status).toBe(200);
    expect((await nextOn("reply", seen)).message).toBe("triggered");
    expect((await curl("--data-binary", "  padded\n\n", `${web.url}/reply`)).status).toBe(200);
    expect((await nextOn("reply", seen + 1)).message).toBe("padded");
  });
});

describe("JSON to / (server.go transformBodyJSON; docs/publish.md 'Publish as JSON')", () => {
  test("ntfy's example: the reply is ntfy's, every field arrives; unknown keys are ignored as ntfy ignores them", async () => {
    const seen = on("json").length;
    const body = { topic: "json", message: "Disk space is low at 5.1 GB", title: "Low disk space alert", tags: ["warning", "cd"], priority: 4, click: "https://homecamera.local", "not-a-thing": "ok" };
    const r = await curl(web.url, "-d", JSON.stringify(body));
    expect(r.status).toBe(200);
    const reply = JSON.parse(r.body) as Envelope;
    const env = await nextOn("json", seen);
    expect(reply).toEqual({ id: env.id, time: env.time, event: "message", topic: "json", title: "Low disk space alert", message: "Disk space is low at 5.1 GB", priority: 4, tags: ["warning", "cd"], click: "https://homecamera.local", source: "http" });
  });

  test("X-* headers the JSON does not set still count; the JSON's own win (Apprise sends X-Priority and X-Tags beside its JSON)", async () => {
    const seen = on("json").length;
    const r = await curl("-H", "Content-Type: application/json", "-H", "X-Priority: high", "-H", "X-Tags: warning", "-H", "X-Title: header title", "-d", JSON.stringify({ topic: "json", title: "JSON title", message: "merged" }), `${web.url}/`);
    expect(r.status).toBe(200);
    expect(await nextOn("json", seen)).toMatchObject({ title: "JSON title", message: "merged", priority: 4, tags: ["warning"] });
    // PUT / too, as ntfy routes it.
    expect((await curl("-X", "PUT", "-d", JSON.stringify({ topic: "json", message: "put" }), `${web.url}/`)).status).toBe(200);
    expect((await nextOn("json", seen + 1)).message).toBe("put");
  });

  test("Uptime Kuma's JSON (a view action and an icon) arrives with both (issue 25; refused before); a bad action is 40018, a key of the wrong type 40024", async () => {
    const seen = on("json").length;
    // Uptime Kuma's ntfy provider (server/notification-providers/ntfy.js): JSON to / with actions [{action: "view", ...}] and icon.
    const kuma = { topic: "json", title: "Up", message: "[✅ Up] ok", priority: 3, tags: ["green_circle"], actions: [{ action: "view", label: "Open", url: "https://kuma.example.com" }], icon: "https://kuma.example.com/icon.svg" };
    const r = await curl(web.url, "-d", JSON.stringify(kuma));
    expect(r.status).toBe(200);
    const reply = JSON.parse(r.body) as Envelope;
    expect(reply).toMatchObject({ event: "message", topic: "json", icon: kuma.icon, actions: [{ action: "view", label: "Open", url: "https://kuma.example.com", clear: false }] });
    const env = await nextOn("json", seen);
    expect(env).toMatchObject({ title: "Up", icon: kuma.icon, actions: [{ action: "view", label: "Open", url: "https://kuma.example.com", clear: false }] });
    expect((env.actions as { id: string }[])[0]!.id).toMatch(/^[A-Za-z0-9]{10}$/);
    const bad = await curl(web.url, "-d", JSON.stringify({ ...kuma, actions: [{ action: "view", label: "Open" }] }));
    expect([bad.status, ntfyError(bad.body).code]).toEqual([400, 40018]);
    expect(ntfyError(bad.body).error).toContain('action 1 (view "Open"): a url is required');
    expect(ntfyError((await curl(web.url, "-d", JSON.stringify({ topic: "json", title: ["x"] }))).body).code).toBe(40024);
    await nothingPublished("json", seen + 1);
  });
});

describe("GET /<topic>/publish, /send, /trigger (server.go publishPathRegex; docs/publish.md 'Webhooks')", () => {
  test("the query's parameters publish; with no message it is 'triggered'", async () => {
    const seen = on("gets").length;
    const r = await curl(`${web.url}/gets/publish?message=Hi&t=From%20GET&tags=skull&x-priority=5`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ event: "message", topic: "gets", message: "Hi", title: "From GET", priority: 5, tags: ["skull"] });
    expect(await nextOn("gets", seen)).toMatchObject({ message: "Hi", title: "From GET", priority: 5, tags: ["skull"] });
    expect((await curl(`${web.url}/gets/send?m=sent`)).status).toBe(200);
    expect((await nextOn("gets", seen + 1)).message).toBe("sent");
    expect((await curl(`${web.url}/gets/trigger`)).status).toBe(200);
    expect((await nextOn("gets", seen + 2)).message).toBe("triggered");
  });

  test("one topic only: a comma list is ntfy's 404; a refused feature in the query is its 400", async () => {
    const seen = on("gets").length;
    const r = await curl(`${web.url}/gets,form/publish?m=x`);
    expect(r.status).toBe(404);
    expect(ntfyError(r.body).code).toBe(40401);
    const d = await curl(`${web.url}/gets/trigger?call=yes`);
    expect(d.status).toBe(400);
    expect(ntfyError(d.body).error).toContain('call (phone calls), asked by the "call" query parameter');
    await nothingPublished("gets", seen);
  });
});

describe("the names ntfy reads each parameter by, over HTTP (server.go parsePublishParams, util.go readParam)", () => {
  test("RFC 2047 and raw UTF-8 header values, \\n in X-Message, Cloudflare's Priority: u=3, i ignored", async () => {
    const seen = on("names").length;
    const r = await curl("-H", "Title: =?UTF-8?B?8J+YgCBCYWNrdXAgZG9uZQ==?=", "-H", "X-Message: line one\\nline two", "-H", "Priority: u=3, i", "-H", "p: min", `${web.url}/names/trigger`);
    expect(r.status).toBe(200);
    expect(await nextOn("names", seen)).toMatchObject({ title: "😀 Backup done", message: "line one\nline two", priority: 1 });
    expect((await curl("-H", "Title: Café 😀", "-H", "Tags: =?utf-8?q?caf=C3=A9?=", "-H", "Priority: u=1", "-d", "body", `${web.url}/names`)).status).toBe(200);
    const env = await nextOn("names", seen + 1);
    expect(env).toMatchObject({ title: "Café 😀", tags: ["café"], message: "body" });
    expect(env.priority).toBeUndefined();
  });

  test("short names as headers and query keys: ti, ta, prio, m; a bad priority is ntfy's 40007", async () => {
    const seen = on("names").length;
    expect((await curl("-H", "ti: short", "-H", "ta: a,b", "-H", "prio: 2", "-H", "m: from m", `${web.url}/names/publish`)).status).toBe(200);
    expect(await nextOn("names", seen)).toMatchObject({ title: "short", tags: ["a", "b"], priority: 2, message: "from m" });
    const bad = await curl("-H", "X-Priority: loud", "-d", "x", `${web.url}/names`);
    expect(bad.status).toBe(400);
    expect(ntfyError(bad.body).code).toBe(40007);
    await nothingPublished("names", seen + 1);
  });
});

describe("nothing silently dropped: each feature Notistream lacks is a 400 in ntfy's shape naming it", () => {
  // Actions, icons, Markdown, Cache: no and sequence IDs are taken now (issue 25: test/ntfy.rich.e2e.test.ts), as are
  // delays and e-mail (web_scheduled.ts; e-mail without --smtp-url is ntfy's 40001, below).
  const CASES: [feature: string, args: string[]][] = [
    ["call", ["-H", "Call: +12223334444"]],
  ];
  test("each header of ntfy's docs, one at a time; nothing is published", async () => {
    const seen = on("refused").length;
    for (const [feature, args] of CASES) {
      const r = await curl(...args, "-d", "Look ma, a feature", `${web.url}/refused`);
      expect(r.status, `${feature}: ${args.join(" ")}`).toBe(400);
      const e = ntfyError(r.body);
      expect(e.http).toBe(400);
      expect(e.error).toContain(feature);
      expect(e.error).toContain("Notistream does not support");
    }
    for (const args of [["-H", "Email: phil@example.com"], ["-H", "E-Mail: phil@example.com"]]) {
      const r = await curl(...args, "-d", "Look ma, a feature", `${web.url}/refused`);
      expect([r.status, ntfyError(r.body).code], args.join(" ")).toEqual([400, 40001]);
    }
    await nothingPublished("refused", seen);
  });

  test("ntfy's clear (PUT /<topic>/<sequence_id>/clear, as Home Assistant's ntfy.clear sends it) is the real thing now: a message_clear on the topic, not 'triggered' on a channel", async () => {
    const seen = on("refused").length;
    const r = await curl("-X", "PUT", `${web.url}/refused/abc123/clear`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ event: "message_clear", topic: "refused", sequence_id: "abc123" });
    expect(await nextOn("refused", seen)).toMatchObject({ channel: "refused", event: "message_clear", sequence_id: "abc123", message: "" });
    // Nothing went to a channel named by the whole path.
    const kept = await fetch(`${web.url}/messages?channel=${encodeURIComponent("refused/abc123/clear")}`);
    expect(await kept.json()).toEqual([]);
  });

  test("a file (PUT with a binary body, or an upload with Filename) names attachments (40014)", async () => {
    const seen = on("refused").length;
    const png = tempPath("flower.png");
    writeFileSync(png, Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00, 0xfe]));
    for (const args of [["-T", png], ["-T", png, "-H", "Filename: flower.png"]]) {
      const r = await curl(...args, `${web.url}/refused`);
      expect(r.status).toBe(400);
      const e = ntfyError(r.body);
      expect(e.code).toBe(40014);
      expect(e.error).toContain("attachment");
    }
    await nothingPublished("refused", seen);
  });
});

describe("logins on ntfy's publishing routes (--token: a one-user ACL)", () => {
  test("JSON to / checks write rights on its topic once the body is read: 401 in ntfy's shape, then 200 with the token (Bearer, ?token= or a token key)", async () => {
    const locked = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--token", "s3cret"]);
    try {
      const seen = on("json").length;
      const body = JSON.stringify({ topic: "json", message: "locked" });
      const anon = await curl(locked.url, "-d", body);
      expect(anon.status).toBe(401);
      expect(ntfyError(anon.body).code).toBe(40101);
      expect((await curl("-H", "Authorization: Bearer s3cret", locked.url, "-d", body)).status).toBe(200);
      expect((await curl(`${locked.url}/?token=s3cret`, "-d", body)).status).toBe(200);
      expect((await curl(locked.url, "-d", JSON.stringify({ topic: "json", message: "locked", token: "s3cret" }))).status).toBe(200);
      // GET /<topic>/publish takes ?token= as POST /<topic> does (a webhook that only takes a URL).
      expect((await curl(`${locked.url}/json/publish?m=locked`)).status).toBe(401);
      expect((await curl(`${locked.url}/json/publish?m=locked&token=s3cret`)).status).toBe(200);
      for (let i = 0; i < 4; i++) expect((await nextOn("json", seen + i)).message).toBe("locked");
      // POST /<topic> refused before its body: ntfy's fields (Home Assistant's library reads the code; server.go's
      // errHTTPUnauthorized), our error text, and still the challenge curl and browsers answer.
      const refused = await fetch(`${locked.url}/json`, { method: "POST", body: "locked" });
      expect(refused.status).toBe(401);
      expect(refused.headers.get("www-authenticate")).toContain("Basic");
      const shape = (await refused.json()) as Record<string, unknown>;
      expect(shape).toMatchObject({ code: 40101, http: 401 });
      expect(String(shape.error)).toContain("anonymous clients may not publish");
      const wrong = await fetch(`${locked.url}/json`, { method: "PUT", body: "locked", headers: { authorization: "Bearer nope" } });
      expect(wrong.status).toBe(401);
      expect(((await wrong.json()) as { code: number }).code).toBe(40101);
    } finally {
      await locked.stop();
    }
  }, 20_000);
});

/** A sender's own code run with fetch watched: what it sent (headers, body) and what the server answered. */
async function watched(send: () => Promise<unknown>): Promise<{ result: unknown; sent: { url: string; headers: Record<string, string>; body: string }[]; answers: { status: number; text: string }[] }> {
  const original = globalThis.fetch;
  const sent: { url: string; headers: Record<string, string>; body: string }[] = [];
  const answers: { status: number; text: string }[] = [];
  const spy = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const body = init?.body;
    sent.push({ url: String(input), headers: Object.fromEntries(new Headers(init?.headers)), body: typeof body === "string" ? body : body instanceof Uint8Array ? `<${body.length} bytes>` : "" });
    const res = await original(input, init);
    answers.push({ status: res.status, text: await res.clone().text() });
    return res;
  };
  globalThis.fetch = Object.assign(spy, { preconnect: original.preconnect });
  try {
    return { result: await send(), sent, answers };
  } catch (err) {
    return { result: err, sent, answers };
  } finally {
    globalThis.fetch = original;
  }
}

needs("apprise").describe("Apprise, Debian's package (plugins/NotifyNtfy.py: JSON to / with X-* headers, needs exactly 200)", () => {
  test("ntfy://host:port/topic?priority=high&tags=warning: every field arrives", async () => {
    const seen = on("apprise").length;
    const r = await run(["apprise", "-vvv", "-t", "Backup server", "-b", "Disk space is low", `ntfy://127.0.0.1:${web.port}/apprise?priority=high&tags=warning,skull&click=https://example.com/backups`]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const env = await nextOn("apprise", seen);
    console.log(`apprise sent: ${(r.stdout + r.stderr).split("\n").filter((l) => /ntfy (Payload|Headers)/.test(l)).join(" | ")}\n  arrived: ${JSON.stringify(env)}`);
    // Apprise sorts the tags it sends (utils.parse_list): X-Tags: skull,warning.
    expect(env).toMatchObject({ channel: "apprise", title: "Backup server", message: "Disk space is low", priority: 4, tags: ["skull", "warning"], url: "https://example.com/backups" });
  });

  test("X-Actions from Apprise: its ntfy:// plugin (1.2.0) sends no actions, so its json:// plugin posts ntfy's JSON to / (:topic=) with an +X-Actions header, which counts beside the JSON (transformBodyJSON keeps the request's headers)", async () => {
    const seen = on("apprise").length;
    const actions = encodeURIComponent("view, Open camera, https://home.example/cam; http, Close door, https://home.example/close, method=PUT, clear=true");
    const r = await run(["apprise", "-vvv", "-t", "Garage", "-b", "The garage door is open", `json://127.0.0.1:${web.port}/?:topic=apprise&+X-Actions=${actions}`]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await nextOn("apprise", seen)).toMatchObject({
      title: "Garage",
      message: "The garage door is open",
      actions: [
        { action: "view", label: "Open camera", url: "https://home.example/cam", clear: false },
        { action: "http", label: "Close door", url: "https://home.example/close", method: "PUT", clear: true },
      ],
    });
  });

  test("?email= without --smtp-url is refused: Apprise says it failed, with our sentence, and nothing arrives", async () => {
    const seen = on("apprise").length;
    for (const [query, feature] of [["email=phil@example.com", "email"]] as const) {
      const r = await run(["apprise", "-vvv", "-b", "later", `ntfy://127.0.0.1:${web.port}/apprise?${query}`]);
      expect(r.code).not.toBe(0);
      const said = r.stdout + r.stderr;
      expect(said).toContain("Failed to send ntfy notification");
      expect(said).toContain(feature);
    }
    await nothingPublished("apprise", seen);
  });
});

describe("the `ntfy` npm package (its README's examples, run by its own code)", () => {
  test("the simple example, and one with every field the package sends: each arrives with all of them", async () => {
    const seen = on("npm-ntfy").length;
    const simple = await watched(() => ntfyPublish({ message: "This is an example message.", topic: "npm-ntfy", server: web.url }));
    expect(simple.answers.map((a) => a.status)).toEqual([200]);
    expect(simple.result).toMatchObject({ event: "message", topic: "npm-ntfy", message: "This is an example message." });
    expect(await nextOn("npm-ntfy", seen)).toMatchObject({ message: "This is an example message." });
    const full = await watched(() =>
      ntfyPublish({ message: "Remote access to device detected. Act right away.", priority: MessagePriority.MAX, tags: ["warning", "skull"], title: "Unauthorized access detected", topic: "npm-ntfy", server: web.url }),
    );
    expect(full.answers.map((a) => a.status)).toEqual([200]);
    const env = await nextOn("npm-ntfy", seen + 1);
    console.log(`ntfy npm sent: ${JSON.stringify(full.sent[0])}\n  arrived: ${JSON.stringify(env)}`);
    expect(env).toMatchObject({ message: "Remote access to device detected. Act right away.", priority: 5, tags: ["warning", "skull"], title: "Unauthorized access detected" });
  });

  test("its README's advanced example is refused as ntfy refuses it: the package writes the http action's body with no body= key (40018); each feature alone is taken, e-mail without --smtp-url is 40001", async () => {
    const seen = on("npm-ntfy").length;
    const advanced = await watched(() =>
      ntfyPublish({
        actions: [
          { clear: true, extras: { cmd: "pic", camera: "front" }, intent: "io.heckel.ntfy.USER_ACTION", label: "Take picture", type: "broadcast" },
          { body: '{"action": "close"}', clear: false, headers: { Authorization: "Bearer zAzsx1sk.." }, label: "Close door", method: "PUT", type: "http", url: "https://api.mygarage.lan" },
          { clear: true, label: "Open portal", type: "view", url: "https://api.nest.com/" },
        ],
        authorization: { password: "my-password", username: "my-username" },
        clickURL: "https://github.com/ffflorian/",
        delay: "1m",
        disableCache: true,
        disableFirebase: true,
        emailAddress: "name@example.com",
        iconURL: "https://avatars.githubusercontent.com/ffflorian",
        message: "Remote access to device detected. Act right away.",
        priority: MessagePriority.MAX,
        server: web.url,
        tags: ["warning", "skull"],
        title: "Unauthorized access detected",
        topic: "npm-ntfy",
      }),
    );
    expect(advanced.result).toBeInstanceOf(Error);
    expect(advanced.answers.map((a) => a.status)).toEqual([400]);
    console.log(`ntfy npm (advanced) sent: ${JSON.stringify(advanced.sent[0]?.headers)}\n  answer: ${advanced.answers[0]?.text.trim()}`);
    // Its buildHTTPActionString appends `, {"action": "close"}`: a section with no key past the url, which ntfy's
    // parser refuses too ("term '...' unknown", action.go populateAction).
    const e = ntfyError(advanced.answers[0]!.text);
    expect(e.code).toBe(40018);
    expect(e.error).toContain('action 2 (http "Close door")');
    const email = await watched(() => ntfyPublish({ message: "one feature", topic: "npm-ntfy", server: web.url, emailAddress: "name@example.com" }));
    expect([email.answers[0]!.status, ntfyError(email.answers[0]!.text).code]).toEqual([400, 40001]);
    const icon = "https://avatars.githubusercontent.com/ffflorian";
    const taken = await watched(() =>
      ntfyPublish({ message: "icon and actions", topic: "npm-ntfy", server: web.url, iconURL: icon, actions: [{ clear: true, label: "Open portal", type: "view", url: "https://api.nest.com/" }, { clear: true, extras: { cmd: "pic", camera: "front" }, intent: "io.heckel.ntfy.USER_ACTION", label: "Take picture", type: "broadcast" }] }),
    );
    expect(taken.answers.map((a) => a.status)).toEqual([200]);
    expect(await nextOn("npm-ntfy", seen)).toMatchObject({
      icon,
      actions: [
        { action: "view", label: "Open portal", url: "https://api.nest.com/", clear: true },
        { action: "broadcast", label: "Take picture", intent: "io.heckel.ntfy.USER_ACTION", extras: { cmd: "pic", camera: "front" }, clear: true },
      ],
    });
    // A file as the body (fileAttachment) is an attachment: refused naming it.
    const png = tempPath("npm.png");
    writeFileSync(png, Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe]));
    const file = await watched(() => ntfyPublish({ fileAttachment: png, topic: "npm-ntfy", server: web.url }));
    expect(file.answers.map((a) => a.status)).toEqual([400]);
    expect(ntfyError(file.answers[0]!.text).code).toBe(40014);
    await nothingPublished("npm-ntfy", seen + 1);
  });

  test("clickURL never leaves the package (its code sets no X-Click header), so it cannot arrive", async () => {
    const seen = on("npm-ntfy").length;
    const sent = await watched(() => ntfyPublish({ message: "with a click", clickURL: "https://github.com/ffflorian/", topic: "npm-ntfy", server: web.url }));
    expect(Object.keys(sent.sent[0]!.headers).some((h) => h.toLowerCase().includes("click"))).toBe(false);
    expect((await nextOn("npm-ntfy", seen)).url).toBeUndefined();
  });
});

describe("@cityssm/ntfy-publish (its README's example, run by its own code)", () => {
  const example = {
    topic: "cityssm",
    priority: "high" as const,
    title: "Test High Priority Message",
    message: "1, 2, 3",
    tags: ["warning", "computer"],
    iconURL: "https://avatars.githubusercontent.com/cityssm",
    clickURL: "https://github.com/cityssm/node-ntfy-publish",
  };

  test("the README's example sets an icon: it arrives with it (issue 25; refused before)", async () => {
    const seen = on("cityssm").length;
    const r = await watched(() => ntfyPublishCityssm({ ...example, server: web.url }));
    expect(r.result).toBe(true);
    expect(await nextOn("cityssm", seen)).toMatchObject({ title: "Test High Priority Message", icon: "https://avatars.githubusercontent.com/cityssm" });
  });

  test("without the icon every field arrives: its Priority, Title, Tags and Click headers", async () => {
    const seen = on("cityssm").length;
    const { iconURL: _icon, ...plain } = example;
    const r = await watched(() => ntfyPublishCityssm({ ...plain, server: web.url }));
    expect(r.result).toBe(true);
    const env = await nextOn("cityssm", seen);
    console.log(`@cityssm/ntfy-publish sent: ${JSON.stringify(r.sent[0])}\n  arrived: ${JSON.stringify(env)}`);
    expect(env).toMatchObject({ channel: "cityssm", title: "Test High Priority Message", message: "1, 2, 3", priority: 4, tags: ["warning", "computer"], url: "https://github.com/cityssm/node-ntfy-publish" });
    // Its default priority ("3", sent as Priority: 3) and cache: false (Cache: no, refused: it would be kept in history).
    const def = await watched(() => ntfyPublishCityssm({ topic: "cityssm", message: "default", server: web.url }));
    expect(def.result).toBe(true);
    expect((await nextOn("cityssm", seen + 1)).priority).toBe(3);
    // cache: false (Cache: no) is taken now: the subscriber gets it, history keeps nothing (no id).
    const noCache = await watched(() => ntfyPublishCityssm({ topic: "cityssm", message: "not kept", cache: false, server: web.url }));
    expect(noCache.result).toBe(true);
    await until("the uncached message", () => on("cityssm").length > seen + 2, 10_000);
    expect(on("cityssm")[seen + 2]).toMatchObject({ id: "", message: "not kept", uncached: true });
    const stored = (await (await fetch(`${web.url}/messages?channel=cityssm&limit=1000`)).json()) as Envelope[];
    expect(stored.some((m) => m.message === "not kept")).toBe(false);
  });
});
