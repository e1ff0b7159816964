#!/usr/bin/env bun
// bench/storefloor.ts — bench/storemix.ts's floor: a bare Bun.listen that answers each RESP command with +OK and keeps
// nothing, so what it costs per POST is what the runtime alone costs to be woken, take the bytes in and answer.
// Usage: bun bench/storefloor.ts <port> (storemix --floor starts it); commandsIn() is its pure part, tested apart.

/**
 * How many whole RESP multibulk commands `buf` holds from `from` on, and where the first unfinished one starts (the
 * bytes to keep for the next read). Only the well-formed requests storemix sends are understood; anything else throws.
 */
export function commandsIn(buf: Uint8Array, from = 0): { count: number; rest: number } {
  let count = 0;
  let at = from;
  for (;;) {
    const end = commandEnd(buf, at);
    if (end < 0) return { count, rest: at };
    count++;
    at = end;
  }
}

/** The offset just past the command starting at `at`, or -1 when it has not all arrived. */
function commandEnd(buf: Uint8Array, at: number): number {
  if (at >= buf.length) return -1;
  if (buf[at] !== 42) throw new Error(`bench/storefloor: expected '*' at byte ${at}, got ${JSON.stringify(String.fromCharCode(buf[at]!))}`);
  const head = numberLine(buf, at + 1);
  if (head === null) return -1;
  let p = head.next;
  for (let i = 0; i < head.value; i++) {
    if (p >= buf.length) return -1;
    if (buf[p] !== 36) throw new Error(`bench/storefloor: expected '$' at byte ${p}`);
    const len = numberLine(buf, p + 1);
    if (len === null) return -1;
    p = len.next + len.value + 2; // the bytes and their CRLF
    if (p > buf.length) return -1;
  }
  return p;
}

/** The decimal number from `at` up to CRLF, and the offset after the CRLF; null when the CRLF has not arrived. */
function numberLine(buf: Uint8Array, at: number): { value: number; next: number } | null {
  let value = 0;
  for (let p = at; p + 1 < buf.length; p++) {
    const c = buf[p]!;
    if (c === 13) return { value, next: p + 2 };
    if (c < 48 || c > 57) throw new Error(`bench/storefloor: expected a digit at byte ${p}`);
    value = value * 10 + (c - 48);
  }
  return null;
}

if (import.meta.main) {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port <= 0) {
    console.error("Usage: bun bench/storefloor.ts <port>: a bare RESP responder (+OK per command) for bench/storemix.ts --floor");
    process.exit(2);
  }
  type Held = { rest: Uint8Array | null };
  const OK = "+OK\r\n";
  Bun.listen<Held>({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(socket) {
        socket.data = { rest: null };
      },
      data(socket, chunk) {
        const held = socket.data;
        let buf: Uint8Array = chunk;
        if (held.rest !== null) {
          buf = new Uint8Array(held.rest.length + chunk.length);
          buf.set(held.rest);
          buf.set(chunk, held.rest.length);
        }
        const { count, rest } = commandsIn(buf);
        held.rest = rest < buf.length ? buf.slice(rest) : null; // a copy: Bun may reuse the chunk's memory
        if (count) socket.write(OK.repeat(count)); // one write per read, as our server and Redis do
      },
    },
  });
  console.log(`bench/storefloor: listening on 127.0.0.1:${port}`);
}
