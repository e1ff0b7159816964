// web_tokens.ts — ntfy's access tokens (tk_…), issued to ACL users by /v1/account/token: their rules (format, expiry,
// pruning; pure) and their store in the pub/sub server, shared by every web server, each told of changes at once.
import { createHash, randomInt } from "node:crypto";
import { z } from "zod";
import { entriesFromReply } from "./catchup";
import { RESERVED_CHANNEL_PREFIX } from "./message";
import type { Hub } from "./web_hub";
import type { Store } from "./web_publisher";

/** ntfy's token: "tk_" and 29 lower-case letters and digits, 32 in all (user/manager.go CreateToken, tokenLength). */
export const TOKEN_FORMAT = /^tk_[a-z0-9]{29}$/;
const TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789";
/** ntfy keeps at most 60 tokens per user (tokenMaxCount); a new one past that drops the soonest to expire. */
export const TOKEN_MAX_PER_USER = 60;
/** A token made or extended without an expiry lasts 72 hours, as ntfy's (server_account.go tokenExpiryDuration). */
export const TOKEN_LIFETIME_S = 72 * 3600;
/**
 * How long a web server trusts what it read of a token before reading it again. Why: a change is announced to every
 * web server at once, and this bounds what a lost announcement (a web server cut off from the pub/sub server) costs.
 */
export const TOKEN_CACHE_MS = 10_000;

/** A token as stored: its user, label, expiry (Unix seconds, 0: never), and when and from where it was made. */
export const TokenRecordSchema = z.object({
  user: z.string(),
  label: z.string(),
  expires: z.number().int().nonnegative(),
  created: z.number().int(),
  origin: z.string(),
});
export type TokenRecord = z.infer<typeof TokenRecordSchema>;

/** What POST and PATCH /v1/account/token send (ntfy's apiAccountTokenIssueRequest and ...UpdateRequest); unknown keys are ignored, as Go's JSON does. */
export const TokenRequestSchema = z.object({
  token: z.string().optional(),
  label: z.string().nullable().optional(),
  expires: z.number().int().nullable().optional(),
});
export type TokenRequest = z.infer<typeof TokenRequestSchema>;

/** Where a token lives: named by its SHA-256, so the store's key names never show a token. */
export const TOKEN_KEY_PREFIX = "notistream-token:";
export const tokenHash = (token: string): string => createHash("sha256").update(token).digest("hex");
export const tokenKey = (token: string): string => TOKEN_KEY_PREFIX + tokenHash(token);
/**
 * Where web servers tell each other that a token changed: the payload names only its hash ("changed <hash>") and each
 * reads the store itself, so a notice anyone may PUBLISH there can make a web server read again, never accept a token.
 */
export const TOKEN_CHANGES = `${RESERVED_CHANNEL_PREFIX}tokens:changes`;
const notice = (hash: string): string => `changed ${hash}`;

/** A new token: "tk_" and 29 characters drawn with crypto's uniform randomInt. */
export function newToken(): string {
  let out = "tk_";
  for (let i = 0; i < 29; i++) out += TOKEN_CHARS[randomInt(TOKEN_CHARS.length)];
  return out;
}

/** Whether a token may still log in at `nowS`: it never expires, or not yet. */
export const isLive = (rec: TokenRecord, nowS: number): boolean => rec.expires === 0 || rec.expires >= nowS;

/** A new token's expiry: none given, 72 hours; 0, never; else that Unix time, which must be in the future. Throws a sentence. */
export function expiryOf(expires: number | null | undefined, nowS: number): number {
  if (expires === undefined || expires === null) return nowS + TOKEN_LIFETIME_S;
  if (expires === 0) return 0;
  if (expires <= nowS) throw new RangeError(`"expires" is ${expires}, a time already past: give a future Unix time in seconds, or 0 for a token that never expires`);
  return expires;
}

/** PATCH's change: a label and an expiry as given; with neither, the token is extended by 72 hours, as ntfy does. */
export function updated(rec: TokenRecord, req: TokenRequest, nowS: number): TokenRecord {
  const label = req.label ?? rec.label;
  if (req.expires === undefined || req.expires === null) return { ...rec, label, expires: req.label === undefined || req.label === null ? nowS + TOKEN_LIFETIME_S : rec.expires };
  return { ...rec, label, expires: expiryOf(req.expires, nowS) };
}

/**
 * Which of a user's tokens go when one more is made: the expired ones, then, past TOKEN_MAX_PER_USER, those that
 * expire soonest (never-expiring ones last).
 */
export function toPrune(tokens: { hash: string; rec: TokenRecord }[], nowS: number, max = TOKEN_MAX_PER_USER): string[] {
  const live = tokens.filter((t) => isLive(t.rec, nowS));
  const gone = tokens.filter((t) => !isLive(t.rec, nowS)).map((t) => t.hash);
  const later = (t: { rec: TokenRecord }) => (t.rec.expires === 0 ? Infinity : t.rec.expires);
  live.sort((a, b) => later(b) - later(a));
  return [...gone, ...live.slice(max).map((t) => t.hash)];
}

/** A token as ntfy answers it (apiAccountTokenResponse): empty fields left out. */
export function tokenJson(token: string, rec: TokenRecord): Record<string, string | number> {
  return {
    token,
    ...(rec.label ? { label: rec.label } : {}),
    last_access: rec.created,
    ...(rec.origin ? { last_origin: rec.origin } : {}),
    ...(rec.expires ? { expires: rec.expires } : {}),
  };
}

type Cached = { rec: TokenRecord | null; at: number };

/**
 * The tokens in the pub/sub server, with what this web server read of them lately. Lookups are synchronous (the
 * access check runs before any await); `refresh` reads a token the cache lacks, or holds for over TOKEN_CACHE_MS,
 * before the check runs. A change (made, extended, revoked) is announced with its hash on TOKEN_CHANGES, and every
 * web server forgets what it had read of it, so its next use reads the store.
 */
export class TokenStore {
  private readonly cache = new Map<string, Cached>();
  private unwatch: (() => void) | null = null;

  constructor(
    private readonly store: Store,
    private readonly hub: Hub,
    private readonly maxCached = 10_000,
  ) {}

  start(): void {
    this.unwatch = this.hub.watch(TOKEN_CHANGES, {
      message: (env) => void this.cache.delete(env.message.slice(notice("").length)),
      // While the subscription was away announcements may have been missed: read every token again on its next use.
      resubscribed: () => this.cache.clear(),
    });
  }

  stop(): void {
    this.unwatch?.();
  }

  /** The user a token was issued to, if it is live; from what `refresh` read. */
  userOf(token: string, nowMs = Date.now()): string | null {
    if (!TOKEN_FORMAT.test(token)) return null;
    const rec = this.cache.get(tokenHash(token))?.rec;
    return rec && isLive(rec, Math.floor(nowMs / 1000)) ? rec.user : null;
  }

  /**
   * Reads a token from the store unless read within TOKEN_CACHE_MS: null when there is nothing to read (not a token's
   * shape, or read lately), so a request need not wait a turn; the Promise rejects when the store does not answer.
   */
  refresh(token: string, nowMs = Date.now()): Promise<void> | null {
    if (!TOKEN_FORMAT.test(token)) return null;
    const hash = tokenHash(token);
    const seen = this.cache.get(hash);
    if (seen && nowMs - seen.at < TOKEN_CACHE_MS) return null;
    return this.read(hash).then((rec) => this.remember(hash, rec, nowMs));
  }

  /** The live record of `token` if it was issued to `user`. */
  async find(user: string, token: string): Promise<TokenRecord | null> {
    if (!TOKEN_FORMAT.test(token)) return null;
    const rec = await this.read(tokenHash(token));
    return rec && rec.user === user && isLive(rec, Math.floor(Date.now() / 1000)) ? rec : null;
  }

  /** Issues a token to `user`, dropping their expired ones and, past TOKEN_MAX_PER_USER, those that expire soonest. */
  async create(user: string, label: string, expires: number, origin: string): Promise<{ token: string; rec: TokenRecord }> {
    const token = newToken();
    const rec: TokenRecord = { user, label, expires, created: Math.floor(Date.now() / 1000), origin };
    const hash = tokenHash(token);
    await this.write(hash, rec);
    // The new token always stays: room is made for it among the others.
    const others = (await this.tokensOf(user)).filter((t) => t.hash !== hash);
    for (const gone of toPrune(others, Math.floor(Date.now() / 1000), TOKEN_MAX_PER_USER - 1)) await this.drop(gone);
    return { token, rec };
  }

  /** Stores a changed record of `token` (already checked to be its user's) and tells every web server. */
  async save(token: string, rec: TokenRecord): Promise<void> {
    await this.write(tokenHash(token), rec);
  }

  /** Revokes `token` if it was issued to `user`; true if it was. */
  async revoke(user: string, token: string): Promise<boolean> {
    if (!TOKEN_FORMAT.test(token)) return false;
    const hash = tokenHash(token);
    const rec = await this.read(hash);
    if (!rec || rec.user !== user) return false;
    await this.drop(hash);
    return true;
  }

  private async read(hash: string): Promise<TokenRecord | null> {
    const fields = entriesFromReply(await this.store.send("XREVRANGE", [TOKEN_KEY_PREFIX + hash, "+", "-", "COUNT", "1"]))[0]?.fields ?? [];
    const at = fields.indexOf("token");
    if (at < 0) return null;
    try {
      const parsed = TokenRecordSchema.safeParse(JSON.parse(fields[at + 1] ?? "null"));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }

  /** A single-entry stream per token: the pub/sub server keeps streams, and a web server may write only these keys. */
  private async write(hash: string, rec: TokenRecord): Promise<void> {
    await this.store.send("XADD", [TOKEN_KEY_PREFIX + hash, "MAXLEN", "1", "*", "token", JSON.stringify(rec)]);
    this.remember(hash, rec, Date.now());
    await this.store.publishPayload(TOKEN_CHANGES, notice(hash));
  }

  private async drop(hash: string): Promise<void> {
    await this.store.send("DEL", [TOKEN_KEY_PREFIX + hash]);
    this.remember(hash, null, Date.now());
    await this.store.publishPayload(TOKEN_CHANGES, notice(hash));
  }

  /** Every token of `user` in the store (a scan of notistream-token:*, done only when a token is made). */
  private async tokensOf(user: string): Promise<{ hash: string; rec: TokenRecord }[]> {
    const out: { hash: string; rec: TokenRecord }[] = [];
    for (const key of await this.store.keys(`${TOKEN_KEY_PREFIX}*`)) {
      const hash = key.slice(TOKEN_KEY_PREFIX.length);
      const rec = await this.read(hash);
      if (rec?.user === user) out.push({ hash, rec });
    }
    return out;
  }

  /** Keeps what was read, the oldest reading out first past `maxCached` (random tokens must not grow it without end). */
  private remember(hash: string, rec: TokenRecord | null, at: number): void {
    this.cache.delete(hash);
    this.cache.set(hash, { rec, at });
    if (this.cache.size > this.maxCached) this.cache.delete(this.cache.keys().next().value!);
  }
}
