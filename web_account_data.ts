// web_account_data.ts — what ntfy's /v1/account keeps per account in the pub/sub server, shared by every web server:
// today's publish count per visitor (ntfy's stats.messages) and each user's web app settings and subscriptions (ntfy's prefs).
import { z } from "zod";
import { entriesFromReply } from "./catchup";
import type { Store } from "./web_publisher";

/** Every key here starts so: docs/users.acl gives the web user ~notistream-account:* (and no channel history is named so). */
export const ACCOUNT_KEY_PREFIX = "notistream-account:";
const DAY_MS = 86_400_000;

/**
 * Who a count belongs to, as ntfy's visitor: a logged-in user by name, anyone else by their visitor key (an IPv4
 * address, an IPv6 /64), since ntfy counts anonymous publishes per IP (visitor.go, a visitor per IP or per user).
 */
export type Counted = { user: string } | { visitor: string };

/** The day a count is for: days since the epoch in UTC, as ntfy resets its visitors' stats at midnight UTC (DefaultVisitorStatsResetTime). */
export const dayOf = (nowMs: number): number => Math.floor(nowMs / DAY_MS);

export const statsKey = (who: Counted): string => `${ACCOUNT_KEY_PREFIX}stats:${"user" in who ? `user:${who.user}` : `visitor:${who.visitor}`}`;

/**
 * The count a stream's last ID says for `day`. Each publish adds an entry with the ID "<day>-*": the server numbers
 * entries of one millisecond part 0, 1, 2... from the stream's last ID even when MAXLEN 1 has dropped the earlier
 * ones, so the last ID "<day>-<n>" means n + 1 publishes that day, and an ID of an earlier day means none yet.
 */
export function countOf(lastId: string | undefined, day: number): number {
  const m = /^(\d+)-(\d+)$/.exec(lastId ?? "");
  return m && Number(m[1]) === day ? Number(m[2]) + 1 : 0;
}

/**
 * Today's publishes per visitor, one single-entry stream each. Why so: a count costs at most one XADD per visitor per
 * event-loop turn on the publish path and one XREVRANGE on GET /v1/account, holds one entry per visitor whatever the count, and needs no INCR or EXPIRE, which
 * the pub/sub server does not have; it works the same on Redis and a Redis Cluster (one key each).
 */
export class PublishCounts {
  private warned = false;
  /** Publishes counted this turn and not yet added to the store, per key: a burst costs one write per visitor. */
  private pending = new Map<string, number>();
  /** Publishes taken from `pending` whose XADD is not sent yet (a batch reads the last ID first). */
  private readonly sending = new Map<string, number>();
  private flushing = false;

  constructor(
    private readonly store: Store,
    private readonly logError: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Counts one publish, not awaited: the publish has been answered already. The counts of one event-loop turn go to
   * the store together after it (a burst of webhooks from one address is one write, not one each).
   */
  count(who: Counted): void {
    const key = statsKey(who);
    this.pending.set(key, (this.pending.get(key) ?? 0) + 1);
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => void this.flush());
  }

  /** How many publishes `who` made today (UTC): the store's count and this server's not yet written. */
  async today(who: Counted): Promise<number> {
    const key = statsKey(who);
    // Taken as the read is sent: commands on a key go in order, so it sees every XADD sent before it and none after.
    const local = (this.pending.get(key) ?? 0) + (this.sending.get(key) ?? 0);
    const last = entriesFromReply(await this.store.send("XREVRANGE", [key, "+", "-", "COUNT", "1"]))[0]?.id;
    return countOf(last, dayOf(this.now())) + local;
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = false;
    for (const [key, n] of batch) this.move(key, n);
    await Promise.all([...batch].map(([key, n]) => this.add(key, n)));
  }

  /** Counts `n` as about to be sent (positive) or sent (negative). */
  private move(key: string, n: number): void {
    const left = (this.sending.get(key) ?? 0) + n;
    if (left > 0) this.sending.set(key, left);
    else this.sending.delete(key);
  }

  /**
   * Adds `n` to a key's count. One publish: XADD "<day>-*", which the server numbers one past the last. More: the
   * entry "<day>-<last + n>" after reading the last, again if another web server wrote meanwhile ("equal or smaller").
   * A refusal is logged once (a users.acl without ~notistream-account:*).
   */
  private async add(key: string, n: number): Promise<void> {
    let unsent = true;
    const send = (id: string) => {
      const sent = this.store.send("XADD", [key, "MAXLEN", "1", id, "n", String(n)]);
      this.move(key, -n); // sent: a read sent from now on sees it
      unsent = false;
      return sent;
    };
    try {
      const day = dayOf(this.now());
      if (n === 1) return void (await send(`${day}-*`));
      for (let attempt = 0; ; attempt++) {
        const last = entriesFromReply(await this.store.send("XREVRANGE", [key, "+", "-", "COUNT", "1"]))[0]?.id;
        try {
          return void (await send(`${day}-${countOf(last, day) + n - 1}`));
        } catch (err) {
          if (attempt >= 4 || !/equal or smaller/.test((err as Error).message)) throw err;
          this.move(key, n); // not written: counted as unsent again while the last ID is read anew
          unsent = true;
        }
      }
    } catch (err) {
      if (unsent) this.move(key, -n);
      if (this.warned) return;
      this.warned = true;
      this.logError(`web: cannot count a publish for /v1/account's stats (${(err as Error).message}); the web user needs ~${ACCOUNT_KEY_PREFIX}* in the pub/sub server's ACL (see docs/users.acl). Said once.`);
    }
  }
}

// ---- The web app's settings and subscriptions (ntfy's user.Prefs) ---------------------------------------------------

/** A subscription ntfy's web app keeps on the server, to find it again in another browser (user.Subscription). */
export const SavedSubscriptionSchema = z.object({
  base_url: z.string().max(1024),
  topic: z.string().min(1).max(256),
  display_name: z.string().max(256).nullable().optional(),
});
export type SavedSubscription = z.infer<typeof SavedSubscriptionSchema>;

/** What PATCH /v1/account/settings sends (user.Prefs without subscriptions); unknown keys are ignored, as Go's JSON does. */
export const SettingsSchema = z.object({
  language: z.string().max(32).nullable().optional(),
  notification: z
    .object({
      sound: z.string().max(64).nullable().optional(),
      min_priority: z.number().int().min(0).max(5).nullable().optional(),
      delete_after: z.number().int().nonnegative().nullable().optional(),
    })
    .nullable()
    .optional(),
});
export type Settings = z.infer<typeof SettingsSchema>;

export const PrefsSchema = z.object({
  language: z.string().optional(),
  notification: z.object({ sound: z.string().optional(), min_priority: z.number().optional(), delete_after: z.number().optional() }).optional(),
  subscriptions: z.array(SavedSubscriptionSchema).optional(),
});
export type Prefs = z.infer<typeof PrefsSchema>;

/** Most subscriptions a user may keep on the server: each GET /v1/account carries them all. */
export const MAX_SAVED_SUBSCRIPTIONS = 500;

/** Settings merged into prefs as ntfy's handleAccountSettingsChange does: only what is given (not null) changes; 0 is a value (delete_after 0: never). */
export function withSettings(prefs: Prefs, s: Settings): Prefs {
  const next: Prefs = { ...prefs };
  const given = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;
  if (given(s.language)) next.language = s.language;
  if (given(s.notification)) {
    const n = { ...prefs.notification };
    if (given(s.notification.sound)) n.sound = s.notification.sound;
    if (given(s.notification.min_priority)) n.min_priority = s.notification.min_priority;
    if (given(s.notification.delete_after)) n.delete_after = s.notification.delete_after;
    next.notification = n;
  }
  return next;
}

/**
 * A subscription added (handleAccountSubscriptionAdd): "exists" when the base URL and topic are there already, as
 * ntfy's 40903; a RangeError's sentence past MAX_SAVED_SUBSCRIPTIONS.
 */
export function withSubscription(prefs: Prefs, sub: SavedSubscription): Prefs | "exists" {
  const subs = prefs.subscriptions ?? [];
  if (subs.some((s) => s.base_url === sub.base_url && s.topic === sub.topic)) return "exists";
  if (subs.length >= MAX_SAVED_SUBSCRIPTIONS) throw new RangeError(`an account keeps at most ${MAX_SAVED_SUBSCRIPTIONS} subscriptions on the server; remove one first`);
  return { ...prefs, subscriptions: [...subs, { base_url: sub.base_url, topic: sub.topic, display_name: sub.display_name ?? null }] };
}

/** A subscription's display name changed (handleAccountSubscriptionChange); null when there is no such subscription. */
export function renamed(prefs: Prefs, sub: SavedSubscription): { prefs: Prefs; sub: SavedSubscription } | null {
  const at = (prefs.subscriptions ?? []).findIndex((s) => s.base_url === sub.base_url && s.topic === sub.topic);
  if (at < 0) return null;
  const changed = { ...prefs.subscriptions![at]!, display_name: sub.display_name ?? null };
  return { prefs: { ...prefs, subscriptions: prefs.subscriptions!.map((s, i) => (i === at ? changed : s)) }, sub: changed };
}

/** A subscription removed (handleAccountSubscriptionDelete); the same prefs when it was not there. */
export function without(prefs: Prefs, baseUrl: string, topic: string): Prefs {
  const subs = prefs.subscriptions ?? [];
  const kept = subs.filter((s) => !(s.base_url === baseUrl && s.topic === topic));
  return kept.length === subs.length ? prefs : { ...prefs, subscriptions: kept };
}

export const prefsKey = (user: string): string => `${ACCOUNT_KEY_PREFIX}prefs:${user}`;

/** Each user's prefs as one single-entry stream (the pub/sub server keeps streams), read and written whole. */
export class PrefsStore {
  constructor(private readonly store: Store) {}

  async read(user: string): Promise<Prefs> {
    const fields = entriesFromReply(await this.store.send("XREVRANGE", [prefsKey(user), "+", "-", "COUNT", "1"]))[0]?.fields ?? [];
    const at = fields.indexOf("prefs");
    if (at < 0) return {};
    try {
      const parsed = PrefsSchema.safeParse(JSON.parse(fields[at + 1] ?? "null"));
      return parsed.success ? parsed.data : {};
    } catch {
      return {};
    }
  }

  async write(user: string, prefs: Prefs): Promise<void> {
    await this.store.send("XADD", [prefsKey(user), "MAXLEN", "1", "*", "prefs", JSON.stringify(prefs)]);
  }
}
