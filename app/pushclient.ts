// app/pushclient.ts — Web Push in the browser: whether this browser can have it (an iOS tab must be added to the
// Home Screen first), subscribing with the server's VAPID key, and keeping the server's channel list in step.

type PushSupport = "ok" | "ios-tab" | "unsupported";

/** iOS 16.4+ gives Web Push only to an app added to the Home Screen; other browsers need a PushManager. */
export function pushSupport(): PushSupport {
  const ios = /iPhone|iPad|iPod/.test(navigator.userAgent) || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  const standalone = matchMedia("(display-mode: standalone)").matches || (navigator as Navigator & { standalone?: boolean }).standalone === true;
  if (ios && !standalone) return "ios-tab";
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window ? "ok" : "unsupported";
}

/** The channels the service worker subscribes again with, if the browser changes the subscription (a cache entry: the worker has no localStorage). */
async function rememberForWorker(channels: string[]): Promise<void> {
  const cache = await caches.open("notistream-push");
  await cache.put("/push-state", new Response(JSON.stringify({ channels }), { headers: { "content-type": "application/json" } }));
}

/** A base64url VAPID key as the bytes PushManager.subscribe takes. */
export const b64urlToBytes = (s: string): Uint8Array<ArrayBuffer> => {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
};

async function why(r: Response): Promise<string> {
  const body = (await r.json().catch(() => ({}))) as { error?: string };
  return body.error ?? `the server answered ${r.status}`;
}

/** Subscribes this browser (or renews its subscription) for `channels`; resolves to null when done, else why not. */
export async function subscribePush(channels: string[], timeoutMs = 15_000): Promise<string | null> {
  const keyRes = await fetch("/push/vapid");
  if (!keyRes.ok) return `this server has no Web Push (${await why(keyRes)})`;
  const { publicKey } = (await keyRes.json()) as { publicKey: string };
  const reg = await navigator.serviceWorker.ready;
  let sub = await reg.pushManager.getSubscription();
  // A subscription made with another server key cannot be reused; the server forgets it too (it counts against this
  // address's cap until the push service says it is gone).
  if (sub && sub.options.applicationServerKey && btoa(String.fromCharCode(...new Uint8Array(sub.options.applicationServerKey))).replace(/=+$/, "") !== btoa(String.fromCharCode(...b64urlToBytes(publicKey))).replace(/=+$/, "")) {
    await fetch("/push/subscribe", { method: "DELETE", headers: { "content-type": "application/json" }, body: JSON.stringify({ endpoint: sub.endpoint }) }).catch(() => {});
    await sub.unsubscribe();
    sub = null;
  }
  if (!sub) {
    const made = reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64urlToBytes(publicKey) });
    const timeout = new Promise<null>((r) => setTimeout(() => r(null), timeoutMs));
    sub = await Promise.race([made, timeout]);
    if (!sub) return "the browser's push service did not answer; try again in a moment";
  }
  return await sendChannels(sub, channels);
}

async function sendChannels(sub: PushSubscription, channels: string[]): Promise<string | null> {
  await rememberForWorker(channels);
  if (!channels.length) {
    await fetch("/push/subscribe", { method: "DELETE", headers: { "content-type": "application/json" }, body: JSON.stringify({ endpoint: sub.endpoint }) });
    return null;
  }
  const r = await fetch("/push/subscribe", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ subscription: sub.toJSON(), channels }) });
  return r.ok ? null : await why(r);
}

/** The channel list changed (added, removed, muted): tell the server, if this browser has a push subscription. */
export async function updatePush(channels: string[]): Promise<string | null> {
  const reg = await navigator.serviceWorker.ready;
  const sub = await reg.pushManager.getSubscription();
  return sub ? await sendChannels(sub, channels) : "no push subscription in this browser";
}
