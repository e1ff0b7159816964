// test/client.web.e2e.test.ts — end to end: `notistream --url` through a real web server over HTTPS (a certificate
// made by openssl, trusted with --ca), logged in with Basic: the same lines as over RESP, a web server restart with
// nothing lost or doubled, a refused login explained; and --exec running a command per message.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { spawn, type Subprocess } from "bun";
import { BUN, ROOT, freePort, killClients, needs, post, run, startClient, startPubSub, startWebServer, tempPath, until, waitForPort, type Running } from "./helpers";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

needs("openssl").describe("notistream --url: subscribing over HTTPS", () => {
  const dir = tempPath("webclient");
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const aclFile = join(dir, "users.acl");
  let pubsub: Running;
  let webPort = 0;
  let web: Subprocess;
  let other: Running & { url: string };
  const startWeb = () =>
    spawn([BUN, `${ROOT}/web.ts`, "--host", "127.0.0.1", "--port", String(webPort), "--redis", `redis://127.0.0.1:${pubsub.port}`, "--tls-cert", cert, "--tls-key", key, "--acl", aclFile], { stdout: "ignore", stderr: "ignore" });
  /** Publishes as ann, trusting the test certificate unless `tls` is false. */
  const publish = (base: string, channel: string, message: string, tls = true) =>
    post(base, { channel, message }, { headers: { authorization: `Basic ${btoa("ann:ann-pw")}` }, status: 200, ...(tls ? { ca: readFileSync(cert, "utf8") } : {}) });

  beforeAll(async () => {
    await run(["mkdir", "-p", dir]);
    const r = await run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]);
    if (r.code !== 0) throw new Error(`openssl failed: ${r.stderr}`);
    writeFileSync(aclFile, `user default off\nuser ann on #${sha("ann-pw")} &ann/* ~* +@all\n`);
    pubsub = await startPubSub();
    webPort = await freePort();
    web = startWeb();
    await waitForPort(webPort);
    // A second web server on the same pub/sub server publishes while the first one is down.
    other = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--acl", aclFile]);
  });
  afterAll(async () => {
    killClients();
    web?.kill();
    await other?.stop();
    await pubsub?.stop();
  });

  test("the same lines as over RESP; a web server restart loses nothing and doubles nothing", async () => {
    const base = `https://127.0.0.1:${webPort}`;
    const c = startClient(["--print", "--config", tempPath("none.json"), "--url", base, "--ca", cert, "--user", "ann", "--password", "ann-pw", "--channels", "ann/a,ann/b"]);
    await until("subscribed", () => c.out().includes(`connected to ${base}; subscribed to ann/a, ann/b`), 10000);
    await publish(base, "ann/a", "one");
    await publish(base, "ann/b", "two");
    await until("live messages", () => c.out().includes("[ann/b] two"));
    web.kill("SIGKILL");
    await web.exited;
    await until("drop noticed", () => c.out().includes("reconnecting in"), 10000);
    for (let i = 1; i <= 5; i++) await publish(other.url, i % 2 ? "ann/a" : "ann/b", `while down ${i}`, false);
    web = startWeb();
    await waitForPort(webPort);
    await publish(base, "ann/a", "after");
    await until("caught up and live", () => c.out().includes("[ann/a] after") && c.out().includes("[ann/b] while down 4"), 40000);
    const lines = c.out().split("\n").filter((l) => l.startsWith("[ann/"));
    // Nothing lost, nothing doubled.
    expect([...lines].sort()).toEqual(["[ann/a] after", "[ann/a] one", "[ann/a] while down 1", "[ann/a] while down 3", "[ann/a] while down 5", "[ann/b] two", "[ann/b] while down 2", "[ann/b] while down 4"]);
    // Per channel, in order.
    expect(lines.filter((l) => l.startsWith("[ann/a]"))).toEqual(["[ann/a] one", "[ann/a] while down 1", "[ann/a] while down 3", "[ann/a] while down 5", "[ann/a] after"]);
    expect(c.out()).not.toContain("ann-pw");
    c.proc.kill();
  }, 60000);

  test("a wrong password over HTTPS is explained, and the client exits 78", async () => {
    const c = startClient(["--print", "--config", tempPath("none.json"), "--url", `https://127.0.0.1:${webPort}`, "--ca", cert, "--user", "ann", "--password", "nope", "--channels", "ann/a"]);
    expect(await c.proc.exited).toBe(78);
    expect(c.out()).toContain("wants a login");
    expect(c.out()).toContain("notistream setup");
  }, 20000);
});

describe("--exec", () => {
  let pubsub: Running;
  beforeAll(async () => {
    pubsub = await startPubSub();
  });
  afterAll(async () => {
    killClients();
    await pubsub?.stop();
  });

  test("runs the command per message, in order, with the envelope on stdin and NOTISTREAM_* set; a failure does not stop it", async () => {
    const web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`);
    const out = tempPath("exec.out");
    const c = startClient(["--print", "--config", tempPath("none.json"), "--host", "127.0.0.1", "--port", String(pubsub.port), "--channels", "jobs", "--exec", `echo "$NOTISTREAM_CHANNEL|$NOTISTREAM_TITLE|$NOTISTREAM_PRIORITY|$(cat)" >> ${out}; [ "$NOTISTREAM_MESSAGE" != "boom" ]`]);
    await until("subscribed", () => c.out().includes("subscribed to jobs"));
    for (const m of ["first", "boom", "third"]) await post(web.url, { channel: "jobs", message: m, title: `T ${m}`, priority: "4" });
    await until("three runs", () => existsSync(out) && readFileSync(out, "utf8").trim().split("\n").length === 3, 10000);
    const runs = readFileSync(out, "utf8").trim().split("\n").map((l) => l.split("|"));
    expect(runs.map((r) => r.slice(0, 3))).toEqual([
      ["jobs", "T first", "4"],
      ["jobs", "T boom", "4"],
      ["jobs", "T third", "4"],
    ]);
    expect(JSON.parse(runs[0]!.slice(3).join("|"))).toMatchObject({ channel: "jobs", message: "first", title: "T first", priority: 4 });
    await until("failure reported", () => c.out().includes("--exec command failed for message"));
    expect(c.proc.exitCode).toBeNull();
    c.proc.kill();
    await web.stop();
  }, 30000);
});
