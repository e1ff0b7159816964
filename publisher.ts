// publisher.ts — publishing a notification: XADD to the channel's history, then PUBLISH the envelope, over one RESP
// connection (Bun's RedisClient) that is made again whenever it breaks; failures become Unavailable (503).
import { RedisClient } from "bun";
import { buildEnvelope, envelopeFields, historyKey, type Notification } from "./message";

const PUBLISH_TIMEOUT_MS = 5000;

/** The pub/sub server could not take the message: the caller answers 503. */
export class Unavailable extends Error {}

/** A redis URL safe to print: the password is replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString().replace(/\/$/, "");
  } catch {
    return "(unparsable URL)";
  }
}

export type Published = { id: string; channel: string; receivers: number };

export class Publisher {
  private client: RedisClient | null = null;
  /** Calls in flight and when they started: one watchdog timer fails those that take too long. */
  private readonly inflight = new Map<number, { started: number; reject: (e: Error) => void }>();
  private nextCall = 0;
  private watchdog: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly url: string,
    private readonly historyMax: number,
    private readonly ca?: string,
  ) {}

  private connection(): RedisClient {
    if (!this.client) {
      // No offline queue and no silent retries: a publish either reaches the server now or the caller gets 503.
      const c = new RedisClient(this.url, { autoReconnect: false, enableOfflineQueue: false, connectionTimeout: 3000, ...(this.ca ? { tls: { ca: this.ca } } : {}) });
      c.onclose = () => {
        if (this.client === c) this.client = null;
      };
      this.client = c;
    }
    return this.client;
  }

  // One shared 1 s watchdog instead of a setTimeout and a Promise.race per call: timers were a visible
  // share of the ingest profile.
  private async withTimeout<T>(p: Promise<T>): Promise<T> {
    const id = this.nextCall++;
    this.watchdog ??= setInterval(() => {
      const now = Date.now();
      for (const [k, call] of this.inflight) {
        if (now - call.started < PUBLISH_TIMEOUT_MS) continue;
        this.inflight.delete(k);
        call.reject(new Error(`no answer within ${PUBLISH_TIMEOUT_MS} ms`));
      }
    }, 1000);
    return await new Promise<T>((resolve, reject) => {
      this.inflight.set(id, { started: Date.now(), reject });
      p.then(
        (v) => {
          this.inflight.delete(id);
          resolve(v);
        },
        (e: unknown) => {
          this.inflight.delete(id);
          reject(e);
        },
      );
    });
  }

  /** Runs one command; an error reply or a broken connection becomes Unavailable with the reason. */
  async send(command: string, args: string[]): Promise<unknown> {
    const c = this.connection();
    try {
      if (!c.connected) await this.withTimeout(c.connect());
      return await this.withTimeout(c.send(command, args));
    } catch (err) {
      // The server answered with an error (MISCONF on a full disk, NOPERM): the connection is fine, say what it said.
      if ((err as { code?: string }).code === "ERR_REDIS_SERVER_ERROR")
        throw new Unavailable(`cannot publish: the pub/sub server refused it: ${(err as Error).message}`);
      // Drop the connection so the next request starts clean: the server may be back by then.
      this.client = null;
      c.close();
      const why = err instanceof Error ? err.message : String(err);
      throw new Unavailable(`cannot publish: the pub/sub server at ${redactUrl(this.url)} is unavailable (${why})`);
    }
  }

  /**
   * XADD to the channel's history first: its ID becomes the envelope's id. Then PUBLISH the envelope. The history
   * copy and the live copy carry the same `time`, read once from one clock.
   */
  async publish(n: Notification): Promise<Published> {
    const now = Date.now();
    const id = String(await this.send("XADD", [historyKey(n.channel), "MAXLEN", "~", String(this.historyMax), "*", ...envelopeFields(n, now)]));
    const receivers = await this.send("PUBLISH", [n.channel, JSON.stringify(buildEnvelope(n, id, now))]);
    return { id, channel: n.channel, receivers: Number(receivers) };
  }

  close(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.client?.close();
  }
}
