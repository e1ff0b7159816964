// test/pubsub_lock.test.ts — the history file's one-writer lock over real processes: held with flock and refused with
// the holder's pid, free again once the holder is killed, counted opens in one process, starters racing at once, and
// the link() lock used where flock cannot be loaded.
import { afterAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { releaseLock, takeLock } from "../pubsub_lock";
import { BUN, tempPath } from "./helpers";

const ROOT = join(import.meta.dir, "..");
/** A process that takes the lock when `go` exists (so many start at the same instant), says so, and keeps it. */
const starter = tempPath("starter.ts");
writeFileSync(
  starter,
  `import { existsSync } from "node:fs";
import { takeLock, takeLinkLock } from ${JSON.stringify(join(ROOT, "pubsub_lock.ts"))};
const [path, go, how] = process.argv.slice(2);
while (!existsSync(go)) await Bun.sleep(1);
try {
  (how === "link" ? takeLinkLock : takeLock)(path);
  console.log("result: held");
} catch (err) {
  console.log("result: refused: " + err.message);
}
await Bun.sleep(3000);
`,
);
const running: { kill(): void }[] = [];
afterAll(() => running.forEach((p) => p.kill()));

async function start(path: string, go: string, how = "flock") {
  const proc = spawn([BUN, starter, path, go, how], { stdout: "pipe", stderr: "inherit" });
  running.push(proc);
  const reader = proc.stdout.getReader();
  const said = (async () => {
    let text = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text;
      text += new TextDecoder().decode(value);
      // Its own lines (the lock's log) may come first; the result is the line after "result: ".
      const line = text.split("\n").find((l, i, all) => i < all.length - 1 && l.startsWith("result: "));
      if (line !== undefined) return line.slice("result: ".length);
    }
  })();
  return { proc, said };
}

/** The pid of a process that has already exited. */
async function deadPid(): Promise<number> {
  const p = spawn(["true"]);
  await p.exited;
  return p.pid;
}

describe("the history file's lock", () => {
  test("a second process is refused with the holder's pid; once the holder is killed (kill -9), the next takes it", async () => {
    const path = tempPath("held.aof");
    const go = tempPath("go-held");
    writeFileSync(go, "");
    const first = await start(path, go);
    expect(await first.said).toBe("held");
    expect(readFileSync(`${path}.lock`, "latin1").trim()).toBe(String(first.proc.pid));
    const second = await start(path, go);
    expect(await second.said).toBe(`refused: ${path} is in use by another Notistream pub/sub server (pid ${first.proc.pid}): stop that one first, or give this one its own --data file. If no process ${first.proc.pid} is a Notistream server, delete ${path}.lock and start again`);
    first.proc.kill(9);
    await first.proc.exited;
    const third = await start(path, go);
    expect(await third.said).toBe("held"); // the kernel let go with the process: nothing stale to judge
  });

  test("one process counts its opens; the last release removes the file; the file left by a dead holder is taken over", async () => {
    const path = tempPath("counted.aof");
    writeFileSync(`${path}.lock`, `${await deadPid()}\n`);
    expect(takeLock(path)).toBe(true);
    expect(takeLock(path)).toBe(true);
    expect(readFileSync(`${path}.lock`, "latin1").trim()).toBe(String(process.pid));
    releaseLock(path);
    expect(existsSync(`${path}.lock`)).toBe(true);
    releaseLock(path);
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(takeLock(path)).toBe(true); // and again, after the release
    releaseLock(path);
  });

  test("without flock (the link() lock): a live holder refuses the next with its pid; a dead holder's lock is taken over", async () => {
    const path = tempPath("linked.aof");
    const go = tempPath("go-linked");
    writeFileSync(go, "");
    writeFileSync(`${path}.lock`, `${await deadPid()}\n`);
    const first = await start(path, go, "link");
    expect(await first.said).toBe("held");
    expect(readFileSync(`${path}.lock`, "latin1").trim()).toBe(String(first.proc.pid));
    const second = await start(path, go, "link");
    expect(await second.said).toBe(`refused: ${path} is in use by another Notistream pub/sub server (pid ${first.proc.pid}): stop that one first, or give this one its own --data file. If no process ${first.proc.pid} is a Notistream server, delete ${path}.lock and start again`);
  });

  test("eight starters at the same instant over a dead holder's lock: exactly one holds it, the others name it", async () => {
    for (let round = 0; round < 3; round++) {
      const path = tempPath(`race-${round}.aof`);
      const go = tempPath(`go-race-${round}`);
      writeFileSync(`${path}.lock`, `${await deadPid()}\n`);
      const starters = await Promise.all(Array.from({ length: 8 }, () => start(path, go)));
      await Bun.sleep(1500); // all of them loaded and polling for go
      writeFileSync(go, "");
      const said = await Promise.all(starters.map((s) => s.said));
      const held = starters.filter((_, i) => said[i] === "held");
      expect(held.length).toBe(1);
      for (const s of said.filter((x) => x !== "held")) expect(s).toContain(`(pid ${held[0]!.proc.pid})`);
      for (const s of starters) s.proc.kill();
      await Promise.all(starters.map((s) => s.proc.exited));
    }
  }, 30_000);
});
