// test/client_ntfy.test.ts — the client's ntfy parts without a server: an ntfy JSON line as the client takes it (ntfy's
// server/types.go message and docs/subscribe/api.md), the path of one stream for the channels, which kind of server a
// --url is (client_http.ts), and publish's request and answer (ntfy's docs/publish.md, util.go ParsePriority).
import { describe, expect, test } from "bun:test";
import { envelopeFromNtfy, ntfyEvent, topicsPath } from "../client_ntfy";
import { serverKind, httpFailure } from "../client_http";
import { headerValue, parsePriority, publishRefusal, publishRequest, publishedLine } from "../client_publish";

describe("an ntfy JSON line as the client takes it", () => {
  test("a message maps onto the envelope: topic is the channel, click the link; empty fields are left out", () => {
    // The example of docs/subscribe/api.md's JSON message format, with priority, tags and click.
    const line = JSON.stringify({ id: "sPs71M8A2T", time: 1643935928, expires: 1643979128, event: "message", topic: "mytopic", priority: 5, tags: ["warning", "skull"], click: "https://homecamera.lan/xasds1h2xsSsa/", title: "Unauthorized access detected", message: "Movement detected in the yard. You better go check" });
    expect(ntfyEvent(line)).toEqual({
      kind: "message",
      env: { id: "sPs71M8A2T", time: 1643935928, channel: "mytopic", message: "Movement detected in the yard. You better go check", title: "Unauthorized access detected", priority: 5, tags: ["warning", "skull"], url: "https://homecamera.lan/xasds1h2xsSsa/" },
      unshown: [],
    });
    expect(ntfyEvent(JSON.stringify({ id: "abcdefABCDEF", time: 1, event: "message", topic: "t", message: "hi", title: "", tags: [] }))).toEqual({ kind: "message", env: { id: "abcdefABCDEF", time: 1, channel: "t", message: "hi" }, unshown: [] });
  });

  test("open and keepalive are not messages; poll_request and newer kinds are ignored by name", () => {
    expect(ntfyEvent('{"id":"2pgIAaGrQ8","time":1638542110,"event":"open","topic":"phil_alerts"}')).toEqual({ kind: "open", time: 1638542110 });
    expect(ntfyEvent('{"id":"371sevb0pD","time":1638542275,"event":"keepalive","topic":"phil_alerts"}')).toEqual({ kind: "keepalive" });
    expect(ntfyEvent('{"id":"x1","time":1,"event":"poll_request","topic":"t","message":"New message","poll_id":"abc"}')).toEqual({ kind: "ignored", event: "poll_request" });
    expect(ntfyEvent('{"id":"x1","time":1,"event":"message_fold","topic":"t"}')).toEqual({ kind: "ignored", event: "message_fold" });
  });

  test("message_delete and message_clear (ntfy v2.16) withdraw the notification of their sequence_id, else their id (issue 25)", () => {
    // The wire reference §1.4: Android keys on sequence_id, falling back to id (msg/NotificationParser.kt).
    expect(ntfyEvent('{"id":"x1","time":1,"event":"message_delete","topic":"t","sequence_id":"build-7"}')).toEqual({
      kind: "message",
      env: { id: "x1", time: 1, channel: "t", message: "", event: "message_delete", sequence_id: "build-7" },
      unshown: [],
    });
    expect(ntfyEvent('{"id":"x2","time":1,"event":"message_clear","topic":"t"}')).toMatchObject({ kind: "message", env: { event: "message_clear", sequence_id: "x2" } });
  });

  test("a line that is not ntfy's JSON says what is wrong with it", () => {
    expect(ntfyEvent("<html>")).toMatchObject({ kind: "bad", reason: expect.stringContaining("not JSON") });
    expect(ntfyEvent('{"time":1,"event":"message","topic":"t"}')).toMatchObject({ kind: "bad", reason: expect.stringContaining("id") });
    expect(ntfyEvent('{"id":"a","time":"soon","event":"message","topic":"t"}')).toMatchObject({ kind: "bad", reason: expect.stringContaining("time") });
  });

  test("ntfy's v2.16 fields arrive as the envelope's (issue 25); one that does not fit is named, never dropped in silence", () => {
    // Field shapes from the wire reference §1.4 (ntfy v2.27 model/model.go Message, Action).
    const base = { id: "a", time: 1, event: "message", topic: "t", message: "m" };
    const actions = [{ id: "0123456789", action: "view", label: "Open", url: "https://x/o", clear: false }, { id: "abcdefghij", action: "http", label: "Close door", url: "https://x/d", method: "PUT", headers: { Authorization: "Bearer t" }, body: "{}", clear: true }];
    const attachment = { name: "a.jpg", type: "image/jpeg", size: 1234, expires: 99, url: "https://x/file/a.jpg" };
    expect(envelopeFromNtfy({ ...base, icon: "https://x/i.png", actions, attachment, content_type: "text/markdown", sequence_id: "build-7", click: "https://c" })).toEqual({
      env: { id: "a", time: 1, channel: "t", message: "m", url: "https://c", sequence_id: "build-7", icon: "https://x/i.png", actions: actions as never, attachment, content_type: "text/markdown" },
      unshown: [],
    });
    // The attachment's link is no longer the click: it is the attachment.
    expect(envelopeFromNtfy({ ...base, attachment: { name: "a.jpg", url: "https://x/a.jpg" } }).env).toEqual({ id: "a", time: 1, channel: "t", message: "m", attachment: { name: "a.jpg", url: "https://x/a.jpg" } });
    expect(envelopeFromNtfy({ ...base, actions: [{ action: "view" }] }).unshown).toEqual(["actions (not in ntfy's shape)"]);
    expect(envelopeFromNtfy({ ...base, attachment: { name: "x" } }).unshown).toEqual(["attachment (not in ntfy's shape)"]);
    expect(envelopeFromNtfy({ ...base, sequence_id: "no spaces allowed" }).unshown).toEqual(['sequence_id "no spaces allowed" (not ntfy\'s form; shown as a new notification)']);
    expect(envelopeFromNtfy({ ...base, priority: 9 })).toEqual({ env: { id: "a", time: 1, channel: "t", message: "m" }, unshown: ["priority 9"] });
    expect(envelopeFromNtfy({ ...base, content_type: "text/plain" }).env.content_type).toBeUndefined();
    // Our web server's own source rides along on its ntfy JSON.
    expect(envelopeFromNtfy({ ...base, source: "github" }).env.source).toBe("github");
  });
});

describe("one stream's path", () => {
  test("ntfy topics as one comma list; a repository's channel alone as /owner/repo", () => {
    expect(topicsPath(["alerts", "back_ups-2"])).toEqual({ path: "/alerts,back_ups-2" });
    expect(topicsPath(["octo/hello"])).toEqual({ path: "/octo/hello" });
  });
  test("a name ntfy cannot take, or a glob, is a sentence", () => {
    expect(topicsPath(["alerts", "octo/*"])).toEqual({ problem: "ntfy has no glob topics (octo/*); list the channels one by one" });
    expect(topicsPath(["alerts", "octo/hello"])).toMatchObject({ problem: expect.stringContaining('"octo/hello" is not an ntfy topic name') });
    expect(topicsPath(["a".repeat(65)])).toMatchObject({ problem: expect.stringContaining("1 to 64 letters") });
  });
});

describe("which kind of server a --url is", () => {
  const html = { status: 200, body: "<!DOCTYPE html><html>" };
  const healthy = { status: 200, body: '{"healthy":true}\n' };
  const ours = { status: 200, body: '{"ok":true,"hub":{"connected":true,"channels":0,"error":null}}' };
  const missing = { status: 404, body: '{"code":40401,"http":404,"error":"page not found"}' };
  test("our web server's /health (its hub) says ours, even when it answers /v1/health as ntfy does", () => {
    expect(serverKind(ours, healthy)).toBe("notistream");
    expect(serverKind(ours, missing)).toBe("notistream");
  });
  test("ntfy serves its web app (or 404) for /health and {\"healthy\": …} for /v1/health (server.go handleHealth)", () => {
    expect(serverKind(html, healthy)).toBe("ntfy");
    expect(serverKind(missing, { status: 200, body: '{"healthy":false}' })).toBe("ntfy");
  });
  test("anything else is neither", () => {
    expect(serverKind(html, html)).toBeNull();
    expect(serverKind(missing, missing)).toBeNull();
    expect(serverKind({ status: 200, body: '{"ok":true}' }, { status: 200, body: '{"healthy":"yes"}' })).toBeNull();
  });
  test("a refusal is fatal for a login or rights, retried for a server error or a rate limit", () => {
    expect(httpFailure(401, '{"code":40101,"http":401,"error":"unauthorized"}', "https://n", "has none")).toEqual({ fatal: true, code: "HTTP401", reason: "https://n wants a login: unauthorized" });
    expect(httpFailure(429, '{"code":42903,"error":"limit reached: too many subscriptions"}', "https://n", "").fatal).toBe(false);
    expect(httpFailure(502, "Bad Gateway", "https://n", "").fatal).toBe(false);
  });
});

describe("publish's request and answer", () => {
  test("priorities as ntfy takes them: 1-5 or their names, any case", () => {
    expect(["1", "min", "low", "DEFAULT", "high", "max", "urgent", " 4 "].map(parsePriority)).toEqual([1, 1, 2, 3, 4, 5, 5, 4]);
    expect(["0", "6", "hi", "", "4.0"].map(parsePriority)).toEqual([null, null, null, null, null]);
  });
  test("plain ASCII header values as they are; anything else as one RFC 2047 word ntfy decodes", () => {
    expect(headerValue("Disk full")).toBe("Disk full");
    for (const text of ["Grüße 🚀", "two\nlines", "=?UTF-8?B?eA==?="]) {
      const v = headerValue(text);
      expect(v).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
      expect(Buffer.from(v.slice(10, -2), "base64").toString("utf8")).toBe(text);
    }
  });
  test("POST /<channel> with the message as the body and X- headers; a repository's channel keeps its slash", () => {
    expect(publishRequest("https://ntfy.sh/", { channel: "alerts", message: "m", title: "T", priority: 4, tags: ["a", "b"], click: "https://x" }, "Bearer tk_1")).toEqual({
      url: "https://ntfy.sh/alerts",
      body: "m",
      headers: { "content-type": "text/plain; charset=utf-8", "x-title": "T", "x-priority": "4", "x-tags": "a,b", "x-click": "https://x", authorization: "Bearer tk_1" },
    });
    expect(publishRequest("http://h:8080", { channel: "octo/hello world", message: "m" }, null).url).toBe("http://h:8080/octo/hello%20world");
  });
  test("the answer as one line: ntfy's message JSON, or our web server's older reply", () => {
    expect(publishedLine('{"id":"hwQ2YpKdmg","time":1635528741,"expires":1635571941,"event":"message","topic":"mytopic","message":"Backup successful 😀"}\n')).toBe("hwQ2YpKdmg mytopic");
    expect(publishedLine('{"id":"1700000000000-0","channel":"octo/hello","receivers":1}')).toBe("1700000000000-0 octo/hello");
    expect(publishedLine("<html>")).toBeNull();
  });
  test("a refusal is a sentence that says what to do", () => {
    expect(publishRefusal("https://n", "alerts", 401, '{"code":40101,"http":401,"error":"unauthorized"}')).toBe(
      'https://n wants a login to publish to alerts (unauthorized). Give --user and --password, or --token (or "user" and "password", or "token", in the config).',
    );
    expect(publishRefusal("https://n", "alerts", 403, '{"code":40301,"http":403,"error":"forbidden"}')).toContain("does not let this login publish to alerts (forbidden)");
  });
});
