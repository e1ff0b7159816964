// web_gotify_store.ts — Gotify's applications, clients, user ids, number counters, hidden marks and app images, kept in
// the pub/sub server under notistream-gotify:* and shared by every web server, each holding apps and clients in memory.
//
// API (GotifyStore; web.ts makes one, starts it and sets `publisher.numbering = gotifyStore`):
//   start(): Promise<void>, stop()                       load everything, follow GOTIFY_CHANGES; resubscribed: reload
//   ready(): Promise<void>                               resolves once apps and clients are in memory (a route waits on it)
//   onChange(l): () => void                             l({kind: "app"|"client", id, before, after}) after any change, any server
//   appByToken(token), clientByToken(token)             AppRecord | ClientRecord | null (from memory)
//   appsOf(user), clientsOf(user)                       the user's, by id
//   appOf(user, id), clientOf(user, id)                 one of the user's, or null
//   appsOnChannel(channel)                              every app bound to it (any user)
//   createApp(user, params) → AppRecord                 throws ChannelTaken when the user has an app on that channel,
//                                                       TokenTaken when params.token (carried over) is in use
//   updateApp(app), deleteApp(app), touchApp(app)       touch: lastUsed, written at most every 5 minutes (auth/authentication.go)
//   createClient(user, name, token?) → ClientRecord, updateClient(c), deleteClient(c), touchClient(c)
//   tokenInUse(token)                                   whether an app or a client has it
//   userId(name) → number                               allocated once per user name, kept
//   next(kind) / current(kind) → number                 the shared counters ("app" | "client" | "user" | "message")
//   isBound(channel), nextMessageNumber()               the Publisher's Numbering (web_publisher.ts)
//   hidden(user) → HiddenMarks, hide(user, change)      what a user no longer sees (read from the store each time)
//   putImage(name, bytes, type), image(name), dropImage(name)   app images, at most MAX_IMAGE_BYTES each
import { z } from "zod";
import { entriesFromReply } from "./catchup";
import { RESERVED_CHANNEL_PREFIX } from "./message";
import type { Hub } from "./web_hub";
import { Refused, type Numbering, type Store } from "./web_publisher";
import {
  AppRecordSchema,
  ClientRecordSchema,
  HiddenMarksSchema,
  NO_HIDDEN,
  defaultChannel,
  goTime,
  newAppToken,
  newClientToken,
  sortKeyAfter,
  sortKeyOfNumber,
  type AppParams,
  type AppRecord,
  type ClientRecord,
  type HiddenMarks,
} from "./web_gotify_model";

/** Every key here starts so: docs/users.acl gives the web user ~notistream-gotify:* (no channel's history is named so). */
export const GOTIFY_KEY_PREFIX = "notistream-gotify:";
/**
 * Where web servers tell each other that an app or a client changed: "app <id>" or "client <id>", nothing more, and
 * each reads the store itself, so a notice can make a web server read again, never accept a token. Reserved
 * (notistream:…): no HTTP request may publish or read it.
 */
export const GOTIFY_CHANGES = `${RESERVED_CHANNEL_PREFIX}gotify:changes`;
/** The most bytes an app image may have: images live in the pub/sub server, which keeps everything in memory. */
export const MAX_IMAGE_BYTES = 512 * 1024;
/** lastUsed is written at most this often per token, as Gotify does (auth/authentication.go: 5 minutes). */
export const LAST_USED_EVERY_MS = 5 * 60_000;

export type CounterKind = "app" | "client" | "user" | "message";
export const counterKey = (kind: CounterKind): string => `${GOTIFY_KEY_PREFIX}next:${kind}`;
export const appKey = (id: number): string => `${GOTIFY_KEY_PREFIX}app:${id}`;
export const clientKey = (id: number): string => `${GOTIFY_KEY_PREFIX}client:${id}`;
export const userKey = (name: string): string => `${GOTIFY_KEY_PREFIX}user:${name}`;
export const hiddenKey = (user: string): string => `${GOTIFY_KEY_PREFIX}hidden:${user}`;
export const imageKey = (name: string): string => `${GOTIFY_KEY_PREFIX}image:${name}`;

/** The user already has an app bound to this channel: one user cannot bind two apps to one channel. */
export class ChannelTaken extends Error {
  constructor(readonly channel: string) {
    super(`you already have an application on the channel "${channel}": give another channel, or use that application`);
  }
}

/** A token carried over (POST /application or /client with `token`) is already some app's or client's here. */
export class TokenTaken extends Error {
  constructor() {
    super(`that token is already in use here (by an application or a client): leave out "token" to get a new one, or delete the application or client that has it first`);
  }
}

/**
 * A new app's sort key: from its id (unique, and growing with creation on every web server), unless the user set a
 * larger key on an app, when it comes after that one, as Gotify's fracdex.KeyBetween(largest, "").
 */
function newSortKey(id: number, largest: string | undefined): string {
  const byId = sortKeyOfNumber(id);
  return largest !== undefined && largest >= byId ? sortKeyAfter(largest) : byId;
}

/** Another app of the user already has this sort key (Gotify v3's handleApplicationError: "sort key is not unique"). */
export class SortKeyTaken extends Error {
  constructor() {
    super("sort key is not unique");
  }
}

export type GotifyChange =
  | { kind: "app"; id: number; before: AppRecord | null; after: AppRecord | null }
  | { kind: "client"; id: number; before: ClientRecord | null; after: ClientRecord | null };

/** The number in a counter's stream ID "0-<n>" (0 when there is none). */
export function numberOfId(id: string | undefined): number {
  const m = /^0-(\d+)$/.exec(id ?? "");
  return m ? Number(m[1]) : 0;
}

/** One JSON field of a single-entry stream, read back through `schema`; null when absent or unreadable. */
function fieldOf<T>(reply: unknown, field: string, schema: z.ZodType<T>): T | null {
  const fields = entriesFromReply(reply)[0]?.fields ?? [];
  const at = fields.indexOf(field);
  if (at < 0 || at % 2 !== 0) return null;
  try {
    const r = schema.safeParse(JSON.parse(fields[at + 1] ?? "null"));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

const IdNumberSchema = z.number().int().positive();

export class GotifyStore implements Numbering {
  private readonly apps = new Map<number, AppRecord>();
  private readonly clients = new Map<number, ClientRecord>();
  private readonly appTokens = new Map<string, AppRecord>();
  private readonly clientTokens = new Map<string, ClientRecord>();
  /** How many apps are bound to each channel (any user): the Publisher numbers only these channels' messages. */
  private readonly bound = new Map<string, number>();
  private readonly userIds = new Map<string, number>();
  private readonly listeners = new Set<(c: GotifyChange) => void>();
  private unwatch: (() => void) | null = null;
  /** The load under way or done; null before start and after a failed one (the next use starts another). */
  private loading: Promise<void> | null = null;
  private loaded = false;
  /** The generation each record was last set at (see mark, newer). */
  private readonly setAt = new Map<string, number>();
  private generation = 0;

  constructor(
    private readonly store: Store,
    private readonly hub: Pick<Hub, "watch">,
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** Loads every app and client and follows changes; a failed load is logged and tried again on the next use. */
  start(): Promise<void> {
    this.unwatch = this.hub.watch(GOTIFY_CHANGES, {
      message: (env) => void this.reread(env.message).catch((err: Error) => this.log(`web: gotify: cannot read a change (${err.message}); reloading on the next use`)),
      // Announcements may have been missed while the subscription was away: read everything again.
      resubscribed: () => void this.reload().catch(() => {}),
    });
    return this.reload().catch((err: Error) => this.log(`web: gotify: cannot load applications and clients yet (${err.message}); trying again on the next use`));
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = null;
  }

  /** Told after every change of an app or a client, made here or by another web server. */
  onChange(l: (c: GotifyChange) => void): () => void {
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  }

  /** Resolves once apps and clients are in memory (loading them if a load failed before). */
  ready(): Promise<void> {
    return this.loaded ? Promise.resolve() : (this.loading ?? this.reload());
  }

  // ---- Reading (from memory) ----

  appByToken(token: string): AppRecord | null {
    return this.appTokens.get(token) ?? null;
  }

  clientByToken(token: string): ClientRecord | null {
    return this.clientTokens.get(token) ?? null;
  }

  appsOf(user: string): AppRecord[] {
    return [...this.apps.values()].filter((a) => a.user === user).sort((a, b) => a.id - b.id);
  }

  clientsOf(user: string): ClientRecord[] {
    return [...this.clients.values()].filter((c) => c.user === user).sort((a, b) => a.id - b.id);
  }

  appOf(user: string, id: number): AppRecord | null {
    const app = this.apps.get(id);
    return app && app.user === user ? app : null;
  }

  clientOf(user: string, id: number): ClientRecord | null {
    const c = this.clients.get(id);
    return c && c.user === user ? c : null;
  }

  /**
   * Whether an app or a client has `token`, as far as this web server knows: one made on another web server a moment
   * ago is known once its change notice arrives, so two imports of one token at the same instant could both pass.
   */
  tokenInUse(token: string): boolean {
    return this.appTokens.has(token) || this.clientTokens.has(token);
  }

  appsOnChannel(channel: string): AppRecord[] {
    return [...this.apps.values()].filter((a) => a.channel === channel);
  }

  // ---- Numbering (the Publisher's hook) ----

  /** Whether some app is bound to `channel`; until the first load is done, a Promise that waits for it. */
  isBound(channel: string): boolean | Promise<boolean> {
    return this.loaded ? this.bound.has(channel) : this.ready().then(() => this.bound.has(channel));
  }

  nextMessageNumber(): Promise<number> {
    return this.next("message");
  }

  /**
   * The next number of a counter: XADD with the ID "0-*" on a single-entry stream answers "0-<n>", n one above the
   * stream's last ID, which the stream keeps even when MAXLEN 1 trims: so numbers only grow, for every web server.
   */
  async next(kind: CounterKind): Promise<number> {
    const id = String(await this.store.send("XADD", [counterKey(kind), "MAXLEN", "1", "0-*", "n", "1"]));
    const n = numberOfId(id);
    if (n < 1) throw new Error(`the counter ${counterKey(kind)} answered "${id}", not an ID 0-<n>`);
    return n;
  }

  /** The counter's last number given (0: none yet), without taking one. */
  async current(kind: CounterKind): Promise<number> {
    return numberOfId(entriesFromReply(await this.store.send("XREVRANGE", [counterKey(kind), "+", "-", "COUNT", "1"]))[0]?.id);
  }

  // ---- Users ----

  /**
   * A user's Gotify id: made once, from the user counter, and kept. Two web servers making one at once both XADD
   * with the explicit ID 0-1: only the first is taken (the second gets an error), and both then read the kept one.
   */
  async userId(name: string): Promise<number> {
    const known = this.userIds.get(name);
    if (known !== undefined) return known;
    const key = userKey(name);
    let id = fieldOf(await this.store.send("XREVRANGE", [key, "+", "-", "COUNT", "1"]), "id", IdNumberSchema);
    if (id === null) {
      const n = await this.next("user");
      await this.store.send("XADD", [key, "0-1", "id", String(n)]).catch(() => {}); // taken by another server meanwhile
      id = fieldOf(await this.store.send("XREVRANGE", [key, "+", "-", "COUNT", "1"]), "id", IdNumberSchema);
      if (id === null) throw new Error(`cannot keep the Gotify id of user "${name}" in ${key}`);
    }
    this.userIds.set(name, id);
    return id;
  }

  // ---- Applications ----

  /**
   * A new app of `user`: bound to `params.channel`, or to gotify-<slug of the name> (gotify-<slug>-<id> when the user
   * already has an app there), with `params.token` when one is carried over (its form checked by the caller), else a
   * new one. Rights on the channel are the caller's to check first.
   */
  async createApp(user: string, params: AppParams): Promise<AppRecord> {
    await this.ready();
    const mine = (channel: string) => this.appsOf(user).some((a) => a.channel === channel);
    if (params.channel !== undefined && mine(params.channel)) throw new ChannelTaken(params.channel);
    if (params.token !== undefined && this.tokenInUse(params.token)) throw new TokenTaken();
    if (params.sortKey && this.sortKeyTaken(user, params.sortKey, 0)) throw new SortKeyTaken();
    const id = await this.next("app");
    const app: AppRecord = {
      id,
      token: params.token ?? this.unusedToken(newAppToken),
      user,
      name: params.name,
      description: params.description,
      defaultPriority: params.defaultPriority,
      image: "",
      channel: params.channel ?? defaultChannel(params.name, id, mine),
      sortKey: params.sortKey || newSortKey(id, this.appsOf(user).map((a) => a.sortKey).sort().at(-1)),
      lastUsed: null,
    };
    await this.writeApp(app);
    return app;
  }

  /** Stores a changed app (its id, token, user and channel as they were) and tells every web server. */
  async updateApp(app: AppRecord): Promise<AppRecord> {
    if (this.sortKeyTaken(app.user, app.sortKey, app.id)) throw new SortKeyTaken();
    await this.writeApp(app);
    return app;
  }

  async deleteApp(app: AppRecord): Promise<void> {
    await this.store.send("DEL", [appKey(app.id)]);
    this.setApp(app.id, null, this.mark());
    await this.announce(`app ${app.id}`);
  }

  /** Notes that the app's token was used: written when never or over 5 minutes ago, as Gotify does. */
  async touchApp(app: AppRecord, nowMs = Date.now()): Promise<void> {
    if (app.lastUsed !== null && nowMs - Date.parse(app.lastUsed) < LAST_USED_EVERY_MS) return;
    await this.writeApp({ ...app, lastUsed: goTime(nowMs) }, "if it exists");
  }

  // ---- Clients ----

  /** A new client of `user`, with `token` when one is carried over (its form checked by the caller), else a new one. */
  async createClient(user: string, name: string, token?: string): Promise<ClientRecord> {
    await this.ready();
    if (token !== undefined && this.tokenInUse(token)) throw new TokenTaken();
    const client: ClientRecord = { id: await this.next("client"), token: token ?? this.unusedToken(newClientToken), user, name, lastUsed: null };
    await this.writeClient(client);
    return client;
  }

  async updateClient(client: ClientRecord): Promise<ClientRecord> {
    await this.writeClient(client);
    return client;
  }

  async deleteClient(client: ClientRecord): Promise<void> {
    await this.store.send("DEL", [clientKey(client.id)]);
    this.setClient(client.id, null, this.mark());
    await this.announce(`client ${client.id}`);
  }

  async touchClient(client: ClientRecord, nowMs = Date.now()): Promise<void> {
    if (client.lastUsed !== null && nowMs - Date.parse(client.lastUsed) < LAST_USED_EVERY_MS) return;
    await this.writeClient({ ...client, lastUsed: goTime(nowMs) }, "if it exists");
  }

  // ---- Hidden messages ----

  /** What `user` no longer sees, read from the store (not cached: another web server may have just changed it). */
  async hidden(user: string): Promise<HiddenMarks> {
    return fieldOf(await this.store.send("XREVRANGE", [hiddenKey(user), "+", "-", "COUNT", "1"]), "hidden", HiddenMarksSchema) ?? NO_HIDDEN;
  }

  /**
   * Changes what `user` no longer sees (hideMessage, hideAll, hideApp of web_gotify_model.ts) and keeps it. Read,
   * changed and written: two deletions by one user at the same moment on two web servers may keep only one (the other
   * message shows again, nothing is lost).
   */
  async hide(user: string, change: (m: HiddenMarks) => HiddenMarks): Promise<HiddenMarks> {
    const next = change(await this.hidden(user));
    await this.store.send("XADD", [hiddenKey(user), "MAXLEN", "1", "*", "hidden", JSON.stringify(next)]);
    return next;
  }

  // ---- Images ----

  /** Keeps an app image under `name` (newImageName); at most MAX_IMAGE_BYTES (the caller answers 413 past it). */
  async putImage(name: string, bytes: Uint8Array, type: string): Promise<void> {
    if (bytes.length > MAX_IMAGE_BYTES) throw new RangeError(`the image has ${bytes.length} bytes; at most ${MAX_IMAGE_BYTES} are kept`);
    await this.store.send("XADD", [imageKey(name), "MAXLEN", "1", "*", "type", type, "data", Buffer.from(bytes).toString("base64")]);
  }

  async image(name: string): Promise<{ bytes: Uint8Array; type: string } | null> {
    const fields = entriesFromReply(await this.store.send("XREVRANGE", [imageKey(name), "+", "-", "COUNT", "1"]))[0]?.fields ?? [];
    const m = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!, fields[i + 1]!);
    const data = m.get("data");
    return data === undefined ? null : { bytes: new Uint8Array(Buffer.from(data, "base64")), type: m.get("type") ?? "application/octet-stream" };
  }

  async dropImage(name: string): Promise<void> {
    await this.store.send("DEL", [imageKey(name)]);
  }

  // ---- Keeping the memory in step ----

  /** A token no app or client has (GenerateNotExistingToken); 64^14 makes a second try all but unheard of. */
  private unusedToken(make: () => string): string {
    for (;;) {
      const t = make();
      if (!this.appTokens.has(t) && !this.clientTokens.has(t)) return t;
    }
  }

  private sortKeyTaken(user: string, sortKey: string, except: number): boolean {
    return this.appsOf(user).some((a) => a.sortKey === sortKey && a.id !== except);
  }

  /**
   * "if it exists" (a lastUsed touch): NOMKSTREAM, so a touch racing a delete on another web server cannot bring the
   * deleted record back; a nil reply means it is gone.
   */
  private async writeApp(app: AppRecord, only?: "if it exists"): Promise<void> {
    const written = await this.store.send("XADD", [appKey(app.id), ...(only ? ["NOMKSTREAM"] : []), "MAXLEN", "1", "*", "app", JSON.stringify(app)]);
    if (written === null) return;
    this.setApp(app.id, app, this.mark());
    await this.announce(`app ${app.id}`);
  }

  private async writeClient(client: ClientRecord, only?: "if it exists"): Promise<void> {
    const written = await this.store.send("XADD", [clientKey(client.id), ...(only ? ["NOMKSTREAM"] : []), "MAXLEN", "1", "*", "client", JSON.stringify(client)]);
    if (written === null) return;
    this.setClient(client.id, client, this.mark());
    await this.announce(`client ${client.id}`);
  }

  private announce(what: string): Promise<number> {
    return this.store.publishPayload(GOTIFY_CHANGES, what);
  }

  /** A notice "app <id>" or "client <id>": that one is read again from the store. Anything else is ignored. */
  private async reread(notice: string): Promise<void> {
    const m = /^(app|client) (\d{1,15})$/.exec(notice);
    if (!m) return;
    const id = Number(m[2]);
    // The mark before the read: a record set here while the read is under way (a delete) is newer than what it reads.
    // Taken after, a read answered before this server's DEL could land after it and bring the record back.
    const at = this.mark();
    if (m[1] === "app") this.setApp(id, await this.readApp(id), at);
    else this.setClient(id, await this.readClient(id), at);
  }

  private async readApp(id: number): Promise<AppRecord | null> {
    const app = fieldOf(await this.store.send("XREVRANGE", [appKey(id), "+", "-", "COUNT", "1"]), "app", AppRecordSchema);
    return app && app.id === id ? app : null;
  }

  private async readClient(id: number): Promise<ClientRecord | null> {
    const c = fieldOf(await this.store.send("XREVRANGE", [clientKey(id), "+", "-", "COUNT", "1"]), "client", ClientRecordSchema);
    return c && c.id === id ? c : null;
  }

  /** Reads every app and client again (at start, and after the change announcements may have been missed). */
  private reload(): Promise<void> {
    // What this web server wrote or was told of after the reload began is newer than what the reload reads.
    const began = this.generation;
    const load = (async () => {
      const idsOf = (keys: string[], prefix: string) => keys.map((k) => k.slice(prefix.length)).filter((s) => /^\d{1,15}$/.test(s)).map(Number);
      const appIds = idsOf(await this.store.keys(`${GOTIFY_KEY_PREFIX}app:*`), `${GOTIFY_KEY_PREFIX}app:`);
      const clientIds = idsOf(await this.store.keys(`${GOTIFY_KEY_PREFIX}client:*`), `${GOTIFY_KEY_PREFIX}client:`);
      const apps = await Promise.all(appIds.map((id) => this.readApp(id)));
      const clients = await Promise.all(clientIds.map((id) => this.readClient(id)));
      const seenApps = new Set(appIds);
      for (const id of [...this.apps.keys()]) if (!seenApps.has(id)) this.setApp(id, null, began);
      appIds.forEach((id, i) => this.setApp(id, apps[i] ?? null, began));
      const seenClients = new Set(clientIds);
      for (const id of [...this.clients.keys()]) if (!seenClients.has(id)) this.setClient(id, null, began);
      clientIds.forEach((id, i) => this.setClient(id, clients[i] ?? null, began));
      this.loaded = true;
    })();
    this.loading = load;
    const settled = load.catch((err: unknown) => {
      if (this.loading === settled) this.loading = null;
      if (!(err instanceof Refused)) throw err;
      // An ACL without ~notistream-gotify:* must not stop every publish: Gotify is off until the rights are given.
      this.log(`web: gotify: ${err.message}; Gotify applications are off until the web server's user may use ${GOTIFY_KEY_PREFIX}* (docs/users.acl)`);
      this.loaded = true;
    });
    this.loading = settled;
    return settled;
  }

  /** A new generation: a record set now is newer than any reload that began before it. */
  private mark(): number {
    return ++this.generation;
  }

  /**
   * Whether a record read at generation `at` may replace what is held: not when something newer was set since (an app
   * made here while a reload's KEYS, read before it, did not list it: the reload must not drop it).
   */
  private newer(key: string, at: number): boolean {
    if ((this.setAt.get(key) ?? 0) > at) return false;
    this.setAt.set(key, at);
    return true;
  }

  private setApp(id: number, after: AppRecord | null, at: number): void {
    if (!this.newer(`app ${id}`, at)) return;
    const before = this.apps.get(id) ?? null;
    if (JSON.stringify(before) === JSON.stringify(after)) return;
    if (before) {
      this.apps.delete(id);
      this.appTokens.delete(before.token);
      const n = (this.bound.get(before.channel) ?? 1) - 1;
      if (n > 0) this.bound.set(before.channel, n);
      else this.bound.delete(before.channel);
    }
    if (after) {
      this.apps.set(id, after);
      this.appTokens.set(after.token, after);
      this.bound.set(after.channel, (this.bound.get(after.channel) ?? 0) + 1);
    }
    this.tell({ kind: "app", id, before, after });
  }

  private setClient(id: number, after: ClientRecord | null, at: number): void {
    if (!this.newer(`client ${id}`, at)) return;
    const before = this.clients.get(id) ?? null;
    if (JSON.stringify(before) === JSON.stringify(after)) return;
    if (before) {
      this.clients.delete(id);
      this.clientTokens.delete(before.token);
    }
    if (after) {
      this.clients.set(id, after);
      this.clientTokens.set(after.token, after);
    }
    this.tell({ kind: "client", id, before, after });
  }

  private tell(c: GotifyChange): void {
    for (const l of this.listeners) {
      try {
        l(c);
      } catch (err) {
        this.log(`web: gotify: a change listener failed: ${(err as Error).message}`);
      }
    }
  }
}
