// test/scheduled.e2e.test.ts — scheduled delivery and e-mail through real processes (our pub/sub server, Redis, web
// servers, an SMTP sink): the dead man's switch (postponed three times, cancelled: nothing delivered), a message that
// runs out arriving once, across a kill of the web server, a restart of the pub/sub server and with two web servers;
// ntfy's errors (server.go parsePublishParams: 40001-40006) and scheduled=1 (sendOldMessages). The sequence ID and
// DELETE /<topic>/<sid> are ntfy v2.16's (docs/publish.md "Updating + deleting notifications", cited in
// shared/reference/ntfy-gotify-wire.md §2.4: publishing with a still-scheduled message's sequence ID replaces it,
// DELETE cancels it). No timing assertion: each wait is until() the event, and counts are checked after a later marker
// has arrived (the loop delivers in due order, so anything due before the marker would have come first).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Subscriber, freePort, needs, spawnPubSubAt, startRedis, startWebServer, tempPath, until, waitForPort, type Running } from "./helpers";
import { SmtpSink } from "./smtpsink";
import { CLUSTER_NEEDS, startCluster, type Cluster } from "./cluster";
import type { Subprocess } from "bun";

type Env = { id: string; event?: string; time: number; channel: string; message: string; sequence_id?: string; scheduled?: true };
type Web = Running & { url: string };

let pubsubPort: number;
const pubsubData = tempPath("sched.db");
let pubsub: Subprocess;
let web: Web;
let sub: Subscriber;
const webs: Web[] = [];

const startWeb = async (args: string[] = []): Promise<Web> => {
  const w = await startWebServer(`redis://127.0.0.1:${pubsubPort}`, args);
  webs.push(w);
  return w;
};

beforeAll(async () => {
  pubsubPort = await freePort();
  pubsub = spawnPubSubAt(pubsubPort, pubsubData);
  await waitForPort(pubsubPort);
  web = await startWeb();
  sub = await Subscriber.open(pubsubPort, ["dms", "once", "twice"]);
}, 30_000);
afterAll(async () => {
  sub?.close();
  for (const w of webs) await w.stop();
  pubsub?.kill();
});

/** Publishes ntfy's way; returns the status and the JSON answer. */
async function publish(base: string, channel: string, body: string, headers: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${base}/${channel}`, { method: "POST", body, headers });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

/** The channel's history and, marked, its scheduled messages (GET /messages?scheduled=1). */
async function messages(base: string, channel: string): Promise<Env[]> {
  return (await (await fetch(`${base}/messages?channel=${channel}&limit=1000&scheduled=1`)).json()) as Env[];
}
const delivered = async (base: string, channel: string, text: string) => (await messages(base, channel)).filter((m) => !m.scheduled && m.message === text);
const live = (channel: string, text: string) => sub.messages.filter((m) => m.channel === channel && (JSON.parse(m.payload) as Env).message === text);

/** Waits until `text` is in the channel's history, polling /messages. */
async function arrives(base: string, channel: string, text: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while ((await delivered(base, channel, text).catch(() => [])).length === 0) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${JSON.stringify(text)} on ${channel}`);
    await Bun.sleep(200);
  }
}

/** The first `count` lines of an ntfy JSON stream, then the stream is closed. */
async function streamLines(url: string, count: number): Promise<Env[]> {
  const controller = new AbortController();
  const r = await fetch(url, { signal: controller.signal });
  const reader = r.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (text.split("\n").filter(Boolean).length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    controller.abort();
  }
  return text.split("\n").filter(Boolean).slice(0, count).map((l) => JSON.parse(l) as Env);
}

describe("the dead man's switch (ntfy v2.16: the same sequence ID replaces a scheduled message, DELETE cancels it)", () => {
  test("scheduled 15 s ahead, postponed three times by publishing again, then cancelled: nothing is delivered", async () => {
    const before = Math.floor(Date.now() / 1000);
    const first = await publish(web.url, "dms", "still alive 1", { "X-Delay": "15s", "X-Sequence-ID": "heartbeat" });
    expect(first.status).toBe(200);
    // ntfy's reply: the message JSON, its time the due second (handlePublish: m.Time = delay.Unix()).
    expect(first.json).toMatchObject({ id: "heartbeat", event: "message", topic: "dms", message: "still alive 1" });
    expect(first.json.time as number).toBeGreaterThanOrEqual(before + 15);
    for (const n of [2, 3, 4]) expect((await publish(web.url, "dms", `still alive ${n}`, { "X-Delay": "15s", "X-Sequence-ID": "heartbeat" })).status).toBe(200);
    // One is kept: the last. ntfy's poll with scheduled=1 lists it with its future time; without, nothing.
    const listed = (await messages(web.url, "dms")).filter((m) => m.scheduled);
    expect(listed.map((m) => m.message)).toEqual(["still alive 4"]);
    expect(listed[0]!.id).toBe("heartbeat");
    const poll = (await (await fetch(`${web.url}/dms/json?poll=1&scheduled=1`)).text()).trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Env);
    expect(poll.map((m) => [m.id, m.message])).toEqual([["heartbeat", "still alive 4"]]);
    expect(poll[0]!.time).toBeGreaterThan(Math.floor(Date.now() / 1000));
    expect(await (await fetch(`${web.url}/dms/json?poll=1`)).text()).toBe("");
    // A stream (no poll) with scheduled=1 lists it too, after the open event and the cached ones (sendOldMessages).
    expect((await streamLines(`${web.url}/dms/json?scheduled=1&since=all`, 2)).map((m) => [m.event, m.id, m.message])).toEqual([
      ["open", expect.any(String), undefined],
      ["message", "heartbeat", "still alive 4"],
    ]);
    // Cancelled: DELETE /<topic>/<sid> publishes its message_delete and takes the scheduled one away.
    const del = await fetch(`${web.url}/dms/heartbeat`, { method: "DELETE" });
    expect(del.status).toBe(200);
    expect((await messages(web.url, "dms")).filter((m) => m.scheduled)).toEqual([]);
    // A marker due after every one of them: once it is here, none of them came, live or in history.
    expect((await publish(web.url, "dms", "marker", { "X-Delay": "20s" })).status).toBe(200);
    await arrives(web.url, "dms", "marker");
    expect((await messages(web.url, "dms")).filter((m) => m.message.startsWith("still alive"))).toEqual([]);
    expect(sub.messages.filter((m) => m.channel === "dms" && m.payload.includes("still alive"))).toEqual([]);
  }, 90_000);
});

describe("a message that runs out arrives once", () => {
  test("on one web server: its time and stream ID are those of its delivery, and it carries its sequence ID", async () => {
    const r = await publish(web.url, "once", "ran out", { "X-Delay": "10s" });
    expect(r.status).toBe(200);
    const handle = r.json.id as string;
    await until("delivered live", () => live("once", "ran out").length === 1, 60_000);
    const env = JSON.parse(live("once", "ran out")[0]!.payload) as Env;
    expect(env.sequence_id).toBe(handle); // DELETE /once/<handle> would withdraw it now
    expect(Number(env.id.split("-")[0])).toBeGreaterThanOrEqual((r.json.time as number) * 1000);
    expect(env.time).toBeGreaterThanOrEqual(r.json.time as number);
    await afterMarkerOn(web.url, "once", "marker 1");
    expect(live("once", "ran out").length).toBe(1);
    expect((await delivered(web.url, "once", "ran out")).length).toBe(1);
  }, 90_000);

  test("across a kill -9 of the web server: the next one delivers it", async () => {
    expect((await publish(web.url, "once", "outlived the web server", { "X-Delay": "10s" })).status).toBe(200);
    web.proc.kill("SIGKILL");
    await web.proc.exited;
    web = await startWeb();
    await until("delivered live", () => live("once", "outlived the web server").length === 1, 60_000);
    await afterMarkerOn(web.url, "once", "marker 2");
    expect(live("once", "outlived the web server").length).toBe(1);
    expect((await delivered(web.url, "once", "outlived the web server")).length).toBe(1);
  }, 90_000);

  test("across a restart of the pub/sub server: kept on its disk, delivered once it is back", async () => {
    expect((await publish(web.url, "once", "outlived the pub/sub server", { "X-Delay": "10s" })).status).toBe(200);
    sub.close();
    pubsub.kill("SIGTERM");
    await pubsub.exited;
    pubsub = spawnPubSubAt(pubsubPort, pubsubData);
    await waitForPort(pubsubPort);
    sub = await Subscriber.open(pubsubPort, ["dms", "once", "twice"]);
    await arrives(web.url, "once", "outlived the pub/sub server");
    await afterMarkerOn(web.url, "once", "marker 3");
    expect((await delivered(web.url, "once", "outlived the pub/sub server")).length).toBe(1);
  }, 90_000);

  test("with two web servers, each loop running: delivered once", async () => {
    const other = await startWeb();
    for (let i = 1; i <= 5; i++) expect((await publish(i % 2 ? web.url : other.url, "twice", `one of five ${i}`, { "X-Delay": "10s" })).status).toBe(200);
    await until("all five live", () => [1, 2, 3, 4, 5].every((i) => live("twice", `one of five ${i}`).length > 0), 60_000);
    await afterMarkerOn(other.url, "twice", "marker 4");
    for (let i = 1; i <= 5; i++) {
      expect(live("twice", `one of five ${i}`).length).toBe(1);
      expect((await delivered(web.url, "twice", `one of five ${i}`)).length).toBe(1);
    }
  }, 90_000);
});

/** Schedules a marker 10 s ahead and waits until it is in history: anything due before it has been delivered by now. */
async function afterMarkerOn(base: string, channel: string, marker: string): Promise<void> {
  expect((await publish(base, channel, marker, { "X-Delay": "10s" })).status).toBe(200);
  await arrives(base, channel, marker);
}

describe("ntfy's errors for a delay and an e-mail (server.go parsePublishParams, errors.go)", () => {
  test("40004 unparsable, 40005 under 10 s, 40006 past --delay-limit, 40002 with Cache: no, 40001 e-mail without --smtp-url", async () => {
    const codes: [Record<string, string>, number][] = [
      [{ "X-Delay": "whenever" }, 40004],
      [{ "X-Delay": "5s" }, 40005],
      [{ In: "4d" }, 40006],
      [{ "X-Delay": "1h", "X-Cache": "no" }, 40002],
      [{ "X-Email": "phil@example.com" }, 40001],
      [{ "X-Email": "phil@example.com", "X-Delay": "1h" }, 40001],
    ];
    for (const [headers, code] of codes) {
      const r = await publish(web.url, "errors", "x", headers);
      expect([r.status, r.json.code]).toEqual([400, code]);
    }
    // Our POST /: the same fields, answered in our shape.
    const ours = await fetch(`${web.url}/`, { method: "POST", body: new URLSearchParams({ channel: "errors", message: "x", delay: "5s" }) });
    expect(ours.status).toBe(400);
    expect(((await ours.json()) as { error: string }).error).toContain('"5s" from "delay" in the request is due in 5 s; a scheduled message must be at least 10 s ahead');
    expect(await messages(web.url, "errors")).toEqual([]);
  });

  test("our POST / schedules too: the answer is ours, with the handle as its id, scheduled and the due time", async () => {
    const r = await fetch(`${web.url}/`, { method: "POST", body: new URLSearchParams({ channel: "ours", message: "later", delay: "1h" }) });
    const answer = (await r.json()) as Record<string, unknown>;
    expect(Object.keys(answer)).toEqual(["id", "channel", "receivers", "scheduled", "time"]);
    expect(answer).toMatchObject({ channel: "ours", receivers: 0, scheduled: true });
    expect((await messages(web.url, "ours")).map((m) => [m.id, m.message, m.scheduled])).toEqual([[answer.id as string, "later", true]]);
    expect((await fetch(`${web.url}/ours/${answer.id}`, { method: "DELETE" })).status).toBe(200);
    expect((await messages(web.url, "ours")).filter((m) => m.scheduled)).toEqual([]);
  });

  test("--delay-limit (and NOTISTREAM_DELAY_LIMIT) narrows it; a bad one stops the start with a sentence", async () => {
    const narrow = await startWeb(["--delay-limit", "1m"]);
    expect((await publish(narrow.url, "errors", "x", { "X-Delay": "2m" })).json.code).toBe(40006);
    expect((await publish(narrow.url, "errors", "x", { "X-Delay": "50s" })).status).toBe(200);
    expect(narrow.output()).toContain("may be due up to 1m ahead (--delay-limit)");
    const bad = Bun.spawn([process.execPath, "web.ts", "--port", "0", "--redis", `redis://127.0.0.1:${pubsubPort}`, "--data", tempPath("d")], { cwd: `${import.meta.dir}/..`, env: { ...process.env, NOTISTREAM_DELAY_LIMIT: "soon" }, stdout: "pipe", stderr: "pipe" });
    expect(await bad.exited).toBe(2);
    expect(await new Response(bad.stderr).text()).toContain('--delay-limit must be a duration of at least 10 s, such as 3d, 12h or 90m, got "soon"');
  }, 30_000);
});

describe("e-mail through --smtp-url (a real SMTP listener)", () => {
  test("X-Email mails the message as ntfy's formatMail shapes it; the publish answers at once", async () => {
    const sink = SmtpSink.start();
    try {
      const mailing = await startWeb(["--smtp-url", `smtp://alerts:pw@127.0.0.1:${sink.port}`, "--smtp-from", "alerts@example.com"]);
      const r = await publish(mailing.url, "mail", "Disk full on db1", { Title: "db1", Tags: "warning", Email: "phil@example.com" });
      expect(r.status).toBe(200);
      await until("the mail", () => sink.mails.length === 1);
      const mail = sink.mails[0]!;
      expect([mail.from, mail.to, mail.login]).toEqual(["alerts@example.com", ["phil@example.com"], "alerts:pw"]);
      expect(mail.data).toMatch(new RegExp(`^From: "127\\.0\\.0\\.1:${mailing.port}/mail" <alerts@example\\.com>$`, "m"));
      expect(mail.data).toMatch(/^Subject: db1$/m);
      const text = mail.data.replace(/=\r\n/g, ""); // quoted-printable's soft line breaks
      expect(text).toContain("Disk full on db1\r\n\r\nTags: warning\r\n\r\n--\r\nThis message was sent by 127.0.0.1 at ");
      expect(text).toContain(`via http://127.0.0.1:${mailing.port}/mail`);
      // Counted in /metrics once the SMTP server took it.
      for (let end = Date.now() + 10_000; !/^notistream_emails_sent_total 1$/m.test(await (await fetch(`${mailing.url}/metrics`)).text()); await Bun.sleep(100))
        if (Date.now() > end) throw new Error("notistream_emails_sent_total never reached 1");
      expect(await (await fetch(`${mailing.url}/metrics`)).text()).toMatch(/^notistream_scheduled_messages \d+$/m);
      // ntfy's web app offers an e-mail field where /v1/config says e-mails are on (server.go handleWebConfig: EnableEmails).
      expect(((await (await fetch(`${mailing.url}/v1/config`)).json()) as { enable_emails: boolean }).enable_emails).toBe(true);
      expect(((await (await fetch(`${web.url}/v1/config`)).json()) as { enable_emails: boolean }).enable_emails).toBe(false);
      // With a delay: ntfy's 40003 (it keeps no address for later).
      expect((await publish(mailing.url, "mail", "x", { Email: "phil@example.com", Delay: "1h" })).json.code).toBe(40003);
      // One address only.
      expect((await publish(mailing.url, "mail", "x", { Email: "a@example.com, b@example.com" })).json.code).toBe(40000);
      expect(mailing.output()).toContain(`e-mail notifications (X-Email) go out through smtp://alerts:***@127.0.0.1:${sink.port} from alerts@example.com`);
    } finally {
      sink.stop();
    }
  }, 30_000);
});

needs("redis-server").describe("on Redis (the store behind the web servers may be Redis)", () => {
  let redis: Running;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  test("scheduled, listed, replaced, and delivered once by one of two web servers", async () => {
    const a = await startWebServer(`redis://127.0.0.1:${redis.port}`);
    const b = await startWebServer(`redis://127.0.0.1:${redis.port}`);
    webs.push(a, b);
    const watch = await Subscriber.open(redis.port, ["redis-sched"]);
    try {
      expect((await publish(a.url, "redis-sched", "first", { "X-Delay": "10s", "X-Sequence-ID": "job" })).status).toBe(200);
      expect((await publish(b.url, "redis-sched", "second", { "X-Delay": "10s", "X-Sequence-ID": "job" })).status).toBe(200);
      expect((await messages(a.url, "redis-sched")).filter((m) => m.scheduled).map((m) => m.message)).toEqual(["second"]);
      await until("delivered", () => watch.messages.length >= 1, 60_000);
      await afterMarkerOn(b.url, "redis-sched", "marker");
      const texts = watch.messages.map((m) => (JSON.parse(m.payload) as Env).message);
      expect(texts).toEqual(["second", "marker"]);
    } finally {
      watch.close();
    }
  }, 90_000);
});

needs(...CLUSTER_NEEDS).describe("on a Redis Cluster (3 masters, 3 replicas: the pending stream and each claim are keys of their own slots)", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster();
  }, 90_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  test("two web servers given one node each: replaced, listed, and delivered once", async () => {
    const ports = await cluster.masters();
    const a = await startWebServer(`redis://127.0.0.1:${ports[0]}`);
    const b = await startWebServer(`redis://127.0.0.1:${ports[1]}`);
    webs.push(a, b);
    expect((await publish(a.url, "cluster-sched", "first", { "X-Delay": "10s", "X-Sequence-ID": "job" })).status).toBe(200);
    expect((await publish(b.url, "cluster-sched", "second", { "X-Delay": "10s", "X-Sequence-ID": "job" })).status).toBe(200);
    expect((await messages(b.url, "cluster-sched")).filter((m) => m.scheduled).map((m) => m.message)).toEqual(["second"]);
    await arrives(a.url, "cluster-sched", "second");
    await afterMarkerOn(b.url, "cluster-sched", "marker");
    const history = (await messages(a.url, "cluster-sched")).filter((m) => !m.scheduled).map((m) => m.message);
    expect(history).toEqual(["second", "marker"]);
  }, 120_000);
});
