// test/app.browser.test.ts — end to end in a real browser: Debian's Chromium driven by playwright-core at a phone
// viewport. The app subscribes from ?channels=, shows a POSTed message within 2 s and raises a notification through
// the service worker, shows it again from history after a reload, and passes Chromium's installability checks.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { CHROME_ARGS, CHROMIUM, SHOTS, haveChromium } from "./chromium";
import { needs, post, startPubSub, startWebServer, type Running } from "./helpers";

let pubsub: Running;
let web: Running & { url: string };
let browser: Browser;
beforeAll(async () => {
  if (!haveChromium) return;
  pubsub = await startPubSub();
  web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROME_ARGS,
  });
}, 30000); // two servers and a browser start: more than bun's 5 s for a hook on a busy machine
afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await pubsub?.stop();
});


needs(CHROMIUM).describe("the web app on a phone", () => {
  test("subscribe, enable notifications, receive, reload from history, installable", async () => {
    // A persistent profile, not an incognito context: Chromium refuses to call anything installable in incognito.
    const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "notistream-chrome-")), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROME_ARGS,
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    await context.grantPermissions(["notifications"], { origin: web.url });
    // This test is the page's own notifications: the browser's push service is refused, as where there is none, so the
    // app stays on them (whether Chromium can reach Google's push service from here would otherwise decide).
    // Web Push itself is tested in Firefox ESR against a push service of the tests' own (app.push.firefox*).
    await context.addInitScript(() => {
      PushManager.prototype.subscribe = () => Promise.reject(new DOMException("Registration failed - push service not available", "AbortError"));
      // What the page asks the browser to show, and whether the browser took it. Headless Chromium's own list
      // (getNotifications) has come back empty in CI while the page had shown the notification, so the test reads this.
      const asked: { title: string; body: string; result: string }[] = [];
      (window as unknown as { askedToShow: typeof asked }).askedToShow = asked;
      const show = ServiceWorkerRegistration.prototype.showNotification;
      ServiceWorkerRegistration.prototype.showNotification = function (title: string, options?: NotificationOptions) {
        const entry = { title, body: options?.body ?? "", result: "pending" };
        asked.push(entry);
        return show.call(this, title, options).then(
          () => void (entry.result = "shown"),
          (e: unknown) => ((entry.result = `refused: ${String(e)}`), Promise.reject(e)),
        );
      };
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const consoleLines: string[] = []; // printed if no notification shows, to say why
    page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    await page.goto(`${web.url}/?channels=phone-test`);
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await page.getByRole("button", { name: "Enable notifications" }).click();
    // The page raises notifications once the permission prompt has answered and the push subscription was refused
    // (it says so); the stream may be live before that, and a message that came first would rightly raise none.
    await page.getByText("Notifications are on while this page is open (this browser has no Web Push here).").waitFor({ timeout: 10000 });
    await page.getByRole("button", { name: "Enable notifications" }).waitFor({ state: "hidden", timeout: 1000 });
    expect(await page.evaluate(() => localStorage.getItem("notistream.notify"))).toBe('"page"');
    await page.waitForFunction(() => document.getElementById("status")?.textContent === "Live", null, { timeout: 10000 });

    const started = Date.now();
    expect((await post(web.url, { channel: "phone-test", title: "Deploy finished", message: "v2.4.1 is live on production", url: "https://example.com/deploys/241", priority: "4", tags: "prod,deploy" })).status).toBe(200);
    await page.getByText("v2.4.1 is live on production").waitFor({ timeout: 2000 });
    console.log(`message on screen ${Date.now() - started} ms after the POST`);
    await expect(page.getByRole("link", { name: "Open link →" }).getAttribute("href")).resolves.toBe("https://example.com/deploys/241");

    // Polled here, not with waitForFunction: its handling of an async predicate proved flaky under load.
    let asked: { title: string; body: string; result: string }[] = [];
    for (let i = 0; i < 50 && !asked.some((a) => a.result !== "pending"); i++) {
      asked = await page.evaluate(() => (window as unknown as { askedToShow: { title: string; body: string; result: string }[] }).askedToShow.map((a) => ({ ...a })));
      if (!asked.some((a) => a.result !== "pending")) await Bun.sleep(100);
    }
    const listed = await page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body })));
    console.log(`the page asked to show ${JSON.stringify(asked)}; the browser lists ${JSON.stringify(listed)}`);
    if (!asked.length) console.log(`no notification asked for; the page's console:\n${consoleLines.join("\n")}\nerrors: ${errors.join("\n")}`);
    // The same notification a push shows (app/text.ts notificationFor): under a title, the body names the channel; the
    // browser took it (showNotification resolved).
    expect(asked).toContainEqual({ title: "Deploy finished", body: "v2.4.1 is live on production\nphone-test", result: "shown" });

    // A few more, so the screenshot shows what the list looks like in use.
    await post(web.url, { channel: "phone-test", title: "octo/hello: ann pushed 3 commits to main", message: "abc1234 Fix login (+2 more)", url: "https://github.com/octo/hello" });
    await post(web.url, { channel: "phone-test", message: "Backups completed in 4 min", tags: "ops" });
    await page.getByText("Backups completed in 4 min").waitFor({ timeout: 2000 });
    await Bun.sleep(500); // let the arrival animation finish
    await page.screenshot({ path: `${SHOTS}/app-phone.png` });

    // Forget what the page kept, then reload: the message must come back from the server's history.
    await page.evaluate(() => localStorage.removeItem("notistream.messages"));
    await page.reload();
    await page.getByText("v2.4.1 is live on production").waitFor({ timeout: 5000 });

    const reg = await page.evaluate(async () => {
      const r = await navigator.serviceWorker.getRegistration();
      return r ? { scope: r.scope, active: Boolean(r.active) } : null;
    });
    expect(reg).toEqual({ scope: `${web.url}/`, active: true });
    const manifest = await (await fetch(`${web.url}/manifest.webmanifest`)).json();
    expect(manifest).toMatchObject({ name: "Notistream", display: "standalone", start_url: "/" });
    expect(manifest.icons.map((i: { sizes: string }) => i.sizes)).toEqual(expect.arrayContaining(["192x192", "512x512"]));
    const cdp = await context.newCDPSession(page);
    const installability = (await cdp.send("Page.getInstallabilityErrors")) as { installabilityErrors: { errorId: string }[] };
    expect(installability.installabilityErrors).toEqual([]);
    const appManifest = (await cdp.send("Page.getAppManifest")) as { errors: { message: string }[] };
    expect(appManifest.errors).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 60000);

  test("a message published between the history load and the stream's open is shown: the stream starts where history ended", async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    try {
      // Published the moment the app asks for its stream, after it has read the (empty) history of both names.
      let published = "";
      await page.route("**/events?**", async (route) => {
        if (!published) {
          const r = await post(web.url, { channel: "gap-deploys", title: "Deploy started", message: "v2.5 rolling out to 3 hosts" });
          published = ((await r.json()) as { id: string }).id;
        }
        await route.continue();
      });
      await page.goto(`${web.url}/?channels=gap-deploys,gap-octo/*`);
      await page.getByText("v2.5 rolling out to 3 hosts").waitFor({ timeout: 5000 });
      expect(published).toMatch(/^\d+-\d+$/);
      await page.waitForFunction(() => document.getElementById("status")?.textContent === "Live", null, { timeout: 10000 });
      // And live ones after it, on the glob too.
      await post(web.url, { channel: "gap-octo/web", message: "Fix the login form" });
      await page.getByText("Fix the login form").waitFor({ timeout: 5000 });
    } finally {
      await page.close();
    }
  }, 30000);

  test("opens offline from the service worker's cache, with the last messages", async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, colorScheme: "dark" });
    const page = await context.newPage();
    await page.goto(`${web.url}/?channels=offline-test`);
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await page.waitForFunction(() => document.getElementById("status")?.textContent === "Live", null, { timeout: 10000 });
    await post(web.url, { channel: "offline-test", title: "Cached", message: "still here when offline" });
    await page.getByText("still here when offline").waitFor({ timeout: 2000 });
    await page.reload(); // the service worker now controls the page
    await page.getByText("still here when offline").waitFor({ timeout: 5000 });
    await context.setOffline(true);
    await page.reload();
    await page.getByText("still here when offline").waitFor({ timeout: 5000 });
    await page.screenshot({ path: `${SHOTS}/app-offline-dark.png` });
    expect(await page.locator("#status").textContent()).toMatch(/Offline|Reconnecting|Connecting/);
    await context.close();
  }, 60000);

  test("a web server that cannot subscribe (wrong pub/sub password) says why on the phone", async () => {
    const locked = await startPubSub(["--password", "right-pw"]);
    const bad = await startWebServer(`redis://:wrong-pw@127.0.0.1:${locked.port}`);
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    try {
      await page.goto(`${bad.url}/?channels=alerts`);
      await page.waitForFunction(() => document.getElementById("status")?.textContent === "Not receiving", null, { timeout: 10000 });
      const problem = page.locator("#problem");
      expect(await problem.isVisible()).toBe(true);
      expect(await problem.textContent()).toContain("WRONGPASS");
      await page.screenshot({ path: `${SHOTS}/app-hub-refused.png` });
    } finally {
      await page.close();
      await bad.stop();
      await locked.stop();
    }
  }, 30000);

  test("keyboard: add and remove a channel without a mouse", async () => {
    const context = await browser.newContext({ viewport: { width: 430, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${web.url}/`);
    await page.getByLabel("Add a channel").focus();
    await page.keyboard.type("keys-test");
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Remove keys-test" }).waitFor();
    await page.getByRole("button", { name: "Mute keys-test" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Unmute keys-test" }).waitFor();
    await page.getByRole("button", { name: "Remove keys-test" }).focus();
    await page.keyboard.press("Enter");
    expect(await page.getByRole("button", { name: "Remove keys-test" }).count()).toBe(0);
    await context.close();
  }, 30000);
});

needs(CHROMIUM).describe("the web app on a server that needs a login", () => {
  test("the browser is asked for a Basic login, and once given it the app is live and shows messages", async () => {
    const sha = (p: string) => new Bun.CryptoHasher("sha256").update(p).digest("hex");
    const file = join(mkdtempSync(join(tmpdir(), "notistream-acl-")), "users.acl");
    await Bun.write(file, `user default off\nuser web on #${sha("web-pw")} allchannels ~notistream:* +@all\nuser bob on #${sha("bob-pw")} &team/* +@all\nuser eve on #${sha("eve-pw")} &other/* +@all\n`);
    const closedPubsub = await startPubSub(["--acl", file]);
    const closedWeb = await startWebServer(`redis://web:web-pw@127.0.0.1:${closedPubsub.port}`, ["--acl", file]);
    try {
      const stranger = await browser.newContext();
      // Headless Chromium has no login dialog: a Basic challenge it cannot answer fails the navigation.
      await expect((await stranger.newPage()).goto(`${closedWeb.url}/?channels=team/ops`)).rejects.toThrow("ERR_INVALID_AUTH_CREDENTIALS");
      await stranger.close();

      const context = await browser.newContext({ httpCredentials: { username: "bob", password: "bob-pw" }, viewport: { width: 390, height: 844 } });
      const page = await context.newPage();
      expect((await page.goto(`${closedWeb.url}/?channels=team/ops`))?.status()).toBe(200);
      await page.waitForFunction(() => document.getElementById("status")?.textContent === "Live", null, { timeout: 10000 });
      const r = await post(closedWeb.url, { channel: "team/ops", message: "only for the team" }, { headers: { authorization: `Basic ${btoa("bob:bob-pw")}` } });
      expect(r.status).toBe(200);
      await page.getByText("only for the team").waitFor({ timeout: 3000 });
      await context.close();

      // A user without the right sees why, instead of "Reconnecting…" forever.
      const eve = await browser.newContext({ httpCredentials: { username: "eve", password: "eve-pw" } });
      const evePage = await eve.newPage();
      await evePage.goto(`${closedWeb.url}/?channels=team/ops`);
      await evePage.waitForFunction(() => document.getElementById("status")?.textContent === "Not allowed", null, { timeout: 10000 });
      expect(await evePage.locator("#status").getAttribute("title")).toBe(`user 'eve' may not read "team/ops"; the ACL file sets each user's channels`);
      await eve.close();
    } finally {
      await closedWeb.stop();
      await closedPubsub.stop();
    }
  }, 60000);
});
