// test/ntfy.subscribe.e2e.test.ts — ntfy's subscribing API end to end, on real processes: GET /<topics>/json, /sse,
// /raw, /ws and /auth, every parameter (as a query key and as a header), since, poll, the filters, keepalives, errors
// in ntfy's shape, CORS, and ntfy's Android app's session replayed across a web server restart, each against our
// pub/sub server, a real redis-server and a Redis Cluster behind the web server.
//
// Expected shapes are ntfy's documentation, docs/subscribe/api.md (cited by section as "api.md §..."), checked
// against ntfy's server/server.go (handleSubscribeHTTP, handleSubscribeWS, parseSince, handleOptions) and
// server/types.go (message, queryFilter), as each test says.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { BUN, ROOT, needs, post, publishOverHttp, run, startPubSub, startRedis, startWebServer, tempPath, until, type Running } from "./helpers";
import { CLUSTER_NEEDS, startCluster } from "./cluster";

type Web = Running & { url: string };
type Ntfy = Record<string, unknown> & { id: string; time: number; event: string; topic: string };

const sha = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

/** A stream read line by line as it arrives (NDJSON, SSE or raw); `done` once the server ended it. */
class Lines {
  lines: string[] = [];
  done = false;
  response!: Response;
  private abort = new AbortController();
  static async open(url: string, headers: Record<string, string> = {}): Promise<Lines> {
    const l = new Lines();
    l.response = await fetch(url, { headers, signal: l.abort.signal });
    void l.pump();
    return l;
  }
  private async pump(): Promise<void> {
    const dec = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of this.response.body!) {
        buf += dec.decode(chunk, { stream: true });
        let end: number;
        while ((end = buf.indexOf("\n")) !== -1) {
          this.lines.push(buf.slice(0, end));
          buf = buf.slice(end + 1);
        }
      }
    } catch {
      // aborted
    }
    this.done = true;
  }
  /** The NDJSON events so far. */
  get events(): Ntfy[] {
    return this.lines.filter((l) => l !== "").map((l) => JSON.parse(l) as Ntfy);
  }
  messages(): Ntfy[] {
    return this.events.filter((e) => e.event === "message");
  }
  async waitFor(what: string, check: () => boolean): Promise<void> {
    await until(what, check, 20_000);
  }
  close(): void {
    this.abort.abort();
  }
}

/**
 * A WebSocket client over a raw socket, so that ping frames show (a browser's WebSocket hides them): the handshake,
 * then the server's frames (unmasked) by opcode. It answers pings with pongs, as browsers do.
 */
class RawWs {
  texts: string[] = [];
  pings = 0;
  closeCode: number | null = null;
  status = "";
  private buf = Buffer.alloc(0);
  private head = "";
  private sock!: Awaited<ReturnType<typeof Bun.connect>>;
  static async open(base: string, path: string, headers: Record<string, string> = {}): Promise<RawWs> {
    const ws = new RawWs();
    const { hostname, port } = new URL(base);
    ws.sock = await Bun.connect({
      hostname,
      port: Number(port),
      socket: {
        data: (_s, chunk) => ws.onData(Buffer.from(chunk)),
        close: () => {
          ws.closeCode ??= -1;
        },
      },
    });
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    ws.sock.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`);
    await until("the handshake's answer", () => ws.status !== "", 10_000);
    return ws;
  }
  get events(): Ntfy[] {
    return this.texts.map((t) => JSON.parse(t) as Ntfy);
  }
  private onData(chunk: Buffer): void {
    if (!this.status) {
      this.head += chunk.toString("latin1");
      const end = this.head.indexOf("\r\n\r\n");
      if (end < 0) return;
      this.status = this.head.slice(0, this.head.indexOf("\r\n"));
      chunk = Buffer.from(this.head.slice(end + 4), "latin1");
      this.head = this.head.slice(0, end);
    }
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.buf.length < 2) return;
      const opcode = this.buf[0]! & 0x0f;
      let len = this.buf[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        at = 10;
      }
      if (this.buf.length < at + len) return;
      const payload = this.buf.subarray(at, at + len);
      this.buf = this.buf.subarray(at + len);
      if (opcode === 0x1) this.texts.push(payload.toString("utf8"));
      else if (opcode === 0x9) {
        this.pings++;
        this.send(0xa, payload);
      } else if (opcode === 0x8) this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
    }
  }
  /** A masked frame, as a client must send. */
  private send(opcode: number, payload: Buffer): void {
    const mask = Buffer.from([1, 2, 3, 4]);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
    this.sock.write(Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]));
  }
  close(): void {
    this.sock.end();
  }
}

/** Publishes with our own form on POST / (its reply keeps our {id,channel,receivers}); the message's id. */
async function publishTo(web: Web, channel: string, message: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<string> {
  const { id } = await publishOverHttp(`${web.url}/`, { channel, message, ...extra }, { headers });
  // IDs are milliseconds: on a Redis Cluster two topics' masters could give one millisecond twice, and the merged
  // order of this file's expectations is the order of publishing.
  await Bun.sleep(2);
  return id;
}

/** A fresh topic name per test, so the tests do not see each other's cached messages. */
let serial = 0;
const topic = (name: string) => `${name}${Date.now().toString(36)}${serial++}`;

/** The routes and parameters, against one backend. `backend()` gives the redis:// URL the web server publishes to. */
function subscribeSuite(label: string, need: string[], startBackend: () => Promise<{ url: string; stop: () => Promise<void> }>) {
  needs(...need).describe(`ntfy's subscribing API with ${label} behind the web server`, () => {
    let backend: { url: string; stop: () => Promise<void> };
    let web: Web;
    beforeAll(async () => {
      backend = await startBackend();
      web = await startWebServer(backend.url, ["--keepalive", "1"]);
    }, 120_000);
    afterAll(async () => {
      await web?.stop();
      await backend?.stop();
    });

    test("GET /<t1>,<t2>/json: NDJSON (api.md §Subscribe as JSON stream), open first with the path's topic string, then each message with ntfy's fields in its order", async () => {
      const [t1, t2] = [topic("a"), topic("b")];
      const s = await Lines.open(`${web.url}/${t1},${t2}/json`);
      // server.go handleSubscribeHTTP: "application/x-ndjson" + "; charset=utf-8" (Android's Volley needs the charset).
      expect(s.response.status).toBe(200);
      expect(s.response.headers.get("content-type")).toBe("application/x-ndjson; charset=utf-8");
      expect(s.response.headers.get("access-control-allow-origin")).toBe("*");
      await s.waitFor("the open event", () => s.events.length >= 1);
      // api.md §Subscribe to multiple topics: open (and keepalive) carry the comma list.
      expect(s.events[0]).toMatchObject({ event: "open", topic: `${t1},${t2}` });
      expect(Object.keys(s.events[0]!)).toEqual(["id", "time", "event", "topic"]);
      expect(s.events[0]!.id).toMatch(/^[A-Za-z0-9]{12}$/);
      await Bun.sleep(300); // the stream subscribes before the open event; the hub's SUBSCRIBE may still be on its way
      const id1 = await publishTo(web, t1, "disk full", { title: "db1", priority: "5", tags: "warning,skull", url: "https://example.com/x" });
      const id2 = await publishTo(web, t2, "plain");
      await s.waitFor("two messages", () => s.messages().length === 2);
      const [m1, m2] = s.messages();
      // api.md §JSON message format; types.go message: id, time, event, topic, title, message, priority, tags, click.
      // Our own fields (source: who published it) ride along after ntfy's, which its apps ignore.
      const ours = (m: Ntfy) => Object.keys(m).filter((k) => k === "source");
      expect(Object.keys(m1!)).toEqual(["id", "time", "event", "topic", "title", "message", "priority", "tags", "click", ...ours(m1!)]);
      expect(m1).toMatchObject({ id: id1, event: "message", topic: t1, title: "db1", message: "disk full", priority: 5, tags: ["warning", "skull"], click: "https://example.com/x" });
      // Empty fields are left out (omitempty).
      expect(Object.keys(m2!)).toEqual(["id", "time", "event", "topic", "message", ...ours(m2!)]);
      expect(m2).toMatchObject({ id: id2, topic: t2, message: "plain" });
      s.close();
    });

    test("a GitHub-style channel owner/repo is served at /owner/repo/json (the last segment is the verb)", async () => {
      const repo = `${topic("octo")}/hello`;
      const s = await Lines.open(`${web.url}/${repo}/json?since=all`);
      await s.waitFor("open", () => s.events.length >= 1);
      await Bun.sleep(300);
      await publishTo(web, repo, "pushed");
      await s.waitFor("the message", () => s.messages().length === 1);
      expect(s.messages()[0]).toMatchObject({ topic: repo, message: "pushed" });
      expect(s.events[0]).toMatchObject({ event: "open", topic: repo });
      s.close();
    });

    test("since=all: open, then the cached messages of every topic merged in time order, then live ones (api.md §Fetch cached messages)", async () => {
      const [t1, t2] = [topic("c"), topic("d")];
      const ids = [];
      for (const [t, m] of [[t1, "1"], [t2, "2"], [t1, "3"], [t2, "4"]] as const) ids.push(await publishTo(web, t, m));
      const s = await Lines.open(`${web.url}/${t1},${t2}/json?since=all`);
      await s.waitFor("four cached messages", () => s.messages().length === 4);
      expect(s.events[0]!.event).toBe("open");
      expect(s.messages().map((m) => m.message)).toEqual(["1", "2", "3", "4"]);
      expect(s.messages().map((m) => m.id)).toEqual(ids);
      const live = await publishTo(web, t2, "5");
      await s.waitFor("the live one", () => s.messages().length === 5);
      expect(s.messages()[4]!.id).toBe(live);
      s.close();
    });

    test("since=<id>: everything after it on every topic of the stream; an id this server never gave (ntfy's 12 characters): everything cached", async () => {
      const [t1, t2] = [topic("e"), topic("f")];
      const a = await publishTo(web, t1, "a");
      await publishTo(web, t2, "b");
      await publishTo(web, t1, "c");
      const after = await Lines.open(`${web.url}/${t1},${t2}/json?since=${a}`);
      await after.waitFor("two", () => after.messages().length === 2);
      expect(after.messages().map((m) => m.message)).toEqual(["b", "c"]);
      const unknown = await Lines.open(`${web.url}/${t1},${t2}/json?poll=1&since=sPs71M8A2T12`);
      await unknown.waitFor("the end of the poll", () => unknown.done);
      expect(unknown.messages().map((m) => m.message)).toEqual(["a", "b", "c"]);
      after.close();
    });

    test("since=latest: the newest message of each topic (api.md §Fetch latest message), streaming and polling", async () => {
      const [t1, t2] = [topic("g"), topic("h")];
      for (const [t, m] of [[t1, "old1"], [t1, "new1"], [t2, "old2"], [t2, "new2"]] as const) await publishTo(web, t, m);
      const poll = await Lines.open(`${web.url}/${t1},${t2}/json?poll=1&since=latest`);
      await poll.waitFor("end", () => poll.done);
      expect(poll.messages().map((m) => m.message)).toEqual(["new1", "new2"]);
      const s = await Lines.open(`${web.url}/${t1},${t2}/json?since=latest`);
      await s.waitFor("two", () => s.messages().length === 2);
      expect(s.messages().map((m) => m.message)).toEqual(["new1", "new2"]);
      s.close();
    });

    test("since=<unix time> and since=<duration> (10m, 1h30m): messages from then on; anything else 40008", async () => {
      const t = topic("i");
      await publishTo(web, t, "recent");
      const now = Math.floor(Date.now() / 1000);
      for (const since of [String(now - 60), "10m", "1h30m", "100000ms"]) {
        const p = await Lines.open(`${web.url}/${t}/json?poll=1&since=${since}`);
        await p.waitFor("end", () => p.done);
        expect(p.messages().map((m) => m.message)).toEqual(["recent"]);
      }
      const future = await Lines.open(`${web.url}/${t}/json?poll=1&since=${now + 3600}`);
      await future.waitFor("end", () => future.done);
      expect(future.messages()).toEqual([]);
    });

    test("poll=1: no open, no keepalive, the cached messages (since defaults to all), then the connection closes (api.md §Poll for messages)", async () => {
      const t = topic("j");
      await publishTo(web, t, "one");
      await publishTo(web, t, "two");
      for (const q of ["poll=1", "po=1", "poll=true", "poll=yes"]) {
        const p = await Lines.open(`${web.url}/${t}/json?${q}`);
        await p.waitFor("end", () => p.done);
        expect(p.events.map((e) => [e.event, e.message])).toEqual([
          ["message", "one"],
          ["message", "two"],
        ]);
      }
      const none = await Lines.open(`${web.url}/${t}/json?poll=1&since=none`);
      await none.waitFor("end", () => none.done);
      expect(none.lines).toEqual([]);
      // The header forms (readParam): X-Poll, X-Since.
      const h = await Lines.open(`${web.url}/${t}/json`, { "X-Poll": "1", "X-Since": "all" });
      await h.waitFor("end", () => h.done);
      expect(h.messages().length).toBe(2);
    });

    test("without since a stream sends no cached messages (since=none is the default when streaming); scheduled=1 is accepted", async () => {
      const t = topic("k");
      await publishTo(web, t, "before");
      const s = await Lines.open(`${web.url}/${t}/json?scheduled=1`);
      await s.waitFor("open", () => s.events.length >= 1);
      await Bun.sleep(300);
      await publishTo(web, t, "after");
      await s.waitFor("the live one", () => s.messages().length >= 1);
      expect(s.messages().map((m) => m.message)).toEqual(["after"]);
      const sched = await Lines.open(`${web.url}/${t}/json?poll=1&sched=1`);
      await sched.waitFor("end", () => sched.done);
      expect(sched.messages().map((m) => m.message)).toEqual(["before", "after"]);
      s.close();
    });

    test("filters (api.md §Filter messages; types.go queryFilter): priority any of (numbers or names, none counts as 3), tags all of, title, message, id; by query alias and header", async () => {
      const t = topic("l");
      const urgent = await publishTo(web, t, "fire", { priority: "5", tags: "a,b", title: "T1" });
      await publishTo(web, t, "meh", { priority: "2", tags: "a" });
      await publishTo(web, t, "normal");
      const poll = async (q: string, headers: Record<string, string> = {}) => {
        const p = await Lines.open(`${web.url}/${t}/json?poll=1&${q}`, headers);
        await p.waitFor("end", () => p.done);
        return p.messages().map((m) => m.message);
      };
      expect(await poll("priority=5,2")).toEqual(["fire", "meh"]);
      expect(await poll("p=urgent")).toEqual(["fire"]);
      expect(await poll("prio=default")).toEqual(["normal"]);
      expect(await poll("priority=3")).toEqual(["normal"]);
      expect(await poll("tags=a")).toEqual(["fire", "meh"]);
      expect(await poll("ta=a,b")).toEqual(["fire"]);
      expect(await poll("tag=b,c")).toEqual([]);
      expect(await poll("title=T1")).toEqual(["fire"]);
      expect(await poll("t=T1")).toEqual(["fire"]);
      expect(await poll("message=meh")).toEqual(["meh"]);
      expect(await poll("m=normal")).toEqual(["normal"]);
      expect(await poll(`id=${urgent}`)).toEqual(["fire"]);
      expect(await poll("", { "X-Priority": "low", "X-Tags": "a" })).toEqual(["meh"]);
      expect(await poll("", { "X-Title": "T1", "X-Message": "fire" })).toEqual(["fire"]);
      expect(await poll("", { "X-ID": urgent })).toEqual(["fire"]);
      // Live messages pass the same filters; open and keepalive always pass.
      const s = await Lines.open(`${web.url}/${t}/json?priority=high`);
      await s.waitFor("open", () => s.events.length >= 1);
      await Bun.sleep(300);
      await publishTo(web, t, "low one", { priority: "1" });
      await publishTo(web, t, "high one", { priority: "4" });
      await s.waitFor("the high one", () => s.messages().length >= 1);
      expect(s.messages().map((m) => m.message)).toEqual(["high one"]);
      s.close();
    });

    test("keepalive every --keepalive seconds, carrying the path's topics (api.md §Subscribe as JSON stream)", async () => {
      const [t1, t2] = [topic("m"), topic("n")];
      const s = await Lines.open(`${web.url}/${t1},${t2}/json`);
      await s.waitFor("a keepalive", () => s.events.some((e) => e.event === "keepalive"));
      const k = s.events.find((e) => e.event === "keepalive")!;
      expect(Object.keys(k)).toEqual(["id", "time", "event", "topic"]);
      expect(k.topic).toBe(`${t1},${t2}`);
      s.close();
    });

    test("GET /<topics>/sse: data: lines for messages, an event: line first for the others (api.md §Subscribe as SSE stream; server.go handleSubscribeSSE)", async () => {
      const t = topic("o");
      const s = await Lines.open(`${web.url}/${t}/sse`);
      expect(s.response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      await s.waitFor("open", () => s.lines.length >= 3);
      expect(s.lines[0]).toBe("event: open");
      expect(JSON.parse(s.lines[1]!.replace(/^data: /, ""))).toMatchObject({ event: "open", topic: t });
      expect(s.lines[2]).toBe("");
      await Bun.sleep(300);
      const id = await publishTo(web, t, "two\nlines");
      await s.waitFor("the message", () => s.lines.some((l) => l.includes(`"id":"${id}"`)));
      const at = s.lines.findIndex((l) => l.includes(`"id":"${id}"`));
      expect(s.lines[at]!.startsWith("data: {")).toBe(true);
      expect(s.lines[at - 1]).toBe(""); // no event: line before a message
      expect(JSON.parse(s.lines[at]!.slice(6))).toMatchObject({ event: "message", message: "two\nlines" });
      await s.waitFor("a keepalive", () => s.lines.includes("event: keepalive"));
      s.close();
    });

    test("GET /<topics>/raw: a message's text on one line, newlines as spaces; an empty line for every other event (api.md §Subscribe as raw stream)", async () => {
      const t = topic("p");
      const s = await Lines.open(`${web.url}/${t}/raw`);
      expect(s.response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      await s.waitFor("open's empty line", () => s.lines.length >= 1);
      expect(s.lines[0]).toBe("");
      await Bun.sleep(300);
      await publishTo(web, t, "two\nlines");
      await s.waitFor("the message", () => s.lines.includes("two lines"));
      await s.waitFor("a keepalive's empty line", () => s.lines.lastIndexOf("") > s.lines.indexOf("two lines"));
      const p = await Lines.open(`${web.url}/${t}/raw?poll=1`);
      await p.waitFor("end", () => p.done);
      expect(p.lines).toEqual(["two lines"]);
      s.close();
    });

    test("GET /<topics>/ws: JSON text frames, open first; the keepalive is a ping frame, not an event (api.md §WebSockets; server.go handleSubscribeWS)", async () => {
      const [t1, t2] = [topic("q"), topic("r")];
      const cached = await publishTo(web, t1, "cached");
      const ws = await RawWs.open(web.url, `/${t1},${t2}/ws?since=all`);
      expect(ws.status).toBe("HTTP/1.1 101 Switching Protocols");
      await until("open and the cached message", () => ws.texts.length >= 2);
      expect(ws.events[0]).toMatchObject({ event: "open", topic: `${t1},${t2}` });
      expect(ws.events[1]).toMatchObject({ id: cached, event: "message", message: "cached" });
      const live = await publishTo(web, t2, "live", { priority: "4" });
      await until("the live message", () => ws.events.some((e) => e.id === live));
      await until("a ping", () => ws.pings >= 1);
      expect(ws.events.some((e) => e.event === "keepalive")).toBe(false);
      ws.close();
      // poll=1 over a WebSocket: the cached messages, then the server closes it.
      const poll = await RawWs.open(web.url, `/${t1},${t2}/ws?poll=1`);
      await until("the close", () => poll.closeCode !== null);
      expect(poll.events.map((e) => e.message)).toEqual(["cached", "live"]);
    });

    test("Bun's own WebSocket client (as ntfy's web app uses the browser's) gets the same frames", async () => {
      const t = topic("s");
      const got: Ntfy[] = [];
      const ws = new WebSocket(`${web.url.replace("http", "ws")}/${t}/ws`);
      ws.onmessage = (e) => got.push(JSON.parse(String(e.data)) as Ntfy);
      await until("open", () => got.length >= 1);
      expect(got[0]!.event).toBe("open");
      await Bun.sleep(300);
      await publishTo(web, t, "hi");
      await until("the message", () => got.some((e) => e.message === "hi"));
      ws.close();
    });

    test("GET /<topics>/auth: {\"success\":true} (api.md §Authentication; server.go handleTopicAuth)", async () => {
      const r = await fetch(`${web.url}/${topic("u")},${topic("v")}/auth`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("application/json");
      expect(await r.text()).toBe('{"success":true}\n');
    });

    test("ntfy's Android app's session, replayed: /<t1>,<t2>/json?since=none, the web server killed and restarted, since=<last id seen> brings exactly what was missed, none twice; then poll=1&since=all and /auth", async () => {
      const [t1, t2] = [topic("droid1"), topic("droid2")];
      // 1. What the app opens (service/JsonConnection.kt): both topics on one connection, nothing cached.
      const first = await Lines.open(`${web.url}/${t1},${t2}/json?since=none`);
      await first.waitFor("open", () => first.events.length >= 1);
      await Bun.sleep(300);
      const seen = [await publishTo(web, t1, "s1"), await publishTo(web, t2, "s2"), await publishTo(web, t1, "s3")];
      await first.waitFor("three", () => first.messages().length === 3);
      expect(first.messages().map((m) => m.id)).toEqual(seen);
      // 2. The web server is killed; messages are published through another web server meanwhile.
      const port = web.port;
      web.proc.kill("SIGKILL");
      await web.proc.exited;
      await first.waitFor("the stream to end", () => first.done);
      const other = await startWebServer(backend.url);
      const missed = [await publishTo(other, t2, "m1"), await publishTo(other, t1, "m2"), await publishTo(other, t2, "m3")];
      await other.stop();
      web = await startWebServer(backend.url, ["--keepalive", "1"]);
      expect(web.port).not.toBe(port);
      // 3. The app reconnects with the last id it saw, across both topics.
      const last = first.messages().at(-1)!.id;
      const again = await Lines.open(`${web.url}/${t1},${t2}/json?since=${last}`);
      await again.waitFor("the missed ones", () => again.messages().length >= 3);
      await Bun.sleep(300);
      const after = await publishTo(web, t1, "live again");
      await again.waitFor("the live one", () => again.messages().some((m) => m.id === after));
      expect(again.messages().map((m) => m.id)).toEqual([...missed, after]);
      again.close();
      // 4. A poll (the app's PollWorker) and the auth check (ApiService.checkAuth).
      const poll = await Lines.open(`${web.url}/${t1},${t2}/json?poll=1&since=all`);
      await poll.waitFor("end", () => poll.done);
      expect(poll.messages().map((m) => m.id)).toEqual([...seen, ...missed, after]);
      expect(await (await fetch(`${web.url}/${t1}/auth`)).json()).toEqual({ success: true });
    }, 60_000);
  });
}

subscribeSuite("Notistream's pub/sub server", [], async () => {
  const p = await startPubSub();
  return { url: `redis://127.0.0.1:${p.port}`, stop: p.stop };
});
subscribeSuite("a real redis-server", ["redis-server"], async () => {
  const r = await startRedis();
  return { url: `redis://127.0.0.1:${r.port}`, stop: r.stop };
});
subscribeSuite("a Redis Cluster", CLUSTER_NEEDS, async () => {
  const c = await startCluster();
  return { url: c.url, stop: c.stop };
});

describe("errors in ntfy's shape, rights, the visitor's share, CORS and --keepalive (server/errors.go, server.go handleOptions)", () => {
  let pubsub: Running;
  let open: Web;
  let locked: Web;
  let limited: Web;
  const ACL = [
    "user default on nopass %R&pub* +@all",
    `user alice on #${sha("alice-pw")} &* +@all`,
    `user bob on #${sha("bob-pw")} %R&bob* +@all`,
  ].join("\n");
  beforeAll(async () => {
    pubsub = await startPubSub();
    const redis = `redis://127.0.0.1:${pubsub.port}`;
    const file = tempPath("ntfy.acl");
    writeFileSync(file, ACL + "\n");
    [open, locked, limited] = await Promise.all([
      startWebServer(redis),
      startWebServer(redis, ["--acl", file]),
      startWebServer(redis, ["--trust-proxy", "--max-streams-per-visitor", "1", "--rate-limit", "2"]),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([open?.stop(), locked?.stop(), limited?.stop()]);
    await pubsub?.stop();
  });

  const ntfyError = async (r: Response, code: number, status: number) => {
    expect(r.status).toBe(status);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
    const body = (await r.json()) as { code: number; http: number; error: string; link?: string };
    expect(Object.keys(body).slice(0, 3)).toEqual(["code", "http", "error"]);
    expect(body.code).toBe(code);
    expect(body.http).toBe(status);
    return body;
  };

  test("a bad since is 40008, with ntfy's link (api.md §Fetch cached messages)", async () => {
    const body = await ntfyError(await fetch(`${open.url}/t/json?since=yesterday`), 40008, 400);
    expect(body.error).toContain("invalid since parameter");
    expect(body.error).toContain('"yesterday"');
    expect(body.link).toBe("https://ntfy.sh/docs/subscribe/api/#fetch-cached-messages");
    await ntfyError(await fetch(`${open.url}/t/sse`, { headers: { "X-Since": "1.5.5" } }), 40008, 400);
  });

  test("a bad priority filter is 40007; a bad topic (a glob, a reserved name, a control character) is 40009", async () => {
    await ntfyError(await fetch(`${open.url}/t/json?priority=9`), 40007, 400);
    await ntfyError(await fetch(`${open.url}/t/raw`, { headers: { "X-Priority": "loud" } }), 40007, 400);
    for (const path of ["/a*/json", "/notistream:push/json", "/a%0Ab/json", "/,/json"]) await ntfyError(await fetch(`${open.url}${path}`), 40009, 400);
  });

  test("Cloudflare's RFC 9218 Priority: u=3, i header is no priority filter (util.go maybeIgnoreSpecialHeader)", async () => {
    for (const value of ["u=3, i", "u=1", "u=5,i"]) {
      const r = await fetch(`${open.url}/t/json?poll=1`, { headers: { priority: value } });
      expect(r.status).toBe(200);
      await r.text();
    }
    await ntfyError(await fetch(`${open.url}/t/json?poll=1`, { headers: { priority: "u=3, x" } }), 40007, 400);
  });

  test("/ws without Upgrade: websocket is 40016 (server.go handleSubscribeWS)", async () => {
    await ntfyError(await fetch(`${open.url}/t/ws`), 40016, 400);
  });

  test("read rights on every topic, checked before anything: anonymous 40101, a user without them 40301, on every route and /auth; with them, {success:true}", async () => {
    for (const verb of ["json", "sse", "raw", "ws", "auth"]) {
      await ntfyError(await fetch(`${locked.url}/secret/${verb}`), 40101, 401);
      // One topic it may not read is enough to refuse the lot.
      await ntfyError(await fetch(`${locked.url}/pubx,secret/${verb}`), 40101, 401);
      await ntfyError(await fetch(`${locked.url}/secret/${verb}`, { headers: { authorization: basic("bob", "bob-pw") } }), 40301, 403);
      // Checked before the parameters: a bad since on a topic one may not read is still a 401.
      await ntfyError(await fetch(`${locked.url}/secret/${verb}?since=bad`), 40101, 401);
    }
    const r = await fetch(`${locked.url}/secret/json?poll=1`);
    expect(r.headers.get("www-authenticate")).toBeNull(); // ntfy sends no challenge
    expect(await (await fetch(`${locked.url}/pubx,pub2/auth`)).json()).toEqual({ success: true });
    expect(await (await fetch(`${locked.url}/bobs,bobx/auth`, { headers: { authorization: basic("bob", "bob-pw") } })).json()).toEqual({ success: true });
    expect(await (await fetch(`${locked.url}/secret/auth`, { headers: { authorization: basic("alice", "alice-pw") } })).json()).toEqual({ success: true });
    // A wrong password is 40101 too.
    await ntfyError(await fetch(`${locked.url}/pubx/json`, { headers: { authorization: basic("alice", "nope") } }), 40101, 401);
  });

  test("an ACL reload that takes the right away ends the user's ntfy stream (as /events's)", async () => {
    const file = tempPath("ntfy-reload.acl");
    writeFileSync(file, ACL + "\n");
    const web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--acl", file]);
    try {
      const s = await Lines.open(`${web.url}/bobsnews/json`, { authorization: basic("bob", "bob-pw") });
      await s.waitFor("open", () => s.events.length >= 1);
      writeFileSync(file, ACL.replace("%R&bob*", "%R&other*") + "\n");
      web.proc.kill("SIGHUP");
      await s.waitFor("the stream to end", () => s.done);
      await ntfyError(await fetch(`${web.url}/bobsnews/json`, { headers: { authorization: basic("bob", "bob-pw") } }), 40301, 403);
    } finally {
      await web.stop();
    }
  });

  test("a visitor past its share of streams gets 42903 (ntfy's visitor-subscription-limit); the rate limit is 42901", async () => {
    const visitor = { "x-forwarded-for": "203.0.113.7" };
    const s = await Lines.open(`${limited.url}/t/json`, visitor);
    await s.waitFor("open", () => s.events.length >= 1);
    const body = await ntfyError(await fetch(`${limited.url}/u/json`, { headers: visitor }), 42903, 429);
    expect(body.error).toContain("limit reached: too many active subscriptions");
    s.close();
    const other = { "x-forwarded-for": "203.0.113.8" };
    let limitedAnswer: Response | null = null;
    for (let i = 0; i < 20 && !limitedAnswer; i++) {
      const r = await fetch(`${limited.url}/t/auth`, { headers: other });
      if (r.status === 429) limitedAnswer = r;
    }
    expect(limitedAnswer).not.toBeNull();
    await ntfyError(limitedAnswer!, 42901, 429);
    expect(limitedAnswer!.headers.get("retry-after")).not.toBeNull();
  });

  test("CORS as ntfy sends it: Access-Control-Allow-Origin: * on ntfy's routes, and OPTIONS answered with its methods and headers; our own routes send none", async () => {
    const origin = { origin: "https://elsewhere.example" };
    const pre = await fetch(`${open.url}/t/json`, { method: "OPTIONS", headers: { ...origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization" } });
    expect(pre.status).toBe(200);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    expect(pre.headers.get("access-control-allow-methods")).toBe("GET, PUT, POST, PATCH, DELETE");
    expect(pre.headers.get("access-control-allow-headers")).toBe("*");
    const poll = await fetch(`${open.url}/t/json?poll=1`, { headers: origin });
    expect(poll.headers.get("access-control-allow-origin")).toBe("*");
    await poll.text();
    // Our own routes and the app's keep no CORS at all (docs/security.md).
    const ours = await fetch(`${open.url}/`, { method: "OPTIONS", headers: { ...origin, "access-control-request-method": "PUT" } });
    expect(ours.headers.get("access-control-allow-origin")).toBeNull();
    const events = await fetch(`${open.url}/messages?channel=t`, { headers: origin });
    expect(events.headers.get("access-control-allow-origin")).toBeNull();
    // POST /a/json is a publish to the channel named a/json, not an ntfy route.
    const published = await post(`${open.url}/`, { channel: "a/json", message: "x" });
    expect(published.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("--keepalive and its env twin NOTISTREAM_KEEPALIVE show in --help with ntfy's 45 s default, and the start-up log says it", async () => {
    const help = await run([BUN, `${ROOT}/web.ts`, "--help"]);
    expect(help.stdout).toMatch(/--keepalive <value>[^\n]*\(env NOTISTREAM_KEEPALIVE, default 45\)/);
    expect(open.output()).toContain("send a keepalive every 45 s");
    const bad = await run([BUN, `${ROOT}/web.ts`, "--keepalive", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--keepalive must be a whole number from 1 to 900");
    const env = await run([BUN, `${ROOT}/web.ts`, "--port", "0"], { env: { NOTISTREAM_KEEPALIVE: "soon" } });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain("--keepalive must be a whole number");
  });
});
