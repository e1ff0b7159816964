// app/app.ts — the browser app's page: your channels and globs (remembered in localStorage), messages per channel
// from /events and /messages (folded into cards by sequence_id), unread counts, mute, connection status, and
// turning on notifications (Web Push).
import { EnvelopeSchema, type Envelope } from "../message";
import { messageCard } from "./card";
import { channelMatcher, foldCards, keepPerChannel, notificationFor, notificationTag, parseChannelInput } from "./text";
import { pushSupport, subscribePush, updatePush } from "./pushclient";

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

const SVG = (path: string) =>
  `<svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${path}</svg>`;
const BELL = SVG('<path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/><path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/>');
const BELL_OFF = SVG('<path d="M8.7 3A6 6 0 0 1 18 8a21.3 21.3 0 0 0 .6 5"/><path d="M17 17H3s3-2 3-9a4.67 4.67 0 0 1 .3-1.7"/><path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/><path d="m2 2 20 20"/>');
let channels: string[] = store.get("channels", []);
let muted = new Set<string>(store.get<string[]>("muted", []));
let unread: Record<string, number> = store.get("unread", {});
let messages: Envelope[] = store.get("messages", []);
let filter: string | null = null;
/** Notifications: "push" (Web Push: they arrive with the app closed), "page" (only while this page is open), or off. */
let notify: "push" | "page" | false = store.get<"push" | "page" | false>("notify", false);
let source: EventSource | null = null;
/** "Show scheduled messages": those not yet due (GET /messages?scheduled=1), listed above the rest. */
let showScheduled: boolean = store.get("showScheduled", false);
let scheduled: Envelope[] = [];
/** Which loadScheduled call is the latest: an older call's answer that arrives after it is not shown. */
let scheduledAsked = 0;
/** Channels whose oldest kept message is the oldest there is (nothing older to load). */
const exhausted = new Set<string>();

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
  messages = keepPerChannel(messages, channels);
  store.set("channels", channels);
  store.set("muted", [...muted]);
  store.set("unread", unread);
  store.set("messages", messages);
}

/** The channels notifications are wanted for: all of yours but the muted ones. */
const notifiedChannels = () => channels.filter((c) => !muted.has(c));

/** Channels changed (added, removed, muted): the stream follows, and so does the push subscription. */
function channelsChanged(): void {
  save();
  render();
  connect();
  if (notify === "push")
    void updatePush(notifiedChannels()).then((err) => {
      if (err) setPushLine(`Push notifications could not be updated: ${err}`);
      else setPushLine(pushLine());
    });
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
        channelsChanged();
      };
      const remove = document.createElement("button");
      remove.className = "remove";
      remove.type = "button";
      remove.textContent = "×";
      remove.setAttribute("aria-label", `Remove ${ch}`);
      remove.onclick = () => {
        channels = channels.filter((c) => c !== ch);
        muted.delete(ch);
        if (filter === ch) filter = null;
        channelsChanged();
      };
      li.append(name, mute, remove);
      return li;
    }),
  );
}

let freshIds = new Set<string>();
function render(): void {
  renderChannels();
  const owner = channelMatcher(channels);
  // History is append-only: updates, deletes and clears are entries of their own, folded here into what is current.
  const shown = foldCards(
    messages.filter((m) => {
      const c = owner(m.channel);
      return c !== null && (filter === null || c === filter);
    }),
  );
  const later = showScheduled ? scheduled.filter((m) => filter === null || owner(m.channel) === filter).map((m) => ({ m, read: false })) : [];
  $("messages").replaceChildren(...[...later, ...shown].map((card) => messageCard(card, freshIds.has(card.m.id), { rerender: render })));
  freshIds = new Set();
  $("empty").hidden = shown.length > 0;
  // Older messages can be loaded for the channel shown (or for all of them).
  const older = $<HTMLButtonElement>("older");
  const wanted = filter === null ? channels : [filter];
  older.hidden = shown.length === 0 || wanted.every((c) => exhausted.has(c));
}

function add(m: Envelope, live: boolean): boolean {
  if (m.id && messages.some((x) => x.id === m.id && x.channel === m.channel)) return false;
  messages.push(m);
  if (live && m.event) {
    // A delete or clear: no unread count, and the page's own notification for it goes away.
    if (notify === "page") void closeNotifications(m);
  } else if (live) {
    freshIds.add(m.id);
    const c = channelMatcher(channels)(m.channel) ?? m.channel;
    if (filter !== c && !document.hasFocus()) unread[c] = (unread[c] ?? 0) + 1;
    else if (filter !== null && filter !== c) unread[c] = (unread[c] ?? 0) + 1;
    // With Web Push on, the service worker shows it (and would show it twice); otherwise the page does.
    if (notify === "page" && !muted.has(c) && Notification.permission === "granted") void showNotification(m);
  }
  return true;
}

async function showNotification(m: Envelope): Promise<void> {
  // Android Chrome only shows notifications raised by a service worker, so every platform goes that way; the
  // service worker's push handler builds the same notification (text.ts notificationFor).
  const reg = await navigator.serviceWorker.ready;
  const maxActions = (Notification as unknown as { maxActions?: number }).maxActions ?? 0;
  const n = notificationFor(m, maxActions, location.origin);
  await reg.showNotification(n.title, n.options);
}

async function closeNotifications(m: Envelope): Promise<void> {
  const reg = await navigator.serviceWorker.ready;
  for (const n of await reg.getNotifications({ tag: notificationTag(m) })) n.close();
}

function lastId(): string | undefined {
  const owner = channelMatcher(channels);
  return messages.find((m) => m.id && owner(m.channel) !== null)?.id;
}

async function fetchMessages(q: URLSearchParams): Promise<Envelope[] | null> {
  const r = await fetch(`/messages?${q}`);
  if (!r.ok) return null;
  const list: unknown = await r.json();
  const out: Envelope[] = [];
  for (const item of Array.isArray(list) ? list : []) {
    const m = EnvelopeSchema.safeParse(item);
    if (m.success) out.push(m.data);
  }
  return out;
}

/**
 * The scheduled messages of your channels, when asked for: /messages?scheduled=1 lists them after the history, each
 * marked "scheduled", its id the handle that cancels it and its time when it is due. Kept apart from `messages`:
 * they are not history (no stream ID to start a stream from) until delivered.
 */
async function loadScheduled(): Promise<void> {
  const asked = ++scheduledAsked;
  if (!showScheduled || !channels.length) {
    scheduled = [];
    render();
    return;
  }
  const q = new URLSearchParams();
  for (const c of channels) q.append("channel", c);
  q.set("limit", "1");
  q.set("scheduled", "1");
  try {
    const r = await fetch(`/messages?${q}`);
    const list: unknown = r.ok ? await r.json() : [];
    if (asked !== scheduledAsked) return; // a later call asked after something changed: its answer is the one to show
    const out: Envelope[] = [];
    for (const item of Array.isArray(list) ? list : []) {
      const m = EnvelopeSchema.safeParse(item);
      if (m.success && (item as { scheduled?: unknown }).scheduled === true) out.push(m.data);
    }
    scheduled = out;
  } catch {
    // offline: the list stays as it was
  }
  render();
}

/** Loads the latest messages of every channel; true when the server answered (even with none). */
async function loadHistory(): Promise<boolean> {
  if (!channels.length) return false;
  const q = new URLSearchParams();
  for (const c of channels) q.append("channel", c);
  q.set("limit", "50");
  try {
    const got = await fetchMessages(q);
    for (const m of got ?? []) add(m, false);
    save();
    render();
    return got !== null;
  } catch {
    // Offline: the messages kept in localStorage are already on screen.
    return false;
  } finally {
    // Asked after history, not beside it: history may hold the delivery or cancel of one listed as scheduled, and
    // the stream starts after it, so no live message would tell.
    if (showScheduled) void loadScheduled();
  }
}

/** "Load older": the 50 before the oldest one kept, for each channel shown. */
async function loadOlder(): Promise<void> {
  const owner = channelMatcher(channels);
  for (const c of filter === null ? channels : [filter]) {
    const mine = messages.filter((m) => owner(m.channel) === c && m.id);
    const oldest = mine[mine.length - 1];
    const q = new URLSearchParams({ channel: c, limit: "50" });
    if (oldest) q.set("before", oldest.id);
    const got = await fetchMessages(q).catch(() => null);
    if (!got) continue;
    if (got.length < 50) exhausted.add(c);
    for (const m of got) add(m, false);
  }
  // Loaded on purpose: keep them even past the per-channel cap until the next live message.
  store.set("messages", messages);
  render();
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

/**
 * Opens the stream, from the newest message shown. `fallback` is where to start when none is shown: "0-0" right
 * after the server answered that the channels have no history, so whatever is published before the stream opens
 * is replayed rather than missed.
 */
function connect(fallback?: string): void {
  source?.close();
  source = null;
  if (!channels.length) {
    setStatus("No channels", "wait");
    return;
  }
  const q = new URLSearchParams();
  for (const c of channels) q.append("channel", c);
  const since = lastId() ?? fallback;
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
        // A scheduled one may have just been delivered (or replaced): the list of those still waiting follows.
        if (showScheduled) void loadScheduled();
      }
    } catch {
      // a frame that is not JSON is ignored
    }
  };
}

function setPushLine(text: string): void {
  const el = $("push-status");
  el.textContent = text;
  el.hidden = text === "";
}

function pushLine(): string {
  const n = notifiedChannels().length;
  if (notify === "push") return `Push notifications are on for ${n} channel${n === 1 ? "" : "s"}: they arrive with the app closed.`;
  if (notify === "page") return "Notifications are on while this page is open (this browser has no Web Push here).";
  return "";
}

function setupNotifications(): void {
  const btn = $<HTMLButtonElement>("enable-notifications");
  const support = pushSupport();
  if (support === "ios-tab") {
    // iOS gives notifications only to an app on the Home Screen: say how, instead of a button that cannot work.
    btn.hidden = true;
    setPushLine("To get notifications on iPhone or iPad, add Notistream to your Home Screen first: tap Share, then “Add to Home Screen”, and open it from there.");
    return;
  }
  if (!("Notification" in window) || !("serviceWorker" in navigator)) return;
  const refresh = () => {
    const granted = Notification.permission === "granted";
    btn.hidden = Boolean(notify) && granted;
    btn.textContent = Notification.permission === "denied" ? "Notifications are blocked in the browser settings" : "Enable notifications";
    btn.disabled = Notification.permission === "denied";
    setPushLine(granted ? pushLine() : "");
  };
  // A user gesture, as iOS requires: permission first, then the push subscription.
  btn.onclick = async () => {
    btn.disabled = true;
    const p = await Notification.requestPermission();
    // Notifications work at once while the page is open; push, which needs the browser's push service, follows.
    notify = p === "granted" ? "page" : false;
    store.set("notify", notify);
    btn.disabled = false;
    refresh();
    if (notify && support === "ok") {
      setPushLine("Turning on push notifications…");
      const err = await subscribePush(notifiedChannels()).catch((e: Error) => e.message);
      if (err === null) notify = "push";
      else console.warn(`Web Push is not available: ${err}`);
      store.set("notify", notify);
      refresh();
    }
  };
  refresh();
  // Opening the app renews the push subscription (the server drops ones not renewed for 60 days).
  if (notify === "push" && Notification.permission === "granted")
    void updatePush(notifiedChannels()).then((err) => {
      if (err) {
        notify = false;
        store.set("notify", notify);
        refresh();
      }
    });
}

function start(): void {
  $("origin").textContent = location.origin;
  const params = new URLSearchParams(location.search);
  const fromUrl = parseChannelInput(params.get("channels") ?? "");
  for (const c of fromUrl) if (!channels.includes(c)) channels.push(c);
  // Taken once: a channel removed later must not come back from the address on the next reload.
  if (params.has("channels")) {
    params.delete("channels");
    history.replaceState(null, "", `${location.pathname}${params.size ? `?${params}` : ""}${location.hash}`);
  }
  const show = params.get("show");
  if (show && channels.includes(show)) filter = show;
  save();
  $<HTMLFormElement>("add").onsubmit = (e) => {
    e.preventDefault();
    const input = $<HTMLInputElement>("channel-input");
    const added = parseChannelInput(input.value).filter((c) => !channels.includes(c));
    input.value = "";
    if (!added.length) return;
    channels.push(...added);
    channelsChanged();
    void loadHistory();
  };
  $<HTMLButtonElement>("older").onclick = () => void loadOlder();
  const later = $<HTMLInputElement>("show-scheduled");
  later.checked = showScheduled;
  later.onchange = () => {
    showScheduled = later.checked;
    store.set("showScheduled", showScheduled);
    void loadScheduled();
  };
  window.addEventListener("online", () => connect());
  window.addEventListener("offline", () => setStatus("Offline", "offline"));
  window.addEventListener("focus", () => {
    if (filter) unread[filter] = 0;
  });
  if ("serviceWorker" in navigator) {
    void navigator.serviceWorker.register("/sw.js");
    // A tapped notification asks an open app to show its channel.
    navigator.serviceWorker.addEventListener("message", (ev: MessageEvent<{ show?: string }>) => {
      if (ev.data?.show && channels.includes(ev.data.show)) {
        filter = ev.data.show;
        render();
      }
    });
  }
  setupNotifications();
  render();
  // The stream opens once history is in, from the newest message: nothing published in between is missed.
  void loadHistory().then((answered) => connect(answered ? "0-0" : undefined));
  setInterval(() => (showScheduled ? void loadScheduled() : render()), 60_000); // keeps the relative times (and what is due) honest
}

start();
