// test/web_attachlimits.test.ts — attachments' limits counted byte by byte as ntfy counts them (server/config.go defaults;
// visitor.go's BandwidthLimiter, a day's bucket; file_cache.go's total), and the flags read as ntfy's serve.go reads them.
import { describe, expect, test } from "bun:test";
import { AttachmentLedger, DEFAULT_ATTACHMENT_LIMITS, attachmentSettings, parseBaseUrl, parseDuration, parseSize } from "../web_attachlimits";

const limits = { fileSize: 100, totalSize: 250, visitorTotal: 150, visitorBandwidth: 400, expiryMs: 60_000 };

describe("the ledger", () => {
  test("a file past the per-file limit stops at the chunk that passes it, and counts nothing once aborted", () => {
    const l = new AttachmentLedger(limits);
    const up = l.begin("a");
    expect(up.add(60, 0)).toBeNull();
    expect(up.add(41, 0)).toBe("file");
    expect(up.size).toBe(60);
    up.abort();
    expect(l.totalSize).toBe(0);
    expect(l.usedBy("a")).toBe(0);
  });

  test("two uploads under way count together: the visitor's share, then the server's total", () => {
    const l = new AttachmentLedger({ ...limits, fileSize: 200 });
    const one = l.begin("a");
    const two = l.begin("a");
    expect(one.add(90, 0)).toBeNull();
    expect(two.add(61, 0)).toBe("visitor"); // 90 + 61 > 150
    expect(two.add(60, 0)).toBeNull();
    one.commit("f1", 60_000);
    two.commit("f2", 60_000);
    const other = l.begin("b");
    expect(other.add(101, 0)).toBe("total"); // 150 + 101 > 250
    expect(other.add(100, 0)).toBeNull();
  });

  test("bandwidth: uploads and downloads take from a day's bucket, which refills over 24 hours", () => {
    const l = new AttachmentLedger({ ...limits, fileSize: 1000, visitorTotal: 1000, totalSize: 1000 });
    const up = l.begin("a");
    expect(up.add(300, 0)).toBeNull();
    up.commit("f", 1);
    expect(l.takeBandwidth("a", 100, 0)).toBe(true);
    expect(l.takeBandwidth("a", 1, 0)).toBe(false); // 400 used
    expect(l.begin("a").add(1, 0)).toBe("bandwidth");
    expect(l.takeBandwidth("a", 100, 6 * 3_600_000)).toBe(true); // a quarter of a day refills a quarter
    expect(l.bandwidthLeft("b", 0)).toBe(400);
  });

  test("the early check on Content-Length names the first limit passed", () => {
    const l = new AttachmentLedger(limits);
    expect(l.wouldPass("a", 101, 0)).toBe("file");
    expect(l.wouldPass("a", 100, 0)).toBeNull();
  });

  test("files found on disk count once; expired ones are listed; forgotten ones free their bytes", () => {
    const l = new AttachmentLedger(limits);
    l.know("x", { visitor: "a", size: 50, expiresMs: 10 });
    l.know("x", { visitor: "a", size: 50, expiresMs: 10 });
    expect(l.totalSize).toBe(50);
    expect(l.expired(9)).toEqual([]);
    expect(l.expired(10)).toEqual(["x"]);
    l.forget("x");
    expect([l.totalSize, l.usedBy("a")]).toEqual([0, 0]);
  });
});

describe("flags", () => {
  test("sizes as ntfy's ParseSize reads them, durations as its flags take them", () => {
    expect([parseSize("15M"), parseSize("5g"), parseSize("300k"), parseSize("42"), parseSize("1.5M"), parseSize("")]).toEqual([15 * 1024 * 1024, 5 * 1024 ** 3, 300 * 1024, 42, null, null]);
    expect([parseDuration("3h"), parseDuration("90m"), parseDuration("2d"), parseDuration("soon")]).toEqual([3 * 3_600_000, 90 * 60_000, 2 * 86_400_000, null]);
  });
  test("ntfy's defaults: 15M a file, 5G in all, 100M a visitor, 500M a day, 3h", () => {
    expect(DEFAULT_ATTACHMENT_LIMITS).toEqual({ fileSize: 15 * 2 ** 20, totalSize: 5 * 2 ** 30, visitorTotal: 100 * 2 ** 20, visitorBandwidth: 500 * 2 ** 20, expiryMs: 3 * 3_600_000 });
  });
  test("--base-url: http(s), no trailing slash, no login or query; the cache dir needs it, as ntfy's serve.go does", () => {
    expect(parseBaseUrl("https://notify.example.com/")).toBe("https://notify.example.com");
    expect(parseBaseUrl("http://10.0.0.1:8080/notify/")).toBe("http://10.0.0.1:8080/notify");
    for (const bad of ["notify.example.com", "ftp://x", "https://u:p@x", "https://x/?a=1"]) expect(() => parseBaseUrl(bad)).toThrow();
    const f = { "attachment-cache-dir": "/tmp/x", "attachment-file-size-limit": "15M", "attachment-total-size-limit": "5G", "visitor-attachment-total-size-limit": "100M", "visitor-attachment-daily-bandwidth-limit": "500M", "attachment-expiry-duration": "3h" };
    expect(() => attachmentSettings(f, undefined)).toThrow(/needs --base-url/);
    expect(attachmentSettings(f, "https://x")).toEqual({ dir: "/tmp/x", baseUrl: "https://x", limits: DEFAULT_ATTACHMENT_LIMITS });
    expect(attachmentSettings({}, "https://x")).toBeUndefined();
    expect(() => attachmentSettings({ ...f, "attachment-file-size-limit": "big" }, "https://x")).toThrow(/--attachment-file-size-limit must be a size/);
  });
});
