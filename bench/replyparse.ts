#!/usr/bin/env bun
// bench/replyparse.ts — the reply parser on a large XRANGE reply arriving in small chunks (as a catch-up reads it
// off the socket): time to parse, this tree's resp.ts against another's (--against DIR, e.g. a worktree at HEAD), A B A B.
// Usage: bun bench/replyparse.ts [--mb 10] [--chunk 1024] [--rounds 2] [--against DIR]
import { resolve } from "node:path";
import { median } from "./median";

const args = process.argv.slice(2);
const opt = (name: string) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : undefined);
const mb = Number(opt("mb") ?? 10);
const chunkSize = Number(opt("chunk") ?? 1024);
const rounds = Number(opt("rounds") ?? 2);
const against = opt("against");

type Parser = { push(c: Uint8Array): void; next(): unknown };
type ParserClass = new () => Parser;

/** An XRANGE reply of about `mb` MB: entries [id, [message, ~80 bytes, title, ~20 bytes]], as history stores them. */
function xrange(megabytes: number): { bytes: Uint8Array; entries: number } {
  const parts: string[] = [];
  let size = 0;
  let n = 0;
  while (size < megabytes * 1024 * 1024) {
    const id = `${1700000000000 + n}-0`;
    const message = `message ${n}: ${"disk almost full on host-".padEnd(70, "x")}`;
    const title = `alert ${n % 97}`;
    const entry = `*2\r\n$${id.length}\r\n${id}\r\n*4\r\n$7\r\nmessage\r\n$${message.length}\r\n${message}\r\n$5\r\ntitle\r\n$${title.length}\r\n${title}\r\n`;
    parts.push(entry);
    size += entry.length;
    n++;
  }
  return { bytes: Buffer.from(`*${n}\r\n` + parts.join(""), "latin1"), entries: n };
}

/** Feeds the reply in chunks, draining after each push as link.ts does; returns the milliseconds taken. */
function parseOnce(P: ParserClass, bytes: Uint8Array, entries: number): number {
  const t0 = performance.now();
  const p = new P();
  let replies = 0;
  for (let at = 0; at < bytes.length; at += chunkSize) {
    p.push(bytes.subarray(at, at + chunkSize));
    while (p.next() !== null) replies++;
  }
  const ms = performance.now() - t0;
  if (replies !== 1) throw new Error(`expected one reply of ${entries} entries, got ${replies} replies`);
  return ms;
}

const { bytes, entries } = xrange(mb);
const chunks = Math.ceil(bytes.length / chunkSize);
console.log(`XRANGE reply: ${(bytes.length / 1048576).toFixed(1)} MB, ${entries} entries, fed in ${chunks} chunks of ${chunkSize} B`);
const sides: [string, ParserClass][] = [["this tree", (await import("../resp")).ReplyParser]];
if (against) sides.push([against, (await import(resolve(against, "resp.ts"))).ReplyParser as ParserClass]);
const times = new Map<string, number[]>(sides.map(([name]) => [name, []]));
for (let r = 0; r < rounds; r++)
  for (const [name, P] of sides) {
    const ms = parseOnce(P, bytes, entries);
    times.get(name)!.push(ms);
    console.log(`round ${r + 1} ${name}: ${ms.toFixed(1)} ms`);
  }
for (const [name, ms] of times) console.log(`${name}: median ${median(ms).toFixed(1)} ms (${ms.map((x) => x.toFixed(0)).join(", ")})`);
