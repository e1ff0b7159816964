// test/bench.storefloor.test.ts — bench/storefloor.ts's command counter (whole, split at every byte, refusing what it
// does not understand) and the floor itself answering over a real socket.
import { expect, test } from "bun:test";
import { connect } from "node:net";
import { spawn } from "bun";
import { commandsIn } from "../bench/storefloor";
import { encodeCommandText as command } from "../resp";
import { BUN, freePort, waitForPort } from "./helpers";

const STREAM = Buffer.from(
  command(["XADD", "notistream:ingest/1", "MAXLEN", "~", "1000", "*", "message", "hello\r\n$3\r\n*1\r\n"]) +
    command(["PUBLISH", "ingest/1", JSON.stringify({ message: "a long envelope ".repeat(20) })]) +
    command(["XADD", "notistream-account:stats:visitor:*", "MAXLEN", "1", "20000-*", "n", "1"]),
);

test("counts whole commands and keeps where the unfinished one starts", () => {
  expect(commandsIn(STREAM)).toEqual({ count: 3, rest: STREAM.length });
  expect(commandsIn(new Uint8Array(0))).toEqual({ count: 0, rest: 0 });
});

test("split at every byte, the two reads together count the same three commands (bytes that look like RESP inside a value included)", () => {
  for (let cut = 0; cut <= STREAM.length; cut++) {
    const first = commandsIn(STREAM.subarray(0, cut));
    expect(first.rest).toBeLessThanOrEqual(cut);
    const rest = Buffer.concat([STREAM.subarray(first.rest, cut), STREAM.subarray(cut)]);
    const second = commandsIn(rest);
    expect(first.count + second.count).toBe(3);
    expect(second.rest).toBe(rest.length);
  }
});

test("what is not a multibulk request is refused with where it went wrong", () => {
  expect(() => commandsIn(Buffer.from("PING\r\n"))).toThrow("expected '*' at byte 0");
  expect(() => commandsIn(Buffer.from("*1\r\n:1\r\n"))).toThrow("expected '$' at byte 4");
  expect(() => commandsIn(Buffer.from("*x\r\n"))).toThrow("expected a digit at byte 1");
});

test("the floor answers +OK per command over a real socket, a command cut across two writes included", async () => {
  const port = await freePort();
  const proc = spawn([BUN, `${import.meta.dir}/../bench/storefloor.ts`, String(port)], { stdout: "ignore", stderr: "inherit" });
  try {
    await waitForPort(port);
    const sock = connect(port, "127.0.0.1");
    await new Promise((r) => sock.once("connect", r));
    let got = "";
    sock.on("data", (d) => (got += d.toString("latin1")));
    sock.write(STREAM.subarray(0, 40));
    await Bun.sleep(50);
    sock.write(STREAM.subarray(40));
    for (let i = 0; i < 100 && got.length < 15; i++) await Bun.sleep(20);
    expect(got).toBe("+OK\r\n+OK\r\n+OK\r\n");
    sock.destroy();
  } finally {
    proc.kill();
    await proc.exited;
  }
});

test("a port that is not a number is refused with its usage", async () => {
  const r = spawn([BUN, `${import.meta.dir}/../bench/storefloor.ts`, "nope"], { stdout: "pipe", stderr: "pipe" });
  expect(await r.exited).toBe(2);
  expect(await new Response(r.stderr).text()).toContain("Usage: bun bench/storefloor.ts <port>");
});
