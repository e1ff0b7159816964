// test/pubsub_history.e2e.test.ts — end to end: nothing lost. A client that was away sees exactly what it missed, once,
// in order; history survives kill -9 of the server; the same works against a real redis-server; 10,000 missed
// messages catch up without a duplicate; and the replay limit says what it skipped.
import { afterAll, describe, expect, test } from "bun:test";
import { spawn, type Subprocess } from "bun";
import { Raw, spawnPubSubAt, freePort, killClients, needs, post, startClient, until, type ClientProcess, startPubSub, startRedis, startWebServer, tempPath, waitForPort, type Running } from "./helpers";

const procs: Subprocess[] = [];
afterAll(() => {
  killClients();
  for (const p of procs) p.kill("SIGKILL");
});

function client(port: number, channels: string, state: string, extra: string[] = []): ClientProcess {
  return startClient(["--print", "--host", "127.0.0.1", "--port", String(port), "--channels", channels, "--state", state, ...extra]);
}

/** Publishes through the web server, which must accept it. */
const publish = (url: string, channel: string, message: string) => post(url, { channel, message }, { status: 200 });

/** The message lines a client printed, in order. */
const shown = (c: ClientProcess) =>
  c
    .out()
    .split("\n")
    .filter((l) => l.startsWith("["));

async function awayScenario(pubsubPort: number, redisUrl: string) {
  const web = await startWebServer(redisUrl);
  const state = tempPath("state.json");
  let c = client(pubsubPort, "away", state);
  await until("subscribed", () => c.out().includes("subscribed to away"));
  for (let i = 1; i <= 3; i++) await publish(web.url, "away", `m${i}`);
  await until("first three", () => shown(c).length === 3);
  c.proc.kill("SIGTERM");
  expect(await c.proc.exited).toBe(0);
  for (let i = 4; i <= 6; i++) await publish(web.url, "away", `m${i}`);
  c = client(pubsubPort, "away", state);
  await until("missed three", () => shown(c).length >= 3);
  await Bun.sleep(300); // anything extra (a duplicate) would show up by now
  expect(shown(c)).toEqual(["[away] m4", "[away] m5", "[away] m6"]);
  c.proc.kill();
  await web.stop();
}

describe("a client that was away", () => {
  test("against our server: exactly messages 4-6 are shown, once each, in order", async () => {
    const srv = await startPubSub();
    await awayScenario(srv.port, `redis://127.0.0.1:${srv.port}`);
    await srv.stop();
  }, 30000);

  needs("redis-server").test("against a real redis-server: the same", async () => {
    const redis = await startRedis();
    await awayScenario(redis.port, `redis://127.0.0.1:${redis.port}`);
    await redis.stop();
  }, 30000);

  test("on the very first run nothing old is replayed; after a long absence the replay limit says what it skipped", async () => {
    const srv = await startPubSub();
    const web = await startWebServer(`redis://127.0.0.1:${srv.port}`);
    for (let i = 1; i <= 3; i++) await publish(web.url, "lim", `old${i}`);
    const state = tempPath("state.json");
    let c = client(srv.port, "lim", state, ["--replay-limit", "2"]);
    await until("subscribed", () => c.out().includes("subscribed to lim"));
    await publish(web.url, "lim", "live");
    await until("live", () => shown(c).length === 1);
    expect(shown(c)).toEqual(["[lim] live"]);
    c.proc.kill("SIGTERM");
    await c.proc.exited;
    for (let i = 1; i <= 5; i++) await publish(web.url, "lim", `missed${i}`);
    c = client(srv.port, "lim", state, ["--replay-limit", "2"]);
    await until("replay", () => shown(c).length === 2);
    await Bun.sleep(200);
    expect(shown(c)).toEqual(["[lim] missed4", "[lim] missed5"]);
    expect(c.out()).toContain("lim: skipped 3 older messages while away; showing the last 2");
    c.proc.kill();
    await web.stop();
    await srv.stop();
  }, 30000);
});

describe("a server killed hard", () => {
  test("kill -9 and a restart on the same data file: history intact, the running client carries on without a gap", async () => {
    const port = await freePort();
    const data = tempPath("kill9.db");
    const start = () => spawnPubSubAt(port, data);
    let server = start();
    procs.push(server);
    await waitForPort(port);
    const web = await startWebServer(`redis://127.0.0.1:${port}`);
    const c = client(port, "k9", tempPath("state.json"));
    await until("subscribed", () => c.out().includes("subscribed to k9"));
    for (let i = 1; i <= 50; i++) await publish(web.url, "k9", `before${i}`);
    server.kill("SIGKILL"); // straight after the last 200: acknowledged writes must already be on disk
    await server.exited;
    server = start();
    procs.push(server);
    await waitForPort(port);
    const r = await Raw.open(port);
    expect(await r.call("XLEN", "notistream:k9")).toBe(50);
    const range = (await r.call("XRANGE", "notistream:k9", "-", "+")) as [string, string[]][];
    expect(range.map((e) => e[1][e[1].indexOf("message") + 1])).toEqual(Array.from({ length: 50 }, (_, i) => `before${i + 1}`));
    r.close();
    await until("client reconnected", () => (c.out().match(/subscribed to k9/g) ?? []).length >= 2, 40000);
    for (let i = 1; i <= 5; i++) await publish(web.url, "k9", `after${i}`);
    await until("new messages", () => shown(c).length === 55);
    await Bun.sleep(200);
    expect(shown(c)).toEqual([...Array.from({ length: 50 }, (_, i) => `[k9] before${i + 1}`), ...Array.from({ length: 5 }, (_, i) => `[k9] after${i + 1}`)]);
    c.proc.kill();
    await web.stop();
    server.kill();
  }, 90000);
});

describe("many messages", () => {
  test("10,000 messages published while a client is away all arrive, once each, in order", async () => {
    const srv: Running = await startPubSub();
    const web = await startWebServer(`redis://127.0.0.1:${srv.port}`, ["--history-max", "20000"]);
    const state = tempPath("state.json");
    let c = client(srv.port, "many", state, ["--replay-limit", "10000"]);
    await until("subscribed", () => c.out().includes("subscribed to many"));
    c.proc.kill("SIGTERM");
    await c.proc.exited;
    const N = 10_000;
    for (let i = 0; i < N; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => publish(web.url, "many", `n${i + j}`)));
    }
    c = client(srv.port, "many", state, ["--replay-limit", "10000"]);
    await until("all 10,000", () => shown(c).length >= N, 60000);
    await Bun.sleep(300);
    const lines = shown(c);
    expect(lines.length).toBe(N);
    expect(new Set(lines).size).toBe(N);
    // Concurrent POSTs may land in any order; what matters is that each arrived once and in stream order.
    expect(lines.map((l) => l.slice("[many] n".length)).map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    c.proc.kill();
    await web.stop();
    await srv.stop();
  }, 120000);
});
