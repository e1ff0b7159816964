// test/app.fixes.browser.test.ts — end to end in Debian's Chromium at 390×844: what a new user found wrong in the app
// (globs, a quiet channel pushed out by a busy one, a removed channel coming back, right-to-left text, links, "x, y"
// in Add, a 4.5 KB message, clipped focus rings), the iOS Home Screen hint, and the service worker's push handler
// driven through DevTools (ServiceWorker.deliverPushMessage). Screenshots go to .tmp/screenshots/.
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { CHROME_ARGS, CHROMIUM, PHONE, SHOTS, appUnderTest } from "./chromium";
import { needs, post } from "./helpers";

const app = appUnderTest();

const publish = (fields: Record<string, string>) => post(app.web.url, fields, { status: 200 });
const live = (page: Page) => page.waitForFunction(() => document.getElementById("status")?.textContent === "Live", null, { timeout: 10000 });

needs(CHROMIUM).describe("the app, as a new user tried it", () => {
  test("a glob: /?channels=octo/* shows a message to octo/hello, live and from history", async () => {
    await publish({ channel: "octo/before", message: "from history" });
    const page = await app.browser.newPage(PHONE);
    await page.goto(`${app.web.url}/?channels=octo/*`);
    await live(page);
    await page.getByText("from history").waitFor({ timeout: 5000 });
    await publish({ channel: "octo/hello", title: "ann pushed", message: "3 commits to main" });
    await page.getByText("3 commits to main").waitFor({ timeout: 3000 });
    await page.close();
  }, 30000);

  test("one message on a quiet channel outlives 210 on a busy one; older ones load on request", async () => {
    const page = await app.browser.newPage(PHONE);
    await page.goto(`${app.web.url}/?channels=quiet,busy`);
    await live(page);
    await publish({ channel: "quiet", message: "the only quiet one" });
    for (let i = 0; i < 210; i++) await publish({ channel: "busy", message: `busy ${i}` });
    await page.getByText("busy 209", { exact: true }).waitFor({ timeout: 10000 });
    await page.reload();
    const chip = (name: string) => page.locator("button.name", { hasText: new RegExp(`^${name}`) });
    await chip("quiet").click();
    await page.getByText("the only quiet one").waitFor({ timeout: 5000 });
    await chip("busy").click();
    expect(await page.locator("#messages li").count()).toBe(200);
    await page.getByRole("button", { name: "Load older messages" }).click();
    await page.getByText("busy 5", { exact: true }).waitFor({ timeout: 5000 });
    expect(await page.locator("#messages li").count()).toBe(210);
    await page.close();
  }, 60000);

  test("a channel removed in the app stays removed after a reload, though the first address named it", async () => {
    const page = await app.browser.newPage(PHONE);
    await page.goto(`${app.web.url}/?channels=keep,drop`);
    await live(page);
    expect(new URL(page.url()).search).toBe("");
    await page.getByRole("button", { name: "Remove drop" }).click();
    await page.reload();
    await page.getByRole("button", { name: "Remove keep" }).waitFor();
    expect(await page.getByRole("button", { name: "Remove drop" }).count()).toBe(0);
    await page.close();
  }, 30000);

  test("right-to-left text, clickable links, 'x, y' in Add, a long message folded, and focus rings not clipped", async () => {
    const page = await app.browser.newPage(PHONE);
    await page.goto(`${app.web.url}/`);
    await page.getByLabel("Add a channel").fill("texts, rtl");
    await page.getByLabel("Add a channel").press("Enter");
    await page.getByRole("button", { name: "Remove texts" }).waitFor();
    await page.getByRole("button", { name: "Remove rtl" }).waitFor();
    await live(page);
    await publish({ channel: "rtl", title: "שלום עולם", message: "مرحبا بالعالم، هذه رسالة" });
    await publish({ channel: "texts", message: "Build failed: see https://ci.example.com/builds/42. Logs at https://logs.example.com/x?y=1" });
    await publish({ channel: "texts", title: "Stack trace", message: Array.from({ length: 90 }, (_, i) => `    at frame${i} (/srv/app/module${i}.js:${i}:${i * 3})`).join("\n") });
    await page.getByText("Stack trace").waitFor({ timeout: 3000 });
    const dir = await page.getByText("مرحبا بالعالم، هذه رسالة").evaluate((el) => getComputedStyle(el).direction);
    expect(dir).toBe("rtl");
    expect(await page.getByText("שלום עולם").evaluate((el) => getComputedStyle(el).direction)).toBe("rtl");
    expect(await page.getByRole("link", { name: "https://ci.example.com/builds/42" }).getAttribute("href")).toBe("https://ci.example.com/builds/42");
    expect(await page.getByRole("link", { name: "https://logs.example.com/x?y=1" }).count()).toBe(1);
    const long = page.locator("li.msg", { hasText: "Stack trace" });
    const folded = await long.evaluate((el) => el.getBoundingClientRect().height);
    expect(folded).toBeLessThan(400);
    await page.screenshot({ path: `${SHOTS}/app-fixes.png` });
    await long.getByRole("button", { name: "Show more" }).click();
    expect(await long.evaluate((el) => el.getBoundingClientRect().height)).toBeGreaterThan(folded * 3);
    await long.getByRole("button", { name: "Show less" }).waitFor();
    // Keyboard focus on a chip's button: its ring is drawn, not cut off by the chip.
    await page.getByRole("button", { name: "Mute rtl" }).focus();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Shift+Tab");
    expect(await page.locator(".chip").first().evaluate((el) => getComputedStyle(el).overflow)).toBe("visible");
    await page.locator(".panel").screenshot({ path: `${SHOTS}/app-focus-ring.png` });
    await page.close();
  }, 30000);

  test("in an iOS browser tab, the app says to add it to the Home Screen first", async () => {
    const ctx = await app.browser.newContext({ ...PHONE, userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1" });
    const page = await ctx.newPage();
    await page.goto(`${app.web.url}/?channels=ios`);
    const hint = page.locator("#push-status");
    await hint.waitFor({ state: "visible", timeout: 5000 });
    expect(await hint.textContent()).toContain("add Notistream to your Home Screen first");
    expect(await page.getByRole("button", { name: "Enable notifications" }).isVisible()).toBe(false);
    await page.screenshot({ path: `${SHOTS}/app-ios-hint.png` });
    await ctx.close();
  }, 30000);
});

needs(CHROMIUM).describe("the service worker's push handler (driven through DevTools)", () => {
  test("a push becomes a notification: title, body with the channel, a tag per message, the icon", async () => {
    const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "notistream-chrome-")), { executablePath: CHROMIUM, headless: true, args: CHROME_ARGS, ...PHONE });
    try {
      await ctx.grantPermissions(["notifications"], { origin: app.web.url });
      const page = ctx.pages()[0] ?? (await ctx.newPage());
      await page.goto(`${app.web.url}/?channels=pushed`);
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
      const cdp = await ctx.newCDPSession(page);
      const registration = new Promise<string>((resolve) =>
        cdp.on("ServiceWorker.workerRegistrationUpdated", (ev: { registrations: { registrationId: string; scopeURL: string; isDeleted: boolean }[] }) => {
          const r = ev.registrations.find((x) => x.scopeURL === `${app.web.url}/` && !x.isDeleted);
          if (r) resolve(r.registrationId);
        }),
      );
      await cdp.send("ServiceWorker.enable");
      const registrationId = await registration;
      const envelope = { id: "1700000000000-0", time: 1700000000, channel: "pushed", message: "the app is closed", title: "Deploy", priority: 5, url: "https://example.com/d" };
      let shown: unknown[] = [];
      // On a loaded machine a push delivered while the worker is still starting can be dropped: deliver it again
      // if nothing showed (the same tag, so a second delivery replaces the first rather than adding one).
      for (let attempt = 0; attempt < 3 && !shown.length; attempt++) {
        await cdp.send("ServiceWorker.deliverPushMessage", { origin: app.web.url, registrationId, data: JSON.stringify(envelope) });
        for (let i = 0; i < 50 && !shown.length; i++) {
          shown = await page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, icon: n.icon, sticky: n.requireInteraction, data: n.data })));
          if (!shown.length) await Bun.sleep(100);
        }
      }
      expect(shown).toEqual([
        // Tagged by the message's sequence ID (its id when it has none) and channel since issue 25, so an update replaces it.
        { title: "Deploy", body: "the app is closed\npushed", tag: "1700000000000-0 pushed", icon: `${app.web.url}/icon-192.png`, sticky: true, data: { url: "https://example.com/d", channel: "pushed", id: "1700000000000-0" } },
      ]);
    } finally {
      await ctx.close();
    }
  }, 30000);
});
