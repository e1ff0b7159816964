// desktop.ts — showing a toast on this desktop: notify-send (libnotify) on Linux with the app name, icon, urgency and
// a click action that opens the link; node-notifier on macOS and Windows. Every failure is reported (rate-limited).
import { existsSync } from "node:fs";
import { markupEscape, type Toast } from "./toast";
import type { Reporter } from "./report";

export const APP_NAME = "Notistream";
const ICON = `${import.meta.dir}/app/icon-192.png`;

/** The command that opens a link in the browser: NOTISTREAM_OPENER if set, else the platform's own. */
export function openerCommand(url: string, env: Record<string, string | undefined> = process.env, platform = process.platform): string[] {
  if (env.NOTISTREAM_OPENER) return [...env.NOTISTREAM_OPENER.split(" ").filter(Boolean), url];
  if (platform === "darwin") return ["open", url];
  if (platform === "win32") return ["cmd", "/c", "start", "", url];
  return ["xdg-open", url];
}

/** notify-send's arguments for a toast; `markup` when the server reads body markup, so <, > and & show as typed. */
export function notifySendArgs(t: Toast, markup: boolean, icon = ICON): string[] {
  const args = [`--app-name=${APP_NAME}`, `--urgency=${t.urgency}`];
  if (existsSync(icon)) args.push(`--icon=${icon}`);
  if (t.urgency === "critical") args.push("--expire-time=0"); // stays until dismissed
  if (t.url !== undefined) args.push("--action=default=Open link"); // "default": what a click on the toast does
  // "--" ends the options: a summary or body that starts with "-" is text, not a flag.
  return [...args, "--", t.summary, markup ? markupEscape(t.body) : t.body];
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
      const options: Record<string, unknown> = { title: t.summary, message: t.body, appID: APP_NAME, icon: ICON, wait: t.url !== undefined, open: t.url, sound: t.urgency === "critical" };
      notifier.notify(options, (err: Error | null, response: unknown) => {
        if (err) this.report.say("desktop", `notistream: a desktop notification failed (${err.message}); the message is printed above`);
        else if (t.url !== undefined && /activate|click/i.test(String(response))) this.open(t.url);
      });
    } catch (err) {
      this.report.say("desktop", `notistream: cannot show desktop notifications (${(err as Error).message}); messages still print here`);
    }
  }

  private open(url: string): void {
    try {
      const p = Bun.spawn(openerCommand(url), { stdout: "ignore", stderr: "pipe" });
      void p.exited.then(async (code) => {
        if (code !== 0) this.report.say("open", `notistream: cannot open ${url} (${(await new Response(p.stderr).text()).trim() || `exit ${code}`})`);
      });
    } catch (err) {
      this.report.say("open", `notistream: cannot open ${url} (${(err as Error).message})`);
    }
  }
}
