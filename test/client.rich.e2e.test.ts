// test/client.rich.e2e.test.ts — issue 25 on a real desktop: dunst on a session D-Bus under Xvfb, every call to the daemon
// read back with dbus-monitor. Buttons (Notify's actions) pressed through dunst's own context menu: http reaches a test
// server, view a fake xdg-open, copy a fake xclip; an update replaces the toast (replaces_id), a delete or clear closes it
// (CloseNotification); the icon and an image attachment as files; Markdown as clean text; urgent never held back. Over RESP
// (envelopes published as the web server publishes them) and over an ntfy stream (ntfy's own JSON).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DESKTOP, ROOT, Raw, killClients, needs, parseNotifyCalls, startClient, startDesktop, startPubSub, startWebServer, tempPath, until, type NotifyCall, type Running } from "./helpers";
import { buildEnvelope, envelopeFields, type Notification } from "../message";

/** Where the screenshots go, beside client.desktop.e2e's (what dunst drew, for a person to look at). */
const SHOTS = `${ROOT}/.tmp/screenshots`;

/** One Notify call with what the shared parser leaves out: the ID it replaces and the image-path hint. */
type Call = NotifyCall & { replaces: number; image: string | null };

/** Every Notify call in dbus-monitor's text, in order. */
function notifyCalls(text: string): Call[] {
  const out: Call[] = [];
  for (const block of text.split(/^method call .*member=Notify$/m).slice(1)) {
    const [call] = parseNotifyCalls(`method call member=Notify${block}`);
    if (!call) continue;
    const replaces = /^\n? {3}string "[\s\S]*?"\n {3}uint32 (\d+)/.exec(block);
    const image = /string "image-path"\n\s+variant\s+string "([^"]*)"/.exec(block);
    out.push({ ...call, replaces: replaces ? Number(replaces[1]) : -1, image: image ? image[1]! : null });
  }
  return out;
}

/** The IDs CloseNotification was called with, in order. */
const closeCalls = (text: string): number[] => [...text.matchAll(/member=CloseNotification\n\s+uint32 (\d+)/g)].map((m) => Number(m[1]));

/**
 * helpers.ts's desktop, with dunst's context menu wired to a fake dmenu: it picks the line holding the label written to
 * `want`, so pressing a button goes through dunst's own ActionInvoked, as a person's pick from the menu would.
 */
async function startRichDesktop() {
  const dir = tempPath("rich-desktop");
  mkdirSync(dir, { recursive: true });
  const want = join(dir, "want");
  const dmenu = join(dir, "dmenu.sh");
  writeFileSync(dmenu, `#!/bin/sh\ncat > ${dir}/menu.txt\ngrep -F "$(cat ${want})" ${dir}/menu.txt | head -1\n`);
  chmodSync(dmenu, 0o755);
  const conf = join(dir, "dunstrc");
  writeFileSync(conf, `[global]\n    dmenu = ${dmenu}\n    width = 460\n    max_icon_size = 96\n    font = DejaVu Sans 10\n`);
  const desk = await startDesktop({ dunstConfig: conf, allCalls: true });
  return {
    ...desk,
    calls: () => notifyCalls(desk.text()),
    /** Presses the button labelled `label` on the toast on screen, through dunst's context menu. */
    press: (label: string) => {
      writeFileSync(want, label);
      desk.dunstctl("context");
    },
  };
}

needs(...DESKTOP).describe("rich messages on the desktop under dunst (issue 25)", () => {
  let desk: Awaited<ReturnType<typeof startRichDesktop>>;
  let pubsub: Running;
  let web: Running & { url: string };
  let site: ReturnType<typeof Bun.serve>;
  const requests: { method: string; path: string; auth: string | null; body: string }[] = [];
  const bin = tempPath("fakebin");
  const opened = join(bin, "opened.txt");
  const clipped = join(bin, "clipboard.txt");
  const cache = tempPath("xdg-cache");
  /** The attached picture's file, and its bytes. */
  let pictureFile = "";
  let picture: Buffer;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    mkdirSync(bin, { recursive: true });
    // The desktop's own tools, faked on PATH: the client runs them as it would the real ones.
    writeFileSync(join(bin, "xdg-open"), `#!/bin/sh\necho "$1" >> ${opened}\n`);
    writeFileSync(join(bin, "xclip"), `#!/bin/sh\necho "args: $*" >> ${clipped}\ncat >> ${clipped}\necho >> ${clipped}\n`);
    for (const f of ["xdg-open", "xclip"]) chmodSync(join(bin, f), 0o755);
    const shot = tempPath("camera.png");
    // ImageMagick's convert is not among the test packages (and Bun.spawnSync throws on a missing program).
    if (Bun.which("convert")) Bun.spawnSync(["convert", "-size", "160x100", "gradient:#1d4ed8-#f59e0b", shot]);
    pictureFile = existsSync(shot) ? shot : `${ROOT}/app/icon-512.png`;
    picture = readFileSync(pictureFile);
    site = Bun.serve({
      port: 0,
      async fetch(req) {
        const path = new URL(req.url).pathname;
        if (path === "/icon.png") return new Response(Bun.file(`${ROOT}/app/icon-192.png`));
        if (path === "/file/camera.png") return new Response(Bun.file(pictureFile));
        requests.push({ method: req.method, path, auth: req.headers.get("authorization"), body: await req.text() });
        return new Response(path === "/broken" ? "door jammed" : "ok", { status: path === "/broken" ? 500 : 200 });
      },
    });
    desk = await startRichDesktop();
    pubsub = await startPubSub();
    web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`);
  }, 30000);
  afterAll(async () => {
    killClients();
    desk?.stop();
    site?.stop(true);
    await web?.stop();
    await pubsub?.stop();
  });

  const base = () => `http://127.0.0.1:${site.port}`;
  /** A message as the web server publishes one: XADD to history with message.ts's fields, then PUBLISH the envelope. */
  const publish = async (channel: string, n: Omit<Notification, "channel">): Promise<void> => {
    const r = await Raw.open(pubsub.port);
    const now = Date.now();
    const id = String(await r.call("XADD", `notistream:${channel}`, "*", ...envelopeFields({ channel, ...n }, now)));
    await r.call("PUBLISH", channel, JSON.stringify(buildEnvelope({ channel, ...n }, id, now)));
    r.close();
  };
  /** A desktop client on `channel`: over RESP, through the web server's /events, or its ntfy stream (/<topic>/json). */
  const client = async (channel: string, over: "resp" | "web" | "ntfy" = "resp") => {
    const where = over === "resp" ? ["--host", "127.0.0.1", "--port", String(pubsub.port)] : ["--url", web.url, ...(over === "ntfy" ? ["--ntfy"] : [])];
    const c = startClient([...where, "--channels", channel, "--config", tempPath("none.json"), "--state", tempPath("state.json")], {
      ...desk.env,
      PATH: `${bin}:${process.env.PATH}`,
      XDG_CACHE_HOME: cache,
      NOTISTREAM_OPENER: "",
    });
    await until(`${channel} subscribed`, () => c.out().includes(`subscribed to ${channel}`));
    return c;
  };
  const callsOn = (channel: string) => desk.calls().filter((c) => c.summary.includes(channel) || c.body.includes(channel));

  test("buttons: view, http and copy are Notify actions that do their job when pressed in dunst; broadcast is left out, and the line says so", async () => {
    const c = await client("door");
    desk.dunstctl("close-all");
    const actions = (n: number): Notification["actions"] => [
      { id: "view000001", action: "view", label: "Camera", clear: false, url: "https://cam.test/live?door=front" },
      { id: "http000001", action: "http", label: "Open door", clear: true, url: `${base()}/door/${n}`, method: "PUT", headers: { Authorization: "Bearer door-token" }, body: `{"open":${n}}` },
      { id: "copy000001", action: "copy", label: "Copy code", clear: false, value: `4711-${n}` },
    ];
    await publish("door", { title: "Someone rang", message: "at the front door", priority: 4, icon: `${base()}/icon.png`, actions: actions(1) });
    await until("the toast with its buttons", () => callsOn("door").length >= 1, 10000);
    const toast = callsOn("door")[0]!;
    expect(toast.actions).toEqual(["action-0", "Camera", "action-1", "Open door", "action-2", "Copy code"]);
    // The icon, fetched once into the cache, is the toast's icon.
    expect(toast.icon.startsWith(join(cache, "notistream", "pictures"))).toBe(true);
    expect(readFileSync(toast.icon)).toEqual(readFileSync(`${ROOT}/app/icon-192.png`));
    await until("on screen", () => desk.dunstctl("count", "displayed").trim() === "1", 5000);
    desk.screenshot(`${SHOTS}/rich-buttons.png`); // ImageMagick's import, where it is installed

    desk.press("Open door");
    await until("the http action's request", () => requests.some((r) => r.path === "/door/1"), 10000);
    expect(requests.find((r) => r.path === "/door/1")).toEqual({ method: "PUT", path: "/door/1", auth: "Bearer door-token", body: '{"open":1}' });
    await until("said done", () => c.out().includes(`the action "Open door" is done: PUT ${base()}/door/1 answered 200`), 5000);

    await publish("door", { title: "Someone rang", message: "again", actions: actions(2) });
    await until("second toast", () => callsOn("door").length >= 2 && desk.dunstctl("count", "displayed").trim() === "1", 10000);
    desk.press("Camera");
    await until("the view action opened", () => existsSync(opened), 10000);
    expect(readFileSync(opened, "utf8").trim()).toBe("https://cam.test/live?door=front");

    await publish("door", { title: "Someone rang", message: "a third time", actions: actions(3) });
    await until("third toast", () => callsOn("door").length >= 3 && desk.dunstctl("count", "displayed").trim() === "1", 10000);
    desk.press("Copy code");
    // The fake xclip writes its args, then the value, then a newline: read once the last write is in.
    await until("copied", () => existsSync(clipped) && /4711-3\n$/.test(readFileSync(clipped, "utf8")), 10000);
    expect(readFileSync(clipped, "utf8")).toBe("args: -selection clipboard\n4711-3\n");
    await until("the copy said", () => c.out().includes('copied the value of "Copy code" to the clipboard'), 5000);

    await publish("door", { message: "ring", actions: [{ id: "bcast00001", action: "broadcast", label: "Ring bell", clear: false, intent: "io.heckel.ntfy.USER_ACTION" }] });
    await until("the broadcast line", () => c.out().includes('[door] ring ("Ring bell" left out: broadcast sends an Android intent, which a desktop has no use for)'), 10000);
    await until("its toast", () => callsOn("door").length >= 4, 10000);
    expect(callsOn("door")[3]!.actions).toEqual([]);
  }, 60000);

  test("an http action that fails is said in a line and in a small toast", async () => {
    const c = await client("gate");
    desk.dunstctl("close-all");
    await publish("gate", { message: "gate closed", actions: [{ id: "http000002", action: "http", label: "Open gate", clear: false, url: `${base()}/broken` }] });
    await until("toast", () => callsOn("gate").length >= 1 && desk.dunstctl("count", "displayed").trim() === "1", 10000);
    desk.press("Open gate");
    const line = `the action "Open gate" failed: POST ${base()}/broken answered 500 Internal Server Error`;
    await until("failure said", () => c.out().includes(line), 10000);
    await until("failure toast", () => desk.calls().some((x) => x.summary === "Open gate failed"), 10000);
    expect(desk.calls().find((x) => x.summary === "Open gate failed")!.body).toBe(line);
  }, 30000);

  test("an update replaces the toast on screen (same notification ID); a delete and a clear close theirs", async () => {
    await client("build");
    desk.dunstctl("close-all");
    await publish("build", { title: "Build 7", message: "running", sequence_id: "build-7" });
    await until("first toast", () => callsOn("build").length >= 1, 10000);
    await until("on screen", () => desk.dunstctl("count", "displayed").trim() === "1", 5000);
    desk.screenshot(`${SHOTS}/rich-update-before.png`);
    expect(callsOn("build")[0]!.replaces).toBe(0);
    await publish("build", { title: "Build 7", message: "passed ✅", sequence_id: "build-7" });
    await until("the update", () => callsOn("build").length >= 2, 10000);
    const update = callsOn("build")[1]!;
    // The ID the daemon gave the first toast (notify-send --print-id): dunst numbers from 1.
    const id = update.replaces;
    expect(id).toBeGreaterThan(0);
    expect(update).toMatchObject({ summary: "Build 7", body: "passed ✅\nbuild" });
    await Bun.sleep(300); // for the daemon to draw it
    expect(desk.dunstctl("count", "displayed").trim()).toBe("1"); // replaced, not a second toast
    desk.screenshot(`${SHOTS}/rich-update-after.png`);

    await publish("build", { message: "", sequence_id: "build-7", event: "message_delete" });
    await until("closed", () => closeCalls(desk.text()).includes(id), 10000);
    await until("gone from the screen", () => desk.dunstctl("count", "displayed").trim() === "0", 5000);

    await publish("build", { title: "Build 8", message: "running", sequence_id: "build-8" });
    await until("build 8", () => callsOn("build").some((x) => x.summary === "Build 8"), 10000);
    await until("on screen", () => desk.dunstctl("count", "displayed").trim() === "1", 5000);
    const before = closeCalls(desk.text()).length;
    await publish("build", { message: "", sequence_id: "build-8", event: "message_clear" });
    await until("cleared", () => closeCalls(desk.text()).length > before, 10000);
    await until("gone from the screen", () => desk.dunstctl("count", "displayed").trim() === "0", 5000);
  }, 40000);

  test("an image attachment is the toast's image (image-path), and its URL is printed; Markdown shows without its syntax", async () => {
    const c = await client("yard");
    desk.dunstctl("close-all");
    const url = `${base()}/file/camera.png`;
    await publish("yard", { title: "Motion", message: "**Someone** in the _yard_: see [camera 2](https://cam.test/2)", content_type: "text/markdown", attachment: { name: "camera.png", type: "image/png", size: picture.length, url } });
    await until("toast", () => callsOn("yard").length >= 1, 10000);
    const t = callsOn("yard")[0]!;
    expect(t.body).toBe("Someone in the yard: see camera 2 (https://cam.test/2)\nattached: camera.png\nyard");
    expect(t.image).not.toBeNull();
    expect(readFileSync(t.image!).equals(picture)).toBe(true);
    expect(c.out()).toContain(`[yard] Motion: Someone in the yard: see camera 2 (https://cam.test/2) [file camera.png: ${url}]`);
    await until("on screen", () => desk.dunstctl("count", "displayed").trim() === "1", 5000);
    desk.screenshot(`${SHOTS}/rich-image.png`);
  }, 30000);

  for (const over of ["resp", "web", "ntfy"] as const)
    test(`published through the web server with ntfy's headers, read ${{ resp: "over RESP", web: "through /events", ntfy: "through its ntfy stream" }[over]}: buttons, Markdown, an attached picture and the icon, an update in place, DELETE closes it`, async () => {
      const channel = `porch-${over}`;
      const c = await client(channel, over);
      desk.dunstctl("close-all");
      const put = (path: string, body: string, headers: Record<string, string> = {}, method = "PUT") => fetch(`${web.url}/${path}`, { method, body: method === "DELETE" ? undefined : body, headers }).then((r) => expect(r.status).toBe(200));
      // ntfy's simple action format and its headers (docs/publish.md: X-Actions, X-Sequence-ID, X-Markdown).
      // Attach: a file elsewhere (the web server's uploads are tested in attachments.e2e); Icon: the toast's icon.
      const file = `${base()}/file/camera.png`;
      await put(channel, "**Parcel** delivered", { Title: "Porch", "X-Actions": `view, Track, https://post.test/1; http, Thank courier, ${base()}/thanks, method=POST, body=thanks`, "X-Sequence-ID": "parcel-1", Markdown: "yes", Attach: file, Icon: `${base()}/icon.png` });
      await until("toast", () => callsOn(channel).length >= 1, 10000);
      const first = callsOn(channel)[0]!;
      expect(first).toMatchObject({ summary: "Porch", body: `Parcel delivered\nattached: camera.png\n${channel}`, actions: ["action-0", "Track", "action-1", "Thank courier"], replaces: 0 });
      expect(readFileSync(first.image!).equals(picture)).toBe(true);
      expect(first.icon).toContain("/notistream/pictures/");
      expect(c.out()).toContain(`[${channel}] Porch: Parcel delivered [file camera.png: ${file}]`);
      await put(channel, "Parcel taken in", { Title: "Porch", "X-Sequence-ID": "parcel-1" });
      await until("the update", () => callsOn(channel).length >= 2, 10000);
      const id = callsOn(channel)[1]!.replaces;
      expect(id).toBeGreaterThan(0);
      expect(callsOn(channel)[1]!.body).toBe(`Parcel taken in\n${channel}`);
      await put(`${channel}/parcel-1`, "", {}, "DELETE");
      await until("closed", () => closeCalls(desk.text()).includes(id), 10000);
      await until("the line", () => c.out().includes(`[${channel}] deleted parcel-1`), 5000);
    }, 30000);

  test("a toast waiting for its buttons does not hold back the toasts after it", async () => {
    await client("queue*");
    desk.dunstctl("close-all");
    // Critical with a link: it stays until dismissed, and its notify-send waits for the click all that time. On
    // 0f6dc86 its ID sat unflushed in notify-send's stdout, so every later toast waited for this one to be dismissed.
    await publish("queue1", { message: "stays until dismissed", priority: 5, url: "https://x.test/" });
    await until("the first", () => callsOn("queue1").length === 1, 10000);
    await publish("queue2", { message: "comes next" });
    await until("the second, beside the first", () => callsOn("queue2").length === 1, 10000);
    expect(desk.dunstctl("count", "displayed").trim()).toBe("2");
  }, 30000);

  test('urgent stays urgent: a priority-5 "Prod down" after three messages shows at once, on its own, not in "N more"', async () => {
    await client("prod");
    desk.dunstctl("close-all");
    for (let i = 1; i <= 3; i++) await publish("prod", { message: `ok ${i}` });
    await publish("prod", { title: "Prod down", message: "db01 unreachable", priority: 5 });
    await publish("prod", { message: "ok 4" });
    await publish("prod", { message: "ok 5" });
    await until('the "more" summary', () => callsOn("prod").some((x) => /more on prod/.test(x.summary)), 15000);
    // On 0f6dc86 this was ["prod", "prod", "prod", "3 more on prod"]: "Prod down" waited 5 s and vanished into the summary.
    expect(callsOn("prod").map((x) => x.summary)).toEqual(["prod", "prod", "prod", "Prod down", "2 more on prod"]);
    expect(callsOn("prod")[3]!.urgency).toBe(2);
  }, 30000);
});

/**
 * A stand-in for an ntfy server's /<topics>/json stream: each line written is sent as it is. The JSON below is ntfy's own
 * (wire reference §1.4, from ntfy v2.27 model/model.go: sequence_id omitted when it equals id, actions with 10-character
 * ids and clear always set, attachment {name,type,size,expires,url}, message_delete carrying the sequence_id).
 */
function ntfyStream() {
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const server = Bun.serve({
    port: 0,
    idleTimeout: 0,
    fetch(req) {
      const url = new URL(req.url);
      if (url.searchParams.get("poll") === "1") return new Response("");
      let me: ReadableStreamDefaultController<Uint8Array>;
      return new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            me = c;
            streams.add(c);
            c.enqueue(new TextEncoder().encode(`${JSON.stringify({ id: "OpenOpen0001", time: Math.floor(Date.now() / 1000), event: "open", topic: "doorbell" })}\n`));
          },
          cancel: () => void streams.delete(me),
        }),
        { headers: { "content-type": "application/x-ndjson; charset=utf-8" } },
      );
    },
  });
  return { server, send: (m: object) => streams.forEach((c) => c.enqueue(new TextEncoder().encode(`${JSON.stringify(m)}\n`))), connected: () => streams.size > 0 };
}

needs(...DESKTOP).describe("rich messages from an ntfy stream on the desktop (issue 25)", () => {
  let desk: Awaited<ReturnType<typeof startRichDesktop>>;
  let ntfy: ReturnType<typeof ntfyStream>;
  let pictures: ReturnType<typeof Bun.serve>;
  beforeAll(async () => {
    desk = await startRichDesktop();
    ntfy = ntfyStream();
    pictures = Bun.serve({ port: 0, fetch: () => new Response(Bun.file(`${ROOT}/app/icon-192.png`)) });
  });
  afterAll(() => {
    killClients();
    desk?.stop();
    ntfy?.server.stop(true);
    pictures?.stop(true);
  });

  test("ntfy's buttons, attachment, icon and Markdown reach the toast; an update replaces it; message_delete closes it", async () => {
    const c = startClient(["--url", `http://127.0.0.1:${ntfy.server.port}`, "--ntfy", "--channels", "doorbell", "--config", tempPath("none.json"), "--state", tempPath("state.json")], { ...desk.env, XDG_CACHE_HOME: tempPath("ntfy-cache") });
    await until("subscribed", () => c.out().includes("subscribed to doorbell") && ntfy.connected(), 10000);
    const time = Math.floor(Date.now() / 1000);
    const img = `http://127.0.0.1:${pictures.port}/file/aBcD1234eFgH.png`;
    ntfy.send({
      id: "aBcD1234eFgH",
      time,
      expires: time + 43200,
      event: "message",
      topic: "doorbell",
      title: "Doorbell",
      message: "Someone is **at the door**",
      content_type: "text/markdown",
      icon: `http://127.0.0.1:${pictures.port}/icon.png`,
      sequence_id: "ring-1",
      actions: [
        { id: "V8sJh3kQ2a", action: "view", label: "Camera", clear: false, url: "https://cam.test/" },
        { id: "Hq9Lm2Pz0x", action: "http", label: "Open door", clear: true, url: "https://door.test/open", method: "PUT" },
      ],
      attachment: { name: "snapshot.png", type: "image/png", size: 1234, expires: time + 10800, url: img },
    });
    await until("toast", () => desk.calls().some((x) => x.summary === "Doorbell"), 10000);
    const t = desk.calls().find((x) => x.summary === "Doorbell")!;
    expect(t.actions).toEqual(["action-0", "Camera", "action-1", "Open door"]);
    expect(t.body).toBe("Someone is at the door\nattached: snapshot.png\ndoorbell");
    expect(t.image).not.toBeNull();
    expect(t.icon).toContain("ntfy-cache/notistream/pictures/");
    expect(c.out()).toContain(`[doorbell] Doorbell: Someone is at the door [file snapshot.png: ${img}]`);
    ntfy.send({ id: "ZyXw9876VuTs", time, event: "message", topic: "doorbell", title: "Doorbell", message: "Door opened", sequence_id: "ring-1" });
    await until("the update", () => desk.calls().some((x) => x.body.startsWith("Door opened")), 10000);
    const id = desk.calls().find((x) => x.body.startsWith("Door opened"))!.replaces;
    expect(id).toBeGreaterThan(0);
    expect(desk.dunstctl("count", "displayed").trim()).toBe("1");
    ntfy.send({ id: "Del000000001", time, event: "message_delete", topic: "doorbell", sequence_id: "ring-1" });
    await until("closed", () => closeCalls(desk.text()).includes(id), 10000);
    expect(c.out()).toContain("[doorbell] deleted ring-1");
  }, 30000);
});
