// test/pubsub_allocator.test.ts — --allocator: which environment the server re-executes with for each mode (pure), and
// real servers: each mode's settings in the process started (same pid, same flags, the log line), the operator's own.
import { afterAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "bun";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { allocatorEnv, allocatorLine } from "../pubsub_allocator";
import { BUN, collect, freePort, startPubSub, stopProc, tempPath, waitForPort, type Running } from "./helpers";

const ROOT = join(import.meta.dir, "..");
const environ = (pid: number): string[] => readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").filter(Boolean);
const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").filter(Boolean);

/** PING over a raw socket: the process at the spawned pid is the one that listens. */
async function ping(port: number): Promise<string> {
  const { promise, resolve } = Promise.withResolvers<string>();
  const sock = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data: (_s, d) => resolve(Buffer.from(d).toString("latin1")) } });
  sock.write("PING\r\n");
  const got = await promise;
  sock.end();
  return got;
}

describe("allocatorEnv and allocatorLine", () => {
  test("the mode's settings are added to everything else the environment holds (other mimalloc settings too)", () => {
    expect(allocatorEnv({ PATH: "/bin", MIMALLOC_PURGE_DELAY: "-1", EMPTY: undefined }, "cpu")).toEqual({ PATH: "/bin", MIMALLOC_PURGE_DELAY: "-1", MIMALLOC_PURGE_HOLES: "0" });
    expect(allocatorEnv({ PATH: "/bin" }, "balanced")).toEqual({ PATH: "/bin", MIMALLOC_PURGE_HOLES_MIN_INTERVAL: "10000", MIMALLOC_PURGE_DELAY: "10000", BUN_JSC_useWarmUpMarkedBlocks: "0" });
  });
  test("none when nothing is missing: memory, the re-executed process, or the operator's choice", () => {
    expect(allocatorEnv({ PATH: "/bin" }, "memory")).toBeNull();
    expect(allocatorEnv({ PATH: "/bin", MIMALLOC_PURGE_HOLES: "0" }, "cpu")).toBeNull();
    expect(allocatorEnv({ MIMALLOC_PURGE_HOLES: "1" }, "cpu")).toBeNull();
    expect(allocatorEnv({ MIMALLOC_PURGE_HOLES_MIN_INTERVAL: "10000", MIMALLOC_PURGE_DELAY: "10000", BUN_JSC_useWarmUpMarkedBlocks: "0" }, "balanced")).toBeNull();
  });
  test("an operator's value for one of the mode's settings stands; only the others are added", () => {
    expect(allocatorEnv({ MIMALLOC_PURGE_DELAY: "-1" }, "balanced")).toEqual({ MIMALLOC_PURGE_DELAY: "-1", MIMALLOC_PURGE_HOLES_MIN_INTERVAL: "10000", BUN_JSC_useWarmUpMarkedBlocks: "0" });
  });
  test("the log line says which settings run", () => {
    expect(allocatorLine({}, "memory")).toBe("pubsub: allocator: saves memory (mimalloc's defaults: freed memory goes back to the system within 100 ms); --allocator balanced or cpu take a tenth to a quarter less CPU per webhook under load");
    expect(allocatorLine({ MIMALLOC_PURGE_HOLES_MIN_INTERVAL: "10000", MIMALLOC_PURGE_DELAY: "10000", BUN_JSC_useWarmUpMarkedBlocks: "0" }, "balanced")).toBe("pubsub: allocator: balanced (MIMALLOC_PURGE_HOLES_MIN_INTERVAL=10000 MIMALLOC_PURGE_DELAY=10000 BUN_JSC_useWarmUpMarkedBlocks=0): freed memory goes back to the system after 10 s instead of 100 ms, so a busy server spends less CPU and an idle one settles as low as with --allocator memory");
    expect(allocatorLine({ MIMALLOC_PURGE_HOLES: "0" }, "cpu")).toBe("pubsub: allocator: saves CPU (MIMALLOC_PURGE_HOLES=0): freed memory inside pages in use is kept for reuse, so memory stays higher (--allocator balanced or memory give it back)");
    expect(allocatorLine({ MIMALLOC_PURGE_HOLES: "1" }, "cpu")).toBe("pubsub: allocator: MIMALLOC_PURGE_HOLES=1, as set in the environment");
    expect(allocatorLine({ MIMALLOC_PURGE_DELAY: "-1", MIMALLOC_PURGE_HOLES_MIN_INTERVAL: "10000", BUN_JSC_useWarmUpMarkedBlocks: "0" }, "balanced")).toBe("pubsub: allocator: MIMALLOC_PURGE_HOLES_MIN_INTERVAL=10000 MIMALLOC_PURGE_DELAY=-1 BUN_JSC_useWarmUpMarkedBlocks=0, as set in the environment");
    expect(allocatorLine({}, "cpu")).toBe("pubsub: allocator: mimalloc's defaults (--allocator cpu could not set MIMALLOC_PURGE_HOLES=0 at start)");
    expect(allocatorLine({}, "balanced")).toBe("pubsub: allocator: mimalloc's defaults (--allocator balanced could not set MIMALLOC_PURGE_HOLES_MIN_INTERVAL=10000 MIMALLOC_PURGE_DELAY=10000 BUN_JSC_useWarmUpMarkedBlocks=0 at start)");
  });
});

describe("a real server", () => {
  const running: Running[] = [];
  afterAll(async () => {
    for (const r of running) await r.stop();
  });

  // Each mode that re-executes: started with these flags, the process at the spawned pid holds its settings and the
  // rest of the environment, and the log names the mode once.
  const reexecuting: [string, string[], string[], string][] = [
    ["by default: balanced", [], ["MIMALLOC_PURGE_HOLES_MIN_INTERVAL=10000", "MIMALLOC_PURGE_DELAY=10000", "BUN_JSC_useWarmUpMarkedBlocks=0"], "pubsub: allocator: balanced (MIMALLOC_PURGE_HOLES_MIN_INTERVAL=10000 MIMALLOC_PURGE_DELAY=10000 BUN_JSC_useWarmUpMarkedBlocks=0)"],
    ["--allocator cpu", ["--allocator", "cpu"], ["MIMALLOC_PURGE_HOLES=0"], "pubsub: allocator: saves CPU (MIMALLOC_PURGE_HOLES=0)"],
  ];
  for (const [name, flags, settings, line] of reexecuting)
    test(`${name}: its settings in the process that was started, and said so once`, async () => {
      const server = await startPubSub(flags);
      running.push(server);
      expect(await ping(server.port)).toBe("+PONG\r\n");
      const env = environ(server.proc.pid);
      for (const setting of settings) expect(env).toContain(setting);
      expect(env).toContain(`PATH=${process.env.PATH}`); // the rest of the environment kept
      await waitForOutput(server, "listening on");
      expect(server.output()).toContain(line);
      expect(server.output().match(/listening on/g)).toHaveLength(1); // nothing said twice across the re-execution
    });

  test("--allocator memory: mimalloc's defaults, no re-execution, and the log says how to choose another", async () => {
    const server = await startPubSub(["--allocator", "memory"]);
    running.push(server);
    expect(await ping(server.port)).toBe("+PONG\r\n");
    expect(environ(server.proc.pid).some((e) => e.startsWith("MIMALLOC_") || e.startsWith("BUN_JSC_useWarmUp"))).toBe(false);
    await waitForOutput(server, "listening on");
    expect(server.output()).toContain("pubsub: allocator: saves memory (mimalloc's defaults: freed memory goes back to the system within 100 ms); --allocator balanced or cpu");
  });

  test("--allocator cpu: the operator's own MIMALLOC_PURGE_HOLES stands", async () => {
    const server = await startPubSub(["--allocator", "cpu"], { MIMALLOC_PURGE_HOLES: "1" });
    running.push(server);
    const env = environ(server.proc.pid);
    expect(env).toContain("MIMALLOC_PURGE_HOLES=1");
    expect(env).not.toContain("MIMALLOC_PURGE_HOLES=0");
    await waitForOutput(server, "listening on");
    expect(server.output()).toContain("pubsub: allocator: MIMALLOC_PURGE_HOLES=1, as set in the environment");
  });

  test("--allocator takes memory, balanced or cpu, and says so otherwise", () => {
    const r = spawnSync([BUN, join(ROOT, "pubsub.ts"), "--port", "0", "--data", tempPath("bad.aof"), "--allocator", "fast"], { stderr: "pipe" });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain('pubsub: --allocator must be memory, balanced or cpu, got "fast"');
  });

  test("Bun's own flags and the server's come through the re-execution", async () => {
    const port = await freePort();
    const args = ["--smol", join(ROOT, "pubsub.ts"), "--host", "127.0.0.1", "--port", String(port), "--data", tempPath("alloc.aof"), "--allocator", "cpu"];
    const proc = spawn([BUN, ...args], { stdout: "pipe", stderr: "pipe" });
    const output = collect(proc);
    running.push({ port, proc, output, stop: () => stopProc(proc) });
    await waitForPort(port);
    expect(await ping(port)).toBe("+PONG\r\n");
    const argv = cmdline(proc.pid);
    expect(argv.slice(1)).toEqual(args);
    expect(environ(proc.pid)).toContain("MIMALLOC_PURGE_HOLES=0");
  });
});

async function waitForOutput(r: Running, text: string): Promise<void> {
  for (let i = 0; i < 200 && !r.output().includes(text); i++) await Bun.sleep(25);
}
