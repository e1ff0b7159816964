// test/acl.e2e.test.ts — end to end: one ACL file guards the pub/sub server (AUTH user pass, NOPERM) and the web server
// (Bearer, Basic, 401/403), the client logs in as a user, and the web server publishes as a user to a real redis-server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { Raw, Subscriber, killClients, needs, post, startClient, startPubSub, startRedis, startWebServer, tempPath, until, type Running } from "./helpers";

const sha = (p: string) => new Bun.CryptoHasher("sha256").update(p).digest("hex");
const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}` });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
/** Raw.call gives an error reply back as an Error value. */
const errorOf = async (reply: Promise<unknown>) => {
  const r = await reply;
  return r instanceof Error ? r.message : `not an error: ${JSON.stringify(r)}`;
};
const SECRETS = ["web-secret-pw", "alice-secret-pw", "ci-secret-token", "gone-secret-pw"];

const ACL = [
  "# anonymous: read the public channels and their history",
  "user default on nopass %R&public/* %R~notistream:public/* -@all +@connection +subscribe +psubscribe +unsubscribe +xrange +xlen",
  `user web on #${sha("web-secret-pw")} allchannels ~notistream:* +@all`,
  `user alice on #${sha("alice-secret-pw")} &alerts/* %R&public/* ~notistream:alerts/* %R~notistream:public/* +@all`,
  "# a CI job: publish only",
  `user ci on #${sha("ci-secret-token")} %W&alerts/* %W&public/* -@all +publish`,
  `user gone off #${sha("gone-secret-pw")} allchannels allkeys +@all`,
].join("\n");

describe("one ACL file for the pub/sub server and the web server", () => {
  let pubsub: Running;
  let web: Running & { url: string };
  let alice: Subscriber;
  let anon: Subscriber;
  beforeAll(async () => {
    const file = tempPath("users.acl");
    writeFileSync(file, ACL);
    pubsub = await startPubSub(["--acl", file]);
    web = await startWebServer(`redis://web:web-secret-pw@127.0.0.1:${pubsub.port}`, ["--acl", file]);
    alice = await Subscriber.open(pubsub.port, ["alerts/x", "public/x"], ["alice", "alice-secret-pw"]);
    anon = await Subscriber.open(pubsub.port, ["public/x"]);
  });
  afterAll(async () => {
    killClients();
    alice?.close();
    anon?.close();
    await web?.stop();
    await pubsub?.stop();
  });

  const publish = (channel: string, headers: Record<string, string>, query = "") => post(`${web.url}/${query}`, { channel, message: `to ${channel}` }, { headers });

  test("POST /: Bearer and Basic users publish within their channels; others get 401 or 403 and nothing is published", async () => {
    const before = alice.messages.length;
    const cases: [Promise<Response>, number, RegExp | null][] = [
      [publish("alerts/x", bearer("ci-secret-token")), 200, null],
      [publish("alerts/x", basic("alice", "alice-secret-pw")), 200, null],
      [publish("public/x", {}, "?token=ci-secret-token"), 200, null],
      [publish("public/x", {}), 401, /anonymous clients may not publish to "public\/x": log in/],
      [publish("alerts/x", bearer("wrong")), 401, /the Bearer token is not valid/],
      [publish("alerts/x", basic("alice", "wrong")), 401, /wrong user name or password/],
      [publish("alerts/x", bearer("gone-secret-pw")), 401, /not valid \(or its user is disabled\)/],
      // Another scheme is no login (ntfy's supportedAuthHeader, ntfy#629: Mastodon's Web Push "vapid" header): anonymous.
      [publish("alerts/x", { authorization: "vapid t=x, k=y" }), 401, /anonymous clients may not publish to "alerts\/x"/],
      [publish("public/x", basic("alice", "alice-secret-pw")), 403, /user 'alice' may not publish to "public\/x"/],
      [publish("private", bearer("ci-secret-token")), 403, /user 'ci' may not publish to "private"/],
    ];
    for (const [pending, status, why] of cases) {
      const r = await pending;
      const body = await r.json();
      expect({ status: r.status, body }).toMatchObject({ status });
      if (why) {
        expect(body.error).toMatch(why);
        if (status === 401) expect(r.headers.get("www-authenticate")).toContain('Basic realm="notistream"');
      }
    }
    await alice.waitFor(before + 3);
    await Bun.sleep(200);
    expect(alice.messages.slice(before).map((m) => m.channel)).toEqual(["alerts/x", "alerts/x", "public/x"]);
  });

  test("GET /events and /messages need read rights on every channel asked for", async () => {
    const status = async (path: string, headers: Record<string, string> = {}) => {
      const ctl = new AbortController();
      const r = await fetch(`${web.url}${path}`, { headers, signal: ctl.signal });
      const s = r.status;
      ctl.abort();
      return s;
    };
    expect(await status("/messages?channel=public/x")).toBe(200);
    expect(await status("/messages?channel=alerts/x")).toBe(401);
    expect(await status("/messages?channel=alerts/x", basic("alice", "alice-secret-pw"))).toBe(200);
    expect(await status("/messages?channels=alerts/x,private", basic("alice", "alice-secret-pw"))).toBe(403);
    expect(await status("/events?channel=public/x")).toBe(200);
    expect(await status("/events?channel=alerts/x")).toBe(401);
    expect(await status("/events?channel=alerts/x", basic("alice", "alice-secret-pw"))).toBe(200);
    expect(await status("/events?channel=alerts/x", bearer("ci-secret-token"))).toBe(403); // write-only
    const r = await fetch(`${web.url}/messages?channel=alerts/x`, { headers: basic("alice", "alice-secret-pw") });
    const messages = (await r.json()) as { message: string }[];
    expect(messages.map((m) => m.message)).toContain("to alerts/x");
  });

  test("on RESP: NOPERM for channels outside a user's rights, and anonymous reads only what the file allows", async () => {
    const raw = await Raw.open(pubsub.port);
    expect(await errorOf(raw.call("PUBLISH", "public/x", "m"))).toBe("NOPERM this user has no permissions to run the 'publish' command");
    expect(await errorOf(raw.call("XLEN", "notistream:alerts/x"))).toBe("NOPERM this user has no permissions to access one of the keys used as arguments");
    expect(await raw.call("XLEN", "notistream:public/x")).toBeGreaterThan(0);
    expect(await raw.call("AUTH", "ci", "ci-secret-token")).toBe("OK");
    expect(await errorOf(raw.call("PUBLISH", "private", "m"))).toBe("NOPERM this user has no permissions to access one of the channels used as arguments");
    expect(await raw.call("PUBLISH", "public/x", "from ci")).toBe(2); // alice and the anonymous reader
    expect(await errorOf(raw.call("SUBSCRIBE", "public/x"))).toBe("NOPERM this user has no permissions to run the 'subscribe' command");
    raw.close();
    await anon.waitFor(1);
    expect(anon.messages.some((m) => m.payload === "from ci")).toBe(true);
  });

  test("the client logs in as a user with --user; a wrong password and missing rights are explained", async () => {
    const ok = startClient(["--print", "--host", "127.0.0.1", "--port", String(pubsub.port), "--channels", "alerts/y", "--user", "alice", "--password", "alice-secret-pw"]);
    const wrong = startClient(["--print", "--host", "127.0.0.1", "--port", String(pubsub.port), "--channels", "alerts/y", "--user", "alice", "--password", "nope"]);
    const denied = startClient(["--print", "--host", "127.0.0.1", "--port", String(pubsub.port), "--channels", "alerts/y"]);
    await until("subscribed", () => ok.out().includes("subscribed to alerts/y"));
    expect((await publish("alerts/y", bearer("ci-secret-token"))).status).toBe(200);
    await until("message shown", () => ok.out().includes("[alerts/y] to alerts/y"));
    await until("wrong password reported", () => wrong.out().includes("WRONGPASS"));
    await until("anonymous refused", () => denied.out().includes("NOPERM"));
    for (const c of [ok, wrong, denied]) for (const secret of SECRETS) expect(c.out()).not.toContain(secret);
  }, 20000);

  test("no password or token ever reaches a log", async () => {
    await Bun.sleep(100);
    for (const secret of SECRETS) {
      expect(pubsub.output()).not.toContain(secret);
      expect(web.output()).not.toContain(secret);
    }
    expect(pubsub.output()).toContain("pubsub: ACL with 4 named user(s); anonymous clients get the default user's rights");
    expect(web.output()).toContain("redis://web:***@127.0.0.1");
  });
});

describe("a server whose anonymous user is off", () => {
  test("the app page asks the browser for a login (Basic), and a logged-in browser gets it", async () => {
    const file = tempPath("closed.acl");
    writeFileSync(file, `user default off\nuser bob on #${sha("bob-pw")} allchannels allkeys +@all\n`);
    const pubsub = await startPubSub(["--acl", file]);
    const web = await startWebServer(`redis://bob:bob-pw@127.0.0.1:${pubsub.port}`, ["--acl", file]);
    try {
      const page = await fetch(`${web.url}/`, { headers: { accept: "text/html" } });
      expect(page.status).toBe(401);
      expect(page.headers.get("www-authenticate")).toStartWith('Basic realm="notistream"');
      const in_ = await fetch(`${web.url}/`, { headers: { accept: "text/html", ...basic("bob", "bob-pw") } });
      expect(in_.status).toBe(200);
      expect(await in_.text()).toContain("<html");
      expect((await fetch(`${web.url}/messages?channel=a`)).status).toBe(401);
      const raw = await Raw.open(pubsub.port);
      expect(await errorOf(raw.call("PING"))).toBe("NOAUTH Authentication required.");
      raw.close();
    } finally {
      await web.stop();
      await pubsub.stop();
    }
  });

  test("a broken ACL file stops the start with its file and line; --acl with --password is refused", async () => {
    const file = tempPath("broken.acl");
    writeFileSync(file, "user ok on nopass\nuser bad on >hunter2\n");
    for (const [prog, extra] of [["pubsub.ts", []], ["web.ts", []], ["pubsub.ts", ["--password", "x"]]] as const) {
      const p = Bun.spawn([process.execPath, `${import.meta.dir}/../${prog}`, "--port", "0", "--acl", file, ...extra], { stdout: "pipe", stderr: "pipe" });
      expect(await p.exited).toBe(2);
      const err = await new Response(p.stderr).text();
      if (extra.length) expect(err).toContain("--acl and --password cannot be used together");
      else expect(err).toContain(`${file}:2: plaintext passwords`);
      expect(err).not.toContain("hunter2");
    }
  });
});

needs("redis-server").describe("the web server as an ACL user of a real redis-server", () => {
  test("publishes with XADD and PUBLISH as user web; a wrong password answers 503", async () => {
    const file = tempPath("redis.acl");
    writeFileSync(file, `user default off\nuser web on #${sha("web-secret-pw")} allchannels ~notistream:* +@all\n`);
    const redis = await startRedis(["--aclfile", file]);
    const good = await startWebServer(`redis://web:web-secret-pw@127.0.0.1:${redis.port}`);
    const bad = await startWebServer(`redis://web:wrong@127.0.0.1:${redis.port}`);
    try {
      const sub = await Subscriber.open(redis.port, ["deploys"], ["web", "web-secret-pw"]);
      const r = await post(`${good.url}/`, { channel: "deploys", message: "shipped" });
      expect(r.status).toBe(200);
      await sub.waitFor(1);
      expect(JSON.parse(sub.messages[0]!.payload)).toMatchObject({ channel: "deploys", message: "shipped" });
      sub.close();
      const r2 = await post(`${bad.url}/`, { channel: "deploys", message: "x" });
      expect(r2.status).toBe(503);
      expect(bad.output()).not.toContain("web-secret-pw");
    } finally {
      await Promise.all([good.stop(), bad.stop(), redis.stop()]);
    }
  });
});

describe("changing the ACL file without a restart", () => {
  test("ACL LOAD (pub/sub) and SIGHUP (both servers) apply the new file; a broken file keeps the old rules", async () => {
    const file = tempPath("live.acl");
    const write = (...lines: string[]) => writeFileSync(file, lines.join("\n") + "\n");
    const admin = `user admin on #${sha("admin-pw")} allchannels allkeys +@all`;
    const web_ = `user web on #${sha("web-secret-pw")} allchannels ~notistream:* +@all`;
    write("user default off", admin, web_, `user dan on #${sha("dan-pw")} &news +@all`);
    const pubsub = await startPubSub(["--acl", file]);
    const web = await startWebServer(`redis://web:web-secret-pw@127.0.0.1:${pubsub.port}`, ["--acl", file]);
    const postAs = (user: string, pass: string) => post(`${web.url}/`, { channel: "news", message: "m" }, { headers: basic(user, pass) });
    try {
      expect((await postAs("dan", "dan-pw")).status).toBe(200);
      const dan = await Raw.open(pubsub.port);
      expect(await dan.call("AUTH", "dan", "dan-pw")).toBe("OK");

      // dan is switched off and erin added.
      write("user default off", admin, web_, `user dan off #${sha("dan-pw")} &news +@all`, `user erin on #${sha("erin-pw")} &news +@all`);
      const root = await Raw.open(pubsub.port);
      expect(await root.call("AUTH", "admin", "admin-pw")).toBe("OK");
      expect(await root.call("ACL", "LOAD")).toBe("OK");
      // Both closed: dan's, and the caller's after its +OK (it was a named user too, as in Redis).
      await until("dan's and the caller's connections closed", () => dan.closed && root.closed, 3000);
      const erin = await Raw.open(pubsub.port);
      expect(await erin.call("AUTH", "erin", "erin-pw")).toBe("OK");
      expect(await errorOf(erin.call("AUTH", "dan", "dan-pw"))).toBe("WRONGPASS invalid username-password pair or user is disabled.");
      expect(pubsub.output()).toContain("pubsub: ACL reloaded from");

      // The web server still has the old file until SIGHUP.
      expect((await postAs("dan", "dan-pw")).status).toBe(200);
      web.proc.kill("SIGHUP");
      await until("web reloaded", () => web.output().includes("web: ACL reloaded from"), 3000);
      expect((await postAs("dan", "dan-pw")).status).toBe(401);
      expect((await postAs("erin", "erin-pw")).status).toBe(200);

      // A broken file: the error names the line, and the rules in force stay.
      writeFileSync(file, "user erin on >s3cr3t-pass\n");
      expect(await errorOf(erin.call("ACL", "LOAD"))).toContain(`${file}:1: plaintext passwords`);
      expect(await erin.call("PING")).toBe("PONG");
      pubsub.proc.kill("SIGHUP");
      web.proc.kill("SIGHUP");
      await until("both said why", () => pubsub.output().includes("SIGHUP: the ACL file is not valid") && web.output().includes("SIGHUP: the ACL file is not valid"), 3000);
      expect(pubsub.output() + web.output()).not.toContain("s3cr3t-pass");
      expect((await postAs("erin", "erin-pw")).status).toBe(200);
      const again = await Raw.open(pubsub.port);
      expect(await again.call("AUTH", "erin", "erin-pw")).toBe("OK");
      for (const r of [dan, root, erin, again]) r.close();
    } finally {
      await web.stop();
      await pubsub.stop();
    }
  }, 30000);
});
