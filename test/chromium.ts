// test/chromium.ts — how the browser tests find and start Debian's Chromium (no download), and where their
// screenshots go. Shared by every *.browser.test.ts.
import { mkdirSync } from "node:fs";
import { ROOT, have } from "./helpers";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const haveChromium = have(CHROMIUM);
/** Screenshots for a person to look at. */
export const SHOTS = `${ROOT}/.tmp/screenshots`;
if (haveChromium) mkdirSync(SHOTS, { recursive: true });
// Flags from this machine's notes: no sandbox as root, and no background traffic to hosts it cannot reach.
export const CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
