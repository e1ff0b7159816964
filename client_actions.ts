// client_actions.ts — what a notification's button does on this desktop (ntfy's actions): view opens the link, http makes
// the request and says how it went, copy puts the value on the clipboard (or prints it). broadcast is Android's only.
import type { Action } from "./message";
import type { DesktopAction } from "./client_toast";
import { showControls } from "./client_visible";

/** How long an http action's request may take before it counts as failed (ntfy's Android app waits as long). */
export const ACTION_TIMEOUT_MS = 15_000;

/** A quoted label for a line: its controls shown, so a label cannot move the terminal's cursor. */
const named = (a: Pick<Action, "label">): string => showControls(JSON.stringify(a.label), "show");

/**
 * What an http action sends, as ntfy's apps send it (docs/publish.md "Send HTTP request": method defaults to POST,
 * headers and body as given), or why it is refused: only an http(s) URL is requested.
 */
export function httpRequestOf(a: Action): { url: string; init: { method: string; headers: Record<string, string>; body?: string } } | { refused: string } {
  let url: URL | null = null;
  try {
    url = new URL(a.url ?? "");
  } catch {
    // refused below
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) return { refused: `notistream: the action ${named(a)} was not done: its URL ${showControls(JSON.stringify(a.url ?? ""), "show")} is not an http(s) link` };
  const method = (a.method ?? "POST").toUpperCase();
  const init: { method: string; headers: Record<string, string>; body?: string } = { method, headers: { ...a.headers } };
  // GET and HEAD carry no body (ntfy refuses one at publish time; fetch would throw).
  if (a.body !== undefined && method !== "GET" && method !== "HEAD") init.body = a.body;
  return { url: url.href, init };
}

/**
 * The program that puts text on the clipboard, reading it from stdin, or null when none is installed: wl-copy on
 * Wayland, else xclip or xsel on X11, pbcopy on macOS, clip on Windows.
 */
export function clipboardCommand(env: Record<string, string | undefined>, platform: string, which: (cmd: string) => string | null): string[] | null {
  if (platform === "darwin") return which("pbcopy") ? ["pbcopy"] : null;
  if (platform === "win32") return which("clip") ? ["clip"] : null;
  if (env.WAYLAND_DISPLAY && which("wl-copy")) return ["wl-copy"];
  if (which("xclip")) return ["xclip", "-selection", "clipboard"];
  if (which("xsel")) return ["xsel", "--clipboard", "--input"];
  return null;
}

/**
 * What the runner needs from the desktop: open a checked link, say a line (every time: a person pressed the button,
 * so these cannot flood), and show a small toast.
 */
export type ActionSinks = { open: (url: string) => void; say: (line: string) => void; toast: (summary: string, body: string) => void };

/** Does a button's action, and says what came of it. */
export class ActionRunner {
  constructor(
    private readonly sinks: ActionSinks,
    private readonly env: Record<string, string | undefined> = process.env,
    private readonly platform: string = process.platform,
  ) {}

  run(a: DesktopAction): Promise<void> {
    if (a.action === "view") {
      this.sinks.open(a.url ?? "");
      return Promise.resolve();
    }
    return a.action === "http" ? this.request(a) : this.copy(a);
  }

  private async request(a: DesktopAction): Promise<void> {
    const req = httpRequestOf(a);
    if ("refused" in req) return this.failed(a, req.refused);
    const what = `${req.init.method} ${req.url}`;
    try {
      const r = await fetch(req.url, { ...req.init, signal: AbortSignal.timeout(ACTION_TIMEOUT_MS), redirect: "follow" });
      await r.body?.cancel(); // the answer's body is not shown: only whether it worked
      if (r.ok) return this.sinks.say(`notistream: the action ${named(a)} is done: ${what} answered ${r.status}`);
      this.failed(a, `notistream: the action ${named(a)} failed: ${what} answered ${r.status} ${r.statusText}`.trim());
    } catch (err) {
      const why = (err as Error).name === "TimeoutError" ? `no answer in ${ACTION_TIMEOUT_MS / 1000} s` : (err as Error).message;
      this.failed(a, `notistream: the action ${named(a)} failed: ${what}: ${why}`);
    }
  }

  private failed(a: DesktopAction, line: string): void {
    this.sinks.say(line);
    this.sinks.toast(`${a.label} failed`, line.replace(/^notistream: /, ""));
  }

  private async copy(a: DesktopAction): Promise<void> {
    const value = a.value ?? "";
    const cmd = clipboardCommand(this.env, this.platform, (c) => Bun.which(c, { PATH: this.env.PATH ?? "" }));
    if (cmd === null) return this.sinks.say(`notistream: no clipboard tool (wl-copy, xclip or xsel); the value of ${named(a)} is: ${showControls(value, "show")}`);
    try {
      // xclip stays behind to hold the selection: its output is not waited on, only its exit.
      const p = Bun.spawn(cmd, { stdin: new Blob([value]), stdout: "ignore", stderr: "ignore", env: { ...this.env } });
      const code = await p.exited;
      if (code === 0) this.sinks.say(`notistream: copied the value of ${named(a)} to the clipboard`);
      else this.sinks.say(`notistream: ${cmd[0]} could not copy (exit ${code}); the value of ${named(a)} is: ${showControls(value, "show")}`);
    } catch (err) {
      this.sinks.say(`notistream: ${cmd[0]} could not copy (${(err as Error).message}); the value of ${named(a)} is: ${showControls(value, "show")}`);
    }
  }
}
