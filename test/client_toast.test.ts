// test/client_toast.test.ts — what a desktop notification says: urgency by priority, the channel and tags kept visible,
// the link, markup escaping, catch-ups and bursts grouped per channel instead of flooding the screen, urgent ones never
// held back, updates folded by sequence_id, buttons, icon, image attachment and Markdown (issue 25).
import { describe, expect, test } from "bun:test";
import { BurstGrouper, GROUP_OVER, catchUpToasts, foldUpdates, markupEscape, summaryToast, toastFor, toastKey, toastUrgency } from "../client_toast";
import type { Envelope } from "../message";

const env = (n: number, extra: Partial<Envelope> = {}): Envelope => ({ id: `${n}-0`, time: n, channel: "alerts", message: `m${n}`, ...extra });

describe("one message", () => {
  test("priority 5 is critical, 3-4 and none normal, 1-2 low", () => {
    expect([1, 2, 3, 4, 5, undefined].map(toastUrgency)).toEqual(["low", "low", "normal", "normal", "critical", "normal"]);
  });
  test("with a title the channel and tags stay visible; without one the channel is the summary", () => {
    expect(toastFor(env(1, { title: "Disk", tags: ["prod", "db"] }))).toEqual({ channel: "alerts", summary: "Disk", body: "m1\nalerts · #prod #db", urgency: "normal", key: "alerts\n1-0" });
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
    const { toasts } = catchUpToasts(missed);
    // The priority-5 one (m11) shows on its own (issue 25: urgent stays urgent); the other 59 are one summary.
    expect(toasts.map((t) => t.summary)).toEqual(["alerts", "59 missed on alerts", "ci", "ci"]);
    expect(toasts[0]).toMatchObject({ body: "m11", urgency: "critical" });
    expect(toasts[1]).toMatchObject({ body: "latest: m60", urgency: "normal" });
    expect(toasts.slice(2).map((t) => t.body)).toEqual(["m100", "m101"]);
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

describe("urgent stays urgent (issue 25)", () => {
  test("a priority-5 \"Prod down\" after three messages on its channel shows at once, not held for the window's summary", () => {
    const g = new BurstGrouper(5000);
    for (let i = 1; i <= 3; i++) expect(g.offer(env(i), 1000)).not.toBeNull();
    const urgent = g.offer(env(4, { title: "Prod down", message: "db01 unreachable", priority: 5 }), 1001);
    expect(urgent).toMatchObject({ summary: "Prod down", urgency: "critical" });
    // Two more ordinary ones after it are held, and their summary does not swallow it.
    expect(g.offer(env(5), 1002)).toBeNull();
    expect(g.offer(env(6), 1003)).toBeNull();
    expect(g.flush(6000).map((t) => [t.summary, t.body])).toEqual([["2 more on alerts", "latest: m6"]]);
  });
  test("priority 4 too; an urgent one does not use up the window's three", () => {
    const g = new BurstGrouper(5000);
    for (let i = 1; i <= 3; i++) g.offer(env(i), 0);
    expect(g.offer(env(4, { priority: 4 }), 1)).not.toBeNull();
    expect(g.offer(env(5, { priority: 3 }), 2)).toBeNull();
    const h = new BurstGrouper(5000);
    for (let i = 1; i <= 5; i++) expect(h.offer(env(i, { priority: 5 }), 0)).not.toBeNull();
    expect(h.offer(env(6), 0)).not.toBeNull(); // the urgent five did not count
  });
});

describe("updates, deletes and clears (issue 25)", () => {
  test("a notification's key is its channel and sequence_id, else its id; a plain payload has none", () => {
    expect(toastKey(env(1, { sequence_id: "build-7" }))).toBe("alerts\nbuild-7");
    expect(toastKey(env(1))).toBe("alerts\n1-0");
    expect(toastKey({ id: "", time: 1, channel: "c", message: "plain" })).toBeUndefined();
  });
  test("a catch-up folds by sequence_id: the latest update only; a later delete or clear removes it and closes it", () => {
    const log = [
      env(1, { sequence_id: "b", message: "running" }),
      env(2, { message: "other" }),
      env(3, { sequence_id: "b", message: "passed" }),
      env(4, { sequence_id: "gone", message: "will be deleted" }),
      env(5, { sequence_id: "gone", event: "message_delete", message: "" }),
      env(6, { sequence_id: "read", message: "x" }),
      env(7, { sequence_id: "read", event: "message_clear", message: "" }),
      env(8, { sequence_id: "read", message: "back again" }),
    ];
    const { messages, closed } = foldUpdates(log);
    expect(messages.map((e) => e.message)).toEqual(["other", "passed", "back again"]);
    expect(closed).toEqual(["alerts\ngone", "alerts\nread"]);
    expect(catchUpToasts(log).toasts.map((t) => t.body)).toEqual(["other", "passed", "back again"]);
  });
});

describe("buttons, pictures and Markdown (issue 25)", () => {
  const act = (action: "view" | "http" | "copy" | "broadcast", label: string) => ({ id: `id${label}`, action, label, clear: false, url: "https://x.test/" });
  test("view, http and copy become buttons; broadcast is left out", () => {
    const t = toastFor(env(1, { actions: [act("view", "Open"), act("broadcast", "Ring"), act("http", "Close door")] }));
    expect(t.actions?.map((a) => [a.action, a.label])).toEqual([["view", "Open"], ["http", "Close door"]]);
    expect(toastFor(env(1, { actions: [act("broadcast", "Ring")] })).actions).toBeUndefined();
    expect(toastFor(env(1, { actions: [act("copy", "Copy\x1b[2J")] })).actions![0]!.label).toBe("Copy\\x1b[2J");
  });
  test("the icon's URL goes with the toast; an image attachment is its image, another file only named", () => {
    const img = toastFor(env(1, { icon: "https://x.test/i.png", attachment: { name: "cam.jpg", url: "https://x.test/file/a.jpg", type: "image/jpeg", size: 10 } }));
    expect(img).toMatchObject({ icon: "https://x.test/i.png", image: "https://x.test/file/a.jpg", body: "m1\nattached: cam.jpg" });
    expect(toastFor(env(1, { attachment: { name: "shot.png", url: "https://x.test/s.png" } })).image).toBe("https://x.test/s.png");
    const pdf = toastFor(env(1, { attachment: { name: "report.pdf", url: "https://x.test/r.pdf", type: "application/pdf" } }));
    expect(pdf.image).toBeUndefined();
    expect(pdf.body).toBe("m1\nattached: report.pdf");
    // An SVG is not an image a toast shows: a sender picks it, and it is a program for a large parser.
    expect(toastFor(env(1, { attachment: { name: "x.svg", url: "https://x.test/x.svg", type: "image/svg+xml" } })).image).toBeUndefined();
  });
  test("Markdown shows as clean text, in the toast and its summary's latest line; plain text keeps its asterisks", () => {
    const md = env(1, { message: "**Build** passed: [logs](https://ci.test/7)\n- `make` *ok*", content_type: "text/markdown" });
    expect(toastFor(md).body).toBe("Build passed: logs (https://ci.test/7)\n• make ok");
    expect(summaryToast("alerts", [env(0), md], "more").body).toBe("latest: Build passed: logs (https://ci.test/7)");
    expect(toastFor(env(1, { message: "2 * 3 = **6**" })).body).toBe("2 * 3 = **6**");
  });
});
