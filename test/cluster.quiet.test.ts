// test/cluster.quiet.test.ts — cluster.ts's guard on ioredis: a sharded subscriber that was stopped (a failover or a
// reshard makes the subscriber group stop it) keeps a listener for "error", so a reply still on the wire cannot throw
// from ioredis's queue check and end the web server, as it did once in a cluster e2e run.
import { EventEmitter } from "node:events";
import { expect, test } from "bun:test";
import ShardedSubscriber from "ioredis/built/cluster/ShardedSubscriber";
import { keepStoppedSubscribersQuiet } from "../cluster";

test("after stop(), an error on the subscriber's old connection is dropped, not thrown", () => {
  keepStoppedSubscribersQuiet(); // done once on loading cluster.ts; calling it again changes nothing
  const sub = new ShardedSubscriber(new EventEmitter(), { host: "127.0.0.1", port: 1 });
  const instance = sub.getInstance()!;
  sub.stop();
  expect(sub.getInstance()).toBeNull();
  // What ioredis's DataHandler does with an unexpected reply on a connection whose listeners were removed.
  expect(() => instance.emit("error", new Error("Command queue state error. Last reply: sunsubscribe,spread/050,7"))).not.toThrow();
});
