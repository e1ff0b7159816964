// test/sse.test.ts — the Server-Sent Events codec: what the server writes parses back; every line ending; comments;
// multi-line data; the id kept for Last-Event-ID; and the same events whether bytes come whole or one at a time.
import { describe, expect, test } from "bun:test";
import { SseParser, encodeComment, encodeEvent } from "../sse";

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
