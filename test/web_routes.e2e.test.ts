// test/web_routes.e2e.test.ts — checks run before a body is read: a request that may not be there (anonymous clients
// off, a wrong password or token, no write rights on the path's channel) is turned away with its 401 or 403 without a
// byte of its body being pulled. The bodies are streams whose pulls are counted.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { Acl } from "../acl";
import { loadVapidKeys } from "../web_push";
import { startWeb } from "../web";
import { startPubSub, tempPath, type Running } from "./helpers";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
/** Anonymous clients may do nothing; alice publishes to deploys; reader only reads it. */
const ACL = [
  "user default off",
  `user alice on #${sha("alice-pw")} &deploys +@all`,
  `user reader on #${sha("reader-pw")} %R&deploys +@all`,
].join("\n");
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });

let pubsub: Running;
let web: Awaited<ReturnType<typeof startWeb>>;

beforeAll(async () => {
  pubsub = await startPubSub();
  const { keys } = loadVapidKeys(undefined, tempPath("web-data"));
  web = await startWeb({
    host: "127.0.0.1",
    port: 0,
    redisUrl: `redis://127.0.0.1:${pubsub.port}`,
    acl: Acl.parse(ACL, "(test)"),
    maxMessage: 64 * 1024,
    maxBody: 64 * 1024,
    historyMax: 100,
    push: { keys, contact: "mailto:ops@example.com", extraOrigins: [] },
    quiet: true,
  });
  // Ready once /healthz says the pub/sub server answers and the hub subscribes.
  for (let i = 0; (await web.server.fetch(new Request(`http://127.0.0.1:${web.port}/healthz`))).status !== 200; i++) {
    if (i > 300) throw new Error("the web server did not reach the pub/sub server");
    await Bun.sleep(50);
  }
});

afterAll(async () => {
  web?.stop();
  await pubsub?.stop();
});

/** The body every request here sends: CHUNKS pulls of 1 KB, then one more that ends it. */
const CHUNKS = 3;

/**
 * Sends a request whose body is a stream that counts its pulls, through the server's own fetch. A handler that reads
 * the body pulls all of it; one that is never called leaves it as Bun leaves a body no handler reads.
 */
async function sendCounted(method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; error?: string; pulls: number; challenge: string | null }> {
  let pulls = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      pull: (c) => {
        if (++pulls > CHUNKS) c.close();
        else c.enqueue(new Uint8Array(1024).fill(0x61));
      },
    },
    { highWaterMark: 0 },
  );
  const res = await web.server.fetch(new Request(`http://127.0.0.1:${web.port}${path}`, { method, headers: { "content-type": "application/json", ...headers }, body }));
  return { status: res.status, error: ((await res.json()) as { error?: string }).error, pulls, challenge: res.headers.get("www-authenticate") };
}

describe("a refused caller is turned away before its body is read", () => {
  /** What Bun itself pulls from a body no handler reads (a 405 runs none): the floor every refusal must stay at. */
  let untouched: number;
  beforeAll(async () => {
    const r = await sendCounted("PATCH", "/deploys");
    expect(r.status).toBe(405);
    untouched = r.pulls;
  });

  test("the control: a caller who may publish gets the whole body read, and the message published", async () => {
    const r = await sendCounted("POST", "/deploys", basic("alice", "alice-pw"));
    expect(r).toMatchObject({ status: 200, pulls: CHUNKS + 1 });
    expect(untouched).toBeLessThan(CHUNKS + 1);
  });

  const cases: [string, string, string, Record<string, string>, number, string][] = [
    ["POST /<channel>, anonymous clients off", "POST", "/deploys", {}, 401, "this server needs a login"],
    ["PUT /<channel>, a wrong Bearer token", "PUT", "/deploys", { authorization: "Bearer wrong" }, 401, "the Bearer token is not valid"],
    ["POST /<channel>, a wrong ?token=", "POST", "/deploys?token=wrong", {}, 401, "the token is not valid"],
    ["POST /<channel>, a user who may only read it", "POST", "/deploys", basic("reader", "reader-pw"), 403, "user 'reader' may not publish to \"deploys\""],
    ["POST /, a wrong password", "POST", "/", basic("alice", "wrong"), 401, "wrong user name or password"],
    ["POST /github without its secret, anonymous clients off", "POST", "/github", {}, 401, "this server needs a login"],
    ["POST /alertmanager/<channel>, a user who may only read it", "POST", "/alertmanager/deploys", basic("reader", "reader-pw"), 403, "may not publish to \"deploys\""],
    ["POST /grafana/<channel> without its secret, a wrong ?token=", "POST", "/grafana/deploys?token=wrong", {}, 401, "the token is not valid"],
    ["POST /push/subscribe, a wrong password", "POST", "/push/subscribe", basic("reader", "wrong"), 401, "wrong user name or password"],
    ["DELETE /push/subscribe, anonymous clients off", "DELETE", "/push/subscribe", {}, 401, "this server needs a login"],
  ];
  for (const [name, method, path, headers, status, says] of cases)
    test(name, async () => {
      const r = await sendCounted(method, path, headers);
      expect({ status: r.status, says: (r.error ?? "").includes(says) }).toEqual({ status, says: true });
      expect(r.pulls).toBe(untouched);
      if (status === 401) expect(r.challenge).toContain("Basic realm=");
    });

  test("a refused login comes before a bad body too: the 401, not the 415 a non-JSON push body gets", async () => {
    const r = await sendCounted("POST", "/push/subscribe", { ...basic("reader", "wrong"), "content-type": "text/plain" });
    expect(r.status).toBe(401);
  });
});
