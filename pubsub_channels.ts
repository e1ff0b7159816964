// pubsub_channels.ts — the subscription registry and fan-out (Redis's pubsub.c): who listens to which channel, pattern or
// shard channel, the (un)subscribe notices, and one PUBLISH delivered to all of them. No sockets: pure.
import { enc, encodeDelivery, asPush, latin1, type Proto } from "./resp";
import { compileGlob } from "./glob";

export type KindName = "channel" | "pattern" | "shard";

/**
 * A subscriber's own subscriptions: the object on its first SUBSCRIBE, each kind's set on its first use (a connection
 * that never subscribes holds none, and a plain subscriber holds one set, not three: memory per idle connection).
 */
export type SubscriptionSets = Partial<Record<KindName, Set<string>>>;

/** How many subscriptions of `kind` a subscriber holds. */
export const subCount = (s: SubscriptionSets | null, kind: KindName): number => s?.[kind]?.size ?? 0;

/** What the registry needs of a connection: its protocol, its subscriptions, and a way to queue output. */
export interface Subscriber {
  readonly resp: Proto;
  subs: SubscriptionSets | null;
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
  readonly count: (s: SubscriptionSets | null) => number;
  /** Patterns match channel names; the others are looked up by name. */
  readonly matches: boolean;
};

const classic = (s: SubscriptionSets | null): number => subCount(s, "channel") + subCount(s, "pattern");

const KINDS: Record<KindName, Kind> = {
  channel: { name: "channel", subscribe: "subscribe", unsubscribe: "unsubscribe", message: "message", count: classic, matches: false },
  pattern: { name: "pattern", subscribe: "psubscribe", unsubscribe: "punsubscribe", message: "pmessage", count: classic, matches: true },
  shard: { name: "shard", subscribe: "ssubscribe", unsubscribe: "sunsubscribe", message: "smessage", count: (s) => subCount(s, "shard"), matches: false },
};

/** What a PUBLISH reaches: channels and patterns; an SPUBLISH reaches shard channels only. */
const REACHED_BY: Record<"publish" | "spublish", Kind[]> = { publish: [KINDS.channel, KINDS.pattern], spublish: [KINDS.shard] };

/** A pattern's matcher and its name as bytes, both made once at PSUBSCRIBE so PUBLISH does neither. */
type Pattern = { match: (channel: string) => boolean; bytes: Uint8Array };

export class Channels<C extends Subscriber> {
  private readonly byKind: Record<KindName, Map<string, Set<C>>> = { channel: new Map(), pattern: new Map(), shard: new Map() };
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
    return this.byKind[kind].get(name)?.size ?? 0;
  }

  subscribe(c: C, kind: KindName, name: string): void {
    const k = KINDS[kind];
    const mine = ((c.subs ??= {})[kind] ??= new Set());
    if (!mine.has(name)) {
      mine.add(name);
      const all = this.byKind[kind];
      let set = all.get(name);
      if (!set) {
        all.set(name, (set = new Set()));
        if (k.matches) this.patterns.set(name, { match: compileGlob(name), bytes: Buffer.from(name, "latin1") });
      }
      set.add(c);
    }
    c.push(enc.notice(c.resp, k.subscribe, name, k.count(c.subs)));
  }

  /** Leaves `name` (null: nothing to leave, Redis still answers once). Returns 1 if it was subscribed. */
  unsubscribe(c: C, kind: KindName, name: string | null, notify: boolean): number {
    const k = KINDS[kind];
    let removed = 0;
    if (name !== null && c.subs?.[kind]?.delete(name)) {
      removed = 1;
      const all = this.byKind[kind];
      const set = all.get(name)!;
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
    const mine = c.subs?.[kind];
    if (mine) for (const name of [...mine]) count += this.unsubscribe(c, kind, name, notify);
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

  /** Delivers one message and returns how many received it. Each frame is encoded once and shared by every socket. */
  publish(command: "publish" | "spublish", channel: Uint8Array, message: Uint8Array): number {
    const kinds = REACHED_BY[command];
    // Nobody subscribed to anything this reaches: do not even build the channel's name as a string.
    let any = false;
    for (const k of kinds) if (this.byKind[k.name].size) any = true;
    if (!any) return 0;
    const name = latin1(channel);
    let receivers = 0;
    for (const k of kinds) {
      const all = this.byKind[k.name];
      if (all.size === 0) continue;
      if (!k.matches) {
        const subs = all.get(name);
        if (subs) receivers += deliver(subs, encodeDelivery(k.message, [channel, message]));
        continue;
      }
      for (const [pat, subs] of all) {
        const p = this.patterns.get(pat)!;
        if (p.match(name)) receivers += deliver(subs, encodeDelivery(k.message, [p.bytes, channel, message]));
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
