// test/acl.test.ts — unit tests for acl.ts: the file syntax (Redis's, plus %R& / %W&), credentials and every kind of
// permission check, without any server.
import { describe, expect, test } from "bun:test";
import { Acl, AclFileError, AclUser, NOPERM, PUBLISH, RISKY_COMMANDS, SUBSCRIBE, argsOf, hashSecret, keepsPasswords, keepsSubscriptions, riskyAnonymousCommands, type HeldSubscriptions } from "../acl";
import { commandByName } from "../pubsub_commands";

const sha = (s: string) => hashSecret(s).toString("hex");
const parse = (...lines: string[]) => Acl.parse(lines.join("\n"), "users.acl");
/** The pub/sub server's row for a command: the ACL takes resolved commands, as the server passes them. */
const cmd = (fullname: string) => commandByName(fullname)!;

describe("parsing", () => {
  test("comments, blank lines, users and their flags", () => {
    const acl = parse("# who may do what", "", `user alice on #${sha("pw")} &alerts/* ~notistream:alerts/* +@all`, "  user bob off nopass  ");
    expect([...acl.users.keys()]).toEqual(["alice", "bob", "default"]);
    expect(acl.users.get("alice")!.enabled).toBe(true);
    expect(acl.users.get("bob")!.enabled).toBe(false);
  });

  test("without a default line, anonymous clients may do nothing", () => {
    const anon = parse(`user alice on #${sha("pw")} allchannels`).anonymous;
    expect(anon.enabled).toBe(false);
    expect(anon.nopass).toBe(false);
    expect(anon.mayRun(cmd("ping"))).toBe(false);
    expect(anon.mayReadOverHttp(["x"])).toBe(false);
  });

  const bad: [string, RegExp][] = [
    ["alice on", /a line must be 'user <name>/],
    ["user", /a line must be/],
    ["user a #abc", /'#' must be followed by a password's SHA-256 as 64 lowercase hex digits/],
    [`user a #${sha("x").toUpperCase()}`, /64 lowercase hex/],
    ["user a >hunter2", /plaintext passwords \('>…'\) are not accepted/],
    ["user a <hunter2", /plaintext passwords/],
    ["user a +@nosuch", /'\+@nosuch': unknown command category/],
    ["user a +bad*name", /'\+bad\*name' is not a command name/],
    ["user a %X~foo", /'%X~foo' is not a rule/],
    ["user a (~foo +get)", /selectors/],
    ["user a sideways", /'sideways' is not a rule Notistream knows/],
  ];
  for (const [line, why] of bad) {
    test(`rejects ${JSON.stringify(line)}`, () => {
      expect(() => parse("# first line is a comment", line)).toThrow(AclFileError);
      try {
        parse("# first line is a comment", line);
      } catch (err) {
        expect((err as Error).message).toMatch(why);
        expect((err as Error).message).toContain("users.acl:2");
      }
    });
  }

  test("a plaintext password is never repeated in the error", () => {
    expect(() => parse("user a on >hunter2")).toThrow(/plaintext/);
    try {
      parse("user a on >hunter2");
    } catch (err) {
      expect((err as Error).message).not.toContain("hunter2");
    }
  });

  test("a user defined twice, and two users sharing a password, are errors", () => {
    expect(() => parse("user a on", "user a off")).toThrow(/users\.acl:2: user 'a' is defined twice/);
    expect(() => parse(`user a on #${sha("same")}`, `user b on #${sha("same")}`)).toThrow(/user 'b' has the same password as user 'a'/);
  });
});

describe("credentials", () => {
  const acl = parse(
    `user alice on #${sha("one")} #${sha("two")}`,
    `user gone off #${sha("gonepw")}`,
    "user free on nopass",
    `user dropped on #${sha("old")} #${sha("new")} !${sha("old")}`,
    `user reset on #${sha("pw")} resetpass`,
  );
  test("any of a user's passwords logs in; wrong ones, unknown users and disabled users do not", () => {
    expect(acl.authenticate("alice", "one")?.name).toBe("alice");
    expect(acl.authenticate("alice", Buffer.from("two"))?.name).toBe("alice");
    expect(acl.authenticate("alice", "three")).toBeNull();
    expect(acl.authenticate("nobody", "one")).toBeNull();
    expect(acl.authenticate("gone", "gonepw")).toBeNull();
  });
  test("nopass takes any password; ! removes one; resetpass removes all", () => {
    expect(acl.authenticate("free", "whatever")?.name).toBe("free");
    expect(acl.authenticate("dropped", "old")).toBeNull();
    expect(acl.authenticate("dropped", "new")?.name).toBe("dropped");
    expect(acl.authenticate("reset", "pw")).toBeNull();
  });
  test("a Bearer token finds its user by its hash; disabled users' tokens fail", () => {
    expect(acl.byToken("two")?.name).toBe("alice");
    expect(acl.byToken("nope")).toBeNull();
    expect(acl.byToken("gonepw")).toBeNull();
  });
});

describe("permissions", () => {
  const acl = parse(
    "user default on nopass %R&public/* %R~notistream:public/* -@all +@connection +@pubsub +@read",
    "user writer on nopass %W&alerts/* %W~notistream:alerts/* +@all",
    "user both on nopass &alerts/* ~k* +@all -flushall -client|kill",
    "user order on nopass allchannels allkeys +@all -@pubsub +subscribe",
    "user root on nopass allchannels allkeys allcommands",
  );
  const u = (n: string) => acl.users.get(n)!;

  test("%R& reads but cannot publish; %W& publishes but cannot subscribe", () => {
    expect(u("default").mayReadOverHttp(["public/x"])).toBe(true);
    expect(u("default").mayPublish("public/x")).toBe(false);
    expect(u("writer").mayPublish("alerts/x")).toBe(true);
    expect(u("writer").mayReadOverHttp(["alerts/x"])).toBe(false);
    expect(u("writer").mayPublish("public/x")).toBe(false);
  });

  test("refusals carry Redis's NOPERM texts, command first, then keys, then channels", () => {
    expect(u("default").refusal(cmd("publish"), false, argsOf(["PUBLISH", "public/x", "m"]))).toBe(NOPERM.channel);
    expect(u("default").refusal(cmd("subscribe"), false, argsOf(["SUBSCRIBE", "public/x", "private"]))).toBe(NOPERM.channel);
    expect(u("default").refusal(cmd("subscribe"), false, argsOf(["SUBSCRIBE", "public/x", "public/y"]))).toBeNull();
    expect(u("default").refusal(cmd("xadd"), false, argsOf(["XADD", "notistream:public/x", "*", "a", "b"]))).toBe(NOPERM.command("xadd"));
    expect(u("default").refusal(cmd("xrange"), false, argsOf(["XRANGE", "notistream:public/x", "-", "+"]))).toBeNull();
    expect(u("default").refusal(cmd("xrange"), false, argsOf(["XRANGE", "notistream:other", "-", "+"]))).toBe(NOPERM.key);
    expect(u("default").refusal(cmd("xread"), false, argsOf(["XREAD", "COUNT", "1", "STREAMS", "notistream:public/a", "notistream:x", "0", "0"]))).toBe(NOPERM.key);
    expect(u("default").refusal(cmd("xread"), false, argsOf(["XREAD", "STREAMS", "notistream:public/a", "0"]))).toBeNull();
    expect(u("writer").refusal(cmd("xadd"), false, argsOf(["XADD", "notistream:alerts/x", "*", "a", "b"]))).toBeNull();
    expect(u("writer").refusal(cmd("xrange"), false, argsOf(["XRANGE", "notistream:alerts/x", "-", "+"]))).toBe(NOPERM.key);
    // XLEN only asks whether there is something: a write-only pattern is enough, as in Redis.
    expect(u("writer").refusal(cmd("xlen"), false, argsOf(["XLEN", "notistream:alerts/x"]))).toBeNull();
    expect(u("both").refusal(cmd("flushall"), false, argsOf(["FLUSHALL"]))).toBe(NOPERM.command("flushall"));
    expect(u("both").refusal(cmd("client|kill"), false, argsOf(["CLIENT", "KILL", "ID", "1"]))).toBe(NOPERM.command("client|kill"));
    expect(u("both").refusal(cmd("client|id"), false, argsOf(["CLIENT", "ID"]))).toBeNull();
  });

  test("commands allowed before AUTH (no_auth) are never refused for the command itself", () => {
    const closed = parse("user default off").anonymous;
    expect(closed.refusal(cmd("auth"), true, argsOf(["AUTH", "x", "y"]))).toBeNull();
    expect(closed.refusal(cmd("ping"), false, argsOf(["PING"]))).toBe(NOPERM.command("ping"));
  });

  test("PSUBSCRIBE needs the very pattern granted, compared as text", () => {
    expect(u("default").refusal(cmd("psubscribe"), false, argsOf(["PSUBSCRIBE", "public/*"]))).toBeNull();
    expect(u("default").refusal(cmd("psubscribe"), false, argsOf(["PSUBSCRIBE", "public/a*"]))).toBe(NOPERM.channel);
    expect(u("root").refusal(cmd("psubscribe"), false, argsOf(["PSUBSCRIBE", "any*"]))).toBeNull();
  });

  test("rules apply in order: the last one that names a command wins", () => {
    expect(u("order").mayRun(cmd("publish"))).toBe(false);
    expect(u("order").mayRun(cmd("psubscribe"))).toBe(false);
    expect(u("order").mayRun(cmd("subscribe"))).toBe(true);
    expect(u("order").mayRun(cmd("xadd"))).toBe(true);
  });

  test("the HTTP checks ask the ACL directly: mayPublish and mayReadOverHttp check the command as PUBLISH and SUBSCRIBE are, then the channel", () => {
    const http = parse(
      "user reader on nopass allchannels -@all +subscribe",
      "user nopublish on nopass allchannels +@all -publish",
      "user nopubsub on nopass allchannels +@all -@pubsub",
      "user gone off nopass allchannels +@all",
    );
    const h = (n: string) => http.users.get(n)!;
    expect(h("reader").mayReadOverHttp(["any"])).toBe(true);
    expect(h("reader").mayPublish("any")).toBe(false); // the channel is granted, the command is not
    expect(h("nopublish").mayPublish("any")).toBe(false);
    expect(h("nopublish").mayReadOverHttp(["any"])).toBe(true);
    expect(h("nopubsub").mayPublish("any") || h("nopubsub").mayReadOverHttp(["any"])).toBe(false); // by category
    expect(h("gone").mayPublish("any") || h("gone").mayReadOverHttp(["any"])).toBe(false); // a disabled user
    expect(u("both").mayPublish("alerts/x")).toBe(true);
  });

  test("SUBSCRIBE and PUBLISH are defined once: the command table's rows carry acl.ts's categories and channel arguments", () => {
    for (const name of ["subscribe", "psubscribe", "ssubscribe"]) {
      expect(cmd(name).categories).toEqual([...SUBSCRIBE.categories]);
      expect(cmd(name).channels).toEqual({ ...SUBSCRIBE.channels, pattern: name === "psubscribe" });
    }
    for (const name of ["publish", "spublish"]) {
      expect(cmd(name).categories).toEqual([...PUBLISH.categories]);
      expect(cmd(name).channels).toEqual(PUBLISH.channels);
    }
    expect(cmd("subscribe").categories).toEqual(["pubsub", "slow"]); // Redis 7.0.15's ACL CAT
    expect(cmd("publish").categories).toEqual(["pubsub", "fast"]);
  });

  test("only a user with every command, key and channel skips the checks", () => {
    expect(u("root").unrestricted).toBe(true);
    expect(u("order").unrestricted).toBe(false);
    expect(u("both").unrestricted).toBe(false);
    expect(u("default").unrestricted).toBe(false);
  });
});

describe("rules that changed (ACL LOAD, SIGHUP) and risky anonymous rights", () => {
  const anonOf = (rights: string) => parse(`user default on nopass ${rights} -@all +subscribe +psubscribe +ssubscribe +xread`).anonymous;
  const subs = { channel: new Set(["public/a"]), pattern: new Set(["public/*"]), shard: new Set(["public/s"]) };
  const holding = { subscribe: cmd("subscribe"), psubscribe: cmd("psubscribe"), ssubscribe: cmd("ssubscribe"), xread: cmd("xread") };
  const keeps = (user: AclUser, held: HeldSubscriptions | null, keys: string[] | null) => keepsSubscriptions(user, held, keys, holding);
  const riskyAnonymous = (acl: Acl) => riskyAnonymousCommands(acl, Object.keys(RISKY_COMMANDS).map(cmd));

  test("keepsSubscriptions: each kind needs its command and read rights; a pattern must be granted as that text", () => {
    expect(keeps(anonOf("%R&public/*"), subs, null)).toBe(true);
    expect(keeps(anonOf("%R&other/*"), { channel: subs.channel }, null)).toBe(false);
    expect(keeps(anonOf("%R&public/a %R&public/s"), subs, null)).toBe(false); // the pattern public/* is not granted as such
    expect(keeps(anonOf("%W&public/*"), { shard: subs.shard }, null)).toBe(false); // write-only
    const noSsubscribe = parse("user default on nopass %R&public/* -@all +subscribe +psubscribe").anonymous;
    expect(keeps(noSsubscribe, { channel: subs.channel, pattern: subs.pattern }, null)).toBe(true);
    expect(keeps(noSsubscribe, { shard: subs.shard }, null)).toBe(false);
    expect(keeps(anonOf("%R~notistream:public/*"), null, ["notistream:public/a"])).toBe(true);
    expect(keeps(anonOf("%R~notistream:team/*"), null, ["notistream:public/a"])).toBe(false);
    expect(keeps(parse("user default on nopass allchannels allkeys +@all").anonymous, subs, ["k"])).toBe(true);
    expect(keeps(anonOf(""), null, null)).toBe(true);
  });

  test("keepsPasswords: every old password must still log in", () => {
    const one = parse(`user default on #${sha("a")}`).anonymous;
    const two = parse(`user default on #${sha("a")} #${sha("b")}`).anonymous;
    expect(keepsPasswords(one, two)).toBe(true);
    expect(keepsPasswords(two, one)).toBe(false);
    expect(keepsPasswords(one, parse(`user default on #${sha("c")}`).anonymous)).toBe(false);
  });

  test("riskyAnonymousCommands: what a no-password default user may run among CLIENT KILL, CLIENT LIST, ACL LOAD and FLUSHALL", () => {
    expect(riskyAnonymous(parse("user default on nopass -@all +@connection +subscribe"))).toEqual(["client|kill", "client|list"]);
    expect(riskyAnonymous(parse("user default on nopass allchannels allkeys +@all"))).toEqual(["client|kill", "client|list", "acl|load", "flushall"]);
    expect(riskyAnonymous(parse("user default on nopass -@all +@connection -client|kill -client|list +subscribe"))).toEqual([]);
    expect(riskyAnonymous(parse(`user default on #${sha("x")} +@all`))).toEqual([]); // must log in
    expect(riskyAnonymous(parse("user default off nopass +@all"))).toEqual([]);
    expect(riskyAnonymous(parse("user alice on nopass +@all"))).toEqual([]); // no default line: anonymous may do nothing
  });
});

describe("mayReadOverHttp: what /events, /messages and Web Push let a user read", () => {
  const acl = parse("user default on nopass %R&public/* -@all +subscribe", "user ci on nopass %W&public/* -@all +publish", "user off off nopass allchannels +@all", "user all on nopass allchannels +@all");
  const anon = acl.users.get("default")!;
  test("a name or a glob inside a read grant: yes", () => {
    expect(anon.mayReadOverHttp(["public/a"])).toBe(true);
    expect(anon.mayReadOverHttp(["public/*", "public/a*"])).toBe(true);
  });
  test("a glob that could match outside the grant, though SUBSCRIBE would pass it as a name: no", () => {
    for (const g of ["*", "p*", "public*", "[p]ublic/*", "?ublic/x"]) expect(anon.mayReadOverHttp([g])).toBe(false);
    expect(anon.mayReadOverHttp(["public/a", "private/a"])).toBe(false);
  });
  test("write-only grants, no SUBSCRIBE, or a user that is off: no; allchannels: any glob", () => {
    expect(acl.users.get("ci")!.mayReadOverHttp(["public/a"])).toBe(false);
    expect(acl.users.get("off")!.mayReadOverHttp(["x"])).toBe(false);
    expect(acl.users.get("all")!.mayReadOverHttp(["*"])).toBe(true);
  });
});
