// client_desktop.ts — showing a toast on this desktop: notify-send (libnotify) on Linux with app name, icon, image, urgency,
// buttons, a click that opens the link (web links only, no shell), an update in place and a close over D-Bus; node-notifier
// on macOS and Windows. Every failure is reported.
import { existsSync } from "node:fs";
import type { Subprocess } from "bun";
import { markupEscape, type Toast } from "./client_toast";
import { showControls } from "./client_visible";
import type { Reporter } from "./client_report";
import { ActionRunner } from "./client_actions";
import { ICON_MAX_BYTES, IMAGE_MAX_BYTES, Pictures } from "./client_media";

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

/** The name notify-send prints when the toast's button `index` is pressed ("default" is a click on the toast). */
export const actionName = (index: number): string => `action-${index}`;

/** What a toast is shown with besides itself: the notification it replaces, its fetched icon and image files. */
export type ShowWith = { replaceId?: number; icon?: string; image?: string };

/** notify-send's arguments for a toast; `markup` when the server reads body markup, so <, > and & show as typed. */
export function notifySendArgs(t: Toast, markup: boolean, icon = ICON, extra: ShowWith = {}): string[] {
  const args = [`--app-name=${APP_NAME}`, `--urgency=${t.urgency}`];
  const shownIcon = extra.icon ?? icon;
  if (existsSync(shownIcon)) args.push(`--icon=${shownIcon}`);
  if (extra.replaceId !== undefined) args.push(`--replace-id=${extra.replaceId}`); // Notify's replaces_id: an update in place
  if (extra.image !== undefined) args.push(`--hint=string:image-path:${extra.image}`); // shown by daemons that show images
  if (t.urgency === "critical") args.push("--expire-time=0"); // stays until dismissed
  if (t.url !== undefined) args.push("--action=default=Open link"); // "default": what a click on the toast does
  for (const [i, a] of (t.actions ?? []).entries()) args.push(`--action=${actionName(i)}=${a.label}`);
  // "--" ends the options: a summary or body that starts with "-" is text, not a flag. notify-send reads C escapes in
  // the body (g_strcompress), so its backslashes are doubled: `\033` or `C:\new` arrive as typed, not as ESC or a newline.
  return [...args, "--", t.summary, (markup ? markupEscape(t.body) : t.body).replace(/\\/g, "\\\\")];
}

/** The D-Bus call that closes notification `id` (CloseNotification), through gdbus or dbus-send; null: neither is here. */
export function closeCommand(id: number, which: (cmd: string) => string | null = Bun.which): string[] | null {
  const dest = ["org.freedesktop.Notifications", "/org/freedesktop/Notifications"];
  if (which("gdbus")) return ["gdbus", "call", "--session", "--dest", dest[0]!, "--object-path", dest[1]!, "--method", "org.freedesktop.Notifications.CloseNotification", String(id)];
  if (which("dbus-send")) return ["dbus-send", "--session", "--type=method_call", `--dest=${dest[0]}`, dest[1]!, "org.freedesktop.Notifications.CloseNotification", `uint32:${id}`];
  return null;
}

/** coreutils' stdbuf, which makes a program's stdout line-buffered; without it, a waiting toast's ID comes when it closes. */
let stdbuf: string[] | null = null;
const lineBuffered = (): string[] => (stdbuf ??= Bun.which("stdbuf") ? ["stdbuf", "-oL"] : []);

/** How many notifications are remembered for updates and closes; the oldest are forgotten first. */
const REMEMBERED = 1000;

/** A notification the daemon holds for a key: its ID, and the notify-send that waits for its buttons (if any). */
type OnScreen = { id: number; waiting: Subprocess | null };

export class Desktop {
  private markup: Promise<boolean> | null = null;
  /** Each toast is handed to the daemon after the one before it, so they appear in the order the messages came. */
  private queue: Promise<void> = Promise.resolve();
  /** By toast key (channel and sequence ID): what an update replaces and a delete closes. Oldest first. */
  private readonly onScreen = new Map<string, OnScreen>();
  private readonly pictures: Pictures;
  private readonly actions: ActionRunner;

  constructor(
    private readonly report: Reporter,
    /** Lines a person's click caused (an action's outcome): said every time. */
    say: (line: string) => void = (line) => process.stderr.write(`${showControls(line)}\n`),
    pictures = new Pictures(),
  ) {
    this.pictures = pictures;
    this.actions = new ActionRunner({ open: (url) => this.open(url), say, toast: (summary, body) => this.show({ channel: "", summary, body, urgency: "normal" }) });
  }

  show(t: Toast): void {
    this.queue = this.queue.then(() => (process.platform === "linux" ? this.notifySend(t) : this.nodeNotifier(t)));
  }

  /** Is the notification for `key` on screen (shown by this client and not closed since)? An update then replaces it. */
  showing(key: string): boolean {
    return this.onScreen.has(key);
  }

  /** A delete or a clear: the notification for `key` closes (CloseNotification), after any toast queued before. */
  close(key: string): void {
    this.queue = this.queue.then(() => this.closeNow(key));
  }

  private async closeNow(key: string): Promise<void> {
    const shown = this.onScreen.get(key);
    if (!shown) return;
    this.onScreen.delete(key);
    shown.waiting?.kill(); // nobody waits for its buttons any more
    if (process.platform !== "linux") return;
    const cmd = closeCommand(shown.id);
    if (cmd === null) return this.report.say("close", "notistream: cannot close a withdrawn notification: neither gdbus nor dbus-send is installed (libglib2.0-bin or dbus)");
    const p = Bun.spawn(cmd, { stdout: "ignore", stderr: "pipe" });
    const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    if (code !== 0) this.report.say("close", `notistream: closing a withdrawn notification failed (${err.trim() || `exit ${code}`})`);
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

  /** The toast's icon and image as files; one that cannot be fetched is said, and the toast shows without it. */
  private async picturesFor(t: Toast): Promise<ShowWith> {
    const extra: ShowWith = {};
    const [icon, image] = await Promise.all([t.icon === undefined ? null : this.pictures.get(t.icon, ICON_MAX_BYTES), t.image === undefined ? null : this.pictures.get(t.image, IMAGE_MAX_BYTES)]);
    if (icon && "path" in icon) extra.icon = icon.path;
    else if (icon) this.report.say("picture", `notistream: not showing the icon ${showControls(t.icon!, "show")}: ${icon.problem}`);
    if (image && "path" in image) extra.image = image.path;
    else if (image) this.report.say("picture", `notistream: not showing the attached image ${showControls(t.image!, "show")}: ${image.problem}`);
    return extra;
  }

  /** Remembers the notification for `key`, forgetting the oldest past REMEMBERED. */
  private remember(key: string, shown: OnScreen): void {
    this.onScreen.delete(key);
    this.onScreen.set(key, shown);
    if (this.onScreen.size > REMEMBERED) this.onScreen.delete(this.onScreen.keys().next().value!);
  }

  private async notifySend(t: Toast): Promise<void> {
    if (!Bun.which("notify-send"))
      return this.report.say("desktop", "notistream: cannot show desktop notifications: notify-send is missing (install libnotify-bin); messages still print here");
    try {
      const extra = await this.picturesFor(t);
      const before = t.key === undefined ? undefined : this.onScreen.get(t.key);
      if (before) {
        extra.replaceId = before.id;
        // The old notify-send waits for the replaced toast's buttons: only the new one may answer a press now.
        before.waiting?.kill();
      }
      const waits = t.url !== undefined || Boolean(t.actions?.length);
      // --print-id: notify-send prints the ID as soon as the daemon has the toast; with an action it then waits for
      // the click (or the close) and prints the action's name. It does not flush its stdout into a pipe, so a toast
      // with buttons would hold the ID (and every toast queued after it) until it closed: stdbuf makes it line-buffered.
      const p = Bun.spawn([...lineBuffered(), "notify-send", "--print-id", ...notifySendArgs(t, await this.bodyMarkup(), ICON, extra)], { stdout: "pipe", stderr: "pipe" });
      const { promise: handedOver, resolve: handOver } = Promise.withResolvers<void>();
      void this.follow(t, p, waits, handOver);
      await handedOver;
    } catch (err) {
      this.report.say("desktop", `notistream: a desktop notification failed (${(err as Error).message}); the message is printed above`);
    }
  }

  /** Reads one notify-send's output: the ID (handed over, remembered by key), then the buttons pressed, until it ends. */
  private async follow(t: Toast, p: Subprocess<"ignore", "pipe", "pipe">, waits: boolean, handOver: () => void): Promise<void> {
    let out = "";
    for await (const chunk of p.stdout.pipeThrough(new TextDecoderStream())) {
      const first = !out.includes("\n");
      out += chunk;
      if (!first || !out.includes("\n")) continue;
      const id = Number(out.slice(0, out.indexOf("\n")));
      if (t.key !== undefined && Number.isInteger(id) && id > 0) this.remember(t.key, { id, waiting: waits ? p : null });
      handOver();
    }
    const lines = out.split("\n");
    const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    handOver();
    if (p.signalCode !== null) return; // replaced or closed by this client: no button of its can be pressed now
    if (code !== 0) return this.report.say("desktop", `notistream: a desktop notification failed (notify-send exit ${code}: ${err.trim() || "no reason given"}); the message is printed above`);
    for (const name of lines.slice(1).map((l) => l.trim())) this.pressed(t, name);
  }

  /** A button of `t` was pressed (`name` as notify-send printed it). */
  private pressed(t: Toast, name: string): void {
    if (name === "default" && t.url !== undefined) return this.open(t.url);
    const i = /^action-(\d)$/.exec(name);
    const a = i ? t.actions?.[Number(i[1])] : undefined;
    if (!a) return;
    void this.actions.run(a);
    if (a.clear && t.key !== undefined) this.close(t.key); // ntfy's clear=true: the notification goes once acted on
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
