// test/docs.e2e.test.ts — the docs cannot rot: every curl example in README.md and docs/*.md runs as written, with the
// real curl, against a real web server and pub/sub server, and every link between the pages leads to a page and heading.
//
// How an example is found: a line in a code block (indented or fenced) that starts with `curl ` (continued over lines
// ending in `\`). Its host must be `http://yourserver.com:8080`, which the test points at the web server it started.
// An HTML comment before the code block, `<!-- docs-test {JSON} -->`, may give:
//   "expect": one object per curl in that block: fields the published envelope must have (as /messages returns it);
//   "files":  files the examples read (`-d @alert.json`), written into the directory curl runs in;
//   "server": flags for a web server of the block's own (`--token s3cret`), started for it beside the shared one;
//   "smtp":   true: that web server sends e-mail (--smtp-url) to an SMTP listener the test starts, and the mail must arrive;
//   "scheduled": true: the examples schedule their messages, so each must be listed by /messages?scheduled=1 instead;
//   "uncached": true: the examples publish with Cache: no, so each must reach the subscriber and NOT be in /messages.
// Each example must answer 200 with `{"id", "channel", "receivers"}` (POST / with our own fields) or ntfy's message
// JSON `{"id", "time", "event", "topic", …}` (ntfy's routes; the event is message, or message_delete or message_clear
// for a delete or a clear), reach a subscriber on the pub/sub server, and be in `/messages`. No example is skipped: one that needs a secret or other setup must say so in its comment.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Raw, ROOT, run, startPubSub, startWebServer, tempPath, until, type Running } from "./helpers";
import { SmtpSink } from "./smtpsink";

/** The host every example is written against; the test swaps in its own web server. */
const DOC_HOST = "http://yourserver.com:8080";

type Directive = { expect?: Record<string, unknown>[]; files?: Record<string, unknown>; server?: string[]; smtp?: boolean; scheduled?: boolean; uncached?: boolean };
type Example = { doc: string; line: number; command: string; expect?: Record<string, unknown>; files: Record<string, unknown>; server: string[]; smtp?: boolean; scheduled?: boolean; uncached?: boolean };

/** README.md and every page in docs/, as paths relative to the repository. */
function pages(): string[] {
  const docs = readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`);
  return ["README.md", ...docs];
}

/** The curl examples of one page, each with what its docs-test comment says. Throws on a comment that does not parse
 *  or whose expectations are not all used by the code block after it, naming the page and line. */
export function curlExamples(markdown: string, doc: string): Example[] {
  const lines = markdown.split("\n");
  const found: Example[] = [];
  let directive: Directive | null = null;
  let directiveLine = 0;
  let used = 0;
  let fenced = false;
  const closeDirective = (at: number) => {
    const want = directive?.expect?.length ?? 0;
    if (directive && want !== used) {
      throw new Error(`${doc}:${directiveLine}: its docs-test comment expects ${want} curl example(s), the code block before line ${at} has ${used}`);
    }
    directive = null;
    used = 0;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trimStart().startsWith("<!-- docs-test")) {
      closeDirective(i + 1);
      directiveLine = i + 1;
      let text = line;
      while (!text.includes("-->") && i + 1 < lines.length) text += "\n" + lines[++i]!;
      const json = text.slice(text.indexOf("docs-test") + "docs-test".length, text.indexOf("-->"));
      try {
        directive = JSON.parse(json) as Directive;
      } catch (e) {
        throw new Error(`${doc}:${directiveLine}: the docs-test comment is not JSON: ${(e as Error).message}`);
      }
      continue;
    }
    if (line.trimStart().startsWith("```")) {
      fenced = !fenced;
      continue;
    }
    const inCode = fenced || line.startsWith("    ");
    if (!inCode && line.trim() !== "") {
      closeDirective(i + 1); // prose ends the code block a comment speaks for
      continue;
    }
    if (!inCode || !line.trim().startsWith("curl ")) continue;
    const start = i + 1;
    let command = line.trim();
    while (command.endsWith("\\") && i + 1 < lines.length) command = command.slice(0, -1) + " " + lines[++i]!.trim();
    const d: Directive = directive ?? {};
    found.push({ doc, line: start, command, expect: d.expect?.[used], files: d.files ?? {}, server: d.server ?? [], smtp: d.smtp, scheduled: d.scheduled, uncached: d.uncached });
    if (directive) used++;
  }
  closeDirective(lines.length);
  return found;
}

const examples = pages().flatMap((doc) => curlExamples(readFileSync(join(ROOT, doc), "utf8"), doc));

let pubsub: Running;
let web: Running & { url: string };
/** Every message the pub/sub server delivers to a `PSUBSCRIBE *`, by channel, as parsed envelopes. */
const delivered: { channel: string; envelope: Record<string, unknown> }[] = [];
let listener: Raw;

beforeAll(async () => {
  pubsub = await startPubSub();
  web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`);
  listener = await Raw.open(pubsub.port);
  listener.command("PSUBSCRIBE", "*");
  await listener.reply();
  void (async () => {
    for (;;) {
      const r = await listener.reply(3_600_000).catch(() => null);
      if (!r) return;
      if ((r.type !== "array" && r.type !== "push") || !r.value) continue;
      const parts = r.value.map((x) => (x.type === "bulk" && x.value ? Buffer.from(x.value).toString() : ""));
      if (parts[0] !== "pmessage") continue;
      try {
        delivered.push({ channel: parts[2]!, envelope: JSON.parse(parts[3]!) as Record<string, unknown> });
      } catch {
        // not an envelope (the server's own bookkeeping channels): no example publishes it
      }
    }
  })();
});
afterAll(async () => {
  listener?.close();
  await web?.stop();
  await pubsub?.stop();
});

describe("the docs' curl examples, run as written against real servers", () => {
  test("the publishing page has its examples (the extractor finds them)", () => {
    const publishing = examples.filter((e) => e.doc === "docs/publishing.md");
    expect(publishing.length).toBeGreaterThanOrEqual(8);
    expect(examples.filter((e) => e.doc === "README.md").length).toBeGreaterThanOrEqual(2);
    for (const e of publishing) expect(e.expect, `${e.doc}:${e.line} states what it publishes`).toBeDefined();
  });

  for (const ex of examples) {
    test(`${ex.doc}:${ex.line}: ${ex.command.slice(0, 90)}`, async () => {
      expect(ex.command, "every example is written against yourserver.com:8080").toContain(DOC_HOST);
      const dir = dirname(tempPath("x"));
      for (const [name, content] of Object.entries(ex.files)) {
        writeFileSync(join(dir, name), typeof content === "string" ? content : JSON.stringify(content));
      }
      // The command runs as a person would paste it (through a shell), with only the host changed and curl told to
      // print the status and keep the reply.
      const sink = ex.smtp ? SmtpSink.start() : null;
      const flags = sink ? [...ex.server, "--smtp-url", `smtp://127.0.0.1:${sink.port}`] : ex.server;
      const own = flags.length > 0 ? await startWebServer(`redis://127.0.0.1:${pubsub.port}`, flags) : null;
      const target = own ?? web;
      const command = ex.command.split(DOC_HOST).join(target.url).replace(/^curl /, `curl -sS --max-time 10 -o reply.json -w '%{http_code}' `);
      const r = await run(["sh", "-c", command], { cwd: dir }).finally(async () => {
        if (sink) await until("the e-mail at the SMTP listener", () => sink.mails.length === 1, 10_000).finally(() => sink.stop());
        await own?.stop();
      });
      const replyText = existsSync(join(dir, "reply.json")) ? readFileSync(join(dir, "reply.json"), "utf8") : "";
      expect(`${r.stdout} ${replyText} ${r.stderr}`.trim()).toStartWith("200 ");
      const reply = JSON.parse(replyText) as { id: unknown; channel?: unknown; receivers?: unknown; event?: unknown; topic?: unknown };
      // ntfy's routes answer as ntfy does (server.go handlePublish writes the message JSON), our POST / as before.
      const ntfy = reply.event === "message" || reply.event === "message_delete" || reply.event === "message_clear";
      const { id } = reply;
      const channel = ntfy ? reply.topic : reply.channel;
      if (typeof id !== "string" || typeof channel !== "string" || (!ntfy && typeof reply.receivers !== "number")) {
        throw new Error(`the reply is neither {"id", "channel", "receivers"} nor ntfy's message JSON: ${replyText}`);
      }
      if (ex.scheduled) {
        // Kept until it is due (at least 10 s): listed as scheduled, with its future time, instead of delivered now.
        const listed = (await (await fetch(`${web.url}/messages?channel=${encodeURIComponent(channel)}&scheduled=1`)).json()) as Record<string, unknown>[];
        const kept = listed.find((m) => m.id === id && m.scheduled === true);
        expect(kept, `/messages?channel=${channel}&scheduled=1 lists ${id}`).toBeDefined();
        expect(kept!.time as number).toBeGreaterThan(Date.now() / 1000);
        if (ex.expect) expect(kept).toMatchObject(ex.expect);
        return;
      }
      if (!ntfy) expect(reply.receivers).toBeGreaterThanOrEqual(1); // the test's own PSUBSCRIBE
      if (ex.uncached) {
        // Cache: no: live only, with no id of ours (the reply's is ntfy's kind), and nowhere in history.
        const isIt = (e: Record<string, unknown>) => e.uncached === true && e.message === ex.expect?.message;
        await until(`the subscriber to get the uncached message on ${channel}`, () => delivered.some((d) => d.channel === channel && isIt(d.envelope)), 5000);
        expect(delivered.find((d) => d.channel === channel && isIt(d.envelope))!.envelope).toMatchObject({ id: "", ...ex.expect });
        const kept = (await (await fetch(`${web.url}/messages?channel=${encodeURIComponent(channel)}&limit=1000`)).json()) as Record<string, unknown>[];
        expect(kept.some((m) => m.message === ex.expect?.message)).toBe(false);
        return;
      }

      await until(`the subscriber to get ${id} on ${channel}`, () => delivered.some((d) => d.channel === channel && d.envelope.id === id), 5000);
      const res = await fetch(`${web.url}/messages?channel=${encodeURIComponent(channel)}&limit=1000`);
      expect(res.status).toBe(200);
      const stored = ((await res.json()) as Record<string, unknown>[]).find((m) => m.id === id);
      expect(stored, `/messages?channel=${channel} holds ${id}`).toBeDefined();
      if (ex.expect) expect(stored).toMatchObject(ex.expect);
      const live = delivered.find((d) => d.channel === channel && d.envelope.id === id)!.envelope;
      expect(live).toEqual(stored!);
    }, 20_000);
  }
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors a page's headings make, with GitHub's -1, -2 for repeats. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const m = !fenced && /^#{1,6} (.*)$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe("the links between the pages", () => {
  for (const doc of pages()) {
    test(`${doc}: every relative link leads to a file, and every #anchor to a heading`, () => {
      const text = readFileSync(join(ROOT, doc), "utf8");
      const broken: string[] = [];
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/i.test(target)) continue; // http:, https:, mailto:
        const [file, anchor] = target.split("#") as [string, string | undefined];
        const path = file === "" ? join(ROOT, doc) : join(ROOT, dirname(doc), file);
        if (!existsSync(path)) {
          broken.push(`${target}: no such file`);
          continue;
        }
        if (anchor !== undefined && path.endsWith(".md") && !anchors(readFileSync(path, "utf8")).has(anchor)) {
          broken.push(`${target}: no heading makes #${anchor}`);
        }
      }
      expect(broken).toEqual([]);
    });
  }
});
