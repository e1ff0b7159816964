// app/card.ts — one message's card in the app's list: title, text (Markdown rendered safely), icon, attachment,
// tags, link and action buttons, built from DOM nodes and text, never from a message's own markup.
import { encryptedNote, type Action, type Envelope } from "../message";
import { markdownHtml } from "./markdown";
import { attachmentPlan, cardKey, httpUrl, isLong, isScheduled, splitLinks, type Card } from "./text";

const SVG = (path: string) =>
  `<svg width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${path}</svg>`;
const CLIP = SVG('<path d="m21.4 11.1-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5"/>');

/** What the reader did to cards, kept across the list's re-renders (every live message redraws it). */
const state = {
  /** Messages the reader unfolded with "Show more". */
  unfolded: new Set<string>(),
  /** Each card's last action result ("Done: POST answered 200"), by card key. */
  results: new Map<string, string>(),
  /** Images of unknown size the reader asked to load. */
  asked: new Set<string>(),
  /** Cards marked read by an action with clear: true. */
  read: new Set<string>(),
};

/** What the card asks of the page: draw the list again. */
export type CardHost = { rerender: () => void };

export function relTime(unixSeconds: number): string {
  const s = Math.max(0, Math.round(Date.now() / 1000 - unixSeconds));
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(unixSeconds * 1000).toLocaleDateString();
}

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, className = "", text?: string): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
};

/** A link that opens a new tab which cannot reach back into the app (window.opener) nor learn where it came from. */
function outLink(href: string, className: string, text: string): HTMLAnchorElement {
  const a = el("a", className, text);
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

/** Text with its links made clickable: built from text nodes and anchors, never from markup. */
function withLinks(e: HTMLElement, text: string): HTMLElement {
  for (const piece of splitLinks(text)) e.append("text" in piece ? piece.text : outLink(piece.url, "inline", piece.url));
  return e;
}

function top(m: Envelope, isRead: boolean): HTMLElement {
  const row = el("div", "top");
  const icon = httpUrl(m.icon);
  if (icon) {
    const img = el("img", "icon");
    img.alt = "";
    img.width = 24;
    img.height = 24;
    img.loading = "lazy";
    img.referrerPolicy = "no-referrer";
    img.onerror = () => img.remove(); // a broken icon leaves no broken-image mark
    img.src = icon;
    row.append(img);
  }
  row.append(el("span", "channel", m.channel));
  if (isScheduled(m)) row.append(el("span", "mark", "Scheduled"));
  if (isRead) row.append(el("span", "mark", "Read"));
  const time = el("time");
  time.dateTime = new Date(m.time * 1000).toISOString();
  time.textContent = isScheduled(m) ? `for ${new Date(m.time * 1000).toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" })}` : relTime(m.time);
  row.append(time);
  return row;
}

/** The text: Markdown through markdown-it (raw HTML escaped, only http(s) and mailto links), else text with links. */
function body(m: Envelope, key: string, host: CardHost): HTMLElement[] {
  const note = encryptedNote(m);
  if (note !== null) return [el("p", "encrypted", note)]; // UnifiedPush's ciphertext: its size, not base64 noise
  const markdown = m.content_type === "text/markdown";
  const text = markdown ? el("div", "md") : withLinks(el("p"), m.message);
  if (markdown) text.innerHTML = markdownHtml(m.message);
  text.dir = "auto"; // Hebrew or Arabic reads right to left
  if (!isLong(m.message)) return [text];
  const open = state.unfolded.has(key);
  text.classList.toggle("folded", !open);
  const more = el("button", "more", open ? "Show less" : "Show more");
  more.type = "button";
  more.setAttribute("aria-expanded", String(open));
  more.onclick = () => {
    if (!state.unfolded.delete(key)) state.unfolded.add(key);
    host.rerender();
  };
  return [text, more];
}

/** An image under the size limit is previewed (lazily); one of unknown size on a tap; any other file is a download link. */
function attachment(m: Envelope, key: string, host: CardHost): HTMLElement | null {
  if (!m.attachment) return null;
  const plan = attachmentPlan(m.attachment, location.origin);
  const box = el("div", "attachment");
  const caption = plan.url ? outLink(plan.url, "file", plan.caption) : el("span", "file", `${plan.caption} (no http(s) address to open)`);
  caption.insertAdjacentHTML("afterbegin", CLIP); // constant markup
  if (plan.url && (plan.image === "preview" || (plan.image === "ask" && state.asked.has(key)))) {
    const img = el("img");
    img.loading = "lazy";
    img.decoding = "async";
    img.referrerPolicy = "no-referrer";
    img.alt = m.attachment.name;
    img.src = plan.url;
    box.append(outLink(plan.url, "preview", ""), caption);
    box.firstElementChild!.append(img);
  } else if (plan.url && plan.image === "ask") {
    const load = el("button", "load", "Show image (size unknown)");
    load.type = "button";
    load.onclick = () => {
      state.asked.add(key);
      host.rerender();
    };
    box.append(caption, load);
  } else box.append(caption);
  return box;
}

/** An http action, sent from this page: the other server must allow it (CORS). No cookies or login go with it. */
async function sendHttp(a: Action): Promise<[result: string, ok: boolean]> {
  const url = httpUrl(a.url)!; // a button without one is never wired to this
  const method = (a.method ?? "POST").toUpperCase(); // ntfy's default for http actions
  try {
    const r = await fetch(url, { method, headers: a.headers ?? {}, body: method === "GET" || method === "HEAD" ? undefined : (a.body ?? ""), credentials: "omit", referrerPolicy: "no-referrer" });
    return r.ok ? [`${a.label}: done (${method} answered ${r.status})`, true] : [`${a.label}: failed, ${new URL(url).host} answered ${r.status}`, false];
  } catch (err) {
    return [`${a.label}: failed, no answer this page may read from ${new URL(url).host} (${(err as Error).message}). Requests from the app need that server to allow ${location.origin} (CORS).`, false];
  }
}

async function copyValue(a: Action): Promise<[result: string, ok: boolean]> {
  try {
    await navigator.clipboard.writeText(a.value ?? "");
    return [`${a.label}: copied`, true];
  } catch {
    return [`${a.label}: this browser allows copying only on https; the value is: ${a.value ?? ""}`, false];
  }
}

const HOW: Record<Action["action"], string> = {
  view: "Opens the address in a new tab",
  http: "Sends the request from this page: the other server must allow requests from this app (CORS); no login or cookies go with it",
  copy: "Copies the value to the clipboard",
  broadcast: "An Android broadcast: only ntfy's Android app can send one, a browser cannot",
};

function actionButton(a: Action, key: string, host: CardHost): HTMLElement {
  const done = (result: string, ok: boolean) => {
    state.results.set(key, result);
    if (ok && a.clear) state.read.add(key);
    host.rerender();
  };
  const url = httpUrl(a.url);
  if (a.action === "view" && url) {
    const link = outLink(url, "action", a.label);
    link.title = `${HOW.view}: ${url}`;
    if (a.clear) link.addEventListener("click", () => done("", true));
    return link;
  }
  const b = el("button", "action", a.label);
  b.type = "button";
  b.title = a.action === "http" && url ? `${HOW.http}: ${(a.method ?? "POST").toUpperCase()} ${url}` : HOW[a.action];
  if (a.action === "broadcast" || ((a.action === "view" || a.action === "http") && !url)) {
    // Shown, not left out, so the reader learns it exists; aria-disabled keeps the reason reachable on a tap.
    b.setAttribute("aria-disabled", "true");
    b.onclick = () => done(a.action === "broadcast" ? `${a.label}: ${HOW.broadcast}` : `${a.label}: not ${a.action === "view" ? "opened" : "sent"}, only http(s) addresses are`, false);
  } else b.onclick = () => void (a.action === "http" ? sendHttp(a) : copyValue(a)).then(([result, ok]) => done(result, ok));
  return b;
}

function actions(m: Envelope, key: string, host: CardHost): HTMLElement[] {
  if (!m.actions?.length) return [];
  const row = el("div", "actions");
  row.append(...m.actions.map((a) => actionButton(a, key, host)));
  const result = state.results.get(key);
  const line = el("p", "action-result", result ?? "");
  line.setAttribute("role", "status");
  line.hidden = !result;
  return [row, line];
}

/** The card for a folded message: `fresh` ones arrive with a short animation. */
export function messageCard({ m, read }: Card, fresh: boolean, host: CardHost): HTMLLIElement {
  const key = cardKey(m);
  const isRead = read || state.read.has(key);
  const li = el("li", `msg${m.priority ? ` p${m.priority}` : ""}${fresh ? " new" : ""}${isRead ? " read" : ""}${isScheduled(m) ? " later" : ""}`);
  li.dataset.id = m.id;
  li.dataset.key = key;
  li.append(top(m, isRead));
  if (m.title) {
    const h = el("h3", "", m.title);
    h.dir = "auto";
    li.append(h);
  }
  li.append(...body(m, key, host));
  const att = attachment(m, key, host);
  if (att) li.append(att);
  if (m.tags?.length) {
    const tags = el("div", "tags");
    tags.append(...m.tags.map((t) => el("span", "", t)));
    li.append(tags);
  }
  const link = httpUrl(m.url);
  if (link) li.append(outLink(link, "open", "Open link →"));
  li.append(...actions(m, key, host));
  return li;
}
