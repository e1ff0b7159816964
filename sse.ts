// sse.ts — the Server-Sent Events wire format: an encoder for the server's frames and an incremental parser for
// the client's reader (fields id, event, data, retry; comments; any line ending). Pure: no I/O.

export type SseEvent = { id?: string; event: string; data: string };

const encoder = new TextEncoder();

/** One frame: `id:` and `event:` when given, then the data (one `data:` line per line of it). */
export function encodeEvent(e: { id?: string; event?: string; data: string }): Uint8Array {
  let s = "";
  if (e.id) s += `id: ${e.id}\n`;
  if (e.event) s += `event: ${e.event}\n`;
  for (const line of e.data.split("\n")) s += `data: ${line}\n`;
  return encoder.encode(`${s}\n`);
}

/** A comment frame (keepalives, the greeting): browsers ignore it. */
export const encodeComment = (text: string): Uint8Array => encoder.encode(`: ${text}\n\n`);

/** Parses an event stream as it arrives, by the rules of the HTML standard's event-stream interpretation. */
export class SseParser {
  private buf = "";
  private data: string[] = [];
  private event = "";
  private id: string | undefined;
  private readonly decoder = new TextDecoder();
  /** The id of the last event, kept across events as the standard says (what Last-Event-ID sends back). */
  lastEventId = "";

  /** Feeds bytes; returns the events they complete. */
  push(chunk: Uint8Array): SseEvent[] {
    this.buf += this.decoder.decode(chunk, { stream: true });
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // A lone \r at the very end may be half of \r\n: wait for the next byte.
      if (m[0] === "\r" && m.index === this.buf.length - 1) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      const e = this.line(line);
      if (e) out.push(e);
    }
    return out;
  }

  private line(line: string): SseEvent | null {
    if (line === "") {
      if (this.id !== undefined) this.lastEventId = this.id;
      const done = this.data.length ? { ...(this.id !== undefined ? { id: this.id } : {}), event: this.event || "message", data: this.data.join("\n") } : null;
      this.data = [];
      this.event = "";
      this.id = undefined;
      return done;
    }
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id" && !value.includes("\0")) this.id = value;
    return null;
  }
}
