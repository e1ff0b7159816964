#!/usr/bin/env bun
// pubsub.ts — the Redis-compatible Pub/Sub server on Bun.listen: start-up, running a command (checks, execute, the
// group commit of history writes), XREAD BLOCK wake-ups, ACL logins and reloads, INFO's figures, and `main`.
import { randomBytes } from "node:crypto";
import type { TCPSocketListener } from "bun";
import { DEFAULT_MAX_BULK, enc, latin1, cString, type CommandArgs, type InPlaceCommand, type ParseLimits } from "./resp";
import { RateLimiter } from "./ratelimit";
import { History, type FsyncPolicy, type StreamId, MAX_ID, cmpId, incrId } from "./pubsub_history";
import { xreadHeader, xreadPart, type KeyClient } from "./pubsub_keyspace";
import { Acl, RISKY_COMMANDS, keepsPasswords, keepsSubscriptions, riskyAnonymousCommands } from "./acl";
import { Channels } from "./pubsub_channels";
import { Connection, Connections } from "./pubsub_connection";
import { REDIS_VERSION, commandByName, findCommand, safeError, type Command, type CommandHost } from "./pubsub_commands";
import { ALLOCATOR_MODES, allocatorLine, isAllocatorMode, reexecWithAllocatorSettings, settingsText } from "./pubsub_allocator";
import { InfoStats, renderInfo, replicationLines, requestedSections, type Section } from "./pubsub_info";
import { aclSummary, exitOnSignals, maxClientsFor, loadAcl, readAcl, reloadAclOnHup, intFlag, outputLimitFlag, listenOrExit, loadTls, parseFlags, type FlagSpec, type OutputLimits } from "./cli";

const NOTISTREAM_VERSION = "0.1.0";

type PubSubOptions = {
  host: string;
  port: number;
  password?: string;
  /** Users and their rights (--acl FILE); replaces --password. */
  acl?: Acl;
  /** Where the ACL came from, for ACL LOAD and SIGHUP. */
  aclPath?: string;
  maxClients: number;
  /** Connections past maxClients kept for clients that log in (a password or a named ACL user), like the web server. */
  reservedClients?: number;
  maxBulk: number;
  /**
   * The most one request may hold from a client that proved no password (the default user without one, or any nopass
   * user): every argument's bytes plus 64 each, so also its largest bulk string.
   */
  anonymousMaxRequest: number;
  /** client-output-buffer-limit pubsub: hard bytes, soft bytes, soft seconds. */
  outputHard: number;
  outputSoft: number;
  outputSoftSeconds: number;
  /** client-output-buffer-limit normal: the same for every client that is not subscribed. */
  normalOutput: OutputLimits;
  /** The history database file (":memory:" keeps nothing). */
  dataPath: string;
  fsync: FsyncPolicy;
  /** Entries older than this are dropped from every stream; 0 keeps them forever. */
  historyMaxAgeMs: number;
  /** New connections per second per client IP (burst twice that); 0 turns the limit off. */
  connRateLimit?: number;
  /** A TLS listener (PEM certificate and key) on its own port. */
  tls?: { port: number; cert: string; key: string };
  quiet?: boolean;
};

const MAX_CLIENTS_ERROR = "-ERR max number of clients reached\r\n";

/** What a reload checks held subscriptions and blocked reads as (acl.ts's keepsSubscriptions). */
const HOLDING_COMMANDS = { subscribe: commandByName("subscribe")!, psubscribe: commandByName("psubscribe")!, ssubscribe: commandByName("ssubscribe")!, xread: commandByName("xread")! };

/** How long a connection in a reserved slot has to log in. */
const RESERVED_LOGIN_MS = 2000;

/** One warning line when clients with no password may act on other clients or the whole server; null when they may not. */
function anonymousRiskWarning(acl: Acl, path: string): string | null {
  const risky = riskyAnonymousCommands(acl, Object.keys(RISKY_COMMANDS).map((name) => commandByName(name)!));
  if (risky.length === 0) return null;
  const names = risky.map((r) => r.replace("|", " ").toUpperCase()).join(", ");
  const what = risky.map((r) => RISKY_COMMANDS[r]).join(", ");
  return `pubsub: warning: anonymous clients may run ${names} (the default user's rules in ${path} allow it), so anyone can ${what}; give the default user only what it needs, as docs/users.acl does, or add ${risky.map((r) => `-${r}`).join(" ")} to its line`;
}

const DEFAULTS: PubSubOptions = {
  host: "0.0.0.0",
  port: 6379,
  maxClients: 10000,
  maxBulk: DEFAULT_MAX_BULK,
  // Twice the web server's largest request body (1 MB): a message that may be posted over HTTP fits over RESP too.
  anonymousMaxRequest: 2 * 1024 * 1024,
  outputHard: 32 * 1024 * 1024,
  outputSoft: 8 * 1024 * 1024,
  outputSoftSeconds: 60,
  // Redis has none (0 0 0). The largest reply a client rightly asks for is a whole channel's catch-up: at the web
  // server's defaults, 1000 messages of up to 64 KB, about 66 MB. Hard: twice that; soft: half of it for 60 s.
  normalOutput: { hard: 128 * 1024 * 1024, soft: 32 * 1024 * 1024, softSeconds: 60 },
  dataPath: "./notistream.db",
  fsync: "everysec",
  historyMaxAgeMs: 7 * 24 * 3600 * 1000,
};

/** Redis's words for refused writes (its AOF text, naming our history database instead). */
const misconf = (why: string): string => `-MISCONF Errors writing to the history database: ${why.replace(/[\r\n]/g, " ")}\r\n`;

class PubSubServer implements CommandHost {
  readonly opts: PubSubOptions;
  readonly channels = new Channels<Connection>();
  readonly connections: Connections;
  private nextId = 1;
  private listener: TCPSocketListener<Connection> | null = null;
  private tlsListener: TCPSocketListener<Connection> | null = null;
  private readonly startedAt = Date.now();
  stats = { connections: 0, commands: 0, published: 0, delivered: 0, rejectedConnections: 0, outputLimitDisconnects: 0, refusedWrites: 0 };
  /** commandstats and errorstats. */
  readonly infoStats = new InfoStats();
  /** INFO's master_replid: drawn once per start, as Redis does. */
  private readonly replid = randomBytes(20).toString("hex");
  private softTimer: ReturnType<typeof setInterval> | null = null;
  private ageTimer: ReturnType<typeof setInterval> | null = null;
  /** Who may do what: the --acl file, or for --password (or no password) one "default" user with every right. */
  private acl: Acl;
  readonly history: History;
  private readonly blockedOn = new Map<string, Set<Connection>>();
  private readonly connLimiter: RateLimiter;
  /** The parser's limits by [not logged in][proved no password], made once rather than as an object per command. */
  private readonly parseLimits: ParseLimits[][];
  /**
   * Where this turn's write replies sit in their clients' output, in case the group commit fails: the client in
   * ackClients, and its reply's chunk, start and end in ackMarks (three numbers each). Flat arrays kept from turn to
   * turn: an object per write reply was garbage on every XADD.
   */
  private readonly ackClients: Connection[] = [];
  private readonly ackMarks: number[] = [];

  constructor(opts: Partial<PubSubOptions> = {}) {
    this.opts = { ...DEFAULTS, ...opts };
    this.acl = this.opts.acl ?? Acl.open(this.opts.password);
    // A client that proved no password gets a request budget (Redis gives it proto-max-bulk-len, 512 MB).
    this.parseLimits = [false, true].map((authRequired) =>
      [false, true].map((anonymous) => ({ authRequired, maxBulk: this.opts.maxBulk, maxRequest: anonymous ? this.opts.anonymousMaxRequest : undefined })),
    );
    this.history = new History(this.opts.dataPath, this.opts.fsync);
    this.connLimiter = new RateLimiter(this.opts.connRateLimit ?? 0);
    this.connections = new Connections(
      {
        beforeWrite: () => this.commitTurn(),
        released: (c) => {
          if (c.blocked) this.unblock(c, null);
          this.channels.dropAll(c);
        },
        overLimit: (c, which, cls) => {
          this.stats.outputLimitDisconnects++;
          if (!this.opts.quiet)
            console.warn(`pubsub: client id=${c.id} addr=${c.addr} user=${c.user.name} closed for overcoming of output buffer limits (${cls} class, ${which} limit, ${c.outputBytes} bytes queued)`);
        },
        inputResumed: (c) => {
          this.processInput(c);
          this.connections.markDirty(c);
        },
        errorReplied: (reply) => this.infoStats.error(reply),
      },
      {
        normal: this.opts.normalOutput,
        pubsub: { hard: this.opts.outputHard, soft: this.opts.outputSoft, softSeconds: this.opts.outputSoftSeconds },
      },
    );
  }

  /** Redis's authRequired: the default user is off or has a password. */
  get authRequiredByDefault(): boolean {
    const anon = this.acl.anonymous;
    return !(anon.enabled && anon.nopass);
  }

  get defaultUserNopass(): boolean {
    return this.acl.anonymous.nopass;
  }

  hasUser(name: string): boolean {
    return this.acl.users.has(name);
  }

  startAnonymous(c: Connection): void {
    c.authenticated = !this.authRequiredByDefault;
    c.user = this.acl.anonymous;
  }

  get port(): number {
    return this.listener?.port ?? this.opts.port;
  }

  get tlsPort(): number | null {
    return this.tlsListener?.port ?? null;
  }

  start(): void {
    const server = this;
    const conns = this.connections;
    const handlers = (laddrOf: () => string): Parameters<typeof Bun.listen<Connection>>[0]["socket"] => {
      // One laddr string per listener, shared by its connections (it is the same for all of them).
      let laddr: string | null = null;
      return {
        open(socket) {
          server.stats.connections++;
          const c = new Connection(server.nextId++, socket, (laddr ??= laddrOf()), server.acl.anonymous, !server.authRequiredByDefault, conns);
          socket.data = c;
          // The peer's address is asked only when the limit is on: Bun keeps the string it makes on the socket.
          const wait = server.connLimiter.perSecond > 0 ? server.connLimiter.take(socket.remoteAddress, Date.now()) : 0;
          const full = conns.all.size >= server.opts.maxClients;
          const refusal =
            wait > 0
              ? `-ERR too many new connections from ${socket.remoteAddress}; try again in ${wait} s\r\n`
              : full && conns.all.size >= server.opts.maxClients + server.reservedClients
                ? MAX_CLIENTS_ERROR
                : null;
          if (refusal !== null) {
            server.stats.rejectedConnections++;
            socket.write(refusal);
            conns.close(c, "end");
            return;
          }
          conns.all.add(c);
          // Past --maxclients: a reserved slot, kept only if the first command logs in (within 2 s).
          if (full) c.reserved = setTimeout(() => server.refuseReserved(c), RESERVED_LOGIN_MS);
        },
        data(socket, chunk) {
          const c = socket.data;
          if (c.closed) return;
          c.lastInteraction = Date.now();
          c.feed(chunk);
          server.processInput(c);
          conns.markDirty(c);
          c.doneWith(chunk);
        },
        drain(socket) {
          conns.drained(socket.data);
        },
        end(socket) {
          // The peer half-closed: send what it already asked for, then close like Redis does on EOF.
          const c = socket.data;
          c.inputHeld = false; // nothing more is read: commands held back would answer a peer that is leaving
          if (!c.closed && !c.unsent) conns.writeQueued(c);
          conns.close(c, "end");
        },
        close(socket) {
          conns.close(socket.data, "gone");
        },
        error(socket) {
          conns.close(socket.data, "gone");
        },
      };
    };
    this.listener = Bun.listen<Connection>({ hostname: this.opts.host, port: this.opts.port, socket: handlers(() => `${this.opts.host}:${this.listener?.port}`) });
    // TLS is a second listener on its own port, like Redis's tls-port; both serve the same clients and channels.
    if (this.opts.tls)
      this.tlsListener = Bun.listen<Connection>({
        hostname: this.opts.host,
        port: this.opts.tls.port,
        tls: { cert: this.opts.tls.cert, key: this.opts.tls.key },
        socket: handlers(() => `${this.opts.host}:${this.tlsListener?.port}`),
      });
    this.softTimer = setInterval(() => {
      conns.checkSoftLimits();
      this.connLimiter.sweep(Date.now());
    }, 1000);
    this.softTimer.unref?.();
    if (this.opts.historyMaxAgeMs > 0) {
      this.history.expire(this.opts.historyMaxAgeMs);
      this.ageTimer = setInterval(() => this.history.expire(this.opts.historyMaxAgeMs), 60_000);
      this.ageTimer.unref?.();
    }
  }

  stop(): void {
    if (this.softTimer) clearInterval(this.softTimer);
    if (this.ageTimer) clearInterval(this.ageTimer);
    this.listener?.stop(true);
    this.tlsListener?.stop(true);
    this.connections.closeAll();
    this.history.close();
  }

  // ------------------------------------------------------------------------------------------
  // Blocking XREAD

  block(kc: KeyClient, keys: string[], after: StreamId[], count: number, timeoutMs: number): void {
    const c = kc as Connection;
    const timer = timeoutMs > 0 ? setTimeout(() => this.unblock(c, c.resp === 3 ? "_\r\n" : "*-1\r\n"), timeoutMs) : null;
    c.blocked = { keys, after, count, timer };
    for (const k of keys) {
      let set = this.blockedOn.get(k);
      if (!set) this.blockedOn.set(k, (set = new Set()));
      set.add(c);
    }
  }

  private unblock(c: Connection, reply: string | null): void {
    const b = c.blocked;
    if (!b) return;
    if (b.timer) clearTimeout(b.timer);
    for (const k of b.keys) {
      const set = this.blockedOn.get(k);
      set?.delete(c);
      if (set?.size === 0) this.blockedOn.delete(k);
    }
    c.blocked = null;
    if (c.closed) return;
    if (reply !== null) c.reply(reply);
    this.connections.markDirty(c);
    this.processInput(c); // commands that arrived while it waited
  }

  /** Serves clients blocked on `key` with what is new there, one key per reply as Redis does. */
  signal(key: string): void {
    const waiting = this.blockedOn.get(key);
    if (!waiting) return;
    const s = this.history.get(key);
    if (!s) return;
    for (const c of [...waiting]) {
      const b = c.blocked!;
      const i = b.keys.indexOf(key);
      const start = incrId(b.after[i]!);
      const last = s.lastLiveId();
      if (!start || !last || cmpId(last, b.after[i]!) <= 0) continue;
      this.unblock(c, xreadHeader(c.resp, 1) + xreadPart(c.resp, key, s.range(start, MAX_ID, b.count)));
    }
  }

  // ------------------------------------------------------------------------------------------
  // Running commands

  private processInput(c: Connection): void {
    const conns = this.connections;
    for (;;) {
      if (c.closeAfterReply || c.closed || c.blocked) return;
      // Output piling up (a client that pipelines and does not read): stop reading it until that output is out.
      if (c.outputBytes >= conns.holdAt) return conns.holdInput(c);
      const r = c.nextCommand(this.parseLimits[c.authenticated ? 0 : 1]![c.user.nopass ? 1 : 0]!);
      if (r === null) return;
      if (r.kind === "error") {
        c.reply(enc.error(r.message));
        c.closeAfterReply = true;
        return;
      }
      this.stats.commands++;
      if (r.kind === "in-place") this.executeInPlace(c, r);
      else this.execute(c, r.argv);
      // CLIENT REPLY SKIP silences exactly the next command (resetClient's flag dance).
      c.replySkip = false;
      if (c.replySkipNext) {
        c.replySkip = true;
        c.replySkipNext = false;
      }
    }
  }

  /** The checks before a command runs, in processCommand's order; each refusal counts as a rejected call. */
  private refusal(c: Connection, cmd: Command, args: Uint8Array[] | InPlaceCommand): string | null {
    if ((cmd.arity > 0 && cmd.arity !== args.length) || args.length < -cmd.arity) return enc.error(`wrong number of arguments for '${cmd.fullname}' command`);
    if (!c.authenticated && !cmd.noAuth) return "-NOAUTH Authentication required.\r\n";
    // ACL after NOAUTH and before the subscribed-mode check, in the order Redis 7 checks them.
    if (!c.user.unrestricted) {
      const at = Array.isArray(args) ? (i: number) => latin1(args[i]!) : (i: number) => args.text(i);
      const refused = c.user.refusal(cmd, cmd.noAuth, { length: args.length, at });
      if (refused !== null) return refused;
    }
    // Redis's MISCONF: after ACL, before the subscribed-mode check.
    if (cmd.writes && this.history.failure !== null) return misconf(this.history.failure);
    if (c.pubsubFlag && c.resp === 2 && !cmd.inPubsub)
      return enc.error(`Can't execute '${cmd.fullname}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`);
    return null;
  }

  private execute(c: Connection, argv: Uint8Array[]): void {
    const base = findCommand(argv[0]!);
    let cmd: Command | undefined = base;
    if (base?.sub && argv.length >= 2) cmd = base.sub.get(latin1(argv[1]!).toLowerCase());
    if (!cmd) {
      if (base?.sub) {
        c.reply(safeError(`unknown subcommand '${cString(argv[1]!).slice(0, 128)}'. Try ${cString(argv[0]!).toUpperCase()} HELP.`));
      } else {
        let args = "";
        for (let i = 1; i < argv.length && args.length < 128; i++) args += `'${cString(argv[i]!).slice(0, 128 - args.length)}' `;
        c.reply(safeError(`unknown command '${cString(argv[0]!).slice(0, 128)}', with args beginning with: ${args}`));
      }
      return;
    }
    this.run(c, cmd, argv);
  }

  /**
   * A command read in place runs there when its handler can (XADD: its fields are packed straight from the received
   * bytes); any other is given an argv, as the general path would have made it, and runs as usual.
   */
  private executeInPlace(c: Connection, args: InPlaceCommand): void {
    const cmd = findCommand(args.buf, args.spans[0]!, args.spans[1]!);
    if (cmd?.inPlace === undefined) return this.execute(c, args.argv());
    this.run(c, cmd, args);
  }

  /** Runs a command found in the table: the checks, the handler, its stats, and its reply's place in the group commit. */
  private run(c: Connection, cmd: Command, args: Uint8Array[] | InPlaceCommand): void {
    // A reserved slot takes AUTH or HELLO first, and only a login keeps it.
    if (c.reserved !== null && cmd.fullname !== "auth" && cmd.fullname !== "hello") return this.refuseReserved(c);
    const stat = this.infoStats.command(cmd);
    const refused = this.refusal(c, cmd, args);
    if (refused !== null) {
      stat.rejected++;
      c.reply(refused);
      return;
    }
    c.lastCommand = cmd.fullname;
    // Marks, not copies: the reply stays in the client's text; only a failed commit goes back to it.
    const fromChunk = cmd.writes ? c.replyChunk : -1;
    const fromOffset = c.replyOffset;
    const errorsBefore = this.infoStats.totalErrors;
    // commandstats' clock: every 16th call of each command (the first included), not every call.
    const timed = (stat.calls & 15) === 0;
    const t0 = timed ? Bun.nanoseconds() : 0;
    try {
      if (Array.isArray(args)) cmd.handler!(this, c, args);
      else cmd.inPlace!(this, c, args);
    } catch (err) {
      // A failing command (say, history on a full disk) answers with an error; the server and its clients go on.
      console.error(`pubsub: ${cmd.fullname} failed: ${(err as Error).message}`);
      c.reply(cmd.writes ? misconf((err as Error).message) : safeError(`${cmd.fullname} failed: ${(err as Error).message}`));
    }
    if (timed) {
      stat.sampled++;
      stat.sampledUsec += (Bun.nanoseconds() - t0) / 1000;
    }
    stat.calls++;
    if (this.infoStats.totalErrors !== errorsBefore) stat.failed++;
    // The reply is in one piece: nothing but this command's own reply was queued for c meanwhile.
    if (fromChunk >= 0 && this.history.pending && c.replyChunk === fromChunk) {
      this.ackClients.push(c);
      this.ackMarks.push(fromChunk, fromOffset, c.replyOffset);
    }
  }

  /** Group commit, then the fate of this turn's write replies: sent as they are, or each replaced by MISCONF. */
  private commitTurn(): void {
    if (!this.history.pending) return;
    const ok = this.history.commit();
    if (!ok) {
      const err = misconf(this.history.failure ?? "the write was refused");
      // Last first: replacing a reply shifts only what comes after it in the same client's output.
      for (let i = this.ackClients.length - 1; i >= 0; i--) {
        const c = this.ackClients[i]!;
        if (c.replaceReply(this.ackMarks[3 * i]!, this.ackMarks[3 * i + 1]!, this.ackMarks[3 * i + 2]!, err)) {
          this.stats.refusedWrites++;
          this.infoStats.error(err);
        }
      }
    }
    this.ackClients.length = 0;
    this.ackMarks.length = 0;
  }

  publish(command: "publish" | "spublish", args: CommandArgs): number {
    this.stats.published++;
    // No argument is taken out of the received bytes: the frame copies the channel and message straight from them, and
    // with nobody listening they are not read at all.
    const n = this.channels.reaches(command) ? this.channels.publish(command, args) : 0;
    this.stats.delivered += n;
    return n;
  }

  // ------------------------------------------------------------------------------------------
  // Authentication

  /**
   * ACL LOAD and SIGHUP: reads the file again; null when done, else why not (the old rules stay). As Redis does, every
   * connection logged in as a named user is closed (it logs in again under the new rules). Connections of the default
   * user stay unless their login no longer holds (it is off now, or its password changed) or the new rules refuse one
   * of their subscriptions or blocked reads: those are closed too (Redis's ACLKillPubsubClientsIfNeeded, which 7.0
   * runs for ACL SETUSER only).
   */
  reloadAcl(current: Connection | null): string | null {
    const path = this.opts.aclPath;
    if (!this.opts.acl || !path)
      return "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";
    let next: Acl;
    try {
      next = readAcl(path);
    } catch (err) {
      return (err as Error).message;
    }
    const before = this.acl.anonymous;
    this.acl = next;
    const anon = next.anonymous;
    const loginHolds = anon.enabled && (anon.nopass || (!before.nopass && keepsPasswords(before, anon)));
    let named = 0;
    let revoked = 0;
    for (const c of [...this.connections.all.values()]) {
      const wasNamed = c.user.name !== "default";
      c.user = anon;
      if (wasNamed) named++;
      else if (!c.authenticated) {
        c.authenticated = !this.authRequiredByDefault; // Redis asks the default user each time (authRequired)
        continue;
      } else if (loginHolds && keepsSubscriptions(anon, c.subs, c.blocked?.keys ?? null, HOLDING_COMMANDS)) continue;
      else revoked++;
      c.authenticated = false;
      if (c === current) c.closeAfterReply = true; // its +OK goes out first
      else this.connections.close(c, "end");
    }
    if (!this.opts.quiet) {
      console.log(`pubsub: ACL reloaded from ${path}: ${aclSummary(next)}; closed ${named} connection(s) of named users and ${revoked} anonymous one(s) the new rules no longer allow`);
      const risk = anonymousRiskWarning(next, path);
      if (risk) console.warn(risk);
    }
    return null;
  }

  logIn(c: Connection, user: Uint8Array, pass: Uint8Array): boolean {
    const u = this.acl.authenticate(latin1(user), pass);
    if (u === null) return false;
    c.user = u;
    c.authenticated = true;
    // A password proved (or a named user): a reserved slot is this connection's to keep.
    if (c.reserved !== null && (this.authRequiredByDefault || u !== this.acl.anonymous)) {
      clearTimeout(c.reserved);
      c.reserved = null;
    }
    return true;
  }

  /** Slots past --maxclients for clients that log in; none on an open server, where nobody can prove anything. */
  get reservedClients(): number {
    return this.authRequiredByDefault || this.acl.users.size > 1 ? (this.opts.reservedClients ?? 0) : 0;
  }

  /** A connection in a reserved slot that did not log in: Redis's "max number of clients" error, then closed. */
  refuseReserved(c: Connection): void {
    if (c.closed) return;
    if (c.reserved !== null) clearTimeout(c.reserved);
    c.reserved = null;
    this.stats.rejectedConnections++;
    c.socket.write(MAX_CLIENTS_ERROR);
    this.connections.close(c, "end");
  }

  // ------------------------------------------------------------------------------------------
  // INFO

  info(names: string[]): string {
    return renderInfo(requestedSections(names), (s) => this.infoLines(s));
  }

  private infoLines(section: Section): string[] {
    const mem = process.memoryUsage();
    const up = Math.floor((Date.now() - this.startedAt) / 1000);
    const conns = [...this.connections.all.values()];
    switch (section) {
      case "server":
        return [`redis_version:${REDIS_VERSION}`, `notistream_version:${NOTISTREAM_VERSION}`, `redis_mode:standalone`, `os:${process.platform}`, `arch_bits:64`,
          `process_id:${process.pid}`, `tcp_port:${this.port}`, `uptime_in_seconds:${up}`, `uptime_in_days:${Math.floor(up / 86400)}`, `executable:bun`];
      case "clients":
        return [`connected_clients:${conns.length}`, `maxclients:${this.opts.maxClients}`, `pubsub_clients:${conns.filter((c) => c.pubsubFlag).length}`,
          `blocked_clients:${conns.filter((c) => c.blocked).length}`];
      case "memory":
        return [`used_memory:${mem.heapUsed}`, `used_memory_rss:${mem.rss}`, `maxmemory:0`];
      case "persistence":
        return [`loading:0`, `async_loading:0`, `aof_enabled:1`, `notistream_history_file:${this.opts.dataPath}`, `notistream_history_fsync:${this.opts.fsync}`,
          `notistream_history_max_age:${Math.floor(this.opts.historyMaxAgeMs / 1000)}`,
          // Like Redis's aof_last_write_status: err while the disk refuses writes (MISCONF), ok again after recovery.
          `notistream_history_last_write_status:${this.history.failure === null ? "ok" : "err"}`, `notistream_history_refused_replies:${this.stats.refusedWrites}`];
      case "stats":
        return [`total_connections_received:${this.stats.connections}`, `total_commands_processed:${this.stats.commands}`, `rejected_connections:${this.stats.rejectedConnections}`,
          `pubsub_channels:${this.channels.size("channel")}`, `pubsub_patterns:${this.channels.size("pattern")}`, `pubsubshard_channels:${this.channels.size("shard")}`,
          `total_published_messages:${this.stats.published}`, `total_delivered_messages:${this.stats.delivered}`,
          `client_output_buffer_limit_disconnections:${this.stats.outputLimitDisconnects}`, `total_error_replies:${this.infoStats.totalErrors}`];
      case "replication":
        return replicationLines(this.replid);
      case "cpu": {
        const cpu = process.cpuUsage();
        const sys = (cpu.system / 1e6).toFixed(6);
        const user = (cpu.user / 1e6).toFixed(6);
        return [`used_cpu_sys:${sys}`, `used_cpu_user:${user}`, `used_cpu_sys_children:0.000000`, `used_cpu_user_children:0.000000`, `used_cpu_sys_main_thread:${sys}`, `used_cpu_user_main_thread:${user}`];
      }
      case "modules":
        return [];
      case "commandstats":
        return this.infoStats.commandLines();
      case "errorstats":
        return this.infoStats.errorLines();
      case "latencystats":
        return []; // no per-command latency histograms are kept: Redis prints the same under `latency-tracking no`
      case "cluster":
        return [`cluster_enabled:0`];
      case "keyspace":
        return this.history.streams.size ? [`db0:keys=${this.history.streams.size},expires=0,avg_ttl=0`] : [];
    }
  }

  flushData(): void {
    this.history.flushAll();
  }
}

// ----------------------------------------------------------------------------------------------
// The command line.

const FLAGS: FlagSpec[] = [
  { name: "host", env: "NOTISTREAM_PUBSUB_HOST", help: "listen address", default: DEFAULTS.host },
  { name: "port", env: "NOTISTREAM_PUBSUB_PORT", help: "listen port (0 picks a free one)", default: String(DEFAULTS.port) },
  { name: "password", env: "NOTISTREAM_PASSWORD", help: "require AUTH / HELLO AUTH with this password" },
  { name: "acl", env: "NOTISTREAM_ACL", help: "users, hashed passwords and channel rights, in Redis's aclfile syntax (see README: Security)" },
  { name: "maxclients", env: "NOTISTREAM_MAXCLIENTS", help: "most connected clients (default: the open-file limit less 32, as Redis; lowered to that if larger)" },
  { name: "reserved-clients", env: "NOTISTREAM_RESERVED_CLIENTS", help: "connections past --maxclients kept for clients that log in (the password, or a named ACL user), so a full server still takes the web server", default: "16" },
  { name: "proto-max-bulk-len", env: "NOTISTREAM_PROTO_MAX_BULK_LEN", help: "largest bulk string accepted, in bytes", default: String(DEFAULTS.maxBulk) },
  {
    name: "anonymous-max-request",
    env: "NOTISTREAM_ANONYMOUS_MAX_REQUEST",
    help: "most bytes one request from a client that proved no password may hold (its arguments plus 64 bytes each), so also its largest bulk string",
    default: String(DEFAULTS.anonymousMaxRequest),
  },
  { name: "data", env: "NOTISTREAM_DATA", help: "history database file", default: DEFAULTS.dataPath },
  { name: "tls-port", env: "NOTISTREAM_TLS_PORT", help: "port for RESP over TLS (needs --tls-cert and --tls-key)", default: "6380" },
  { name: "tls-cert", env: "NOTISTREAM_TLS_CERT", help: "PEM certificate file for TLS" },
  { name: "tls-key", env: "NOTISTREAM_TLS_KEY", help: "PEM private key file for TLS" },
  { name: "conn-rate-limit", env: "NOTISTREAM_CONN_RATE_LIMIT", help: "new connections per second per client IP, burst twice that (0: no limit)", default: "0" },
  { name: "appendfsync", env: "NOTISTREAM_APPENDFSYNC", help: "when history reaches the disk: everysec (fsync once a second), always (before each reply) or no (when the OS writes it back)", default: DEFAULTS.fsync },
  { name: "allocator", env: "NOTISTREAM_ALLOCATOR", help: `when Bun's allocator gives freed memory back: memory (mimalloc's defaults: within 100 ms), balanced (${settingsText("balanced")}: after 10 s, so less CPU per webhook under load, and as little memory once idle) or cpu (${settingsText("cpu")}: freed holes are kept, the least CPU, for 20-40% more memory); balanced and cpu restart the server once at start to set them`, default: "balanced" },
  { name: "history-max-age", env: "NOTISTREAM_HISTORY_MAX_AGE", help: "drop history older than this many seconds (0: never)", default: String(DEFAULTS.historyMaxAgeMs / 1000) },
  {
    name: "pubsub-output-limit",
    env: "NOTISTREAM_PUBSUB_OUTPUT_LIMIT",
    help: "disconnect a subscriber whose unread output passes <hard> bytes, or stays over <soft> bytes for <seconds>",
    default: `${DEFAULTS.outputHard} ${DEFAULTS.outputSoft} ${DEFAULTS.outputSoftSeconds}`,
  },
  {
    name: "normal-output-limit",
    env: "NOTISTREAM_NORMAL_OUTPUT_LIMIT",
    help: "disconnect any other client whose unread replies pass <hard> bytes, or stay over <soft> bytes for <seconds> (0 0 0: none, as Redis)",
    default: `${DEFAULTS.normalOutput.hard} ${DEFAULTS.normalOutput.soft} ${DEFAULTS.normalOutput.softSeconds}`,
  },
];

async function main(argv: string[]): Promise<void> {
  const flags = parseFlags("bun pubsub.ts", "The Notistream pub/sub server: speaks Redis 7's Pub/Sub protocol (RESP2 and RESP3).", FLAGS, argv);
  const port = intFlag("pubsub", flags, "port", 0, 65535);
  // The reserve is kept only where a client can prove something: with a password or an ACL.
  const reservedClients = flags.password !== undefined || flags.acl ? intFlag("pubsub", flags, "reserved-clients", 0, 10_000) : 0;
  const clients = maxClientsFor("pubsub", flags.maxclients === undefined ? undefined : intFlag("pubsub", flags, "maxclients", 1, 10_000_000), reservedClients);
  const maxClients = clients.maxClients;
  const maxBulk = intFlag("pubsub", flags, "proto-max-bulk-len", 1, 2 ** 53);
  const anonymousMaxRequest = intFlag("pubsub", flags, "anonymous-max-request", 1, 2 ** 53);
  const pubsubLimit = outputLimitFlag("pubsub", flags, "pubsub-output-limit");
  const normalOutput = outputLimitFlag("pubsub", flags, "normal-output-limit");
  const fsync = flags.appendfsync;
  if (fsync !== "everysec" && fsync !== "always" && fsync !== "no") {
    console.error(`pubsub: --appendfsync must be everysec, always or no, got ${JSON.stringify(fsync)}`);
    process.exit(2);
  }
  const historyMaxAgeMs = intFlag("pubsub", flags, "history-max-age", 0, 100 * 365 * 86400) * 1000;
  const connRateLimit = intFlag("pubsub", flags, "conn-rate-limit", 0, 10_000_000);
  const tls = loadTls("pubsub", flags, intFlag("pubsub", flags, "tls-port", 0, 65535));
  const acl = loadAcl("pubsub", flags.acl, flags.password, "--password");
  const allocator = flags.allocator;
  if (!isAllocatorMode(allocator)) {
    console.error(`pubsub: --allocator must be ${Object.keys(ALLOCATOR_MODES).join(", ").replace(/, (\w+)$/, " or $1")}, got ${JSON.stringify(allocator)}`);
    process.exit(2);
  }
  reexecWithAllocatorSettings(allocator); // flags checked first: a mistake is told once, at once; nothing is open yet
  let server: PubSubServer;
  try {
    server = new PubSubServer({
      host: flags.host!, port, password: flags.password, acl, aclPath: flags.acl, maxClients, reservedClients, maxBulk, anonymousMaxRequest,
      outputHard: pubsubLimit.hard, outputSoft: pubsubLimit.soft, outputSoftSeconds: pubsubLimit.softSeconds, normalOutput,
      dataPath: flags.data!, fsync, historyMaxAgeMs, connRateLimit, tls,
    });
  } catch (err) {
    console.error(`pubsub: cannot open the history database ${flags.data}: ${(err as Error).message}`);
    process.exit(1);
  }
  await listenOrExit("pubsub", flags.host!, port, () => server.start());
  if (clients.warning) console.warn(clients.line);
  else console.log(clients.line);
  if (acl) {
    console.log(`pubsub: ${aclSummary(acl)} (${flags.acl}); ACL LOAD or SIGHUP reads it again`);
    const risk = anonymousRiskWarning(acl, flags.acl!);
    if (risk) console.warn(risk);
    reloadAclOnHup("pubsub", () => server.reloadAcl(null));
  }
  else if (flags.password === undefined)
    console.warn("pubsub: warning: no password set, so anyone who can reach this port can subscribe, publish and run every command (CLIENT KILL and FLUSHALL included); set --password or NOTISTREAM_PASSWORD, or --acl (see docs/users.acl)");
  const mb = (n: number) => (n >= 1024 * 1024 ? `${+(n / 1024 / 1024).toFixed(1)} MB` : `${n} bytes`);
  const cobl = (l: OutputLimits) => (l.hard || l.soft ? `hard ${mb(l.hard)}, soft ${mb(l.soft)} for ${l.softSeconds} s` : "none");
  console.log(
    `pubsub: limits: requests from clients with no password up to ${mb(anonymousMaxRequest)} (--anonymous-max-request); unread output: ` +
      `subscribers ${cobl(pubsubLimit)}, other clients ${cobl(normalOutput)} (--pubsub-output-limit, --normal-output-limit)`,
  );
  const kept = [...server.history.streams.values()].reduce((n, st) => n + st.length, 0);
  console.log(`pubsub: history in ${flags.data} (${server.history.streams.size} streams, ${kept} entries, appendfsync ${fsync})`);
  console.log(allocatorLine(process.env, allocator));
  const mode = server.history.looseMode;
  if (mode !== null)
    console.warn(`pubsub: warning: the history database ${flags.data} has mode ${mode.toString(8).padStart(4, "0")}, so other users of this machine may read its private messages and push secrets; run chmod 600 ${flags.data}* (new files are made 0600)`);
  if (server.tlsPort !== null) console.log(`pubsub: listening for TLS on rediss://${flags.host}:${server.tlsPort}`);
  console.log(`pubsub: listening on redis://${flags.host}:${server.port} (Redis ${REDIS_VERSION} protocol, pid ${process.pid})`);
  exitOnSignals(() => server.stop());
}

if (import.meta.main) await main(process.argv.slice(2));
