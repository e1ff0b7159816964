// web_unifiedpush_rules.test.ts — UnifiedPush's pure rules: up… topics, a body kept byte for byte (binary as base64,
// ntfy's truncation), a Matrix gateway request's pushkey and whether it names this server, and when an up… topic's
// subscriber record lets a push through (--visitor-subscriber-rate-limiting).
import { describe, expect, test } from "bun:test";
import { messageLine } from "../client_line";
import { toastFor } from "../client_toast";
import { NtfyError } from "../web_ntfy";
import {
  UP_SUBSCRIBER_FRESH_MS,
  isUnifiedPushMessage,
  isUnifiedPushTopic,
  matrixAnswer,
  matrixPushkey,
  matrixRejectsPushkey,
  pushkeyPath,
  streamIdMs,
  unifiedPushBody,
  upSubscriberState,
} from "../web_unifiedpush_rules";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const code = (f: () => unknown): number => {
  try {
    f();
  } catch (err) {
    if (err instanceof NtfyError) return err.kind.code;
    throw err;
  }
  throw new Error("no NtfyError thrown");
};

describe("up… topics and messages", () => {
  // ntfy: server.go unifiedPushTopicPrefix "up", unifiedPushTopicLength 14; the Android app's TOPIC_RANDOM_ID_LENGTH 12.
  test("up and 12 of ntfy's topic characters is UnifiedPush's topic; shorter, longer or other characters are not", () => {
    for (const t of ["upAbCdEf123456", "up_-aaaaaaaaaa"]) expect(isUnifiedPushTopic(t)).toBe(true);
    for (const t of ["upAbCdEf12345", "upAbCdEf1234567", "UPAbCdEf123456", "upAbCdEf12345.", "alerts", "up"]) expect(isUnifiedPushTopic(t)).toBe(false);
  });
  test("a message is UnifiedPush's when base64-encoded or on an up… topic", () => {
    expect(isUnifiedPushMessage({ channel: "alerts", encoding: "base64" })).toBe(true);
    expect(isUnifiedPushMessage({ channel: "upAbCdEf123456" })).toBe(true);
    expect(isUnifiedPushMessage({ channel: "alerts" })).toBe(false);
  });
});

describe("unifiedPushBody (server.go handleBodyAsMessageAutoDetect)", () => {
  test("UTF-8 is kept untrimmed; binary is base64 with encoding base64", () => {
    expect(unifiedPushBody(bytes("  hi \n"), 4096, 65536)).toEqual({ message: "  hi \n" });
    const bin = Uint8Array.from([0, 1, 0xff, 0xfe, 0x80]);
    const r = unifiedPushBody(bin, 4096, 65536);
    expect(r.encoding).toBe("base64");
    expect(new Uint8Array(Buffer.from(r.message, "base64"))).toEqual(bin);
  });
  // server_test.go TestServer_PublishUnifiedPushBinary_Truncated: 5000 random bytes come back as their first 4096.
  test("a body over the limit is cut to its first `limit` bytes, as ntfy's Peek does", () => {
    const bin = new Uint8Array(5000).map((_, i) => (i * 7 + 0x80) & 0xff);
    const r = unifiedPushBody(bin, 4096, 65536);
    expect(new Uint8Array(Buffer.from(r.message, "base64"))).toEqual(bin.subarray(0, 4096));
    expect(unifiedPushBody(bytes("x".repeat(5000)), 4096, 65536).message).toBe("x".repeat(4096));
  });
  test("UTF-8 cut inside a character is binary then, as ntfy checks the peeked bytes", () => {
    const text = bytes("a".repeat(4095) + "é"); // é is 2 bytes: the cut leaves half of it
    expect(unifiedPushBody(text, 4096, 65536).encoding).toBe("base64");
  });
  test("the base64 text fits a lower message limit: whole 3-byte groups, never a longer message", () => {
    const bin = new Uint8Array(100).fill(0xff);
    const r = unifiedPushBody(bin, 100, 40);
    expect(r.message.length).toBeLessThanOrEqual(40);
    expect(new Uint8Array(Buffer.from(r.message, "base64"))).toEqual(bin.subarray(0, 30));
  });
  test("an empty body is empty (the publish says triggered, ntfy's emptyMessageBody)", () => {
    expect(unifiedPushBody(new Uint8Array(0), 4096, 65536)).toEqual({ message: "" });
  });
});

describe("the Matrix gateway's request (server_matrix.go newRequestFromMatrixJSON)", () => {
  const synapse = { notification: { event_id: "$x", room_id: "!r:example.org", counts: { unread: 1 }, devices: [{ app_id: "im.vector.app.android", pushkey: "https://push.example.org/upAbCdEf123456?up=1", pushkey_ts: 1, data: {} }, { pushkey: "https://other/x" }] } };
  test("the first device's pushkey is read; the others are ignored (ntfy#316)", () => {
    expect(matrixPushkey(bytes(JSON.stringify(synapse)))).toBe("https://push.example.org/upAbCdEf123456?up=1");
  });
  // server_test.go TestServer_MatrixGateway_Push_Failure_EverythingIsWrong: 40019 for these.
  test("not JSON, no notification, no device, an empty pushkey: 40019", () => {
    for (const body of ["this isn't even JSON'", '{"message":"this is not really a Matrix message"}', '{"notification":{"devices":[]}}', '{"notification":{"devices":[{"pushkey":""}]}}', '{"notification":{"devices":[{"pushkey":5}]}}'])
      expect(code(() => matrixPushkey(bytes(body)))).toBe(40019);
  });
  test("a pushkey names a path here only when it starts with the base URL and a slash", () => {
    expect(pushkeyPath("https://push.example.org/upAbCdEf123456?up=1", "https://push.example.org")).toBe("/upAbCdEf123456?up=1");
    expect(pushkeyPath("https://push.example.org/upAbCdEf123456?up=1", "https://push.example.org/")).toBe("/upAbCdEf123456?up=1");
    expect(pushkeyPath("https://push.example.org/ntfy/upA?up=1", "https://push.example.org/ntfy")).toBe("/upA?up=1");
    expect(pushkeyPath("https://push.example.org.evil.test/upA", "https://push.example.org")).toBeNull();
    expect(pushkeyPath("http://wrong-base-url.com/mytopic?up=1", "https://push.example.org")).toBeNull();
    expect(pushkeyPath("https://push.example.org/?up=1", "https://push.example.org")).toBeNull();
  });
  test("the answer is ntfy's {\"rejected\":[…]} with its newline", () => {
    expect(matrixAnswer([])).toBe('{"rejected":[]}\n');
    expect(matrixAnswer(["http://wrong-base-url.com/mytopic?up=1"])).toBe('{"rejected":["http://wrong-base-url.com/mytopic?up=1"]}\n');
  });
});

describe("the desktop client beside UnifiedPush", () => {
  test("a base64 body shows as a short note of its size, never as base64; text on an up… topic shows as sent", () => {
    const env = { id: "1-0", time: 1, channel: "upAbCdEf123456", message: Buffer.from(new Uint8Array(300).fill(0xaa)).toString("base64"), encoding: "base64" as const };
    expect(toastFor(env).body).toContain("(an encrypted UnifiedPush message, 300 bytes)");
    expect(toastFor(env).body).not.toContain(env.message);
    expect(messageLine(env)).toContain("(an encrypted UnifiedPush message, 300 bytes)");
    expect(toastFor({ ...env, message: "plain", encoding: undefined }).body).toContain("plain");
  });
});

describe("an up… topic's subscriber record (--visitor-subscriber-rate-limiting)", () => {
  const now = 1_800_000_000_000;
  // visitor.go: a rate visitor is stale past visitorExpungeAfter (a day) since it was last seen.
  test("a subscriber seen within a day holds the topic; never seen, or seen longer ago, is ntfy's 507", () => {
    expect(UP_SUBSCRIBER_FRESH_MS).toBe(24 * 3600 * 1000);
    expect(upSubscriberState(now, now)).toBe("fresh");
    expect(upSubscriberState(now - UP_SUBSCRIBER_FRESH_MS, now)).toBe("fresh");
    expect(upSubscriberState(now - UP_SUBSCRIBER_FRESH_MS - 1, now)).toBe("gone");
    expect(upSubscriberState(null, now)).toBe("never");
  });
  // server.go handlePublishMatrix: the 507 becomes {"rejected":[pushkey]} only for a topic last accessed over 12 h ago.
  test("the Matrix gateway rejects the pushkey only of a topic whose subscriber is gone", () => {
    expect(matrixRejectsPushkey("gone")).toBe(true);
    expect(matrixRejectsPushkey("never")).toBe(false);
    expect(matrixRejectsPushkey("fresh")).toBe(false);
  });
  test("a stream entry ID's milliseconds, the time the record was written", () => {
    expect(streamIdMs("1733350000000-0")).toBe(1_733_350_000_000);
    expect(streamIdMs("1733350000000-17")).toBe(1_733_350_000_000);
    expect(streamIdMs("nonsense")).toBeNull();
    expect(streamIdMs("")).toBeNull();
  });
});
