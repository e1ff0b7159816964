// bench/startup.ts — start-up with a large history, and memory per stored entry, against redis-server loading its own
// AOF (appendonly yes, everysec) of the same XADDs: fills each once, then restarts each in turn (A B A B) and times it.
import { spawn, type Subprocess } from "bun";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { rssBytes } from "./procstat";
import { median } from "./median";
import { assertEnvOf, pubsubEnv } from "./pubsubenv";
import { BUN, ROOT, freePort, tempPath } from "../test/helpers";

const argv = process.argv.slice(2);
if (argv.includes("--help")) {
  console.log(`Usage: bun bench/startup.ts [--entries 1000000] [--channels 100] [--rounds 2] [--against DIR] [--pubsub-env NAME=VALUE]

Fills redis-server (appendonly yes, appendfsync everysec) and Notistream's pub/sub server with the same XADDs
(redis-benchmark -P 16: 100-byte messages spread over --channels streams, no trimming), then restarts each in turn,
A B A B, and times each start until PING answers PONG (Redis answers LOADING until its AOF is read).
Prints: start-up time, RSS per stored entry (RSS growth over the fill / entries; and RSS once restarted, less the empty
server's, / entries), and the file's size per entry.
  --against DIR   also the pub/sub server of another Notistream checkout (old code vs new), filled the same way
  --pubsub-env NAME=VALUE
                  also our pub/sub server with this in its environment (repeatable, all in one more server), filled
                  the same way: what an allocator setting such as MIMALLOC_PURGE_DELAY=-1 costs in memory`);
  process.exit(0);
}
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : dflt;
};
const ENTRIES = Number(opt("entries", "1000000"));
const CHANNELS = Number(opt("channels", "100"));
const ROUNDS = Number(opt("rounds", "2"));
const AGAINST = opt("against", "");
const PUBSUB_ENV = pubsubEnv(argv, "bench/startup");

/** `env`: what was added to the server's environment (checked once it answers). */
type Kind = { name: string; dataBytes: () => number; start: (port: number) => Subprocess; env?: Record<string, string> };

/** The reply to one PING, or null when the connection fails. */
async function ping(port: number): Promise<string | null> {
  return await new Promise((resolve) => {
    let got = "";
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(s) {
          s.write("PING\r\n");
        },
        data(s, d) {
          got += d.toString();
          if (got.endsWith("\r\n")) {
            s.end();
            resolve(got.trim());
          }
        },
        close() {
          resolve(got.trim() || null);
        },
        connectError() {
          resolve(null);
        },
      },
    }).catch(() => resolve(null));
  });
}

/** Milliseconds from `t0` until PING answers PONG. */
async function untilPong(port: number, t0: number): Promise<number> {
  for (;;) {
    if ((await ping(port)) === "+PONG") return performance.now() - t0;
    await Bun.sleep(5);
  }
}

async function stop(p: Subprocess): Promise<void> {
  p.kill("SIGTERM");
  await p.exited;
}

const sizeOf = (path: string): number => {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  return st.isDirectory() ? readdirSync(path).reduce((n, f) => n + sizeOf(join(path, f)), 0) : st.size;
};

function redisKind(): Kind {
  const dir = tempPath("redis-aof");
  mkdirSync(dir, { recursive: true });
  return {
    name: "redis-server (AOF everysec)",
    dataBytes: () => sizeOf(join(dir, "appendonlydir")),
    start: (port) => spawn(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--dir", dir], { stdout: "ignore", stderr: "ignore" }),
  };
}

function notistreamKind(name: string, root: string, env?: Record<string, string>): Kind {
  const data = tempPath("history");
  const files = () => [data, `${data}-wal`, `${data}-shm`].reduce((n, f) => n + sizeOf(f), 0);
  return {
    name,
    dataBytes: files,
    env,
    start: (port) => spawn([BUN, `${root}/pubsub.ts`, "--host", "127.0.0.1", "--port", String(port), "--data", data, "--history-max-age", "0"], { stdout: "ignore", stderr: "ignore", env: { ...process.env, ...env } }),
  };
}

const kinds: Kind[] = [redisKind(), notistreamKind("notistream", ROOT)];
if (PUBSUB_ENV) kinds.push(notistreamKind(`notistream with ${PUBSUB_ENV.shown}`, ROOT, PUBSUB_ENV.env));
if (AGAINST) kinds.push(notistreamKind(`notistream at ${AGAINST}`, AGAINST));

const filled = new Map<Kind, { perEntry: number; fileBytes: number; empty: number }>();
for (const k of kinds) {
  const port = await freePort();
  const p = k.start(port);
  await untilPong(port, performance.now());
  try {
    if (k.env) assertEnvOf(p.pid, k.env); // read once it answers: before its exec, the child still has ours
  } catch (err) {
    await stop(p); // not left running when the run ends here
    throw err;
  }
  const empty = rssBytes(p.pid);
  const cmd = ["XADD", "bench:__rand_int__", "*", "message", "x".repeat(100)];
  await Bun.$`redis-benchmark -p ${port} -c 50 -P 16 -n ${ENTRIES} -r ${CHANNELS} -q ${cmd}`.quiet();
  await Bun.sleep(1500); // everysec: the last second reaches the disk
  filled.set(k, { perEntry: (rssBytes(p.pid) - empty) / ENTRIES, fileBytes: k.dataBytes(), empty });
  await stop(p);
  console.error(`${k.name}: filled with ${ENTRIES} entries`);
}

const starts = new Map<Kind, number[]>(kinds.map((k) => [k, []]));
const loaded = new Map<Kind, number[]>(kinds.map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++)
  for (const k of kinds) {
    const port = await freePort();
    const t0 = performance.now();
    const p = k.start(port);
    starts.get(k)!.push(await untilPong(port, t0));
    loaded.get(k)!.push((rssBytes(p.pid) - filled.get(k)!.empty) / ENTRIES);
    await stop(p);
  }

console.log(`\n${ENTRIES} entries over ${CHANNELS} streams (100-byte messages), ${ROUNDS} rounds A B A B, medians\n`);
console.log("| server | start-up (ms) | RSS per stored entry after the fill (B) | after a restart (B) | file per entry (B) |");
console.log("| --- | --- | --- | --- | --- |");
for (const k of kinds) {
  const f = filled.get(k)!;
  console.log(`| ${k.name} | ${median(starts.get(k)!).toFixed(0)} | ${f.perEntry.toFixed(0)} | ${median(loaded.get(k)!).toFixed(0)} | ${(f.fileBytes / ENTRIES).toFixed(0)} |`);
}
