// test/web_push.reload.e2e.test.ts — Web Push's reload of every stored subscription (at start, and whenever the hub
// subscribes its changes channel again) racing a new subscription: a reload whose KEYS were read before the
// subscription was stored must not drop it. A fresh web server does two reloads at start (its own and the changes
// channel's first confirmation), and a fresh-clone CI run lost a browser's first subscription so (unifiedpush.e2e).
import { afterAll, beforeAll, expect, test } from "bun:test";
import webpush from "web-push";
import { startPubSub, type Running } from "./helpers";
import { makeSubscription, startPushService } from "./pushservice";
import { Hub } from "../web_hub";
import { Publisher } from "../web_publisher";
import { Push } from "../web_push";

let pubsub: Running;
let service: ReturnType<typeof startPushService>;

beforeAll(async () => {
  pubsub = await startPubSub();
  service = startPushService();
});
afterAll(async () => {
  service?.stop();
  await pubsub?.stop();
});

test("a reload whose KEYS came before a new subscription was stored keeps that subscription (and its channel watched)", async () => {
  const url = `redis://127.0.0.1:${pubsub.port}`;
  const publisher = new Publisher(url, 1000, undefined, 0, true, () => {});
  const hub = new Hub(url, undefined, () => {}, { history: publisher });
  // The store as Push sees it, with KEYS held (after it was read) while `hold` is set. Every held read is released
  // together: the start's own second reload (when the changes channel confirms) may read KEYS inside the window too.
  let hold = false;
  const held: (() => void)[] = [];
  const release = () => held.splice(0).forEach((r) => r());
  const store = Object.assign(Object.create(publisher) as Publisher, {
    keys: async (pattern: string) => {
      const keys = await publisher.keys(pattern);
      if (hold) await new Promise<void>((r) => held.push(r));
      return keys;
    },
  });
  const push = new Push({
    store,
    hub,
    keys: webpush.generateVAPIDKeys(),
    contact: "mailto:ops@example.com",
    extraOrigins: [service.origin],
    ttlSeconds: () => 60,
    count: { sent: () => {}, failed: () => {}, removed: () => {} },
    log: () => {},
  });
  try {
    await push.start();
    hold = true;
    // A reload begins (as the changes channel's resubscription starts one): it reads no subscription, and waits.
    const reloading = (push as unknown as { reload(): Promise<void> }).reload();
    await Bun.sleep(50);
    hold = false;
    const browser = makeSubscription(`${service.origin}/push/raced`);
    await push.subscribe(browser.json, ["raced"], "*", "192.0.2.9");
    expect(push.subscriptionCount).toBe(1);
    release();
    await reloading;
    expect(push.subscriptionCount).toBe(1); // the subscription the browser was just told about is still there
  } finally {
    push.stop();
    hub.close();
    publisher.close();
  }
});
