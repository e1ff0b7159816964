// test/pubsub_aof.test.ts — the append-only file's records: encoded and read back whole, byte by byte, split at every
// boundary, with torn and damaged tails cut where the last whole record ends, and fuzzed.
import { describe, expect, test } from "bun:test";
import { AOF_MAGIC, AofReader, RECORD_HEADER, ROW, RecordBuffer, crc32, decodePayload, type AofRecord } from "../pubsub_aof";
import { pack, u64Of } from "../pubsub_entry";
import { seededRandom } from "./helpers";

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const id = (ms: bigint, seq = 0n) => ({ ms: u64Of(ms), seq: u64Of(seq) });
const U64 = 18446744073709551615n;

/** One of every record, with edge values: empty and binary fields, 64-bit IDs at their limits, a latin1 key. */
function sample(buf: RecordBuffer): AofRecord[] {
  const out: AofRecord[] = [
    { op: "add", key: "chan", id: id(1700000000000n, 0n), packed: pack([b("message"), b("hello")]) },
    { op: "add", key: "bin\u00ff\u0000k", id: id(U64, U64), packed: pack([new Uint8Array([0, 255, 13, 10]), new Uint8Array(0)]) },
    { op: "xdel", key: "chan", ids: [id(1n, 2n), id(U64, 0n)] },
    { op: "xdel", key: "", ids: [] },
    { op: "trim", key: "chan", through: id(5n, 7n) },
    { op: "drop", key: "gone" },
    { op: "flush" },
    { op: "meta", key: "chan", lastId: id(9n, 9n), added: U64 },
    { op: "noop" },
    {
      op: "entries",
      key: "chan\u00ff",
      entries: [
        { id: id(0n, 1n), packed: pack([b("message"), b("hello")]) },
        { id: id(4294967295n, 4294967296n), packed: pack([new Uint8Array([0, 255, 13, 10]), new Uint8Array(0)]) },
        { id: id(9007199254740991n, 9007199254740992n), packed: pack([]) },
        { id: id(U64, U64), packed: pack([b("m"), b("x".repeat(300))]) },
      ],
    },
    { op: "entries", key: "none", entries: [] },
  ];
  for (const r of out) write(buf, r);
  return out;
}

function write(buf: RecordBuffer, r: AofRecord): void {
  if (r.op === "add") buf.add(r.key, r.id, r.packed);
  else if (r.op === "xdel") buf.xdel(r.key, r.ids);
  else if (r.op === "trim") buf.trim(r.key, r.through);
  else if (r.op === "drop") buf.drop(r.key);
  else if (r.op === "flush") buf.flush();
  else if (r.op === "meta") buf.meta(r.key, r.lastId, r.added);
  else if (r.op === "entries") {
    const { rows, pages } = nodeOf(r.entries);
    buf.entries(r.key, rows, r.entries.length * ROW, pages);
  } else buf.noop();
}

const halves = (v: bigint | number): [number, number] => [Number(BigInt(v) >> 32n), Number(BigInt(v) & 0xffffffffn)];

/**
 * A node's rows and pages holding `entries` as the history lays them out: the first half in one page with the bytes of
 * a deleted entry between the first and second, the rest in a second page, and slots of room after the live rows.
 */
function nodeOf(entries: { id: { ms: bigint | number; seq: bigint | number }; packed: Uint8Array }[]): { rows: Uint32Array; pages: Uint8Array[] } {
  const rows = new Uint32Array((entries.length + 3) * ROW).fill(0xdeadbeef);
  const pages = [new Uint8Array(20_000).fill(0xee), new Uint8Array(20_000).fill(0xdd)];
  const used = [5, 0];
  entries.forEach((e, i) => {
    const page = i < entries.length / 2 ? 0 : 1;
    if (i === 1 && page === 0) used[0]! += 3; // a deleted entry's bytes: a gap the copy must skip
    pages[page]!.set(e.packed, used[page]!);
    rows.set([...halves(e.id.ms), ...halves(e.id.seq), page, used[page]!, used[page]! + e.packed.length], i * ROW);
    used[page]! += e.packed.length;
  });
  return { rows, pages };
}

/** A whole file: the magic, then the sample's records. */
function file(): { bytes: Uint8Array; records: AofRecord[]; ends: number[] } {
  const buf = new RecordBuffer();
  const records: AofRecord[] = [];
  const ends: number[] = [AOF_MAGIC.length];
  for (const r of sample(new RecordBuffer())) {
    write(buf, r);
    records.push(r);
    ends.push(AOF_MAGIC.length + buf.length);
  }
  const bytes = new Uint8Array(AOF_MAGIC.length + buf.length);
  bytes.set(AOF_MAGIC, 0);
  bytes.set(buf.bytes(), AOF_MAGIC.length);
  return { bytes, records, ends };
}

function read(chunks: Uint8Array[]): { records: AofRecord[]; good: number; torn: string | null } {
  const reader = new AofReader();
  const records: AofRecord[] = [];
  for (const c of chunks) reader.push(c, (r) => records.push(r));
  return { records, good: reader.good, torn: reader.end() };
}

describe("RecordBuffer.entries", () => {
  test("an entries record holds exactly the live rows' IDs and fields, copied in runs across pages and gaps", () => {
    const entries = Array.from({ length: 9 }, (_, i) => ({ id: id(1700000000000n + BigInt(i), BigInt(i) << 40n), packed: pack([b("message"), b(`hello ${i}`)]) }));
    const { rows, pages } = nodeOf(entries);
    const buf = new RecordBuffer();
    buf.entries("k", rows, entries.length * ROW, pages);
    expect(read([AOF_MAGIC, buf.bytes()]).records).toEqual([{ op: "entries", key: "k", entries }]);
    // Nine entries in one record: the key, op, length and CRC once, and 20 bytes of ID and length per entry.
    const fields = entries.reduce((n, e) => n + e.packed.length, 0);
    expect(buf.length).toBe(RECORD_HEADER + 1 + 4 + 1 + 4 + 20 * entries.length + fields);
  });

  test("an entries record whose inner lengths do not add up is refused, even with a right checksum", () => {
    const buf = new RecordBuffer();
    const { rows, pages } = nodeOf([{ id: id(1n), packed: pack([b("a")]) }]);
    buf.entries("k", rows, ROW, pages);
    const payload = buf.bytes().slice(RECORD_HEADER);
    expect(decodePayload(payload)).not.toBeNull();
    for (const [at, v] of [[6, 2], [6 + 4 + 16, 99], [6 + 4 + 16, 0]] as const) {
      const bad = payload.slice();
      bad[at] = v; // the count (after op and key), then the entry's length (after its ID)
      expect(decodePayload(bad)).toBeNull();
    }
    expect(decodePayload(payload.subarray(0, payload.length - 1))).toBeNull();
  });
});

describe("pubsub_aof", () => {
  test("crc32 of any range equals Bun.hash.crc32 of that range, on both sides of the native cutoff", () => {
    const random = seededRandom(28);
    const bytes = new Uint8Array(3000).map(() => Math.floor(random() * 256));
    for (let start = 0; start < 17; start++)
      for (const len of [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 110, 1023, 1024, 1025, 2900])
        expect(crc32(bytes, start, start + len)).toBe(Bun.hash.crc32(bytes.subarray(start, start + len)));
    expect(crc32(new TextEncoder().encode("123456789"), 0, 9)).toBe(0xcbf43926); // the CRC-32 check value
  });

  test("every record reads back as written, whole", () => {
    const { bytes, records } = file();
    const got = read([bytes]);
    expect(got.records).toEqual(records);
    expect(got.good).toBe(bytes.length);
    expect(got.torn).toBeNull();
  });

  test("byte by byte, and split in two at every offset, reads the same", () => {
    const { bytes, records } = file();
    expect(read([...bytes].map((x) => new Uint8Array([x]))).records).toEqual(records);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const got = read([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(got.records).toEqual(records);
      expect(got.torn).toBeNull();
    }
  });

  test("read from one reused Buffer (as the loader reads the file), every record and field stays as written", () => {
    const { bytes, records } = file();
    for (const size of [1, 7, 64, 100]) {
      const chunk = Buffer.alloc(size);
      const reader = new AofReader();
      const got: AofRecord[] = [];
      for (let at = 0; at < bytes.length; at += size) {
        const n = Math.min(size, bytes.length - at);
        chunk.set(bytes.subarray(at, at + n));
        reader.push(chunk.subarray(0, n), (r) => got.push(r));
      }
      chunk.fill(0xee); // the next read would overwrite it
      expect(reader.end()).toBeNull();
      expect(got).toEqual(records);
    }
  });

  test("borrowing, an entry's fields are views of the bytes read, right while the callback runs, at any split", () => {
    const { bytes, records } = file();
    for (const size of [1, 7, 64, bytes.length]) {
      const reader = new AofReader(true);
      const seen: string[] = [];
      for (let at = 0; at < bytes.length; at += size)
        reader.push(bytes.slice(at, at + size), (r) => {
          const fields = r.op === "add" ? [r.packed] : r.op === "entries" ? r.entries.map((e) => e.packed) : [];
          seen.push(JSON.stringify({ ...r, fields: fields.map((f) => [...f]) }, (_, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? undefined : v)));
        });
      expect(reader.end()).toBeNull();
      const expected = records.map((r) => {
        const fields = r.op === "add" ? [r.packed] : r.op === "entries" ? r.entries.map((e) => e.packed) : [];
        return JSON.stringify({ ...r, fields: fields.map((f) => [...f]) }, (_, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? undefined : v));
      });
      expect(seen).toEqual(expected);
    }
    // Whole in one chunk, an add's fields are a view of that chunk: no copy made.
    const reader = new AofReader(true);
    let sameBuffer = false;
    reader.push(bytes, (r) => {
      if (r.op === "add") sameBuffer ||= r.packed.buffer === bytes.buffer;
    });
    expect(sameBuffer).toBe(true);
  });

  test("a file cut at any byte (kill -9 or a full disk mid-write) keeps exactly the whole records before the cut", () => {
    const { bytes, records, ends } = file();
    for (let cut = AOF_MAGIC.length; cut <= bytes.length; cut++) {
      const whole = ends.filter((e) => e <= cut).length - 1;
      const got = read([bytes.subarray(0, cut)]);
      expect(got.records).toEqual(records.slice(0, whole));
      expect(got.good).toBe(ends[whole]!);
      expect(got.torn === null).toBe(cut === ends[whole]);
    }
  });

  test("a changed byte anywhere stops the reading at the record it is in; nothing after it is served", () => {
    const { bytes, records, ends } = file();
    for (let at = AOF_MAGIC.length; at < bytes.length; at++) {
      const bad = bytes.slice();
      bad[at] = bad[at]! ^ 0x5a;
      const got = read([bad]);
      const inRecord = ends.findIndex((e) => e > at) - 1;
      expect(got.records).toEqual(records.slice(0, inRecord));
      expect(got.good).toBe(ends[inRecord]!);
      expect(got.torn).not.toBeNull();
    }
  });

  test("a tail of zeros (what a file system may leave after a crash) is cut, not read", () => {
    const { bytes, records } = file();
    const padded = new Uint8Array(bytes.length + 4096);
    padded.set(bytes, 0);
    const got = read([padded]);
    expect(got.records).toEqual(records);
    expect(got.good).toBe(bytes.length);
    expect(got.torn).toContain("impossible length");
  });

  test("a version 1 file (its magic ends in 1) reads as version 2 does; another version is refused", () => {
    const { bytes, records } = file();
    const v1 = bytes.slice();
    v1[AOF_MAGIC.length - 1] = 0x31;
    expect(read([v1]).records).toEqual(records);
    const v3 = bytes.slice();
    v3[AOF_MAGIC.length - 1] = 0x33;
    expect(read([v3]).torn).toContain("does not start");
    expect(new TextDecoder().decode(AOF_MAGIC)).toBe("NSAOF002");
  });

  test("another file (SQLite's, say) is not read as records; an empty file is an empty history", () => {
    expect(read([b("SQLite format 3\u0000 and more")]).torn).toContain("does not start");
    expect(read([]).torn).toBeNull();
    expect(read([AOF_MAGIC.subarray(0, 3)]).torn).toContain("header");
  });

  test("a record with a right checksum but contents that do not fit its op is refused", () => {
    expect(decodePayload(new Uint8Array([1, 5, 0, 0, 0, 97]))).toBeNull(); // add: key says 5 bytes, 1 follows
    expect(decodePayload(new Uint8Array([5, 0]))).toBeNull(); // flush with a byte left over
    expect(decodePayload(new Uint8Array([99]))).toBeNull(); // no such op
    expect(decodePayload(new Uint8Array([5]))).toEqual({ op: "flush" });
  });

  test("fuzzed: random records split into random chunks read back exactly; random bytes never throw", () => {
    const rnd = seededRandom(28);
    const int = (n: number) => Math.floor(rnd() * n);
    const big = () => (BigInt(int(2 ** 32)) << 32n) | BigInt(int(2 ** 32));
    for (let round = 0; round < 200; round++) {
      const buf = new RecordBuffer();
      const records: AofRecord[] = [];
      for (let i = int(30); i > 0; i--) {
        const key = String.fromCharCode(...Array.from({ length: int(6) }, () => int(256)));
        const kind = int(5);
        const r: AofRecord =
          kind === 4
            ? { op: "entries", key, entries: Array.from({ length: int(6) }, () => ({ id: id(big(), big()), packed: pack(Array.from({ length: int(4) }, () => new Uint8Array(Array.from({ length: int(200) }, () => int(256))))) })) }
            : kind === 0
            ? { op: "add", key, id: id(big(), big()), packed: pack(Array.from({ length: int(5) }, () => new Uint8Array(Array.from({ length: int(300) }, () => int(256))))) }
            : kind === 1
              ? { op: "xdel", key, ids: Array.from({ length: int(4) }, () => id(big(), big())) }
              : kind === 2
                ? { op: "trim", key, through: id(big(), big()) }
                : { op: "meta", key, lastId: id(big(), big()), added: u64Of(big()) };
        write(buf, r);
        records.push(r);
      }
      const bytes = new Uint8Array([...AOF_MAGIC, ...buf.bytes()]);
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < bytes.length; ) {
        const n = 1 + int(200);
        chunks.push(bytes.subarray(at, at + n));
        at += n;
      }
      expect(read(chunks).records).toEqual(records);
      const noise = new Uint8Array([...AOF_MAGIC, ...Array.from({ length: int(200) }, () => int(256))]);
      expect(() => read([noise])).not.toThrow();
    }
  });

  test("one turn's buffer grows past its first size and resets for the next turn", () => {
    const buf = new RecordBuffer();
    const field = new Uint8Array(100_000).fill(7);
    for (let i = 0; i < 20; i++) buf.add("k", id(BigInt(i + 1)), pack([field]));
    expect(buf.length).toBe(20 * (RECORD_HEADER + 1 + 4 + 1 + 16 + 4 + 4 + 100_000));
    const got = read([new Uint8Array([...AOF_MAGIC]), buf.bytes()]);
    expect(got.records.length).toBe(20);
    buf.reset();
    expect(buf.length).toBe(0);
  });
});
