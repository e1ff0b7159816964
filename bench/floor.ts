#!/usr/bin/env bun
// bench/floor.ts — the floor for webhook ingest: a minimal Bun.serve that reads the form, then XADD and PUBLISH through
// link.ts (the web server's own RESP client), nothing else; --script does both in one round trip with EVALSHA.
// Usage: bun bench/floor.ts <port> <redis-url> [history-max] [--script]
import { Link, linkOptionsFromUrl } from "../link";
import { bulkText, replyToJS } from "../resp";

const [port, url, historyMax] = [Number(process.argv[2] ?? 0), process.argv[3] ?? "redis://127.0.0.1:6379", process.argv[4] ?? "1000"];
// No validation, limits, metrics or error handling: what is left is Bun.serve, the form, the envelope and the store's round trips.
const SCRIPT = `local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'time', ARGV[2], 'channel', ARGV[3], 'message', ARGV[4])
return {id, redis.call('PUBLISH', ARGV[3], ARGV[5] .. id .. ARGV[6])}`;

const link = await new Promise<Link>((resolve, reject) => {
  const l: Link = new Link(linkOptionsFromUrl(url), { ready: () => resolve(l), push: () => {}, down: (f) => reject(new Error(f.reason)) });
  l.start();
});
const sha = process.argv.includes("--script") ? bulkText(await link.call(["SCRIPT", "LOAD", SCRIPT])) : null;

const server = Bun.serve({
  hostname: "127.0.0.1",
  port,
  async fetch(req) {
    const f = new URLSearchParams(await req.text());
    const channel = f.get("channel") ?? "floor";
    const message = f.get("message") ?? "";
    const time = Math.floor(Date.now() / 1000);
    if (sha === null) {
      const id = bulkText(await link.call(["XADD", `notistream:${channel}`, "MAXLEN", "~", historyMax, "*", "time", String(time), "channel", channel, "message", message]));
      const receivers = replyToJS(await link.call(["PUBLISH", channel, JSON.stringify({ id, time, channel, message })]));
      return Response.json({ id, channel, receivers });
    }
    // The envelope around a placeholder id; the script puts the stream ID between the two halves.
    const envelope = JSON.stringify({ id: "", time, channel, message });
    const [id, receivers] = replyToJS(await link.call(["EVALSHA", sha, "1", `notistream:${channel}`, historyMax, String(time), channel, message, envelope.slice(0, 7), envelope.slice(7)])) as [string, number];
    return Response.json({ id, channel, receivers });
  },
});
console.log(`floor${sha ? " --script" : ""}: listening on ${server.port}`);
