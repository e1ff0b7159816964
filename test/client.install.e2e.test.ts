// test/client.install.e2e.test.ts — end to end as a user installs it: `npm pack`, `npm install -g` of the tarball into
// a temporary prefix, then `notistream` with no bun on PATH; `notistream service install` writes a systemd user unit
// whose ExecStart, run by hand, receives a message; `service status` and `service uninstall` go with it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { spawn } from "bun";
import { ROOT, collect, needs, run, startPubSub, tempPath, until, type Running } from "./helpers";
import { execStartOf } from "../client_service";

const node = Bun.which("node");
const npm = Bun.which("npm");

needs("node", "npm").describe("installed with npm, on a machine without bun on PATH", () => {
  const dir = tempPath("install");
  const prefix = join(dir, "prefix");
  const home = join(dir, "home");
  // Only node's own directory and the system's: no node_modules/.bin, so no bun.
  const PATH = [dirname(node!), "/usr/bin", "/bin"].join(":");
  const env = { PATH, HOME: home, XDG_CONFIG_HOME: join(home, ".config"), XDG_STATE_HOME: join(home, ".state") };
  let pubsub: Running;

  beforeAll(async () => {
    mkdirSync(home, { recursive: true });
    const pack = await run([npm!, "pack", ROOT, "--pack-destination", dir], { cwd: dir });
    if (pack.code !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
    const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"))!;
    const install = await run([npm!, "install", "-g", "--prefix", prefix, "--no-audit", "--no-fund", join(dir, tarball)], { cwd: dir, timeoutMs: 180_000 });
    if (install.code !== 0) throw new Error(`npm install -g failed: ${install.stderr}`);
    pubsub = await startPubSub();
  }, 200_000);
  afterAll(async () => {
    await pubsub?.stop();
  });

  test("no bun on PATH, and notistream --help works", async () => {
    expect(Bun.spawnSync(["sh", "-c", "command -v bun"], { env }).exitCode).not.toBe(0);
    const r = await run([join(prefix, "bin", "notistream"), "--help"], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("notistream service install");
  });

  test("npx runs it from the tarball too, with no bun on PATH", async () => {
    const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"))!;
    const r = await run([npm!.replace(/npm$/, "npx"), "--yes", `--package=${join(dir, tarball)}`, "notistream", "--help"], { env: { ...env, HOME: join(dir, "npx-home") }, timeoutMs: 120_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("notistream setup");
  }, 130_000);

  test("service install writes the unit; its ExecStart, run by hand, receives a message; status and uninstall", async () => {
    const config = join(env.XDG_CONFIG_HOME, "notistream", "config.json");
    mkdirSync(dirname(config), { recursive: true });
    writeFileSync(config, JSON.stringify({ host: "127.0.0.1", port: pubsub.port, channels: ["svc"] }), { mode: 0o600 });
    const bin = join(prefix, "bin", "notistream");
    const install = await run([bin, "service", "install"], { env });
    expect(install.code).toBe(0);
    const unitPath = join(env.XDG_CONFIG_HOME, "systemd", "user", "notistream.service");
    expect(existsSync(unitPath)).toBe(true);
    expect(install.stdout).toContain(`wrote ${unitPath}`);
    // In this container no systemd user manager runs: the command says how to enable it where one does.
    if (!install.stdout.includes("enabled and started")) expect(install.stdout).toContain("systemctl --user enable --now notistream.service");
    const exec = execStartOf(readFileSync(unitPath, "utf8"))!;
    expect(exec).toContain(config);
    expect(exec[0]!.startsWith(prefix)).toBe(true); // the Bun that came with the package, not one on PATH
    const svc = spawn([...exec, "--print"], { env, stdout: "pipe", stderr: "pipe" });
    const out = collect(svc);
    try {
      await until("service subscribed", () => out().includes("subscribed to svc"), 15000);
      // As the web server does: the entry in history first, then the envelope with its ID (the client checks it there).
      const id = (await run(["redis-cli", "-p", String(pubsub.port), "XADD", "notistream:svc", "*", "time", "1", "channel", "svc", "message", "from the service"])).stdout.trim();
      const pub = await run(["redis-cli", "-p", String(pubsub.port), "PUBLISH", "svc", JSON.stringify({ id, time: 1, channel: "svc", message: "from the service" })]);
      expect(pub.stdout.trim()).toBe("1");
      await until("message received", () => out().includes("[svc] from the service"));
    } finally {
      svc.kill();
      await svc.exited;
    }
    const status = await run([bin, "service", "status"], { env });
    expect(status.stdout).toContain(`installed: ${unitPath}`);
    const gone = await run([bin, "service", "uninstall"], { env });
    expect(gone.stdout).toContain(`removed ${unitPath}`);
    expect(existsSync(unitPath)).toBe(false);
    expect((await run([bin, "service", "status"], { env })).stdout).toContain("not installed");
  }, 60000);
});
