// test/app.text.test.ts — the app's pure rules: channel input, which of your channels or globs a message belongs to,
// messages kept per channel, links in text (trailing punctuation left out), what counts as long; and issue 25's rich
// fields: cards folded by sequence_id, safe URLs, attachments, Markdown, and a message as a notification.
import { describe, expect, test } from "bun:test";
import { attachmentPlan, channelMatcher, foldCards, httpUrl, isLong, keepPerChannel, notificationFor, parseChannelInput, plainText, sizeText, splitLinks } from "../app/text";
import { markdownHtml, markdownText } from "../app/markdown";
import type { Envelope } from "../message";

const env = (channel: string, n: number) => ({ id: `${n}-0`, time: n, channel, message: `m${n}` });

describe("app text rules", () => {
  test("'x, y' is two channels; blanks and repeats go", () => {
    expect(parseChannelInput("x, y ,, x")).toEqual(["x", "y"]);
    expect(parseChannelInput("  ")).toEqual([]);
  });
  test("a message belongs to its channel by name, else to the first glob that matches", () => {
    const owner = channelMatcher(["alerts", "octo/*", "o*"]);
    expect(owner("alerts")).toBe("alerts");
    expect(owner("octo/hello")).toBe("octo/*");
    expect(owner("other")).toBe("o*");
    expect(owner("zzz")).toBeNull();
  });
  test("each channel keeps its own newest ones: a busy one never pushes out a quiet one", () => {
    const all = [env("quiet", 1), ...Array.from({ length: 300 }, (_, i) => env("busy", i + 2)), env("gone", 999)];
    const kept = keepPerChannel(all, ["quiet", "busy"], 200);
    expect(kept.filter((m) => m.channel === "busy").length).toBe(200);
    expect(kept.some((m) => m.channel === "quiet")).toBe(true);
    expect(kept.some((m) => m.channel === "gone")).toBe(false);
    expect(kept[0]!.id).toBe("301-0"); // newest first
  });
  test("links are found, a sentence's punctuation stays outside, and a link with brackets keeps them", () => {
    expect(splitLinks("see https://x.test/a. Then (https://y.test/b) and https://w.test/wiki/Foo_(bar)!")).toEqual([
      { text: "see " },
      { url: "https://x.test/a" },
      { text: ". Then (" },
      { url: "https://y.test/b" },
      { text: ") and " },
      { url: "https://w.test/wiki/Foo_(bar)" },
      { text: "!" },
    ]);
    expect(splitLinks("no links here")).toEqual([{ text: "no links here" }]);
    expect(splitLinks("javascript:alert(1) ftp://x")).toEqual([{ text: "javascript:alert(1) ftp://x" }]);
  });
  test("long is over 600 characters or 12 lines", () => {
    expect(isLong("a".repeat(600))).toBe(false);
    expect(isLong("a".repeat(601))).toBe(true);
    expect(isLong("a\n".repeat(12))).toBe(true);
  });
});

const msg = (id: string, extra: Partial<Envelope> = {}): Envelope => ({ id, time: Number(id.split("-")[0]), channel: "ci", message: `m${id}`, ...extra });

describe("cards folded by sequence_id (ntfy's append-only log: an update, message_delete, message_clear)", () => {
  test("an update replaces its card in place; another sequence ID or channel is another card", () => {
    const cards = foldCards([msg("3-0", { sequence_id: "b1", message: "passed" }), msg("2-0", { sequence_id: "other" }), msg("1-0", { sequence_id: "b1", message: "running" }), msg("4-0", { channel: "cd", sequence_id: "b1" })]);
    expect(cards.map((c) => [c.m.channel, c.m.sequence_id, c.m.message, c.read])).toEqual([
      ["cd", "b1", "m4-0", false],
      ["ci", "b1", "passed", false],
      ["ci", "other", "m2-0", false],
    ]);
  });
  test("a message without a sequence ID is its own card (its id is its sequence ID), so a delete names its id", () => {
    expect(foldCards([msg("1-0"), msg("2-0", { event: "message_delete", sequence_id: "1-0" })])).toEqual([]);
  });
  test("delete removes the card, clear marks it read, and a later update shows it unread again", () => {
    const del = foldCards([msg("1-0", { sequence_id: "s" }), msg("2-0", { sequence_id: "s", event: "message_delete" })]);
    expect(del).toEqual([]);
    const cleared = foldCards([msg("1-0", { sequence_id: "s" }), msg("2-0", { sequence_id: "s", event: "message_clear" })]);
    expect(cleared.map((c) => [c.m.id, c.read])).toEqual([["1-0", true]]);
    const again = foldCards([msg("1-0", { sequence_id: "s" }), msg("2-0", { sequence_id: "s", event: "message_clear" }), msg("3-0", { sequence_id: "s" })]);
    expect(again.map((c) => [c.m.id, c.read])).toEqual([["3-0", false]]);
  });
  test("plain messages (no id) are never folded together", () => {
    expect(foldCards([msg("", { message: "a" }), msg("", { message: "b" })]).length).toBe(2);
  });
});

describe("URLs, sizes, attachments", () => {
  test("only http(s) URLs pass; a relative one is taken against the base", () => {
    expect(httpUrl("https://x.test/a")).toBe("https://x.test/a");
    for (const bad of ["javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:alert(1)", "data:text/html,<b>", "vbscript:x", "file:///etc/passwd", "/relative", "", undefined])
      expect(httpUrl(bad)).toBeNull();
    expect(httpUrl("/file/abc.png", "http://n.test:8080")).toBe("http://n.test:8080/file/abc.png");
    expect(httpUrl("javascript:alert(1)", "http://n.test")).toBeNull();
  });
  test("sizes read as people write them", () => {
    expect([0, 999, 1000, 12_345, 3_400_000, 15_000_000, 5e12].map(sizeText)).toEqual(["0 B", "999 B", "1.0 KB", "12 KB", "3.4 MB", "15 MB", "5.0 TB"]);
  });
  test("an image is previewed under the limit, asked for when its size is unknown, never above it; other files are links", () => {
    expect(attachmentPlan({ name: "cat.png", type: "image/png", size: 120_000, url: "https://f.test/cat.png" })).toEqual({ url: "https://f.test/cat.png", image: "preview", caption: "cat.png · 120 KB" });
    expect(attachmentPlan({ name: "cat.jpg", url: "https://f.test/cat.jpg" }).image).toBe("ask");
    expect(attachmentPlan({ name: "big.png", type: "image/png", size: 9_000_000, url: "https://f.test/big.png" })).toEqual({ url: "https://f.test/big.png", image: "no", caption: "big.png · 9.0 MB, not previewed (over 5.0 MB)" });
    expect(attachmentPlan({ name: "log.txt", type: "text/plain", size: 10, url: "https://f.test/log.txt" }).image).toBe("no");
    expect(attachmentPlan({ name: "x.png", type: "image/png", size: 10, url: "javascript:alert(1)" })).toMatchObject({ url: null, image: "no" });
  });
});

describe("Markdown: markdown-it, raw HTML off, only http(s) and mailto links", () => {
  test("renders emphasis, lists, code and links", () => {
    const html = markdownHtml("**Build** passed\n\n- one\n- `two`\n\n[log](https://ci.test/1) and https://x.test");
    expect(html).toContain("<strong>Build</strong>");
    expect(html).toContain("<li><code>two</code></li>");
    expect(html).toContain('<a href="https://ci.test/1" target="_blank" rel="noopener noreferrer">log</a>');
    expect(html).toContain('<a href="https://x.test" target="_blank" rel="noopener noreferrer">https://x.test</a>');
  });
  test("raw HTML is text, and javascript:, data: and relative links are not links", () => {
    const html = markdownHtml('<img src=x onerror="alert(1)"> <script>alert(1)</script> [a](javascript:alert(1)) [b](JAVASCRIPT:alert(1)) [c](java&#09;script:alert(1)) <javascript:alert(1)> [d](data:text/html,x) [e](/push) ![i](https://x.test/i.png)');
    expect(html).not.toMatch(/<img|<script|href="(?!https?:|mailto:)/i);
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
  });
  test("as a notification's text: clean, no asterisks or link syntax", () => {
    expect(markdownText("# Deploy\n\n**v2** is *live*: [notes](https://x.test)\n\n- a\n- b")).toBe("Deploy\nv2 is live: notes\n• a\n• b");
  });
});

describe("a message as a notification (the service worker's and the page's)", () => {
  const rich = msg("5-0", {
    title: "Door",
    sequence_id: "door-7",
    content_type: "text/markdown",
    message: "**Front** door open",
    icon: "https://i.test/door.png",
    attachment: { name: "cam.jpg", type: "image/jpeg", size: 80_000, url: "https://f.test/cam.jpg" },
    actions: [
      { id: "a", action: "copy", label: "Copy code", clear: false, value: "1234" },
      { id: "b", action: "view", label: "Camera", clear: false, url: "https://cam.test" },
      { id: "c", action: "http", label: "Close", clear: true, url: "https://door.test/close", method: "PUT" },
      { id: "d", action: "view", label: "Bad", clear: false, url: "javascript:alert(1)" },
    ],
  });
  test("tag by sequence ID and channel, clean body, icon, image, view and http actions up to maxActions", () => {
    const n = notificationFor(rich, 2);
    expect(n.title).toBe("Door");
    expect(n.options).toMatchObject({ body: "Front door open\nci", tag: "door-7 ci", icon: "https://i.test/door.png", image: "https://f.test/cam.jpg", actions: [{ action: "b", title: "Camera" }, { action: "c", title: "Close" }] });
    expect(n.options.data.actions?.map((a) => a.id)).toEqual(["b", "c"]);
    expect(notificationFor(rich, 0).options.actions).toEqual([]);
    expect(notificationFor(rich, 1).options.actions).toEqual([{ action: "b", title: "Camera" }]);
  });
  test("without a sequence ID the tag is the message's id; an icon that is not http(s) is the app's own", () => {
    const n = notificationFor(msg("6-0", { icon: "javascript:alert(1)" }), 2);
    expect(n.options).toMatchObject({ tag: "6-0 ci", icon: "/icon-192.png", actions: [] });
    expect("image" in n.options).toBe(false);
  });
});

describe("UnifiedPush's ciphertext in the app (issue 26)", () => {
  test("a base64 body reads as a note of its size, in a card's text and a notification's body, as on the desktop", () => {
    const env = { id: "1-0", time: 1, channel: "upAbCdEf123456", message: Buffer.from(new Uint8Array(300)).toString("base64"), encoding: "base64" } as Envelope;
    expect(plainText(env)).toBe("(an encrypted UnifiedPush message, 300 bytes)");
    expect(plainText({ ...env, encoding: undefined, message: "hello" })).toBe("hello");
  });
});
