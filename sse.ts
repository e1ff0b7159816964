// sse.ts — the Server-Sent Events wire format: an encoder for the server's frames that no value can break out of, and
// an incremental parser for the client's reader (fields id, event, data, retry; comments; any line ending). Pure: no I/O.

export type SseEvent = { id?: string; event: string; data: string };

const encoder = new TextEncoder();

/**
 * CR, LF and NUL: a reader ends a line at CR, LF or CRLF, so any of them inside a value would start a field or an
 * event of the sender's choosing; a NUL makes a browser drop the id. The encoders below are the one place that writes
 * SSE, and none of them lets one through.
 */
const BREAKS = /[\r\n\0]/;
const BREAKS_ALL = /[\r\n\0]/g;
/** A value made one line: each CR, LF or NUL becomes a space. */
const oneLine = (s: string): string => (BREAKS.test(s) ? s.replace(BREAKS_ALL, " ") : s);

/**
 * One frame: `id:` and `event:` when given, then the data, one `data:` line per line of it (CRLF, CR and LF all end
 * a line, as a reader splits them). An id with a line break or NUL is left out rather than mended: a browser sends
 * its last id back as Last-Event-ID, and a mended one would be an id that never was.
 */
export function encodeEvent(e: { id?: string; event?: string; data: string }): Uint8Array {
  let s = "";
  if (e.id && !BREAKS.test(e.id)) s += `id: ${e.id}\n`;
  if (e.event) s += `event: ${oneLine(e.event)}\n`;
  // Why the test first: the data is almost always one line of JSON, which JSON.stringify keeps free of breaks.
  if (!BREAKS.test(e.data)) s += `data: ${e.data}\n`;
  else for (const line of e.data.split(/\r\n|\r|\n/)) s += `data: ${oneLine(line)}\n`;
  return encoder.encode(`${s}\n`);
}

/** A comment frame (keepalives): browsers ignore it. */
export const encodeComment = (text: string): Uint8Array => encoder.encode(`: ${oneLine(text)}\n\n`);

/** A stream's first frame: how long a browser waits before it reconnects, and a comment saying what it reads. */
export const encodeOpening = (retryMs: number, comment: string): Uint8Array => encoder.encode(`retry: ${Math.max(0, Math.floor(retryMs))}\n: ${oneLine(comment)}\n\n`);

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
