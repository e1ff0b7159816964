// catchup.ts — catch-up, written once for every reader (the client over RESP, a cluster, HTTPS or an ntfy server; the web
// server's SSE streams and push): history read after the last ID seen, live messages held meanwhile, in order, each once.
import { bulkText, type Reply } from "./resp";
import { EnvelopeSchema, compareIds, envelopeFromEntry, isStreamId, parsePayload, type Envelope } from "./message";
import { isPattern } from "./glob";
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

/** Every kind of subscription runs until stopped or until a fatal failure. */
export interface Subscribing {
  run(): Promise<void>;
  stop(): void;
}

// ---- History replies -------------------------------------------------------------------------------------------

/** A history entry as XRANGE returns it. */
export type Entry = { id: string; fields: string[] };

const isReply = (x: unknown): x is Reply => typeof x === "object" && x !== null && !Array.isArray(x) && "type" in x;
/** A reply's elements: a plain array (ioredis, resp.ts's replyToJS) or a RESP3 array (link.ts); null for anything else. */
const elements = (x: unknown): unknown[] | null => (Array.isArray(x) ? x : isReply(x) && x.type === "array" && x.value ? x.value : null);
const text = (x: unknown): string => (typeof x === "string" ? x : x instanceof Uint8Array ? Buffer.from(x).toString() : isReply(x) ? bulkText(x) : String(x));

/**
 * The entries of an XRANGE or XREVRANGE reply, in either shape a connection gives: RESP3 from link.ts, or arrays from
 * ioredis (and from the web server's store). An error reply is no reply: it throws. Anything that is not an entry
 * with a stream ID (no Redis sends one) is left out, since it could be neither ordered nor saved.
 */
export function entriesFromReply(reply: unknown): Entry[] {
  if (reply instanceof Error) throw reply;
  if (isReply(reply) && reply.type === "error") throw new Error(reply.value);
  const out: Entry[] = [];
  for (const item of elements(reply) ?? []) {
    const parts = elements(item);
    const id = parts && parts.length >= 1 ? text(parts[0]) : "";
    if (isStreamId(id)) out.push({ id, fields: (elements(parts![1]) ?? []).map(text) });
  }
  return out;
}

/**
 * A history entry as a message, checked as a live payload is (EnvelopeSchema): the channel is the one whose stream it
 * was read from, never a field inside it, and a time that is no number is the entry ID's own second.
 */
export function envelopeFromHistory(entry: Entry, channel: string): Envelope {
  const env = { ...envelopeFromEntry(entry.id, entry.fields, channel), channel };
  if (!Number.isFinite(env.time)) env.time = Math.floor(Number(entry.id.split("-")[0]) / 1000);
  return EnvelopeSchema.parse(env);
}

/** The one decoder of XRANGE/XREVRANGE replies into envelopes on `channel`, for every reader. */
export const envelopesFromReply = (reply: unknown, channel: string): Envelope[] => entriesFromReply(reply).map((e) => envelopeFromHistory(e, channel));

// ---- Reading history -------------------------------------------------------------------------------------------

/** What catch-up reads: a RESP link, a cluster's commands and the web server's store (historyOver), or /messages. */
export interface History {
  /** The ID of the newest entry in `channel`'s history, or null when it holds none. */
  top(channel: string): Promise<string | null>;
  /** Up to `count` entries after `lastId` (not including it), oldest first. */
  after(channel: string, lastId: string, count: number): Promise<Envelope[]>;
}

/** History on a connection that runs commands, which also looks up one entry (a live message's check) and reads back. */
export interface CommandHistory extends History {
  /** The entry `id` of `channel`'s history, or null when it holds none such. */
  find(channel: string, id: string): Promise<Envelope | null>;
  /** Up to `count` entries before `beforeId` ("+": the newest), newest first. */
  before(channel: string, beforeId: string, count: number): Promise<Envelope[]>;
}

/** A command's reply; an error reply rejects (link.ts's call, ioredis, the web server's store all do). */
export type RunCommand = (command: string, args: string[]) => Promise<unknown>;

/** The largest stream ID: nothing comes after it (and Redis refuses it as an exclusive start). */
export const MAX_ID = "18446744073709551615-18446744073709551615";

/** History read with XRANGE/XREVRANGE through `run`, from the stream `keyOf` names for a channel. */
export function historyOver(run: RunCommand, keyOf: (channel: string) => string | Promise<string>): CommandHistory {
  const read = async (channel: string, command: string, args: string[]) => envelopesFromReply(await run(command, [await keyOf(channel), ...args]), channel);
  return {
    top: async (channel) => (await read(channel, "XREVRANGE", ["+", "-", "COUNT", "1"]))[0]?.id ?? null,
    after: async (channel, lastId, count) => (compareIds(lastId, MAX_ID) >= 0 ? [] : read(channel, "XRANGE", [`(${lastId}`, "+", "COUNT", String(count)])),
    before: async (channel, beforeId, count) =>
      beforeId !== "+" && compareIds(beforeId, "0-0") <= 0 ? [] : read(channel, "XREVRANGE", [beforeId === "+" ? "+" : `(${beforeId}`, "-", "COUNT", String(count)]),
    find: async (channel, id) => (await read(channel, "XRANGE", [id, id])).find((e) => compareIds(e.id, id) === 0) ?? null,
  };
}

// ---- Places: the last ID seen per channel ----------------------------------------------------------------------

/** Where a reader stands in each channel's history: the client's saved state, or an SSE stream's last IDs sent. */
export interface Places {
  get(channel: string): string | undefined;
  set(channel: string, id: string): void;
  /** Moves the place on to `env`; false when it was seen already. A message with no stream ID is new and moves nothing. */
  advance(env: Envelope): boolean;
}

/**
 * The one rule for moving a place on, whichever keeps it: false when `env` was seen already (its ID is not above the
 * channel's place). A message without a well-formed ID (a plain payload) is new and never moves the place.
 */
export function advancePlace(places: Pick<Places, "get" | "set">, env: Envelope): boolean {
  if (!isStreamId(env.id)) return true;
  const prev = places.get(env.channel);
  if (prev !== undefined && compareIds(env.id, prev) <= 0) return false;
  places.set(env.channel, env.id);
  return true;
}

/**
 * Where a reader stands on a server whose message IDs carry no order (ntfy's random 12-character IDs), as kept: the
 * `since` to ask from (the last ID shown, or a first run's starting second), the second before which everything counts
 * as seen, and the IDs shown from then on, with their seconds.
 */
export type OpaquePlace = { since: string; horizon: number; seen: [id: string, time: number][] };

/** IDs an opaque place remembers; past this its oldest seconds are forgotten whole, and the horizon moves past them. */
const SEEN_KEPT = 200;

/**
 * Places on a server whose IDs are opaque, for one stream of several channels (ntfy's since=<id> counts across all
 * the topics of a stream, so the stream has one place, not one per channel). IDs cannot be compared, so a message is
 * new when its second is not before the horizon and its ID was not shown yet: repeats (a stream's replay overlapping
 * a catch-up, a server that forgot the ID and sends everything it holds) are dropped by ID, and what is older than
 * every remembered ID by time. Forgetting the oldest second whole keeps that exact: every message shown at or after
 * the horizon is still remembered. `changed` is told of every move (the client's state file saves it).
 */
export class OpaquePlaces implements Places {
  private since: string | undefined;
  private horizon: number;
  private readonly seen: Map<string, number>;

  constructor(
    kept: OpaquePlace | null = null,
    private readonly changed: () => void = () => {},
    private readonly keep = SEEN_KEPT,
  ) {
    this.since = kept?.since;
    this.horizon = kept?.horizon ?? 0;
    this.seen = new Map(kept?.seen ?? []);
  }

  /** The `since` to ask from (the same for every channel of the stream); undefined on a first run. */
  get(): string | undefined {
    return this.since;
  }

  set(_channel: string, since: string): void {
    this.since = since;
    this.changed();
  }

  /** A first run stands at the server's second `time` (an ntfy stream's open event): nothing before it is shown. */
  startAt(time: number): void {
    this.since = String(time);
    this.horizon = Math.max(this.horizon, time);
    this.changed();
  }

  advance(env: Envelope): boolean {
    if (env.id === "") return true;
    if (env.time < this.horizon || this.seen.has(env.id)) return false;
    this.seen.set(env.id, env.time);
    this.since = env.id;
    this.forgetOldest();
    this.changed();
    return true;
  }

  /** Over `keep` IDs, the oldest second goes whole (never the newest one: its repeats must still be known). */
  private forgetOldest(): void {
    while (this.seen.size > this.keep) {
      let oldest = Infinity;
      let newest = -Infinity;
      for (const t of this.seen.values()) {
        oldest = Math.min(oldest, t);
        newest = Math.max(newest, t);
      }
      if (oldest >= newest) return;
      for (const [id, t] of this.seen) if (t === oldest) this.seen.delete(id);
      this.horizon = oldest + 1;
    }
  }

  /** The place as the state file keeps it; null before a first run has started. */
  snapshot(): OpaquePlace | null {
    return this.since === undefined ? null : { since: this.since, horizon: this.horizon, seen: [...this.seen] };
  }
}

/** Places kept in memory (an SSE stream's): each channel starts at `since` when given; the map is made on first use. */
export class MemoryPlaces implements Places {
  private last: Map<string, string> | null = null;
  constructor(private readonly since?: string) {}
  get(channel: string): string | undefined {
    return this.last?.get(channel) ?? this.since;
  }
  /** Whether `channel` has a place of its own (not only `since`). */
  has(channel: string): boolean {
    return this.last?.has(channel) ?? false;
  }
  set(channel: string, id: string): void {
    (this.last ??= new Map()).set(channel, id);
  }
  advance(env: Envelope): boolean {
    return advancePlace(this, env);
  }
}

// ---- Live messages ---------------------------------------------------------------------------------------------

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
    // Cache: no has no entry to check: shown as it came, with no id, so it moves no place and no catch-up repeats it.
    plain: parsed.uncached && !parsed.plain ? { ...parsed, plain: true } : { id: "", time: Math.floor(nowMs / 1000), channel, message: payload, plain: true },
  };
}

/** What a checked live message shows: its entry in history (CommandHistory.find), on the frame's channel; else the plain payload. */
export function settleLive(m: LiveMessage, found: Envelope | null): Envelope {
  return found && m.checkId !== null && compareIds(found.id, m.checkId) === 0 ? { ...found, channel: m.channel } : m.plain;
}

/** Messages from a server whose IDs carry no order (ntfy's), by their second; those of one second as they came (sort is stable). */
export const inTimeOrder = <T extends { time: number }>(list: T[]): T[] => [...list].sort((a, b) => a.time - b.time);

/**
 * Held messages in the order to show them: those with an id sorted by it among the places ids held (several web
 * servers may PUBLISH slightly out of XADD order), plain ones where they arrived. One comparator that called a plain
 * message equal to every other was no order at all, and sort() then moved messages past each other.
 */
export function inIdOrder<T extends { id: string }>(held: T[]): T[] {
  const withIds = held.filter((e) => e.id !== "").sort((a, b) => compareIds(a.id, b.id));
  let next = 0;
  return held.map((e) => (e.id !== "" ? withIds[next++]! : e));
}

/**
 * Live messages let through in the order they came, each once its history check has answered (checks on one
 * connection answer in order, but a plain message needs none and must not overtake a checked one before it). The web
 * server's PUBLISHes go through one too, each once its XADD has answered (web_publisher.ts's publishTurn).
 */
export class ArrivalOrder<T = Envelope> {
  private waiting: { item: T | null }[] = [];

  constructor(private readonly deliver: (item: T) => void) {}

  /** The next message's place in line: call the result with what to let through once that is known. */
  take(): (item: T) => void {
    const slot: { item: T | null } = { item: null };
    this.waiting.push(slot);
    return (item) => {
      slot.item ??= item;
      while (this.waiting[0]?.item) this.deliver(this.waiting.shift()!.item!);
    };
  }

  /** Nothing is in line: every place taken has been let through. */
  get idle(): boolean {
    return this.waiting.length === 0;
  }

  /** Forgets the messages still in line (their connection ended: catch-up brings the real ones back from history). */
  clear(): void {
    this.waiting = [];
  }
}

// ---- Hold, flush, each once ------------------------------------------------------------------------------------

/**
 * Catch-up's bookkeeping, pure: while a name (a channel or a glob) catches up, its live messages are held; history's
 * messages and then the held ones, in ID order, are shown; whatever the places have seen already is dropped, so each
 * message is shown once whether it came from history, live, or both. Held messages of all names are kept in one
 * arrival-ordered list (null when none are held: most of a reader's life).
 */
export class CatchUpBuffer {
  private holding: Set<string> | null = null;
  private held: { name: string; env: Envelope }[] | null = null;

  constructor(
    private readonly places: Places,
    private readonly show: (env: Envelope, replayed: boolean) => void,
  ) {}

  /** `name` starts catching up: its live messages wait. */
  hold(name: string): void {
    (this.holding ??= new Set()).add(name);
  }

  holds(name: string): boolean {
    return this.holding?.has(name) ?? false;
  }

  /** A live message on `name`: held (true) while `name` catches up, else shown if it is new. */
  live(name: string, env: Envelope): boolean {
    if (this.holds(name)) {
      (this.held ??= []).push({ name, env });
      return true;
    }
    if (this.places.advance(env)) this.show(env, false);
    return false;
  }

  /** A message read from history: shown if it is new. */
  replayed(env: Envelope): boolean {
    if (!this.places.advance(env)) return false;
    this.show(env, true);
    return true;
  }

  /**
   * `names` are caught up: what was held for them is shown in ID order, each once (as part of the catch-up), and they
   * go live. Returns every message that was held for them, shown or dropped.
   */
  release(names: Iterable<string>): Envelope[] {
    const done = new Set(names);
    for (const n of done) this.holding?.delete(n);
    if (this.holding?.size === 0) this.holding = null;
    const mine = this.held?.filter((h) => done.has(h.name)).map((h) => h.env) ?? [];
    if (this.held && mine.length) this.held = this.holding ? this.held.filter((h) => !done.has(h.name)) : null;
    if (!this.holding) this.held = null;
    for (const env of inIdOrder(mine)) this.replayed(env);
    return mine;
  }

  /** Forgets everything held (the connection ended: the next catch-up brings the real messages back from history). */
  clear(): void {
    this.holding = null;
    this.held = null;
  }
}

// ---- The client's catch-up -------------------------------------------------------------------------------------

// ---- Reads that may pass -----------------------------------------------------------------------------------------

/**
 * How long a read that may pass is asked again, as the waits between tries (milliseconds): a Redis Cluster's failover
 * takes the node timeout and an election, and ioredis gives up on CLUSTERDOWN after a few seconds of its own.
 */
export const PATIENCE_MS: readonly number[] = [100, 200, 400, 800, 1600, ...Array<number>(14).fill(2000)];

/** Replies that say the server is busy or moving (a restart, a failover, a reshard), not that it refused the command. */
const PASSING_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|MOVED|ASK)\b/;

/**
 * Whether a failed read may succeed if asked again: a lost connection, a timeout or a cluster in flux (backend.ts's
 * LinkError with no `reply`, or a reply above); not a refusal such as NOPERM or WRONGTYPE, which asking again repeats.
 */
export function mayPass(err: unknown): boolean {
  const reply = err instanceof Error && "reply" in err ? err.reply : null;
  return typeof reply !== "string" || PASSING_REPLY.test(reply);
}

/**
 * A clock difference between a server and its readers that still counts as the same time: a stream ID's milliseconds
 * further ahead of the reader's clock than this come from no real message yet (a forged ID, or a server's clock that
 * went back), so a place or a live message there is not waited for.
 */
const CLOCK_SLACK_MS = 60_000;

/** Whether stream ID `id` is from the future: past now and the clock slack. */
export const fromTheFuture = (id: string, nowMs = Date.now()): boolean => Number(id.split("-")[0]) > nowMs + CLOCK_SLACK_MS;

/** Whether stream ID `id` could be a message added just now (within the clock slack either way), as a live one is. */
export const addedJustNow = (id: string, nowMs = Date.now()): boolean => Math.abs(Number(id.split("-")[0]) - nowMs) <= CLOCK_SLACK_MS;

/** A channel's history that ends before the reader's saved place, which is kept (catchUpChannel). */
export type Behind = { last: string; newest: string | null };

export const behindLine = (ch: string, b: Behind): string =>
  `${ch}: its history ends at ${b.newest ?? "nothing"}, before the saved place ${b.last} (a node that has not caught up?); keeping the place`;

/**
 * A saved place past the newest entry of the channel's history. From the future (a forged ID saved by an older
 * client, or a server whose clock went back), it would make every catch-up and every live message look already seen:
 * the channel starts again from its newest entry, as on a first run, and null is returned. Otherwise it is a real
 * place and the history read is behind it: a node that lacks the newest writes answered (a master restarted with an
 * old copy, before the cluster tells it its slots moved on). Going back to that node's newest would show everything
 * after it a second time once the real master answers, so the place is kept (new messages come after it anyway) and
 * the gap is returned, for the caller to ask again.
 */
export function placeAgainstHistory(ch: string, newest: string | null, places: Places, on: Pick<Handlers, "status">): Behind | null {
  const last = places.get(ch);
  if (last === undefined || compareIds(last, newest ?? "0-0") <= 0) return null;
  if (!fromTheFuture(last)) return { last, newest };
  places.set(ch, newest ?? "0-0");
  on.status(`${ch}: the saved place ${last} is past the newest message in its history; going on from ${newest ?? "the start"}`);
  return null;
}

/** Gaps shorter than this (a Wi-Fi drop, a server restart) are replayed in full; longer ones use the replay limit. */
const LONG_ABSENCE_MS = 10 * 60_000;

/**
 * Shows what was missed, in the order given (a channel's history in ID order, an ntfy stream's topics in time order),
 * each message once. A short gap is replayed in full so nothing is lost; only a start or a long absence (`lastDownAt` 0
 * means never connected) is capped at the newest `limit` of each channel, the older ones passed over as seen.
 */
export function replayMissed(missed: Envelope[], lastDownAt: number, limit: number, places: Places, on: Pick<Handlers, "message" | "status">): void {
  const longAbsence = lastDownAt === 0 || Date.now() - lastDownAt > LONG_ABSENCE_MS;
  const skip = new Map<string, number>();
  if (longAbsence) {
    const count = new Map<string, number>();
    for (const env of missed) count.set(env.channel, (count.get(env.channel) ?? 0) + 1);
    for (const [ch, n] of count) {
      if (n <= limit) continue;
      skip.set(ch, n - limit);
      on.status(`${ch}: skipped ${n - limit} older messages while away; showing the last ${limit}`);
    }
  }
  for (const env of missed) {
    const left = skip.get(env.channel) ?? 0;
    if (left > 0) {
      skip.set(env.channel, left - 1);
      places.advance(env);
    } else if (places.advance(env)) on.message(env, true);
  }
}

/** Entries read at once while catching up (a longer gap takes several reads); /messages answers at most this many. */
export const CATCH_UP_PAGE = 1000;

/**
 * One channel's catch-up for the client. A first run replays nothing and remembers where history stands; otherwise
 * everything after the saved place is shown (capped after a long absence), or, with nothing after it, the place is
 * held against history's newest entry (placeAgainstHistory): the gap is returned when history is behind a real place.
 * A failed read throws: the caller says so, asks again (mayPass) or gives up.
 */
export async function catchUpChannel(ch: string, history: History, places: Places, on: Pick<Handlers, "message" | "status">, lastDownAt: number, limit: number): Promise<Behind | null> {
  const last = places.get(ch);
  if (last === undefined) {
    const top = await history.top(ch);
    if (places.get(ch) === undefined) places.set(ch, top ?? "0-0");
    return null;
  }
  const missed: Envelope[] = [];
  for (let from = last; ; ) {
    const page = await history.after(ch, from, CATCH_UP_PAGE);
    missed.push(...page);
    if (page.length < CATCH_UP_PAGE) break;
    from = page[page.length - 1]!.id;
  }
  if (missed.length > 0) {
    replayMissed(missed, lastDownAt, limit, places, on);
    return null;
  }
  // Nothing after the saved place: is the place still inside history?
  return placeAgainstHistory(ch, await history.top(ch), places, on);
}

/** The client's saved places: kept in memory, and written to its state file. */
export type SavedPlaces = Places & { save(): void; saveSoon(): void };

/**
 * The catch-up of the client's subscriptions on a connection that runs commands (RESP on one node, or a cluster):
 * live messages checked against history in arrival order and held while their name catches up; each message shown
 * once; `caughtUp` said once every name has caught up, and after each later catch-up (a failover's). A read that
 * meets a failover, or a node behind the newest writes, is asked again for a while (`patience`) rather than taken
 * as history: a message's check that failed once showed it as plain text, without its ID (the cluster e2e flake).
 */
export class ClientCatchUp {
  private readonly buffer: CatchUpBuffer;
  private readonly lines = new Map<string, ArrivalOrder<[string, Envelope]>>();
  /** Channels whose history could not be read to check a live message (said once each). */
  private readonly uncheckable = new Set<string>();
  /** Names whose first catch-up is done. */
  private readonly ready = new Set<string>();
  /** Bumped when the connection ends: a catch-up still under way for the old one then stops quietly. */
  private generation = 0;

  constructor(
    private readonly history: CommandHistory,
    private readonly places: SavedPlaces,
    private readonly on: Handlers,
    private readonly replayLimit: number,
    /** When the last connection ended; 0 before the first one (a fresh start counts as a long absence). */
    public lastDownAt: number,
    private readonly names: string[],
    /**
     * One node: its one connection keeps the order across channels (one line for all names), and its history took
     * every message before it was published (a message not there is not real). Else a cluster: a line per name (its
     * shards keep no common order), and a history read may be answered by a node behind the newest writes.
     */
    private readonly oneNode: () => boolean,
    /** The waits between tries of a read that may pass (PATIENCE_MS). */
    private readonly patience: readonly number[] = PATIENCE_MS,
  ) {
    this.buffer = new CatchUpBuffer(places, (env, replayed) => {
      this.on.message(env, replayed);
      if (!replayed) this.places.saveSoon();
    });
  }

  /** A new connection: every name waits for its catch-up, and the client is caught up again once all are. */
  begin(): void {
    this.ready.clear();
    this.hold(this.names);
  }

  /** `names` are (being) subscribed: their live messages wait for their catch-up. */
  hold(names: string[]): void {
    for (const n of names) this.buffer.hold(n);
  }

  /** A live message for `name` (a channel, or the glob that matched it): checked against history, in arrival order. */
  live(name: string, m: LiveMessage): void {
    const key = this.oneNode() ? "" : name;
    let line = this.lines.get(key);
    if (!line) this.lines.set(key, (line = new ArrivalOrder(([n, env]) => this.buffer.live(n, env))));
    const settle = line.take();
    if (m.checkId === null) return settle([name, m.plain]);
    // Null: the connection ended meanwhile, and the line with it (catch-up brings the message back from history).
    void this.check(m, m.checkId, this.generation).then((env) => env && settle([name, env]));
  }

  /**
   * A live message as its entry in history, or as plain text when it is not there or history cannot be read. On a
   * cluster, "not there" for an ID added just now from a history that ends before it is a node behind the newest
   * writes (a master restarted with an old copy): asked again. A forged ID (below history's newest entry, or not of
   * now, which a message just published always is) is plain at once; one that looks fresh waits out the patience.
   */
  private async check(m: LiveMessage, id: string, generation: number): Promise<Envelope | null> {
    const read = async (): Promise<Envelope | "behind" | null> => {
      const found = await this.history.find(m.channel, id);
      if (found || this.oneNode() || !addedJustNow(id)) return found;
      const newest = await this.history.top(m.channel);
      return newest !== null && compareIds(newest, id) >= 0 ? null : "behind";
    };
    const outcome = await this.patiently(generation, read, (answer) => answer === "behind");
    if (!outcome) return null;
    if ("answer" in outcome) return outcome.answer === "behind" ? m.plain : settleLive(m, outcome.answer);
    // Not checked is not trusted: the payload shows as text (and a real message is still in history).
    if (!this.uncheckable.has(m.channel)) this.on.status(`cannot read ${m.channel}'s history to check its messages (${outcome.failure.message}); they show as plain text`);
    this.uncheckable.add(m.channel);
    return m.plain;
  }

  /**
   * `read`'s answer, asked again after each of `patience`'s waits while it fails in a way that may pass (mayPass) or
   * `again` says its answer may still change; then its last answer or failure. Null when the connection ended first.
   */
  private async patiently<T>(generation: number, read: () => Promise<T>, again: (answer: T) => boolean): Promise<{ answer: T } | { failure: Error } | null> {
    for (let attempt = 0; ; attempt++) {
      let outcome: { answer: T } | { failure: Error };
      try {
        outcome = { answer: await read() };
        if (!again(outcome.answer)) return outcome;
      } catch (err) {
        outcome = { failure: err instanceof Error ? err : new Error(String(err)) };
        if (!mayPass(err)) return generation === this.generation ? outcome : null;
      }
      const wait = this.patience[attempt];
      if (generation !== this.generation) return null;
      if (wait === undefined) return outcome;
      await new Promise((resolve) => setTimeout(resolve, wait));
      if (generation !== this.generation) return null;
    }
  }

  /**
   * Catches `names` up (the globs among them have no history of their own), then shows what they held. Says whether
   * the client is caught up now: "all" when this was the last name's first catch-up, "again" for a later one (a
   * reconnection, a failover), "waiting" while other names have not caught up once yet, "stale" when the connection
   * ended meanwhile. A name caught up twice before the others are in is not everyone caught up: a cluster says a name
   * is live again after any topology change, and its second catch-up once said "caught up" while another name's
   * first read was still under way (the clustersub test's first-run flake).
   */
  async catchUp(names: string[]): Promise<"all" | "again" | "waiting" | "stale"> {
    const generation = this.generation;
    await Promise.all(names.filter((n) => !isPattern(n)).map((ch) => this.catchUpChannel(ch, generation)));
    if (generation !== this.generation) return "stale";
    this.buffer.release(names);
    this.places.save();
    const allBefore = this.names.every((n) => this.ready.has(n));
    for (const n of names) this.ready.add(n);
    if (allBefore) return "again";
    return this.names.every((n) => this.ready.has(n)) ? "all" : "waiting";
  }

  /**
   * One channel's catch-up, asked again while it fails in a way that may pass or, on a cluster, while the history
   * read ends before the saved place (a node behind the newest writes: what was published meanwhile is not there).
   */
  private async catchUpChannel(ch: string, generation: number): Promise<void> {
    const read = () => catchUpChannel(ch, this.history, this.places, this.on, this.lastDownAt, this.replayLimit);
    const outcome = await this.patiently(generation, read, (behind) => behind !== null && !this.oneNode());
    if (!outcome) return;
    if ("failure" in outcome) this.on.status(`history for ${ch} is unavailable (${outcome.failure.message}); showing live messages only`);
    else if (outcome.answer) this.on.status(behindLine(ch, outcome.answer));
  }

  /** The connection ended (`forget`: with what it held, which history brings back) or is being made again. */
  down(forget: boolean): void {
    this.lastDownAt = Date.now();
    if (forget) {
      this.generation++;
      this.buffer.clear();
      for (const line of this.lines.values()) line.clear();
      this.lines.clear();
    }
    this.places.save();
  }
}
