// test/app.routes.browser.test.ts — end to end in Debian's Chromium at 390×844 (issue 25), published through ntfy's
// routes as a sender would: PUT /<topic> with Markdown, an icon, actions, an attached URL and a sequence ID; the same
// sequence ID again updates the card, PUT /<topic>/<sid>/clear marks it read, DELETE /<topic>/<sid> removes it; a
// message with X-Delay shows under "Show scheduled messages" until a DELETE cancels it; an uploaded picture is
// previewed from /file/, and an uploaded HTML file is offered as a download.
// ntfy's routes and headers: docs/publish.md (v2.16+ "Updating, clearing and deleting"), server.go handlePublish,
// as /work/shared/reference/ntfy-gotify-wire.md cites them for v2.27.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { spawn } from "bun";
import type { Page } from "playwright-core";
import { CHROMIUM, PHONE, SHOTS, appUnderTest } from "./chromium";
import { sizeText } from "../app/text";
import { BUN, ROOT, freePort, needs, post, tempPath, waitForPort } from "./helpers";

const app = appUnderTest();

/** A request to one of ntfy's routes, expecting 200. */
const ntfy = (method: string, path: string, body: string | null, headers: Record<string, string> = {}) => post(`${app.web.url}${path}`, body, { method, headers, status: 200 });
const live = (page: Page) => page.waitForFunction(() => document.getElementById("status")?.textContent === "Live", null, { timeout: 10000 });

needs(CHROMIUM).describe("rich messages through ntfy's routes", () => {
  test("PUT with Markdown, icon, actions, Attach and a sequence ID; then update, clear and delete by that ID", async () => {
    const page = await app.browser.newPage(PHONE);
    await page.goto(`${app.web.url}/?channels=rt`);
    await live(page);
    await ntfy("PUT", "/rt", "**Door** is open\n\n- since `21:04`", {
      Title: "Front door",
      "X-Sequence-ID": "door-2",
      "X-Markdown": "yes",
      "X-Icon": `${app.web.url}/icon-192.png`,
      Attach: `${app.web.url}/icon-512.png`,
      "X-Actions": "view, Open camera, https://example.com/cam; http, Close door, https://example.com/door, method=PUT, body=close",
    });
    const door = page.locator("#messages > li", { hasText: "Front door" });
    await door.waitFor({ timeout: 5000 });
    expect(await door.getAttribute("data-key")).toBe("rt\ndoor-2");
    expect(await door.locator(".md strong").textContent()).toBe("Door");
    expect(await door.locator("img.icon").getAttribute("src")).toBe(`${app.web.url}/icon-192.png`);
    expect(await door.getByRole("link", { name: "Open camera" }).getAttribute("href")).toBe("https://example.com/cam");
    expect(await door.getByRole("button", { name: "Close door" }).getAttribute("title")).toContain("PUT https://example.com/door");
    // An attached URL comes with no size: the picture loads only when asked.
    expect(await door.locator(".attachment .file").getAttribute("href")).toBe(`${app.web.url}/icon-512.png`);
    await door.getByRole("button", { name: "Show image (size unknown)" }).click();
    await page.waitForFunction(() => (document.querySelector("#messages .attachment img") as HTMLImageElement | null)?.naturalWidth === 512, null, { timeout: 5000 });

    // The update by X-Sequence-ID (PUT /rt/door-2, ntfy's other way, publishes to the channel "rt/door-2" here today).
    await ntfy("PUT", "/rt", "Door closed", { Title: "Front door", "X-Sequence-ID": "door-2" });
    await door.getByText("Door closed").waitFor({ timeout: 5000 });
    expect(await page.locator("#messages > li").count()).toBe(1);
    await ntfy("PUT", "/rt/door-2/clear", null);
    await page.locator("#messages > li.read", { hasText: "Door closed" }).waitFor({ timeout: 5000 });
    await ntfy("DELETE", "/rt/door-2", null);
    await door.waitFor({ state: "detached", timeout: 5000 });
    await page.reload();
    await live(page);
    expect(await page.locator("#messages > li").count()).toBe(0);
    await page.close();
  }, 60000);

  test("a scheduled message shows as such when asked for, and goes when cancelled", async () => {
    const page = await app.browser.newPage(PHONE);
    await page.goto(`${app.web.url}/?channels=later`);
    await live(page);
    // The answer's id is the handle that cancels it (ntfy: its sequence ID, the message's own id when none was given).
    const handle = ((await (await ntfy("PUT", "/later", "Backup reminder", { "X-Delay": "1h", Title: "Nightly backup" })).json()) as { id: string }).id;
    await ntfy("PUT", "/later", "already here");
    await page.getByText("already here").waitFor({ timeout: 5000 });
    expect(await page.getByText("Backup reminder").count()).toBe(0);
    await page.getByLabel("Show scheduled messages").check();
    const card = page.locator("#messages > li.later", { hasText: "Backup reminder" });
    await card.waitFor({ timeout: 5000 });
    expect(await card.locator(".mark").textContent()).toBe("Scheduled");
    expect(await card.locator("time").textContent()).toMatch(/^for /);
    await page.screenshot({ path: `${SHOTS}/app-scheduled.png` });
    // Kept across a reload, as the other settings are.
    await page.reload();
    await card.waitFor({ timeout: 5000 });
    await ntfy("DELETE", `/later/${handle}`, null);
    await card.waitFor({ state: "detached", timeout: 5000 });
    await page.getByLabel("Show scheduled messages").uncheck();
    await page.close();
  }, 60000);

  test("a cancel that lands while history is read after a reload still takes the scheduled card away", async () => {
    // The app read the scheduled list beside history: when history answered last, holding the cancel, the stream began
    // after it and the card stayed until the minute's refresh (seen once in CI; reproduced by holding the read here).
    const page = await app.browser.newPage(PHONE);
    await page.goto(`${app.web.url}/?channels=later-2`);
    await live(page);
    const handle = ((await (await ntfy("PUT", "/later-2", "Rotate keys", { "X-Delay": "1h" })).json()) as { id: string }).id;
    await page.getByLabel("Show scheduled messages").check();
    const card = page.locator("#messages > li.later", { hasText: "Rotate keys" });
    await card.waitFor({ timeout: 5000 });
    let held = false;
    await page.route("**/messages?*", async (route) => {
      if (!held && !route.request().url().includes("scheduled=1")) {
        held = true; // the first history read after the reload, 1.5 s: the cancel below lands inside it
        await new Promise((r) => setTimeout(r, 1500));
      }
      await route.continue();
    });
    await page.reload();
    await card.waitFor({ timeout: 5000 });
    await ntfy("DELETE", `/later-2/${handle}`, null);
    await card.waitFor({ state: "detached", timeout: 5000 });
    await page.close();
  }, 60000);

  test("an uploaded picture is previewed from /file/ with its size; another file is a download link", async () => {
    // Uploads need --base-url, which names the port: this web server is started here, on a port chosen first.
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const proc = spawn([BUN, `${ROOT}/web.ts`, "--host", "127.0.0.1", "--port", String(port), "--redis", `redis://127.0.0.1:${app.pubsub.port}`, "--data", tempPath("web-data"), "--base-url", base, "--attachment-cache-dir", tempPath("attachments")], { stdout: "ignore", stderr: "ignore" });
    const page = await app.browser.newPage(PHONE);
    try {
      await waitForPort(port);
      await page.goto(`${base}/?channels=uploads`);
      await live(page);
      const png = readFileSync(`${ROOT}/app/icon-512.png`);
      await post(`${base}/uploads`, png, { method: "PUT", headers: { Filename: "chart.png", Title: "Weekly chart" }, status: 200 });
      await post(`${base}/uploads`, "<script>window.__xss=1</script>", { method: "PUT", headers: { Filename: "report.html", Title: "Report" }, status: 200 });
      const chart = page.locator("#messages > li", { hasText: "Weekly chart" });
      await chart.waitFor({ timeout: 5000 });
      const img = chart.locator(".attachment img");
      expect(await img.getAttribute("src")).toStartWith(`${base}/file/`);
      expect(await img.getAttribute("loading")).toBe("lazy");
      await page.waitForFunction(() => (document.querySelector("#messages .attachment img") as HTMLImageElement | null)?.naturalWidth === 512, null, { timeout: 5000 });
      expect(await chart.locator(".attachment .file").textContent()).toBe(`chart.png · ${sizeText(png.length)}`);
      const report = page.locator("#messages > li", { hasText: "Report" });
      await report.waitFor({ timeout: 5000 });
      expect(await report.locator("img").count()).toBe(0);
      expect(await report.locator(".attachment a.file").getAttribute("href")).toStartWith(`${base}/file/`);
      expect(await report.locator(".attachment a.file").textContent()).toMatch(/^report\.html · \d+ B$/);
    } finally {
      await page.close();
      proc.kill();
      await proc.exited;
    }
  }, 60000);
});
