// test/security.push.e2e.test.ts — issue 22's Web Push findings, end to end against real servers and the push service
// written in the tests: caps on subscriptions and channels, revoked rights, redirects, allowed hosts, the key file's
// modes, and forged envelopes over RESP that must neither blind the claims nor be pushed as real messages.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { chmodSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import webpush from "web-push";
import { BUN, ROOT, Raw, freePort, json, post, publishOverHttp, run, startPubSub, startWebServer, tempPath, until, type Running } from "./helpers";
import { decryptPush, makeSubscription, startPushService, type TestSubscription } from "./pushservice";
import { Acl } from "../acl";
import { Hub } from "../web_hub";
import { Publisher } from "../web_publisher";
import { Push } from "../web_push";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
type Web = Running & { url: string };

let pubsub: Running;
let push: ReturnType<typeof startPushService>;
beforeAll(async () => {
  pubsub = await startPubSub();
  push = startPushService();
}, 30000);
afterAll(async () => {
  push?.stop();
  await pubsub?.stop();
});

/** Each test's web servers run with no rate limit, so a 429 here is always a push cap. */
const pushArgs = (...more: string[]) => ["--push-endpoints", push.origin, "--push-contact", "mailto:ops@example.com", "--rate-limit", "0", ...more];
let n = 0;
const newSub = () => makeSubscription(`${push.origin}/sec/${++n}`);
const to = (sub: TestSubscription) => push.received.filter((r) => sub.json.endpoint.endsWith(r.path));
const messagesTo = (sub: TestSubscription) => to(sub).map((r) => JSON.parse(decryptPush(r.body, sub)) as { id: string; channel: string; message: string });
const subscribe = (base: string, sub: TestSubscription, channels: string[], headers: Record<string, string> = {}) =>
  post(`${base}/push/subscribe`, json({ subscription: sub.json, channels }), { headers });
const unsubscribe = (base: string, endpoint: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/push/subscribe`, { method: "DELETE", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ endpoint }) });
/** Publishes as JSON through the web server, which must accept it. */
const publish = (base: string, fields: Record<string, string>, headers: Record<string, string> = {}) => publishOverHttp(base, json(fields), { headers });
const errorOf = async (r: Response) => ((await r.json()) as { error: string }).error;
const metrics = async (base: string) => (await fetch(`${base}/metrics`)).text();
const basic = (user: string, pw: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString("base64")}` });

/** Waits until an async check holds, or fails naming `what`. */
async function eventually(what: string, check: () => Promise<boolean>, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}
/** Nothing waits or is in flight on this web server: every push it was going to make has been answered. */
const drained = async (base: string) => /^notistream_push_queued 0$/m.test(await metrics(base));

describe("Medium 3: push subscriptions are capped per visitor and in all, and channels per subscription", () => {
  test("by default one address gets 20 subscriptions, the 21st is a 429 naming the flag; a renewal does not count twice; 21 channels is a 400", async () => {
    const own = await startPubSub();
    const web = await startWebServer(`redis://127.0.0.1:${own.port}`, pushArgs());
    try {
      const subs = Array.from({ length: 20 }, newSub);
      for (const sub of subs) expect((await subscribe(web.url, sub, ["capped"])).status).toBe(201);
      const over = await subscribe(web.url, newSub(), ["capped"]);
      expect(over.status).toBe(429);
      expect(await errorOf(over)).toMatch(/already has 20 push subscriptions.*--push-max-per-visitor/);
      // The same endpoint again replaces its channels: still 20, so it is taken.
      expect((await subscribe(web.url, subs[0]!, ["capped", "other"])).status).toBe(201);
      const wide = await subscribe(web.url, subs[1]!, Array.from({ length: 21 }, (_, i) => `c${i}`));
      expect(wide.status).toBe(400);
      expect(await errorOf(wide)).toMatch(/at most 20 channels \(--push-max-channels\), got 21/);
      expect(web.output()).toContain("Web Push keeps at most 10000 subscriptions, 20 per client address, 20 channels each");
    } finally {
      await web.stop();
      await own.stop();
    }
  }, 30000);

  test("the caps count what the pub/sub server stores: they hold after a restart and on a second web server; the total cap; a DELETE frees a place", async () => {
    const own = await startPubSub();
    const url = `redis://127.0.0.1:${own.port}`;
    const args = pushArgs("--trust-proxy", "--push-max-per-visitor", "2", "--push-max-subscriptions", "3", "--push-max-channels", "3");
    const from = (ip: string) => ({ "x-forwarded-for": ip });
    let web = await startWebServer(url, args);
    let second: Web | null = null;
    try {
      const a1 = newSub();
      expect((await subscribe(web.url, a1, ["x"], from("203.0.113.1"))).status).toBe(201);
      expect((await subscribe(web.url, newSub(), ["x"], from("203.0.113.1"))).status).toBe(201);
      expect((await subscribe(web.url, newSub(), ["x"], from("203.0.113.1"))).status).toBe(429);
      expect((await subscribe(web.url, a1, ["x", "y", "z", "w"], from("203.0.113.1"))).status).toBe(400);
      // After a restart the count comes back from the pub/sub server.
      await web.stop();
      web = await startWebServer(url, args);
      const again = await subscribe(web.url, newSub(), ["x"], from("203.0.113.1"));
      expect(again.status).toBe(429);
      expect(await errorOf(again)).toMatch(/--push-max-per-visitor/);
      // Another web server on the same pub/sub server counts the same subscriptions.
      second = await startWebServer(url, args);
      expect((await subscribe(second.url, newSub(), ["x"], from("203.0.113.1"))).status).toBe(429);
      // The third subscription in all is the last one.
      expect((await subscribe(second.url, newSub(), ["x"], from("198.51.100.2"))).status).toBe(201);
      const full = await subscribe(web.url, newSub(), ["x"], from("198.51.100.3"));
      expect(full.status).toBe(429);
      expect(await errorOf(full)).toMatch(/already keeps 3 push subscriptions.*--push-max-subscriptions/);
      // A renewal adds none: a phone renewing from another address keeps its subscription with the server full.
      expect((await subscribe(web.url, a1, ["x"], from("198.51.100.3"))).status).toBe(201);
      // Dropping one (on the other server) frees a place, here too.
      expect((await unsubscribe(second.url, a1.json.endpoint)).status).toBe(200);
      const late = newSub();
      await eventually("a place freed", async () => (await subscribe(web.url, late, ["x"], from("198.51.100.3"))).status === 201, 5000);
    } finally {
      await second?.stop();
      await web.stop();
      await own.stop();
    }
  }, 40000);

  test("requests sent all at once cannot all pass a cap", async () => {
    const own = await startPubSub();
    const web = await startWebServer(`redis://127.0.0.1:${own.port}`, pushArgs("--push-max-per-visitor", "2"));
    try {
      const statuses = await Promise.all(Array.from({ length: 12 }, () => subscribe(web.url, newSub(), ["burst"]).then((r) => r.status)));
      expect(statuses.filter((s) => s === 201).length).toBe(2);
      expect(statuses.filter((s) => s === 429).length).toBe(10);
    } finally {
      await web.stop();
      await own.stop();
    }
  }, 30000);

  test("the flags have env twins, and a bad value stops the start with a sentence", async () => {
    const own = await startPubSub();
    const web = await startWebServer(`redis://127.0.0.1:${own.port}`, pushArgs(), { NOTISTREAM_PUSH_MAX_PER_VISITOR: "1", NOTISTREAM_PUSH_MAX_CHANNELS: "2", NOTISTREAM_PUSH_MAX_SUBSCRIPTIONS: "5" });
    try {
      expect(web.output()).toContain("Web Push keeps at most 5 subscriptions, 1 per client address, 2 channels each");
      expect((await subscribe(web.url, newSub(), ["a", "b", "c"])).status).toBe(400);
      expect((await subscribe(web.url, newSub(), ["a", "b"])).status).toBe(201);
      expect((await subscribe(web.url, newSub(), ["a"])).status).toBe(429);
    } finally {
      await web.stop();
      await own.stop();
    }
    for (const [flag, value] of [
      ["--push-max-subscriptions", "0"],
      ["--push-max-per-visitor", "many"],
      ["--push-max-channels", "1001"],
    ] as const) {
      const res = await run([BUN, `${ROOT}/web.ts`, "--port", String(await freePort()), "--data", tempPath("bad"), flag, value]);
      expect(res.code).toBe(2);
      expect(res.stderr).toContain(`${flag} must be a whole number`);
    }
  }, 30000);
});

describe("Medium 1: push subscriptions lose what the ACL no longer allows", () => {
  test("after SIGHUP with a narrower ACL, a subscription is not pushed a channel its user lost; a user turned off gets nothing", async () => {
    const acl = tempPath("push-revoke.acl");
    const ops = `user ops on #${sha("ops-pw")} &* ~* +@all`;
    writeFileSync(acl, `user default off\nuser alice on #${sha("alice-pw")} &alice/* &shared ~* +@all\n${ops}\n`);
    const web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--acl", acl, ...pushArgs()]);
    const asOps = basic("ops", "ops-pw");
    const reloads = () => web.output().split("ACL reloaded").length - 1;
    const hup = async (text: string) => {
      const before = reloads();
      writeFileSync(acl, text);
      web.proc.kill("SIGHUP");
      await until("the ACL reloaded", () => reloads() > before, 5000);
    };
    try {
      const alice = newSub();
      const witness = newSub(); // ops may read everything: its push shows each message was handled
      expect((await subscribe(web.url, alice, ["alice/a", "shared"], basic("alice", "alice-pw"))).status).toBe(201);
      expect((await subscribe(web.url, witness, ["alice/a", "shared"], asOps)).status).toBe(201);
      await publish(web.url, { channel: "shared", message: "one" }, asOps);
      await until("alice got one", () => to(alice).length === 1, 10000);

      // alice may no longer read `shared`.
      await hup(`user default off\nuser alice on #${sha("alice-pw")} &alice/* ~* +@all\n${ops}\n`);
      await publish(web.url, { channel: "shared", message: "two" }, asOps);
      await publish(web.url, { channel: "alice/a", message: "three" }, asOps);
      await until("the witness got three", () => to(witness).length === 3, 10000);
      await eventually("every push answered", () => drained(web.url));
      expect(messagesTo(alice).map((m) => m.message)).toEqual(["one", "three"]);

      // alice is off: nothing at all.
      await hup(`user default off\nuser alice off #${sha("alice-pw")} &alice/* ~* +@all\n${ops}\n`);
      await publish(web.url, { channel: "alice/a", message: "four" }, asOps);
      await until("the witness got four", () => to(witness).length === 4, 10000);
      await eventually("every push answered", () => drained(web.url));
      expect(messagesTo(alice).map((m) => m.message)).toEqual(["one", "three"]);
    } finally {
      await web.stop();
    }
  }, 40000);

  test("SIGHUP stores it too: a subscription loses the channels its user lost, and one whose user is off is dropped", async () => {
    const acl = tempPath("push-revoke-store.acl");
    const users = (alice: string, bob: string) => `user default off\nuser alice on #${sha("alice-pw")} ${alice} ~* +@all\nuser bob ${bob} #${sha("bob-pw")} &shared ~* +@all\n`;
    writeFileSync(acl, users("&alice/* &shared", "on"));
    const own = await startPubSub(); // only this test's subscriptions, so the counts in the log line are its own
    const web = await startWebServer(`redis://127.0.0.1:${own.port}`, ["--acl", acl, ...pushArgs()]);
    const raw = await Raw.open(own.port);
    const stored = async (sub: TestSubscription) => {
      const top = (await raw.call("XREVRANGE", `notistream-push:sub:${sha(sub.json.endpoint)}`, "+", "-", "COUNT", "1")) as [string, string[]][];
      return top.length ? (JSON.parse(top[0]![1][1]!) as { channels: string[] }).channels : null;
    };
    try {
      const alice = newSub();
      const bob = newSub();
      expect((await subscribe(web.url, alice, ["alice/a", "shared"], basic("alice", "alice-pw"))).status).toBe(201);
      expect((await subscribe(web.url, bob, ["shared"], basic("bob", "bob-pw"))).status).toBe(201);
      writeFileSync(acl, users("&alice/*", "off"));
      web.proc.kill("SIGHUP");
      await eventually("the store follows the ACL", async () => JSON.stringify(await stored(alice)) === '["alice/a"]' && (await stored(bob)) === null, 5000);
      await until("the log line", () => web.output().includes("the new ACL dropped 1 subscription and took channels from 1 other"), 5000);
    } finally {
      raw.close();
      await web.stop();
      await own.stop();
    }
  }, 30000);

  test("push.revoke(acl) takes lost channels out of the stored subscriptions and drops those left with none, for every web server", async () => {
    const own = await startPubSub();
    const url = `redis://127.0.0.1:${own.port}`;
    const lines: string[] = [];
    const publisher = new Publisher(url, 1000, undefined, 0, true, () => {});
    const hub = new Hub(url, undefined, () => {}, { history: publisher });
    const inProcess = new Push({
      store: publisher,
      hub,
      keys: webpush.generateVAPIDKeys(),
      contact: "mailto:ops@example.com",
      extraOrigins: [push.origin],
      ttlSeconds: () => 60,
      count: { sent: () => {}, failed: () => {}, removed: () => {} },
      log: (line) => lines.push(line),
    });
    // A web server with no ACL of its own: what it pushes follows the stored subscriptions alone.
    const web = await startWebServer(url, pushArgs());
    const raw = await Raw.open(own.port);
    const stored = async (sub: TestSubscription) => {
      const top = (await raw.call("XREVRANGE", `notistream-push:sub:${sha(sub.json.endpoint)}`, "+", "-", "COUNT", "1")) as [string, string[]][];
      return top.length ? (JSON.parse(top[0]![1][1]!) as { channels: string[]; user: string }) : null;
    };
    try {
      await inProcess.start();
      const alice = newSub();
      const bob = newSub();
      const ops = newSub();
      await inProcess.subscribe(alice.json, ["alice/a", "shared"], "alice", "192.0.2.1");
      await inProcess.subscribe(bob.json, ["shared"], "bob", "192.0.2.2");
      await inProcess.subscribe(ops.json, ["shared", "alice/a"], "ops", "192.0.2.3");
      await eventually("the web server has all three", async () => /^notistream_push_subscriptions 3$/m.test(await metrics(web.url)));

      const next = Acl.parse(`user default off\nuser alice on nopass &alice/* +@all\nuser bob off &* +@all\nuser ops on nopass &* +@all`, "test");
      expect(await inProcess.revoke(next)).toEqual({ dropped: 1, trimmed: 1 });
      expect(await stored(alice)).toMatchObject({ channels: ["alice/a"], user: "alice" });
      expect(await stored(bob)).toBeNull();
      expect(await stored(ops)).toMatchObject({ channels: ["shared", "alice/a"] });
      expect(lines.join("\n")).toContain("the new ACL dropped 1 subscription and took channels from 1 other");
      await eventually("the web server follows", async () => /^notistream_push_subscriptions 2$/m.test(await metrics(web.url)));

      await publish(web.url, { channel: "shared", message: "after the revoke" });
      await until("ops got it", () => to(ops).length === 1, 10000);
      await eventually("every push answered", async () => inProcess.queued === 0 && (await drained(web.url)));
      expect(to(alice).length + to(bob).length).toBe(0);
      await publish(web.url, { channel: "alice/a", message: "still hers" });
      await until("alice got hers", () => to(alice).length === 1, 10000);
      // Nothing left to take: a second call changes nothing.
      expect(await inProcess.revoke(next)).toEqual({ dropped: 0, trimmed: 0 });
    } finally {
      raw.close();
      inProcess.stop();
      hub.close();
      publisher.close();
      await web.stop();
      await own.stop();
    }
  }, 40000);
});

describe("Low: the push sender does not follow redirects", () => {
  for (const status of [301, 307])
    test(`a push service answering ${status} to another address is not followed: a failure with reason "redirect"`, async () => {
      const elsewhere = startPushService();
      const own = await startPubSub();
      const web = await startWebServer(`redis://127.0.0.1:${own.port}`, pushArgs());
      try {
        const sub = newSub();
        push.answer((r) => (sub.json.endpoint.endsWith(r.path) ? { status, headers: { location: `${elsewhere.origin}/stolen?token=secret` } } : { status: 201 }));
        expect((await subscribe(web.url, sub, ["moved"])).status).toBe(201);
        await publish(web.url, { channel: "moved", message: "not for elsewhere" });
        const failed = async () => /^notistream_push_failed_total\{reason="redirect"\} 1$/m.test(await metrics(web.url));
        await eventually("the redirect refused, or followed", async () => elsewhere.received.length > 0 || (await failed()), 10000);
        await eventually("every push answered", () => drained(web.url));
        expect(elsewhere.received.length).toBe(0);
        expect(to(sub).length).toBe(1);
        expect(await failed()).toBe(true);
        expect(web.output()).toContain(`answered ${status}, a redirect to ${elsewhere.origin}; not followed`);
        expect(web.output()).not.toContain("token=secret");
      } finally {
        push.answer(() => ({ status: 201 }));
        elsewhere.stop();
        await web.stop();
        await own.stop();
      }
    }, 30000);
});

describe("Low: only the hosts browsers push through", () => {
  test("another Google API host (or another Mozilla one) is refused; FCM, Mozilla's updates host, Apple's and Microsoft's are taken", async () => {
    const own = await startPubSub();
    const web = await startWebServer(`redis://127.0.0.1:${own.port}`, pushArgs());
    try {
      const keys = newSub().json.keys;
      const tryEndpoint = (endpoint: string) => post(`${web.url}/push/subscribe`, json({ subscription: { endpoint, keys }, channels: ["never-published"] }));
      for (const bad of ["https://storage.googleapis.com/bucket/object", "https://www.googleapis.com/upload/x", "https://android.googleapis.com/gcm/send/x", "https://other.push.services.mozilla.com/x"]) {
        const r = await tryEndpoint(bad);
        expect(r.status).toBe(400);
        expect(await errorOf(r)).toMatch(/not a known push service/);
      }
      for (const good of ["https://fcm.googleapis.com/fcm/send/x", "https://updates.push.services.mozilla.com/wpush/v2/x", "https://web.push.apple.com/x", "https://wns2-par02p.notify.windows.com/w/?token=x"])
        expect((await tryEndpoint(good)).status).toBe(201);
    } finally {
      await web.stop();
      await own.stop();
    }
  }, 30000);
});

describe("Low: the web server's data files are private", () => {
  test("the VAPID key is made 0600 in a 0700 directory, whatever the umask; a key file others may read is warned about at start", async () => {
    const data = join(tempPath("private"), "nested", "web-data");
    const port = await freePort();
    // umask 000: the modes must come from the server, not from a careful shell.
    const proc = Bun.spawn(["sh", "-c", `umask 000; exec "${BUN}" "${ROOT}/web.ts" --host 127.0.0.1 --port ${port} --redis redis://127.0.0.1:${pubsub.port} --data "${data}"`], { stdout: "pipe", stderr: "pipe" });
    try {
      await eventually("the key made", async () => {
        try {
          return statSync(join(data, "vapid.json")).size > 0;
        } catch {
          return false;
        }
      });
      expect((statSync(data).mode & 0o777).toString(8)).toBe("700");
      expect((statSync(join(data, "..")).mode & 0o777).toString(8)).toBe("700");
      expect((statSync(join(data, "vapid.json")).mode & 0o777).toString(8)).toBe("600");
    } finally {
      proc.kill();
      await proc.exited;
    }
    // The operator's own key file, readable by everyone: said at start.
    const loose = join(data, "..", "loose.json");
    writeFileSync(loose, JSON.stringify(webpush.generateVAPIDKeys()));
    chmodSync(loose, 0o644);
    const warned = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--vapid-keys", loose]);
    try {
      await until("the warning", () => warned.output().includes("listening on"), 5000);
      expect(warned.output()).toContain(`warning: the VAPID key file ${loose} can be read by other users of this machine (mode 0644)`);
      expect(warned.output()).toContain(`chmod 600 ${loose}`);
    } finally {
      await warned.stop();
    }
    chmodSync(loose, 0o600);
    const quiet = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--vapid-keys", loose]);
    try {
      await until("the start", () => quiet.output().includes("listening on"), 5000);
      expect(quiet.output()).not.toContain("can be read by other users");
    } finally {
      await quiet.stop();
    }
  }, 30000);
});

describe("High 5 (push): a forged envelope over RESP cannot blind the claims or pass as a real message", () => {
  test("forged ids past u64, at the u64 limit and far in the future, and a forged channel: pushed as plain text at most, and the real message after them is pushed", async () => {
    const own = await startPubSub();
    const web = await startWebServer(`redis://127.0.0.1:${own.port}`, pushArgs());
    const raw = await Raw.open(own.port);
    try {
      const sub = newSub();
      expect((await subscribe(web.url, sub, ["forge"])).status).toBe(201);
      const forged = ["99999999999999999999-99999999999999999999", "18446744073709551615-18446744073709551615", "9999999999999-0"].map((id) =>
        JSON.stringify({ id, time: 1, channel: "alerts", message: `forged ${id}` }),
      );
      for (const payload of forged) expect(await raw.call("PUBLISH", "forge", payload)).toBe(1);
      const { id } = await publish(web.url, { channel: "forge", message: "the real one" });
      await until("the real message pushed", () => messagesTo(sub).some((m) => m.message === "the real one"), 10000);
      const got = messagesTo(sub);
      expect(got.find((m) => m.message === "the real one")).toMatchObject({ id, channel: "forge" });
      // The forged ones arrive, if at all, as what they are: text on the channel they were published on.
      for (const m of got.filter((m) => m.message !== "the real one")) {
        expect(m.id).toBe("");
        expect(m.channel).toBe("forge");
        expect(forged).toContain(m.message);
      }
      // And the claims still work for the next one.
      await publish(web.url, { channel: "forge", message: "and the next" });
      await until("the next pushed", () => messagesTo(sub).some((m) => m.message === "and the next"), 10000);
    } finally {
      raw.close();
      await web.stop();
      await own.stop();
    }
  }, 30000);

  test("a forged payload that names a real message's id is pushed as history has it, never with its own text", async () => {
    const own = await startPubSub();
    const web = await startWebServer(`redis://127.0.0.1:${own.port}`, pushArgs());
    const raw = await Raw.open(own.port);
    try {
      const sub = newSub();
      expect((await subscribe(web.url, sub, ["forge2"])).status).toBe(201);
      // Written straight to history with no PUBLISH (as a script might), so its id has not been pushed yet.
      const id = String(await raw.call("XADD", "notistream:forge2", "*", "time", "1", "channel", "forge2", "message", "what history says"));
      expect(await raw.call("PUBLISH", "forge2", JSON.stringify({ id, time: 1, channel: "alerts", message: "FORGED TEXT", url: "https://evil.example/" }))).toBe(1);
      await until("pushed", () => to(sub).length === 1, 10000);
      expect(messagesTo(sub)[0]).toMatchObject({ id, channel: "forge2", message: "what history says" });
      expect(JSON.stringify(messagesTo(sub)[0])).not.toContain("evil.example");
    } finally {
      raw.close();
      await web.stop();
      await own.stop();
    }
  }, 30000);
});
