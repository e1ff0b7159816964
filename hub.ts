// hub.ts — one shared RESP subscription per web server: channels are subscribed while any HTTP listener wants
// them, every message fans out to all of that channel's listeners, and the link reconnects by itself.
import { ReplyParser, encodeCommand, type Reply } from "./resp";

export type HubListener = {
  message: (channel: string, payload: string) => void;
  /** The subscription was (re)established: the listener catches up from history for anything it missed. */
  resubscribed: () => void;
};

const text = (r: Reply | undefined): string => (r && r.type === "bulk" && r.value ? Buffer.from(r.value).toString("utf8") : "");

export class Hub {
  private readonly listeners = new Map<string, Set<HubListener>>();
  /** Channels whose SUBSCRIBE the current connection has confirmed. */
  private confirmed = new Set<string>();
  private socket: Awaited<ReturnType<typeof Bun.connect>> | null = null;
  private connecting = false;
  private closed = false;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private readonly host: string;
  private readonly port: number;
  private readonly password: string | undefined;
  /** The ACL user from redis://user:password@host (none means "default"). */
  private readonly user: string | undefined;
  private readonly tls: boolean;

  constructor(
    url: string,
    private readonly ca?: string,
  ) {
    const u = new URL(url);
    this.host = u.hostname;
    this.port = Number(u.port || 6379);
    this.password = u.password ? decodeURIComponent(u.password) : undefined;
    this.user = u.username ? decodeURIComponent(u.username) : undefined;
    this.tls = u.protocol === "rediss:";
  }

  /** Listens to `channel` until the returned function is called. The first listener subscribes. */
  watch(channel: string, l: HubListener): () => void {
    let set = this.listeners.get(channel);
    if (!set) {
      this.listeners.set(channel, (set = new Set()));
      this.socket?.write(encodeCommand(["SUBSCRIBE", channel]));
    }
    set.add(l);
    // Already live: the newcomer can catch up now; otherwise it will when the SUBSCRIBE is confirmed.
    if (this.confirmed.has(channel)) queueMicrotask(() => l.resubscribed());
    this.ensureConnected();
    return () => {
      const s = this.listeners.get(channel);
      if (!s) return;
      s.delete(l);
      if (s.size === 0) {
        this.listeners.delete(channel);
        this.confirmed.delete(channel);
        this.socket?.write(encodeCommand(["UNSUBSCRIBE", channel]));
      }
    };
  }

  /** How many channels the one shared connection is subscribed to (for tests and /health). */
  get channelCount(): number {
    return this.listeners.size;
  }

  get connected(): boolean {
    return this.socket !== null;
  }

  private ensureConnected(): void {
    if (this.socket || this.connecting || this.closed || this.retry) return;
    this.connecting = true;
    const parser = new ReplyParser();
    this.confirmed = new Set();
    Bun.connect({
      hostname: this.host,
      port: this.port,
      tls: this.tls ? (this.ca ? { ca: this.ca } : true) : undefined,
      socket: {
        open: (socket) => {
          this.connecting = false;
          this.socket = socket;
          const out: Uint8Array[] = [];
          if (this.password !== undefined) out.push(encodeCommand(this.user ? ["AUTH", this.user, this.password] : ["AUTH", this.password]));
          if (this.listeners.size) out.push(encodeCommand(["SUBSCRIBE", ...this.listeners.keys()]));
          if (out.length) socket.write(Buffer.concat(out));
        },
        data: (_s, chunk) => {
          parser.push(chunk);
          for (let r = parser.next(); r; r = parser.next()) {
            if (r.type !== "array" || !r.value) continue;
            const kind = text(r.value[0]);
            if (kind === "message") {
              const ch = text(r.value[1]);
              const payload = text(r.value[2]);
              for (const l of this.listeners.get(ch) ?? []) l.message(ch, payload);
            } else if (kind === "subscribe") {
              this.failures = 0;
              const ch = text(r.value[1]);
              if (!this.confirmed.has(ch) && this.listeners.has(ch)) {
                this.confirmed.add(ch);
                for (const l of this.listeners.get(ch) ?? []) l.resubscribed();
              }
            }
          }
        },
        close: () => this.lost(),
        error: () => this.lost(),
        connectError: () => this.lost(),
      },
    }).catch(() => this.lost());
  }

  private lost(): void {
    this.socket = null;
    this.confirmed = new Set();
    this.connecting = false;
    if (this.closed || this.retry) return;
    // Back off a little while the pub/sub server is away; listeners catch up once it is back.
    const delay = Math.min(5000, 250 * 2 ** Math.min(this.failures++, 5));
    this.retry = setTimeout(() => {
      this.retry = null;
      if (this.listeners.size) this.ensureConnected();
    }, delay);
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.socket?.end();
  }
}
