// test/app.rich.browser.test.ts — end to end in Debian's Chromium at 390×844 (issue 25): the app shows the rich fields.
// Markdown (markdown-it, raw HTML off), an image attachment previewed lazily under the size limit and a file as a
// link, an icon, action buttons (view opens, http is sent from the page and its result shown, copy copies, broadcast
// says why not); updates replace a card, deletes remove it, clears mark it read, live and after a reload; no field
// runs script; and the service worker's push handler (through DevTools) tags, updates, closes and offers actions.
// Envelopes are published straight to the pub/sub server as the web server would (XADD to history, then PUBLISH).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { CHROME_ARGS, CHROMIUM, SHOTS, haveChromium } from "./chromium";
import { ROOT, Raw, needs, startPubSub, startWebServer, type Running } from "./helpers";
import { buildEnvelope, envelopeFields, type Notification as Publish } from "../message";
import { SINGLE_NODE } from "../layout";

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
/** Where the issue asks for the screenshots a person looks at. */
const ISSUE_SHOTS = "/tmp/shots";
const PNG = readFileSync(`${ROOT}/app/icon-192.png`);

let pubsub: Running;
let web: Running & { url: string };
let browser: Browser;
let raw: Raw;
/** A server of files and of an http action's target, recording what it was asked. */
let side: ReturnType<typeof Bun.serve>;
const hits: string[] = [];
const door: { method: string; token: string | null; body: string }[] = [];

beforeAll(async () => {
  if (!haveChromium) return;
  mkdirSync(ISSUE_SHOTS, { recursive: true });
  pubsub = await startPubSub();
  web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`);
  raw = await Raw.open(pubsub.port);
  side = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const path = new URL(req.url).pathname;
      hits.push(`${req.method} ${path}`);
      const cors = { "access-control-allow-origin": "*", "access-control-allow-methods": "PUT", "access-control-allow-headers": "x-token, content-type" };
      if (path === "/door" && req.method === "OPTIONS") return new Response(null, { status: 204, headers: cors });
      if (path === "/door") {
        door.push({ method: req.method, token: req.headers.get("x-token"), body: await req.text() });
        return new Response("ok", { headers: cors });
      }
      if (path === "/nocors") return new Response("no CORS headers here");
      if (path.endsWith(".png")) return new Response(PNG, { headers: { "content-type": "image/png" } });
      return new Response("not found", { status: 404 });
    },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROME_ARGS });
}, 30000);
afterAll(async () => {
  await browser?.close();
  raw?.close();
  side?.stop(true);
  await web?.stop();
  await pubsub?.stop();
});

/** Publishes as the web server does: the envelope's fields to the channel's history, then the envelope with its ID. */
async function publish(n: Publish): Promise<string> {
  const now = Date.now();
  const id = String(await raw.call("XADD", SINGLE_NODE.historyKey(n.channel), "*", ...envelopeFields(n, now)));
  await raw.call("PUBLISH", n.channel, JSON.stringify(buildEnvelope(n, id, now)));
  return id;
}

const sideUrl = (path: string) => `http://127.0.0.1:${side.port}${path}`;
const live = (page: Page) => page.waitForFunction(() => document.getElementById("status")?.textContent === "Live", null, { timeout: 10000 });
const card = (page: Page, text: string) => page.locator("#messages > li", { hasText: text });

needs(CHROMIUM).describe("rich messages in the app", () => {
  test("Markdown, an image previewed lazily under the limit, files as links, an icon, and actions that work", async () => {
    const context = await browser.newContext(PHONE);
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: web.url });
    const page = await context.newPage();
    await page.goto(`${web.url}/?channels=rich`);
    await live(page);
    await publish({
      channel: "rich",
      title: "Nightly report",
      message: "3 files attached below",
      attachment: { name: "build.log", type: "text/plain", size: 12_345, url: sideUrl("/build.log") },
      actions: [
        { id: "b1", action: "broadcast", label: "Tell Tasker", clear: false, intent: "io.heckel.ntfy.USER_ACTION" },
        { id: "b2", action: "http", label: "Ping", clear: false, url: sideUrl("/nocors"), method: "POST" },
      ],
    });
    await publish({ channel: "rich", title: "Huge photo", message: "too large to preview", attachment: { name: "huge.png", type: "image/png", size: 9_000_000, url: sideUrl("/huge.png") } });
    await publish({ channel: "rich", title: "Photo, size unknown", message: "loads on a tap", attachment: { name: "cam.png", url: sideUrl("/cam.png") } });
    await publish({
      channel: "rich",
      title: "Front door",
      content_type: "text/markdown",
      message: "**Motion** at the *front door*\n\n- camera `cam-2`\n- [recording](https://example.com/rec/7)",
      icon: sideUrl("/icon.png"),
      attachment: { name: "snapshot.png", type: "image/png", size: PNG.length, url: sideUrl("/snapshot.png") },
      actions: [
        { id: "a1", action: "view", label: "Open camera", clear: false, url: "https://example.com/cam/2" },
        { id: "a2", action: "http", label: "Close door", clear: true, url: sideUrl("/door"), method: "PUT", headers: { "x-token": "t0k" }, body: "close" },
        { id: "a3", action: "copy", label: "Copy code", clear: false, value: "4711" },
      ],
    });
    const door1 = card(page, "Front door");
    await door1.waitFor({ timeout: 5000 });

    // Markdown: rendered, links safe; the icon and the preview are lazy images of http(s) URLs.
    expect(await door1.locator(".md strong").textContent()).toBe("Motion");
    expect(await door1.locator(".md code").textContent()).toBe("cam-2");
    expect(await door1.locator(".md a").getAttribute("href")).toBe("https://example.com/rec/7");
    expect(await door1.locator("img.icon").getAttribute("src")).toBe(sideUrl("/icon.png"));
    const preview = door1.locator(".attachment img");
    expect(await preview.getAttribute("loading")).toBe("lazy");
    expect(await preview.getAttribute("src")).toBe(sideUrl("/snapshot.png"));
    await page.waitForFunction(() => (document.querySelector(".attachment img") as HTMLImageElement | null)?.naturalWidth === 192, null, { timeout: 5000 });
    expect(await door1.locator(".attachment .file").textContent()).toBe(`snapshot.png · ${(PNG.length / 1000).toFixed(1)} KB`);

    // A file is a link with its name and size; an image over the limit is never fetched; one of unknown size on a tap.
    expect(await card(page, "Nightly report").locator(".attachment a.file").getAttribute("href")).toBe(sideUrl("/build.log"));
    expect(await card(page, "Nightly report").locator(".attachment").textContent()).toBe("build.log · 12 KB");
    expect(await card(page, "Huge photo").locator(".attachment").textContent()).toBe("huge.png · 9.0 MB, not previewed (over 5.0 MB)");
    expect(await card(page, "Huge photo").locator("img").count()).toBe(0);
    const unknown = card(page, "Photo, size unknown");
    expect(await unknown.locator("img").count()).toBe(0);
    await unknown.getByRole("button", { name: "Show image (size unknown)" }).click();
    await unknown.locator(".attachment img").waitFor({ timeout: 3000 });

    // view opens its URL in a new tab; http is sent from the page and its result shown; copy copies.
    const view = door1.getByRole("link", { name: "Open camera" });
    expect([await view.getAttribute("href"), await view.getAttribute("target"), await view.getAttribute("rel")]).toEqual(["https://example.com/cam/2", "_blank", "noopener noreferrer"]);
    await door1.getByRole("button", { name: "Close door" }).click();
    await door1.getByText("Close door: done (PUT answered 200)").waitFor({ timeout: 5000 });
    expect(door).toEqual([{ method: "PUT", token: "t0k", body: "close" }]);
    expect(await door1.getAttribute("class")).toContain("read"); // clear: true marks it read once done
    await door1.getByRole("button", { name: "Copy code" }).click();
    await door1.getByText("Copy code: copied").waitFor({ timeout: 3000 });
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe("4711");

    // A server that does not allow the app's origin: the failure says CORS. broadcast says why a browser cannot.
    const report = card(page, "Nightly report");
    await report.getByRole("button", { name: "Ping" }).click();
    await report.getByText(/Ping: failed, .*CORS/).waitFor({ timeout: 5000 });
    const broadcast = report.getByRole("button", { name: "Tell Tasker" });
    expect(await broadcast.getAttribute("aria-disabled")).toBe("true");
    expect(await broadcast.getAttribute("title")).toContain("only ntfy's Android app");
    await broadcast.click({ force: true }); // aria-disabled, yet a tap says why (Playwright waits for "enabled" otherwise)
    await report.getByText("Tell Tasker: An Android broadcast: only ntfy's Android app can send one, a browser cannot").waitFor();
    expect(hits.filter((h) => h.includes("huge"))).toEqual([]);

    // The screenshot for a person: a fresh card (no action result yet) at the top.
    await publish({
      channel: "rich",
      title: "Garage camera",
      content_type: "text/markdown",
      message: "**Motion** in the *garage* at 21:04\n\n- camera `cam-3`, 2 people\n- [open the recording](https://example.com/rec/8)",
      icon: sideUrl("/icon.png"),
      attachment: { name: "garage.png", type: "image/png", size: PNG.length, url: sideUrl("/garage.png") },
      actions: [
        { id: "g1", action: "view", label: "Open camera", clear: false, url: "https://example.com/cam/3" },
        { id: "g2", action: "http", label: "Turn on lights", clear: true, url: sideUrl("/door"), method: "PUT" },
        { id: "g3", action: "copy", label: "Copy code", clear: false, value: "4711" },
      ],
    });
    await page.waitForFunction(() => (document.querySelector("#messages > li .attachment img") as HTMLImageElement | null)?.naturalWidth === 192, null, { timeout: 5000 });
    await Bun.sleep(500); // the arrival animation
    // The newest card from its top (below the sticky bar): icon, channel, time, Markdown, picture and buttons.
    await page.evaluate(() => window.scrollTo(0, document.getElementById("messages")!.getBoundingClientRect().top + window.scrollY - 72));
    await page.screenshot({ path: `${SHOTS}/app-rich.png` });
    await page.screenshot({ path: `${ISSUE_SHOTS}/app-rich.png` });
    await context.close();
  }, 60000);

  test("an update replaces its card, a clear marks it read, a delete removes it: live, and again after a reload from history", async () => {
    const page = await browser.newPage(PHONE);
    await page.goto(`${web.url}/?channels=ci`);
    await live(page);
    const keys = () => page.locator("#messages > li").evaluateAll((lis) => lis.map((li) => [(li as HTMLElement).dataset.key, li.querySelector("h3, p, .md")?.textContent, li.classList.contains("read")]));
    await publish({ channel: "ci", sequence_id: "build-41", title: "Build 41", message: "running" });
    await publish({ channel: "ci", sequence_id: "deploy-9", title: "Deploy 9", message: "rolling out" });
    await publish({ channel: "ci", message: "an ordinary message" });
    await page.getByText("an ordinary message").waitFor({ timeout: 5000 });
    await publish({ channel: "ci", sequence_id: "build-41", title: "Build 41", message: "passed" });
    await page.getByText("passed").waitFor({ timeout: 5000 });
    expect(await page.getByText("running").count()).toBe(0);
    expect((await keys()).map((k) => k[0])).toEqual(["ci\nbuild-41", expect.stringMatching(/^ci\n\d+-\d+$/), "ci\ndeploy-9"]);

    await publish({ channel: "ci", sequence_id: "deploy-9", event: "message_clear", message: "" });
    await page.locator("#messages > li.read", { hasText: "Deploy 9" }).waitFor({ timeout: 5000 });
    await publish({ channel: "ci", sequence_id: "build-41", event: "message_delete", message: "" });
    await page.locator("#messages > li", { hasText: "Build 41" }).waitFor({ state: "detached", timeout: 5000 });
    const settled = [[expect.stringMatching(/^ci\n\d+-\d+$/), "an ordinary message", false], ["ci\ndeploy-9", "Deploy 9", true]];
    expect(await keys()).toEqual(settled);
    await page.screenshot({ path: `${SHOTS}/app-fold.png` });

    // After a reload: catch-up from what the page kept, then from history alone.
    await page.reload();
    await live(page);
    expect(await keys()).toEqual(settled);
    await page.evaluate(() => localStorage.removeItem("notistream.messages"));
    await page.reload();
    await live(page);
    await page.getByText("an ordinary message").waitFor({ timeout: 5000 });
    expect(await keys()).toEqual(settled);
    await page.close();
  }, 60000);

  test("no field runs script: javascript: URLs and <img onerror> in every field, rendered with the page's CSP bypassed", async () => {
    const X = `<img src=x onerror="window.__xss=(window.__xss||0)+1">`;
    const JS = "javascript:window.__xss=(window.__xss||0)+1";
    const evil = `xss${X}`;
    // bypassCSP: the app's own Content-Security-Policy would stop inline script anyway; this proves the rendering does.
    const context: BrowserContext = await browser.newContext({ ...PHONE, bypassCSP: true });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${web.url}/?channels=${encodeURIComponent(`xss,${evil}`)}`);
    await live(page);
    const actions = [
      { id: "v", action: "view" as const, label: X, clear: false, url: JS },
      { id: "h", action: "http" as const, label: `h${X}`, clear: false, url: JS, body: X },
      { id: "c", action: "copy" as const, label: `c${X}`, clear: false, value: X },
    ];
    await publish({ channel: "xss", title: X, message: `${X} ${JS} <script>window.__xss=1</script>`, url: JS, icon: JS, tags: [X], attachment: { name: X, type: "image/png", size: 10, url: JS }, actions });
    await publish({
      channel: "xss",
      title: JS,
      content_type: "text/markdown",
      message: `${X}\n\n[a](${JS}) <${JS}> [b](JAVASCRIPT:window.__xss=1) [c](java&#09;script:window.__xss=1) [d](data:text/html,<script>window.__xss=1</script>) ![e](x" onerror="window.__xss=1)\n\n<script>window.__xss=1</script>`,
      icon: `https://x.invalid/" onerror="window.__xss=1`,
      url: `https://x.invalid/"><img src=x onerror=window.__xss=1>`,
      attachment: { name: X, url: `https://x.invalid/a.png"><img src=x onerror=window.__xss=1>`, type: "image/png", size: 10 },
      actions,
    });
    await publish({ channel: evil, title: "a channel named with markup", message: X, attachment: { name: `${X}.png`, url: JS } });
    await page.getByText("a channel named with markup").waitFor({ timeout: 5000 });
    // Press everything a reader could: every action, every "Show more" or "Show image".
    for (const b of await page.locator("#messages button").all()) await b.click({ force: true });
    await Bun.sleep(500);
    const found = await page.evaluate(() => {
      const all = [...document.querySelectorAll("*")];
      return {
        ran: (window as unknown as { __xss?: number }).__xss ?? 0,
        scripts: document.querySelectorAll("#messages script, #messages iframe, #messages object, #messages embed").length,
        handlers: all.flatMap((e) => [...e.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${e.tagName} ${a.name}`)),
        badHrefs: [...document.querySelectorAll("a[href]")].map((a) => (a as HTMLAnchorElement).href).filter((h) => !/^(https?:|mailto:)/.test(h)),
        badSrcs: [...document.querySelectorAll("#messages img")].map((i) => (i as HTMLImageElement).src).filter((s) => !/^https?:/.test(s)),
        imgsFromText: [...document.querySelectorAll("#messages img")].filter((i) => i.getAttribute("src") === "x").length,
      };
    });
    expect(found).toEqual({ ran: 0, scripts: 0, handlers: [], badHrefs: [], badSrcs: [], imgsFromText: 0 });
    // The markup shows as the text it is.
    expect(await page.locator("#messages h3", { hasText: X }).count()).toBe(1);
    expect(await page.locator("#channels", { hasText: evil }).count()).toBe(1);
    expect(errors).toEqual([]);
    await page.screenshot({ path: `${SHOTS}/app-xss.png` });
    await context.close();
  }, 60000);

  test("the page is served with a Content-Security-Policy that allows no inline script", async () => {
    const csp = (await fetch(`${web.url}/`)).headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).toContain("object-src 'none'");
  });
});

needs(CHROMIUM).describe("the service worker with rich pushes (driven through DevTools)", () => {
  test("tag by sequence ID: an update replaces the notification, a clear or delete closes it; actions, icon and image", async () => {
    const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "notistream-chrome-")), { executablePath: CHROMIUM, headless: true, args: CHROME_ARGS, ...PHONE });
    try {
      await ctx.grantPermissions(["notifications"], { origin: web.url });
      const page = ctx.pages()[0] ?? (await ctx.newPage());
      await page.goto(`${web.url}/?channels=pushed`);
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
      const cdp = await ctx.newCDPSession(page);
      const registration = new Promise<string>((resolve) =>
        cdp.on("ServiceWorker.workerRegistrationUpdated", (ev: { registrations: { registrationId: string; scopeURL: string; isDeleted: boolean }[] }) => {
          const r = ev.registrations.find((x) => x.scopeURL === `${web.url}/` && !x.isDeleted);
          if (r) resolve(r.registrationId);
        }),
      );
      await cdp.send("ServiceWorker.enable");
      const registrationId = await registration;
      type Shown = { title: string; body: string; tag: string; icon: string; image: string; actions: { action: string; title: string }[] };
      const shown = () =>
        page.evaluate(async () =>
          (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => {
            const x = n as Notification & { image?: string; actions?: { action: string; title: string }[] };
            return { title: x.title, body: x.body, tag: x.tag, icon: x.icon, image: x.image ?? "", actions: (x.actions ?? []).map((a) => ({ action: a.action, title: a.title })) };
          }),
        );
      /** Delivers a push until what is shown passes `done` (a push delivered while the worker starts can be dropped). */
      const deliver = async (envelope: object, done: (s: Shown[]) => boolean): Promise<Shown[]> => {
        let now: Shown[] = [];
        for (let attempt = 0; attempt < 3; attempt++) {
          await cdp.send("ServiceWorker.deliverPushMessage", { origin: web.url, registrationId, data: JSON.stringify(envelope) });
          for (let i = 0; i < 50; i++) {
            now = await shown();
            if (done(now)) return now;
            await Bun.sleep(100);
          }
        }
        return now;
      };
      const maxActions = await page.evaluate(() => (Notification as unknown as { maxActions?: number }).maxActions ?? 0);
      const base = { time: 1700000000, channel: "pushed", sequence_id: "door-1", title: "Front door" };
      const rich = {
        ...base,
        id: "1700000000000-0",
        content_type: "text/markdown",
        message: "**Motion** seen",
        icon: sideUrl("/icon.png"),
        attachment: { name: "snap.png", type: "image/png", size: 1000, url: sideUrl("/snap.png") },
        actions: [
          { id: "a1", action: "view", label: "Open camera", clear: false, url: "https://example.com/cam" },
          { id: "a2", action: "copy", label: "Copy", clear: false, value: "x" },
          { id: "a3", action: "http", label: "Close door", clear: true, url: sideUrl("/door"), method: "PUT" },
        ],
      };
      const first = await deliver(rich, (s) => s.length === 1);
      const offered = [{ action: "a1", title: "Open camera" }, { action: "a3", title: "Close door" }].slice(0, maxActions);
      expect(first).toEqual([{ title: "Front door", body: "Motion seen\npushed", tag: "door-1 pushed", icon: sideUrl("/icon.png"), image: sideUrl("/snap.png"), actions: offered }]);
      console.log(`Chromium's Notification.maxActions: ${maxActions}; actions shown: ${JSON.stringify(first[0]?.actions)}`);

      const updated = await deliver({ ...base, id: "1700000000001-0", message: "Door closed" }, (s) => s[0]?.body === "Door closed\npushed");
      expect(updated.map((n) => [n.tag, n.body])).toEqual([["door-1 pushed", "Door closed\npushed"]]);
      // Another channel's notification with the same sequence ID is its own, and stays when this one is closed.
      await deliver({ ...base, channel: "other", id: "1700000000002-0", message: "elsewhere" }, (s) => s.length === 2);
      expect((await deliver({ ...base, id: "1700000000003-0", event: "message_clear", message: "" }, (s) => s.length === 1)).map((n) => n.tag)).toEqual(["door-1 other"]);
      expect(await deliver({ ...base, channel: "other", id: "1700000000004-0", event: "message_delete", message: "" }, (s) => s.length === 0)).toEqual([]);
    } finally {
      await ctx.close();
    }
  }, 60000);
});
