// link.ts — the client side of one RESP connection (backend.ts's one node, the client's setup check): connect (TCP or TLS),
// HELLO 3 with AUTH, commands written once per turn, replies matched in order, keepalive, one backoff policy, errors sorted.
import { readFileSync } from "node:fs";
import type { Socket } from "bun";
import { ReplyParser, bulkText, encodeCommandText, type Reply } from "./resp";
import { SINGLE_NODE, layoutFromInfo, type Layout } from "./layout";

export type LinkOptions = {
  host: string;
  port: number;
  /** The ACL user; without one a password is the default user's. */
  user?: string;
  password?: string;
  tls?: boolean;
  /** A PEM CA to trust with TLS, as text or as a file path (caFile). */
  ca?: string;
  caFile?: string;
};

/** LinkOptions from redis://[user:password@]host:port or rediss://. */
export function linkOptionsFromUrl(url: string, ca?: string): LinkOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    password: u.password ? decodeURIComponent(u.password) : undefined,
    user: u.username ? decodeURIComponent(u.username) : undefined,
    tls: u.protocol === "rediss:",
    ca,
  };
}

/** Keepalive, connect deadline, and the backoff: a connection up for `stableMs` resets it; `backoffCapMs` caps it. */
export type Timing = { pingIntervalMs: number; pingTimeoutMs: number; stableMs: number; connectTimeoutMs: number; backoffCapMs: number };
export const DEFAULT_TIMING: Timing = { pingIntervalMs: 30_000, pingTimeoutMs: 10_000, stableMs: 30_000, connectTimeoutMs: 10_000, backoffCapMs: 30_000 };

/** Exponential backoff with full jitter: a random delay in [0, min(cap, base * 2^attempt)], at least 100 ms. */
export function backoffDelay(attempt: number, random = Math.random, baseMs = 500, capMs = 30_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.max(100, Math.floor(random() * ceiling));
}

/**
 * Why a connection failed. `fatal` ones will not fix themselves by retrying (a wrong password, missing rights, a
 * peer that is not a RESP server, a name that does not resolve, a certificate that is not trusted); `transient`
 * ones may (refused, reset, a timeout, the server going away).
 */
export type LinkFailure = { fatal: boolean; code: string; reason: string };

const FATAL_REPLIES = ["WRONGPASS", "NOAUTH", "NOPERM"];
const TRANSIENT_SOCKET = ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ECONNABORTED"];

const SERVER_SAID = "the server said: ";

/** Sorts an error reply (e.g. "-WRONGPASS …") into fatal or transient. */
export function failureFromReply(text: string): LinkFailure {
  const code = text.split(" ", 1)[0]!.replace(/^-/, "");
  return { fatal: FATAL_REPLIES.includes(code), code, reason: `${SERVER_SAID}${text}` };
}

/**
 * The part of a failure's reason that anyone may be shown: the server's own error reply (Redis's words name no
 * address or user), or null when the reason is about sockets, hosts or files (those stay in the log).
 */
export function serverReplyIn(reason: string): string | null {
  return reason.startsWith(SERVER_SAID) ? reason.slice(SERVER_SAID.length) : null;
}

/** Sorts a socket error into fatal or transient. */
export function failureFromError(err: { code?: string; message: string }, where: string): LinkFailure {
  const code = err.code ?? "ERROR";
  if (code === "ENOTFOUND") return { fatal: true, code, reason: `the host name in ${where} does not resolve (${err.message})` };
  if (TRANSIENT_SOCKET.includes(code)) return { fatal: false, code, reason: `cannot reach ${where} (${err.message})` };
  // Certificates: a server whose certificate we do not trust stays untrusted however often we try.
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|TLS|SSL/i.test(code + err.message)) return { fatal: true, code, reason: `TLS with ${where} failed: ${err.message}` };
  return { fatal: false, code, reason: `${where}: ${err.message}` };
}

/** What the bytes from a peer that is not a RESP server look like, in words. */
export function notRespFailure(first: Uint8Array, where: string): LinkFailure {
  const head = Buffer.from(first.subarray(0, 16)).toString("latin1");
  const what = head.startsWith("HTTP/") ? "it looks like an HTTP server (the web server?), not the pub/sub server" : "it does not speak the Redis protocol (RESP)";
  return { fatal: true, code: "NOTRESP", reason: `${where} answered with ${JSON.stringify(head)}: ${what}` };
}

export type LinkEvents = {
  /** Logged in and ready: the owner (re)subscribes and catches up. */
  ready: () => void;
  /** A RESP3 push: a message, or a (un)subscribe confirmation. */
  push: (items: Reply[]) => void;
  /** The connection ended (not after stop()); it is tried again in `retryInMs`. */
  down: (failure: LinkFailure, retryInMs: number) => void;
  /** An error reply no command was waiting for (a refused SUBSCRIBE, say); the connection stays up. */
  refused?: (failure: LinkFailure) => void;
};

/** Commands answered by one push per argument (or one error), not by a reply. */
const SUBSCRIBING = new Set(["SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"]);
type Waiting = { onReply: (r: Reply) => void; onFail?: (f: LinkFailure) => void } | { pushes: number };

/** One connection attempt's own state: its parser and timers, and whether it has ended (a later one has its own). */
type Attempt = {
  ended: boolean;
  /** No byte has come yet: the first one says whether the peer speaks RESP at all. */
  first: boolean;
  parser: ReplyParser;
  connectTimer?: ReturnType<typeof setTimeout>;
  pingTimer?: ReturnType<typeof setInterval>;
  pongDeadline?: ReturnType<typeof setTimeout>;
};

/** A command's failure as an Error: the connection ended or was not up (`failure`), or the server answered `-…` (`reply`). */
export class LinkError extends Error {
  constructor(
    message: string,
    readonly failure: LinkFailure | null,
    readonly reply: string | null = null,
  ) {
    super(message);
  }
}

/** One RESP connection that keeps itself up: connects, logs in, pings, and comes back after a break. */
export class Link {
  private socket: Socket<undefined> | null = null;
  private stopped = false;
  private attempt = 0;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private readyAt = 0;
  /** What each command sent on this connection waits for, in order. */
  private waiting: Waiting[] = [];
  private lastFailure: LinkFailure | null = null;
  /** Commands encoded this turn, UTF-8 encoded and written together by `flush` (one write per turn, not per command). */
  private out = "";
  private flushQueued = false;
  /** The socket took less than it was given: `rest` waits for `drain`, and nothing else is written before it. */
  private blocked = false;
  private rest: Uint8Array | null = null;
  /** Ends the current connection with a reason (set while one exists). */
  private endCurrent: ((failure: LinkFailure) => void) | null = null;
  readonly where: string;

  constructor(
    private readonly opts: LinkOptions,
    private readonly on: LinkEvents,
    private readonly timing: Timing = DEFAULT_TIMING,
  ) {
    this.where = `${opts.host}:${opts.port}`;
  }

  /** Logged in and able to take commands. */
  get ready(): boolean {
    return this.readyAt > 0;
  }

  /** Why the last connection ended, until the next one is ready. */
  get failure(): LinkFailure | null {
    return this.lastFailure;
  }

  start(): void {
    this.stopped = false;
    // A connection under way (no socket yet, but its end is set) is not made twice: the hub calls start() per listener.
    if (!this.socket && !this.retry && !this.endCurrent) this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.socket?.end();
  }

  /**
   * Sends a command; `onReply` gets its reply, or `onFail` the failure if the connection ends first. A subscribing
   * command's pushes go to `push` instead. Not ready: nothing is sent and `onFail` is called at once.
   */
  send(args: string[], onReply?: (r: Reply) => void, onFail?: (f: LinkFailure) => void): void {
    if (!this.socket || !this.ready) return onFail?.(this.lastFailure ?? { fatal: false, code: "NOTREADY", reason: `not connected to ${this.where} yet` });
    this.waiting.push(SUBSCRIBING.has(args[0]!.toUpperCase()) ? { pushes: Math.max(1, args.length - 1) } : { onReply: onReply ?? (() => {}), onFail });
    this.out += encodeCommandText(args);
    // Many requests in one turn send one segment: setImmediate runs after this turn's socket events.
    if (!this.flushQueued && !this.blocked) {
      this.flushQueued = true;
      setImmediate(this.flush);
    }
  }

  /** A command's reply; an error reply or a lost connection rejects with a LinkError. */
  call(args: string[]): Promise<Reply> {
    return new Promise((resolve, reject) =>
      this.send(
        args,
        (r) => (r.type === "error" ? reject(new LinkError(r.value, null, r.value)) : resolve(r)),
        (f) => reject(new LinkError(f.reason, f)),
      ),
    );
  }

  /** Down and waiting out a backoff delay: try now instead (a request is waiting for the connection). */
  connectNow(): void {
    if (this.stopped || this.socket || !this.retry) return;
    clearTimeout(this.retry);
    this.retry = null;
    this.connect();
  }

  /** Ends the current connection now, with this reason (a watchdog that saw no reply in time). */
  abort(failure: LinkFailure): void {
    this.endCurrent?.(failure);
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    const socket = this.socket;
    if (!socket || this.blocked || (this.out === "" && !this.rest)) return;
    const bytes = this.rest ? (this.out ? Buffer.concat([this.rest, Buffer.from(this.out)]) : this.rest) : Buffer.from(this.out);
    this.out = "";
    this.rest = null;
    const written = socket.write(bytes);
    if (written < bytes.length) {
      // Backpressure: keep the rest (a view, not a copy) and write it when the socket drains.
      this.rest = bytes.subarray(Math.max(0, written));
      this.blocked = true;
    }
  };

  /** Asks the server whether it is a Redis Cluster node (INFO cluster); an error reply (INFO not allowed) means one node. */
  askLayout(then: (layout: Layout) => void): void {
    this.send(["INFO", "cluster"], (r) => then(r.type === "bulk" ? layoutFromInfo(bulkText(r)) : SINGLE_NODE));
  }

  private connect(): void {
    const attempt: Attempt = { ended: false, first: true, parser: new ReplyParser() };
    this.waiting = [];
    const end = (failure: LinkFailure) => this.end(attempt, failure);
    this.endCurrent = end;
    attempt.connectTimer = setTimeout(() => end({ fatal: false, code: "ETIMEDOUT", reason: `no connection to ${this.where} within ${this.timing.connectTimeoutMs / 1000} s` }), this.timing.connectTimeoutMs);
    let ca: string | undefined;
    try {
      ca = this.opts.ca ?? (this.opts.caFile ? readFileSync(this.opts.caFile, "utf8") : undefined);
    } catch (err) {
      queueMicrotask(() => end({ fatal: true, code: "CAFILE", reason: `cannot read the CA file ${this.opts.caFile}: ${(err as Error).message}` }));
      return;
    }
    Bun.connect({
      hostname: this.opts.host,
      port: this.opts.port,
      tls: this.opts.tls ? (ca ? { ca } : true) : undefined,
      socket: {
        open: (socket) => this.opened(socket, attempt, end),
        data: (_socket, chunk) => {
          // HELLO's answer starts with % or * (RESP3 or RESP2 map), or - (an error); anything else is not a RESP server.
          if (attempt.first && !"%*-".includes(String.fromCharCode(chunk[0] ?? 0))) return end(notRespFailure(chunk, this.where));
          attempt.first = false;
          attempt.parser.push(chunk);
          try {
            for (let r = attempt.parser.next(); r && !attempt.ended; r = attempt.parser.next()) this.onReply(r);
          } catch (err) {
            end({ fatal: true, code: "NOTRESP", reason: `${this.where} sent something that is not RESP (${(err as Error).message})` });
          }
        },
        drain: () => {
          this.blocked = false;
          this.flush();
        },
        close: () => end({ fatal: false, code: "ECONNRESET", reason: `${this.where} closed the connection` }),
        error: (_socket, err) => end(failureFromError(err, this.where)),
        connectError: (_socket, err) => end(failureFromError(err, this.where)),
      },
    }).catch((err: Error) => end(failureFromError(err, this.where)));
  }

  /** The socket is open: log in with HELLO 3 (AUTH when there is a password), and start the keepalive. */
  private opened(socket: Socket<undefined>, attempt: Attempt, end: (failure: LinkFailure) => void): void {
    // The connect timer runs on until HELLO is answered: a server that accepts and then says nothing (stopped
    // with SIGSTOP: the kernel still accepts) must fail within the timeout too.
    if (this.stopped) return void socket.end();
    this.socket = socket;
    this.waiting.push({
      onReply: (r) => {
        clearTimeout(attempt.connectTimer);
        if (r.type === "error") return end(failureFromReply(r.value));
        this.readyAt = Date.now();
        this.lastFailure = null;
        this.on.ready();
      },
    });
    const { user, password } = this.opts;
    socket.write(Buffer.from(encodeCommandText(["HELLO", "3", ...(password !== undefined ? ["AUTH", user ?? "default", password] : [])])));
    // Keepalive: a sleeping laptop or a dropped NAT mapping shows up as a PING with no answer.
    attempt.pingTimer = setInterval(() => {
      if (!this.ready) return;
      this.send(["PING"], () => clearTimeout(attempt.pongDeadline));
      clearTimeout(attempt.pongDeadline);
      attempt.pongDeadline = setTimeout(() => end({ fatal: false, code: "ETIMEDOUT", reason: `no reply to PING within ${this.timing.pingTimeoutMs / 1000} s` }), this.timing.pingTimeoutMs);
    }, this.timing.pingIntervalMs);
  }

  /** A reply or a push from the server: pushes go to the owner, replies to the command waiting at the head. */
  private onReply(r: Reply): void {
    if (r.type === "push") {
      const head = this.waiting[0];
      if (head && "pushes" in head && /subscribe$/i.test(bulkText(r.value[0])) && --head.pushes === 0) this.waiting.shift();
      this.on.push(r.value);
      return;
    }
    const head = this.waiting.shift();
    if (head && "onReply" in head) return head.onReply(r);
    // An error for a subscribing command (or for nothing): the connection goes on, the owner decides.
    if (r.type === "error") this.on.refused?.(failureFromReply(r.value));
  }

  /** Ends `attempt`'s connection once: its timers stop, waiting commands fail, and (unless stopped) a retry is planned. */
  private end(attempt: Attempt, failure: LinkFailure): void {
    if (attempt.ended) return;
    attempt.ended = true;
    this.endCurrent = null;
    clearTimeout(attempt.connectTimer);
    clearInterval(attempt.pingTimer);
    clearTimeout(attempt.pongDeadline);
    const socket = this.socket;
    this.socket = null;
    socket?.terminate();
    // A connection that lasted a while was healthy: the backoff starts again from the bottom.
    if (this.readyAt && Date.now() - this.readyAt >= this.timing.stableMs) this.attempt = 0;
    this.readyAt = 0;
    const failed = this.waiting;
    this.waiting = [];
    // The unsent output goes with the connection (a new one starts empty: send() writes only while ready).
    this.out = "";
    this.rest = null;
    this.blocked = false;
    this.lastFailure = failure;
    for (const w of failed) if ("onFail" in w) w.onFail?.(failure);
    if (this.stopped) return; // a stop() asked for is no failure and is not retried
    const delay = backoffDelay(this.attempt++, Math.random, 500, this.timing.backoffCapMs);
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.stopped) this.connect();
    }, delay);
    this.on.down(failure, delay);
  }
}
