// test/web_sendqueue.test.ts — the send queue: first in first out, at most `concurrency` at once, a pause holds new
// starts back until its time, and a long queue keeps its order across the trimming of consumed jobs.
import { describe, expect, test } from "bun:test";
import { SendQueue } from "../web_sendqueue";

/** A job that finishes when the test says so. */
function gate(): { promise: Promise<void>; open: () => void } {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { promise, open: resolve };
}

describe("SendQueue", () => {
  test("runs at most `concurrency` at once, in the order added, and starts the next as one finishes", async () => {
    const started: number[] = [];
    const gates = new Map<number, ReturnType<typeof gate>>();
    const q = new SendQueue<number>(async (n) => {
      started.push(n);
      const g = gate();
      gates.set(n, g);
      await g.promise;
    }, 2);
    for (const n of [1, 2, 3, 4]) q.add(n);
    expect(started).toEqual([1, 2]);
    expect([q.running, q.waiting]).toEqual([2, 2]);
    gates.get(2)!.open();
    await Bun.sleep(0);
    expect(started).toEqual([1, 2, 3]);
    for (const n of [1, 3]) gates.get(n)!.open();
    await Bun.sleep(0);
    gates.get(4)!.open();
    await Bun.sleep(0);
    expect(started).toEqual([1, 2, 3, 4]);
    expect([q.running, q.waiting]).toEqual([0, 0]);
  });

  test("a pause holds new starts back until its time; the running ones go on", async () => {
    const started: number[] = [];
    const q = new SendQueue<number>(async (n) => void started.push(n), 4);
    q.pauseUntil(Date.now() + 50);
    q.add(1);
    expect(started).toEqual([]);
    expect(q.waiting).toBe(1);
    await Bun.sleep(80);
    expect(started).toEqual([1]);
    q.stop();
  });

  test("thousands of jobs keep their order through the trimming of consumed ones", async () => {
    const done: number[] = [];
    const q = new SendQueue<number>(async (n) => {
      await Bun.sleep(0);
      done.push(n);
    }, 1);
    for (let n = 0; n < 5000; n++) q.add(n);
    while (q.waiting + q.running > 0) await Bun.sleep(1);
    expect(done).toEqual([...Array(5000).keys()]);
  });
});
