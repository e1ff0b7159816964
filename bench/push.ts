#!/usr/bin/env bun
// bench/push.ts — Web Push throughput: 10,000 subscriptions on a local push service, pushes per second and the time
// from the POST to the last push; and whether signing one VAPID JWT per push service (not per push) matters (A B A B).
// Usage: bun bench/push.ts [--subscriptions 10000] [--messages 3] [--smoke]
import { spawn } from "bun";
import { createECDH, randomBytes } from "node:crypto";
import { cpus } from "node:os";
import webpush from "web-push";
import { BUN, lines, startPubSub, startWebServer } from "../test/helpers";
import { median } from "./median";

const SMOKE = process.argv.includes("--smoke");
const arg = (name: string, fallback: number) => (process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : fallback);
const SUBS = arg("subscriptions", SMOKE ? 200 : 10_000);
const MESSAGES = arg("messages", SMOKE ? 1 : 3);
const log = (s: string) => console.log(`push: ${s}`);

// 1. Signing: web-push signs a fresh JWT for every request unless given the Authorization header.
{
  const keys = webpush.generateVAPIDKeys();
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const sub = { endpoint: "https://fcm.googleapis.com/fcm/send/x", keys: { p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") } };
  const payload = JSON.stringify({ id: "1-0", time: 1, channel: "alerts", message: "x".repeat(200) });
  const vapidDetails = { subject: "mailto:a@b.c", publicKey: keys.publicKey, privateKey: keys.privateKey };
  const cached = webpush.getVapidHeaders("https://fcm.googleapis.com", vapidDetails.subject, keys.publicKey, keys.privateKey, "aes128gcm").Authorization;
  const n = SMOKE ? 200 : 3000;
  const time = (f: () => void) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    return ((performance.now() - t0) / n) * 1000;
  };
  const fresh: number[] = [];
  const reuse: number[] = [];
  for (let round = 0; round < 4; round++) {
    fresh.push(time(() => webpush.generateRequestDetails(sub, payload, { vapidDetails, TTL: 60 })));
    reuse.push(time(() => webpush.generateRequestDetails(sub, payload, { headers: { Authorization: cached }, TTL: 60 })));
  }
  log(`CPU to build one push request (encrypt + headers), A B A B x4, medians: signing a JWT each time ${median(fresh).toFixed(0)} µs, one JWT per push service ${median(reuse).toFixed(0)} µs (${(median(fresh) / median(reuse)).toFixed(2)}x)`);
}

// 2. End to end: a real web server pushing to a push service in another process.
const sink = spawn([BUN, `${import.meta.dir}/pushsink.ts`, String(Math.min(1000, SUBS))], { stdout: "pipe", stderr: "inherit" });
const sinkLines = lines(sink);
const sinkPort = Number((await sinkLines.next()).value!.split(" ")[1]);
const origin = `http://127.0.0.1:${sinkPort}`;
const pubsub = await startPubSub(["--history-max-age", "0"]);
// Every subscription comes from this one address, so the per-address and total caps are raised to the run's size.
const caps = ["--push-max-per-visitor", String(SUBS), "--push-max-subscriptions", String(Math.max(SUBS, 10_000))];
const web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--push-endpoints", origin, "--push-contact", "mailto:bench@example.com", ...caps]);
// A failure must not leave the servers and the sink running behind it.
process.on("exit", () => {
  sink.kill();
  web.proc.kill();
  pubsub.proc.kill();
});
log(`${SUBS} subscriptions on one channel, ${MESSAGES} message(s); ${cpus().length} cores`);
const t0 = performance.now();
await Promise.all(
  Array.from({ length: 8 }, async (_, w) => {
    for (let i = w; i < SUBS; i += 8) {
      const ecdh = createECDH("prime256v1");
      ecdh.generateKeys();
      const body = { subscription: { endpoint: `${origin}/p/${i}`, keys: { p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") } }, channels: ["bench"] };
      const r = await fetch(`${web.url}/push/subscribe`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      if (r.status !== 201) throw new Error(`subscribe answered ${r.status}: ${await r.text()}`);
    }
  }),
);
log(`subscribed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

let received = 0;
for (let m = 1; m <= MESSAGES; m++) {
  const postAt = Date.now();
  const r = await fetch(`${web.url}/`, { method: "POST", body: new URLSearchParams({ channel: "bench", message: `push benchmark ${m}`, priority: "4" }) });
  const answeredIn = Date.now() - postAt;
  if (r.status !== 200) throw new Error(`POST answered ${r.status}`);
  let last = postAt;
  while (received < m * SUBS) {
    const line = (await sinkLines.next()).value;
    if (!line) throw new Error("the push service stopped");
    const [, n, at] = line.split(" ");
    received = Number(n);
    last = Number(at);
  }
  const secs = (last - postAt) / 1000;
  log(`message ${m}: POST answered in ${answeredIn} ms; the last of ${SUBS} pushes arrived ${(secs * 1000).toFixed(0)} ms after the POST: ${(SUBS / secs).toFixed(0)} pushes/s`);
}
await Bun.sleep(300); // the last responses are counted after they arrive
const metrics = await (await fetch(`${web.url}/metrics`)).text();
log(`metrics: ${/notistream_push_sent_total \d+/.exec(metrics)?.[0]}, failed ${/notistream_push_failed_total\{[^}]*\} \d+/.exec(metrics)?.[0] ?? "0"}`);
sink.kill();
await web.stop();
await pubsub.stop();
