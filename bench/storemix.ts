#!/usr/bin/env bun
// bench/storemix.ts — a webhook's store traffic without the web server: the commands the web server sends per
// POST, pipelined over one connection at a fixed rate, to our pub/sub server and redis-server (AOF everysec), A B A B.
import { connect } from "node:net";
import { ReplyParser, encodeCommandText as command, type Reply } from "../resp";
import { startOnFreePort, startPubSub, startRedisAof, type Running } from "../test/helpers";
import { median } from "./median";
import { byThread, cpuNanoseconds, minorFaults, threadShares } from "./procstat";
import { pubsubEnv, startPubSubWithEnv } from "./pubsubenv";
import { countOf, dayOf } from "../web_account_data";

const args = process.argv.slice(2);
if (args.includes("--help")) {
  console.log(`Usage: bun bench/storemix.ts [--posts 170000] [--warmup 340000] [--rate 17000] [--batch 10] [--maxlen 1000] [--count post|write] [--rounds 3] [--against DIR] [--pubsub-env NAME=VALUE] [--threads] [--floor]

Sends what the web server sends the store per POST / (seen with MONITOR): XADD of the envelope's fields to
notistream:<channel> with MAXLEN ~ --maxlen over 100 channels, PUBLISH of the envelope (no subscriber), and the
visitor's daily count (XADD ... MAXLEN 1 <day>-* n 1). --batch POSTs go in one write; the next write waits for every
reply and for its time at --rate POSTs a second (0: as fast as the replies come). --warmup POSTs, unrecorded, warm each
server first. Prints the server's CPU per POST (every thread, from /proc/<pid>/task/*/schedstat) and its
minor page faults per POST (memory the allocator gave back and the server touched again).
Why beside bench/ingest.ts: it takes the web server (and its share of the two cores) out, and shows what the rate does
to the store's CPU per POST: at a webhook's rate each write wakes the server from its wait.
  --warmup N    POSTs sent before the measured ones (default: twice --posts). Why twice: the first rewrite of the
                history file comes at 64 MB, past one round's POSTs, and after it Bun's JIT compiles the XADD path
                again (about 100 ms, once per process). A long-running store pays that once; each round starts a
                new one, so the default warm-up takes it in. Each store's rewrites still come about every 10 s.
  --rate N      POSTs a second (0: unpaced)
  --batch N     POSTs per write (the web server's link writes what a turn's requests asked for)
  --maxlen N    the history kept per channel
  --count post  the visitor's count once per POST (XADD ... <day>-*), as MONITOR shows for a lone POST (the default)
  --count write once per write, as the web server counts a turn's POSTs from one visitor under load
                (web_account_data.ts): XREVRANGE of the count with the write, then XADD ... <day>-<count> n <k>
  --against DIR also the pub/sub server of another Notistream checkout (old code against new)
  --pubsub-env NAME=VALUE
                also our pub/sub server with this in its environment (repeatable), such as an allocator setting:
                MIMALLOC_PURGE_HOLES=0 is what --allocator cpu sets
  --threads     also each server's CPU per POST by thread name
  --floor       also bench/storefloor.ts, a bare Bun.listen answering +OK per command with no store: what the runtime
                alone costs per POST at this rate (its replies are shorter, and --count write reads no count from it)`);
  process.exit(0);
}
const num = (name: string, fallback: number) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);
const POSTS = num("posts", 170_000);
const WARMUP = num("warmup", 2 * POSTS);
const RATE = num("rate", 17_000);
const BATCH = num("batch", 10);
const MAXLEN = String(num("maxlen", 1000));
const ROUNDS = num("rounds", 3);
const AGAINST = args.includes("--against") ? args[args.indexOf("--against") + 1]! : null;
const THREADS = args.includes("--threads");
const FLOOR = args.includes("--floor");
const COUNT = args.includes("--count") ? args[args.indexOf("--count") + 1] : "post";
if (COUNT !== "post" && COUNT !== "write") {
  console.error(`bench/storemix: --count takes post or write, not '${COUNT ?? ""}'`);
  process.exit(2);
}
const PUBSUB_ENV = pubsubEnv(args, "bench/storemix");

const DAY = String(dayOf(Date.now()));
const COUNT_KEY = "notistream-account:stats:visitor:*";
let n = 0;
/** One POST's commands, as the web server sends them for `message=hello from wrk&channel=ingest/<n % 100>`. */
function post(): string {
  const channel = `ingest/${n++ % 100}`;
  const time = Math.floor(Date.now() / 1000);
  const envelope = JSON.stringify({ id: `${Date.now()}-0`, time, channel, message: "hello from wrk", source: "form" });
  return (
    command(["XADD", `notistream:${channel}`, "MAXLEN", "~", MAXLEN, "*", "time", String(time), "channel", channel, "message", "hello from wrk", "source", "form"]) +
    command(["PUBLISH", channel, envelope]) +
    (COUNT === "post" ? command(["XADD", COUNT_KEY, "MAXLEN", "1", `${DAY}-*`, "n", "1"]) : "")
  );
}

/** The last entry's ID in an XREVRANGE ... COUNT 1 reply (undefined: no entry), for web_account_data.ts's countOf. */
function lastIdOf(r: Reply): string | undefined {
  const entry = r.type === "array" ? r.value?.[0] : undefined;
  const id = entry?.type === "array" ? entry.value?.[0] : undefined;
  return id?.type === "bulk" && id.value ? Buffer.from(id.value).toString("latin1") : undefined;
}

/** Sends `posts` POSTs' commands, --batch per write, paced at --rate; resolves when every reply is in. */
async function drive(port: number, posts: number): Promise<void> {
  const sock = connect(port, "127.0.0.1");
  await new Promise((resolve) => sock.once("connect", resolve));
  const start = performance.now();
  let sent = 0;
  let waiting = 0;
  /** --count write: the POSTs of the last write, counted once its XREVRANGE is answered (0: nothing to count). */
  let uncounted = 0;
  let counted = 0;
  const replies = new ReplyParser();
  await new Promise<void>((done, fail) => {
    const send = () => {
      let out = "";
      const k = Math.min(BATCH, posts - sent);
      for (let i = 0; i < k; i++) out += post();
      sent += k;
      waiting += (COUNT === "post" ? 3 : 2) * k;
      if (COUNT === "write") {
        out += command(["XREVRANGE", COUNT_KEY, "+", "-", "COUNT", "1"]);
        waiting++;
        uncounted = k;
      }
      sock.write(out);
    };
    sock.on("error", fail);
    sock.on("data", (chunk) => {
      replies.push(typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk); // a Buffer: no encoding is set
      try {
        for (let r = replies.next(); r !== null; r = replies.next()) {
          if (r.type === "error") throw new Error(`the server refused a command: ${r.value}`);
          if (r.type === "array" && uncounted) counted = countOf(lastIdOf(r), Number(DAY)); // the only array reply: the XREVRANGE
          waiting--;
        }
      } catch (err) {
        return fail(err);
      }
      if (waiting > 0) return;
      if (uncounted) {
        // The web server's second round trip: the count's new entry, numbered after the one it read.
        sock.write(command(["XADD", COUNT_KEY, "MAXLEN", "1", `${DAY}-${counted + uncounted - 1}`, "n", String(uncounted)]));
        waiting++;
        uncounted = 0;
        return;
      }
      if (sent >= posts) return done();
      const wait = RATE ? start + (sent / RATE) * 1000 - performance.now() : 0;
      if (wait > 0) setTimeout(send, wait);
      else send();
    });
    send();
  });
  sock.destroy();
}

type Setup = { name: string; start: () => Promise<Running> };
const FLOOR_NAME = "floor: bare Bun.listen, +OK per command";

/** bench/storefloor.ts on a free port: the runtime's own cost for the same bytes in and a reply out, with no store. */
const startFloor = (): Promise<Running> => startOnFreePort((port) => [`${import.meta.dir}/storefloor.ts`, String(port)]);
const setups: Setup[] = [
  { name: "notistream pub/sub", start: () => startPubSub() },
  { name: "redis-server (AOF everysec)", start: startRedisAof },
];
// Second, so A B A B alternates it with the default setup and redis-server alike.
if (PUBSUB_ENV) setups.splice(1, 0, { name: `notistream pub/sub with ${PUBSUB_ENV.shown}`, start: () => startPubSubWithEnv(PUBSUB_ENV.env) });
if (AGAINST) setups.push({ name: `notistream at ${AGAINST}`, start: () => startPubSub([], {}, AGAINST) });
if (FLOOR) setups.push({ name: FLOOR_NAME, start: startFloor });

console.error(`bench/storemix: ${POSTS} POSTs per round after ${WARMUP} unrecorded (XADD and PUBLISH each, the visitor's count once per ${COUNT}), ${BATCH} per write, ${RATE ? `${RATE} a second` : "unpaced"}, MAXLEN ~ ${MAXLEN} over 100 channels, ${ROUNDS} rounds A B A B`);
const results = new Map<string, number[]>(setups.map((s) => [s.name, []]));
const faults = new Map<string, number[]>(setups.map((s) => [s.name, []]));
for (let round = 1; round <= ROUNDS; round++) {
  for (const setup of setups) {
    const server = await setup.start();
    try {
      await drive(server.port, WARMUP); // warm-up: the same load, unrecorded
      const pid = server.proc.pid;
      const [cpu0, faults0, threads0, t0] = [cpuNanoseconds(pid), minorFaults(pid), byThread(pid), performance.now()];
      await drive(server.port, POSTS);
      const [cpu1, faults1, threads1, t1] = [cpuNanoseconds(pid), minorFaults(pid), byThread(pid), performance.now()];
      const perPost = (cpu1 - cpu0) / POSTS / 1000;
      const faultsPerPost = (faults1 - faults0) / POSTS;
      results.get(setup.name)!.push(perPost);
      faults.get(setup.name)!.push(faultsPerPost);
      const rate = POSTS / ((t1 - t0) / 1000);
      console.error(`bench/storemix: round ${round}, ${setup.name}: ${perPost.toFixed(1)} µs CPU per POST at ${Math.round(rate)} POST/s, ${faultsPerPost.toFixed(3)} page faults per POST${THREADS ? ` (by thread, µs: ${threadShares(threads0, threads1, POSTS)})` : ""}`);
    } finally {
      await server.stop();
    }
  }
}
const reference = results.get("redis-server (AOF everysec)")!;
console.log("\n| store | CPU per POST (median) | rounds | against redis-server | page faults per POST (median) |\n| --- | --- | --- | --- | --- |");
for (const [name, xs] of results)
  console.log(`| ${name} | ${median(xs).toFixed(1)} µs | ${xs.map((x) => x.toFixed(1)).join(", ")} | ${(median(xs) / median(reference)).toFixed(2)}× | ${median(faults.get(name)!).toFixed(3)} |`);
process.exit(0);
