// client_toast.ts — what a desktop notification says: summary, body, urgency, link, buttons, icon and image from an envelope,
// which notification an update replaces, and how a catch-up or a burst becomes one summary per channel. Pure: time passed in.
import { encryptedNote, type Action, type Envelope } from "./message";
import { showControls } from "./client_visible";
import { plainMarkdown } from "./client_markdown";

type Urgency = "low" | "normal" | "critical";

/** The actions a desktop can do: broadcast sends an Android intent, which has no meaning here (left out, and said). */
export type DesktopAction = Action & { action: "view" | "http" | "copy" };
const onDesktop = (a: Action): a is DesktopAction => a.action !== "broadcast";

/**
 * One desktop notification. `summary` and `body` are plain text with control characters shown as escapes (a
 * notification daemon must not get ESC or a bidi override from a message); the notifier escapes markup. `key` names
 * the notification an update replaces and a delete closes; `icon` and `image` are http(s) URLs the notifier fetches.
 */
export type Toast = {
  channel: string;
  summary: string;
  body: string;
  urgency: Urgency;
  url?: string;
  key?: string;
  actions?: DesktopAction[];
  icon?: string;
  image?: string;
};

/** Priority 5 is critical (it stays until dismissed), 3 and 4 (and none) normal, 1 and 2 low. */
export function toastUrgency(priority: number | undefined): Urgency {
  if (priority === undefined) return "normal";
  return priority >= 5 ? "critical" : priority >= 3 ? "normal" : "low";
}

const RANK: Record<Urgency, number> = { low: 0, normal: 1, critical: 2 };
const highest = (a: Urgency, b: Urgency): Urgency => (RANK[a] >= RANK[b] ? a : b);

const tagLine = (tags: string[]): string => tags.map((t) => `#${t}`).join(" ");
/** Where it came from, on a line of its own: the channel and the tags (without a title, the summary names the channel). */
const origin = (env: Envelope): string => (env.tags?.length ? `${env.channel} · ${tagLine(env.tags)}` : env.channel);

/**
 * The notification a message updates, deletes or clears: its channel and sequence_id, else its own id (ntfy's key, as
 * its Android app keys on topic and sequence ID). A plain payload has neither, and replaces nothing.
 */
export function toastKey(env: Envelope): string | undefined {
  const sid = env.sequence_id ?? env.id;
  return sid ? `${env.channel}\n${sid}` : undefined;
}

/**
 * The text a person reads: Markdown without its syntax (client_markdown.ts), a base64 body (UnifiedPush's ciphertext
 * for an app on a phone, unreadable here) as a short note of its size, anything else as sent.
 */
export const readableText = (env: Envelope): string => encryptedNote(env) ?? (env.content_type === "text/markdown" ? plainMarkdown(env.message) : env.message);

/** An attachment a notification can show as its image: an image type, said by the sender or by the name. */
export function isImageAttachment(env: Envelope): boolean {
  const a = env.attachment;
  if (!a) return false;
  return a.type !== undefined ? /^image\/(png|jpe?g|gif|webp|bmp)$/i.test(a.type) : /\.(png|jpe?g|gif|webp|bmp)$/i.test(a.name);
}

/** A message's notification: the title (or the channel) as summary; the text, then the channel and tags; its buttons. */
export function toastFor(env: Envelope): Toast {
  const text = env.attachment ? `${readableText(env)}\nattached: ${env.attachment.name}` : readableText(env);
  const t: Toast = {
    channel: env.channel,
    summary: showControls(env.title ?? env.channel),
    body: showControls(env.title !== undefined ? `${text}\n${origin(env)}` : env.tags?.length ? `${text}\n${tagLine(env.tags)}` : text),
    urgency: toastUrgency(env.priority),
  };
  if (env.url !== undefined) t.url = env.url;
  const key = toastKey(env);
  if (key !== undefined) t.key = key;
  const actions = env.actions?.filter(onDesktop) ?? [];
  if (actions.length) t.actions = actions.map((a) => ({ ...a, label: showControls(a.label, "show") }));
  if (env.icon !== undefined) t.icon = env.icon;
  if (isImageAttachment(env)) t.image = env.attachment!.url;
  return t;
}

/** One line for "latest: …": the title and the first line of the text. */
function gist(env: Envelope): string {
  const first = readableText(env).split(/\r?\n/, 1)[0]!;
  const line = showControls(env.title !== undefined ? `${env.title}: ${first}` : first);
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/** Many messages on one channel as one notification: "12 missed on alerts — latest: …". */
export function summaryToast(channel: string, envs: Envelope[], what: "missed" | "more"): Toast {
  const latest = envs[envs.length - 1]!;
  let urgency: Urgency = "low";
  for (const e of envs) urgency = highest(urgency, toastUrgency(e.priority));
  const t: Toast = { channel, summary: showControls(`${envs.length} ${what} on ${channel}`), body: `latest: ${gist(latest)}`, urgency };
  if (latest.url !== undefined) t.url = latest.url;
  return t;
}

/** More than this many on one channel at once (a catch-up, or a burst) become one summary. */
export const GROUP_OVER = 3;

/** Priority 4 and 5: never held back, never folded into a summary. */
export const isUrgent = (env: Envelope): boolean => env.priority !== undefined && env.priority >= 4;

/**
 * A catch-up's messages folded as ntfy's readers fold its append-only log: per notification (toastKey), only the
 * latest update; one deleted or cleared later is gone. `closed` are the keys of the deletes and clears, in order: a
 * notification still on screen from before the absence is closed.
 */
export function foldUpdates(envs: Envelope[]): { messages: Envelope[]; closed: string[] } {
  const kept: (Envelope | null)[] = [];
  const at = new Map<string, number>();
  const closed: string[] = [];
  for (const e of envs) {
    const key = toastKey(e);
    const before = key === undefined ? undefined : at.get(key);
    if (before !== undefined) kept[before] = null;
    if (e.event !== undefined) {
      if (key !== undefined) closed.push(key);
      continue;
    }
    if (key !== undefined) at.set(key, kept.length);
    kept.push(e);
  }
  return { messages: kept.filter((e) => e !== null), closed };
}

/**
 * A catch-up: updates folded (foldUpdates); each channel's messages one by one if there are few, else one summary,
 * channels in order of first arrival; urgent ones always on their own.
 */
export function catchUpToasts(envs: Envelope[]): { toasts: Toast[]; closed: string[] } {
  const { messages, closed } = foldUpdates(envs);
  const byChannel = new Map<string, Envelope[]>();
  for (const e of messages) {
    let list = byChannel.get(e.channel);
    if (!list) byChannel.set(e.channel, (list = []));
    list.push(e);
  }
  const toasts: Toast[] = [];
  for (const [ch, list] of byChannel) {
    const calm = list.filter((e) => !isUrgent(e));
    if (calm.length > GROUP_OVER) {
      for (const e of list) if (isUrgent(e)) toasts.push(toastFor(e));
      toasts.push(summaryToast(ch, calm, "missed"));
    } else for (const e of list) toasts.push(toastFor(e));
  }
  return { toasts, closed };
}

/**
 * Live messages, paced for a person: per channel, the first GROUP_OVER in a window of `windowMs` show one by one;
 * the rest of that window are held and shown as one "N more on …" when it ends; urgent ones (priority 4 and 5) always
 * show at once, on their own. A flood that goes on gets one
 * summary per window: after a window that held messages, the next one holds from its first message.
 */
export class BurstGrouper {
  private readonly windows = new Map<string, { until: number; shown: number; held: Envelope[] }>();

  constructor(private readonly windowMs = 5000) {}

  /** A live message: its toast now, or null when it is held for the window's summary. */
  offer(env: Envelope, now: number): Toast | null {
    // Urgent stays urgent: shown at once, and not counted, so it neither waits nor vanishes into "N more".
    if (isUrgent(env)) return toastFor(env);
    let w = this.windows.get(env.channel);
    // A window that ended with nothing held is over; one that ended holding messages waits for flush().
    if (w && now >= w.until && w.held.length === 0) w = undefined;
    if (!w) this.windows.set(env.channel, (w = { until: now + this.windowMs, shown: 0, held: [] }));
    if (w.shown < GROUP_OVER && w.held.length === 0) {
      w.shown++;
      return toastFor(env);
    }
    w.held.push(env);
    return null;
  }

  /** The summaries of every window that has ended by `now`. */
  flush(now: number): Toast[] {
    const out: Toast[] = [];
    for (const [ch, w] of this.windows) {
      if (now < w.until) continue;
      if (w.held.length === 0) {
        this.windows.delete(ch);
        continue;
      }
      out.push(w.held.length === 1 ? toastFor(w.held[0]!) : summaryToast(ch, w.held, "more"));
      this.windows.set(ch, { until: now + this.windowMs, shown: GROUP_OVER, held: [] });
    }
    return out;
  }

  /** When flush() next has something to show (null: nothing held). */
  nextFlushAt(): number | null {
    let next: number | null = null;
    for (const w of this.windows.values()) if (w.held.length && (next === null || w.until < next)) next = w.until;
    return next;
  }
}

/** Escapes text for a notification server that reads body markup (the spec's subset of HTML). */
export const markupEscape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
