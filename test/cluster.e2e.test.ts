// test/cluster.e2e.test.ts — end to end on a real Redis Cluster (3 masters, 3 replicas of Debian's redis-server):
// the web server, an SSE stream, a glob stream and the notistream client given one node; catch-up after a restart;
// and a master killed with -9 under a stream of POSTs with --cluster-wait 1.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { json, killClients, needs, post, publishOverHttp, run, startClient, startWebServer, tempPath, until, type ClientProcess } from "./helpers";
import { CLUSTER_NEEDS, haveCluster, startCluster, type Cluster } from "./cluster";
import { CLUSTER, keySlot } from "../layout";
import { decryptPush, makeSubscription, startPushService } from "./pushservice";

let cluster: Cluster;
beforeAll(async () => {
  if (haveCluster) cluster = await startCluster();
}, 90_000);
afterAll(async () => {
  killClients();
  await cluster?.stop();
});

const CHANNELS = Array.from({ length: 100 }, (_, i) => `spread/${String(i).padStart(3, "0")}`);

/** post() under load: the status and the JSON answer, a refusal's too (the load loops count both). */
async function answerTo(base: string, fields: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await post(base, fields);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The JSON lines a `--json` client printed so far. */
const printed = (c: ClientProcess) =>
  c.out().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { id: string; channel: string; message: string });

/** Reads an SSE stream in the background, keeping every message event's data. */
function sse(url: string): { events: { id: string; channel: string; message: string }[]; close: () => void } {
  const ctl = new AbortController();
  const events: { id: string; channel: string; message: string }[] = [];
  void (async () => {
    const res = await fetch(url, { signal: ctl.signal });
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buf += dec.decode(value, { stream: true });
      let at;
      while ((at = buf.indexOf("\n\n")) !== -1) {
        const frame = buf.slice(0, at);
        buf = buf.slice(at + 2);
        if (/^event:/m.test(frame)) continue;
        const data = frame.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
        if (data) events.push(JSON.parse(data));
      }
    }
  })().catch(() => {});
  return { events, close: () => ctl.abort() };
}

/**
 * Every accepted message reached the client and the SSE stream exactly once. On a timeout the error names what is
 * missing and shows the client's and the web server's logs, so a failure on a CI machine can be read afterwards.
 */
async function allArrivedOnce(accepted: string[], client: ClientProcess, stream: { events: { id: string; channel: string }[] }, web?: { output: () => string }) {
  for (const [what, got] of [["client", () => printed(client)], ["SSE", () => stream.events]] as const) {
    const missing = () => {
      const ids = new Set(got().map((e) => `${e.id} ${e.channel}`));
      return accepted.filter((a) => !ids.has(a));
    };
    try {
      await until(`every accepted message at the ${what}`, () => missing().length === 0, 30_000);
    } catch (err) {
      const logs = (text: string) => text.split("\n").filter((l) => l && !l.startsWith("{")).slice(-40).join("\n");
      throw new Error(`${(err as Error).message}: ${missing().length} of ${accepted.length} missing (${missing().slice(0, 10).join(", ")})\n` +
        `the client said:\n${logs(client.out())}\nthe web server said:\n${logs(web?.output() ?? "")}`);
    }
    const ids = got().map((e) => `${e.id} ${e.channel}`);
    expect(ids.length).toBe(new Set(ids).size); // nothing twice
  }
}

/**
 * A web server (with `webArgs`), a `notistream --json` client given one node and an SSE stream, all on `channels`;
 * `body` runs once the client says it is subscribed, and everything is stopped after it.
 */
async function withReaders(
  webArgs: string[],
  channels: string[],
  body: (r: { web: Awaited<ReturnType<typeof startWebServer>>; client: ClientProcess; stream: ReturnType<typeof sse> }) => Promise<void>,
): Promise<void> {
  const web = await startWebServer(cluster.url, webArgs);
  const client = startClient(["--json", "--host", "127.0.0.1", "--port", String(cluster.nodes[0]!.port), "--channels", channels.join(",")]);
  const stream = sse(`${web.url}/events?channels=${channels.join(",")}`);
  try {
    await until("the client to subscribe", () => /connected to .*Redis Cluster/.test(client.out()), 30_000);
    await Bun.sleep(500);
    await body({ web, client, stream });
  } finally {
    stream.close();
    client.proc.kill("SIGTERM");
    await web.stop();
  }
}

needs(...CLUSTER_NEEDS).describe("on a real Redis Cluster", () => {
  test("history keys sit in their channel's slot, braces included, as the cluster itself computes it", async () => {
    const names = ["alerts", "a{b}c", "{x}", "a{b", "a}b", "{}x", "}{", "ünïcode/✓", "octo/{repo}/push", ...CHANNELS.slice(0, 5)];
    for (const ch of names) {
      const [bySlot, byKey] = await Promise.all(
        [ch, CLUSTER.historyKey(ch)].map(async (k) => Number((await run(["redis-cli", "-p", String(cluster.nodes[0]!.port), "CLUSTER", "KEYSLOT", k])).stdout.trim())),
      );
      expect({ ch, slot: byKey }).toEqual({ ch, slot: bySlot! });
      expect(keySlot(ch)).toBe(bySlot!);
    }
  });

  test("100 channels over every shard reach a client, an SSE stream and a glob stream; keys are hash-tagged", async () => {
    const web = await startWebServer(cluster.url);
    const client = startClient(["--json", "--host", "127.0.0.1", "--port", String(cluster.nodes[1]!.port), "--channels", CHANNELS.join(",")]);
    const exact = sse(`${web.url}/events?channels=${CHANNELS.join(",")}`);
    const glob = sse(`${web.url}/events?channel=spread/*`);
    try {
      await until("the client to subscribe", () => /connected to .*Redis Cluster/.test(client.out()), 30_000);
      await until("both SSE streams to subscribe", () => /SSUBSCRIBE/.test(web.output()), 10_000);
      await Bun.sleep(500); // the SSE streams' SSUBSCRIBE/PSUBSCRIBE replies
      const ids = new Map<string, string>();
      for (const ch of CHANNELS) {
        ids.set(ch, (await publishOverHttp(web.url, { channel: ch, message: `hello ${ch}` })).id);
      }
      await until("the client to print 100", () => printed(client).length >= 100, 20_000);
      await until("the SSE stream to get 100", () => exact.events.length >= 100, 20_000);
      await until("the glob stream to get 100", () => glob.events.length >= 100, 20_000);
      for (const got of [printed(client), exact.events, glob.events]) {
        expect(got.length).toBe(100);
        expect(new Set(got.map((e) => e.channel))).toEqual(new Set(CHANNELS));
        for (const e of got) expect(e.id).toBe(ids.get(e.channel)!);
      }
      // The messages spread over all three masters, each history key on its channel's master.
      const masters = await cluster.masters();
      const perMaster = new Map<number, number>();
      for (const port of masters) {
        const keys = (await run(["redis-cli", "-p", String(port), "KEYS", "notistream:{spread/*"])).stdout.trim().split("\n").filter(Boolean);
        perMaster.set(port, keys.length);
      }
      expect([...perMaster.values()].reduce((a, b) => a + b, 0)).toBe(100);
      for (const n of perMaster.values()) expect(n).toBeGreaterThan(15);
      // /messages reads a glob across the shards.
      const listed = (await (await fetch(`${web.url}/messages?channel=spread/*&limit=1000`)).json()) as unknown[];
      expect(listed.length).toBe(100);
      const health = (await (await fetch(`${web.url}/health`)).json()) as { hub: { connected: boolean } };
      expect(health.hub.connected).toBe(true);
    } finally {
      exact.close();
      glob.close();
      client.proc.kill("SIGTERM");
      await web.stop();
    }
  }, 90_000);

  test("--cluster-globs off: SPUBLISH only; a glob subscription gets a 400 that says why, a named one works", async () => {
    const web = await startWebServer(cluster.url, ["--cluster-globs", "off"]);
    const stream = sse(`${web.url}/events?channel=${CHANNELS[7]}`);
    try {
      const glob = await fetch(`${web.url}/events?channel=spread/*`);
      expect(glob.status).toBe(400);
      expect(((await glob.json()) as { error: string }).error).toContain("--cluster-globs off");
      await Bun.sleep(500);
      // Nobody PSUBSCRIBEs here, so the receivers count is the named subscriber alone.
      expect((await publishOverHttp(web.url, { channel: CHANNELS[7]!, message: "named only" })).receivers).toBe(1);
      await until("the named stream", () => stream.events.some((e) => e.message === "named only"), 10_000);
      expect(web.output()).toContain("glob subscriptions are off");
    } finally {
      stream.close();
      await web.stop();
    }
  }, 60_000);

  test("Web Push from two web servers: subscriptions shared through the cluster, each message pushed once", async () => {
    const push = startPushService();
    const args = ["--push-endpoints", push.origin, "--push-contact", "mailto:ops@example.com"];
    const a = await startWebServer(cluster.url, args);
    const named = makeSubscription(`${push.origin}/push/cluster-named`);
    const glob = makeSubscription(`${push.origin}/push/cluster-glob`);
    let b: Awaited<ReturnType<typeof startWebServer>> | undefined;
    try {
      for (const [sub, channels] of [[named, [CHANNELS[3]!]], [glob, ["spread/09*"]]] as const) {
        await post(`${a.url}/push/subscribe`, json({ subscription: sub.json, channels }), { status: 201 });
      }
      // A second web server started later reads the subscriptions from every master (KEYS on each).
      b = await startWebServer(cluster.url, args);
      await Bun.sleep(1000);
      const ids: Record<string, string> = {};
      for (const [i, ch] of [CHANNELS[3]!, CHANNELS[90]!, CHANNELS[95]!, CHANNELS[3]!, CHANNELS[99]!, CHANNELS[50]!].entries()) {
        ids[`push ${i}`] = (await publishOverHttp((i % 2 ? b : a).url, { channel: ch, message: `push ${i}` })).id;
      }
      const got = (sub: typeof named) => push.received.filter((r) => sub.json.endpoint.endsWith(r.path)).map((r) => JSON.parse(decryptPush(r.body, sub)) as { message: string; id: string });
      await until("the pushes", () => got(named).length >= 2 && got(glob).length >= 3, 15_000);
      await Bun.sleep(1000); // a second copy would come now
      expect(got(named).map((m) => m.message).sort()).toEqual(["push 0", "push 3"]);
      expect(got(glob).map((m) => m.message).sort()).toEqual(["push 1", "push 2", "push 4"]);
      for (const m of [...got(named), ...got(glob)]) expect(m.id).toBe(ids[m.message]!);
    } finally {
      push.stop();
      await a.stop();
      await b?.stop();
    }
  }, 60_000);

  test("a client that restarts catches up exactly once, in order", async () => {
    const web = await startWebServer(cluster.url);
    const state = tempPath("state.json");
    const channels = CHANNELS.slice(0, 6);
    const args = ["--json", "--host", "127.0.0.1", "--port", String(cluster.nodes[2]!.port), "--channels", channels.join(",")];
    let client = startClient(args, { NOTISTREAM_STATE: state });
    try {
      await until("the client to subscribe", () => /connected to .*Redis Cluster/.test(client.out()), 30_000);
      await publishOverHttp(web.url, { channel: channels[0]!, message: "before the stop" });
      await until("the first message", () => printed(client).length === 1, 10_000);
      client.proc.kill("SIGTERM");
      await client.proc.exited;
      const sent: string[] = [];
      for (let i = 0; i < 30; i++) {
        sent.push((await publishOverHttp(web.url, { channel: channels[i % channels.length]!, message: `while away ${i}` })).id);
      }
      client = startClient(args, { NOTISTREAM_STATE: state });
      await until("the 30 missed messages", () => printed(client).length >= 30, 20_000);
      await Bun.sleep(500);
      const got = printed(client);
      expect(got.map((e) => e.message)).not.toContain("before the stop");
      expect(got.map((e) => e.id).sort()).toEqual([...sent].sort());
      // In order within each channel.
      for (const ch of channels) {
        const mine = got.filter((e) => e.channel === ch).map((e) => Number(e.message.split(" ").pop()));
        expect(mine).toEqual([...mine].sort((a, b) => a - b));
      }
    } finally {
      client.proc.kill("SIGTERM");
      await web.stop();
    }
  }, 90_000);

  test("a slot moved to another master under load (ASK, then MOVED): every message arrives once, none refused", async () => {
    const moving = CHANNELS[50]!;
    const channels = [moving, ...CHANNELS.slice(60, 64)];
    await withReaders([], channels, async ({ web, client, stream }) => {
      const slot = keySlot(moving);
      const masters = await cluster.masters();
      // Any master that does not own the slot now: the one a MOVED points at for this slot is its owner.
      const moved = (await run(["redis-cli", "-p", String(masters[0]!), "XLEN", CLUSTER.historyKey(moving)])).stdout;
      const ownerPort = moved.startsWith("MOVED") ? Number(moved.trim().split(":").pop()) : masters[0]!;
      const target = masters.find((p) => p !== ownerPort)!;
      const accepted: string[] = [];
      const statuses = new Map<number, number>();
      let stop = false;
      const load = (async () => {
        for (let i = 0; !stop; i++) {
          const ch = i % 2 === 0 ? moving : channels[1 + (i % 4)]!;
          const r = await answerTo(web.url, { channel: ch, message: `m${i}` });
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status === 200) accepted.push(`${r.body.id} ${ch}`);
          await Bun.sleep(5);
        }
      })();
      await Bun.sleep(500);
      await cluster.moveSlot(slot, target);
      await Bun.sleep(1500);
      stop = true;
      await load;
      expect(Object.fromEntries(statuses)).toEqual({ 200: accepted.length });
      // The stream now lives on the new owner.
      expect(Number((await run(["redis-cli", "-p", String(target), "XLEN", CLUSTER.historyKey(moving)])).stdout.trim())).toBeGreaterThan(0);
      await allArrivedOnce(accepted, client, stream, web);
      console.log(`cluster reshard: ${accepted.length} POSTs during the move of slot ${slot} from ${ownerPort} to ${target}, all 200`);
    });
  }, 120_000);

  /**
   * POSTs to 30 channels over every shard, 10 ms apart, while `during` runs; each answer with when it came.
   * `during` gets the victim: a master other than the node the web server and client were given.
   */
  async function underLoad(web: { url: string; output: () => string; proc: { exitCode: number | null } }, channels: string[], during: (victim: number) => Promise<void>) {
    /** `at`: when the POST was sent; `took`: how long its answer took. */
    const answers: { at: number; took: number; status: number; id: string; channel: string }[] = [];
    let stop = false;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const channel = channels[i % channels.length]!;
        const at = Date.now();
        const r = await answerTo(web.url, { channel, message: `n${i}` }).catch((err: Error) => {
          throw new Error(`POST ${i} failed: ${err.message}; the web server (exit code ${web.proc.exitCode}) said:\n${web.output().split("\n").slice(-40).join("\n")}`);
        });
        answers.push({ at, took: Date.now() - at, status: r.status, id: String(r.body.id ?? ""), channel });
        await Bun.sleep(10);
      }
    })();
    await until("some traffic", () => answers.length >= 100, 20_000);
    const victim = (await cluster.masters()).find((p) => p !== cluster.nodes[0]!.port)!;
    await during(victim);
    stop = true;
    await load;
    return answers;
  }

  test("kill -9 of a master: 503 only while the replica takes over; the client and the hub subscribe again", async () => {
    const channels = CHANNELS.slice(10, 40);
    await withReaders([], channels, async ({ web, client, stream }) => {
      let killedAt = 0;
      let failedOverAt = 0;
      const answers = await underLoad(web, channels, async (victim) => {
        killedAt = Date.now();
        cluster.kill(victim);
        await cluster.waitForFailover(victim, 30_000);
        failedOverAt = Date.now();
        await Bun.sleep(3000);
        await cluster.restart(victim);
        await cluster.waitHealthy();
      });
      const refused = answers.filter((a) => a.status !== 200);
      const slowest = Math.max(...answers.map((a) => a.took));
      console.log(`cluster failover without --cluster-wait: ${answers.length} POSTs, ${refused.length} answered 503; the failover took ${((failedOverAt - killedAt) / 1000).toFixed(1)} s (the slowest answer took ${slowest} ms)`);
      expect(refused.every((a) => a.status === 503)).toBe(true);
      // Every 503 was sent before the failover was over (allowing 1 s for the web server to read the new map).
      for (const a of refused) expect(a.at).toBeLessThanOrEqual(failedOverAt + 1000);
      expect(answers.filter((a) => a.at > failedOverAt + 1000).every((a) => a.status === 200)).toBe(true);
      // Without WAIT a write acknowledged just before the kill may be lost with the master; the rest must arrive.
      const accepted = answers.filter((a) => a.status === 200 && (a.at < killedAt - 2000 || a.at > failedOverAt)).map((a) => `${a.id} ${a.channel}`);
      await allArrivedOnce(accepted, client, stream, web);
      expect(/subscribed again/.test(web.output())).toBe(true);
    });
  }, 180_000);

  test("kill -9 of a master under a stream of POSTs: with --cluster-wait 1 every 200 arrives once, the rest are 503s", async () => {
    const channels = CHANNELS.slice(40, 70);
    await withReaders(["--cluster-wait", "1"], channels, async ({ web, client, stream }) => {
      let healthyAt = 0;
      const answers = await underLoad(web, channels, async (victim) => {
        cluster.kill(victim);
        await cluster.waitForFailover(victim, 30_000);
        // The promoted replica has no replica of its own until the old master comes back as one: until then its
        // shard cannot confirm a write to one replica, so it answers 503.
        await cluster.restart(victim);
        await cluster.waitHealthy();
        healthyAt = Date.now();
        await Bun.sleep(2000);
      });
      const statuses = Object.fromEntries([200, 503].map((s) => [s, answers.filter((a) => a.status === s).length]));
      console.log(`cluster failover with --cluster-wait 1: ${answers.length} POSTs, statuses ${JSON.stringify(statuses)}`);
      expect(statuses[200]! + statuses[503]!).toBe(answers.length);
      expect(statuses[503]).toBeGreaterThan(0);
      expect(answers.filter((a) => a.at > healthyAt + 1000).every((a) => a.status === 200)).toBe(true);
      await allArrivedOnce(answers.filter((a) => a.status === 200).map((a) => `${a.id} ${a.channel}`), client, stream, web);
    });
  }, 180_000);
});
