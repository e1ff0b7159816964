// test/client_toast.test.ts — what a desktop notification says: urgency by priority, the channel and tags kept visible,
// the link, markup escaping, and catch-ups and bursts grouped per channel instead of flooding the screen.
import { describe, expect, test } from "bun:test";
import { BurstGrouper, GROUP_OVER, catchUpToasts, markupEscape, summaryToast, toastFor, toastUrgency } from "../client_toast";
import type { Envelope } from "../message";

const env = (n: number, extra: Partial<Envelope> = {}): Envelope => ({ id: `${n}-0`, time: n, channel: "alerts", message: `m${n}`, ...extra });

describe("one message", () => {
  test("priority 5 is critical, 3-4 and none normal, 1-2 low", () => {
    expect([1, 2, 3, 4, 5, undefined].map(toastUrgency)).toEqual(["low", "low", "normal", "normal", "critical", "normal"]);
  });
  test("with a title the channel and tags stay visible; without one the channel is the summary", () => {
    expect(toastFor(env(1, { title: "Disk", tags: ["prod", "db"] }))).toEqual({ channel: "alerts", summary: "Disk", body: "m1\nalerts · #prod #db", urgency: "normal" });
    expect(toastFor(env(1, { title: "Disk" })).body).toBe("m1\nalerts");
    expect(toastFor(env(1)).summary).toBe("alerts");
    expect(toastFor(env(1)).body).toBe("m1");
    expect(toastFor(env(1, { tags: ["x"] })).body).toBe("m1\n#x");
    expect(toastFor(env(1, { url: "https://x.test/1", priority: 5 }))).toMatchObject({ url: "https://x.test/1", urgency: "critical" });
  });
  test("the text is kept exactly; escaping for markup servers covers &, < and >", () => {
    const text = `-3 tests fixed since yesterday\nexpected <string> but got <null> & "quotes" 'too' 🚀`;
    expect(toastFor(env(1, { message: text })).body).toBe(text);
    expect(markupEscape("a <b> & c &amp;")).toBe("a &lt;b&gt; &amp; c &amp;amp;");
  });
});

describe("grouping", () => {
  test("a catch-up of more than 3 on a channel is one summary; 3 or fewer stay one by one, in order", () => {
    const missed = [...Array.from({ length: 60 }, (_, i) => env(i + 1, { priority: i === 10 ? 5 : 3 })), env(100, { channel: "ci" }), env(101, { channel: "ci" })];
    const toasts = catchUpToasts(missed);
    expect(toasts.map((t) => t.summary)).toEqual(["60 missed on alerts", "ci", "ci"]);
    expect(toasts[0]).toMatchObject({ body: "latest: m60", urgency: "critical" });
    expect(toasts.slice(1).map((t) => t.body)).toEqual(["m100", "m101"]);
  });
  test("a summary names the latest with its title, and keeps its link", () => {
    const t = summaryToast("alerts", [env(1), env(2, { title: "Deploy", message: "v2 is live\nmore", url: "https://x.test/2" })], "missed");
    expect(t).toEqual({ channel: "alerts", summary: "2 missed on alerts", body: "latest: Deploy: v2 is live", urgency: "normal", url: "https://x.test/2" });
  });
  test("a live burst: the first 3 in a window show, the rest become one summary when it ends", () => {
    const g = new BurstGrouper(5000);
    const shown = Array.from({ length: 50 }, (_, i) => g.offer(env(i + 1), 1000 + i)).filter((t) => t !== null);
    expect(shown.length).toBe(GROUP_OVER);
    expect(g.nextFlushAt()).toBe(6000);
    expect(g.flush(5999)).toEqual([]);
    expect(g.flush(6000).map((t) => t.summary)).toEqual(["47 more on alerts"]);
    // The flood goes on: the next window holds from its first message, one summary per window.
    expect(g.offer(env(60), 6500)).toBeNull();
    expect(g.flush(11000).map((t) => t.summary)).toEqual(["alerts"]);
    // Quiet again: a new message shows at once.
    expect(g.flush(20000)).toEqual([]);
    expect(g.offer(env(70), 20001)).not.toBeNull();
    expect(g.nextFlushAt()).toBeNull();
  });
  test("channels are paced apart", () => {
    const g = new BurstGrouper(5000);
    for (let i = 0; i < 5; i++) g.offer(env(i), 0);
    expect(g.offer(env(9, { channel: "other" }), 1)).not.toBeNull();
  });
});

describe("control characters (issue 22, medium 5)", () => {
  test("a message's escapes reach the notification daemon as visible text, in summary and body; newlines and tabs stay", () => {
    const t = toastFor(env(1, { title: "\x1b]0;pwned\x07Deploy", message: "ok\x1b[2J\tdone\nline 2 \u009b31m \u202egpj.exe", channel: "ci\x1b[8m" }));
    expect(t.summary).toBe("\\x1b]0;pwned\\x07Deploy");
    expect(t.body).toBe("ok\\x1b[2J\tdone\nline 2 \\x9b31m \\u202egpj.exe\nci\\x1b[8m");
    expect(toastFor(env(1, { message: "a\x00b" })).body).toBe("a\\x00b"); // a NUL could not even be an argument
    const s = summaryToast("c\x1b", [env(1), env(2, { title: "T\x1b", message: "first\x07\r\nsecond" })], "missed");
    expect(s.summary).toBe("2 missed on c\\x1b");
    expect(s.body).toBe("latest: T\\x1b: first\\x07");
  });
});
