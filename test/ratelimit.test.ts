// test/ratelimit.test.ts — the token bucket on its own (no clock: the test passes the time), and both servers'
// limits end to end: 429 with Retry-After on HTTP, an error and a close for too many new RESP connections. And what
// each visitor holds open, against a cap per kind.
import { describe, expect, test } from "bun:test";
import { HeldLimits, RateLimiter } from "../ratelimit";
import { Raw, post, startPubSub, startWebServer } from "./helpers";

describe("HeldLimits", () => {
  test("each kind within its cap per key; a refusal names the kind and takes nothing; 0 is no cap", () => {
    const h = new HeldLimits({ streams: 2, patterns: 3 });
    expect(h.take("a", { streams: 1, patterns: 2 })).toBeNull();
    expect(h.take("a", { streams: 1, patterns: 2 })).toBe("patterns"); // 4 patterns > 3
    expect(h.heldBy("a")).toEqual({ streams: 1, patterns: 2 });
    expect(h.take("a", { streams: 1, patterns: 0 })).toBeNull();
    expect(h.take("a", { streams: 1, patterns: 0 })).toBe("streams");
    expect(h.take("b", { streams: 1, patterns: 3 })).toBeNull(); // another visitor counts on its own
    const open = new HeldLimits({ streams: 0, patterns: 0 });
    for (let i = 0; i < 1000; i++) expect(open.take("x", { streams: 1, patterns: 50 })).toBeNull();
  });

  test("giving back frees room, and a key that holds nothing is forgotten", () => {
    const h = new HeldLimits({ streams: 1, patterns: 1 });
    h.take("a", { streams: 1, patterns: 1 });
    expect(h.size).toBe(1);
    h.give("a", { streams: 1, patterns: 1 });
    expect(h.size).toBe(0);
    expect(h.heldBy("a")).toBeUndefined();
    expect(h.take("a", { streams: 1, patterns: 1 })).toBeNull();
    h.give("nobody", { streams: 1, patterns: 1 }); // nothing held: nothing happens
    expect(h.size).toBe(1);
  });
});

describe("RateLimiter", () => {
  test("a burst of twice the rate, then the rate, per key; off at 0", () => {
    const r = new RateLimiter(5);
    const t = 1_000_000;
    const allowed = Array.from({ length: 12 }, () => r.take("a", t)).filter((w) => w === 0).length;
    expect(allowed).toBe(10);
    expect(r.take("a", t)).toBe(1); // wait a second
    expect(r.take("b", t)).toBe(0); // another client has its own bucket
    expect(r.take("a", t + 200)).toBe(0); // 0.2 s refills one token
    expect(r.take("a", t + 200)).toBeGreaterThan(0);
    r.sweep(t + 60_000);
    expect(r.size).toBe(0);
    expect(new RateLimiter(0).take("x", t)).toBe(0);
  });
});

describe("end to end", () => {
  test("HTTP: 429 with Retry-After past the limit; X-Forwarded-For counts only with --trust-proxy", async () => {
    const pubsub = await startPubSub();
    const web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--rate-limit", "5"]);
    const statuses = [];
    for (let i = 0; i < 15; i++) {
      const r = await post(web.url, { channel: "rl", message: "m" }, { headers: { "x-forwarded-for": `10.0.0.${i}` } });
      statuses.push(r.status);
      if (r.status === 429) {
        expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
        expect((await r.json()).error).toContain("too many requests");
      } else await r.arrayBuffer();
    }
    expect(statuses.filter((s) => s === 200).length).toBe(10);
    expect(statuses.filter((s) => s === 429).length).toBe(5);
    await web.stop();
    const trusting = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--rate-limit", "5", "--trust-proxy"]);
    for (let i = 0; i < 15; i++) {
      await post(trusting.url, { channel: "rl", message: "m" }, { headers: { "x-forwarded-for": `10.0.0.${i}, 127.0.0.1` }, status: 200 }); // each forwarded client has its own bucket
    }
    await trusting.stop();
    await pubsub.stop();
  });

  test("RESP: too many new connections from one IP get an error and a close; existing ones keep working", async () => {
    const pubsub = await startPubSub(["--conn-rate-limit", "3"]);
    const first = await Raw.open(pubsub.port);
    expect(await first.call("PING")).toBe("PONG");
    const conns = await Promise.all(Array.from({ length: 12 }, () => Raw.open(pubsub.port)));
    await Bun.sleep(200);
    const refused = conns.filter((c) => c.bytes().toString().includes("too many new connections from"));
    expect(refused.length).toBeGreaterThan(0);
    expect(await first.call("PING")).toBe("PONG");
    for (const c of conns) c.close();
    first.close();
    await pubsub.stop();
  });
});
