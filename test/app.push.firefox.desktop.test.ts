// test/app.push.firefox.desktop.test.ts — a rich Web Push (issue 25) shown by Firefox ESR through the desktop's
// notification daemon (alerts.useSystemBackend: dunst on a session D-Bus under Xvfb), with the page closed: the
// Notify call dunst receives is read back with dbus-monitor, so its action buttons are what the desktop got, and the
// screen is captured to look at. Published through ntfy's route PUT /<topic> with X-Actions and X-Sequence-ID. Then
// the "Close door" action is chosen in dunst's menu (a dmenu stand-in that picks it): the service worker sends the
// http action's request, which the test's door server receives.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import puppeteer, { type Browser } from "puppeteer-core";
import { DESKTOP, ROOT, needs, post, startDesktop, startPubSub, startWebServer, tempPath, until, type Running } from "./helpers";
import { startMozillaPush } from "./mozpush";

const FIREFOX = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";
const SHOTS = `${ROOT}/.tmp/screenshots`;

needs(FIREFOX, ...DESKTOP).describe("a rich Web Push on the desktop, through Firefox's system notifications", () => {
  let desktop: Awaited<ReturnType<typeof startDesktop>>;
  let moz: ReturnType<typeof startMozillaPush>;
  let pubsub: Running;
  let web: Running & { url: string };
  let browser: Browser;
  let door: ReturnType<typeof Bun.serve>;
  const knocks: string[] = [];
  beforeAll(async () => {
    // dunst's context menu runs "dmenu" with one line per action: this stand-in picks the Close door action.
    const config = tempPath("dunst-config");
    mkdirSync(`${config}/dunst`, { recursive: true });
    writeFileSync(`${config}/pick.sh`, '#!/bin/sh\ngrep -m1 "Close door"\n');
    chmodSync(`${config}/pick.sh`, 0o755);
    writeFileSync(`${config}/dunst/dunstrc`, `[global]\n    dmenu = ${config}/pick.sh\n`);
    const before = process.env.XDG_CONFIG_HOME;
    process.env.XDG_CONFIG_HOME = config; // read by the dunst startDesktop spawns, and put back at once
    try {
      desktop = await startDesktop();
    } finally {
      if (before === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = before;
    }
    // The http action's target; it allows any origin (CORS), as a server meant for the app's actions must.
    door = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const cors = { "access-control-allow-origin": "*", "access-control-allow-methods": "PUT" };
        if (req.method !== "OPTIONS") knocks.push(`${req.method} ${new URL(req.url).pathname} ${await req.text()}`);
        return new Response(null, { status: 204, headers: cors });
      },
    });
    moz = startMozillaPush();
    pubsub = await startPubSub();
    web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--push-endpoints", moz.origin, "--push-contact", "mailto:ops@example.com"]);
    browser = await puppeteer.launch({
      browser: "firefox",
      executablePath: FIREFOX,
      headless: false,
      env: { ...process.env, ...desktop.env },
      extraPrefsFirefox: {
        "dom.push.serverURL": moz.url,
        "dom.push.testing.allowInsecureServerURL": true,
        "dom.push.enabled": true,
        "dom.push.connection.enabled": true,
        "permissions.default.desktop-notification": 1,
        // The desktop's daemon shows it (libnotify over D-Bus), as on a Linux desktop.
        "alerts.useSystemBackend": true,
      },
    });
    mkdirSync(SHOTS, { recursive: true });
  }, 60000);
  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    await pubsub?.stop();
    moz?.stop();
    door?.stop(true);
    desktop?.stop();
  });

  test("the push's two actions reach the desktop's notification daemon with the page closed, and choosing the http one sends its request", async () => {
    const page = await browser.newPage();
    await page.goto(`${web.url}/?channels=fxdesk`);
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    const status = () => page.$eval("#push-status", (e) => e.textContent ?? "");
    // On a fresh profile the first subscribe can stall; a reload a few seconds later fixes it (as the other Firefox test).
    for (let attempt = 0; attempt < 3 && !(await status()).includes("Push notifications are on"); attempt++) {
      await page.click("#enable-notifications");
      for (let i = 0; i < 80 && !(await status()).includes("Push notifications are on"); i++) await Bun.sleep(100);
      if (!(await status()).includes("Push notifications are on")) await page.reload();
    }
    expect(await status()).toContain("Push notifications are on");
    await page.close();

    const pushes = () => moz.log.filter((l) => l.startsWith("push ")).length;
    await post(`${web.url}/fxdesk`, "**Motion** at the front door", {
      method: "PUT",
      status: 200,
      headers: { Title: "Front door", "X-Sequence-ID": "door-1", "X-Markdown": "yes", "X-Actions": `view, Open camera, https://example.com/cam; http, Close door, http://127.0.0.1:${door.port}/door, method=PUT, body=close` },
    });
    await until("pushed and acknowledged", () => pushes() === 1 && moz.acks.length === 1, 10000);
    await until("the desktop was asked to show it", () => desktop.calls().some((c) => c.summary === "Front door"), 10000);
    const call = desktop.calls().find((c) => c.summary === "Front door")!;
    console.log(`Notify call from Firefox: ${JSON.stringify(call)}`);
    // D-Bus actions come as pairs (key, label); Firefox adds its own "default" (a click on the toast) first.
    const labels = call.actions.filter((_, i) => i % 2 === 1);
    expect(labels).toEqual(expect.arrayContaining(["Open camera", "Close door"]));
    expect(call.body).toContain("Motion at the front door");
    await Bun.sleep(500);
    // dunst marks a toast that has actions "(A)" and lists them in its context menu, not as buttons on the toast.
    desktop.screenshot(`${SHOTS}/firefox-push-actions.png`);

    // Chosen on the desktop: Firefox wakes the service worker with the action, and it sends the request.
    desktop.dunstctl("context");
    await until("the door server got the action's request", () => knocks.length > 0, 10000);
    expect(knocks).toEqual(["PUT /door close"]);
  }, 90000);
});
