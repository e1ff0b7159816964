// client_line.ts — the line the client prints for a message: formatLine's `[channel] title: message <url>`, with Markdown as
// clean text, the attachment's name and URL, and the buttons a desktop leaves out; a delete or clear as what it did. Pure.
import { formatLine, type Envelope } from "./message";
import { readableText } from "./client_toast";

/** One message's line (before client_visible.ts's visibleLine makes its controls visible). */
export function messageLine(env: Envelope): string {
  if (env.event !== undefined) return `[${env.channel}] ${env.event === "message_delete" ? "deleted" : "cleared"} ${env.sequence_id ?? env.id}`;
  let line = formatLine({ ...env, message: readableText(env) });
  if (env.attachment) line += ` [file ${env.attachment.name}: ${env.attachment.url}]`;
  const left = env.actions?.filter((a) => a.action === "broadcast") ?? [];
  if (left.length) line += ` (${left.map((a) => JSON.stringify(a.label)).join(", ")} left out: broadcast sends an Android intent, which a desktop has no use for)`;
  return line;
}
