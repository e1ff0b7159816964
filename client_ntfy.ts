// client_ntfy.ts — the client's subscription to an ntfy server (anyone's, or ours spoken to as one): one GET /<topics>/json
// stream for every channel, and after every break a catch-up (poll=1&since=<last id>) in time order, each message once.
import { z } from "zod";
import { backoffDelay, failureFromError, DEFAULT_TIMING, type LinkFailure, type Timing } from "./link";
import { ActionSchema, AttachmentSchema, MAX_ACTIONS, SEQUENCE_ID_PATTERN, type Envelope } from "./message";
import type { Config } from "./client_config";
import { isPattern } from "./glob";
import { ClientState } from "./client_state";
import { inTimeOrder, replayMissed, type Handlers, type OpaquePlaces, type Subscribing } from "./catchup";
import { httpFailure, httpTarget } from "./client_http";

/** ntfy's topic names (server.go's topicRegex): the only ones its apps and servers take. */
export const NTFY_TOPIC = /^[-_A-Za-z0-9]{1,64}$/;

/**
 * ntfy sends a keepalive every 45 s (server.go:handleSubscribeHTTP, config.go DefaultKeepaliveInterval); its Android
 * app gives up on a /json stream after 77 s of silence (util/HttpUtil.kt), and so does this client.
 */
export const NTFY_SILENCE_MS = 77_000;

/** A line longer than this is no message JSON of ntfy's (its messages are at most 4 KB of text, plus their fields). */
const MAX_LINE = 1 << 20;

/**
 * The path of one stream for `channels`: ntfy's comma list of topics (/<t1>,<t2>), or a sentence saying why not. Our
 * web server also serves a channel named like a repository, owner/repo, as /<owner>/<repo>/json, one such a stream.
 */
export function topicsPath(channels: string[]): { path: string } | { problem: string } {
  const globs = channels.filter(isPattern);
  if (globs.length) return { problem: `ntfy has no glob topics (${globs.join(", ")}); list the channels one by one` };
  if (channels.length === 1 && channels[0]!.includes("/") && channels[0]!.split("/").every((s) => NTFY_TOPIC.test(s))) return { path: `/${channels[0]}` };
  const bad = channels.filter((c) => !NTFY_TOPIC.test(c));
  if (bad.length)
    return {
      problem:
        `${bad.map((c) => JSON.stringify(c)).join(", ")} ${bad.length === 1 ? "is not an ntfy topic name" : "are not ntfy topic names"}: those are 1 to 64 letters, digits, - and _` +
        (bad.some((c) => c.includes("/")) ? `; a channel like owner/repo goes on a stream of its own, or through a Notistream web server without --ntfy` : ""),
    };
  return { path: `/${channels.join(",")}` };
}

/** ntfy's message JSON (server/types.go message, docs/subscribe/api.md) as it enters: unknown fields are ignored. */
const NtfyLineSchema = z.object({
  id: z.string(),
  time: z.number(),
  event: z.string(),
  topic: z.string(),
  message: z.string().optional(),
  title: z.string().optional(),
  priority: z.number().optional(),
  tags: z.array(z.string()).optional(),
  click: z.string().optional(),
  icon: z.string().optional(),
  /** Checked against message.ts's Action and Attachment when taken (envelopeFromNtfy): a bad one is named, not fatal. */
  actions: z.array(z.unknown()).optional(),
  attachment: z.unknown().optional(),
  content_type: z.string().optional(),
  encoding: z.string().optional(),
  /** v2.16+: a message with the sequence_id of an earlier one updates that notification (absent when it equals id). */
  sequence_id: z.string().optional(),
  /** Our web server's own field, riding along (ntfy's apps ignore it): which sender made the message. */
  source: z.string().optional(),
});
type NtfyLine = z.infer<typeof NtfyLineSchema>;

/** One line of an ntfy stream, as the client takes it. */
export type NtfyEvent =
  /** A message, as the client shows it; `unshown` names ntfy fields it carried that a desktop notification cannot show. */
  | { kind: "message"; env: Envelope; unshown: string[] }
  /** The stream is subscribed (ntfy's first line); `time` is the server's clock. */
  | { kind: "open"; time: number }
  | { kind: "keepalive" }
  /** poll_request (a relay's "fetch it from its own server", for iOS), or a newer kind. */
  | { kind: "ignored"; event: string }
  | { kind: "bad"; reason: string };

/** ntfy's v2.16 events that withdraw a notification: delete it, or mark it read (which dismisses it too). */
const WITHDRAWALS = ["message_delete", "message_clear"] as const;
type Withdrawal = (typeof WITHDRAWALS)[number];
const isWithdrawal = (event: string): event is Withdrawal => (WITHDRAWALS as readonly string[]).includes(event);

/**
 * ntfy's message JSON as our envelope: topic → channel, click → url, and its v2.16 fields as message.ts has them
 * (sequence_id, actions, attachment, icon, Markdown), the same names on both sides. A field that does not fit the
 * envelope is left out and named in `unshown`. A message_delete or message_clear keys on sequence_id, else its id, as
 * ntfy's Android app does (msg/NotificationParser.kt; wire reference §1.4).
 */
export function envelopeFromNtfy(m: NtfyLine): { env: Envelope; unshown: string[] } {
  const env: Envelope = { id: m.id, time: m.time, channel: m.topic, message: m.message ?? "" };
  const unshown: string[] = [];
  if (isWithdrawal(m.event)) env.event = m.event;
  if (m.title) env.title = m.title;
  if (m.priority !== undefined) {
    if (Number.isInteger(m.priority) && m.priority >= 1 && m.priority <= 5) env.priority = m.priority;
    else unshown.push(`priority ${m.priority}`);
  }
  if (m.tags?.length) env.tags = m.tags;
  if (m.click) env.url = m.click;
  if (m.source) env.source = m.source;
  const sid = m.sequence_id ?? (env.event ? m.id : undefined);
  if (sid !== undefined) {
    if (SEQUENCE_ID_PATTERN.test(sid)) env.sequence_id = sid;
    else unshown.push(`sequence_id ${JSON.stringify(sid.slice(0, 80))} (not ntfy's form; shown as a new notification)`);
  }
  if (m.icon) env.icon = m.icon;
  if (m.actions?.length) {
    const actions = z.array(ActionSchema).max(MAX_ACTIONS).safeParse(m.actions);
    if (actions.success) env.actions = actions.data;
    else unshown.push("actions (not in ntfy's shape)");
  }
  if (m.attachment !== undefined) {
    const attachment = AttachmentSchema.safeParse(m.attachment);
    if (attachment.success) env.attachment = attachment.data;
    else unshown.push("attachment (not in ntfy's shape)");
  }
  if (m.content_type === "text/markdown") env.content_type = "text/markdown";
  if (m.encoding) unshown.push(`${m.encoding} encoding (shown as it came)`);
  return { env, unshown };
}

/** One NDJSON line of a /json stream or poll. */
export function ntfyEvent(line: string): NtfyEvent {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    return { kind: "bad", reason: `not JSON: ${JSON.stringify(line.slice(0, 80))}` };
  }
  const parsed = NtfyLineSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { kind: "bad", reason: `${issue.path.join(".") || "the line"}: ${issue.message}` };
  }
  const m = parsed.data;
  if (m.event === "open") return { kind: "open", time: m.time };
  if (m.event === "keepalive") return { kind: "keepalive" };
  if (m.event !== "message" && !isWithdrawal(m.event)) return { kind: "ignored", event: m.event };
  return { kind: "message", ...envelopeFromNtfy(m) };
}

/** Why an ignored event kind is ignored, said once a run. */
const IGNORED_WHY: Record<string, string> = {
  poll_request: "poll_request events are ignored: they tell iOS to fetch a message from the server that has it",
};

/** Splits a byte stream into lines (NDJSON), one decoder across chunks; refuses a line without end. */
class Lines {
  private readonly decoder = new TextDecoder();
  private rest = "";
  push(chunk: Uint8Array): string[] {
    const parts = (this.rest + this.decoder.decode(chunk, { stream: true })).split("\n");
    this.rest = parts.pop()!;
    if (this.rest.length > MAX_LINE) throw new Error(`a line of over ${MAX_LINE} bytes`);
    return parts;
  }
  /** What is left when the body ends (a last line without its newline). */
  end(): string {
    return this.rest + this.decoder.decode();
  }
}

/** Ends a request that stays quiet too long (by aborting it), and says why it did. */
class Watchdog {
  private timer: ReturnType<typeof setTimeout> | undefined;
  fired: string | null = null;
  constructor(private readonly abort: AbortController) {}
  arm(ms: number, why: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fired = why;
      this.abort.abort();
    }, ms);
  }
  disarm(): void {
    clearTimeout(this.timer);
  }
}

const isFailure = (x: unknown): x is LinkFailure => typeof x === "object" && x !== null && "fatal" in x && "reason" in x;

export class NtfySubscription implements Subscribing {
  private stopped = false;
  private abort: AbortController | null = null;
  private finished: (() => void) | null = null;
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly tls: { ca: string } | undefined;
  /** The stream's one place (ntfy's since=<id> counts across its topics); made in run(). */
  private places: OpaquePlaces | null = null;
  private path = "";
  /** When the last stream ended; 0 before the first (a fresh start counts as a long absence). */
  private lastDownAt = 0;
  /** Notes already said this run (an ignored event kind, a field not shown, a bad line). */
  private readonly noted = new Set<string>();

  constructor(
    private readonly config: Config & { url: string },
    private readonly on: Handlers,
    private readonly timing: Timing = DEFAULT_TIMING,
    private readonly state: ClientState = new ClientState(null, ""),
    private readonly replayLimit = 50,
    private readonly silenceMs = NTFY_SILENCE_MS,
  ) {
    ({ base: this.base, headers: this.headers, tls: this.tls } = httpTarget(config));
  }

  run(): Promise<void> {
    const topics = topicsPath(this.config.channels);
    if ("problem" in topics) {
      this.on.fatal({ fatal: true, code: "TOPIC", reason: topics.problem });
      return Promise.resolve();
    }
    this.path = topics.path;
    // One place per server and set of topics: another set (another config) has a since of its own.
    this.places = this.state.opaquePlaces([...this.config.channels].sort().join(","));
    return new Promise((resolve) => {
      this.finished = resolve;
      void this.loop();
    });
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.state.save();
    this.finished?.();
  }

  private giveUp(failure: LinkFailure): void {
    if (this.stopped) return;
    this.stop();
    this.on.fatal(failure);
  }

  private url(query: Record<string, string>): string {
    return `${this.base}${this.path}/json?${new URLSearchParams(query)}`;
  }

  private failure(status: number, body: string): LinkFailure {
    return httpFailure(status, body, this.base, `has no ${this.path}/json: it does not look like an ntfy server`);
  }

  /** Catch up, stream, and after a break (a failure, the server's end, silence) again, with link.ts's backoff. */
  private async loop(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      const abort = (this.abort = new AbortController());
      const watchdog = new Watchdog(abort);
      const live = { since: 0 };
      let reason: LinkFailure;
      try {
        await this.catchUp(abort.signal, watchdog);
        reason = await this.stream(abort.signal, watchdog, live);
      } catch (err) {
        if (this.stopped) break;
        reason = watchdog.fired ? { fatal: false, code: "SILENT", reason: watchdog.fired } : isFailure(err) ? err : failureFromError(err as Error, this.base);
      } finally {
        watchdog.disarm();
      }
      this.lastDownAt = Date.now();
      this.state.save();
      if (reason.fatal) return this.giveUp(reason);
      if (live.since && Date.now() - live.since >= this.timing.stableMs) attempt = 0;
      const delay = backoffDelay(attempt++, Math.random, 500, this.timing.backoffCapMs);
      this.on.status(`disconnected from ${this.base}: ${reason.reason}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
      await Bun.sleep(delay);
    }
  }

  /**
   * Everything the server holds after the place (poll=1&since=<last id>, or a first run's starting second), in time
   * order, each once (catchup.ts's OpaquePlaces and replayMissed). A first run has no place yet: its stream's open
   * event sets one, and nothing before it is shown.
   */
  private async catchUp(signal: AbortSignal, watchdog: Watchdog): Promise<void> {
    const since = this.places!.get();
    if (since === undefined) return;
    watchdog.arm(this.timing.connectTimeoutMs, this.noAnswer());
    const r = await fetch(this.url({ poll: "1", since }), { headers: this.headers, signal, tls: this.tls });
    if (!r.ok || !r.body) throw this.failure(r.status, await r.text());
    const missed: Envelope[] = [];
    const refused = await this.readLines(r.body, watchdog, (line) => {
      const env = this.take(line);
      if (env) missed.push(env);
    });
    if (refused) throw refused;
    replayMissed(inTimeOrder(missed), this.lastDownAt, this.replayLimit, this.places!, this.on);
    this.state.save();
    this.on.caughtUp();
  }

  /** The live stream, from the place on (so a message published since the catch-up still comes), until it ends. */
  private async stream(signal: AbortSignal, watchdog: Watchdog, live: { since: number }): Promise<LinkFailure> {
    watchdog.arm(this.timing.connectTimeoutMs, this.noAnswer());
    const r = await fetch(this.url({ since: this.places!.get() ?? "none" }), { headers: this.headers, signal, tls: this.tls });
    if (!r.ok || !r.body) throw this.failure(r.status, await r.text());
    return (await this.readLines(r.body, watchdog, (line) => this.streamLine(line, live))) ?? { fatal: false, code: "EOF", reason: `${this.base} closed the stream` };
  }

  private noAnswer(): string {
    return `${this.base} did not answer in ${(this.timing.connectTimeoutMs / 1000).toFixed(0)} s`;
  }

  /**
   * An NDJSON body, line by line, until it ends (null) or a line is over MAX_LINE (a fatal failure: not ntfy). Silence
   * for silenceMs ends it through the watchdog: ntfy sends a keepalive every 45 s, and a catch-up comes at once.
   */
  private async readLines(body: ReadableStream<Uint8Array>, watchdog: Watchdog, each: (line: string) => void): Promise<LinkFailure | null> {
    const silence = `nothing from ${this.base} in ${(this.silenceMs / 1000).toFixed(0)} s (ntfy sends a keepalive every 45 s)`;
    const lines = new Lines();
    watchdog.arm(this.silenceMs, silence);
    for await (const chunk of body) {
      watchdog.arm(this.silenceMs, silence);
      let split: string[];
      try {
        split = lines.push(chunk);
      } catch (err) {
        return { fatal: true, code: "NOTNTFY", reason: `${this.base} sent ${(err as Error).message} on ${this.path}/json: that is not ntfy's message JSON` };
      }
      for (const line of split) each(line);
    }
    each(lines.end());
    return null;
  }

  private streamLine(line: string, live: { since: number }): void {
    if (line.trim() === "") return;
    const ev = ntfyEvent(line);
    if (ev.kind === "open") {
      live.since = Date.now();
      if (this.places!.get() === undefined) this.places!.startAt(ev.time);
      this.state.save();
      this.on.status(`connected to ${this.base} (ntfy); subscribed to ${this.config.channels.join(", ")}`);
      return;
    }
    const env = this.take(line, ev);
    if (env && this.places!.advance(env)) {
      this.on.message(env, false);
      this.state.saveSoon();
    }
  }

  /** A line's message, if it is one; what it carried that is not shown, and anything else worth a word, said once a run. */
  private take(line: string, ev: NtfyEvent = ntfyEvent(line)): Envelope | null {
    if (line.trim() === "") return null;
    if (ev.kind === "message") {
      for (const field of ev.unshown) this.note(`field ${field}`, `messages from ${this.base} carry ntfy's ${field}, which the client does not show`);
      return ev.env;
    }
    if (ev.kind === "ignored") this.note(`event ${ev.event}`, IGNORED_WHY[ev.event] ?? `${JSON.stringify(ev.event)} events from ${this.base} are ignored: the client knows message, open and keepalive`);
    if (ev.kind === "bad") this.note("bad", `ignored a line from ${this.base} that is not ntfy's message JSON (${ev.reason}); later ones are ignored without a word`);
    return null;
  }

  private note(key: string, line: string): void {
    if (this.noted.has(key)) return;
    this.noted.add(key);
    this.on.status(line);
  }
}
