// test/pubsub.clients.test.ts — end to end: real Redis clients against our server. redis-cli (RESP2 and -3),
// ioredis, node-redis (RESP2 and RESP3) and Bun's RedisClient each subscribe, pattern-subscribe, publish and receive.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import IORedis from "ioredis";
import { createClient } from "redis";
import { RedisClient } from "bun";
import { Terminal, collect, needs, run, startPubSub, type Running } from "./helpers";

let srv: Running;
let srvPw: Running;
beforeAll(async () => {
  [srv, srvPw] = await Promise.all([startPubSub(), startPubSub(["--password", "pw-123"])]);
});
afterAll(async () => {
  await Promise.all([srv?.stop(), srvPw?.stop()]);
});

async function eventually(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await Bun.sleep(10);
  }
}

needs("redis-cli").describe("redis-cli", () => {
  for (const proto of ["2", "3"]) {
    test(`RESP${proto}: SUBSCRIBE and PSUBSCRIBE receive what PUBLISH sends`, async () => {
      const extra = proto === "3" ? ["-3"] : [];
      const sub = spawn(["redis-cli", ...extra, "-p", String(srv.port), "--no-raw", "SUBSCRIBE", `cli${proto}`], { stdout: "pipe" });
      const psub = spawn(["redis-cli", ...extra, "-p", String(srv.port), "PSUBSCRIBE", `clip${proto}.*`], { stdout: "pipe" });
      const subText = collect(sub);
      const psubText = collect(psub);
      await eventually(() => subText().includes(`cli${proto}`) && psubText().includes(`clip${proto}.*`));
      const r1 = await run(["redis-cli", ...extra, "-p", String(srv.port), "PUBLISH", `cli${proto}`, "hello from cli"]);
      const r2 = await run(["redis-cli", ...extra, "-p", String(srv.port), "PUBLISH", `clip${proto}.x`, "pattern hello"]);
      expect(r1.stdout.trim()).toBe("(integer) 1".replace("(integer) ", ""));
      expect(r2.stdout.trim()).toBe("1");
      await eventually(() => subText().includes("hello from cli") && psubText().includes("pattern hello"));
      expect(subText()).toContain("message");
      expect(psubText()).toContain("pmessage");
      sub.kill();
      psub.kill();
    });
  }

  needs("tmux").test("interactive start in a terminal: redis-cli connects, runs commands and reads replies", async () => {
    const term = await Terminal.start(`redis-cli -p ${srv.port}`);
    try {
      await term.waitFor(`127.0.0.1:${srv.port}>`);
      await term.enter("PING");
      await term.waitFor("PONG");
      await term.enter("ECHO hi");
      await term.waitFor('"hi"');
      await term.enter("HELLO 3");
      await term.waitFor('"proto"');
      await term.enter("SUBSCRIBE tty-ch");
      await term.waitFor("Reading messages");
      await run(["redis-cli", "-p", String(srv.port), "PUBLISH", "tty-ch", "seen in the terminal"]);
      await term.waitFor("seen in the terminal");
    } finally {
      await term.kill();
    }
  }, 30000);

  test("with a password: -a works, no password gets NOAUTH", async () => {
    const ok = await run(["redis-cli", "--no-auth-warning", "-a", "pw-123", "-p", String(srvPw.port), "PUBLISH", "x", "y"]);
    expect(ok.stdout.trim()).toBe("0");
    const denied = await run(["redis-cli", "-p", String(srvPw.port), "PUBLISH", "x", "y"]);
    expect(denied.stdout + denied.stderr).toContain("NOAUTH Authentication required.");
  });
});

describe("ioredis", () => {
  test("subscribe, psubscribe, publish, and every message arrives in order", async () => {
    const sub = new IORedis({ port: srv.port, host: "127.0.0.1", lazyConnect: true });
    const pub = new IORedis({ port: srv.port, host: "127.0.0.1", lazyConnect: true });
    await sub.connect(); // runs ioredis's INFO ready check against our server
    await pub.connect();
    const got: string[] = [];
    sub.on("message", (ch, msg) => got.push(`${ch}:${msg}`));
    sub.on("pmessage", (pat, ch, msg) => got.push(`${pat}|${ch}:${msg}`));
    expect(await sub.subscribe("io-a", "io-b")).toBe(2);
    expect(await sub.psubscribe("io-p*")).toBe(3);
    for (let i = 0; i < 100; i++) await pub.publish(i % 2 ? "io-a" : "io-b", `m${i}`);
    expect(await pub.publish("io-px", "pat")).toBe(1);
    await eventually(() => got.length === 101);
    expect(got.slice(0, 3)).toEqual(["io-b:m0", "io-a:m1", "io-b:m2"]);
    expect(got[100]).toBe("io-p*|io-px:pat");
    sub.disconnect();
    pub.disconnect();
  });

  test("with a password", async () => {
    const c = new IORedis({ port: srvPw.port, host: "127.0.0.1", password: "pw-123", lazyConnect: true });
    await c.connect();
    expect(await c.publish("x", "y")).toBe(0);
    c.disconnect();
  });
});

describe("node-redis", () => {
  for (const RESP of [2, 3] as const) {
    test(`RESP${RESP}: subscribe, pSubscribe and publish`, async () => {
      const sub = createClient({ socket: { port: srv.port, host: "127.0.0.1" }, RESP });
      const pub = createClient({ socket: { port: srv.port, host: "127.0.0.1" }, RESP });
      sub.on("error", () => {});
      pub.on("error", () => {});
      await sub.connect();
      await pub.connect();
      const got: string[] = [];
      await sub.subscribe(`nr${RESP}`, (msg, ch) => got.push(`${ch}:${msg}`));
      await sub.pSubscribe(`nr${RESP}.*`, (msg, ch) => got.push(`p ${ch}:${msg}`));
      expect(await pub.publish(`nr${RESP}`, "one")).toBe(1);
      expect(await pub.publish(`nr${RESP}.x`, "two")).toBe(1);
      await eventually(() => got.length === 2);
      expect(got).toEqual([`nr${RESP}:one`, `p nr${RESP}.x:two`]);
      // Named: the no-argument forms hang node-redis under bun test, against real Redis as well.
      await sub.unsubscribe(`nr${RESP}`);
      await sub.pUnsubscribe(`nr${RESP}.*`);
      expect(await pub.pubSubNumPat()).toBe(0);
      sub.destroy();
      pub.destroy();
    });
  }

  test("with a password", async () => {
    const c = createClient({ socket: { port: srvPw.port, host: "127.0.0.1" }, password: "pw-123" });
    c.on("error", () => {});
    await c.connect();
    expect(await c.publish("x", "y")).toBe(0);
    c.destroy();
  });
});

describe("Bun's RedisClient", () => {
  test("subscribe and publish", async () => {
    const sub = new RedisClient(`redis://127.0.0.1:${srv.port}`);
    const pub = new RedisClient(`redis://127.0.0.1:${srv.port}`);
    const got: string[] = [];
    await sub.subscribe("bun-ch", (msg, ch) => got.push(`${ch}:${msg}`));
    expect(await pub.publish("bun-ch", "hi from bun")).toBe(1);
    await eventually(() => got.length === 1);
    expect(got).toEqual(["bun-ch:hi from bun"]);
    sub.close();
    pub.close();
  });

  test("with a password", async () => {
    const pub = new RedisClient(`redis://:pw-123@127.0.0.1:${srvPw.port}`);
    expect(await pub.publish("x", "y")).toBe(0);
    pub.close();
  });
});
