// test/client_desktop.test.ts — what showing a toast runs: notify-send's arguments, and the command a click opens a link
// with: web links only, never through a shell (on Windows, not `cmd /c start`). Real notifications: client.desktop.e2e.
import { describe, expect, test } from "bun:test";
import { closeCommand, linkToOpen, notifySendArgs, openerCommand } from "../client_desktop";
import { toastFor } from "../client_toast";

describe("opening a link (issue 22, medium 5)", () => {
  test("only http and https are opened; file:, javascript:, custom schemes and non-URLs are refused with a sentence", () => {
    expect(linkToOpen("https://example.com/deploys/42?x=1&y=2")).toEqual({ href: "https://example.com/deploys/42?x=1&y=2" });
    expect(linkToOpen("HTTP://Example.com")).toEqual({ href: "http://example.com/" });
    for (const bad of ["file:///etc/passwd", "javascript:alert(1)", "smb://evil/share", "ms-settings:", "vscode://x", "data:text/html,x", "/etc/passwd", "calc.exe", ""]) {
      const r = linkToOpen(bad);
      expect("refused" in r ? r.refused : "").toBe(`notistream: not opening ${JSON.stringify(bad)}: only http:// and https:// links are opened from a notification`);
    }
    // The refusal quotes the link with its controls shown: it is printed on a terminal.
    expect(linkToOpen("file:///x\x1b]0;t\x07\u009b\u202e")).toEqual({ refused: 'notistream: not opening "file:///x\\u001b]0;t\\u0007\\x9b\\u202e": only http:// and https:// links are opened from a notification' });
  });

  test("what reaches the opener is the parsed URL: spaces and quotes percent-encoded, no way to add an argument", () => {
    expect(linkToOpen('https://x.test/a b"c')).toEqual({ href: "https://x.test/a%20b%22c" });
  });

  test("each platform's opener runs without a shell; on Windows `&calc.exe` in a link stays in the link", () => {
    const href = "https://x.test/?a=1&calc.exe|whoami";
    expect(openerCommand(href, {}, "linux")).toEqual(["xdg-open", href]);
    expect(openerCommand(href, {}, "darwin")).toEqual(["open", href]);
    const win = openerCommand(href, {}, "win32");
    expect(win).toEqual(["rundll32", "url.dll,FileProtocolHandler", href]);
    expect(win[0]).not.toMatch(/^cmd/i);
    expect(openerCommand(href, { NOTISTREAM_OPENER: "/usr/bin/my-browser --new-tab" }, "win32")).toEqual(["/usr/bin/my-browser", "--new-tab", href]);
  });
});

describe("notify-send's arguments", () => {
  test("the text is last, after --, with its control characters shown", () => {
    const args = notifySendArgs(toastFor({ id: "1-0", time: 1, channel: "c", title: "-t\x1b[2J", message: "<b>\x9b" }), true, "/nonexistent.png");
    // notify-send turns C escapes in the body into characters (g_strcompress): the backslashes it gets are doubled.
    expect(args.slice(-3)).toEqual(["--", "-t\\x1b[2J", "&lt;b&gt;\\\\x9b\nc"]);
  });

  test("a backslash typed in a message reaches the daemon as typed: `\\033[2J` is not turned into ESC (issue 22, medium 5)", () => {
    const body = notifySendArgs(toastFor({ id: "1-0", time: 1, channel: "c", message: String.raw`\033[2J C:\new \\x` }), false, "/nonexistent.png").at(-1)!;
    expect(body).toBe(String.raw`\\033[2J C:\\new \\\\x`);
  });
});

describe("buttons, replacing and closing (issue 25)", () => {
  const toast = toastFor({
    id: "1-0",
    time: 1,
    channel: "door",
    message: "someone rang",
    url: "https://cam.test/",
    actions: [
      { id: "a1", action: "view", label: "Camera", clear: false, url: "https://cam.test/live" },
      { id: "a2", action: "broadcast", label: "Ring", clear: false },
      { id: "a3", action: "http", label: "Open=door", clear: true, url: "https://door.test/open", method: "PUT" },
    ],
  });
  test("each desktop action is a Notify action, named by its place; a click on the toast is `default`", () => {
    const args = notifySendArgs(toast, false, "/nonexistent.png");
    expect(args.filter((a) => a.startsWith("--action="))).toEqual(["--action=default=Open link", "--action=action-0=Camera", "--action=action-1=Open=door"]);
  });
  test("an update carries the replaced notification's ID; fetched pictures go as the icon and the image-path hint", () => {
    const args = notifySendArgs(toast, false, "/nonexistent.png", { replaceId: 42, icon: import.meta.path, image: "/tmp/x/cam.jpg" });
    expect(args).toContain("--replace-id=42");
    expect(args).toContain(`--icon=${import.meta.path}`);
    expect(args).toContain("--hint=string:image-path:/tmp/x/cam.jpg");
    expect(args.indexOf("--")).toBe(args.length - 3); // the text still comes last, after --
  });
  test("CloseNotification through gdbus, else dbus-send, else nothing to close with", () => {
    expect(closeCommand(7, () => "/usr/bin/x")).toEqual(["gdbus", "call", "--session", "--dest", "org.freedesktop.Notifications", "--object-path", "/org/freedesktop/Notifications", "--method", "org.freedesktop.Notifications.CloseNotification", "7"]);
    expect(closeCommand(7, (c) => (c === "dbus-send" ? "/usr/bin/dbus-send" : null))).toEqual(["dbus-send", "--session", "--type=method_call", "--dest=org.freedesktop.Notifications", "/org/freedesktop/Notifications", "org.freedesktop.Notifications.CloseNotification", "uint32:7"]);
    expect(closeCommand(7, () => null)).toBeNull();
  });
});
