// test/gotify.cluster.e2e.test.ts — Gotify's API on a Redis Cluster (3 masters, 3 replicas; issue 27): two web servers
// share the applications and clients, messages to apps whose channels live on different shards take numbers that only
// grow, and GET /message lists them across shards newest first, as Gotify's Android app pages them.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { needs, startWebServer, type Running } from "./helpers";
import { CLUSTER_NEEDS, haveCluster, startCluster, type Cluster } from "./cluster";

let cluster: Cluster | undefined;
const webs: (Running & { url: string })[] = [];

beforeAll(async () => {
  if (!haveCluster) return;
  cluster = await startCluster();
  for (let i = 0; i < 2; i++) webs.push(await startWebServer(cluster.url));
}, 120_000);
afterAll(async () => {
  for (const w of webs) await w.stop();
  await cluster?.stop();
});

type Message = { id: number; appid: number; message: string };

async function gotify<T>(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(`${base}${path}`, { method, headers: { "content-type": "application/json", ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

needs(...CLUSTER_NEEDS).test("numbers grow across two web servers and three shards; one listing pages them all, newest first", async () => {
  const [a, b] = [webs[0]!.url, webs[1]!.url];
  // Their channels gotify-backups, gotify-deploys and gotify-alerts hash to slots 7652, 16383 and 2034: one per master.
  const apps: { id: number; token: string; channel: string }[] = [];
  for (const name of ["Backups", "Deploys", "Alerts"]) apps.push(await gotify<{ id: number; token: string; channel: string }>(a, "POST", "/application", { name }));
  const client = await gotify<{ token: string }>(b, "POST", "/client", { name: "phone" });
  const sent: Message[] = [];
  for (let i = 0; i < 30; i++) {
    const app = apps[i % 3]!;
    // Alternate the web servers: b learns a's apps from the shared store (an app token it did not make).
    const via = i % 2 ? b : a;
    sent.push(await gotify<Message>(via, "POST", `/message?token=${app.token}`, { message: `m${i}` }));
  }
  for (let i = 1; i < sent.length; i++) expect(sent[i]!.id).toBeGreaterThan(sent[i - 1]!.id);
  // The Android app's paging (MissedMessageUtil): limit 10, since the last page's paging.since, until no next.
  const seen: Message[] = [];
  let since = 0;
  for (;;) {
    const page = await gotify<{ paging: { since: number; next?: string }; messages: Message[] }>(b, "GET", `/message?limit=10${since ? `&since=${since}` : ""}`, undefined, { "x-gotify-key": client.token });
    seen.push(...page.messages);
    if (!page.paging.next) break;
    since = page.paging.since;
  }
  expect(seen.map((m) => m.message)).toEqual(sent.map((m) => m.message).reverse());
  expect(seen.map((m) => m.appid)).toEqual(sent.map((_, i) => apps[i % 3]!.id).reverse());
}, 120_000);
