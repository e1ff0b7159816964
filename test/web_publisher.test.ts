// test/web_publisher.test.ts — web_publisher.ts without a server: the record of what this web server published, which the hub
// trusts without reading history back: exact payloads only, and bounded by count and by size; --redis as logged; and how
// it publishes on one node or a cluster (the replicas it waits for, the start-up line).
import { describe, expect, test } from "bun:test";
import { RecentlyPublished, publishingPlan, redactUrl } from "../web_publisher";
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
