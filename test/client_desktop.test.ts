// test/client_desktop.test.ts — what showing a toast runs: notify-send's arguments, and the command a click opens a link
// with: web links only, never through a shell (on Windows, not `cmd /c start`). Real notifications: client.desktop.e2e.
import { describe, expect, test } from "bun:test";
import { linkToOpen, notifySendArgs, openerCommand } from "../client_desktop";
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
