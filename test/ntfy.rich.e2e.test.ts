// test/ntfy.rich.e2e.test.ts — issue 25's envelope on the server, end to end against a real web server and pub/sub
// server: sequence IDs, delete and clear routes, actions, icons, Markdown and Cache: no, as published with curl and read
// back from a RESP subscriber, /messages, /events, ntfy's /json, /sse, /raw and /ws, and the notistream client (RESP
// and --url). v2.16+ behaviour is checked against /work/shared/reference/ntfy-gotify-wire.md (§1.1, §1.4, §2.1, §2.2,
// §2.4: ntfy v2.27's model/model.go, server/server.go handleSubscribeSSE/Raw, action/action.go), since the ntfy source
// the tools hold is a v2.13 snapshot without them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Subscriber, killClients, run, startClient, startPubSub, startWebServer, tempPath, until, type Running } from "./helpers";

let pubsub: Running;
let web: Running & { url: string };
let guarded: Running & { url: string };
let sub: Subscriber;
const CHANNELS = ["heartbeat", "seq", "events", "owner/repo", "rich", "md", "uncached", "ours", "streams", "desk", "guarded"];

beforeAll(async () => {
  pubsub = await startPubSub();
  web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`);
  guarded = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--token", "s3cret-token-for-tests"]);
  sub = await Subscriber.open(pubsub.port, CHANNELS);
}, 60_000);
afterAll(async () => {
  killClients();
  sub?.close();
  await web?.stop();
  await guarded?.stop();
  await pubsub?.stop();
});

type Json = Record<string, unknown>;
const on = (channel: string): Json[] => sub.messages.filter((m) => m.channel === channel).map((m) => JSON.parse(m.payload) as Json);
async function nextOn(channel: string, seen: number): Promise<Json> {
  await until(`a message on ${channel}`, () => on(channel).length > seen, 10_000);
  return on(channel)[seen]!;
}
const history = async (channel: string): Promise<Json[]> => (await (await fetch(`${web.url}/messages?channel=${encodeURIComponent(channel)}&limit=1000`)).json()) as Json[];

async function curl(...args: string[]): Promise<{ status: number; body: string }> {
  const r = await run(["curl", "-sS", "-w", "\n%{http_code}", ...args]);
  const cut = r.stdout.lastIndexOf("\n");
  return { status: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, cut) };
}
const ntfyCode = (body: string): number => (JSON.parse(body) as { code: number }).code;

/** An HTTP stream read as text while `during` runs, until `done` holds for what arrived. */
async function streamText(url: string, during: () => Promise<void>, done: (text: string) => boolean, headers: Record<string, string> = {}): Promise<string> {
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal, headers });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  let text = "";
  const reading = (async () => {
    const dec = new TextDecoder();
    for (;;) {
      const { value, done: end } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (end) return;
      text += dec.decode(value, { stream: true });
    }
  })();
  await until("the stream opened", () => text.length > 0, 10_000);
  await during();
  await until(`the stream's events at ${url}`, () => done(text), 10_000);
  abort.abort();
  await reading;
  return text;
}

describe("update: a sequence ID (X-Sequence-ID, Sequence-ID, SID, ?sid=, JSON sequence_id)", () => {
  test("each update is a new history entry with the sequence ID; the reply carries it, and drops it when it is the id (ForJSON)", async () => {
    const seen = on("seq").length;
    const first = await curl("-H", "X-Sequence-ID: build-42", "-d", "Build running", `${web.url}/seq`);
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ sequence_id: "build-42", event: "message", topic: "seq", message: "Build running" });
    expect(Object.keys(JSON.parse(first.body)).slice(0, 2)).toEqual(["id", "sequence_id"]);
    expect((await curl("-H", "SID: build-42", "-d", "Build passed", `${web.url}/seq`)).status).toBe(200);
    expect((await curl("-d", "Again", `${web.url}/seq?sid=build-42`)).status).toBe(200);
    expect((await curl(web.url, "-d", JSON.stringify({ topic: "seq", message: "From JSON", sequence_id: "build-42" }))).status).toBe(200);
    await until("four updates", () => on("seq").length >= seen + 4);
    expect(on("seq").slice(seen).map((e) => [e.message, e.sequence_id])).toEqual([["Build running", "build-42"], ["Build passed", "build-42"], ["Again", "build-42"], ["From JSON", "build-42"]]);
    // Append-only: all four are in history, each with its own id.
    const kept = (await history("seq")).filter((e) => e.sequence_id === "build-42");
    expect(kept.map((e) => e.message)).toEqual(["Build running", "Build passed", "Again", "From JSON"]);
    expect(new Set(kept.map((e) => e.id)).size).toBe(4);
  });
  test("a sequence ID that is not ntfy's topic form is 40049, and nothing is published", async () => {
    const seen = on("seq").length;
    for (const args of [["-H", "X-Sequence-ID: has space"], ["-H", `SID: ${"x".repeat(65)}`]]) {
      const r = await curl(...args, "-d", "no", `${web.url}/seq`);
      expect([r.status, ntfyCode(r.body)]).toEqual([400, 40049]);
    }
    expect((await curl("-d", "marker", `${web.url}/seq`)).status).toBe(200);
    expect((await nextOn("seq", seen)).message).toBe("marker");
  });
});

describe("delete and clear (ntfy v2.16's routes, wire reference §2.1)", () => {
  test("DELETE /<topic>/<sid> and GET .../delete publish message_delete; PUT or GET .../clear and .../read publish message_clear; each is kept in history", async () => {
    const seen = on("events").length;
    const del = await curl("-X", "DELETE", `${web.url}/events/build-42`);
    expect(del.status).toBe(200);
    const reply = JSON.parse(del.body) as Json;
    expect(reply).toMatchObject({ event: "message_delete", topic: "events", sequence_id: "build-42" });
    expect(reply.message).toBeUndefined();
    expect((await curl(`${web.url}/events/b2/delete`)).status).toBe(200);
    expect((await curl("-X", "PUT", `${web.url}/events/b3/clear`)).status).toBe(200);
    expect((await curl(`${web.url}/events/b4/read`)).status).toBe(200);
    expect((await curl("-X", "PUT", `${web.url}/events/b5/read`)).status).toBe(200);
    expect((await curl(`${web.url}/events/b6/clear`)).status).toBe(200);
    await until("six events", () => on("events").length >= seen + 6);
    const got = on("events").slice(seen).map((e) => [e.event, e.sequence_id, e.message]);
    expect(got).toEqual([
      ["message_delete", "build-42", ""],
      ["message_delete", "b2", ""],
      ["message_clear", "b3", ""],
      ["message_clear", "b4", ""],
      ["message_clear", "b5", ""],
      ["message_clear", "b6", ""],
    ]);
    expect((await history("events")).slice(-6).map((e) => e.event)).toEqual(["message_delete", "message_delete", "message_clear", "message_clear", "message_clear", "message_clear"]);
  });
  test("a channel with a slash: the last segment is the sequence ID (DELETE /owner/repo/build-7), as /owner/repo/json reads owner/repo", async () => {
    const seen = on("owner/repo").length;
    expect((await curl("-X", "DELETE", `${web.url}/owner/repo/build-7`)).status).toBe(200);
    expect(await nextOn("owner/repo", seen)).toMatchObject({ channel: "owner/repo", event: "message_delete", sequence_id: "build-7" });
  });
  test("our own behaviour stays: POST /owner/repo publishes to channel owner/repo, not sequence ID repo on topic owner", async () => {
    const seen = on("owner/repo").length;
    const r = await curl("-X", "POST", "-d", "Deployed", `${web.url}/owner/repo`);
    expect(JSON.parse(r.body)).toMatchObject({ topic: "owner/repo", message: "Deployed" });
    const env = await nextOn("owner/repo", seen);
    expect(env).toMatchObject({ channel: "owner/repo", message: "Deployed" });
    expect(env.sequence_id).toBeUndefined();
  });
  // ntfy v2.16's path form (wire reference §2.4: PUT /<topic>/<sequence_id> publishes or updates); the issue names PUT.
  test("PUT /<topic>/<sid> publishes with that sequence ID, twice an update, and PUT /owner/repo/<sid> on owner/repo", async () => {
    const seen = on("heartbeat").length;
    const first = await curl("-X", "PUT", "-d", "Backup running", `${web.url}/heartbeat/backup-1`);
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ topic: "heartbeat", message: "Backup running", sequence_id: "backup-1" });
    expect(await nextOn("heartbeat", seen)).toMatchObject({ channel: "heartbeat", message: "Backup running", sequence_id: "backup-1" });
    const again = await curl("-X", "PUT", "-d", "Backup done", `${web.url}/heartbeat/backup-1`);
    expect(JSON.parse(again.body)).toMatchObject({ topic: "heartbeat", message: "Backup done", sequence_id: "backup-1" });
    expect(await nextOn("heartbeat", seen + 1)).toMatchObject({ message: "Backup done", sequence_id: "backup-1" });
    const repoSeen = on("owner/repo").length;
    expect((await curl("-X", "PUT", "-d", "Build 7 passed", `${web.url}/owner/repo/build-7`)).status).toBe(200);
    expect(await nextOn("owner/repo", repoSeen)).toMatchObject({ channel: "owner/repo", message: "Build 7 passed", sequence_id: "build-7" });
    const bad = await curl("-X", "PUT", "-d", "x", `${web.url}/heartbeat/has%20space`);
    expect([bad.status, ntfyCode(bad.body)]).toEqual([400, 40049]);
  }, 30_000);
  test("bad paths: no sequence ID is 404 (40401), a bad one 40049, both in ntfy's shape", async () => {
    const none = await curl("-X", "DELETE", `${web.url}/lonely`);
    expect([none.status, ntfyCode(none.body)]).toEqual([404, 40401]);
    const bad = await curl("-X", "PUT", `${web.url}/events/has%20space/clear`);
    expect([bad.status, ntfyCode(bad.body)]).toEqual([400, 40049]);
  });
  test("write rights on the channel (--token): 401 in ntfy's shape without the token, 200 with it (Bearer or ?auth=); another site's page may not GET one", async () => {
    const seen = on("guarded").length;
    const anon = await curl("-X", "DELETE", `${guarded.url}/guarded/s1`);
    expect([anon.status, ntfyCode(anon.body)]).toEqual([401, 40101]);
    expect((await curl("-X", "DELETE", "-H", "Authorization: Bearer s3cret-token-for-tests", `${guarded.url}/guarded/s1`)).status).toBe(200);
    const auth = Buffer.from("Bearer s3cret-token-for-tests").toString("base64url");
    expect((await curl(`${guarded.url}/guarded/s2/clear?auth=${auth}`)).status).toBe(200);
    const cross = await curl("-H", "Sec-Fetch-Site: cross-site", `${web.url}/guarded/s3/delete`);
    expect(cross.status).toBe(403);
    await until("two events", () => on("guarded").length >= seen + 2);
    expect(on("guarded").slice(seen).map((e) => [e.event, e.sequence_id])).toEqual([["message_delete", "s1"], ["message_clear", "s2"]]);
  });
});

describe("actions, icon, Markdown (wire reference §2.2)", () => {
  test("X-Actions in the simple format (ntfy's docs' example), an icon and Markdown arrive in the envelope and ntfy's reply", async () => {
    const seen = on("rich").length;
    const r = await curl(
      "-H", "Actions: view, Open portal, https://home.nest.com/, clear=true; http, Turn down, https://api.nest.com/, method=PUT, headers.Authorization=Bearer zAzsx1sk.., body='{\"temperature\": 65}'; copy, Copy code, 1234",
      "-H", "Icon: https://styles.redditmedia.com/icon.png",
      "-H", "Markdown: yes",
      "-d", "**Bold** move", `${web.url}/rich`,
    );
    expect(r.status).toBe(200);
    const reply = JSON.parse(r.body) as Json;
    expect(reply).toMatchObject({ icon: "https://styles.redditmedia.com/icon.png", content_type: "text/markdown" });
    const env = await nextOn("rich", seen);
    expect(env).toMatchObject({
      message: "**Bold** move",
      icon: "https://styles.redditmedia.com/icon.png",
      content_type: "text/markdown",
      actions: [
        { action: "view", label: "Open portal", url: "https://home.nest.com/", clear: true },
        { action: "http", label: "Turn down", url: "https://api.nest.com/", method: "PUT", headers: { Authorization: "Bearer zAzsx1sk.." }, body: '{"temperature": 65}', clear: false },
        { action: "copy", label: "Copy code", value: "1234", clear: false },
      ],
    });
    expect(reply.actions).toEqual(env.actions);
    expect((await history("rich")).at(-1)).toEqual(env);
  });
  test("Content-Type: text/markdown is Markdown too; a bad action is 40018 naming it; a bad icon 40021", async () => {
    const seen = on("md").length;
    expect((await curl("-H", "Content-Type: text/markdown", "-d", "# Title", `${web.url}/md`)).status).toBe(200);
    expect(await nextOn("md", seen)).toMatchObject({ message: "# Title", content_type: "text/markdown" });
    const badAction = await curl("-H", "X-Actions: view, Open; http, Close", "-d", "x", `${web.url}/md`);
    expect([badAction.status, ntfyCode(badAction.body)]).toEqual([400, 40018]);
    expect(JSON.parse(badAction.body).error).toContain('action 1 (view "Open"): a url is required');
    const four = await curl("-H", "X-Actions: copy,a,1;copy,b,2;copy,c,3;copy,d,4", "-d", "x", `${web.url}/md`);
    expect(JSON.parse(four.body).error).toContain("at most 3");
    const badIcon = await curl("-H", "Icon: javascript:alert(1)", "-d", "x", `${web.url}/md`);
    expect([badIcon.status, ntfyCode(badIcon.body)]).toEqual([400, 40021]);
  });
  test("our own POST /: JSON actions (an array or ntfy's simple format), icon, markdown, sequence_id and cache, answered in our shape", async () => {
    const seen = on("ours").length;
    const body = { channel: "ours", message: "deploy?", actions: [{ action: "http", label: "Approve", url: "https://ci.example/approve", method: "post" }], icon: "https://ci.example/i.png", markdown: true, sequence_id: "deploy-1" };
    const r = await fetch(web.url, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    expect(r.status).toBe(200);
    expect(Object.keys((await r.json()) as Json)).toEqual(["id", "channel", "receivers"]);
    expect(await nextOn("ours", seen)).toMatchObject({ message: "deploy?", icon: "https://ci.example/i.png", content_type: "text/markdown", sequence_id: "deploy-1", actions: [{ action: "http", label: "Approve", method: "POST", clear: false }] });
    const form = await fetch(web.url, { method: "POST", body: new URLSearchParams({ channel: "ours", message: "form", actions: "view, Open, https://x.test" }) });
    expect(form.status).toBe(200);
    expect((await nextOn("ours", seen + 1)).actions).toMatchObject([{ action: "view", label: "Open", url: "https://x.test" }]);
    const bad = await fetch(web.url, { method: "POST", body: JSON.stringify({ channel: "ours", message: "m", actions: [{ action: "view", label: "x" }] }), headers: { "content-type": "application/json" } });
    expect(bad.status).toBe(400);
    expect(Object.keys((await bad.json()) as Json)).toEqual(["error"]);
  });
});

describe("ntfy's streams carry every field and event as ntfy sends them (wire reference §1.1, §1.4)", () => {
  const publishAll = async () => {
    expect((await curl("-H", "SID: s-1", "-H", "Actions: view, Open, https://x.test", "-H", "Icon: https://x.test/i.png", "-H", "md: 1", "-H", "Priority: 5", "-d", "hello", `${web.url}/streams`)).status).toBe(200);
    expect((await curl("-X", "DELETE", `${web.url}/streams/s-1`)).status).toBe(200);
    expect((await curl("-X", "PUT", `${web.url}/streams/s-1/clear`)).status).toBe(200);
  };
  const kinds = (lines: Json[]) => lines.filter((m) => m.event !== "open" && m.event !== "keepalive").map((m) => m.event);

  test("/json: the message with sequence_id, actions, icon, content_type; then message_delete and message_clear with the sequence ID", async () => {
    const text = await streamText(`${web.url}/streams/json`, publishAll, (t) => t.includes("message_clear"));
    const lines = text.trim().split("\n").map((l) => JSON.parse(l) as Json);
    expect(kinds(lines)).toEqual(["message", "message_delete", "message_clear"]);
    const [msg, del, clear] = lines.filter((m) => m.event !== "open");
    expect(msg).toMatchObject({ sequence_id: "s-1", topic: "streams", message: "hello", icon: "https://x.test/i.png", content_type: "text/markdown", actions: [{ action: "view", label: "Open", url: "https://x.test", clear: false }] });
    expect(Object.keys(del!)).toEqual(["id", "sequence_id", "time", "event", "topic"]);
    expect(clear).toMatchObject({ event: "message_clear", sequence_id: "s-1", topic: "streams" });
  });
  test("/sse: data: lines with no event: line for message, message_delete and message_clear (EventSource.onmessage fires for each)", async () => {
    const text = await streamText(`${web.url}/streams/sse`, publishAll, (t) => t.includes("message_clear"));
    const frames = text.split("\n\n").filter(Boolean);
    expect(frames[0]!.startsWith("event: open\n")).toBe(true);
    const rest = frames.slice(1).filter((f) => !f.startsWith("event: keepalive"));
    expect(rest.map((f) => (JSON.parse(f.replace(/^data: /, "")) as Json).event)).toEqual(["message", "message_delete", "message_clear"]);
    for (const f of rest) expect(f.startsWith("data: ")).toBe(true);
  });
  test("/raw: the message's text, and an empty line for the delete and the clear", async () => {
    let published = false;
    const text = await streamText(`${web.url}/streams/raw`, async () => {
      await publishAll();
      published = true;
    }, (t) => published && t.split("\n").length >= 5);
    // The open event's empty line, the message, then two empty lines.
    expect(text.startsWith("\nhello\n\n\n")).toBe(true);
  });
  test("/ws: JSON frames for the three; filters apply to deletes and clears too (?priority=5 passes the message only: an event has no priority, which counts as 3)", async () => {
    const frames: Json[] = [];
    const filtered: Json[] = [];
    const open = (url: string, into: Json[]) =>
      new Promise<WebSocket>((resolve) => {
        const ws = new WebSocket(url);
        ws.onmessage = (ev) => into.push(JSON.parse(String(ev.data)) as Json);
        ws.onopen = () => resolve(ws);
      });
    const base = web.url.replace("http", "ws");
    const a = await open(`${base}/streams/ws`, frames);
    const b = await open(`${base}/streams/ws?priority=5`, filtered);
    await until("both open", () => frames.length > 0 && filtered.length > 0);
    await publishAll();
    await until("three frames", () => kinds(frames).length >= 3);
    expect(kinds(frames)).toEqual(["message", "message_delete", "message_clear"]);
    // The filtered stream's later frames would have come before a marker the unfiltered one has seen.
    await Bun.sleep(200);
    expect(kinds(filtered)).toEqual(["message"]);
    a.close();
    b.close();
  });
  test("poll=1 replays the message and both events from history, in order", async () => {
    const r = await curl(`${web.url}/streams/json?poll=1&since=all`);
    const events = r.body.trim().split("\n").map((l) => JSON.parse(l) as Json);
    expect(events.slice(-3).map((e) => [e.event, e.sequence_id])).toEqual([["message", "s-1"], ["message_delete", "s-1"], ["message_clear", "s-1"]]);
  });
  test("our /events (SSE) and /messages carry them as envelopes: event and sequence_id beside the old fields", async () => {
    const text = await streamText(`${web.url}/events?channel=streams`, publishAll, (t) => t.includes("message_clear"));
    const data = text.split("\n").filter((l) => l.startsWith("data: {")).map((l) => JSON.parse(l.slice(6)) as Json).filter((e) => e.channel === "streams");
    expect(data.map((e) => [e.event ?? "message", e.sequence_id])).toEqual([["message", "s-1"], ["message_delete", "s-1"], ["message_clear", "s-1"]]);
    expect(data[0]).toMatchObject({ icon: "https://x.test/i.png", content_type: "text/markdown", priority: 5 });
    expect((await history("streams")).slice(-3).map((e) => e.event ?? "message")).toEqual(["message", "message_delete", "message_clear"]);
  });
});

describe("Cache: no: delivered to whoever listens, kept in no history, shown once on every client", () => {
  test("the RESP subscriber gets it (no id, uncached), /messages and poll=1 do not have it, ntfy's live stream gives it an id of ntfy's kind and no expires", async () => {
    const seen = on("uncached").length;
    let reply: Json = {};
    const text = await streamText(`${web.url}/uncached/json`, async () => {
      const r = await curl("-H", "Cache: no", "-H", "Title: Now only", "-d", "not kept", `${web.url}/uncached`);
      expect(r.status).toBe(200);
      reply = JSON.parse(r.body) as Json;
    }, (t) => t.includes("not kept"));
    expect(reply.id).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(reply.expires).toBeUndefined();
    const live = text.trim().split("\n").map((l) => JSON.parse(l) as Json).find((m) => m.message === "not kept")!;
    expect(live.id).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(live.expires).toBeUndefined();
    expect(await nextOn("uncached", seen)).toEqual({ id: "", time: expect.any(Number), channel: "uncached", message: "not kept", title: "Now only", source: "http", uncached: true });
    expect((await history("uncached")).some((e) => e.message === "not kept")).toBe(false);
    expect((await curl(`${web.url}/uncached/json?poll=1&since=all`)).body).not.toContain("not kept");
  });

  test("the app's stream (/events): once, with no id: line (so a reconnect's Last-Event-ID stays a stream ID), and never replayed", async () => {
    let kept = "";
    const text = await streamText(`${web.url}/events?channel=uncached`, async () => {
      kept = (JSON.parse((await curl("-d", "kept before", `${web.url}/uncached`)).body) as Json).id as string;
      expect((await curl("-H", "X-Cache: no", "-d", "app sees this once", `${web.url}/uncached`)).status).toBe(200);
      expect((await curl("-d", "kept after", `${web.url}/uncached`)).status).toBe(200);
    }, (t) => t.includes("kept after"));
    expect(text.split("app sees this once").length - 1).toBe(1);
    const frame = text.split("\n\n").find((f) => f.includes("app sees this once"))!;
    expect(frame.split("\n").some((l) => l.startsWith("id:"))).toBe(false);
    // Reconnecting from the message before it: history has the one after, not the uncached one.
    const again = await streamText(`${web.url}/events?channel=uncached`, async () => {}, (t) => t.includes("kept after"), { "last-event-id": kept });
    expect(again).not.toContain("app sees this once");
  });

  for (const kind of ["RESP", "--url"] as const) {
    test(`the notistream client (${kind}) shows it exactly once, with its fields, and a restart's catch-up does not show it again`, async () => {
      const channel = kind === "RESP" ? "desk" : "desk-url";
      const state = tempPath(`state-${channel}.json`);
      const where = kind === "RESP" ? ["--host", "127.0.0.1", "--port", String(pubsub.port)] : ["--url", web.url];
      const args = ["--json", "--config", tempPath("none.json"), "--state", state, ...where, "--channels", channel];
      const shown = (out: string, text: string) => out.split("\n").filter((l) => l.startsWith("{") && (JSON.parse(l) as Json).message === text);
      const c = startClient(args);
      await until("subscribed", () => c.out().includes(`subscribed to ${channel}`) || c.out().includes(channel), 15_000);
      await Bun.sleep(300);
      expect((await curl("-d", "one", `${web.url}/${channel}`)).status).toBe(200);
      await until("the first message", () => shown(c.out(), "one").length === 1);
      expect((await curl("-H", "Cache: no", "-H", "Priority: 5", "-d", "live only", `${web.url}/${channel}`)).status).toBe(200);
      expect((await curl("-d", "three", `${web.url}/${channel}`)).status).toBe(200);
      await until("the third message", () => shown(c.out(), "three").length === 1);
      expect(shown(c.out(), "live only")).toHaveLength(1);
      expect(JSON.parse(shown(c.out(), "live only")[0]!)).toMatchObject({ message: "live only", priority: 5 });
      c.proc.kill("SIGTERM");
      await c.proc.exited;
      // Started again from the same state, after one more: catch-up brings "four", never the uncached one.
      expect((await curl("-d", "four", `${web.url}/${channel}`)).status).toBe(200);
      const again = startClient(args);
      await until("caught up", () => shown(again.out(), "four").length === 1, 15_000);
      await Bun.sleep(300);
      expect(shown(again.out(), "live only")).toHaveLength(0);
      expect(shown(again.out(), "three")).toHaveLength(0);
    });
  }
});
