// test/web_publisher.test.ts — web_publisher.ts without a real server: the record of what this web server published, which
// the hub trusts without reading history back: exact payloads only, and bounded by count and by size; --redis as logged;
// how it publishes on one node or a cluster (the replicas it waits for, the start-up line); and, against a scripted RESP
// server, that each channel's PUBLISHes follow its XADDs' order.
import { describe, expect, test } from "bun:test";
import { Publisher, RecentlyPublished, publishingPlan, redactUrl } from "../web_publisher";
import { RequestParser } from "../resp";
import { until } from "./helpers";
import { CLUSTER, SINGLE_NODE } from "../layout";

describe("RecentlyPublished", () => {
  test("only the exact payload, on its channel and id, is known", () => {
    const r = new RecentlyPublished();
    r.add("alerts", "1-0", '{"id":"1-0","message":"hi"}');
    expect(r.has("alerts", "1-0", '{"id":"1-0","message":"hi"}')).toBe(true);
    expect(r.has("alerts", "1-0", '{"id":"1-0","message":"HI"}')).toBe(false); // a forgery reusing the id
    expect(r.has("team", "1-0", '{"id":"1-0","message":"hi"}')).toBe(false); // the same bytes on another channel
    expect(r.has("alerts", "1-1", '{"id":"1-0","message":"hi"}')).toBe(false);
    expect(r.has("alerts\n1-0", "", '{"id":"1-0","message":"hi"}')).toBe(false);
  });
  test("bounded by count and by size: the oldest go first", () => {
    const byCount = new RecentlyPublished(3, 1e9);
    for (let i = 0; i < 5; i++) byCount.add("c", `${i}-0`, `p${i}`);
    expect([0, 1, 2, 3, 4].map((i) => byCount.has("c", `${i}-0`, `p${i}`))).toEqual([false, false, true, true, true]);
    const bySize = new RecentlyPublished(1000, 250);
    for (let i = 0; i < 5; i++) bySize.add("c", `${i}-0`, String(i).repeat(100));
    expect([0, 1, 2, 3, 4].map((i) => bySize.has("c", `${i}-0`, String(i).repeat(100)))).toEqual([false, false, false, true, true]);
    const one = new RecentlyPublished(1000, 10);
    one.add("c", "1-0", "x".repeat(50)); // larger than the whole budget: not kept (the hub then checks history)
    expect(one.has("c", "1-0", "x".repeat(50))).toBe(false);
  });
});

describe("redactUrl", () => {
  test.each([
    ["redis://user:secret@h:6379", "redis://user:***@h:6379"],
    ["redis://:secret@h:6379", "redis://:***@h:6379"],
    ["rediss://a%40b:p%40ss@[::1]:6380", "rediss://a%40b:***@[::1]:6380"],
    ["redis://user@h", "redis://user@h"], // no password: nothing to hide
    ["redis://h:6379/", "redis://h:6379"],
    ["not a url", "(unparsable URL)"], // never echoed: it may be a password pasted in the wrong place
  ])("%s is logged as %s", (url, logged) => expect(redactUrl(url)).toBe(logged));
});

describe("publishingPlan (one node: no replicas, globs work; --cluster-wait and --cluster-globs are a cluster's)", () => {
  const url = "redis://web:secret@h:7000";
  test("one node waits for no replica and says nothing, unless --cluster-wait was given for nothing", () => {
    expect(publishingPlan(SINGLE_NODE, url, 0, true)).toEqual({ replicas: 0, noGlobs: null, line: null });
    expect(publishingPlan(SINGLE_NODE, url, 2, false)).toEqual({ replicas: 0, noGlobs: null, line: "web: --cluster-wait applies to a Redis Cluster only; this is a single node" });
  });
  test("a cluster waits for --cluster-wait replicas, refuses globs with --cluster-globs off, and says how it publishes, the password hidden", () => {
    expect(publishingPlan(CLUSTER, url, 0, true)).toEqual({
      replicas: 0,
      noGlobs: null,
      line: "web: redis://web:***@h:7000 is a Redis Cluster node: history keys are hash-tagged, messages go by SPUBLISH (and by PUBLISH, for glob subscribers)",
    });
    expect(publishingPlan(CLUSTER, url, 1, false)).toEqual({
      replicas: 1,
      noGlobs: "glob subscriptions are off on this Redis Cluster (the web server runs with --cluster-globs off); subscribe to channels by name",
      line: "web: redis://web:***@h:7000 is a Redis Cluster node: history keys are hash-tagged, messages go by SPUBLISH; glob subscriptions are off (--cluster-globs off), and a publish waits for 1 replica(s)",
    });
  });
});

/**
 * A RESP server the test scripts step by step: it answers HELLO and INFO when told, holds XADD replies until told, and
 * records every command in the order it came. What the web server does is then a matter of order, not of timing.
 */
function scriptedServer() {
  const commands: string[][] = [];
  const held: string[] = [];
  let helloWaits: (() => void) | null = null;
  let holdHello = false;
  let socket: import("bun").Socket<undefined> | null = null;
  const parser = new RequestParser();
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open: (s) => void (socket = s),
      data: (s, chunk) => {
        parser.push(chunk);
        for (let r = parser.next({ authRequired: false, maxBulk: 1 << 20 }); r; r = parser.next({ authRequired: false, maxBulk: 1 << 20 })) {
          if (r.kind !== "command") throw new Error(r.message);
          const argv = r.argv.map((a) => Buffer.from(a).toString());
          commands.push(argv);
          const name = argv[0]!.toUpperCase();
          if (name === "HELLO") {
            const answer = () => void s.write("%0\r\n");
            if (holdHello) helloWaits = answer;
            else answer();
          } else if (name === "INFO") s.write("$28\r\n# Cluster\r\ncluster_enabled:0\r\n");
          else if (name === "XADD") held.push(`1-${commands.filter((c) => c[0] === "XADD").length}`);
          else if (name === "PUBLISH") s.write(":0\r\n");
        }
      },
    },
  });
  return {
    port: server.port,
    commands,
    /** The XADDs held so far, answered together in one write (as replies that came in one read). */
    answerXadds: () => void socket!.write(held.splice(0).map((id) => `$${id.length}\r\n${id}\r\n`).join("")),
    /** Drops the connection; the next HELLO waits for answerHello(). */
    drop: () => ((holdHello = true), socket!.end()),
    answerHello: () => (helloWaits?.(), (helloWaits = null), (holdHello = false)),
    helloWaiting: () => helloWaits !== null,
    published: () => commands.filter((c) => c[0] === "PUBLISH").map((c) => (JSON.parse(c[2]!) as { message: string }).message),
    xadds: () => commands.filter((c) => c[0] === "XADD").length,
    stop: () => server.stop(true),
  };
}

describe("Publisher against a scripted RESP server", () => {
  // A client that saw a message's PUBLISH takes every lower ID as seen (catchup.ts's places): a PUBLISH sent out of
  // XADD order loses the earlier message for it. A request that waited for the connection went one promise step
  // longer than one sent once it was up, and when both XADD replies came in one read, the later one was published first.
  test("PUBLISHes go out in the order their XADDs were stored, for a request that waited for the connection too", async () => {
    const fake = scriptedServer();
    const publisher = new Publisher(`redis://127.0.0.1:${fake.port}`, 1000);
    try {
      const first = publisher.publish({ channel: "c", message: "before" });
      await until("the first XADD", () => fake.xadds() === 1, 5000);
      fake.answerXadds();
      await first;
      fake.drop();
      await Bun.sleep(100); // the web server sees the connection end
      const waited = publisher.publish({ channel: "c", message: "waited" }); // the link is down: it waits for the connection
      await until("the HELLO of the new connection", fake.helloWaiting, 5000);
      fake.answerHello();
      await until("the waiting request's XADD", () => fake.xadds() === 2, 5000);
      const direct = publisher.publish({ channel: "c", message: "direct" }); // the link is up: sent at once
      await until("the second XADD", () => fake.xadds() === 3, 5000);
      fake.answerXadds();
      await Promise.all([waited, direct]);
      expect(fake.published()).toEqual(["before", "waited", "direct"]);
    } finally {
      publisher.close();
      fake.stop();
    }
  });
});
