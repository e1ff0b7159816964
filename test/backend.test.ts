// test/backend.test.ts — backend.ts: how a cluster's errors are sorted (pure), and the one interface over real servers:
// one node (ours) and a Redis Cluster (test/cluster.ts) answer commands, KEYS, publishing and subscriptions the same way;
// a node that is away or refuses says so through the events and the commands' LinkErrors.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { clusterError, openBackend, type Backend, type BackendEvents } from "../backend";
import { CLUSTER, SINGLE_NODE } from "../layout";
import { LinkError, type LinkFailure } from "../link";
import { CLUSTER_NEEDS, startCluster, type Cluster } from "./cluster";
import { writeFileSync } from "node:fs";
import { freePort, needs, spawnPubSubAt, startPubSub, tempPath, until, waitForPort, type Running } from "./helpers";

const replyError = (message: string) => Object.assign(new Error(message), { name: "ReplyError" });

describe("clusterError", () => {
  test("a reply error is the server refusing: the reply is kept, no failure", () => {
    const e = clusterError(replyError("NOPERM this user has no permissions to access one of the keys"));
    expect(e).toBeInstanceOf(LinkError);
    expect([e.reply, e.failure]).toEqual(["NOPERM this user has no permissions to access one of the keys", null]);
  });
  test.each(["CLUSTERDOWN The cluster is down", "TRYAGAIN Multiple keys request during rehashing of slot", "MOVED 12 127.0.0.1:7001", "ASK 12 127.0.0.1:7001", "LOADING Redis is loading", "MASTERDOWN Link with MASTER is down"])(
    "%s is a cluster in flux: a failure that may pass, not a refusal",
    (text) => {
      const e = clusterError(replyError(text));
      expect(e.reply).toBeNull();
      expect(e.failure).toEqual({ fatal: false, code: "CLUSTER", reason: text });
    },
  );
  test("a connection error or a timeout is a failure with its message", () => {
    expect(clusterError(new Error("Connection is closed.")).failure?.reason).toBe("Connection is closed.");
    expect(clusterError("no answer").message).toBe("no answer");
  });
});

/** What a backend told its owner, in order, as short lines. */
function recorder() {
  const told: string[] = [];
  const failures: LinkFailure[] = [];
  const on: BackendEvents = {
    ready: () => void told.push("ready"),
    live: (name) => void told.push(`live ${name}`),
    message: (name, channel, payload) => void told.push(`message ${name} ${channel} ${payload}`),
    down: (f) => void (told.push(`down ${f.code}`), failures.push(f)),
    refused: (f) => void (told.push(`refused ${f.code}`), failures.push(f)),
  };
  return { told, failures, on };
}

const node = (port: number) => ({ host: "127.0.0.1", port });

/** The same checks for one node and a cluster: commands by key, KEYS, append, publish, subscribe and unsubscribe. */
async function sameEitherWay(open: (on: BackendEvents) => Backend, layout: typeof SINGLE_NODE): Promise<void> {
  const { told, on } = recorder();
  const b = open(on);
  const commands = open({});
  try {
    b.subscribe("news");
    b.subscribe("al*");
    b.start();
    await until("both subscriptions live", () => told.includes("live news") && told.includes("live al*"));
    expect(told[0]).toBe("ready");
    expect(await b.layout()).toBe(layout);
    // Three channels in (on a cluster, most likely) different slots: each command goes where its key lives.
    const keys = ["a", "b", "c"].map((c) => layout.historyKey(`bk-${c}`));
    for (const key of keys) expect((await commands.append(key, ["*", "f", "v"], 0, 100)).id).toMatch(/^\d+-\d+$/);
    expect((await commands.keys(layout.historyKeys("bk-*"))).sort()).toEqual([...keys].sort());
    expect(await commands.call(["XLEN", keys[0]!])).toBe(1);
    expect(await commands.publish("news", "hello", true)).toBeGreaterThanOrEqual(1);
    // Not counted: on a cluster the glob's PSUBSCRIBE is on one node, and a PUBLISH counts only the node it went to.
    await commands.publish("alpha", "glob", true);
    await until("both messages", () => told.includes("message news news hello") && told.includes("message al* alpha glob"));
    b.unsubscribe("news");
    await Bun.sleep(300);
    await commands.publish("news", "gone", true);
    await commands.publish("alpha", "still", true);
    await until("the glob's second message", () => told.includes("message al* alpha still"));
    expect(told).not.toContain("message news news gone");
    // A refused command rejects with the server's reply; the connection goes on.
    const refused = await commands.call(["NOSUCHCOMMAND"]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(LinkError);
    expect((refused as LinkError).reply).toMatch(/^ERR unknown command/);
    expect(await commands.call(["PING"])).toBe("PONG");
  } finally {
    b.stop();
    commands.stop();
  }
}

describe("one node (our pub/sub server)", () => {
  let pubsub: Running;
  beforeAll(async () => {
    pubsub = await startPubSub();
  });
  afterAll(async () => {
    await pubsub?.stop();
  });

  test("commands, KEYS, publishing and subscriptions through the one interface", async () => {
    await sameEitherWay((on) => openBackend(node(pubsub.port), on), SINGLE_NODE);
  });

  test("a command before the first connection waits for it, and the node is chosen once", async () => {
    const b = openBackend(node(pubsub.port));
    try {
      expect(b.name).toBe("the pub/sub server");
      expect(await b.call(["PING"])).toBe("PONG");
      expect(b.connected).toBe(true);
      expect(await b.layout()).toBe(SINGLE_NODE);
    } finally {
      b.stop();
    }
  });

  test("a subscription without the right is refused through `refused`, and the others stay live", async () => {
    const file = tempPath("backend.acl");
    writeFileSync(file, `user reader on #${new Bun.CryptoHasher("sha256").update("pw").digest("hex")} &ok* +@all\n`);
    const acl = await startPubSub(["--acl", file]);
    const { told, failures, on } = recorder();
    const b = openBackend({ ...node(acl.port), user: "reader", password: "pw" }, on);
    try {
      b.subscribe("ok1");
      await until("ok1 live", () => told.includes("live ok1"));
      // Redis refuses a whole SUBSCRIBE for one channel without the right, so this one goes alone.
      b.subscribe("secret");
      await until("secret refused", () => told.includes("refused NOPERM"));
      expect(told).not.toContain("live secret");
      expect(await b.call(["PING"])).toBe("PONG");
      expect(failures[0]!.fatal).toBe(true);
    } finally {
      b.stop();
      await acl.stop();
    }
  }, 20_000);
});

describe("one node that goes away and comes back", () => {
  test("`down` with the retry, then `ready` and each subscription `live` again; the choice is not asked again", async () => {
    const port = await freePort();
    const data = tempPath("backend-restart.db");
    let server = spawnPubSubAt(port, data);
    const { told, on } = recorder();
    const fast = { pingIntervalMs: 30_000, pingTimeoutMs: 10_000, stableMs: 30_000, connectTimeoutMs: 2000, backoffCapMs: 300 };
    const b = openBackend(node(port), on, { timing: fast });
    try {
      await waitForPort(port);
      b.subscribe("again");
      await until("live", () => told.includes("live again"));
      server.kill(9);
      await server.exited;
      await until("down", () => told.some((t) => t.startsWith("down ")));
      server = spawnPubSubAt(port, data);
      await until("live a second time", () => told.filter((t) => t === "live again").length === 2);
      expect(told.filter((t) => t === "ready").length).toBe(2);
      const commands = openBackend(node(port));
      await commands.publish("again", "back", false);
      commands.stop();
      await until("the message after the comeback", () => told.includes("message again again back"));
    } finally {
      b.stop();
      server.kill(9);
    }
  }, 30_000);
});

describe("a node that is away", () => {
  test("a command fails with the connection's failure, and `down` says when it is tried again", async () => {
    const port = await freePort();
    const { told, failures, on } = recorder();
    const b = openBackend(node(port), on, { timing: { pingIntervalMs: 30_000, pingTimeoutMs: 10_000, stableMs: 30_000, connectTimeoutMs: 1000, backoffCapMs: 1000 } });
    try {
      const err = await b.call(["PING"]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(LinkError);
      expect((err as LinkError).reply).toBeNull();
      expect((err as LinkError).failure?.code).toBe("ECONNREFUSED");
      expect(told[0]).toBe("down ECONNREFUSED");
      expect(failures[0]!.fatal).toBe(false);
    } finally {
      b.stop();
    }
  });

  test("stop() fails a command waiting for the connection with the reason given", async () => {
    // A port that accepts and says nothing: the command waits for HELLO's answer until stop().
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const b = openBackend(node(silent.port));
    try {
      const pending = b.call(["PING"]).then(
        () => null,
        (e: unknown) => e,
      );
      await Bun.sleep(100);
      b.stop("the test is stopping");
      expect(((await pending) as LinkError).message).toBe("the test is stopping");
    } finally {
      silent.stop(true);
    }
  });
});

needs(...CLUSTER_NEEDS).describe("a Redis Cluster", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  test("the same calls go through ioredis: routed by key, KEYS on every master, SPUBLISH and PUBLISH, SSUBSCRIBE and PSUBSCRIBE", async () => {
    const port = Number(new URL(cluster.url).port);
    const logged: string[] = [];
    await sameEitherWay((on) => openBackend(node(port), on, { log: (line) => void logged.push(line) }), CLUSTER);
    // Said once, by the backend that subscribes (the commands-only one opens no subscriber).
    expect(logged).toEqual(["the pub/sub server is a Redis Cluster node; subscribing by SSUBSCRIBE on each shard (PSUBSCRIBE for globs)"]);
  }, 60_000);

  test("the name and the choice, and WAIT counted by append", async () => {
    const b = openBackend(node(Number(new URL(cluster.url).port)));
    try {
      expect(await b.layout()).toBe(CLUSTER);
      expect(b.name).toBe("the Redis Cluster");
      const stored = await b.append(CLUSTER.historyKey("bk-wait"), ["*", "f", "v"], 1, 2000);
      expect(stored.acked).toBe(1);
    } finally {
      b.stop();
    }
  }, 30_000);
});
