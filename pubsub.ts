#!/usr/bin/env bun
// pubsub.ts — the Redis-compatible Pub/Sub server on Bun.listen: connections, the command table, channel,
// pattern and shard subscriptions, fan-out, AUTH, and Redis's limits. Replies match Redis 7.0.15 byte for byte.
import type { Socket, TCPSocketListener } from "bun";
import {
  RequestParser,
  DEFAULT_MAX_BULK,
  enc,
  encodeDelivery,
  asPush,
  latin1,
  cString,
  equalsIgnoreCase,
  strictInt,
  type Proto,
} from "./resp";
import { compileGlob, globMatch } from "./glob";
import { RateLimiter } from "./ratelimit";
import { History, type FsyncPolicy, type StreamId, MAX_ID, cmpId, incrId } from "./history";
import { KEYSPACE_COMMANDS, xreadHeader, xreadPart, type KeyClient, type KeyHost } from "./keyspace";
import { Acl, type AclUser } from "./acl";
import { aclSummary, exitOnSignals, fdLimitWarning, loadAcl, readAcl, reloadAclOnHup, intFlag, listenOrExit, loadTls, parseFlags, type FlagSpec } from "./cli";

export const REDIS_VERSION = "7.0.15";
export const NOTISTREAM_VERSION = "0.1.0";

export type PubSubOptions = {
  host: string;
  port: number;
  password?: string;
  /** Users and their rights (--acl FILE); replaces --password. */
  acl?: Acl;
  /** Where the ACL came from, for ACL LOAD and SIGHUP. */
  aclPath?: string;
  maxClients: number;
  maxBulk: number;
  /** client-output-buffer-limit pubsub: hard bytes, soft bytes, soft seconds. */
  outputHard: number;
  outputSoft: number;
  outputSoftSeconds: number;
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

export const DEFAULTS: PubSubOptions = {
  host: "0.0.0.0",
  port: 6379,
  maxClients: 10000,
  maxBulk: DEFAULT_MAX_BULK,
  outputHard: 32 * 1024 * 1024,
  outputSoft: 8 * 1024 * 1024,
  outputSoftSeconds: 60,
  dataPath: "./notistream.db",
  fsync: "everysec",
  historyMaxAgeMs: 7 * 24 * 3600 * 1000,
};

type Sock = Socket<Client>;

const SYNTAX_ERR = "syntax error";

/** One connection's state: what Redis keeps in its `client` struct, trimmed to what pub/sub needs. */
class Client {
  id: number;
  resp: Proto = 2;
  name: string | null = null;
  libName = "";
  libVer = "";
  authenticated: boolean;
  /** The ACL user this connection runs as (without an ACL file, the one all-powerful "default"). */
  user: AclUser;
  readonly parser = new RequestParser();
  readonly channels = new Set<string>();
  readonly patterns = new Set<string>();
  readonly shardChannels = new Set<string>();
  pubsubFlag = false;
  replyOff = false;
  replySkipNext = false;
  replySkip = false;
  closeAfterReply = false;
  closed = false;
  lastCommand = "NULL";
  readonly createdAt = Date.now();
  lastInteraction = Date.now();
  /** Replies waiting for this turn's single write: small ones as one latin1 string, frames as shared bytes. */
  private text = "";
  private chunks: Uint8Array[] = [];
  queuedBytes = 0;
  /** What the kernel did not take last time; we wait for drain before writing more (backpressure). */
  unsent: Uint8Array | null = null;
  softLimitSince = 0;
  dirty = false;
  /** Set while XREAD BLOCK waits; input is not read meanwhile, as in Redis. */
  blocked: { keys: string[]; after: StreamId[]; count: number; timer: ReturnType<typeof setTimeout> | null } | null = null;
  readonly addr: string;
  readonly laddr: string;

  constructor(id: number, user: AclUser, authenticated: boolean, readonly socket: Sock, laddr: string) {
    this.user = user;
    this.id = id;
    this.authenticated = authenticated;
    this.addr = `${socket.remoteAddress}:${(socket as unknown as { remotePort?: number }).remotePort ?? 0}`;
    this.laddr = laddr;
  }

  get subscriptionCount(): number {
    return this.channels.size + this.patterns.size;
  }
  get totalSubscriptions(): number {
    return this.channels.size + this.patterns.size + this.shardChannels.size;
  }

  /** A normal reply: suppressed by CLIENT REPLY OFF/SKIP, as prepareClientToWrite does. */
  reply(s: string): void {
    if (this.replyOff || this.replySkip) return;
    this.text += s;
  }
  /** A pub/sub notification: always sent, even with CLIENT REPLY OFF (Redis's CLIENT_PUSHING). */
  push(s: string): void {
    this.text += s;
  }
  queueFrame(frame: Uint8Array): void {
    if (this.text) this.moveText();
    this.chunks.push(frame); // shared bytes: the same frame object goes to every subscriber
    this.queuedBytes += frame.length;
  }
  private moveText(): void {
    const b = Buffer.from(this.text, "latin1");
    this.text = "";
    this.chunks.push(b);
    this.queuedBytes += b.length;
  }
  /** Where the next reply will sit: at this offset of the text, which becomes chunks[chunk] if it is moved. */
  get replyMark(): { chunk: number; offset: number } {
    return { chunk: this.chunks.length, offset: this.text.length };
  }
  /**
   * Replaces the reply queued between `from` and `to` (marks of one command) with `by`: a refused write's reply with
   * its error. Latin1 text holds one char per byte, so the offsets hold in the text and in the chunk it became.
   */
  replaceReply(from: { chunk: number; offset: number }, to: number, by: string): boolean {
    if (to === from.offset) return false; // no reply was queued (CLIENT REPLY OFF)
    if (this.chunks.length === from.chunk) {
      this.text = this.text.slice(0, from.offset) + by + this.text.slice(to);
      return true;
    }
    const old = this.chunks[from.chunk];
    if (!old) return false;
    const next = Buffer.concat([old.subarray(0, from.offset), Buffer.from(by, "latin1"), old.subarray(to)]);
    this.chunks[from.chunk] = next;
    this.queuedBytes += next.length - old.length;
    return true;
  }
  get outputBytes(): number {
    return this.queuedBytes + this.text.length + (this.unsent ? this.unsent.length : 0);
  }
  hasOutput(): boolean {
    return this.text.length > 0 || this.chunks.length > 0;
  }
  /** Takes everything queued as one buffer, so the socket gets a single write. */
  takeOutput(): Uint8Array | null {
    if (this.text) this.moveText();
    const n = this.chunks.length;
    if (n === 0) return null;
    let out: Uint8Array;
    if (n === 1) out = this.chunks[0]!;
    else {
      out = new Uint8Array(this.queuedBytes);
      let at = 0;
      for (const c of this.chunks) {
        out.set(c, at);
        at += c.length;
      }
    }
    this.chunks = [];
    this.queuedBytes = 0;
    return out;
  }
}

type Handler = (s: PubSubServer, c: Client, argv: Uint8Array[]) => void;
type Command = {
  name: string;
  fullname: string;
  arity: number;
  /** Allowed before AUTH (CMD_NO_AUTH). */
  noAuth?: boolean;
  /** Allowed in RESP2 subscribed mode. */
  inPubsub?: boolean;
  /** Changes history (the "write" flag): refused with MISCONF while the disk refuses writes. */
  writes?: boolean;
  handler?: Handler;
  sub?: Map<string, Command>;
  flags: string[];
};

const lower = (b: Uint8Array): string => latin1(b).toLowerCase();
const eqi = equalsIgnoreCase;

/** Redis's words for refused writes (its AOF text, naming our history database instead). */
const misconf = (why: string): string => `-MISCONF Errors writing to the history database: ${why.replace(/[\r\n]/g, " ")}\r\n`;

/** Redis's addReplyErrorFormat: printf-built errors never carry \r or \n. */
const safeError = (msg: string): string => enc.error(msg.replace(/[\r\n]/g, " "));

function help(cmd: string, lines: string[]): string {
  const all = [`${cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`, ...lines, "HELP", "    Prints this help."];
  return enc.array(all.length) + all.map((l) => enc.simple(l)).join("");
}

export class PubSubServer implements KeyHost {
  readonly opts: PubSubOptions;
  readonly clients = new Map<number, Client>();
  readonly channels = new Map<string, Set<Client>>();
  readonly patterns = new Map<string, Set<Client>>();
  /** Each pattern's matcher, compiled once at PSUBSCRIBE so PUBLISH does not re-read the pattern. */
  private readonly matchers = new Map<string, (channel: string) => boolean>();
  readonly shardChannels = new Map<string, Set<Client>>();
  private nextId = 1;
  private listener: TCPSocketListener<Client> | null = null;
  private tlsListener: TCPSocketListener<Client> | null = null;
  private readonly dirty: Client[] = [];
  private flushScheduled = false;
  private readonly startedAt = Date.now();
  stats = { connections: 0, commands: 0, published: 0, delivered: 0, rejectedConnections: 0, outputLimitDisconnects: 0, refusedWrites: 0 };
  private softTimer: ReturnType<typeof setInterval> | null = null;
  private ageTimer: ReturnType<typeof setInterval> | null = null;
  /** Who may do what: the --acl file, or for --password (or no password) one "default" user with every right. */
  private acl: Acl;
  readonly history: History;
  private readonly blockedOn = new Map<string, Set<Client>>();
  private readonly connLimiter: RateLimiter;
  /** Where this turn's write replies sit in their clients' output, in case the group commit fails. */
  private readonly acks: { c: Client; from: { chunk: number; offset: number }; to: number }[] = [];

  constructor(opts: Partial<PubSubOptions> = {}) {
    this.opts = { ...DEFAULTS, ...opts };
    this.acl = this.opts.acl ?? Acl.open(this.opts.password);
    this.history = new History(this.opts.dataPath, this.opts.fsync);
    this.connLimiter = new RateLimiter(this.opts.connRateLimit ?? 0);
  }

  /** Redis's authRequired: the default user is off or has a password. */
  get authRequiredByDefault(): boolean {
    const anon = this.acl.anonymous;
    return !(anon.enabled && anon.nopass);
  }

  /** Redis's "AUTH <password>" error case: the default user needs no password. */
  get defaultUserNopass(): boolean {
    return this.acl.anonymous.nopass;
  }

  hasUser(name: string): boolean {
    return this.acl.users.has(name);
  }

  /** A connection's state before any AUTH, and again after RESET. */
  startAnonymous(c: Client): void {
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
    const handlers = (laddrOf: () => string): Parameters<typeof Bun.listen<Client>>[0]["socket"] => ({
        open(socket) {
          server.stats.connections++;
          const c = new Client(server.nextId++, server.acl.anonymous, !server.authRequiredByDefault, socket, laddrOf());
          socket.data = c;
          const wait = server.connLimiter.take(socket.remoteAddress, Date.now());
          if (wait > 0) {
            server.stats.rejectedConnections++;
            socket.write(`-ERR too many new connections from ${socket.remoteAddress}; try again in ${wait} s\r\n`);
            socket.end();
            c.closed = true;
            return;
          }
          if (server.clients.size >= server.opts.maxClients) {
            server.stats.rejectedConnections++;
            socket.write("-ERR max number of clients reached\r\n");
            socket.end();
            c.closed = true;
            return;
          }
          server.clients.set(c.id, c);
        },
        data(socket, chunk) {
          const c = socket.data;
          if (c.closed) return;
          c.lastInteraction = Date.now();
          c.parser.push(chunk);
          server.processInput(c);
          server.markDirty(c);
        },
        drain(socket) {
          const c = socket.data;
          if (c.unsent) {
            const u = c.unsent;
            c.unsent = null;
            server.writeOut(c, u);
          }
          if (!c.unsent) server.writeQueued(c);
        },
        end(socket) {
          // The peer half-closed: send what it already asked for, then close like Redis does on EOF.
          const c = socket.data;
          if (!c.closed && !c.unsent) server.writeQueued(c);
          server.freeClient(c);
          socket.end();
        },
        close(socket) {
          server.freeClient(socket.data);
        },
        error(socket) {
          server.freeClient(socket.data);
        },
    });
    this.listener = Bun.listen<Client>({ hostname: this.opts.host, port: this.opts.port, socket: handlers(() => `${this.opts.host}:${this.listener?.port}`) });
    // TLS is a second listener on its own port, like Redis's tls-port; both serve the same clients and channels.
    if (this.opts.tls)
      this.tlsListener = Bun.listen<Client>({
        hostname: this.opts.host,
        port: this.opts.tls.port,
        tls: { cert: this.opts.tls.cert, key: this.opts.tls.key },
        socket: handlers(() => `${this.opts.host}:${this.tlsListener?.port}`),
      });
    // The soft output limit is about time, so it is checked on a clock too, not only when a frame is queued.
    this.softTimer = setInterval(() => {
      this.checkSoftLimits();
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
    this.flushOutput();
    for (const c of this.clients.values()) c.socket.end();
    this.history.close();
  }

  // ------------------------------------------------------------------------------------------
  // Blocking XREAD

  block(kc: KeyClient, keys: string[], after: StreamId[], count: number, timeoutMs: number): void {
    const c = kc as Client;
    const timer = timeoutMs > 0 ? setTimeout(() => this.unblock(c, c.resp === 3 ? "_\r\n" : "*-1\r\n"), timeoutMs) : null;
    c.blocked = { keys, after, count, timer };
    for (const k of keys) {
      let set = this.blockedOn.get(k);
      if (!set) this.blockedOn.set(k, (set = new Set()));
      set.add(c);
    }
  }

  private unblock(c: Client, reply: string | null): void {
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
    this.markDirty(c);
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
  // Input

  private processInput(c: Client): void {
    for (;;) {
      if (c.closeAfterReply || c.closed || c.blocked) return;
      const r = c.parser.next({ authRequired: !c.authenticated, maxBulk: this.opts.maxBulk });
      if (r === null) return;
      if (r.kind === "error") {
        c.reply(enc.error(r.message));
        c.closeAfterReply = true;
        return;
      }
      this.stats.commands++;
      this.execute(c, r.argv);
      // CLIENT REPLY SKIP silences exactly the next command (resetClient's flag dance).
      c.replySkip = false;
      if (c.replySkipNext) {
        c.replySkip = true;
        c.replySkipNext = false;
      }
    }
  }

  private execute(c: Client, argv: Uint8Array[]): void {
    const base = findCommand(argv[0]!);
    let cmd: Command | undefined = base;
    if (base?.sub && argv.length >= 2) cmd = base.sub.get(lower(argv[1]!));
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
    if ((cmd.arity > 0 && cmd.arity !== argv.length) || argv.length < -cmd.arity) {
      c.reply(enc.error(`wrong number of arguments for '${cmd.fullname}' command`));
      return;
    }
    if (!c.authenticated && !cmd.noAuth) {
      c.reply("-NOAUTH Authentication required.\r\n");
      return;
    }
    // ACL after NOAUTH and before the subscribed-mode check, in the order Redis 7 checks them.
    if (!c.user.unrestricted) {
      const refusal = c.user.refusal(cmd.fullname, cmd.noAuth === true, { length: argv.length, at: (i) => latin1(argv[i]!) });
      if (refusal !== null) {
        c.reply(refusal);
        return;
      }
    }
    // Redis's MISCONF: after ACL, before the subscribed-mode check.
    if (cmd.writes && this.history.failure !== null) {
      c.reply(misconf(this.history.failure));
      return;
    }
    if (c.pubsubFlag && c.resp === 2 && !cmd.inPubsub) {
      c.reply(
        enc.error(
          `Can't execute '${cmd.fullname}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
        ),
      );
      return;
    }
    c.lastCommand = cmd.fullname;
    // Marks, not copies: the reply stays in the client's text; only a failed commit goes back to it.
    const from = cmd.writes ? c.replyMark : null;
    try {
      cmd.handler!(this, c, argv);
    } catch (err) {
      // A failing command (say, history on a full disk) answers with an error; the server and its clients go on.
      console.error(`pubsub: ${cmd.fullname} failed: ${(err as Error).message}`);
      c.reply(cmd.writes ? misconf((err as Error).message) : safeError(`${cmd.fullname} failed: ${(err as Error).message}`));
    }
    if (from !== null && this.history.pending) {
      const to = c.replyMark;
      // The reply is in one piece: nothing but this command's own reply was queued for c meanwhile.
      if (to.chunk === from.chunk) this.acks.push({ c, from, to: to.offset });
    }
  }

  /** Group commit, then the fate of this turn's write replies: sent as they are, or each replaced by MISCONF. */
  private commitTurn(): void {
    if (!this.history.pending) return;
    const ok = this.history.commit();
    if (!ok) {
      const err = misconf(this.history.failure ?? "the write was refused");
      // Last first: replacing a reply shifts only what comes after it in the same client's output.
      for (let i = this.acks.length - 1; i >= 0; i--) {
        const { c, from, to } = this.acks[i]!;
        if (c.replaceReply(from, to, err)) this.stats.refusedWrites++;
      }
    }
    this.acks.length = 0;
  }

  // ------------------------------------------------------------------------------------------
  // Output: replies and frames are queued, then each dirty socket is written once per event-loop turn.


  markDirty(c: Client): void {
    if (c.dirty) return;
    c.dirty = true;
    this.dirty.push(c);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // setImmediate runs after every socket event of this loop turn: one write per socket per turn.
      setImmediate(() => this.flushOutput());
    }
  }

  private flushOutput(): void {
    this.flushScheduled = false;
    // Group commit: this turn's history writes reach the disk before any reply that acknowledges them.
    this.commitTurn();
    const list = this.dirty.splice(0);
    for (const c of list) {
      c.dirty = false;
      if (c.closed) continue;
      if (!c.unsent) this.writeQueued(c);
      if (c.closeAfterReply && !c.unsent && !c.hasOutput()) {
        c.closed = true;
        c.socket.end();
      }
    }
  }

  writeQueued(c: Client): void {
    this.commitTurn(); // a drain can come before the end of the turn: commit first all the same
    const out = c.takeOutput();
    if (out) this.writeOut(c, out);
    if (c.closeAfterReply && !c.unsent && !c.hasOutput() && !c.closed) {
      c.closed = true;
      c.socket.end();
    }
  }

  private writeOut(c: Client, out: Uint8Array): void {
    const n = c.socket.write(out);
    if (n < 0) return; // closed; the close handler frees the client
    if (n < out.length) c.unsent = out.subarray(n); // a view of the rest: no copy
  }

  /** Called after a frame is queued for a subscriber: Redis's client-output-buffer-limit for pubsub clients. */
  private checkOutputLimit(c: Client): void {
    const used = c.outputBytes;
    if (this.opts.outputHard > 0 && used >= this.opts.outputHard) return this.disconnectSlow(c, "hard");
    if (this.opts.outputSoft > 0 && used >= this.opts.outputSoft) {
      if (!c.softLimitSince) c.softLimitSince = Date.now();
      else if (Date.now() - c.softLimitSince >= this.opts.outputSoftSeconds * 1000) this.disconnectSlow(c, "soft");
    } else c.softLimitSince = 0;
  }

  private checkSoftLimits(): void {
    for (const c of this.clients.values()) if (c.pubsubFlag && c.softLimitSince) this.checkOutputLimit(c);
  }

  private disconnectSlow(c: Client, which: string): void {
    if (c.closed) return;
    this.stats.outputLimitDisconnects++;
    if (!this.opts.quiet)
      console.warn(
        `pubsub: client id=${c.id} addr=${c.addr} closed for overcoming of output buffer limits (${which} limit, ${c.outputBytes} bytes queued)`,
      );
    c.closed = true;
    this.freeClient(c);
    c.socket.terminate();
  }

  freeClient(c: Client): void {
    if (!this.clients.has(c.id)) {
      c.closed = true;
      return;
    }
    c.closed = true;
    this.clients.delete(c.id);
    if (c.blocked) this.unblock(c, null);
    this.dropSubscriptions(c);
  }

  // ------------------------------------------------------------------------------------------
  // Subscriptions

  subscribe(c: Client, chArg: Uint8Array, shard: boolean): void {
    const ch = latin1(chArg);
    const mine = shard ? c.shardChannels : c.channels;
    const all = shard ? this.shardChannels : this.channels;
    if (!mine.has(ch)) {
      mine.add(ch);
      let set = all.get(ch);
      if (!set) all.set(ch, (set = new Set()));
      set.add(c);
    }
    const count = shard ? c.shardChannels.size : c.subscriptionCount;
    c.push(enc.push(3, c.resp) + (shard ? "$10\r\nssubscribe\r\n" : "$9\r\nsubscribe\r\n") + enc.bulk(ch) + enc.int(count));
  }

  unsubscribe(c: Client, ch: string | null, shard: boolean, notify: boolean): number {
    let removed = 0;
    if (ch !== null) {
      const mine = shard ? c.shardChannels : c.channels;
      const all = shard ? this.shardChannels : this.channels;
      if (mine.delete(ch)) {
        removed = 1;
        const set = all.get(ch)!;
        set.delete(c);
        if (set.size === 0) all.delete(ch);
      }
    }
    if (notify) {
      const count = shard ? c.shardChannels.size : c.subscriptionCount;
      c.push(
        enc.push(3, c.resp) +
          (shard ? "$12\r\nsunsubscribe\r\n" : "$11\r\nunsubscribe\r\n") +
          (ch === null ? enc.null(c.resp) : enc.bulk(ch)) +
          enc.int(count),
      );
    }
    return removed;
  }

  /** UNSUBSCRIBE / SUNSUBSCRIBE with no arguments; with nothing to leave, Redis still answers once. */
  unsubscribeAll(c: Client, shard: boolean, notify: boolean): void {
    let count = 0;
    for (const ch of [...(shard ? c.shardChannels : c.channels)]) count += this.unsubscribe(c, ch, shard, notify);
    if (notify && count === 0) this.unsubscribe(c, null, shard, true);
  }

  /** Leaves every channel, shard channel and pattern without a word: RESET, or a client that went away. */
  dropSubscriptions(c: Client): void {
    this.unsubscribeAll(c, false, false);
    this.unsubscribeAll(c, true, false);
    this.punsubscribeAll(c, false);
  }

  psubscribe(c: Client, patArg: Uint8Array): void {
    const pat = latin1(patArg);
    if (!c.patterns.has(pat)) {
      c.patterns.add(pat);
      let set = this.patterns.get(pat);
      if (!set) {
        this.patterns.set(pat, (set = new Set()));
        this.matchers.set(pat, compileGlob(pat));
      }
      set.add(c);
    }
    c.push(enc.push(3, c.resp) + "$10\r\npsubscribe\r\n" + enc.bulk(pat) + enc.int(c.subscriptionCount));
  }

  punsubscribe(c: Client, pat: string | null, notify: boolean): number {
    let removed = 0;
    if (pat !== null && c.patterns.delete(pat)) {
      removed = 1;
      const set = this.patterns.get(pat)!;
      set.delete(c);
      if (set.size === 0) {
        this.patterns.delete(pat);
        this.matchers.delete(pat);
      }
    }
    if (notify)
      c.push(
        enc.push(3, c.resp) + "$12\r\npunsubscribe\r\n" + (pat === null ? enc.null(c.resp) : enc.bulk(pat)) + enc.int(c.subscriptionCount),
      );
    return removed;
  }

  punsubscribeAll(c: Client, notify: boolean): void {
    let count = 0;
    for (const p of [...c.patterns]) count += this.punsubscribe(c, p, notify);
    if (notify && count === 0) this.punsubscribe(c, null, true);
  }

  updatePubsubFlag(c: Client): void {
    if (c.totalSubscriptions === 0) c.pubsubFlag = false;
  }

  /** Delivers one message: each frame is encoded once and shared by every receiving socket. */
  publish(chArg: Uint8Array, msg: Uint8Array, shard: boolean): number {
    this.stats.published++;
    // Nobody subscribed to anything of this kind: skip building the channel's key string at all.
    if (shard ? this.shardChannels.size === 0 : this.channels.size === 0 && this.patterns.size === 0) return 0;
    const ch = latin1(chArg);
    let receivers = 0;
    const subs = (shard ? this.shardChannels : this.channels).get(ch);
    if (subs) {
      const frame = encodeDelivery(shard ? "smessage" : "message", [chArg, msg]);
      receivers += this.deliver(subs, frame);
    }
    if (!shard && this.patterns.size) {
      for (const [pat, clients] of this.patterns) {
        if (!this.matchers.get(pat)!(ch)) continue;
        const frame = encodeDelivery("pmessage", [Buffer.from(pat, "latin1"), chArg, msg]);
        receivers += this.deliver(clients, frame);
      }
    }
    this.stats.delivered += receivers;
    return receivers;
  }

  private deliver(clients: Set<Client>, frame: Uint8Array): number {
    let push: Uint8Array | null = null; // the RESP3 variant, made only if a RESP3 subscriber exists
    let n = 0;
    for (const c of clients) {
      n++;
      if (c.resp === 3) c.queueFrame(push ??= asPush(frame));
      else c.queueFrame(frame);
      this.markDirty(c);
      this.checkOutputLimit(c);
    }
    return n;
  }

  // ------------------------------------------------------------------------------------------
  // Authentication

  /**
   * ACL LOAD and SIGHUP: reads the file again; null when done, else why not (the old rules stay). As Redis does, every
   * connection logged in as a named user is closed (it logs in again under the new rules); anonymous ones stay.
   */
  reloadAcl(current: Client | null): string | null {
    const path = this.opts.aclPath;
    if (!this.opts.acl || !path)
      return "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";
    let next: Acl;
    try {
      next = readAcl(path);
    } catch (err) {
      return (err as Error).message;
    }
    this.acl = next;
    let closed = 0;
    for (const c of [...this.clients.values()]) {
      const named = c.user.name !== "default";
      c.user = next.anonymous;
      if (!named) continue;
      c.authenticated = false;
      closed++;
      if (c === current) c.closeAfterReply = true; // its +OK goes out first
      else {
        this.freeClient(c);
        c.socket.end();
      }
    }
    if (!this.opts.quiet) console.log(`pubsub: ACL reloaded from ${path}: ${aclSummary(next)}; closed ${closed} connection(s) of named users`);
    return null;
  }

  /** AUTH / HELLO AUTH: on success the connection runs as that user. */
  logIn(c: Client, user: Uint8Array, pass: Uint8Array): boolean {
    const u = this.acl.authenticate(latin1(user), pass);
    if (u === null) return false;
    c.user = u;
    c.authenticated = true;
    return true;
  }

  clientInfo(c: Client): string {
    const now = Date.now();
    const flags = c.pubsubFlag ? "P" : "N";
    const events = c.unsent || c.hasOutput() ? "rw" : "r";
    return (
      `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=${c.id + 7} name=${c.name ?? ""} age=${Math.floor((now - c.createdAt) / 1000)}` +
      ` idle=${Math.floor((now - c.lastInteraction) / 1000)} flags=${flags} db=0 sub=${c.channels.size} psub=${c.patterns.size}` +
      ` ssub=${c.shardChannels.size} multi=-1 qbuf=${c.parser.buffered} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0` +
      ` oll=0 omem=${c.outputBytes} tot-mem=${c.outputBytes + c.parser.buffered} events=${events} cmd=${c.lastCommand}` +
      ` user=${c.user.name} redir=-1 resp=${c.resp}`
    );
  }

  clientType(c: Client): string {
    return c.pubsubFlag ? "pubsub" : "normal";
  }

  info(section: string | null): string {
    const mem = process.memoryUsage();
    const up = Math.floor((Date.now() - this.startedAt) / 1000);
    const sections: Record<string, string[]> = {
      server: [
        `redis_version:${REDIS_VERSION}`,
        `notistream_version:${NOTISTREAM_VERSION}`,
        `redis_mode:standalone`,
        `os:${process.platform}`,
        `arch_bits:64`,
        `process_id:${process.pid}`,
        `tcp_port:${this.port}`,
        `uptime_in_seconds:${up}`,
        `uptime_in_days:${Math.floor(up / 86400)}`,
        `executable:bun`,
      ],
      clients: [
        `connected_clients:${this.clients.size}`,
        `maxclients:${this.opts.maxClients}`,
        `pubsub_clients:${[...this.clients.values()].filter((c) => c.pubsubFlag).length}`,
        `blocked_clients:${[...this.clients.values()].filter((c) => c.blocked).length}`,
      ],
      memory: [`used_memory:${mem.heapUsed}`, `used_memory_rss:${mem.rss}`, `maxmemory:0`],
      persistence: [`loading:0`, `async_loading:0`, `aof_enabled:0`, `notistream_history_file:${this.opts.dataPath}`, `notistream_history_fsync:${this.opts.fsync}`,
        // Like Redis's aof_last_write_status: err while the disk refuses writes (MISCONF), ok again after recovery.
        `notistream_history_last_write_status:${this.history.failure === null ? "ok" : "err"}`,
        `notistream_history_refused_replies:${this.stats.refusedWrites}`],
      stats: [
        `total_connections_received:${this.stats.connections}`,
        `total_commands_processed:${this.stats.commands}`,
        `rejected_connections:${this.stats.rejectedConnections}`,
        `pubsub_channels:${this.channels.size}`,
        `pubsub_patterns:${this.patterns.size}`,
        `pubsubshard_channels:${this.shardChannels.size}`,
        `total_published_messages:${this.stats.published}`,
        `total_delivered_messages:${this.stats.delivered}`,
        `client_output_buffer_limit_disconnections:${this.stats.outputLimitDisconnects}`,
      ],
      replication: [`role:master`, `connected_slaves:0`],
      keyspace: this.history.streams.size ? [`db0:keys=${this.history.streams.size},expires=0,avg_ttl=0`] : [],
    };
    const wanted = section === null || section === "default" || section === "all" || section === "everything" ? Object.keys(sections) : [section];
    const parts: string[] = [];
    for (const name of wanted) {
      const lines = sections[name];
      if (!lines) continue;
      parts.push(`# ${name[0]!.toUpperCase()}${name.slice(1)}\r\n` + lines.map((l) => `${l}\r\n`).join(""));
    }
    return parts.join("\r\n");
  }

  flushData(): void {
    this.history.flushAll();
  }

  killClient(c: Client): void {
    c.closeAfterReply = true;
    this.markDirty(c);
  }
}

// ----------------------------------------------------------------------------------------------
// The command table. Arity and names follow Redis 7.0.15's commands.c.

const COMMANDS = new Map<string, Command>();

/** Commands grouped by name length, so a lookup compares bytes case-insensitively without building a string. */
const BY_LENGTH: Command[][] = [];

/** Finds a command by its name's bytes (any case). The profile had lower-casing each name at 8% of PUBLISH. */
function findCommand(name: Uint8Array): Command | undefined {
  const candidates = BY_LENGTH[name.length];
  if (!candidates) return undefined;
  outer: for (const cmd of candidates) {
    const n = cmd.name;
    for (let i = 0; i < name.length; i++) {
      let b = name[i]!;
      if (b >= 65 && b <= 90) b |= 32;
      if (b !== n.charCodeAt(i)) continue outer;
    }
    return cmd;
  }
  return undefined;
}

function def(name: string, arity: number, handler: Handler, extra: Partial<Command> = {}): Command {
  const cmd: Command = { name, fullname: name, arity, handler, flags: [], ...extra };
  COMMANDS.set(name, cmd);
  return cmd;
}

function container(name: string, subs: [string, number, Handler, Partial<Command>?][], extra: Partial<Command> = {}): void {
  const sub = new Map<string, Command>();
  for (const [n, arity, handler, more] of subs) sub.set(n, { name: n, fullname: `${name}|${n}`, arity, handler, flags: [], ...more });
  COMMANDS.set(name, { name, fullname: name, arity: -2, sub, flags: [], ...extra });
}

const subscribeHandler = (shard: boolean): Handler => (s, c, argv) => {
  for (let i = 1; i < argv.length; i++) s.subscribe(c, argv[i]!, shard);
  c.pubsubFlag = true;
};
const unsubscribeHandler = (shard: boolean): Handler => (s, c, argv) => {
  if (argv.length === 1) s.unsubscribeAll(c, shard, true);
  else for (let i = 1; i < argv.length; i++) s.unsubscribe(c, latin1(argv[i]!), shard, true);
  s.updatePubsubFlag(c);
};

def("subscribe", -2, subscribeHandler(false), { inPubsub: true, flags: ["pubsub", "noscript", "loading", "stale"] });
def("ssubscribe", -2, subscribeHandler(true), { inPubsub: true, flags: ["pubsub", "noscript", "loading", "stale"] });
def("unsubscribe", -1, unsubscribeHandler(false), { inPubsub: true, flags: ["pubsub", "noscript", "loading", "stale"] });
def("sunsubscribe", -1, unsubscribeHandler(true), { inPubsub: true, flags: ["pubsub", "noscript", "loading", "stale"] });
def(
  "psubscribe",
  -2,
  (s, c, argv) => {
    for (let i = 1; i < argv.length; i++) s.psubscribe(c, argv[i]!);
    c.pubsubFlag = true;
  },
  { inPubsub: true, flags: ["pubsub", "noscript", "loading", "stale"] },
);
def(
  "punsubscribe",
  -1,
  (s, c, argv) => {
    if (argv.length === 1) s.punsubscribeAll(c, true);
    else for (let i = 1; i < argv.length; i++) s.punsubscribe(c, latin1(argv[i]!), true);
    s.updatePubsubFlag(c);
  },
  { inPubsub: true, flags: ["pubsub", "noscript", "loading", "stale"] },
);
def("publish", 3, (s, c, argv) => c.reply(enc.int(s.publish(argv[1]!, argv[2]!, false))), {
  flags: ["pubsub", "loading", "stale", "fast", "may_replicate"],
});
def("spublish", 3, (s, c, argv) => c.reply(enc.int(s.publish(argv[1]!, argv[2]!, true))), {
  flags: ["pubsub", "loading", "stale", "fast", "may_replicate"],
});

function channelList(s: PubSubServer, c: Client, argv: Uint8Array[], map: Map<string, Set<Client>>): void {
  const pat = argv.length === 3 ? latin1(argv[2]!) : null;
  const names = [...map.keys()].filter((ch) => pat === null || globMatch(pat, ch));
  c.reply(enc.array(names.length) + names.map(enc.bulk).join(""));
}
function numsub(c: Client, argv: Uint8Array[], map: Map<string, Set<Client>>): void {
  let out = enc.array((argv.length - 2) * 2);
  for (let i = 2; i < argv.length; i++) {
    const ch = latin1(argv[i]!);
    out += enc.bulk(ch) + enc.int(map.get(ch)?.size ?? 0);
  }
  c.reply(out);
}
const pubsubSyntax = (c: Client, argv: Uint8Array[]) =>
  c.reply(
    safeError(`unknown subcommand or wrong number of arguments for '${cString(argv[1]!).slice(0, 128)}'. Try ${cString(argv[0]!).toUpperCase()} HELP.`),
  );
container("pubsub", [
  ["channels", -2, (s, c, argv) => (argv.length <= 3 ? channelList(s, c, argv, s.channels) : pubsubSyntax(c, argv))],
  ["numsub", -2, (s, c, argv) => numsub(c, argv, s.channels)],
  ["numpat", 2, (s, c) => c.reply(enc.int(s.patterns.size))],
  ["shardchannels", -2, (s, c, argv) => (argv.length <= 3 ? channelList(s, c, argv, s.shardChannels) : pubsubSyntax(c, argv))],
  ["shardnumsub", -2, (s, c, argv) => numsub(c, argv, s.shardChannels)],
  [
    "help",
    2,
    (s, c, argv) =>
      c.reply(
        help(latin1(argv[0]!).toUpperCase(), [
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
        ]),
      ),
  ],
]);

def(
  "ping",
  -1,
  (s, c, argv) => {
    if (argv.length > 2) return c.reply(enc.error("wrong number of arguments for 'ping' command"));
    if (c.pubsubFlag && c.resp === 2) c.reply("*2\r\n$4\r\npong\r\n" + (argv.length === 1 ? "$0\r\n\r\n" : enc.bulkBytes(argv[1]!)));
    else c.reply(argv.length === 1 ? "+PONG\r\n" : enc.bulkBytes(argv[1]!));
  },
  { inPubsub: true, flags: ["fast", "sentinel"] },
);
def("echo", 2, (s, c, argv) => c.reply(enc.bulkBytes(argv[1]!)), { flags: ["loading", "stale", "fast"] });
def(
  "quit",
  -1,
  (s, c) => {
    c.reply("+OK\r\n");
    c.closeAfterReply = true;
  },
  { noAuth: true, inPubsub: true, flags: ["allow_busy", "noscript", "loading", "stale", "fast", "no_auth"] },
);
def(
  "reset",
  1,
  (s, c) => {
    c.resp = 2;
    s.startAnonymous(c);
    s.dropSubscriptions(c);
    c.name = null;
    c.pubsubFlag = false;
    c.replyOff = false;
    c.replySkip = false;
    c.replySkipNext = false;
    c.reply("+RESET\r\n");
  },
  { noAuth: true, inPubsub: true, flags: ["noscript", "loading", "stale", "fast", "no_auth"] },
);
def(
  "select",
  2,
  (s, c, argv) => {
    const id = strictInt(argv[1]!);
    if (id === null) return c.reply(enc.error("value is not an integer or out of range"));
    if (id < -2147483648 || id > 2147483647) return c.reply(enc.error("value is out of range, value must between -2147483648 and 2147483647"));
    c.reply(id === 0 ? "+OK\r\n" : enc.error("DB index is out of range"));
  },
  { flags: ["loading", "stale", "fast"] },
);

function validName(b: Uint8Array): boolean {
  for (const ch of b) if (ch < 33 || ch > 126) return false;
  return true;
}

def(
  "auth",
  -2,
  (s, c, argv) => {
    if (argv.length > 3) return c.reply(enc.error(SYNTAX_ERR));
    let user: Uint8Array;
    let pass: Uint8Array;
    if (argv.length === 2) {
      if (s.defaultUserNopass)
        return c.reply(
          enc.error(
            "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
          ),
        );
      user = Buffer.from("default");
      pass = argv[1]!;
    } else {
      user = argv[1]!;
      pass = argv[2]!;
    }
    if (s.logIn(c, user, pass)) {
      c.reply("+OK\r\n");
    } else c.reply("-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  },
  { noAuth: true, flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"] },
);

def(
  "hello",
  -1,
  (s, c, argv) => {
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
        if (!s.logIn(c, argv[j + 1]!, argv[j + 2]!))
          return c.reply("-WRONGPASS invalid username-password pair or user is disabled.\r\n");
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
    if (ver) c.resp = ver as Proto;
    c.reply(
      enc.map(7, c.resp) +
        enc.bulk("server") +
        enc.bulk("redis") +
        enc.bulk("version") +
        enc.bulk(REDIS_VERSION) +
        enc.bulk("proto") +
        enc.int(c.resp) +
        enc.bulk("id") +
        enc.int(c.id) +
        enc.bulk("mode") +
        enc.bulk("standalone") +
        enc.bulk("role") +
        enc.bulk("master") +
        enc.bulk("modules") +
        enc.array(0),
    );
  },
  { noAuth: true, flags: ["noscript", "loading", "stale", "fast", "no_auth", "sentinel", "allow_busy"] },
);

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

function clientKill(s: PubSubServer, c: Client, argv: Uint8Array[]): void {
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
    let i = 2;
    while (i < argv.length) {
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
        if (!s.hasUser(user)) return c.reply(safeError(`No such user '${user}'`));
      } else if (eqi(opt, "skipme") && more) {
        if (eqi(val, "yes")) skipme = true;
        else if (eqi(val, "no")) skipme = false;
        else return c.reply(enc.error(SYNTAX_ERR));
      } else return c.reply(enc.error(SYNTAX_ERR));
      i += 2;
    }
  } else return c.reply(enc.error(SYNTAX_ERR));
  let killed = 0;
  let self = false;
  for (const other of [...s.clients.values()]) {
    if (addr !== null && other.addr !== addr) continue;
    if (laddr !== null && other.laddr !== laddr) continue;
    if (type !== null && s.clientType(other) !== type) continue;
    if (id !== 0 && other.id !== id) continue;
    if (user !== null && other.user.name !== user) continue;
    if (c === other && skipme) continue;
    if (c === other) self = true;
    else {
      s.freeClient(other);
      other.socket.end();
    }
    killed++;
  }
  if (argv.length === 3) c.reply(killed === 0 ? enc.error("No such client") : "+OK\r\n");
  else c.reply(enc.int(killed));
  if (self) s.killClient(c);
}

container(
  "client",
  [
    ["id", 2, (s, c) => c.reply(enc.int(c.id))],
    ["info", 2, (s, c) => c.reply(enc.verbatim(s.clientInfo(c) + "\n", c.resp))],
    [
      "list",
      -2,
      (s, c, argv) => {
        let list = [...s.clients.values()];
        if (argv.length === 4 && eqi(argv[2], "type")) {
          const type = CLIENT_TYPES[lower(argv[3]!)];
          if (!type) return c.reply(safeError(`Unknown client type '${cString(argv[3]!)}'`));
          list = list.filter((o) => s.clientType(o) === type);
        } else if (argv.length > 3 && eqi(argv[2], "id")) {
          const picked: Client[] = [];
          for (let j = 3; j < argv.length; j++) {
            const id = strictInt(argv[j]!);
            if (id === null) return c.reply(enc.error("Invalid client ID"));
            const o = s.clients.get(id);
            if (o) picked.push(o);
          }
          list = picked;
        } else if (argv.length !== 2) return c.reply(enc.error(SYNTAX_ERR));
        c.reply(enc.verbatim(list.map((o) => s.clientInfo(o) + "\n").join(""), c.resp));
      },
    ],
    ["kill", -3, clientKill],
    [
      "setname",
      3,
      (s, c, argv) => {
        const n = argv[2]!;
        if (!validName(n)) return c.reply(enc.error("Client names cannot contain spaces, newlines or special characters."));
        c.name = n.length ? latin1(n) : null;
        c.reply("+OK\r\n");
      },
    ],
    ["getname", 2, (s, c) => c.reply(c.name === null ? enc.null(c.resp) : enc.bulk(c.name))],
    [
      // CLIENT SETINFO arrived in Redis 7.2; 7.0.15 does not have it. We follow 7.2 so node-redis and redis-py can tag connections.
      "setinfo",
      4,
      (s, c, argv) => {
        const attr = lower(argv[2]!);
        const val = argv[3]!;
        if (attr !== "lib-name" && attr !== "lib-ver") return c.reply(safeError(`Unrecognized option '${cString(argv[2]!)}'`));
        for (const ch of val)
          if (ch < 33 || ch > 126)
            return c.reply(enc.error(`${attr} cannot contain spaces, newlines or special characters.`));
        if (attr === "lib-name") c.libName = latin1(val);
        else c.libVer = latin1(val);
        c.reply("+OK\r\n");
      },
    ],
    [
      "reply",
      3,
      (s, c, argv) => {
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
      },
    ],
    ["help", 2, (s, c, argv) => c.reply(help(latin1(argv[0]!).toUpperCase(), CLIENT_HELP))],
  ],
  { flags: ["sentinel"] },
);

def(
  "info",
  -1,
  (s, c, argv) => {
    // Redis 7 takes several section names; unknown ones add nothing.
    let text: string;
    if (argv.length === 1) text = s.info(null);
    else {
      const seen = new Set<string>();
      const parts: string[] = [];
      for (let i = 1; i < argv.length; i++) {
        const name = lower(argv[i]!);
        if (seen.has(name)) continue;
        seen.add(name);
        const t = s.info(name);
        if (t) parts.push(t);
      }
      text = parts.join("\r\n");
    }
    c.reply(enc.verbatim(text, c.resp));
  },
  { flags: ["loading", "stale", "sentinel"] },
);

def(
  "flushall",
  -1,
  (s, c, argv) => {
    if (argv.length === 1 || (argv.length === 2 && (eqi(argv[1], "sync") || eqi(argv[1], "async")))) {
      s.flushData();
      c.reply("+OK\r\n");
    } else c.reply(enc.error(SYNTAX_ERR));
  },
  { flags: ["write"], writes: true },
);
container("function", [
  [
    "flush",
    -2,
    (s, c, argv) => {
      if (argv.length > 3)
        return c.reply(safeError(`unknown subcommand or wrong number of arguments for '${cString(argv[1]!)}'. Try FUNCTION HELP.`));
      if (argv.length === 3 && !eqi(argv[2], "sync") && !eqi(argv[2], "async"))
        return c.reply(enc.error("FUNCTION FLUSH only supports SYNC|ASYNC option"));
      c.reply("+OK\r\n"); // no functions exist, so there is nothing to drop
    },
  ],
]);

function commandInfo(cmd: Command): string {
  const subs = cmd.sub ? [...cmd.sub.values()] : [];
  return (
    enc.array(10) +
    enc.bulk(cmd.fullname) +
    enc.int(cmd.arity) +
    enc.array(cmd.flags.length) +
    cmd.flags.map(enc.simple).join("") +
    enc.int(0) +
    enc.int(0) +
    enc.int(0) +
    enc.array(0) +
    enc.array(0) +
    enc.array(0) +
    enc.array(subs.length) +
    subs.map(commandInfo).join("")
  );
}
container(
  "command",
  [
    ["count", 2, (s, c) => c.reply(enc.int(COMMANDS.size))],
    ["list", -2, (s, c) => c.reply(enc.array(COMMANDS.size) + [...COMMANDS.keys()].map(enc.bulk).join(""))],
    [
      "info",
      -2,
      (s, c, argv) => {
        const names = argv.length === 2 ? [...COMMANDS.keys()] : argv.slice(2).map(lower);
        c.reply(enc.array(names.length) + names.map((n) => (COMMANDS.has(n) ? commandInfo(COMMANDS.get(n)!) : enc.null(c.resp))).join(""));
      },
    ],
  ],
  { flags: ["loading", "stale", "sentinel"] },
);
// COMMAND alone lists every command's info (arity -1 on the container in Redis).
COMMANDS.get("command")!.arity = -1;
COMMANDS.get("command")!.handler = (s, c) => c.reply(enc.array(COMMANDS.size) + [...COMMANDS.values()].map(commandInfo).join(""));

container(
  "acl",
  [
    ["whoami", 2, (s, c) => c.reply(enc.bulk(c.user.name))],
    [
      "load",
      2,
      (s, c) => {
        const err = s.reloadAcl(c);
        c.reply(err === null ? "+OK\r\n" : safeError(err));
      },
    ],
  ],
  { flags: ["noscript", "loading", "stale", "sentinel"] },
);

for (const k of KEYSPACE_COMMANDS) def(k.name, k.arity, (s, c, argv) => k.handler(s, c, argv), { flags: k.flags, writes: k.flags.includes("write") });

for (const cmd of COMMANDS.values()) (BY_LENGTH[cmd.name.length] ??= []).push(cmd);

// ----------------------------------------------------------------------------------------------
// The command line.

const FLAGS: FlagSpec[] = [
  { name: "host", env: "NOTISTREAM_PUBSUB_HOST", help: "listen address", default: DEFAULTS.host },
  { name: "port", env: "NOTISTREAM_PUBSUB_PORT", help: "listen port (0 picks a free one)", default: String(DEFAULTS.port) },
  { name: "password", env: "NOTISTREAM_PASSWORD", help: "require AUTH / HELLO AUTH with this password" },
  { name: "acl", env: "NOTISTREAM_ACL", help: "users, hashed passwords and channel rights, in Redis's aclfile syntax (see README: Security)" },
  { name: "maxclients", env: "NOTISTREAM_MAXCLIENTS", help: "most connected clients", default: String(DEFAULTS.maxClients) },
  { name: "proto-max-bulk-len", env: "NOTISTREAM_PROTO_MAX_BULK_LEN", help: "largest bulk string accepted, in bytes", default: String(DEFAULTS.maxBulk) },
  { name: "data", env: "NOTISTREAM_DATA", help: "history database file", default: DEFAULTS.dataPath },
  { name: "tls-port", env: "NOTISTREAM_TLS_PORT", help: "port for RESP over TLS (needs --tls-cert and --tls-key)", default: "6380" },
  { name: "tls-cert", env: "NOTISTREAM_TLS_CERT", help: "PEM certificate file for TLS" },
  { name: "tls-key", env: "NOTISTREAM_TLS_KEY", help: "PEM private key file for TLS" },
  { name: "conn-rate-limit", env: "NOTISTREAM_CONN_RATE_LIMIT", help: "new connections per second per client IP, burst twice that (0: no limit)", default: "0" },
  { name: "appendfsync", env: "NOTISTREAM_APPENDFSYNC", help: "when history reaches the disk: everysec (fsync once a second) or always (every write)", default: DEFAULTS.fsync },
  { name: "history-max-age", env: "NOTISTREAM_HISTORY_MAX_AGE", help: "drop history older than this many seconds (0: never)", default: String(DEFAULTS.historyMaxAgeMs / 1000) },
  {
    name: "pubsub-output-limit",
    env: "NOTISTREAM_PUBSUB_OUTPUT_LIMIT",
    help: "disconnect a subscriber whose unread output passes <hard> bytes, or stays over <soft> bytes for <seconds>",
    default: `${DEFAULTS.outputHard} ${DEFAULTS.outputSoft} ${DEFAULTS.outputSoftSeconds}`,
  },
];

export async function main(argv: string[]): Promise<void> {
  const flags = parseFlags("bun pubsub.ts", "The Notistream pub/sub server: speaks Redis 7's Pub/Sub protocol (RESP2 and RESP3).", FLAGS, argv);
  const port = intFlag("pubsub", flags, "port", 0, 65535);
  const maxClients = intFlag("pubsub", flags, "maxclients", 1, 10_000_000);
  const maxBulk = intFlag("pubsub", flags, "proto-max-bulk-len", 1, 2 ** 53);
  const limit = (flags["pubsub-output-limit"] ?? "").trim().split(/\s+/).map(Number);
  if (limit.length !== 3 || limit.some((n) => !Number.isInteger(n) || n < 0)) {
    console.error(`pubsub: --pubsub-output-limit takes three whole numbers, "<hard bytes> <soft bytes> <soft seconds>", got ${JSON.stringify(flags["pubsub-output-limit"])}`);
    process.exit(2);
  }
  const [outputHard, outputSoft, outputSoftSeconds] = limit as [number, number, number];
  const fsync = flags.appendfsync;
  if (fsync !== "everysec" && fsync !== "always") {
    console.error(`pubsub: --appendfsync must be everysec or always, got ${JSON.stringify(fsync)}`);
    process.exit(2);
  }
  const historyMaxAgeMs = intFlag("pubsub", flags, "history-max-age", 0, 100 * 365 * 86400) * 1000;
  const connRateLimit = intFlag("pubsub", flags, "conn-rate-limit", 0, 10_000_000);
  const tls = loadTls("pubsub", flags, intFlag("pubsub", flags, "tls-port", 0, 65535));
  const acl = loadAcl("pubsub", flags.acl, flags.password, "--password");
  let server: PubSubServer;
  try {
    server = new PubSubServer({ host: flags.host!, port, password: flags.password, acl, aclPath: flags.acl, maxClients, maxBulk, outputHard, outputSoft, outputSoftSeconds, dataPath: flags.data!, fsync, historyMaxAgeMs, connRateLimit, tls });
  } catch (err) {
    console.error(`pubsub: cannot open the history database ${flags.data}: ${(err as Error).message}`);
    process.exit(1);
  }
  await listenOrExit("pubsub", flags.host!, port, () => server.start());
  const fdWarning = fdLimitWarning("pubsub", maxClients);
  if (fdWarning) console.warn(fdWarning);
  if (acl) {
    console.log(`pubsub: ${aclSummary(acl)} (${flags.acl}); ACL LOAD or SIGHUP reads it again`);
    reloadAclOnHup("pubsub", () => server.reloadAcl(null));
  }
  else if (flags.password === undefined)
    console.warn("pubsub: warning: no password set, so anyone who can reach this port can subscribe and publish; set --password or NOTISTREAM_PASSWORD");
  const kept = [...server.history.streams.values()].reduce((n, st) => n + st.length, 0);
  console.log(`pubsub: history in ${flags.data} (${server.history.streams.size} streams, ${kept} entries, appendfsync ${fsync})`);
  if (server.tlsPort !== null) console.log(`pubsub: listening for TLS on rediss://${flags.host}:${server.tlsPort}`);
  console.log(`pubsub: listening on redis://${flags.host}:${server.port} (Redis ${REDIS_VERSION} protocol, pid ${process.pid})`);
  exitOnSignals(() => server.stop());
}

if (import.meta.main) await main(process.argv.slice(2));
