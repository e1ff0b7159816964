// pubsub_listpack.ts — the byte size of a Redis stream node's listpack (t_stream.c over listpack.c), so our nodes fill
// up and split exactly where Redis's do under stream-node-max-bytes. Pure: sizes only, nothing is encoded.
import { strictInt } from "./resp";
import { elementCount, u32 } from "./pubsub_entry";

/** Redis's stream-node-max-bytes default: a node is full when its listpack plus the new fields would reach it. */
export const NODE_MAX_BYTES = 4096;
/** An empty listpack: a 4-byte total, a 2-byte count and the end byte. */
const EMPTY = 7;

/** One listpack element: its encoding and data, then its length written backwards (lpEncodeBacklen). */
function element(encoded: number): number {
  const back = encoded <= 127 ? 1 : encoded < 16383 ? 2 : encoded < 2097151 ? 3 : encoded < 268435455 ? 4 : 5;
  return encoded + back;
}

/** An integer element: the smallest of lpEncodeIntegerGetType's encodings. */
export function intSize(v: bigint | number): number {
  // Compared as doubles, no BigInt arithmetic: every edge below is a small integer, and a value past int32 (however
  // rounded as a double) takes the 9-byte encoding.
  const n = typeof v === "number" ? v : v >= -2147483648n && v <= 2147483647n ? Number(v) : Infinity;
  if (n >= 0 && n <= 127) return element(1);
  if (n >= -4096 && n <= 4095) return element(2);
  if (n >= -32768 && n <= 32767) return element(3);
  if (n >= -8388608 && n <= 8388607) return element(4);
  if (n >= -2147483648 && n <= 2147483647) return element(5);
  return element(9);
}

/** A string element, bytes [start, end) of `b`; one that reads as a 64-bit integer is stored as that integer (lpAppend). */
export function stringSize(b: Uint8Array, start = 0, end = b.length): number {
  const len = end - start;
  if (len > 0 && len <= 20) {
    const n = strictInt(b, start, end); // a double: rounded past 2^53, which never moves a value across an encoding edge
    if (n !== null) return intSize(n);
  }
  return element(len < 64 ? 1 + len : len < 4096 ? 2 + len : 5 + len);
}

/** A new node: the master entry (count 1, deleted 0, the field names, a 0 terminator), from its packed fields. */
export function masterSize(packed: Uint8Array): number {
  const pairs = elementCount(packed) / 2;
  let n = EMPTY + intSize(1) + intSize(0) + intSize(pairs) + intSize(0);
  for (let i = 0, at = 4; i < pairs; i++) {
    const len = u32(packed, at);
    n += stringSize(packed, at + 4, at + 4 + len);
    at += 8 + len + u32(packed, at + 4 + len); // past the name and its value
  }
  return n;
}

/** Does this entry carry the master entry's field names, in order (STREAM_ITEM_FLAG_SAMEFIELDS)? Both packed. */
export function sameFields(master: Uint8Array, packed: Uint8Array): boolean {
  const n = elementCount(master);
  if (n !== elementCount(packed)) return false;
  for (let i = 0, a = 4, b = 4; i < n; i++) {
    const la = u32(master, a);
    const lb = u32(packed, b);
    if (i % 2 === 0) {
      if (la !== lb) return false;
      for (let j = 4; j < 4 + la; j++) if (master[a + j] !== packed[b + j]) return false;
    }
    a += 4 + la;
    b += 4 + lb;
  }
  return true;
}

/**
 * A difference read as int64, as Redis's uint64 arithmetic is; a double is exact already. Defined once, not per call:
 * a closure made per entry was garbage for the collector on every XADD.
 */
const wrap = (d: bigint | number): bigint | number => (typeof d === "number" ? d : BigInt.asIntN(64, d));

/**
 * One entry appended to a node: flags, the ID as differences from the master ID (wrapping like Redis's uint64
 * arithmetic read as int64), the field names unless they are the master's, the values, and lp-count.
 */
export function entrySize(msDiff: bigint | number, seqDiff: bigint | number, packed: Uint8Array, same: boolean): number {
  const n = elementCount(packed) / 2;
  let size = intSize(same ? 2 : 0) + intSize(wrap(msDiff)) + intSize(wrap(seqDiff));
  if (!same) size += intSize(n);
  for (let i = 0, at = 4; i < 2 * n; i++) {
    const len = u32(packed, at);
    if (!same || i % 2 === 1) size += stringSize(packed, at + 4, at + 4 + len);
    at += 4 + len;
  }
  return size + intSize(same ? n + 3 : n * 2 + 4);
}
