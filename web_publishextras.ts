// web_publishextras.ts — what every publishing route does with a publish's delay and e-mail: read and checked in
// ntfy's order before anything is published (readExtras), then kept for later or published and mailed (publishAsked).
import { buildEnvelope, type Envelope, type Notification } from "./message";
import type { WebContext } from "./web_context";
import { DEFAULT_DELAY_LIMIT_MS, dueTime } from "./web_delay";
import { NTFY_ERRORS, NtfyError } from "./web_ntfy";
import { isTrue, jsonHeaders, readParam, type ParamSource } from "./web_ntfy_publish";

/** Every name of ntfy's delay and e-mail parameters (server.go parsePublishParams). */
export const DELAY_NAMES = ["x-delay", "delay", "x-at", "at", "x-in", "in"] as const;
export const EMAIL_NAMES = ["x-email", "x-e-mail", "email", "e-mail", "mail", "e"] as const;
const CACHE_NAMES = ["x-cache", "cache"] as const;

/** What a publish asks for beyond its notification, read and checked before anything is published. */
export type PublishExtras = { dueMs?: number; email?: string; senderIp?: string; origin: string };

/**
 * A publish's delay and e-mail, read as parsePublishParams reads them and in its order: an e-mail without --smtp-url
 * is 40001; a delay with Cache: no is 40002, with an e-mail 40003 (ntfy keeps no address for later), then the time
 * itself (web_delay.ts: 40004, 40005, 40006). The e-mail's address and its visitor's share are checked too.
 */
export function readExtras(ctx: WebContext, req: Request, url: URL, src: ParamSource): PublishExtras {
  // The channel's URL in a mail: --base-url when set (a request's Host is anyone's to forge), else where the request came.
  const extras: PublishExtras = { origin: ctx.opts.baseUrl ?? url.origin };
  const email = readParam(src, EMAIL_NAMES);
  if (email) {
    if (!ctx.mailer) throw new NtfyError(NTFY_ERRORS.emailDisabled, `Notistream does not support email (e-mail notifications) here, asked by ${email.where}: this web server has no --smtp-url; nothing was published: send the message without it`);
    extras.email = email.value;
    extras.senderIp = ctx.clientOf(req); // only for a mail: asking Bun for a request's address is not free
  }
  const delay = readParam(src, DELAY_NAMES);
  if (delay) {
    const cache = readParam(src, CACHE_NAMES);
    if (cache && !isTrue(cache.value)) // ntfy's readBoolParam: anything but 1, yes and true is false
      throw new NtfyError(NTFY_ERRORS.delayNoCache, `${delay.where} schedules the message and ${cache.where} keeps it out of history; a scheduled message is kept until it is due: drop one of them`);
    if (email) throw new NtfyError(NTFY_ERRORS.delayNoEmail, `${delay.where} schedules the message and ${email.where} mails it; ntfy keeps no address for later, nor does Notistream: drop one of them`);
    extras.dueMs = dueTime(delay.value, delay.where, Date.now(), ctx.opts.delayLimitMs ?? DEFAULT_DELAY_LIMIT_MS);
  }
  if (extras.email) ctx.mailer!.admit(extras.email, email!.where, ctx.visitorOf(req));
  return extras;
}

/** Our own POST /'s `delay`, `email` and `cache` fields, read as the same parameters are (their JSON keys in ntfy's publish). */
export function extrasFromFields(ctx: WebContext, req: Request, url: URL, fields: Record<string, unknown>): PublishExtras {
  return readExtras(ctx, req, url, { header: () => null, query: new URLSearchParams(), json: jsonHeaders(fields, new Set(["delay", "email", "cache"])), jsonName: "the request" });
}

/** A publish done: the envelope to answer with (a scheduled one's id is its handle and its time the due second). */
export type Asked = { envelope: Envelope; receivers: number; scheduled: boolean };

/**
 * Publishes `n` as its extras ask: kept for later when it has a delay, else published now and then mailed when it
 * names an address (in the background, as ntfy's go sendEmail; the publish stands if the mail fails).
 */
export async function publishAsked(ctx: WebContext, n: Notification, asked: PublishExtras | null): Promise<Asked> {
  // A delete or a clear (ntfy's handleDelete, handleClear) is neither scheduled nor mailed: it acts now.
  const extras = n.event === undefined ? asked : null;
  if (extras?.dueMs !== undefined) {
    if (!ctx.scheduler) throw new Error("no scheduler on this web server");
    const s = await ctx.scheduler.schedule(n, extras.dueMs);
    return { envelope: s.envelope, receivers: 0, scheduled: true };
  }
  const now = Date.now();
  const { id, receivers } = await ctx.publish(n, now);
  const envelope = buildEnvelope(n, id, now);
  if (extras?.email) ctx.mailer?.send(envelope, extras.email, `${extras.origin}/${n.channel}`, extras.senderIp ?? "unknown");
  return { envelope, receivers, scheduled: false };
}

/**
 * Our own POST /'s answer: {"id", "channel", "receivers"}; a scheduled message's id is its handle (its sequence ID:
 * DELETE /<channel>/<id> cancels it) with `scheduled` and its due `time`, and no one has received it yet.
 */
export function ourAnswer(asked: Asked): Record<string, unknown> {
  const { id, channel, time } = asked.envelope;
  return asked.scheduled ? { id, channel, receivers: 0, scheduled: true, time } : { id, channel, receivers: asked.receivers };
}

