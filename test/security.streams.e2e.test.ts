// test/security.streams.e2e.test.ts — issue 22's findings on what the web server streams and reads, end to end on real
// servers: frames a channel name or a payload must not write, forged envelopes over RESP, SSE output limits and
// backpressure against clients that never read, costly and out-of-grant globs, /messages over many channels, an
// out-of-range since, and streams closed when their user's rights go. One node, and a Redis Cluster.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { Raw, needs, publishOverHttp, run, startPubSub, startWebServer, tempPath, until, BUN, ROOT, type Running } from "./helpers";
import { CLUSTER_NEEDS, startCluster, type Cluster } from "./cluster";
import { rssBytes } from "../bench/procstat";
import { SseParser, type SseEvent } from "../sse";
import { closeRevokedStreams, eventStream } from "../web_events";
import { compareIds } from "../message";
import { Hub } from "../web_hub";
import { Publisher } from "../web_publisher";
import { writeFileSync } from "node:fs";

type Web = Running & { url: string };
type Env = { id: string; channel: string; message: string; plain?: true };

/** An SSE reader over fetch: every event as the SSE parser reads it, and the raw text. */
class Stream {
  events: SseEvent[] = [];
  text = "";
  status = 0;
  ended = false;
  private readonly abort = new AbortController();
  static async open(url: string, headers: Record<string, string> = {}): Promise<Stream> {
    const s = new Stream();
    const r = await fetch(url, { headers, signal: s.abort.signal });
    s.status = r.status;
    if (r.status !== 200) {
      s.text = await r.text();
      s.ended = true;
      return s;
    }
    void s.pump(r.body!);
    await until("the stream's opening comment", () => s.text.includes(": subscribed to"), 10_000);
    return s;
  }
  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const parser = new SseParser();
    const dec = new TextDecoder();
    try {
      for await (const chunk of body) {
        this.text += dec.decode(chunk, { stream: true });
        this.events.push(...parser.push(chunk));
      }
    } catch {
      // aborted
    }
    this.ended = true;
  }
  /** The message events' envelopes. */
  get messages(): Env[] {
    return this.events.filter((e) => e.event === "message").map((e) => JSON.parse(e.data) as Env);
  }
  close(): void {
    this.abort.abort();
  }
}

/** Publishes through the web server; the new message's id. */
const publish = async (base: string, channel: string, message: string): Promise<string> => (await publishOverHttp(base, { channel, message })).id;
const metric = async (base: string, name: string): Promise<number> => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(await (await fetch(`${base}/metrics`)).text())?.[1]);

/** Waits until an async check holds, or fails naming `what`. */
async function eventually(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

/** A raw TCP client that asks for `path` and then never reads a byte: its kernel buffers fill, then the server's. */
function stalled(port: number, path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
      s.pause();
      resolve(s);
    });
    s.on("error", reject);
  });
}

/** XADDs entries straight into a channel's history on one node, pipelined; returns their IDs in order. */
async function fill(raw: Raw, channel: string, count: number, message: (i: number) => string): Promise<string[]> {
  for (let i = 0; i < count; i++) raw.command("XADD", `notistream:${channel}`, "*", "time", "1700000000", "channel", channel, "message", message(i));
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await raw.reply(30_000);
    ids.push(Buffer.from((r as { value: Uint8Array }).value).toString());
  }
  return ids;
}

let pubsub: Running;
let web: Web;
let raw: Raw;
/** The hub holds `channel`: a message published from now on reaches the streams on it. */
const hubHolds = (channel: string) => eventually(`the hub on ${channel}`, async () => ((await raw.call("PUBSUB", "NUMSUB", channel)) as [string, number])[1] >= 1);
const byId = (ids: string[]) => [...ids].sort(compareIds);
beforeAll(async () => {
  pubsub = await startPubSub(["--maxclients", "2000"]);
  web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--rate-limit", "0"]);
  raw = await Raw.open(pubsub.port);
}, 30_000);
afterAll(async () => {
  raw?.close();
  await web?.stop();
  await pubsub?.stop();
});

describe("High 4: a channel name cannot write SSE frames", () => {
  test("CR, LF, CRLF or NUL in a name on /events: refused, or a stream whose opening writes no event and no id", async () => {
    for (const nl of ["%0A", "%0D", "%0D%0A", "%00"]) {
      const name = `news${nl}id:%209-9${nl}data:%20%7B%22message%22%3A%22forged%22%7D${nl}${nl}`;
      const r = await fetch(`${web.url}/events?channel=${name}`, { signal: AbortSignal.timeout(3000) }).catch(() => null);
      if (r && r.status === 200) {
        const reader = r.body!.getReader();
        const first = await reader.read();
        await reader.cancel();
        const events = new SseParser().push(first.value!);
        expect(events).toEqual([]);
      } else expect(r?.status).toBe(400);
    }
  });
});

describe("High 5: forged envelopes over RESP", () => {
  test("an id with a line break injects nothing: the payload arrives as plain text, with no id", async () => {
    const s = await Stream.open(`${web.url}/events?channel=forge/a`);
    await hubHolds("forge/a");
    const forged = JSON.stringify({ id: "1-0\nevent: status\ndata: {\"connected\":true}\n\nid: 9-9", time: 1, channel: "forge/a", message: "forged" });
    await raw.call("PUBLISH", "forge/a", forged);
    const realId = await publish(web.url, "forge/a", "real");
    await until("both messages", () => s.messages.length >= 2);
    expect(s.events.filter((e) => e.event !== "message")).toEqual([]);
    expect(s.messages.map((m) => [m.message, m.id])).toEqual([[forged, ""], ["real", realId]]);
    expect(s.events[0]!.id).toBeUndefined();
    s.close();
  });

  test("a non-numeric id does not tear down the shared subscription: every stream still gets what follows", async () => {
    const streams = await Promise.all([1, 2, 3].map(() => Stream.open(`${web.url}/events?channel=forge/c`)));
    const glob = await Stream.open(`${web.url}/events?channel=forge/*`);
    await hubHolds("forge/c");
    const probe = await publish(web.url, "forge/c", "probe");
    for (const s of [...streams, glob]) await until("the probe", () => s.messages.some((m) => m.id === probe));
    for (const id of ["abc", "1-x", "-", "1-2-3", ""]) await raw.call("PUBLISH", "forge/c", JSON.stringify({ id, time: 1, channel: "forge/c", message: `bad ${id}` }));
    const realId = await publish(web.url, "forge/c", "after");
    for (const s of [...streams, glob]) {
      await until("the real message", () => s.messages.some((m) => m.id === realId));
      expect(s.messages.filter((m) => m.id !== "").map((m) => m.message)).toEqual(["probe", "after"]);
      expect(s.messages.filter((m) => m.plain).length).toBe(5);
      s.close();
    }
  });

  test("a huge or unknown id does not blind the channel: later real messages still arrive", async () => {
    const s = await Stream.open(`${web.url}/events?channel=forge/d`);
    await hubHolds("forge/d");
    for (const id of ["99999999999999999999-0", "18446744073709551615-18446744073709551615", "9999999999999-0"])
      await raw.call("PUBLISH", "forge/d", JSON.stringify({ id, time: 1, channel: "forge/d", message: "blind" }));
    const realId = await publish(web.url, "forge/d", "still here");
    await until("the real message", () => s.messages.some((m) => m.id === realId));
    expect(s.messages.map((m) => [m.id, m.plain ?? false])).toEqual([["", true], ["", true], ["", true], [realId, false]]);
    s.close();
  });

  test("the channel is the frame's: a payload naming another channel shows on the one it came on", async () => {
    const alerts = await Stream.open(`${web.url}/events?channel=forge/alerts`);
    const team = await Stream.open(`${web.url}/events?channel=forge/team`);
    await hubHolds("forge/alerts");
    await hubHolds("forge/team");
    const realId = await publish(web.url, "forge/team", "team's own");
    await until("team's own", () => team.messages.length === 1);
    // A payload copying a real entry of forge/team's history, but claiming forge/alerts.
    await raw.call("PUBLISH", "forge/team", JSON.stringify({ id: realId, time: 1, channel: "forge/alerts", message: "spoofed" }));
    await raw.call("PUBLISH", "forge/team", JSON.stringify({ id: "1-1", time: 1, channel: "forge/alerts", message: "spoofed too" }));
    await until("the second forgery", () => team.messages.length === 2);
    expect(team.messages.every((m) => m.channel === "forge/team")).toBe(true);
    expect(alerts.messages).toEqual([]);
    alerts.close();
    team.close();
  });

  test("a payload naming a real id gets history's copy, not the payload's text; order behind a check is kept", async () => {
    const keep = await Stream.open(`${web.url}/events?channel=forge/e`); // keeps the hub on forge/e
    await hubHolds("forge/e");
    const realId = await publish(web.url, "forge/e", "the real text");
    await until("the real message", () => keep.messages.length === 1);
    const s = await Stream.open(`${web.url}/events?channel=forge/e`); // opened after it: has not seen realId
    await raw.call("PUBLISH", "forge/e", JSON.stringify({ id: realId, time: 1, channel: "forge/e", message: "FORGED", title: "forged title" }));
    await raw.call("PUBLISH", "forge/e", "plain right behind it");
    await until("both", () => s.messages.length === 2);
    expect(s.messages.map((m) => m.message)).toEqual(["the real text", "plain right behind it"]);
    expect(s.messages[0]!.id).toBe(realId);
    expect(JSON.stringify(s.messages)).not.toContain("forged");
    keep.close();
    s.close();
  });
});

describe("Low: an out-of-range since is a 400, not a 503", () => {
  test.each(["99999999999999999999-0", "18446744073709551616-0", "0-18446744073709551616"])("since=%s", async (since) => {
    for (const path of [`/events?channel=x&since=${since}`, `/messages?channel=x&since=${since}`, `/messages?channel=x&before=${since}`]) {
      const r = await fetch(`${web.url}${path}`);
      expect({ path, status: r.status }).toEqual({ path, status: 400 });
      expect(((await r.json()) as { error: string }).error).toContain("18446744073709551615");
    }
    const r = await fetch(`${web.url}/events?channel=x`, { headers: { "last-event-id": since } });
    expect(r.status).toBe(400);
  });
});

describe("High 7 and Medium 7: a large history, clients that never read, and /messages over a glob", () => {
  const CHANNELS = 20;
  const PER = 400;
  const body = (ch: number, i: number) => `${String(ch).padStart(2, "0")}:${String(i).padStart(4, "0")}:` + "x".repeat(8000);
  let ids: string[][] = [];
  beforeAll(async () => {
    // 20 channels x 400 entries x 8 KB = 64 MB of history behind one glob.
    ids = [];
    for (let c = 0; c < CHANNELS; c++) ids.push(await fill(raw, `big/${c}`, PER, (i) => body(c, i)));
  }, 120_000);

  test("6 streams that never read a history replay through a glob: the web server's memory stays bounded, others are served", async () => {
    const open = await metric(web.url, "notistream_sse_streams");
    const before = rssBytes(web.proc.pid);
    const stuck = await Promise.all(Array.from({ length: 6 }, () => stalled(web.port, "/events?channel=big/*&since=0-0")));
    await eventually("6 more streams", async () => (await metric(web.url, "notistream_sse_streams")) === open + 6);
    // Long enough for an unbounded replay to read everything (it did in well under this).
    let peak = 0;
    for (let i = 0; i < 30; i++) {
      await Bun.sleep(100);
      peak = Math.max(peak, rssBytes(web.proc.pid));
    }
    const grew = peak - before;
    console.log(`6 stalled glob replays of 64 MB of history: the web server grew ${(grew / 2 ** 20).toFixed(1)} MB`);
    expect(grew).toBeLessThan(150 * 1024 * 1024); // the replay holds pages, not 6 x 64 MB of history
    // A client that reads gets the whole history, in ID order, while the others stall.
    const reader = await Stream.open(`${web.url}/events?channel=big/*&since=0-0`);
    await until("the whole history", () => reader.messages.length >= CHANNELS * PER, 60_000);
    // An ID is unique within its channel only: two channels' XADDs in one millisecond both get <ms>-0.
    const got = reader.messages.map((m) => `${m.id} ${m.channel}`);
    expect(got.length).toBe(CHANNELS * PER);
    expect(new Set(got).size).toBe(got.length);
    const want = ids.flatMap((list, c) => list.map((id) => `${id} big/${c}`));
    expect([...got].sort()).toEqual([...want].sort());
    const order = reader.messages.map((m) => m.id);
    expect(order).toEqual(byId(order));
    reader.close();
    const other = await Stream.open(`${web.url}/events?channel=elsewhere`);
    await publish(web.url, "elsewhere", "served");
    await until("the other client's message", () => other.messages.length === 1);
    other.close();
    for (const s of stuck) s.destroy();
  }, 120_000);

  test("a stream over the hard limit, or over the soft limit for too long, is closed; the rest go on (env twin)", async () => {
    for (const [limit, what] of [["1000000 0 0", "hard"], ["100000000 200000 1", "soft"]] as const) {
      const w = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--rate-limit", "0"], { NOTISTREAM_SSE_OUTPUT_LIMIT: limit });
      try {
        const stuck = await Promise.all(Array.from({ length: 3 }, () => stalled(w.port, "/events?channel=big/*&since=0-0")));
        const reading = await Stream.open(`${w.url}/events?channel=big/0`);
        await eventually("4 streams", async () => (await metric(w.url, "notistream_sse_streams")) === 4);
        // Live messages to stalled streams: held behind their replay, they count against the limits.
        for (let i = 0; i < 40; i++) ids[0]!.push(await publish(w.url, "big/0", `live ${i} ` + "y".repeat(30_000)));
        let left = 4;
        const end = Date.now() + 15_000;
        while (Date.now() < end && (left = await metric(w.url, "notistream_sse_streams")) > 1) await Bun.sleep(100);
        expect({ what, left }).toEqual({ what, left: 1 });
        await until("the reader's 40 live messages", () => reading.messages.filter((m) => m.message.startsWith("live")).length === 40, 20_000);
        expect(reading.ended).toBe(false);
        reading.close();
        for (const s of stuck) s.destroy();
      } finally {
        await w.stop();
      }
    }
  }, 90_000);

  test("/messages over a glob: 5 parallel requests for the newest 500 read pages, not every channel in full", async () => {
    const before = rssBytes(web.proc.pid);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, web.proc.exitCode === null ? rssBytes(web.proc.pid) : 0)), 20);
    let answers: { status: number; body: Env[] }[];
    try {
      answers = await Promise.all(Array.from({ length: 5 }, () => fetch(`${web.url}/messages?channel=big/*&limit=500`).then(async (r) => ({ status: r.status, body: (await r.json()) as Env[] }))));
    } finally {
      clearInterval(sampler);
    }
    const newest = byId(ids.flat()).slice(-500);
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.body.map((m) => m.id)).toEqual(newest);
    }
    console.log(`5 parallel /messages over 20 channels (64 MB of history), limit 500: the web server grew ${((peak - before) / 2 ** 20).toFixed(1)} MB`);
    expect(peak - before).toBeLessThan(250 * 1024 * 1024); // each reads ~1,000 entries (8 MB), not all 8,000 (64 MB)
    // Older pages with before=, oldest first, meeting the first page with no gap and no repeat.
    const older = (await (await fetch(`${web.url}/messages?channel=big/*&limit=500&before=${newest[0]}`)).json()) as Env[];
    const all = byId(ids.flat());
    expect(older.map((m) => m.id)).toEqual(all.slice(-1000, -500));
    const after = (await (await fetch(`${web.url}/messages?channel=big/*&limit=7&since=${all[100]}`)).json()) as Env[];
    expect(after.map((m) => m.id)).toEqual(all.slice(101, 108));
  }, 60_000);

  test("/messages reads at most 100 channels at once: a glob that stands for more gets a 400 naming the limit", async () => {
    for (let c = 0; c < 101; c++) await fill(raw, `many/${c}`, 1, () => `m${c}`);
    const r = await fetch(`${web.url}/messages?channel=many/*`);
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toContain("at most 100");
    // /events has no such cap: its catch-up reads a page at a time and waits for the client.
    const s = await Stream.open(`${web.url}/events?channel=many/*&since=0-0`);
    await until("101 messages", () => s.messages.length === 101);
    s.close();
  }, 30_000);
});

describe("Medium 4: globs from strangers", () => {
  let guarded: Web;
  beforeAll(async () => {
    const acl = tempPath("web.acl");
    writeFileSync(acl, "user default on nopass %R&public/* %R&room? -@all +@connection +subscribe +psubscribe\n");
    guarded = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--acl", acl, "--rate-limit", "0"]);
  });
  afterAll(async () => {
    await guarded?.stop();
  });
  const status = async (path: string) => {
    const r = await fetch(`${guarded.url}${path}`, { signal: AbortSignal.timeout(5000) });
    const s = r.status;
    await r.body?.cancel();
    return s;
  };

  test("a glob must lie inside the grant: anything that could match a channel outside it is refused", async () => {
    for (const glob of ["*", "p*", "public*", "publi?/*", "[p]ublic/*", "room*", "room[12]*", "?oom?"]) {
      expect({ glob, events: await status(`/events?channel=${encodeURIComponent(glob)}`) }).toEqual({ glob, events: 401 });
      expect({ glob, messages: await status(`/messages?channel=${encodeURIComponent(glob)}`) }).toEqual({ glob, messages: 401 });
    }
    for (const glob of ["public/*", "public/a*", "public/[ab]*", "public/?", "room?", "public/x"]) expect({ glob, events: await status(`/events?channel=${encodeURIComponent(glob)}`) }).toEqual({ glob, events: 200 });
  });

  test("costly globs and long lists are refused with the limit named", async () => {
    const why = async (path: string) => {
      const r = await fetch(`${guarded.url}${path}`);
      return { status: r.status, error: ((await r.json()) as { error: string }).error };
    };
    const stars = await why(`/events?channel=${encodeURIComponent("public/" + "*a".repeat(30) + "*b")}`);
    expect(stars.status).toBe(400);
    expect(stars.error).toContain("at most 4");
    const long = await why(`/events?channel=${encodeURIComponent("public/" + "a".repeat(400) + "*")}`);
    expect(long.status).toBe(400);
    expect(long.error).toContain("at most 256");
    const many = await why(`/messages?channels=${Array.from({ length: 101 }, (_, i) => `public/${i}`).join(",")}`);
    expect(many.status).toBe(400);
    expect(many.error).toContain("the limit is 100");
  });

  test("--max-patterns caps the distinct globs the hub holds: a new one past it is a 429, a held one is shared", async () => {
    const w = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--max-patterns", "2", "--rate-limit", "0"]);
    try {
      const a = await Stream.open(`${w.url}/events?channel=m/a*`);
      const b = await Stream.open(`${w.url}/events?channel=m/b*`);
      const c = await fetch(`${w.url}/events?channel=m/c*`);
      expect(c.status).toBe(429);
      expect(((await c.json()) as { error: string }).error).toContain("--max-patterns 2");
      const again = await Stream.open(`${w.url}/events?channel=m/a*`);
      expect(again.status).toBe(200);
      a.close();
      again.close();
      let next: Stream | null = null;
      const end = Date.now() + 5000;
      while (Date.now() < end && (next = await Stream.open(`${w.url}/events?channel=m/c*`)).status !== 200) await Bun.sleep(100);
      expect(next?.status).toBe(200);
      next?.close();
      b.close();
      const help = await run([BUN, `${ROOT}/web.ts`, "--help"]);
      expect(help.stdout + help.stderr).toContain("NOTISTREAM_MAX_PATTERNS");
      expect(help.stdout + help.stderr).toContain("NOTISTREAM_SSE_OUTPUT_LIMIT");
    } finally {
      await w.stop();
    }
  }, 30_000);
});

describe("Medium 1 (SSE side): closeRevokedStreams ends the streams whose user lost the right to read", () => {
  test("alice's stream ends with a status event saying why; bob's goes on", async () => {
    const url = `redis://127.0.0.1:${pubsub.port}`;
    const publisher = new Publisher(url, 1000);
    const hub = new Hub(url, undefined, () => {}, { history: publisher });
    // A web server's /events in a few lines, with the user taken from a header: the real one takes it from the login.
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      idleTimeout: 0,
      fetch: (req) => eventStream(hub, publisher, [new URL(req.url).searchParams.get("channel")!], undefined, () => {}, undefined, { user: req.headers.get("x-user") ?? undefined }),
    });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const alice = await Stream.open(`${base}/?channel=revoke/a`, { "x-user": "alice" });
      const bob = await Stream.open(`${base}/?channel=revoke/a`, { "x-user": "bob" });
      const nobody = await Stream.open(`${base}/?channel=revoke/a`);
      await until("live", () => hub.isLive("revoke/a"));
      await publisher.publish({ channel: "revoke/a", message: "one" });
      await until("one, to all", () => [alice, bob, nobody].every((s) => s.messages.length === 1));
      const asked: [string, string[]][] = [];
      const closed = closeRevokedStreams((user, channels) => {
        asked.push([user, channels]);
        return user !== "alice";
      });
      expect(closed).toBe(1);
      expect(asked.sort()).toEqual([["alice", ["revoke/a"]], ["bob", ["revoke/a"]]]);
      await until("alice's stream ends", () => alice.ended);
      expect(alice.events.at(-1)?.event).toBe("status");
      expect(alice.events.at(-1)?.data).toContain("withdrawn");
      await publisher.publish({ channel: "revoke/a", message: "two" });
      await until("two, to bob and the stream with no user", () => bob.messages.length === 2 && nobody.messages.length === 2);
      expect(alice.messages.map((m) => m.message)).toEqual(["one"]);
      for (const s of [alice, bob, nobody]) s.close();
    } finally {
      server.stop(true);
      hub.close();
      publisher.close();
    }
  });
});

describe("Medium 1 (SSE side) through SIGHUP: a real web server ends what its new ACL no longer allows", () => {
  test("alice loses her channel: her stream ends saying why, bob's goes on, and a new stream of hers is refused", async () => {
    const sha = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");
    const acl = tempPath("revoke.acl");
    const users = (alice: string) => `user default off\nuser alice on #${sha("alice-pw")} ${alice} ~* +@all\nuser bob on #${sha("bob-pw")} &shared ~* +@all\n`;
    writeFileSync(acl, users("&shared"));
    const w = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--acl", acl, "--rate-limit", "0"]);
    const login = (user: string) => ({ authorization: `Basic ${btoa(`${user}:${user}-pw`)}` });
    try {
      const alice = await Stream.open(`${w.url}/events?channel=shared`, login("alice"));
      const bob = await Stream.open(`${w.url}/events?channel=shared`, login("bob"));
      expect([alice.status, bob.status]).toEqual([200, 200]);
      await hubHolds("shared");
      await raw.call("PUBLISH", "shared", "one");
      await until("one, to both", () => alice.messages.length === 1 && bob.messages.length === 1);
      writeFileSync(acl, users("&alice/*"));
      w.proc.kill("SIGHUP");
      await until("alice's stream ends", () => alice.ended, 10_000);
      expect(alice.events.at(-1)?.event).toBe("status");
      expect(alice.events.at(-1)?.data).toContain("withdrawn");
      await until("the log line", () => w.output().includes("ended 1 event stream whose user may no longer read its channels"), 5000);
      await raw.call("PUBLISH", "shared", "two");
      await until("two, to bob", () => bob.messages.length === 2);
      expect(alice.messages.map((m) => m.message)).toEqual(["one"]);
      expect((await fetch(`${w.url}/events?channel=shared`, { headers: login("alice") })).status).toBe(403);
      bob.close();
    } finally {
      await w.stop();
    }
  }, 30_000);
});

needs(...CLUSTER_NEEDS).describe("High 5 on a Redis Cluster: ids checked against the channel's shard", () => {
  let cluster: Cluster;
  let cw: Web;
  beforeAll(async () => {
    cluster = await startCluster();
    cw = await startWebServer(cluster.url, ["--rate-limit", "0"]);
  }, 120_000);
  afterAll(async () => {
    await cw?.stop();
    await cluster?.stop();
  });

  test("a forged copy of a real id gets history's text; an unknown id is plain text; the channel is the frame's", async () => {
    const s = await Stream.open(`${cw.url}/events?channel=cforge/x`);
    let realId = "";
    for (let i = 0; i < 50 && s.messages.length === 0; i++) {
      realId = await publish(cw.url, "cforge/x", "real on the cluster");
      await Bun.sleep(100);
    }
    await until("the real message", () => s.messages.length >= 1);
    const late = await Stream.open(`${cw.url}/events?channel=cforge/x`);
    // SPUBLISH on the channel's shard, as anyone who may publish there could.
    const node = cluster.nodes[0]!.port;
    const spublish = (payload: string) => run(["redis-cli", "-c", "-p", String(node), "SPUBLISH", "cforge/x", payload]);
    await spublish(JSON.stringify({ id: realId, time: 1, channel: "alerts", message: "FORGED" }));
    await spublish(JSON.stringify({ id: "1-1", time: 1, channel: "alerts", message: "unknown id" }));
    await until("both forgeries", () => late.messages.length === 2, 15_000);
    expect(late.messages.map((m) => [m.id, m.channel, m.message])).toEqual([
      [realId, "cforge/x", "real on the cluster"],
      ["", "cforge/x", JSON.stringify({ id: "1-1", time: 1, channel: "alerts", message: "unknown id" })],
    ]);
    for (const x of [s, late]) x.close();
  }, 60_000);
});
