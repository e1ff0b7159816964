// test/push.uncached.e2e.test.ts — Cache: no through Web Push (issue 25): a message kept in no history has no id, so
// Web Push must tell two of them apart by their content, as it does plain text, and push each once, not one per channel.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { json, post, run, startPubSub, startWebServer, tempPath, until, type Running } from "./helpers";
import { decryptPush, makeSubscription, startPushService } from "./pushservice";

let pubsub: Running;
let push: ReturnType<typeof startPushService>;
let web: Running & { url: string };

beforeAll(async () => {
  pubsub = await startPubSub();
  push = startPushService();
  web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--push-endpoints", push.origin, "--push-contact", "mailto:ops@example.com", "--data", tempPath("push-uncached")]);
});
afterAll(async () => {
  push?.stop();
  await web?.stop();
  await pubsub?.stop();
});

test("two Cache: no messages on one channel are two pushes, each once (the second is no repeat of the first)", async () => {
  const sub = makeSubscription(`${push.origin}/push/uncached`);
  expect((await post(`${web.url}/push/subscribe`, json({ subscription: sub.json, channels: ["door"] }))).status).toBe(201);
  const to = () => push.received.filter((r) => sub.json.endpoint.endsWith(r.path)).map((r) => JSON.parse(decryptPush(r.body, sub)) as { message: string; uncached?: boolean });
  for (const text of ["Ann is at the door", "Bob is at the door"]) expect((await run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Cache: no", "-d", text, `${web.url}/door`])).stdout).toBe("200");
  // A message kept in history after them: once it is pushed, the two before it have had their turn.
  expect((await run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-d", "kept", `${web.url}/door`])).stdout).toBe("200");
  await until("the kept message pushed", () => to().some((m) => m.message === "kept"), 10_000);
  await Bun.sleep(300);
  expect(to().map((m) => m.message).sort()).toEqual(["Ann is at the door", "Bob is at the door", "kept"]);
  expect(to().find((m) => m.message === "Bob is at the door")!.uncached).toBe(true);
});
