// message.ts — the message envelope: its zod schema, turning raw publish fields into a notification,
// building the envelope, and reading a payload back (JSON envelope or plain text). Pure: no I/O.
// zod/mini: the same validation with a tree-shakable API, so the app that bundles this file stays small.
import { z } from "zod/mini";

export const DEFAULT_MAX_MESSAGE = 64 * 1024;

/**
 * The envelope's optional fields, listed once: each one's schema, and how it is written to a history entry's
 * fields (strings) and read back. Building, storing and reading an envelope all go through this table.
 */
const OPTIONAL = {
  title: { schema: z.optional(z.string()), store: (v: string) => v, load: (s: string): string | undefined => s },
  priority: {
    schema: z.optional(z.int().check(z.gte(1), z.lte(5))),
    store: (v: number) => String(v),
    load: (s: string): number | undefined => (/^[1-5]$/.test(s) ? Number(s) : undefined),
  },
  tags: {
    schema: z.optional(z.array(z.string())),
    store: (v: string[]) => JSON.stringify(v),
    load: (s: string): string[] | undefined => {
      try {
        const t: unknown = JSON.parse(s);
        return Array.isArray(t) && t.every((x) => typeof x === "string") ? t : undefined;
      } catch {
        return undefined; // unreadable tags are dropped, the message still shows
      }
    },
  },
  url: { schema: z.optional(z.string()), store: (v: string) => v, load: (s: string): string | undefined => s },
  source: { schema: z.optional(z.string()), store: (v: string) => v, load: (s: string): string | undefined => s },
};
type OptionalField = keyof typeof OPTIONAL;
export const OPTIONAL_FIELDS = Object.keys(OPTIONAL) as OptionalField[];

export const EnvelopeSchema = z.object({
  id: z.string(),
  time: z.number(),
  channel: z.string(),
  message: z.string(),
  title: OPTIONAL.title.schema,
  priority: OPTIONAL.priority.schema,
  tags: OPTIONAL.tags.schema,
  url: OPTIONAL.url.schema,
  source: OPTIONAL.source.schema,
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** Copies the optional fields that are set from one envelope-like object to another, in the table's order. */
function copyOptional(from: Partial<Envelope>, to: Partial<Envelope>): void {
  for (const k of OPTIONAL_FIELDS) if (from[k] !== undefined) (to as Record<string, unknown>)[k] = from[k];
}

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
 * Channels the server keeps for itself (Web Push's bookkeeping): nobody publishes to them or reads them over HTTP,
 * so a request can neither forge nor watch that traffic.
 */
export const RESERVED_CHANNEL_PREFIX = "notistream:";
export const isReservedChannel = (channel: string): boolean => channel.startsWith(RESERVED_CHANNEL_PREFIX);
/** Control characters: C0 (CR and LF among them), DEL and C1. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why HTTP does not take a channel name, or null: the server's own prefix, or a control character (a CR or LF in a
 * name would end a line of an SSE stream, a header or a log line, and write one of its own). One rule for every
 * route where a channel enters: publishing, senders, /events and /messages, push subscriptions.
 */
export function channelRefusal(channel: string): string | null {
  if (isReservedChannel(channel)) return `channels starting with "${RESERVED_CHANNEL_PREFIX}" are the server's own; pick another name`;
  const control = CONTROL_CHARACTER.exec(channel);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
    return `a channel name may not hold control characters, and ${JSON.stringify(channel.slice(0, 100))} has U+${code} at position ${control.index + 1}`;
  }
  return null;
}

/** Throws the 400 for a channel name HTTP does not take: a reserved one, or one with control characters. */
export function refuseReserved(channel: string): void {
  const why = channelRefusal(channel);
  if (why !== null) throw new InputError(why);
}

/** The longest title, in characters. */
export const MAX_TITLE = 1024;

/** The channel's checks: named, at most 1024 characters, and a name HTTP takes. */
function checkChannel(channel: string): void {
  if (channel.trim() === "") throw new InputError('"channel" is empty: give the channel a name');
  if (channel.length > 1024) throw new InputError('"channel" is longer than 1024 characters');
  refuseReserved(channel);
}

function checkMessage(message: string, maxMessage: number): void {
  if (message === "") throw new InputError('"message" is empty: a notification needs some text');
  const bytes = Buffer.byteLength(message);
  if (bytes > maxMessage) throw new InputError(`"message" is ${bytes} bytes; the limit is ${maxMessage} bytes`, 413);
}

function checkTitle(title: string): void {
  if (title.length > MAX_TITLE) throw new InputError(`"title" is longer than ${MAX_TITLE} characters`);
}

/** Only http(s) links: a javascript: or file: url would run or open something where the message is clicked. */
function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError(`"url" is not a valid URL: ${JSON.stringify(url.slice(0, 200))}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new InputError(`"url" must start with http:// or https://, got ${JSON.stringify(url.slice(0, 200))}`);
}

/**
 * The checks every notification passes, whichever route made it (POST /, /<channel>, a sender's payload): the
 * channel's name, the message's size (`maxMessage`, 413 past it), the title's length, an http(s) url. Throws the
 * InputError that names the field; returns the notification as it is.
 */
export function checkNotification(n: Notification, maxMessage = DEFAULT_MAX_MESSAGE): Notification {
  checkChannel(n.channel);
  checkMessage(n.message, maxMessage);
  if (n.title !== undefined) checkTitle(n.title);
  if (n.url !== undefined) checkUrl(n.url);
  return n;
}


/**
 * A sender's rendered text fitted to the caps every notification has: the title to MAX_TITLE characters and the
 * message to `maxMessage` bytes, each cut with "…". A sender's text is a summary the server writes, so it is cut
 * rather than refused (a real delivery is not lost for one long commit line); the fields cut are returned, for the
 * reply to say so.
 */
export function fitText(n: Notification, maxMessage: number): string[] {
  const cut: string[] = [];
  if (n.title !== undefined && n.title.length > MAX_TITLE) {
    n.title = cutChars(n.title, MAX_TITLE - 1) + "…";
    cut.push("title");
  }
  if (Buffer.byteLength(n.message) > maxMessage) {
    // stream: true holds back a character cut in half, so the text ends on a whole one ("…" is 3 bytes).
    n.message = new TextDecoder().decode(Buffer.from(n.message).subarray(0, Math.max(0, maxMessage - 3)), { stream: true }) + "…";
    cut.push("message");
  }
  return cut;
}

/** The first `n` UTF-16 units of `s`, never ending on half a surrogate pair. */
function cutChars(s: string, n: number): string {
  const head = s.slice(0, n);
  const last = head.charCodeAt(head.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? head.slice(0, -1) : head;
}

/** ntfy's priority names, accepted wherever a priority is. */
export const PRIORITY_NAMES: Record<string, number> = { min: 1, low: 2, default: 3, high: 4, max: 5, urgent: 5 };

/** A priority as a whole number 1-5 or one of ntfy's names; an InputError says what is accepted. */
export function parsePriority(raw: string): number {
  const named = PRIORITY_NAMES[raw.trim().toLowerCase()];
  if (named !== undefined) return named;
  const p = Number(raw);
  if (!Number.isInteger(p) || p < 1 || p > 5) throw new InputError(`"priority" must be a whole number from 1 to 5 or a name (min, low, default, high, max, urgent), got ${JSON.stringify(raw)}`);
  return p;
}

/** Other names a field goes by (ntfy's JSON): the first given wins. */
const ALIASES: Record<string, string[]> = { channel: ["channel", "topic"], url: ["url", "click"] };

/**
 * Turns raw fields (from a form, a JSON object or a query string) into a notification, or throws an
 * InputError that says exactly what is wrong. `topic` may stand for `channel`, and `click` for `url`, as in ntfy.
 */
export function notificationFromFields(fields: Record<string, unknown>, opts: { maxMessage?: number; source?: string } = {}): Notification {
  const maxMessage = opts.maxMessage ?? DEFAULT_MAX_MESSAGE;
  const field = (name: string): string | undefined => {
    const key = (ALIASES[name] ?? [name]).find((k) => fields[k] !== undefined && fields[k] !== null) ?? name;
    const v = fields[key];
    const t = text(v);
    if (v !== undefined && v !== null && t === undefined) throw new InputError(`"${key}" must be a string`);
    return t;
  };
  const channel = field("channel");
  if (channel === undefined) throw new InputError('missing "channel": say which channel to publish to, e.g. channel=alerts');
  checkChannel(channel);
  const message = field("message");
  if (message === undefined) throw new InputError('missing "message": say what the notification should read, e.g. message=hello');
  checkMessage(message, maxMessage);
  const n: Notification = { channel, message };
  const title = field("title");
  if (title !== undefined && title !== "") {
    checkTitle(title);
    n.title = title;
  }
  const priority = field("priority");
  if (priority !== undefined && priority !== "") n.priority = parsePriority(priority);
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
    checkUrl(url);
    n.url = url;
  }
  if (opts.source) n.source = opts.source;
  return n;
}

export function buildEnvelope(n: Notification, id: string, timeMs: number): Envelope {
  const env: Envelope = { id, time: Math.floor(timeMs / 1000), channel: n.channel, message: n.message };
  copyOptional(n, env);
  return env;
}

/**
 * Reads a published payload. A JSON envelope comes back with the channel it came on (the RESP frame's, never the
 * payload's own), if its id is a complete stream ID; anything else (for example a plain `redis-cli PUBLISH ch hello`,
 * or an envelope with a made-up id) becomes a plain message whose text is the whole payload. The id is still only a
 * claim: a reader that acts on it checks it against the channel's history (hub.ts does, for the web server).
 */
export function parsePayload(channel: string, payload: string): Envelope & { plain?: true } {
  if (payload.startsWith("{")) {
    try {
      const parsed = EnvelopeSchema.safeParse(JSON.parse(payload));
      if (parsed.success && isStreamId(parsed.data.id)) {
        parsed.data.channel = channel;
        return parsed.data;
      }
    } catch {
      // not JSON: shown as plain text below
    }
  }
  return plainEnvelope(channel, payload);
}

/** The one line a client prints for a message: `[channel] title: message <url>`. */
export function formatLine(e: Envelope): string {
  const body = e.message.replace(/\s*\n\s*/g, " ");
  const line = e.title ? `[${e.channel}] ${e.title}: ${body}` : `[${e.channel}] ${body}`;
  return e.url !== undefined ? `${line} <${e.url}>` : line;
}

/** The envelope as stream fields for XADD (the id is the entry's own). */
export function envelopeFields(n: Notification, timeMs: number): string[] {
  const f = ["time", String(Math.floor(timeMs / 1000)), "channel", n.channel, "message", n.message];
  for (const k of OPTIONAL_FIELDS) {
    const v = n[k];
    if (v !== undefined) f.push(k, (OPTIONAL[k].store as (v: unknown) => string)(v));
  }
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
  const loaded: Partial<Envelope> = {};
  for (const k of OPTIONAL_FIELDS) {
    const raw = m.get(k);
    if (raw !== undefined) (loaded as Record<string, unknown>)[k] = OPTIONAL[k].load(raw);
  }
  copyOptional(loaded, env);
  return env;
}

const U64_MAX = 2n ** 64n - 1n;
/** A complete stream ID, `<ms>-<seq>`, both parts unsigned 64-bit: the only `id` worth comparing, storing or sending on. */
export function isStreamId(id: string): boolean {
  const m = /^(\d{1,20})-(\d{1,20})$/.exec(id);
  return m !== null && BigInt(m[1]!) <= U64_MAX && BigInt(m[2]!) <= U64_MAX;
}

/** A stream ID's form, `<ms>` or `<ms>-<seq>` (`5` is `5-0`, as Redis reads an incomplete ID). */
const ID_FORM = /^(\d{1,20})(?:-(\d{1,20}))?$/;

/** Two runs of digits compared as whole numbers of any size: leading zeros skipped, then length, then digit by digit. */
function compareDigits(a: string, b: string): number {
  let i = 0;
  while (i < a.length - 1 && a.charCodeAt(i) === 48) i++;
  let j = 0;
  while (j < b.length - 1 && b.charCodeAt(j) === 48) j++;
  if (a.length - i !== b.length - j) return a.length - i < b.length - j ? -1 : 1;
  for (; i < a.length; i++, j++) if (a.charCodeAt(i) !== b.charCodeAt(j)) return a.charCodeAt(i) < b.charCodeAt(j) ? -1 : 1;
  return 0;
}

/**
 * Stream IDs compare as two unsigned 64-bit numbers, not as text (nor as doubles, which fail past 2^53). Never
 * throws: whatever a payload claimed, a reader sorting it must go on. Something that is no ID sorts before every ID
 * (so it never counts as newer), and such values among themselves as text.
 */
export function compareIds(a: string, b: string): number {
  const x = ID_FORM.exec(a);
  const y = ID_FORM.exec(b);
  if (!x || !y) return x ? 1 : y ? -1 : a < b ? -1 : a > b ? 1 : 0;
  return compareDigits(x[1]!, y[1]!) || compareDigits(x[2] ?? "0", y[2] ?? "0");
}

/** A payload taken as plain text: the whole of it is the message, on the channel it came on, with no id. */
export function plainEnvelope(channel: string, payload: string): Envelope & { plain: true } {
  return { id: "", time: Math.floor(Date.now() / 1000), channel, message: payload, plain: true };
}
