// client_setup.ts — `notistream setup` and the first run: the questions (@clack/prompts), pre-filled from the current
// config; then a real connection is tried before saving, and a failed one is explained with an offer to save anyway.
import { saveConfig, parseChannels, type Config } from "./client_config";
import { DEFAULT_TIMING, Link, type LinkFailure } from "./link";
import { askKind, httpTarget } from "./client_http";
import { topicsPath } from "./client_ntfy";
import { showControls } from "./client_visible";

/**
 * Connects once and says why not; null when it worked. Over RESP it logs in. A --url is asked what it is, as the client
 * asks it (client_http.ts's askKind, or --ntfy), then read once: our web server's /messages, or an ntfy server's
 * /<topics>/json?poll=1 (which needs the same read rights as the stream, and sends nothing back with since=none).
 */
export async function tryConnection(config: Config, timeoutMs = 5000): Promise<LinkFailure | null> {
  if (config.url) {
    const { base, headers, tls } = httpTarget({ ...config, url: config.url });
    try {
      const asked = config.ntfy ? { kind: "ntfy" as const } : await askKind(base, tls, timeoutMs, new AbortController().signal);
      if ("failure" in asked) return asked.failure;
      let path: string;
      if (asked.kind === "ntfy") {
        const topics = topicsPath(config.channels);
        if ("problem" in topics) return { fatal: true, code: "CONFIG", reason: topics.problem };
        path = `${topics.path}/json?poll=1&since=none`;
      } else path = `/messages?channel=${encodeURIComponent(config.channels[0]!)}&limit=1`;
      const r = await fetch(`${base}${path}`, { headers, tls, signal: AbortSignal.timeout(timeoutMs) });
      return r.ok ? null : { fatal: true, code: `HTTP${r.status}`, reason: `${config.url} answered ${r.status}: ${(await r.text()).slice(0, 200)}` };
    } catch (err) {
      return { fatal: false, code: "ERROR", reason: `${config.url}: ${(err as Error).message}` };
    }
  }
  return await new Promise<LinkFailure | null>((resolve) => {
    const link = new Link(
      { host: config.host, port: config.port, user: config.user, password: config.password, tls: config.tls, caFile: config.ca },
      {
        ready: () => {
          link.stop();
          resolve(null);
        },
        push: () => {},
        down: (failure) => {
          link.stop();
          resolve(failure);
        },
      },
      { ...DEFAULT_TIMING, connectTimeoutMs: timeoutMs },
    );
    link.start();
  });
}

/** Asks for the settings, tries them, saves them (mode 0600). `explain` turns a failure into a sentence. */
export async function setup(path: string, current: Config | null, explain: (f: LinkFailure, c: Config) => string): Promise<Config> {
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
  if (current?.url !== undefined) config.url = current.url;
  const spin = p.spinner();
  spin.start(`Trying ${config.url ?? `${config.host}:${config.port}`}`);
  const failure = await tryConnection(config);
  spin.stop(failure === null ? "Connected." : "Could not connect.");
  if (failure !== null) {
    p.log.warn(showControls(explain(failure, config))); // it quotes the server's words: shown, never obeyed
    const anyway = await p.confirm({ message: "Save anyway?", initialValue: false });
    if (p.isCancel(anyway) || anyway !== true) {
      p.cancel("Nothing was saved; run notistream setup to try again.");
      process.exit(1);
    }
  }
  saveConfig(path, config);
  p.outro(`Saved ${path}. Listening now.`);
  return config;
}
