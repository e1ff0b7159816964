// web_gotify_import.ts — a program of its own: carries one user's Gotify applications and clients over from a Gotify
// server to Notistream's Gotify API with the same tokens, so senders and phones keep working after changing a URL.
//
//   bun web_gotify_import.ts --from https://gotify.example.org --to https://push.example.org --user alice
//
// It reads the old server's GET /application and GET /client with the user's Basic login, and makes each on Notistream
// (POST /application, POST /client with our `token` extension) with its token, name, description and default priority,
// and an application's image (GET /<image> there, POST /application/{id}/image here). A token Notistream already has
// for this user is left alone, so a second run makes nothing. Messages are not copied. The plan (what to make, what is
// there, what cannot be carried over) and every sentence are pure and unit-tested (test/web_gotify_import.test.ts);
// the rest is thin I/O.
import { z } from "zod";
import { readFlags, usage, type FlagSpec } from "./cli";
import { tokenRefusal } from "./web_gotify_model";

const PROG = "web_gotify_import";

// ---- What the servers answer (model/application.go, model/client.go), checked where it enters ----------------------

/** An application as GET /application shows it; Gotify v3 may leave `token` out (omitempty). */
export const OldAppSchema = z.object({
  id: z.number().int(),
  token: z.string().optional().default(""),
  name: z.string(),
  description: z.string().optional().default(""),
  image: z.string().optional().default(""),
  defaultPriority: z.number().int().optional().default(0),
  internal: z.boolean().optional().default(false),
});
export type OldApp = z.infer<typeof OldAppSchema>;

export const OldClientSchema = z.object({ id: z.number().int(), token: z.string().optional().default(""), name: z.string() });
export type OldClient = z.infer<typeof OldClientSchema>;

/** One user's applications and clients on one server. */
export type Holdings = { apps: OldApp[]; clients: OldClient[] };

// ---- The plan (pure) --------------------------------------------------------------------------------------------

/**
 * What to do with one old application or client: make it ("create"), leave it ("there": Notistream has its token for
 * this user already, under `id`), or report it ("cannot", with why). `copyImage`: the old app has an image of its own
 * and the one here (made now, or there with the default picture) has none yet, so a run cut short finishes it later.
 */
export type Step =
  | { kind: "app"; old: OldApp; action: "create"; copyImage: boolean }
  | { kind: "app"; old: OldApp; action: "there"; id: number; copyImage: boolean }
  | { kind: "client"; old: OldClient; action: "create" }
  | { kind: "client"; old: OldClient; action: "there"; id: number }
  | { kind: "app" | "client"; old: OldApp | OldClient; action: "cannot"; why: string };

/** Whether an app's `image` is one of its own, not Gotify's default picture (api/application.go withResolvedImage). */
export const hasOwnImage = (image: string): boolean => image !== "" && !image.startsWith("static/");

/** Why a token cannot be carried over to Notistream as `kind`'s, or null when it can. */
function tokenProblem(kind: "app" | "client", token: string, here: Holdings): string | null {
  if (token === "") return "the old server did not show its token (Gotify v3 shows an enhanced token only once, when it is made); make it anew on Notistream";
  const refusal = tokenRefusal(kind, token);
  if (refusal) return refusal.replace(/; leave out "token".*$/, "; make it anew on Notistream and put the new token in its senders");
  const other = kind === "app" ? here.clients.some((c) => c.token === token) : here.apps.some((a) => a.token === token);
  return other ? `its token is ${kind === "app" ? "a client's" : "an application's"} on Notistream already; delete that one there first` : null;
}

/** The plan: each old application, then each old client, against what the user has on Notistream already. */
export function planImport(old: Holdings, here: Holdings): Step[] {
  const steps: Step[] = [];
  for (const app of old.apps) {
    const mine = here.apps.find((a) => a.token === app.token && app.token !== "");
    if (mine) steps.push({ kind: "app", old: app, action: "there", id: mine.id, copyImage: hasOwnImage(app.image) && !hasOwnImage(mine.image) });
    else if (app.internal) steps.push({ kind: "app", old: app, action: "cannot", why: "a plugin's application (internal): Notistream runs no Gotify plugins" });
    else {
      const why = tokenProblem("app", app.token, here);
      steps.push(why ? { kind: "app", old: app, action: "cannot", why } : { kind: "app", old: app, action: "create", copyImage: hasOwnImage(app.image) });
    }
  }
  for (const client of old.clients) {
    const mine = here.clients.find((c) => c.token === client.token && client.token !== "");
    if (mine) steps.push({ kind: "client", old: client, action: "there", id: mine.id });
    else {
      const why = tokenProblem("client", client.token, here);
      steps.push(why ? { kind: "client", old: client, action: "cannot", why } : { kind: "client", old: client, action: "create" });
    }
  }
  return steps;
}

// ---- Sentences (pure) -------------------------------------------------------------------------------------------

/** "application "Backups"" or "client "Pixel 7"". */
export const named = (s: Pick<Step, "kind" | "old">): string => `${s.kind === "app" ? "application" : "client"} ${JSON.stringify(s.old.name)}`;

/** The text of an error answer: Gotify's errorDescription (model/error.go), else the start of the body. */
export function answerText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { errorDescription?: unknown; error?: unknown };
    if (typeof parsed.errorDescription === "string") return parsed.errorDescription;
    if (typeof parsed.error === "string") return parsed.error;
  } catch {
    // not JSON: the body itself
  }
  const text = body.replace(/\s+/g, " ").trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text || "(no body)";
}

/** A refused request as a plain sentence: the login (401), the rights (403), or what the server said. */
export function refusalSentence(server: string, user: string, doing: string, status: number, body: string): string {
  if (status === 401) return `${server} refused the login of user "${user}": wrong user name or password (or the user is switched off there)`;
  if (status === 403) return `${server} refused to ${doing} for user "${user}": ${answerText(body)}`;
  if (status >= 300 && status < 400) return `${server} ${body.startsWith("redirected to ") ? `redirects elsewhere (${body.slice("redirected to ".length)})` : `answered ${status}`}: give that URL instead (for example https:// rather than http://)`;
  const hint = status === 404 ? "; is the URL the root of a Gotify server (or of Notistream's web server)?" : "";
  return `${server} answered ${status} when asked to ${doing}: ${answerText(body)}${hint}`;
}

/** Why a server could not be reached, in words (Bun's fetch errors carry a code such as ECONNREFUSED). */
export function unreachable(label: string, err: unknown): string {
  const e = err as { code?: string; name?: string; message?: string };
  const code = e.code ?? "";
  const why =
    code === "ECONNREFUSED" || code === "ConnectionRefused"
      ? "nothing answers at that address (connection refused)"
      : code === "ENOTFOUND" || code === "FailedToOpenSocket"
        ? "no such host"
        : e.name === "TimeoutError"
          ? "no answer within 30 seconds"
          : /certificate|tls|ssl/i.test(`${code} ${e.message ?? ""}`)
            ? `its TLS certificate was refused (${e.message ?? code})`
            : (e.message ?? String(err));
  return `cannot reach ${label}: ${why}; check the URL and that the server is running`;
}

/** A server's base URL from a flag (http or https, kept with its path, one trailing slash), or a sentence why not. */
export function baseUrl(flag: string, text: string | undefined): { url: string } | { problem: string } {
  if (!text) return { problem: `--${flag} is required: the server's URL, e.g. https://gotify.example.org` };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: `--${flag} ${JSON.stringify(text)} is not a URL: give one such as https://gotify.example.org` };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return { problem: `--${flag} must be an http:// or https:// URL, got ${JSON.stringify(text)}` };
  if (url.username || url.password) return { problem: `--${flag} must not carry a login: give the user with --user and the password in the environment` };
  return { url: `${url.origin}${url.pathname.replace(/\/*$/, "/")}` };
}

/** A path under a base URL, kept under its path ("https://x/gotify/" + "/application" → "https://x/gotify/application"). */
export const under = (base: string, path: string): string => base + path.replace(/^\/+/, "");

export type Tally = { created: number; there: number; cannot: number; failed: number; images: number; imageFailures: number };
export const NO_TALLY: Tally = { created: 0, there: 0, cannot: 0, failed: 0, images: 0, imageFailures: 0 };

/** The closing lines: what was done, what was not, and that messages stay behind. */
export function summary(t: Tally, dryRun: boolean): string[] {
  const made = dryRun ? `${t.created} would be made` : `${t.created} made with their old tokens`;
  const images = t.images || t.imageFailures ? `, ${t.images} image${t.images === 1 ? "" : "s"} ${dryRun ? "to copy" : "copied"}` : "";
  const lines = [`${dryRun ? "dry run: " : ""}${made}, ${t.there} already on Notistream${images}.`];
  const left = t.cannot + t.failed + t.imageFailures;
  if (left) lines.push(`${left} not carried over (see above): make ${left === 1 ? "it" : "them"} on Notistream by hand, or fix the cause and run this again (what is already there is left alone).`);
  lines.push("Messages are not copied: Notistream keeps its own history, which Gotify's apps page back through from now on.");
  return lines;
}

// ---- Flags ------------------------------------------------------------------------------------------------------

export const FLAGS: FlagSpec[] = [
  { name: "from", env: "NOTISTREAM_IMPORT_FROM", help: "the old Gotify server's URL (its root, as the apps have it)" },
  { name: "to", env: "NOTISTREAM_IMPORT_TO", help: "Notistream's web server URL" },
  { name: "user", env: "NOTISTREAM_IMPORT_USER", help: "the Gotify user whose applications and clients to carry over" },
  { name: "to-user", env: "NOTISTREAM_IMPORT_TO_USER", help: "the ACL user on Notistream who gets them", default: "the same as --user" },
  { name: "dry-run", env: "NOTISTREAM_IMPORT_DRY_RUN", help: "show what would be made, make nothing (a token another Notistream user has shows only when made)", boolean: true },
];

const ABOUT = `bun web_gotify_import.ts --from https://gotify.example.org --to https://push.example.org --user alice

Carries a user's Gotify applications and clients over to Notistream with the same tokens, names,
descriptions, default priorities and application images, so senders (Uptime Kuma, Sonarr, Apprise, scripts) and
phones keep working after changing only the server's URL. What Notistream already has (the same token, same user)
is left alone: running it twice is safe. Messages are not copied: Notistream keeps its own history, and Gotify's
apps page back through that from now on.

Passwords come from the environment, or are asked for on a terminal:
  NOTISTREAM_GOTIFY_PASSWORD      the user's password on the old Gotify server (and on Notistream, unless the next is set)
  NOTISTREAM_IMPORT_TO_PASSWORD   the --to-user's password on Notistream, when it differs

Not carried over (reported, exit status 1): Gotify v3's enhanced tokens (gtfy…; a v3 server keeps only their public
half), plugins' applications, a token Notistream already has for someone else. Exit status 0 when everything is
there, 1 when something was not carried over or a server refused, 2 for a wrong command line.`;

export type Options = { from: string; to: string; user: string; toUser: string; dryRun: boolean };

/** The command line and environment as Options, or help, or a sentence what was wrong (pure). */
export function readOptions(argv: string[], env: Record<string, string | undefined>): { options: Options } | { help: string } | { problem: string } {
  const read = readFlags(argv, Object.fromEntries(FLAGS.map((f) => [f.name, f.boolean ? "boolean" : "string"] as const)));
  if (read.kind === "help") return { help: `${usage("bun web_gotify_import.ts", ABOUT, FLAGS)}` };
  if (read.kind === "problem") return { problem: read.sentence };
  const value = (name: string): string | undefined => {
    const given = read.values[name];
    if (given !== undefined) return given === true ? "true" : given;
    const spec = FLAGS.find((f) => f.name === name)!;
    return spec.env && env[spec.env] ? env[spec.env] : undefined;
  };
  const from = baseUrl("from", value("from"));
  if ("problem" in from) return from;
  const to = baseUrl("to", value("to"));
  if ("problem" in to) return to;
  if (from.url === to.url) return { problem: "--from and --to are the same server: --from is the old Gotify server, --to is Notistream" };
  const user = value("user");
  if (!user) return { problem: "--user is required: the Gotify user whose applications and clients to carry over" };
  const dry = value("dry-run");
  if (dry !== undefined && !/^(true|1|yes|false|0|no)$/i.test(dry)) return { problem: `NOTISTREAM_IMPORT_DRY_RUN must be true or false, got ${JSON.stringify(dry)}` };
  return { options: { from: from.url, to: to.url, user, toUser: value("to-user") || user, dryRun: /^(true|1|yes)$/i.test(dry ?? "") } };
}

// ---- The thin I/O -----------------------------------------------------------------------------------------------

/** A run's end in a plain sentence (a server unreachable, a login refused): exit status 1. */
export class ImportStop extends Error {}

/** One server as this run talks to it. */
export type Server = { label: string; base: string; user: string; authorization: string };

export function serverOf(label: string, base: string, user: string, password: string): Server {
  return { label: `${label} at ${base.replace(/\/$/, "")}`, base, user, authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` };
}

/** A request to a server, its answer's status and body; unreachable is an ImportStop. */
async function ask(s: Server, method: string, path: string, body?: BodyInit, headers: Record<string, string> = {}): Promise<{ status: number; body: string; bytes: Uint8Array; type: string }> {
  let res: Response;
  try {
    // Redirects are not followed: the login must not go to another address unasked (refusalSentence names the target).
    res = await fetch(under(s.base, path), { method, body, redirect: "manual", headers: { authorization: s.authorization, accept: "application/json", ...headers }, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new ImportStop(unreachable(s.label, err));
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  const location = res.headers.get("location");
  const text = location && res.status >= 300 && res.status < 400 ? `redirected to ${location}` : new TextDecoder().decode(bytes);
  return { status: res.status, body: text, bytes, type: res.headers.get("content-type") ?? "" };
}

/** A list the server answers (GET /application, GET /client), each item checked; a refusal or anything else stops. */
async function list<T>(s: Server, path: string, schema: z.ZodType<T>): Promise<T[]> {
  const doing = `list the user's ${path.slice(1)}s (GET ${path})`;
  const r = await ask(s, "GET", path);
  if (r.status !== 200) throw new ImportStop(refusalSentence(s.label, s.user, doing, r.status, r.body));
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.body);
  } catch {
    throw new ImportStop(`${s.label} does not speak Gotify's API: GET ${path} did not answer JSON; is the URL the server's root?`);
  }
  const checked = z.array(schema).safeParse(parsed);
  if (!checked.success) throw new ImportStop(`${s.label} answered GET ${path} with something other than Gotify's list: ${checked.error.issues[0]?.message ?? "unreadable"}`);
  return checked.data;
}

/** Both servers' holdings for the user. */
export async function holdings(s: Server): Promise<Holdings> {
  return { apps: await list(s, "/application", OldAppSchema), clients: await list(s, "/client", OldClientSchema) };
}

/** POSTs JSON; the created record's id, or a sentence why not (a 401 stops the run: nothing else would pass). */
async function create(s: Server, path: string, fields: Record<string, unknown>, what: string): Promise<{ id: number; channel?: string } | { problem: string }> {
  const r = await ask(s, "POST", path, JSON.stringify(fields), { "content-type": "application/json" });
  if (r.status === 401) throw new ImportStop(refusalSentence(s.label, s.user, `make ${what}`, r.status, r.body));
  if (r.status !== 200) return { problem: refusalSentence(s.label, s.user, `make ${what}`, r.status, r.body) };
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(r.body);
  } catch {
    // not JSON: refused below
  }
  const made = z.object({ id: z.number().int(), channel: z.string().optional() }).safeParse(parsed);
  return made.success ? made.data : { problem: `${s.label} answered 200 to make ${what}, but not with Gotify's JSON of it` };
}

/** Copies an app's image: GET /<image> on the old server, POST /application/{id}/image here; a sentence when it fails. */
async function copyImageOver(from: Server, to: Server, image: string, id: number): Promise<string | null> {
  const got = await ask(from, "GET", `/${image}`);
  if (got.status !== 200) return `its image could not be read from ${from.label} (GET /${image} answered ${got.status})`;
  const form = new FormData();
  const name = image.split("/").pop() || "image.png";
  form.append("file", new Blob([Buffer.from(got.bytes)], { type: got.type.split(";")[0] || "application/octet-stream" }), name);
  const put = await ask(to, "POST", `/application/${id}/image`, form);
  return put.status === 200 ? null : `its image was not taken: ${refusalSentence(to.label, to.user, "keep the image", put.status, put.body)}`;
}

/** What became of an app's image: not wanted, copied, would be (a dry run), or why it failed. */
type ImageOutcome = { kind: "none" | "copied" | "would" } | { kind: "failed"; why: string };

/** Copies an app's image when the step wants it, counting it in the tally. */
async function imageOf(step: Step, id: number, from: Server, to: Server, dryRun: boolean, t: Tally): Promise<ImageOutcome> {
  if (step.kind !== "app" || step.action === "cannot" || !step.copyImage) return { kind: "none" };
  const why = dryRun ? null : await copyImageOver(from, to, (step.old as OldApp).image, id);
  if (why) {
    t.imageFailures++;
    return { kind: "failed", why };
  }
  t.images++;
  return { kind: dryRun ? "would" : "copied" };
}

/** The end of a step's line for its image. */
const imageWords = (o: ImageOutcome): string => (o.kind === "copied" ? ", image copied" : o.kind === "would" ? ", and its image would be copied" : o.kind === "failed" ? `, but ${o.why}` : "");

/** Carries out one step, printing its line; the tally's counts grow. */
async function carry(step: Step, from: Server, to: Server, dryRun: boolean, t: Tally, say: (line: string) => void): Promise<void> {
  const who = named(step);
  if (step.action === "cannot") {
    t.cannot++;
    return say(`${who}: not carried over: ${step.why}`);
  }
  if (step.action === "there") {
    t.there++;
    const image = await imageOf(step, step.id, from, to, dryRun, t);
    return say(`${who}: already on Notistream (id ${step.id})${image.kind === "none" ? ", left alone" : imageWords(image)}`);
  }
  if (dryRun) {
    t.created++;
    return say(`${who}: would be made with its old token${imageWords(await imageOf(step, 0, from, to, dryRun, t))}`);
  }
  const made =
    step.kind === "app"
      ? await create(to, "/application", { name: step.old.name, description: (step.old as OldApp).description, defaultPriority: (step.old as OldApp).defaultPriority, token: step.old.token }, who)
      : await create(to, "/client", { name: step.old.name, token: step.old.token }, who);
  if ("problem" in made) {
    t.failed++;
    return say(`${who}: not carried over: ${made.problem}`);
  }
  t.created++;
  const image = await imageOf(step, made.id, from, to, dryRun, t);
  say(`${who}: made with its old token (id ${made.id}${made.channel ? `, channel ${made.channel}` : ""})${imageWords(image)}`);
}

/** The whole run: read both sides, plan, carry out, sum up. */
export async function runImport(o: Options, from: Server, to: Server, say: (line: string) => void): Promise<Tally> {
  say(`reading the applications and clients of "${o.user}" on ${from.label}`);
  const old = await holdings(from);
  const here = await holdings(to);
  say(`found ${old.apps.length} application(s) and ${old.clients.length} client(s) there; "${o.toUser}" has ${here.apps.length} and ${here.clients.length} on ${to.label}`);
  const tally: Tally = { ...NO_TALLY };
  for (const step of planImport(old, here)) await carry(step, from, to, o.dryRun, tally, say);
  for (const line of summary(tally, o.dryRun)) say(line);
  return tally;
}

/** A password from the environment, else asked on a terminal (@clack/prompts), else a sentence saying how to give it. */
async function password(envName: string, question: string): Promise<string> {
  const given = process.env[envName];
  if (given) return given;
  if (!process.stdin.isTTY) throw new ImportStop(`no password: set ${envName}, or run this in a terminal to be asked`);
  const p = await import("@clack/prompts");
  const answer = await p.password({ message: question, mask: "*" });
  if (p.isCancel(answer)) throw new ImportStop("cancelled; nothing was made");
  return answer;
}

async function main(): Promise<void> {
  const read = readOptions(process.argv.slice(2), process.env);
  if ("help" in read) return void process.stdout.write(read.help);
  if ("problem" in read) {
    process.stderr.write(`${PROG}: ${read.problem}\n`);
    process.exit(2);
  }
  const o = read.options;
  try {
    const oldPassword = await password("NOTISTREAM_GOTIFY_PASSWORD", `Password of "${o.user}" on the old Gotify server`);
    const newPassword =
      process.env.NOTISTREAM_IMPORT_TO_PASSWORD || (o.toUser === o.user ? oldPassword : await password("NOTISTREAM_IMPORT_TO_PASSWORD", `Password of "${o.toUser}" on Notistream`));
    const from = serverOf("the old Gotify server", o.from, o.user, oldPassword);
    const to = serverOf("Notistream", o.to, o.toUser, newPassword);
    const tally = await runImport(o, from, to, (line) => console.log(line));
    process.exit(tally.cannot + tally.failed + tally.imageFailures > 0 ? 1 : 0);
  } catch (err) {
    if (!(err instanceof ImportStop)) throw err;
    process.stderr.write(`${PROG}: ${err.message}\n`);
    process.exit(1);
  }
}

if (import.meta.main) await main();
