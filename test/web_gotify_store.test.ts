// test/web_gotify_store.test.ts — Gotify's state in the pub/sub server, shared by every web server, on our pub/sub
// server and on redis-server 7: the counters only grow (two stores, and our server restarted with --data), apps and
// clients made on one web server are known to another at once, hidden marks and images, and the Publisher numbers
// exactly the messages of channels some app is bound to.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Publisher } from "../web_publisher";
import { Hub, type HubListener } from "../web_hub";
import { envelopesFromReply } from "../catchup";
import { ChannelTaken, GotifyStore, MAX_IMAGE_BYTES, SortKeyTaken, appKey, clientKey, counterKey } from "../web_gotify_store";
import { hideAll, hideMessage, isHidden, type AppRecord } from "../web_gotify_model";
import { freePort, needs, spawnPubSubAt, startPubSub, startRedis, tempPath, until, waitForPort, type Running } from "./helpers";

type Server = { publisher: Publisher; hub: Hub; store: GotifyStore };

/** A web server's part in this: its publisher, its hub and a started GotifyStore, numbering its publisher's messages. */
async function webServer(url: string, log: string[] = []): Promise<Server> {
  const publisher = new Publisher(url, 1000);
  const hub = new Hub(url, undefined, () => {}, { history: publisher });
  const store = new GotifyStore(publisher, hub, (line) => void log.push(line));
  await store.start();
  publisher.numbering = store;
  return { publisher, hub, store };
}
const closeAll = (servers: Server[]) => {
  for (const s of servers) {
    s.store.stop();
    s.hub.close();
    s.publisher.close();
  }
};

/** The same checks on each kind of server the web server may keep its state in. */
function sharedState(kind: string, start: () => Promise<Running>) {
  describe(`shared Gotify state on ${kind}`, () => {
    let server: Running;
    let url: string;
    let a: Server;
    let b: Server;
    beforeAll(async () => {
      server = await start();
      url = `redis://127.0.0.1:${server.port}`;
      a = await webServer(url);
      b = await webServer(url);
    });
    afterAll(async () => {
      closeAll([a, b].filter(Boolean));
      await server?.stop();
    });

    test("a counter is XADD <key> MAXLEN 1 0-* n 1: 1, 2, 3 … across two web servers, never twice the same", async () => {
      expect(await a.store.current("message")).toBe(0);
      const got = await Promise.all([a, b, a, b, a, b].map((s) => s.store.next("message")));
      expect([...got].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(await b.store.current("message")).toBe(6);
      // MAXLEN 1 keeps one entry, and the stream its last ID: the next is 7.
      expect(await a.publisher.send("XLEN", [counterKey("message")])).toBe(1);
      expect(await b.store.nextMessageNumber()).toBe(7);
      // Each kind counts on its own.
      expect(await a.store.next("client")).toBe(1);
    });

    test("an app made on one web server is known to the other at once: its token, its channel bound; deleted, gone from both", async () => {
      const app = await a.store.createApp("alice", { name: "Backup Server", description: "nightly", defaultPriority: 4, sortKey: "" });
      expect(app).toMatchObject({ user: "alice", name: "Backup Server", channel: "gotify-backup-server", defaultPriority: 4, image: "", lastUsed: null });
      expect(app.token).toMatch(/^A[a-zA-Z0-9._-]{14}$/);
      await until("web server b to learn the app", () => b.store.appByToken(app.token)?.id === app.id);
      expect(b.store.isBound("gotify-backup-server")).toBe(true);
      expect(b.store.appOf("alice", app.id)).toEqual(app);
      expect(b.store.appOf("bob", app.id)).toBeNull(); // another user's app is not found (api/application.go: app.UserID == GetUserID)
      // A second app of the same name: the channel takes its id.
      const again = await b.store.createApp("alice", { name: "backup server!", description: "", defaultPriority: 0, sortKey: "" });
      expect(again.channel).toBe(`gotify-backup-server-${again.id}`);
      expect(again.id).toBeGreaterThan(app.id);
      // Renamed: the channel stays.
      await a.store.updateApp({ ...app, name: "Renamed" });
      await until("the rename on b", () => b.store.appOf("alice", app.id)?.name === "Renamed");
      expect(b.store.appOf("alice", app.id)?.channel).toBe("gotify-backup-server");
      await b.store.deleteApp(again);
      await a.store.deleteApp(app);
      await until("both apps gone on both", () => [a, b].every((s) => s.store.appsOf("alice").length === 0));
      expect(a.store.isBound("gotify-backup-server")).toBe(false);
      expect(b.store.appByToken(app.token)).toBeNull();
    });

    test("one user cannot bind two apps to one channel; two users may bind the same one", async () => {
      const mine = await a.store.createApp("carol", { name: "Alerts", description: "", defaultPriority: 0, sortKey: "", channel: "alerts" });
      expect(mine.channel).toBe("alerts");
      await until("b to learn carol's app", () => b.store.appsOf("carol").length === 1);
      await expect(b.store.createApp("carol", { name: "Again", description: "", defaultPriority: 0, sortKey: "", channel: "alerts" })).rejects.toBeInstanceOf(ChannelTaken);
      const theirs = await b.store.createApp("dave", { name: "Alerts", description: "", defaultPriority: 0, sortKey: "", channel: "alerts" });
      await until("a to learn dave's app", () => a.store.appsOnChannel("alerts").length === 2);
      await a.store.deleteApp(mine);
      await until("b to drop carol's app", () => b.store.appsOnChannel("alerts").length === 1);
      expect(b.store.isBound("alerts")).toBe(true); // dave's still binds it
      await a.store.deleteApp(theirs);
    });

    test("clients: made, renamed, touched and deleted on one, followed by the other; change listeners are told", async () => {
      const seen: string[] = [];
      const off = b.store.onChange((c) => void (c.kind === "client" && seen.push(`${c.kind} ${c.id} ${c.before ? "had" : "new"} ${c.after ? "has" : "gone"}`)));
      const phone = await a.store.createClient("alice", "Pixel");
      expect(phone.token).toMatch(/^C[a-zA-Z0-9._-]{14}$/);
      await until("b to learn the client", () => b.store.clientByToken(phone.token) !== null);
      await a.store.touchClient(phone, Date.UTC(2026, 0, 1));
      await until("b to see lastUsed", () => b.store.clientOf("alice", phone.id)?.lastUsed === "2026-01-01T00:00:00Z");
      // Within 5 minutes of the last write nothing is written (auth/authentication.go: LastUsed.Add(5*time.Minute).Before(now)).
      const touched = a.store.clientOf("alice", phone.id)!;
      await a.store.touchClient(touched, Date.UTC(2026, 0, 1, 0, 4));
      expect(a.store.clientOf("alice", phone.id)?.lastUsed).toBe("2026-01-01T00:00:00Z");
      await a.store.deleteClient(touched);
      await until("b to drop the client", () => b.store.clientByToken(phone.token) === null);
      off();
      expect(seen).toEqual([`client ${phone.id} new has`, `client ${phone.id} had has`, `client ${phone.id} had gone`]);
    });

    test("a change notice read while this server deletes the record does not bring it back (the read began before the delete)", async () => {
      // Another server's notice ("client <id>": read it again) and this server's delete, sent in the same turn: the
      // store answers the read first, with the record as it was; the delete answers after, but its shorter await
      // chain can finish first. The read must still lose: it began before the delete did.
      const reread = (s: Server, notice: string) => (s.store as unknown as { reread(n: string): Promise<void> }).reread(notice);
      const phone = await a.store.createClient("ria", "Phone");
      const app = await a.store.createApp("ria", { name: "Race", description: "", defaultPriority: 0, sortKey: "" });
      for (let round = 0; round < 5; round++) {
        const client = round ? await a.store.createClient("ria", `Phone ${round}`) : phone;
        await Promise.all([reread(a, `client ${client.id}`), a.store.deleteClient(client)]);
        expect(a.store.clientByToken(client.token)).toBeNull();
        expect(a.store.clientOf("ria", client.id)).toBeNull();
      }
      await Promise.all([reread(a, `app ${app.id}`), a.store.deleteApp(app)]);
      expect(a.store.appByToken(app.token)).toBeNull();
    });

    test("sort keys follow creation past ten apps (Gotify v3's fracdex.KeyBetween(largest, \"\")), and one taken twice is refused", async () => {
      const made: AppRecord[] = [];
      for (let i = 0; i < 12; i++) made.push(await (i % 2 ? b : a).store.createApp("kim", { name: `App ${i}`, description: "", defaultPriority: 0, sortKey: "" }));
      await until("both to know all twelve", () => [a, b].every((s) => s.store.appsOf("kim").length === 12));
      const byKey = [...b.store.appsOf("kim")].sort((x, y) => (x.sortKey < y.sortKey ? -1 : x.sortKey > y.sortKey ? 1 : 0));
      expect(byKey.map((x) => x.id)).toEqual(made.map((x) => x.id));
      expect(new Set(made.map((x) => x.sortKey)).size).toBe(12); // made on two web servers at once: none twice
      // api/application.go handleApplicationError: a duplicate (user, sort key) is "sort key is not unique".
      await expect(a.store.createApp("kim", { name: "Dup", description: "", defaultPriority: 0, sortKey: made[1]!.sortKey })).rejects.toBeInstanceOf(SortKeyTaken);
      await expect(a.store.updateApp({ ...made[0]!, sortKey: made[1]!.sortKey })).rejects.toBeInstanceOf(SortKeyTaken);
      for (const app of made) await a.store.deleteApp(app);
    });

    test("a lastUsed touch racing a delete on another web server does not bring the record back (XADD NOMKSTREAM)", async () => {
      const app = await a.store.createApp("lee", { name: "Touched", description: "", defaultPriority: 0, sortKey: "" });
      const phone = await a.store.createClient("lee", "Phone");
      await until("b to learn both", () => b.store.appByToken(app.token) !== null && b.store.clientByToken(phone.token) !== null);
      await b.store.deleteApp(app);
      await b.store.deleteClient(phone);
      // a still holds the records it read (a delete's notice may be on its way): touching them must not write them back.
      await a.store.touchApp(app, Date.UTC(2026, 0, 2));
      await a.store.touchClient(phone, Date.UTC(2026, 0, 2));
      expect(await a.publisher.send("EXISTS", [appKey(app.id), clientKey(phone.id)])).toBe(0);
      await until("both to have forgotten them", () => [a, b].every((s) => s.store.appByToken(app.token) === null && s.store.clientByToken(phone.token) === null));
    });

    test("a reload (the changes channel resubscribed) whose KEYS came before an app made here does not drop that app", async () => {
      // The store's reads through the real server, its KEYS held until the app is made; the hub's listener by hand.
      let release = () => {};
      let hold = false;
      const store = {
        send: (c: string, args: string[]) => a.publisher.send(c, args),
        layout: () => a.publisher.layout(),
        publishPayload: (ch: string, p: string) => a.publisher.publishPayload(ch, p),
        keys: async (pattern: string) => {
          const keys = await a.publisher.keys(pattern); // read now, before the app exists
          if (hold) await new Promise<void>((r) => (release = r));
          return keys;
        },
      };
      const listeners: HubListener[] = [];
      const hub = { watch: (_ch: string, l: HubListener) => (listeners.push(l), () => {}) };
      const gotify = new GotifyStore(store, hub);
      await gotify.start();
      hold = true;
      listeners[0]!.resubscribed(); // a reload begins: its KEYS is read and held
      await Bun.sleep(50);
      hold = false;
      const app = await gotify.createApp("mia", { name: "Raced", description: "", defaultPriority: 0, sortKey: "" });
      expect(gotify.appByToken(app.token)?.id).toBe(app.id);
      release();
      await gotify.ready();
      await Bun.sleep(50);
      expect(gotify.appByToken(app.token)?.id).toBe(app.id); // a token that works must not turn into a 401
      gotify.stop();
      await a.store.deleteApp(app);
    });

    test("a web server started later loads every app and client (KEYS and one read each)", async () => {
      const app = await a.store.createApp("erin", { name: "CI", description: "", defaultPriority: 2, sortKey: "" });
      const client = await a.store.createClient("erin", "Laptop");
      const c = await webServer(url);
      try {
        expect(c.store.appByToken(app.token)).toEqual(app);
        expect(c.store.clientByToken(client.token)).toEqual(client);
        expect(c.store.isBound("gotify-ci")).toBe(true);
      } finally {
        closeAll([c]);
      }
    });

    test("a user's id is made once and the same on every web server; names differ, ids differ", async () => {
      const [x, y] = await Promise.all([a.store.userId("frank"), b.store.userId("frank")]);
      expect(x).toBe(y);
      expect(await b.store.userId("frank")).toBe(x);
      expect(await a.store.userId("grace")).not.toBe(x);
    });

    test("hidden marks are per user and shared", async () => {
      await a.store.hide("alice", (m) => hideMessage(m, 5));
      await b.store.hide("alice", (m) => hideAll(m, 3));
      const marks = await a.store.hidden("alice");
      expect([isHidden(marks, 1, 5), isHidden(marks, 1, 2), isHidden(marks, 1, 4)]).toEqual([true, true, false]);
      expect((await a.store.hidden("bob")).all).toBe(0);
    });

    test("app images: kept, read back byte for byte, dropped; too large refused", async () => {
      const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 255, 10, 13]);
      await a.store.putImage("abc.png", bytes, "image/png");
      expect(await b.store.image("abc.png")).toEqual({ bytes, type: "image/png" });
      await b.store.dropImage("abc.png");
      expect(await a.store.image("abc.png")).toBeNull();
      await expect(a.store.putImage("big.png", new Uint8Array(MAX_IMAGE_BYTES + 1), "image/png")).rejects.toBeInstanceOf(RangeError);
    });

    test("the Publisher numbers messages of bound channels only, increasing across web servers; a given number elsewhere is dropped", async () => {
      await a.store.createApp("henry", { name: "Numbered", description: "", defaultPriority: 0, sortKey: "", channel: "num/bound" });
      await until("b to learn the binding", () => b.store.isBound("num/bound") === true);
      const before = await a.store.current("message");
      for (const s of [a, b, a]) await s.publisher.publish({ channel: "num/bound", message: "m", gotify: { id: 0, priority: 9 } });
      await b.publisher.publish({ channel: "num/free", message: "m", gotify: { id: 999, priority: 9 } });
      const layout = await a.publisher.layout();
      const bound = envelopesFromReply(await a.publisher.send("XRANGE", [layout.historyKey("num/bound"), "-", "+"]), "num/bound");
      expect(bound.map((e) => e.gotify)).toEqual([1, 2, 3].map((i) => ({ id: before + i, priority: 9 })));
      const free = envelopesFromReply(await a.publisher.send("XRANGE", [layout.historyKey("num/free"), "-", "+"]), "num/free");
      expect(free.map((e) => e.gotify)).toEqual([undefined]);
      expect(await a.store.current("message")).toBe(before + 3); // the unbound channel took no number
    });

    test("a web server whose store has not loaded yet waits for it before publishing: a bound channel's message is still numbered", async () => {
      await a.store.createApp("ivy", { name: "Early", description: "", defaultPriority: 0, sortKey: "", channel: "num/early" });
      const publisher = new Publisher(url, 1000);
      const hub = new Hub(url, undefined, () => {}, { history: publisher });
      const store = new GotifyStore(publisher, hub); // not started: nothing loaded
      publisher.numbering = store;
      try {
        expect(store.isBound("num/early")).toBeInstanceOf(Promise);
        const { id } = await publisher.publish({ channel: "num/early", message: "right after a restart" });
        const layout = await publisher.layout();
        const [env] = envelopesFromReply(await publisher.send("XRANGE", [layout.historyKey("num/early"), id, id]), "num/early");
        expect(env?.gotify?.id).toBe(await a.store.current("message"));
        expect(store.isBound("num/early")).toBe(true);
      } finally {
        closeAll([{ publisher, hub, store }]);
      }
    });
  });
}

sharedState("our pub/sub server", () => startPubSub());
needs("redis-server").describe("on redis-server 7 too", () => sharedState("redis-server", () => startRedis()));

describe("the counters survive a restart of our pub/sub server (--data)", () => {
  test("numbers go on from the last one given, not from 1", async () => {
    const port = await freePort();
    const data = tempPath("gotify-counters.db");
    let proc = spawnPubSubAt(port, data);
    const url = `redis://127.0.0.1:${port}`;
    try {
      await waitForPort(port);
      const one = await webServer(url);
      const first = [await one.store.next("message"), await one.store.next("message"), await one.store.next("app")];
      expect(first).toEqual([1, 2, 1]);
      const app = await one.store.createApp("alice", { name: "Kept", description: "", defaultPriority: 0, sortKey: "" });
      closeAll([one]);
      proc.kill();
      await proc.exited;
      proc = spawnPubSubAt(port, data);
      await waitForPort(port);
      const two = await webServer(url);
      try {
        expect(await two.store.next("message")).toBe(3);
        expect(await two.store.next("app")).toBe(app.id + 1);
        expect(two.store.appByToken(app.token)).toEqual(app);
      } finally {
        closeAll([two]);
      }
    } finally {
      proc.kill();
      await proc.exited;
    }
  });
});

describe("a pub/sub server whose ACL does not give the web server notistream-gotify:*", () => {
  let server: Running;
  beforeAll(async () => {
    const acl = tempPath("gotify-noacl.acl");
    // An older docs/users.acl's web user, and KEYS taken away too (so the first load itself is refused).
    await Bun.write(acl, "user default on nopass allchannels ~notistream:* +@all -keys\n");
    server = await startPubSub(["--acl", acl]);
  });
  afterAll(async () => server?.stop());

  test("Gotify is off with a log line naming the grant, and every publish still goes through", async () => {
    const log: string[] = [];
    const s = await webServer(`redis://127.0.0.1:${server.port}`, log);
    try {
      expect(log.join("\n")).toContain("notistream-gotify:*");
      expect(s.store.isBound("any")).toBe(false);
      expect((await s.publisher.publish({ channel: "any", message: "still here" })).id).toMatch(/^\d+-\d+$/);
      // Making an app says why it cannot: the server refused the key.
      await expect(s.store.createApp("alice", { name: "x", description: "", defaultPriority: 0, sortKey: "" })).rejects.toThrow(/NOPERM/);
    } finally {
      closeAll([s]);
    }
  });
});
