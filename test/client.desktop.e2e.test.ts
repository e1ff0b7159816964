// test/client.desktop.e2e.test.ts — end to end on a real desktop: dunst on a session D-Bus under Xvfb, the Notify
// calls read back with dbus-monitor and dunstctl. Exact text (dashes, <, >, &, quotes, emoji, newlines), urgency by
// priority, the app name and icon, a click that opens the link, and one summary instead of 60 popups.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { DESKTOP, ROOT, needs, recordingOpener, json, killClients, post, startClient, startPubSub, startDesktop, startWebServer, tempPath, until, type NotifyCall, type Running } from "./helpers";

const SHOTS = `${ROOT}/.tmp/screenshots`;

/** What a markup-reading daemon shows for a body we sent escaped. */
const shown = (markup: string) => markup.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

needs(...DESKTOP).describe("desktop notifications under dunst", () => {
  let desk: Awaited<ReturnType<typeof startDesktop>>;
  let pubsub: Running;
  let web: Running & { url: string };
  beforeAll(async () => {
    desk = await startDesktop();
    pubsub = await startPubSub();
    web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`);
    mkdirSync(SHOTS, { recursive: true });
  }, 30000); // a desktop, a pub/sub server and a web server (which builds the app at start) take more than bun's 5 s
  afterAll(async () => {
    killClients();
    desk?.stop();
    await web?.stop();
    await pubsub?.stop();
  });

  const publish = (fields: Record<string, string>) => post(web.url, json(fields), { status: 200 });
  /** Starts a desktop client (no --print) on `channel` and waits until it is subscribed. */
  const client = async (channel: string, extra: string[] = [], env: Record<string, string> = {}, state = tempPath("state.json")) => {
    const c = startClient(["--host", "127.0.0.1", "--port", String(pubsub.port), "--channels", channel, "--config", tempPath("none.json"), "--state", state, ...extra], { ...desk.env, ...env });
    await until(`${channel} subscribed`, () => c.out().includes(`subscribed to ${channel}`));
    return c;
  };
  const callsFor = (channel: string): NotifyCall[] => desk.calls().filter((c) => c.summary.includes(channel) || c.body.includes(channel));

  test("exactly the text that was sent: leading dashes, markup characters, quotes, emoji and newlines", async () => {
    const c = await client("exact*");
    const cases: Record<string, string>[] = [
      { channel: "exact1", message: "-3 tests fixed since yesterday" },
      { channel: "exact2", message: "--version", title: "-u" },
      { channel: "exact3", message: "expected <string> but got <null> & that's \"bad\"", title: "Tom & Jerry <3" },
      { channel: "exact4", message: "line one\nline two 🚀 ünïcödé", title: "✅ done" },
    ];
    for (const f of cases) await publish(f);
    await until("four notifications", () => callsFor("exact").length >= 4, 10000);
    const got = callsFor("exact").map((x) => ({ summary: x.summary, body: shown(x.body) }));
    expect(got).toEqual([
      { summary: "exact1", body: "-3 tests fixed since yesterday" },
      { summary: "-u", body: "--version\nexact2" },
      { summary: "Tom & Jerry <3", body: "expected <string> but got <null> & that's \"bad\"\nexact3" },
      { summary: "✅ done", body: "line one\nline two 🚀 ünïcödé\nexact4" },
    ]);
    desk.screenshot(`${SHOTS}/desktop-exact.png`);
    // The daemon's own record of what it displayed (its history holds the closed ones) agrees.
    desk.dunstctl("close-all");
    const history = JSON.parse(desk.dunstctl("history")) as { data: { summary: { data: string }; body: { data: string }; appname: { data: string } }[][] };
    const summaries = history.data[0]!.map((n) => n.summary.data);
    for (const s of ["exact1", "-u", "Tom & Jerry <3", "✅ done"]) expect(summaries).toContain(s);
    expect(history.data[0]!.every((n) => n.appname.data === "Notistream")).toBe(true);
    expect(c.out()).toContain("[exact2] -u: --version");
  }, 30000);

  test("urgency follows priority, critical stays until dismissed; the app name and icon are Notistream's", async () => {
    await client("prio*");
    for (const p of ["1", "2", "3", "4", "5"]) await publish({ channel: `prio${p}`, message: `priority ${p}`, priority: p });
    await until("five notifications", () => callsFor("prio").length >= 5, 10000);
    const calls = callsFor("prio");
    expect(calls.map((c) => c.summary)).toEqual(["prio1", "prio2", "prio3", "prio4", "prio5"]);
    expect(calls.map((c) => c.urgency)).toEqual([0, 0, 1, 1, 2]);
    expect(calls.map((c) => c.expire)).toEqual([-1, -1, -1, -1, 0]);
    for (const c of calls) {
      expect(c.app).toBe("Notistream");
      expect(c.icon).toBe(join(ROOT, "app", "icon-192.png"));
      expect(existsSync(c.icon)).toBe(true);
    }
    desk.screenshot(`${SHOTS}/desktop-priority.png`);
    desk.dunstctl("close-all");
  }, 30000);

  test("a message with a url: the line shows it, and clicking the notification opens it", async () => {
    const { opener, opened } = recordingOpener();
    const c = await client("links", [], { NOTISTREAM_OPENER: opener });
    desk.dunstctl("close-all");
    await publish({ channel: "links", message: "v2 is live", title: "Deploy", url: "https://example.com/deploys/42?x=1&y=2" });
    await until("notification with an action", () => callsFor("links").some((x) => x.actions.includes("default")), 10000);
    expect(c.out()).toContain("[links] Deploy: v2 is live <https://example.com/deploys/42?x=1&y=2>");
    await until("shown", () => desk.dunstctl("count", "displayed").trim() === "1", 5000);
    desk.dunstctl("action", "0"); // what a click on the notification does
    await until("link opened", () => existsSync(opened), 5000);
    expect(readFileSync(opened, "utf8").trim()).toBe("https://example.com/deploys/42?x=1&y=2");
  }, 30000);

  test("after an absence: all 60 missed print in order, and the desktop gets one summary, not 60 popups", async () => {
    const state = tempPath("away-state.json");
    const first = await client("away", ["--replay-limit", "100"], {}, state);
    first.proc.kill("SIGTERM");
    await first.proc.exited;
    for (let i = 1; i <= 60; i++) await publish({ channel: "away", message: `event ${i}`, ...(i === 60 ? { title: "Last" } : {}) });
    const before = callsFor("away").length;
    const again = await client("away", ["--replay-limit", "100"], {}, state);
    await until("all 60 printed", () => again.out().includes("[away] Last: event 60"), 10000);
    const lines = again.out().split("\n").filter((l) => l.startsWith("[away]"));
    expect(lines).toEqual(Array.from({ length: 60 }, (_, i) => (i === 59 ? "[away] Last: event 60" : `[away] event ${i + 1}`)));
    await until("the summary", () => callsFor("away").length > before, 10000);
    await Bun.sleep(1000); // room for any stray popups to show up
    const popups = callsFor("away").slice(before);
    expect(popups.map((p) => p.summary)).toEqual(["60 missed on away"]);
    expect(shown(popups[0]!.body)).toBe("latest: Last: event 60");
    desk.screenshot(`${SHOTS}/desktop-summary.png`);
  }, 40000);

  test("a live burst faster than anyone can read: the first 3 show, the rest become one summary", async () => {
    await client("burst");
    const before = callsFor("burst").length;
    await Promise.all(Array.from({ length: 30 }, (_, i) => publish({ channel: "burst", message: `b${i}` })));
    await until("summary of the rest", () => callsFor("burst").slice(before).some((c) => /more on burst/.test(c.summary)), 15000);
    const popups = callsFor("burst").slice(before);
    expect(popups.length).toBe(4);
    expect(popups[3]!.summary).toBe("27 more on burst");
  }, 30000);

  test("when notifications cannot be shown, each failure is said (not only the first)", async () => {
    // No notification daemon on this bus: notify-send fails every time.
    const c = startClient(["--host", "127.0.0.1", "--port", String(pubsub.port), "--channels", "nodaemon", "--config", tempPath("none.json")], {
      DISPLAY: ":9999",
      DBUS_SESSION_BUS_ADDRESS: "unix:path=/nonexistent/bus",
      NOTISTREAM_STATE: tempPath("state.json"),
      NOTISTREAM_REPORT_INTERVAL_MS: "1000",
    });
    await until("subscribed", () => c.out().includes("subscribed to nodaemon"));
    await publish({ channel: "nodaemon", message: "first" });
    await until("first failure reported", () => c.out().includes("a desktop notification failed"), 10000);
    expect(c.out()).toContain("[nodaemon] first");
    await publish({ channel: "nodaemon", message: "second" });
    await until("second printed", () => c.out().includes("[nodaemon] second"));
    // Within the interval it is held back, then said with its count: never swallowed.
    await until("second failure reported", () => c.out().includes("once more in the last 1 s"), 5000);
  }, 30000);
});
