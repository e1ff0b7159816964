// test/web_account_data.test.ts — /v1/account's rules on their own: the day a count is for and the count a stream's
// last ID says, the key names, the limits and stats sent, which routes count as a publish, and the web app's settings
// and subscriptions merged as ntfy merges them (server_account.go, visitor.go).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Publisher } from "../web_publisher";
import { startPubSub, type Running } from "./helpers";
import { accountLimits, accountStats, countsAsPublish } from "../web_account";
import { MAX_SAVED_SUBSCRIPTIONS, PublishCounts, countOf, dayOf, prefsKey, renamed, statsKey, withSettings, withSubscription, without, type Prefs } from "../web_account_data";

const DAY = 86_400_000;

describe("today's count", () => {
  // ntfy resets its visitors' stats at midnight UTC (server/config.go DefaultVisitorStatsResetTime).
  test("a day is a UTC calendar day: the last millisecond before midnight and midnight differ", () => {
    const midnight = Date.UTC(2026, 11, 5);
    expect(dayOf(midnight - 1)).toBe(dayOf(midnight) - 1);
    expect(dayOf(midnight)).toBe(midnight / DAY);
    expect(dayOf(midnight + DAY - 1)).toBe(dayOf(midnight));
  });

  test("the last ID <day>-<n> is n + 1 publishes that day; an earlier day's, or none, is 0", () => {
    expect(countOf("20426-0", 20426)).toBe(1);
    expect(countOf("20426-41", 20426)).toBe(42);
    expect(countOf("20425-99", 20426)).toBe(0);
    expect(countOf(undefined, 20426)).toBe(0);
    expect(countOf("junk", 20426)).toBe(0);
  });

  test("keys: a user by name, anyone else by visitor, all under notistream-account: (docs/users.acl's grant)", () => {
    expect(statsKey({ user: "alice" })).toBe("notistream-account:stats:user:alice");
    expect(statsKey({ visitor: "2001:db8:1:2::/64" })).toBe("notistream-account:stats:visitor:2001:db8:1:2::/64");
    expect(prefsKey("alice")).toBe("notistream-account:prefs:alice");
  });
});

describe("PublishCounts against a real pub/sub server", () => {
  let pubsub: Running;
  let store: Publisher;
  beforeAll(async () => {
    pubsub = await startPubSub();
    store = new Publisher(`redis://127.0.0.1:${pubsub.port}`, 1000);
  });
  afterAll(async () => {
    store?.close();
    await pubsub?.stop();
  });
  /** The store with its commands counted by name. */
  const counted = (): { store: Publisher; sent: string[] } => {
    const sent: string[] = [];
    const proxy = Object.create(store) as Publisher;
    proxy.send = (command: string, args: string[]) => (sent.push(command), store.send(command, args));
    return { store: proxy, sent };
  };
  const settle = () => new Promise((r) => setTimeout(r, 50));

  test("a burst in one turn is one write; counted as it goes, and after it lands; two web servers add up", async () => {
    const a = counted();
    const one = new PublishCounts(a.store, () => {});
    const who = { visitor: "198.51.100.7" };
    for (let i = 0; i < 5; i++) one.count(who);
    expect(await one.today(who)).toBe(5); // not yet written: this server's own count is added
    await settle();
    expect(a.sent.filter((c) => c === "XADD")).toHaveLength(1);
    const other = new PublishCounts(store, () => {});
    expect(await other.today(who)).toBe(5);
    other.count(who); // one alone: XADD <day>-*, one past the last
    await settle();
    for (let i = 0; i < 3; i++) one.count(who);
    await settle();
    expect(await other.today(who)).toBe(9);
    expect(await one.today({ visitor: "203.0.113.9" })).toBe(0);
  });
});

describe("limits and stats (aiontfy's AccountLimits and AccountStats)", () => {
  test("without --rate-limit nothing is limited (0); with r a second, r × 86,400 messages a day (visitor.go replenishDurationToDailyLimit)", () => {
    expect(accountLimits(undefined)).toEqual({ basis: "ip", messages: 0, messages_expiry_duration: 0, emails: 0, calls: 0, reservations: 0, attachment_total_size: 0, attachment_file_size: 0, attachment_expiry_duration: 0, attachment_bandwidth: 0 });
    expect(accountLimits(0).messages).toBe(0);
    expect(accountLimits(5).messages).toBe(432_000);
    // With --attachment-cache-dir (ntfy's defaults) and --smtp-url: the limits those flags set, as ntfy's visitor limits.
    const files = { fileSize: 15 * 1024 * 1024, totalSize: 5 * 1024 ** 3, visitorTotal: 100 * 1024 * 1024, visitorBandwidth: 500 * 1024 * 1024, expiryMs: 3 * 3600_000 };
    expect(accountLimits(undefined, files, 16)).toMatchObject({ emails: 16, attachment_total_size: 104_857_600, attachment_file_size: 15_728_640, attachment_expiry_duration: 10_800, attachment_bandwidth: 524_288_000 });
  });

  test("remaining is the limit less the use, never below 0 (visitor.go zeroIfNegative)", () => {
    expect(accountStats(7, accountLimits(5))).toMatchObject({ messages: 7, messages_remaining: 431_993 });
    expect(accountStats(7, accountLimits(0))).toMatchObject({ messages: 7, messages_remaining: 0 });
    expect(Object.keys(accountStats(0, accountLimits(0)))).toEqual([
      "messages",
      "messages_remaining",
      "emails",
      "emails_remaining",
      "calls",
      "calls_remaining",
      "reservations",
      "reservations_remaining",
      "attachment_total_size",
      "attachment_total_size_remaining",
    ]);
  });
});

describe("which routes' 200 is a publish", () => {
  test("write and signed rows, POST and PUT / and login senders; not reads, push subscriptions or account routes", () => {
    const row = (method: string, path: string, right: "none" | "read" | "write" | "login" | "signed") => countsAsPublish({ method, path, right });
    expect(row("POST", "/<channel>", "write")).toBe(true);
    expect(row("GET", "/<channels>/publish", "write")).toBe(true);
    expect(row("POST", "/", "login")).toBe(true);
    expect(row("PUT", "/", "login")).toBe(true);
    expect(row("POST", "/github", "login")).toBe(true);
    expect(row("POST", "/github", "signed")).toBe(true);
    expect(row("GET", "/events", "read")).toBe(false);
    expect(row("GET", "/<channels>/json", "read")).toBe(false);
    expect(row("POST", "/push/subscribe", "login")).toBe(false);
    expect(row("POST", "/v1/account/token", "none")).toBe(false);
    expect(row("GET", "/file/<channel>", "none")).toBe(false);
  });
});

describe("the web app's settings and subscriptions (server_account.go handleAccountSettingsChange, handleAccountSubscription*)", () => {
  const sub = { base_url: "https://ntfy.example", topic: "alerts" };

  test("settings: only what is given changes; 0 is a value (delete_after 0: never delete), null is not", () => {
    const start: Prefs = { language: "en", notification: { sound: "ding", min_priority: 2 } };
    expect(withSettings(start, { notification: { delete_after: 0 } })).toEqual({ language: "en", notification: { sound: "ding", min_priority: 2, delete_after: 0 } });
    expect(withSettings(start, { language: null, notification: { sound: null, min_priority: 5 } })).toEqual({ language: "en", notification: { sound: "ding", min_priority: 5 } });
    expect(withSettings({}, { language: "de" })).toEqual({ language: "de" });
  });

  test("a subscription is added once ('exists' the second time, ntfy's 40903), renamed, and removed", () => {
    const one = withSubscription({}, sub);
    expect(one).toEqual({ subscriptions: [{ ...sub, display_name: null }] });
    expect(withSubscription(one as Prefs, { ...sub, display_name: "x" })).toBe("exists");
    const named = renamed(one as Prefs, { ...sub, display_name: "Alerts" })!;
    expect(named.sub).toEqual({ ...sub, display_name: "Alerts" });
    expect(renamed(one as Prefs, { ...sub, topic: "other" })).toBeNull();
    expect(without(named.prefs, sub.base_url, sub.topic)).toEqual({ subscriptions: [] });
    const p = named.prefs;
    expect(without(p, sub.base_url, "other")).toBe(p);
  });

  test(`at most ${MAX_SAVED_SUBSCRIPTIONS} subscriptions: the next is refused with a sentence`, () => {
    const full: Prefs = { subscriptions: Array.from({ length: MAX_SAVED_SUBSCRIPTIONS }, (_, i) => ({ base_url: sub.base_url, topic: `t${i}`, display_name: null })) };
    expect(() => withSubscription(full, { ...sub, topic: "one-more" })).toThrow(`an account keeps at most ${MAX_SAVED_SUBSCRIPTIONS} subscriptions on the server; remove one first`);
  });
});
