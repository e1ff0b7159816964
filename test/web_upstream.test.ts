// test/web_upstream.test.ts — the upstream poll request's pure parts (web_upstream.ts): the settings as ntfy's serve.go
// checks them, the request as ntfy's forwardPollRequest makes it, who may read a channel, and the wait after a 429.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { Acl } from "../acl";
import { pollRequest, someoneMayRead, upstreamRetryMs, upstreamSettings, upstreamTopic } from "../web_upstream";

describe("upstreamSettings (ntfy's cmd/serve.go checks)", () => {
  test("off without --upstream-base-url; a token alone is a mistake said plainly", () => {
    expect(upstreamSettings(undefined, undefined, "https://n.example.com")).toBeUndefined();
    expect(() => upstreamSettings(undefined, "tk", "https://n.example.com")).toThrow("--upstream-access-token does nothing without --upstream-base-url");
  });
  test("needs --base-url, http(s), no trailing slash, and not the base URL itself", () => {
    expect(() => upstreamSettings("https://ntfy.sh", undefined, undefined)).toThrow("--upstream-base-url needs --base-url");
    expect(() => upstreamSettings("ntfy.sh", undefined, "https://n.example.com")).toThrow("must start with http:// or https://");
    expect(() => upstreamSettings("https://ntfy.sh/", undefined, "https://n.example.com")).toThrow("must not end with a slash");
    expect(() => upstreamSettings("https://n.example.com", undefined, "https://n.example.com")).toThrow("are the same");
    expect(upstreamSettings("https://ntfy.sh", "tk", "https://n.example.com")).toEqual({ baseUrl: "https://n.example.com", upstreamUrl: "https://ntfy.sh", accessToken: "tk" });
  });
});

describe("pollRequest (ntfy's server.go forwardPollRequest)", () => {
  test("POST {upstream}/{sha256 hex of <base-url>/<topic>} with X-Poll-ID and the Bearer token, and no text header", () => {
    const hash = createHash("sha256").update("https://n.example.com/alerts").digest("hex");
    expect(upstreamTopic("https://n.example.com", "alerts")).toBe(hash);
    const r = pollRequest({ baseUrl: "https://n.example.com", upstreamUrl: "https://ntfy.sh", accessToken: "tk_1" }, "alerts", "1733350000000-0");
    expect(r.url).toBe(`https://ntfy.sh/${hash}`);
    expect(r.headers).toEqual({ "user-agent": "notistream", "x-poll-id": "1733350000000-0", authorization: "Bearer tk_1" });
    expect(pollRequest({ baseUrl: "https://n.example.com", upstreamUrl: "https://ntfy.sh" }, "alerts", "1-0").headers.authorization).toBeUndefined();
  });
});

describe("someoneMayRead", () => {
  test("no ACL: every channel; with one: a channel some enabled user (anonymous included) may read over HTTP", () => {
    expect(someoneMayRead(undefined, "anything")).toBe(true);
    const acl = Acl.parse(["user default on nopass %R&public/* -@all +subscribe", "user ci on nopass %W&inbox -@all +publish", "user bob off nopass &secret -@all +subscribe"].join("\n"), "(test)");
    expect(someoneMayRead(acl, "public/news")).toBe(true);
    expect(someoneMayRead(acl, "inbox")).toBe(false); // ci may only publish there
    expect(someoneMayRead(acl, "secret")).toBe(false); // bob is off
    // The web server's own pub/sub user reads every channel for the others: it is nobody's reader.
    const withWeb = Acl.parse("user default on nopass %R&public/* -@all +subscribe\nuser web on nopass allchannels -@all +subscribe", "(test)");
    expect(someoneMayRead(withWeb, "inbox", "web")).toBe(false);
    expect(someoneMayRead(withWeb, "inbox")).toBe(true);
    expect(someoneMayRead(withWeb, "public/x", "web")).toBe(true);
  });
});

describe("upstreamRetryMs", () => {
  test("the upstream's Retry-After when given (seconds or a date), else link.ts's backoff with full jitter", () => {
    expect(upstreamRetryMs(1, "7")).toBe(7000);
    expect(upstreamRetryMs(3, null, () => 0.999)).toBeLessThanOrEqual(8000);
    expect(upstreamRetryMs(3, null, () => 0)).toBe(100);
  });
});
