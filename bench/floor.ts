#!/usr/bin/env bun
// bench/floor.ts — the floor for webhook ingest: a minimal Bun.serve that reads the form and sends XADD then PUBLISH
// with Bun's RedisClient, nothing else (no validation, limits, metrics or errors). Usage: bun bench/floor.ts <port> <redis-url> [history-max]
import { RedisClient } from "bun";

const redis = new RedisClient(process.argv[3] ?? "redis://127.0.0.1:6379");
await redis.connect();
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.argv[2] ?? 0),
  async fetch(req) {
    const f = new URLSearchParams(await req.text());
    const channel = f.get("channel") ?? "floor";
    const message = f.get("message") ?? "";
    const time = String(Math.floor(Date.now() / 1000));
    const id = String(await redis.send("XADD", [`notistream:${channel}`, "MAXLEN", "~", process.argv[4] ?? "1000", "*", "time", time, "channel", channel, "message", message]));
    const receivers = await redis.send("PUBLISH", [channel, JSON.stringify({ id, time: Number(time), channel, message })]);
    return Response.json({ id, channel, receivers });
  },
});
console.log(`floor: listening on ${server.port}`);
