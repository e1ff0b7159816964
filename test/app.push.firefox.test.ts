// test/app.push.firefox.test.ts — end to end in a real browser with the page closed: Debian's Firefox ESR (under Xvfb,
// driven by puppeteer-core over WebDriver BiDi) uses a Mozilla push service written in the test (dom.push.serverURL).
// The app subscribes when "Enable notifications" is clicked, muting updates the server, the page is closed, a POST
// arrives, and Firefox's service worker shows the notification. Issue 25's rich pushes through ntfy's routes (PUT with
// X-Actions and X-Sequence-ID, DELETE /<topic>/<sid>): two actions, an update that replaces the notification (tag by
// sequence ID) and a delete that closes it, each with the page closed.
// A screenshot of the screen goes to .tmp/screenshots/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { spawn, type Subprocess } from "bun";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { ROOT, needs, post, startPubSub, startWebServer, until, type Running } from "./helpers";
import { startMozillaPush } from "./mozpush";

const FIREFOX = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";
const SHOTS = `${ROOT}/.tmp/screenshots`;

/** Waits until an async check holds, or fails naming `what`. */
async function eventually(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

needs(FIREFOX, "Xvfb").describe("Web Push in Firefox ESR with the page closed", () => {
  let xvfb: Subprocess;
  let display = "";
  let moz: ReturnType<typeof startMozillaPush>;
  let pubsub: Running;
  let web: Running & { url: string };
  let browser: Browser;
  beforeAll(async () => {
    display = `:${500 + Math.floor(Math.random() * 400)}`;
    xvfb = spawn(["Xvfb", display, "-screen", "0", "1280x900x24"], { stdout: "ignore", stderr: "ignore" });
    moz = startMozillaPush();
    pubsub = await startPubSub();
    web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--push-endpoints", moz.origin, "--push-contact", "mailto:ops@example.com"]);
    await Bun.sleep(300);
    browser = await puppeteer.launch({
      browser: "firefox",
      executablePath: FIREFOX,
      // Headless Firefox has no way to show a notification (showNotification fails); a real display does.
      headless: false,
      env: { ...process.env, DISPLAY: display },
      extraPrefsFirefox: {
        "dom.push.serverURL": moz.url,
        "dom.push.testing.allowInsecureServerURL": true,
        "dom.push.enabled": true,
        "dom.push.connection.enabled": true,
        "permissions.default.desktop-notification": 1,
        "alerts.useSystemBackend": false,
      },
    });
    mkdirSync(SHOTS, { recursive: true });
  }, 60000);
  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    await pubsub?.stop();
    moz?.stop();
    xvfb?.kill();
  });

  const pushStatus = (page: Page) => page.$eval("#push-status", (e) => e.textContent ?? "");
  const publish = (channel: string, message: string, title?: string) => post(web.url, { channel, message, ...(title ? { title } : {}) }, { status: 200 });
  const pushes = () => moz.log.filter((l) => l.startsWith("push ")).length;

  test("subscribe with a click, mute updates the server, close the page: the service worker shows the push", async () => {
    const page = await browser.newPage();
    // fxdoor: an ntfy topic name, for the rich pushes published through ntfy's routes below.
    await page.goto(`${web.url}/?channels=fx/*,fx-muted,fxdoor`);
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    // On a fresh profile the first subscribe can stall; a reload a few seconds later fixes it.
    for (let attempt = 0; attempt < 3; attempt++) {
      await page.click("#enable-notifications");
      const on = await eventually("push on", async () => (await pushStatus(page)).includes("Push notifications are on"), 8000).then(
        () => true,
        () => false,
      );
      if (on) break;
      await page.reload();
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    }
    expect(await pushStatus(page)).toBe("Push notifications are on for 3 channels: they arrive with the app closed.");
    expect(moz.registered()).toBe(1);
    const metrics = () => fetch(`${web.url}/metrics`).then((r) => r.text());
    expect(await metrics()).toMatch(/^notistream_push_subscriptions 1$/m);

    // Muting a channel tells the server: a message there is not pushed.
    await page.click('button[aria-label="Mute fx-muted"]');
    await eventually("server updated", async () => (await pushStatus(page)).includes("for 2 channels"), 5000);
    const before = pushes();
    await publish("fx-muted", "should not be pushed");

    await page.close(); // the app is closed now
    const deployId = ((await (await publish("fx/deploys", "v2 is live on production", "Deploy finished")).json()) as { id: string }).id;
    await until("pushed and acknowledged", () => pushes() === before + 1 && moz.acks.length === pushes(), 10000);
    expect(moz.log.some((l) => l.startsWith("ws nack"))).toBe(false);
    await Bun.sleep(500);
    if (Bun.which("import")) Bun.spawnSync(["import", "-display", display, "-window", "root", `${SHOTS}/firefox-push.png`]); // to look at, when ImageMagick is there

    // The notification the service worker showed, read back from a new page of the app.
    const again = await browser.newPage();
    await again.goto(`${web.url}/`);
    const shown = await again.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag })));
    // Tagged by the message's sequence ID (its id, having none) and its channel, since issue 25.
    expect(shown).toEqual([{ title: "Deploy finished", body: "v2 is live on production\nfx/deploys", tag: `${deployId} fx/deploys` }]);
    await again.close();
  }, 90000);

  /** Publishes through ntfy's route, PUT /<topic>, with ntfy's headers (docs/publish.md), expecting 200. */
  const ntfyPut = (topic: string, body: string, headers: Record<string, string>) => post(`${web.url}/${topic}`, body, { method: "PUT", headers, status: 200 });
  type Shown = { title: string; body: string; tag: string; image: string | null; actions: unknown };
  /** The notifications the service worker shows for `tag`, read back from a page opened for that and closed again. */
  async function shownFor(tag: string): Promise<Shown[]> {
    const page = await browser.newPage();
    await page.goto(`${web.url}/`);
    const got = await page.evaluate(async (t) => {
      const list = await (await navigator.serviceWorker.ready).getNotifications({ tag: t });
      return list.map((n) => {
        const x = n as Notification & { image?: string; actions?: { action: string; title: string }[] };
        return { title: x.title, body: x.body, tag: x.tag, image: x.image ?? null, actions: x.actions === undefined ? "no actions property" : x.actions.map((a) => ({ action: a.action, title: a.title })) };
      });
    }, tag);
    const max = await page.evaluate(() => (Notification as unknown as { maxActions?: number }).maxActions ?? "no maxActions property");
    console.log(`Firefox: Notification.maxActions = ${String(max)}; read back: ${JSON.stringify(got)}`);
    await page.close();
    return got;
  }

  test("rich pushes with the page closed: actions offered, an update replaces by sequence ID, a delete closes it", async () => {
    for (const p of await browser.pages()) if (p.url().startsWith(web.url)) await p.close();
    const tag = "door-1 fxdoor";
    const before = pushes();
    await ntfyPut("fxdoor", "**Motion** at the front door", {
      Title: "Front door",
      "X-Sequence-ID": "door-1",
      "X-Markdown": "yes",
      Attach: `${web.url}/icon-192.png`,
      "X-Actions": "view, Open camera, https://example.com/cam; http, Close door, https://example.com/door, method=PUT",
    });
    await until("the rich push acknowledged", () => pushes() === before + 1 && moz.acks.length === pushes(), 10000);
    await Bun.sleep(500);
    if (Bun.which("import")) Bun.spawnSync(["import", "-display", display, "-window", "root", `${SHOTS}/firefox-push-rich.png`]);
    const first = await shownFor(tag);
    // Firefox ESR 153 shows two actions (Notification.maxActions 2); it has no notification image (image reads null).
    expect(first.map(({ title, body, tag, actions }) => ({ title, body, tag, actions: (actions as { title: string }[]).map((a) => a.title) }))).toEqual([
      { title: "Front door", body: "Motion at the front door\nfxdoor", tag, actions: ["Open camera", "Close door"] },
    ]);

    await ntfyPut("fxdoor", "Door closed", { Title: "Front door", "X-Sequence-ID": "door-1" });
    await until("the update acknowledged", () => pushes() === before + 2 && moz.acks.length === pushes(), 10000);
    await eventually("the update shown", async () => (await shownFor(tag))[0]?.body === "Door closed\nfxdoor", 5000);
    expect((await shownFor(tag)).map((n) => n.body)).toEqual(["Door closed\nfxdoor"]);

    await post(`${web.url}/fxdoor/door-1`, null, { method: "DELETE", status: 200 });
    await until("the delete acknowledged", () => pushes() === before + 3 && moz.acks.length === pushes(), 10000);
    await eventually("the notification closed", async () => (await shownFor(tag)).length === 0, 5000);
    expect(moz.log.some((l) => l.startsWith("ws nack"))).toBe(false);
  }, 90000);
});
