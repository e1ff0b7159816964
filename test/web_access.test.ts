// test/web_access.test.ts — web_access.ts's checkRight, the check a row's right makes before its handler runs, on
// Requests made here: the path's channel decoded and its name checked first, then the caller, against an ACL.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { Acl } from "../acl";
import { checkRight, publishRefusal } from "../web_access";
import { InputError } from "../web_input";
import type { Checked, Right, RouteRow, TokenFrom } from "../web_routes";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
/** Anonymous clients read public/*; alice publishes to deploys; reader only reads deploys. */
const ACL = Acl.parse(
  [
    "user default on nopass %R&public/* +@all",
    `user alice on #${sha("alice-pw")} &deploys +@all`,
    `user reader on #${sha("reader-pw")} %R&deploys +@all`,
  ].join("\n"),
  "(test)",
);
const CLOSED = Acl.parse(`user default off\nuser alice on #${sha("alice-pw")} &deploys +@all`, "(test)");
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

const row = (method: string, path: string, right: Right, token?: TokenFrom): RouteRow => ({ method, path, right, handler: async () => new Response(), ...(token ? { token } : {}) });
const request = (path: string, authorization?: string) => new Request(`http://x${path}`, { method: "POST", headers: authorization ? { authorization } : {} });

/** checkRight on `path` for `r`, with the raw channel the matcher would hand over (the rest after the prefix). */
function check(acl: Acl | undefined, r: RouteRow, path: string, authorization?: string): Checked | Response {
  const url = new URL(`http://x${path}`);
  const prefix = r.path.replace("<channel>", "");
  return checkRight(acl, request(path, authorization), url, r, r.path.endsWith("<channel>") ? url.pathname.slice(prefix.length) : "");
}
const statusOf = (got: Checked | Response) => (got instanceof Response ? got.status : "checked");
const errorOf = async (got: Checked | Response) => (got instanceof Response ? ((await got.json()) as { error: string }).error : "");
const throws = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    if (err instanceof InputError) return `${err.status} ${err.message}`;
    throw err;
  }
  return "no error";
};

describe("write: the path's channel, then the caller's write rights", () => {
  const toChannel = row("POST", "/<channel>", "write", "query");
  const grafana = row("POST", "/grafana/<channel>", "write", "query");

  test("a user with write rights gets the decoded channel and is remembered", () => {
    const got = check(ACL, toChannel, "/deploys", basic("alice", "alice-pw"));
    expect(got).toMatchObject({ channel: "deploys", channels: [], token: undefined });
    expect((got as Checked).who?.name).toBe("alice");
    expect(check(ACL, grafana, "/grafana/deploys?token=alice-pw")).toMatchObject({ channel: "deploys", token: "alice-pw" });
  });

  test("anonymous clients get a 401 with the challenge, a user without the right a 403", async () => {
    const anonymous = check(ACL, toChannel, "/deploys");
    expect(statusOf(anonymous)).toBe(401);
    expect((anonymous as Response).headers.get("www-authenticate")).toContain("Bearer realm=");
    expect(await errorOf(anonymous)).toBe('anonymous clients may not publish to "deploys": log in with Authorization: Bearer <token> or Basic <user:password>');
    const reader = check(ACL, toChannel, "/deploys", basic("reader", "reader-pw"));
    expect(statusOf(reader)).toBe(403);
    expect(await errorOf(reader)).toBe(`user 'reader' may not publish to "deploys"; the ACL file sets each user's channels`);
    expect(statusOf(check(ACL, toChannel, "/deploys?token=wrong"))).toBe(401);
  });

  test("the channel's name is checked before the caller: a broken escape, an empty prefix route, a reserved name", () => {
    expect(throws(() => check(ACL, toChannel, "/%E0%A4%A"))).toStartWith('400 the path "/%E0%A4%A" has a broken percent-escape');
    expect(throws(() => check(ACL, grafana, "/grafana/"))).toBe("400 name the channel in the path: POST /grafana/<channel>");
    expect(throws(() => check(ACL, toChannel, "/notistream:push"))).toStartWith('400 channels starting with "notistream:"');
  });

  test("without an ACL only the name is checked", () => {
    expect(check(undefined, toChannel, "/a%2Fb")).toEqual({ channel: "a/b", channels: [], who: undefined, token: undefined });
  });
});

describe("read: the query's channels and read rights", () => {
  const events = row("GET", "/events", "read");
  test("the channels come from the query; anonymous clients read what the ACL gives them", () => {
    expect(check(ACL, events, "/events?channels=public/a,public/b")).toMatchObject({ channels: ["public/a", "public/b"] });
    expect(statusOf(check(ACL, events, "/events?channel=deploys"))).toBe(401);
    expect(statusOf(check(ACL, events, "/events?channel=deploys", basic("reader", "reader-pw")))).toBe("checked");
  });
  test("?token= is no login here, and a query without a channel is a 400", () => {
    expect(statusOf(check(ACL, events, "/events?channel=deploys&token=reader-pw"))).toBe(401);
    expect(throws(() => check(undefined, events, "/events"))).toStartWith('400 missing "channel"');
  });
});

describe("login: a caller who can log in; the channel is in the body", () => {
  const github = row("POST", "/github", "login", "query");
  const root = row("POST", "/", "login", "query or body");
  const push = row("POST", "/push/subscribe", "login");

  test("a wrong password or token, or anonymous clients turned off, get a 401", () => {
    expect(statusOf(check(ACL, github, "/github", basic("alice", "wrong")))).toBe(401);
    expect(statusOf(check(ACL, github, "/github?token=wrong"))).toBe(401);
    expect(statusOf(check(CLOSED, github, "/github"))).toBe(401);
    expect(statusOf(check(CLOSED, push, "/push/subscribe?token=alice-pw"))).toBe(401); // push takes no ?token=
    expect(statusOf(check(CLOSED, github, "/github?token=alice-pw"))).toBe("checked");
  });

  test("POST / waits for its body when no login comes outside it (a token field may), and refuses a wrong one at once", () => {
    expect(check(CLOSED, root, "/")).toMatchObject({ who: undefined, token: undefined });
    expect(statusOf(check(CLOSED, root, "/", "Bearer wrong"))).toBe(401);
    expect(statusOf(check(CLOSED, root, "/?token=wrong"))).toBe(401);
  });

  test("the body's channel is checked against the user the check let in, or asked again for another token", async () => {
    const req = request("/?token=alice-pw");
    const checked = checkRight(CLOSED, req, new URL("http://x/?token=alice-pw"), root, "") as Checked;
    expect(checked.who?.name).toBe("alice");
    expect(publishRefusal(CLOSED, req, checked, "deploys", "alice-pw")).toBeNull();
    expect(statusOf(publishRefusal(CLOSED, req, checked, "elsewhere", "alice-pw")!)).toBe(403);
    expect(await errorOf(publishRefusal(CLOSED, req, checked, "deploys", "another")!)).toBe("the token is not valid (or its user is disabled)");
    expect(publishRefusal(undefined, req, checked, "anything", undefined)).toBeNull();
  });
});

describe("signed and none: nothing asked before the body", () => {
  test("a signed sender's caller is left to the handler (its secret may stand in); the channel's name is still checked", () => {
    const grafana = row("POST", "/grafana/<channel>", "signed", "query");
    expect(check(CLOSED, grafana, "/grafana/deploys", basic("alice", "wrong"))).toMatchObject({ channel: "deploys", who: undefined });
    expect(throws(() => check(CLOSED, grafana, "/grafana/notistream:x"))).toStartWith("400 ");
  });
  test("a none row decodes nothing (GET /<channel>'s 404 names any path)", () => {
    expect(check(CLOSED, row("GET", "/<channel>", "none"), "/%zz")).toEqual({ channel: "", channels: [], who: undefined, token: undefined });
  });
});
