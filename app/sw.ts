// app/sw.ts — the service worker: caches the app shell so the app opens offline, and opens a notification's url
// when it is tapped. Notifications themselves are raised from the page through registration.showNotification.

type SwExtendableEvent = Event & { waitUntil(p: Promise<unknown>): void };
type SwFetchEvent = SwExtendableEvent & { request: Request; respondWith(r: Promise<Response> | Response): void };
type SwNotificationEvent = SwExtendableEvent & { notification: Notification & { data?: { url?: string } } };
type SwWindowClient = { url: string; focus(): Promise<unknown>; navigate(url: string): Promise<unknown> };
type Scope = {
  addEventListener(type: "install" | "activate", fn: (e: SwExtendableEvent) => void): void;
  addEventListener(type: "fetch", fn: (e: SwFetchEvent) => void): void;
  addEventListener(type: "notificationclick", fn: (e: SwNotificationEvent) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void>; matchAll(o: { type: "window"; includeUncontrolled: boolean }): Promise<SwWindowClient[]>; openWindow(url: string): Promise<unknown> };
  location: Location;
};
const sw = self as unknown as Scope;

const CACHE = "notistream-shell-v1";
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

sw.addEventListener("notificationclick", (e) => {
  e.notification.close();
  const target = e.notification.data?.url ?? "/";
  e.waitUntil(
    sw.clients.matchAll({ type: "window", includeUncontrolled: true }).then((wins) => {
      if (target === "/" && wins[0]) return wins[0].focus();
      return sw.clients.openWindow(target);
    }),
  );
});
