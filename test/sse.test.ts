// test/sse.test.ts — the Server-Sent Events codec: what the server writes parses back; every line ending; comments;
// multi-line data; the id kept for Last-Event-ID; and the same events whether bytes come whole or one at a time.
import { describe, expect, test } from "bun:test";
import { SseParser, encodeComment, encodeEvent, encodeOpening } from "../sse";
import { seededRandom } from "./helpers";

const enc = new TextEncoder();

describe("SSE", () => {
  const stream = `retry: 3000\n: subscribed to a\n\nid: 1-0\ndata: {"m":1}\n\n: keepalive\n\nevent: status\ndata: {"connected":false}\n\nid: 2-0\r\ndata: line one\r\ndata: line two\r\n\r\ndata:no space\rdata: x\r\r: a CR at the very end waits for the next byte, which may be its LF\n`;
  const want = [
    { id: "1-0", event: "message", data: '{"m":1}' },
    { event: "status", data: '{"connected":false}' },
    { id: "2-0", event: "message", data: "line one\nline two" },
    { event: "message", data: "no space\nx" },
  ];
  test("whole", () => {
    const p = new SseParser();
    expect(p.push(enc.encode(stream))).toEqual(want);
    expect(p.lastEventId).toBe("2-0");
  });
  test("byte by byte, and split at every point", () => {
    const bytes = enc.encode(stream);
    const one = new SseParser();
    const got = [];
    for (const b of bytes) got.push(...one.push(Uint8Array.of(b)));
    expect(got).toEqual(want);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const p = new SseParser();
      expect([...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut))]).toEqual(want);
    }
  });
  test("multi-byte UTF-8 split inside a character", () => {
    const bytes = enc.encode("data: héllo 🚀\n\n");
    const p = new SseParser();
    const got = [];
    for (const b of bytes) got.push(...p.push(Uint8Array.of(b)));
    expect(got).toEqual([{ event: "message", data: "héllo 🚀" }]);
  });
  test("what the encoder writes, the parser reads", () => {
    const p = new SseParser();
    const frames = [encodeComment("hi"), encodeEvent({ id: "5-1", data: "a\nb" }), encodeEvent({ event: "status", data: "{}" })];
    expect(frames.flatMap((f) => p.push(f))).toEqual([
      { id: "5-1", event: "message", data: "a\nb" },
      { event: "status", data: "{}" },
    ]);
  });
});

describe("no value can write a frame of its own (issue 22, High 4)", () => {
  const read = (...frames: Uint8Array[]) => {
    const p = new SseParser();
    const events = frames.flatMap((f) => p.push(f));
    return { events, lastEventId: p.lastEventId };
  };
  test("a channel name with CR, LF or CRLF in the opening comment stays a comment", () => {
    for (const nl of ["\n", "\r", "\r\n", "\n\n", "\0"]) {
      const name = `a${nl}id: 9-9${nl}data: {"message":"forged"}${nl}${nl}`;
      const { events, lastEventId } = read(encodeOpening(3000, `subscribed to ${name}`), encodeComment(name));
      expect(events).toEqual([]);
      expect(lastEventId).toBe("");
    }
  });
  test("an id with a line break or NUL is left out, never mended into another id", () => {
    for (const id of ["1-0\ndata: x", "1-0\r\n\r\ndata: forged\n", "1-0\0", "9-9\rid: 5-5"]) {
      const { events, lastEventId } = read(encodeEvent({ id, data: "real" }));
      expect(events).toEqual([{ event: "message", data: "real" }]);
      expect(lastEventId).toBe("");
    }
  });
  test("an event name with breaks stays one name", () => {
    expect(read(encodeEvent({ event: "status\ndata: x\n\nevent: y", data: "{}" })).events).toEqual([{ event: "status data: x  event: y", data: "{}" }]);
  });
  test("data split at CR, LF and CRLF alike: a CR in data cannot start an id or a new event", () => {
    expect(read(encodeEvent({ id: "1-0", data: "a\rid: 9-9\r\rdata: forged" })).events).toEqual([{ id: "1-0", event: "message", data: "a\nid: 9-9\n\ndata: forged" }]);
    expect(read(encodeEvent({ data: "x\0y" })).events).toEqual([{ event: "message", data: "x y" }]);
  });
  test("random values with breaks in every field: each frame reads back as exactly one event, its data line for line", () => {
    const rnd = seededRandom(22);
    const alphabet = ["a", "b", ":", " ", "\r", "\n", "\0", "id", "data", "event", "é"];
    const junk = () => Array.from({ length: Math.floor(rnd() * 12) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join("");
    for (let i = 0; i < 2000; i++) {
      const id = `${i}-0${rnd() < 0.5 ? junk() : ""}`;
      const data = junk();
      const { events } = read(encodeComment(junk()), encodeEvent({ id, event: rnd() < 0.5 ? `e${junk()}` : undefined, data }));
      expect(events.length).toBe(1);
      expect(events[0]!.data).toBe(data.replace(/\r\n|\r/g, "\n").replace(/\0/g, " "));
      if (!/[\r\n\0]/.test(id)) expect(events[0]!.id).toBe(id);
      else expect(events[0]!.id).toBeUndefined();
    }
  });
});
