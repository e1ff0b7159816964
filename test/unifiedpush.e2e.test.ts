// test/unifiedpush.e2e.test.ts — UnifiedPush on real servers: discovery, a Web Push body encrypted as Mastodon
// encrypts it (the web-push package, aes128gcm, VAPID) published to an up… topic and read back byte for byte through
// ntfy's /json (base64) and over RESP, the Matrix push gateway taking a Synapse-shaped push and rejecting a foreign
// pushkey, the gateway without --base-url, and the ACL lines docs/security.md gives for UnifiedPush, loaded as written.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import webpush from "web-push";
import { ROOT, Subscriber, startPubSub, startWebServer, tempPath, until, type Running } from "./helpers";
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

describe("the Matrix push gateway (server_matrix.go)", () => {
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
  beforeAll(async () => {
    // The block after <!-- unifiedpush-acl --> in the security page, only the placeholder hash replaced.
    const page = readFileSync(`${ROOT}docs/security.md`, "utf8");
    const block = /<!-- unifiedpush-acl -->\s*```[a-z]*\n([\s\S]*?)```/.exec(page)?.[1];
    expect(block).toBeDefined();
    const hash = createHash("sha256").update(PASSWORD).digest("hex");
    const file = tempPath("unifiedpush.acl");
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
  let pushing: Running & { url: string };
  beforeAll(async () => {
    service = startPushService();
    pushing = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--base-url", BASE, "--push-endpoints", service.origin, "--push-contact", "mailto:ops@example.com"]);
  });
  afterAll(async () => {
    service?.stop();
    await pushing?.stop();
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
  });
});
