// test/fuzz.e2e.test.ts — end to end: random and mutated input over real sockets. RESP commands split at random
// points into the pub/sub server, and malformed requests into the web server. Neither may crash or hang: each
// must answer a PING or a health check afterwards. NOTISTREAM_FUZZ_INPUTS sets the RESP count (1000000 for a long run).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { Raw, seededRandom, startPubSub, startWebServer, type Running } from "./helpers";
import { encodeCommand } from "../resp";

const INPUTS = Number(process.env.NOTISTREAM_FUZZ_INPUTS ?? 20000);
let pubsub: Running;
let web: Running & { url: string };
beforeAll(async () => {
  pubsub = await startPubSub(["--password", "fz", "--proto-max-bulk-len", "1048576"]);
  web = await startWebServer(`redis://:fz@127.0.0.1:${pubsub.port}`, ["--github-secret", "fz-secret"]);
});
afterAll(async () => {
  await web?.stop();
  await pubsub?.stop();
});

const rand = seededRandom(0x2545f491);
const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;

const WORDS = ["AUTH", "fz", "PING", "ECHO", "SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUBLISH", "SPUBLISH", "PUBSUB", "NUMSUB", "CHANNELS", "HELLO", "3", "2", "CLIENT", "SETNAME", "LIST", "REPLY", "OFF", "ON", "SKIP", "RESET", "XADD", "XRANGE", "XREVRANGE", "XLEN", "XDEL", "XTRIM", "MAXLEN", "~", "=", "*", "-", "+", "(1-0", "XREAD", "COUNT", "STREAMS", "$", "DEL", "EXISTS", "TYPE", "SCAN", "KEYS", "INFO", "COMMAND", "FLUSHALL", "SELECT", "0", "ch", "k", "h*", "[a-", "\\", "\x00", "\xff", "\r\n", "-1", "99999999999999999999"];

function randomCommand(): Uint8Array {
  const kind = rand();
  if (kind < 0.5) {
    const n = 1 + Math.floor(rand() * 6);
    const cmd = encodeCommand(Array.from({ length: n }, () => (rand() < 0.85 ? pick(WORDS) : Buffer.from(Array.from({ length: Math.floor(rand() * 20) }, () => Math.floor(rand() * 256))))));
    if (rand() < 0.3) cmd[Math.floor(rand() * cmd.length)] = Math.floor(rand() * 256); // mutate one byte
    return cmd;
  }
  if (kind < 0.75) return Buffer.from(`${Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(WORDS)).join(" ")}\r\n`, "latin1"); // inline
  return Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 40) }, () => pick([42, 36, 13, 10, 48, 49, 45, 32, 34, 39, Math.floor(rand() * 256)]))); // raw bytes
}

test(`RESP: ${INPUTS} random and mutated commands split at random points never crash or hang the server`, async () => {
  let sent = 0;
  while (sent < INPUTS) {
    // A batch per connection: protocol errors close it, blocking commands may park it; either way we move on.
    const conns = await Promise.all(Array.from({ length: 8 }, () => Raw.open(pubsub.port)));
    for (const c of conns) {
      const parts: Uint8Array[] = [];
      for (let i = 0; i < 100 && sent < INPUTS; i++, sent++) parts.push(randomCommand());
      const all = Buffer.concat(parts);
      for (let at = 0; at < all.length; ) {
        const n = 1 + Math.floor(rand() * 200);
        c.send(all.subarray(at, at + n));
        at += n;
      }
    }
    await Bun.sleep(5);
    for (const c of conns) c.close();
  }
  const probe = await Raw.open(pubsub.port);
  expect(await probe.call("AUTH", "fz")).toBe("OK");
  expect(await probe.call("PING")).toBe("PONG");
  probe.close();
  expect(pubsub.proc.exitCode).toBeNull();
  console.log(`fuzzed the pub/sub server with ${sent} inputs; it still answers PING`);
}, 300000);

test("HTTP: malformed bodies, invalid UTF-8, wrong content types, huge headers and bad signatures get 4xx, never a crash", async () => {
  const statuses = new Map<number, number>();
  const note = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
  const bodies: (string | Blob)[] = ["", "{", "[]", "null", '{"channel":1}', "channel=%ZZ&message=x", "channel=a&message=\xff\xfe", new Blob([Uint8Array.from([0xff, 0xfe, 0xfd])]), "a".repeat(70000), '{"channel":"a","message":"b","priority":"x"}', '{"channel":"a","message":"b","tags":{"x":1}}', '{"channel":"a","message":"b","url":"ftp://x"}'];
  const types = ["application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=zz", "text/plain", "", "application/json; charset=latin1", "image/png"];
  for (let i = 0; i < 300; i++) {
    const method = pick(["POST", "POST", "GET", "PUT"]);
    const r = await fetch(`${web.url}${pick(["/", "/github", "/?channel=a", "/messages", "/events?since=zz", "/nope"])}`, {
      method,
      body: method !== "GET" && rand() < 0.9 ? pick(bodies) : undefined,
      headers: {
        "content-type": pick(types),
        "x-github-event": pick(["push", "ping", "issues", ""]),
        "x-hub-signature-256": pick(["", "sha256=00", "sha1=abc", "sha256=" + createHmac("sha256", "wrong").update("x").digest("hex")]),
      },
    });
    note(r.status);
    if (r.status >= 500) console.log(web.output().slice(-1500)); // the server's own account of what went wrong
    expect(r.status).toBeLessThan(500);
    await r.arrayBuffer();
  }
  const huge = await fetch(`${web.url}/`, { method: "POST", headers: { "x-huge": "h".repeat(200_000) }, body: "channel=a&message=b" }).then((r) => r.status, () => 0);
  note(huge);
  expect(huge === 0 || (huge >= 400 && huge < 500)).toBe(true); // refused (431) or connection dropped, never served
  const health = await fetch(`${web.url}/health`);
  expect(health.status).toBe(200);
  console.log(`HTTP fuzz: ${[...statuses].map(([s, n]) => `${n} x ${s}`).join(", ")}; /health still 200`);
}, 60000);
