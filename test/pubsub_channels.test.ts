// test/pubsub_channels.test.ts — the subscription registry without sockets: notices byte for byte, counts per kind,
// fan-out to channels, patterns and shard channels, one shared frame per delivery, and leaving.
import { describe, expect, test } from "bun:test";
import { Channels, Subscriptions, type Subscriber, type SubscriptionSets } from "../pubsub_channels";
import { ArgvArgs, encodeDelivery, latin1, type Proto } from "../resp";

class Fake implements Subscriber {
  subs: SubscriptionSets | null = null;
  notices: string[] = [];
  frames: Uint8Array[] = [];
  constructor(readonly resp: Proto = 2) {}
  push(s: string): void {
    this.notices.push(s);
  }
  queueFrame(frame: Uint8Array): void {
    this.frames.push(frame);
  }
  get text(): string[] {
    return this.frames.map(latin1);
  }
}

const b = (s: string) => Buffer.from(s, "latin1");
/** A PUBLISH's arguments as an argv: the registry reads the channel and payload from arguments 1 and 2. */
const pub = (channel: Uint8Array, message: Uint8Array) => new ArgvArgs([b("publish"), channel, message]);

describe("Channels", () => {
  test("subscribe notices carry the count of channels and patterns together; shard channels count apart", () => {
    const reg = new Channels<Fake>();
    const c = new Fake();
    reg.subscribe(c, "channel", "a");
    reg.subscribe(c, "pattern", "p*");
    reg.subscribe(c, "shard", "s");
    reg.subscribe(c, "channel", "a"); // again: no new subscription, the same count
    expect(c.notices).toEqual([
      "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n",
      "*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:2\r\n",
      "*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n",
      "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n",
    ]);
    expect(Channels.total(c)).toBe(3);
    expect([reg.size("channel"), reg.size("pattern"), reg.size("shard")]).toEqual([1, 1, 1]);
  });

  test("RESP3 notices are pushes, and leaving with nothing to leave answers once with a null", () => {
    const reg = new Channels<Fake>();
    const c = new Fake(3);
    reg.unsubscribeAll(c, "pattern", true);
    reg.unsubscribeAll(c, "shard", true);
    expect(c.notices).toEqual([">3\r\n$12\r\npunsubscribe\r\n_\r\n:0\r\n", ">3\r\n$12\r\nsunsubscribe\r\n_\r\n:0\r\n"]);
    const c2 = new Fake(2);
    reg.unsubscribeAll(c2, "channel", true);
    expect(c2.notices).toEqual(["*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"]);
  });

  test("unsubscribing every channel says so once per channel, counting down", () => {
    const reg = new Channels<Fake>();
    const c = new Fake();
    for (const ch of ["x", "y"]) reg.subscribe(c, "channel", ch);
    c.notices = [];
    reg.unsubscribeAll(c, "channel", true);
    expect(c.notices).toEqual(["*3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:1\r\n", "*3\r\n$11\r\nunsubscribe\r\n$1\r\ny\r\n:0\r\n"]);
    expect(reg.size("channel")).toBe(0);
    expect(reg.subscribers("channel", "x")).toBe(0);
  });

  test("PUBLISH reaches channel and pattern subscribers; SPUBLISH reaches shard subscribers only", () => {
    const reg = new Channels<Fake>();
    const plain = new Fake();
    const pat = new Fake();
    const shard = new Fake();
    reg.subscribe(plain, "channel", "news");
    reg.subscribe(pat, "pattern", "n*");
    reg.subscribe(pat, "pattern", "x*");
    reg.subscribe(shard, "shard", "news");
    expect(reg.publish("publish", pub(b("news"), b("hi")))).toBe(2);
    expect(plain.text).toEqual(["*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"]);
    expect(pat.text).toEqual(["*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n"]);
    expect(shard.frames).toEqual([]);
    expect(reg.publish("spublish", pub(b("news"), b("yo")))).toBe(1);
    expect(shard.text).toEqual(["*3\r\n$8\r\nsmessage\r\n$4\r\nnews\r\n$2\r\nyo\r\n"]);
    expect(reg.publish("publish", pub(b("other"), b("z")))).toBe(0);
  });

  test("one frame object is shared by every RESP2 receiver; RESP3 receivers share its push form", () => {
    const reg = new Channels<Fake>();
    const subs = [new Fake(2), new Fake(2), new Fake(3), new Fake(3)];
    for (const s of subs) reg.subscribe(s, "channel", "c");
    expect(reg.publish("publish", pub(b("c"), b("m")))).toBe(4);
    expect(subs[0]!.frames[0]).toBe(subs[1]!.frames[0]!);
    expect(subs[2]!.frames[0]).toBe(subs[3]!.frames[0]!);
    expect(subs[0]!.frames[0]).toEqual(encodeDelivery("message", null, pub(b("c"), b("m"))));
    expect(latin1(subs[2]!.frames[0]!)).toBe(">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n");
  });

  test("binary channel names and payloads are delivered byte for byte", () => {
    const reg = new Channels<Fake>();
    const c = new Fake();
    const name = Uint8Array.of(0, 0xff, 13, 10);
    reg.subscribe(c, "channel", latin1(name));
    reg.subscribe(c, "pattern", latin1(Uint8Array.of(0, 0xff)) + "*");
    const payload = Uint8Array.of(1, 2, 0, 255);
    expect(reg.publish("publish", pub(name, payload))).toBe(2);
    expect(c.frames[0]).toEqual(encodeDelivery("message", null, pub(name, payload)));
  });

  test("dropAll leaves everything silently and forgets the pattern's matcher", () => {
    const reg = new Channels<Fake>();
    const c = new Fake();
    reg.subscribe(c, "channel", "a");
    reg.subscribe(c, "pattern", "a*");
    reg.subscribe(c, "shard", "a");
    c.notices = [];
    reg.dropAll(c);
    expect(c.notices).toEqual([]);
    expect(c.subs).toBeNull();
    expect(Channels.total(c)).toBe(0);
    expect([reg.size("channel"), reg.size("pattern"), reg.size("shard")]).toEqual([0, 0, 0]);
    expect(reg.publish("publish", pub(b("ab"), b("x")))).toBe(0);
    // Subscribing again after the drop starts from scratch.
    reg.subscribe(c, "pattern", "a*");
    expect(reg.publish("publish", pub(b("ab"), b("x")))).toBe(1);
  });

  test("a pattern shared by two subscribers stays until the last one leaves", () => {
    const reg = new Channels<Fake>();
    const one = new Fake();
    const two = new Fake();
    reg.subscribe(one, "pattern", "k?");
    reg.subscribe(two, "pattern", "k?");
    reg.unsubscribe(one, "pattern", "k?", true);
    expect(reg.size("pattern")).toBe(1);
    expect(reg.publish("publish", pub(b("k1"), b("v")))).toBe(1);
    expect(two.frames.length).toBe(1);
    expect(reg.unsubscribe(two, "pattern", "k?", false)).toBe(1);
    expect(reg.unsubscribe(two, "pattern", "k?", false)).toBe(0);
    expect(reg.size("pattern")).toBe(0);
  });

  test("names and subscriber counts per kind (PUBSUB CHANNELS / NUMSUB / SHARDNUMSUB)", () => {
    const reg = new Channels<Fake>();
    const [x, y] = [new Fake(), new Fake()];
    reg.subscribe(x, "channel", "a");
    reg.subscribe(y, "channel", "a");
    reg.subscribe(y, "channel", "b");
    reg.subscribe(x, "shard", "s");
    expect([...reg.names("channel")].sort()).toEqual(["a", "b"]);
    expect([...reg.names("shard")]).toEqual(["s"]);
    expect(reg.subscribers("channel", "a")).toBe(2);
    expect(reg.subscribers("shard", "s")).toBe(1);
    expect(reg.subscribers("shard", "a")).toBe(0);
  });

  test("a connection's own record: one name held plainly, more in a set, back to one, each kind apart, names for the ACL", () => {
    const s = new Subscriptions();
    s.add("channel", "a");
    expect([s.count("channel"), s.has("channel", "a"), s.has("channel", "b"), s.has("pattern", "a")]).toEqual([1, true, false, false]);
    s.add("channel", "b");
    s.add("channel", "c");
    s.add("shard", "a");
    expect([...s.channel].sort()).toEqual(["a", "b", "c"]);
    expect([[...s.pattern], [...s.shard]]).toEqual([[], ["a"]]);
    expect([s.delete("channel", "b"), s.delete("channel", "b"), s.delete("pattern", "a")]).toEqual([true, false, false]);
    expect(s.delete("channel", "a")).toBe(true);
    expect([s.count("channel"), s.names("channel"), s.has("channel", "c")]).toEqual([1, ["c"], true]);
    expect(s.delete("channel", "c")).toBe(true);
    expect([s.count("channel"), s.names("channel"), s.count("shard")]).toEqual([0, [], 1]);
  });

  test("subscribers of one channel named by different strings, one leaving and coming back: counts and delivery hold", () => {
    const reg = new Channels<Fake>();
    const [x, y] = [new Fake(), new Fake()];
    reg.subscribe(x, "channel", "shared");
    reg.subscribe(y, "channel", "shar" + "ed".repeat(1)); // another string with the same text
    reg.unsubscribe(x, "channel", "shared", false);
    expect([reg.subscribers("channel", "shared"), subCountOf(y)]).toEqual([1, 1]);
    reg.subscribe(x, "channel", "shared");
    expect(reg.publish("publish", pub(b("shared"), b("m")))).toBe(2);
  });
});

const subCountOf = (f: Fake): number => Channels.total(f);
