// pubsub_channels.ts — the subscription registry and fan-out (Redis's pubsub.c): who listens to which channel, pattern or
// shard channel, the (un)subscribe notices, and one PUBLISH delivered to all of them. No sockets: pure.
import { enc, encodeDelivery, asPush, type CommandArgs, type Proto } from "./resp";
import { compileGlob } from "./glob";

export type KindName = "channel" | "pattern" | "shard";

/** One kind's names: none, the one name itself, or a Set once there are two (a Set of one costs many times a field). */
type Held = string | Set<string> | null;

/**
 * A subscriber's own subscriptions, made on its first SUBSCRIBE. A name of the registry's own (one string shared by
 * every subscriber of a channel), and a plain field per kind until a kind holds two names: memory per idle connection.
 */
export class Subscriptions {
  private channels: Held = null;
  private patterns: Held = null;
  private shards: Held = null;

  private held(kind: KindName): Held {
    return kind === "channel" ? this.channels : kind === "pattern" ? this.patterns : this.shards;
  }
  private hold(kind: KindName, h: Held): void {
    if (kind === "channel") this.channels = h;
    else if (kind === "pattern") this.patterns = h;
    else this.shards = h;
  }
  count(kind: KindName): number {
    const h = this.held(kind);
    return h === null ? 0 : typeof h === "string" ? 1 : h.size;
  }
  has(kind: KindName, name: string): boolean {
    const h = this.held(kind);
    return h === name || (typeof h === "object" && h !== null && h.has(name));
  }
  /** Adds a name not held yet. */
  add(kind: KindName, name: string): void {
    const h = this.held(kind);
    if (h === null) this.hold(kind, name);
    else if (typeof h === "string") this.hold(kind, new Set([h, name]));
    else h.add(name);
  }
  /** Removes `name`; true if it was held. */
  delete(kind: KindName, name: string): boolean {
    const h = this.held(kind);
    if (h === name) this.hold(kind, null);
    else if (typeof h !== "object" || h === null || !h.delete(name)) return false;
    else if (h.size === 1) this.hold(kind, h.values().next().value!); // back to one plain name
    return true;
  }
  /** A copy of one kind's names, safe to iterate while leaving them. */
  names(kind: KindName): string[] {
    const h = this.held(kind);
    return h === null ? [] : typeof h === "string" ? [h] : [...h];
  }
  // What acl.ts's keepsSubscriptions reads (HeldSubscriptions): each kind as names, made only when asked.
  get channel(): Iterable<string> {
    return this.names("channel");
  }
  get pattern(): Iterable<string> {
    return this.names("pattern");
  }
  get shard(): Iterable<string> {
    return this.names("shard");
  }
}

/** Kept for callers that name the type: a connection's subscriptions. */
export type SubscriptionSets = Subscriptions;

/** How many subscriptions of `kind` a subscriber holds. */
export const subCount = (s: Subscriptions | null, kind: KindName): number => (s === null ? 0 : s.count(kind));

/** What the registry needs of a connection: its protocol, its subscriptions, and a way to queue output. */
export interface Subscriber {
  readonly resp: Proto;
  subs: Subscriptions | null;
  /** A subscribe/unsubscribe notice: sent even under CLIENT REPLY OFF, as Redis's CLIENT_PUSHING does. */
  push(s: string): void;
  /** A message frame; the same bytes go to every receiver. */
  queueFrame(frame: Uint8Array): void;
}

/** One row per kind of subscription, as Redis's pubsubtype table: the words of its notices and what they count. */
type Kind = {
  readonly name: KindName;
  readonly subscribe: string;
  readonly unsubscribe: string;
  /** The delivery's first word: message, pmessage or smessage. */
  readonly message: "message" | "pmessage" | "smessage";
  /** The count a notice carries: channels and patterns together, shard channels apart (clientSubscriptionsCount). */
  readonly count: (s: Subscriptions | null) => number;
  /** Patterns match channel names; the others are looked up by name. */
  readonly matches: boolean;
};

const classic = (s: Subscriptions | null): number => subCount(s, "channel") + subCount(s, "pattern");

const KINDS: Record<KindName, Kind> = {
  channel: { name: "channel", subscribe: "subscribe", unsubscribe: "unsubscribe", message: "message", count: classic, matches: false },
  pattern: { name: "pattern", subscribe: "psubscribe", unsubscribe: "punsubscribe", message: "pmessage", count: classic, matches: true },
  shard: { name: "shard", subscribe: "ssubscribe", unsubscribe: "sunsubscribe", message: "smessage", count: (s) => subCount(s, "shard"), matches: false },
};

/** What a PUBLISH reaches: channels and patterns; an SPUBLISH reaches shard channels only. */
const REACHED_BY: Record<"publish" | "spublish", Kind[]> = { publish: [KINDS.channel, KINDS.pattern], spublish: [KINDS.shard] };

/** A pattern's matcher and its name as bytes, both made once at PSUBSCRIBE so PUBLISH does neither. */
type Pattern = { match: (channel: string) => boolean; bytes: Uint8Array };

/** A channel's (or pattern's) subscribers, with its name: the one string every subscriber's own record shares. */
type Audience<C> = { readonly name: string; readonly members: Set<C> };

export class Channels<C extends Subscriber> {
  private readonly byKind: Record<KindName, Map<string, Audience<C>>> = { channel: new Map(), pattern: new Map(), shard: new Map() };
  private readonly patterns = new Map<string, Pattern>();

  /** How many distinct channels (or patterns, or shard channels) have subscribers. */
  size(kind: KindName): number {
    return this.byKind[kind].size;
  }

  /** The names with subscribers, of one kind. */
  names(kind: KindName): IterableIterator<string> {
    return this.byKind[kind].keys();
  }

  /** How many subscribers `name` has (PUBSUB NUMSUB, SHARDNUMSUB). */
  subscribers(kind: KindName, name: string): number {
    return this.byKind[kind].get(name)?.members.size ?? 0;
  }

  subscribe(c: C, kind: KindName, name: string): void {
    const k = KINDS[kind];
    const mine = (c.subs ??= new Subscriptions());
    if (!mine.has(kind, name)) {
      const all = this.byKind[kind];
      let audience = all.get(name);
      if (!audience) {
        all.set(name, (audience = { name, members: new Set() }));
        if (k.matches) this.patterns.set(name, { match: compileGlob(name), bytes: Buffer.from(name, "latin1") });
      }
      audience.members.add(c);
      mine.add(kind, audience.name); // the registry's string, not this command's copy of it
    }
    c.push(enc.notice(c.resp, k.subscribe, name, k.count(c.subs)));
  }

  /** Leaves `name` (null: nothing to leave, Redis still answers once). Returns 1 if it was subscribed. */
  unsubscribe(c: C, kind: KindName, name: string | null, notify: boolean): number {
    const k = KINDS[kind];
    let removed = 0;
    if (name !== null && c.subs?.delete(kind, name)) {
      removed = 1;
      const all = this.byKind[kind];
      const set = all.get(name)!.members;
      set.delete(c);
      if (set.size === 0) {
        all.delete(name);
        if (k.matches) this.patterns.delete(name);
      }
    }
    if (notify) c.push(enc.notice(c.resp, k.unsubscribe, name, k.count(c.subs)));
    return removed;
  }

  /** UNSUBSCRIBE, PUNSUBSCRIBE or SUNSUBSCRIBE with no arguments: each one leaves, or one notice if none. */
  unsubscribeAll(c: C, kind: KindName, notify: boolean): void {
    let count = 0;
    if (c.subs) for (const name of c.subs.names(kind)) count += this.unsubscribe(c, kind, name, notify);
    if (notify && count === 0) this.unsubscribe(c, kind, null, true);
  }

  /** Leaves everything without a word: RESET, or a connection that went away. */
  dropAll(c: C): void {
    if (!c.subs) return;
    for (const kind of Object.keys(KINDS) as KindName[]) this.unsubscribeAll(c, kind, false);
    c.subs = null;
  }

  /** Subscriptions of every kind: Redis leaves subscribed mode when this reaches 0. */
  static total(c: Subscriber): number {
    return subCount(c.subs, "channel") + subCount(c.subs, "pattern") + subCount(c.subs, "shard");
  }

  /** Does anything subscribe to what `command` reaches (any channel, pattern or shard channel of its kinds)? */
  reaches(command: "publish" | "spublish"): boolean {
    for (const k of REACHED_BY[command]) if (this.byKind[k.name].size) return true;
    return false;
  }
  /**
   * Delivers one message, the channel and payload being arguments 1 and 2 of `publish` (read in place or an argv), and
   * returns how many received it. Each frame is encoded once and shared by every socket.
   */
  publish(command: "publish" | "spublish", publish: CommandArgs): number {
    const kinds = REACHED_BY[command];
    // Nobody subscribed to anything this reaches: do not even build the channel's name as a string.
    if (!this.reaches(command)) return 0;
    const name = publish.text(1);
    let receivers = 0;
    for (const k of kinds) {
      const all = this.byKind[k.name];
      if (all.size === 0) continue;
      if (!k.matches) {
        const audience = all.get(name);
        if (audience) receivers += deliver(audience.members, encodeDelivery(k.message, null, publish));
        continue;
      }
      // The audiences, not [name, audience] entries: an entry array per pattern per PUBLISH is garbage.
      for (const audience of all.values()) {
        const p = this.patterns.get(audience.name)!;
        if (p.match(name)) receivers += deliver(audience.members, encodeDelivery(k.message, p.bytes, publish));
      }
    }
    return receivers;
  }
}

function deliver(subs: Set<Subscriber>, frame: Uint8Array): number {
  let push: Uint8Array | null = null; // the RESP3 variant, made only if a RESP3 subscriber exists
  for (const c of subs) c.queueFrame(c.resp === 3 ? (push ??= asPush(frame)) : frame);
  return subs.size;
}
