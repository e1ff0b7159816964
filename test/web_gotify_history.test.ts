// test/web_gotify_history.test.ts — a Gotify user's messages read from their apps' channels, as Gotify's listing
// answers them (api/message.go GetMessages and GetMessagesWithApplication; database/message.go
// GetMessagesByUserSince: "id < since" when since > 0, newest first, limit + 1 rows to tell buildWithPaging there is
// more): paging across two channels, hidden marks, numbers only, and the same against a real pub/sub server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { compareIds, type Envelope } from "../message";
import { historyOver, type CommandHistory } from "../catchup";
import { Publisher } from "../web_publisher";
import { Hub } from "../web_hub";
import { GotifyStore } from "../web_gotify_store";
import { NO_HIDDEN, hideAll, hideApp, hideMessage, messageJson, pagedMessages, type AppRecord, type HiddenMarks } from "../web_gotify_model";
import { SCAN_PAGE, findMessage, readMessages } from "../web_gotify_history";
import { startPubSub, until, type Running } from "./helpers";

const appOn = (id: number, channel: string): AppRecord => ({ id, token: `A${String(id).padStart(14, "x")}`, user: "alice", name: channel, description: "", defaultPriority: 0, image: "", channel, sortKey: "", lastUsed: null });

/** Histories in memory: each channel's entries in stream order; `before` as XREVRANGE (exclusive) answers. */
class Histories implements Pick<CommandHistory, "before"> {
  readonly byChannel = new Map<string, Envelope[]>();
  reads = 0;
  private ms = 1_700_000_000_000;
  add(channel: string, e: Partial<Envelope>): void {
    const list = this.byChannel.get(channel) ?? [];
    list.push({ id: `${this.ms++}-0`, time: 0, channel, message: `m${e.gotify?.id ?? "-"}`, ...e });
    this.byChannel.set(channel, list);
  }
  async before(channel: string, beforeId: string, count: number): Promise<Envelope[]> {
    this.reads++;
    const list = this.byChannel.get(channel) ?? [];
    return list.filter((e) => beforeId === "+" || compareIds(e.id, beforeId) < 0).reverse().slice(0, count);
  }
}

/** Every page a Gotify client gets walking back from the newest with `limit`, as the Android app pages with since. */
async function allPages(h: Histories, apps: AppRecord[], marks: HiddenMarks, limit: number): Promise<number[][]> {
  const pages: number[][] = [];
  let since = 0;
  for (;;) {
    const rows = await readMessages(h, apps, marks, { since, limit });
    const page = pagedMessages(rows.map((r) => messageJson(r.env, r.app.id)!), limit, "http://h/message");
    pages.push(page.messages.map((m) => m.id));
    if (!page.paging.next) return pages;
    since = page.paging.since;
  }
}

describe("listing a user's numbered messages", () => {
  const a = appOn(1, "gotify-a");
  const b = appOn(2, "alerts");
  const h = new Histories();
  // Numbers 1..11 spread over two channels, with an un-numbered message, an ntfy event and a base64 body between.
  for (const [ch, n] of [["gotify-a", 1], ["alerts", 2], ["alerts", 3], ["gotify-a", 4], ["alerts", 5], ["gotify-a", 6], ["gotify-a", 7], ["alerts", 8], ["gotify-a", 9], ["alerts", 10], ["gotify-a", 11]] as const) {
    h.add(ch, { gotify: { id: n } });
    if (n === 4) h.add("gotify-a", {}); // published before the channel was bound, or by raw RESP: no number
    if (n === 6) h.add("alerts", { event: "message_delete", sequence_id: "x", gotify: { id: 99 } });
    if (n === 8) h.add("gotify-a", { encoding: "base64", gotify: { id: 98 } });
  }

  test("newest first across both channels; no number, ntfy events and base64 bodies are never shown", async () => {
    const rows = await readMessages(h, [a, b], NO_HIDDEN, { since: 0, limit: 100 });
    expect(rows.map((r) => [r.env.gotify!.id, r.app.id])).toEqual([[11, 1], [10, 2], [9, 1], [8, 2], [7, 1], [6, 1], [5, 2], [4, 1], [3, 2], [2, 2], [1, 1]]);
  });

  test("paging with limit and since walks back exactly once over every message (the Android app's since= loop)", async () => {
    expect(await allPages(h, [a, b], NO_HIDDEN, 3)).toEqual([[11, 10, 9], [8, 7, 6], [5, 4, 3], [2, 1]]);
    expect(await allPages(h, [a, b], NO_HIDDEN, 1)).toEqual([[11], [10], [9], [8], [7], [6], [5], [4], [3], [2], [1]]);
    expect(await allPages(h, [a, b], NO_HIDDEN, 11)).toEqual([[11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]);
  });

  test("since: only numbers below it; limit + 1 rows when there are more", async () => {
    const rows = await readMessages(h, [a, b], NO_HIDDEN, { since: 6, limit: 2 });
    expect(rows.map((r) => r.env.gotify!.id)).toEqual([5, 4, 3]);
    expect(await readMessages(h, [a, b], NO_HIDDEN, { since: 1, limit: 5 })).toEqual([]);
  });

  test("one application's messages (GET /application/{id}/message)", async () => {
    expect(await allPages(h, [b], NO_HIDDEN, 2)).toEqual([[10, 8], [5, 3], [2]]);
  });

  test("hidden: one message, everything up to a number, one app's up to a number", async () => {
    const marks = hideApp(hideMessage(hideAll(NO_HIDDEN, 2), 9), 2, 8);
    expect(await allPages(h, [a, b], marks, 4)).toEqual([[11, 10, 7, 6], [4]]);
  });

  test("no apps, no messages; a channel with no history is fine", async () => {
    expect(await readMessages(h, [], NO_HIDDEN, { since: 0, limit: 10 })).toEqual([]);
    expect(await readMessages(h, [appOn(3, "empty")], NO_HIDDEN, { since: 0, limit: 10 })).toEqual([]);
  });

  test("findMessage: the user's message by number, on whichever of their channels; null for another's or none", async () => {
    const found = await findMessage(h, [a, b], 5);
    expect([found?.env.gotify?.id, found?.app.id, found?.env.channel]).toEqual([5, 2, "alerts"]);
    expect(await findMessage(h, [a], 5)).toBeNull();
    expect(await findMessage(h, [a, b], 99)).toBeNull(); // the ntfy event's number is not a message
    expect(await findMessage(h, [a, b], 12)).toBeNull();
  });
});

describe("long histories and numbers out of order", () => {
  test("since deep in a history of several pages: read back page by page, exactly the right ones", async () => {
    const h = new Histories();
    const app = appOn(1, "big");
    for (let n = 1; n <= SCAN_PAGE * 3 + 17; n++) h.add("big", { gotify: { id: n } });
    const rows = await readMessages(h, [app], NO_HIDDEN, { since: 40, limit: 5 });
    expect(rows.map((r) => r.env.gotify!.id)).toEqual([39, 38, 37, 36, 35, 34]);
    // Reading stops soon after enough are found: the newest pages were read, not the rest.
    h.reads = 0;
    await readMessages(h, [app], NO_HIDDEN, { since: 0, limit: 5 });
    expect(h.reads).toBe(1);
  });

  test("publishes at one moment may sit in history in another order: all still listed, in number order", async () => {
    // Publisher.numbered takes the number before the XADD: three at once may be added as 9, 7, 8.
    const h = new Histories();
    const app = appOn(1, "race");
    for (const n of [1, 2, 3, 4, 5, 6, 9, 7, 8, 10]) h.add("race", { gotify: { id: n } });
    expect(await allPages(h, [app], NO_HIDDEN, 2)).toEqual([[10, 9], [8, 7], [6, 5], [4, 3], [2, 1]]);
    expect(await allPages(h, [app], NO_HIDDEN, 1)).toEqual([[10], [9], [8], [7], [6], [5], [4], [3], [2], [1]]);
  });
});

describe("against a real pub/sub server: published by two web servers, listed in number order", () => {
  let server: Running;
  const stores: { publisher: Publisher; hub: Hub; store: GotifyStore }[] = [];
  beforeAll(async () => {
    server = await startPubSub();
    const url = `redis://127.0.0.1:${server.port}`;
    for (let i = 0; i < 2; i++) {
      const publisher = new Publisher(url, 1000);
      const hub = new Hub(url, undefined, () => {}, { history: publisher });
      const store = new GotifyStore(publisher, hub);
      await store.start();
      publisher.numbering = store;
      stores.push({ publisher, hub, store });
    }
  });
  afterAll(async () => {
    for (const s of stores) {
      s.store.stop();
      s.hub.close();
      s.publisher.close();
    }
    await server?.stop();
  });

  test("two channels, two web servers, ntfy-style and Gotify-style messages: every numbered one, newest first", async () => {
    const [one, two] = stores as [(typeof stores)[0], (typeof stores)[0]];
    await one.publisher.publish({ channel: "ops", message: "before the app: never numbered" });
    const appA = await one.store.createApp("alice", { name: "Deploys", description: "", defaultPriority: 5, sortKey: "" });
    const appB = await one.store.createApp("alice", { name: "Ops", description: "", defaultPriority: 0, sortKey: "", channel: "ops" });
    await until("the second web server to learn both apps", () => two.store.isBound(appA.channel) === true && two.store.isBound("ops") === true);
    const sent: string[] = [];
    for (let i = 0; i < 6; i++) {
      const s = i % 2 ? two : one;
      const channel = i % 3 ? "ops" : appA.channel;
      await s.publisher.publish({ channel, message: `m${i}`, ...(i === 2 ? { priority: 5 } : {}) });
      sent.push(`m${i}`);
    }
    const layout = await one.publisher.layout();
    const history = historyOver((c, args) => one.publisher.send(c, args), (ch) => layout.historyKey(ch));
    const rows = await readMessages(history, [appA, appB], NO_HIDDEN, { since: 0, limit: 100 });
    expect(rows.map((r) => r.env.message)).toEqual([...sent].reverse());
    const ids = rows.map((r) => r.env.gotify!.id);
    expect(ids).toEqual([...ids].sort((x, y) => y - x));
    expect(new Set(ids).size).toBe(6);
    const urgent = rows.find((r) => r.env.message === "m2")!;
    expect(messageJson(urgent.env, urgent.app.id)).toMatchObject({ appid: appB.id, priority: 10, title: "" });
    // Paged by two, with since, exactly the same messages.
    const paged: string[] = [];
    let since = 0;
    for (;;) {
      const page = await readMessages(history, [appA, appB], NO_HIDDEN, { since, limit: 2 });
      paged.push(...page.slice(0, 2).map((r) => r.env.message));
      if (page.length <= 2) break;
      since = page[1]!.env.gotify!.id;
    }
    expect(paged).toEqual([...sent].reverse());
  });
});
