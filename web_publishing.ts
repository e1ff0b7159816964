// web_publishing.ts — publishing over HTTP: POST / (our own fields, or ntfy's JSON publish), POST or PUT /<channel>,
// GET /<channel>/publish and ntfy's delete and clear routes (ntfy's way, answered as ntfy answers), and the one publish every route goes through, timed and counted.
import type { Notification } from "./message";
import { publishRefusal } from "./web_access";
import { bodyFields, readBody } from "./web_body";
import { json, type WebContext } from "./web_context";
import { InputError, notificationFromFields } from "./web_input";
import type { Metrics } from "./web_metrics";
import { NTFY_CORS, NTFY_ERRORS, NtfyError, PUBLISH_VERBS, ntfyErrorForStatus, ntfyErrorResponse, ntfyJson, ntfyMessage, randomNtfyId, topicsOf, type NtfyErrorKind } from "./web_ntfy";
import { EVENT_OF_VERB, bodyMessage, bodyText, featureFields, isNtfyJson, messageOf, readFeatureFields, readJsonPublish, readPublishParams, sequencePath, type ParamSource, type PublishParams } from "./web_ntfy_publish";
import type { Published, Publisher } from "./web_publisher";
import { CHANNEL, CHANNELS, type Checked, type Handler, type RouteRow } from "./web_routes";
import { fillTemplates } from "./web_senders";
import { linkFromFields, linkedFile, publishBody } from "./web_attachments";
import { extrasFromFields, ourAnswer, publishAsked, readExtras } from "./web_publishextras";

/** The publish every route uses: timed into the latency histogram, counted, and summed up in a log line a minute. */
export function countedPublish(publisher: Publisher, metrics: Metrics, log: (line: string) => void): { publish: (n: Notification, now?: number) => Promise<Published>; stop: () => void } {
  const countPublished = metrics.counter("notistream_messages_published_total", "Messages accepted and published (POST / and /github).");
  const publishSeconds = metrics.histogram("notistream_publish_seconds", "Time to XADD and PUBLISH one message.", [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]);
  // A line a minute instead of a line a request: printing costs CPU under load.
  let published = 0;
  const summary = setInterval(() => {
    if (published) log(`web: published ${published} message${published === 1 ? "" : "s"} in the last minute`);
    published = 0;
  }, 60_000);
  summary.unref?.();
  const publish = async (n: Notification, now = Date.now()) => {
    const t0 = performance.now();
    const result = await publisher.publish(n, now);
    publishSeconds((performance.now() - t0) / 1000);
    countPublished();
    published++;
    return result;
  };
  return { publish, stop: () => clearInterval(summary) };
}

/**
 * POST / and PUT /: the fields of the query and the body (the body's win); a `token` field logs in, as ?token= does.
 * A JSON object with a `topic` and no `channel` is ntfy's JSON publish (server.go transformBodyJSON): its keys are
 * read as the X-* headers they stand for, the request's own X-* headers count where the JSON sets nothing, and the
 * reply is ntfy's. Anything else is our own form, with our reply {"id", "channel", "receivers"}.
 */
export function publishRoot(ctx: WebContext): Handler {
  return async (req, url, checked) => {
    const raw = await readBody(req, ctx.opts.maxBody);
    const body = await bodyFields(req, raw);
    if (body.json && isNtfyJson(body.fields)) return ntfyAnswer(() => publishNtfyJson(ctx, req, url, checked, body.fields), NTFY_ERRORS.entityTooLargeJsonBody);
    const fields: Record<string, unknown> = { ...Object.fromEntries(url.searchParams), ...body.fields };
    const token = typeof fields.token === "string" ? fields.token : undefined;
    delete fields.token;
    const features = refuseInOurShape(() => featureFields(readFeatureFields(fields)));
    const n = { ...notificationFromFields(fields, { maxMessage: ctx.opts.maxMessage, source: "form" }), ...features };
    if (fields.attach !== undefined || fields.filename !== undefined) Object.assign(n, refuseInOurShape(() => linkFromFields(fields)));
    const denied = publishRefusal(ctx.opts.acl, req, checked, n.channel, token);
    if (denied) return denied;
    const asked = await publishAsked(ctx, n, refuseInOurShape(() => extrasFromFields(ctx, req, url, fields)));
    return json(200, ourAnswer(asked));
  };
}

/** Our own POST / answers in our shape ({"error"}), also for a refusal web_ntfy_publish.ts words. */
function refuseInOurShape<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof NtfyError) throw new InputError(err.detail ?? err.message, err.status);
    throw err;
  }
}

/** ntfy's JSON publish to /: the topic is the channel, the caller's rights on it are checked once it is known. */
async function publishNtfyJson(ctx: WebContext, req: Request, url: URL, checked: Checked, body: Record<string, unknown>): Promise<Response> {
  const published = readJsonPublish(body);
  const linked = linkedFile(paramSource(req, url, published.headers), readPublishParams(paramSource(req, url, published.headers)));
  const n = linked.attach(ntfyNotification(ctx, published.topic, linked.params, (published.message ?? "").trim()));
  const denied = publishRefusal(ctx.opts.acl, req, checked, n.channel, published.token ?? checked.token);
  return denied ? ntfyRefusal(denied) : ntfyPublished(ctx, n, req, url, published.headers);
}

/**
 * POST or PUT /<channel> and GET /<channel>/publish (also /send, /trigger), as ntfy takes them: the body is the
 * message, whatever its type (with none, the Message parameter; with neither, "triggered"); the other fields come as
 * headers or query keys under every name ntfy reads (web_ntfy_publish.ts). With template=yes the body is JSON and
 * the message and title are templates filled from it. The dispatcher has checked the caller's write rights. The
 * reply is ntfy's message JSON; a refusal is ntfy's error.
 */
export function publishPath(ctx: WebContext): Handler {
  return (req, url, checked) =>
    ntfyAnswer(async () => {
      const params = readPublishParams(paramSource(req, url));
      // The body is the message, or a file kept as the attachment (web_attachments.ts, in ntfy's order).
      const body = await publishBody(ctx, req, paramSource(req, url), checked, params);
      const raw = body.raw;
      if (!body.params.template) return body.publish(() => ntfyNotification(ctx, checked.channel, body.params, bodyMessage(raw, ctx.opts.maxMessage)), (n) => ntfyPublished(ctx, n, req, url));
      const filled = fillTemplates(bodyText(raw), params.message, params.title);
      const title = typeof filled.title === "string" ? filled.title : undefined;
      return ntfyPublished(ctx, ntfyNotification(ctx, checked.channel, { ...params, title }, filled.message), req, url);
    }, NTFY_ERRORS.entityTooLargeAttachment);
}

/**
 * ntfy's publishing rows beside POST / and POST or PUT /<channel>, for web.ts's table: PUT / (ntfy routes PUT or POST
 * / alike) and GET /<topic>/publish, /send and /trigger, which need write rights on the one topic the path names.
 */
export function ntfyPublishRows(root: Handler, toChannel: Handler): RouteRow[] {
  return [
    { method: "PUT", path: "/", right: "login", handler: root, token: "query or body" },
    ...PUBLISH_VERBS.map((verb): RouteRow => ({ method: "GET", path: `/${CHANNELS}/${verb}`, right: "write", handler: toChannel, token: "query", channelsOf: publishTopicOf })),
  ];
}

/** GET /<topic>/publish names one topic: a comma list is ntfy's 404 (publishPathRegex takes one). */
function publishTopicOf(raw: string): string[] {
  const topics = topicsOf(raw);
  if (topics.length !== 1) throw new NtfyError(NTFY_ERRORS.notFound, "GET /<topic>/publish (or /send, /trigger) publishes to one topic; send one request per topic");
  return topics;
}

/** Where an ntfy publish's parameters come from: the request's headers and query, and a JSON publish's keys. */
function paramSource(req: Request, url: URL, json?: Map<string, string>): ParamSource {
  return { header: (name) => req.headers.get(name), present: new Set(req.headers.keys()), query: url.searchParams, json };
}

/**
 * The notification an ntfy publish makes, through the checks every route's passes (a 400 or 413 names the field).
 * A click link is http(s), as every route's link: ntfy's apps also open mailto: and geo:, which are refused here.
 */
function ntfyNotification(ctx: WebContext, channel: string, params: PublishParams, body: string): Notification {
  if (params.click !== undefined && !/^https?:\/\//i.test(params.click))
    throw new NtfyError(NTFY_ERRORS.badRequest, `the click link must start with http:// or https:// (Notistream opens no other kind), got ${JSON.stringify(params.click.slice(0, 200))}`);
  const fields = { channel, message: messageOf(body, params), title: params.title, priority: params.priority, tags: params.tags, url: params.click };
  return { ...notificationFromFields(fields, { maxMessage: ctx.opts.maxMessage, source: "http" }), ...featureFields(params) };
}

/**
 * Publishes (or schedules, and mails, as its delay and e-mail parameters ask: web_scheduled.ts), and answers as ntfy
 * does (handlePublish, writeJSON): 200 and the message JSON, which the CLI and Apprise require; a scheduled one's time is its due time.
 */
async function ntfyPublished(ctx: WebContext, n: Notification, req: Request, url: URL, json?: Map<string, string>): Promise<Response> {
  const asked = await publishAsked(ctx, n, readExtras(ctx, req, url, paramSource(req, url, json)));
  // A Cache: no message has no id of ours (no history entry): the answer carries one of ntfy's kind.
  const envelope = asked.envelope.id ? asked.envelope : { ...asked.envelope, id: randomNtfyId() };
  return new Response(`${ntfyJson(ntfyMessage(envelope))}\n`, { status: 200, headers: { "content-type": "application/json", ...NTFY_CORS } });
}

/**
 * ntfy's delete and clear (v2.16, server.go handleDelete, handleClear): a message_delete or message_clear event for
 * the notification the path names, published like any message (kept in history, which is append-only; readers fold
 * by sequence_id), answered with the event's JSON. The path is /<channel>/<sid> (DELETE) or /<channel>/<sid>/<verb>.
 */
function publishEvent(ctx: WebContext, event: "message_delete" | "message_clear", hasVerb: boolean): Handler {
  return (req, url) =>
    ntfyAnswer(async () => {
      const path = hasVerb ? url.pathname.slice(0, url.pathname.lastIndexOf("/")) : url.pathname;
      const { channel, sequenceId } = sequencePath(path.slice(1));
      return ntfyPublished(ctx, { channel, message: "", event, sequence_id: sequenceId }, req, url);
    }, NTFY_ERRORS.entityTooLargeAttachment);
}

/**
 * ntfy's event rows, for web.ts's table: DELETE /<topic>/<sid> and GET /<topic>/<sid>/delete withdraw; PUT or GET
 * /<topic>/<sid>/clear (or /read) mark read. Each needs write rights on the channel, the path before the sequence ID
 * (a GET is refused cross-site, as a publishing GET is). PUT /<channel>/<sid> publishes an update (ntfyPutRow);
 * POST /<a>/<b> stays a publish to channel a/b, our forge channels' form.
 */
export function ntfyEventRows(ctx: WebContext): RouteRow[] {
  const channelOf = (raw: string): string[] => [sequencePath(raw).channel];
  const row = (method: string, path: string, handler: Handler): RouteRow => ({ method, path, right: "write", handler, token: "query", channelsOf: channelOf });
  const verbRows = Object.entries(EVENT_OF_VERB).flatMap(([verb, event]) =>
    (verb === "delete" ? ["GET"] : ["PUT", "GET"]).map((method) => row(method, `/${CHANNELS}/${verb}`, publishEvent(ctx, event, true))),
  );
  return [row("DELETE", `/${CHANNEL}`, publishEvent(ctx, "message_delete", false)), ...verbRows];
}

/**
 * PUT /<channel>/<sid>: ntfy's update form (v2.16's PUT /<topic>/<sequence_id>), the last segment the sequence ID as
 * DELETE reads it; PUT /<channel> of one segment publishes. POST /<a>/<b> stays a publish to channel a/b (our forge
 * channels' form): a slash is read one way per method, never guessed.
 */
export function ntfyPutRow(toChannel: Handler): RouteRow {
  const names = (raw: string): boolean => raw.includes("/");
  const channelsOf = (raw: string): string[] => [names(raw) ? sequencePath(raw).channel : raw];
  const handler: Handler = (req, url, checked) => {
    const raw = url.pathname.slice(1);
    if (!names(raw)) return toChannel(req, url, checked);
    // The path's sequence ID as the sid parameter, which the publish reads as X-Sequence-ID.
    const withSid = new URL(url);
    withSid.searchParams.set("sid", sequencePath(raw).sequenceId);
    return toChannel(req, withSid, checked);
  };
  return { method: "PUT", path: `/${CHANNEL}`, right: "write", handler, token: "query", channelsOf };
}

/**
 * Runs an ntfy publish and answers its bad input in ntfy's shape ({"code","http","error","link"}), which ntfy's
 * clients parse: an NtfyError with its code, any other InputError by its status (`tooLarge` for a 413). An outage
 * (503) and the rest go on to the dispatcher.
 */
async function ntfyAnswer(publish: () => Promise<Response>, tooLarge: NtfyErrorKind): Promise<Response> {
  try {
    return await publish();
  } catch (err) {
    if (err instanceof NtfyError) return ntfyErrorResponse(err.kind, err.detail);
    if (err instanceof InputError) return ntfyErrorResponse(err.status === 413 ? tooLarge : ntfyErrorForStatus(err.status), err.message);
    throw err;
  }
}

/** The ACL's 401 or 403 for a JSON publish's topic, in ntfy's shape, its challenge kept. */
async function ntfyRefusal(denied: Response): Promise<Response> {
  const { error } = (await denied.json()) as { error: string };
  const challenge = denied.headers.get("www-authenticate");
  return ntfyErrorResponse(ntfyErrorForStatus(denied.status), error, challenge ? { "www-authenticate": challenge } : {});
}
