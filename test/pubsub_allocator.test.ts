// test/pubsub_allocator.test.ts — the allocator's settings: which environment the server re-executes with (pure), and
// real servers that end up under them (same pid, same flags, the log line), or under the operator's own when set.
import { afterAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
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
  test("the setting is added to everything else the environment holds (other mimalloc settings too)", () => {
    expect(allocatorEnv({ PATH: "/bin", MIMALLOC_PURGE_DELAY: "-1", EMPTY: undefined })).toEqual({ PATH: "/bin", MIMALLOC_PURGE_DELAY: "-1", MIMALLOC_PURGE_HOLES: "0" });
  });
  test("none when it is there: the re-executed process, or the operator's choice", () => {
    expect(allocatorEnv({ PATH: "/bin", MIMALLOC_PURGE_HOLES: "0" })).toBeNull();
    expect(allocatorEnv({ MIMALLOC_PURGE_HOLES: "1" })).toBeNull();
  });
  test("the log line says which setting runs", () => {
    expect(allocatorLine({ MIMALLOC_PURGE_HOLES: "0" })).toBe("pubsub: allocator: MIMALLOC_PURGE_HOLES=0, freed memory inside pages in use is kept for reuse (less CPU under load for more memory; MIMALLOC_PURGE_HOLES=1 gives it back, docs/operations.md)");
    expect(allocatorLine({ MIMALLOC_PURGE_HOLES: "1" })).toBe("pubsub: allocator: MIMALLOC_PURGE_HOLES=1, as set in the environment");
    expect(allocatorLine({})).toBe("pubsub: allocator: mimalloc's defaults (MIMALLOC_PURGE_HOLES=0 could not be applied at start)");
  });
});

describe("a real server", () => {
  const running: Running[] = [];
  afterAll(async () => {
    for (const r of running) await r.stop();
  });

  test("runs under the setting in the process that was started, and says so", async () => {
    const server = await startPubSub();
    running.push(server);
    expect(await ping(server.port)).toBe("+PONG\r\n");
    const env = environ(server.proc.pid);
    expect(env).toContain("MIMALLOC_PURGE_HOLES=0");
    expect(env).toContain(`PATH=${process.env.PATH}`); // the rest of the environment kept
    await waitForOutput(server, "listening on");
    expect(server.output()).toContain("pubsub: allocator: MIMALLOC_PURGE_HOLES=0, freed memory inside pages in use is kept for reuse");
    expect(server.output().match(/listening on/g)).toHaveLength(1); // nothing said twice across the re-execution
  });

  test("the operator's own setting stands", async () => {
    const server = await startPubSub([], { MIMALLOC_PURGE_HOLES: "1" });
    running.push(server);
    const env = environ(server.proc.pid);
    expect(env).toContain("MIMALLOC_PURGE_HOLES=1");
    expect(env).not.toContain("MIMALLOC_PURGE_HOLES=0");
    await waitForOutput(server, "listening on");
    expect(server.output()).toContain("pubsub: allocator: MIMALLOC_PURGE_HOLES=1, as set in the environment");
  });

  test("Bun's own flags and the server's come through the re-execution", async () => {
    const port = await freePort();
    const args = ["--smol", join(ROOT, "pubsub.ts"), "--host", "127.0.0.1", "--port", String(port), "--data", tempPath("alloc.aof")];
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
