// test/client_actions.test.ts — what a notification's button does (issue 25): an http action's request as ntfy's apps
// make it (docs/publish.md "Send HTTP request": POST by default), which clipboard tool copies, and what each says.
import { afterAll, describe, expect, test } from "bun:test";
import { ActionRunner, clipboardCommand, httpRequestOf } from "../client_actions";
import type { DesktopAction } from "../client_toast";

const http = (extra: Partial<DesktopAction> = {}): DesktopAction => ({ id: "a", action: "http", label: "Close door", clear: false, url: "https://door.test/close", ...extra });

describe("an http action's request", () => {
  test("POST by default, with the headers and body given; GET and HEAD carry no body", () => {
    expect(httpRequestOf(http({ body: "x" }))).toEqual({ url: "https://door.test/close", init: { method: "POST", headers: {}, body: "x" } });
    expect(httpRequestOf(http({ method: "put", headers: { Authorization: "Bearer t" } }))).toEqual({ url: "https://door.test/close", init: { method: "PUT", headers: { Authorization: "Bearer t" } } });
    expect(httpRequestOf(http({ method: "GET", body: "dropped" }))).toEqual({ url: "https://door.test/close", init: { method: "GET", headers: {} } });
  });
  test("only an http(s) URL is requested; anything else is refused with a sentence naming the button", () => {
    for (const url of ["file:///etc/passwd", "javascript:alert(1)", "not a url", undefined])
      expect(httpRequestOf(http({ url }))).toEqual({ refused: `notistream: the action "Close door" was not done: its URL ${JSON.stringify(url ?? "")} is not an http(s) link` });
  });
});

describe("the clipboard", () => {
  const only = (...have: string[]) => (c: string) => (have.includes(c) ? `/usr/bin/${c}` : null);
  test("wl-copy on Wayland, else xclip, else xsel; pbcopy and clip elsewhere; null when none is installed", () => {
    expect(clipboardCommand({ WAYLAND_DISPLAY: "wayland-0" }, "linux", only("wl-copy", "xclip"))).toEqual(["wl-copy"]);
    expect(clipboardCommand({}, "linux", only("wl-copy", "xclip"))).toEqual(["xclip", "-selection", "clipboard"]);
    expect(clipboardCommand({}, "linux", only("xsel"))).toEqual(["xsel", "--clipboard", "--input"]);
    expect(clipboardCommand({}, "linux", only())).toBeNull();
    expect(clipboardCommand({}, "darwin", only("pbcopy"))).toEqual(["pbcopy"]);
    expect(clipboardCommand({}, "win32", only("clip"))).toEqual(["clip"]);
  });
});

describe("running an action", () => {
  const got: { method: string; body: string; auth: string | null }[] = [];
  const server = Bun.serve({
    port: 0,
    async fetch(req) {
      got.push({ method: req.method, body: await req.text(), auth: req.headers.get("authorization") });
      return new Response("nope", { status: new URL(req.url).pathname === "/broken" ? 500 : 200 });
    },
  });
  afterAll(() => server.stop(true));
  const runner = () => {
    const said: string[] = [];
    const toasts: string[] = [];
    const opened: string[] = [];
    const r = new ActionRunner({ open: (u) => opened.push(u), say: (l) => said.push(l), toast: (s, b) => toasts.push(`${s}: ${b}`) }, { PATH: "/nonexistent" }, "linux");
    return { r, said, toasts, opened };
  };

  test("http: the request arrives as given, and the line says it is done", async () => {
    const { r, said, toasts } = runner();
    await r.run(http({ url: `http://127.0.0.1:${server.port}/close`, method: "PUT", headers: { Authorization: "Bearer t" }, body: '{"door":"front"}' }));
    expect(got.at(-1)).toEqual({ method: "PUT", body: '{"door":"front"}', auth: "Bearer t" });
    expect(said).toEqual([`notistream: the action "Close door" is done: PUT http://127.0.0.1:${server.port}/close answered 200`]);
    expect(toasts).toEqual([]);
  });
  test("http: a failure is said in a line and a small toast, by status and by refused connection", async () => {
    const { r, said, toasts } = runner();
    await r.run(http({ url: `http://127.0.0.1:${server.port}/broken` }));
    expect(said).toEqual([`notistream: the action "Close door" failed: POST http://127.0.0.1:${server.port}/broken answered 500 Internal Server Error`]);
    expect(toasts).toEqual([`Close door failed: the action "Close door" failed: POST http://127.0.0.1:${server.port}/broken answered 500 Internal Server Error`]);
    await r.run(http({ url: "http://127.0.0.1:1/x" }));
    expect(said[1]).toStartWith('notistream: the action "Close door" failed: POST http://127.0.0.1:1/x: ');
    expect(toasts.length).toBe(2);
  });
  test("view hands the URL to the desktop's opener (which checks it); copy without a clipboard tool prints the value", async () => {
    const { r, said, opened } = runner();
    await r.run({ id: "v", action: "view", label: "Open", clear: false, url: "https://x.test/a" });
    expect(opened).toEqual(["https://x.test/a"]);
    await r.run({ id: "c", action: "copy", label: "Copy code", clear: false, value: "123\x1b456" });
    expect(said).toEqual(['notistream: no clipboard tool (wl-copy, xclip or xsel); the value of "Copy code" is: 123\\x1b456']);
  });
});
