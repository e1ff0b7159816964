#!/usr/bin/env bun
// client.ts — the `notistream` command: first-run setup (@clack/prompts), the config file (zod), a RESP
// subscription that survives sleep and Wi-Fi (backoff, keepalive), and a desktop notification per message.
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { homedir } from "node:os";
import { z } from "zod";
import { bulkText, type Reply } from "./resp";
import { DEFAULT_TIMING, Link, type Timing } from "./link";
import { compareIds, envelopeFromEntry, formatLine, historyKey, parsePayload, type Envelope } from "./message";

export const ConfigSchema = z
  .object({
    host: z.string().min(1, "host must not be empty"),
    port: z.number().int().min(1).max(65535),
    channels: z.array(z.string().min(1, "a channel name must not be empty")).min(1, "at least one channel is required"),
    password: z.string().optional(),
    /** The ACL user to log in as (AUTH user password); without it the password is the default user's. */
    user: z.string().min(1, "user must not be empty").optional(),
    tls: z.boolean().optional(),
    /** A PEM CA file to trust with TLS, for a server with a self-signed certificate. */
    ca: z.string().optional(),
    /** After an absence, show at most this many missed messages per channel. */
    replayLimit: z.number().int().min(0).optional(),
  })
  .strict();
export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {}

export function defaultConfigPath(env: Record<string, string | undefined> = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "notistream", "config.json");
}

/** Reads and validates the config; null when the file does not exist. Errors name the file and the field. */
export function loadConfig(path: string): Config | null {
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON (${(err as Error).message}); fix it or run \`notistream setup\``);
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length ? issue.path.join(".") : "(top level)";
    throw new ConfigError(`config file ${path}: field "${field}": ${issue.message}; fix it or run \`notistream setup\``);
  }
  return parsed.data;
}

/** Writes the config with mode 0600: it may hold a password. */
export function saveConfig(path: string, config: Config): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(ConfigSchema.parse(config), null, 2) + "\n", { mode: 0o600 });
  chmodSync(path, 0o600); // writeFileSync keeps an existing file's mode; make sure
}

export const parseChannels = (s: string): string[] =>
  s
    .split(",")
    .map((c) => c.trim())
    .filter(Boolean);

/** Glob characters make a channel a pattern, subscribed with PSUBSCRIBE. */
export const isPattern = (channel: string): boolean => /[*?[]/.test(channel);

type Handlers = {
  message: (env: Envelope) => void;
  status: (line: string) => void;
};


export function defaultStatePath(env: Record<string, string | undefined> = process.env): string {
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), ".local", "state");
  return join(base, "notistream", "state.json");
}

const StateSchema = z.object({ servers: z.record(z.string(), z.record(z.string(), z.string())) });

/** The last stream ID shown per server and channel, so a restarted client picks up where it stopped. */
export class ClientState {
  private data: z.infer<typeof StateSchema> = { servers: {} };
  private dirty = false;
  constructor(
    readonly path: string | null,
    private readonly server: string,
  ) {
    if (path && existsSync(path)) {
      try {
        const parsed = StateSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
        if (parsed.success) this.data = parsed.data;
      } catch {
        // A damaged state file only costs a replay: start fresh.
      }
    }
  }
  get(channel: string): string | undefined {
    return this.data.servers[this.server]?.[channel];
  }
  set(channel: string, id: string): void {
    (this.data.servers[this.server] ??= {})[channel] = id;
    this.dirty = true;
  }
  save(): void {
    if (!this.path || !this.dirty) return;
    this.dirty = false;
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data) + "\n", { mode: 0o600 });
    renameSync(tmp, this.path); // atomic: a crash never leaves half a file
  }
}

/** Gaps shorter than this (a Wi-Fi drop, a server restart) are replayed in full; longer ones use the replay limit. */
export const LONG_ABSENCE_MS = 10 * 60_000;

/**
 * Holds one subscription open for as long as the process runs (link.ts reconnects it). On every connection:
 * SUBSCRIBE, then catch up from history while live messages wait in a buffer, then deliver the buffer and go live.
 */
export class Subscription {
  private readonly link: Link;
  /** When the last connection ended; 0 before the first one (a fresh start counts as a long absence). */
  private lastDisconnectAt = 0;
  /** Live messages held back until catch-up is done; null once live. */
  private buffer: Envelope[] | null = null;
  private confirmed = 0;
  private finished: (() => void) | null = null;
  private readonly plain: string[];
  private readonly patterns: string[];

  constructor(
    private readonly config: Config,
    private readonly on: Handlers,
    timing: Timing = DEFAULT_TIMING,
    private readonly state: ClientState = new ClientState(null, ""),
    private readonly replayLimit = 50,
  ) {
    this.plain = config.channels.filter((c) => !isPattern(c));
    this.patterns = config.channels.filter(isPattern);
    this.link = new Link(
      { host: config.host, port: config.port, user: config.user, password: config.password, tls: config.tls, caFile: config.ca },
      {
        ready: () => this.subscribe(),
        push: (items) => this.onPush(items),
        down: (failure, retryInMs) => {
          this.lastDisconnectAt = Date.now();
          this.buffer = null;
          this.state.save();
          if (retryInMs !== null) this.on.status(`disconnected: ${failure.reason}; reconnecting in ${(retryInMs / 1000).toFixed(1)} s`);
        },
        refused: (failure) => this.on.status(`refused: ${failure.reason}`),
      },
      timing,
    );
  }

  /** Runs until stop(). */
  run(): Promise<void> {
    return new Promise((resolve) => {
      this.finished = resolve;
      this.link.start();
    });
  }

  stop(): void {
    this.link.stop();
    this.state.save();
    this.finished?.();
  }

  private saveQueued = false;
  /** Saves the place in history once per event-loop turn, not once per message of a burst. */
  private saveSoon(): void {
    if (this.saveQueued) return;
    this.saveQueued = true;
    setImmediate(() => {
      this.saveQueued = false;
      this.state.save();
    });
  }

  /** Shows a message unless it was shown already (its ID is not above the last one for its channel). */
  private deliver(env: Envelope): boolean {
    if (env.id) {
      const last = this.state.get(env.channel);
      if (last !== undefined && compareIds(env.id, last) <= 0) return false;
      this.state.set(env.channel, env.id);
    }
    this.on.message(env);
    return true;
  }

  private subscribe(): void {
    this.buffer = [];
    this.confirmed = 0;
    if (this.plain.length) this.link.send(["SUBSCRIBE", ...this.plain]);
    if (this.patterns.length) this.link.send(["PSUBSCRIBE", ...this.patterns]);
  }

  private onPush(items: Reply[]): void {
    const kind = bulkText(items[0]);
    if (kind === "message" || kind === "pmessage") {
      const env = kind === "message" ? parsePayload(bulkText(items[1]), bulkText(items[2])) : parsePayload(bulkText(items[2]), bulkText(items[3]));
      if (this.buffer) this.buffer.push(env);
      else if (this.deliver(env)) this.saveSoon();
      return;
    }
    if ((kind === "subscribe" || kind === "psubscribe") && ++this.confirmed === this.config.channels.length) this.catchUp();
  }

  /** Reads what each channel missed (XRANGE after the last ID seen), then delivers the held live messages. */
  private catchUp(): void {
    const { host, port, channels } = this.config;
    let waiting = this.plain.length;
    const done = () => {
      if (--waiting > 0) return;
      const held = this.buffer ?? [];
      this.buffer = null;
      held.sort((a, b) => (a.id && b.id ? compareIds(a.id, b.id) : 0));
      for (const env of held) this.deliver(env);
      this.state.save();
      // Said only now: from here on the place in history is saved, so a stop loses nothing.
      this.on.status(`connected to ${host}:${port}; subscribed to ${channels.join(", ")}`);
    };
    if (waiting === 0) {
      waiting = 1;
      done();
    }
    for (const ch of this.plain) {
      const last = this.state.get(ch);
      const key = historyKey(ch);
      if (last === undefined) {
        // First time on this channel: nothing old is replayed; remember where history stands now.
        this.link.send(["XREVRANGE", key, "+", "-", "COUNT", "1"], (r) => {
          const top = r.type === "array" && r.value?.[0]?.type === "array" ? bulkText(r.value[0].value?.[0]) : "";
          if (this.state.get(ch) === undefined) this.state.set(ch, top || "0-0");
          done();
        });
        continue;
      }
      this.link.send(["XRANGE", key, `(${last}`, "+"], (r) => {
        if (r.type === "error") this.on.status(`history for ${ch} is unavailable (${r.value}); showing live messages only`);
        const entries = r.type === "array" && r.value ? r.value : [];
        const missed = entries.map((e) => {
          const parts = e.type === "array" && e.value ? e.value : [];
          const fields = parts[1]?.type === "array" && parts[1].value ? parts[1].value.map(bulkText) : [];
          return envelopeFromEntry(bulkText(parts[0]), fields, ch);
        });
        // A short gap is replayed in full so nothing is lost; only a start or a long absence is capped.
        const longAbsence = this.lastDisconnectAt === 0 || Date.now() - this.lastDisconnectAt > LONG_ABSENCE_MS;
        const skip = longAbsence ? Math.max(0, missed.length - this.replayLimit) : 0;
        if (skip > 0) {
          this.on.status(`${ch}: skipped ${skip} older messages while away; showing the last ${this.replayLimit}`);
          this.state.set(ch, missed[skip - 1]!.id);
        }
        for (const env of missed.slice(skip)) this.deliver(env);
        done();
      });
    }
  }
}

// ----------------------------------------------------------------------------------------------
// The command line.

const HELP = `notistream — desktop notifications from a Notistream (or Redis) pub/sub server

Usage:
  notistream [options]          subscribe and show notifications (runs setup first if there is no config)
  notistream setup              ask for the settings again, pre-filled with the current ones

Options:
  --config <file>      config file (env NOTISTREAM_CONFIG; default $XDG_CONFIG_HOME/notistream/config.json)
  --host <host>        pub/sub server host, for this run only
  --port <port>        pub/sub server port, for this run only
  --channels <a,b>     comma-separated channels (globs like octo/* use PSUBSCRIBE), for this run only
  --password <pw>      server password, for this run only
  --user <name>        ACL user to log in as with the password, for this run only
  --tls                connect with TLS (rediss), for this run only
  --ca <file>          PEM CA to trust with TLS (a self-signed server), for this run only
  --replay-limit <n>   after a start or an absence of over 10 minutes, show at most n missed messages
                       per channel (default 50); shorter gaps are replayed in full
  --state <file>       where the last message seen per channel is kept
                       (env NOTISTREAM_STATE; default $XDG_STATE_HOME/notistream/state.json)
  --print              print messages only, no desktop notification (headless use, tests)
  --json               print each message as one JSON line
  --help               show this help

Each message prints one line on stdout: [channel] title: message. Status goes to stderr.
`;

type Args = {
  setup: boolean;
  config?: string;
  host?: string;
  port?: string;
  channels?: string;
  password?: string;
  user?: string;
  tls: boolean;
  print: boolean;
  json: boolean;
  state?: string;
  replayLimit?: string;
  ca?: string;
};

function parseArgs(argv: string[]): Args {
  const a: Args = { setup: false, tls: false, print: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) fail(`${flag} needs a value`, 2);
      return v!;
    };
    switch (flag) {
      case "setup":
        a.setup = true;
        break;
      case "--help":
      case "-h":
        process.stdout.write(HELP);
        process.exit(0);
      case "--config":
        a.config = value();
        break;
      case "--host":
        a.host = value();
        break;
      case "--port":
        a.port = value();
        break;
      case "--channels":
        a.channels = value();
        break;
      case "--password":
        a.password = value();
        break;
      case "--user":
        a.user = value();
        break;
      case "--tls":
        a.tls = true;
        break;
      case "--ca":
        a.ca = value();
        break;
      case "--state":
        a.state = value();
        break;
      case "--replay-limit":
        a.replayLimit = value();
        break;
      case "--print":
        a.print = true;
        break;
      case "--json":
        a.json = true;
        break;
      default:
        fail(`unknown argument ${JSON.stringify(arg)}; see notistream --help`, 2);
    }
  }
  return a;
}

function fail(message: string, code = 1): never {
  process.stderr.write(`notistream: ${message}\n`);
  process.exit(code);
}

async function setup(path: string, current: Config | null): Promise<Config> {
  const p = await import("@clack/prompts");
  const cancelled = () => {
    p.cancel("Setup cancelled; nothing was saved.");
    process.exit(1);
  };
  p.intro("notistream setup");
  const host = await p.text({
    message: "Pub/sub server host",
    placeholder: "localhost",
    defaultValue: current?.host ?? "localhost",
    initialValue: current?.host,
  });
  if (p.isCancel(host)) cancelled();
  const port = await p.text({
    message: "Port",
    placeholder: "6379",
    defaultValue: String(current?.port ?? 6379),
    initialValue: current ? String(current.port) : undefined,
    validate: (v) => {
      if (v === undefined || v === "") return undefined; // the default
      const n = Number(v);
      return Number.isInteger(n) && n >= 1 && n <= 65535 ? undefined : "The port must be a whole number from 1 to 65535";
    },
  });
  if (p.isCancel(port)) cancelled();
  const channels = await p.text({
    message: "Channels (comma-separated; globs like octo/* work)",
    placeholder: "alerts, octo/hello",
    initialValue: current?.channels.join(", "),
    validate: (v) => (parseChannels(v ?? "").length ? undefined : "At least one channel is required"),
  });
  if (p.isCancel(channels)) cancelled();
  const user = await p.text({
    message: "User name, for a server with an ACL (leave empty for the default user)",
    placeholder: "default",
    defaultValue: "",
    initialValue: current?.user,
  });
  if (p.isCancel(user)) cancelled();
  const keep = current?.password !== undefined;
  const password = await p.password({ message: keep ? "Password (leave empty to keep the current one, - for none)" : "Password (leave empty for none)", mask: "*" });
  if (p.isCancel(password)) cancelled();
  const tls = await p.confirm({ message: "Use TLS?", initialValue: current?.tls ?? false });
  if (p.isCancel(tls)) cancelled();
  const config: Config = {
    host: String(host).trim() || "localhost",
    port: Number(port) || 6379,
    channels: parseChannels(String(channels)),
  };
  const typed = String(password ?? "");
  const pw = typed === "" && keep ? current!.password! : typed === "-" ? "" : typed;
  if (pw) config.password = pw;
  const name = String(user ?? "").trim();
  if (name && name !== "default") config.user = name;
  if (tls === true) config.tls = true;
  // Settings the prompts do not ask for survive a new setup.
  if (current?.ca !== undefined) config.ca = current.ca;
  if (current?.replayLimit !== undefined) config.replayLimit = current.replayLimit;
  saveConfig(path, config);
  p.outro(`Saved ${path}. Listening now.`);
  return config;
}

type Notifier = (env: Envelope) => void;

function desktopNotifier(): Notifier {
  let warned = false;
  let notifier: typeof import("node-notifier") | null = null;
  return (env) => {
    void (async () => {
      notifier ??= (await import("node-notifier")).default;
      const options: Record<string, unknown> = { title: env.title || env.channel, message: env.message, wait: false };
      if (env.url) options.open = env.url; // followed on click by the notifiers that support it (macOS, Windows)
      notifier.notify(options, (err) => {
        if (err && !warned) {
          warned = true;
          process.stderr.write(`notistream: cannot show desktop notifications (${err.message}); messages still print here. Use --print to silence this.\n`);
        }
      });
    })();
  };
}

export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const path = args.config ?? process.env.NOTISTREAM_CONFIG ?? defaultConfigPath();
  let config: Config | null;
  try {
    config = loadConfig(path);
  } catch (err) {
    if (err instanceof ConfigError && !args.setup) fail(err.message);
    config = null;
  }
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  if (args.setup) {
    if (!interactive) fail(`setup needs a terminal; write ${path} by hand instead (see notistream --help)`, 2);
    config = await setup(path, config);
  } else if (!config && args.channels === undefined) {
    if (!interactive)
      fail(
        `no config at ${path} and no terminal to ask in. Either pass the settings as flags, e.g.\n` +
          `  notistream --host localhost --port 6379 --channels alerts\n` +
          `or write a config file (or point NOTISTREAM_CONFIG at one) like\n` +
          `  {"host": "localhost", "port": 6379, "channels": ["alerts"]}`,
        2,
      );
    config = await setup(path, null);
  }
  // Flags override the config for this run only.
  const merged = {
    host: args.host ?? config?.host ?? "localhost",
    port: args.port !== undefined ? Number(args.port) : (config?.port ?? 6379),
    channels: args.channels !== undefined ? parseChannels(args.channels) : (config?.channels ?? []),
    password: args.password ?? config?.password,
    user: args.user ?? config?.user,
    tls: args.tls || config?.tls || undefined,
    ca: args.ca ?? config?.ca,
    replayLimit: args.replayLimit !== undefined ? Number(args.replayLimit) : config?.replayLimit,
  };
  const checked = ConfigSchema.safeParse(JSON.parse(JSON.stringify(merged)));
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    fail(`--${issue.path.join(".") || "settings"}: ${issue.message}`, 2);
  }
  const run = checked.data;
  const notify = args.print || args.json ? null : desktopNotifier();
  const state = new ClientState(args.state ?? process.env.NOTISTREAM_STATE ?? defaultStatePath(), `${run.host}:${run.port}`);
  const sub = new Subscription(
    run,
    {
      message: (env) => {
        process.stdout.write((args.json ? JSON.stringify(env) : formatLine(env)) + "\n");
        notify?.(env);
      },
      status: (line) => process.stderr.write(`notistream: ${line}\n`),
    },
    timingFromEnv(),
    state,
    run.replayLimit ?? 50,
  );
  const stop = () => {
    process.stderr.write("notistream: stopping\n");
    sub.stop();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.stderr.write(`notistream: connecting to ${run.host}:${run.port}${run.tls ? " (TLS)" : ""}\n`);
  await sub.run();
  process.exit(0);
}

/** Test and tuning knobs, in milliseconds: NOTISTREAM_PING_INTERVAL_MS, NOTISTREAM_PING_TIMEOUT_MS. */
function timingFromEnv(): Timing {
  const ms = (name: string, fallback: number) => {
    const v = Number(process.env[name]);
    return Number.isFinite(v) && v > 0 ? v : fallback;
  };
  return {
    pingIntervalMs: ms("NOTISTREAM_PING_INTERVAL_MS", DEFAULT_TIMING.pingIntervalMs),
    pingTimeoutMs: ms("NOTISTREAM_PING_TIMEOUT_MS", DEFAULT_TIMING.pingTimeoutMs),
    stableMs: ms("NOTISTREAM_STABLE_MS", DEFAULT_TIMING.stableMs),
    connectTimeoutMs: ms("NOTISTREAM_CONNECT_TIMEOUT_MS", DEFAULT_TIMING.connectTimeoutMs),
    backoffCapMs: DEFAULT_TIMING.backoffCapMs,
  };
}

if (import.meta.main) await main(process.argv.slice(2));
