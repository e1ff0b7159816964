// test/client.ntfy.e2e.test.ts — end to end with real processes: the notistream client with any ntfy server. Against
// test/ntfyserver.ts (ntfy's wire format, its random 12-character IDs: not ours): one /json stream for two topics, the
// server killed and restarted with a catch-up exactly once and in order (since=<last id seen>), a restarted client, a
// silent stream left, Basic and token logins and a 401 said plainly; `notistream publish` (flags, stdin, a refusal).
// Against our own web server: the kind detected, --ntfy over its ntfy routes, and publish.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, type Subprocess } from "bun";
import { BUN, ROOT, freePort, killClients, run, startClient, startPubSub, startWebServer, tempPath, until, waitForPort, type Running } from "./helpers";
import { appendToCache, cachedMessage, startNtfyServer, type NtfyServer } from "./ntfyserver";

const none = () => tempPath("none.json");
/** The message lines a client printed (its status lines go to stderr, beside them, and start with "notistream:"). */
const shown = (out: string) => out.split("\n").filter((l) => l.startsWith("["));
/** `notistream publish ...` as a process. */
const publishCmd = (args: string[], input?: string, env: Record<string, string> = {}) => run([BUN, `${ROOT}/client.ts`, "publish", ...args], { input, env: { NOTISTREAM_CONFIG: none(), ...env } });
/** Publishes as a plain ntfy sender would (curl -d), and returns ntfy's message JSON. */
async function ntfyPost(base: string, topic: string, message: string, headers: Record<string, string> = {}): Promise<{ id: string; topic: string }> {
  const r = await fetch(`${base}/${topic}`, { method: "POST", body: message, headers });
  if (r.status !== 200) throw new Error(`publish answered ${r.status}: ${await r.text()}`);
  return (await r.json()) as { id: string; topic: string };
}

describe("notistream with an ntfy server (test/ntfyserver.ts)", () => {
  let ntfy: NtfyServer;
  beforeAll(async () => {
    ntfy = await startNtfyServer(tempPath("cache.ndjson"), ["--keepalive-ms", "300"]);
  });
  afterAll(async () => {
    killClients();
    await ntfy?.kill();
  });

  test("detected by /v1/health; one /json stream for both topics; killed and restarted, it catches up exactly once, in order, from since=<last id seen>", async () => {
    const c = startClient(["--print", "--config", none(), "--url", ntfy.url, "--channels", "alerts,backups"]);
    await until("subscribed", () => c.out().includes(`connected to ${ntfy.url} (ntfy); subscribed to alerts, backups`), 10000);
    expect(c.out()).toContain(`${ntfy.url} is an ntfy server`);
    await ntfyPost(ntfy.url, "alerts", "one");
    const two = await ntfyPost(ntfy.url, "backups", "two");
    await until("live messages", () => c.out().includes("[backups] two"));
    await ntfy.kill();
    await until("drop noticed", () => c.out().includes("reconnecting in"), 10000);
    // Taken while this server was down (by another instance sharing its cache file, as ntfy's cache-file allows).
    for (let i = 1; i <= 5; i++) appendToCache(ntfy.cacheFile, cachedMessage(i % 2 ? "alerts" : "backups", `while down ${i}`));
    await ntfy.restart();
    await ntfyPost(ntfy.url, "alerts", "after");
    await until("caught up and live", () => c.out().includes("[alerts] after") && c.out().includes("[alerts] while down 5"), 40000);
    // Nothing lost, nothing twice, in order (the catch-up in time order, those of one second as the server sent them).
    expect(shown(c.out())).toEqual(["[alerts] one", "[backups] two", "[alerts] while down 1", "[backups] while down 2", "[alerts] while down 3", "[backups] while down 4", "[alerts] while down 5", "[alerts] after"]);
    // One stream for both topics (ntfy's comma list), and the catch-up asked from the last ID seen.
    expect(ntfy.output()).toContain("REQ GET /alerts,backups/json?since=none");
    expect(ntfy.output()).toContain(`REQ GET /alerts,backups/json?poll=1&since=${two.id}`);
    c.proc.kill();
  }, 60000);

  test("a restarted client catches up from its state file: what it missed, once, and nothing it had shown", async () => {
    const state = tempPath("state.json");
    const first = startClient(["--print", "--config", none(), "--url", ntfy.url, "--channels", "jobs"], { NOTISTREAM_STATE: state });
    await until("subscribed", () => first.out().includes("subscribed to jobs"), 10000);
    const seen = await ntfyPost(ntfy.url, "jobs", "seen before");
    await until("shown", () => first.out().includes("[jobs] seen before"));
    first.proc.kill("SIGTERM");
    await first.proc.exited;
    await ntfyPost(ntfy.url, "jobs", "missed 1");
    await ntfyPost(ntfy.url, "jobs", "missed 2");
    const second = startClient(["--print", "--config", none(), "--url", ntfy.url, "--channels", "jobs"], { NOTISTREAM_STATE: state });
    await until("caught up", () => second.out().includes("[jobs] missed 2"), 10000);
    await ntfyPost(ntfy.url, "jobs", "live");
    await until("live", () => second.out().includes("[jobs] live"));
    expect(shown(second.out())).toEqual(["[jobs] missed 1", "[jobs] missed 2", "[jobs] live"]);
    expect(ntfy.output()).toContain(`REQ GET /jobs/json?poll=1&since=${seen.id}`);
    second.proc.kill();
  }, 30000);

  test("ntfy's message fields reach the output: title, priority, tags and click (--json), and a name ntfy cannot take is a sentence", async () => {
    const c = startClient(["--json", "--config", none(), "--url", ntfy.url, "--channels", "fields"]);
    await until("subscribed", () => c.out().includes("subscribed to fields"), 10000);
    const sent = await ntfyPost(ntfy.url, "fields", "body", { "X-Title": "T", "X-Priority": "urgent", "X-Tags": "warning,skull", "X-Click": "https://example.com/x" });
    await until("shown", () => c.out().includes('"message":"body"'));
    const line = c.out().split("\n").find((l) => l.includes('"message":"body"'))!;
    expect(JSON.parse(line)).toEqual({ id: sent.id, time: expect.any(Number), channel: "fields", message: "body", title: "T", priority: 5, tags: ["warning", "skull"], url: "https://example.com/x" });
    c.proc.kill();
    const bad = startClient(["--print", "--config", none(), "--url", ntfy.url, "--ntfy", "--channels", "alerts,octo/hello"]);
    expect(await bad.proc.exited).toBe(78);
    expect(bad.out()).toContain('"octo/hello" is not an ntfy topic name: those are 1 to 64 letters, digits, - and _');
  }, 30000);

  test("a poll_request (ntfy's relay telling iOS to fetch a message elsewhere) is not shown, and said once", async () => {
    const c = startClient(["--print", "--config", none(), "--url", ntfy.url, "--channels", "relay"]);
    await until("subscribed", () => c.out().includes("subscribed to relay"), 10000);
    await ntfyPost(ntfy.url, "relay", "", { "X-Poll-ID": "abcdefghijkl" });
    await ntfyPost(ntfy.url, "relay", "", { "X-Poll-ID": "bcdefghijklm" });
    await ntfyPost(ntfy.url, "relay", "a real one");
    await until("shown", () => c.out().includes("[relay] a real one"));
    expect(shown(c.out())).toEqual(["[relay] a real one"]);
    expect(c.out().split("poll_request events are ignored: they tell iOS to fetch a message from the server that has it").length).toBe(2);
    c.proc.kill();
  }, 30000);

  test("publish: --title, --priority, --tags, --click, the message from stdin with -, one line back (id and topic)", async () => {
    const c = startClient(["--json", "--config", none(), "--url", ntfy.url, "--channels", "pub"]);
    await until("subscribed", () => c.out().includes("subscribed to pub"), 10000);
    const r = await publishCmd(["--url", ntfy.url, "pub", "disk full", "--title", "Grüße 🚀", "--priority", "high", "--tags", "warning, floppy_disk", "--click", "https://example.com/d"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[A-Za-z0-9]{12} pub\n$/);
    const fromStdin = await publishCmd(["--url", ntfy.url, "pub", "-"], "line one\nline two\n");
    expect(fromStdin.code).toBe(0);
    await until("both shown", () => c.out().includes("line two"));
    const got = c.out().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(got).toEqual([
      { id: r.stdout.split(" ")[0], time: expect.any(Number), channel: "pub", message: "disk full", title: "Grüße 🚀", priority: 4, tags: ["warning", "floppy_disk"], url: "https://example.com/d" },
      { id: fromStdin.stdout.split(" ")[0], time: expect.any(Number), channel: "pub", message: "line one\nline two" },
    ]);
    expect(ntfy.output()).toContain("REQ POST /pub");
    c.proc.kill();
  }, 30000);

  test("publish without an address, or with a priority ntfy does not take, is a plain sentence", async () => {
    const noUrl = await publishCmd(["alerts", "hi"]);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain("notistream: publish sends through a Notistream web server or an ntfy server: give its address with --url");
    const badPriority = await publishCmd(["--url", ntfy.url, "alerts", "hi", "--priority", "9"]);
    expect(badPriority.code).toBe(2);
    expect(badPriority.stderr).toBe('notistream: --priority must be 1 to 5, or min, low, default, high, max or urgent, got "9"\n');
    const stray = startClient(["--print", "--config", none(), "--url", ntfy.url, "--channels", "a", "--title", "x"]);
    expect(await stray.proc.exited).toBe(2);
    expect(stray.out()).toContain("--title is for notistream publish <channel> <message>");
  }, 30000);

  test("a stream that goes silent (no keepalive) is left after the silence limit and made again", async () => {
    const quiet = await startNtfyServer(tempPath("quiet.ndjson"), ["--keepalive-ms", "0"]);
    try {
      const c = startClient(["--print", "--config", none(), "--url", quiet.url, "--channels", "q"], { NOTISTREAM_NTFY_SILENCE_MS: "1000" });
      await until("left after silence", () => c.out().includes(`nothing from ${quiet.url} in 1 s (ntfy sends a keepalive every 45 s)`), 15000);
      await until("made again", () => c.out().split("subscribed to q").length > 2, 15000);
      // Still receiving.
      await ntfyPost(quiet.url, "q", "still here");
      await until("shown", () => c.out().includes("[q] still here"), 15000);
      c.proc.kill();
    } finally {
      await quiet.kill();
    }
  }, 40000);
});

test("a --url that is neither our web server nor an ntfy server is said so, naming both answers (exit 78)", async () => {
  const neither = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("nothing here", { status: 404 }) });
  try {
    const c = startClient(["--print", "--config", none(), "--url", `http://127.0.0.1:${neither.port}`, "--channels", "a"]);
    expect(await c.proc.exited).toBe(78);
    expect(c.out()).toContain(
      `http://127.0.0.1:${neither.port} answers neither as a Notistream web server (GET /health: 404 "nothing here") nor as an ntfy server (GET /v1/health: 404 "nothing here"). Check the address; if it is an ntfy server that hides /v1/health, add --ntfy.`,
    );
  } finally {
    neither.stop(true);
  }
}, 20000);

describe("logins to an ntfy server: Basic, a token, and refusals said plainly", () => {
  let ntfy: NtfyServer;
  beforeAll(async () => {
    ntfy = await startNtfyServer(tempPath("auth.ndjson"), ["--user", "ann:ann-pw", "--token", "tk_goodtoken123", "--deny-anonymous"]);
  });
  afterAll(async () => {
    killClients();
    await ntfy?.kill();
  });

  test("Basic (--user/--password) and a token (--token, or NOTISTREAM_TOKEN) both subscribe; publish with a token", async () => {
    const basic = startClient(["--print", "--config", none(), "--url", ntfy.url, "--user", "ann", "--password", "ann-pw", "--channels", "sec"]);
    const token = startClient(["--print", "--config", none(), "--url", ntfy.url, "--channels", "sec"], { NOTISTREAM_TOKEN: "tk_goodtoken123" });
    await until("both subscribed", () => basic.out().includes("subscribed to sec") && token.out().includes("subscribed to sec"), 10000);
    const r = await publishCmd(["--url", ntfy.url, "--token", "tk_goodtoken123", "sec", "for members"]);
    expect(r.code).toBe(0);
    await until("both got it", () => basic.out().includes("[sec] for members") && token.out().includes("[sec] for members"));
    expect(basic.out() + token.out()).not.toContain("ann-pw");
    expect(basic.out() + token.out()).not.toContain("tk_goodtoken123");
    basic.proc.kill();
    token.proc.kill();
  }, 30000);

  test("a wrong password is a 401, said as a sentence, and the client exits 78; no login at all is ntfy's 403", async () => {
    const wrong = startClient(["--print", "--config", none(), "--url", ntfy.url, "--user", "ann", "--password", "nope", "--channels", "sec"]);
    expect(await wrong.proc.exited).toBe(78);
    expect(wrong.out()).toContain(`notistream: ${ntfy.url} wants a login: unauthorized. Give the user and password (--user, --password) or a token (--token)`);
    const anonymous = startClient(["--print", "--config", none(), "--url", ntfy.url, "--channels", "sec"]);
    expect(await anonymous.proc.exited).toBe(78);
    expect(anonymous.out()).toContain(`${ntfy.url} refused: forbidden. Ask the server's administrator for read rights on sec`);
  }, 30000);

  test("a refused publish is a sentence that says what to do (exit 1)", async () => {
    const r = await publishCmd(["--url", ntfy.url, "--token", "tk_wrong", "sec", "hi"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`notistream: ${ntfy.url} wants a login to publish to sec (unauthorized). Give --user and --password, or --token (or "user" and "password", or "token", in the config).\n`);
  }, 20000);
});

describe("notistream with our own web server", () => {
  let pubsub: Running;
  let port = 0;
  let base = "";
  let web: Subprocess;
  const data = tempPath("web-data");
  /** Our web server on one port, so it can be killed and started again where the client looks for it. */
  const startWeb = async () => {
    web = spawn([BUN, `${ROOT}/web.ts`, "--host", "127.0.0.1", "--port", String(port), "--redis", `redis://127.0.0.1:${pubsub.port}`, "--data", data], { stdout: "ignore", stderr: "ignore" });
    await waitForPort(port);
  };
  beforeAll(async () => {
    pubsub = await startPubSub();
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    await startWeb();
  });
  afterAll(async () => {
    killClients();
    web?.kill();
    await pubsub?.stop();
  });

  test("without --ntfy it is known by its /health and read through /events; publish reaches it, one line back", async () => {
    const c = startClient(["--print", "--config", none(), "--url", base, "--channels", "ours"]);
    await until("subscribed", () => c.out().includes(`connected to ${base}; subscribed to ours`), 10000);
    expect(c.out()).toContain(`${base} is a Notistream web server: subscribing through /events`);
    const r = await publishCmd(["--url", base, "ours", "hello", "--title", "Grüße 🚀", "--priority", "4", "--tags", "a,b", "--click", "https://example.com/o"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^\S+ ours\n$/);
    expect((await publishCmd(["--url", base, "ours", "-"], "from stdin\n")).code).toBe(0);
    await until("shown", () => c.out().includes("[ours] from stdin"));
    expect(shown(c.out())).toEqual(["[ours] Grüße 🚀: hello <https://example.com/o>", "[ours] from stdin"]);
    c.proc.kill();
  }, 30000);

  test("with --ntfy a repository's channel, owner/repo, is one stream of its own (/<owner>/<repo>/json)", async () => {
    const c = startClient(["--print", "--config", none(), "--url", base, "--ntfy", "--channels", "octo/hello"]);
    await until("subscribed", () => c.out().includes("subscribed to octo/hello"), 10000);
    expect((await publishCmd(["--url", base, "octo/hello", "pushed"])).stdout).toMatch(/^\S+ octo\/hello\n$/);
    await until("shown", () => c.out().includes("[octo/hello] pushed"));
    c.proc.kill();
  }, 30000);

  test("with --ntfy it is read as an ntfy server (its /<topics>/json), and a restart of the web server loses and doubles nothing", async () => {
    const c = startClient(["--print", "--config", none(), "--url", base, "--ntfy", "--channels", "na,nb"]);
    await until("subscribed", () => c.out().includes(`connected to ${base} (ntfy); subscribed to na, nb`), 10000);
    await publishCmd(["--url", base, "na", "one"]);
    await publishCmd(["--url", base, "nb", "two"]);
    await until("live", () => c.out().includes("[nb] two"));
    web.kill("SIGKILL");
    await web.exited;
    await until("drop noticed", () => c.out().includes("reconnecting in"), 10000);
    // A second web server on the same pub/sub server takes the publishes while the first is down.
    const other = await startWebServer(`redis://127.0.0.1:${pubsub.port}`);
    for (let i = 1; i <= 4; i++) expect((await publishCmd(["--url", other.url, i % 2 ? "na" : "nb", `while down ${i}`])).code).toBe(0);
    await other.stop();
    await startWeb();
    await until("caught up", () => c.out().includes("[nb] while down 4"), 40000);
    await publishCmd(["--url", base, "na", "after"]);
    await until("live again", () => c.out().includes("[na] after"), 20000);
    expect(shown(c.out())).toEqual(["[na] one", "[nb] two", "[na] while down 1", "[nb] while down 2", "[na] while down 3", "[nb] while down 4", "[na] after"]);
    c.proc.kill();
  }, 90000);
});
