// client_publish.ts — `notistream publish <channel> <message>`: one ntfy-style POST /<channel> (the message as the body;
// X-Title, X-Priority, X-Tags, X-Click) to our web server or any ntfy server, and its answer as one line, or a sentence.
import { z } from "zod";
import { serverSaid } from "./client_http";
import { priorityFrom } from "./message";

/** What to publish, as the command line gave it (checked). */
export type Publication = { channel: string; message: string; title?: string; priority?: number; tags?: string[]; click?: string };

/** A priority as ntfy takes it: 1 to 5, or min, low, default, high, max (urgent); null for anything else (message.ts). */
export const parsePriority = priorityFrom;

/**
 * A header value as ntfy reads it. HTTP header bytes are not UTF-8 (fetch refuses anything past Latin-1, and a newline
 * anywhere), so a value that is not plain printable ASCII goes as one RFC 2047 encoded word, =?UTF-8?B?…?=, which ntfy
 * decodes (util.go maybeDecodeHeader) and so does our web server. A plain value that looks like one is encoded too,
 * so it arrives as written.
 */
export function headerValue(text: string): string {
  if (/^[\x20-\x7e]*$/.test(text) && !text.includes("=?")) return text;
  return `=?UTF-8?B?${Buffer.from(text, "utf8").toString("base64")}?=`;
}

/** The request: POST <base>/<channel> (each path segment encoded), the message as the body, the rest as X- headers. */
export function publishRequest(base: string, p: Publication, auth: string | null): { url: string; headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = { "content-type": "text/plain; charset=utf-8" };
  if (p.title !== undefined) headers["x-title"] = headerValue(p.title);
  if (p.priority !== undefined) headers["x-priority"] = String(p.priority);
  if (p.tags?.length) headers["x-tags"] = headerValue(p.tags.join(","));
  if (p.click !== undefined) headers["x-click"] = headerValue(p.click);
  if (auth) headers.authorization = auth;
  const path = p.channel.split("/").map(encodeURIComponent).join("/");
  return { url: `${base.replace(/\/+$/, "")}/${path}`, headers, body: p.message };
}

/** ntfy's answer to a publish (its message JSON), or our web server's own ({id, channel}) from before it spoke ntfy's. */
const PublishedSchema = z.object({ id: z.string(), topic: z.string().optional(), channel: z.string().optional() });

/** The one line `publish` prints for a 200: the message's id and topic; null when the answer is not a message. */
export function publishedLine(body: string): string | null {
  try {
    const m = PublishedSchema.safeParse(JSON.parse(body));
    if (m.success) return `${m.data.id} ${m.data.topic ?? m.data.channel ?? ""}`.trim();
  } catch {
    // not JSON: said by the caller
  }
  return null;
}

/** A refused publish as a sentence that says what to do. */
export function publishRefusal(base: string, channel: string, status: number, body: string): string {
  const said = serverSaid(body) || "no reason given";
  if (status === 401)
    return `${base} wants a login to publish to ${channel} (${said}). Give --user and --password, or --token (or "user" and "password", or "token", in the config).`;
  if (status === 403) return `${base} does not let this login publish to ${channel} (${said}). Ask the server's administrator for write rights on it.`;
  if (status === 404) return `${base} has no ${channel} to publish to (${said}). Check the address and the channel's name.`;
  if (status === 413) return `${base} refused the message for ${channel} as too large (${said}).`;
  if (status === 429) return `${base} says too many messages for now (${said}). Try again later.`;
  return `${base} refused the message for ${channel} with ${status} (${said}).`;
}

/** Publishes; the line to print, or throws an Error whose message is the sentence to show. */
export async function publish(base: string, p: Publication, auth: string | null, tls: { ca: string } | undefined, timeoutMs = 30_000): Promise<string> {
  const req = publishRequest(base, p, auth);
  let r: Response;
  try {
    r = await fetch(req.url, { method: "POST", headers: req.headers, body: req.body, tls, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new Error(`cannot reach ${base} to publish (${(err as Error).message}). Check the address, or whether the server runs.`);
  }
  const body = await r.text();
  if (r.status !== 200) throw new Error(publishRefusal(base, p.channel, r.status, body));
  const line = publishedLine(body);
  if (line === null) throw new Error(`${base} answered 200 but not with a message (${JSON.stringify(body.slice(0, 120))}): is it an ntfy or Notistream server?`);
  return line;
}
