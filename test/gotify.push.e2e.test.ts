// test/gotify.push.e2e.test.ts — a Gotify-published message through Web Push (issue 27: every client of ours shows
// it): POST /message with an app token reaches a browser subscribed to the app's channel, with its title, Markdown,
// click URL and mapped priority, and Gotify's own extras (for Gotify's readers only) never crowd out the text.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { json, post, startPubSub, startWebServer, tempPath, until, type Running } from "./helpers";
import { decryptPush, makeSubscription, startPushService } from "./pushservice";

let pubsub: Running;
let push: ReturnType<typeof startPushService>;
let web: Running & { url: string };

beforeAll(async () => {
  pubsub = await startPubSub();
  push = startPushService();
  web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--push-endpoints", push.origin, "--push-contact", "mailto:ops@example.com", "--data", tempPath("gotify-push")]);
});
afterAll(async () => {
  push?.stop();
  await web?.stop();
  await pubsub?.stop();
});

type Pushed = { message: string; title?: string; priority?: number; content_type?: string; url?: string; gotify?: unknown; truncated?: boolean };

test("POST /message (Gotify) is pushed to the app's channel with its title, Markdown, click URL and priority; extras stay out of the push", async () => {
  // An open server: the one anonymous Gotify user makes the application (api/application.go CreateApplication).
  const app = (await (await post(`${web.url}/application`, json({ name: "Backups" }))).json()) as { token: string; channel: string };
  expect(app.channel).toBe("gotify-backups");
  const sub = makeSubscription(`${push.origin}/push/gotify`);
  expect((await post(`${web.url}/push/subscribe`, json({ subscription: sub.json, channels: [app.channel] }))).status).toBe(201);
  const pushed = () => push.received.filter((r) => sub.json.endpoint.endsWith(r.path)).map((r) => JSON.parse(decryptPush(r.body, sub)) as Pushed);

  // Gotify's extras are free-form: a sender may put kilobytes there, which a push (4 KB at most) has no room for.
  const bulky = { "home::sensor::dump": { readings: "x".repeat(6000) } };
  const sent = await fetch(`${web.url}/message`, {
    method: "POST",
    headers: { "x-gotify-key": app.token, "content-type": "application/json" },
    body: JSON.stringify({
      title: "Nightly backup",
      message: "**done** in 4 min",
      priority: 8,
      extras: { "client::display": { contentType: "text/markdown" }, "client::notification": { click: { url: "https://backup.example/run/7" } }, ...bulky },
    }),
  });
  expect(sent.status).toBe(200);
  await until("the Gotify message pushed", () => pushed().length > 0, 10_000);
  const [m] = pushed();
  expect(m).toMatchObject({ message: "**done** in 4 min", title: "Nightly backup", priority: 4, content_type: "text/markdown", url: "https://backup.example/run/7" });
  expect(m!.truncated).toBeUndefined();
  expect(m!.gotify).toBeUndefined();
});
