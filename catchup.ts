// catchup.ts — what the client's subscriptions (RESP, cluster, HTTPS) share while catching up: the handlers they
// call, a live message checked against history and let through in arrival order, and replaying what a channel missed.
import { compareIds, envelopeFromEntry, isStreamId, parsePayload, type Envelope } from "./message";
import type { ClientState } from "./client_state";
import type { LinkFailure } from "./link";

/** What a subscription (over RESP or over HTTPS) tells the client. */
export type Handlers = {
  /** A message to show, once; `replayed` when it came from a catch-up rather than live. */
  message: (env: Envelope, replayed: boolean) => void;
  /** This connection's catch-up is over: the replayed messages so far were one batch. */
  caughtUp: () => void;
  status: (line: string) => void;
  /** A failure that will not fix itself (a wrong password, no rights, not a RESP server): the subscription stopped. */
  fatal: (failure: LinkFailure) => void;
};

/** Both kinds of subscription run until stopped or until a fatal failure. */
export interface Subscribing {
  run(): Promise<void>;
  stop(): void;
}

/** A history entry as XRANGE returns it. */
export type Entry = { id: string; fields: string[] };

/** A history entry as a message: the channel is the one whose stream it was read from, never a field inside it. */
export function envelopeFromHistory(entry: Entry, channel: string): Envelope {
  return { ...envelopeFromEntry(entry.id, entry.fields, channel), channel };
}

/**
 * A live message before it is trusted. Anyone who may PUBLISH on a channel can put any JSON in a payload, so:
 * - `channel` is the RESP frame's (the subscribed channel, or the pmessage's), never the payload's;
 * - `checkId` is the payload's `id` if it is a well-formed stream ID, to be looked up in that channel's history
 *   (`XRANGE <key> <id> <id>`); what is shown is then the entry read back, not the payload (settleLive);
 * - `plain` is what is shown otherwise: the whole payload as text, with no id, so it never moves the saved place.
 */
export type LiveMessage = { channel: string; checkId: string | null; plain: Envelope & { plain: true } };

export function liveMessage(channel: string, payload: string, nowMs = Date.now()): LiveMessage {
  const parsed = parsePayload(channel, payload);
  return {
    channel,
    checkId: !parsed.plain && isStreamId(parsed.id) ? parsed.id : null,
    plain: { id: "", time: Math.floor(nowMs / 1000), channel, message: payload, plain: true },
  };
}

/** What a checked live message shows: its entry in history (from `XRANGE <key> <id> <id>`), or, with none, the plain payload. */
export function settleLive(m: LiveMessage, entries: Entry[]): Envelope {
  const entry = m.checkId === null ? undefined : entries.find((e) => isStreamId(e.id) && compareIds(e.id, m.checkId!) === 0);
  return entry ? envelopeFromHistory(entry, m.channel) : m.plain;
}

/**
 * Live messages let through in the order they came, each once its history check has answered (checks on one
 * connection answer in order, but a plain message needs none and must not overtake a checked one before it).
 */
/**
 * Held live messages in the order to show them: those with an id sorted by it among the places ids held (several
 * web servers may PUBLISH slightly out of XADD order), plain ones where they arrived. One comparator that called a
 * plain message equal to every other was no order at all, and sort() then moved messages past each other.
 */
export function inIdOrder(held: Envelope[]): Envelope[] {
  const withIds = held.filter((e) => e.id !== "").sort((a, b) => compareIds(a.id, b.id));
  let next = 0;
  return held.map((e) => (e.id !== "" ? withIds[next++]! : e));
}

export class ArrivalOrder {
  private waiting: { env: Envelope | null }[] = [];

  constructor(private readonly deliver: (env: Envelope) => void) {}

  /** The next message's place in line: call the result with what to show once that is known. */
  take(): (env: Envelope) => void {
    const slot: { env: Envelope | null } = { env: null };
    this.waiting.push(slot);
    return (env) => {
      slot.env ??= env;
      while (this.waiting[0]?.env) this.deliver(this.waiting.shift()!.env!);
    };
  }

  /** Forgets the messages still in line (their connection ended: catch-up brings the real ones back from history). */
  clear(): void {
    this.waiting = [];
  }
}

/**
 * A saved place past the newest entry of the channel's history (a forged ID saved by an older client, or a server
 * whose history was reset) would make every catch-up, and every live message, look already seen. Such a channel
 * starts again from its newest entry, as on a first run; true when that happened.
 */
export function restartIfPastHistory(ch: string, newest: string | undefined, state: ClientState, on: Pick<Handlers, "status">): boolean {
  const last = state.get(ch);
  if (last === undefined || compareIds(last, newest ?? "0-0") <= 0) return false;
  state.set(ch, newest ?? "0-0");
  on.status(`${ch}: the saved place ${last} is past the newest message in its history; going on from ${newest ?? "the start"}`);
  return true;
}

/** Gaps shorter than this (a Wi-Fi drop, a server restart) are replayed in full; longer ones use the replay limit. */
const LONG_ABSENCE_MS = 10 * 60_000;

/**
 * Shows what a channel missed, oldest first, each message once. A short gap is replayed in full so nothing is lost;
 * only a start or a long absence (`lastDownAt` 0 means never connected) is capped at the newest `limit`.
 */
export function replayMissed(ch: string, missed: Envelope[], lastDownAt: number, limit: number, state: ClientState, on: Handlers): void {
  const longAbsence = lastDownAt === 0 || Date.now() - lastDownAt > LONG_ABSENCE_MS;
  const skip = longAbsence ? Math.max(0, missed.length - limit) : 0;
  if (skip > 0) {
    on.status(`${ch}: skipped ${skip} older messages while away; showing the last ${limit}`);
    state.set(ch, missed[skip - 1]!.id);
  }
  for (const env of missed.slice(skip)) if (state.advance(env)) on.message(env, true);
}
