// client_toast.ts — what a desktop notification says: summary, body, urgency and link from an envelope, and how a catch-up
// or a burst too fast to read becomes one summary per channel instead of a flood. Pure: the time is passed in.
import type { Envelope } from "./message";
import { showControls } from "./client_visible";

type Urgency = "low" | "normal" | "critical";

/**
 * One desktop notification. `summary` and `body` are plain text with control characters shown as escapes (a
 * notification daemon must not get ESC or a bidi override from a message); the notifier escapes markup.
 */
export type Toast = { channel: string; summary: string; body: string; urgency: Urgency; url?: string };

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

/** A message's notification: the title (or the channel) as summary; the text, then the channel and tags. */
export function toastFor(env: Envelope): Toast {
  const t: Toast = {
    channel: env.channel,
    summary: showControls(env.title ?? env.channel),
    body: showControls(env.title !== undefined ? `${env.message}\n${origin(env)}` : env.tags?.length ? `${env.message}\n${tagLine(env.tags)}` : env.message),
    urgency: toastUrgency(env.priority),
  };
  if (env.url !== undefined) t.url = env.url;
  return t;
}

/** One line for "latest: …": the title and the first line of the text. */
function gist(env: Envelope): string {
  const first = env.message.split(/\r?\n/, 1)[0]!;
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

/** A catch-up: each channel's messages one by one if there are few, else one summary, channels in order of first arrival. */
export function catchUpToasts(envs: Envelope[]): Toast[] {
  const byChannel = new Map<string, Envelope[]>();
  for (const e of envs) {
    let list = byChannel.get(e.channel);
    if (!list) byChannel.set(e.channel, (list = []));
    list.push(e);
  }
  const out: Toast[] = [];
  for (const [ch, list] of byChannel) {
    if (list.length > GROUP_OVER) out.push(summaryToast(ch, list, "missed"));
    else for (const e of list) out.push(toastFor(e));
  }
  return out;
}

/**
 * Live messages, paced for a person: per channel, the first GROUP_OVER in a window of `windowMs` show one by one;
 * the rest of that window are held and shown as one "N more on …" when it ends. A flood that goes on gets one
 * summary per window: after a window that held messages, the next one holds from its first message.
 */
export class BurstGrouper {
  private readonly windows = new Map<string, { until: number; shown: number; held: Envelope[] }>();

  constructor(private readonly windowMs = 5000) {}

  /** A live message: its toast now, or null when it is held for the window's summary. */
  offer(env: Envelope, now: number): Toast | null {
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
