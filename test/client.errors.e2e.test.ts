// test/client.errors.e2e.test.ts — end to end: the client as a real process. Failures that settings must fix
// (no password, no rights, the web server's port, a name that does not resolve) explain themselves and exit 78;
// a refused port is retried; flag errors name the flag; one client per config; two clients never corrupt state.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { BUN, ROOT, freePort, killClients, publishOverHttp, run, startClient, startPubSub, startWebServer, tempPath, until, type Running } from "./helpers";

const CLIENT = `${ROOT}/client.ts`;
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

describe("failures that will not fix themselves: a sentence and exit 78", () => {
  let locked: Running;
  let acl: Running;
  let web: Running & { url: string };
  beforeAll(async () => {
    const file = tempPath("errors.acl");
    writeFileSync(file, `user default on nopass &public ~* +@all\nuser ann on #${sha("ann-pw")} &ann/* ~* +@all\n`);
    [locked, acl] = await Promise.all([startPubSub(["--password", "right"]), startPubSub(["--acl", file])]);
    web = await startWebServer(`redis://:right@127.0.0.1:${locked.port}`);
  });
  afterAll(async () => {
    killClients();
    await Promise.all([web?.stop(), locked?.stop(), acl?.stop()]);
  });

  const exitsWith = async (args: string[]) => {
    const c = startClient(["--print", "--config", tempPath("none.json"), ...args]);
    const code = await c.proc.exited;
    return { code, out: c.out() };
  };

  test("a missing password (NOAUTH)", async () => {
    const r = await exitsWith(["--host", "127.0.0.1", "--port", String(locked.port), "--channels", "a"]);
    expect(r.code).toBe(78);
    expect(r.out).toContain(`127.0.0.1:${locked.port} needs a password`);
    expect(r.out).toContain("notistream setup");
    expect(r.out).not.toContain("reconnecting");
  });

  test("no rights on a channel (NOPERM)", async () => {
    const r = await exitsWith(["--host", "127.0.0.1", "--port", String(acl.port), "--channels", "ann/x,secret", "--user", "ann", "--password", "ann-pw"]);
    expect(r.code).toBe(78);
    expect(r.out).toContain('does not let user "ann" read ann/x, secret');
    expect(r.out).toContain("NOPERM");
  });

  test("the web server's port: it looks like an HTTP server", async () => {
    const r = await exitsWith(["--host", "127.0.0.1", "--port", String(web.port), "--channels", "a"]);
    expect(r.code).toBe(78);
    expect(r.out).toContain("looks like an HTTP server");
    expect(r.out).toContain("--url");
  });

  test("a host that does not resolve", async () => {
    const r = await exitsWith(["--host", "no-such-host.invalid", "--port", "6379", "--channels", "a"]);
    expect(r.code).toBe(78);
    expect(r.out).toContain('the host name "no-such-host.invalid" does not resolve');
  });

  test("a refused port is transient: it keeps retrying", async () => {
    const c = startClient(["--print", "--config", tempPath("none.json"), "--host", "127.0.0.1", "--port", String(await freePort()), "--channels", "a"]);
    await until("two retries", () => c.out().split("reconnecting in").length > 2, 10000);
    expect(c.proc.exitCode).toBeNull();
    c.proc.kill();
  });
});

describe("flags", () => {
  test("a bad number names the flag as typed", async () => {
    for (const [args, flag] of [
      [["--port", "abc"], "--port"],
      [["--port=70000"], "--port"],
      [["--replay-limit", "abc"], "--replay-limit"],
    ] as const) {
      const r = await run([BUN, CLIENT, ...args, "--channels", "a"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`notistream: ${flag} must be a whole number`);
      expect(r.stderr).toContain(args.join(" ").includes("abc") ? '"abc"' : '"70000"');
    }
  });
  test("an unknown flag, a missing value, a flag that takes none and a stray word each get a sentence", async () => {
    for (const [args, sentence] of [
      [["--chanels", "a"], "notistream: unknown flag --chanels; run with --help to see the flags"],
      [["--channels"], "notistream: --channels needs a value"],
      [["--print=yes", "--channels", "a"], "notistream: --print takes no value: give it alone to turn it on"],
      [["servce", "install"], 'notistream: unexpected argument "servce": the subcommands are publish, setup and service install|uninstall|status; run with --help to see the flags'],
      [["service", "start"], 'notistream: service needs install, uninstall or status, not "start"'],
    ] as const) {
      const r = await run([BUN, CLIENT, ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(sentence);
    }
  });
  test("--help lists every flag and subcommand", async () => {
    const r = await run([BUN, CLIENT, "--help"]);
    for (const s of ["setup", "service install", "service uninstall", "service status", "publish <channel> <message>", "--token", "--ntfy", "--title", "--priority", "--tags", "--click", "--url", "--exec", "--print", "--json", "--replay-limit", "--state", "--ca", "--tls", "--user", "--password", "--channels", "--config"]) expect(r.stdout).toContain(s);
  });
});

describe("one client per config, and a state file nobody corrupts", () => {
  let srv: Running;
  beforeAll(async () => {
    srv = await startPubSub();
  });
  afterAll(async () => {
    killClients();
    await srv?.stop();
  });

  test("a second client with the same config exits and names the first one's PID", async () => {
    const cfg = tempPath("config.json");
    writeFileSync(cfg, JSON.stringify({ host: "127.0.0.1", port: srv.port, channels: ["one"] }));
    const state = tempPath("state.json");
    const first = startClient(["--print", "--config", cfg, "--state", state]);
    await until("first subscribed", () => first.out().includes("subscribed to one"));
    const second = startClient(["--print", "--config", cfg, "--state", state]);
    expect(await second.proc.exited).toBe(1);
    expect(second.out()).toContain(`another notistream (PID ${first.proc.pid}) is already running with ${cfg}`);
    // When the first one stops, the config is free again.
    first.proc.kill("SIGTERM");
    await first.proc.exited;
    const third = startClient(["--print", "--config", cfg, "--state", state]);
    await until("third subscribed", () => third.out().includes("subscribed to one"));
    third.proc.kill();
  }, 20000);

  test("two clients of different configs write one state file at once: it stays whole and keeps both", async () => {
    const state = tempPath("shared-state.json");
    const web = await startWebServer(`redis://127.0.0.1:${srv.port}`);
    const a = startClient(["--print", "--config", tempPath("a.json"), "--state", state, "--host", "127.0.0.1", "--port", String(srv.port), "--channels", "sa"]);
    const b = startClient(["--print", "--config", tempPath("b.json"), "--state", state, "--host", "localhost", "--port", String(srv.port), "--channels", "sb"]);
    await until("both subscribed", () => a.out().includes("subscribed to sa") && b.out().includes("subscribed to sb"));
    const ids: Record<string, string> = {};
    for (let i = 0; i < 200; i++)
      for (const ch of ["sa", "sb"]) {
        ids[ch] = (await publishOverHttp(web.url, { channel: ch, message: `m${i}` })).id;
      }
    await until("all shown", () => a.out().includes("[sa] m199") && b.out().includes("[sb] m199"), 15000);
    a.proc.kill("SIGTERM");
    b.proc.kill("SIGTERM");
    await Promise.all([a.proc.exited, b.proc.exited]);
    const saved = JSON.parse(readFileSync(state, "utf8")) as { servers: Record<string, Record<string, string>> };
    expect(saved.servers[`127.0.0.1:${srv.port}`]!.sa).toBe(ids.sa!);
    expect(saved.servers[`localhost:${srv.port}`]!.sb).toBe(ids.sb!);
    await web.stop();
  }, 60000);
});
