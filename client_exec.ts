// client_exec.ts — `notistream --exec CMD`: runs CMD once per message, one at a time and in order, with the envelope as
// JSON on stdin and its fields in NOTISTREAM_* variables. A failing command is reported; the next message still runs.
import type { Envelope } from "./message";
import { showControls, visibleJson } from "./client_visible";

/**
 * The variables a command gets for one message, control characters shown as `\x1b`-style escapes (newlines and tabs
 * kept): a script that echoes one to the terminal prints text, not escape sequences, and a NUL (which no variable
 * can hold) still arrives. The exact text is in the JSON on stdin.
 */
export function execEnv(env: Envelope): Record<string, string> {
  const vars: Record<string, string> = {
    NOTISTREAM_ID: env.id,
    NOTISTREAM_CHANNEL: env.channel,
    NOTISTREAM_TITLE: env.title ?? "",
    NOTISTREAM_MESSAGE: env.message,
    NOTISTREAM_PRIORITY: env.priority === undefined ? "" : String(env.priority),
    NOTISTREAM_URL: env.url ?? "",
    NOTISTREAM_TAGS: (env.tags ?? []).join(","),
    // Issue 25: "message_delete" or "message_clear" for a withdrawal (empty for a message), and the notification's key.
    NOTISTREAM_EVENT: env.event ?? "",
    NOTISTREAM_SEQUENCE_ID: env.sequence_id ?? env.id,
    NOTISTREAM_ATTACHMENT_URL: env.attachment?.url ?? "",
  };
  for (const k in vars) vars[k] = showControls(vars[k]!);
  return vars;
}

/**
 * The shell that runs CMD, as a terminal would: sh -c on Unix, cmd /c on Windows. CMD is the user's own --exec;
 * a message never becomes part of it, only of the variables and stdin, so `$(…)` or `&` in a message is just text.
 */
const shell = (cmd: string): string[] => (process.platform === "win32" ? ["cmd", "/d", "/s", "/c", cmd] : ["/bin/sh", "-c", cmd]);

export class Executor {
  /** The messages waiting their turn: commands never overlap, so they see messages in order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly command: string,
    /** Failures are said every time: commands run one at a time, so they cannot flood. */
    private readonly report: (line: string) => void,
  ) {}

  run(env: Envelope): void {
    this.chain = this.chain.then(() => this.once(env));
  }

  /** Resolves when every queued command has finished (for a clean stop). */
  idle(): Promise<void> {
    return this.chain;
  }

  private async once(env: Envelope): Promise<void> {
    try {
      const p = Bun.spawn(shell(this.command), { stdin: new Blob([visibleJson(env) + "\n"]), stdout: "inherit", stderr: "pipe", env: { ...process.env, ...execEnv(env) } });
      const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
      if (err) process.stderr.write(err);
      if (code !== 0) this.report(`notistream: --exec command failed for message ${env.id || "(no id)"} on ${env.channel} (exit ${code}); going on with the next`);
    } catch (err) {
      this.report(`notistream: --exec command could not start for message ${env.id || "(no id)"} (${(err as Error).message}); going on with the next`);
    }
  }
}
