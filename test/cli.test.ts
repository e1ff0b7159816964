// test/cli.test.ts — cli.ts's pure parts: maxclients from the open-file limit (Redis's rule: the limit less 32), the
// --help table, and flags read by parseArgs with each refusal in a plain sentence.
import { describe, expect, test } from "bun:test";
import { RESERVED_FDS, maxClientsFor, parseOutputLimit, readFlags, usage, type FlagKind } from "../cli";

describe("usage", () => {
  test("help lines up in a column, and a flag name longer than the column still has a space before its help", () => {
    const text = usage("bun x.ts", "About.", [
      { name: "port", env: "X_PORT", help: "listen port", default: "1" },
      { name: "max-patterns-per-visitor", env: "X_MAX", help: "glob patterns per visitor", default: "50" },
    ]);
    expect(text).toContain(`${"  --port <value>".padEnd(34)}listen port (env X_PORT, default 1)`); // the help column starts at 35
    expect(text).toContain("  --max-patterns-per-visitor <value> glob patterns per visitor (env X_MAX, default 50)");
  });
});

describe("maxClientsFor", () => {
  test("no --maxclients: the limit less the reserve", () => {
    expect(maxClientsFor("pubsub", undefined, 0, 20_000)).toMatchObject({ maxClients: 20_000 - RESERVED_FDS, warning: false });
    expect(maxClientsFor("pubsub", undefined, 0, 20_000).line).toContain("maxclients 19968 (the open-file limit 20000 less 32");
  });
  test("an unknown or unlimited limit keeps Redis's 10000", () => {
    expect(maxClientsFor("pubsub", undefined, 0, null).maxClients).toBe(10_000);
    expect(maxClientsFor("pubsub", undefined, 0, Infinity).maxClients).toBe(10_000);
    expect(maxClientsFor("pubsub", 50_000, 0, Infinity).maxClients).toBe(50_000);
  });
  test("a --maxclients the limit holds is kept; a larger one is lowered with a warning that says how to raise the limit", () => {
    expect(maxClientsFor("pubsub", 100, 0, 1024)).toMatchObject({ maxClients: 100, warning: false });
    expect(maxClientsFor("pubsub", 992, 0, 1024)).toMatchObject({ maxClients: 992, warning: false });
    const low = maxClientsFor("pubsub", 993, 0, 1024);
    expect(low).toMatchObject({ maxClients: 992, warning: true });
    expect(low.line).toContain("ulimit -n 1025");
  });
  test("reserved slots for clients that log in come out of the limit too", () => {
    const r = maxClientsFor("pubsub", undefined, 16, 20_000);
    expect(r.maxClients).toBe(20_000 - 32 - 16);
    expect(r.line).toContain("less 32 for the server's own files and 16 reserved for clients that log in");
  });
  test("a limit below the reserve still lets one client in", () => {
    expect(maxClientsFor("pubsub", undefined, 0, 10).maxClients).toBe(1);
  });
});

test("parseOutputLimit: the output-limit flags' three whole numbers", () => {
  expect(parseOutputLimit("33554432 8388608 60")).toEqual({ hard: 33554432, soft: 8388608, softSeconds: 60 });
  expect(parseOutputLimit("  0 0 0 ")).toEqual({ hard: 0, soft: 0, softSeconds: 0 });
  for (const bad of ["", "1 2", "1 2 3 4", "1 -2 3", "1.5 2 3", "a b c", "1e400 1 1"]) expect(parseOutputLimit(bad)).toBeNull();
});

describe("readFlags", () => {
  const kinds: Record<string, FlagKind> = { port: "string", password: "string", "trust-proxy": "boolean" };
  const problem = (argv: string[], positionals = false) => {
    const r = readFlags(argv, kinds, positionals);
    return r.kind === "problem" ? r.sentence : r.kind;
  };
  test("values as typed, in both forms; a flag given alone is true; the last of a repeated flag wins", () => {
    expect(readFlags(["--port", "6379", "--password=a=b", "--trust-proxy"], kinds)).toEqual({ kind: "flags", values: { port: "6379", password: "a=b", "trust-proxy": true }, positionals: [] });
    expect(readFlags(["--port", "1", "--port", "2"], kinds)).toMatchObject({ values: { port: "2" } });
    expect(readFlags(["--password=-starts-with-a-dash"], kinds)).toMatchObject({ values: { password: "-starts-with-a-dash" } });
    expect(readFlags(["setup", "--port", "1"], kinds, true)).toMatchObject({ values: { port: "1" }, positionals: ["setup"] });
  });
  test("--help or -h anywhere asks for the help, even after a bad flag", () => {
    for (const argv of [["--help"], ["-h"], ["--port", "1", "--help"], ["--nope", "-h"]]) expect(readFlags(argv, kinds).kind).toBe("help");
  });
  test("each refusal is our sentence, never parseArgs's own text", () => {
    expect(problem(["--nope"])).toBe("unknown flag --nope; run with --help to see the flags");
    expect(problem(["-p", "1"])).toBe("unknown flag -p; run with --help to see the flags");
    expect(problem(["--port"])).toBe("--port needs a value");
    expect(problem(["--port", "--trust-proxy"])).toBe("--port needs a value; if its value starts with a dash, write --port=VALUE");
    expect(problem(["--password", "-secret"])).not.toContain("secret"); // a value is never echoed: it may be a password
    expect(problem(["--trust-proxy=yes"])).toBe("--trust-proxy takes no value: give it alone to turn it on");
    expect(problem(["6379"])).toBe('unexpected argument "6379": flags start with --; run with --help to see the flags');
    // With subcommands allowed, a word is no problem, and a bad flag after it is still named.
    expect(problem(["setup", "--nope"], true)).toBe("unknown flag --nope; run with --help to see the flags");
  });
});
