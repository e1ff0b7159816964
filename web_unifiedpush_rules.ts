// web_unifiedpush_rules.ts — UnifiedPush's rules, pure: which topics and messages are UnifiedPush's, a pushed body kept
// byte for byte (binary as base64, ntfy's truncation), and a Matrix push gateway request read for its pushkey. No I/O.
import { z } from "zod/mini";
import type { Envelope } from "./message";
import { NTFY_ERRORS, NtfyError } from "./web_ntfy";
import { isUtf8 } from "node:buffer";

/**
 * The topics the ntfy Android app hands to UnifiedPush apps: "up" and 12 more characters of ntfy's topic alphabet
 * (server.go unifiedPushTopicPrefix, unifiedPushTopicLength 14; the app's up/BroadcastReceiver.kt TOPIC_RANDOM_ID_LENGTH).
 */
const UP_TOPIC = /^up[-_A-Za-z0-9]{12}$/;
export const isUnifiedPushTopic = (channel: string): boolean => UP_TOPIC.test(channel);

/**
 * Whether a message is UnifiedPush's, for those that must leave it alone (the upstream poll requests of ntfy's iOS
 * app, never sent for one: server.go handlePublishInternal "UP messages are not sent to upstream"): a base64 body, or
 * any message on an up… topic (a Matrix gateway push is UTF-8 JSON, so only its topic tells).
 */
export const isUnifiedPushMessage = (env: Pick<Envelope, "channel" | "encoding">): boolean => env.encoding === "base64" || isUnifiedPushTopic(env.channel);


/**
 * A UnifiedPush body as the message (server.go handleBodyAsMessageAutoDetect): its first `limit` bytes (ntfy peeks
 * message-size-limit bytes and drops the rest), kept untrimmed when UTF-8, else base64-encoded with encoding "base64".
 * The base64 text also fits `maxMessage` (every route's limit on the message's bytes): the bytes are cut to the last
 * whole 3-byte group that does. An empty body is "" (the caller's "triggered", as ntfy's emptyMessageBody).
 */
export function unifiedPushBody(raw: Uint8Array, limit: number, maxMessage: number): { message: string; encoding?: "base64" } {
  const kept = raw.subarray(0, Math.min(raw.length, limit));
  if (isUtf8(kept)) return { message: new TextDecoder().decode(kept) };
  const fits = Math.floor(maxMessage / 4) * 3;
  return { message: Buffer.from(kept.subarray(0, Math.min(kept.length, fits))).toString("base64"), encoding: "base64" };
}

/** The one part of Synapse's notification ntfy reads (server_matrix.go matrixRequest): the first device's pushkey. */
const MatrixRequest = z.object({
  notification: z.object({ devices: z.array(z.object({ pushkey: z.string() })).check(z.minLength(1)) }),
});

/**
 * The first device's pushkey of a Matrix push gateway request (server_matrix.go newRequestFromMatrixJSON: other
 * devices are ignored, ntfy#316): ntfy's 40019 for one that is not JSON, has no notification, no device or an empty
 * pushkey.
 */
export function matrixPushkey(body: Uint8Array): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new NtfyError(NTFY_ERRORS.matrixMessageInvalid, "the body is not JSON: a Matrix homeserver sends {\"notification\":{\"devices\":[{\"pushkey\":\"…\"}]}}");
  }
  const r = MatrixRequest.safeParse(parsed);
  const pushkey = r.success ? r.data.notification.devices[0]!.pushkey : "";
  if (!pushkey) throw new NtfyError(NTFY_ERRORS.matrixMessageInvalid, "no notification.devices[0].pushkey: a Matrix homeserver sends {\"notification\":{\"devices\":[{\"pushkey\":\"…\"}]}}");
  return pushkey;
}

/**
 * The path and query on this server that a pushkey names, when it starts with `<baseUrl>/` (server_matrix.go:
 * strings.HasPrefix(pushKey, baseURL+"/")), e.g. "/upAbC123dEf456?up=1"; null for a pushkey of another server,
 * which the gateway answers with {"rejected":[pushkey]} so the homeserver stops using it.
 */
export function pushkeyPath(pushkey: string, baseUrl: string): string | null {
  const base = baseUrl.replace(/\/+$/, "");
  if (!pushkey.startsWith(`${base}/`)) return null;
  const rest = pushkey.slice(base.length);
  const path = rest.split(/[?#]/, 1)[0]!;
  return path.length > 1 ? rest.split("#", 1)[0]! : null;
}

/** The gateway's answer (server_matrix.go writeMatrixResponse): the pushkeys rejected, [] when it was taken. */
export const matrixAnswer = (rejected: string[]): string => `${JSON.stringify({ rejected })}\n`;

/**
 * How long a subscription to an up… topic lets UnifiedPush publish to it under --visitor-subscriber-rate-limiting:
 * ntfy's topic keeps its subscriber as "rate visitor" until that visitor is stale, a day after it was last seen
 * (visitor.go visitorExpungeAfter); an open stream keeps it seen (server.go's keepalive loop calls v.Keepalive()).
 */
export const UP_SUBSCRIBER_FRESH_MS = 24 * 3600_000;
/** How often an open subscription to an up… topic renews its record, well inside UP_SUBSCRIBER_FRESH_MS. */
export const UP_SUBSCRIBER_RENEW_MS = 3600_000;

/**
 * An up… topic's subscriber record, from the last time a subscriber was seen (ms; null: never, or forgotten):
 * "fresh" lets a publish through; "never" is ntfy's 507 for a topic whose rate visitor was never set; "gone" is the
 * 507 too, for a subscriber last seen past UP_SUBSCRIBER_FRESH_MS.
 */
export function upSubscriberState(lastSeenMs: number | null, nowMs: number): "fresh" | "never" | "gone" {
  if (lastSeenMs === null) return "never";
  return nowMs - lastSeenMs <= UP_SUBSCRIBER_FRESH_MS ? "fresh" : "gone";
}

/**
 * Whether the Matrix gateway answers a 507 with {"rejected":[pushkey]} (server.go handlePublishMatrix): ntfy does when
 * the topic was last accessed over 12 hours ago (matrixRejectPushKeyForUnifiedPushTopicWithoutRateVisitorAfter), so
 * that the homeserver drops a dead pushkey; a topic nobody ever subscribed to is new (accessed now), and the 507
 * stands. A subscriber gone for a day was last seen over 12 hours ago.
 */
export const matrixRejectsPushkey = (state: "fresh" | "never" | "gone"): boolean => state === "gone";

/** The milliseconds of a stream entry ID ("1733350000000-0"), the time the pub/sub server gave it; null if none. */
export function streamIdMs(id: string): number | null {
  const m = /^(\d+)-\d+$/.exec(id);
  return m ? Number(m[1]) : null;
}
