// test/unifiedpush.e2e.test.ts — UnifiedPush on real servers: discovery, a Web Push body encrypted as Mastodon
// encrypts it (the web-push package, aes128gcm, VAPID) published to an up… topic and read back byte for byte through
// ntfy's /json (base64) and over RESP, the Matrix push gateway taking a Synapse-shaped push and rejecting a foreign
// pushkey, the gateway without --base-url, and the ACL lines docs/security.md gives for UnifiedPush, loaded as written.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import webpush from "web-push";
import { ROOT, Raw, Subscriber, startPubSub, startWebServer, tempPath, until, type Running } from "./helpers";
import { decryptPush, makeSubscription, startPushService } from "./pushservice";

const BASE = "https://push.example.test";
const TOPIC = "upAbCdEf123456"; // what the ntfy Android app hands an app: up and 12 characters (up/BroadcastReceiver.kt)
const MATRIX_TOPIC = "upMatrix_98765";
const VAPID = webpush.generateVAPIDKeys();

let pubsub: Running;
let web: Running & { url: string };
let sub: Subscriber;

beforeAll(async () => {
  pubsub = await startPubSub();
  web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--base-url", BASE]);
  sub = await Subscriber.open(pubsub.port, [TOPIC, MATRIX_TOPIC, "alerts"]);
});
afterAll(async () => {
  sub?.close();
  await web?.stop();
  await pubsub?.stop();
});

type Envelope = { id: string; channel: string; message: string; encoding?: string };
const on = (channel: string): Envelope[] => sub.messages.filter((m) => m.channel === channel).map((m) => JSON.parse(m.payload) as Envelope);
async function nextOn(channel: string, seen: number): Promise<Envelope> {
  await until(`a message on ${channel}`, () => on(channel).length > seen, 10_000);
  return on(channel)[seen]!;
}
/** ntfy's /json?poll=1 lines for a topic (what the Android app reads), parsed. */
async function poll(url: string, topic: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>[]> {
  const r = await fetch(`${url}/${topic}/json?poll=1`, { headers });
  expect(r.status).toBe(200);
  return (await r.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A push as Mastodon's WebPush sender makes it: aes128gcm for the phone's keys, VAPID, TTL and Urgency. */
function mastodonPush(endpoint: string, payload: string) {
  const phone = makeSubscription(endpoint);
  const details = webpush.generateRequestDetails(phone.json, payload, {
    vapidDetails: { subject: "mailto:admin@mastodon.example", publicKey: VAPID.publicKey, privateKey: VAPID.privateKey },
    contentEncoding: "aes128gcm",
    TTL: 172_800,
    urgency: "normal",
  });
  return { phone, headers: details.headers as Record<string, string>, body: new Uint8Array(details.body as Buffer) };
}

describe("discovery (server.go handleTopic, handleMatrixDiscovery)", () => {
  // server_test.go TestServer_UnifiedPushDiscovery: the exact body with its newline.
  test("GET /<topic>?up=1 answers {\"unifiedpush\":{\"version\":1}}; without up=1 the page is still a 404", async () => {
    const asked: { q: string; h: Record<string, string> }[] = [{ q: "?up=1", h: {} }, { q: "", h: { "X-UnifiedPush": "1" } }];
    for (const init of asked) {
      const r = await fetch(`${web.url}/${TOPIC}${init.q}`, { headers: init.h });
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("application/json");
      expect(await r.text()).toBe('{"unifiedpush":{"version":1}}\n');
    }
    expect((await fetch(`${web.url}/${TOPIC}`)).status).toBe(404);
  });
  // server_test.go TestServer_MatrixGateway_Discovery_Success.
  test("GET /_matrix/push/v1/notify answers {\"unifiedpush\":{\"gateway\":\"matrix\"}}", async () => {
    const r = await fetch(`${web.url}/_matrix/push/v1/notify`);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('{"unifiedpush":{"gateway":"matrix"}}\n');
  });
});

describe("a Web Push body, encrypted as Mastodon encrypts it", () => {
  test("is published byte for byte to the up… topic: 200 and base64 in the answer, /json and RESP; the phone decrypts it", async () => {
    const seen = on(TOPIC).length;
    const notification = JSON.stringify({ access_token: "x", preferred_locale: "en", notification_id: 42, notification_type: "mention", icon: "https://m.example/a.png", title: "You were mentioned by @alice", body: "hello 👋" });
    const push = mastodonPush(`${web.url}/${TOPIC}?up=1`, notification);
    expect(push.headers["Content-Encoding"]).toBe("aes128gcm");
    expect(push.headers.Authorization).toMatch(/^vapid t=/);
    const r = await fetch(`${web.url}/${TOPIC}?up=1`, { method: "POST", headers: push.headers, body: push.body });
    // ntfy answers 200 and its message JSON (handlePublish); Mastodon takes any 2xx as delivered.
    expect(r.status).toBe(200);
    const answered = (await r.json()) as { topic: string; message: string; encoding: string; event: string };
    expect(answered).toMatchObject({ topic: TOPIC, event: "message", encoding: "base64" });
    expect(new Uint8Array(Buffer.from(answered.message, "base64"))).toEqual(push.body);
    const polled = (await poll(web.url, TOPIC)).at(-1)!;
    expect(polled.encoding).toBe("base64");
    expect(new Uint8Array(Buffer.from(polled.message as string, "base64"))).toEqual(push.body);
    const resp = await nextOn(TOPIC, seen);
    expect(resp.encoding).toBe("base64");
    const bytes = new Uint8Array(Buffer.from(resp.message, "base64"));
    expect(bytes).toEqual(push.body);
    // The server kept ciphertext only; the phone's keys open it.
    expect(resp.message).not.toContain("mentioned");
    expect(decryptPush(bytes, push.phone)).toBe(notification);
  });
  test("without up=1 too: Content-Encoding: aes128gcm says it (parsePublishParams), and so does the up… topic", async () => {
    const seen = on(TOPIC).length;
    const push = mastodonPush(`${web.url}/${TOPIC}`, "second");
    expect((await fetch(`${web.url}/${TOPIC}`, { method: "POST", headers: push.headers, body: push.body })).status).toBe(200);
    const binary = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff]);
    expect((await fetch(`${web.url}/${TOPIC}`, { method: "PUT", body: binary })).status).toBe(200);
    expect(new Uint8Array(Buffer.from((await nextOn(TOPIC, seen)).message, "base64"))).toEqual(push.body);
    expect(new Uint8Array(Buffer.from((await nextOn(TOPIC, seen + 1)).message, "base64"))).toEqual(binary);
  });
  // server_test.go TestServer_PublishUnifiedPushBinary_Truncated: 5000 random bytes come back as their first 4096.
  test("a binary body past ntfy's 4096 bytes is cut to them, as ntfy truncates", async () => {
    const big = new Uint8Array(5000).map((_, i) => (i * 31 + 0x81) & 0xff);
    const r = await fetch(`${web.url}/alerts?up=1`, { method: "PUT", body: big });
    expect(r.status).toBe(200);
    const m = (await r.json()) as { message: string; encoding: string };
    expect(m.encoding).toBe("base64");
    expect(new Uint8Array(Buffer.from(m.message, "base64"))).toEqual(big.subarray(0, 4096));
  });
});

// Synapse's HTTP pusher's request (synapse/push/httppusher.py dispatch_push), as the push gateway API defines it.
const synapse = (pushkey: string) =>
  JSON.stringify({
    notification: {
      event_id: "$3957tyerfgewrf384",
      room_id: "!slw48wfj34rtnrf:example.org",
      counts: { unread: 2 },
      prio: "high",
      devices: [{ app_id: "im.vector.app.android", pushkey, pushkey_ts: 1_700_000_000, data: { url: `${BASE}/_matrix/push/v1/notify`, format: "event_id_only" }, tweaks: {} }],
    },
  });

describe("the Matrix push gateway (server_matrix.go)", () => {
  test("a push for a pushkey under --base-url is published whole to its topic; the answer is {\"rejected\":[]}", async () => {
    const seen = on(MATRIX_TOPIC).length;
    const body = synapse(`${BASE}/${MATRIX_TOPIC}?up=1`);
    const r = await fetch(`${web.url}/_matrix/push/v1/notify`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('{"rejected":[]}\n');
    const m = await nextOn(MATRIX_TOPIC, seen);
    expect(m.message).toBe(body);
    expect(m.encoding).toBeUndefined();
    expect((await poll(web.url, MATRIX_TOPIC)).at(-1)!.message).toBe(body);
  });
  // server_test.go TestServer_MatrixGateway_Push_Failure_InvalidPushkey: 200, the pushkey rejected, nothing published.
  test("a pushkey of another server is rejected, 200 {\"rejected\":[pushkey]}, and nothing is published", async () => {
    const seen = on(MATRIX_TOPIC).length;
    const foreign = `https://ntfy.other.example/${MATRIX_TOPIC}?up=1`;
    const r = await fetch(`${web.url}/_matrix/push/v1/notify`, { method: "POST", body: synapse(foreign) });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe(`{"rejected":[${JSON.stringify(foreign)}]}\n`);
    const marker = synapse(`${BASE}/${MATRIX_TOPIC}?up=1`).replace("$3957", "$marker");
    expect((await fetch(`${web.url}/_matrix/push/v1/notify`, { method: "POST", body: marker })).status).toBe(200);
    expect((await nextOn(MATRIX_TOPIC, seen)).message).toBe(marker);
  });
  // server_test.go TestServer_MatrixGateway_Push_Failure_EverythingIsWrong: 400, 40019.
  test("a body that is not Synapse's notification is ntfy's 40019", async () => {
    for (const body of ['{"message":"this is not really a Matrix message"}', "this isn't even JSON'"]) {
      const r = await fetch(`${web.url}/_matrix/push/v1/notify`, { method: "POST", body });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { code: number }).code).toBe(40019);
    }
  });
});

// server_test.go TestServer_MatrixGateway_Discovery_Failure_Unconfigured, _Push_Failure_Unconfigured: 500, 50003.
describe("the gateway without --base-url", () => {
  let bare: Running & { url: string };
  beforeAll(async () => {
    bare = await startWebServer(`redis://127.0.0.1:${pubsub.port}`);
  });
  afterAll(async () => {
    await bare?.stop();
  });
  test("GET and POST /_matrix/push/v1/notify are ntfy's 500 (50003), naming --base-url", async () => {
    for (const init of [{ method: "GET" }, { method: "POST", body: '{"notification":{"devices":[{"pushkey":"http://127.0.0.1:12345/mytopic?up=1"}]}}' }]) {
      const r = await fetch(`${bare.url}/_matrix/push/v1/notify`, init);
      expect(r.status).toBe(500);
      const e = (await r.json()) as { code: number; error: string };
      expect(e.code).toBe(50003);
      expect(e.error).toContain("--base-url");
    }
  });
});

describe("the ACL lines docs/security.md gives for UnifiedPush, as written", () => {
  let guarded: Running & { url: string };
  const PASSWORD = "phone-secret-pw";
  const phone = { authorization: `Basic ${Buffer.from(`phone:${PASSWORD}`).toString("base64")}` };
  const file = tempPath("unifiedpush.acl");
  beforeAll(async () => {
    // The block after <!-- unifiedpush-acl --> in the security page, only the placeholder hash replaced.
    const page = readFileSync(`${ROOT}docs/security.md`, "utf8");
    const block = /<!-- unifiedpush-acl -->\s*```[a-z]*\n([\s\S]*?)```/.exec(page)?.[1];
    expect(block).toBeDefined();
    const hash = createHash("sha256").update(PASSWORD).digest("hex");
    writeFileSync(file, block!.replace(/#0{63}\d/g, `#${hash}`));
    guarded = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--base-url", BASE, "--acl", file]);
  });
  afterAll(async () => {
    await guarded?.stop();
  });
  test("anyone may push to an up… topic (Mastodon with its vapid Authorization, Synapse through the gateway)", async () => {
    const push = mastodonPush(`${guarded.url}/${TOPIC}?up=1`, "guarded");
    expect((await fetch(`${guarded.url}/${TOPIC}?up=1`, { method: "POST", headers: push.headers, body: push.body })).status).toBe(200);
    const r = await fetch(`${guarded.url}/_matrix/push/v1/notify`, { method: "POST", body: JSON.stringify({ notification: { devices: [{ pushkey: `${BASE}/${MATRIX_TOPIC}?up=1` }] } }) });
    expect(await r.text()).toBe('{"rejected":[]}\n');
  });
  test("with --visitor-subscriber-rate-limiting, the phone's user (who only reads) holds its topic, as ntfy's Authorize counts everyone's write grant", async () => {
    // server.go maybeSetRateVisitors: with access control, the subscriber counts if it may write the topic; ntfy's
    // user.Manager.Authorize includes the grants to everyone, and these lines let anonymous publish to up… topics.
    const strict = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--base-url", BASE, "--acl", file, "--visitor-subscriber-rate-limiting"]);
    try {
      const topic = "upPhoneHeld123";
      expect((await fetch(`${strict.url}/${topic}?up=1`, { method: "POST", body: "before" })).status).toBe(507);
      expect((await fetch(`${strict.url}/${topic}/json?poll=1`)).status).toBe(401); // anonymous may not read, so cannot hold it
      expect((await fetch(`${strict.url}/${topic}?up=1`, { method: "POST", body: "still" })).status).toBe(507);
      expect((await fetch(`${strict.url}/${topic}/json?poll=1`, { headers: phone })).status).toBe(200);
      expect((await fetch(`${strict.url}/${topic}?up=1`, { method: "POST", body: "after" })).status).toBe(200);
    } finally {
      await strict.stop();
    }
  });
  test("nothing else is open: anonymous may not publish elsewhere, nor read up… topics; the phone's user reads them", async () => {
    expect((await fetch(`${guarded.url}/alerts`, { method: "POST", body: "x" })).status).toBe(401);
    expect((await fetch(`${guarded.url}/updates-channel?up=1`, { method: "POST", body: "x" })).status).toBe(401);
    const viaGateway = await fetch(`${guarded.url}/_matrix/push/v1/notify`, { method: "POST", body: JSON.stringify({ notification: { devices: [{ pushkey: `${BASE}/alerts?up=1` }] } }) });
    expect(viaGateway.status).toBe(401);
    expect(((await viaGateway.json()) as { code: number }).code).toBe(40101);
    expect((await fetch(`${guarded.url}/${TOPIC}/json?poll=1`)).status).toBe(401);
    expect((await fetch(`${guarded.url}/alerts/json?poll=1`, { headers: phone })).status).toBe(403);
    const read = await poll(guarded.url, TOPIC, phone);
    expect(read.some((m) => m.encoding === "base64")).toBe(true);
  });
});

describe("our own Web Push beside UnifiedPush", () => {
  let service: ReturnType<typeof startPushService>;
  let own: Running;
  let pushing: Running & { url: string };
  beforeAll(async () => {
    service = startPushService();
    // A pub/sub server of its own: every web server on one pub/sub server shares its push subscriptions and claims each
    // message once, so the file's other web server (another VAPID key, this push service not allowed) could claim it.
    own = await startPubSub();
    pushing = await startWebServer(`redis://127.0.0.1:${own.port}`, ["--base-url", BASE, "--push-endpoints", service.origin, "--push-contact", "mailto:ops@example.com"]);
  });
  afterAll(async () => {
    service?.stop();
    await pushing?.stop();
    await own?.stop();
  });
  test("a browser watching an up… topic is not pushed its ciphertext (encoding base64); its text messages still are", async () => {
    const browser = makeSubscription(`${service.origin}/push/browser`);
    const channel = "upBrowser_1234";
    const r = await fetch(`${pushing.url}/push/subscribe`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ subscription: browser.json, channels: [channel] }) });
    expect(r.status).toBeLessThan(300);
    const push = mastodonPush(`${pushing.url}/${channel}?up=1`, "ciphertext for Tusky");
    expect((await fetch(`${pushing.url}/${channel}?up=1`, { method: "POST", headers: push.headers, body: push.body })).status).toBe(200);
    expect((await fetch(`${pushing.url}/${channel}`, { method: "POST", body: "readable marker" })).status).toBe(200);
    await until("the marker's push", () => service.received.length >= 1, 10_000);
    await Bun.sleep(300); // anything pushed for the first message would have come before the marker's (pushes go in order per channel)
    expect(service.received.map((x) => (JSON.parse(decryptPush(x.body, browser)) as { message: string }).message)).toEqual(["readable marker"]);
  }, 20_000); // its waits (10 s for the push) need more than bun's 5 s default under a loaded machine
});

describe("--visitor-subscriber-rate-limiting: ntfy's 507 for a UnifiedPush topic nobody subscribed to", () => {
  // server.go handlePublishInternal: `unifiedpush && s.config.VisitorSubscriberRateLimiting && t.RateVisitor() == nil`
  // is errHTTPInsufficientStorageUnifiedPush (errors.go: 50701, 507); handleSubscribeHTTP's maybeSetRateVisitors makes
  // the subscriber the topic's rate visitor. Two web servers share the record through the pub/sub server.
  let ps: Running;
  let a: Running & { url: string };
  let b: Running & { url: string };
  let resp: Subscriber;
  const FRESH = "upFresh_abc123";
  const NEVER = "upNeverSub1234";
  const GONE = "upLongGone1234";
  beforeAll(async () => {
    ps = await startPubSub();
    const flags = ["--base-url", BASE, "--visitor-subscriber-rate-limiting"];
    a = await startWebServer(`redis://127.0.0.1:${ps.port}`, flags);
    b = await startWebServer(`redis://127.0.0.1:${ps.port}`, [], { NOTISTREAM_BASE_URL: BASE, NOTISTREAM_VISITOR_SUBSCRIBER_RATE_LIMITING: "true" });
    resp = await Subscriber.open(ps.port, [FRESH, NEVER, GONE]);
  });
  afterAll(async () => {
    resp?.close();
    await a?.stop();
    await b?.stop();
    await ps?.stop();
  });
  const got = (channel: string) => resp.messages.filter((m) => m.channel === channel).map((m) => JSON.parse(m.payload) as Envelope);
  const push = (url: string, topic: string, body: string) => fetch(`${url}/${topic}?up=1`, { method: "POST", body });

  test("the start-up log says so", async () => {
    // The line may come just after the one that says the server listens: waited for, not read at once.
    await until("both start-up lines", () => a.output().includes("--visitor-subscriber-rate-limiting") && b.output().includes("--visitor-subscriber-rate-limiting"), 10_000);
    expect(a.output()).toContain("--visitor-subscriber-rate-limiting");
    expect(b.output()).toContain("--visitor-subscriber-rate-limiting");
  });

  test("a push to a fresh up… topic is 507 (50701) and publishes nothing; after a /json subscription on one web server, a push through the other is 200 and arrives", async () => {
    const refused = await push(a.url, FRESH, "refused push");
    expect(refused.status).toBe(507);
    const err = (await refused.json()) as { code: number; http: number; error: string };
    expect(err.code).toBe(50701);
    expect(err.http).toBe(507);
    expect(err.error).toStartWith("cannot publish to UnifiedPush topic without previously active subscriber");
    expect((await push(b.url, FRESH, "refused too")).status).toBe(507);

    // The phone's distributor subscribes (ntfy's Android app reads /<topic>/json) on server a.
    const stop = new AbortController();
    const stream = await fetch(`${a.url}/${FRESH}/json`, { signal: stop.signal });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    let text = "";
    const readUntil = async (what: string) => {
      while (!text.includes(what)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before ${what}: ${text}`);
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil('"event":"open"');
    try {
      const ok = await push(b.url, FRESH, "accepted push");
      expect(ok.status).toBe(200);
      await readUntil("accepted push");
      await until("the push over RESP", () => got(FRESH).length >= 1, 10_000);
      // The refused pushes were never published: the first message the channel ever carried is the accepted one.
      expect(got(FRESH).map((m) => m.message)).toEqual(["accepted push"]);
      expect(text).not.toContain("refused");
    } finally {
      stop.abort();
    }
  });

  test("a plain publish to an up… topic (no up=1, no aes128gcm) is not UnifiedPush's in ntfy's check, and goes through", async () => {
    // parsePublishParams: unifiedpush is only up=1 / X-UnifiedPush or Content-Encoding: aes128gcm.
    const r = await fetch(`${a.url}/${NEVER}`, { method: "POST", body: "plain text" });
    expect(r.status).toBe(200);
  });

  test("the Matrix gateway: a never-subscribed topic keeps the 507; one whose subscriber is gone past a day gets {\"rejected\":[pushkey]}", async () => {
    // server.go handlePublishMatrix: the 507 becomes writeMatrixResponse(pushKey) only when the topic was last accessed
    // over 12 h ago (matrixRejectPushKeyForUnifiedPushTopicWithoutRateVisitorAfter); a topic never seen is new.
    const never = await fetch(`${a.url}/_matrix/push/v1/notify`, { method: "POST", body: synapse(`${BASE}/${NEVER}?up=1`) });
    expect(never.status).toBe(507);
    expect(((await never.json()) as { code: number }).code).toBe(50701);

    // A subscriber last seen 25 hours ago: its record, written as a web server writes it, with an old ID.
    const raw = await Raw.open(ps.port);
    raw.command("XADD", `notistream-push:up-subscriber:${GONE}`, "MAXLEN", "1", `${Date.now() - 25 * 3600_000}-0`, "seen", "1");
    await raw.reply();
    raw.close();
    const pushkey = `${BASE}/${GONE}?up=1`;
    const gone = await fetch(`${b.url}/_matrix/push/v1/notify`, { method: "POST", body: synapse(pushkey) });
    expect(gone.status).toBe(200);
    expect(await gone.text()).toBe(`${JSON.stringify({ rejected: [pushkey] })}\n`);
    // And a plain UnifiedPush push there is the 507 (a day without a subscriber).
    expect((await push(a.url, GONE, "late")).status).toBe(507);

    // Once the phone subscribes again (poll=1 counts too, as maybeSetRateVisitors runs before the poll), the gateway publishes.
    expect((await fetch(`${a.url}/${GONE}/json?poll=1`)).status).toBe(200);
    const back = await fetch(`${b.url}/_matrix/push/v1/notify`, { method: "POST", body: synapse(pushkey) });
    expect(await back.text()).toBe('{"rejected":[]}\n');
    await until("the gateway's push over RESP", () => got(GONE).length >= 1, 10_000);
    expect(got(NEVER).map((m) => m.message)).toEqual(["plain text"]);
  });

  test("/metrics counts UnifiedPush messages and the gateway's pushes by result (server_metrics.go)", async () => {
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    expect(metrics).toMatch(/^notistream_unifiedpush_published_total 2$/m); // the accepted push and the gateway's last
    expect(metrics).toMatch(/^notistream_matrix_pushes_total\{result="rejected"\} 1$/m);
    expect(metrics).toMatch(/^notistream_matrix_pushes_total\{result="accepted"\} 1$/m);
    const onA = await (await fetch(`${a.url}/metrics`)).text();
    expect(onA).toMatch(/^notistream_matrix_pushes_total\{result="failed"\} 1$/m);
  });
});

describe("without --visitor-subscriber-rate-limiting (the default, as ntfy's)", () => {
  test("a UnifiedPush push to an up… topic nobody ever subscribed to is published (no 507)", async () => {
    const r = await fetch(`${web.url}/upNobody_98765?up=1`, { method: "POST", body: "no subscriber needed" });
    expect(r.status).toBe(200);
  });
});
