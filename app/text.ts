// app/text.ts — the app's pure rules: which of your channels (or globs) a message belongs to, how many messages
// each channel keeps, links found in a message's text, long messages, and channels typed into Add. No DOM.
import { compileGlob, isPattern } from "../glob";
import { compareIds, type Envelope } from "../message";

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
