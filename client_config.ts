// client_config.ts — the client's settings file: its zod schema (what a hand-written config may hold), where it lives,
// reading it with errors that name the file and the field, and writing it with mode 0600 (it may hold a password).
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { dirname, join } from "node:path";
import { homedir } from "node:os";
import { z } from "zod";

export const ConfigSchema = z
  .object({
    /** The pub/sub server; a config that names only a url (a web server, an ntfy server) needs neither. */
    host: z.string().min(1, "host must not be empty").default("localhost"),
    port: z.number().int().min(1).max(65535).default(6379),
    channels: z.array(z.string().min(1, "a channel name must not be empty")).min(1, "at least one channel is required"),
    password: z.string().optional(),
    /** The ACL user to log in as (AUTH user password); without it the password is the default user's. */
    user: z.string().min(1, "user must not be empty").optional(),
    tls: z.boolean().optional(),
    /** A PEM CA file to trust with TLS, for a server with a self-signed certificate. */
    ca: z.string().optional(),
    /** After an absence, show at most this many missed messages per channel. */
    replayLimit: z.number().int().min(0).optional(),
    /** Subscribe through the web server (GET /events over HTTPS), or an ntfy server (its /json), instead of the pub/sub port. */
    url: z
      .string()
      .refine((u) => /^https?:\/\/[^/]/.test(u), "url must start with https:// (or http://), like https://notify.example.com:8080")
      .optional(),
    /** A token for the url's server (ntfy's tk_…, or the web server's), sent as Bearer; it takes the place of user and password there. */
    token: z.string().min(1, "token must not be empty").optional(),
    /** The url is an ntfy server (or our web server spoken to as one): skip asking it what it is. */
    ntfy: z.boolean().optional(),
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

export { isPattern } from "./glob";
