// test/tls.e2e.test.ts — end to end over TLS, with a certificate made by openssl at test time: RESP over TLS on
// its own port (redis-cli --tls and our client with --ca), the web server publishing to rediss:// and serving HTTPS.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Raw, freePort, have, needs, post, run, startClient, startPubSub, startWebServer, tempPath, until, killClients, type Running } from "./helpers";

const haveOpenssl = have("openssl");
const dir = tempPath("tls").replace(/\/tls$/, "");
const cert = join(dir, "cert.pem");
const key = join(dir, "key.pem");
let pubsub: Running;
let tlsPort = 0;

beforeAll(async () => {
  if (!haveOpenssl) return;
  const r = await run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]);
  if (r.code !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  tlsPort = await freePort();
  pubsub = await startPubSub(["--password", "tlspw", "--tls-cert", cert, "--tls-key", key, "--tls-port", String(tlsPort)]);
  await until("TLS listener", () => pubsub.output().includes(`rediss://127.0.0.1:${tlsPort}`), 5000);
});
afterAll(async () => {
  killClients();
  await pubsub?.stop();
});

needs("openssl").describe("TLS", () => {
  test("RESP over TLS: a client trusting the CA logs in, and so does redis-cli --tls; the TLS port speaks only TLS; the plain port still works", async () => {
    const secure = await Raw.open(tlsPort, { ca: readFileSync(cert, "utf8") });
    expect(await secure.call("AUTH", "tlspw")).toBe("OK");
    expect(await secure.call("PING")).toBe("PONG");
    secure.close();
    // Plain RESP on the TLS port gets a TLS alert record (type 0x15), not a RESP reply, and the connection ends.
    const plainOnTls = await Raw.open(tlsPort);
    plainOnTls.command("PING");
    await until("the TLS port to answer plain RESP and close", () => plainOnTls.closed, 5000);
    expect(plainOnTls.bytes()[0]).toBe(0x15);
    expect(plainOnTls.bytes().toString("latin1")).not.toContain("PONG");
    // redis-cli as a user runs it (Debian's is built with TLS; one built without it fails here, saying so on stderr).
    const cli = await run(["redis-cli", "--tls", "--cacert", cert, "-h", "127.0.0.1", "-p", String(tlsPort), "--no-auth-warning", "-a", "tlspw", "PING"]);
    expect({ stdout: cli.stdout.trim(), stderr: cli.stderr.trim() }).toEqual({ stdout: "PONG", stderr: "" });
    const plain = await run(["redis-cli", "-h", "127.0.0.1", "-p", String(pubsub.port), "--no-auth-warning", "-a", "tlspw", "PING"]);
    expect(plain.stdout.trim()).toBe("PONG");
  });

  test("HTTPS in, rediss:// to the pub/sub server, and the client with --tls --ca receives it", async () => {
    const web = await startWebServer(`rediss://:tlspw@127.0.0.1:${tlsPort}`, ["--redis-ca", cert, "--tls-cert", cert, "--tls-key", key]);
    const url = web.url.replace("http://", "https://");
    const c = startClient(["--print", "--host", "127.0.0.1", "--port", String(tlsPort), "--tls", "--ca", cert, "--password", "tlspw", "--channels", "secure"]);
    await until("client subscribed over TLS", () => c.out().includes("subscribed to secure"));
    const r = await post(url, { channel: "secure", message: "over tls all the way" }, { ca: readFileSync(cert, "utf8") });
    expect(r.status).toBe(200);
    expect((await r.json()).receivers).toBe(1);
    await until("message shown", () => c.out().includes("[secure] over tls all the way"));
    expect(web.output()).toContain(`web: listening on https://127.0.0.1:${web.port}`);
    expect(web.output()).not.toContain("tlspw");
    await web.stop();
  }, 30000);
});
