// test/security.pubsub.e2e.test.ts — issue 22 against the pub/sub server, as a stranger on the internet would try it:
// the documented ACL file (docs/users.acl), clients that pipeline and never read, anonymous bulk strings, rights
// revoked by ACL LOAD and SIGHUP while connections stay open, and the history database's file modes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Socket } from "bun";
import { BUN, ROOT, Raw, json, needs, post, publishOverHttp, run, startPubSub, startRedis, startWebServer, tempPath, until, type Running } from "./helpers";
import { decryptPush, makeSubscription, startPushService } from "./pushservice";
import { rssBytes } from "../bench/procstat";
import { encodeCommand } from "../resp";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const PASSWORDS: Record<string, string> = { web: "web-secret-22", alice: "alice-secret-22", ci: "ci-secret-22" };
const DOCS_ACL = join(ROOT, "docs/users.acl");

/** docs/users.acl with each named user's placeholder hash replaced by its test password's, as its comments ask. */
function documentedAcl(): string {
  let text = readFileSync(DOCS_ACL, "latin1");
  for (const [user, pass] of Object.entries(PASSWORDS)) text = text.replace(new RegExp(`^(user ${user} on )#0{63}[0-9]`, "m"), `$1#${sha(pass)}`);
  const path = tempPath("users.acl");
  writeFileSync(path, text);
  return path;
}

/** What the file's header says redis-server 7.0 takes: no comment lines, and %R& / %W& written as &. */
function forRedis(aclPath: string): string {
  const text = readFileSync(aclPath, "latin1")
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .join("\n")
    .replace(/%[RW]&/g, "&");
  const path = tempPath("redis.acl");
  writeFileSync(path, text);
  return path;
}

const bytesOf = (r: Raw) => r.bytes().toString("latin1");

/**
 * A client that sends `data` as fast as the server takes it and never reads a byte of the replies: its socket is
 * paused from the start, so the server's replies pile up in the kernel and then in the server.
 */
async function nonReader(port: number, data: Uint8Array): Promise<{ sent: () => number; closed: () => boolean; end: () => void }> {
  let off = 0;
  let closed = false;
  const pump = (s: Socket<undefined>) => {
    while (off < data.length) {
      const n = s.write(data.subarray(off));
      if (n <= 0) return;
      off += n;
    }
  };
  const sock = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      open: (s) => void s.pause(),
      data: () => {},
      drain: (s) => pump(s),
      close: () => void (closed = true),
      error: () => void (closed = true),
    },
  });
  sock.pause();
  pump(sock);
  return { sent: () => off, closed: () => closed, end: () => sock.terminate() };
}

const repeat = (command: Uint8Array, times: number): Uint8Array => {
  const out = new Uint8Array(command.length * times);
  for (let i = 0; i < times; i++) out.set(command, i * command.length);
  return out;
};

const infoField = async (port: number, name: string): Promise<number> => {
  const q = await Raw.open(port);
  const info = String(await q.call("INFO", "stats"));
  q.close();
  return Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1]);
};

// ------------------------------------------------------------------------------------------------------------------

describe("High 2: the documented ACL lines (docs/users.acl) grant each role only what it needs", () => {
  let srv: Running;
  let aclPath: string;
  beforeAll(async () => {
    aclPath = documentedAcl();
    srv = await startPubSub(["--acl", aclPath]);
  });
  afterAll(async () => {
    await srv?.stop();
  });

  test("loaded into our server: an anonymous client cannot CLIENT KILL, CLIENT LIST or ACL LOAD, and the web server's connection lives on", async () => {
    const web = await Raw.open(srv.port);
    expect(await web.call("AUTH", "web", PASSWORDS.web!)).toBe("OK");
    const anon = await Raw.open(srv.port);
    anon.command("CLIENT", "KILL", "USER", "web");
    anon.command("CLIENT", "KILL", "TYPE", "normal");
    anon.command("CLIENT", "LIST");
    anon.command("ACL", "LOAD");
    anon.command("FLUSHALL");
    anon.command("COMMAND");
    anon.command("PING");
    await anon.waitBytes(1);
    await anon.settle(100);
    expect(bytesOf(anon)).toBe(
      "-NOPERM this user has no permissions to run the 'client|kill' command\r\n" +
        "-NOPERM this user has no permissions to run the 'client|kill' command\r\n" +
        "-NOPERM this user has no permissions to run the 'client|list' command\r\n" +
        "-NOPERM this user has no permissions to run the 'acl|load' command\r\n" +
        "-NOPERM this user has no permissions to run the 'flushall' command\r\n" +
        "-NOPERM this user has no permissions to run the 'command' command\r\n" +
        "+PONG\r\n",
    );
    expect(await web.call("PING")).toBe("PONG");
    expect(web.closed).toBe(false);
    anon.close();
    web.close();
  });

  test("anonymous clients read the public channels and their history, and nothing else; they publish nowhere", async () => {
    const web = await Raw.open(srv.port);
    expect(await web.call("AUTH", "web", PASSWORDS.web!)).toBe("OK");
    const id = String(await web.call("XADD", "notistream:public/news", "*", "message", "hello"));
    const anon = await Raw.open(srv.port);
    expect(await anon.call("XRANGE", "notistream:public/news", "-", "+")).toEqual([[id, ["message", "hello"]]]);
    expect(await anon.call("XRANGE", "notistream:team/x", "-", "+")).toEqual(new Error("NOPERM this user has no permissions to access one of the keys used as arguments"));
    expect(await anon.call("PUBLISH", "public/news", "forged")).toEqual(new Error("NOPERM this user has no permissions to run the 'publish' command"));
    expect(await anon.call("XADD", "notistream:public/news", "*", "message", "forged")).toEqual(new Error("NOPERM this user has no permissions to run the 'xadd' command"));
    expect(await anon.call("SUBSCRIBE", "team/x")).toEqual(new Error("NOPERM this user has no permissions to access one of the channels used as arguments"));
    expect(await anon.call("SUBSCRIBE", "public/news")).toEqual(["subscribe", "public/news", 1]);
    expect(await web.call("PUBLISH", "public/news", "live")).toBe(1);
    expect(replyText(await anon.reply())).toEqual(["message", "public/news", "live"]);
    anon.close();
    web.close();
  });

  test("a sender may only publish to its channels, and a person reads their team's history but cannot change it", async () => {
    const ci = await Raw.open(srv.port);
    expect(await ci.call("AUTH", "ci", PASSWORDS.ci!)).toBe("OK");
    expect(await ci.call("PUBLISH", "deploys", "v1")).toBe(0);
    expect(await ci.call("PUBLISH", "public/news", "v1")).toEqual(new Error("NOPERM this user has no permissions to access one of the channels used as arguments"));
    expect(await ci.call("SUBSCRIBE", "deploys")).toEqual(new Error("NOPERM this user has no permissions to run the 'subscribe' command"));
    const alice = await Raw.open(srv.port);
    expect(await alice.call("AUTH", "alice", PASSWORDS.alice!)).toBe("OK");
    expect(await alice.call("XRANGE", "notistream:team/a", "-", "+")).toEqual([]);
    expect(await alice.call("XADD", "notistream:team/a", "*", "message", "x")).toEqual(new Error("NOPERM this user has no permissions to run the 'xadd' command"));
    expect(await alice.call("CLIENT", "KILL", "USER", "web")).toEqual(new Error("NOPERM this user has no permissions to run the 'client|kill' command"));
    expect(await alice.call("PUBLISH", "team/a", "hi")).toBe(0);
    ci.close();
    alice.close();
  });

  test("no start-up warning about anonymous rights for the documented file; one line for the README's old anonymous line", async () => {
    await until("the ready line", () => srv.output().includes("listening on"), 5000);
    expect(srv.output()).not.toContain("anonymous clients may run");
    const old = tempPath("old.acl");
    writeFileSync(old, "user default on nopass %R&public/* %R~notistream:public/* -@all +@connection +subscribe +psubscribe +unsubscribe +punsubscribe +xrange +xread\n");
    const s = await startPubSub(["--acl", old]);
    try {
      await until("the ready line", () => s.output().includes("listening on"), 5000);
      const warnings = s.output().split("\n").filter((l) => l.includes("anonymous clients may run"));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain("pubsub: warning: anonymous clients may run CLIENT KILL, CLIENT LIST");
      expect(warnings[0]).toContain("-client|kill -client|list");
    } finally {
      await s.stop();
    }
  });

  needs("redis-server").test("redis-server 7.0 loads the same file as its header says, and answers the anonymous client the same bytes", async () => {
    const redis = await startRedis(["--aclfile", forRedis(aclPath)]);
    try {
      const script = [
        ["CLIENT", "KILL", "USER", "web"],
        ["CLIENT", "LIST"],
        ["ACL", "LOAD"],
        ["FLUSHALL"],
        ["XRANGE", "notistream:team/x", "-", "+"],
        ["XRANGE", "notistream:public/none", "-", "+"],
        ["PUBLISH", "public/x", "y"],
        ["SUBSCRIBE", "team/x"],
        ["PING"],
      ];
      const replies: string[] = [];
      for (const port of [redis.port, srv.port]) {
        const anon = await Raw.open(port);
        for (const argv of script) anon.command(...argv);
        await anon.waitBytes(1);
        await anon.settle(150);
        replies.push(bytesOf(anon));
        anon.close();
      }
      expect(replies[1]).toBe(replies[0]!);
      const web = await Raw.open(redis.port);
      expect(await web.call("AUTH", "web", PASSWORDS.web!)).toBe("OK");
      expect(typeof (await web.call("XADD", "notistream-push:sub:x", "MAXLEN", "1", "*", "sub", "{}"))).toBe("string");
      expect(await web.call("KEYS", "notistream-push:sub:*")).toEqual(["notistream-push:sub:x"]);
      web.close();
    } finally {
      await redis.stop();
    }
  });
});

function replyText(r: import("../resp").Reply): unknown {
  if ((r.type === "array" || r.type === "push") && r.value) return r.value.map((x) => (x.type === "bulk" && x.value ? Buffer.from(x.value).toString() : x.type === "int" ? x.value : null));
  return r;
}

describe("High 2: a real web server runs as `web` under docs/users.acl, Web Push included", () => {
  test("posts are stored and published, /messages reads them, and Web Push subscribes, pushes and survives a restart", async () => {
    const aclPath = documentedAcl();
    const pubsub = await startPubSub(["--acl", aclPath]);
    const push = startPushService();
    const webData = tempPath("web-data");
    const args = ["--acl", aclPath, "--data", webData, "--push-endpoints", push.origin, "--push-contact", "mailto:ops@example.com"];
    const redisUrl = `redis://web:${PASSWORDS.web}@127.0.0.1:${pubsub.port}`;
    let web = await startWebServer(redisUrl, args);
    const alice = { authorization: `Basic ${Buffer.from(`alice:${PASSWORDS.alice}`).toString("base64")}` };
    try {
      const sub = makeSubscription(`${push.origin}/push/1`);
      await post(`${web.url}/push/subscribe`, json({ subscription: sub.json, channels: ["team/a"] }), { headers: alice, status: 201 });
      const publish = async (message: string) => (await publishOverHttp(web.url, json({ channel: "team/a", message }), { headers: alice })).id;
      const id = await publish("first");
      await until("the first push", () => push.received.length === 1, 10000);
      expect(JSON.parse(decryptPush(push.received[0]!.body, sub))).toMatchObject({ id, channel: "team/a", message: "first" });
      const m = await fetch(`${web.url}/messages?channel=team/a`, { headers: alice });
      expect(m.status).toBe(200);
      expect(await m.text()).toContain("first");
      // Issue 25's scheduled message (X-Delay) waits in notistream-sched:* and the web user delivers it; issue 24's
      // count of the day lives in notistream-account:*. Both under the documented grants, with no NOPERM.
      const later = await fetch(`${web.url}/team/a`, { method: "POST", body: "later", headers: { ...alice, "x-delay": "10s" } });
      expect(later.status).toBe(200);
      const listed = (await (await fetch(`${web.url}/messages?channel=team/a&scheduled=1`, { headers: alice })).json()) as { message: string; scheduled?: boolean }[];
      expect(listed.filter((e) => e.message === "later" && e.scheduled)).toHaveLength(1);
      await until("the scheduled message's push", () => push.received.length === 2, 30000);
      expect(JSON.parse(decryptPush(push.received[1]!.body, sub))).toMatchObject({ channel: "team/a", message: "later" });
      const account = (await (await fetch(`${web.url}/v1/account`, { headers: alice })).json()) as { stats: { messages: number } };
      expect(account.stats.messages).toBeGreaterThanOrEqual(2);
      // A new web server reads the stored subscription back (KEYS and XREVRANGE on notistream-push:*) before it listens.
      await web.stop();
      web = await startWebServer(redisUrl, args);
      await publish("second");
      await until("the second push", () => push.received.length === 3, 10000);
      expect(JSON.parse(decryptPush(push.received[2]!.body, sub))).toMatchObject({ channel: "team/a", message: "second" });
      expect(web.output() + pubsub.output()).not.toContain("NOPERM");
    } finally {
      await web.stop();
      push.stop();
      await pubsub.stop();
    }
  }, 90000);
});

// ------------------------------------------------------------------------------------------------------------------

describe("High 6: replies to a normal client that never reads are bounded", () => {
  test("six connections pipelining COMMAND without reading leave the server's memory bounded, and others are served", async () => {
    const srv = await startPubSub();
    const hogs: Awaited<ReturnType<typeof nonReader>>[] = [];
    try {
      const probe = await Raw.open(srv.port);
      expect(await probe.call("PING")).toBe("PONG");
      const before = rssBytes(srv.proc.pid);
      // 20,000 COMMANDs each (340 KB sent): about 175 MB of replies per connection, 1 GB in all, if nothing holds them back.
      const data = repeat(encodeCommand(["COMMAND"]), 20_000);
      for (let i = 0; i < 6; i++) hogs.push(await nonReader(srv.port, data));
      let peak = 0;
      let lastSent = -1;
      let still = 0;
      // Watch until every sender is stuck (the server stopped reading them) or done, or the server's memory is clearly unbounded.
      for (let i = 0; i < 200 && still < 8; i++) {
        await Bun.sleep(100);
        peak = Math.max(peak, rssBytes(srv.proc.pid) - before);
        if (peak > 1024 * 1024 * 1024) break;
        const sent = hogs.reduce((n, h) => n + h.sent(), 0);
        still = sent === lastSent ? still + 1 : 0;
        lastSent = sent;
      }
      expect(peak).toBeLessThan(256 * 1024 * 1024);
      // The server stopped running commands it could not send the replies of: far fewer than were sent.
      expect(await infoField(srv.port, "total_commands_processed")).toBeLessThan(20_000);
      expect(await probe.call("PING")).toBe("PONG");
      expect(await probe.call("PUBLISH", "x", "y")).toBe(0);
      for (const h of hogs) h.end();
      await Bun.sleep(200);
      expect(await probe.call("PING")).toBe("PONG");
      probe.close();
    } finally {
      for (const h of hogs) h.end();
      await srv.stop();
    }
  }, 60000);

  test("a client that reads gets every reply of a long pipeline, in order", async () => {
    const srv = await startPubSub();
    try {
      const c = await Raw.open(srv.port);
      const n = 2000;
      const parts: Uint8Array[] = [];
      for (let i = 0; i < n; i++) parts.push(encodeCommand(i % 2 ? ["ECHO", `e${i}`] : ["COMMAND", "INFO", "publish"]));
      c.send(Buffer.concat(parts));
      for (let i = 0; i < n; i++) {
        const r = await c.reply(10000);
        if (i % 2) expect(r).toEqual({ type: "bulk", value: new Uint8Array(Buffer.from(`e${i}`)) });
        else expect(r.type).toBe("array");
      }
      expect(await c.call("PING")).toBe("PONG");
      c.close();
    } finally {
      await srv.stop();
    }
  }, 60000);

  test("--normal-output-limit: a reply over the hard limit closes that client, logged and counted in INFO; others go on", async () => {
    const srv = await startPubSub(["--normal-output-limit", "4096 0 0"]);
    try {
      const other = await Raw.open(srv.port);
      expect(await other.call("PING")).toBe("PONG");
      const big = await Raw.open(srv.port);
      big.command("COMMAND"); // about 9 KB of reply
      await until("the client is closed", () => big.closed, 5000);
      expect(big.length).toBe(0);
      expect(await other.call("PING")).toBe("PONG");
      expect(await infoField(srv.port, "client_output_buffer_limit_disconnections")).toBe(1);
      await until("the log line", () => srv.output().includes("closed for overcoming of output buffer limits"), 5000);
      expect(srv.output()).toContain("(normal class, hard limit,");
      other.close();
    } finally {
      await srv.stop();
    }
  }, 20000);

  test("the soft limit closes a client that keeps its unread replies over it for its seconds (env twin NOTISTREAM_NORMAL_OUTPUT_LIMIT)", async () => {
    const srv = await startPubSub([], { NOTISTREAM_NORMAL_OUTPUT_LIMIT: "0 16384 1" });
    try {
      // A 32 MB reply: more than the kernel's socket buffers take, so most of it stays in the server, unread.
      const w = await Raw.open(srv.port);
      w.send(repeat(encodeCommand(["XADD", "notistream:big", "*", "message", new Uint8Array(1024 * 1024)]), 32)); // one send: its chunks stay in order
      for (let i = 0; i < 32; i++) expect((await w.reply(10000)).type).toBe("bulk");
      w.close();
      const hog = await nonReader(srv.port, encodeCommand(["XRANGE", "notistream:big", "-", "+"]));
      await until("the soft-limit offender is closed", () => hog.closed(), 15000);
      expect(await infoField(srv.port, "client_output_buffer_limit_disconnections")).toBe(1);
      expect(srv.output()).toContain("(normal class, soft limit,");
      expect(srv.output()).toContain("other clients hard 0 bytes, soft 16384 bytes for 1 s");
    } finally {
      await srv.stop();
    }
  }, 30000);

  test("--help lists --normal-output-limit and --anonymous-max-request with their environment variables and defaults", async () => {
    const { stdout } = await run([BUN, `${ROOT}/pubsub.ts`, "--help"]);
    expect(stdout).toMatch(/--normal-output-limit <value>.*NOTISTREAM_NORMAL_OUTPUT_LIMIT, default 134217728 33554432 60/);
    expect(stdout).toMatch(/--anonymous-max-request <value>.*NOTISTREAM_ANONYMOUS_MAX_REQUEST, default 2097152/);
  });
});

// ------------------------------------------------------------------------------------------------------------------

describe("Medium 6: clients that proved no password may not send huge requests", () => {
  let srv: Running;
  beforeAll(async () => {
    const acl = tempPath("bulk.acl");
    writeFileSync(acl, `user default on nopass allchannels allkeys +@all\nuser admin on #${sha("adm")} allchannels allkeys +@all\n`);
    srv = await startPubSub(["--acl", acl]);
  });
  afterAll(async () => {
    await srv?.stop();
  });

  test("an anonymous 3 MB bulk string gets Redis's error for an oversized bulk, byte for byte, and the connection closes", async () => {
    const anon = await Raw.open(srv.port);
    anon.send(`*3\r\n$7\r\nPUBLISH\r\n$1\r\nx\r\n$${3 * 1024 * 1024}\r\n`);
    await until("closed", () => anon.closed, 5000);
    expect(bytesOf(anon)).toBe("-ERR Protocol error: invalid bulk length\r\n");
  });

  test("many smaller arguments add up to the same budget", async () => {
    const anon = await Raw.open(srv.port);
    const n = 100_000;
    anon.send(`*${n}\r\n` + `$32\r\n${"a".repeat(32)}\r\n`.repeat(n));
    await until("closed", () => anon.closed, 5000);
    expect(bytesOf(anon)).toBe("-ERR Protocol error: invalid bulk length\r\n");
  });

  test("a logged-in user may still send a 3 MB message, and an anonymous one 1 MB", async () => {
    const admin = await Raw.open(srv.port);
    expect(await admin.call("AUTH", "admin", "adm")).toBe("OK");
    admin.command("PUBLISH", "x", new Uint8Array(3 * 1024 * 1024));
    expect(await admin.reply(10000)).toEqual({ type: "int", value: 0 });
    const anon = await Raw.open(srv.port);
    anon.command("PUBLISH", "x", new Uint8Array(1024 * 1024));
    expect(await anon.reply(10000)).toEqual({ type: "int", value: 0 });
    admin.close();
    anon.close();
  });

  test("--anonymous-max-request sets the budget; the start-up line states it", async () => {
    const s = await startPubSub(["--anonymous-max-request", "1000"]);
    try {
      const a = await Raw.open(s.port);
      expect(await a.call("PUBLISH", "x", "y".repeat(500))).toBe(0);
      a.command("PUBLISH", "x", "y".repeat(1000));
      await until("closed", () => a.closed, 5000);
      expect(bytesOf(a)).toEndWith(":0\r\n-ERR Protocol error: invalid bulk length\r\n");
      await until("the limits line", () => s.output().includes("pubsub: limits:"), 5000);
      expect(s.output()).toContain("requests from clients with no password up to 1000 bytes");
    } finally {
      await s.stop();
    }
  });
});

// ------------------------------------------------------------------------------------------------------------------

describe("Medium 1: rights removed by ACL LOAD or SIGHUP end the connections that used them", () => {
  const BEFORE = "%R&public/* %R&kept/* %R~notistream:public/*";
  const AFTER = "%R&kept/* %R~notistream:kept/*";
  const RULES = (rights: string) =>
    `user default on nopass ${rights} -@all +subscribe +psubscribe +ssubscribe +unsubscribe +ping +xread +quit\n` +
    `user admin on #${sha("adm")} allchannels allkeys +@all\n`;

  async function subscribers(port: number) {
    const open = async (...argv: string[]) => {
      const r = await Raw.open(port);
      r.command(...argv);
      await r.reply();
      return r;
    };
    return {
      channel: await open("SUBSCRIBE", "public/a"),
      pattern: await open("PSUBSCRIBE", "public/*"),
      shard: await open("SSUBSCRIBE", "public/s"),
      kept: await open("SUBSCRIBE", "kept/a"),
      blocked: await (async () => {
        const r = await Raw.open(port);
        r.command("XREAD", "BLOCK", "0", "STREAMS", "notistream:public/b", "$");
        const q = await Raw.open(port);
        await q.call("AUTH", "admin", "adm");
        for (;;) {
          if (/blocked_clients:1\r/.test(String(await q.call("INFO", "clients")))) break;
          await Bun.sleep(10);
        }
        q.close();
        return r;
      })(),
    };
  }

  async function check(port: number, subs: Awaited<ReturnType<typeof subscribers>>) {
    await until("the subscribers whose rights went are closed", () => subs.channel.closed && subs.pattern.closed && subs.shard.closed && subs.blocked.closed, 5000);
    const admin = await Raw.open(port);
    expect(await admin.call("AUTH", "admin", "adm")).toBe("OK");
    expect(await admin.call("PUBLISH", "kept/a", "still here")).toBe(1);
    expect(replyText(await subs.kept.reply())).toEqual(["message", "kept/a", "still here"]);
    expect(subs.kept.closed).toBe(false);
    expect(await admin.call("PUBLISH", "public/a", "after")).toBe(0);
    admin.close();
    subs.kept.close();
  }

  test("SIGHUP with a rewritten file: channel, pattern and shard subscribers and a blocked XREAD lose their connection; the rest keep receiving", async () => {
    const acl = tempPath("hup.acl");
    writeFileSync(acl, RULES(BEFORE));
    const srv = await startPubSub(["--acl", acl]);
    try {
      const subs = await subscribers(srv.port);
      writeFileSync(acl, RULES(AFTER));
      srv.proc.kill("SIGHUP");
      await check(srv.port, subs);
      await until("the log line", () => srv.output().includes("and 4 anonymous one(s) the new rules no longer allow"), 5000);
    } finally {
      await srv.stop();
    }
  }, 20000);

  test("ACL LOAD: the same, and its caller gets +OK", async () => {
    const acl = tempPath("load.acl");
    writeFileSync(acl, RULES(BEFORE));
    const srv = await startPubSub(["--acl", acl]);
    try {
      const subs = await subscribers(srv.port);
      writeFileSync(acl, RULES(AFTER));
      const admin = await Raw.open(srv.port);
      expect(await admin.call("AUTH", "admin", "adm")).toBe("OK");
      expect(await admin.call("ACL", "LOAD")).toBe("OK");
      await check(srv.port, subs);
    } finally {
      await srv.stop();
    }
  }, 20000);

  test("a default user that now needs a password closes the anonymous connections that proved none", async () => {
    const acl = tempPath("pass.acl");
    writeFileSync(acl, RULES(AFTER));
    const srv = await startPubSub(["--acl", acl]);
    try {
      const idle = await Raw.open(srv.port);
      expect(await idle.call("PING")).toBe("PONG");
      const sub = await Raw.open(srv.port);
      sub.command("SUBSCRIBE", "kept/a");
      await sub.reply();
      writeFileSync(acl, RULES(AFTER).replace("user default on nopass", `user default on #${sha("now-needed")}`));
      srv.proc.kill("SIGHUP");
      await until("both are closed", () => idle.closed && sub.closed, 5000);
      const fresh = await Raw.open(srv.port);
      expect(await fresh.call("PING")).toEqual(new Error("NOAUTH Authentication required."));
      fresh.close();
    } finally {
      await srv.stop();
    }
  }, 20000);
});

// ------------------------------------------------------------------------------------------------------------------

describe("Low: the history database is private to the server's user", () => {
  const mode = (p: string) => statSync(p).mode & 0o777;

  test("a new history file is 0600, in 0700 directories the server made", async () => {
    const base = dirname(tempPath("x"));
    const data = join(base, "made", "deeper", "history.db");
    const srv = await startPubSub(["--data", data]);
    try {
      const c = await Raw.open(srv.port);
      expect(typeof (await c.call("XADD", "notistream:a", "*", "message", "private"))).toBe("string");
      expect(mode(data)).toBe(0o600);
      expect(mode(join(base, "made"))).toBe(0o700);
      expect(mode(join(base, "made", "deeper"))).toBe(0o700);
      expect(srv.output()).not.toContain("has mode");
      c.close();
    } finally {
      await srv.stop();
    }
  });

  test("an existing directory keeps its mode; an existing database others may read gets one warning at start", async () => {
    const dir = join(dirname(tempPath("x")), "shared");
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const data = join(dir, "history.db");
    const first = await startPubSub(["--data", data]);
    await first.stop();
    expect(mode(dir)).toBe(0o755);
    expect(mode(data)).toBe(0o600);
    chmodSync(data, 0o644);
    const again = await startPubSub(["--data", data]);
    try {
      await until("the warning", () => again.output().includes("has mode 0644"), 5000);
      expect(again.output()).toContain(`run chmod 600 ${data}*`);
      expect(mode(data)).toBe(0o644);
    } finally {
      await again.stop();
    }
  });
});
