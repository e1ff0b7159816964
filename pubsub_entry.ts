// pubsub_entry.ts — a stream entry's fields and values packed in one buffer (pure): a u32 LE count, then each element
// as a u32 LE length and its bytes, the very layout of the history file's add record, so memory and file share it;
// and the integers of those records: u32s, and uint64s (a stream ID's parts) held as doubles below 2^53 (U64).
//
// Why packed: an entry held as an array of Uint8Arrays cost one allocation and one garbage-collected object per
// field (eight for a webhook's envelope); one buffer is one allocation at XADD, one copy at load, one object to trace.

import { ArgvArgs, type CommandArgs } from "./resp";

/** The u32 LE at `at`. */
export const u32 = (p: Uint8Array, at: number): number => (p[at]! | (p[at + 1]! << 8) | (p[at + 2]! << 16)) + p[at + 3]! * 0x1000000;

export function putU32(p: Uint8Array, at: number, v: number): void {
  p[at] = v & 0xff;
  p[at + 1] = (v >>> 8) & 0xff;
  p[at + 2] = (v >>> 16) & 0xff;
  p[at + 3] = v >>> 24;
}

/**
 * A uint64 (a stream ID's part, a stream's count of entries added) in one canonical form: a double below 2^53, a BigInt
 * from there. Why: every BigInt operation is a runtime call in JSC and each result a heap object, while a clock's
 * milliseconds and a sequence are always below 2^53; one form per value keeps === exact, and <, > compare the two kinds
 * exactly. Redis's edge IDs (up to 2^64 - 1) still work, on the slower path.
 */
export type U64 = number | bigint;
const SAFE = 2 ** 53;
export const U64_MAX = 18446744073709551615n;
/** A BigInt's canonical U64. */
export const u64Of = (v: bigint): U64 => (v < 9007199254740992n ? Number(v) : v);
/** v + 1 (the caller keeps it at most U64_MAX). */
export const incU64 = (v: U64): U64 => (typeof v === "number" ? (v + 1 < SAFE ? v + 1 : BigInt(v) + 1n) : v + 1n);
/** v - 1 (the caller keeps it at least 1). */
export const decU64 = (v: U64): U64 => (typeof v === "number" ? v - 1 : u64Of(v - 1n));

const TWO32 = 0x100000000;
/** The u64 LE at `at`. */
export function u64(p: Uint8Array, at: number): U64 {
  const hi = u32(p, at + 4);
  const lo = u32(p, at);
  return hi < 0x200000 ? hi * TWO32 + lo : (BigInt(hi) << 32n) | BigInt(lo);
}
export function putU64(p: Uint8Array, at: number, v: U64): void {
  if (typeof v === "number") {
    const lo = v % TWO32;
    putU32(p, at, lo);
    putU32(p, at + 4, (v - lo) / TWO32);
  } else {
    putU32(p, at, Number(v & 0xffffffffn));
    putU32(p, at + 4, Number((v >> 32n) & 0xffffffffn));
  }
}

/** `elements[from..]` packed into one new buffer (a copy: nothing of the caller's buffers is kept). */
export const pack = (elements: readonly Uint8Array[], from = 0): Uint8Array => packArgs(new ArgvArgs(elements), from);

/** Arguments `from..` of a command packed into one new buffer, copied from wherever they are (resp.ts's CommandArgs). */
export const packArgs = (args: CommandArgs, from: number): Uint8Array => packArgsInto(new Uint8Array(packedSize(args, from)), args, from);

let scratch = new Uint8Array(4096);
/** A larger entry gets a buffer of its own: the scratch buffer never holds on to a huge one. */
const SCRATCH_MAX = 64 * 1024;
/**
 * The same packed into one reused buffer: a view, valid until the next call. For a caller that copies it at once (XADD:
 * into the file's record and the stream's node). Why: a buffer made per XADD only to be copied and dropped was one more
 * allocation per message for the collector.
 */
export function packArgsScratch(args: CommandArgs, from: number): Uint8Array {
  const size = packedSize(args, from);
  if (size > SCRATCH_MAX) return packArgsInto(new Uint8Array(size), args, from);
  if (size > scratch.length) scratch = new Uint8Array(Math.min(SCRATCH_MAX, Math.max(size, 2 * scratch.length)));
  return packArgsInto(scratch.subarray(0, size), args, from);
}

function packedSize(args: CommandArgs, from: number): number {
  let size = 4;
  for (let i = from; i < args.length; i++) size += 4 + args.size(i);
  return size;
}

function packArgsInto(p: Uint8Array, args: CommandArgs, from: number): Uint8Array {
  putU32(p, 0, args.length - from);
  let at = 4;
  for (let i = from; i < args.length; i++) {
    const n = args.size(i);
    putU32(p, at, n);
    args.copyInto(i, p, at + 4);
    at += 4 + n;
  }
  return p;
}

/** How many elements (fields and values together). */
export const elementCount = (p: Uint8Array): number => u32(p, 0);

/** The bytes of the elements themselves, without the count and lengths (Redis's raw length of the fields). */
export const rawBytes = (p: Uint8Array): number => p.length - 4 - 4 * elementCount(p);

/** Calls `each(start, end, index)` for every element, in order: its bytes are p[start, end). */
export function eachElement(p: Uint8Array, each: (start: number, end: number, index: number) => void): void {
  const n = elementCount(p);
  for (let i = 0, at = 4; i < n; i++) {
    const len = u32(p, at);
    each(at + 4, at + 4 + len, i);
    at += 4 + len;
  }
}

/** The elements as views of `p` (tests and cold paths; the hot ones walk `p` itself). */
export function unpack(p: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  eachElement(p, (start, end) => out.push(p.subarray(start, end)));
  return out;
}

/** Do bytes [from, to) hold exactly a packed list: a count, then that many length-prefixed elements, nothing after? */
export function isPacked(p: Uint8Array, from: number, to: number): boolean {
  if (to - from < 4) return false;
  const n = u32(p, from);
  let at = from + 4;
  for (let i = 0; i < n; i++) {
    if (to - at < 4) return false;
    at += 4 + u32(p, at);
    if (at > to) return false;
  }
  return at === to;
}
