// test/web_pushpolicy.test.ts — the rules of Web Push on their own: which endpoints may be contacted, the origins flag,
// the caps on subscriptions and channels, who may still read a channel, Urgency, payloads cut to fit 4 KB (multi-byte
// and escaped text too), Retry-After, and outcomes (a redirect is a failure).
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { Acl } from "../acl";
import { DEFAULT_PUSH_LIMITS, MAX_PAYLOAD, endpointRefusal, limitRefusal, mayRead, outcomeOf, parseOrigins, pushPayload, retryDelayMs, pushUrgency } from "../web_pushpolicy";

describe("endpoints", () => {
  test("the known push services over https are allowed, and nothing else unless listed", () => {
    for (const ok of ["https://fcm.googleapis.com/fcm/send/abc", "https://updates.push.services.mozilla.com/wpush/v2/x", "https://web.push.apple.com/QGk", "https://wns2-par02p.notify.windows.com/w/?token=x"])
      expect(endpointRefusal(ok, [])).toBeNull();
    expect(endpointRefusal("https://evil.example/x", [])).toMatch(/not a known push service/);
    expect(endpointRefusal("https://push.apple.com.evil.example/x", [])).toMatch(/not a known push service/);
    expect(endpointRefusal("https://fcm.googleapis.com:8443/x", [])).toMatch(/not a known push service/);
    expect(endpointRefusal("http://fcm.googleapis.com/x", [])).toMatch(/not https/);
    expect(endpointRefusal("http://127.0.0.1:8000/x", [])).toMatch(/--push-endpoints/);
    expect(endpointRefusal("http://127.0.0.1:8000/x", ["http://127.0.0.1:8000"])).toBeNull();
    expect(endpointRefusal("https://u:p@fcm.googleapis.com/x", [])).toMatch(/user name or password/);
    expect(endpointRefusal("not a url", [])).toMatch(/not a URL/);
  });
  test("only the hosts browsers push through: no other Google API, no other Mozilla host", () => {
    for (const bad of [
      "https://storage.googleapis.com/bucket/x",
      "https://www.googleapis.com/upload/x",
      "https://android.googleapis.com/gcm/send/x",
      "https://evil.push.services.mozilla.com/x",
      "https://fcm.googleapis.com.evil.example/x",
      "https://notify.windows.com.evil.example/x",
      "https://xpush.apple.com/x",
    ])
      expect(endpointRefusal(bad, [])).toMatch(/not a known push service/);
  });
  test("--push-endpoints takes origins only", () => {
    expect(parseOrigins(" https://push.example.com , http://127.0.0.1:9000 ")).toEqual(["https://push.example.com", "http://127.0.0.1:9000"]);
    expect(parseOrigins("")).toEqual([]);
    expect(() => parseOrigins("https://push.example.com/x")).toThrow(/more than an origin/);
    expect(() => parseOrigins("ftp://x")).toThrow(/not an http/);
  });
});

describe("caps", () => {
  const limits = { maxSubscriptions: 5, maxPerVisitor: 2, maxChannels: 3 };
  test("within every cap: null", () => {
    expect(limitRefusal(limits, 3, 4, 1)).toBeNull();
  });
  test("too many channels is a 400 naming the flag; checked before the caps", () => {
    expect(limitRefusal(limits, 4, 0, 0)).toEqual({ status: 400, message: expect.stringMatching(/at most 3 channels \(--push-max-channels\), got 4/) });
    expect(limitRefusal(limits, 4, 5, 2)?.status).toBe(400);
  });
  test("a visitor at its cap, or a server at its total, is a 429 naming the flag", () => {
    expect(limitRefusal(limits, 1, 2, 2)).toEqual({ status: 429, message: expect.stringMatching(/already has 2 push subscriptions.*--push-max-per-visitor/) });
    expect(limitRefusal(limits, 1, 5, 0)).toEqual({ status: 429, message: expect.stringMatching(/already keeps 5 push subscriptions.*--push-max-subscriptions/) });
  });
  test("a renewal adds no subscription: the caps do not apply to it, the channel limit does", () => {
    expect(limitRefusal(limits, 1, 5, 2, true)).toBeNull();
    expect(limitRefusal(limits, 4, 5, 2, true)?.status).toBe(400);
  });
  test("defaults suit a server open to the internet", () => {
    expect(DEFAULT_PUSH_LIMITS).toEqual({ maxSubscriptions: 10_000, maxPerVisitor: 20, maxChannels: 20 });
  });
});

describe("who may still read a channel", () => {
  const sha = (s: string) => createHash("sha256").update(s).digest("hex");
  const acl = Acl.parse(
    [`user default on nopass %R&public/* +@all`, `user alice on #${sha("a")} &alice/* &shared +@all`, `user bob off #${sha("b")} &* +@all`, `user carl on #${sha("c")} &* -@all`, `user dan on #${sha("d")} &alerts? +@all`].join("\n"),
    "test",
  );
  test("by the user's SUBSCRIBE rights; a glob must lie inside a read grant, as POST /push/subscribe asks", () => {
    expect(mayRead(acl, "alice", "alice/x")).toBe(true);
    expect(mayRead(acl, "alice", "shared")).toBe(true);
    expect(mayRead(acl, "alice", "alice/*")).toBe(true);
    expect(mayRead(acl, "alice", "other")).toBe(false);
    expect(mayRead(acl, "alice", "*")).toBe(false);
    expect(mayRead(acl, "default", "public/news")).toBe(true);
    expect(mayRead(acl, "default", "alice/x")).toBe(false);
    expect(mayRead(acl, "default", "public/*")).toBe(true);
    expect(mayRead(acl, "default", "public/a*")).toBe(true);
    expect(mayRead(acl, "default", "p*")).toBe(false);
    // "alerts*" matches the grant "alerts?" as text, but reads alerts10 too: not inside it.
    expect(mayRead(acl, "dan", "alerts1")).toBe(true);
    expect(mayRead(acl, "dan", "alerts*")).toBe(false);
  });
  test("a user who is off, gone, or may not run SUBSCRIBE reads nothing; no ACL: everyone reads", () => {
    expect(mayRead(acl, "bob", "anything")).toBe(false);
    expect(mayRead(acl, "nobody", "public/news")).toBe(false);
    expect(mayRead(acl, "carl", "x")).toBe(false);
    expect(mayRead(undefined, "whoever", "x")).toBe(true);
  });
  test("UTF-8 channel names match as the pub/sub server's bytes", () => {
    const utf = Acl.parse(Buffer.from("user default on nopass &caf\u00e9/* +@all", "utf8").toString("latin1"), "test");
    expect(mayRead(utf, "default", "café/menu")).toBe(true);
    expect(mayRead(utf, "default", "cafe/menu")).toBe(false);
  });
});

describe("headers and retries", () => {
  test("Urgency: high from priority 3 (and none), low for 1, normal for 2", () => {
    expect([1, 2, 3, 4, 5, undefined].map(pushUrgency)).toEqual(["low", "normal", "high", "high", "high", "high"]);
  });
  test("Retry-After in seconds or as a date, else exponential backoff; capped", () => {
    expect(retryDelayMs(1, "3")).toBe(3000);
    expect(retryDelayMs(1, new Date(10_000 + 5000).toUTCString(), 10_000)).toBe(5000);
    expect(retryDelayMs(1, null)).toBe(1000);
    expect(retryDelayMs(3, null)).toBe(4000);
    expect(retryDelayMs(30, null)).toBe(60_000);
    expect(retryDelayMs(1, "999999")).toBe(3600_000);
  });
  test("outcomes; a redirect is its own failure, never followed", () => {
    expect([201, 202, 404, 410, 429, 500, 503, 400, 413].map(outcomeOf)).toEqual(["sent", "sent", "gone", "gone", "retry", "retry", "retry", "failed", "failed"]);
    expect([301, 302, 303, 307, 308].map(outcomeOf)).toEqual(["redirect", "redirect", "redirect", "redirect", "redirect"]);
  });
});

describe("payloads", () => {
  const env = { id: "1-0", time: 1, channel: "c", message: "short" };
  test("a message that fits is the envelope as it is", () => {
    expect(pushPayload(env)).toBe(JSON.stringify(env));
  });
  for (const [name, unit] of [["ASCII", "a"], ["two-byte", "é"], ["emoji", "🚀"], ["escaped", '"\n\u0001']] as const)
    test(`a long ${name} message is cut to fit, ends with …, and is marked`, () => {
      const p = pushPayload({ ...env, message: unit.repeat(5000) });
      expect(Buffer.byteLength(p)).toBeLessThanOrEqual(MAX_PAYLOAD);
      expect(Buffer.byteLength(p)).toBeGreaterThan(MAX_PAYLOAD - 60);
      const back = JSON.parse(p) as { message: string; truncated: boolean; id: string };
      expect(back.truncated).toBe(true);
      expect(back.id).toBe("1-0");
      expect(back.message.endsWith("…")).toBe(true);
      expect(unit.repeat(5000).startsWith(back.message.slice(0, -1))).toBe(true);
    });
  test("when even an empty message does not fit, big fields go (actions first) and the sequence ID, event and channel stay", () => {
    const action = { id: "a1", action: "http" as const, label: "Open door", clear: false, url: "https://door.test/", headers: { authorization: "x".repeat(5000) } };
    const rich = { ...env, sequence_id: "door-1", title: "Door", actions: [action], message: "m".repeat(100) };
    const p = pushPayload(rich);
    expect(Buffer.byteLength(p)).toBeLessThanOrEqual(MAX_PAYLOAD);
    const back = JSON.parse(p) as Record<string, unknown>;
    expect(back).toMatchObject({ id: "1-0", channel: "c", sequence_id: "door-1", title: "Door", truncated: true, message: `${"m".repeat(100)}…` });
    expect(back.actions).toBeUndefined();
    const gone = pushPayload({ ...env, event: "message_delete", sequence_id: "door-1", title: "t".repeat(5000) });
    expect(JSON.parse(gone)).toMatchObject({ event: "message_delete", sequence_id: "door-1", channel: "c" });
  });
});
