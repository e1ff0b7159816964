// web_input.ts — what a request sends, checked: InputError (a 4xx that says what to fix), the channel-name rules every
// route applies, and a publish's fields turned into a notification that passes the checks. Pure: no I/O.
import { RESERVED_CHANNEL_PREFIX, isReservedChannel, priorityFrom, type Notification } from "./message";

export const DEFAULT_MAX_MESSAGE = 64 * 1024;

/** Bad input from a request: a 4xx (400 unless `status` says otherwise) whose message says what was wrong and what to send. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** A form, JSON or query value as text: strings as they are, numbers and booleans written out; anything else is not text. */
const fieldText = (v: unknown): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return undefined;
};

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
export function refuseChannelName(channel: string): void {
  const why = channelRefusal(channel);
  if (why !== null) throw new InputError(why);
}

/** The longest title, in characters. */
const MAX_TITLE = 1024;

/** The channel's checks: named, at most 1024 characters, and a name HTTP takes. */
function checkChannel(channel: string): void {
  if (channel.trim() === "") throw new InputError('"channel" is empty: give the channel a name');
  if (channel.length > 1024) throw new InputError('"channel" is longer than 1024 characters');
  refuseChannelName(channel);
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

/** A priority as a whole number 1-5 or one of ntfy's names (message.ts); an InputError says what is accepted. */
function parsePriority(raw: string): number {
  const p = priorityFrom(raw);
  if (p === null) throw new InputError(`"priority" must be a whole number from 1 to 5 or a name (min, low, default, high, max, urgent), got ${JSON.stringify(raw)}`);
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
    const t = fieldText(v);
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
