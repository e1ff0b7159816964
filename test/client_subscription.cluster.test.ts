// test/client_subscription.cluster.test.ts — client_subscription.ts on a real Redis Cluster (test/cluster.ts; the same path over backend.ts
// as on one node), through what it tells the client: a first run, catch-up after short and
// long absences, a saved place past history, live messages checked against history, and globs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ClusterCommands } from "../cluster";
import { Subscription } from "../client_subscription";
import { DEFAULT_TIMING } from "../link";
import type { Config } from "../client_config";
import { CLUSTER } from "../layout";
import type { Envelope } from "../message";
import { ClientState } from "../client_state";
import { CLUSTER_NEEDS, startCluster, type Cluster } from "./cluster";
import { needs, until } from "./helpers";

// "Caught up" is said once every name has caught up once, and again after each later catch-up of a name (a cluster
// says a name is live again after any topology change, and ioredis makes some as it finds the nodes): tests wait for
// the first, not for exactly one.
/** What a subscription told the client, in order. */
function recorder() {
  const r = { messages: [] as { env: Envelope; replayed: boolean }[], status: [] as string[], caughtUp: 0, fatal: [] as string[] };
  const on = {
    message: (env: Envelope, replayed: boolean) => void r.messages.push({ env, replayed }),
    caughtUp: () => void r.caughtUp++,
    status: (line: string) => void r.status.push(line),
    fatal: (f: { reason: string }) => void r.fatal.push(f.reason),
  };
  return { r, on };
}
const shown = (r: ReturnType<typeof recorder>["r"]) => r.messages.map((m) => `${m.replayed ? "replayed" : "live"} ${m.env.channel} ${m.env.id || "-"} ${m.env.message}`);

needs(...CLUSTER_NEEDS).describe("Subscription on a real Redis Cluster", () => {
  let cluster: Cluster;
  let commands: ClusterCommands;
  let config: (channels: string[]) => Config;
  const running: Subscription[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
    commands = new ClusterCommands(cluster.url);
    const port = Number(new URL(cluster.url).port);
    config = (channels) => ({ host: "127.0.0.1", port, channels });
  }, 120_000);
  afterAll(async () => {
    for (const s of running) s.stop();
    commands?.close();
    await cluster?.stop();
  });

  /** Adds an entry to `channel`'s history as the web server does (fields of an envelope), with its ID. */
  const add = async (channel: string, id: string, message: string) =>
    expect(await commands.run("XADD", [CLUSTER.historyKey(channel), id, "time", "1", "channel", channel, "message", message])).toBe(id);
  const start = (channels: string[], state: ClientState, replayLimit = 50, lastDownAt = 0) => {
    const { r, on } = recorder();
    const sub = new Subscription(config(channels), on, DEFAULT_TIMING, state, replayLimit, lastDownAt);
    running.push(sub);
    void sub.run();
    return { r, sub };
  };

  // Once failed in CI (cs1/a's place unset): a topology event made the subscriber say cs1/b was live again, and its
  // second catch-up said "caught up" while cs1/a's first read was still under way. Now said once every name is in
  // (catchup.ts's ClientCatchUp; test/catchup.test.ts replays that order without a cluster).
  test("a first run replays nothing, remembers where each history stands, and is caught up once every name is live", async () => {
    await add("cs1/a", "1-1", "old one");
    await add("cs1/a", "1-2", "old two");
    const state = new ClientState(null, "srv");
    const { r, sub } = start(["cs1/a", "cs1/b"], state);
    await until("caught up", () => r.caughtUp >= 1, 30_000);
    expect(r.messages).toEqual([]);
    expect({ places: [state.get("cs1/a"), state.get("cs1/b")], status: r.status.filter((l) => l.includes("unavailable")) }).toEqual({ places: ["1-2", "0-0"], status: [] });
    expect(r.status).toContain(`connected to 127.0.0.1:${config([]).port} (Redis Cluster); subscribed to cs1/a, cs1/b`);
    sub.stop();
  }, 40_000);

  test("live messages: an id in history shows the entry read back, any other payload shows as plain text and moves nothing", async () => {
    const state = new ClientState(null, "srv");
    const { r, sub } = start(["cs2/a"], state);
    await until("caught up", () => r.caughtUp >= 1, 30_000);
    await add("cs2/a", "2-1", "the real text");
    await commands.publish("cs2/a", JSON.stringify({ id: "2-1", time: 1, channel: "elsewhere", message: "tampered" }), false);
    await commands.publish("cs2/a", JSON.stringify({ id: "9-9", time: 1, channel: "cs2/a", message: "no such entry" }), false);
    await commands.publish("cs2/a", "just text", false);
    await until("three messages", () => r.messages.length === 3, 10_000);
    expect(shown(r)).toEqual([
      "live cs2/a 2-1 the real text",
      `live cs2/a - ${JSON.stringify({ id: "9-9", time: 1, channel: "cs2/a", message: "no such entry" })}`,
      "live cs2/a - just text",
    ]);
    expect(state.get("cs2/a")).toBe("2-1");
    sub.stop();
  }, 40_000);

  test("after a short absence every missed message is replayed in order, once, whatever the replay limit", async () => {
    for (let i = 1; i <= 5; i++) await add("cs3/a", `3-${i}`, `m${i}`);
    const state = new ClientState(null, "srv");
    state.set("cs3/a", "3-1");
    const { r, sub } = start(["cs3/a"], state, 2, Date.now() - 1000);
    await until("caught up", () => r.caughtUp >= 1, 30_000);
    expect(shown(r)).toEqual(["replayed cs3/a 3-2 m2", "replayed cs3/a 3-3 m3", "replayed cs3/a 3-4 m4", "replayed cs3/a 3-5 m5"]);
    expect(state.get("cs3/a")).toBe("3-5");
    sub.stop();
  }, 40_000);

  test("after a long absence only the newest replayLimit are shown, and it says how many it skipped", async () => {
    for (let i = 1; i <= 5; i++) await add("cs4/a", `4-${i}`, `m${i}`);
    const state = new ClientState(null, "srv");
    state.set("cs4/a", "4-0");
    const { r, sub } = start(["cs4/a"], state, 2, 0);
    await until("caught up", () => r.caughtUp >= 1, 30_000);
    expect(shown(r)).toEqual(["replayed cs4/a 4-4 m4", "replayed cs4/a 4-5 m5"]);
    expect(r.status).toContain("cs4/a: skipped 3 older messages while away; showing the last 2");
    sub.stop();
  }, 40_000);

  test("a saved place past the newest entry goes back to it, and says so", async () => {
    await add("cs5/a", "5-1", "only");
    const state = new ClientState(null, "srv");
    state.set("cs5/a", "18446744073709551615-0");
    const { r, sub } = start(["cs5/a"], state);
    await until("caught up", () => r.caughtUp >= 1, 30_000);
    expect(state.get("cs5/a")).toBe("5-1");
    expect(r.status).toContain("cs5/a: the saved place 18446744073709551615-0 is past the newest message in its history; going on from 5-1");
    expect(r.messages).toEqual([]);
    sub.stop();
  }, 40_000);

  test("a glob is subscribed with PSUBSCRIBE: its messages come on the channel that matched, checked against that channel's history", async () => {
    const state = new ClientState(null, "srv");
    const { r, sub } = start(["cs6/*"], state);
    await until("caught up", () => r.caughtUp >= 1, 30_000);
    await add("cs6/x", "6-1", "from history");
    await commands.publish("cs6/x", JSON.stringify({ id: "6-1", time: 1, channel: "cs6/x", message: "claimed" }), true);
    await commands.publish("cs6/y", "plain", true);
    await until("two messages", () => r.messages.length === 2, 10_000);
    // Two PUBLISHes may go through two nodes, and the cluster bus keeps no order between nodes: compare as a set.
    expect(new Set(shown(r))).toEqual(new Set(["live cs6/x 6-1 from history", "live cs6/y - plain"]));
    expect(state.get("cs6/*")).toBeUndefined(); // a glob has no history of its own, so no saved place
    expect(state.get("cs6/x")).toBe("6-1");
    sub.stop();
  }, 40_000);
});
