// test/app.wrap.browser.test.ts — end to end in Debian's Chromium at 390×844 (issue 25): a long unbroken title, URL,
// hash, tag or channel wraps inside its card instead of running off the card's right edge and hiding the time.
// Published with POST / and the envelope's old fields only, so the same test runs on the app before the fix.
import { expect, test } from "bun:test";
import { CHROMIUM, PHONE, SHOTS, appUnderTest } from "./chromium";
import { needs, post } from "./helpers";

const app = appUnderTest();

needs(CHROMIUM).describe("long unbroken text on a phone", () => {
  test("a long title, URL, hash and tag wrap inside the card at 390×844, and each card's time stays in view", async () => {
    const page = await app.browser.newPage(PHONE);
    try {
      await page.goto(`${app.web.url}/?channels=wrap`);
      await page.waitForFunction(() => document.getElementById("status")?.textContent === "Live", null, { timeout: 10000 });
      const hash = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a089f86d081884c7d659a2feaa0c55ad015";
      const long = "https://ci.example.com/octo/hello/actions/runs/123456789012345/jobs/987654321098765/logs?step=integration-tests-with-a-very-long-name";
      await post(app.web.url, { channel: "wrap", title: `Deploy_${"x".repeat(120)}_finished`, message: "a long title" }, { status: 200 });
      await post(app.web.url, { channel: "wrap", title: "Build log", message: long, url: long }, { status: 200 });
      await post(app.web.url, { channel: "wrap", message: hash, tags: `tag-${"y".repeat(90)}` }, { status: 200 });
      await page.getByText(hash).waitFor({ timeout: 5000 });
      await Bun.sleep(400); // the arrival animation
      const cards = await page.locator("#messages > li").evaluateAll((lis) =>
        lis.map((li) => {
          // The phone's width: a mobile layout viewport widens to fit what overflows, so innerWidth would follow it.
          const screenWidth = window.screen.width;
          const card = li.getBoundingClientRect();
          const time = li.querySelector("time")!.getBoundingClientRect();
          return {
            text: (li.textContent ?? "").slice(0, 40),
            fits: li.scrollWidth <= li.clientWidth && card.right <= screenWidth,
            timeInCard: time.right <= card.right && time.left >= card.left && time.width > 0,
            timeOnScreen: time.right <= screenWidth,
          };
        }),
      );
      expect(cards.length).toBe(3);
      for (const c of cards) expect(c).toEqual({ text: c.text, fits: true, timeInCard: true, timeOnScreen: true });
      expect(await page.evaluate(() => [window.screen.width, document.documentElement.scrollWidth])).toEqual([390, 390]);
      await page.screenshot({ path: `${SHOTS}/app-long-text.png` });
    } finally {
      await page.close();
    }
  }, 30000);
});
