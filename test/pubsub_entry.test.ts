// test/pubsub_entry.test.ts — packed entries: pack and unpack round-trip (empty, binary, large elements), the layout is
// the history file's (a u32 LE count, then u32 LE length + bytes), and isPacked accepts exactly the well-formed ranges.
import { describe, expect, test } from "bun:test";
import { eachElement, elementCount, isPacked, pack, packArgsScratch, putU64, rawBytes, u32, u64, u64Of, unpack } from "../pubsub_entry";
import { ArgvArgs } from "../resp";
import { seededRandom } from "./helpers";

const b = (s: string) => Buffer.from(s, "latin1");

describe("packed entries", () => {
  test("the layout: a u32 LE count, then each element's u32 LE length and bytes", () => {
    expect([...pack([b("ab"), b("")])]).toEqual([2, 0, 0, 0, 2, 0, 0, 0, 97, 98, 0, 0, 0, 0]);
    expect([...pack([])]).toEqual([0, 0, 0, 0]);
  });
  test("packArgsScratch packs as pack does, into one reused buffer up to 64 KB, and a larger entry into its own", () => {
    const small = [b("XADD"), b("k"), b("*"), b("f"), b("v")];
    const one = packArgsScratch(new ArgvArgs(small), 3);
    expect([...one]).toEqual([...pack(small, 3)]);
    const two = packArgsScratch(new ArgvArgs([b("f"), b("w".repeat(5000))]), 0); // grows the scratch buffer
    expect([...two]).toEqual([...pack([b("f"), b("w".repeat(5000))])]);
    expect(two.buffer).toBe(packArgsScratch(new ArgvArgs(small), 3).buffer); // reused: valid until the next call
    const huge = packArgsScratch(new ArgvArgs([b("f"), b("h".repeat(70_000))]), 0);
    expect(huge.length).toBe(4 + 4 + 1 + 4 + 70_000);
    expect(huge.buffer).not.toBe(packArgsScratch(new ArgvArgs(small), 3).buffer); // its own buffer: the scratch stays small
    expect(unpack(huge)[1]!.length).toBe(70_000);
  });
  test("pack copies from an offset; unpack gives the same bytes back", () => {
    const argv = [b("XADD"), b("k"), b("*"), b("f"), new Uint8Array([0, 255, 13, 10]), b("x".repeat(70_000)), new Uint8Array(0)];
    const p = pack(argv, 3);
    expect(elementCount(p)).toBe(4);
    expect(rawBytes(p)).toBe(1 + 4 + 70_000);
    expect(unpack(p).map((x) => Buffer.from(x))).toEqual(argv.slice(3).map((x) => Buffer.from(x)));
    argv[4]![0] = 9; // the caller's buffers are not kept
    expect(unpack(p)[1]![0]).toBe(0);
    const seen: number[] = [];
    eachElement(p, (start, end, i) => seen.push(i, end - start));
    expect(seen).toEqual([0, 1, 1, 4, 2, 70_000, 3, 0]);
  });
  test("u32 reads lengths past 2^31 as unsigned", () => {
    expect(u32(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 0)).toBe(0xffffffff);
    expect(u32(new Uint8Array([0, 0, 0, 0x80]), 0)).toBe(0x80000000);
  });
  test("u64 and putU64 round-trip across 2^32, 2^53 and 2^64 - 1, little-endian as DataView has it", () => {
    const edges = [0n, 1n, 0xffffffffn, 0x100000000n, 1764900000000n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];
    for (const v of edges) {
      const p = new Uint8Array(10);
      putU64(p, 1, u64Of(v));
      expect(new DataView(p.buffer).getBigUint64(1, true)).toBe(v);
      expect(u64(p, 1)).toBe(u64Of(v)); // one form per value: a double below 2^53, a BigInt from there
      expect(typeof u64(p, 1)).toBe(v < 2n ** 53n ? "number" : "bigint");
    }
  });
  test("isPacked: exactly a count and that many elements, at any offset, nothing more or less", () => {
    const p = pack([b("field"), b("value")]);
    const framed = new Uint8Array([9, 9, ...p, 9]);
    expect(isPacked(framed, 2, 2 + p.length)).toBe(true);
    for (let end = 2; end < 2 + p.length; end++) expect(isPacked(framed, 2, end)).toBe(false); // cut short
    expect(isPacked(framed, 2, 3 + p.length)).toBe(false); // a byte after
    const big = Uint8Array.from(p);
    big[4] = 0xff; // a length running past the end
    expect(isPacked(big, 0, big.length)).toBe(false);
  });
  test("fuzzed: random lists round-trip, and random bytes are judged without throwing", () => {
    const rand = seededRandom(28);
    const int = (n: number) => Math.floor(rand() * n);
    for (let round = 0; round < 500; round++) {
      const list = Array.from({ length: int(8) }, () => Uint8Array.from({ length: int(40) }, () => int(256)));
      const p = pack(list);
      expect(isPacked(p, 0, p.length)).toBe(true);
      expect(unpack(p).map((x) => [...x])).toEqual(list.map((x) => [...x]));
      const noise = Uint8Array.from({ length: int(30) }, () => int(256));
      const judged = isPacked(noise, 0, noise.length);
      if (judged) expect(pack(unpack(noise))).toEqual(noise);
    }
  });
});
