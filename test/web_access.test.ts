// test/web_access.test.ts — web_access.ts's checkRight, the check a row's right makes before its handler runs, on
// Requests made here: the path's channel decoded and its name checked first, then the caller, against an ACL.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { Acl } from "../acl";
import { AUTH_FAILURE_BURST, LoginGuard, authorizationOf, checkRight, identify, publishRefusal } from "../web_access";
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

// Every credential form ntfy takes (server.go maybeAuthenticate, readAuthHeader, authenticateBasicAuth).
describe("credentials as ntfy's clients send them", () => {
  const b64url = (s: string) => Buffer.from(s).toString("base64url");
  const reading = row("GET", "/events", "read");
  const withIssued = () => {
    const acl = Acl.parse([`user default on nopass %R&public/* +@all`, `user alice on #${sha("alice-pw")} &deploys +@all`, "user off-user off &deploys +@all"].join("\n"), "(test)");
    acl.issued = (token) => ({ tk_alicealicealicealicealiceali: "alice", tk_offoffoffoffoffoffoffoffoffof: "off-user", tk_defaultdefaultdefaultdefaul: "default" })[token] ?? null;
    return acl;
  };
  const nameOf = (got: ReturnType<typeof identify>) => (got instanceof Response ? got.status : got.name);
  const req = (path: string, authorization?: string) => new Request(`http://x${path}`, { headers: authorization ? { authorization } : {} });

  test("?auth= is the Authorization header's value, base64url without padding (as ntfy's web app encodes it) or with it", () => {
    const header = basic("alice", "alice-pw");
    expect(authorizationOf(req(`/d/ws?auth=${b64url(header)}`))).toBe(header);
    const padded = Buffer.from(header).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
    expect(padded.endsWith("=")).toBe(true);
    expect(authorizationOf(req(`/d/ws?auth=${padded}`))).toBe(header);
    expect(authorizationOf(req(`/d/ws?authorization=${b64url("Bearer x")}`))).toBe("Bearer x");
    // The parameter wins over the header, as in readAuthHeader.
    expect(authorizationOf(req(`/d/ws?auth=${b64url("Bearer x")}`, "Bearer y"))).toBe("Bearer x");
    expect(authorizationOf(req("/d/ws", "Bearer y"))).toBe("Bearer y");
    expect(authorizationOf(req("/d/ws"))).toBeNull();
    expect(authorizationOf(req("/d/ws?auth=not%20base64"))).toBe(false);
  });

  test("Basic, Bearer (a password or an issued token), Basic with an empty user name (the password is a token), ?auth=", () => {
    const acl = withIssued();
    expect(nameOf(identify(acl, req("/", basic("alice", "alice-pw"))))).toBe("alice");
    expect(nameOf(identify(acl, req("/", "Bearer alice-pw")))).toBe("alice");
    expect(nameOf(identify(acl, req("/", "Bearer tk_alicealicealicealicealiceali")))).toBe("alice");
    expect(nameOf(identify(acl, req("/", basic("", "tk_alicealicealicealicealiceali"))))).toBe("alice");
    expect(nameOf(identify(acl, req("/", basic("", "alice-pw"))))).toBe("alice");
    expect(nameOf(identify(acl, req(`/?auth=${b64url("Bearer tk_alicealicealicealicealiceali")}`)))).toBe("alice");
    expect(nameOf(identify(acl, req(`/?auth=${b64url(basic("alice", "alice-pw"))}`)))).toBe("alice");
  });

  test("a wrong or unknown token, a token of a user turned off or of the anonymous user, and a bad ?auth= are 401s", async () => {
    const acl = withIssued();
    expect(nameOf(identify(acl, req("/", "Bearer tk_nobodynobodynobodynobodynobod")))).toBe(401);
    expect(nameOf(identify(acl, req("/", basic("", "tk_offoffoffoffoffoffoffoffoffof"))))).toBe(401);
    expect(nameOf(identify(acl, req("/", "Bearer tk_defaultdefaultdefaultdefaul")))).toBe(401);
    const bad = identify(acl, req("/?auth=%25%25"));
    expect(nameOf(bad)).toBe(401);
    expect(await errorOf(bad as Response)).toContain("base64url");
  });

  test("--token's one-user ACL takes no issued token; the row's check goes through the same forms", () => {
    const acl = Acl.publishToken("secret");
    acl.issued = () => "publisher";
    expect(acl.issuesTokens).toBe(false);
    expect(nameOf(identify(acl, req("/", "Bearer tk_alicealicealicealicealiceali")))).toBe(401);
    const issued = withIssued();
    const got = checkRight(issued, req(`/events?channel=deploys&auth=${b64url("Bearer tk_alicealicealicealicealiceali")}`), new URL(`http://x/events?channel=deploys&auth=${b64url("Bearer tk_alicealicealicealicealiceali")}`), reading, "");
    expect((got as Checked).who?.name).toBe("alice");
  });
});

// ntfy's auth-failure limit (visitor.go AuthAllowed: more than one token left; config.go: 30 burst, one a minute).
describe("the login guard: failed logins per visitor", () => {
  const events = row("GET", "/events", "read");
  const at = (visitor: string, authorization?: string, path = "/events?channel=deploys") =>
    new Request(`http://x${path}`, { headers: { "x-visitor": visitor, ...(authorization ? { authorization } : {}) } });
  const guard = (refreshed: string[] = []) =>
    new LoginGuard({
      visitorOf: (r) => r.headers.get("x-visitor")!,
      refreshToken: (t) => (refreshed.push(t), null),
      tooManyFailures: (visitor, wait) => new Response(`${visitor} ${wait}`, { status: 429 }),
      storeAway: () => new Response(null, { status: 503 }),
    });
  const url = new URL("http://x/events?channel=deploys");

  test("after the burst of failures, any login from that visitor is a 429, the right one too; other visitors and anonymous requests go on", async () => {
    const g = guard();
    const wrong = basic("alice", "nope");
    let failures = 0;
    while ((await g.before(ACL, at("a", wrong), url, events)) === null && failures < 100) {
      g.after(ACL, at("a", wrong), url, events, 401);
      failures++;
    }
    expect(failures).toBe(AUTH_FAILURE_BURST - 1);
    expect((await g.before(ACL, at("a", basic("alice", "alice-pw")), url, events))?.status).toBe(429);
    expect(await g.before(ACL, at("b", basic("alice", "alice-pw")), url, events)).toBeNull();
    expect(await g.before(ACL, at("a"), url, events)).toBeNull();
  });

  test("successes and refusals that are not 401 cost nothing; without an ACL credentials are ignored", async () => {
    const g = guard();
    for (let i = 0; i < 100; i++) {
      g.after(ACL, at("a", basic("alice", "alice-pw")), url, events, 200);
      g.after(ACL, at("a", basic("reader", "reader-pw")), url, events, 403);
      g.after(undefined, at("a", basic("alice", "nope")), url, events, 401);
    }
    expect(await g.before(ACL, at("a", basic("alice", "alice-pw")), url, events)).toBeNull();
  });

  test("a token it has not read lately is read before the check: Bearer, Basic with no user, ?auth=, ?token= where the row takes it", async () => {
    const refreshed: string[] = [];
    const g = guard(refreshed);
    const tk = "tk_alicealicealicealicealiceali";
    g.before(ACL, at("a", `Bearer ${tk}`), url, events);
    g.before(ACL, at("a", basic("", tk)), url, events);
    const withAuth = `/events?channel=deploys&auth=${Buffer.from(`Bearer ${tk}`).toString("base64url")}`;
    g.before(ACL, at("a", undefined, withAuth), new URL(`http://x${withAuth}`), events);
    g.before(ACL, at("a", undefined, `/deploys?token=${tk}`), new URL(`http://x/deploys?token=${tk}`), row("POST", "/<channel>", "write", "query"));
    g.before(ACL, at("a", undefined, `/events?token=${tk}`), new URL(`http://x/events?token=${tk}`), events);
    g.before(ACL, at("a", basic("alice", tk)), url, events);
    expect(refreshed).toEqual([tk, tk, tk, tk]);
    // A store that does not answer: the request gets the 503, not a 401 that would blame the token.
    const away = new LoginGuard({ visitorOf: () => "a", refreshToken: () => Promise.reject(new Error("down")), tooManyFailures: () => new Response(null, { status: 429 }), storeAway: () => new Response(null, { status: 503 }) });
    expect((await away.before(ACL, at("a", `Bearer ${tk}`), url, events))?.status).toBe(503);
  });
});
