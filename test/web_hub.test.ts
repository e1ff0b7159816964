// test/web_hub.test.ts — web_hub.ts against a real pub/sub server (ours), with a history check the test controls: what a
// listener is handed (plain text, an envelope this server published, one read back from history), the order per
// channel behind a check, shared checks, failures, subscribing while anyone listens, the glob cap, and status.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Hub, type CheckedEnvelope, type HistoryCheck, type HubListener } from "../web_hub";
import { SINGLE_NODE } from "../layout";
import { Raw, freePort, spawnPubSubAt, startPubSub, tempPath, until, waitForPort, type Running } from "./helpers";

/** A history check whose answers, failures and timing the test sets. */
class FakeHistory implements HistoryCheck {
  /** Entries by `channel\nid`: their fields. */
  readonly entries = new Map<string, string[]>();
  /** What this web server "published": `channel\nid\npayload`. */
  readonly published = new Set<string>();
  readonly sent: string[][] = [];
  failWith: string | null = null;
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => {};

  /** Holds every check until release() is called. */
  hold(): void {
    this.gate = new Promise((res) => (this.open = res));
  }
  release(): void {
    this.open();
  }
  async send(command: string, args: string[]): Promise<unknown> {
    this.sent.push([command, ...args]);
    await this.gate;
    if (this.failWith) throw new Error(this.failWith);
    const [key, id] = args;
    const fields = this.entries.get(`${key!.replace(/^notistream:/, "")}\n${id}`);
    return fields ? [[id, fields]] : [];
  }
  async layout() {
    return SINGLE_NODE;
  }
  publishedHere(channel: string, id: string, payload: string): boolean {
    return this.published.has(`${channel}\n${id}\n${payload}`);
  }
}

/** A listener that keeps what it is told. */
function listener() {
  const r = {
    got: [] as CheckedEnvelope[],
    resubscribed: 0,
    statuses: [] as (string | null)[],
    l: null as unknown as HubListener,
  };
  r.l = { message: (e) => void r.got.push(e), resubscribed: () => void r.resubscribed++, status: (s) => void r.statuses.push(s) };
  return r;
}

const envelope = (id: string, message: string, channel = "somewhere") => JSON.stringify({ id, time: 1, channel, message });
/** Only what the tests compare: the envelope's id, channel, message, and whether it is plain. */
const seen = (e: CheckedEnvelope) => ({ id: e.id, channel: e.channel, message: e.message, ...(e.plain ? { plain: true } : {}) });

let pubsub: Running;
let publisher: Raw;
const publish = async (channel: string, payload: string) => expect(await publisher.call("PUBLISH", channel, payload)).toBeGreaterThan(0);

beforeAll(async () => {
  pubsub = await startPubSub();
  publisher = await Raw.open(pubsub.port);
});
afterAll(async () => {
  publisher.close();
  await pubsub.stop();
});

/** A hub on the shared server with a FakeHistory, and its log lines. */
function hubOf(options: { maxPatterns?: number } = {}) {
  const history = new FakeHistory();
  const log: string[] = [];
  const hub = new Hub(`redis://127.0.0.1:${pubsub.port}`, undefined, (line) => void log.push(line), { history, ...options });
  return { hub, history, log };
}

describe("what a listener is handed", () => {
  test("a plain payload as text with no id; an envelope this server published as it is, with no history read", async () => {
    const { hub, history } = hubOf();
    const a = listener();
    hub.listen("h1/a", a.l);
    await until("h1/a live", () => hub.isLive("h1/a"));
    expect(a.resubscribed).toBe(1);
    const mine = envelope("5-0", "ours");
    history.published.add(`h1/a\n5-0\n${mine}`);
    await publish("h1/a", "hello");
    await publish("h1/a", mine);
    await until("two messages", () => a.got.length === 2);
    expect(a.got.map(seen)).toEqual([
      { id: "", channel: "h1/a", message: "hello", plain: true },
      { id: "5-0", channel: "h1/a", message: "ours" }, // the frame's channel, not the payload's
    ]);
    expect(history.sent).toEqual([]);
    hub.close();
  });

  test("any other id is read back from the channel's history: history's fields win, and without an entry the payload is plain text", async () => {
    const { hub, history } = hubOf();
    const a = listener();
    hub.listen("h2/a", a.l);
    await until("h2/a live", () => hub.isLive("h2/a"));
    history.entries.set("h2/a\n7-0", ["time", "1", "channel", "elsewhere", "message", "the real text", "title", "T"]);
    const forged = envelope("7-0", "forged text");
    const unknown = envelope("8-0", "no such entry");
    await publish("h2/a", forged);
    await publish("h2/a", unknown);
    await until("two messages", () => a.got.length === 2);
    expect(a.got.map(seen)).toEqual([
      { id: "7-0", channel: "h2/a", message: "the real text" },
      { id: "", channel: "h2/a", message: unknown, plain: true },
    ]);
    expect(a.got[0]!.title).toBe("T");
    expect(history.sent).toEqual([
      ["XRANGE", "notistream:h2/a", "7-0", "7-0"],
      ["XRANGE", "notistream:h2/a", "8-0", "8-0"],
    ]);
    // A payload published here but not byte for byte (same channel and id, other text) is checked like any other.
    history.published.add(`h2/a\n7-0\n${forged}`);
    await publish("h2/a", envelope("7-0", "forged again"));
    await until("a third message", () => a.got.length === 3);
    expect(seen(a.got[2]!)).toEqual({ id: "7-0", channel: "h2/a", message: "the real text" });
    hub.close();
  });

  test("a channel's messages wait behind one being checked, in the order they came; other channels do not wait", async () => {
    const { hub, history } = hubOf();
    const a = listener();
    const b = listener();
    hub.listen("h3/a", a.l);
    hub.listen("h3/b", b.l);
    await until("both live", () => hub.isLive("h3/a") && hub.isLive("h3/b"));
    history.entries.set("h3/a\n9-0", ["message", "checked"]);
    history.hold();
    await publish("h3/a", envelope("9-0", "claimed"));
    await publish("h3/a", "plain after it");
    await publish("h3/b", "on another channel");
    // One connection delivers in order: once h3/b's message is here, both of h3/a's have reached the hub.
    await until("h3/b's message", () => b.got.length === 1);
    expect(a.got).toEqual([]);
    history.release();
    await until("h3/a's two", () => a.got.length === 2);
    expect(a.got.map((e) => e.message)).toEqual(["checked", "plain after it"]);
    hub.close();
  });

  test("a glob's listeners get the channel that matched; the copies of one message share one history read", async () => {
    const { hub, history } = hubOf();
    const exact = listener();
    const glob = listener();
    hub.listen("h4/c", exact.l);
    hub.listen("h4/*", glob.l);
    await until("both live", () => hub.isLive("h4/c") && hub.isLive("h4/*"));
    expect(hub.patternCount).toBe(1);
    history.entries.set("h4/c\n10-0", ["message", "from history"]);
    history.hold();
    await publish("h4/c", envelope("10-0", "claimed"));
    await until("the check to start", () => history.sent.length === 1);
    await publish("h4/other", "marker"); // after the pmessage copy: both copies are at the hub
    await until("the marker", () => glob.got.length === 1 && exact.got.length === 0);
    history.release();
    await until("the checked copies", () => exact.got.length === 1 && glob.got.length === 2);
    expect(seen(exact.got[0]!)).toEqual({ id: "10-0", channel: "h4/c", message: "from history" });
    expect(glob.got.map(seen)).toEqual([
      { id: "", channel: "h4/other", message: "marker", plain: true },
      { id: "10-0", channel: "h4/c", message: "from history" },
    ]);
    expect(history.sent).toHaveLength(1);
    hub.close();
  });

  test("a check that fails sends the message as plain text, and the failure is logged once", async () => {
    const { hub, history, log } = hubOf();
    const a = listener();
    hub.listen("h5/a", a.l);
    await until("h5/a live", () => hub.isLive("h5/a"));
    history.failWith = "the store is away";
    await publish("h5/a", envelope("11-0", "one"));
    await publish("h5/a", envelope("11-0", "one"));
    await until("two messages", () => a.got.length === 2);
    expect(a.got.every((e) => e.plain === true && e.id === "")).toBe(true);
    expect(log.filter((l) => l.includes("cannot check"))).toEqual([`web: hub: cannot check a message's id against the history of "h5/a", so it goes out as plain text: the store is away`]);
    hub.close();
  });

  test("a listener that throws stops neither the other listeners nor the next message", async () => {
    const { hub, log } = hubOf();
    const good = listener();
    hub.listen("h6/a", {
      message: () => {
        throw new Error("boom");
      },
      resubscribed: () => {},
    });
    hub.listen("h6/a", good.l);
    await until("h6/a live", () => hub.isLive("h6/a"));
    await publish("h6/a", "one");
    await publish("h6/a", "two");
    await until("both messages", () => good.got.length === 2);
    expect(log).toContain(`web: hub: a listener failed on a message on "h6/a": boom`);
    hub.close();
  });
});

describe("subscribing while anyone listens", () => {
  const numsub = async (channel: string) => ((await publisher.call("PUBSUB", "NUMSUB", channel)) as [string, number])[1];

  test("the first listener subscribes, a newcomer on a live channel catches up at once, the last one to go unsubscribes", async () => {
    const { hub } = hubOf();
    const a = listener();
    const b = listener();
    const stopA = hub.watch("h7/a", a.l);
    await until("h7/a live", () => hub.isLive("h7/a"));
    expect(await numsub("h7/a")).toBe(1);
    hub.listen("h7/a", b.l);
    await until("b told to catch up", () => b.resubscribed === 1);
    expect(a.resubscribed).toBe(1); // a was not told again
    expect(hub.channelCount).toBe(1);
    stopA();
    expect(hub.isLive("h7/a")).toBe(true);
    hub.unlisten("h7/a", b.l);
    expect(hub.channelCount).toBe(0);
    expect(hub.isLive("h7/a")).toBe(false);
    // The UNSUBSCRIBE went out on the hub's connection; PUBSUB NUMSUB on another one sees it once it is read.
    let n = await numsub("h7/a");
    for (let tries = 0; n !== 0 && tries < 250; tries++) n = await Bun.sleep(20).then(() => numsub("h7/a"));
    expect(n).toBe(0);
    hub.close();
  });

  test("the glob cap: patterns already held cost nothing, names never count, new ones past --max-patterns are refused", async () => {
    const { hub } = hubOf({ maxPatterns: 2 });
    const a = listener();
    hub.listen("p8/*", a.l);
    expect(hub.patternCount).toBe(1);
    expect(hub.patternRefusal(["p8/*", "q8/*", "plain-name"])).toBeNull();
    expect(hub.patternRefusal(["q8/*", "r8/*"])).toBe(
      "this server already holds 1 distinct glob patterns, its limit (--max-patterns 2); subscribe by channel name, or to a glob already in use, or try again later",
    );
    expect(hub.patternRefusal(["q8/*", "q8/*"])).toBeNull(); // the same new glob twice is one
    hub.unlisten("p8/*", a.l);
    expect(hub.patternCount).toBe(0);
    hub.close();
  });
});

describe("one connection", () => {
  // Hub.listen calls link.start() per listener: a start() while the link connects (at start-up, or after each drop)
  // must not open a second connection, which nothing would ever close.
  test("a listener added while the hub connects opens no second connection, and close() leaves none", async () => {
    const admin = await Raw.open(pubsub.port);
    const clients = async () => ((await admin.call("CLIENT", "LIST")) as string).trim().split("\n").length;
    const before = await clients();
    const { hub } = hubOf();
    const a = listener();
    hub.listen("h11/a", a.l); // the constructor's connection is still under way
    await until("live", () => hub.isLive("h11/a"));
    await publish("h11/a", "one");
    await until("delivered", () => a.got.length === 1);
    expect(await clients()).toBe(before + 1);
    hub.close();
    let after = await clients();
    for (let tries = 0; after !== before && tries < 100; tries++) after = await Bun.sleep(20).then(clients);
    expect(after).toBe(before);
    admin.close();
  });
});

describe("status", () => {
  test("a refused login is told to every listener and logged once, with what to check", async () => {
    const locked = await startPubSub(["--password", "right"]);
    const log: string[] = [];
    const hub = new Hub(`redis://:wrong@127.0.0.1:${locked.port}`, undefined, (line) => void log.push(line), { history: new FakeHistory() });
    try {
      const a = listener();
      hub.listen("h9/a", a.l);
      await until("the refusal", () => a.statuses.some((s) => s?.includes("WRONGPASS")));
      expect(hub.error).toBe("the server said: WRONGPASS invalid username-password pair or user is disabled.");
      expect(hub.connected).toBe(false);
      expect(hub.isLive("h9/a")).toBe(false);
      await until("a retry refused again", () => a.statuses.filter((s) => s?.includes("WRONGPASS")).length >= 2);
      const logged = log.filter((l) => l.includes("WRONGPASS"));
      expect(logged).toHaveLength(1); // each retry is refused the same way: said once
      expect(logged[0]).toMatch(/^web: hub cannot subscribe \(this will not fix itself: check --redis and the pub\/sub server's users\): the server said: WRONGPASS .*; trying again in [\d.]+ s$/);
    } finally {
      hub.close();
      await locked.stop();
    }
  });

  test("the server going away is told with why; when it is back, listeners hear null and catch up again", async () => {
    const port = await freePort();
    const data = tempPath("hub.db");
    let server = spawnPubSubAt(port, data);
    await waitForPort(port);
    const log: string[] = [];
    const hub = new Hub(`redis://127.0.0.1:${port}`, undefined, (line) => void log.push(line), { history: new FakeHistory() });
    try {
      const a = listener();
      hub.listen("h10/a", a.l);
      await until("live", () => hub.isLive("h10/a"));
      server.kill("SIGKILL");
      await server.exited;
      await until("told it is away", () => a.statuses.some((s) => s !== null));
      expect(hub.connected).toBe(false);
      expect(hub.isLive("h10/a")).toBe(false);
      server = spawnPubSubAt(port, data);
      await until("told it is back", () => a.statuses.at(-1) === null, 20_000);
      await until("caught up again", () => a.resubscribed === 2 && hub.isLive("h10/a"));
      expect(log.some((l) => l.startsWith("web: hub lost the pub/sub server"))).toBe(true);
      expect(log).toContain("web: hub subscribed again");
    } finally {
      hub.close();
      server.kill("SIGKILL");
    }
  }, 30_000);
});
