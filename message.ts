// message.ts — the message envelope: its zod schema, turning raw publish fields into a notification,
// building the envelope, and reading a payload back (JSON envelope or plain text). Pure: no I/O.
import { z } from "zod";

export const DEFAULT_MAX_MESSAGE = 64 * 1024;

export const EnvelopeSchema = z.object({
  id: z.string(),
  time: z.number(),
  channel: z.string(),
  message: z.string(),
  title: z.string().optional(),
  priority: z.number().int().min(1).max(5).optional(),
  tags: z.array(z.string()).optional(),
  url: z.string().optional(),
  source: z.string().optional(),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** What a publisher asks for, before it has an id and a time. */
export type Notification = Omit<Envelope, "id" | "time">;

export class InputError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const text = (v: unknown): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return undefined;
};

/**
 * Turns raw fields (from a form, a JSON object or a query string) into a notification, or throws an
 * InputError that says exactly what is wrong.
 */
export function notificationFromFields(fields: Record<string, unknown>, opts: { maxMessage?: number; source?: string } = {}): Notification {
  const maxMessage = opts.maxMessage ?? DEFAULT_MAX_MESSAGE;
  const field = (name: string): string | undefined => {
    const v = fields[name];
    const t = text(v);
    if (v !== undefined && v !== null && t === undefined) throw new InputError(`"${name}" must be a string`);
    return t;
  };
  const channel = field("channel");
  if (channel === undefined) throw new InputError('missing "channel": say which channel to publish to, e.g. channel=alerts');
  if (channel.trim() === "") throw new InputError('"channel" is empty: give the channel a name');
  if (channel.length > 1024) throw new InputError('"channel" is longer than 1024 characters');
  const message = field("message");
  if (message === undefined) throw new InputError('missing "message": say what the notification should read, e.g. message=hello');
  if (message === "") throw new InputError('"message" is empty: a notification needs some text');
  if (Buffer.byteLength(message) > maxMessage)
    throw new InputError(`"message" is ${Buffer.byteLength(message)} bytes; the limit is ${maxMessage} bytes`, 413);
  const n: Notification = { channel, message };
  const title = field("title");
  if (title !== undefined && title !== "") {
    if (title.length > 1024) throw new InputError('"title" is longer than 1024 characters');
    n.title = title;
  }
  const priority = field("priority");
  if (priority !== undefined && priority !== "") {
    const p = Number(priority);
    if (!Number.isInteger(p) || p < 1 || p > 5) throw new InputError(`"priority" must be a whole number from 1 to 5, got ${JSON.stringify(priority)}`);
    n.priority = p;
  }
  const rawTags = fields.tags;
  if (rawTags !== undefined && rawTags !== null && rawTags !== "") {
    let tags: string[];
    if (Array.isArray(rawTags)) {
      if (!rawTags.every((t) => typeof t === "string")) throw new InputError('"tags" must be a list of strings');
      tags = rawTags as string[];
    } else if (typeof rawTags === "string") tags = rawTags.split(",");
    else throw new InputError('"tags" must be a comma-separated list or an array of strings');
    tags = tags.map((t) => t.trim()).filter(Boolean);
    if (tags.length) n.tags = tags;
  }
  const url = field("url");
  if (url !== undefined && url !== "") {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new InputError(`"url" is not a valid URL: ${JSON.stringify(url.slice(0, 200))}`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new InputError('"url" must start with http:// or https://');
    n.url = url;
  }
  if (opts.source) n.source = opts.source;
  return n;
}

export function buildEnvelope(n: Notification, id: string, timeMs: number): Envelope {
  const env: Envelope = { id, time: Math.floor(timeMs / 1000), channel: n.channel, message: n.message };
  if (n.title !== undefined) env.title = n.title;
  if (n.priority !== undefined) env.priority = n.priority;
  if (n.tags !== undefined) env.tags = n.tags;
  if (n.url !== undefined) env.url = n.url;
  if (n.source !== undefined) env.source = n.source;
  return env;
}

/**
 * Reads a published payload. A JSON envelope comes back as it is; anything else (for example a plain
 * `redis-cli PUBLISH ch hello`) becomes a message whose text is the whole payload.
 */
export function parsePayload(channel: string, payload: string): Envelope & { plain?: true } {
  if (payload.startsWith("{")) {
    try {
      const parsed = EnvelopeSchema.safeParse(JSON.parse(payload));
      if (parsed.success) return parsed.data;
    } catch {
      // not JSON: shown as plain text below
    }
  }
  return { id: "", time: Math.floor(Date.now() / 1000), channel, message: payload, plain: true };
}

/** The one line a client prints for a message: `[channel] title: message`. */
export function formatLine(e: Envelope): string {
  const body = e.message.replace(/\s*\n\s*/g, " ");
  return e.title ? `[${e.channel}] ${e.title}: ${body}` : `[${e.channel}] ${body}`;
}

/** The stream key that holds a channel's history. */
export const historyKey = (channel: string): string => `notistream:${channel}`;

/** The envelope as stream fields for XADD (the id is the entry's own). */
export function envelopeFields(n: Notification, timeMs: number): string[] {
  const f = ["time", String(Math.floor(timeMs / 1000)), "channel", n.channel, "message", n.message];
  if (n.title !== undefined) f.push("title", n.title);
  if (n.priority !== undefined) f.push("priority", String(n.priority));
  if (n.tags !== undefined) f.push("tags", JSON.stringify(n.tags));
  if (n.url !== undefined) f.push("url", n.url);
  if (n.source !== undefined) f.push("source", n.source);
  return f;
}

/** Reads a history entry back into an envelope; fields it does not know are ignored. */
export function envelopeFromEntry(id: string, fields: string[], fallbackChannel: string): Envelope {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!, fields[i + 1]!);
  const ms = Number(id.split("-")[0]);
  const env: Envelope = {
    id,
    time: Number(m.get("time") ?? Math.floor(ms / 1000)),
    channel: m.get("channel") ?? fallbackChannel,
    message: m.get("message") ?? "",
  };
  if (m.has("title")) env.title = m.get("title")!;
  const p = Number(m.get("priority"));
  if (Number.isInteger(p) && p >= 1 && p <= 5) env.priority = p;
  if (m.has("tags")) {
    try {
      const t = JSON.parse(m.get("tags")!);
      if (Array.isArray(t) && t.every((x) => typeof x === "string")) env.tags = t;
    } catch {
      // unreadable tags are dropped, the message still shows
    }
  }
  if (m.has("url")) env.url = m.get("url")!;
  if (m.has("source")) env.source = m.get("source")!;
  return env;
}

/** Stream IDs compare as two unsigned numbers, not as text. */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map((x) => BigInt(x || "0"));
  const [bm, bs] = b.split("-").map((x) => BigInt(x || "0"));
  return am! < bm! ? -1 : am! > bm! ? 1 : as! < bs! ? -1 : as! > bs! ? 1 : 0;
}
