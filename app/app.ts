// app/app.ts — the browser app: channels (remembered in localStorage), a live list from /events with history
// from /messages, unread counts, mute, connection status, and notifications through the service worker.

import { EnvelopeSchema, compareIds, type Envelope } from "../message";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const store = {
  get<T>(key: string, fallback: T): T {
    try {
      const v = localStorage.getItem(`notistream.${key}`);
      return v === null ? fallback : (JSON.parse(v) as T);
    } catch {
      return fallback;
    }
  },
  set(key: string, value: unknown): void {
    localStorage.setItem(`notistream.${key}`, JSON.stringify(value));
  },
};

const MAX_KEPT = 200;
const SVG = (path: string) =>
  `<svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${path}</svg>`;
const BELL = SVG('<path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/><path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/>');
const BELL_OFF = SVG('<path d="M8.7 3A6 6 0 0 1 18 8a21.3 21.3 0 0 0 .6 5"/><path d="M17 17H3s3-2 3-9a4.67 4.67 0 0 1 .3-1.7"/><path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/><path d="m2 2 20 20"/>');
let channels: string[] = store.get("channels", []);
let muted = new Set<string>(store.get<string[]>("muted", []));
let unread: Record<string, number> = store.get("unread", {});
let messages: Envelope[] = store.get("messages", []);
let filter: string | null = null;
let notify = store.get("notify", false);
let source: EventSource | null = null;

function relTime(unixSeconds: number): string {
  const s = Math.max(0, Math.round(Date.now() / 1000 - unixSeconds));
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(unixSeconds * 1000).toLocaleDateString();
}

function setStatus(text: string, kind: "live" | "wait" | "offline", detail = ""): void {
  const el = $("status");
  el.textContent = text;
  el.title = detail;
  el.className = `status ${kind === "wait" ? "" : kind}`;
  // Why it is not live, where a person on a phone can read it (a tooltip never shows there).
  const problem = $("problem");
  problem.textContent = detail;
  problem.hidden = kind !== "offline" || detail === "";
}

function save(): void {
  store.set("channels", channels);
  store.set("muted", [...muted]);
  store.set("unread", unread);
  store.set("messages", messages.slice(0, MAX_KEPT));
}

function renderChannels(): void {
  const ul = $("channels");
  ul.replaceChildren(
    ...channels.map((ch) => {
      const li = document.createElement("li");
      li.className = `chip${muted.has(ch) ? " muted" : ""}`;
      const name = document.createElement("button");
      name.className = "name";
      name.type = "button";
      name.setAttribute("aria-pressed", String(filter === ch));
      name.title = `Show only ${ch}`;
      name.textContent = ch;
      if (unread[ch]) {
        const b = document.createElement("span");
        b.className = "badge";
        b.textContent = String(unread[ch]);
        b.setAttribute("aria-label", `${unread[ch]} unread`);
        name.append(b);
      }
      name.onclick = () => {
        filter = filter === ch ? null : ch;
        unread[ch] = 0;
        save();
        render();
      };
      const mute = document.createElement("button");
      mute.className = "mute";
      mute.type = "button";
      mute.innerHTML = muted.has(ch) ? BELL_OFF : BELL; // constant markup: emoji fonts are missing on many systems
      mute.setAttribute("aria-label", `${muted.has(ch) ? "Unmute" : "Mute"} ${ch}`);
      mute.onclick = () => {
        if (muted.has(ch)) muted.delete(ch);
        else muted.add(ch);
        save();
        renderChannels();
      };
      const remove = document.createElement("button");
      remove.className = "remove";
      remove.type = "button";
      remove.textContent = "×";
      remove.setAttribute("aria-label", `Remove ${ch}`);
      remove.onclick = () => {
        channels = channels.filter((c) => c !== ch);
        if (filter === ch) filter = null;
        save();
        render();
        connect();
      };
      li.append(name, mute, remove);
      return li;
    }),
  );
}

function messageItem(m: Envelope, fresh: boolean): HTMLLIElement {
  const li = document.createElement("li");
  li.className = `msg${m.priority ? ` p${m.priority}` : ""}${fresh ? " new" : ""}`;
  li.dataset.id = m.id;
  const top = document.createElement("div");
  top.className = "top";
  const ch = document.createElement("span");
  ch.className = "channel";
  ch.textContent = m.channel;
  const time = document.createElement("time");
  time.dateTime = new Date(m.time * 1000).toISOString();
  time.textContent = relTime(m.time);
  top.append(ch, time);
  li.append(top);
  if (m.title) {
    const h = document.createElement("h3");
    h.textContent = m.title;
    li.append(h);
  }
  const p = document.createElement("p");
  p.textContent = m.message;
  li.append(p);
  if (m.tags?.length) {
    const tags = document.createElement("div");
    tags.className = "tags";
    for (const t of m.tags) {
      const s = document.createElement("span");
      s.textContent = t;
      tags.append(s);
    }
    li.append(tags);
  }
  if (m.url && /^https?:\/\//.test(m.url)) {
    const a = document.createElement("a");
    a.href = m.url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.textContent = "Open link →";
    li.append(a);
  }
  return li;
}

let freshIds = new Set<string>();
function render(): void {
  renderChannels();
  const shown = messages.filter((m) => channels.includes(m.channel) && (filter === null || m.channel === filter));
  $("messages").replaceChildren(...shown.map((m) => messageItem(m, freshIds.has(m.id))));
  freshIds = new Set();
  $("empty").hidden = shown.length > 0;
}

function add(m: Envelope, live: boolean): boolean {
  if (m.id && messages.some((x) => x.id === m.id && x.channel === m.channel)) return false;
  messages.push(m);
  messages.sort((a, b) => (a.id && b.id ? compareIds(b.id, a.id) : 0)); // newest first
  messages = messages.slice(0, MAX_KEPT);
  if (live) {
    freshIds.add(m.id);
    if (filter !== m.channel && !document.hasFocus()) unread[m.channel] = (unread[m.channel] ?? 0) + 1;
    else if (filter !== null && filter !== m.channel) unread[m.channel] = (unread[m.channel] ?? 0) + 1;
    if (notify && !muted.has(m.channel) && Notification.permission === "granted") void showNotification(m);
  }
  return true;
}

async function showNotification(m: Envelope): Promise<void> {
  // Android Chrome only shows notifications raised by a service worker, so every platform goes that way.
  const reg = await navigator.serviceWorker.ready;
  await reg.showNotification(m.title || m.channel, { body: m.message, tag: `${m.channel}/${m.id}`, icon: "/icon-192.png", badge: "/icon-192.png", data: { url: m.url ?? "/" } });
}

function lastId(): string | undefined {
  return messages.find((m) => m.id && channels.includes(m.channel))?.id;
}

async function loadHistory(): Promise<void> {
  if (!channels.length) return;
  const q = new URLSearchParams();
  for (const c of channels) q.append("channel", c);
  q.set("limit", "50");
  try {
    const r = await fetch(`/messages?${q}`);
    if (!r.ok) return;
    const list: unknown = await r.json();
    for (const item of Array.isArray(list) ? list : []) {
      const m = EnvelopeSchema.safeParse(item);
      if (m.success) add(m.data, false);
    }
    save();
    render();
  } catch {
    // Offline: the messages kept in localStorage are already on screen.
  }
}

/** The stream was refused (401, 403, 400): /messages answers the same question with a readable JSON error. */
async function explainRefusal(q: URLSearchParams): Promise<void> {
  try {
    const r = await fetch(`/messages?${q}&limit=1`);
    if (r.status === 401 || r.status === 403 || r.status === 400) {
      const body = (await r.json().catch(() => ({}))) as { error?: string };
      setStatus(r.status === 401 ? "Login needed" : "Not allowed", "offline", body.error ?? `HTTP ${r.status}`);
      return;
    }
  } catch {
    // offline: the online event reconnects
  }
  setTimeout(connect, 5000); // refused for another reason (a restart): try again
}

function connect(): void {
  source?.close();
  source = null;
  if (!channels.length) {
    setStatus("No channels", "wait");
    return;
  }
  const q = new URLSearchParams();
  for (const c of channels) q.append("channel", c);
  const since = lastId();
  if (since) q.set("since", since);
  setStatus("Connecting…", "wait");
  const es = new EventSource(`/events?${q}`);
  source = es;
  es.onopen = () => setStatus("Live", "live");
  es.onerror = () => {
    setStatus(navigator.onLine ? "Reconnecting…" : "Offline", navigator.onLine ? "wait" : "offline");
    // EventSource retries by itself unless the server answered with an error status: then ask why, and say it.
    if (es.readyState === EventSource.CLOSED && source === es) void explainRefusal(q);
  };
  // The server says when its own subscription is down (a refused login, the pub/sub server away), and when it is back.
  es.addEventListener("status", (ev) => {
    try {
      const st = JSON.parse((ev as MessageEvent<string>).data) as { connected: boolean; error?: string };
      if (st.connected) setStatus("Live", "live");
      else setStatus("Not receiving", "offline", `No messages can arrive right now: the web server cannot subscribe (${st.error ?? "no reason given"}).`);
    } catch {
      // a status frame that is not JSON is ignored
    }
  });
  es.onmessage = (ev) => {
    try {
      const m = EnvelopeSchema.safeParse(JSON.parse(ev.data));
      if (m.success && add(m.data, true)) {
        save();
        render();
      }
    } catch {
      // a frame that is not JSON is ignored
    }
  };
}

function setupNotifications(): void {
  const btn = $<HTMLButtonElement>("enable-notifications");
  if (!("Notification" in window) || !("serviceWorker" in navigator)) return;
  const refresh = () => {
    btn.hidden = notify && Notification.permission === "granted";
    btn.textContent = Notification.permission === "denied" ? "Notifications are blocked in the browser settings" : "Enable notifications";
    btn.disabled = Notification.permission === "denied";
  };
  btn.onclick = async () => {
    const p = await Notification.requestPermission();
    notify = p === "granted";
    store.set("notify", notify);
    refresh();
  };
  refresh();
}

function start(): void {
  $("origin").textContent = location.origin;
  const fromUrl = (new URLSearchParams(location.search).get("channels") ?? "")
    .split(",")
    .map((c) => c.trim())
    .filter(Boolean);
  for (const c of fromUrl) if (!channels.includes(c)) channels.push(c);
  save();
  $<HTMLFormElement>("add").onsubmit = (e) => {
    e.preventDefault();
    const input = $<HTMLInputElement>("channel-input");
    const c = input.value.trim();
    if (c && !channels.includes(c)) {
      channels.push(c);
      save();
      render();
      connect();
      void loadHistory();
    }
    input.value = "";
  };
  window.addEventListener("online", connect);
  window.addEventListener("offline", () => setStatus("Offline", "offline"));
  window.addEventListener("focus", () => {
    if (filter) unread[filter] = 0;
  });
  if ("serviceWorker" in navigator) void navigator.serviceWorker.register("/sw.js");
  setupNotifications();
  render();
  void loadHistory();
  connect();
  setInterval(() => render(), 60_000); // keeps the relative times honest
}

start();
