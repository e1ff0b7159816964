// test/pubsub_commands.test.ts — the command table: every row is reachable by its bytes in any case, its metadata is
// coherent (flags, categories, key specs), and INFO's sections come out in Redis's order.
import { describe, expect, test } from "bun:test";
import { commandByName, findCommand, type Command, type CommandHost } from "../pubsub_commands";
import type { Connection } from "../pubsub_connection";
import { InfoStats, renderInfo, replicationLines, requestedSections } from "../pubsub_info";

/** Every command, as COMMAND LIST names them (its handler, as the server runs it), and their subcommands. */
function allCommands(): Command[] {
  let reply = "";
  const client = { resp: 2, reply: (bytes: string) => void (reply += bytes) } as unknown as Connection;
  commandByName("command|list")!.handler!({} as CommandHost, client, [Buffer.from("COMMAND"), Buffer.from("LIST")]);
  const names = [...reply.matchAll(/\$\d+\r\n([^\r]*)\r\n/g)].map((m) => m[1]!);
  expect(reply.startsWith(`*${names.length}\r\n`)).toBe(true);
  return names.flatMap((name) => {
    const cmd = commandByName(name)!;
    return [cmd, ...(cmd.sub?.values() ?? [])];
  });
}

describe("command table", () => {
  test("every command and subcommand is found by name; every top-level one by its bytes in any case", () => {
    const all = allCommands();
    expect(all.length).toBeGreaterThan(40);
    for (const cmd of all) {
      expect(commandByName(cmd.fullname)).toBe(cmd);
      if (cmd.parent) continue;
      expect(findCommand(Buffer.from(cmd.name))).toBe(cmd);
      expect(findCommand(Buffer.from(cmd.name.toUpperCase()))).toBe(cmd);
      // Read in place: the name's bytes within a larger buffer, nothing before or after it counting.
      const around = Buffer.from(`*1\r\n$${cmd.name.length}\r\n${cmd.name.toUpperCase()}\r\n`);
      const from = around.indexOf(cmd.name.toUpperCase(), 4);
      expect(findCommand(around, from, from + cmd.name.length)).toBe(cmd);
      expect(findCommand(around, from, from + cmd.name.length - 1)).not.toBe(cmd);
    }
    expect(findCommand(Buffer.from("nosuch"))).toBeUndefined();
    expect(commandByName("client|nosuch")).toBeUndefined();
  });

  test("XADD, PUBLISH and SPUBLISH run on arguments read in place; every command has its argv handler", () => {
    expect(allCommands().filter((c) => c.inPlace !== undefined).map((c) => c.fullname).sort()).toEqual(["publish", "spublish", "xadd"]);
    for (const cmd of allCommands()) if (!cmd.sub) expect(cmd.handler).toBeDefined();
  });

  test("flags decide no_auth and write; subcommands know their parent", () => {
    expect(commandByName("auth")!.noAuth).toBe(true);
    expect(commandByName("publish")!.noAuth).toBe(false);
    expect(commandByName("xadd")!.writes).toBe(true);
    expect(commandByName("flushall")!.writes).toBe(true);
    expect(commandByName("xrange")!.writes).toBe(false);
    expect(commandByName("client|kill")!.parent).toBe(commandByName("client")!);
    expect(commandByName("client|kill")!.fullname).toBe("client|kill");
  });

  test("only the commands Redis allows in RESP2 subscribed mode are marked so", () => {
    const allowed = allCommands()
      .filter((c) => c.inPubsub)
      .map((c) => c.fullname)
      .sort();
    expect(allowed).toEqual(["ping", "psubscribe", "punsubscribe", "quit", "reset", "ssubscribe", "subscribe", "sunsubscribe", "unsubscribe"]);
  });

  test("every row that runs has a handler, and every category is one of Redis's", () => {
    const known = new Set(["keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting"]);
    for (const cmd of allCommands()) {
      if (!cmd.sub) expect(typeof cmd.handler).toBe("function");
      for (const cat of cmd.categories) expect(known.has(cat)).toBe(true);
    }
  });
});

describe("INFO", () => {
  const lines = (s: string) => [`${s}_line:1`];
  test("sections come in Redis's order, whatever order they were asked in; unknown names add nothing", () => {
    expect(renderInfo(requestedSections(["cluster", "errorstats", "CPU", "nosuch"]), lines)).toBe(
      "# CPU\r\ncpu_line:1\r\n\r\n# Errorstats\r\nerrorstats_line:1\r\n\r\n# Cluster\r\ncluster_line:1\r\n",
    );
    expect(renderInfo(requestedSections(["nosuch"]), lines)).toBe("");
  });

  test("the default leaves out commandstats; all and everything include it", () => {
    const def = [...requestedSections([])];
    expect(def).toEqual(["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats", "cluster", "keyspace"]);
    expect([...requestedSections(["default"])]).toEqual(def);
    expect(requestedSections(["all"]).has("commandstats")).toBe(true);
    expect(requestedSections(["everything"]).has("commandstats")).toBe(true);
  });

  test("several sections mix as in Redis: a group plus a section, each once; latencystats only on request or with all; module_list is Modules", () => {
    expect([...requestedSections(["cpu", "all"])].filter((s) => s === "cpu")).toHaveLength(1);
    expect(requestedSections(["cpu", "default"]).has("replication")).toBe(true);
    expect(requestedSections(["cpu", "default"]).has("latencystats")).toBe(false);
    expect(requestedSections(["all"]).has("latencystats")).toBe(true);
    expect([...requestedSections(["Module_List", "LatencyStats"])]).toEqual(["modules", "latencystats"]);
    expect(renderInfo(requestedSections(["replication", "cpu", "CPU"]), lines)).toBe("# Replication\r\nreplication_line:1\r\n\r\n# CPU\r\ncpu_line:1\r\n");
  });

  test("replication: a master with no replicas, Redis's eleven fields in Redis's order", () => {
    const id = "ab".repeat(20);
    expect(replicationLines(id).map((l) => l.slice(0, l.indexOf(":")))).toEqual(["role", "connected_slaves", "master_failover_state", "master_replid", "master_replid2",
      "master_repl_offset", "second_repl_offset", "repl_backlog_active", "repl_backlog_size", "repl_backlog_first_byte_offset", "repl_backlog_histlen"]);
    expect(replicationLines(id)).toContain(`master_replid:${id}`);
    expect(replicationLines(id)).toContain("master_repl_offset:0");
  });

  test("errorstats lists codes in byte order, as Redis's radix tree does, not in the order they happened", () => {
    const s = new InfoStats();
    for (const e of ["-WRONGPASS x", "-NOPROTO x", "-ERR x", "-NOAUTH x", "-ERR y"]) s.error(e);
    expect(s.errorLines()).toEqual(["errorstat_ERR:count=2", "errorstat_NOAUTH:count=1", "errorstat_NOPROTO:count=1", "errorstat_WRONGPASS:count=1"]);
  });

  test("errors are counted by their code, commands by calls, rejections and failures", () => {
    const s = new InfoStats();
    s.error("-ERR unknown command 'x'\r\n");
    s.error("-NOAUTH Authentication required.\r\n");
    s.error("-ERR wrong number of arguments\r\n");
    expect(s.errorLines()).toEqual(["errorstat_ERR:count=2", "errorstat_NOAUTH:count=1"]);
    expect(s.totalErrors).toBe(3);
    const p = s.command({ index: 0, fullname: "publish" });
    p.calls = 4;
    p.sampled = 1;
    p.sampledUsec = 2.5; // one sampled call of 2.5 µs stands for all four
    s.command({ index: 1, fullname: "subscribe" }).rejected = 1;
    s.command({ index: 2, fullname: "xadd" }); // looked up, never run: not listed
    expect(s.commandLines()).toEqual([
      "cmdstat_publish:calls=4,usec=10,usec_per_call=2.50,rejected_calls=0,failed_calls=0",
      "cmdstat_subscribe:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0",
    ]);
  });
});
