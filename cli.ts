// cli.ts — command lines: flags read by node:util's parseArgs, refused in plain sentences (servers and client); the servers'
// environment fallbacks and --help; the files flags name (ACL, TLS); a port that cannot be bound; SIGINT/SIGTERM.
import { Acl, AclFileError } from "./acl";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

/** One client-output-buffer-limit class: hard bytes, soft bytes held for soft seconds (0 turns a limit off). */
export type OutputLimits = { hard: number; soft: number; softSeconds: number };

export type FlagSpec = { name: string; env?: string; help: string; default?: string; boolean?: boolean };

export function usage(command: string, about: string, specs: FlagSpec[]): string {
  const rows = specs.map((s) => {
    const left = `  --${s.name}${s.boolean ? "" : " <value>"}`;
    const extra = [s.env ? `env ${s.env}` : "", s.default !== undefined ? `default ${s.default}` : ""].filter(Boolean).join(", ");
    // At least one space after a long flag name, so its help never runs into it.
    return `${left.padEnd(33)} ${s.help}${extra ? ` (${extra})` : ""}`;
  });
  return `${about}\n\nUsage: ${command} [options]\n\nOptions:\n${rows.join("\n")}\n  --help                          show this help\n`;
}

/** How a flag is given: with a value (`--port 6379`, `--port=6379`) or alone (`--trust-proxy`). */
export type FlagKind = "string" | "boolean";

/** A command line as node:util's parseArgs reads it (strict), --help or -h anywhere, or a plain sentence saying what was wrong. */
type ReadFlags =
  | { kind: "flags"; values: Record<string, string | true>; positionals: string[] }
  | { kind: "help" }
  | { kind: "problem"; sentence: string };

const RUN_HELP = "run with --help to see the flags";

/**
 * Reads argv with node:util's parseArgs, strict. Its own error texts name its internals ("Option '--x <value>' argument
 * missing"), so a refused command line is read again token by token (strict off) to say what was wrong in our words.
 */
export function readFlags(argv: string[], kinds: Record<string, FlagKind>, allowPositionals = false): ReadFlags {
  const options: Record<string, { type: FlagKind; short?: string }> = { help: { type: "boolean", short: "h" } };
  for (const [name, type] of Object.entries(kinds)) options[name] = { type };
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  if (tokens.some((t) => t.kind === "option" && t.name === "help")) return { kind: "help" };
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals });
    const out: Record<string, string | true> = {};
    for (const [name, v] of Object.entries(values)) if (typeof v === "string" || v === true) out[name] = v;
    return { kind: "flags", values: out, positionals };
  } catch (err) {
    return { kind: "problem", sentence: flagProblem(tokens, kinds, allowPositionals) ?? (err as Error).message };
  }
}

type Token = ReturnType<typeof parseArgs>["tokens"] extends (infer T)[] | undefined ? T : never;

/** The first token strict parsing refuses, as a sentence; null if none is found (then parseArgs's own text is shown). */
function flagProblem(tokens: Token[], kinds: Record<string, FlagKind>, allowPositionals: boolean): string | null {
  for (const t of tokens) {
    if (t.kind === "positional" && !allowPositionals) return `unexpected argument ${JSON.stringify(t.value)}: flags start with --; ${RUN_HELP}`;
    if (t.kind !== "option") continue;
    const kind = kinds[t.name];
    if (kind === undefined) return `unknown flag ${t.rawName}; ${RUN_HELP}`;
    if (kind === "boolean" && t.value !== undefined) return `${t.rawName} takes no value: give it alone to turn it on`;
    if (kind === "string" && t.value === undefined) return `${t.rawName} needs a value`;
    // parseArgs takes `--port -1` as a forgotten value (the next flag, most likely), and the value may be a secret: not echoed.
    if (kind === "string" && !t.inlineValue && t.value!.length > 1 && t.value!.startsWith("-"))
      return `${t.rawName} needs a value; if its value starts with a dash, write ${t.rawName}=VALUE`;
  }
  return null;
}

/** Parses flags, then fills gaps from the environment, then from defaults. An unknown flag or a stray word is a usage error. */
export function parseFlags(
  command: string,
  about: string,
  specs: FlagSpec[],
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): Record<string, string | undefined> {
  const read = readFlags(argv, Object.fromEntries(specs.map((s) => [s.name, s.boolean ? "boolean" : "string"])));
  if (read.kind === "help") {
    process.stdout.write(usage(command, about, specs));
    process.exit(0);
  }
  if (read.kind === "problem") {
    process.stderr.write(`${command}: ${read.sentence}\n`);
    process.exit(2);
  }
  const out: Record<string, string | undefined> = {};
  for (const s of specs) {
    const given = read.values[s.name];
    if (given !== undefined) out[s.name] = given === true ? "true" : given;
    else if (s.env && env[s.env] !== undefined && env[s.env] !== "") out[s.name] = env[s.env];
    else if (s.default !== undefined) out[s.name] = s.default;
  }
  return out;
}

/** "<hard bytes> <soft bytes> <soft seconds>", as the output-limit flags take it (Redis's client-output-buffer-limit); null if not. */
export function parseOutputLimit(text: string): OutputLimits | null {
  const n = text.trim().split(/\s+/).map(Number);
  if (n.length !== 3 || n.some((x) => !Number.isSafeInteger(x) || x < 0)) return null;
  return { hard: n[0]!, soft: n[1]!, softSeconds: n[2]! };
}

/** An output-limit flag (--pubsub-output-limit, --normal-output-limit, --sse-output-limit), or a usage error (exit 2). */
export function outputLimitFlag(prog: string, flags: Record<string, string | undefined>, name: string): OutputLimits {
  const limit = parseOutputLimit(flags[name] ?? "");
  if (limit) return limit;
  process.stderr.write(`${prog}: --${name} takes three whole numbers, "<hard bytes> <soft bytes> <soft seconds>", got ${JSON.stringify(flags[name])}\n`);
  process.exit(2);
}

/** A whole-number flag within [min, max], or a usage error (exit 2) that names the flag. */
export function intFlag(prog: string, flags: Record<string, string | undefined>, name: string, min: number, max: number): number {
  const v = Number(flags[name]);
  if (!Number.isInteger(v) || v < min || v > max) {
    process.stderr.write(`${prog}: --${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(flags[name])}\n`);
    process.exit(2);
  }
  return v;
}

/** Runs `start`; when it cannot listen, says why (a taken port above all) and exits 1. */
export async function listenOrExit<T>(prog: string, host: string, port: number, start: () => T | Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === "EADDRINUSE" ? "the port is already in use; stop the other server or pick another --port" : String(err);
    process.stderr.write(`${prog}: cannot listen on ${host}:${port}: ${why}\n`);
    process.exit(1);
  }
}

/** Ctrl-C and SIGTERM run `stop`, then the process exits 0. */
export function exitOnSignals(stop: () => void | Promise<void>): void {
  const handler = async () => {
    await stop();
    process.exit(0);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

/** The soft limit on open files, from /proc/self/limits (Linux); null where it cannot be read. */
export function openFileLimit(): number | null {
  try {
    const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync("/proc/self/limits", "utf8"));
    if (!m) return null;
    return m[1] === "unlimited" ? Infinity : Number(m[1]);
  } catch {
    return null;
  }
}

/** File descriptors kept for the server's own files (history, logs, listeners), as Redis's CONFIG_MIN_RESERVED_FDS. */
export const RESERVED_FDS = 32;

/**
 * How many clients the server takes: `wanted` (--maxclients) if given and the open-file limit holds it, else what the
 * limit holds minus the reserve, as Redis does (Bun has already raised the soft limit to the hard one). Returns the
 * figure and the line to log at start.
 */
export function maxClientsFor(prog: string, wanted: number | undefined, reservedClients = 0, limit: number | null = openFileLimit()): { maxClients: number; line: string; warning: boolean } {
  const fits = limit === null || limit === Infinity ? Infinity : Math.max(1, limit - RESERVED_FDS - reservedClients);
  const limitText = limit === null ? "unknown" : String(limit);
  const less = `less ${RESERVED_FDS} for the server's own files${reservedClients ? ` and ${reservedClients} reserved for clients that log in` : ""}`;
  if (wanted === undefined) {
    const maxClients = fits === Infinity ? 10_000 : fits;
    const why = fits === Infinity ? "the open-file limit is not known or unlimited, so Redis's default" : `the open-file limit ${limitText} ${less}`;
    return { maxClients, line: `${prog}: maxclients ${maxClients} (${why}; raise it with ulimit -n or LimitNOFILE=)`, warning: false };
  }
  if (wanted <= fits) return { maxClients: wanted, line: `${prog}: maxclients ${wanted} (open-file limit ${limitText})`, warning: false };
  return {
    maxClients: fits,
    line: `${prog}: warning: --maxclients ${wanted} needs ${wanted + RESERVED_FDS + reservedClients} open files but the open-file limit is ${limitText}, so maxclients is ${fits}; raise the limit with \`ulimit -n ${wanted + RESERVED_FDS + reservedClients}\` or LimitNOFILE= in a systemd unit`,
    warning: true,
  };
}

/** Reads --tls-cert and --tls-key (both or neither); a usage error names what is missing or unreadable. */
export function loadTls(prog: string, flags: Record<string, string | undefined>, port: number): { port: number; cert: string; key: string } | undefined {
  const certPath = flags["tls-cert"];
  const keyPath = flags["tls-key"];
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined || keyPath === undefined) {
    process.stderr.write(`${prog}: TLS needs both --tls-cert and --tls-key\n`);
    process.exit(2);
  }
  try {
    return { port, cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8") };
  } catch (err) {
    process.stderr.write(`${prog}: cannot read the TLS certificate or key: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

/** Reads --acl FILE (latin1, so patterns match channel bytes as RESP sends them); a broken file stops the start with its line. */
export function loadAcl(prog: string, path: string | undefined, password: string | undefined, passwordFlag: string): Acl | undefined {
  if (path === undefined || path === "") return undefined;
  if (password !== undefined) {
    process.stderr.write(`${prog}: --acl and ${passwordFlag} cannot be used together: give the users their passwords in the ACL file\n`);
    process.exit(2);
  }
  try {
    return readAcl(path);
  } catch (err) {
    process.stderr.write(`${prog}: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

/** Reads and parses an ACL file (latin1, so patterns match channel bytes as RESP sends them); errors say which. */
export function readAcl(path: string): Acl {
  let text: string;
  try {
    text = readFileSync(path, "latin1");
  } catch (err) {
    throw new AclFileError(`cannot read the ACL file: ${(err as Error).message}`);
  }
  try {
    return Acl.parse(text, path);
  } catch (err) {
    if (!(err instanceof AclFileError)) throw err;
    throw new AclFileError(`the ACL file is not valid: ${err.message}`);
  }
}

/** SIGHUP reads the ACL file again; a broken file keeps the rules in force and says why. */
export function reloadAclOnHup(prog: string, reload: () => string | null): void {
  process.on("SIGHUP", () => {
    const err = reload();
    if (err !== null) console.error(`${prog}: SIGHUP: ${err}; the previous rules stay in force`);
  });
}

/** One start-up line saying what the anonymous (default) user may do, so an open server is never a surprise. */
export function aclSummary(acl: Acl): string {
  const anon = acl.anonymous;
  const who = `${acl.users.size - 1} named user(s)`; // parse() always adds "default"
  if (!anon.enabled) return `ACL with ${who}; anonymous clients must log in`;
  if (!anon.nopass) return `ACL with ${who}; the default user needs its password`;
  return `ACL with ${who}; anonymous clients get the default user's rights`;
}
