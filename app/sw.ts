// app/sw.ts — the service worker: caches the app shell so the app opens offline, shows a Web Push as a notification
// (the app may be closed; an update replaces it, a delete or clear closes it), opens or focuses the app when one is
// tapped or runs the tapped action, and subscribes again when the browser asks.
import { EnvelopeSchema } from "../message";
import { b64urlToBytes } from "./pushclient";
import { httpUrl, notificationFor, notificationTag, type NotificationAction, type NotificationData } from "./text";

type SwExtendableEvent = Event & { waitUntil(p: Promise<unknown>): void };
type SwFetchEvent = SwExtendableEvent & { request: Request; respondWith(r: Promise<Response> | Response): void };
type SwNotificationEvent = SwExtendableEvent & { action: string; notification: Notification & { data?: NotificationData } };
type SwPushEvent = SwExtendableEvent & { data: { json(): unknown; text(): string } | null };
type SwSubscriptionChangeEvent = SwExtendableEvent & { oldSubscription?: PushSubscription | null };
type SwWindowClient = { url: string; focused: boolean; focus(): Promise<unknown>; navigate(url: string): Promise<unknown>; postMessage(m: unknown): void };
type Scope = {
  addEventListener(type: "install" | "activate", fn: (e: SwExtendableEvent) => void): void;
  addEventListener(type: "pushsubscriptionchange", fn: (e: SwSubscriptionChangeEvent) => void): void;
  addEventListener(type: "fetch", fn: (e: SwFetchEvent) => void): void;
  addEventListener(type: "notificationclick", fn: (e: SwNotificationEvent) => void): void;
  addEventListener(type: "push", fn: (e: SwPushEvent) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void>; matchAll(o: { type: "window"; includeUncontrolled: boolean }): Promise<SwWindowClient[]>; openWindow(url: string): Promise<unknown> };
  registration: ServiceWorkerRegistration;
  location: Location;
};
const sw = self as unknown as Scope;

const CACHE = "notistream-shell-v2";
const SHELL = ["/", "/app.js", "/app.css", "/manifest.webmanifest", "/icon-192.png", "/icon-512.png"];

sw.addEventListener("install", (e) => {
  e.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(SHELL.map((u) => new Request(u, { headers: { accept: "text/html,*/*" } }))))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener("activate", (e) => {
  e.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== sw.location.origin) return;
  if (url.pathname === "/events") return; // live streams never come from a cache
  const shellPath = e.request.mode === "navigate" ? "/" : url.pathname;
  if (!SHELL.includes(shellPath)) return;
  // Network first so updates arrive; the cached shell when offline.
  e.respondWith(
    fetch(e.request)
      .then((r) => {
        if (r.ok) {
          const copy = r.clone();
          void caches.open(CACHE).then((c) => c.put(shellPath, copy));
        }
        return r;
      })
      .catch(async () => (await caches.match(shellPath)) ?? Response.error()),
  );
});

// A push: the envelope (cut to fit, if it was long) becomes a notification tagged by its sequence ID, so an update
// replaces the one on screen; a message_delete or message_clear closes it instead.
sw.addEventListener("push", (e) => {
  let data: unknown = null;
  try {
    data = e.data?.json() ?? null;
  } catch {
    data = { id: "", time: Math.floor(Date.now() / 1000), channel: "notistream", message: e.data?.text() ?? "" };
  }
  const parsed = EnvelopeSchema.safeParse(data);
  const m = parsed.success ? parsed.data : { id: "", time: Math.floor(Date.now() / 1000), channel: "notistream", message: "A new message arrived" };
  if (m.event) {
    e.waitUntil(sw.registration.getNotifications({ tag: notificationTag(m) }).then((shown) => shown.forEach((n) => n.close())));
    return;
  }
  // Chrome shows 2 actions and says so in Notification.maxActions; a browser without it shows none.
  const maxActions = (Notification as unknown as { maxActions?: number }).maxActions ?? 0;
  const n = notificationFor(m, maxActions, sw.location.origin);
  e.waitUntil(sw.registration.showNotification(n.title, n.options));
});

/** An http action tapped on a notification: sent from the service worker (CORS applies; no login or cookies go). */
async function sendFromWorker(a: NotificationAction, tag: string): Promise<void> {
  const url = httpUrl(a.url)!;
  const method = (a.method ?? "POST").toUpperCase();
  const failed = (why: string) => sw.registration.showNotification(`${a.label} failed`, { body: why, tag, icon: "/icon-192.png" });
  try {
    const r = await fetch(url, { method, headers: a.headers ?? {}, body: method === "GET" || method === "HEAD" ? undefined : (a.body ?? ""), credentials: "omit", referrerPolicy: "no-referrer" });
    if (!r.ok) await failed(`${new URL(url).host} answered ${r.status}`);
  } catch (err) {
    await failed(`no answer the app may read from ${new URL(url).host} (${(err as Error).message}); that server must allow requests from this app (CORS)`);
  }
}

// Tapped: an action runs (view opens its page, http sends its request); else the message's link, else the app at its
// channel (an open app window is focused, not a second one opened).
sw.addEventListener("notificationclick", (e) => {
  e.notification.close();
  const data = e.notification.data ?? {};
  const action = e.action ? data.actions?.find((a: NotificationAction) => a.id === e.action) : undefined;
  if (action) {
    const url = httpUrl(action.url);
    if (url) e.waitUntil(action.action === "view" ? sw.clients.openWindow(url) : sendFromWorker(action, e.notification.tag));
    return;
  }
  e.waitUntil(
    sw.clients.matchAll({ type: "window", includeUncontrolled: true }).then(async (wins) => {
      if (data.url && /^https?:\/\//.test(data.url) && data.url !== "/") return sw.clients.openWindow(data.url);
      const app = wins.find((w) => new URL(w.url).origin === sw.location.origin);
      if (app) {
        if (data.channel) app.postMessage({ show: data.channel });
        return app.focus();
      }
      return sw.clients.openWindow(data.channel ? `/?show=${encodeURIComponent(data.channel)}` : "/");
    }),
  );
});

// The browser replaced the subscription (keys rotated, or it expired): subscribe again with the same channels.
sw.addEventListener("pushsubscriptionchange", (e) => {
  e.waitUntil(
    (async () => {
      const state = await (await caches.open("notistream-push")).match("/push-state");
      const channels = state ? ((await state.json()) as { channels: string[] }).channels : [];
      if (!channels.length) return;
      const { publicKey } = (await (await fetch("/push/vapid")).json()) as { publicKey: string };
      // The old endpoint goes first: it no longer works, and it would count against this address's cap.
      if (e.oldSubscription)
        await fetch("/push/subscribe", { method: "DELETE", headers: { "content-type": "application/json" }, body: JSON.stringify({ endpoint: e.oldSubscription.endpoint }) }).catch(() => {});
      const sub = await sw.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64urlToBytes(publicKey) });
      await fetch("/push/subscribe", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ subscription: sub.toJSON(), channels }) });
    })(),
  );
});
