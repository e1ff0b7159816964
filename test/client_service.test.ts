// test/client_service.test.ts — the start-at-login files: where each platform keeps them, and their text (the systemd
// unit's ExecStart quoting read back, the launchd plist, the Windows Startup entry). Writing and enabling them is
// tested end to end in client.install.e2e.test.ts.
import { describe, expect, test } from "bun:test";
import { EXIT_FIX_SETTINGS, execStartOf, launchdPlist, serviceFile, systemdUnit, windowsStartup } from "../client_service";

const cmd = { program: "/opt/my apps/bun", args: ["/opt/n/client.ts", "--config", '/home/a "b"/100%$HOME.json'] };

describe("service files", () => {
  test("where they go", () => {
    expect(serviceFile("linux", { HOME: "/home/a", XDG_CONFIG_HOME: "/cfg" })).toEqual({ kind: "systemd", path: "/cfg/systemd/user/notistream.service" });
    expect(serviceFile("linux", { HOME: "/home/a" }).path).toBe("/home/a/.config/systemd/user/notistream.service");
    expect(serviceFile("darwin", { HOME: "/Users/a" }).path).toBe("/Users/a/Library/LaunchAgents/dev.notistream.client.plist");
    expect(serviceFile("win32", { APPDATA: "C:\\Users\\a\\AppData\\Roaming", HOME: "C:\\Users\\a" }).kind).toBe("startup");
  });
  test("the systemd unit quotes ExecStart so spaces, quotes, % and $ survive, and does not restart on settings errors", () => {
    const unit = systemdUnit(cmd);
    expect(execStartOf(unit)).toEqual([cmd.program, ...cmd.args]);
    expect(unit).toContain(`RestartPreventExitStatus=${EXIT_FIX_SETTINGS}`);
    expect(unit).toContain("WantedBy=default.target");
    expect(unit).toContain("%%$$HOME");
  });
  test("launchd and Windows", () => {
    const plist = launchdPlist(cmd, "/Users/a/Library/Logs");
    expect(plist).toContain("<string>/home/a &quot;b&quot;/100%$HOME.json</string>".replace(/&quot;/g, '"'));
    expect(plist).toContain("<key>RunAtLoad</key>");
    expect(windowsStartup(cmd)).toContain('start "notistream" /min "/opt/my apps/bun" "/opt/n/client.ts"');
  });
});
