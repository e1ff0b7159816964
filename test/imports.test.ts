// test/imports.test.ts — the shape's import rules (DESIGN.md): no import cycles, the web server never loads the pub/sub
// server (nor its storage, bun:sqlite), and the client loads neither server. Walks the .ts files at the top level and in app/.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { posix } from "node:path";
import { ROOT } from "./helpers";

/**
 * Every module a source names: `import ... from`, `export ... from`, `import "x"` and `import("x")`. Type-only
 * imports count too: a type is still a dependency on that program's file, and the ACL's cycle ran through one
 * (pubsub_connection.ts's `import type { AclUser }`). Comments are not stripped, so a commented-out import counts: strict.
 */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  const forms = [
    /\b(?:import|export)\s+(?:type\s+)?[\w*\s{},$]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /^\s*import\s*["']([^"']+)["']/gm,
  ];
  for (const form of forms) for (const m of source.matchAll(form)) out.push(m[1]!);
  return out;
}

/** The graph: each file (relative to the root, "app/app.ts") to what it imports (files, or bare names like bun:sqlite). */
function importGraph(): Map<string, string[]> {
  const files = [
    ...readdirSync(ROOT).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")),
    ...readdirSync(`${ROOT}/app`).filter((f) => f.endsWith(".ts")).map((f) => `app/${f}`),
  ];
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const edges = importsOf(readFileSync(`${ROOT}/${file}`, "utf8")).map((spec) => {
      if (!spec.startsWith(".")) return spec;
      const path = posix.normalize(posix.join(posix.dirname(file), spec));
      return path.endsWith(".ts") ? path : `${path}.ts`;
    });
    graph.set(file, [...new Set(edges)]);
  }
  return graph;
}

/**
 * The files caught in import cycles: each group of files that reach one another (Tarjan's strongly connected
 * components), sorted, so every cycle shows at once rather than the first one found.
 */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== node);
    if (group.length > 1 || (graph.get(node) ?? []).includes(node)) groups.push(group.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return groups;
}

/** Every module `start` loads, directly or through others, with the chain that reaches each: "web.ts → acl.ts → …". */
function reach(graph: Map<string, string[]>, start: string): Map<string, string> {
  const via = new Map<string, string>([[start, start]]);
  const queue = [start];
  while (queue.length) {
    const node = queue.shift()!;
    for (const next of graph.get(node) ?? []) {
      if (via.has(next)) continue;
      via.set(next, `${via.get(node)} → ${next}`);
      queue.push(next);
    }
  }
  via.delete(start);
  return via;
}

/** The pub/sub server's own files: its entry point and every `pubsub_*` file. */
const isPubsubFile = (f: string): boolean => f === "pubsub.ts" || /^pubsub_.*\.ts$/.test(f);
/** The web server's own files: its entry point and every `web_*` file. */
const isWebFile = (f: string): boolean => f === "web.ts" || /^web_.*\.ts$/.test(f);
/** The client's own files: its entry point and every `client_*` file. */
const isClientFile = (f: string): boolean => f === "client.ts" || /^client_.*\.ts$/.test(f);
/**
 * Files that serve one program yet keep their names: the ones the project's users know by name (resp.ts, the
 * protocol they read; github.ts) and the senders, which sit together next to github.ts.
 */
const KEEP_THEIR_NAMES = ["resp.ts", "github.ts", "gitlab.ts", "gitea.ts", "alerts.ts", "sender.ts"];

/** The chains by which `start` reaches a file `forbidden` names, one line each; empty when it reaches none. */
function forbiddenReach(graph: Map<string, string[]>, start: string, forbidden: (f: string) => boolean): string[] {
  return [...reach(graph, start)].filter(([f]) => forbidden(f)).map(([, chain]) => chain);
}

describe("the walk itself finds what is there", () => {
  test("import forms: named, type-only, several lines, re-export, side effect, dynamic", () => {
    const src = [
      'import { a } from "./one";',
      'import type { B } from "./two";',
      "import {\n  c,\n  type D,\n} from './three';",
      'export { e } from "./four";',
      'import "./five";',
      'const m = await import("./six");',
      'import { Database } from "bun:sqlite";',
    ].join("\n");
    expect(importsOf(src).sort()).toEqual(["./five", "./four", "./one", "./six", "./three", "./two", "bun:sqlite"]);
  });

  test("cycles and reach are found in a made-up graph", () => {
    const g = new Map([["a.ts", ["b.ts"]], ["b.ts", ["c.ts"]], ["c.ts", ["a.ts", "bun:sqlite"]]]);
    expect(cycles(g)).toEqual([["a.ts", "b.ts", "c.ts"]]);
    expect(cycles(new Map([["a.ts", ["b.ts", "a.ts"]], ["b.ts", ["c.ts"]], ["c.ts", ["b.ts"]]]))).toEqual([["b.ts", "c.ts"], ["a.ts"]]);
    expect(cycles(new Map([["a.ts", ["b.ts"]], ["b.ts", []]]))).toEqual([]);
    expect(reach(g, "a.ts").get("bun:sqlite")).toBe("a.ts → b.ts → c.ts → bun:sqlite");
  });

  test("the real graph: every file, and the edges everyone knows of", () => {
    const g = importGraph();
    expect(g.size).toBeGreaterThan(40);
    expect(g.get("web.ts")).toContain("web_hub.ts");
    expect(g.get("pubsub_sqlite_upgrade.ts")).toContain("bun:sqlite");
    expect(g.get("app/app.ts")).toContain("message.ts");
    expect(reach(importGraph(), "client.ts").has("client_subscription.ts")).toBe(true);
    expect(reach(importGraph(), "pubsub.ts").has("bun:sqlite")).toBe(true);
  });
});

describe("the shape's import rules (DESIGN.md, issue 23)", () => {
  const graph = importGraph();

  test("no import cycle", () => {
    expect(cycles(graph)).toEqual([]);
  });

  test("web.ts reaches neither bun:sqlite nor any pub/sub-server file", () => {
    expect(forbiddenReach(graph, "web.ts", (f) => f === "bun:sqlite" || isPubsubFile(f))).toEqual([]);
  });

  test("client.ts reaches no pub/sub-server or web-server file", () => {
    expect(forbiddenReach(graph, "client.ts", (f) => f === "bun:sqlite" || isPubsubFile(f) || isWebFile(f))).toEqual([]);
  });

  test("a file that only one program loads says which in its name (pubsub_*, web_*, client_*)", () => {
    const programs = [
      { entry: "pubsub.ts", owns: isPubsubFile },
      { entry: "web.ts", owns: isWebFile },
      { entry: "client.ts", owns: isClientFile },
    ];
    const reached = programs.map((p) => ({ ...p, files: new Set([p.entry, ...reach(graph, p.entry).keys()]) }));
    const misnamed: string[] = [];
    for (const file of graph.keys()) {
      if (file.startsWith("app/") || KEEP_THEIR_NAMES.includes(file)) continue;
      const users = reached.filter((p) => p.files.has(file));
      if (users.length === 1 && !users[0]!.owns(file)) misnamed.push(`${file} (only ${users[0]!.entry} loads it)`);
      if (users.length > 1 && users.some((p) => p.owns(file))) misnamed.push(`${file} (shared by ${users.map((p) => p.entry).join(", ")})`);
    }
    expect(misnamed).toEqual([]);
  });

  test("the rules know the programs' future names", () => {
    expect(isPubsubFile("pubsub_history.ts")).toBe(true);
    expect(isWebFile("web_push.ts")).toBe(true);
    expect(isClientFile("client_state.ts")).toBe(true);
    expect(isPubsubFile("acl.ts") || isWebFile("acl.ts") || isWebFile("message.ts") || isClientFile("catchup.ts")).toBe(false);
  });
});
