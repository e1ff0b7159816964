// client_service.ts — `notistream service install|uninstall|status`: starting the client at login as a systemd user unit
// (Linux), a launchd agent (macOS) or a Startup entry (Windows). The files' text is pure; installing is thin I/O.
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { homedir } from "node:os";

/** The exit code for a failure that restarting cannot fix (sysexits' EX_CONFIG): the service manager stops there. */
export const EXIT_FIX_SETTINGS = 78;

/** What the service runs: a program and its arguments, all absolute. */
type ServiceCommand = { program: string; args: string[] };

type ServiceKind = "systemd" | "launchd" | "startup";

/** Where the service file goes on this platform. */
export function serviceFile(platform: NodeJS.Platform = process.platform, env: Record<string, string | undefined> = process.env): { kind: ServiceKind; path: string } {
  const home = env.HOME || env.USERPROFILE || homedir();
  if (platform === "darwin") return { kind: "launchd", path: join(home, "Library", "LaunchAgents", "dev.notistream.client.plist") };
  if (platform === "win32")
    return { kind: "startup", path: join(env.APPDATA || join(home, "AppData", "Roaming"), "Microsoft", "Windows", "Start Menu", "Programs", "Startup", "notistream.cmd") };
  return { kind: "systemd", path: join(env.XDG_CONFIG_HOME || join(home, ".config"), "systemd", "user", "notistream.service") };
}

/** systemd's quoting for ExecStart: double quotes, with \, ", $ and % escaped. */
const systemdQuote = (s: string): string => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\$/g, "$$$$").replace(/%/g, "%%")}"`;
const xml = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function systemdUnit(cmd: ServiceCommand): string {
  return `# Written by \`notistream service install\`; \`notistream service uninstall\` removes it.
[Unit]
Description=Notistream: desktop notifications from your webhooks
After=network-online.target graphical-session.target
Wants=network-online.target

[Service]
ExecStart=${[cmd.program, ...cmd.args].map(systemdQuote).join(" ")}
Restart=on-failure
RestartSec=10
# Exit ${EXIT_FIX_SETTINGS} means the settings need fixing (a wrong password, say): restarting would not help.
RestartPreventExitStatus=${EXIT_FIX_SETTINGS}

[Install]
WantedBy=default.target
`;
}

export function launchdPlist(cmd: ServiceCommand, logDir: string): string {
  const args = [cmd.program, ...cmd.args].map((a) => `    <string>${xml(a)}</string>`).join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>dev.notistream.client</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>StandardOutPath</key>
  <string>${xml(join(logDir, "notistream.log"))}</string>
  <key>StandardErrorPath</key>
  <string>${xml(join(logDir, "notistream.log"))}</string>
</dict>
</plist>
`;
}

export function windowsStartup(cmd: ServiceCommand): string {
  const q = (s: string) => `"${s}"`;
  return `@echo off\r\nrem Written by notistream service install; notistream service uninstall removes it.\r\nstart "notistream" /min ${[cmd.program, ...cmd.args].map(q).join(" ")}\r\n`;
}

/** The file's text for its kind. */
function serviceText(kind: ServiceKind, cmd: ServiceCommand, home = homedir()): string {
  if (kind === "launchd") return launchdPlist(cmd, join(home, "Library", "Logs"));
  if (kind === "startup") return windowsStartup(cmd);
  return systemdUnit(cmd);
}

/** Reads the command back from a written systemd unit's ExecStart (for status, and for the tests). */
export function execStartOf(unit: string): string[] | null {
  const line = /^ExecStart=(.*)$/m.exec(unit)?.[1];
  if (!line) return null;
  const out: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"/g)) out.push(m[1]!.replace(/\\(.)/g, "$1").replace(/\$\$/g, "$").replace(/%%/g, "%"));
  return out;
}

type Run = (cmd: string[]) => { code: number; out: string };
const runSync: Run = (cmd) => {
  try {
    const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
    return { code: r.exitCode ?? 1, out: (r.stdout.toString() + r.stderr.toString()).trim() };
  } catch (err) {
    return { code: 127, out: (err as Error).message };
  }
};

/** Is a systemd user manager running for us (so systemctl --user can enable the unit)? */
function systemdRuns(run: Run = runSync): boolean {
  return Bun.which("systemctl") !== null && run(["systemctl", "--user", "show-environment"]).code === 0;
}

/** Writes the service file and turns it on where the service manager runs; returns what to tell the user. */
export function installService(cmd: ServiceCommand, run: Run = runSync): string[] {
  const { kind, path } = serviceFile();
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, serviceText(kind, cmd));
  const said = [`wrote ${path}`, `it runs: ${[cmd.program, ...cmd.args].join(" ")}`];
  if (kind === "systemd") {
    if (!systemdRuns(run)) {
      said.push("systemd is not running for this user here, so nothing was enabled.", "On a machine with systemd, start it now and at every login with: systemctl --user enable --now notistream.service");
      return said;
    }
    run(["systemctl", "--user", "daemon-reload"]);
    const r = run(["systemctl", "--user", "enable", "--now", "notistream.service"]);
    said.push(r.code === 0 ? "enabled and started: it starts at every login (systemctl --user status notistream shows it)" : `systemctl --user enable --now notistream.service failed: ${r.out}`);
  } else if (kind === "launchd") {
    const r = run(["launchctl", "load", "-w", path]);
    said.push(r.code === 0 ? "loaded: it starts at every login" : `launchctl load failed: ${r.out}`);
  } else said.push("it starts at your next login (Startup folder)");
  return said;
}

export function uninstallService(run: Run = runSync): string[] {
  const { kind, path } = serviceFile();
  if (!existsSync(path)) return [`no service is installed (${path} does not exist)`];
  if (kind === "systemd" && systemdRuns(run)) run(["systemctl", "--user", "disable", "--now", "notistream.service"]);
  if (kind === "launchd") run(["launchctl", "unload", "-w", path]);
  unlinkSync(path);
  if (kind === "systemd" && systemdRuns(run)) run(["systemctl", "--user", "daemon-reload"]);
  return [`removed ${path}; notistream no longer starts at login`];
}

export function serviceStatus(run: Run = runSync): string[] {
  const { kind, path } = serviceFile();
  if (!existsSync(path)) return [`not installed: ${path} does not exist (notistream service install writes it)`];
  const said = [`installed: ${path}`];
  if (kind === "systemd") {
    const cmd = execStartOf(readFileSync(path, "utf8"));
    if (cmd) said.push(`it runs: ${cmd.join(" ")}`);
    if (systemdRuns(run))
      said.push(`systemd: ${run(["systemctl", "--user", "is-enabled", "notistream.service"]).out || "unknown"}, ${run(["systemctl", "--user", "is-active", "notistream.service"]).out || "unknown"}`);
    else said.push("systemd is not running for this user here: enable it with systemctl --user enable --now notistream.service where it does");
  }
  return said;
}
