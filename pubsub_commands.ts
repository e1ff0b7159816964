// pubsub_commands.ts — the command table (Redis's commands.def): one row per command (arity, flags, ACL categories, key and
// channel positions, handler) and lookup by name; pub/sub, connection, CLIENT and server handlers here, stream and key ones in pubsub_keyspace.ts.
import { ArgvArgs, enc, latin1, cString, equalsIgnoreCase as eqi, strictInt, type CommandArgs } from "./resp";
import { globMatch } from "./glob";
import { KEY_HANDLERS, KEY_IN_PLACE, type KeyHost } from "./pubsub_keyspace";
import { Channels, subCount, type KindName } from "./pubsub_channels";
import type { Connection, Connections } from "./pubsub_connection";
import { PUBLISH, READ, SUBSCRIBE, WRITE, type AclCommand, type ChannelSpec, type KeySpec, type Rights } from "./acl";

export const REDIS_VERSION = "7.0.15";

/** What a handler may ask of the server. */
export interface CommandHost extends KeyHost {
  readonly channels: Channels<Connection>;
  readonly connections: Connections;
  /** PUBLISH and SPUBLISH (the channel is argument 1, the message 2): delivers and counts. */
  publish(command: "publish" | "spublish", args: CommandArgs): number;
  /** A connection's state before any AUTH, and again after RESET. */
  startAnonymous(c: Connection): void;
  /** AUTH / HELLO AUTH: on success the connection runs as that user. */
  logIn(c: Connection, user: Uint8Array, pass: Uint8Array): boolean;
  /** Redis's "AUTH <password>" error case: the default user needs no password. */
  readonly defaultUserNopass: boolean;
  hasUser(name: string): boolean;
  /** ACL LOAD: null when done, else why not. */
  reloadAcl(current: Connection): string | null;
  /** INFO's text for these section names (none: the default sections). */
  info(names: string[]): string;
  flushData(): void;
}

type Handler = (h: CommandHost, c: Connection, argv: Uint8Array[]) => void;
/** The same command on arguments read in place (resp.ts's InPlaceCommand), for the hot write path: no copy per argument. */
export type InPlaceHandler = (h: CommandHost, c: Connection, args: CommandArgs) => void;

/** A row of the table; what the ACL reads of it (full name, categories, key and channel specs) is acl.ts's AclCommand. */
export type Command = AclCommand & {
  /** Its place in the table, for per-command counters kept in an array. */
  readonly index: number;
  readonly name: string;
  readonly arity: number;
  /** As COMMAND INFO lists them. */
  readonly flags: readonly string[];
  /** Allowed in RESP2 subscribed mode. */
  readonly inPubsub: boolean;
  /** Allowed before AUTH (the no_auth flag). */
  readonly noAuth: boolean;
  /** Changes history (the write flag): refused with MISCONF while the disk refuses writes. */
  readonly writes: boolean;
  readonly handler?: Handler;
  /** Set for the commands that also run on arguments read in place (XADD, PUBLISH, SPUBLISH); the server then skips making an argv. */
  readonly inPlace?: InPlaceHandler;
  readonly sub?: ReadonlyMap<string, Command>;
  readonly parent?: Command;
};

type Row = {
  arity: number;
  flags?: string;
  acl?: string;
  keys?: KeySpec;
  channels?: ChannelSpec;
  inPubsub?: boolean;
  handler?: Handler;
  inPlace?: InPlaceHandler;
  subs?: Record<string, Row>;
};

const SYNTAX_ERR = "syntax error";
const lower = (b: Uint8Array): string => latin1(b).toLowerCase();

/** Redis's addReplyErrorFormat: printf-built errors never carry \r or \n. */
export const safeError = (msg: string): string => enc.error(msg.replace(/[\r\n]/g, " "));

function help(cmd: string, lines: string[]): string {
  const all = [`${cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`, ...lines, "HELP", "    Prints this help."];
  return enc.array(all.length) + all.map((l) => enc.simple(l)).join("");
}
const helpRow = (lines: string[], acl = "slow connection"): Row => ({ arity: 2, flags: "loading stale", acl, handler: (h, c, argv) => c.reply(help(latin1(argv[0]!).toUpperCase(), lines)) });

// ------------------------------------------------------------------------------------------------
// Pub/sub

const PUBSUB_FLAGS = "pubsub noscript loading stale";
const subscribeRow = (kind: KindName): Row => ({
  arity: -2,
  flags: PUBSUB_FLAGS,
  acl: SUBSCRIBE.categories.join(" "),
  inPubsub: true,
  channels: { ...SUBSCRIBE.channels, pattern: kind === "pattern" },
  handler: (h, c, argv) => {
    for (let i = 1; i < argv.length; i++) h.channels.subscribe(c, kind, latin1(argv[i]!));
    c.pubsubFlag = true;
  },
});
const unsubscribeRow = (kind: KindName): Row => ({
  arity: -1,
  flags: PUBSUB_FLAGS,
  acl: "pubsub slow",
  inPubsub: true,
  handler: (h, c, argv) => {
    if (argv.length === 1) h.channels.unsubscribeAll(c, kind, true);
    else for (let i = 1; i < argv.length; i++) h.channels.unsubscribe(c, kind, latin1(argv[i]!), true);
    if (Channels.total(c) === 0) c.pubsubFlag = false;
  },
});
const publishRow = (command: "publish" | "spublish"): Row => ({
  arity: 3,
  flags: "pubsub loading stale fast may_replicate",
  acl: PUBLISH.categories.join(" "),
  channels: PUBLISH.channels,
  handler: (h, c, argv) => c.reply(enc.int(h.publish(command, new ArgvArgs(argv)))),
  inPlace: (h, c, args) => c.reply(enc.int(h.publish(command, args))),
});

function channelList(h: CommandHost, c: Connection, argv: Uint8Array[], kind: KindName): void {
  if (argv.length > 3) return pubsubSyntax(c, argv);
  const pat = argv.length === 3 ? latin1(argv[2]!) : null;
  const names = [...h.channels.names(kind)].filter((ch) => pat === null || globMatch(pat, ch));
  c.reply(enc.array(names.length) + names.map(enc.bulk).join(""));
}
function numsub(h: CommandHost, c: Connection, argv: Uint8Array[], kind: KindName): void {
  let out = enc.array((argv.length - 2) * 2);
  for (let i = 2; i < argv.length; i++) {
    const ch = latin1(argv[i]!);
    out += enc.bulk(ch) + enc.int(h.channels.subscribers(kind, ch));
  }
  c.reply(out);
}
function pubsubSyntax(c: Connection, argv: Uint8Array[]): void {
  c.reply(safeError(`unknown subcommand or wrong number of arguments for '${cString(argv[1]!).slice(0, 128)}'. Try ${cString(argv[0]!).toUpperCase()} HELP.`));
}
const PUBSUB_HELP = [
  "CHANNELS [<pattern>]",
  "    Return the currently active channels matching a <pattern> (default: '*').",
  "NUMPAT",
  "    Return number of subscriptions to patterns.",
  "NUMSUB [<channel> ...]",
  "    Return the number of subscribers for the specified channels, excluding",
  "    pattern subscriptions(default: no channels).",
  "SHARDCHANNELS [<pattern>]",
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  "SHARDNUMSUB [<shardchannel> ...]",
  "    Return the number of subscribers for the specified shard level channel(s)",
];

// ------------------------------------------------------------------------------------------------
// Connection

function validName(b: Uint8Array): boolean {
  for (const ch of b) if (ch < 33 || ch > 126) return false;
  return true;
}

const WRONGPASS = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";

const auth: Handler = (h, c, argv) => {
  if (argv.length > 3) return c.reply(enc.error(SYNTAX_ERR));
  let user: Uint8Array;
  let pass: Uint8Array;
  if (argv.length === 2) {
    if (h.defaultUserNopass)
      return c.reply(enc.error("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
    user = Buffer.from("default");
    pass = argv[1]!;
  } else {
    user = argv[1]!;
    pass = argv[2]!;
  }
  c.reply(h.logIn(c, user, pass) ? "+OK\r\n" : WRONGPASS);
};

const hello: Handler = (h, c, argv) => {
  let ver = 0;
  let next = 1;
  if (argv.length >= 2) {
    const v = strictInt(argv[next++]!);
    if (v === null) return c.reply(enc.error("Protocol version is not an integer or out of range"));
    if (v < 2 || v > 3) return c.reply("-NOPROTO unsupported protocol version\r\n");
    ver = v;
  }
  for (let j = next; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (eqi(argv[j], "auth") && more >= 2) {
      if (!h.logIn(c, argv[j + 1]!, argv[j + 2]!)) return c.reply(WRONGPASS);
      j += 2;
    } else if (eqi(argv[j], "setname") && more) {
      const n = argv[j + 1]!;
      if (!validName(n)) return c.reply(enc.error("Client names cannot contain spaces, newlines or special characters."));
      c.name = n.length ? latin1(n) : null;
      j++;
    } else {
      return c.reply(safeError(`Syntax error in HELLO option '${cString(argv[j]!)}'`));
    }
  }
  if (!c.authenticated)
    return c.reply(
      "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n",
    );
  if (ver) c.resp = ver as 2 | 3;
  const fields: [string, string | number][] = [["server", "redis"], ["version", REDIS_VERSION], ["proto", c.resp], ["id", c.id], ["mode", "standalone"], ["role", "master"]];
  c.reply(enc.map(7, c.resp) + fields.map(([k, v]) => enc.bulk(k) + (typeof v === "number" ? enc.int(v) : enc.bulk(v))).join("") + enc.bulk("modules") + enc.array(0));
};

const reset: Handler = (h, c) => {
  c.resp = 2;
  h.startAnonymous(c);
  h.channels.dropAll(c);
  c.name = null;
  c.pubsubFlag = false;
  c.replyOff = false;
  c.replySkip = false;
  c.replySkipNext = false;
  c.reply("+RESET\r\n");
};

const select: Handler = (h, c, argv) => {
  const id = strictInt(argv[1]!);
  if (id === null) return c.reply(enc.error("value is not an integer or out of range"));
  if (id < -2147483648 || id > 2147483647) return c.reply(enc.error("value is out of range, value must between -2147483648 and 2147483647"));
  c.reply(id === 0 ? "+OK\r\n" : enc.error("DB index is out of range"));
};

const ping: Handler = (h, c, argv) => {
  if (argv.length > 2) return c.reply(enc.error("wrong number of arguments for 'ping' command"));
  if (c.pubsubFlag && c.resp === 2) c.reply(enc.array(2) + enc.bulk("pong") + (argv.length === 1 ? enc.bulk("") : enc.bulkBytes(argv[1]!)));
  else c.reply(argv.length === 1 ? "+PONG\r\n" : enc.bulkBytes(argv[1]!));
};

// ------------------------------------------------------------------------------------------------
// CLIENT

const CLIENT_HELP = [
  "CACHING (YES|NO)",
  "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
  "GETREDIR",
  "    Return the client ID we are redirecting to when tracking is enabled.",
  "GETNAME",
  "    Return the name of the current connection.",
  "ID",
  "    Return the ID of the current connection.",
  "INFO",
  "    Return information about the current client connection.",
  "KILL <ip:port>",
  "    Kill connection made from <ip:port>.",
  "KILL <option> <value> [<option> <value> [...]]",
  "    Kill connections. Options are:",
  "    * ADDR (<ip:port>|<unixsocket>:0)",
  "      Kill connections made from the specified address",
  "    * LADDR (<ip:port>|<unixsocket>:0)",
  "      Kill connections made to specified local address",
  "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
  "      Kill connections by type.",
  "    * USER <username>",
  "      Kill connections authenticated by <username>.",
  "    * SKIPME (YES|NO)",
  "      Skip killing current connection (default: yes).",
  "LIST [options ...]",
  "    Return information about client connections. Options:",
  "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
  "      Return clients of specified type.",
  "UNPAUSE",
  "    Stop the current client pause, resuming traffic.",
  "PAUSE <timeout> [WRITE|ALL]",
  "    Suspend all, or just write, clients for <timeout> milliseconds.",
  "REPLY (ON|OFF|SKIP)",
  "    Control the replies sent to the current connection.",
  "SETNAME <name>",
  "    Assign the name <name> to the current connection.",
  "UNBLOCK <clientid> [TIMEOUT|ERROR]",
  "    Unblock the specified blocked client.",
  "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
  "         [OPTIN] [OPTOUT] [NOLOOP]",
  "    Control server assisted client side caching.",
  "TRACKINGINFO",
  "    Report tracking status for the current connection.",
  "NO-EVICT (ON|OFF)",
  "    Protect current client connection from eviction.",
];

const CLIENT_TYPES: Record<string, string> = { normal: "normal", slave: "replica", replica: "replica", pubsub: "pubsub", master: "master" };
const clientType = (c: Connection): string => (c.pubsubFlag ? "pubsub" : "normal");

/** One CLIENT LIST / CLIENT INFO line, with Redis's fields. */
function clientInfo(c: Connection): string {
  const now = Date.now();
  const subs = c.subs;
  const events = c.unsent || c.hasOutput() ? "rw" : "r";
  return (
    `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=${c.id + 7} name=${c.name ?? ""} age=${Math.floor((now - c.createdAt) / 1000)}` +
    ` idle=${Math.floor((now - c.lastInteraction) / 1000)} flags=${c.pubsubFlag ? "P" : "N"} db=0 sub=${subCount(subs, "channel")} psub=${subCount(subs, "pattern")}` +
    ` ssub=${subCount(subs, "shard")} multi=-1 qbuf=${c.parser.buffered} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0` +
    ` oll=0 omem=${c.outputBytes} tot-mem=${c.outputBytes + c.parser.buffered} events=${events} cmd=${c.lastCommand}` +
    ` user=${c.user.name} redir=-1 resp=${c.resp}`
  );
}

const clientKill: Handler = (h, c, argv) => {
  let addr: string | null = null;
  let laddr: string | null = null;
  let type: string | null = null;
  let id = 0;
  let user: string | null = null;
  let skipme = true;
  if (argv.length === 3) {
    addr = cString(argv[2]!);
    skipme = false;
  } else if (argv.length > 3) {
    for (let i = 2; i < argv.length; i += 2) {
      const more = argv.length > i + 1;
      const opt = argv[i]!;
      const val = argv[i + 1];
      if (eqi(opt, "id") && more) {
        const v = strictInt(val!);
        if (v === null || v < 1) return c.reply(enc.error("client-id should be greater than 0"));
        id = v;
      } else if (eqi(opt, "type") && more) {
        type = CLIENT_TYPES[lower(val!)] ?? null;
        if (type === null) return c.reply(safeError(`Unknown client type '${cString(val!)}'`));
      } else if (eqi(opt, "addr") && more) addr = cString(val!);
      else if (eqi(opt, "laddr") && more) laddr = cString(val!);
      else if (eqi(opt, "user") && more) {
        user = cString(val!);
        if (!h.hasUser(user)) return c.reply(safeError(`No such user '${user}'`));
      } else if (eqi(opt, "skipme") && more) {
        if (eqi(val, "yes")) skipme = true;
        else if (eqi(val, "no")) skipme = false;
        else return c.reply(enc.error(SYNTAX_ERR));
      } else return c.reply(enc.error(SYNTAX_ERR));
    }
  } else return c.reply(enc.error(SYNTAX_ERR));
  let killed = 0;
  let self = false;
  for (const other of [...h.connections.all.values()]) {
    if (addr !== null && other.addr !== addr) continue;
    if (laddr !== null && other.laddr !== laddr) continue;
    if (type !== null && clientType(other) !== type) continue;
    if (id !== 0 && other.id !== id) continue;
    if (user !== null && other.user.name !== user) continue;
    if (c === other && skipme) continue;
    if (c === other) self = true;
    else h.connections.close(other, "end");
    killed++;
  }
  if (argv.length === 3) c.reply(killed === 0 ? enc.error("No such client") : "+OK\r\n");
  else c.reply(enc.int(killed));
  if (self) c.closeAfterReply = true;
};

const clientList: Handler = (h, c, argv) => {
  let list = [...h.connections.all.values()];
  if (argv.length === 4 && eqi(argv[2], "type")) {
    const type = CLIENT_TYPES[lower(argv[3]!)];
    if (!type) return c.reply(safeError(`Unknown client type '${cString(argv[3]!)}'`));
    list = list.filter((o) => clientType(o) === type);
  } else if (argv.length > 3 && eqi(argv[2], "id")) {
    const picked: Connection[] = [];
    for (let j = 3; j < argv.length; j++) {
      const id = strictInt(argv[j]!);
      if (id === null) return c.reply(enc.error("Invalid client ID"));
      const o = h.connections.all.get(id);
      if (o) picked.push(o);
    }
    list = picked;
  } else if (argv.length !== 2) return c.reply(enc.error(SYNTAX_ERR));
  c.reply(enc.verbatim(list.map((o) => clientInfo(o) + "\n").join(""), c.resp));
};

const setName = (c: Connection, n: Uint8Array): boolean => {
  if (!validName(n)) {
    c.reply(enc.error("Client names cannot contain spaces, newlines or special characters."));
    return false;
  }
  c.name = n.length ? latin1(n) : null;
  return true;
};

// CLIENT SETINFO arrived in Redis 7.2; 7.0.15 does not have it. We follow 7.2 so node-redis and redis-py can tag connections.
const clientSetinfo: Handler = (h, c, argv) => {
  const attr = lower(argv[2]!);
  const val = argv[3]!;
  if (attr !== "lib-name" && attr !== "lib-ver") return c.reply(safeError(`Unrecognized option '${cString(argv[2]!)}'`));
  for (const ch of val) if (ch < 33 || ch > 126) return c.reply(enc.error(`${attr} cannot contain spaces, newlines or special characters.`));
  if (attr === "lib-name") c.libName = latin1(val);
  else c.libVer = latin1(val);
  c.reply("+OK\r\n");
};

const clientReply: Handler = (h, c, argv) => {
  const mode = lower(argv[2]!);
  if (mode === "on") {
    c.replyOff = false;
    c.replySkip = false;
    c.replySkipNext = false;
    c.reply("+OK\r\n");
  } else if (mode === "off") c.replyOff = true;
  else if (mode === "skip") {
    if (!c.replyOff) c.replySkipNext = true;
  } else c.reply(enc.error(SYNTAX_ERR));
};

// ------------------------------------------------------------------------------------------------
// Server

const info: Handler = (h, c, argv) => c.reply(enc.verbatim(h.info(argv.slice(1).map(latin1)), c.resp));

const flushall: Handler = (h, c, argv) => {
  if (argv.length === 1 || (argv.length === 2 && (eqi(argv[1], "sync") || eqi(argv[1], "async")))) {
    h.flushData();
    c.reply("+OK\r\n");
  } else c.reply(enc.error(SYNTAX_ERR));
};

const functionFlush: Handler = (h, c, argv) => {
  if (argv.length > 3) return c.reply(safeError(`unknown subcommand or wrong number of arguments for '${cString(argv[1]!)}'. Try FUNCTION HELP.`));
  if (argv.length === 3 && !eqi(argv[2], "sync") && !eqi(argv[2], "async")) return c.reply(enc.error("FUNCTION FLUSH only supports SYNC|ASYNC option"));
  c.reply("+OK\r\n"); // no functions exist, so there is nothing to drop
};

/** Redis's answer to every CLUSTER subcommand (HELP included), READONLY, READWRITE and ASKING without cluster support. */
const clusterDisabled: Handler = (h, c) => c.reply(enc.error("This instance has cluster support disabled"));

/** CLUSTER's subcommands as Redis 7.0.15 lists them: [arity, admin?]. Cluster-aware clients probe with them. */
const CLUSTER_SUBS: Record<string, [number, boolean]> = {
  addslots: [-3, true], addslotsrange: [-4, true], bumpepoch: [2, true], "count-failure-reports": [3, true], countkeysinslot: [3, false],
  delslots: [-3, true], delslotsrange: [-4, true], failover: [-2, true], flushslots: [2, true], forget: [3, true], getkeysinslot: [4, false],
  help: [2, false], info: [2, false], keyslot: [3, false], links: [2, false], meet: [-4, true], myid: [2, false], nodes: [2, false],
  replicas: [3, true], replicate: [3, true], reset: [-2, true], saveconfig: [2, true], "set-config-epoch": [3, true], setslot: [-4, true],
  shards: [2, false], slaves: [3, true], slots: [2, false],
};
const clusterRows = (): Record<string, Row> =>
  Object.fromEntries(
    Object.entries(CLUSTER_SUBS).map(([name, [arity, admin]]) => [
      name,
      { arity, flags: name === "help" ? "loading stale" : admin ? "admin stale no_async_loading" : "stale", acl: admin ? "admin slow dangerous" : "slow", handler: clusterDisabled },
    ]),
  );

/** COMMAND INFO's reply for one command: name, arity, flags, legacy key positions, ACL categories, subcommands. */
function commandInfo(cmd: Command): string {
  const subs = cmd.sub ? [...cmd.sub.values()] : [];
  const k = cmd.keys && "first" in cmd.keys ? cmd.keys : null;
  return (
    enc.array(10) +
    enc.bulk(cmd.fullname) +
    enc.int(cmd.arity) +
    enc.array(cmd.flags.length) +
    cmd.flags.map(enc.simple).join("") +
    enc.int(k ? k.first : 0) +
    enc.int(k ? k.last : 0) +
    enc.int(k ? k.step : 0) +
    enc.array(cmd.categories.length) +
    cmd.categories.map((a) => enc.simple(`@${a}`)).join("") +
    enc.array(0) +
    enc.array(0) +
    enc.array(subs.length) +
    subs.map(commandInfo).join("")
  );
}

const commandCount: Handler = (h, c) => c.reply(enc.int(TABLE.size));
const commandList: Handler = (h, c) => c.reply(enc.array(TABLE.size) + [...TABLE.keys()].map(enc.bulk).join(""));
const commandInfoHandler: Handler = (h, c, argv) => {
  const names = argv.length === 2 ? [...TABLE.keys()] : argv.slice(2).map(lower);
  c.reply(enc.array(names.length) + names.map((n) => (TABLE.has(n) ? commandInfo(TABLE.get(n)!) : enc.null(c.resp))).join(""));
};
const commandAll: Handler = (h, c) => c.reply(enc.array(TABLE.size) + [...TABLE.values()].map(commandInfo).join(""));

// ------------------------------------------------------------------------------------------------
// The table. Arity, flags and categories follow Redis 7.0.15 (COMMAND INFO, ACL CAT).

const key = (first: number, rights: Rights, last = first): KeySpec => ({ first, last, step: 1, rights });

const ROWS: Record<string, Row> = {
  subscribe: subscribeRow("channel"),
  ssubscribe: subscribeRow("shard"),
  psubscribe: subscribeRow("pattern"),
  unsubscribe: unsubscribeRow("channel"),
  sunsubscribe: unsubscribeRow("shard"),
  punsubscribe: unsubscribeRow("pattern"),
  publish: publishRow("publish"),
  spublish: publishRow("spublish"),
  pubsub: {
    arity: -2,
    subs: {
      channels: { arity: -2, flags: "pubsub loading stale", acl: "pubsub slow", handler: (h, c, argv) => channelList(h, c, argv, "channel") },
      numsub: { arity: -2, flags: "pubsub loading stale", acl: "pubsub slow", handler: (h, c, argv) => numsub(h, c, argv, "channel") },
      numpat: { arity: 2, flags: "pubsub loading stale", acl: "pubsub slow", handler: (h, c) => c.reply(enc.int(h.channels.size("pattern"))) },
      shardchannels: { arity: -2, flags: "pubsub loading stale", acl: "pubsub slow", handler: (h, c, argv) => channelList(h, c, argv, "shard") },
      shardnumsub: { arity: -2, flags: "pubsub loading stale", acl: "pubsub slow", handler: (h, c, argv) => numsub(h, c, argv, "shard") },
      help: helpRow(PUBSUB_HELP, "slow"),
    },
  },
  ping: { arity: -1, flags: "fast sentinel", acl: "fast connection", inPubsub: true, handler: ping },
  echo: { arity: 2, flags: "loading stale fast", acl: "fast connection", handler: (h, c, argv) => c.reply(enc.bulkBytes(argv[1]!)) },
  quit: {
    arity: -1,
    flags: "allow_busy noscript loading stale fast no_auth",
    acl: "fast connection",
    inPubsub: true,
    handler: (h, c) => {
      c.reply("+OK\r\n");
      c.closeAfterReply = true;
    },
  },
  reset: { arity: 1, flags: "noscript loading stale fast no_auth", acl: "fast connection", inPubsub: true, handler: reset },
  select: { arity: 2, flags: "loading stale fast", acl: "fast connection", handler: select },
  auth: { arity: -2, flags: "noscript loading stale fast no_auth allow_busy", acl: "fast connection", handler: auth },
  hello: { arity: -1, flags: "noscript loading stale fast no_auth sentinel allow_busy", acl: "fast connection", handler: hello },
  client: {
    arity: -2,
    flags: "sentinel",
    subs: {
      id: { arity: 2, acl: "slow connection", handler: (h, c) => c.reply(enc.int(c.id)) },
      info: { arity: 2, acl: "slow connection", handler: (h, c) => c.reply(enc.verbatim(clientInfo(c) + "\n", c.resp)) },
      list: { arity: -2, acl: "admin slow dangerous connection", handler: clientList },
      kill: { arity: -3, acl: "admin slow dangerous connection", handler: clientKill },
      setname: { arity: 3, acl: "slow connection", handler: (h, c, argv) => void (setName(c, argv[2]!) && c.reply("+OK\r\n")) },
      getname: { arity: 2, acl: "slow connection", handler: (h, c) => c.reply(c.name === null ? enc.null(c.resp) : enc.bulk(c.name)) },
      setinfo: { arity: 4, handler: clientSetinfo },
      reply: { arity: 3, acl: "slow connection", handler: clientReply },
      help: helpRow(CLIENT_HELP),
    },
  },
  info: { arity: -1, flags: "loading stale sentinel", acl: "slow dangerous", handler: info },
  flushall: { arity: -1, flags: "write", acl: "keyspace write slow dangerous", handler: flushall },
  function: { arity: -2, subs: { flush: { arity: -2, acl: "write slow scripting", handler: functionFlush } } },
  // COMMAND alone lists every command's info.
  command: {
    arity: -1,
    flags: "loading stale sentinel",
    acl: "slow connection",
    handler: commandAll,
    subs: {
      count: { arity: 2, acl: "slow connection", handler: commandCount },
      list: { arity: -2, acl: "slow connection", handler: commandList },
      info: { arity: -2, acl: "slow connection", handler: commandInfoHandler },
    },
  },
  cluster: { arity: -2, acl: "slow", subs: clusterRows() },
  readonly: { arity: 1, flags: "loading stale fast", acl: "fast connection", handler: clusterDisabled },
  readwrite: { arity: 1, flags: "loading stale fast", acl: "fast connection", handler: clusterDisabled },
  asking: { arity: 1, flags: "fast", acl: "fast connection", handler: clusterDisabled },
  acl: {
    arity: -2,
    flags: "noscript loading stale sentinel",
    subs: {
      whoami: { arity: 2, acl: "slow", handler: (h, c) => c.reply(enc.bulk(c.user.name)) },
      load: {
        arity: 2,
        acl: "admin slow dangerous",
        handler: (h, c) => {
          const err = h.reloadAcl(c);
          c.reply(err === null ? "+OK\r\n" : safeError(err));
        },
      },
    },
  },
};

// Stream and key commands: their handlers live in pubsub_keyspace.ts. KEYS and SCAN name no key (null).
const KEY_ROWS: [string, number, string, string, KeySpec | null][] = [
  ["xadd", -5, "write denyoom fast", "write stream fast", key(1, WRITE)],
  ["xrange", -4, "readonly", "read stream slow", key(1, READ)],
  ["xrevrange", -4, "readonly", "read stream slow", key(1, READ)],
  // XLEN, EXISTS and TYPE read no values (no ACCESS flag in Redis), so any key pattern, even %W~, lets them through.
  ["xlen", 2, "readonly fast", "read stream fast", key(1, 0)],
  ["xdel", -3, "write fast", "write stream fast", key(1, WRITE)],
  ["xtrim", -4, "write", "write stream slow", key(1, WRITE)],
  ["xread", -4, "readonly blocking", "read stream slow blocking", { afterStreams: true, rights: READ }],
  ["del", -2, "write", "keyspace write slow", key(1, WRITE, -1)],
  ["exists", -2, "readonly fast", "keyspace read fast", key(1, 0, -1)],
  ["type", 2, "readonly fast", "keyspace read fast", key(1, 0)],
  ["keys", 2, "readonly", "keyspace read slow dangerous", null],
  ["scan", -2, "readonly", "keyspace read slow", null],
];
for (const [name, arity, flags, acl, keys] of KEY_ROWS) ROWS[name] = { arity, flags, acl, keys: keys ?? undefined, handler: KEY_HANDLERS[name]!, inPlace: KEY_IN_PLACE[name] };

const words = (s: string | undefined): string[] => (s ? s.split(" ").filter(Boolean) : []);

let nextIndex = 0;
function build(name: string, row: Row, parent?: Command): Command {
  const flags = words(row.flags);
  const cmd: Command = {
    index: nextIndex++,
    name,
    fullname: parent ? `${parent.name}|${name}` : name,
    arity: row.arity,
    flags,
    categories: words(row.acl),
    keys: row.keys,
    channels: row.channels,
    inPubsub: row.inPubsub === true,
    noAuth: flags.includes("no_auth"),
    writes: flags.includes("write"),
    handler: row.handler,
    inPlace: row.inPlace,
    parent,
  };
  if (row.subs) {
    const sub = new Map<string, Command>();
    for (const [n, r] of Object.entries(row.subs)) sub.set(n, build(n, r, cmd));
    (cmd as { sub?: Map<string, Command> }).sub = sub;
  }
  return cmd;
}

/** Every command by name. Frozen once built: a lookup index made from it can never miss a later addition. */
const TABLE: ReadonlyMap<string, Command> = new Map(Object.entries(ROWS).map(([n, r]) => [n, build(n, r)]));

/** Commands grouped by name length, so a lookup compares bytes case-insensitively without building a string. */
const BY_LENGTH: Command[][] = [];
for (const cmd of TABLE.values()) (BY_LENGTH[cmd.name.length] ??= []).push(cmd);

/**
 * Finds a command by its name's bytes (any case), building no lower-cased string per command on the hot path: `name`
 * itself, or bytes [from, to) of it (a command read in place).
 */
export function findCommand(name: Uint8Array, from = 0, to = name.length): Command | undefined {
  const len = to - from;
  const candidates = BY_LENGTH[len];
  if (!candidates) return undefined;
  outer: for (const cmd of candidates) {
    const n = cmd.name;
    for (let i = 0; i < len; i++) {
      let b = name[from + i]!;
      if (b >= 65 && b <= 90) b |= 32;
      if (b !== n.charCodeAt(i)) continue outer;
    }
    return cmd;
  }
  return undefined;
}

/** A command or subcommand by its full name ("publish", "client|kill"), for the ACL checks the server asks by name. */
export function commandByName(fullname: string): Command | undefined {
  const bar = fullname.indexOf("|");
  if (bar < 0) return TABLE.get(fullname);
  return TABLE.get(fullname.slice(0, bar))?.sub?.get(fullname.slice(bar + 1));
}
