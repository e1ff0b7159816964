// app/text.ts — the app's pure rules: which of your channels (or globs) a message belongs to, how many messages
// each channel keeps, links found in a message's text, long messages, channels typed into Add, and the rich fields:
// cards folded by sequence_id, safe URLs, attachments, and a message as a notification. No DOM.
import { compileGlob, isPattern } from "../glob";
import { compareIds, encryptedNote, type Action, type Attachment, type Envelope } from "../message";
import { markdownText } from "./markdown";

/** Messages kept per channel of yours, so a busy channel never pushes a quiet one's messages out. */
const KEEP_PER_CHANNEL = 200;

/** "x, y ,x" typed into Add: the channels x and y. */
export function parseChannelInput(s: string): string[] {
  return [...new Set(s.split(",").map((c) => c.trim()).filter(Boolean))];
}

/** For your channel list: the one a message on `channel` belongs to (its name, or the first glob that matches). */
export function channelMatcher(channels: string[]): (channel: string) => string | null {
  const globs = channels.filter(isPattern).map((g) => [g, compileGlob(g)] as const);
  const exact = new Set(channels.filter((c) => !isPattern(c)));
  return (channel) => (exact.has(channel) ? channel : (globs.find(([, match]) => match(channel))?.[0] ?? null));
}

/** Newest first, at most KEEP_PER_CHANNEL for each of your channels; messages no channel of yours wants are dropped. */
export function keepPerChannel(messages: Envelope[], channels: string[], per = KEEP_PER_CHANNEL): Envelope[] {
  const owner = channelMatcher(channels);
  const count = new Map<string, number>();
  const sorted = [...messages].sort((a, b) => (a.id && b.id ? compareIds(b.id, a.id) : 0));
  return sorted.filter((m) => {
    const c = owner(m.channel);
    if (c === null) return false;
    const n = (count.get(c) ?? 0) + 1;
    count.set(c, n);
    return n <= per;
  });
}

type Piece = { text: string } | { url: string };

/** A message's text with its http(s) links apart, so they can be made clickable (trailing punctuation stays text). */
export function splitLinks(text: string): Piece[] {
  const out: Piece[] = [];
  let at = 0;
  for (const m of text.matchAll(/https?:\/\/[^\s<>"'`]+/g)) {
    let url = m[0];
    // A sentence's full stop or a closing bracket is not part of the link.
    while (/[.,;:!?)\]}]$/.test(url) && !(url.endsWith(")") && url.includes("("))) url = url.slice(0, -1);
    if (m.index! > at) out.push({ text: text.slice(at, m.index) });
    out.push({ url });
    at = m.index! + url.length;
  }
  if (at < text.length) out.push({ text: text.slice(at) });
  return out;
}

/** Long enough to fold behind "Show more" (more than about a screen on a phone). */
export const isLong = (text: string): boolean => text.length > 600 || text.split("\n").length > 12;

/** A card's identity: its channel and the notification's sequence ID (the message's own id when it has none). */
export const cardKey = (m: Envelope): string => `${m.channel}\n${m.sequence_id ?? m.id}`;

export type Card = { m: Envelope; read: boolean };

/**
 * History and live messages folded into cards, as ntfy's clients fold its append-only log: in ID order, a message
 * with a card's key replaces it (an update), message_delete removes it and message_clear marks it read. Newest
 * first, a card placed by its newest version. A message with no id (a plain PUBLISH) is a card of its own.
 */
export function foldCards(messages: Envelope[]): Card[] {
  const ordered = [...messages].sort((a, b) => (a.id && b.id ? compareIds(a.id, b.id) : 0));
  const cards = new Map<string, Card>();
  ordered.forEach((m, i) => {
    const key = m.id || m.sequence_id ? cardKey(m) : `${m.channel}\n#${i}`;
    if (m.event === "message_delete") cards.delete(key);
    else if (m.event === "message_clear") {
      const card = cards.get(key);
      if (card) card.read = true;
    } else {
      cards.delete(key); // re-inserted: a Map keeps insertion order, so the card moves to its newest version's place
      cards.set(key, { m, read: false });
    }
  });
  return [...cards.values()].reverse();
}

/** `s` as an absolute http(s) URL (a relative one taken against `base`), or null: never javascript:, data: or the like. */
export function httpUrl(s: string | undefined, base?: string): string | null {
  if (!s) return null;
  try {
    const u = new URL(s, base);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch {
    return null;
  }
}

/** A file size for people: 980 B, 12 KB, 3.4 MB. */
export function sizeText(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = bytes / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** Images larger than this are not loaded by the app (a phone on a metered line); the link and size are shown. */
export const PREVIEW_MAX_BYTES = 5_000_000;

const IMAGE_NAME = /\.(?:png|jpe?g|gif|webp|avif|bmp)$/i;

/**
 * What the app does with an attachment: its http(s) URL (null: not one, so no link at all), and for an image
 * whether to preview it ("preview": its size is known and under the limit; "ask": size unknown, loaded on a tap;
 * "no": too large, or not an image), with a caption of its name and size.
 */
export function attachmentPlan(a: Attachment, base?: string, limit = PREVIEW_MAX_BYTES): { url: string | null; image: "preview" | "ask" | "no"; caption: string } {
  const url = httpUrl(a.url, base);
  const isImage = a.type ? a.type.startsWith("image/") : IMAGE_NAME.test(a.name);
  const size = typeof a.size === "number" && a.size >= 0 ? a.size : null;
  const image = !url || !isImage ? "no" : size === null ? "ask" : size <= limit ? "preview" : "no";
  const caption = `${a.name || "file"} · ${size === null ? "size unknown" : sizeText(size)}${isImage && size !== null && size > limit ? `, not previewed (over ${sizeText(limit)})` : ""}`;
  return { url, image, caption };
}

/** Delivered later than now: a scheduled message (its time is when it is due). */
export const isScheduled = (m: Envelope, nowSeconds = Date.now() / 1000): boolean => m.time > nowSeconds + 1;

/** The message's text as a person reads it: Markdown as clean text, plain text as it is. */
export const plainText = (m: Envelope): string => encryptedNote(m) ?? (m.content_type === "text/markdown" ? markdownText(m.message) : m.message);

/**
 * A notification's tag: the sequence ID, so an update replaces the notification and a delete finds it, with the
 * channel after a space (a sequence ID has none), since two channels may use the same sequence ID.
 */
export const notificationTag = (m: Envelope): string => `${m.sequence_id ?? m.id} ${m.channel}`;

/** The actions a notification can carry: a button opens a page (view) or sends a request (http); both need an http(s) URL. */
export type NotificationAction = Pick<Action, "id" | "action" | "label" | "url" | "method" | "headers" | "body">;
export type NotificationData = { url?: string; channel?: string; id?: string; actions?: NotificationAction[] };
/** NotificationOptions as browsers take them (TypeScript's DOM types leave out actions, image and timestamp). */
export type NotificationSpec = {
  title: string;
  options: Omit<NotificationOptions, "data"> & { actions: { action: string; title: string }[]; image?: string; renotify: boolean; timestamp: number; data: NotificationData };
};

/**
 * The notification for a message: title, clean body, tag by sequence ID, its icon (http(s) only), an image
 * attachment under the preview limit as the image, and view and http actions up to what the browser shows
 * (Notification.maxActions). copy needs the clipboard and broadcast Android: neither can run in a notification.
 */
export function notificationFor(m: Envelope, maxActions: number, base?: string): NotificationSpec {
  const text = plainText(m);
  const actions: NotificationAction[] = (m.actions ?? [])
    .filter((a) => (a.action === "view" || a.action === "http") && httpUrl(a.url) !== null)
    .slice(0, Math.max(0, maxActions))
    .map(({ id, action, label, url, method, headers, body }) => ({ id, action, label, url, method, headers, body }));
  const att = m.attachment ? attachmentPlan(m.attachment, base) : null;
  return {
    title: m.title || m.channel,
    options: {
      body: m.title ? `${text}\n${m.channel}` : text,
      tag: notificationTag(m),
      // An update, or a new message, alerts again rather than changing silently.
      renotify: true,
      icon: httpUrl(m.icon) ?? "/icon-192.png",
      badge: "/icon-192.png",
      timestamp: m.time * 1000,
      requireInteraction: m.priority === 5,
      actions: actions.map((a) => ({ action: a.id, title: a.label })),
      ...(att?.image === "preview" && att.url ? { image: att.url } : {}),
      data: { url: m.url, channel: m.channel, id: m.id, ...(actions.length ? { actions } : {}) },
    },
  };
}
