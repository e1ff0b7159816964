// test/disk.e2e.test.ts — end to end on a real filesystem fault: the history database on a 1 MB tmpfs that fills up,
// and on a read-only mount. Writes are refused with MISCONF (503 on HTTP), live delivery goes on, nothing acknowledged
// is lost, and writes work again once space (or write access) returns. Needs root to mount (the CI machine is).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Raw, Subscriber, collect, freePort, needs, post, spawnPubSubAt, startWebServer, until, waitForPort } from "./helpers";

const sh = (...cmd: string[]) => {
  const r = spawnSync(cmd);
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString().trim()}`);
};
const mounts: string[] = [];

function tmpfs(sizeKb: number): string {
  const dir = mkdtempSync(join(tmpdir(), "notistream-disk-"));
  sh("mount", "-t", "tmpfs", "-o", `size=${sizeKb}k`, "tmpfs", dir);
  mounts.push(dir);
  return dir;
}

/** Fills the filesystem: writes until the kernel says ENOSPC. */
function fill(dir: string): void {
  const chunk = Buffer.alloc(16 * 1024);
  const path = join(dir, "filler");
  writeFileSync(path, "");
  try {
    for (;;) writeFileSync(path, chunk, { flag: "a" });
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe("ENOSPC");
  }
}

afterAll(() => {
  for (const m of mounts.reverse()) spawnSync(["umount", "-l", m]);
});

needs("root").describe("a full disk", () => {
  test("refuses history writes with MISCONF (503 on POST), keeps live delivery, loses nothing acknowledged, recovers", async () => {
    const dir = tmpfs(1024);
    const data = join(dir, "history.db");
    const port = await freePort();
    let server = spawnPubSubAt(port, data, ["--appendfsync", "always"], "pipe");
    const output = collect(server);
    await waitForPort(port);
    const web = await startWebServer(`redis://127.0.0.1:${port}`);
    const sub = await Subscriber.open(port, ["disk"]);
    const publish = (message: string) => post(web.url, { channel: "disk", message });
    try {
      const accepted: string[] = [];
      for (let i = 0; i < 10; i++) {
        const r = await publish(`before ${i}`);
        expect(r.status).toBe(200);
        accepted.push(`before ${i}`);
      }

      fill(dir);
      // The WAL may still have room for a few writes; 3 KB messages soon need pages the disk cannot give.
      let refusal: { status: number; error: string } | null = null;
      const big = "x".repeat(3000);
      for (let i = 0; i < 300 && !refusal; i++) {
        const r = await publish(`${big} during ${i}`);
        if (r.status === 200) accepted.push(`${big} during ${i}`);
        else refusal = { status: r.status, error: ((await r.json()) as { error: string }).error };
      }
      expect(refusal).not.toBeNull();
      expect(refusal!.status).toBe(503);
      expect(refusal!.error).toContain("refused to store the message (MISCONF)"); // its full answer: in the log (issue 22, Low)
      expect(web.output()).toContain("MISCONF Errors writing to the history database: database or disk is full");

      // On RESP: writes get Redis's MISCONF error, PUBLISH still reaches subscribers, the server answers.
      const raw = await Raw.open(port);
      const xadd = await raw.call("XADD", "notistream:disk", "*", "message", big);
      expect(xadd instanceof Error ? xadd.message : xadd).toBe("MISCONF Errors writing to the history database: database or disk is full");
      const seen = sub.messages.length;
      expect(await raw.call("PUBLISH", "disk", "live while full")).toBe(1);
      await sub.waitFor(seen + 1);
      expect(sub.messages[seen]!.payload).toBe("live while full");
      expect(await raw.call("PING")).toBe("PONG");
      // As in Redis, MISCONF comes before the RESP2 subscribed-mode error.
      const subscribed = await Raw.open(port);
      await subscribed.call("SUBSCRIBE", "elsewhere");
      const inSub = await subscribed.call("XADD", "notistream:disk", "*", "message", "x");
      expect(inSub instanceof Error ? inSub.message : inSub).toBe("MISCONF Errors writing to the history database: database or disk is full");
      subscribed.close();
      const info = String(await raw.call("INFO", "persistence"));
      expect(info).toContain("notistream_history_last_write_status:err");
      // The refusal that found the full disk came at the group commit, after the XADD had run: its reply was swapped.
      expect(Number(/notistream_history_refused_replies:(\d+)/.exec(info)![1])).toBeGreaterThan(0);
      expect(output()).toContain("database or disk is full); writes are refused (MISCONF) and retried every second, live delivery goes on");

      // Space returns: within a few seconds writes are accepted again.
      rmSync(join(dir, "filler"));
      await until("a POST is accepted again", () => output().includes("works again"), 10000);
      const again = await publish("after space returned");
      expect(again.status).toBe(200);
      accepted.push("after space returned");

      // Every acknowledged message reached the subscriber and survives kill -9 and a restart, exactly once, in order.
      const delivered = () => sub.messages.filter((m) => m.payload.startsWith("{")).map((m) => (JSON.parse(m.payload) as { message: string }).message);
      await until("subscriber saw every accepted message", () => delivered().length >= accepted.length, 5000);
      expect(delivered()).toEqual(accepted); // refused POSTs were never published
      raw.close();
      server.kill("SIGKILL");
      await server.exited;
      server = spawnPubSubAt(port, data);
      await waitForPort(port);
      const after = await Raw.open(port);
      const entries = (await after.call("XRANGE", "notistream:disk", "-", "+")) as [string, string[]][];
      const stored = entries.map(([, fields]) => fields[fields.indexOf("message") + 1]);
      expect(stored).toEqual(accepted);
      after.close();
      console.log(`disk: full tmpfs: ${accepted.length} accepted (200) and all kept after kill -9; first refusal ${refusal!.status} MISCONF; live PUBLISH delivered while full; writes accepted again after the space returned; lost 0`);
    } finally {
      sub.close();
      await web.stop();
      server.kill();
    }
  }, 60000);
});

needs("root").describe("a read-only data file", () => {
  let dir: string;
  let ro: string;
  beforeAll(() => {
    dir = tmpfs(4096);
    ro = mkdtempSync(join(tmpdir(), "notistream-ro-"));
  });

  test("starts, serves its history, refuses writes with MISCONF, delivers live, and writes again once writable", async () => {
    const port = await freePort();
    // First a normal run writes two entries and stops cleanly.
    let server = spawnPubSubAt(port, join(dir, "history.db"));
    await waitForPort(port);
    let raw = await Raw.open(port);
    await raw.call("XADD", "notistream:ro", "1-1", "message", "one");
    await raw.call("XADD", "notistream:ro", "1-2", "message", "two");
    raw.close();
    server.kill("SIGTERM");
    await server.exited;

    sh("mount", "--bind", dir, ro);
    mounts.push(ro);
    sh("mount", "-o", "remount,bind,ro", ro);
    server = spawnPubSubAt(port, join(ro, "history.db"), [], "pipe");
    const output = collect(server);
    await waitForPort(port);
    try {
      raw = await Raw.open(port);
      expect(await raw.call("XLEN", "notistream:ro")).toBe(2);
      const refused = await raw.call("XADD", "notistream:ro", "*", "message", "three");
      expect(refused instanceof Error ? refused.message : refused).toBe("MISCONF Errors writing to the history database: attempt to write a readonly database");
      const sub = await Subscriber.open(port, ["ro"]);
      expect(await raw.call("PUBLISH", "ro", "live")).toBe(1);
      await sub.waitFor(1);
      sub.close();
      expect(output()).toContain("attempt to write a readonly database); writes are refused (MISCONF)");

      sh("mount", "-o", "remount,bind,rw", ro);
      let id: unknown = null;
      await until("XADD accepted once the mount is writable", () => {
        void raw.call("XADD", "notistream:ro", "*", "message", "three").then((r) => {
          if (typeof r === "string") id = r;
        });
        return typeof id === "string";
      }, 10000);
      expect(await raw.call("XLEN", "notistream:ro")).toBeGreaterThanOrEqual(3);
      raw.close();
      console.log("disk: read-only mount: started with 2 entries readable, XADD refused with MISCONF, PUBLISH delivered, writes accepted after remount rw");
    } finally {
      server.kill();
    }
  }, 30000);
});
