// web_pushroutes.ts — Web Push over HTTP: starting web_push.ts's engine with its metrics, and the /push/* routes
// (the VAPID key, subscribe, unsubscribe), or their 404s when Web Push is off.
import { refuse, rightsRefusal } from "./web_access";
import { mediaType, parseJson, readBody } from "./web_body";
import { error, json, type WebContext } from "./web_context";
import { InputError } from "./web_input";
import { Push } from "./web_push";
import { SubscribeBodySchema, UnsubscribeBodySchema } from "./web_pushpolicy";
import type { Handler, Right } from "./web_routes";

/** Web Push's engine, subscribed before the server listens (a message published once it answers is pushed); null when off. */
export async function startPush(ctx: WebContext): Promise<Push | null> {
  const { opts, metrics, log } = ctx;
  if (!opts.push) return null;
  const countPushes = metrics.counter("notistream_push_sent_total", "Web Pushes a push service accepted.");
  const countPushFailures = metrics.counter("notistream_push_failed_total", "Web Pushes that failed for good, by reason.");
  const countPushRemoved = metrics.counter("notistream_push_removed_total", "Push subscriptions removed: gone (404/410) at the push service, or expired.");
  // A push's TTL follows how long history keeps a message: the pub/sub server says (ours in INFO), else 7 days.
  let pushTtl = 7 * 24 * 3600;
  const push = new Push({
    store: ctx.publisher,
    hub: ctx.hub,
    ...opts.push,
    acl: () => opts.acl, // asked before each push: a right the ACL no longer gives stops at once
    ttlSeconds: () => pushTtl,
    count: { sent: () => countPushes(), failed: (reason) => countPushFailures({ reason }), removed: () => countPushRemoved() },
    log: ctx.logError,
  });
  metrics.gauge("notistream_push_subscriptions", "Web Push subscriptions.", () => push.subscriptionCount);
  metrics.gauge("notistream_push_queued", "Web Pushes waiting or in flight.", () => push.queued);
  await push.start().catch((err: Error) => log(`web: push: cannot load subscriptions yet (${err.message}); trying again when the pub/sub server is back`));
  void ctx.publisher
    .send("INFO", ["persistence"])
    .then((info) => {
      const age = /notistream_history_max_age:(\d+)/.exec(String(info))?.[1];
      if (age && Number(age) > 0) pushTtl = Math.min(Number(age), 28 * 24 * 3600);
    })
    .catch(() => {});
  return push;
}

type Schema<T> = { safeParse: (v: unknown) => { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } };

/**
 * The body of a push request as JSON, checked against its schema; a 400 says which field is wrong. Only with a JSON
 * content type (415 otherwise): a browser asks this server before sending one from another site (a CORS preflight,
 * which it never grants), so another site's page cannot subscribe its own endpoint with the visitor's login.
 */
async function pushBody<T>(req: Request, schema: Schema<T>): Promise<T> {
  const type = mediaType(req);
  if (type !== "application/json" && !type.endsWith("+json"))
    throw new InputError(`send the body as JSON with Content-Type: application/json, not ${JSON.stringify(type || "(none)")}`, 415);
  const parsed = schema.safeParse(parseJson(new TextDecoder().decode(await readBody(req, 64 * 1024)), "the body"));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`"${issue.path.join(".") || "body"}": ${issue.message}`);
  }
  return parsed.data;
}

/**
 * The /push/* handlers and the right subscribing and unsubscribing need: with Web Push on, a login (checked before the
 * body is read; the channels' read rights once it is), and with it off, nothing, as every answer is a 404.
 */
export function pushRoutes(ctx: WebContext, push: Push | null): { right: Right; vapid: Handler; subscribe: Handler; unsubscribe: Handler } {
  if (!push) {
    const off = async () => error(404, "Web Push is off on this server");
    return { right: "none", vapid: off, subscribe: off, unsubscribe: off };
  }
  return {
    right: "login",
    vapid: async () => json(200, { publicKey: push.publicKey }),
    subscribe: async (req, _url, { who }) => {
      const body = await pushBody(req, SubscribeBodySchema);
      const acl = ctx.opts.acl;
      const denied = !acl ? null : who ? rightsRefusal(acl, who, "subscribe", body.channels) : refuse(acl, req, "subscribe", body.channels);
      if (denied) return denied;
      const noGlobs = await ctx.publisher.globRefusal(body.channels);
      if (noGlobs) return error(400, noGlobs);
      await push.subscribe(body.subscription, body.channels, who?.name ?? "default", ctx.visitorOf(req));
      return json(201, { ok: true, channels: [...new Set(body.channels)] });
    },
    // Knowing the endpoint is the right to drop it (only its browser has it); a closed server still wants a login (checked already).
    unsubscribe: async (req) => json(200, { ok: true, removed: await push.unsubscribe((await pushBody(req, UnsubscribeBodySchema)).endpoint) }),
  };
}
