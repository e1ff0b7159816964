// test/client.e2e.test.ts — end to end: the notistream command as a real process. First run in a real terminal
// (tmux), printing and JSON output, our server and a real redis-server (with and without a password), reconnects
// after a restart and after a server that stops answering, clean stops, and a real desktop notification (dunst).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, type Subprocess } from "bun";
import { BUN, DESKTOP, ROOT, Raw, Terminal, spawnPubSubAt, startDesktop, freePort, killClients, startClient, tempPath, until, needs, run, startPubSub, startRedis, waitForPort, type Running } from "./helpers";

const tmp = () => mkdtempSync(join(tmpdir(), "notistream-e2e-"));
const CLIENT = `${ROOT}/client.ts`;

afterAll(killClients);

async function publish(port: number, channel: string, payload: string, password?: string): Promise<number> {
  const r = await Raw.open(port);
  if (password) await r.call("AUTH", password);
  const n = (await r.call("PUBLISH", channel, payload)) as number;
  r.close();
  return n;
}

/**
 * A message as the web server makes one: XADD to the channel's history, and the envelope with that entry's ID as the
 * payload to PUBLISH. The client checks a payload's ID against history (issue 22) and shows the entry it reads back.
 */
async function envelope(port: number, channel: string, fields: Record<string, string>): Promise<string> {
  const r = await Raw.open(port);
  const id = String(await r.call("XADD", `notistream:${channel}`, "*", "time", "5", "channel", channel, ...Object.entries(fields).flat()));
  r.close();
  return JSON.stringify({ id, time: 5, channel, ...fields });
}

/** Publishes until the client is subscribed (PUBLISH returns at least 1), so tests never race the SUBSCRIBE. */
async function publishWhenSubscribed(port: number, channel: string, payload: string, password?: string): Promise<void> {
  const end = Date.now() + 10000;
  for (;;) {
    const r = await Raw.open(port);
    if (password) await r.call("AUTH", password);
    const n = (await r.call("PUBSUB", "NUMSUB", channel)) as unknown[];
    const pn = (await r.call("PUBSUB", "NUMPAT")) as number;
    if (Number(n[1]) > 0 || pn > 0) {
      await r.call("PUBLISH", channel, payload);
      r.close();
      return;
    }
    r.close();
    if (Date.now() > end) throw new Error(`nobody subscribed to ${channel}`);
    await Bun.sleep(30);
  }
}

describe("setup", () => {
  needs("tmux").test("first run in a real terminal: prompts, a 0600 config, then a message is shown", async () => {
    const srv = await startPubSub();
    const home = tmp();
    const cfg = join(home, "config.json");
    const term = await Terminal.start(`${BUN} ${CLIENT} --print --config ${cfg} --state ${join(home, "state.json")}`);
    try {
      await term.waitFor("Pub/sub server host");
      await term.enter("127.0.0.1");
      await term.waitFor("Port");
      await term.enter("99999");
      await term.waitFor("The port must be a whole number from 1 to 65535");
      for (let i = 0; i < 5; i++) await term.keys("BSpace");
      await term.enter(String(srv.port));
      await term.waitFor("Channels");
      await term.enter(); // empty: refused
      await term.waitFor("At least one channel is required");
      await term.enter("alerts, octo/*");
      await term.waitFor("User name");
      await term.enter();
      await term.waitFor("Password");
      await term.enter();
      await term.waitFor("Use TLS?");
      await term.enter();
      await term.waitFor("Listening now");
      expect(statSync(cfg).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(cfg, "utf8"))).toEqual({ host: "127.0.0.1", port: srv.port, channels: ["alerts", "octo/*"] });
      // Once it has read where history stands (a first run replays nothing), a new entry is a new message.
      await term.waitFor("subscribed to alerts, octo/*");
      await publishWhenSubscribed(srv.port, "alerts", await envelope(srv.port, "alerts", { message: "disk full", title: "Ops" }));
      await term.waitFor("[alerts] Ops: disk full");
      await publish(srv.port, "octo/hello", "pattern works");
      await term.waitFor("[octo/hello] pattern works");
    } finally {
      await term.kill();
      await srv.stop();
    }
  }, 40000);

  needs("tmux").test("notistream setup asks again, pre-filled with the current values", async () => {
    const cfg = join(tmp(), "config.json");
    writeFileSync(cfg, JSON.stringify({ host: "example.test", port: 6390, channels: ["one", "two"], user: "ann", password: "kept-pw", replayLimit: 5 }));
    const term = await Terminal.start(`${BUN} ${CLIENT} setup --print --config ${cfg} --state ${tempPath("state.json")}`);
    try {
      await term.waitFor("example.test");
      await term.enter();
      await term.waitFor("6390");
      await term.enter();
      await term.waitFor("one, two");
      await term.enter(", three");
      await term.waitFor(/User name[^\n]*\n[^\n]*ann/); // "ann" alone also matches "Channels"
      await term.enter();
      await term.waitFor("leave empty to keep the current one");
      await term.enter(); // empty: the current password stays
      await term.waitFor("Use TLS?");
      await term.enter();
      // example.test does not resolve: setup says so and asks before saving (issue 13).
      await term.waitFor("does not resolve");
      await term.waitFor("Save anyway?");
      await term.keys("Left");
      await term.enter();
      await term.waitFor("Listening now");
      expect(JSON.parse(readFileSync(cfg, "utf8"))).toEqual({ host: "example.test", port: 6390, channels: ["one", "two", "three"], user: "ann", password: "kept-pw", replayLimit: 5 });
    } finally {
      await term.kill();
    }
  }, 30000);

  test("no terminal and no config: a non-zero exit that says how to make a config", async () => {
    const r = await run([BUN, CLIENT, "--config", join(tmp(), "none.json")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--channels");
    expect(r.stderr).toContain("NOTISTREAM_CONFIG");
  });

  test("a broken config names the file and the field", async () => {
    const cfg = join(tmp(), "config.json");
    writeFileSync(cfg, JSON.stringify({ host: "h", port: 0, channels: ["a"] }));
    const r = await run([BUN, CLIENT, "--print"], { env: { NOTISTREAM_CONFIG: cfg, NOTISTREAM_STATE: tempPath("state.json") } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(cfg);
    expect(r.stderr).toContain('field "port"');
  });

  test("--help", async () => {
    const r = await run([BUN, CLIENT, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("notistream setup");
    expect(r.stdout).toContain("--print");
  });
});

describe("receiving", () => {
  test("flags override the config; plain payloads, envelopes, patterns; --json; SIGTERM exits 0", async () => {
    const srv = await startPubSub();
    const cfg = join(tmp(), "config.json");
    writeFileSync(cfg, JSON.stringify({ host: "127.0.0.1", port: 1, channels: ["ignored"] }));
    const c = startClient(["--print", "--config", cfg, "--port", String(srv.port), "--channels", "news,gh/*"]);
    const j = startClient(["--json", "--config", cfg, "--port", String(srv.port), "--channels", "news"]);
    await until("both subscribed", () => c.out().includes("subscribed to news, gh/*") && j.out().includes("subscribed to news"));
    expect(c.out()).toContain(`connected to 127.0.0.1:${srv.port}`);
    await publish(srv.port, "news", "plain text from redis-cli");
    const withTitle = await envelope(srv.port, "news", { message: "with title", title: "Hi", url: "https://x.test" });
    await publish(srv.port, "news", withTitle);
    await publish(srv.port, "gh/repo", "via pattern");
    await until("three lines", () => c.out().includes("[gh/repo] via pattern"));
    expect(c.out()).toContain("[news] plain text from redis-cli\n");
    expect(c.out()).toContain("[news] Hi: with title <https://x.test>\n"); // the line shows the link (issue 13)
    await until("json lines", () => j.out().includes('"with title"'));
    const jsonLines = j.out().split("\n").filter((l) => l.startsWith("{"));
    expect(JSON.parse(jsonLines[0]!)).toMatchObject({ channel: "news", message: "plain text from redis-cli" });
    expect(JSON.parse(jsonLines[1]!)).toMatchObject({ id: JSON.parse(withTitle).id, time: 5, title: "Hi", url: "https://x.test" });
    c.proc.kill("SIGTERM");
    j.proc.kill("SIGINT");
    expect(await c.proc.exited).toBe(0);
    expect(await j.proc.exited).toBe(0);
    await srv.stop();
  }, 20000);

  for (const kind of ["notistream", "redis-server"] as const) {
    needs(...(kind === "redis-server" ? ["redis-server"] : [])).test(`against ${kind}, with a password`, async () => {
      const srv: Running = kind === "redis-server" ? await startRedis(["--requirepass", "pw9"]) : await startPubSub(["--password", "pw9"]);
      const wrong = startClient(["--print", "--host", "127.0.0.1", "--port", String(srv.port), "--channels", "p", "--password", "nope"]);
      const c = startClient(["--print", "--host", "127.0.0.1", "--port", String(srv.port), "--channels", "p", "--password", "pw9"]);
      await publishWhenSubscribed(srv.port, "p", "secret hello", "pw9");
      await until("message", () => c.out().includes("[p] secret hello"));
      await until("auth failure reported", () => wrong.out().includes("WRONGPASS"));
      // A wrong password does not fix itself: a plain sentence and exit 78, not a retry loop (issue 13).
      expect(await wrong.proc.exited).toBe(78);
      expect(wrong.out()).toContain("Run `notistream setup` to enter it again");
      expect(wrong.out()).not.toContain("reconnecting in");
      expect(c.out()).not.toContain("pw9");
      wrong.proc.kill();
      c.proc.kill();
      await srv.stop();
    }, 20000);
  }
});

describe("a connection that survives", () => {
  test("the server is killed and started again: the client carries on without a restart", async () => {
    const port = await freePort();
    const dataFile = tempPath("restart.db");
    const startServer = () => spawnPubSubAt(port, dataFile);
    let server = startServer();
    await waitForPort(port);
    const c = startClient(["--print", "--host", "127.0.0.1", "--port", String(port), "--channels", "r"]);
    await publishWhenSubscribed(port, "r", "before");
    await until("first message", () => c.out().includes("[r] before"));
    server.kill("SIGKILL");
    await server.exited;
    await until("disconnect noticed", () => c.out().includes("reconnecting in"));
    server = startServer();
    await waitForPort(port);
    await publishWhenSubscribed(port, "r", "after the restart");
    await until("message after restart", () => c.out().includes("[r] after the restart"), 40000);
    c.proc.kill();
    server.kill();
  }, 60000);

  test("a server that accepts but stops answering is detected by the keepalive PING", async () => {
    // A fake server: answers HELLO, refuses INFO and confirms the SUBSCRIBE, then never answers again (like a dropped NAT mapping).
    let connections = 0;
    const fake = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open() {
          connections++;
        },
        data(s, chunk) {
          const text = Buffer.from(chunk).toString();
          if (text.includes("HELLO")) s.write("%1\r\n$5\r\nproto\r\n:3\r\n");
          if (text.includes("INFO")) s.write("-ERR unknown command 'INFO'\r\n"); // not a cluster node
          if (text.includes("SUBSCRIBE")) s.write(">3\r\n$9\r\nsubscribe\r\n$1\r\ns\r\n:1\r\n");
          if (text.includes("XREVRANGE")) s.write("*0\r\n");
        },
      },
    });
    const c = startClient(["--print", "--host", "127.0.0.1", "--port", String(fake.port), "--channels", "s"], {
      NOTISTREAM_PING_INTERVAL_MS: "300",
      NOTISTREAM_PING_TIMEOUT_MS: "300",
    });
    await until("subscribed", () => c.out().includes("subscribed to s"));
    await until("dead connection detected", () => c.out().includes("no reply to PING within 0.3 s"));
    await until("a new connection", () => connections >= 2);
    c.proc.kill();
    fake.stop(true);
  }, 20000);
});

describe("desktop notifications", () => {
  needs(...DESKTOP).test("a published message raises a real notification, read back from dunst", async () => {
    const desk = await startDesktop();
    const srv = await startPubSub();
    try {
      const c = startClient(["--host", "127.0.0.1", "--port", String(srv.port), "--channels", "desk", "--config", join(tmp(), "none.json")], desk.env);
      await until("subscribed", () => c.out().includes("subscribed to desk"));
      await publishWhenSubscribed(srv.port, "desk", await envelope(srv.port, "desk", { message: "Build finished", title: "CI" }));
      await until("line printed", () => c.out().includes("[desk] CI: Build finished"));
      let history = "";
      await until(
        "notification in dunst",
        () => {
          const shown = Number(desk.dunstctl("count", "displayed").trim());
          desk.dunstctl("close-all");
          history = desk.dunstctl("history");
          return shown > 0 || history.includes("Build finished");
        },
        10000,
      );
      expect(history).toContain("CI");
      expect(history).toContain("Build finished");
      c.proc.kill();
    } finally {
      desk.stop();
      await srv.stop();
    }
    // The desktop's session bus ends with it (dbus-launch prints its pid unquoted; once missed, every run left buses behind).
    const bus = Number(desk.env.DBUS_SESSION_BUS_PID);
    expect(bus).toBeGreaterThan(0);
    await until("the session bus ended", () => {
      try {
        process.kill(bus, 0);
        return false;
      } catch {
        return true;
      }
    });
  }, 30000);
});
