// test/web_gotify_import.test.ts — the import tool's pure part (web_gotify_import.ts): the plan (what to make, what is
// there already, what cannot be carried over), its sentences, the command line and the closing summary. The real run
// over sockets is test/gotify.import.e2e.test.ts.
import { describe, expect, test } from "bun:test";
import {
  NO_TALLY,
  OldAppSchema,
  answerText,
  baseUrl,
  hasOwnImage,
  planImport,
  readOptions,
  refusalSentence,
  summary,
  under,
  unreachable,
  type Holdings,
  type OldApp,
  type OldClient,
} from "../web_gotify_import";

const app = (id: number, token: string, more: Partial<OldApp> = {}): OldApp => ({ id, token, name: `app ${id}`, description: "", image: "static/defaultapp.png", defaultPriority: 0, internal: false, ...more });
const client = (id: number, token: string): OldClient => ({ id, token, name: `client ${id}` });
const NONE: Holdings = { apps: [], clients: [] };

describe("the plan", () => {
  test("everything new is made, apps first; an app with its own image has it copied", () => {
    const old: Holdings = { apps: [app(1, "AAAAAAAAAAAAAA1", { image: "image/x.png" }), app(2, "AAAAAAAAAAAAAA2")], clients: [client(1, "CCCCCCCCCCCCCC1")] };
    expect(planImport(old, NONE).map((s) => [s.kind, s.action, s.old.id, "copyImage" in s ? s.copyImage : null])).toEqual([
      ["app", "create", 1, true],
      ["app", "create", 2, false],
      ["client", "create", 1, null],
    ]);
  });

  test("a token the user already has on Notistream is left alone (a second run makes nothing), with its id", () => {
    const old: Holdings = { apps: [app(1, "AAAAAAAAAAAAAA1")], clients: [client(1, "CCCCCCCCCCCCCC1")] };
    const here: Holdings = { apps: [app(7, "AAAAAAAAAAAAAA1")], clients: [client(9, "CCCCCCCCCCCCCC1")] };
    expect(planImport(old, here)).toEqual([
      { kind: "app", old: old.apps[0]!, action: "there", id: 7, copyImage: false },
      { kind: "client", old: old.clients[0]!, action: "there", id: 9 },
    ]);
  });

  test("an app already there without its image gets the image (a run cut short is finished by the next)", () => {
    const old: Holdings = { apps: [app(1, "AAAAAAAAAAAAAA1", { image: "image/x.png" }), app(2, "AAAAAAAAAAAAAA2", { image: "image/y.png" })], clients: [] };
    const here: Holdings = { apps: [app(7, "AAAAAAAAAAAAAA1"), app(8, "AAAAAAAAAAAAAA2", { image: "image/z.png" })], clients: [] };
    expect(planImport(old, here).map((s) => ("copyImage" in s ? s.copyImage : null))).toEqual([true, false]);
  });

  test("what cannot be carried over says why: v3's enhanced tokens, a hidden token, a plugin's app, a token of the other kind here", () => {
    const enhanced = `gtfya.${Buffer.alloc(32, 1).toString("base64url")}`;
    const old: Holdings = {
      apps: [app(1, enhanced), app(2, ""), app(3, "AAAAAAAAAAAAAA3", { internal: true }), app(4, "AAAAAAAAAAAAAA4"), app(5, "A-too-short")],
      clients: [client(1, "CCCCCCCCCCCCCC1"), client(2, "AAAAAAAAAAAAAA9")],
    };
    const here: Holdings = { apps: [], clients: [client(5, "AAAAAAAAAAAAAA4")] };
    const steps = planImport(old, here);
    const why = steps.map((s) => (s.action === "cannot" ? s.why : s.action));
    expect(why[0]).toContain("Gotify v3's enhanced tokens (gtfy…) cannot be carried over");
    expect(why[0]).toContain("make it anew on Notistream and put the new token in its senders");
    expect(why[1]).toContain("the old server did not show its token");
    expect(why[2]).toContain("a plugin's application (internal)");
    expect(why[3]).toBe("its token is a client's on Notistream already; delete that one there first");
    expect(why[4]).toContain(`"A" and 14 of a-z A-Z 0-9 . - _ (this one has 11 characters`);
    expect(why[5]).toBe("create");
    expect(why[6]).toContain(`that token is an application's (it starts with "A")`);
  });

  test("Gotify's default picture is no image of the app's own", () => {
    expect([hasOwnImage("static/defaultapp.png"), hasOwnImage(""), hasOwnImage("image/abc.png")]).toEqual([false, false, true]);
  });

  test("Gotify's application JSON is read with what v3 may leave out (model/application.go: token omitempty)", () => {
    const r = OldAppSchema.parse({ id: 3, name: "x", internal: false, image: "image/a.png", lastUsed: null, sortKey: "a0" });
    expect(r).toEqual({ id: 3, token: "", name: "x", description: "", image: "image/a.png", defaultPriority: 0, internal: false });
  });
});

describe("sentences", () => {
  test("a refused login, refused rights, and anything else with Gotify's errorDescription", () => {
    const body = JSON.stringify({ error: "Forbidden", errorCode: 403, errorDescription: "user 'alice' may not both publish to and read \"x\"" });
    expect(refusalSentence("Notistream at http://n", "alice", "make x", 401, "")).toBe(
      `Notistream at http://n refused the login of user "alice": wrong user name or password (or the user is switched off there)`,
    );
    expect(refusalSentence("Notistream at http://n", "alice", "make x", 403, body)).toBe(`Notistream at http://n refused to make x for user "alice": user 'alice' may not both publish to and read "x"`);
    expect(refusalSentence("G", "a", "list", 404, "<html>Not here</html>")).toBe("G answered 404 when asked to list: <html>Not here</html>; is the URL the root of a Gotify server (or of Notistream's web server)?");
    expect(refusalSentence("G at http://g", "a", "list", 301, "redirected to https://g/application")).toBe(
      "G at http://g redirects elsewhere (https://g/application): give that URL instead (for example https:// rather than http://)",
    );
    expect(answerText("")).toBe("(no body)");
    expect(answerText("x".repeat(300))).toHaveLength(201);
  });

  test("an unreachable server in words", () => {
    expect(unreachable("G at http://g", Object.assign(new Error("Unable to connect"), { code: "ECONNREFUSED" }))).toBe(
      "cannot reach G at http://g: nothing answers at that address (connection refused); check the URL and that the server is running",
    );
    expect(unreachable("G", Object.assign(new Error("x"), { name: "TimeoutError" }))).toContain("no answer within 30 seconds");
  });

  test("the summary: counts, what is left, and that messages are not copied", () => {
    expect(summary({ ...NO_TALLY, created: 3, images: 1 }, false)).toEqual([
      "3 made with their old tokens, 0 already on Notistream, 1 image copied.",
      "Messages are not copied: Notistream keeps its own history, which Gotify's apps page back through from now on.",
    ]);
    const left = summary({ ...NO_TALLY, there: 3, cannot: 1, failed: 1 }, false);
    expect(left[0]).toBe("0 made with their old tokens, 3 already on Notistream.");
    expect(left[1]).toStartWith("2 not carried over (see above): make them on Notistream by hand");
    expect(summary({ ...NO_TALLY, created: 2 }, true)[0]).toBe("dry run: 2 would be made, 0 already on Notistream.");
  });
});

describe("the command line", () => {
  test("URLs keep their path, with one slash, and paths go under it", () => {
    expect(baseUrl("from", "https://g.example.org/gotify")).toEqual({ url: "https://g.example.org/gotify/" });
    expect(baseUrl("from", "http://g:8080//")).toEqual({ url: "http://g:8080/" });
    expect(under("https://g.example.org/gotify/", "/application")).toBe("https://g.example.org/gotify/application");
    expect(baseUrl("to", "ftp://x")).toEqual({ problem: `--to must be an http:// or https:// URL, got "ftp://x"` });
    expect(baseUrl("to", "https://u:p@x")).toMatchObject({ problem: expect.stringContaining("must not carry a login") });
    expect(baseUrl("to", undefined)).toMatchObject({ problem: expect.stringContaining("--to is required") });
  });

  test("flags, their env twins, --to-user defaulting to --user, and refusals in sentences", () => {
    expect(readOptions(["--from", "http://g", "--to", "http://n", "--user", "alice"], {})).toEqual({
      options: { from: "http://g/", to: "http://n/", user: "alice", toUser: "alice", dryRun: false },
    });
    const env = { NOTISTREAM_IMPORT_FROM: "http://g", NOTISTREAM_IMPORT_TO: "http://n", NOTISTREAM_IMPORT_USER: "a", NOTISTREAM_IMPORT_TO_USER: "b", NOTISTREAM_IMPORT_DRY_RUN: "1" };
    expect(readOptions([], env)).toEqual({ options: { from: "http://g/", to: "http://n/", user: "a", toUser: "b", dryRun: true } });
    expect(readOptions(["--dry-run", "--user", "c"], { ...env, NOTISTREAM_IMPORT_DRY_RUN: "" })).toMatchObject({ options: { user: "c", dryRun: true } });
    expect(readOptions(["--from", "http://g", "--to", "http://g/", "--user", "a"], {})).toEqual({ problem: "--from and --to are the same server: --from is the old Gotify server, --to is Notistream" });
    expect(readOptions(["--from", "http://g", "--to", "http://n"], {})).toMatchObject({ problem: expect.stringContaining("--user is required") });
    expect(readOptions(["--frm", "x"], {})).toMatchObject({ problem: expect.stringContaining("unknown flag --frm") });
    expect(readOptions([], { ...env, NOTISTREAM_IMPORT_DRY_RUN: "maybe" })).toMatchObject({ problem: expect.stringContaining("NOTISTREAM_IMPORT_DRY_RUN must be true or false") });
  });

  test("--help says what is carried, where passwords come from, what is not carried, and that messages are not copied", () => {
    const r = readOptions(["--help"], {});
    const help = "help" in r ? r.help : "";
    for (const words of ["--from", "--to", "--user", "--to-user", "--dry-run", "NOTISTREAM_GOTIFY_PASSWORD", "NOTISTREAM_IMPORT_TO_PASSWORD", "Messages are not copied", "enhanced tokens", "Exit status"])
      expect(help).toContain(words);
  });
});
