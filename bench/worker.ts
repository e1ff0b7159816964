// bench/worker.ts — load generator processes for the benchmarks, kept apart from the servers.
// `sub <port> <channel> <conns> <expectedFrames> <frameBytes>` or `pub <port> <channel> <messages> <payloadBytes> <window>`.
import { encodeCommand } from "../resp";

const [role, portArg, channel, a, b, c] = process.argv.slice(2);
const port = Number(portArg);
const say = (line: string) => process.stdout.write(line + "\n");

if (role === "sub") {
  const conns = Number(a);
  const expected = Number(b); // frames each connection should receive
  const frameBytes = Number(c);
  const confirm = `*3\r\n$9\r\nsubscribe\r\n$${channel!.length}\r\n${channel}\r\n:1\r\n`.length;
  let ready = 0;
  let done = 0;
  const perConn = new Array<number>(conns).fill(0);
  for (let i = 0; i < conns; i++) {
    const idx = i;
    await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(s) {
          s.write(encodeCommand(["SUBSCRIBE", channel!]));
        },
        data(_s, chunk) {
          const before = perConn[idx]!;
          perConn[idx] = before + chunk.length;
          if (before < confirm && perConn[idx]! >= confirm && ++ready === conns) say("ready");
          if (before < confirm + expected * frameBytes && perConn[idx]! >= confirm + expected * frameBytes && ++done === conns)
            say(`done ${performance.timeOrigin + performance.now()}`);
        },
      },
    });
  }
  await new Promise(() => {}); // the parent kills us
} else if (role === "pub") {
  const total = Number(a);
  const payload = Buffer.alloc(Number(b), "x");
  const window = Number(c);
  const frame = encodeCommand(["PUBLISH", channel!, payload]);
  let sent = 0;
  let acked = 0;
  let pendingBytes = 0;
  let started = 0;
  await new Promise<void>((resolve) => {
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(s) {
          started = performance.timeOrigin + performance.now();
          say(`start ${started}`);
          pump(s);
        },
        data(s, chunk) {
          // Every PUBLISH reply is one ":N\r\n" line, so counting LFs counts replies.
          for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) acked++;
          if (acked >= total) resolve();
          else pump(s);
        },
        drain(s) {
          pump(s);
        },
      },
    });
    function pump(s: { write(b: Uint8Array): number }) {
      const batch: Uint8Array[] = [];
      while (sent < total && sent - acked < window) {
        batch.push(frame);
        sent++;
      }
      if (batch.length) {
        const buf = Buffer.concat(batch);
        const n = s.write(buf);
        pendingBytes += buf.length - Math.max(n, 0); // rare on loopback; reported so a short write is visible
      }
    }
  });
  say(`published ${total} ${performance.timeOrigin + performance.now()} short=${pendingBytes}`);
  process.exit(0);
}
