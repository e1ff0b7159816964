// test/link.test.ts — the client side of a RESP connection: the backoff schedule, how failures are sorted (fatal
// or transient), and, over real sockets, login, replies in order, a refused SUBSCRIBE, a non-RESP peer, reconnects.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { DEFAULT_TIMING, Link, LinkError, backoffDelay, failureFromError, failureFromReply, notRespFailure, serverReplyIn, type LinkFailure, type LinkOptions } from "../link";
import type { Reply } from "../resp";
import { freePort, startPubSub, startWebServer, tempPath, until, type Running } from "./helpers";

describe("backoff", () => {
  test("full jitter between 0.1 s and an exponential ceiling from 0.5 s up to 30 s", () => {
    expect(backoffDelay(0, () => 0.999)).toBe(499);
    expect(backoffDelay(1, () => 0.999)).toBe(999);
    expect(backoffDelay(3, () => 0.999)).toBe(3996);
    expect(backoffDelay(20, () => 0.999)).toBe(29970);
    expect(backoffDelay(1000, () => 0.999)).toBe(29970);
    expect(backoffDelay(5, () => 0)).toBe(100);
    const samples = Array.from({ length: 1000 }, () => backoffDelay(4));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...samples)).toBeLessThanOrEqual(8000);
    expect(new Set(samples).size).toBeGreaterThan(100); // jittered, not fixed
  });
});

describe("sorting failures", () => {
  test("a wrong or missing login and missing rights are fatal; other server errors are not", () => {
    expect(failureFromReply("WRONGPASS invalid username-password pair or user is disabled.")).toMatchObject({ fatal: true, code: "WRONGPASS" });
    expect(failureFromReply("NOAUTH Authentication required.").fatal).toBe(true);
    expect(failureFromReply("NOPERM this user has no permissions to access one of the channels used as arguments").fatal).toBe(true);
    expect(failureFromReply("LOADING Redis is loading the dataset in memory").fatal).toBe(false);
    expect(failureFromReply("WRONGPASS x").reason).toBe("the server said: WRONGPASS x");
  });
  test("refused, reset and timeouts are transient; a name that does not resolve and an untrusted certificate are fatal", () => {
    expect(failureFromError({ code: "ECONNREFUSED", message: "Failed to connect" }, "h:1").fatal).toBe(false);
    expect(failureFromError({ code: "ECONNRESET", message: "reset" }, "h:1").fatal).toBe(false);
    expect(failureFromError({ code: "ETIMEDOUT", message: "timeout" }, "h:1").fatal).toBe(false);
    expect(failureFromError({ code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND h" }, "h:1")).toMatchObject({ fatal: true, code: "ENOTFOUND" });
    expect(failureFromError({ code: "DEPTH_ZERO_SELF_SIGNED_CERT", message: "self signed certificate" }, "h:1").fatal).toBe(true);
  });
  test("serverReplyIn: only the server's own reply may be shown to strangers, never an address or a host", () => {
    expect(serverReplyIn(failureFromReply("WRONGPASS x").reason)).toBe("WRONGPASS x");
    expect(serverReplyIn(failureFromError({ code: "ECONNREFUSED", message: "Failed to connect" }, "10.0.0.5:6379").reason)).toBeNull();
    expect(serverReplyIn(failureFromError({ code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND h" }, "h:1").reason)).toBeNull();
  });
  test("an HTTP answer is named as such", () => {
    const f = notRespFailure(Buffer.from("HTTP/1.1 400 Bad Request\r\n"), "h:8080");
    expect(f.fatal).toBe(true);
    expect(f.reason).toContain("looks like an HTTP server");
  });
});

/** Records what a Link reports. */
function watch(opts: LinkOptions, timing = { ...DEFAULT_TIMING, connectTimeoutMs: 2000 }) {
  const seen = { ready: 0, pushes: [] as Reply[][], downs: [] as [LinkFailure, number | null][], refused: [] as LinkFailure[] };
  const link = new Link(
    opts,
    {
      ready: () => seen.ready++,
      push: (items) => seen.pushes.push(items),
      down: (f, retry) => seen.downs.push([f, retry]),
      refused: (f) => seen.refused.push(f),
    },
    timing,
  );
  return { link, seen };
}

describe("over real sockets", () => {
  let open: Running;
  let acl: Running;
  beforeAll(async () => {
    const file = tempPath("link.acl");
    const hash = createHash("sha256").update("pw").digest("hex");
    writeFileSync(file, `user default off\nuser reader on #${hash} &allowed ~* +@all\n`);
    // The open server takes anonymous requests past its 2 MB default: one test writes a 16 MB command.
    [open, acl] = await Promise.all([startPubSub(["--anonymous-max-request", String(64 * 1024 * 1024)]), startPubSub(["--acl", file])]);
  });
  afterAll(async () => {
    await Promise.all([open?.stop(), acl?.stop()]);
  });

  test("HELLO 3, then replies reach their commands in order and pushes come apart", async () => {
    const { link, seen } = watch({ host: "127.0.0.1", port: open.port });
    link.start();
    await until("ready", () => seen.ready === 1, 5000);
    const replies: string[] = [];
    link.send(["ECHO", "one"], (r) => replies.push(r.type === "bulk" ? Buffer.from(r.value!).toString() : "?"));
    link.send(["SUBSCRIBE", "a", "b"]);
    link.send(["PING"], (r) => replies.push(r.type === "simple" ? r.value : "?"));
    link.send(["ECHO", "two"], (r) => replies.push(r.type === "bulk" ? Buffer.from(r.value!).toString() : "?"));
    await until("three replies", () => replies.length === 3, 5000);
    expect(replies).toEqual(["one", "PONG", "two"]);
    expect(seen.pushes.map((p) => p.map((x) => (x.type === "bulk" ? Buffer.from(x.value!).toString() : x.type === "int" ? x.value : "")))).toEqual([
      ["subscribe", "a", 1],
      ["subscribe", "b", 2],
    ]);
    link.stop();
  });

  test("a wrong password is fatal and says WRONGPASS", async () => {
    const { link, seen } = watch({ host: "127.0.0.1", port: acl.port, user: "reader", password: "nope" });
    link.start();
    await until("down", () => seen.downs.length === 1, 5000);
    link.stop();
    expect(seen.ready).toBe(0);
    expect(seen.downs[0]![0]).toMatchObject({ fatal: true, code: "WRONGPASS" });
  });

  test("a refused SUBSCRIBE is reported and the replies after it still reach their commands", async () => {
    const { link, seen } = watch({ host: "127.0.0.1", port: acl.port, user: "reader", password: "pw" });
    link.start();
    await until("ready", () => seen.ready === 1, 5000);
    const replies: string[] = [];
    link.send(["SUBSCRIBE", "forbidden"]);
    link.send(["SUBSCRIBE", "allowed"]);
    link.send(["ECHO", "after"], (r) => replies.push(r.type === "bulk" ? Buffer.from(r.value!).toString() : r.type));
    await until("echo", () => replies.length === 1, 5000);
    expect(replies).toEqual(["after"]);
    expect(seen.refused.map((f) => f.code)).toEqual(["NOPERM"]);
    expect(seen.pushes.length).toBe(1);
    link.stop();
  });

  test("call(): a reply, an error reply as LinkError.reply, and commands written in one turn answered in order", async () => {
    const { link, seen } = watch({ host: "127.0.0.1", port: open.port });
    link.start();
    await until("ready", () => seen.ready === 1, 5000);
    const echoes = await Promise.all(Array.from({ length: 200 }, (_, i) => link.call(["ECHO", `m${i} é😀`])));
    expect(echoes.map((r) => (r.type === "bulk" ? Buffer.from(r.value!).toString() : "?"))).toEqual(Array.from({ length: 200 }, (_, i) => `m${i} é😀`));
    const refused = await link.call(["XADD", "k", "0-0", "f", "v"]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LinkError);
    expect((refused as LinkError).reply).toBe("ERR The ID specified in XADD must be greater than 0-0");
    expect((refused as LinkError).failure).toBeNull();
    link.stop();
  });

  test("a command larger than the socket takes at once is written whole (the rest on drain), and what follows it too", async () => {
    const { link, seen } = watch({ host: "127.0.0.1", port: open.port });
    link.start();
    await until("ready", () => seen.ready === 1, 5000);
    const big = "x".repeat(16 * 1024 * 1024);
    const [a, b] = await Promise.all([link.call(["ECHO", big]), link.call(["ECHO", "after"])]);
    expect(a.type === "bulk" && a.value!.length).toBe(big.length);
    expect(b.type === "bulk" && Buffer.from(b.value!).toString()).toBe("after");
    link.stop();
  });

  test("commands waiting when the connection ends fail with its reason; while down, call() fails at once; connectNow() skips the backoff", async () => {
    let sockets = 0;
    // A RESP server that logs in, then never answers, and closes when asked to.
    const server = Bun.listen<undefined>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open: () => void sockets++,
        data: (socket, chunk) => {
          if (Buffer.from(chunk).toString().includes("HELLO")) socket.write("%1\r\n$6\r\nserver\r\n$5\r\nredis\r\n");
        },
      },
    });
    const { link, seen } = watch({ host: "127.0.0.1", port: server.port }, { ...DEFAULT_TIMING, connectTimeoutMs: 2000, backoffCapMs: 60_000 });
    link.start();
    await until("ready", () => seen.ready === 1, 5000);
    const failed = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as LinkError);
    const pending = [failed(link.call(["PING"])), failed(link.call(["ECHO", "x"]))];
    await Bun.sleep(50);
    link.abort({ fatal: false, code: "ETIMEDOUT", reason: "no answer within 5000 ms" });
    for (const e of await Promise.all(pending)) {
      expect(e).toBeInstanceOf(LinkError);
      expect(e?.failure?.reason).toBe("no answer within 5000 ms");
    }
    const whileDown = await failed(link.call(["PING"]));
    expect(whileDown?.failure?.code).toBe("ETIMEDOUT");
    link.connectNow();
    await until("ready again", () => seen.ready === 2, 1000); // well before any backoff delay would end
    expect(sockets).toBe(2);
    link.stop();
    server.stop(true);
  });

  test("a web server's port is named as not RESP; a closed port is transient and retried", async () => {
    const web = await startWebServer(`redis://127.0.0.1:${open.port}`);
    try {
      const http = watch({ host: "127.0.0.1", port: web.port });
      http.link.start();
      await until("down", () => http.seen.downs.length === 1, 5000);
      http.link.stop();
      expect(http.seen.downs[0]![0]).toMatchObject({ fatal: true, code: "NOTRESP" });
      expect(http.seen.downs[0]![0].reason).toContain("HTTP server");
    } finally {
      await web.stop();
    }
    const closed = watch({ host: "127.0.0.1", port: await freePort() });
    closed.link.start();
    await until("two tries", () => closed.seen.downs.length >= 2, 5000);
    closed.link.stop();
    expect(closed.seen.downs[0]![0]).toMatchObject({ fatal: false, code: "ECONNREFUSED" });
    expect(closed.seen.downs[0]![1]).toBeGreaterThanOrEqual(100);
  });
});
