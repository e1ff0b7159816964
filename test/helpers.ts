// test/helpers.ts — test plumbing: start real servers (ours and redis-server) on free ports as child processes,
// talk raw RESP to them over real sockets, and say what a test needs from the machine (needs()).
import { spawn, type Subprocess } from "bun";
import { describe, test, type TestOptions } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ReplyParser, encodeCommand, replyToJS, type Reply } from "../resp";

export const ROOT = new URL("..", import.meta.url).pathname;

/** A fresh path in a new temporary directory. */
export function tempPath(name: string): string {
  return join(mkdtempSync(join(tmpdir(), "notistream-")), name);
}
export const BUN = process.execPath;

// What a test needs from the machine. A test that cannot run says what is missing and how to get it: outside CI it is
// skipped with one line saying so; under CI=true it fails, since a suite that skips in silence proves nothing.

/** The Debian package of each program a test looks for, from .ci/packages: the one list, which .ci/setup installs. */
const PACKAGE_OF: ReadonlyMap<string, string> = new Map(
  readFileSync(`${ROOT}.ci/packages`, "utf8")
    .split("\n")
    .flatMap((line) => {
      const [pkg, ...programs] = line.replace(/#.*/, "").trim().split(/\s+/);
      return pkg ? programs.map((program) => [program, pkg] as const) : [];
    }),
);

/** Where Redis's own test suite is: .ci/setup fetches it there, unless NOTISTREAM_REDIS_SUITE points elsewhere. */
export const REDIS_SUITE = process.env.NOTISTREAM_REDIS_SUITE ?? `${ROOT}.tmp/redis-src`;

/** What a test may need that is not a program of .ci/packages: how to tell it is here, and how to get it. */
const OTHER_NEEDS: Record<string, { here: () => boolean; get: string }> = {
  root: { here: () => process.getuid?.() === 0, get: "run the tests as root (they mount filesystems)" },
  "redis-suite": { here: () => existsSync(`${REDIS_SUITE}/runtest`), get: `\`bash .ci/setup\` fetches it into ${REDIS_SUITE} (npm test runs it)` },
  node: { here: () => Bun.which("node") !== null, get: "install Node.js and npm" },
  npm: { here: () => Bun.which("npm") !== null, get: "install Node.js and npm" },
};

/**
 * Whether `need` is here: a program on PATH (one of .ci/packages), an absolute path that exists (a browser), or one
 * of OTHER_NEEDS ("root", "redis-suite", "node", "npm"). Anything else is a mistake in the test, and throws.
 */
export function have(need: string): boolean {
  const other = OTHER_NEEDS[need];
  if (other) return other.here();
  if (need.startsWith("/")) return existsSync(need);
  if (!PACKAGE_OF.has(need)) throw new Error(`needs(): "${need}" is in no package of .ci/packages; add its Debian package there`);
  return Bun.which(need) !== null;
}

/** One sentence on how to get what is missing: the apt-get command for the packages, then anything else. */
function howToGet(missing: string[]): string {
  const packages = [...new Set(missing.flatMap((m) => PACKAGE_OF.get(basename(m)) ?? []))];
  const apt = packages.length ? [`${process.getuid?.() === 0 ? "" : "sudo "}apt-get install -y ${packages.join(" ")} (npm test installs them when it can)`] : [];
  const rest = missing.filter((m) => !PACKAGE_OF.has(basename(m))).map((m) => OTHER_NEEDS[m]?.get ?? `install ${m}`);
  return [...apt, ...new Set(rest)].join("; ");
}

const UNDER_CI = !!process.env.CI && !/^(0|false)$/i.test(process.env.CI);

type Gated = {
  describe(label: string, fn: () => void): void;
  test(label: string, fn: () => void | Promise<unknown>, options?: number | TestOptions): void;
};

/**
 * describe() and test() for tests that need `what` (see have()): as they are when all of it is here. Otherwise,
 * outside CI the tests are skipped with one line naming what is missing; under CI=true each fails with that line.
 */
export function needs(...what: string[]): Gated {
  const missing = what.filter((need) => !have(need));
  if (missing.length === 0) return { describe: (label, fn) => describe(label, fn), test: (label, fn, options) => test(label, fn, options) };
  const why = `needs ${missing.join(", ")}, missing here: ${howToGet(missing)}`;
  if (UNDER_CI) {
    const fail = (label: string, name: string) =>
      test(name, () => {
        throw new Error(`${label}: ${why}. Under CI=true a test that cannot run is a failure.`);
      });
    return { describe: (label) => describe(label, () => fail(label, "cannot run here")), test: (label) => fail(label, label) };
  }
  return {
    describe: (label, fn) => {
      console.warn(`skipped "${label}": ${why}`);
      describe.skip(label, fn);
    },
    test: (label, fn, options) => {
      console.warn(`skipped "${label}": ${why}`);
      test.skip(label, fn, options);
    },
  };
}

/** A link opener for NOTISTREAM_OPENER that only writes each URL it is given, one a line, to `opened`. */
export function recordingOpener(): { opener: string; opened: string } {
  const dir = tempPath("opener");
  mkdirSync(dir, { recursive: true });
  const opened = join(dir, "opened.txt");
  const opener = join(dir, "opener.sh");
  writeFileSync(opener, `#!/bin/sh\necho "$1" >> ${opened}\n`);
  chmodSync(opener, 0o755);
  return { opener, opened };
}

export type Running = { port: number; proc: Subprocess; stop: () => Promise<void>; output: () => string };

/** Ports this process handed out: the kernel may offer a just-released port again, and two servers must not share one. */
const handedOut = new Set<number>();
export async function freePort(): Promise<number> {
  for (;;) {
    const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = l.port;
    l.stop(true);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

/** Waits until `port` accepts connections. */
export async function waitForPort(port: number, ms = 10000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      s.end();
      return;
    } catch {
      if (Date.now() > until) throw new Error(`nothing listening on port ${port} after ${ms} ms`);
      await Bun.sleep(25);
    }
  }
}

/** Collects a child's stdout and stderr as they arrive; call the result to read what came so far. */
export function collect(proc: Subprocess): () => string {
  let text = "";
  for (const stream of [proc.stdout, proc.stderr]) {
    if (stream && typeof stream !== "number") {
      (async () => {
        const dec = new TextDecoder();
        const reader = (stream as ReadableStream<Uint8Array>).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          text += dec.decode(value);
        }
      })().catch(() => {});
    }
  }
  return () => text;
}

export async function stopProc(proc: Subprocess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const t = setTimeout(() => proc.kill("SIGKILL"), 3000);
  await proc.exited;
  clearTimeout(t);
}

/** Starts Notistream's pub/sub server on a free port (from another checkout when `root` names one, for A/B runs). */
export async function startPubSub(args: string[] = [], env: Record<string, string> = {}, root = ROOT): Promise<Running> {
  const port = await freePort();
  // Each server gets its own history file unless the test names one.
  const data = args.includes("--data") ? [] : ["--data", tempPath("pubsub.db")];
  const proc = spawn([BUN, `${root}/pubsub.ts`, "--host", "127.0.0.1", "--port", String(port), ...data, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  const output = collect(proc);
  await waitForPort(port);
  return { port, proc, output, stop: () => stopProc(proc) };
}

/**
 * A Bun script that listens on the port it is given, started on a free one and waited for: the benchmarks' floors
 * (a bare Bun.listen or Bun.serve beside the real servers). `argv` places the port among the script's arguments.
 */
export async function startOnFreePort(argv: (port: number) => string[], env: Record<string, string> = {}): Promise<Running> {
  const port = await freePort();
  const proc = spawn([BUN, ...argv(port)], { stdout: "ignore", stderr: "inherit", env: { ...process.env, ...env } });
  await waitForPort(port);
  return { port, proc, output: () => "", stop: async () => void (proc.kill(), await proc.exited) };
}

export const haveRedis = have("redis-server");

/** Starts a throwaway redis-server (no persistence) on a free port. */
export async function startRedis(extra: string[] = []): Promise<Running> {
  const port = await freePort();
  const proc = spawn(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...extra], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = collect(proc);
  await waitForPort(port);
  return { port, proc, output, stop: () => stopProc(proc) };
}

/** redis-server with its AOF on (appendfsync everysec) in a directory of its own: the benchmarks' reference store. */
export function startRedisAof(): Promise<Running> {
  const dir = tempPath("redis-aof");
  mkdirSync(dir, { recursive: true });
  return startRedis(["--appendonly", "yes", "--appendfsync", "everysec", "--dir", dir]);
}

/** A raw TCP connection that records every byte the server sends and whether it closed. */
export class Raw {
  received: Uint8Array[] = [];
  closed = false;
  private sock!: Awaited<ReturnType<typeof Bun.connect>>;
  private waiters: (() => void)[] = [];

  /** With `tls`, over TLS trusting `tls.ca`, once the handshake is over (a refused one leaves the Raw closed). */
  static async open(port: number, tls?: { ca: string }): Promise<Raw> {
    const r = new Raw();
    let handshakeOver = () => {};
    const handshake = new Promise<void>((res) => (handshakeOver = res));
    const gone = () => {
      r.closed = true;
      r.wake();
      handshakeOver();
    };
    r.sock = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      ...(tls ? { tls: { ca: tls.ca } } : {}),
      socket: {
        data: (_s, chunk) => {
          r.received.push(new Uint8Array(chunk));
          r.wake();
        },
        handshake: (_s, ok) => (ok ? handshakeOver() : gone()),
        close: gone,
        error: gone,
      },
    });
    if (tls) await handshake; // Bun drops what is written before the handshake ends
    return r;
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  get length(): number {
    return this.received.reduce((n, c) => n + c.length, 0);
  }

  bytes(): Buffer {
    return Buffer.concat(this.received);
  }

  take(): Buffer {
    const b = this.bytes();
    this.received = [];
    return b;
  }

  send(data: string | Uint8Array): void {
    const b = typeof data === "string" ? Buffer.from(data, "latin1") : data;
    let off = 0;
    // Loop in case the kernel takes only part of a large write.
    const pump = () => {
      while (off < b.length) {
        const n = this.sock.write(b.subarray(off));
        if (n <= 0) {
          setTimeout(pump, 1);
          return;
        }
        off += n;
      }
    };
    pump();
  }

  command(...args: (string | Uint8Array)[]): void {
    this.send(encodeCommand(args));
  }

  /** Waits until at least `n` bytes arrived (or the socket closed, or `ms` passed). */
  async waitBytes(n: number, ms = 2000): Promise<void> {
    const until = Date.now() + ms;
    while (this.length < n && !this.closed && Date.now() < until) {
      await new Promise<void>((res) => {
        this.waiters.push(res);
        setTimeout(res, Math.max(1, until - Date.now()));
      });
    }
  }

  /** Waits until nothing new arrives for `quietMs`. */
  async settle(quietMs = 40, maxMs = 3000): Promise<void> {
    const until = Date.now() + maxMs;
    let last = this.length;
    for (;;) {
      await Bun.sleep(quietMs);
      const now = this.length;
      if ((now === last && now > 0) || this.closed || Date.now() > until) return;
      if (now === last && Date.now() + quietMs > until) return;
      last = now;
      if (now === 0) continue;
    }
  }

  /** Reads replies one at a time, parsed; feeds the parser only chunks it has not seen. */
  private parser = new ReplyParser();
  private fed = 0;
  async reply(ms = 3000): Promise<Reply> {
    const until = Date.now() + ms;
    for (;;) {
      if (this.fed > this.received.length) this.fed = 0; // take() emptied the list
      while (this.fed < this.received.length) this.parser.push(this.received[this.fed++]!);
      const r = this.parser.next();
      if (r) return r;
      if (this.closed) throw new Error("connection closed while waiting for a reply");
      if (Date.now() > until) throw new Error(`no reply within ${ms} ms`);
      await new Promise<void>((res) => {
        this.waiters.push(res);
        setTimeout(res, 50);
      });
    }
  }

  async call(...args: string[]): Promise<unknown> {
    this.command(...args);
    return replyToJS(await this.reply());
  }

  close(): void {
    try {
      this.sock.end();
    } catch {}
  }
}

/** Runs a command-line tool to completion and returns its output. */
export async function run(cmd: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}) {
  const proc = spawn(cmd, {
    cwd: opts.cwd,
    stdin: opts.input !== undefined ? new Blob([opts.input]) : "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...(opts.env ?? {}) },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 20000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { stdout, stderr, code };
}

export const haveTmux = have("tmux");

/** A program running in a real terminal (a detached tmux session), driven with send-keys and read with capture-pane. */
export class Terminal {
  private constructor(readonly session: string) {}

  static async start(command: string, env: Record<string, string> = {}): Promise<Terminal> {
    const session = `nt-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const envArgs = Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    // The pane outlives the program, so the last screen of one that exits can still be read (with its exit code).
    const kept = `${command}; echo "[exited with code $?]"; sleep 86400`;
    const r = await run(["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "50", ...envArgs, kept]);
    if (r.code !== 0) throw new Error(`tmux failed: ${r.stderr}`);
    return new Terminal(session);
  }

  async keys(...keys: string[]): Promise<void> {
    await run(["tmux", "send-keys", "-t", this.session, ...keys]);
  }

  async type(text: string): Promise<void> {
    await run(["tmux", "send-keys", "-t", this.session, "-l", text]);
  }

  /** Types `text` (if any), then presses Enter. */
  async enter(text = ""): Promise<void> {
    if (text) await this.type(text);
    await this.keys("Enter");
  }

  async screen(): Promise<string> {
    return (await run(["tmux", "capture-pane", "-p", "-J", "-S", "-200", "-t", this.session])).stdout;
  }

  async waitFor(text: string | RegExp, ms = 10000): Promise<string> {
    const until = Date.now() + ms;
    for (;;) {
      const s = await this.screen();
      if (typeof text === "string" ? s.includes(text) : text.test(s)) return s;
      if (Date.now() > until) throw new Error(`terminal never showed ${String(text)}; screen:\n${s}`);
      await Bun.sleep(50);
    }
  }

  async kill(): Promise<void> {
    await run(["tmux", "kill-session", "-t", this.session]);
  }
}

/** What post() sends besides its body, and what it expects back. */
export type PostOptions = {
  headers?: Record<string, string>;
  /** The status the test expects: any other answer throws, quoting it. */
  status?: number;
  /** A CA certificate (PEM) to trust, for a web server on https:// with a test certificate. */
  ca?: string;
  /** Another method with the same body (PUT, DELETE). */
  method?: string;
};

/** A body for post() sent as JSON, with its Content-Type (application/json). */
export const json = (value: unknown): Blob => new Blob([JSON.stringify(value)], { type: "application/json" });

/**
 * POSTs to a web server. `body` is form fields (a plain object of strings, sent as application/x-www-form-urlencoded),
 * json(value), or a body as it is (a string, bytes, FormData; null for none) with whatever Content-Type `headers` give.
 */
export async function post(url: string, body: Record<string, string> | BodyInit | null, opts: PostOptions = {}): Promise<Response> {
  const fields = body !== null && typeof body === "object" && Object.getPrototypeOf(body) === Object.prototype;
  const r = await fetch(url, {
    method: opts.method ?? "POST",
    headers: opts.headers,
    body: fields ? new URLSearchParams(body as Record<string, string>) : (body as BodyInit | null),
    ...(opts.ca !== undefined ? { tls: { ca: opts.ca } } : {}),
  });
  if (opts.status !== undefined && r.status !== opts.status) throw new Error(`${opts.method ?? "POST"} ${url} answered ${r.status}, not ${opts.status}: ${await r.text()}`);
  return r;
}

/** Publishes through a web server (post() to `url`, expecting 200) and returns its answer: the message's id and more. */
export async function publishOverHttp(url: string, body: Record<string, string> | Blob, opts: Omit<PostOptions, "status"> = {}): Promise<{ id: string; channel: string; receivers: number }> {
  return (await (await post(url, body, { ...opts, status: 200 })).json()) as { id: string; channel: string; receivers: number };
}

/** Starts Notistream's web server on a free port, publishing to `redisUrl` (from another checkout when `root` names one). */
export async function startWebServer(redisUrl: string, args: string[] = [], env: Record<string, string> = {}, root = ROOT): Promise<Running & { url: string }> {
  const port = await freePort();
  // Each web server keeps its data (the VAPID keys) in a directory of its own unless the test names one.
  const data = args.includes("--data") ? [] : ["--data", tempPath("web-data")];
  const proc = spawn([BUN, `${root}/web.ts`, "--host", "127.0.0.1", "--port", String(port), "--redis", redisUrl, ...data, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  const output = collect(proc);
  await waitForPort(port);
  return { port, proc, output, url: `http://127.0.0.1:${port}`, stop: () => stopProc(proc) };
}

/** A subscriber over a raw connection that keeps every message payload it receives, in order. */
export class Subscriber {
  messages: { channel: string; payload: string; pattern?: string }[] = [];
  private constructor(readonly raw: Raw) {}

  /** `auth` is a password (AUTH pass) or [user, password] (AUTH user pass). */
  static async open(port: number, channels: string[], auth?: string | [string, string]): Promise<Subscriber> {
    const raw = await Raw.open(port);
    if (auth !== undefined) {
      raw.command("AUTH", ...(typeof auth === "string" ? [auth] : auth));
      const r = await raw.reply();
      if (r.type !== "simple") throw new Error("AUTH failed");
    }
    raw.command("SUBSCRIBE", ...channels);
    for (let i = 0; i < channels.length; i++) await raw.reply();
    const s = new Subscriber(raw);
    void s.pump();
    return s;
  }

  private async pump(): Promise<void> {
    for (;;) {
      let r;
      try {
        r = await this.raw.reply(3_600_000);
      } catch {
        return;
      }
      if ((r.type === "array" || r.type === "push") && r.value) {
        const parts = r.value.map((x) => (x.type === "bulk" && x.value ? Buffer.from(x.value).toString() : ""));
        if (parts[0] === "message") this.messages.push({ channel: parts[1]!, payload: parts[2]! });
        if (parts[0] === "pmessage") this.messages.push({ pattern: parts[1]!, channel: parts[2]!, payload: parts[3]! });
      }
    }
  }

  async waitFor(n: number, ms = 5000): Promise<void> {
    const until = Date.now() + ms;
    while (this.messages.length < n) {
      if (Date.now() > until) throw new Error(`expected ${n} messages, got ${this.messages.length}`);
      await Bun.sleep(10);
    }
  }

  close(): void {
    this.raw.close();
  }
}

/** Waits until `check` holds, or fails naming `what`. */
export async function until(what: string, check: () => boolean, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

export type ClientProcess = { proc: Subprocess; out: () => string };
const clients: ClientProcess[] = [];

/** Starts the notistream client as a process; it keeps its own state file unless `env` names one. */
export function startClient(args: string[], env: Record<string, string> = {}): ClientProcess {
  const proc = spawn([BUN, `${ROOT}/client.ts`, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { ...process.env, NOTISTREAM_STATE: tempPath("state.json"), ...env } });
  const c = { proc, out: collect(proc) };
  clients.push(c);
  return c;
}

/** Kills every client a test file started (call it in afterAll). */
export function killClients(): void {
  for (const c of clients.splice(0)) c.proc.kill("SIGKILL");
}

/** A seeded xorshift generator in [0, 1): fuzz and property tests stay reproducible. */
export function seededRandom(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** Spawns the pub/sub server on a fixed port and data file, for tests that kill it and start it again. */
export function spawnPubSubAt(port: number, data: string, extra: string[] = [], output: "ignore" | "pipe" = "ignore"): Subprocess {
  return spawn([BUN, `${ROOT}/pubsub.ts`, "--host", "127.0.0.1", "--port", String(port), "--data", data, ...extra], { stdout: output, stderr: output });
}

/** What startDesktop() runs: a screen, a session bus, a notification daemon, and the programs that talk to it. */
export const DESKTOP = ["Xvfb", "dunst", "dunstctl", "dbus-launch", "notify-send", "dbus-monitor"];
export const haveDesktop = DESKTOP.every(have);

/** One Notify call as the notification daemon received it (read from dbus-monitor). */
export type NotifyCall = { app: string; icon: string; summary: string; body: string; actions: string[]; urgency: number | null; expire: number };

/** What a test may change of startDesktop()'s desktop: dunst's config file, and whether every Notifications call is recorded. */
export type DesktopOptions = {
  /** A dunstrc for dunst (`-config`); dunst's defaults without one. */
  dunstConfig?: string;
  /** Record every call on org.freedesktop.Notifications (CloseNotification too), not only Notify. */
  allCalls?: boolean;
};

/**
 * A real desktop for notification tests: Xvfb, a session D-Bus, dunst on it, and a dbus-monitor recording Notify calls.
 * Written once here: each test that needs a desktop takes this one (with options), so a fix (like the screenshot's
 * guard for a machine without ImageMagick) reaches them all.
 */
export async function startDesktop(options: DesktopOptions = {}): Promise<{
  env: Record<string, string>;
  /** Everything dbus-monitor printed so far. */
  text: () => string;
  calls: () => NotifyCall[];
  dunstctl: (...args: string[]) => string;
  screenshot: (path: string) => boolean;
  stop: () => void;
}> {
  const display = `:${90 + Math.floor(Math.random() * 800)}`;
  const xvfb = spawn(["Xvfb", display, "-screen", "0", "1000x800x24"], { stdout: "ignore", stderr: "ignore" });
  const dbus = await run(["dbus-launch", "--sh-syntax"]);
  const env: Record<string, string> = { DISPLAY: display, ...parseDbusLaunch(dbus.stdout) };
  const full = { ...process.env, ...env };
  await Bun.sleep(300);
  const dunst = spawn(["dunst", ...(options.dunstConfig ? ["-config", options.dunstConfig] : [])], { env: full, stdout: "ignore", stderr: "ignore" });
  const match = `interface='org.freedesktop.Notifications'${options.allCalls ? "" : ",member='Notify'"}`;
  const monitor = spawn(["dbus-monitor", "--session", match], { env: full, stdout: "pipe", stderr: "ignore" });
  const text = collect(monitor);
  for (let i = 0; i < 100 && Bun.spawnSync(["dunstctl", "is-paused"], { env: full }).exitCode !== 0; i++) await Bun.sleep(50);
  await Bun.sleep(200);
  const dunstctl = (...args: string[]) => Bun.spawnSync(["dunstctl", ...args], { env: full }).stdout.toString();
  return {
    env,
    text,
    calls: () => parseNotifyCalls(text()),
    dunstctl,
    // ImageMagick's import is optional: Bun.spawnSync throws on a missing program, and a screenshot is for a person, not a check.
    screenshot: (path) => Bun.which("import") !== null && Bun.spawnSync(["import", "-window", "root", path], { env: full }).exitCode === 0,
    stop: () => {
      // Closing every toast first lets each client's waiting notify-send end, rather than outlive the bus.
      dunstctl("close-all");
      monitor.kill();
      dunst.kill();
      xvfb.kill();
      if (env.DBUS_SESSION_BUS_PID) process.kill(Number(env.DBUS_SESSION_BUS_PID));
    },
  };
}

/**
 * The variables `dbus-launch --sh-syntax` prints: the address quoted (`DBUS_SESSION_BUS_ADDRESS='unix:...';`), the
 * bus's pid not (`DBUS_SESSION_BUS_PID=1234;`). Both are needed: without the pid, stop() cannot end the bus.
 */
export function parseDbusLaunch(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^(\w+)=(?:'([^']*)'|([^';\s]*));$/gm)) env[m[1]!] = m[2] ?? m[3]!;
  return env;
}

/** Reads Notify method calls out of dbus-monitor's text: strings run from `string "` to the `"` before the next field. */
export function parseNotifyCalls(out: string): NotifyCall[] {
  const calls: NotifyCall[] = [];
  for (const block of out.split(/^method call .*member=Notify$/m).slice(1)) {
    const end = block.search(/^(method call|signal|method return|error) /m);
    const body = end < 0 ? block : block.slice(0, end);
    // Fields in order: app, id, icon, summary, body, actions, hints, expire. A string field may hold newlines.
    const m = /^ {3}string "([\s\S]*?)"\n {3}uint32 \d+\n {3}string "([\s\S]*?)"\n {3}string "([\s\S]*?)"\n {3}string "([\s\S]*?)"\n {3}array \[\n(?:([\s\S]*?)\n)? {3}\]\n {3}array \[\n(?:([\s\S]*?)\n)? {3}\]\n {3}int32 (-?\d+)/.exec(body.replace(/^\n/, ""));
    if (!m) continue;
    const actions = [...(m[5] ?? "").matchAll(/^ {6}string "(.*)"$/gm)].map((x) => x[1]!);
    const urgency = /string "urgency"\n\s+variant\s+byte (\d+)/.exec(m[6] ?? "");
    calls.push({ app: m[1]!, icon: m[2]!, summary: m[3]!, body: m[4]!, actions, urgency: urgency ? Number(urgency[1]) : null, expire: Number(m[7]) });
  }
  return calls;
}

/** A child process's stdout as lines, as they arrive (load workers and sinks report that way). */
export function lines(proc: Subprocess<"ignore" | "pipe" | "inherit", "pipe", "ignore" | "pipe" | "inherit">): AsyncGenerator<string> {
  return (async function* () {
    let buf = "";
    for await (const chunk of proc.stdout) {
      buf += new TextDecoder().decode(chunk);
      let nl: number;
      while ((nl = buf.indexOf("\n")) !== -1) {
        yield buf.slice(0, nl);
        buf = buf.slice(nl + 1);
      }
    }
  })();
}
