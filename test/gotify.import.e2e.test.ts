// test/gotify.import.e2e.test.ts — carrying a Gotify user's tokens over (web_gotify_import.ts, and the `token` that
// POST /application and POST /client take, web_gotify.ts), over real sockets.
//
// The "old Gotify server" is a second Notistream web server on a pub/sub server of its own: for the calls the import
// makes (GET /application and /client with a Basic login, GET /<image>) it answers as Gotify v2.9.1 does, byte for
// byte (api/application.go GetApplications, api/client.go GetClients, router.go's /image), which test/gotify.e2e and
// test/gotify.clients.e2e check against Gotify's code and the npm gotify-client.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { BUN, ROOT, Terminal, freePort, haveTmux, run, startPubSub, startWebServer, tempPath, type Running } from "./helpers";

type Web = Running & { url: string };
type Json = Record<string, unknown>;

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
const ALICE = { authorization: basic("alice", "alice-pw") };
const BOB = { authorization: basic("bob", "bob-pw") };
const PNG = readFileSync(`${ROOT}app/icon-192.png`);

/** alice and bob may read and write every application's default channel (gotify-*); carol only elsewhere/*. */
function aclFile(): string {
  const path = tempPath("gotify-import.acl");
  const reader = "-@all +subscribe +psubscribe +publish +xrange +xrevrange +xread";
  const line = (user: string) => `user ${user} on #${sha(`${user}-pw`)} &gotify-* %R~notistream:gotify-* ${reader}`;
  const carol = `user carol on #${sha("carol-pw")} &elsewhere/* %R~notistream:elsewhere/* ${reader}`;
  writeFileSync(path, [line("alice"), line("bob"), carol, ""].join("\n"));
  return path;
}

async function call(web: Web, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; json: unknown }> {
  const isForm = body instanceof FormData || body instanceof URLSearchParams;
  const r = await fetch(`${web.url}${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined && !isForm ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, json: text ? (JSON.parse(text) as unknown) : null };
}
const items = async (web: Web, path: string, headers = ALICE): Promise<Json[]> => (await call(web, "GET", path, headers)).json as Json[];

/** The import tool as a user runs it, alice's password in the environment. */
const importer = (from: Web, to: Web | string, env: Record<string, string> = { NOTISTREAM_GOTIFY_PASSWORD: "alice-pw" }) =>
  run([BUN, `${ROOT}web_gotify_import.ts`, "--from", from.url, "--to", typeof to === "string" ? to : to.url, "--user", "alice"], { env, timeoutMs: 30_000 });

describe("carrying Gotify tokens over", () => {
  const started: Running[] = [];
  let old: Web;
  let neu: Web;
  beforeAll(async () => {
    const acl = aclFile();
    const [oldBackend, newBackend] = [await startPubSub(), await startPubSub()];
    old = await startWebServer(`redis://127.0.0.1:${oldBackend.port}`, ["--acl", acl]);
    neu = await startWebServer(`redis://127.0.0.1:${newBackend.port}`, ["--acl", acl]);
    started.push(old, neu, oldBackend, newBackend);
  });
  afterAll(async () => {
    for (const s of started) await s.stop();
  });

  test("two apps (one with an image) and a client: made with the same tokens, the old tokens work, a second run makes nothing", async () => {
    const backups = (await call(old, "POST", "/application", ALICE, { name: "Backups", description: "nightly backups", defaultPriority: 7 })).json as Json;
    const alerts = (await call(old, "POST", "/application", ALICE, { name: "Alerts" })).json as Json;
    const form = new FormData();
    form.append("file", new Blob([PNG], { type: "image/png" }), "backups.png");
    expect((await call(old, "POST", `/application/${String(backups.id)}/image`, ALICE, form)).status).toBe(200);
    const phone = (await call(old, "POST", "/client", ALICE, { name: "Pixel 7" })).json as Json;

    const first = await importer(old, neu);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`application "Backups": made with its old token`);
    expect(first.stdout).toContain("image copied");
    expect(first.stdout).toContain(`client "Pixel 7": made with its old token`);
    expect(first.stdout).toContain("3 made with their old tokens, 0 already on Notistream, 1 image copied.");
    expect(first.stdout).toContain("Messages are not copied");

    const apps = await items(neu, "/application");
    expect(apps.map((a) => [a.token, a.name, a.description, a.defaultPriority])).toEqual([
      [backups.token, "Backups", "nightly backups", 7],
      [alerts.token, "Alerts", "", 0],
    ]);
    const image = String(apps[0]!.image);
    expect(image).toMatch(/^image\/[A-Za-z0-9._-]{25}\.png$/);
    expect(Buffer.from(await (await fetch(`${neu.url}/${image}`)).arrayBuffer()).equals(PNG)).toBe(true);
    expect(apps[1]!.image).toBe("static/defaultapp.png");
    expect((await items(neu, "/client")).map((c) => [c.token, c.name])).toEqual([[phone.token, "Pixel 7"]]);

    // The phone's old client token opens the stream; a sender's old app token publishes (api/message.go CreateMessage).
    const frames: Json[] = [];
    const ws = new WebSocket(`${neu.url.replace(/^http/, "ws")}/stream?token=${String(phone.token)}`);
    ws.onmessage = (e) => frames.push(JSON.parse(String(e.data)) as Json);
    await new Promise<void>((resolve, reject) => ((ws.onopen = () => resolve()), (ws.onerror = () => reject(new Error("GET /stream did not open with the old client token")))));
    const sent = await call(neu, "POST", `/message?token=${String(backups.token)}`, {}, { message: "after the move", priority: 8 });
    expect(sent.status).toBe(200);
    expect(sent.json).toMatchObject({ appid: apps[0]!.id, message: "after the move", title: "Backups", priority: 8 });
    for (const end = Date.now() + 10_000; frames.length === 0 && Date.now() < end; ) await Bun.sleep(20);
    ws.close();
    expect(frames).toEqual([sent.json as Json]);
    const listed = (await call(neu, "GET", "/message", { "x-gotify-key": String(phone.token) })).json as { messages: Json[] };
    expect(listed.messages).toEqual([sent.json as Json]);

    // Running it again is safe: everything is there, nothing is made.
    const second = await importer(old, neu);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`application "Backups": already on Notistream (id ${String(apps[0]!.id)}), left alone`);
    expect(second.stdout).toContain("0 made with their old tokens, 3 already on Notistream.");
    expect(await items(neu, "/application")).toHaveLength(2);
    expect(await items(neu, "/client")).toHaveLength(1);
  });

  test("a token another user has on Notistream is reported, not taken; the rest is made; exit status 1", async () => {
    const taken = (await call(old, "POST", "/application", ALICE, { name: "Taken" })).json as Json;
    // bob carried the same token over first (our `token` extension on POST /application).
    expect((await call(neu, "POST", "/application", BOB, { name: "Mine", token: taken.token })).status).toBe(200);
    const r = await importer(old, neu);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`application "Taken": not carried over: Notistream at ${neu.url} answered 400 when asked to make application "Taken": that token is already in use here`);
    expect(r.stdout).toContain("1 not carried over (see above)");
    expect((await items(neu, "/application")).map((a) => a.name)).toEqual(["Backups", "Alerts"]);
  });

  test("--dry-run says what would be made and makes nothing; then, in a terminal, the password is asked for (@clack/prompts)", async () => {
    const later = (await call(old, "POST", "/application", ALICE, { name: "Later" })).json as Json;
    const form = new FormData();
    form.append("file", new Blob([PNG], { type: "image/png" }), "later.png");
    expect((await call(old, "POST", `/application/${String(later.id)}/image`, ALICE, form)).status).toBe(200);
    const dry = await run([BUN, `${ROOT}web_gotify_import.ts`, "--from", old.url, "--to", neu.url, "--user", "alice", "--dry-run"], { env: { NOTISTREAM_GOTIFY_PASSWORD: "alice-pw" } });
    expect(dry.stdout).toContain(`application "Later": would be made with its old token, and its image would be copied`);
    // "Taken" (bob's token here) is counted too: another user's tokens are not listed to alice, only refused when made.
    expect(dry.stdout).toContain("dry run: 2 would be made, 3 already on Notistream, 1 image to copy.");
    expect((await items(neu, "/application")).map((a) => a.name)).not.toContain("Later");
    if (!haveTmux) return;
    const term = await Terminal.start(`env -u NOTISTREAM_GOTIFY_PASSWORD ${BUN} ${ROOT}web_gotify_import.ts --from ${old.url} --to ${neu.url} --user alice`);
    try {
      await term.waitFor(`Password of "alice" on the old Gotify server`);
      await term.enter("alice-pw");
      const screen = await term.waitFor("[exited with code", 20_000);
      expect(screen).toContain(`application "Later": made with its old token`);
      expect((await items(neu, "/application")).find((a) => a.name === "Later")).toMatchObject({ token: later.token });
    } finally {
      await term.kill();
    }
  });

  test("a wrong password, an unreachable server and a missing password are plain sentences with exit status 1", async () => {
    const wrong = await importer(old, neu, { NOTISTREAM_GOTIFY_PASSWORD: "not-it" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(`web_gotify_import: the old Gotify server at ${old.url} refused the login of user "alice": wrong user name or password (or the user is switched off there)\n`);
    const wrongHere = await importer(old, neu, { NOTISTREAM_GOTIFY_PASSWORD: "alice-pw", NOTISTREAM_IMPORT_TO_PASSWORD: "not-it" });
    expect(wrongHere.code).toBe(1);
    expect(wrongHere.stderr).toContain(`Notistream at ${neu.url} refused the login of user "alice"`);
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const away = await importer(old, nowhere);
    expect(away.code).toBe(1);
    expect(away.stderr).toBe(`web_gotify_import: cannot reach Notistream at ${nowhere}: nothing answers at that address (connection refused); check the URL and that the server is running\n`);
    const noPassword = await importer(old, neu, { NOTISTREAM_GOTIFY_PASSWORD: "" });
    expect(noPassword.code).toBe(1);
    expect(noPassword.stderr).toContain("no password: set NOTISTREAM_GOTIFY_PASSWORD, or run this in a terminal to be asked");
  });
});

describe("POST /application and POST /client with a token (our extension)", () => {
  const started: Running[] = [];
  let web: Web;
  beforeAll(async () => {
    const backend = await startPubSub();
    web = await startWebServer(`redis://127.0.0.1:${backend.port}`, ["--acl", aclFile()]);
    started.push(web, backend);
  });
  afterAll(async () => {
    for (const s of started) await s.stop();
  });

  /** Gotify's 400 (model/error.go) with our sentence. */
  const refused = (description: unknown) => ({ status: 400, json: { error: "Bad Request", errorCode: 400, errorDescription: description } });

  test("a token of Gotify's form is kept, from JSON or a form; GET shows it back; the token then logs in", async () => {
    const app = await call(web, "POST", "/application", ALICE, { name: "Kuma", token: "AKuma.token-_01" });
    expect(app).toMatchObject({ status: 200, json: { token: "AKuma.token-_01", name: "Kuma" } });
    const client = await call(web, "POST", "/client", ALICE, new URLSearchParams({ name: "Phone", token: "CPhone.token_01" }));
    expect(client).toMatchObject({ status: 200, json: { token: "CPhone.token_01", name: "Phone" } });
    expect((await call(web, "POST", "/message?token=AKuma.token-_01", {}, { message: "up" })).status).toBe(200);
    expect((await call(web, "GET", "/current/user", { "x-gotify-key": "CPhone.token_01" })).json).toMatchObject({ name: "alice" });
  });

  test("refused: the wrong form, the other kind's, Gotify v3's enhanced tokens, one in use (by anyone), a changed one on PUT", async () => {
    expect(await call(web, "POST", "/application", ALICE, { name: "x", token: "Ashort" })).toEqual(
      refused(`an application's token has Gotify's form: "A" and 14 of a-z A-Z 0-9 . - _ (this one has 6 characters, starting "A"); leave out "token" to get a new one`),
    );
    expect(await call(web, "POST", "/application", ALICE, { name: "x", token: "CPhone.token_02" })).toEqual(refused(`that token is a client's (it starts with "C"); an application's token starts with "A"`));
    expect(await call(web, "POST", "/client", ALICE, { name: "x", token: "AKuma.token-_02" })).toEqual(refused(`that token is an application's (it starts with "A"); a client's token starts with "C"`));
    const enhanced = `gtfya.${Buffer.alloc(32, 3).toString("base64url")}`;
    const v3 = await call(web, "POST", "/application", ALICE, { name: "x", token: enhanced });
    expect(v3).toMatchObject(refused(expect.stringContaining("Gotify v3's enhanced tokens (gtfy…) cannot be carried over: a v3 server keeps only their public half")));
    const inUse = `that token is already in use here (by an application or a client): leave out "token" to get a new one, or delete the application or client that has it first`;
    expect(await call(web, "POST", "/application", BOB, { name: "x", token: "AKuma.token-_01" })).toEqual(refused(inUse));
    expect(await call(web, "POST", "/client", ALICE, { name: "x", token: "CPhone.token_01" })).toEqual(refused(inUse));
    expect(await call(web, "POST", "/application", ALICE, { name: "x", token: 12 })).toEqual(refused("Field 'token' is not valid"));
    const kuma = (await items(web, "/application")).find((a) => a.name === "Kuma")!;
    expect(await call(web, "PUT", `/application/${String(kuma.id)}`, ALICE, { name: "Kuma", token: "AKuma.token-_03" })).toEqual(
      refused("an application's token never changes: a token is given only when the application is made (POST /application)"),
    );
    expect((await items(web, "/application")).map((a) => a.token)).toEqual(["AKuma.token-_01"]);
    expect((await items(web, "/client")).map((c) => c.token)).toEqual(["CPhone.token_01"]);
  });

  test("the same rights as without a token: no login is Gotify's 401, no rights on the channel its 403", async () => {
    const r = await call(web, "POST", "/application", {}, { name: "x", token: "ANo.login.token" });
    expect(r).toMatchObject({ status: 401, json: { errorCode: 401 } });
    const carol = await call(web, "POST", "/application", { authorization: basic("carol", "carol-pw") }, { name: "x", token: "ANo.right.token" });
    expect(carol).toMatchObject({ status: 403, json: { errorCode: 403, errorDescription: expect.stringContaining(`user 'carol' may not both publish to and read "gotify-x"`) } });
    expect((await call(web, "POST", "/message?token=ANo.right.token", {}, { message: "x" })).status).toBe(401);
  });
});
