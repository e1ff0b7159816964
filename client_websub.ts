// client_websub.ts — the client's subscription over HTTPS, through the web server: per channel, catch-up from /messages,
// then GET /events with Last-Event-ID, reconnecting with link.ts's backoff; each message once, in order.
import { backoffDelay, failureFromError, type LinkFailure, type Timing, DEFAULT_TIMING } from "./link";
import { EnvelopeSchema, compareIds, isStreamId, type Envelope } from "./message";
import { SseParser } from "./sse";
import type { Config } from "./client_config";
import { isPattern } from "./glob";
import { ClientState } from "./client_state";
import { catchUpChannel, liveMessage, type Handlers, type History, type Subscribing } from "./catchup";
import { httpFailure as anyHttpFailure, httpTarget } from "./client_http";

/** An HTTP answer that will not change by asking again; a 404 means no /events here. */
const httpFailure = (status: number, body: string, base: string): LinkFailure =>
  anyHttpFailure(status, body, base, "has no /events: it does not look like a Notistream web server");

/**
 * A message from the web server's /events or /messages for `ch`, as the client shows it. The web server checks each
 * id against history before it sends it (its hub), so a well-formed id is taken; the channel is always the one asked
 * for. An id that is not a stream ID could not be compared or saved: the message shows without it, and so never
 * moves the saved place. Data that is not an envelope shows as its text, like a plain payload over RESP.
 */
export function envelopeFromServer(ch: string, data: unknown): Envelope {
  const env = EnvelopeSchema.safeParse(data);
  if (!env.success) return liveMessage(ch, typeof data === "string" ? data : JSON.stringify(data)).plain;
  return { ...env.data, channel: ch, id: isStreamId(env.data.id) ? env.data.id : "" };
}

/** An SSE event's data: JSON if it parses, else the text itself. */
function eventData(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export class WebSubscription implements Subscribing {
  private stopped = false;
  private readonly aborts = new Set<AbortController>();
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly tls: { ca: string } | undefined;
  private finished: (() => void) | null = null;
  /** When each channel's stream last ended; a fresh start counts as a long absence. */
  private readonly lastDown = new Map<string, number>();
  private readonly live = new Set<string>();

  constructor(
    private readonly config: Config & { url: string },
    private readonly on: Handlers,
    private readonly timing: Timing = DEFAULT_TIMING,
    private readonly state: ClientState = new ClientState(null, ""),
    private readonly replayLimit = 50,
  ) {
    ({ base: this.base, headers: this.headers, tls: this.tls } = httpTarget(config));
  }

  run(): Promise<void> {
    const globs = this.config.channels.filter(isPattern);
    if (globs.length) {
      this.on.fatal({ fatal: true, code: "GLOB", reason: `glob channels (${globs.join(", ")}) work over the pub/sub port only for now; list the channels one by one with --url` });
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.finished = resolve;
      for (const ch of this.config.channels) void this.channelLoop(ch);
    });
  }

  stop(): void {
    this.stopped = true;
    for (const a of this.aborts) a.abort();
    this.state.save();
    this.finished?.();
  }

  private giveUp(failure: LinkFailure): void {
    if (this.stopped) return;
    this.stop();
    this.on.fatal(failure);
  }

  private async fetchJson(path: string, signal: AbortSignal): Promise<unknown> {
    const r = await fetch(`${this.base}${path}`, { headers: this.headers, signal, tls: this.tls });
    const body = await r.text();
    if (!r.ok) throw httpFailure(r.status, body, this.base);
    return JSON.parse(body);
  }

  /** The envelopes of a /messages answer for `ch` that can be replayed: those with a stream ID (history's own). */
  private envelopes(ch: string, reply: unknown): Envelope[] {
    if (!Array.isArray(reply)) return [];
    return reply.map((item) => envelopeFromServer(ch, item)).filter((e) => e.id !== "");
  }

  /** One channel, for as long as the client runs: catch up, stream, and after a break, again. */
  private async channelLoop(ch: string): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      const abort = new AbortController();
      this.aborts.add(abort);
      let liveSince = 0;
      let reason: LinkFailure;
      try {
        await this.catchUp(ch, abort.signal);
        const headers: Record<string, string> = { ...this.headers, accept: "text/event-stream" };
        const last = this.state.get(ch);
        if (last) headers["last-event-id"] = last;
        const r = await fetch(`${this.base}/events?channel=${encodeURIComponent(ch)}`, { headers, signal: abort.signal, tls: this.tls });
        if (!r.ok || !r.body) throw httpFailure(r.status, await r.text(), this.base);
        liveSince = Date.now();
        this.wentLive(ch);
        const parser = new SseParser();
        for await (const chunk of r.body) {
          for (const ev of parser.push(chunk)) {
            if (ev.event === "status") this.serverStatus(ev.data);
            else if (ev.event === "message") {
              const env = envelopeFromServer(ch, eventData(ev.data));
              if (this.state.advance(env) || this.followBack(ch, env)) {
                this.on.message(env, false);
                this.state.save();
              }
            }
          }
        }
        reason = { fatal: false, code: "EOF", reason: `${this.base} closed the stream` };
      } catch (err) {
        if (this.stopped) break;
        reason = "fatal" in (err as object) ? (err as LinkFailure) : failureFromError(err as Error, this.base);
      } finally {
        this.aborts.delete(abort);
      }
      this.live.delete(ch);
      this.lastDown.set(ch, Date.now());
      this.state.save();
      if (reason.fatal) return this.giveUp(reason);
      if (liveSince && Date.now() - liveSince >= this.timing.stableMs) attempt = 0;
      const delay = backoffDelay(attempt++, Math.random, 500, this.timing.backoffCapMs);
      this.on.status(`${ch}: disconnected: ${reason.reason}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
      await Bun.sleep(delay);
    }
  }

  /** History as the web server's /messages serves it (at most 1000 a request: catch-up reads a page at a time). */
  private historyOver(signal: AbortSignal): History {
    const q = (ch: string) => `/messages?channel=${encodeURIComponent(ch)}`;
    return {
      top: async (ch) => this.envelopes(ch, await this.fetchJson(`${q(ch)}&limit=1`, signal))[0]?.id ?? null,
      after: async (ch, lastId, count) => this.envelopes(ch, await this.fetchJson(`${q(ch)}&since=${encodeURIComponent(lastId)}&limit=${count}`, signal)),
    };
  }

  /** Everything after the last ID seen (catchup.ts); the /events stream then starts from there (Last-Event-ID). */
  private async catchUp(ch: string, signal: AbortSignal): Promise<void> {
    await catchUpChannel(ch, this.historyOver(signal), this.state, this.on, this.lastDown.get(ch) ?? 0, this.replayLimit);
    this.state.save();
    this.on.caughtUp();
  }

  /**
   * The web server sends a channel's events after Last-Event-ID in ID order, once each. So an event below the saved
   * place means the place came from an event that should never have been sent (a forged ID an older web server
   * relayed): the place follows the stream back and the event shows, so no ID can blind the channel. The same ID
   * again is a repeat, and is not shown twice.
   */
  private followBack(ch: string, env: Envelope): boolean {
    const last = this.state.get(ch);
    if (!isStreamId(env.id) || last === undefined || compareIds(env.id, last) === 0) return false;
    this.state.set(ch, env.id);
    return true;
  }

  private wentLive(ch: string): void {
    this.live.add(ch);
    if (this.live.size === this.config.channels.length) this.on.status(`connected to ${this.base}; subscribed to ${this.config.channels.join(", ")}`);
  }

  /** The web server's own subscription went down or came back: say so, since nothing can arrive meanwhile. */
  private serverStatus(data: string): void {
    try {
      const st = JSON.parse(data) as { connected: boolean; error?: string };
      this.on.status(st.connected ? `${this.base} is receiving again` : `${this.base} cannot receive messages right now: ${st.error ?? "no reason given"}`);
    } catch {
      // a status that is not JSON is ignored
    }
  }
}
