// sender.ts — the toolkit every sender (github.ts, gitlab.ts, gitea.ts, alerts.ts) renders with: JSON accessors with
// one meaning each, the constant-time secret and signature checks, the text helpers, and the outcome type. Pure: no I/O.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Notification } from "./message";

/** A delivery's JSON object, as the body parser hands it over (web_body.ts senderPayload). */
export type Json = Record<string, unknown>;

/** What a sender's delivery becomes: a notification to publish, a ping (a test delivery), or nothing, with the reason. */
export type SenderOutcome =
  | { kind: "publish"; notification: Notification }
  | { kind: "ping"; zen: string; channel: string | null }
  | { kind: "ignored"; reason: string };

// JSON accessors: a payload is untrusted, so every field is read through one of these, never cast.
/** An object (not an array), or an empty one: so a chain `obj(obj(p.a).b)` never throws. */
export const obj = (v: unknown): Json => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {});
/** An array's items, each read with `obj`; anything but an array is an empty list. */
export const objs = (v: unknown): Json[] => (Array.isArray(v) ? v.map(obj) : []);
/** A string, the empty one included, or undefined. */
export const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
/** A string with at least one character, or undefined: an empty field falls through to the next `??`. */
export const nonEmpty = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
/** A number, or undefined. */
export const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

// Text helpers.
/** The first line, trimmed: a commit's subject. */
export const firstLine = (s: string): string => s.split("\n")[0]!.trim();
/** At most `n` characters, the last one an ellipsis when cut. */
export const clip = (s: string, n: number): string => (s.length > n ? s.slice(0, n - 1) + "…" : s);
/** "1 commit", "2 commits". */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

// Checks.
/**
 * Whether a secret a caller sent equals the expected one, in constant time. Both are hashed first: equal lengths, so
 * timingSafeEqual never throws and the time leaks neither the content nor the length.
 */
export function sameSecret(sent: string, expected: string): boolean {
  return timingSafeEqual(createHash("sha256").update(sent).digest(), createHash("sha256").update(expected).digest());
}

/** Whether `sentHex` (either case) is the HMAC-SHA256 of `parts`, in order, under `secret`; compared in constant time. */
export function hmacMatches(secret: string, parts: (string | Uint8Array)[], sentHex: string): boolean {
  const mac = createHmac("sha256", secret);
  for (const part of parts) mac.update(part);
  return sameSecret(sentHex.toLowerCase(), mac.digest("hex"));
}

// Outcomes.
/** Publish `n`, with its link when there is one (an empty or missing url adds no field). */
export function published(n: Notification, url: string | undefined): SenderOutcome {
  if (url) n.url = url;
  return { kind: "publish", notification: n };
}

/** Nothing to publish, and why: the reply says so with a 202. */
export const ignored = (reason: string): SenderOutcome => ({ kind: "ignored", reason });

/** The longest message a forge's notification carries before clip cuts it (web.ts's --max-message still applies). */
const FORGE_MESSAGE_MAX = 2000;

/**
 * A forge's (GitHub's, GitLab's, Gitea's) renderer for one repository's events: the title led by the channel
 * (owner/repo), the message clipped (the title stands in for an empty one), and the link when there is one.
 */
export const forgeNotice =
  (channel: string, source: string) =>
  (title: string, message: string, url: string | undefined): SenderOutcome =>
    published({ channel, title: `${channel}: ${title}`, message: clip(message || title, FORGE_MESSAGE_MAX), source }, url);
