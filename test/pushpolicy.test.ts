// test/pushpolicy.test.ts — the rules of Web Push on their own: which endpoints may be contacted, the origins flag,
// Urgency by priority, payloads cut to fit 4 KB (multi-byte and escaped text too), Retry-After, and outcomes.
import { describe, expect, test } from "bun:test";
import { MAX_PAYLOAD, endpointRefusal, outcomeOf, parseOrigins, pushPayload, retryDelayMs, urgencyFor } from "../pushpolicy";

describe("endpoints", () => {
  test("the known push services over https are allowed, and nothing else unless listed", () => {
    for (const ok of ["https://fcm.googleapis.com/fcm/send/abc", "https://updates.push.services.mozilla.com/wpush/v2/x", "https://web.push.apple.com/QGk", "https://wns2-par02p.notify.windows.com/w/?token=x", "https://android.googleapis.com/gcm/send/x"])
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
  test("--push-endpoints takes origins only", () => {
    expect(parseOrigins(" https://push.example.com , http://127.0.0.1:9000 ")).toEqual(["https://push.example.com", "http://127.0.0.1:9000"]);
    expect(parseOrigins("")).toEqual([]);
    expect(() => parseOrigins("https://push.example.com/x")).toThrow(/more than an origin/);
    expect(() => parseOrigins("ftp://x")).toThrow(/not an http/);
  });
});

describe("headers and retries", () => {
  test("Urgency: high from priority 3 (and none), low for 1, normal for 2", () => {
    expect([1, 2, 3, 4, 5, undefined].map(urgencyFor)).toEqual(["low", "normal", "high", "high", "high", "high"]);
  });
  test("Retry-After in seconds or as a date, else exponential backoff; capped", () => {
    expect(retryDelayMs(1, "3")).toBe(3000);
    expect(retryDelayMs(1, new Date(10_000 + 5000).toUTCString(), 10_000)).toBe(5000);
    expect(retryDelayMs(1, null)).toBe(1000);
    expect(retryDelayMs(3, null)).toBe(4000);
    expect(retryDelayMs(30, null)).toBe(60_000);
    expect(retryDelayMs(1, "999999")).toBe(3600_000);
  });
  test("outcomes", () => {
    expect([201, 202, 404, 410, 429, 500, 503, 400, 413].map(outcomeOf)).toEqual(["sent", "sent", "gone", "gone", "retry", "retry", "retry", "failed", "failed"]);
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
});
