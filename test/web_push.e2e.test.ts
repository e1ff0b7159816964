// test/web_push.e2e.test.ts — end to end: Web Push from real web servers to a push service written in the test, which
// decrypts every payload with the subscription's own keys and verifies the VAPID JWT. Exact and glob channels,
// messages published over RESP, 410 and 429, a restart, refused endpoints, unsubscribing, two web servers, HTTPS.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { BUN, ROOT, Raw, freePort, json, needs, post, publishOverHttp, run, startPubSub, startWebServer, tempPath, until, type Running } from "./helpers";
import { decryptPush, makeSubscription, startPushService, verifyVapid, type TestSubscription } from "./pushservice";
import { MAX_PAYLOAD } from "../web_pushpolicy";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
type Web = Running & { url: string };

let pubsub: Running;
let push: ReturnType<typeof startPushService>;
let web: Web;
const webData = tempPath("push-web-data");
const pushArgs = () => ["--push-endpoints", push.origin, "--push-contact", "mailto:ops@example.com", "--data", webData];

beforeAll(async () => {
  pubsub = await startPubSub();
  push = startPushService();
  web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, pushArgs());
});
afterAll(async () => {
  push?.stop();
  await web?.stop();
  await pubsub?.stop();
});

const subscribe = (base: string, sub: TestSubscription, channels: string[], headers: Record<string, string> = {}) =>
  post(`${base}/push/subscribe`, json({ subscription: sub.json, channels }), { headers });
/** Publishes as JSON through the web server, which must accept it. */
const publish = (base: string, fields: Record<string, string>) => publishOverHttp(base, json(fields));
let n = 0;
const newSub = () => makeSubscription(`${push.origin}/push/${++n}`);
const to = (sub: TestSubscription) => push.received.filter((r) => sub.json.endpoint.endsWith(r.path));

describe("Web Push", () => {
  test("GET /push/vapid gives the public key: an uncompressed P-256 point", async () => {
    const r = await fetch(`${web.url}/push/vapid`);
    expect(r.status).toBe(200);
    const key = Buffer.from(((await r.json()) as { publicKey: string }).publicKey, "base64url");
    expect(key.length).toBe(65);
    expect(key[0]).toBe(4);
  });

  test("a push per message: decrypted with the subscription's keys, VAPID signed with aud, exp and sub, Urgency and TTL set", async () => {
    const sub = newSub();
    expect((await subscribe(web.url, sub, ["alerts"])).status).toBe(201);
    const { id } = await publish(web.url, { channel: "alerts", message: "disk full", title: "Ops", priority: "4", url: "https://x.test/d" });
    await until("pushed", () => to(sub).length === 1, 10000);
    const r = to(sub)[0]!;
    expect(JSON.parse(decryptPush(r.body, sub))).toMatchObject({ id, channel: "alerts", message: "disk full", title: "Ops", priority: 4, url: "https://x.test/d" });
    expect(r.headers["content-encoding"]).toBe("aes128gcm");
    expect(r.headers.urgency).toBe("high");
    expect(Number(r.headers.ttl)).toBe(7 * 24 * 3600); // the pub/sub server's history age
    const { claims, key } = verifyVapid(r.headers.authorization ?? null);
    expect(key).toBe(((await (await fetch(`${web.url}/push/vapid`)).json()) as { publicKey: string }).publicKey);
    expect(claims.aud).toBe(push.origin);
    expect(claims.sub).toBe("mailto:ops@example.com");
    const now = Date.now() / 1000;
    expect(claims.exp).toBeGreaterThan(now);
    expect(claims.exp - now).toBeLessThanOrEqual(24 * 3600);
    // Priority 1 is low urgency.
    await publish(web.url, { channel: "alerts", message: "fyi", priority: "1" });
    await until("second push", () => to(sub).length === 2, 10000);
    expect(to(sub)[1]!.headers.urgency).toBe("low");
  }, 20000);

  test("a glob subscription, and messages published straight over RESP (an envelope, and plain text)", async () => {
    const sub = newSub();
    expect((await subscribe(web.url, sub, ["octo/*"])).status).toBe(201);
    await publish(web.url, { channel: "octo/hello", message: "via POST" });
    const raw = await Raw.open(pubsub.port);
    raw.send("PUBLISH octo/world 'plain over RESP'\r\n");
    await until("two pushes", () => to(sub).length === 2, 10000);
    raw.close();
    const got = to(sub).map((r) => JSON.parse(decryptPush(r.body, sub)) as { channel: string; message: string });
    expect(got.map((g) => [g.channel, g.message])).toEqual([
      ["octo/hello", "via POST"],
      ["octo/world", "plain over RESP"],
    ]);
  }, 20000);

  test("a 4.5 KB message is cut to fit with …, and marked so the app fetches it whole", async () => {
    const sub = newSub();
    await subscribe(web.url, sub, ["long"]);
    await publish(web.url, { channel: "long", message: "é".repeat(2300) });
    await until("pushed", () => to(sub).length === 1, 10000);
    const text = decryptPush(to(sub)[0]!.body, sub);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_PAYLOAD);
    const env = JSON.parse(text) as { message: string; truncated: boolean };
    expect(env.truncated).toBe(true);
    expect(env.message.endsWith("é…")).toBe(true);
  }, 20000);

  test("410 from the push service removes the subscription; 429 with Retry-After is retried once it allows", async () => {
    const gone = newSub();
    const busy = newSub();
    await subscribe(web.url, gone, ["status"]);
    await subscribe(web.url, busy, ["status"]);
    push.answer((r, nth) => (gone.json.endpoint.endsWith(r.path) ? { status: 410 } : busy.json.endpoint.endsWith(r.path) && nth === 1 ? { status: 429, headers: { "retry-after": "1" } } : { status: 201 }));
    await publish(web.url, { channel: "status", message: "one" });
    await until("the retry", () => to(busy).length === 2, 10000);
    expect(to(busy)[1]!.at - to(busy)[0]!.at).toBeGreaterThanOrEqual(900);
    expect(JSON.parse(decryptPush(to(busy)[1]!.body, busy)).message).toBe("one");
    await until("removed", () => to(gone).length === 1, 10000);
    await Bun.sleep(200);
    const metrics = await (await fetch(`${web.url}/metrics`)).text();
    expect(metrics).toMatch(/^notistream_push_removed_total [1-9]/m);
    await publish(web.url, { channel: "status", message: "two" });
    await until("busy got two", () => to(busy).length === 3, 10000);
    expect(to(gone).length).toBe(1); // not pushed again after the 410
    push.answer(() => ({ status: 201 }));
    // DELETE says it is already gone.
    const del = await fetch(`${web.url}/push/subscribe`, { method: "DELETE", body: JSON.stringify({ endpoint: gone.json.endpoint }), headers: { "content-type": "application/json" } });
    expect(await del.json()).toEqual({ ok: true, removed: false });
  }, 20000);

  test("unsubscribing stops the pushes; posting the same endpoint again replaces its channels", async () => {
    const sub = newSub();
    await subscribe(web.url, sub, ["a1"]);
    await subscribe(web.url, sub, ["a2"]); // replaces a1
    await publish(web.url, { channel: "a1", message: "not for it any more" });
    await publish(web.url, { channel: "a2", message: "for it" });
    await until("pushed", () => to(sub).length === 1, 10000);
    expect(JSON.parse(decryptPush(to(sub)[0]!.body, sub)).message).toBe("for it");
    const del = await fetch(`${web.url}/push/subscribe`, { method: "DELETE", body: JSON.stringify({ endpoint: sub.json.endpoint }), headers: { "content-type": "application/json" } });
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ ok: true, removed: true });
    await publish(web.url, { channel: "a2", message: "after" });
    await Bun.sleep(500);
    expect(to(sub).length).toBe(1);
  }, 20000);

  test("bad input is a 400 that says what is wrong; endpoints outside the known push services are refused", async () => {
    const sub = newSub();
    const bad = async (body: unknown, pattern: RegExp) => {
      const r = await post(`${web.url}/push/subscribe`, json(body));
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: string }).error).toMatch(pattern);
    };
    await bad({ subscription: sub.json }, /channels/);
    await bad({ subscription: sub.json, channels: [] }, /at least one channel/);
    await bad({ subscription: { ...sub.json, keys: { p256dh: "x", auth: sub.json.keys.auth } }, channels: ["a"] }, /keys\.p256dh/);
    await bad({ subscription: { ...sub.json, endpoint: "https://evil.example/steal" }, channels: ["a"] }, /not a known push service/);
    await bad({ subscription: { ...sub.json, endpoint: "http://127.0.0.1:1/x" }, channels: ["a"] }, /--push-endpoints/);
    await bad({ subscription: { ...sub.json, endpoint: "https://user:pw@fcm.googleapis.com/fcm/send/x" }, channels: ["a"] }, /user name or password/);
    const notJson = await post(`${web.url}/push/subscribe`, "{", { headers: { "content-type": "application/json" } });
    expect(notJson.status).toBe(400);
    // A real push service's endpoint is accepted.
    const fcm = await post(`${web.url}/push/subscribe`, json({ subscription: { ...sub.json, endpoint: "https://fcm.googleapis.com/fcm/send/abc" }, channels: ["a"] }));
    expect(fcm.status).toBe(201);
    await fetch(`${web.url}/push/subscribe`, { method: "DELETE", body: JSON.stringify({ endpoint: "https://fcm.googleapis.com/fcm/send/abc" }) });
  });

  test("subscriptions survive a restart of the web server (they live in the pub/sub server)", async () => {
    const sub = newSub();
    await subscribe(web.url, sub, ["kept"]);
    await web.stop();
    web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, pushArgs());
    await publish(web.url, { channel: "kept", message: "after the restart" });
    await until("pushed", () => to(sub).length === 1, 10000);
    expect(JSON.parse(decryptPush(to(sub)[0]!.body, sub)).message).toBe("after the restart");
  }, 30000);

  test("a subscription not renewed for 60 days is dropped", async () => {
    const sub = newSub();
    const record = { endpoint: sub.json.endpoint, keys: sub.json.keys, channels: ["stale"], user: "default", renewedAt: Date.now() - 61 * 24 * 3600 * 1000 };
    const key = `notistream-push:sub:${sha(sub.json.endpoint)}`;
    const raw = await Raw.open(pubsub.port);
    expect(await raw.call("XADD", key, "*", "sub", JSON.stringify(record))).toMatch(/^\d+-\d+$/);
    const fresh = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, pushArgs());
    try {
      // Wait for both: the key goes at the DEL, and the count may land a moment apart from it.
      const removedCount = async () => /^notistream_push_removed_total [1-9]/m.test(await (await fetch(`${fresh.url}/metrics`)).text());
      for (let i = 0; i < 50 && ((await raw.call("EXISTS", key)) !== 0 || !(await removedCount())); i++) await Bun.sleep(100);
      expect(await raw.call("EXISTS", key)).toBe(0);
      expect(await (await fetch(`${fresh.url}/metrics`)).text()).toMatch(/^notistream_push_removed_total [1-9]/m);
    } finally {
      raw.close();
      await fresh.stop();
    }
  }, 20000);

  test("the server's own channels cannot be published to, read, or watched through a glob over HTTP", async () => {
    const r = await post(web.url, { channel: "notistream:push:changes", message: JSON.stringify({ op: "del", endpoint: "x" }) });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toContain("the server's own");
    expect((await post(`${web.url}/notistream:push:changes`, "x")).status).toBe(400);
    expect((await post(`${web.url}/alertmanager/notistream:x`, "{}")).status).toBe(400);
    expect((await fetch(`${web.url}/messages?channel=notistream:push:changes`)).status).toBe(400);
    expect((await fetch(`${web.url}/events?channel=notistream:push:changes`)).status).toBe(400);
    expect((await subscribe(web.url, newSub(), ["notistream:push:changes"])).status).toBe(400);
    // A glob matching everything streams the channels, not the server's bookkeeping.
    const abort = new AbortController();
    const stream = await fetch(`${web.url}/events?channel=*`, { signal: abort.signal });
    const reader = stream.body!.getReader();
    let text = "";
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
      }
    })().catch(() => {});
    await Bun.sleep(300);
    const sub = newSub();
    await subscribe(web.url, sub, ["glob-visible"]); // announces a change on notistream:push:changes
    await publish(web.url, { channel: "glob-visible", message: "seen through *" });
    await until("the message", () => text.includes("seen through *"), 5000);
    abort.abort();
    await reading;
    expect(text).not.toContain("push:changes");
    expect(text).not.toContain(sub.json.keys.auth);
  }, 20000);

  test("two web servers on one pub/sub server push each message once", async () => {
    const second = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--push-endpoints", push.origin, "--data", webData]);
    try {
      const sub = newSub();
      await subscribe(second.url, sub, ["twice"]);
      await Bun.sleep(200); // the first server hears of it through the pub/sub server
      for (let i = 0; i < 20; i++) await publish(i % 2 ? web.url : second.url, { channel: "twice", message: `m${i}` });
      const raw = await Raw.open(pubsub.port);
      for (let i = 0; i < 5; i++) raw.send(`PUBLISH twice plain${i}\r\n`);
      await until("25 pushes", () => to(sub).length >= 25, 10000);
      await Bun.sleep(1000); // room for any duplicate to arrive
      raw.close();
      const messages = to(sub).map((r) => JSON.parse(decryptPush(r.body, sub)).message as string);
      expect(messages.length).toBe(25);
      expect(new Set(messages).size).toBe(25);
    } finally {
      await second.stop();
    }
  }, 30000);

  test("with an ACL, subscribing needs the same read rights as /events (401, 403)", async () => {
    const acl = tempPath("push.acl");
    writeFileSync(acl, `user default off\nuser ann on #${sha("ann-pw")} &ann/* ~* +@all\n`);
    const locked = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--acl", acl, ...pushArgs()]);
    try {
      const sub = newSub();
      expect((await subscribe(locked.url, sub, ["ann/x"])).status).toBe(401);
      const basic = { authorization: `Basic ${Buffer.from("ann:ann-pw").toString("base64")}` };
      expect((await subscribe(locked.url, sub, ["other"], basic)).status).toBe(403);
      expect((await subscribe(locked.url, sub, ["ann/x"], basic)).status).toBe(201);
    } finally {
      await locked.stop();
    }
  }, 20000);
});

describe("Web Push over HTTPS, trusted through NODE_EXTRA_CA_CERTS", () => {
  needs("openssl").test("a push service with a self-signed certificate", async () => {
    const dir = tempPath("push-tls");
    mkdirSync(dir, { recursive: true });
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    const r = await run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]);
    expect(r.code).toBe(0);
    const secure = startPushService({ tls: { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") } });
    // A pub/sub server of its own: web servers sharing one must share their push settings (README).
    const own = await startPubSub();
    const w = await startWebServer(`redis://127.0.0.1:${own.port}`, ["--push-endpoints", secure.origin, "--data", tempPath("tls-web")], { NODE_EXTRA_CA_CERTS: cert });
    try {
      const sub = makeSubscription(`${secure.origin}/push/tls`);
      expect((await subscribe(w.url, sub, ["secure-push"])).status).toBe(201);
      await publish(w.url, { channel: "secure-push", message: "over https" });
      await until("pushed over https", () => secure.received.length === 1, 10000).catch((err) => {
        console.log(w.output());
        throw err;
      });
      expect(JSON.parse(decryptPush(secure.received[0]!.body, sub)).message).toBe("over https");
    } finally {
      secure.stop();
      await w.stop();
      await own.stop();
    }
  }, 30000);
});

describe("the web server's Web Push settings", () => {
  test("keys are made once and kept; a bad --push-contact or --push-endpoints stops the start with a sentence", async () => {
    const data = tempPath("keys-web");
    const a = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--data", data]);
    const keyA = ((await (await fetch(`${a.url}/push/vapid`)).json()) as { publicKey: string }).publicKey;
    expect(a.output()).toContain("made a VAPID key pair");
    await a.stop();
    const b = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--data", data]);
    expect(((await (await fetch(`${b.url}/push/vapid`)).json()) as { publicKey: string }).publicKey).toBe(keyA);
    await b.stop();
    for (const [flag, value, said] of [
      ["--push-contact", "ops@example.com", "--push-contact must be mailto:"],
      ["--push-endpoints", "ftp://x", "is not an http(s) origin"],
      ["--push-endpoints", "https://push.example.com/path", "is more than an origin"],
    ] as const) {
      const port = await freePort();
      const res = await run([BUN, `${ROOT}/web.ts`, "--port", String(port), "--data", tempPath("bad"), flag, value]);
      expect(res.code).toBe(2);
      expect(res.stderr).toContain(said);
    }
  }, 30000);
});
