// flags.ts — command-line flags for the servers: `--name value`, `--name=value`, environment fallbacks, --help.
// Pure apart from printing --help and usage errors, then exiting.

export type FlagSpec = { name: string; env?: string; help: string; default?: string; boolean?: boolean };

export function usage(command: string, about: string, specs: FlagSpec[]): string {
  const rows = specs.map((s) => {
    const left = `  --${s.name}${s.boolean ? "" : " <value>"}`;
    const extra = [s.env ? `env ${s.env}` : "", s.default !== undefined ? `default ${s.default}` : ""].filter(Boolean).join(", ");
    return `${left.padEnd(34)}${s.help}${extra ? ` (${extra})` : ""}`;
  });
  return `${about}\n\nUsage: ${command} [options]\n\nOptions:\n${rows.join("\n")}\n  --help                          show this help\n`;
}

/** Parses flags, then fills gaps from the environment, then from defaults. Unknown flags are a usage error. */
export function parseFlags(
  command: string,
  about: string,
  specs: FlagSpec[],
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  const byName = new Map(specs.map((s) => [s.name, s]));
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(usage(command, about, specs));
      process.exit(0);
    }
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) {
      process.stderr.write(`${command}: unknown option --${name}\n\n${usage(command, about, specs)}`);
      process.exit(2);
    }
    if (spec.boolean) out[name] = "true";
    else if (eq !== -1) out[name] = arg.slice(eq + 1);
    else {
      const v = argv[++i];
      if (v === undefined) {
        process.stderr.write(`${command}: --${name} needs a value\n`);
        process.exit(2);
      }
      out[name] = v;
    }
  }
  for (const s of specs) {
    if (out[s.name] === undefined && s.env && env[s.env] !== undefined && env[s.env] !== "") out[s.name] = env[s.env];
    if (out[s.name] === undefined && s.default !== undefined) out[s.name] = s.default;
  }
  if (positional.length) out._ = positional.join(" ");
  return out;
}
