// test/chromium.ts — how the browser tests find and start Debian's Chromium (no download), and where their
// screenshots go, and the servers an app test runs against. Shared by every *.browser.test.ts.
import { afterAll, beforeAll } from "bun:test";
import { mkdirSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { ROOT, have, startPubSub, startWebServer, type Running } from "./helpers";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const haveChromium = have(CHROMIUM);
/** Screenshots for a person to look at. */
export const SHOTS = `${ROOT}/.tmp/screenshots`;
if (haveChromium) mkdirSync(SHOTS, { recursive: true });
// Flags from this machine's notes: no sandbox as root, and no background traffic to hosts it cannot reach.
export const CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** A phone's screen, as the app's screenshots are taken: 390×844 at twice the pixels, touch. */
export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/** What an app test runs against: a pub/sub server, a web server publishing to it, and Chromium. */
export type AppUnderTest = { pubsub: Running; web: Running & { url: string }; browser: Browser };

/**
 * Starts a pub/sub server, a web server on it (with `webArgs`) and Chromium before the file's tests, and stops them
 * after; the fields are set once beforeAll has run. Nothing starts without Chromium (the tests say why they skip).
 */
export function appUnderTest(webArgs: string[] = []): AppUnderTest {
  const app = {} as AppUnderTest;
  beforeAll(async () => {
    if (!haveChromium) return;
    app.pubsub = await startPubSub();
    app.web = await startWebServer(`redis://127.0.0.1:${app.pubsub.port}`, webArgs);
    app.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROME_ARGS });
  }, 30000); // two servers and a browser start: more than bun's 5 s for a hook on a busy machine
  afterAll(async () => {
    await app.browser?.close();
    await app.web?.stop();
    await app.pubsub?.stop();
  });
  return app;
}
