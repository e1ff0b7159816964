// acl.ts — who may do what: users from an ACL file in Redis's aclfile syntax, their hashed passwords and their rights.
// Pure: parsing, credential checks and permission checks over strings; the servers read the file and ask.

import { createHash, timingSafeEqual } from "node:crypto";
import { compileGlob, globWithin, isPattern } from "./glob";

/** Rights on a key or channel, as bits: READ, WRITE, both, or 0 for commands that only ask whether a key exists. */
export type Rights = 0 | 1 | 2 | 3;
export const READ = 1;
export const WRITE = 2;
/** Keys: from argument `first` to `last` (negative: from the end) every `step`; or XREAD's keys after STREAMS. */
export type KeySpec = { first: number; last: number; step: number; rights: Rights } | { afterStreams: true; rights: Rights };
/** Channels: from argument 1 on (subscribe) or argument 1 only (publish); patterns are compared as granted text. */
export type ChannelSpec = { all: boolean; rights: Rights; pattern: boolean };

/**
 * A command as the ACL sees it (Redis's key specs and categories). The pub/sub server passes its command table's
 * row (pubsub_commands.ts), already resolved: the ACL never looks a name up, so it loads no server.
 */
export type AclCommand = {
  /** "client|kill" for a subcommand, as Redis names it in errors and ACL rules. */
  readonly fullname: string;
  /** ACL categories, without the @. */
  readonly categories: readonly string[];
  readonly parent?: AclCommand;
  readonly keys?: KeySpec;
  readonly channels?: ChannelSpec;
};

/**
 * SUBSCRIBE and PUBLISH as Redis 7.0.15 files them (categories, channel arguments): pubsub_commands.ts builds its rows from
 * these, and a read or a publish over HTTP is checked as these commands are.
 */
export const SUBSCRIBE = { fullname: "subscribe", categories: ["pubsub", "slow"], channels: { all: true, rights: READ, pattern: false } } as const satisfies AclCommand;
export const PUBLISH = { fullname: "publish", categories: ["pubsub", "fast"], channels: { all: false, rights: WRITE, pattern: false } } as const satisfies AclCommand;

/** SHA-256 of a secret, as Redis stores `#<hex>` in ACL files. */
export function hashSecret(secret: string | Uint8Array): Buffer {
  return createHash("sha256").update(secret).digest();
}

/** Redis 7's ACL categories, so `+@name` in a file shared with Redis is checked for typos. */
const CATEGORY_NAMES = new Set([
  "all", "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo",
  "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting",
]);


type Grant = { pattern: string; match: (s: string) => boolean; rights: number };
type CommandRule = { allow: boolean; target: string };

/** A command's arguments, read one at a time: only the ones a check needs become strings (not a PUBLISH payload). */
type Args = { length: number; at: (i: number) => string };
/** Args over plain strings, for callers that already have them. */
export const argsOf = (argv: string[]): Args => ({ length: argv.length, at: (i) => argv[i]! });

/** The key and channel arguments a command's row names, with the rights it needs on each. */
function keyArgs(spec: KeySpec, argv: Args): [string, number][] {
  const out: [string, number][] = [];
  if ("afterStreams" in spec) {
    let s = 1;
    while (s < argv.length && argv.at(s).toLowerCase() !== "streams") s++;
    const n = Math.floor((argv.length - s - 1) / 2);
    for (let i = s + 1; i < s + 1 + n; i++) out.push([argv.at(i), spec.rights]);
    return out;
  }
  const last = spec.last < 0 ? argv.length + spec.last : spec.last;
  for (let i = spec.first; i <= last && i < argv.length; i += spec.step) out.push([argv.at(i), spec.rights]);
  return out;
}
function channelArgs(spec: ChannelSpec, argv: Args): string[] {
  const out: string[] = [];
  for (let i = 1; i < (spec.all ? argv.length : Math.min(2, argv.length)); i++) out.push(argv.at(i));
  return out;
}

/** Why a command was refused, in Redis 7's words. */
export const NOPERM = {
  command: (fullname: string) => `-NOPERM this user has no permissions to run the '${fullname}' command\r\n`,
  key: "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n",
  channel: "-NOPERM this user has no permissions to access one of the channels used as arguments\r\n",
};

export class AclUser {
  enabled = false;
  nopass = false;
  hashes: Buffer[] = [];
  allKeys = false;
  allChannels = false;
  keys: Grant[] = [];
  channels: Grant[] = [];
  rules: CommandRule[] = [];
  private readonly decided = new Map<string, boolean>();

  constructor(readonly name: string) {}

  /** May this user run `cmd` (PUBLISH, CLIENT ID)? The last rule that names it decides, as Redis applies rules in order. */
  mayRun(cmd: AclCommand): boolean {
    const { fullname, parent } = cmd;
    let yes = this.decided.get(fullname);
    if (yes === undefined) {
      yes = false;
      for (let i = this.rules.length - 1; i >= 0; i--) {
        const { allow, target } = this.rules[i]!;
        const hit =
          target === "@all" ||
          (target[0] === "@" ? cmd.categories.includes(target.slice(1)) || parent?.categories.includes(target.slice(1)) : target === fullname || target === parent?.fullname);
        if (hit) {
          yes = allow;
          break;
        }
      }
      this.decided.set(fullname, yes);
    }
    return yes;
  }

  /** `rights` is READ, WRITE, both, or 0 for commands that only look at whether a key exists. */
  mayUseKey(key: string, rights: number): boolean {
    if (this.allKeys) return true;
    for (const g of this.keys) if ((g.rights & rights) === rights && g.match(key)) return true;
    return false;
  }

  /** A PSUBSCRIBE pattern is allowed only if the user was granted that very pattern (compared as text), as in Redis. */
  mayUseChannel(channel: string, rights: number, isPattern = false): boolean {
    if (this.allChannels) return true;
    for (const g of this.channels) {
      if ((g.rights & rights) !== rights) continue;
      if (isPattern ? g.pattern === channel : g.match(channel)) return true;
    }
    return false;
  }

  /** May this user publish to `channel` (its name as HTTP gives it)? As PUBLISH is checked: the command, then write rights. */
  mayPublish(channel: string): boolean {
    return this.enabled && this.mayRun(PUBLISH) && this.mayUseChannel(channelBytes(channel), WRITE);
  }

  /**
   * May this user read `channels` over HTTP (/events, /messages, Web Push)? As SUBSCRIBE is checked (the command and
   * each name), and a glob must also lie inside a read grant: SUBSCRIBE reads a glob as a plain name, so `*` would
   * pass the grant `public/*` as text and read every channel. Asked per request, after an ACL reload, and per push.
   */
  mayReadOverHttp(channels: string[]): boolean {
    if (!this.enabled || !this.mayRun(SUBSCRIBE)) return false;
    const insideAGrant = (glob: string) => this.allChannels || this.channels.some((g) => (g.rights & READ) !== 0 && globWithin(glob, g.pattern));
    return channels.map(channelBytes).every((name) => this.mayUseChannel(name, READ) && (!isPattern(name) || insideAGrant(name)));
  }

  /** Does `secret` log in as this user? Hashes both sides first, so the comparison is constant-time. */
  accepts(secret: string | Uint8Array): boolean {
    if (!this.enabled) return false;
    if (this.nopass) return true;
    const h = hashSecret(secret);
    let ok = false;
    for (const mine of this.hashes) if (timingSafeEqual(h, mine)) ok = true; // no early exit: same time whichever matches
    return ok;
  }

  /**
   * The Redis error for running `cmd` with `argv` (latin1 strings, argv.at(0) the command), or null when allowed.
   * Order as in Redis: the command, then its keys, then its channels.
   */
  refusal(cmd: AclCommand, noAuth: boolean, argv: Args): string | null {
    if (!noAuth && !this.mayRun(cmd)) return NOPERM.command(cmd.fullname);
    if (cmd.keys && !this.allKeys) for (const [k, r] of keyArgs(cmd.keys, argv)) if (!this.mayUseKey(k, r)) return NOPERM.key;
    if (cmd.channels && !this.allChannels) {
      const { rights, pattern } = cmd.channels;
      for (const ch of channelArgs(cmd.channels, argv)) if (!this.mayUseChannel(ch, rights, pattern)) return NOPERM.channel;
    }
    return null;
  }

  /**
   * Runs every command, key and channel, so the hot path can skip the checks. A last +@all overrides every earlier
   * rule. Worked out once: rules only change while the file is parsed.
   */
  get unrestricted(): boolean {
    if (this.openToAll === undefined) {
      const last = this.rules[this.rules.length - 1];
      this.openToAll = this.allKeys && this.allChannels && last !== undefined && last.allow && last.target === "@all";
    }
    return this.openToAll;
  }
  private openToAll: boolean | undefined;
}

export class AclFileError extends Error {}

export class Acl {
  readonly users = new Map<string, AclUser>();
  /** Bearer tokens name no user: the token's hash finds it. */
  private readonly byHash = new Map<string, AclUser>();
  /**
   * Tokens issued to this ACL's users besides their passwords (the web server's ntfy tokens, web_tokens.ts): the
   * user's name a token was issued to, or null. Set by whoever keeps them; never set for --token's one-user ACL.
   */
  issued: ((token: string) => string | null) | undefined;
  /** Whether tokens may be issued to its users: an ACL file's named users; not --token's publisher, whose token may change. */
  issuesTokens = true;

  /** Redis's "default" user: the rights of a connection or request that has not logged in. */
  get anonymous(): AclUser {
    return this.users.get("default")!;
  }

  /**
   * A server without an ACL file: one "default" user that may do everything, with `password` (Redis's requirepass)
   * or with none.
   */
  static open(password?: string): Acl {
    const line = `user default on ${password === undefined ? "nopass" : `#${hashSecret(password).toString("hex")}`} allchannels allkeys +@all`;
    return Acl.parse(line, "(--password)");
  }

  /**
   * The web server's --token: anonymous clients may read every channel but publish to none; the token is the
   * password of one user who may do everything, so a Bearer token (or a token field) publishes.
   */
  static publishToken(token: string): Acl {
    const lines = ["user default on nopass allkeys %R&* +@all", `user publisher on #${hashSecret(token).toString("hex")} allkeys allchannels +@all`];
    const acl = Acl.parse(lines.join("\n"), "(--token)");
    acl.issuesTokens = false;
    return acl;
  }

  /** The user `name` if `secret` is one of its passwords and it is enabled. */
  authenticate(name: string, secret: string | Uint8Array): AclUser | null {
    const u = this.users.get(name);
    return u && u.accepts(secret) ? u : null;
  }

  /** The user whose password is `token` (an HTTP Bearer token), else the enabled user it was issued to. */
  byToken(token: string): AclUser | null {
    const u = this.byHash.get(hashSecret(token).toString("hex"));
    if (u && u.accepts(token)) return u;
    const name = this.issuesTokens ? this.issued?.(token) : null;
    const holder = name ? this.users.get(name) : undefined;
    return holder && holder.enabled && holder !== this.anonymous ? holder : null;
  }

  /**
   * Parses an ACL file: one `user <name> <rule> ...` per line, Redis's rules (on/off, #sha256, nopass, ~keys, %R~ %W~,
   * &channels, allkeys, allchannels, +@category, -command, ...) plus %R& and %W& for read-only and write-only channels.
   * Lines starting with # are comments. Without a `user default` line, anonymous connections may do nothing.
   */
  static parse(text: string, source: string): Acl {
    const acl = new Acl();
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === "" || line.startsWith("#")) continue;
      const where = `${source}:${i + 1}`;
      const words = line.split(/[ \t]+/);
      if (words[0] !== "user" || words.length < 2)
        throw new AclFileError(`${where}: a line must be 'user <name> <rules...>' (or a # comment)`);
      const name = words[1]!;
      if (acl.users.has(name)) throw new AclFileError(`${where}: user '${name}' is defined twice; merge the two lines into one`);
      const u = new AclUser(name);
      for (const rule of words.slice(2)) applyRule(u, rule, where);
      acl.users.set(name, u);
      for (const h of u.hashes) {
        const hex = h.toString("hex");
        const other = acl.byHash.get(hex);
        if (other && other !== u)
          throw new AclFileError(`${where}: user '${name}' has the same password as user '${other.name}'; give each user its own so a Bearer token names one user`);
        acl.byHash.set(hex, u);
      }
    }
    if (!acl.users.has("default")) acl.users.set("default", new AclUser("default"));
    return acl;
  }
}

const HEX64 = /^[0-9a-f]{64}$/;

function applyRule(u: AclUser, rule: string, where: string): void {
  const low = rule.toLowerCase();
  const fail = (why: string): never => {
    throw new AclFileError(`${where}: ${why}`);
  };
  switch (low) {
    case "on": u.enabled = true; return;
    case "off": u.enabled = false; return;
    case "nopass": u.nopass = true; u.hashes = []; return;
    case "resetpass": u.nopass = false; u.hashes = []; return;
    case "allkeys": u.allKeys = true; u.keys = []; return;
    case "resetkeys": u.allKeys = false; u.keys = []; return;
    case "allchannels": u.allChannels = true; u.channels = []; return;
    case "resetchannels": u.allChannels = false; u.channels = []; return;
    case "allcommands": u.rules.push({ allow: true, target: "@all" }); return;
    case "nocommands": u.rules.push({ allow: false, target: "@all" }); return;
    case "reset":
      for (const r of ["resetpass", "resetkeys", "resetchannels", "nocommands", "off"]) applyRule(u, r, where);
      u.rules = [];
      return;
  }
  const c = rule[0];
  const rest = rule.slice(1);
  if (c === "#" || c === "!") {
    if (!HEX64.test(rest)) fail(`'${c}' must be followed by a password's SHA-256 as 64 lowercase hex digits (printf %s 'password' | sha256sum)`);
    const h = Buffer.from(rest, "hex");
    if (c === "#") {
      if (!u.hashes.some((x) => x.equals(h))) u.hashes.push(h);
      u.nopass = false;
    } else u.hashes = u.hashes.filter((x) => !x.equals(h));
    return;
  }
  // Never echo the rule here: it holds a plaintext password.
  if (c === ">" || c === "<")
    fail(`plaintext passwords ('${c}…') are not accepted; store the SHA-256 instead: #<hash>, where printf %s 'password' | sha256sum prints the hash`);
  if (c === "~") return grant(u.keys, rest, READ | WRITE, () => (u.allKeys = rest === "*" || u.allKeys));
  if (c === "&") return grant(u.channels, rest, READ | WRITE, () => (u.allChannels = rest === "*" || u.allChannels));
  if (c === "%") {
    const m = /^([RW]+)([~&])(.*)$/i.exec(rest);
    if (!m) fail(`'${rule}' is not a rule: write %R~keys, %W~keys, %RW~keys, or Notistream's %R&channels and %W&channels`);
    let rights = 0;
    for (const f of m![1]!.toUpperCase()) rights |= f === "R" ? READ : WRITE;
    return grant(m![2] === "~" ? u.keys : u.channels, m![3]!, rights, () => {});
  }
  if (c === "+" || c === "-") {
    const allow = c === "+";
    if (rest.startsWith("@")) {
      if (!CATEGORY_NAMES.has(rest.slice(1).toLowerCase())) fail(`'${rule}': unknown command category; see ACL CAT for the list`);
      u.rules.push({ allow, target: rest.toLowerCase() });
      return;
    }
    if (!/^[a-z0-9_.:-]+(\|[a-z0-9_.:-]+)?$/i.test(rest)) fail(`'${rule}' is not a command name`);
    u.rules.push({ allow, target: rest.toLowerCase() });
    return;
  }
  if (c === "(") fail("selectors '(...)' are not supported; give the user its rules directly");
  fail(`'${rule}' is not a rule Notistream knows: see the ACL section of the README`);
}

function grant(list: Grant[], pattern: string, rights: number, all: () => void): void {
  list.push({ pattern, match: compileGlob(pattern), rights });
  if ((rights & (READ | WRITE)) === (READ | WRITE)) all();
}


/** Who an HTTP request is: a user, or why it is refused (always 401: the credentials are missing or wrong). */
type HttpIdentity = { user: AclUser } | { status: 401; message: string };

/**
 * Reads `Authorization: Bearer <token>` (the token is a user's password, whose hash finds the user, or a token issued
 * to a user) or `Basic <base64 user:password>`, where an empty user name makes the password a token, as ntfy reads it
 * (server.go authenticateBasicAuth). No header means the default user, when it is on and needs no password.
 */
export function userFromAuthorization(acl: Acl, header: string | null, token?: string): HttpIdentity {
  const login = 'send Authorization: Bearer <token> or Basic <user:password>';
  if (header === null || header === "") {
    if (token !== undefined) {
      const u = acl.byToken(token);
      return u ? { user: u } : { status: 401, message: "the token is not valid (or its user is disabled)" };
    }
    const anon = acl.anonymous;
    if (anon.enabled && anon.nopass) return { user: anon };
    return { status: 401, message: `this server needs a login: ${login}` };
  }
  const m = /^(\S+)\s+(.*)$/.exec(header.trim());
  const scheme = m?.[1]?.toLowerCase();
  if (scheme === "bearer") {
    const u = acl.byToken(m![2]!.trim());
    return u ? { user: u } : { status: 401, message: "the Bearer token is not valid (or its user is disabled)" };
  }
  if (scheme === "basic") {
    const decoded = Buffer.from(m![2]!.trim(), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return { status: 401, message: "Basic credentials must be base64 of user:password" };
    if (colon === 0) {
      const u = acl.byToken(decoded.slice(1));
      return u ? { user: u } : { status: 401, message: "the token (Basic with an empty user name) is not valid (or its user is disabled)" };
    }
    const u = acl.authenticate(decoded.slice(0, colon), decoded.slice(colon + 1));
    return u ? { user: u } : { status: 401, message: "wrong user name or password, or the user is disabled" };
  }
  // Another scheme is no login, as ntfy's supportedAuthHeader (ntfy#629): Mastodon sends Web Push's "vapid t=…, k=…" to
  // a UnifiedPush endpoint, and refusing it would make Mastodon drop the phone's subscription.
  return userFromAuthorization(acl, null, token);
}

/** A connection's subscriptions by kind (pubsub_channels.ts keeps them so), as the ACL reads them. */
export type HeldSubscriptions = { readonly channel?: Iterable<string>; readonly pattern?: Iterable<string>; readonly shard?: Iterable<string> };
/** The commands held subscriptions and blocked reads are checked as: rows of the pub/sub server's table. */
type HoldingCommands = { readonly subscribe: AclCommand; readonly psubscribe: AclCommand; readonly ssubscribe: AclCommand; readonly xread: AclCommand };

/**
 * May `user` keep these subscriptions, and the keys a blocked XREAD waits on, under rules that just changed? Redis's
 * ACLKillPubsubClientsIfNeeded, widened: each kind needs its subscribe command as well as read rights on the channel
 * (a pattern granted as that very text), and a blocked read needs XREAD and read rights on its keys.
 */
export function keepsSubscriptions(user: AclUser, subs: HeldSubscriptions | null, blockedOn: readonly string[] | null, as: HoldingCommands): boolean {
  if (user.unrestricted) return true;
  const kinds: [AclCommand, Iterable<string> | undefined][] = [[as.subscribe, subs?.channel], [as.psubscribe, subs?.pattern], [as.ssubscribe, subs?.shard]];
  for (const [cmd, names] of kinds) for (const name of names ?? []) if (user.refusal(cmd, false, argsOf([cmd.fullname, name])) !== null) return false;
  for (const key of blockedOn ?? []) if (user.refusal(as.xread, false, argsOf(["xread", "streams", key, "$"])) !== null) return false;
  return true;
}

/** Does every password of `before` still log in as `after`? (A connection that proved one of them keeps its login.) */
export function keepsPasswords(before: AclUser, after: AclUser): boolean {
  return before.hashes.every((h) => after.hashes.some((x) => x.equals(h)));
}

/** Commands that act on other clients or on the whole server, with what each lets its caller do to everyone else. */
export const RISKY_COMMANDS: Readonly<Record<string, string>> = {
  "client|kill": "disconnect any client, the web server included",
  "client|list": "see every client's address and user",
  "acl|load": "reload the ACL file",
  flushall: "delete all history",
};

/** Which of `risky` (RISKY_COMMANDS's rows in the server's table) clients that log in with no password (the default user, on and nopass) may run, by full name. */
export function riskyAnonymousCommands(acl: Acl, risky: readonly AclCommand[]): string[] {
  const anon = acl.anonymous;
  if (!anon.enabled || !anon.nopass) return [];
  return risky.filter((cmd) => anon.mayRun(cmd)).map((cmd) => cmd.fullname);
}

/** Channel names as the pub/sub server sees them (UTF-8 bytes, one latin1 char each), for matching ACL patterns. */
const channelBytes = (channel: string): string => Buffer.from(channel, "utf8").toString("latin1");
