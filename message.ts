// message.ts — the message envelope: its zod schema, building it, its history fields and reading it back (from
// history, or from a payload: JSON envelope or plain text), the server's reserved channels, stream IDs. Pure: no I/O.
// zod/mini: the same validation with a tree-shakable API, so the app that bundles this file stays small.
import { z } from "zod/mini";

/** ntfy's priority names (util.go ParsePriority), any case; "urgent" is "max". */
const PRIORITY_NAMES: Record<string, number> = { min: 1, low: 2, default: 3, high: 4, max: 5, urgent: 5 };

/** A priority as every way in takes it, ntfy's way: 1 to 5, or min, low, default, high, max (urgent); null: not one. */
export function priorityFrom(text: string): number | null {
  const t = text.trim().toLowerCase();
  return /^[1-5]$/.test(t) ? Number(t) : (PRIORITY_NAMES[t] ?? null);
}

/** ntfy's topic regex, which a sequence ID must match too (server.go topicRegex; errors.go 40049 for a bad one). */
export const SEQUENCE_ID_PATTERN = /^[-_A-Za-z0-9]{1,64}$/;

/** An action button, as ntfy's message JSON has it (model.go Action): `id` is 10 characters, `clear` always set. */
export const ActionSchema = z.object({
  id: z.string(),
  action: z.enum(["view", "http", "broadcast", "copy"]),
  label: z.string(),
  clear: z.boolean(),
  url: z.optional(z.string()),
  method: z.optional(z.string()),
  headers: z.optional(z.record(z.string(), z.string())),
  body: z.optional(z.string()),
  intent: z.optional(z.string()),
  extras: z.optional(z.record(z.string(), z.string())),
  value: z.optional(z.string()),
});
export type Action = z.infer<typeof ActionSchema>;
/** ntfy's limit on actions per message (action.go actionsMax). */
export const MAX_ACTIONS = 3;

/** A file, uploaded or at an external URL: `type`, `size` and `expires` only for files the server keeps (ntfy's attachment). */
export const AttachmentSchema = z.object({
  name: z.string(),
  type: z.optional(z.string()),
  size: z.optional(z.number()),
  expires: z.optional(z.number()),
  url: z.string(),
});
export type Attachment = z.infer<typeof AttachmentSchema>;

/** The `gotify` field: a number that only grows (≥ 1 once published), Gotify's own priority and extras. */
export const GotifySchema = z.object({
  id: z.int().check(z.gte(0)),
  priority: z.optional(z.int()),
  extras: z.optional(z.record(z.string(), z.unknown())),
});
export type GotifyFields = z.infer<typeof GotifySchema>;

const text = { schema: z.optional(z.string()), store: (v: string) => v, load: (s: string): string | undefined => s };

/** A field kept in history as JSON: read back through its schema, and an unreadable one dropped (the message still shows). */
function jsonField<T>(schema: z.ZodMiniType<T>) {
  return {
    schema: z.optional(schema),
    store: (v: T) => JSON.stringify(v),
    load: (s: string): T | undefined => {
      try {
        const r = schema.safeParse(JSON.parse(s));
        return r.success ? r.data : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** A field that takes one of a few words: any other word read back from history is dropped. */
function wordField<const W extends string>(words: readonly [W, ...W[]]) {
  return {
    schema: z.optional(z.enum(words)),
    store: (v: W) => v,
    load: (s: string): W | undefined => (words as readonly string[]).includes(s) ? (s as W) : undefined,
  };
}

/**
 * The envelope's optional fields, listed once: each one's schema, and how it is written to a history entry's
 * fields (strings) and read back. Building, storing and reading an envelope all go through this table. A reader that
 * knows only some of them still shows the message: EnvelopeSchema drops keys it does not know.
 */
const OPTIONAL = {
  title: text,
  priority: {
    schema: z.optional(z.int().check(z.gte(1), z.lte(5))),
    store: (v: number) => String(v),
    load: (s: string): number | undefined => (/^[1-5]$/.test(s) ? Number(s) : undefined),
  },
  tags: jsonField(z.array(z.string())),
  url: text,
  source: text,
  /** Absent: an ordinary message. message_delete withdraws, message_clear marks read, the notification of `sequence_id`. */
  event: wordField(["message_delete", "message_clear"]),
  /** The notification this message updates, deletes or clears (ntfy v2.16); absent: the message's own id. */
  sequence_id: {
    schema: z.optional(z.string().check(z.regex(SEQUENCE_ID_PATTERN))),
    store: (v: string) => v,
    load: (s: string): string | undefined => (SEQUENCE_ID_PATTERN.test(s) ? s : undefined),
  },
  actions: jsonField(z.array(ActionSchema).check(z.maxLength(MAX_ACTIONS))),
  attachment: jsonField(AttachmentSchema),
  /** An http(s) URL of an image to show beside the notification. */
  icon: text,
  /** "text/markdown": the message is Markdown. */
  content_type: wordField(["text/markdown"]),
  /** "base64": the message is a binary body base64-encoded (UnifiedPush's encrypted Web Push bodies; ntfy's encoding). */
  encoding: wordField(["base64"]),
  /**
   * Gotify's view of a message on a channel some Gotify app is bound to (web_gotify_model.ts): its number, given by the
   * Publisher at publish time from one counter shared by every web server; the exact 0–10 priority and the extras a
   * Gotify sender gave. 0 only before the Publisher numbers it.
   */
  gotify: jsonField(GotifySchema),
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
  event: OPTIONAL.event.schema,
  sequence_id: OPTIONAL.sequence_id.schema,
  actions: OPTIONAL.actions.schema,
  attachment: OPTIONAL.attachment.schema,
  icon: OPTIONAL.icon.schema,
  content_type: OPTIONAL.content_type.schema,
  encoding: OPTIONAL.encoding.schema,
  gotify: OPTIONAL.gotify.schema,
  /**
   * Cache: no: a message published live and kept in no history, so it has no id (""), never moves a reader's place,
   * and a live reader shows it as it came rather than look it up in history (parsePayload). Never a history field.
   */
  uncached: z.optional(z.literal(true)),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** Copies the optional fields that are set from one envelope-like object to another, in the table's order. */
function copyOptional(from: Partial<Envelope>, to: Partial<Envelope>): void {
  for (const k of OPTIONAL_FIELDS) if (from[k] !== undefined) (to as Record<string, unknown>)[k] = from[k];
}

/**
 * What a person is shown for a UnifiedPush body that is not UTF-8 (`encoding: "base64"`): ciphertext for an app on a
 * phone, unreadable anywhere else, so a note of its size; null for any other message. Shared by the desktop client
 * and the app, so both say the same.
 */
export function encryptedNote(env: Pick<Envelope, "encoding" | "message">): string | null {
  if (env.encoding !== "base64") return null;
  const bytes = Math.floor((env.message.replace(/=+$/, "").length * 3) / 4);
  return `(an encrypted UnifiedPush message, ${bytes} bytes)`;
}

/** What a publisher asks for, before it has an id and a time. */
export type Notification = Omit<Envelope, "id" | "time">;

/**
 * Channels the server keeps for itself (Web Push's bookkeeping): nobody publishes to them or reads them over HTTP,
 * so a request can neither forge nor watch that traffic.
 */
export const RESERVED_CHANNEL_PREFIX = "notistream:";
export const isReservedChannel = (channel: string): boolean => channel.startsWith(RESERVED_CHANNEL_PREFIX);
export function buildEnvelope(n: Notification, id: string, timeMs: number): Envelope {
  const env: Envelope = { id, time: Math.floor(timeMs / 1000), channel: n.channel, message: n.message };
  copyOptional(n, env);
  if (n.uncached) env.uncached = true;
  return env;
}

/**
 * Reads a published payload. A JSON envelope comes back with the channel it came on (the RESP frame's, never the
 * payload's own), if its id is a complete stream ID; anything else (for example a plain `redis-cli PUBLISH ch hello`,
 * or an envelope with a made-up id) becomes a plain message whose text is the whole payload. The id is still only a
 * claim: a reader that acts on it checks it against the channel's history (web_hub.ts does, for the web server).
 * An uncached envelope (Cache: no) has no id and no history to check: it is taken as it came, trusted as far as the
 * channel's PUBLISH right goes, as plain text is.
 */
export function parsePayload(channel: string, payload: string): Envelope & { plain?: true } {
  if (payload.startsWith("{")) {
    try {
      const parsed = EnvelopeSchema.safeParse(JSON.parse(payload));
      if (parsed.success && (isStreamId(parsed.data.id) || (parsed.data.id === "" && parsed.data.uncached === true))) {
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
