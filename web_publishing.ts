// web_publishing.ts — publishing over HTTP: POST / (form, multipart or JSON fields) and POST or PUT /<channel> (ntfy's
// way: the body is the message), and the one publish every route goes through, timed and counted.
import type { Notification } from "./message";
import { publishRefusal } from "./web_access";
import { bodyFields, readBody } from "./web_body";
import { json, type WebContext } from "./web_context";
import { InputError, notificationFromFields } from "./web_input";
import type { Metrics } from "./web_metrics";
import type { Published, Publisher } from "./web_publisher";
import type { Handler } from "./web_routes";
import { fillTemplates } from "./web_senders";

/** The publish every route uses: timed into the latency histogram, counted, and summed up in a log line a minute. */
export function countedPublish(publisher: Publisher, metrics: Metrics, log: (line: string) => void): { publish: (n: Notification) => Promise<Published>; stop: () => void } {
  const countPublished = metrics.counter("notistream_messages_published_total", "Messages accepted and published (POST / and /github).");
  const publishSeconds = metrics.histogram("notistream_publish_seconds", "Time to XADD and PUBLISH one message.", [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]);
  // A line a minute instead of a line a request: printing costs CPU under load.
  let published = 0;
  const summary = setInterval(() => {
    if (published) log(`web: published ${published} message${published === 1 ? "" : "s"} in the last minute`);
    published = 0;
  }, 60_000);
  summary.unref?.();
  const publish = async (n: Notification) => {
    const t0 = performance.now();
    const result = await publisher.publish(n);
    publishSeconds((performance.now() - t0) / 1000);
    countPublished();
    published++;
    return result;
  };
  return { publish, stop: () => clearInterval(summary) };
}

/** POST /: the fields of the query and the body (the body's win); a `token` field logs in, as ?token= does. */
export function publishRoot(ctx: WebContext): Handler {
  return async (req, url, checked) => {
    const raw = await readBody(req, ctx.opts.maxBody);
    const fields: Record<string, unknown> = { ...Object.fromEntries(url.searchParams), ...(await bodyFields(req, raw)) };
    const token = typeof fields.token === "string" ? fields.token : undefined;
    delete fields.token;
    const n = notificationFromFields(fields, { maxMessage: ctx.opts.maxMessage, source: "form" });
    return publishRefusal(ctx.opts.acl, req, checked, n.channel, token) ?? json(200, await ctx.publish(n));
  };
}

/**
 * POST or PUT /<channel>, as ntfy takes it: the body is the message, whatever its type; Title, Priority, Tags and
 * Click come as headers (also X-…, and ntfy's short names) or query fields. With template=1 the body is JSON and
 * the message and title are templates filled from it. The dispatcher has checked the caller's write rights.
 */
export function publishPath(ctx: WebContext): Handler {
  return async (req, url, checked) => {
    const q = url.searchParams;
    const pick = (names: string[]): string | undefined => {
      for (const n of names) {
        const v = req.headers.get(n) ?? req.headers.get(`x-${n}`) ?? q.get(n);
        if (v !== null) return v;
      }
      return undefined;
    };
    const raw = await readBody(req, ctx.opts.maxBody);
    let body: string;
    try {
      body = new TextDecoder("utf-8", { fatal: true }).decode(raw);
    } catch {
      throw new InputError("the body is not UTF-8 text: send the message as text", 415);
    }
    const fields: Record<string, unknown> = { channel: checked.channel, title: pick(["title", "t"]), priority: pick(["priority", "prio", "p"]), tags: pick(["tags", "tag", "ta"]), url: pick(["click"]) };
    const messageField = pick(["message", "m"]);
    if (/^(1|yes|true)$/i.test(pick(["template", "tpl"]) ?? "")) Object.assign(fields, fillTemplates(body, messageField, fields.title));
    else fields.message = body !== "" ? body : messageField;
    const n = notificationFromFields(fields, { maxMessage: ctx.opts.maxMessage, source: "http" });
    return json(200, await ctx.publish(n));
  };
}
