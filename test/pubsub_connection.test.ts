// test/pubsub_connection.test.ts — pubsub_connection.ts on a fake socket (it records writes and takes only as much as it is told):
// one write per turn, CLIENT REPLY OFF, replacing a queued reply, a read's bytes freed once parsed, backpressure both
// ways, output limits, closing.
import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { AclUser } from "../acl";
import { Connection, ConnectionList, Connections, INPUT_HOLD_BYTES, ReplyBytes, type ConnectionOwner } from "../pubsub_connection";
import type { OutputLimits } from "../cli";
import { DEFAULT_MAX_BULK } from "../resp";

/** A socket that records what it is asked to do; `room` is how many bytes the kernel takes per write (all by default). */
class FakeSocket {
  writes: Uint8Array[] = [];
  room = Infinity;
  paused = false;
  ended = 0;
  terminated = 0;
  remoteAddress = "10.0.0.7";
  remotePort = 51234;
  constructor(private readonly log: string[]) {}
  write(b: Uint8Array, offset = 0, length = b.length - offset): number {
    const n = Math.min(length, this.room);
    // The object itself when taken whole; else a copy of what was taken, as the kernel copies it (the server reuses a
    // reply buffer once written).
    this.writes.push(offset === 0 && n === b.length ? b : new Uint8Array(b.subarray(offset, offset + n)));
    this.log.push(`write ${n}`);
    return n;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  end(): void {
    this.ended++;
  }
  terminate(): void {
    this.terminated++;
  }
  /** Everything written so far, as text. */
  get text(): string {
    return Buffer.concat(this.writes).toString("latin1");
  }
}

const OFF: OutputLimits = { hard: 0, soft: 0, softSeconds: 0 };

/** A pool with a recording owner, and a way to make connections on fake sockets. */
function pool(limits: { normal?: OutputLimits; pubsub?: OutputLimits } = {}) {
  const log: string[] = [];
  const owner: ConnectionOwner = {
    beforeWrite: () => void log.push("beforeWrite"),
    released: (c) => void log.push(`released ${c.id}`),
    overLimit: (c, which, cls) => void log.push(`overLimit ${c.id} ${which} ${cls}`),
    inputResumed: (c) => void log.push(`inputResumed ${c.id}`),
    errorReplied: (reply) => void log.push(`error ${reply.trim()}`),
  };
  const conns = new Connections(owner, { normal: limits.normal ?? OFF, pubsub: limits.pubsub ?? OFF });
  let ids = 0;
  const connect = () => {
    const socket = new FakeSocket(log);
    const c = new Connection(++ids, socket as unknown as Socket<Connection>, "127.0.0.1:6379", new AclUser("default"), true, conns);
    conns.all.add(c);
    return { c, socket };
  };
  return { conns, log, connect };
}

/** Lets the setImmediate flush of this turn run. */
const nextTurn = () => new Promise<void>((res) => setImmediate(res));
const bytes = (s: string) => Buffer.from(s, "latin1");

describe("output: queued for one write per turn", () => {
  test("replies, a push and a frame go out as one write, in order, after beforeWrite", async () => {
    const { conns, log, connect } = pool();
    const { c, socket } = connect();
    c.reply("+OK\r\n");
    c.push("*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
    conns.markDirty(c);
    c.queueFrame(bytes("*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n"));
    c.reply(":5\r\n");
    expect(socket.writes).toEqual([]); // nothing before the turn ends
    await nextTurn();
    expect(socket.text).toBe("+OK\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n:5\r\n");
    expect(log.filter((l) => l.startsWith("write"))).toEqual([`write ${socket.text.length}`]);
    expect(log.indexOf("beforeWrite")).toBe(0); // the commit comes before any byte goes out
    expect(c.hasOutput()).toBe(false);
    expect(c.outputBytes).toBe(0);
  });

  test("replies queued by several socket events of one turn (microtasks run between them) share the one write", async () => {
    const { conns, connect } = pool();
    const { c, socket } = connect();
    c.reply("+a\r\n");
    conns.markDirty(c);
    await Promise.resolve(); // the event's microtasks are done; the next socket event of this turn comes
    c.reply("+b\r\n");
    conns.markDirty(c);
    await nextTurn();
    expect(socket.writes.map((w) => Buffer.from(w).toString())).toEqual(["+a\r\n+b\r\n"]);
  });

  test("a lone frame is written as the very object every subscriber shares, not a copy", async () => {
    const { connect } = pool();
    const a = connect();
    const b = connect();
    const frame = bytes("*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nx\r\n");
    a.c.queueFrame(frame);
    b.c.queueFrame(frame);
    await nextTurn();
    expect(a.socket.writes[0]).toBe(frame);
    expect(b.socket.writes[0]).toBe(frame);
  });

  test("a turn's frames are joined once for subscribers that queued the same ones; a different queue gets its own bytes", async () => {
    const { connect } = pool();
    const [a, b, c, d] = [connect(), connect(), connect(), connect()];
    const f1 = bytes("*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nx\r\n");
    const f2 = bytes("*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\ny\r\n");
    for (const s of [a, b, c, d]) s.c.queueFrame(f1);
    c.c.push("+note\r\n"); // c's queue differs (its own text between the frames)
    for (const s of [a, b, c, d]) s.c.queueFrame(f2);
    await nextTurn();
    const text = (w: Uint8Array | undefined) => Buffer.from(w!).toString("latin1");
    expect(text(a.socket.writes[0])).toBe(text(f1) + text(f2));
    expect(b.socket.writes[0]).toBe(a.socket.writes[0]); // the same buffer, not a second copy
    expect(text(c.socket.writes[0])).toBe(text(f1) + "+note\r\n" + text(f2));
    expect(text(d.socket.writes[0])).toBe(text(f1) + text(f2));
    expect(d.socket.writes[0]).not.toBe(c.socket.writes[0]);
    expect([a, b, c, d].map((s) => s.socket.writes.length)).toEqual([1, 1, 1, 1]);
  });

  test("CLIENT REPLY OFF and SKIP hide replies but not pushes; an error reply is counted either way", async () => {
    const { conns, log, connect } = pool();
    const { c, socket } = connect();
    c.replyOff = true;
    c.reply("+OK\r\n");
    c.reply("-ERR hidden\r\n");
    c.push(">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n");
    c.replyOff = false;
    c.replySkip = true;
    c.reply(":1\r\n");
    c.replySkip = false;
    c.reply(":2\r\n");
    conns.markDirty(c);
    await nextTurn();
    expect(socket.text).toBe(">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n:2\r\n");
    expect(log.filter((l) => l.startsWith("error"))).toEqual(["error -ERR hidden"]);
  });

  test("replaceReply swaps one command's queued reply, in the text or after it moved into a chunk", async () => {
    const { conns, connect } = pool();
    const { c, socket } = connect();
    c.reply("+first\r\n");
    let [chunk, from] = [c.replyChunk, c.replyOffset];
    c.reply(":1\r\n");
    expect(c.replaceReply(chunk, from, c.replyOffset, "-NOPERM no\r\n")).toBe(true);
    // The next reply, then a frame: the text with the reply is moved into a chunk, and the marks still hold there.
    [chunk, from] = [c.replyChunk, c.replyOffset];
    c.reply(":2\r\n");
    const to = c.replyOffset;
    c.queueFrame(bytes("*1\r\n$1\r\nf\r\n"));
    const before = c.outputBytes;
    expect(c.replaceReply(chunk, from, to, "-ERR refused\r\n")).toBe(true);
    expect(c.outputBytes).toBe(before + "-ERR refused\r\n".length - ":2\r\n".length);
    // No reply queued between the marks (CLIENT REPLY OFF): nothing to replace.
    expect(c.replaceReply(c.replyChunk, c.replyOffset, c.replyOffset, "-ERR x\r\n")).toBe(false);
    conns.markDirty(c);
    await nextTurn();
    expect(socket.text).toBe("+first\r\n-NOPERM no\r\n-ERR refused\r\n*1\r\n$1\r\nf\r\n");
  });

  test("replies are kept as their latin1 bytes: short and long, past the buffer's size, replaced in the middle, IDs written as bytes", () => {
    const r = new ReplyBytes();
    let want = "";
    const add = (s: string) => {
      r.append(s);
      want += s;
    };
    add("+OK\r\n");
    add(`$3\r\n\x00\xff\x80\r\n`); // binary-safe: one char, one byte
    add(`$40000\r\n${"\xe9x".repeat(20_000)}\r\n`); // long: written natively, and past the first buffer
    const from = r.length;
    add(":1\r\n");
    const to = r.length;
    add("+tail after the replaced reply\r\n");
    r.appendBulkId(1_765_000_000_123, 42);
    want += "$16\r\n1765000000123-42\r\n";
    r.replace(from, to, "-ERR refused\r\n");
    want = want.slice(0, from) + "-ERR refused\r\n" + want.slice(to);
    expect(r.length).toBe(want.length);
    expect(Buffer.from(r.bytes.subarray(0, r.length)).toString("latin1")).toBe(want);
  });

  test("a connection's reply buffer goes back to the pool once written, and the next one starts empty", async () => {
    const { conns, connect } = pool();
    const a = connect();
    const b = connect();
    a.c.reply("+from a, a longer reply\r\n");
    a.c.replyId({ ms: 5, seq: 1 });
    conns.markDirty(a.c);
    await nextTurn();
    expect(a.c.hasOutput()).toBe(false);
    b.c.reply("+b\r\n");
    conns.markDirty(b.c);
    await nextTurn();
    expect([a.socket.text, b.socket.text]).toEqual(["+from a, a longer reply\r\n$3\r\n5-1\r\n", "+b\r\n"]);
    // IDs past 2^53 are written as text; CLIENT REPLY OFF silences them as any reply.
    a.c.replyId({ ms: 2n ** 64n - 1n, seq: 0 });
    a.c.replyOff = true;
    a.c.replyId({ ms: 6, seq: 0 });
    conns.markDirty(a.c);
    await nextTurn();
    expect(a.socket.text).toBe("+from a, a longer reply\r\n$3\r\n5-1\r\n$22\r\n18446744073709551615-0\r\n");
  });

  test("the peer's address is read from the socket when asked", () => {
    const { connect } = pool();
    expect(connect().c.addr).toBe("10.0.0.7:51234");
  });
});

describe("input: a read's bytes freed once its commands ran", () => {
  const LIMITS = { authRequired: false, maxBulk: DEFAULT_MAX_BULK };
  /** A read as Bun hands it over: a buffer of its own. */
  const read = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
  const drain = (c: Connection) => {
    const names: string[] = [];
    for (let r = c.nextCommand(LIMITS); r !== null; r = c.nextCommand(LIMITS)) {
      if (r.kind === "error") throw new Error(r.message);
      names.push(r.kind === "in-place" ? r.text(0) : Buffer.from(r.argv[0]!).toString("latin1"));
    }
    return names;
  };

  const PINGS = 100; // 1,400 bytes: past the 1,000 up to which a Uint8Array stays in the collector's heap
  const pings = (n: number) => "*1\r\n$4\r\nPING\r\n".repeat(n);

  test("every command parsed: a larger read's buffer is given up (detached), and the next read parses as usual", () => {
    const { connect } = pool();
    const { c } = connect();
    const chunk = read(`${pings(PINGS)}*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n`);
    c.feed(chunk);
    expect(drain(c)).toEqual([...Array<string>(PINGS).fill("PING"), "ECHO"]);
    c.doneWith(chunk);
    expect(chunk.buffer.detached).toBe(true);
    expect(chunk.byteLength).toBe(0);
    const next = read(pings(PINGS));
    c.feed(next);
    expect(drain(c)).toHaveLength(PINGS);
  });

  test("a read of up to 1,000 bytes is left to the collector (its .buffer would be a copy)", () => {
    const { connect } = pool();
    const { c } = connect();
    const chunk = read(pings(71)); // 994 bytes
    c.feed(chunk);
    expect(drain(c)).toHaveLength(71);
    c.doneWith(chunk);
    expect(chunk.byteLength).toBe(994);
  });

  test("a command cut across reads: the first read's bytes are kept until the rest arrives, and the command is whole", () => {
    const { connect } = pool();
    const { c } = connect();
    const big = "x".repeat(3000); // past the size below which arguments are copied: the parser holds a view of the read
    const first = read(`*2\r\n$4\r\nECHO\r\n$3000\r\n${big.slice(0, 1200)}`);
    c.feed(first);
    expect(drain(c)).toEqual([]);
    c.doneWith(first);
    expect(first.buffer.detached).toBe(false);
    const second = read(`${big.slice(1200)}\r\n`);
    c.feed(second);
    const r = c.nextCommand(LIMITS);
    if (r === null || r.kind === "error") throw new Error("expected the ECHO");
    const arg = r.kind === "in-place" ? r.text(1) : Buffer.from(r.argv[1]!).toString("latin1");
    expect(arg).toBe(big);
    expect(c.nextCommand(LIMITS)).toBeNull();
    c.doneWith(second);
    expect(second.buffer.detached).toBe(true);
  });

  test("a view into a larger buffer (not a read of its own) is left alone", () => {
    const { connect } = pool();
    const { c } = connect();
    const whole = new Uint8Array(Buffer.from(`..${pings(PINGS)}`, "latin1"));
    const view = whole.subarray(2);
    c.feed(view);
    expect(drain(c)).toHaveLength(PINGS);
    c.doneWith(view);
    expect(whole.buffer.detached).toBe(false);
  });
});

describe("backpressure", () => {
  test("what the kernel did not take waits for drain, before anything queued since, and nothing is lost", async () => {
    const { conns, log, connect } = pool();
    const { c, socket } = connect();
    socket.room = 4;
    c.reply("+0123456789\r\n");
    conns.markDirty(c);
    await nextTurn();
    expect(socket.text).toBe("+012");
    expect(c.outputBytes).toBe(9); // the unsent rest counts as output
    c.reply(":7\r\n");
    conns.markDirty(c);
    await nextTurn();
    expect(log.filter((l) => l.startsWith("write"))).toEqual(["write 4"]); // no write while the last one is unfinished
    socket.room = Infinity;
    conns.drained(c);
    expect(socket.text).toBe("+0123456789\r\n:7\r\n");
    expect(c.unsent).toBeNull();
    expect(c.outputBytes).toBe(0);
  });

  test("past the hold mark a client is not read until its output is all out; then it is read again", async () => {
    const { conns, log, connect } = pool();
    const { c, socket } = connect();
    expect(conns.holdAt).toBe(INPUT_HOLD_BYTES);
    socket.room = 10;
    c.reply("x".repeat(100));
    conns.holdInput(c);
    expect(socket.paused).toBe(true);
    expect(c.inputHeld).toBe(true);
    await nextTurn();
    expect(socket.paused).toBe(true); // 90 bytes still unsent
    socket.room = Infinity;
    conns.drained(c);
    expect(socket.paused).toBe(false);
    expect(c.inputHeld).toBe(false);
    expect(log.filter((l) => l.startsWith("inputResumed"))).toEqual([`inputResumed ${c.id}`]);
  });

  test("a normal-class limit below 64 KB lowers the hold mark to it", () => {
    expect(pool({ normal: { hard: 1000, soft: 0, softSeconds: 0 } }).conns.holdAt).toBe(1000);
    expect(pool({ normal: { hard: 0, soft: 500, softSeconds: 60 } }).conns.holdAt).toBe(500);
    expect(pool({ pubsub: { hard: 1000, soft: 0, softSeconds: 0 } }).conns.holdAt).toBe(INPUT_HOLD_BYTES);
  });
});

describe("output limits, per class", () => {
  test("a subscriber past the pubsub hard limit is cut off at once, told to the owner and released once", () => {
    const { conns, log, connect } = pool({ pubsub: { hard: 100, soft: 0, softSeconds: 0 } });
    const { c, socket } = connect();
    c.pubsubFlag = true;
    c.queueFrame(new Uint8Array(60));
    expect(c.closed).toBe(false);
    c.queueFrame(new Uint8Array(60));
    expect(c.closed).toBe(true);
    expect(socket.terminated).toBe(1);
    expect(log).toEqual([`overLimit ${c.id} hard pubsub`, `released ${c.id}`]);
    expect(conns.all.has(c)).toBe(false);
    c.queueFrame(new Uint8Array(60)); // a frame for a connection already cut off: no second report
    expect(log.filter((l) => l.startsWith("overLimit"))).toHaveLength(1);
  });

  test("the same output on a client that is not subscribed is under the normal class, which is off", () => {
    const { connect } = pool({ pubsub: { hard: 100, soft: 0, softSeconds: 0 } });
    const { c } = connect();
    c.queueFrame(new Uint8Array(500));
    expect(c.closed).toBe(false);
  });

  test("the soft limit cuts off only once it has been passed for softSeconds; dropping below starts the clock again", () => {
    const { conns, log, connect } = pool({ pubsub: { hard: 0, soft: 100, softSeconds: 3600 } });
    const { c } = connect();
    c.pubsubFlag = true;
    c.queueFrame(new Uint8Array(150));
    expect(c.softLimitSince).toBeGreaterThan(0);
    conns.checkSoftLimits();
    expect(c.closed).toBe(false); // an hour has not passed
    c.takeOutput(); // written: below the soft limit again
    conns.checkOutputLimit(c);
    expect(c.softLimitSince).toBe(0);
    expect(log.filter((l) => l.startsWith("overLimit"))).toEqual([]);

    // With 0 seconds allowed, the first check over the limit starts the clock and the next one cuts off.
    const quick = pool({ pubsub: { hard: 0, soft: 100, softSeconds: 0 } });
    const q = quick.connect();
    q.c.pubsubFlag = true;
    q.c.queueFrame(new Uint8Array(150));
    expect(q.c.closed).toBe(false);
    quick.conns.checkSoftLimits();
    expect(q.c.closed).toBe(true);
    expect(quick.log).toEqual([`overLimit ${q.c.id} soft pubsub`, `released ${q.c.id}`]);
  });
});

describe("closing", () => {
  test("close is the one way out: released once; ended after the queue, cut at once, or left alone when already gone", () => {
    const { conns, log, connect } = pool();
    const a = connect();
    conns.close(a.c, "end");
    conns.close(a.c, "end");
    expect(a.socket.ended).toBe(1);
    conns.close(a.c, "abort"); // a connection that is closing can still be cut
    expect(a.socket.terminated).toBe(1);
    const b = connect();
    conns.close(b.c, "gone");
    expect([b.socket.ended, b.socket.terminated]).toEqual([0, 0]);
    expect(log).toEqual([`released ${a.c.id}`, `released ${b.c.id}`]);
  });

  test("a connection marked to close after its reply is ended once that reply is written", async () => {
    const { conns, connect } = pool();
    const { c, socket } = connect();
    c.reply("+OK\r\n");
    c.closeAfterReply = true;
    conns.markDirty(c);
    await nextTurn();
    expect(socket.text).toBe("+OK\r\n");
    expect(socket.ended).toBe(1);
    expect(c.closed).toBe(true);
  });

  test("a closed connection's queue is not written", async () => {
    const { conns, connect } = pool();
    const { c, socket } = connect();
    c.reply("+late\r\n");
    conns.markDirty(c);
    conns.close(c, "gone");
    await nextTurn();
    expect(socket.writes).toEqual([]);
  });

  test("closeAll writes what is queued, then ends every connection", () => {
    const { conns, log, connect } = pool();
    const a = connect();
    const b = connect();
    a.c.reply("+bye\r\n");
    conns.markDirty(a.c);
    conns.closeAll();
    expect(a.socket.text).toBe("+bye\r\n");
    expect([a.socket.ended, b.socket.ended]).toEqual([1, 1]);
    expect(conns.all.size).toBe(0);
    expect(log.filter((l) => l.startsWith("released"))).toEqual([`released ${a.c.id}`, `released ${b.c.id}`]);
  });

  test("the live list keeps connections oldest first, takes any one out once, finds one by id, and survives removal while walked", () => {
    const { conns, connect } = pool();
    const list: ConnectionList = conns.all;
    const cs = [connect().c, connect().c, connect().c, connect().c]; // each added by connect()
    list.add(cs[1]!); // already in: no second entry
    expect([list.size, [...list.values()].map((c) => c.id)]).toEqual([4, cs.map((c) => c.id)]);
    expect([list.delete(cs[1]!), list.delete(cs[1]!), list.has(cs[1]!)]).toEqual([true, false, false]);
    expect(list.get(cs[2]!.id)).toBe(cs[2]!);
    expect(list.get(cs[1]!.id)).toBeUndefined();
    for (const c of list.values()) list.delete(c); // each one taken out as it is visited
    expect([list.size, [...list.values()]]).toEqual([0, []]);
    list.add(cs[3]!);
    list.add(cs[0]!);
    expect([...list.values()].map((c) => c.id)).toEqual([cs[3]!.id, cs[0]!.id]);
  });
});
