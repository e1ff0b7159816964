// test/pubsub.test.ts — the pub/sub server as a process: limits, the slow-subscriber cut-off, password,
// INFO and CLIENT LIST figures, big and binary payloads, and the command line.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { BUN, ROOT, Raw, freePort, needs, run, startPubSub, tempPath, until, type Running } from "./helpers";
import { encodeCommand } from "../resp";

describe("pub/sub server", () => {
  let srv: Running;
  beforeAll(async () => {
    srv = await startPubSub(["--maxclients", "50", "--pubsub-output-limit", "4194304 262144 2"]);
  });
  afterAll(async () => {
    await srv?.stop();
  });

  test("prints one ready line with its address, and warns when there is no password", async () => {
    // The port can answer a moment before the line reaches our pipe on a loaded machine.
    await until("the ready line", () => srv.output().includes("no password set"), 5000).catch(() => {});
    expect(srv.output()).toContain(`pubsub: listening on redis://127.0.0.1:${srv.port}`);
    expect(srv.output()).toContain("no password set");
  });

  test("a 1 MB binary payload arrives intact", async () => {
    const sub = await Raw.open(srv.port);
    sub.command("SUBSCRIBE", "big");
    await sub.reply();
    const pub = await Raw.open(srv.port);
    const payload = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 255);
    pub.command("PUBLISH", "big", payload);
    expect(await pub.reply()).toEqual({ type: "int", value: 1 });
    const msg = await sub.reply();
    if (msg.type !== "array" || !msg.value) throw new Error("expected a message");
    const body = msg.value[2]!;
    expect(body.type === "bulk" && body.value ? Buffer.compare(Buffer.from(body.value), Buffer.from(payload)) : -1).toBe(0);
    sub.close();
    pub.close();
  });

  test("INFO reports real figures for clients, channels, patterns and messages", async () => {
    const a = await Raw.open(srv.port);
    a.command("SUBSCRIBE", "info-1", "info-2");
    a.command("PSUBSCRIBE", "info-*");
    await a.waitBytes(1);
    await a.settle();
    const q = await Raw.open(srv.port);
    const before = String(await q.call("INFO", "stats"));
    const published = Number(/total_published_messages:(\d+)/.exec(before)![1]);
    expect(await q.call("PUBLISH", "info-1", "x")).toBe(2);
    const info = String(await q.call("INFO"));
    expect(info).toContain("# Server\r\nredis_version:7.0.15\r\n");
    expect(info).toMatch(/connected_clients:\d+/);
    expect(info).toContain("loading:0");
    expect(info).toMatch(/pubsub_channels:[2-9]\d*/);
    expect(info).toMatch(/pubsub_patterns:[1-9]\d*/);
    expect(info).toContain(`total_published_messages:${published + 1}`);
    expect(String(await q.call("INFO", "nosuchsection"))).toBe("");
    a.close();
    q.close();
  });

  test("CLIENT LIST and CLIENT INFO use Redis's fields", async () => {
    const q = await Raw.open(srv.port);
    await q.call("CLIENT", "SETNAME", "lister");
    const line = String(await q.call("CLIENT", "INFO"));
    expect(line).toMatch(
      /^id=\d+ addr=127\.0\.0\.1:\d+ laddr=\S+ fd=\d+ name=lister age=\d+ idle=\d+ flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=\d+ qbuf-free=\d+ argv-mem=\d+ multi-mem=\d+ rbs=\d+ rbp=\d+ obl=\d+ oll=\d+ omem=\d+ tot-mem=\d+ events=\S+ cmd=client\|info user=default redir=-1 resp=2\n$/,
    );
    expect(String(await q.call("CLIENT", "LIST"))).toContain("name=lister");
    q.close();
  });

  test("a subscriber that stops reading is cut off at its output limit; the others get every message", async () => {
    // A node:net socket paused right after subscribing never reads again, so the server's queue for it grows.
    const slow: Socket = connect(srv.port, "127.0.0.1");
    await new Promise<void>((res) => slow.once("connect", () => res()));
    let slowClosed = false;
    slow.on("close", () => (slowClosed = true));
    slow.on("error", () => (slowClosed = true));
    slow.write(Buffer.from(encodeCommand(["SUBSCRIBE", "flood"])));
    await Bun.sleep(100);
    slow.pause();

    const fast = await Raw.open(srv.port);
    fast.command("SUBSCRIBE", "flood");
    await fast.reply();
    const pub = await Raw.open(srv.port);
    const payload = "p".repeat(1000);
    const N = 20000;
    let fastGot = 0;
    // The reader keeps up by construction: each batch is read before the next is sent. Sending on without waiting
    // let this process (reader and publisher both) fall behind on a loaded machine, and the reader, over the
    // 256 KB soft limit for 2 s, was cut off too: a slow reader, which is what the limit is for.
    for (let i = 0; i < N; i += 500) {
      for (let j = 0; j < 500; j++) pub.command("PUBLISH", "flood", payload);
      for (let j = 0; j < 500; j++) if ((await fast.reply(10000)).type === "array") fastGot++;
    }
    await pub.settle(50, 10000);
    expect(fastGot).toBe(N);
    const q = await Raw.open(srv.port);
    const stats = String(await q.call("INFO", "stats"));
    expect(Number(/client_output_buffer_limit_disconnections:(\d+)/.exec(stats)![1])).toBeGreaterThanOrEqual(1);
    expect(Number(await q.call("PUBSUB", "NUMSUB", "flood").then((r) => (r as unknown[])[1]))).toBe(1);
    const mem = String(await q.call("INFO", "memory"));
    const rss = Number(/used_memory_rss:(\d+)/.exec(mem)![1]);
    console.log(`slow subscriber cut off after ${N} x 1 KB messages; server RSS ${(rss / 1048576).toFixed(1)} MB`);
    expect(rss).toBeLessThan(400 * 1048576);
    slow.destroy();
    expect(srv.output()).toContain("closed for overcoming of output buffer limits");
    fast.close();
    pub.close();
    q.close();
    void slowClosed;
  }, 60000);

  test("a soft-limit offender is cut off once it stays over the soft limit long enough", async () => {
    const slow: Socket = connect(srv.port, "127.0.0.1");
    await new Promise<void>((res) => slow.once("connect", () => res()));
    slow.write(Buffer.from(encodeCommand(["SUBSCRIBE", "soft"])));
    await Bun.sleep(100);
    slow.pause();
    const pub = await Raw.open(srv.port);
    // Batches of 500 KB: over the 256 KB soft limit, under the 4 MB hard limit once the kernel's buffers are full.
    const payload = "s".repeat(1000);
    for (let k = 0; k < 12; k++) {
      for (let i = 0; i < 500; i++) pub.command("PUBLISH", "soft", payload);
      await pub.settle(20);
      const q = await Raw.open(srv.port);
      const n = (await q.call("PUBSUB", "NUMSUB", "soft")) as unknown[];
      q.close();
      if (n[1] === 0) break;
    }
    const q = await Raw.open(srv.port);
    for (let i = 0; i < 50; i++) {
      const n = (await q.call("PUBSUB", "NUMSUB", "soft")) as unknown[];
      if (n[1] === 0) break;
      await Bun.sleep(200);
    }
    expect(((await q.call("PUBSUB", "NUMSUB", "soft")) as unknown[])[1]).toBe(0);
    slow.destroy();
    pub.close();
    q.close();
  }, 60000);

  test("bad input never stops the server from serving others", async () => {
    const good = await Raw.open(srv.port);
    for (const junk of ["*x\r\n", "*1\r\n$-5\r\n", '"unbalanced\r\n', "\x00\x01\x02\r\n", "*1\r\n$3\r\nab"]) {
      const bad = await Raw.open(srv.port);
      bad.send(junk);
      await bad.settle(20, 500);
      bad.close();
    }
    expect(await good.call("PING")).toBe("PONG");
    good.close();
  });
});

describe("limits set at start", () => {
  test("maxclients refuses the next connection with Redis's error", async () => {
    const srv = await startPubSub(["--maxclients", "2"]);
    const a = await Raw.open(srv.port);
    expect(await a.call("PING")).toBe("PONG");
    const b = await Raw.open(srv.port);
    expect(await b.call("PING")).toBe("PONG"); // both are registered before the third arrives
    const c = await Raw.open(srv.port);
    await c.waitBytes(1);
    expect(c.bytes().toString()).toBe("-ERR max number of clients reached\r\n");
    await c.settle(20, 1000);
    expect(c.closed).toBe(true);
    expect(await b.call("PING")).toBe("PONG");
    a.close();
    b.close();
    await srv.stop();
  });

  test("--proto-max-bulk-len lowers the bulk cap", async () => {
    const srv = await startPubSub(["--proto-max-bulk-len", "100"]);
    const a = await Raw.open(srv.port);
    a.send("*2\r\n$4\r\nECHO\r\n$101\r\n");
    await a.waitBytes(1);
    expect(a.bytes().toString()).toBe("-ERR Protocol error: invalid bulk length\r\n");
    a.close();
    await srv.stop();
  });

  test("NOTISTREAM_PASSWORD protects the server and silences the warning", async () => {
    const srv = await startPubSub([], { NOTISTREAM_PASSWORD: "hunter2" });
    const a = await Raw.open(srv.port);
    expect(String(await a.call("PING"))).toContain("NOAUTH");
    expect(await a.call("AUTH", "hunter2")).toBe("OK");
    expect(await a.call("PING")).toBe("PONG");
    expect(srv.output()).not.toContain("no password set");
    expect(srv.output()).not.toContain("hunter2");
    a.close();
    await srv.stop();
  });
});

describe("stopping", () => {
  test("SIGTERM stops accepting, keeps every acknowledged write, closes clients and exits 0 within 5 s", async () => {
    const data = tempPath("graceful.db");
    const srv = await startPubSub(["--data", data]);
    const a = await Raw.open(srv.port);
    for (let i = 0; i < 200; i++) a.command("XADD", "notistream:g", "*", "message", `m${i}`);
    await a.waitBytes(200 * 17);
    const sub = await Raw.open(srv.port);
    await sub.call("SUBSCRIBE", "g");
    const t0 = Date.now();
    srv.proc.kill("SIGTERM");
    expect(await srv.proc.exited).toBe(0);
    const took = Date.now() - t0;
    console.log(`SIGTERM to exit: ${took} ms`);
    expect(took).toBeLessThan(5000);
    await sub.settle(20, 1000);
    expect(sub.closed).toBe(true);
    const again = await startPubSub(["--data", data]);
    const b = await Raw.open(again.port);
    expect(await b.call("XLEN", "notistream:g")).toBe(200);
    b.close();
    a.close();
    await again.stop();
  });

  needs("redis-cli").test("maxclients follows the open-file limit: by default the limit less 32, and a larger --maxclients is lowered, with a warning", async () => {
    const start = async (extra: string) => {
      const port = await freePort();
      const r = await run(["sh", "-c", `ulimit -n 512 && timeout 2 ${BUN} ${ROOT}/pubsub.ts --host 127.0.0.1 --port ${port} --data ${tempPath("fd.db")} ${extra} & sleep 1; redis-cli -p ${port} INFO clients; wait`]);
      return { out: r.stdout + r.stderr, info: r.stdout };
    };
    const byDefault = await start("");
    // An open server keeps no reserved slots, so they take no files.
    expect(byDefault.out).toContain("pubsub: maxclients 480 (the open-file limit 512 less 32 for the server's own files;");
    expect(byDefault.info).toContain("maxclients:480");
    const tooMany = await start("--maxclients 10000");
    expect(tooMany.out).toContain("--maxclients 10000 needs 10032 open files but the open-file limit is 512, so maxclients is 480");
    expect(tooMany.info).toContain("maxclients:480");
    // With a password, 16 slots are kept for clients that log in, and they come out of the limit too.
    const withPassword = await start("--password pw");
    expect(withPassword.out).toContain("pubsub: maxclients 464 (the open-file limit 512 less 32 for the server's own files and 16 reserved for clients that log in");
    const fits = await start("--maxclients 100");
    expect(fits.out).toContain("pubsub: maxclients 100 (open-file limit 512)");
   }, 20_000);
});

describe("command line", () => {
  test("--help lists the flags and their environment variables", async () => {
    const r = await run([BUN, `${ROOT}/pubsub.ts`, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--port");
    expect(r.stdout).toContain("NOTISTREAM_PUBSUB_PORT");
    expect(r.stdout).toContain("--password");
  });

  test("a taken port exits non-zero with a clear message", async () => {
    const srv = await startPubSub();
    const r = await run([BUN, `${ROOT}/pubsub.ts`, "--host", "127.0.0.1", "--port", String(srv.port), "--data", tempPath("taken.db")]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("already in use");
    await srv.stop();
  });

  test("an unknown flag, a flag without its value or a stray word is a usage error in a plain sentence", async () => {
    for (const [args, sentence] of [
      [["--prot", "6379"], "bun pubsub.ts: unknown flag --prot; run with --help to see the flags"],
      [["--port"], "bun pubsub.ts: --port needs a value"],
      [["6379"], 'bun pubsub.ts: unexpected argument "6379": flags start with --; run with --help to see the flags'],
    ] as const) {
      const r = await run([BUN, `${ROOT}/pubsub.ts`, ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(sentence);
    }
  });

  test("a bad port is a usage error", async () => {
    const r = await run([BUN, `${ROOT}/pubsub.ts`, "--port", "http"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--port must be a whole number");
  });

  test("./startserver.sh pubsub starts the server from the environment and stops on SIGTERM", async () => {
    const port = await freePort();
    const proc = Bun.spawn([`${ROOT}/startserver.sh`, "pubsub"], {
      env: { ...process.env, NOTISTREAM_PUBSUB_PORT: String(port), NOTISTREAM_PUBSUB_HOST: "127.0.0.1", NOTISTREAM_DATA: tempPath("s.db") },
      stdout: "pipe",
      stderr: "pipe",
    });
    const { waitForPort } = await import("./helpers");
    await waitForPort(port);
    const a = await Raw.open(port);
    expect(await a.call("PING")).toBe("PONG");
    a.close();
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  });
});
