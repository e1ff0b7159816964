// pubsub_listpack.ts — the byte size of a Redis stream node's listpack (t_stream.c over listpack.c), so our nodes fill
// up and split exactly where Redis's do under stream-node-max-bytes. Pure: sizes only, nothing is encoded.
import { strictInt } from "./resp";

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

/** A string element; one that reads as a 64-bit integer is stored as that integer (lpAppend). */
export function stringSize(s: Uint8Array): number {
  if (s.length > 0 && s.length <= 20) {
    const n = strictInt(s); // a double: rounded past 2^53, which never moves a value across an encoding edge
    if (n !== null) return intSize(n);
  }
  const len = s.length;
  return element(len < 64 ? 1 + len : len < 4096 ? 2 + len : 5 + len);
}

/** The raw length of the fields and values, which Redis adds to the node's size to decide on a new node. */
export function rawLength(fields: Uint8Array[]): number {
  let n = 0;
  for (const f of fields) n += f.length;
  return n;
}

/** A new node: the master entry (count 1, deleted 0, the field names, a 0 terminator). */
export function masterSize(fields: Uint8Array[]): number {
  let n = EMPTY + intSize(1) + intSize(0) + intSize(fields.length / 2) + intSize(0);
  for (let i = 0; i < fields.length; i += 2) n += stringSize(fields[i]!);
  return n;
}

/** Does this entry carry the master entry's field names, in order (STREAM_ITEM_FLAG_SAMEFIELDS)? */
export function sameFields(master: Uint8Array[], fields: Uint8Array[]): boolean {
  if (master.length !== fields.length) return false;
  for (let i = 0; i < fields.length; i += 2) if (Buffer.compare(master[i]!, fields[i]!) !== 0) return false;
  return true;
}

/**
 * One entry appended to a node: flags, the ID as differences from the master ID (wrapping like Redis's uint64
 * arithmetic read as int64), the field names unless they are the master's, the values, and lp-count.
 */
export function entrySize(msDiff: bigint, seqDiff: bigint, fields: Uint8Array[], same: boolean): number {
  const n = fields.length / 2;
  let size = intSize(same ? 2 : 0) + intSize(BigInt.asIntN(64, msDiff)) + intSize(BigInt.asIntN(64, seqDiff));
  if (!same) size += intSize(n);
  for (let i = 0; i < fields.length; i += 2) {
    if (!same) size += stringSize(fields[i]!);
    size += stringSize(fields[i + 1]!);
  }
  return size + intSize(same ? n + 3 : n * 2 + 4);
}
