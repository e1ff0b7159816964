// client_desktop.ts — showing a toast on this desktop: notify-send (libnotify) on Linux with app name, icon, urgency and a click
// that opens the link (web links only, no shell); node-notifier on macOS and Windows. Every failure is reported.
import { existsSync } from "node:fs";
import { markupEscape, type Toast } from "./client_toast";
import { showControls } from "./client_visible";
import type { Reporter } from "./client_report";

const APP_NAME = "Notistream";
const ICON = `${import.meta.dir}/app/icon-192.png`;

/**
 * The link a click may open: only a web page. Anything else (file:, javascript:, smb:, a custom scheme that starts
 * an app) is refused with the sentence to log, since a message's sender picks the link. `href` is the URL as
 * parsed, so spaces and quotes arrive percent-encoded.
 */
export function linkToOpen(url: string): { href: string } | { refused: string } {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // not a URL at all: refused below
  }
  if (parsed && (parsed.protocol === "http:" || parsed.protocol === "https:")) return { href: parsed.href };
  const shown = showControls(JSON.stringify(url.length > 200 ? `${url.slice(0, 199)}…` : url), "show");
  return { refused: `notistream: not opening ${shown}: only http:// and https:// links are opened from a notification` };
}

/**
 * The command that opens a checked web link (linkToOpen's href) in the browser: NOTISTREAM_OPENER if set, else the
 * platform's own. Each is run directly, never through a shell: on Windows, rundll32's FileProtocolHandler rather
 * than `cmd /c start`, which would run `&calc.exe` in a link as a second command.
 */
export function openerCommand(href: string, env: Record<string, string | undefined> = process.env, platform = process.platform): string[] {
  if (env.NOTISTREAM_OPENER) return [...env.NOTISTREAM_OPENER.split(" ").filter(Boolean), href];
  if (platform === "darwin") return ["open", href];
  if (platform === "win32") return ["rundll32", "url.dll,FileProtocolHandler", href];
  return ["xdg-open", href];
}

/** notify-send's arguments for a toast; `markup` when the server reads body markup, so <, > and & show as typed. */
export function notifySendArgs(t: Toast, markup: boolean, icon = ICON): string[] {
  const args = [`--app-name=${APP_NAME}`, `--urgency=${t.urgency}`];
  if (existsSync(icon)) args.push(`--icon=${icon}`);
  if (t.urgency === "critical") args.push("--expire-time=0"); // stays until dismissed
  if (t.url !== undefined) args.push("--action=default=Open link"); // "default": what a click on the toast does
  // "--" ends the options: a summary or body that starts with "-" is text, not a flag. notify-send reads C escapes in
  // the body (g_strcompress), so its backslashes are doubled: `\033` or `C:\new` arrive as typed, not as ESC or a newline.
  return [...args, "--", t.summary, (markup ? markupEscape(t.body) : t.body).replace(/\\/g, "\\\\")];
}

export class Desktop {
  private markup: Promise<boolean> | null = null;
  /** Each toast is handed to the daemon after the one before it, so they appear in the order the messages came. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly report: Reporter) {}

  show(t: Toast): void {
    this.queue = this.queue.then(() => (process.platform === "linux" ? this.notifySend(t) : this.nodeNotifier(t)));
  }

  /** Does the notification server read body markup? Asked once over D-Bus; assumed when it cannot be asked. */
  private bodyMarkup(): Promise<boolean> {
    this.markup ??= (async () => {
      if (!Bun.which("gdbus")) return true;
      const p = Bun.spawn(["gdbus", "call", "--session", "--dest", "org.freedesktop.Notifications", "--object-path", "/org/freedesktop/Notifications", "--method", "org.freedesktop.Notifications.GetCapabilities"], { stdout: "pipe", stderr: "ignore" });
      const out = await new Response(p.stdout).text();
      return (await p.exited) !== 0 || out.includes("'body-markup'");
    })();
    return this.markup;
  }

  private async notifySend(t: Toast): Promise<void> {
    if (!Bun.which("notify-send"))
      return this.report.say("desktop", "notistream: cannot show desktop notifications: notify-send is missing (install libnotify-bin); messages still print here");
    try {
      // --print-id: notify-send prints the ID as soon as the daemon has the toast; with an action it then waits for
      // the click (or the close) and prints the action's name.
      const p = Bun.spawn(["notify-send", "--print-id", ...notifySendArgs(t, await this.bodyMarkup())], { stdout: "pipe", stderr: "pipe" });
      const { promise: handedOver, resolve: handOver } = Promise.withResolvers<void>();
      void (async () => {
        let out = "";
        for await (const chunk of p.stdout.pipeThrough(new TextDecoderStream())) {
          out += chunk;
          if (out.includes("\n")) handOver();
        }
        const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
        handOver();
        if (code !== 0) return this.report.say("desktop", `notistream: a desktop notification failed (notify-send exit ${code}: ${err.trim() || "no reason given"}); the message is printed above`);
        if (t.url !== undefined && out.split("\n").slice(1).some((l) => l.trim() === "default")) this.open(t.url);
      })();
      await handedOver;
    } catch (err) {
      this.report.say("desktop", `notistream: a desktop notification failed (${(err as Error).message}); the message is printed above`);
    }
  }

  private async nodeNotifier(t: Toast): Promise<void> {
    try {
      const notifier = (await import("node-notifier")).default;
      // appID names the app on Windows; the typings lack it, so the options go through a wider type.
      // No `open` option: terminal-notifier would open any scheme itself; the click comes back here and open() checks it.
      const options: Record<string, unknown> = { title: t.summary, message: t.body, appID: APP_NAME, icon: ICON, wait: t.url !== undefined, sound: t.urgency === "critical" };
      notifier.notify(options, (err: Error | null, response: unknown) => {
        if (err) this.report.say("desktop", `notistream: a desktop notification failed (${err.message}); the message is printed above`);
        else if (t.url !== undefined && /activate|click/i.test(String(response))) this.open(t.url);
      });
    } catch (err) {
      this.report.say("desktop", `notistream: cannot show desktop notifications (${(err as Error).message}); messages still print here`);
    }
  }

  private open(url: string): void {
    const link = linkToOpen(url);
    if ("refused" in link) return this.report.say("open", link.refused);
    try {
      const p = Bun.spawn(openerCommand(link.href), { stdout: "ignore", stderr: "pipe" });
      void p.exited.then(async (code) => {
        if (code !== 0) this.report.say("open", `notistream: cannot open ${link.href} (${(await new Response(p.stderr).text()).trim() || `exit ${code}`})`);
      });
    } catch (err) {
      this.report.say("open", `notistream: cannot open ${link.href} (${(err as Error).message})`);
    }
  }
}
