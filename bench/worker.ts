// bench/worker.ts — load generator processes for the benchmarks, kept apart from the servers they measure.
// Takes one JSON spec as its argument; reports on stdout, one line per event ("ready", "done …", JSON results).
import { encodeCommand } from "../resp";
import { backoffDelay } from "../link";

type Spec =
  | { role: "sub"; port: number; channels: string[]; perConn: number; expect: number; frameBytes: number; latency?: boolean; patterns?: string[]; reconnect?: boolean }
  | { role: "sse"; port: number; channel: string; conns: number }
  | { role: "pub"; port: number; channels: string[]; messages: number; payload: number; window: number }
  | { role: "rate"; port: number; channel: string; rate: number; seconds: number; payload: number };

const spec = JSON.parse(process.argv[2]!) as Spec;
const say = (line: string) => process.stdout.write(line + "\n");
const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

if (spec.role === "sub") {
  // Each connection subscribes to one channel (round-robin over the list) and counts whole frames by size:
  // every frame on a channel has the same length, so bytes tell how many arrived without parsing.
  const conns = spec.channels.length * spec.perConn;
  let ready = 0;
  let done = 0;
  const lat: number[] = [];
  const frames = new Array<number>(conns).fill(0); // whole message frames received, per connection
  // Progress once a second, so a long run (bench/load.ts) can tell exactly how many frames arrived.
  // With reconnect (bench/load.ts's storms), `connected` counts live subscriptions, and frames from every session add up.
  let connected = 0;
  setInterval(() => say(`progress ${frames.reduce((a, b) => a + b, 0)} ${connected}`), 1000);
  for (let i = 0; i < conns; i++) {
    const idx = i;
    const channel = spec.channels[i % spec.channels.length]!;
    // With patterns, connection i PSUBSCRIBEs patterns[i] and receives pmessages for channels[i].
    const pattern = spec.patterns?.[i % spec.patterns.length];
    const confirm = pattern
      ? `*3\r\n$10\r\npsubscribe\r\n$${pattern.length}\r\n${pattern}\r\n:1\r\n`.length
      : `*3\r\n$9\r\nsubscribe\r\n$${channel.length}\r\n${channel}\r\n:1\r\n`.length;
    const header = pattern
      ? `*4\r\n$8\r\npmessage\r\n$${pattern.length}\r\n${pattern}\r\n$${channel.length}\r\n${channel}\r\n$${spec.frameBytes}\r\n`.length
      : `*3\r\n$7\r\nmessage\r\n$${channel.length}\r\n${channel}\r\n$${spec.frameBytes}\r\n`.length;
    const frame = header + spec.frameBytes + 2;
    let got = 0;
    let earlier = 0; // frames of sessions before this one
    let attempt = 0;
    let pending: Buffer | null = null;
    const session = () =>
      Bun.connect({
      hostname: "127.0.0.1",
      port: spec.port,
      socket: {
        open(s) {
          s.write(encodeCommand(pattern ? ["PSUBSCRIBE", pattern] : ["SUBSCRIBE", channel]));
        },
        close() {
          if (got >= confirm) connected--;
          earlier = frames[idx]!;
          got = 0;
          // The notistream client's policy: full jitter, from 500 ms doubling to 30 s.
          if (spec.reconnect) setTimeout(() => void session().catch(() => retry()), backoffDelay(attempt++));
        },
        data(_s, chunk) {
          const before = got;
          got += chunk.length;
          frames[idx] = earlier + Math.max(0, Math.floor((got - confirm) / frame));
          if (before < confirm && got >= confirm) {
            connected++;
            attempt = 0;
            if (++ready === conns) say("ready");
          }
          if (spec.latency) {
            // The payload starts with the publish time in microseconds: read it from each whole frame.
            let buf: Buffer = pending ? Buffer.concat([pending, chunk]) : Buffer.from(chunk);
            let at = before < confirm ? confirm - before : 0;
            const now = nowUs();
            while (buf.length - at >= frame) {
              lat.push(now - Number(buf.toString("latin1", at + header, at + header + 16)));
              at += frame;
            }
            pending = at < buf.length ? buf.subarray(at) : null;
          }
          if (got - confirm >= spec.expect * frame && before - confirm < spec.expect * frame) {
            if (++done === conns) {
              if (spec.latency) say(`latency ${JSON.stringify(lat)}`);
              say(`done ${performance.timeOrigin + performance.now()}`);
            }
          }
        },
      },
      });
    const retry = (): void => void setTimeout(() => void session().catch(retry), backoffDelay(attempt++));
    await session().catch(() => (spec.reconnect ? retry() : Promise.reject(new Error(`cannot connect to ${spec.port}`))));
  }
  await new Promise(() => {}); // the parent kills us
} else if (spec.role === "sse") {
  // SSE clients as a browser's EventSource: raw HTTP, data events counted, and after a drop a new request after
  // the stream's retry (3 s) with Last-Event-ID, so the server replays what was missed.
  let events = 0;
  let connected = 0;
  let ready = 0;
  setInterval(() => say(`progress ${events} ${connected}`), 1000);
  for (let i = 0; i < spec.conns; i++) {
    let lastId = "";
    let live = false;
    let carry = "";
    const open = (): void =>
      void Bun.connect({
        hostname: "127.0.0.1",
        port: spec.port,
        socket: {
          open: (s) => void s.write(`GET /events?channel=${spec.channel} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n${lastId ? `Last-Event-ID: ${lastId}\r\n` : ""}\r\n`),
          data: (_s, chunk) => {
            const text = carry + Buffer.from(chunk).toString();
            const cut = text.lastIndexOf("\n");
            carry = text.slice(cut + 1);
            for (const line of text.slice(0, cut + 1).split("\n")) {
              if (line.startsWith("data: ")) events++;
              else if (line.startsWith("id: ")) lastId = line.slice(4).trim();
              else if (!live && line.startsWith(": subscribed")) {
                live = true;
                connected++;
                if (++ready === spec.conns) say("ready");
              }
            }
          },
          close: () => {
            if (live) connected--;
            live = false;
            carry = "";
            setTimeout(open, 3000);
          },
        },
      }).catch(() => setTimeout(open, 3000));
    open();
    if (i % 100 === 99) await Bun.sleep(1); // let the accept queue breathe while thousands connect
  }
  await new Promise(() => {});
} else if (spec.role === "pub") {
  // Keeps `window` PUBLISHes in flight, spread round-robin over the channels.
  const payload = Buffer.alloc(spec.payload, "x");
  const frames = spec.channels.map((ch) => encodeCommand(["PUBLISH", ch, payload]));
  let sent = 0;
  let acked = 0;
  await new Promise<void>((resolve) => {
    const pump = (s: { write(b: Uint8Array): number }) => {
      const batch: Uint8Array[] = [];
      while (sent < spec.messages && sent - acked < spec.window) batch.push(frames[sent++ % frames.length]!);
      if (batch.length) s.write(Buffer.concat(batch));
    };
    Bun.connect({
      hostname: "127.0.0.1",
      port: spec.port,
      socket: {
        open(s) {
          say(`start ${performance.timeOrigin + performance.now()}`);
          pump(s);
        },
        data(s, chunk) {
          for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) acked++; // one ":N\r\n" line per PUBLISH
          if (acked >= spec.messages) resolve();
          else pump(s);
        },
        drain: pump,
      },
    });
  });
  say(`published ${spec.messages} ${performance.timeOrigin + performance.now()}`);
  process.exit(0);
} else {
  // A fixed rate: a small batch every millisecond, each payload stamped with its publish time.
  const perTick = spec.rate / 1000;
  const total = spec.rate * spec.seconds;
  let sent = 0;
  let due = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    Bun.connect({
      hostname: "127.0.0.1",
      port: spec.port,
      socket: {
        open(s) {
          const tick = setInterval(() => {
            due = Math.min(total, Math.floor((performance.now() - start) * perTick));
            const batch: Uint8Array[] = [];
            while (sent < due) {
              const body = String(nowUs()).padStart(16, "0").padEnd(spec.payload, "x");
              batch.push(encodeCommand(["PUBLISH", spec.channel, body]));
              sent++;
            }
            if (batch.length) s.write(Buffer.concat(batch));
            if (sent >= total) {
              clearInterval(tick);
              setTimeout(resolve, 500);
            }
          }, 1);
        },
        data() {},
      },
    });
  });
  say(`sent ${sent}`);
  process.exit(0);
}
