// web_attachments.ts — uploaded files: the store in --attachment-cache-dir (each file beside a small JSON of what it is:
// the channel it went to, its uploader, sniffed type, expiry), an ntfy publish's body taken as a file (streamed to disk,
// counted against the limits as it arrives), GET and HEAD /file/<id>.<ext> for those who may read the channel, and the sweeper.
//
// Files live in a directory, not in the pub/sub server: 15 MB files and gigabytes in all do not belong in memory. Several
// web servers share uploads by sharing the directory (NFS or a common volume): the JSON beside each file carries all
// a server needs to serve it, and each sweep reads the directory again, so their totals follow one another's files.
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod/mini";
import type { Attachment, Notification } from "./message";
import { refuse } from "./web_access";
import { AttachmentLedger, attachmentSettings, formatSize, limitSentence, parseBaseUrl, type AttachmentSettings, type LimitHit, type Upload } from "./web_attachlimits";
import { readBody } from "./web_body";
import type { WebContext } from "./web_context";
import { SNIFF_BYTES, fileMessage, multipartBoundary, multipartFile, readAttachParams, servingHeaders, sniff } from "./web_filetype";
import { NTFY_ERRORS, NTFY_MESSAGE_LIMIT, NtfyError, ntfyErrorResponse } from "./web_ntfy";
import { jsonHeaders, type ParamSource, type PublishParams } from "./web_ntfy_publish";
import type { Checked, Handler } from "./web_routes";
import { readExtras } from "./web_publishextras";
import { countUnifiedPush, refuseWithoutSubscriber } from "./web_unifiedpush";
import { isUnifiedPushTopic, unifiedPushBody } from "./web_unifiedpush_rules";
import { isUtf8 } from "node:buffer";

/** A file's id: 16 letters and digits (95 random bits), the part of /file/<id>.<ext> before the dot. */
const FILE_ID = /^[A-Za-z0-9]{16}$/;
const newFileId = (): string => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  // 248 is the largest multiple of 62 under 256: bytes past it are dropped, so every letter is equally likely.
  return [...randomBytes(32)].filter((b) => b < 248).slice(0, 16).map((b) => alphabet[b % 62]).join("").padEnd(16, "A");
};

/** What is kept beside each file, <id>.json; zod reads it back, so a damaged one is a file to sweep, not a crash. */
const FileMeta = z.object({
  channel: z.string(),
  name: z.string(),
  type: z.string(),
  ext: z.string(),
  inline: z.boolean(),
  size: z.number(),
  /** Unix seconds, as the attachment's `expires`. */
  expires: z.number(),
  visitor: z.string(),
});
type FileMeta = z.infer<typeof FileMeta>;

/** A part file or a JSON with no file older than this was left by a crash (a younger one may be another server's upload under way). */
const ABANDONED_MS = 3_600_000;

/** The store: files in one directory, counted by a ledger, swept when they expire. */
export class Attachments {
  readonly ledger: AttachmentLedger;
  private sweeper: ReturnType<typeof setInterval> | undefined;

  private constructor(
    readonly settings: AttachmentSettings,
    private readonly log: (line: string) => void,
  ) {
    this.ledger = new AttachmentLedger(settings.limits);
  }

  /** Opens the directory (made, mode 0700, if missing), removes what has expired, counts the rest, and starts sweeping. */
  static async open(settings: AttachmentSettings, log: (line: string) => void): Promise<Attachments> {
    await mkdir(settings.dir, { recursive: true, mode: 0o700 });
    const store = new Attachments(settings, log);
    const removed = await store.sweep(Date.now());
    log(`web: attachments in ${settings.dir}: ${formatSize(store.ledger.totalSize)} kept${removed ? `, ${removed} expired file${removed === 1 ? "" : "s"} removed` : ""}`);
    // Every minute as ntfy's manager loop, or sooner when files expire sooner (a short --attachment-expiry-duration).
    const every = Math.min(60_000, Math.max(1000, settings.limits.expiryMs / 2));
    store.sweeper = setInterval(() => void store.sweep(Date.now()).catch((err: Error) => log(`web: sweeping attachments failed: ${err.message}`)), every);
    store.sweeper.unref?.();
    return store;
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  path(id: string, suffix = ""): string {
    return join(this.settings.dir, `${id}${suffix}`);
  }

  /** A file's JSON, or null (none, unreadable, or damaged). */
  async meta(id: string): Promise<FileMeta | null> {
    if (!FILE_ID.test(id)) return null;
    try {
      const parsed = FileMeta.safeParse(JSON.parse(await readFile(this.path(id, ".json"), "utf8")));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }

  /** Removes a file and its JSON, and stops counting it. */
  async remove(id: string): Promise<void> {
    this.ledger.forget(id);
    await Promise.all([unlink(this.path(id)).catch(() => {}), unlink(this.path(id, ".json")).catch(() => {})]);
  }

  /**
   * Reads the directory: expired files and what crashes left behind are removed, files another web server wrote are
   * counted, files gone are forgotten. Returns how many files were removed.
   */
  async sweep(nowMs: number): Promise<number> {
    const names = await readdir(this.settings.dir);
    const present = new Set(names);
    let removed = 0;
    for (const name of names) {
      const id = /^([A-Za-z0-9]{16})\.json$/.exec(name)?.[1];
      const part = /^\.[A-Za-z0-9]{16}\.part$/.test(name);
      if (!id && !part) continue;
      if (part || !present.has(id!)) {
        const info = await stat(join(this.settings.dir, name)).catch(() => null);
        if (info && nowMs - info.mtimeMs > ABANDONED_MS) await unlink(join(this.settings.dir, name)).catch(() => {});
        continue;
      }
      const meta = await this.meta(id!);
      if (!meta || meta.expires * 1000 <= nowMs) {
        await this.remove(id!);
        removed++;
      } else this.ledger.know(id!, { visitor: meta.visitor, size: meta.size, expiresMs: meta.expires * 1000 });
    }
    for (const id of this.ledger.expired(Number.POSITIVE_INFINITY)) if (!present.has(id)) this.ledger.forget(id);
    for (const id of this.ledger.expired(nowMs)) await this.remove(id);
    this.ledger.sweep(nowMs);
    return removed;
  }

  /**
   * Streams `chunks` to a new file, counting each chunk against the limits before it is written, so an upload past one
   * stops there (never held in memory whole). The type is sniffed from the first bytes. Throws the 413 (41301) that
   * names the limit; nothing is left on disk then.
   */
  async store(chunks: AsyncIterable<Uint8Array>, file: { name?: string; channel: string; visitor: string }): Promise<{ id: string; attachment: Attachment }> {
    const id = newFileId();
    const part = this.path(`.${id}`, ".part");
    const upload = this.ledger.begin(file.visitor);
    const head: Uint8Array[] = [];
    let headSize = 0;
    const handle = await open(part, "wx", 0o600);
    try {
      for await (const chunk of chunks) {
        const hit = upload.add(chunk.length, Date.now());
        if (hit) throw tooLarge(hit, this.settings);
        if (headSize < SNIFF_BYTES) (head.push(chunk), (headSize += chunk.length));
        await handle.write(chunk); // awaited: the next chunk is read only once this one is on disk
      }
      await handle.close();
    } catch (err) {
      upload.abort();
      await handle.close().catch(() => {});
      await unlink(part).catch(() => {});
      throw err;
    }
    return this.keep(id, part, upload, Buffer.concat(head), file);
  }

  /** Names, types and keeps a written part file: its JSON first, then the file under its id, so a file never lacks its JSON. */
  private async keep(id: string, part: string, upload: Upload, head: Uint8Array, file: { name?: string; channel: string; visitor: string }): Promise<{ id: string; attachment: Attachment }> {
    const type = sniff(head, file.name ?? "", head.length === upload.size);
    const expires = Math.floor((Date.now() + this.settings.limits.expiryMs) / 1000);
    const name = file.name ?? `attachment${type.ext}`;
    const meta: FileMeta = { channel: file.channel, name, type: type.type, ext: type.ext, inline: type.inline, size: upload.size, expires, visitor: file.visitor };
    try {
      await writeFile(this.path(id, ".json"), JSON.stringify(meta), { mode: 0o600 });
      await rename(part, this.path(id));
    } catch (err) {
      upload.abort();
      await Promise.all([unlink(part).catch(() => {}), unlink(this.path(id, ".json")).catch(() => {})]);
      throw err;
    }
    upload.commit(id, expires * 1000);
    return { id, attachment: { name, type: type.type, size: upload.size, expires, url: `${this.settings.baseUrl}/file/${id}${type.ext}` } };
  }
}

/** The 413 for a limit an upload ran into: ntfy's 41301 (errors.go errHTTPEntityTooLargeAttachment), naming the limit. */
const tooLarge = (hit: LimitHit, settings: AttachmentSettings): NtfyError => new NtfyError(NTFY_ERRORS.entityTooLargeAttachment, `${limitSentence(hit, settings.limits)}; nothing was published`);

/**
 * Each web server's store, beside its context: web_context.ts cannot name this file's types without an import cycle
 * (this file reads the ACL through web_access.ts, which imports web_context.ts; test/imports.test.ts forbids cycles).
 */
const stores = new WeakMap<WebContext, Attachments>();
export const attachmentsOf = (ctx: WebContext): Attachments | undefined => stores.get(ctx);

/** Opens the store for a web server started with --attachment-cache-dir. */
export async function openAttachments(ctx: WebContext): Promise<Attachments | null> {
  if (!ctx.opts.attachments) return null;
  const store = await Attachments.open(ctx.opts.attachments, ctx.log);
  stores.set(ctx, store);
  return store;
}

/** What an ntfy publish's body turned out to be: the message's bytes, and the attachment (a file kept, or a link) to publish with it. */
export type PublishBody = {
  /** The message's bytes: the body, or nothing when the body was the file. */
  raw: Uint8Array;
  /** The publish's parameters, the message defaulting to ntfy's "You received a file: <name>" when there is an attachment. */
  params: PublishParams;
  /** Builds the notification and publishes it with the attachment; a kept file is removed again if either fails. */
  publish: (build: () => Notification, send: (n: Notification) => Promise<Response>) => Promise<Response>;
};

const asIs = (build: () => Notification, send: (n: Notification) => Promise<Response>): Promise<Response> => send(build());
const withDefaultMessage = (params: PublishParams, name: string): PublishParams => ({ ...params, message: params.message ?? fileMessage(name) });

/** Who a file's bytes are counted for: the logged-in user (all their addresses together), else the client's address. */
function uploaderOf(ctx: WebContext, req: Request, checked: Checked): string {
  const acl = ctx.opts.acl;
  return acl && checked.who && checked.who !== acl.anonymous ? `user:${checked.who.name}` : ctx.visitorOf(req);
}

/**
 * An ntfy publish's body, decided in the order of ntfy's handlePublishBody (server.go): UnifiedPush's body is the
 * message, kept byte for byte; with Attach (an http(s) URL) the body is the message and the URL the attachment; with Filename the body is
 * the file; with template=yes it is JSON; a UTF-8 body of at most ntfy's 4096 bytes (or --max-message, if lower) is the
 * message; anything else is a file, and of a multipart form only its first part's bytes. Files need
 * --attachment-cache-dir (else ntfy's 40014, or without the store the old rule: bodyMessage's 413 past --max-message).
 * Called after the row's write right was checked, so only those who may publish to the channel write to disk.
 */
export async function publishBody(ctx: WebContext, req: Request, src: ParamSource, checked: Checked, params: PublishParams): Promise<PublishBody> {
  const asked = readAttachParams(src);
  const plain = async (): Promise<PublishBody> => ({ raw: await readBody(req, ctx.opts.maxBody), params, publish: asIs });
  if (params.unifiedPush || isUnifiedPushTopic(checked.channel)) {
    await refuseWithoutSubscriber(ctx, checked.channel, params.unifiedPush === true);
    return unifiedPushPublish(ctx, req, params);
  }
  if (asked.url !== undefined) {
    const link: Attachment = { name: asked.name!, url: asked.url };
    return { raw: await readBody(req, ctx.opts.maxBody), params: withDefaultMessage(params, link.name), publish: (build, send) => send({ ...build(), attachment: link }) };
  }
  const store = attachmentsOf(ctx);
  if (asked.name !== undefined && !store) throw attachmentsOff("Filename asks for the body to be kept as a file");
  if (params.template && asked.name !== undefined)
    throw new NtfyError(NTFY_ERRORS.badRequest, "Filename and template=yes ask for the body to be both the file and the template's JSON; send one of them");
  if (!store || params.template) return plain();
  const visitor = uploaderOf(ctx, req, checked);
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  // ntfy's early "do-not-trust" check on Content-Length (handleBodyAsAttachment); the bytes are counted again as they come.
  const early = Number.isFinite(declared) ? store.ledger.wouldPass(visitor, declared, Date.now()) : null;
  if (early && (asked.name !== undefined || declared > Math.min(NTFY_MESSAGE_LIMIT, ctx.opts.maxMessage))) throw tooLarge(early, store.settings);
  const reader = req.body?.getReader();
  const head: Uint8Array[] = [];
  const boundary = multipartBoundary(req.headers.get("content-type"));
  if (asked.name === undefined && boundary === null) {
    const limit = Math.min(NTFY_MESSAGE_LIMIT, ctx.opts.maxMessage);
    const peeked = await peek(reader, head, limit + 1);
    const raw = Buffer.concat(head);
    if (peeked.done && raw.length <= limit && isUtf8(raw)) return { raw, params, publish: asIs };
  }
  // ntfy's 40015 (handleBodyAsAttachment): a scheduled message would arrive with its file already gone.
  const dueMs = readExtras(ctx, req, new URL(req.url), src).dueMs;
  if (dueMs !== undefined && dueMs > Date.now() + store.settings.limits.expiryMs) {
    await reader?.cancel().catch(() => {});
    throw new NtfyError(NTFY_ERRORS.attachmentExpiresBeforeDue, `the file would be removed after ${store.settings.limits.expiryMs / 60_000} minutes (--attachment-expiry-duration), before the message is due; schedule it sooner or send the file later`);
  }
  // A form's file (Debian's Apprise uploads so) is the file, not the form around it.
  const chunks = boundary === null ? chunksOf(head, reader) : multipartFile(chunksOf(head, reader), boundary);
  const kept = await store.store(chunks, { name: asked.name, channel: checked.channel, visitor });
  return {
    raw: new Uint8Array(0),
    params: withDefaultMessage(params, kept.attachment.name),
    publish: async (build, send) => {
      try {
        return await send({ ...build(), attachment: kept.attachment });
      } catch (err) {
        await store.remove(kept.id);
        throw err;
      }
    },
  };
}

/**
 * UnifiedPush's body (up=1, Content-Encoding: aes128gcm, or an up… topic) is the message byte for byte, binary as
 * base64 with encoding "base64" (web_unifiedpush_rules.ts); Attach, Filename and template do not apply, as in ntfy's
 * handlePublishBody, which takes case 2 first. The notification is built and checked as every publish's, then given
 * the body: an empty one leaves ntfy's "triggered" (or X-Message).
 */
async function unifiedPushPublish(ctx: WebContext, req: Request, params: PublishParams): Promise<PublishBody> {
  const limit = Math.min(NTFY_MESSAGE_LIMIT, ctx.opts.maxMessage);
  const pushed = unifiedPushBody(await readBody(req, ctx.opts.maxBody), limit, ctx.opts.maxMessage);
  const withBody = (n: Notification): Notification => (pushed.message === "" ? n : { ...n, message: pushed.message, ...(pushed.encoding ? { encoding: pushed.encoding } : {}) });
  const publish = async (build: () => Notification, send: (n: Notification) => Promise<Response>): Promise<Response> => {
    const answer = await send(withBody(build()));
    if (answer.status === 200) countUnifiedPush(ctx);
    return answer;
  };
  return { raw: new Uint8Array(0), params: { ...params, template: false, unifiedPush: true }, publish };
}

/** ntfy's 40014 (handleBodyAsAttachment without an attachment store), saying which flags turn files on. */
const attachmentsOff = (why: string): NtfyError =>
  new NtfyError(NTFY_ERRORS.attachmentsDisallowed, `${why}, and this server keeps no files (its operator turns them on with --attachment-cache-dir and --base-url); nothing was published`);


type BodyReader = ReadableStreamDefaultReader<Uint8Array> | undefined;

/** Reads chunks into `into` until they hold more than `atLeast` bytes or the body ends. */
async function peek(reader: BodyReader, into: Uint8Array[], atLeast: number): Promise<{ done: boolean }> {
  if (!reader) return { done: true };
  let size = 0;
  while (size < atLeast) {
    const { done, value } = await reader.read();
    if (done) return { done: true };
    into.push(value);
    size += value.length;
  }
  return { done: false };
}

/** The chunks already read, then the rest of the body; a consumer that stops early cancels the body. */
async function* chunksOf(first: Uint8Array[], reader: BodyReader): AsyncGenerator<Uint8Array> {
  let finished = false;
  try {
    yield* first;
    if (!reader) return;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield value;
    }
    finished = true;
  } finally {
    if (!finished) await reader?.cancel().catch(() => {});
  }
}

/**
 * GET and HEAD /file/<id>.<ext> (ntfy's handleFile): the file, for whoever may read the channel it was published to,
 * with the headers web_filetype.ts's servingHeaders gives its sniffed type. A download counts against the uploader's
 * daily bandwidth, as ntfy bills it (so one upload fetched by a thousand strangers is the uploader's cost); past it 429 (42905).
 */
export function fileRoute(ctx: WebContext): Handler {
  return async (req, url) => {
    const store = attachmentsOf(ctx);
    const id = /^\/file\/([A-Za-z0-9]{16})(?:\.[A-Za-z0-9]{1,16})?$/.exec(url.pathname)?.[1];
    const meta = store && id ? await store.meta(id) : null;
    const file = meta && meta.expires * 1000 > Date.now() ? Bun.file(store!.path(id!)) : null;
    if (!file || !(await file.exists()))
      return ntfyErrorResponse(NTFY_ERRORS.notFound, store ? "no such file: it has expired or never existed (files are kept for --attachment-expiry-duration)" : "no such file: this server keeps no files (--attachment-cache-dir)");
    const denied = refuse(ctx.opts.acl, req, "subscribe", [meta!.channel], url.searchParams.get("token") ?? undefined);
    if (denied) return denied;
    const headers = servingHeaders(meta!);
    if (req.method === "HEAD") return new Response(null, { headers });
    if (!store!.ledger.takeBandwidth(meta!.visitor, meta!.size, Date.now()))
      return ntfyErrorResponse(NTFY_ERRORS.bandwidthUsedUp, "the uploader's daily attachment bandwidth is used up (--visitor-attachment-daily-bandwidth-limit); try again later", { "retry-after": "3600" });
    return new Response(file, { headers });
  };
}

/**
 * --base-url and the attachment flags, read at start-up, with a line saying what attachments do; a bad value is a
 * usage error (exit 2). The base URL is never taken from a request's Host: anyone may send any Host, and the link
 * goes out to every subscriber, so a forged one would point them at another server.
 */
export function attachmentsFromFlags(f: Record<string, string | undefined>): { baseUrl?: string; attachments?: AttachmentSettings } {
  try {
    const baseUrl = f["base-url"] ? parseBaseUrl(f["base-url"]) : undefined;
    const attachments = attachmentSettings(f, baseUrl);
    if (attachments) {
      const l = attachments.limits;
      console.log(`web: attachments kept in ${attachments.dir} for ${f["attachment-expiry-duration"]} and served at ${baseUrl}/file/<id>: at most ${formatSize(l.fileSize)} a file, ${formatSize(l.totalSize)} in all, ${formatSize(l.visitorTotal)} a visitor, ${formatSize(l.visitorBandwidth)} of a visitor's bandwidth a day`);
    } else console.log("web: attachments are off: uploaded files get 40014 (--attachment-cache-dir with --base-url turns them on); links to files elsewhere (Attach:) still go out");
    return { ...(baseUrl ? { baseUrl } : {}), ...(attachments ? { attachments } : {}) };
  } catch (err) {
    console.error(`web: ${(err as Error).message}`);
    process.exit(2);
  }
}

/**
 * ntfy's JSON publish (POST / with a topic): `attach` (an http(s) URL, named by `filename` or its path) goes out as
 * the attachment, the message defaulting to "You received a file: <name>". A `filename` with no `attach` would make
 * ntfy keep the message text as a file: refused (40014), since the JSON's message is text to send, not a file.
 */
export function linkedFile(src: ParamSource, params: PublishParams): { params: PublishParams; attach: (n: Notification) => Notification } {
  const asked = readAttachParams(src);
  if (asked.url === undefined && asked.name !== undefined) throw attachmentsOff("a JSON publish's filename without attach asks for its message to be kept as a file (upload a file with PUT /<topic> and Filename instead)");
  if (asked.url === undefined) return { params, attach: (n) => n };
  const link: Attachment = { name: asked.name!, url: asked.url };
  return { params: withDefaultMessage(params, link.name), attach: (n) => ({ ...n, attachment: link }) };
}

/**
 * Our own POST / (form, JSON with a `channel`, or query fields): `attach`, an http(s) URL named by `filename` or its
 * path, goes out as the attachment, as in ntfy's JSON publish; a `filename` alone is refused (linkedFile).
 */
export function linkFromFields(fields: Record<string, unknown>): { attachment?: Attachment } {
  const src: ParamSource = { header: () => null, query: new URLSearchParams(), json: jsonHeaders(fields, new Set(["attach", "filename"])), jsonName: "the request" };
  const { attachment } = linkedFile(src, { template: false }).attach({ channel: "", message: "" });
  return attachment ? { attachment } : {};
}
