// test/web_gotify_stream.test.ts — GotifyStream on its own: frames only for numbered messages, under the reading user's
// app; following apps as they come and go; closed when its client is deleted; pings; catch-up after the shared
// subscription came back, in order and none twice. A fake hub, directory and socket stand in for the real ones.
import { describe, expect, test } from "bun:test";
import { compareIds, type Envelope } from "../message";
import type { SocketSession } from "../web_events";
import { GotifyStream, gotifyFrame, openGotifyStreams, originAllowed, type BoundApp, type HistoryAfter } from "../web_gotify_stream";
import type { HubListener } from "../web_hub";
import type { ServerWebSocket } from "bun";
import { until } from "./helpers";

class FakeHub {
  readonly listeners = new Map<string, Set<HubListener>>();
  listen(channel: string, l: HubListener): void {
    if (!this.listeners.has(channel)) this.listeners.set(channel, new Set());
    this.listeners.get(channel)!.add(l);
  }
  unlisten(channel: string, l: HubListener): void {
    this.listeners.get(channel)?.delete(l);
    if (this.listeners.get(channel)?.size === 0) this.listeners.delete(channel);
  }
  publish(env: Envelope): void {
    for (const l of this.listeners.get(env.channel) ?? []) l.message(env);
  }
  confirm(channel: string): void {
    for (const l of this.listeners.get(channel) ?? []) l.resubscribed();
  }
}

class FakeDirectory {
  apps: BoundApp[] = [];
  valid = true;
  private readonly listeners = new Set<() => void>();
  appsOf = (user: string): BoundApp[] => (user === "alice" ? this.apps : []);
  stillValid = (): boolean => this.valid;
  onChange = (l: () => void): (() => void) => (this.listeners.add(l), () => this.listeners.delete(l));
  change(): void {
    for (const l of this.listeners) l();
  }
  get watchers(): number {
    return this.listeners.size;
  }
}

/** The socket's part a stream uses, recording it. `full` makes sendText drop (Bun's 0, past the backpressure limit). */
class FakeSocket {
  texts: string[] = [];
  pings = 0;
  closedWith: [number, string] | null = null;
  terminated = false;
  full = false;
  sendText(text: string): number {
    if (this.full) return 0;
    this.texts.push(text);
    return text.length;
  }
  ping(): number {
    this.pings++;
    return 1;
  }
  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
  }
  terminate(): void {
    this.terminated = true;
  }
  get messages(): { id: number; appid: number; message: string }[] {
    return this.texts.map((t) => JSON.parse(t) as { id: number; appid: number; message: string });
  }
}

let ms = 1_900_000_000_000;
/** A numbered message on `channel` as history holds it (Gotify number `n`), its stream ID later than any before. */
function numbered(channel: string, n: number, extra: Partial<Envelope> = {}): Envelope {
  return { id: `${++ms}-0`, time: Math.floor(ms / 1000), channel, message: `message ${n}`, gotify: { id: n, priority: 5 }, ...extra };
}

function start(dir: FakeDirectory, hub: FakeHub, history: HistoryAfter = async function* () {}, pingMs = 60_000) {
  const ws = new FakeSocket();
  const errors: unknown[] = [];
  let closed = 0;
  const stream = new GotifyStream("alice", hub, dir, history, pingMs, (e) => errors.push(e), () => closed++);
  stream.opened(ws as unknown as ServerWebSocket<SocketSession>);
  return { ws, stream, errors, closes: () => closed };
}

describe("GotifyStream", () => {
  test("one JSON frame per numbered message, under the user's app for its channel; unnumbered and ntfy events are left out", () => {
    const hub = new FakeHub();
    const dir = new FakeDirectory();
    dir.apps = [{ id: 7, channel: "gotify-backups" }];
    const { ws, stream } = start(dir, hub);
    expect(stream.listening).toEqual(new Map([["gotify-backups", 7]]));
    hub.publish(numbered("gotify-backups", 1));
    // Published before the channel was bound, or straight over RESP: no number, never shown to Gotify clients.
    hub.publish({ id: `${++ms}-0`, time: 1, channel: "gotify-backups", message: "no number" });
    hub.publish({ id: "", time: 1, channel: "gotify-backups", message: "plain RESP" });
    // ntfy's delete and clear events (issue 25) and base64 bodies are not Gotify messages.
    hub.publish(numbered("gotify-backups", 2, { event: "message_delete" }));
    hub.publish(numbered("gotify-backups", 3, { encoding: "base64" }));
    hub.publish(numbered("gotify-backups", 4));
    expect(ws.messages.map((m) => [m.id, m.appid, m.message])).toEqual([
      [1, 7, "message 1"],
      [4, 7, "message 4"],
    ]);
    stream.closed();
  });

  test("a live message is never judged old by the web server's clock: only IDs already seen are", () => {
    const hub = new FakeHub();
    const dir = new FakeDirectory();
    dir.apps = [{ id: 3, channel: "gotify-skew" }];
    const { ws, stream } = start(dir, hub);
    // A pub/sub server whose clock is behind the web server's: its IDs are older than the time the stream opened.
    const behind = (n: number, ms: number): Envelope => ({ id: `${ms}-0`, time: 1, channel: "gotify-skew", message: `m${n}`, gotify: { id: n } });
    hub.publish(behind(1, 1000));
    hub.publish(behind(2, 1001));
    hub.publish(behind(2, 1001)); // the same entry twice (the hub's and a catch-up's copy): once
    expect(ws.messages.map((m) => m.id)).toEqual([1, 2]);
    stream.closed();
  });

  test("a frame is made once per message and app number, and shared", () => {
    const env = numbered("gotify-x", 9);
    expect(gotifyFrame(env, 1)).toBe(gotifyFrame(env, 1));
    expect(JSON.parse(gotifyFrame(env, 2)!)).toMatchObject({ id: 9, appid: 2 });
    expect(gotifyFrame({ ...env, gotify: undefined }, 1)).toBeNull();
  });

  test("follows the user's apps: a new app's channel is listened to, a deleted one's is let go", () => {
    const hub = new FakeHub();
    const dir = new FakeDirectory();
    dir.apps = [{ id: 1, channel: "gotify-a" }];
    const { ws, stream } = start(dir, hub);
    hub.publish(numbered("gotify-b", 1));
    dir.apps = [...dir.apps, { id: 2, channel: "gotify-b" }];
    dir.change();
    hub.publish(numbered("gotify-b", 2));
    dir.apps = [{ id: 2, channel: "gotify-b" }];
    dir.change();
    expect([...hub.listeners.keys()]).toEqual(["gotify-b"]);
    hub.publish(numbered("gotify-a", 3));
    hub.publish(numbered("gotify-b", 4));
    expect(ws.messages.map((m) => [m.id, m.appid])).toEqual([
      [2, 2],
      [4, 2],
    ]);
    stream.closed();
  });

  test("a deleted client (or user) closes the stream, as Gotify's NotifyDeletedClient; closing lets go of everything", () => {
    const hub = new FakeHub();
    const dir = new FakeDirectory();
    dir.apps = [{ id: 1, channel: "gotify-a" }];
    const before = openGotifyStreams();
    const { ws, stream, closes } = start(dir, hub);
    expect(openGotifyStreams()).toBe(before + 1);
    dir.valid = false;
    dir.change();
    expect(ws.closedWith).toEqual([1000, "the client or its user was deleted"]);
    stream.closed(); // Bun's close callback
    stream.closed();
    expect(closes()).toBe(1);
    expect(hub.listeners.size).toBe(0);
    expect(dir.watchers).toBe(0);
    expect(openGotifyStreams()).toBe(before);
  });

  test("pings every ping period (api/stream/client.go startWriteHandler's pingTicker)", async () => {
    const dir = new FakeDirectory();
    const { ws, stream } = start(dir, new FakeHub(), undefined, 10);
    await until("two pings", () => ws.pings >= 2);
    stream.closed();
    const pings = ws.pings;
    await Bun.sleep(40);
    expect(ws.pings).toBe(pings);
  });

  test("a frame Bun drops (past the backpressure limit) ends the socket abruptly, so the client pages for the gap", () => {
    const hub = new FakeHub();
    const dir = new FakeDirectory();
    dir.apps = [{ id: 1, channel: "gotify-a" }];
    const { ws, stream } = start(dir, hub);
    ws.full = true;
    hub.publish(numbered("gotify-a", 1));
    expect(ws.terminated).toBe(true);
    stream.closed();
  });

  test("after the shared subscription comes back: what history has since, in order, then the live ones held meanwhile, none twice", async () => {
    const hub = new FakeHub();
    const dir = new FakeDirectory();
    dir.apps = [{ id: 1, channel: "gotify-a" }];
    const seen = numbered("gotify-a", 1);
    const missed = [numbered("gotify-a", 2), numbered("gotify-a", 3)];
    const liveDuring = numbered("gotify-a", 4);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const asked: [string, string][] = [];
    const history: HistoryAfter = async function* (channel, after) {
      asked.push([channel, after]);
      await gate;
      // History holds the one already sent, the missed ones, and the one that also came live: each is sent once.
      for (const env of [seen, ...missed, liveDuring]) if (compareIds(env.id, after) > 0) yield env;
    };
    const { ws, stream } = start(dir, hub, history);
    hub.confirm("gotify-a"); // the first confirmation: nothing owed
    expect(asked).toEqual([]);
    hub.publish(seen);
    hub.confirm("gotify-a"); // back after an outage
    hub.publish(liveDuring); // held until the catch-up is done
    hub.publish(numbered("gotify-a", 5));
    expect(ws.messages.map((m) => m.id)).toEqual([1]);
    release();
    await until("the catch-up", () => ws.texts.length === 5);
    expect(asked).toEqual([["gotify-a", seen.id]]);
    expect(ws.messages.map((m) => m.id)).toEqual([1, 2, 3, 4, 5]);
    hub.publish(numbered("gotify-a", 6));
    expect(ws.messages.map((m) => m.id)).toEqual([1, 2, 3, 4, 5, 6]);
    stream.closed();
  });

  test("a channel bound while the stream is open is read from history once confirmed: its first messages may come before", async () => {
    const hub = new FakeHub();
    const dir = new FakeDirectory();
    dir.apps = [{ id: 1, channel: "gotify-a" }];
    const early = numbered("gotify-b", 1);
    const asked: string[] = [];
    const history: HistoryAfter = async function* (channel, after) {
      asked.push(channel);
      expect(compareIds(after, early.id)).toBeLessThan(0); // from a little before the change was heard
      yield early;
    };
    const { ws, stream } = start(dir, hub, history);
    hub.confirm("gotify-a"); // opened with the socket: nothing owed
    dir.apps = [...dir.apps, { id: 2, channel: "gotify-b" }];
    dir.change();
    hub.confirm("gotify-b");
    hub.publish(early); // the same message live too: sent once
    await until("the catch-up", () => ws.texts.length === 1);
    hub.publish(numbered("gotify-b", 2));
    expect(asked).toEqual(["gotify-b"]);
    expect(ws.messages.map((m) => [m.id, m.appid])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    stream.closed();
  });

  test("a failed catch-up is reported, and the held live messages still go out", async () => {
    const hub = new FakeHub();
    const dir = new FakeDirectory();
    dir.apps = [{ id: 1, channel: "gotify-a" }];
    const history: HistoryAfter = async function* () {
      throw new Error("the pub/sub server is away");
    };
    const { ws, stream, errors } = start(dir, hub, history);
    hub.confirm("gotify-a");
    hub.confirm("gotify-a");
    hub.publish(numbered("gotify-a", 1));
    await until("the held message", () => ws.texts.length === 1);
    expect(errors.map((e) => (e as Error).message)).toEqual(["the pub/sub server is away"]);
    stream.closed();
  });
});

describe("originAllowed (api/stream/stream.go isAllowedOrigin, without an allowed-origins list)", () => {
  test("no Origin, or the request's own host, may open a stream; another site's page may not", () => {
    expect(originAllowed(null, "push.example.org")).toBe(true);
    expect(originAllowed("", "push.example.org")).toBe(true);
    expect(originAllowed("https://push.example.org", "push.example.org")).toBe(true);
    expect(originAllowed("https://PUSH.example.org:8443", "push.example.org:8443")).toBe(true);
    expect(originAllowed("https://evil.example", "push.example.org")).toBe(false);
    expect(originAllowed("https://push.example.org:444", "push.example.org")).toBe(false);
    expect(originAllowed("not a url", "push.example.org")).toBe(false);
    expect(originAllowed("https://push.example.org", null)).toBe(false);
  });
});
