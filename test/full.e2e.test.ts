// test/full.e2e.test.ts — end to end: a pub/sub server whose --maxclients is filled by subscribers. The web server
// keeps publishing and delivering (it holds its connections, and a restarted one gets a reserved slot by logging
// in); anonymous connections past the limit are refused with Redis's error; an SSE stream without a hub says so.
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { Raw, post, startPubSub, startWebServer, tempPath, until, type Running } from "./helpers";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const opened: Raw[] = [];
afterAll(() => {
  for (const r of opened) r.close();
});

/** Opens `n` anonymous subscribers; returns how many the server kept (the rest got its refusal). */
async function fill(port: number, n: number): Promise<{ kept: Raw[]; refused: string[] }> {
  const kept: Raw[] = [];
  const refused: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await Raw.open(port);
    opened.push(r);
    r.command("SUBSCRIBE", `flood${i}`);
    await r.settle(20, 2000);
    const said = r.bytes().toString();
    if (said.startsWith("-ERR")) refused.push(said);
    else kept.push(r);
  }
  return { kept, refused };
}

/** Reads an SSE stream's text as it comes. */
function stream(url: string): { text: () => string; close: () => void } {
  const ctl = new AbortController();
  let text = "";
  void (async () => {
    const res = await fetch(url, { signal: ctl.signal });
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      text += new TextDecoder().decode(value);
    }
  })().catch(() => {});
  return { text: () => text, close: () => ctl.abort() };
}


/**
 * Opens an SSE stream on "alerts" at the web server `base`, POSTs `message` there once the stream is subscribed
 * (and `settleMs` more), checks it is answered 200 and arrives; returns what the stream received.
 */
async function deliveredThrough(base: string, message: string, settleMs: number): Promise<string> {
  const sse = stream(`${base}/events?channel=alerts`);
  try {
    await until("the SSE stream", () => sse.text().includes("subscribed to alerts"), 5000);
    await Bun.sleep(settleMs);
    expect((await post(base, { channel: "alerts", message })).status).toBe(200);
    await until(`"${message}" on the SSE stream`, () => sse.text().includes(message), 5000);
    return sse.text();
  } finally {
    sse.close();
  }
}

describe("a pub/sub server full of subscribers", () => {
  test("the web server keeps publishing and delivering; a restarted one gets a reserved slot; the rest are refused", async () => {
    const acl = tempPath("full.acl");
    // Anonymous readers (they may subscribe, not publish); the web server logs in as its own user.
    await Bun.write(acl, `user default on nopass allchannels ~* +@all -publish -xadd\nuser web on #${sha("web-pw")} allchannels ~* +@all\n`);
    const pubsub: Running = await startPubSub(["--acl", acl, "--maxclients", "20", "--reserved-clients", "4"]);
    const redis = `redis://web:web-pw@127.0.0.1:${pubsub.port}`;
    let web = await startWebServer(redis);
    try {
      await Bun.sleep(500); // the publisher and the hub connect at start, before anyone subscribes
      const flood = await fill(pubsub.port, 30);
      // 20 slots: the web server's 2 and 18 subscribers; the 4 reserved ones refuse anonymous subscribers too.
      expect(flood.kept.length).toBe(18);
      expect(flood.refused.length).toBe(12);
      expect(new Set(flood.refused)).toEqual(new Set(["-ERR max number of clients reached\r\n"]));

      await deliveredThrough(web.url, "still delivered", 300);

      // The web server goes away and subscribers take its two places at once; a web server started now, while
      // the server is full, logs in and takes reserved slots.
      await web.stop();
      await Bun.sleep(300);
      const more = await fill(pubsub.port, 4);
      expect(more.kept.length).toBe(2);
      expect(more.refused.length).toBe(2);
      web = await startWebServer(redis);
      expect(await deliveredThrough(web.url, "after a restart", 500)).not.toContain('"connected":false');
      // The subscribers kept their places all along.
      expect(flood.kept.every((k) => !k.closed)).toBe(true);
    } finally {
      await web.stop();
      await pubsub.stop();
    }
  }, 60_000);

  test("an open server that is full: POST / answers 503 and an SSE stream says its hub is not connected", async () => {
    const pubsub = await startPubSub(["--maxclients", "5"]);
    try {
      const flood = await fill(pubsub.port, 8);
      expect(flood.kept.length).toBe(5);
      const web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`);
      try {
        const sse = stream(`${web.url}/events?channel=alerts`);
        await until("the status event", () => sse.text().includes("event: status"), 10_000);
        expect(sse.text()).toContain('"connected":false');
        expect(sse.text()).toContain("max number of clients reached");
        const r = await post(web.url, { channel: "alerts", message: "nowhere to go" });
        expect(r.status).toBe(503);
        sse.close();
      } finally {
        await web.stop();
      }
    } finally {
      await pubsub.stop();
    }
  }, 60_000);
});
