// test/pubsub_listpack.test.ts — the listpack size model behind stream nodes: element encodings at their boundaries,
// strings that are stored as integers, and whole entries. (The compat test checks it against redis-server.)
import { describe, expect, test } from "bun:test";
import { pack } from "../pubsub_entry";
import { entrySize, intSize, masterSize, sameFields, stringSize } from "../pubsub_listpack";

const b = (s: string) => Buffer.from(s, "latin1");

describe("listpack sizes", () => {
  test("integers take the smallest encoding, plus one back-length byte", () => {
    expect([0, 127, 128, -1, -4096, 4095, 4096, -32768, 32767, 32768, 8388607, 8388608, 2147483647, 2147483648].map(intSize)).toEqual([2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6, 6, 10]);
    // The double fast path and the BigInt path agree at every edge, and long numbers take the exact path.
    const edges = [0, 127, 128, -1, -4096, -4097, 4095, 4096, -32768, -32769, 32767, 32768, -8388608, -8388609, 8388607, 8388608, -2147483648, -2147483649, 2147483647, 2147483648, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    for (const v of edges) expect(intSize(v)).toBe(intSize(BigInt(v)));
    for (const digits of ["9007199254740993", "-9223372036854775808", "9223372036854775807", "1764650000123"]) expect(stringSize(b(digits))).toBe(intSize(BigInt(digits)));
    expect(stringSize(b("9223372036854775808"))).toBe(21); // above int64: stored as a 19-byte string
  });
  test("strings that read as integers are integers; others are 6-, 12- or 32-bit strings", () => {
    expect(stringSize(b("42"))).toBe(2);
    expect(stringSize(b("007"))).toBe(5); // leading zero: a string
    expect(stringSize(b("-0"))).toBe(4);
    expect(stringSize(b(""))).toBe(2);
    expect(stringSize(b("x".repeat(63)))).toBe(65);
    expect(stringSize(b("x".repeat(64)))).toBe(67);
    expect(stringSize(b("x".repeat(126)))).toBe(130); // 128 encoded bytes need a 2-byte back-length
    expect(stringSize(b("x".repeat(4096)))).toBe(4096 + 5 + 2);
  });
  test("an entry with the master's fields stores only its values", () => {
    const f = pack([b("envelope"), b("hello")]);
    expect(sameFields(f, pack([b("envelope"), b("other")]))).toBe(true);
    expect(sameFields(f, pack([b("env"), b("hello")]))).toBe(false);
    expect(sameFields(f, pack([b("envelopf"), b("hello")]))).toBe(false); // same length, one byte differs
    expect(sameFields(f, pack([b("envelope"), b("hello"), b("x"), b("y")]))).toBe(false);
    expect(sameFields(pack([b("a"), b("1"), b("b"), b("2")]), pack([b("a"), b("xyz"), b("b"), b("")]))).toBe(true); // values differ, names match
    expect(masterSize(f)).toBe(7 + 2 + 2 + 2 + 10 + 2);
    // flags, ms-diff, seq-diff, the value, lp-count
    expect(entrySize(0n, 0n, f, true)).toBe(2 + 2 + 2 + 7 + 2);
    // without SAMEFIELDS: also num-fields and the field name
    expect(entrySize(0n, 0n, f, false)).toBe(2 + 2 + 2 + 2 + 10 + 7 + 2);
    // a sequence below the master's wraps to a negative 64-bit difference, as in Redis
    expect(entrySize(1n, -3n, f, true)).toBe(2 + 2 + 3 + 7 + 2);
    // differences given as doubles (IDs below 2^53) size as their BigInt twins
    for (const d of [0, 1, -1, 127, 128, -4097, 32768, -8388609, 2147483648, -(2 ** 53) + 1, 2 ** 53 - 1])
      expect([d, entrySize(d, -d, f, false)]).toEqual([d, entrySize(BigInt(d), BigInt(-d), f, false)]);
  });
});
