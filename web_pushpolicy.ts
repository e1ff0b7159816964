// web_pushpolicy.ts — the rules of Web Push: which push services may be contacted, the subscription a browser sends and
// how many it may have, who may still receive a channel, the 4 KB payload, Urgency, retries. Pure: no I/O.
import { z } from "zod";
import type { Envelope } from "./message";
import { channelRefusal } from "./web_input";
import type { Acl } from "./acl";

/**
 * The hosts browsers' push services really use, and no more (a wildcard over a whole API domain would let a
 * subscription make the server POST to any of its services): Chrome's and Android's FCM, Firefox's autopush, Safari's
 * (Apple documents *.push.apple.com) and Edge's WNS (regional wns2-….notify.windows.com hosts).
 */
const DEFAULT_PUSH_HOSTS = ["fcm.googleapis.com", "updates.push.services.mozilla.com", "*.push.apple.com", "*.notify.windows.com"];

const b64url = (bytes: number, what: string) =>
  z.string().refine((s) => /^[A-Za-z0-9_-]+={0,2}$/.test(s) && Buffer.from(s, "base64url").length === bytes, `${what} must be ${bytes} bytes of base64url`);

/** The most channels --push-max-channels may allow: the schema's own bound, so validation work stays small. */
export const MAX_CHANNELS_CEILING = 1000;

/** PushSubscription.toJSON() as browsers send it. */
const PushSubscriptionSchema = z.object({
  endpoint: z.string().max(2048),
  expirationTime: z.number().nullable().optional(),
  keys: z.object({ p256dh: b64url(65, "keys.p256dh"), auth: b64url(16, "keys.auth") }),
});
export type BrowserSubscription = z.infer<typeof PushSubscriptionSchema>;

export const SubscribeBodySchema = z.object({
  subscription: PushSubscriptionSchema,
  channels: z
    .array(
      z
        .string()
        .min(1, "a channel name must not be empty")
        .max(1024)
        // The one rule for channel names over HTTP (message.ts): not the server's own, no control characters.
        .superRefine((c, ctx) => {
          const why = channelRefusal(c);
          if (why !== null) ctx.addIssue({ code: "custom", message: why });
        }),
    )
    .min(1, "give at least one channel")
    .max(MAX_CHANNELS_CEILING, `at most ${MAX_CHANNELS_CEILING} channels per subscription`),
});
export const UnsubscribeBodySchema = z.object({ endpoint: z.string().min(1).max(2048) });

/**
 * Why an endpoint may not be contacted (null: it may). Only https push services on the default list, or origins
 * listed with --push-endpoints; never credentials in the URL; plain http and loopback only when listed.
 */
export function endpointRefusal(endpoint: string, extraOrigins: string[]): string | null {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    return "the subscription's endpoint is not a URL";
  }
  if (u.username || u.password) return "the subscription's endpoint may not carry a user name or password";
  if (extraOrigins.includes(u.origin)) return null;
  if (u.protocol !== "https:") return `the endpoint ${u.origin} is not https; a push service on plain http must be listed in --push-endpoints`;
  const host = u.hostname.toLowerCase();
  const listed = DEFAULT_PUSH_HOSTS.some((h) => (h.startsWith("*.") ? host.endsWith(h.slice(1)) : host === h));
  if (!listed || u.port !== "")
    return `the endpoint ${u.origin} is not a known push service (Google's, Mozilla's, Apple's or Microsoft's); a self-hosted one must be listed in --push-endpoints`;
  return null;
}

/** Origins for --push-endpoints: a comma list of http(s) origins, checked so a typo fails at start, not silently. */
export function parseOrigins(list: string): string[] {
  return list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const u = new URL(s);
      if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error(`${s} is not an http(s) origin`);
      if (u.pathname !== "/" || u.search || u.hash) throw new Error(`${s} is more than an origin: give scheme, host and port only, like https://push.example.com`);
      return u.origin;
    });
}

/** How many push subscriptions the server keeps (each one is a POST per message), and how many channels each names. */
export type PushLimits = { maxSubscriptions: number; maxPerVisitor: number; maxChannels: number };
/** Defaults for a server open to the internet: a household's or an office's browsers fit; a script's thousands do not. */
export const DEFAULT_PUSH_LIMITS: PushLimits = { maxSubscriptions: 10_000, maxPerVisitor: 20, maxChannels: 20 };

/**
 * Why a new (or renewed) subscription is refused, with its status (400: too many channels; 429: a cap is reached), or
 * null. `stored` and `storedByVisitor` count the other subscriptions. A renewal (an endpoint already stored) adds
 * none, so the caps do not apply to it: a phone that renews from a new address, or after the caps were lowered, keeps
 * its subscription.
 */
export function limitRefusal(limits: PushLimits, channels: number, stored: number, storedByVisitor: number, renewal = false): { status: 400 | 429; message: string } | null {
  if (channels > limits.maxChannels)
    return { status: 400, message: `a push subscription may name at most ${limits.maxChannels} channels (--push-max-channels), got ${channels}; subscribe to fewer, or to a glob that covers them` };
  if (renewal) return null;
  if (storedByVisitor >= limits.maxPerVisitor)
    return { status: 429, message: `this address already has ${storedByVisitor} push subscriptions, the most --push-max-per-visitor allows; remove one (DELETE /push/subscribe) or ask the server's operator to raise the limit` };
  if (stored >= limits.maxSubscriptions)
    return { status: 429, message: `this server already keeps ${stored} push subscriptions, the most --push-max-subscriptions allows; try again later or ask its operator to raise the limit` };
  return null;
}

/**
 * May `userName` read `channel` under `acl` (none: everyone may)? The check POST /push/subscribe makes (web.ts's
 * refuse: SUBSCRIBE rights, and a glob must lie inside a read grant), asked again after the ACL changed and before
 * each push: a user that is off or gone may read nothing.
 */
export function mayRead(acl: Acl | undefined, userName: string, channel: string): boolean {
  return !acl || (acl.users.get(userName)?.mayReadOverHttp([channel]) ?? false);
}

/** "high" for priority 3 and above (and none: the default is 3), as iOS needs to show it; "low" for 1. */
export function pushUrgency(priority: number | undefined): "low" | "normal" | "high" {
  const p = priority ?? 3;
  return p >= 3 ? "high" : p === 1 ? "low" : "normal";
}

/**
 * The largest payload a push can carry: 4096 bytes of record, less aes128gcm's header (86), tag (16) and
 * padding delimiter (1).
 */
export const MAX_PAYLOAD = 4096 - 86 - 16 - 1;

/** Fields a push can go without, least needed first, when even an empty message does not fit (the channel, tag and event stay). */
const SHEDDABLE = ["actions", "attachment", "icon", "url", "tags", "title"] as const;

/**
 * The envelope as the push's payload; a message too long is cut with "…" and marked, and the app fetches it whole.
 * When even an empty message is too long (large action headers or bodies, a long title), whole fields go too,
 * in SHEDDABLE's order, so the notification still shows, updates and closes by its sequence ID. Gotify's field is never pushed.
 */
export function pushPayload(full: Envelope, max = MAX_PAYLOAD): string {
  // Gotify's number, priority and extras are for Gotify's readers (GET /message, /stream); the app reads the rest, and
  // free-form extras must not crowd the text out of a push's 4 KB.
  const { gotify: _forGotify, ...env } = full;
  const whole = JSON.stringify(env);
  if (Buffer.byteLength(whole) <= max) return whole;
  const chars = Array.from(env.message);
  let base: Envelope = env;
  for (let i = 0; ; i++) {
    // The longest start of the message (whole characters; JSON escapes make bytes unpredictable) that fits.
    const attempt = (k: number) => JSON.stringify({ ...base, message: `${chars.slice(0, k).join("")}…`, truncated: true });
    if (Buffer.byteLength(attempt(0)) <= max || i === SHEDDABLE.length) {
      let lo = 0;
      let hi = chars.length;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (Buffer.byteLength(attempt(mid)) <= max) lo = mid;
        else hi = mid - 1;
      }
      return attempt(lo);
    }
    const { [SHEDDABLE[i]!]: _dropped, ...rest } = base;
    base = rest as Envelope;
  }
}

/** Subscriptions not renewed for this long are dropped: the browser has most likely forgotten them. */
export const EXPIRE_AFTER_MS = 60 * 24 * 3600 * 1000;

/** How long to wait before try number `attempt` (1, 2, …) after a 429 or 5xx: Retry-After when given, else backoff. */
export function retryDelayMs(attempt: number, retryAfter: string | null, now = Date.now()): number {
  if (retryAfter) {
    const secs = Number(retryAfter);
    if (Number.isFinite(secs) && secs >= 0) return Math.min(secs * 1000, 3600_000);
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.min(Math.max(0, at - now), 3600_000);
  }
  return Math.min(1000 * 2 ** (attempt - 1), 60_000);
}

/**
 * What a push service's answer means for the subscription. A redirect is a failure, never followed: push services do
 * not redirect, and following one could take the server to a host outside the allowed list.
 */
export function outcomeOf(status: number): "sent" | "gone" | "retry" | "redirect" | "failed" {
  if (status >= 200 && status < 300) return "sent";
  if (status >= 300 && status < 400) return "redirect";
  if (status === 404 || status === 410) return "gone";
  if (status === 429 || status >= 500) return "retry";
  return "failed";
}
