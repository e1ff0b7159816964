// test/web_events.e2e.test.ts — end to end: HTTP subscriptions. SSE catch-up from Last-Event-ID is complete and in
// order, 1,000 SSE clients on one channel share one RESP subscription and all get the message, /messages pages
// through history, bad requests get clear 4xx errors, and a browser that leaves is cleaned up.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, connect } from "node:net";
import { Raw, freePort, post, publishOverHttp, startPubSub, startWebServer, until, type Running } from "./helpers";

let pubsub: Running;
let web: Running & { url: string };
beforeAll(async () => {
  pubsub = await startPubSub(["--maxclients", "5000"]);
  web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`);
});
afterAll(async () => {
  await web?.stop();
  await pubsub?.stop();
});

/** Publishes through the web server; the new message's id. */
const publish = async (channel: string, message: string): Promise<string> => (await publishOverHttp(web.url, { channel, message })).id;

/** An SSE reader over fetch: collects (id, data) events as they arrive. */
class Sse {
  events: { id?: string; data: string }[] = [];
  opened = false;
  private abort = new AbortController();
  static async open(path: string, headers: Record<string, string> = {}, base = web.url): Promise<Sse> {
    const s = new Sse();
    const r = await fetch(`${base}${path}`, { headers, signal: s.abort.signal });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/event-stream");
    void s.pump(r.body!);
    return s;
  }
  private async pump(body: ReadableStream<Uint8Array>) {
    const dec = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of body) {
        buf += dec.decode(chunk, { stream: true });
        let end: number;
        while ((end = buf.indexOf("\n\n")) !== -1) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          this.opened = true;
          let id: string | undefined;
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("id: ")) id = line.slice(4);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (data.length) this.events.push({ id, data: data.join("\n") });
        }
      }
    } catch {
      // aborted
    }
  }
  async waitFor(n: number, ms = 10000) {
    const until = Date.now() + ms;
    while (this.events.length < n) {
      if (Date.now() > until) throw new Error(`expected ${n} events, got ${this.events.length}`);
      await Bun.sleep(10);
    }
  }
  close() {
    this.abort.abort();
  }
}

async function numsub(channel: string): Promise<number> {
  const r = await Raw.open(pubsub.port);
  const n = ((await r.call("PUBSUB", "NUMSUB", channel)) as unknown[])[1] as number;
  r.close();
  return n;
}

/**
 * A TCP proxy to the pub/sub server that holds back, for `delayMs`, what a client sends from the first chunk that
 * matches `match` on: the hub's SUBSCRIBE arrives late while everything else passes at once.
 */
async function delayingProxy(target: number, match: RegExp, delayMs: number): Promise<{ port: number; close: () => void }> {
  const port = await freePort();
  const server = createServer((c) => {
    const up = connect(target, "127.0.0.1");
    let chain = Promise.resolve();
    let late = false;
    c.on("data", (d) => {
      const wait = !late && match.test(d.toString("latin1")) ? delayMs : 0;
      if (wait) late = true;
      chain = chain.then(() => Bun.sleep(wait)).then(() => void up.write(d));
    });
    up.on("data", (d) => c.write(d));
    c.on("close", () => up.destroy());
    up.on("close", () => c.destroy());
    c.on("error", () => {});
    up.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { port, close: () => server.close() };
}

describe("GET /events", () => {
  test("without Last-Event-ID, a message published after the stream opened arrives even if the hub subscribes late", async () => {
    const proxy = await delayingProxy(pubsub.port, /SUBSCRIBE/i, 1500);
    const slow = await startWebServer(`redis://127.0.0.1:${proxy.port}`);
    try {
      const before = await publish("late-hub", "published before the stream opened");
      const s = await Sse.open("/events?channel=late-hub", {}, slow.url);
      await until("the stream's first line", () => s.opened, 5000);
      // Published through the other web server while this one's SUBSCRIBE is still held back by the proxy.
      const after = await publish("late-hub", "published after the stream opened");
      await s.waitFor(1, 10_000);
      await Bun.sleep(300); // anything more would show now
      expect(s.events.map((e) => e.id)).toEqual([after]);
      expect(s.events.map((e) => e.id)).not.toContain(before);
      s.close();
    } finally {
      await slow.stop();
      proxy.close();
    }
  }, 20_000);

  test("Last-Event-ID replays exactly what came after it, in order, then goes live", async () => {
    const ids: string[] = [];
    for (let i = 1; i <= 20; i++) ids.push(await publish("replay", `r${i}`));
    const s = await Sse.open("/events?channel=replay", { "last-event-id": ids[4]! });
    await s.waitFor(15);
    expect(s.events.map((e) => e.id)).toEqual(ids.slice(5));
    expect(s.events.map((e) => JSON.parse(e.data).message)).toEqual(Array.from({ length: 15 }, (_, i) => `r${i + 6}`));
    const live = await publish("replay", "live one");
    await s.waitFor(16);
    expect(s.events[15]!.id).toBe(live);
    await Bun.sleep(100);
    expect(s.events.length).toBe(16); // no duplicates
    s.close();
    // ?since= does the same for clients that cannot set headers.
    const s2 = await Sse.open(`/events?channel=replay&since=${ids[18]}`);
    await s2.waitFor(2);
    expect(s2.events.map((e) => JSON.parse(e.data).message)).toEqual(["r20", "live one"]);
    s2.close();
  });

  test("1,000 concurrent SSE clients on one channel share one RESP subscription and all receive a message", async () => {
    // Raw sockets, not fetch: fetch caps connections per host, and a browser is one connection each anyway.
    const N = 1000;
    const text: string[] = new Array(N).fill("");
    const sockets: { end(): void }[] = [];
    const port = new URL(web.url).port;
    for (let i = 0; i < N; i++) {
      const idx = i;
      sockets.push(
        await Bun.connect({
          hostname: "127.0.0.1",
          port: Number(port),
          socket: {
            open(sock) {
              sock.write(`GET /events?channel=crowd HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
            },
            data(_sock, chunk) {
              text[idx] += Buffer.from(chunk).toString();
            },
          },
        }),
      );
    }
    const until = Date.now() + 20000;
    while (text.some((t) => !t.includes("subscribed to crowd")) && Date.now() < until) await Bun.sleep(20);
    expect(text.filter((t) => t.includes("subscribed to crowd")).length).toBe(N);
    expect(await numsub("crowd")).toBe(1);
    const health = await (await fetch(`${web.url}/health`)).json();
    expect(health.hub.connected).toBe(true);
    await Bun.sleep(200); // the shared SUBSCRIBE is confirmed
    await publish("crowd", "to everyone");
    const deadline = Date.now() + 20000;
    while (text.some((t) => !t.includes("to everyone")) && Date.now() < deadline) await Bun.sleep(20);
    const got = text.filter((t) => t.includes("to everyone")).length;
    console.log(`SSE fan-out: ${got} of ${N} clients received the message over 1 shared RESP subscription`);
    expect(got).toBe(N);
    for (const sock of sockets) sock.end();
    // Once the browsers are gone, the shared subscription is dropped too.
    const gone = Date.now() + 10000;
    while ((await numsub("crowd")) !== 0 && Date.now() < gone) await Bun.sleep(50);
    expect(await numsub("crowd")).toBe(0);
  }, 60000);

  test("bad requests get clear 4xx JSON errors", async () => {
    const cases: [string, RegExp][] = [
      ["/events", /missing "channel"/],
      ["/events?channel=a&since=yesterday", /must be a stream ID/],
      ["/messages", /missing "channel"/],
      ["/messages?channel=a&since=1-x", /must be a stream ID/],
      ["/messages?channel=a&limit=0", /limit must be a whole number from 1 to 1000/],
      ["/messages?channel=a&limit=5000", /limit must be a whole number from 1 to 1000/],
    ];
    for (const [path, pattern] of cases) {
      const r = await fetch(`${web.url}${path}`);
      expect(r.status).toBe(400);
      expect((await r.json()).error).toMatch(pattern);
    }
  });
});

describe("GET /messages", () => {
  test("recent messages as JSON, oldest first, paged with since and limit", async () => {
    const ids: string[] = [];
    for (let i = 1; i <= 8; i++) ids.push(await publish("poll", `p${i}`));
    const latest = await (await fetch(`${web.url}/messages?channel=poll&limit=3`)).json();
    expect(latest.map((m: { message: string }) => m.message)).toEqual(["p6", "p7", "p8"]);
    const page = await (await fetch(`${web.url}/messages?channel=poll&since=${ids[1]}&limit=2`)).json();
    expect(page.map((m: { id: string }) => m.id)).toEqual([ids[2], ids[3]]);
    expect(page[0]).toMatchObject({ channel: "poll", message: "p3", source: "form" });
  });
});

describe("operations", () => {
  test("GET /healthz checks the pub/sub server; GET /metrics counts publishes, requests, SSE streams and latency", async () => {
    expect(await (await fetch(`${web.url}/healthz`)).json()).toEqual({ ok: true, pubsub: "up" });
    const before = await (await fetch(`${web.url}/metrics`)).text();
    const count = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)`, "m").exec(text)?.[1] ?? "0");
    await publish("metered", "one");
    await publish("metered", "two");
    await post(web.url, { channel: "metered" }, { status: 400 });
    const s = await Sse.open("/events?channel=metered");
    await Bun.sleep(100);
    const during = await (await fetch(`${web.url}/metrics`)).text();
    expect(count(during, "notistream_messages_published_total") - count(before, "notistream_messages_published_total")).toBe(2);
    expect(during).toMatch(/^notistream_sse_streams [1-9]/m);
    expect(during).toMatch(/notistream_http_requests_total\{route="\/",code="400"\} \d+/);
    // Channels and stray paths share one label each, so nobody can grow the metrics by inventing paths.
    await post(`${web.url}/metered-by-path`, "hello");
    await post(`${web.url}/alertmanager/metered-alerts`, "{");
    await fetch(`${web.url}/wp-login.php`);
    const labelled = await (await fetch(`${web.url}/metrics`)).text();
    expect(labelled).toMatch(/notistream_http_requests_total\{route="\/<channel>",code="200"\} \d+/);
    expect(labelled).toMatch(/notistream_http_requests_total\{route="\/<channel>",code="404"\} \d+/);
    expect(labelled).toMatch(/notistream_http_requests_total\{route="\/alertmanager\/<channel>",code="400"\} \d+/);
    expect(labelled).not.toMatch(/metered-by-path|metered-alerts|wp-login/);
    expect(during).toMatch(/^notistream_publish_seconds_count \d+/m);
    expect(during).toContain("# TYPE notistream_publish_seconds histogram");
    s.close();
    const until = Date.now() + 5000;
    let after = "";
    while (Date.now() < until) {
      after = await (await fetch(`${web.url}/metrics`)).text();
      if (count(after, "notistream_sse_streams") === count(before, "notistream_sse_streams")) break;
      await Bun.sleep(50);
    }
    expect(count(after, "notistream_sse_streams")).toBe(count(before, "notistream_sse_streams"));
  });
});

describe("a hub that cannot subscribe says so", () => {
  test("wrong password: /healthz 503 with the reason, one log line, and /events tells the browser", async () => {
    const locked = await startPubSub(["--password", "right-pw"]);
    const bad = await startWebServer(`redis://:wrong-pw@127.0.0.1:${locked.port}`);
    try {
      const abort = new AbortController();
      const r = await fetch(`${bad.url}/events?channel=x`, { signal: abort.signal });
      expect(r.status).toBe(200);
      const reader = r.body!.getReader();
      let text = "";
      const deadline = Date.now() + 10000;
      while (!text.includes("event: status") && Date.now() < deadline) text += new TextDecoder().decode((await reader.read()).value);
      abort.abort();
      const status = /event: status\ndata: (.*)\n/.exec(text);
      expect(status).not.toBeNull();
      const body = JSON.parse(status![1]!);
      expect(body.connected).toBe(false);
      expect(body.error).toContain("WRONGPASS"); // Redis's own words, which name no address or user
      expect(body.error).not.toContain("127.0.0.1"); // where the pub/sub server is stays in the log (issue 22, Low)
      const health = await fetch(`${bad.url}/healthz`);
      expect(health.status).toBe(503);
      expect((await health.json()).error).not.toContain("WRONGPASS"); // the reason is in the log (below), not in answers (issue 22, Low)
      expect((await (await fetch(`${bad.url}/health`)).json()).hub.connected).toBe(false);
      // The hub tries again (in case the password is fixed on the server), but says so once, not on every try.
      await Bun.sleep(3000);
      const lines = bad.output().split("\n").filter((l) => l.includes("web: hub cannot subscribe"));
      expect(lines.length).toBe(1);
      expect(lines[0]).toContain("WRONGPASS");
      expect(bad.output()).not.toContain("wrong-pw");
    } finally {
      await bad.stop();
      await locked.stop();
    }
  }, 30000);
});
