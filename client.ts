#!/usr/bin/env bun
// client.ts — the `notistream` command: its flags and subcommands (publish among them), plain-sentence errors, and wiring a
// subscription (RESP, or --url: our web server or an ntfy server) to what a person gets: a line, a notification, --exec.
import { ConfigError, ConfigSchema, defaultConfigPath, loadConfig, parseChannels, type Config } from "./client_config";
import { ClientState, claimConfig, defaultStatePath } from "./client_state";
import { DEFAULT_TIMING, backoffDelay, failureFromError, type LinkFailure, type Timing } from "./link";
import { Subscription } from "./client_subscription";
import type { Handlers, Subscribing } from "./catchup";
import { WebSubscription } from "./client_websub";
import { NTFY_SILENCE_MS, NtfySubscription } from "./client_ntfy";
import { askKind, authorization, trustedCa, type ServerKind } from "./client_http";
import { parsePriority, publish, type Publication } from "./client_publish";
import { Desktop } from "./client_desktop";
import { desktopShower } from "./client_shower";
import { messageLine } from "./client_line";
import { Reporter } from "./client_report";
import { Executor } from "./client_exec";
import { setup } from "./client_setup";
import { showControls, visibleJson, visibleLine } from "./client_visible";
import { EXIT_FIX_SETTINGS, installService, serviceStatus, uninstallService } from "./client_service";
import { resolve } from "node:path";
import { readFlags, type FlagKind } from "./cli";

const HELP = `notistream — desktop notifications from a Notistream (or Redis) pub/sub server, or any ntfy server

Usage:
  notistream [options]             subscribe and show notifications (runs setup first if there is no config)
  notistream publish <channel> <message> [--title T] [--priority P] [--tags a,b] [--click URL]
                                   send a message through --url (a Notistream web server or an ntfy server);
                                   a <message> of - is read from stdin (one final newline dropped)
  notistream setup                 ask for the settings again, pre-filled, and try them before saving
  notistream service install       start notistream at login (systemd user unit, launchd agent, or Startup entry)
  notistream service uninstall     stop starting it at login
  notistream service status        say whether it is installed and running

Options:
  --config <file>      config file (env NOTISTREAM_CONFIG; default $XDG_CONFIG_HOME/notistream/config.json)
  --host <host>        pub/sub server host (or any node of a Redis Cluster: found by itself), for this run only
  --port <port>        pub/sub server port, for this run only
  --channels <a,b>     comma-separated channels (globs like octo/* use PSUBSCRIBE), for this run only
  --password <pw>      password (or, with --url and no --user, the web server's token), for this run only
  --user <name>        ACL user (or ntfy user) to log in as with the password, for this run only
  --token <token>      with --url: a token sent as Bearer (ntfy's tk_..., or the web server's), in place of
                       --user/--password (env NOTISTREAM_TOKEN, which keeps it out of ps; config "token")
  --tls                connect with TLS (rediss), for this run only
  --ca <file>          PEM CA to trust with TLS or HTTPS (a self-signed server), for this run only
  --url <url>          subscribe over HTTPS instead of the pub/sub port (config "url"): through a Notistream
                       web server's /events (https://host:8080), or an ntfy server's /<topics>/json
                       (https://ntfy.sh, or your own); which one it is, its /health and /v1/health say
  --ntfy               the --url is an ntfy server (or our web server spoken to as one): skip asking
                       (config "ntfy": true)
  --replay-limit <n>   after a start or an absence of over 10 minutes, show at most n missed messages
                       per channel (default 50); shorter gaps are replayed in full
  --state <file>       where the last message seen per channel is kept
                       (env NOTISTREAM_STATE; default $XDG_STATE_HOME/notistream/state.json)
  --exec <cmd>         run cmd once per message, one at a time: the message as JSON on stdin, and
                       NOTISTREAM_ID, _CHANNEL, _TITLE, _MESSAGE, _PRIORITY, _URL, _TAGS, _EVENT,
                       _SEQUENCE_ID, _ATTACHMENT_URL in its environment
                       (control characters in those shown as \\x1b; the JSON holds the exact text)
  --print              print messages only, no desktop notification (headless use, tests)
  --json               print each message as one JSON line
  --help               show this help

Publishing (notistream publish):
  --title <text>       the title (X-Title)
  --priority <p>       1-5, or min, low, default, high, max (urgent) (X-Priority)
  --tags <a,b>         comma-separated tags, ntfy's emoji short codes among them (X-Tags)
  --click <url>        the link a click on the notification opens (X-Click)
  It prints the published message's id and topic, one line; a refusal is said in a sentence (exit 1).

Each message prints one line on stdout: [channel] title: message <url>. Status goes to stderr.
Control characters in a message (ESC, C1, bidi overrides) are shown as escapes like \\x1b, never obeyed.
On the desktop, priority 5 is critical (it stays until dismissed), 3-4 normal, 1-2 low; a click opens an
http(s) link (others are refused).
More than 3 missed (or arriving at once) on a channel show as one "N missed on channel" notification;
priority 4 and 5 always show at once, on their own. A message's buttons (ntfy's view, http, copy) are the
notification's actions; an update (same sequence_id) replaces the notification, a delete or clear closes it.
Errors that settings must fix (a wrong password, say) stop it with exit code ${EXIT_FIX_SETTINGS}; others are retried.
`;

type Args = {
  command: "run" | "setup" | "service" | "publish";
  service?: "install" | "uninstall" | "status";
  config?: string;
  host?: string;
  port?: number;
  channels?: string;
  password?: string;
  user?: string;
  tls: boolean;
  print: boolean;
  json: boolean;
  state?: string;
  replayLimit?: number;
  ca?: string;
  url?: string;
  exec?: string;
  token?: string;
  ntfy: boolean;
  /** publish's channel, message and the message's other fields. */
  publication?: Publication;
};

function fail(message: string, code = 1): never {
  // A fatal reason may quote the server's words: shown, never obeyed (client_visible.ts).
  process.stderr.write(`notistream: ${showControls(message)}\n`);
  process.exit(code);
}

/** A whole number within bounds, or an error that names the flag as it was typed. */
function wholeNumber(flag: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max) fail(`${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}; see notistream --help`, 2);
  return n;
}

const FLAGS: Record<string, FlagKind> = {
  config: "string",
  host: "string",
  port: "string",
  channels: "string",
  password: "string",
  user: "string",
  tls: "boolean",
  ca: "string",
  url: "string",
  state: "string",
  "replay-limit": "string",
  exec: "string",
  print: "boolean",
  json: "boolean",
  token: "string",
  ntfy: "boolean",
  title: "string",
  priority: "string",
  tags: "string",
  click: "string",
};

/** The flags only `publish` takes. */
const PUBLISH_FLAGS = ["title", "priority", "tags", "click"];

/** The command line: flags (read by node:util's parseArgs through cli.ts) and the subcommands publish, setup and service. */
function readArgs(argv: string[]): Args {
  const read = readFlags(argv, FLAGS, true);
  if (read.kind === "help") {
    process.stdout.write(HELP);
    process.exit(0);
  }
  if (read.kind === "problem") fail(read.sentence, 2);
  const text = (name: string): string | undefined => {
    const v = read.values[name];
    return typeof v === "string" ? v : undefined;
  };
  let command: Args["command"] = "run";
  let service: Args["service"];
  let publication: Publication | undefined;
  const [word, ...rest] = read.positionals;
  if (word === "publish") {
    if (rest.length !== 2) fail(`publish needs a channel and a message (- reads it from stdin), like: notistream publish alerts "disk full"${rest.length > 2 ? `; quote a message of several words` : ""}`, 2);
    command = "publish";
    publication = readPublication(rest[0]!, rest[1]!, text);
  } else if (word === "setup" && rest.length === 0) command = "setup";
  else if (word === "service" && rest.length <= 1) {
    const sub = rest[0];
    if (sub !== "install" && sub !== "uninstall" && sub !== "status") fail(`service needs install, uninstall or status${sub ? `, not ${JSON.stringify(sub)}` : ""}`, 2);
    command = "service";
    service = sub;
  } else if (word !== undefined) {
    const stray = word === "setup" ? rest[0] : word === "service" ? rest[1] : word;
    fail(`unexpected argument ${JSON.stringify(stray)}: the subcommands are publish, setup and service install|uninstall|status; run with --help to see the flags`, 2);
  }
  const publishOnly = PUBLISH_FLAGS.find((f) => read.values[f] !== undefined);
  if (publishOnly && command !== "publish") fail(`--${publishOnly} is for notistream publish <channel> <message>`, 2);
  const port = text("port");
  const replayLimit = text("replay-limit");
  const url = text("url");
  if (url !== undefined && !/^https?:\/\/[^/]/.test(url)) fail(`--url must be the server's address, like https://notify.example.com:8080 or https://ntfy.sh, got ${JSON.stringify(url)}`, 2);
  return {
    command,
    service,
    config: text("config"),
    host: text("host"),
    port: port === undefined ? undefined : wholeNumber("--port", port, 1, 65535),
    channels: text("channels"),
    password: text("password"),
    user: text("user"),
    tls: read.values.tls === true,
    print: read.values.print === true,
    json: read.values.json === true,
    state: text("state"),
    replayLimit: replayLimit === undefined ? undefined : wholeNumber("--replay-limit", replayLimit, 0, 1_000_000),
    ca: text("ca"),
    url,
    exec: text("exec"),
    token: text("token"),
    ntfy: read.values.ntfy === true,
    publication,
  };
}

/** publish's words and flags, checked: a priority ntfy takes, tags as a list, the message from stdin when it is -. */
function readPublication(channel: string, message: string, text: (name: string) => string | undefined): Publication {
  const p: Publication = { channel, message };
  const title = text("title");
  if (title !== undefined) p.title = title;
  const priority = text("priority");
  if (priority !== undefined) {
    const n = parsePriority(priority);
    if (n === null) fail(`--priority must be 1 to 5, or min, low, default, high, max or urgent, got ${JSON.stringify(priority)}`, 2);
    p.priority = n;
  }
  const tags = text("tags");
  if (tags !== undefined) p.tags = parseChannels(tags);
  const click = text("click");
  if (click !== undefined) p.click = click;
  return p;
}

/** A failure that settings must fix, as a sentence that says what to do. */
export function explainFailure(f: LinkFailure, c: Pick<Config, "host" | "port" | "user" | "channels" | "url">): string {
  const where = c.url ?? `${c.host}:${c.port}`;
  const who = c.user ? `user "${c.user}"` : "the default user";
  switch (f.code) {
    case "WRONGPASS":
      return `${where} refused the password for ${who} (${f.reason}). Run \`notistream setup\` to enter it again.`;
    case "NOAUTH":
      return `${where} needs a password (${f.reason}). Run \`notistream setup\` and enter it.`;
    case "NOPERM":
      return `${where} does not let ${who} read ${c.channels.join(", ")} (${f.reason}). Ask the server's administrator for the rights, or pick other channels with \`notistream setup\`.`;
    case "NOTRESP":
      return `${where} is not the pub/sub server: ${f.reason}. The pub/sub server's port is usually 6379; run \`notistream setup\` to change it, or reach the web server with --url https://${c.host}:8080.`;
    case "ENOTFOUND":
      return `the host name "${c.url ? new URL(c.url).hostname : c.host}" does not resolve. Check it for typos, or run \`notistream setup\`.`;
    case "HTTP401":
      return `${f.reason}. Give the user and password (--user, --password) or a token (--token), or enter them with \`notistream setup\`.`;
    case "HTTP403":
      return `${f.reason}. Ask the server's administrator for read rights on ${c.channels.join(", ")}, or pick other channels with \`notistream setup\`.`;
    default:
      return /TLS|CERT/i.test(f.code + f.reason) ? `${f.reason}. If the server has a self-signed certificate, give its CA with --ca FILE (config "ca").` : `${f.reason}.`;
  }
}

/** Test and tuning knobs, in milliseconds: NOTISTREAM_PING_INTERVAL_MS, NOTISTREAM_PING_TIMEOUT_MS, … */
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

async function main(argv: string[]): Promise<void> {
  const args = readArgs(argv);
  if (args.command === "service") return runService(args);
  if (args.command === "publish") return runPublish(args);
  const path = args.config ?? process.env.NOTISTREAM_CONFIG ?? defaultConfigPath();
  let config: Config | null;
  try {
    config = loadConfig(path);
  } catch (err) {
    if (!(err instanceof ConfigError) || args.command !== "setup") fail((err as Error).message);
    config = null;
  }
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  if (args.command === "setup") {
    if (!interactive) fail(`setup needs a terminal; write ${path} by hand instead (see notistream --help)`, 2);
    config = await setup(path, config, explainFailure);
  } else if (!config && args.channels === undefined) {
    if (!interactive)
      fail(
        `no config at ${path} and no terminal to ask in. Either pass the settings as flags, e.g.\n` +
          `  notistream --host localhost --port 6379 --channels alerts\n` +
          `or write a config file (or point NOTISTREAM_CONFIG at one) like\n` +
          `  {"host": "localhost", "port": 6379, "channels": ["alerts"]}`,
        2,
      );
    config = await setup(path, null, explainFailure);
  }
  // Flags override the config for this run only.
  const merged = {
    host: args.host ?? config?.host ?? "localhost",
    port: args.port ?? config?.port ?? 6379,
    channels: args.channels !== undefined ? parseChannels(args.channels) : (config?.channels ?? []),
    password: args.password ?? config?.password,
    user: args.user ?? config?.user,
    tls: args.tls || config?.tls || undefined,
    ca: args.ca ?? config?.ca,
    replayLimit: args.replayLimit ?? config?.replayLimit,
    url: args.url ?? config?.url,
    // NOTISTREAM_TOKEN keeps a token out of ps and shell history; it counts only where a token can go (--url).
    token: args.token ?? config?.token ?? ((args.url ?? config?.url) ? process.env.NOTISTREAM_TOKEN || undefined : undefined),
    ntfy: args.ntfy || config?.ntfy || undefined,
  };
  const checked = ConfigSchema.safeParse(JSON.parse(JSON.stringify(merged)));
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    fail(`--${issue.path.join(".") || "settings"}: ${issue.message}`, 2);
  }
  const run = checked.data;
  if (!run.url && run.token !== undefined) fail(`--token (config "token") is for --url, a web server or an ntfy server; over the pub/sub port, log in with --user and --password`, 2);
  if (!run.url && run.ntfy) fail(`--ntfy (config "ntfy") needs --url, the ntfy server's address, like --url https://ntfy.sh`, 2);
  const statePath = args.state ?? process.env.NOTISTREAM_STATE ?? defaultStatePath();
  // One client per config: a second one would show every message twice.
  const claim = claimConfig(path, statePath);
  if ("heldBy" in claim) fail(`another notistream (PID ${claim.heldBy}) is already running with ${path}; stop it first (kill ${claim.heldBy}), or give this one its own --config`, 1);

  // Every line that reaches the terminal goes through client_visible.ts: status and reports quote messages' channels, links
  // and the server's own words, and none of those may move the cursor, set the title or write the clipboard.
  const say = (line: string) => process.stderr.write(`${showControls(line)}\n`);
  const reporter = new Reporter(say, Number(process.env.NOTISTREAM_REPORT_INTERVAL_MS) || 10_000);
  const desktop = args.print || args.json ? null : desktopShower(new Desktop(reporter, say));
  const exec = args.exec ? new Executor(args.exec, say) : null;
  let fatal: LinkFailure | null = null;
  const handlers: Handlers = {
    message: (env, replayed) => {
      process.stdout.write((args.json ? visibleJson(env) : visibleLine(messageLine(env))) + "\n");
      desktop?.message(env, replayed);
      exec?.run(env);
    },
    caughtUp: () => desktop?.caughtUp(),
    status: (line) => say(`notistream: ${line}`),
    fatal: (f) => {
      fatal = f;
    },
  };
  const server = run.url ?? `${run.host}:${run.port}`;
  const state = new ClientState(statePath, run.url ? run.url.replace(/\/+$/, "") : `${run.host}:${run.port}`);
  const sub: Subscribing = run.url
    ? new UrlSubscription({ ...run, url: run.url }, handlers, timingFromEnv(), state, run.replayLimit ?? 50)
    : new Subscription(run, handlers, timingFromEnv(), state, run.replayLimit ?? 50);
  const stop = () => {
    process.stderr.write("notistream: stopping\n");
    sub.stop();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.stderr.write(`notistream: connecting to ${server}${run.tls ? " (TLS)" : ""}\n`);
  await sub.run();
  await exec?.idle();
  if (fatal !== null) fail(explainFailure(fatal, run), EXIT_FIX_SETTINGS);
  process.exit(0);
}

/**
 * A --url subscription: our web server (its /messages and /events, per channel) or an ntfy server (its /<topics>/json),
 * as the server's own answers say (client_http.ts's serverKind), or --ntfy. Asked once, when it first answers: a server
 * not up yet is asked again with link.ts's backoff.
 */
class UrlSubscription implements Subscribing {
  private chosen: Subscribing | null = null;
  private readonly stopping = new AbortController();
  private wake: (() => void) | null = null;

  constructor(
    private readonly config: Config & { url: string },
    private readonly on: Handlers,
    private readonly timing: Timing,
    private readonly state: ClientState,
    private readonly replayLimit: number,
  ) {}

  async run(): Promise<void> {
    const kind = this.config.ntfy ? "ntfy" : await this.ask();
    if (kind === null || this.stopping.signal.aborted) return;
    const silenceMs = Number(process.env.NOTISTREAM_NTFY_SILENCE_MS) || NTFY_SILENCE_MS;
    this.chosen =
      kind === "ntfy"
        ? new NtfySubscription(this.config, this.on, this.timing, this.state, this.replayLimit, silenceMs)
        : new WebSubscription(this.config, this.on, this.timing, this.state, this.replayLimit);
    await this.chosen.run();
  }

  stop(): void {
    this.stopping.abort();
    this.wake?.();
    this.chosen?.stop();
  }

  /** GET /health, then GET /v1/health: which kind of server this is; null when stopped or when it is neither (fatal). */
  private async ask(): Promise<ServerKind | null> {
    const base = this.config.url.replace(/\/+$/, "");
    const tls = trustedCa(this.config.ca);
    for (let attempt = 0; !this.stopping.signal.aborted; attempt++) {
      let why: string;
      try {
        const asked = await askKind(base, tls, this.timing.connectTimeoutMs, this.stopping.signal);
        if ("kind" in asked) {
          this.on.status(asked.kind === "ntfy" ? `${base} is an ntfy server: one /json stream for ${this.config.channels.join(", ")}` : `${base} is a Notistream web server: subscribing through /events`);
          return asked.kind;
        }
        if (asked.failure.fatal) {
          this.on.fatal(asked.failure);
          return null;
        }
        why = asked.failure.reason;
      } catch (err) {
        if (this.stopping.signal.aborted) return null;
        const f = failureFromError(err as Error & { code?: string }, base);
        if (f.fatal) {
          this.on.fatal(f);
          return null;
        }
        why = f.reason;
      }
      const delay = backoffDelay(attempt, Math.random, 500, this.timing.backoffCapMs);
      this.on.status(`cannot tell what ${base} is yet (${why}); asking again in ${(delay / 1000).toFixed(1)} s`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, delay);
      });
    }
    return null;
  }
}

/** notistream publish: one POST to --url (or the config's url), or a sentence saying what went wrong. */
async function runPublish(args: Args): Promise<void> {
  const path = args.config ?? process.env.NOTISTREAM_CONFIG ?? defaultConfigPath();
  let config: Config | null = null;
  try {
    config = loadConfig(path);
  } catch (err) {
    fail((err as Error).message);
  }
  const url = args.url ?? config?.url;
  if (!url)
    fail(
      `publish sends through a Notistream web server or an ntfy server: give its address with --url https://... (or "url" in ${path}). ` +
        `It does not publish over the pub/sub port, since there a message would miss the history the web server keeps.`,
      2,
    );
  const p = args.publication!;
  if (p.message === "-") p.message = (await Bun.stdin.text()).replace(/\r?\n$/, "");
  const login = { user: args.user ?? config?.user, password: args.password ?? config?.password, token: args.token ?? config?.token ?? (process.env.NOTISTREAM_TOKEN || undefined) };
  try {
    const line = await publish(url, p, authorization(login), trustedCa(args.ca ?? config?.ca));
    process.stdout.write(`${showControls(line)}\n`);
  } catch (err) {
    fail((err as Error).message, 1);
  }
  process.exit(0);
}

/** The command the service runs: this Bun and this file, with the config made absolute. */
function runService(args: Args): void {
  const config = resolve(args.config ?? process.env.NOTISTREAM_CONFIG ?? defaultConfigPath());
  const lines =
    args.service === "install"
      ? installService({ program: process.execPath, args: [resolve(import.meta.dir, "client.ts"), "--config", config] })
      : args.service === "uninstall"
        ? uninstallService()
        : serviceStatus();
  for (const l of lines) process.stdout.write(`notistream: ${l}\n`);
}

if (import.meta.main) await main(process.argv.slice(2));
