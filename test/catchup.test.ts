// test/catchup.test.ts — catchup.ts without a server: the one decoder of XRANGE replies (both shapes), history read by
// commands, the hold/flush/dedupe buffer, one channel's catch-up (first run, paging, a gap, a place past history, a
// failed read), and the client's catch-up over it (a live message during the read, when "caught up" may be said, reads
// during a failover answered stale or CLUSTERDOWN and asked again); places for opaque IDs (an ntfy server's) and a
// catch-up of several channels in time order.
import { describe, expect, test } from "bun:test";
import type { Reply } from "../resp";
import {
  CATCH_UP_PAGE,
  CatchUpBuffer,
  ClientCatchUp,
  MAX_ID,
  MemoryPlaces,
  OpaquePlaces,
  catchUpChannel,
  inTimeOrder,
  replayMissed,
  entriesFromReply,
  envelopesFromReply,
  historyOver,
  liveMessage,
  type CommandHistory,
  type Handlers,
  type History,
} from "../catchup";
import { compareIds, type Envelope } from "../message";
import { clusterError } from "../backend";
import { until } from "./helpers";

const bulk = (s: string): Reply => ({ type: "bulk", value: new TextEncoder().encode(s) });
const resp3 = (entries: [string, string[]][]): Reply => ({ type: "array", value: entries.map(([id, f]) => ({ type: "array", value: [bulk(id), { type: "array", value: f.map(bulk) }] })) });
const env = (id: string, message = `m ${id}`, channel = "c"): Envelope => ({ id, time: 1, channel, message });
const fields = (message: string, channel = "c") => ["time", "1", "channel", channel, "message", message];

describe("one decoder of XRANGE replies", () => {
  const entries: [string, string[]][] = [
    ["1-1", [...fields("one"), "title", "T", "priority", "5", "tags", '["a"]']],
    ["1-2", fields("two", "elsewhere")],
  ];
  test("link.ts's RESP3 and ioredis's arrays give the same envelopes, on the channel read, never a field's", () => {
    const want = [
      { id: "1-1", time: 1, channel: "c", message: "one", title: "T", priority: 5, tags: ["a"] },
      { id: "1-2", time: 1, channel: "c", message: "two" },
    ];
    expect(envelopesFromReply(resp3(entries), "c")).toEqual(want);
    expect(envelopesFromReply(entries, "c")).toEqual(want);
  });
  test("an error reply throws; an empty or null reply is no entries; an entry without a stream ID is left out", () => {
    expect(() => entriesFromReply({ type: "error", value: "NOPERM no" })).toThrow("NOPERM no");
    expect(() => entriesFromReply(new Error("CLUSTERDOWN"))).toThrow("CLUSTERDOWN");
    expect(entriesFromReply({ type: "array", value: null })).toEqual([]);
    expect(entriesFromReply(null)).toEqual([]);
    expect(entriesFromReply([["nope", []], ["2-0", ["message", "x"]], "junk"])).toEqual([{ id: "2-0", fields: ["message", "x"] }]);
  });
  test("validated as a live message is: a time that is no number becomes the entry's second, unknown fields are ignored", () => {
    expect(envelopesFromReply([["1700000000123-0", ["time", "soon", "message", "x", "evil", "1"]]], "c")).toEqual([{ id: "1700000000123-0", time: 1700000000, channel: "c", message: "x" }]);
  });
});

describe("historyOver: the commands a catch-up sends", () => {
  const recording = () => {
    const sent: string[] = [];
    const history = historyOver(async (cmd, args) => {
      sent.push([cmd, ...args].join(" "));
      return [["5-0", fields("five")]];
    }, (ch) => `h:${ch}`);
    return { sent, history };
  };
  test("top, after, before and find", async () => {
    const { sent, history } = recording();
    expect(await history.top("c")).toBe("5-0");
    expect((await history.after("c", "4-0", 10)).map((e) => e.id)).toEqual(["5-0"]);
    await history.before("c", "+", 3);
    await history.before("c", "9-0", 3);
    expect(await history.find("c", "5-0")).toMatchObject({ id: "5-0", message: "five" });
    expect(await history.find("c", "6-0")).toBeNull();
    expect(sent).toEqual(["XREVRANGE h:c + - COUNT 1", "XRANGE h:c (4-0 + COUNT 10", "XREVRANGE h:c + - COUNT 3", "XREVRANGE h:c (9-0 - COUNT 3", "XRANGE h:c 5-0 5-0", "XRANGE h:c 6-0 6-0"]);
  });
  test("nothing comes after the largest ID or before 0-0: no command (Redis refuses those bounds)", async () => {
    const { sent, history } = recording();
    expect(await history.after("c", MAX_ID, 10)).toEqual([]);
    expect(await history.before("c", "0-0", 10)).toEqual([]);
    expect(sent).toEqual([]);
  });
});

describe("CatchUpBuffer: hold, flush in ID order, each once", () => {
  const make = (since?: string) => {
    const shown: string[] = [];
    const buffer = new CatchUpBuffer(new MemoryPlaces(since), (e, replayed) => shown.push(`${replayed ? "r" : "l"} ${e.channel} ${e.id || e.message}`));
    return { shown, buffer };
  };
  test("held live messages come after history, in ID order, and what history showed already is dropped", () => {
    const { shown, buffer } = make();
    buffer.hold("c");
    // Live messages during the read: out of order (two web servers), one that history will also return.
    expect(buffer.live("c", env("7-0"))).toBe(true);
    expect(buffer.live("c", env("5-0"))).toBe(true);
    expect(shown).toEqual([]);
    for (const e of [env("4-0"), env("5-0")]) buffer.replayed(e);
    expect(buffer.release(["c"]).map((e) => e.id)).toEqual(["7-0", "5-0"]);
    expect(shown).toEqual(["r c 4-0", "r c 5-0", "r c 7-0"]);
    // Live now: shown at once; a repeat and an older one are dropped.
    expect(buffer.live("c", env("8-0"))).toBe(false);
    buffer.live("c", env("8-0"));
    buffer.live("c", env("6-0"));
    expect(shown).toEqual(["r c 4-0", "r c 5-0", "r c 7-0", "l c 8-0"]);
  });
  test("messages with no id are always shown, where they arrived among the held ones, and move no place", () => {
    const { shown, buffer } = make("1-0");
    buffer.hold("c");
    buffer.live("c", env("3-0"));
    buffer.live("c", { ...env(""), message: "plain" });
    buffer.live("c", env("2-0"));
    buffer.release(["c"]);
    expect(shown).toEqual(["r c 2-0", "r c plain", "r c 3-0"]);
    buffer.live("c", { ...env(""), message: "plain" });
    expect(shown.at(-1)).toBe("l c plain");
  });
  test("each name is held and released on its own; clear() forgets what was held", () => {
    const { shown, buffer } = make();
    buffer.hold("a");
    buffer.hold("b");
    buffer.live("a", env("1-0", "x", "a"));
    buffer.live("b", env("1-0", "y", "b"));
    buffer.release(["b"]);
    expect(shown).toEqual(["r b 1-0"]);
    expect(buffer.holds("a")).toBe(true);
    buffer.clear();
    expect(buffer.holds("a")).toBe(false);
    expect(buffer.release(["a"])).toEqual([]);
    expect(shown).toEqual(["r b 1-0"]);
  });
  test("since: nothing at or before it is shown", () => {
    const { shown, buffer } = make("5-0");
    buffer.replayed(env("5-0"));
    buffer.live("c", env("4-0"));
    buffer.live("c", env("6-0"));
    expect(shown).toEqual(["l c 6-0"]);
  });
});

/** A channel's history in memory, as a History; `fail` makes every read throw. */
function memoryHistory(entries: Envelope[], fail?: string): History & { reads: string[] } {
  const reads: string[] = [];
  const check = () => {
    if (fail) throw new Error(fail);
  };
  return {
    reads,
    top: async (ch) => (reads.push(`top ${ch}`), check(), entries.at(-1)?.id ?? null),
    after: async (ch, last, count) => {
      reads.push(`after ${ch} ${last} ${count}`);
      check();
      return entries.filter((e) => BigInt(e.id.split("-")[0]!) > BigInt(last.split("-")[0]!)).slice(0, count);
    },
  };
}

function recorder() {
  const shown: string[] = [];
  const said: string[] = [];
  let caughtUp = 0;
  const on: Handlers = { message: (e, replayed) => shown.push(`${replayed ? "r" : "l"} ${e.id || e.message}`), caughtUp: () => void caughtUp++, status: (l) => said.push(l), fatal: () => {} };
  return { on, shown, said, caughtUps: () => caughtUp };
}

describe("catchUpChannel: one channel's catch-up for the client", () => {
  test("a first run replays nothing and remembers where history stands (0-0 when it is empty)", async () => {
    const places = new MemoryPlaces();
    const r = recorder();
    await catchUpChannel("c", memoryHistory([env("3-0"), env("4-0")]), places, r.on, 0, 50);
    await catchUpChannel("empty", memoryHistory([]), places, r.on, 0, 50);
    expect([places.get("c"), places.get("empty"), r.shown]).toEqual(["4-0", "0-0", []]);
  });
  test("a long gap is read a page at a time, and after a long absence only the newest `limit` show", async () => {
    const all = Array.from({ length: CATCH_UP_PAGE + 5 }, (_, i) => env(`${i + 1}-0`));
    const places = new MemoryPlaces();
    places.set("c", "0-0");
    const r = recorder();
    const history = memoryHistory(all);
    await catchUpChannel("c", history, places, r.on, 0, 3);
    expect(history.reads).toEqual([`after c 0-0 ${CATCH_UP_PAGE}`, `after c ${CATCH_UP_PAGE}-0 ${CATCH_UP_PAGE}`]);
    expect(r.shown).toEqual([`r ${CATCH_UP_PAGE + 3}-0`, `r ${CATCH_UP_PAGE + 4}-0`, `r ${CATCH_UP_PAGE + 5}-0`]);
    expect(r.said).toEqual([`c: skipped ${CATCH_UP_PAGE + 2} older messages while away; showing the last 3`]);
  });
  test("a trimmed gap shows what history still has; a place past history starts again from its newest entry", async () => {
    const places = new MemoryPlaces();
    places.set("c", "2-0");
    const r = recorder();
    await catchUpChannel("c", memoryHistory([env("8-0"), env("9-0")]), places, r.on, Date.now() - 1000, 50);
    expect(r.shown).toEqual(["r 8-0", "r 9-0"]);
    places.set("c", "18446744073709551615-0");
    await catchUpChannel("c", memoryHistory([env("9-0")]), places, r.on, Date.now() - 1000, 50);
    expect(places.get("c")).toBe("9-0");
    expect(r.said).toEqual(["c: the saved place 18446744073709551615-0 is past the newest message in its history; going on from 9-0"]);
  });
  test("a history read that fails throws, and the place is left as it was", async () => {
    const places = new MemoryPlaces();
    const r = recorder();
    await expect(catchUpChannel("c", memoryHistory([], "NOPERM no rights"), places, r.on, 0, 50)).rejects.toThrow("NOPERM no rights");
    expect(places.get("c")).toBeUndefined();
  });
});

/** A CommandHistory whose reads wait until the test lets them answer. */
function gatedHistory(entries: Record<string, Envelope[]>) {
  const gates: { ch: string; open: () => void }[] = [];
  const wait = (ch: string) => new Promise<void>((open) => gates.push({ ch, open }));
  const of = (ch: string) => entries[ch] ?? [];
  const history: CommandHistory = {
    top: async (ch) => (await wait(ch), of(ch).at(-1)?.id ?? null),
    after: async (ch, last) => (await wait(ch), of(ch).filter((e) => Number(e.id.split("-")[0]) > Number(last.split("-")[0]))),
    before: async () => [],
    find: async (ch, id) => of(ch).find((e) => e.id === id) ?? null,
  };
  /** Lets the reads waiting (on `ch`, or all) answer. */
  const answer = async (ch?: string) => {
    for (let turn = 0; turn < 10; turn++) {
      for (const g of gates.filter((g) => ch === undefined || g.ch === ch)) {
        gates.splice(gates.indexOf(g), 1);
        g.open();
      }
      await Bun.sleep(0);
    }
  };
  return { history, answer, pending: () => gates.map((g) => g.ch) };
}

const savedPlaces = () => Object.assign(new MemoryPlaces(), { save() {}, saveSoon() {} });

describe("ClientCatchUp: the client's catch-up on a connection that runs commands", () => {
  test("a live message arriving during the read waits, and shows once after what history had", async () => {
    const h = gatedHistory({ c: [env("1-0"), env("2-0"), env("3-0")] });
    const places = savedPlaces();
    places.set("c", "1-0");
    const r = recorder();
    const cu = new ClientCatchUp(h.history, places, r.on, 50, Date.now() - 1000, ["c"], () => true);
    cu.hold(["c"]);
    const done = cu.catchUp(["c"]);
    cu.live("c", liveMessage("c", JSON.stringify(env("3-0"))));
    cu.live("c", liveMessage("c", "plain text"));
    await Bun.sleep(0);
    expect(r.shown).toEqual([]);
    await h.answer();
    expect(await done).toBe("all");
    expect(r.shown).toEqual(["r 2-0", "r 3-0", "r plain text"]);
    cu.live("c", liveMessage("c", JSON.stringify(env("3-0"))));
    await Bun.sleep(0);
    expect(r.shown).toHaveLength(3); // a repeat is dropped
  });

  test("a history read that keeps failing is said once patience runs out, and what was held still shows", async () => {
    const places = savedPlaces();
    places.set("c", "1-0");
    const r = recorder();
    const failing: CommandHistory = { ...memoryHistory([], "LOADING"), before: async () => [], find: async () => null };
    const cu = new ClientCatchUp(failing, places, r.on, 50, 0, ["c"], () => true, [1, 1]);
    cu.hold(["c"]);
    const done = cu.catchUp(["c"]);
    cu.live("c", liveMessage("c", "held"));
    expect(await done).toBe("all");
    expect(r.said).toEqual(["history for c is unavailable (LOADING); showing live messages only"]);
    expect(r.shown).toEqual(["r held"]);
  });

  // The clustersub flake: a cluster says a name is live again after any topology change. When that came for cs1/b
  // while cs1/a's first read was still under way, "caught up" was said and cs1/a's place was not set yet.
  test("caught up is said once every name has caught up once, however often one of them catches up again first", async () => {
    const h = gatedHistory({ a: [env("1-2")] });
    const places = savedPlaces();
    const r = recorder();
    const cu = new ClientCatchUp(h.history, places, r.on, 50, 0, ["a", "b"], () => false);
    cu.hold(["a", "b"]);
    const a = cu.catchUp(["a"]);
    const b1 = cu.catchUp(["b"]);
    const b2 = cu.catchUp(["b"]);
    expect(h.pending()).toEqual(["a", "b", "b"]);
    // Only b's reads answer: a's first read is still under way.
    await h.answer("b");
    expect([await b1, await b2]).toEqual(["waiting", "waiting"]);
    expect(r.caughtUps()).toBe(0);
    expect(places.get("a")).toBeUndefined();
    await h.answer("a");
    expect(await a).toBe("all");
    expect([places.get("a"), places.get("b")]).toEqual(["1-2", "0-0"]);
    const again = cu.catchUp(["b"]);
    await h.answer();
    expect(await again).toBe("again");
  });

  test("a catch-up of a connection that ended stops quietly: it neither says nor shows anything", async () => {
    const h = gatedHistory({ c: [env("2-0")] });
    const places = savedPlaces();
    places.set("c", "1-0");
    const r = recorder();
    const cu = new ClientCatchUp(h.history, places, r.on, 50, 0, ["c"], () => true);
    cu.hold(["c"]);
    const done = cu.catchUp(["c"]);
    cu.live("c", liveMessage("c", "held on the old connection"));
    cu.down(true);
    await h.answer();
    expect(await done).toBe("stale");
    expect(r.shown).toEqual(["r 2-0"]); // history's own entry is real; the held one is forgotten (history has it)
    expect(r.said).toEqual([]);
  });
});

describe("OpaquePlaces: one place for a stream whose IDs carry no order (ntfy's random IDs)", () => {
  const msg = (id: string, time: number, channel = "a"): Envelope => ({ id, time, channel, message: `m ${id}` });
  test("each ID once, whatever its order; since is the last shown, for every channel of the stream", () => {
    const p = new OpaquePlaces();
    expect(p.get()).toBeUndefined();
    p.startAt(100);
    expect([p.get(), p.snapshot()]).toEqual(["100", { since: "100", horizon: 100, seen: [] }]);
    expect([p.advance(msg("zzz", 100)), p.advance(msg("aaa", 100, "b")), p.advance(msg("zzz", 100)), p.advance(msg("aaa", 101))]).toEqual([true, true, false, false]);
    expect(p.get()).toBe("aaa");
    // Before the first run's start (a server sending everything it holds): already passed.
    expect(p.advance(msg("old", 99))).toBe(false);
    // A message without an ID is new and moves nothing.
    expect([p.advance(msg("", 1)), p.get()]).toEqual([true, "aaa"]);
  });
  test("past `keep` IDs the oldest second is forgotten whole and the horizon moves past it: still each once", () => {
    const p = new OpaquePlaces(null, () => {}, 3);
    p.startAt(10);
    for (const [id, t] of [["a", 10], ["b", 10], ["c", 11], ["d", 12]] as const) expect(p.advance(msg(id, t))).toBe(true);
    expect(p.snapshot()).toEqual({ since: "d", horizon: 11, seen: [["c", 11], ["d", 12]] });
    // A server that forgot `d` sends all it holds again: nothing shows twice, and a message it had not sent still shows.
    expect(["a", "b", "c", "d"].map((id, i) => p.advance(msg(id, [10, 10, 11, 12][i]!)))).toEqual([false, false, false, false]);
    expect(p.advance(msg("e", 11))).toBe(true);
  });
  test("the newest second is never forgotten, however many IDs share it", () => {
    const p = new OpaquePlaces(null, () => {}, 2);
    for (const id of ["a", "b", "c", "d"]) p.advance(msg(id, 5));
    expect(["a", "b", "c", "d"].map((id) => p.advance(msg(id, 5)))).toEqual([false, false, false, false]);
  });
  test("kept and read back (the state file's shape); every move is told", () => {
    let told = 0;
    const p = new OpaquePlaces({ since: "x", horizon: 3, seen: [["x", 4]] }, () => void told++);
    expect([p.get(), p.advance(msg("x", 4)), p.advance(msg("y", 2)), p.advance(msg("y", 5)), told]).toEqual(["x", false, false, true, 1]);
    p.set("any", "z");
    expect([p.get(), told]).toEqual(["z", 2]);
  });
});

describe("a catch-up of several channels (an ntfy stream's topics)", () => {
  test("inTimeOrder sorts by second, keeping the arrival order within one", () => {
    const list = [env("c", "1", "x"), env("a", "2", "y"), env("b", "3", "x")].map((e, i) => ({ ...e, time: [5, 3, 5][i]! }));
    expect(inTimeOrder(list).map((e) => e.id)).toEqual(["a", "c", "b"]);
  });
  test("replayMissed caps each channel at its newest `limit` after a long absence, in the order given", () => {
    const places = new OpaquePlaces();
    const r = recorder();
    const missed = ["x1", "y1", "x2", "x3", "y2", "x4"].map((id, i) => ({ ...env(id, id, id[0]!), time: i }));
    replayMissed(missed, 0, 2, places, r.on);
    expect(r.shown).toEqual(["r y1", "r x3", "r y2", "r x4"]);
    expect(r.said).toEqual(["x: skipped 2 older messages while away; showing the last 2"]);
    // The ones passed over count as seen.
    expect(places.advance(missed[0]!)).toBe(false);
  });
});

/**
 * A shard's history during a failover, as the notistream client on a Redis Cluster saw it (the cluster e2e test's
 * flake): for its first `window` reads it is answered by a node that does not have the newest writes (a restarted
 * master with an old copy of the data, before the cluster tells it that its slots moved on), or by no node
 * (CLUSTERDOWN while a replica takes over); after that by the shard's real master.
 */
function failoverHistory(real: Envelope[], stale: Envelope[], window: number, mode: "stale" | "down") {
  let reads = 0;
  const inFlux = clusterError(new Error("Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down"));
  const now = () => {
    if (reads++ >= window) return real;
    if (mode === "down") throw inFlux;
    return stale;
  };
  const history: CommandHistory = {
    top: async () => now().at(-1)?.id ?? null,
    after: async (_ch, last) => now().filter((e) => compareIds(e.id, last) > 0),
    before: async () => [],
    find: async (_ch, id) => now().find((e) => e.id === id) ?? null,
  };
  return { history, reads: () => reads };
}

describe("ClientCatchUp during a failover: a read answered stale, or not at all, is asked again", () => {
  // IDs of the last seconds, as real messages published now have (a saved place from the future is a forged ID, which
  // does start again; a live ID long past or from the future was not just published).
  const t = Date.now() - 10_000;
  const id = (i: number) => `${t + i}-0`;
  const real = [1, 2, 3, 4, 5, 6].map((i) => env(id(i)));
  // Four quick tries; [60_000] where a wait would be the bug (the test then times out instead of passing late).
  const onCluster = (h: CommandHistory, places = savedPlaces(), r = recorder(), patience = [1, 1, 1, 1]) =>
    ({ cu: new ClientCatchUp(h, places, r.on, 50, Date.now() - 1000, ["c"], () => false, patience), places, r });

  test("a live message whose check meets CLUSTERDOWN shows with its id once the new master answers, not as plain text", async () => {
    const { history } = failoverHistory(real, [], 2, "down");
    const { cu, places, r } = onCluster(history);
    places.set("c", id(4));
    cu.live("c", liveMessage("c", JSON.stringify(real[4])));
    cu.live("c", liveMessage("c", JSON.stringify(real[5])));
    await until("both live messages", () => r.shown.length === 2, 5000);
    expect(r.shown).toEqual([`l ${id(5)}`, `l ${id(6)}`]);
    expect(places.get("c")).toBe(id(6));
    expect(r.said).toEqual([]);
  });

  test("a live message checked against a node whose history is behind it shows with its id once the real master answers", async () => {
    const { history } = failoverHistory(real, real.slice(0, 2), 2, "stale");
    const { cu, places, r } = onCluster(history);
    places.set("c", id(4));
    cu.live("c", liveMessage("c", JSON.stringify(real[4])));
    await until("the live message", () => r.shown.length === 1, 5000);
    expect(r.shown).toEqual([`l ${id(5)}`]);
  });

  test("a catch-up answered by a node whose history is behind the saved place keeps the place, and shows what it missed once the real master answers", async () => {
    const { history, reads } = failoverHistory(real, real.slice(0, 2), 2, "stale");
    const { cu, places, r } = onCluster(history);
    places.set("c", id(4));
    cu.hold(["c"]);
    expect(await cu.catchUp(["c"])).toBe("all");
    expect(reads()).toBeGreaterThan(2);
    expect(r.shown).toEqual([`r ${id(5)}`, `r ${id(6)}`]);
    expect(places.get("c")).toBe(id(6));
    expect(r.said).toEqual([]); // never "the saved place is past the newest message"
  });

  test("a catch-up that meets CLUSTERDOWN is asked again; what was held shows after it, once", async () => {
    const { history } = failoverHistory(real, [], 3, "down");
    const { cu, places, r } = onCluster(history);
    places.set("c", id(3));
    cu.hold(["c"]);
    const done = cu.catchUp(["c"]);
    cu.live("c", liveMessage("c", JSON.stringify(real[5])));
    expect(await done).toBe("all");
    await until("the held message", () => r.shown.length === 3, 5000);
    expect(r.shown).toEqual([`r ${id(4)}`, `r ${id(5)}`, `r ${id(6)}`]);
    expect(r.said).toEqual([]);
  });

  test("a history still behind when patience runs out: the place is kept, not rewound to that history's newest, and said once", async () => {
    const { history } = failoverHistory(real, real.slice(0, 2), 1000, "stale");
    const { cu, places, r } = onCluster(history);
    places.set("c", id(4));
    cu.hold(["c"]);
    expect(await cu.catchUp(["c"])).toBe("all");
    expect(places.get("c")).toBe(id(4));
    expect(r.said).toEqual([`c: its history ends at ${id(2)}, before the saved place ${id(4)} (a node that has not caught up?); keeping the place`]);
  });

  test("what asking again cannot change is not waited for: a forged ID, a refusal, one node's own history", async () => {
    const h: CommandHistory = { ...memoryHistory(real), before: async () => [], find: async (_ch, id) => real.find((e) => e.id === id) ?? null };
    const { cu, r } = onCluster(h, savedPlaces(), recorder(), [60_000]);
    // Below the newest entry and not in history: no node has it.
    cu.live("c", liveMessage("c", JSON.stringify(env(`${t + 3}-5`, "forged"))));
    // Above it, but from the future or from long ago: not a message published just now.
    cu.live("c", liveMessage("c", JSON.stringify(env("9999999999999-0", "from the future"))));
    cu.live("c", liveMessage("c", JSON.stringify(env("9-9", "from 1970"))));
    await until("all three", () => r.shown.length === 3, 5000);
    expect(r.shown.map((l) => l.startsWith("l {"))).toEqual([true, true, true]);
    // A refusal (NOPERM) is final; so is "not found" on one node, whose history took the message before it was published.
    const refusing: CommandHistory = { ...h, find: async () => Promise.reject(clusterError(Object.assign(new Error("NOPERM no rights to read"), { name: "ReplyError" }))) };
    const r2 = recorder();
    new ClientCatchUp(refusing, savedPlaces(), r2.on, 50, 0, ["c"], () => false, [60_000]).live("c", liveMessage("c", JSON.stringify(real[5])));
    const r3 = recorder();
    const stale = failoverHistory(real, real.slice(0, 2), 1000, "stale").history;
    new ClientCatchUp(stale, savedPlaces(), r3.on, 50, 0, ["c"], () => true, [60_000]).live("c", liveMessage("c", JSON.stringify(real[5])));
    await until("the refused and the one-node check", () => r2.shown.length === 1 && r3.shown.length === 1, 5000);
    expect(r2.said).toEqual(["cannot read c's history to check its messages (NOPERM no rights to read); they show as plain text"]);
    expect([r2.shown[0]!.startsWith("l {"), r3.shown[0]!.startsWith("l {")]).toEqual([true, true]);
  });
});
