// test/client_config.test.ts — the client's config on its own: validation (errors name the file and the field),
// the 0600 config file and channel parsing. (The backoff schedule is link.ts's: test/link.test.ts.)
import { describe, expect, test } from "bun:test";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, defaultConfigPath, isPattern, loadConfig, parseChannels, saveConfig } from "../client_config";

const dir = () => mkdtempSync(join(tmpdir(), "notistream-test-"));

describe("config", () => {
  test("saved with mode 0600 and read back", () => {
    const path = join(dir(), "sub", "config.json");
    saveConfig(path, { host: "h", port: 6380, channels: ["a", "b"], password: "pw" });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(loadConfig(path)).toEqual({ host: "h", port: 6380, channels: ["a", "b"], password: "pw" });
  });

  test("a missing file is no config", () => {
    expect(loadConfig(join(dir(), "none.json"))).toBeNull();
  });

  test("broken JSON and schema mismatches name the file and the field", () => {
    const d = dir();
    const check = (content: string, pattern: RegExp) => {
      const path = join(d, `c${Math.random()}.json`);
      writeFileSync(path, content);
      expect(() => loadConfig(path)).toThrow(ConfigError);
      try {
        loadConfig(path);
      } catch (err) {
        expect((err as Error).message).toContain(path);
        expect((err as Error).message).toMatch(pattern);
      }
    };
    check("{nope", /not valid JSON/);
    check(JSON.stringify({ host: "h", port: "6379", channels: ["a"] }), /field "port"/);
    check(JSON.stringify({ host: "h", port: 70000, channels: ["a"] }), /field "port"/);
    check(JSON.stringify({ host: "h", port: 6379, channels: [] }), /field "channels": at least one channel/);
    check(JSON.stringify({ host: "", port: 6379, channels: ["a"] }), /field "host"/);
    check(JSON.stringify({ host: "h", port: 6379, channels: ["a"], colour: "red" }), /colour/);
  });

  test("the default path follows XDG_CONFIG_HOME, then ~/.config", () => {
    expect(defaultConfigPath({ XDG_CONFIG_HOME: "/x", HOME: "/home/u" })).toBe("/x/notistream/config.json");
    expect(defaultConfigPath({ HOME: "/home/u" })).toBe("/home/u/.config/notistream/config.json");
  });
});

describe("channels", () => {
  test("comma lists and patterns", () => {
    expect(parseChannels(" a, b ,,octo/* ")).toEqual(["a", "b", "octo/*"]);
    expect(isPattern("octo/*")).toBe(true);
    expect(isPattern("a?")).toBe(true);
    expect(isPattern("[ab]")).toBe(true);
    expect(isPattern("octo/hello")).toBe(false);
  });
});
