// web_attachlimits.ts — attachments' limits: their settings (ntfy's flags and defaults, server/config.go), sizes and
// durations read as ntfy reads them, and the ledger that counts every byte against them as it arrives. Pure: the
// caller passes the time.
import { parseGoDuration } from "./web_ntfy";

const MB = 1024 * 1024;

/** ntfy's defaults (server/config.go): DefaultAttachmentFileSizeLimit and the rest; 500M is serve.go's bandwidth default. */
export const DEFAULT_ATTACHMENT_LIMITS = {
  fileSize: 15 * MB,
  totalSize: 5 * 1024 * MB,
  visitorTotal: 100 * MB,
  visitorBandwidth: 500 * MB,
  expiryMs: 3 * 3_600_000,
} as const;

/** The limits, each protecting something (docs/security.md): one file, the disk, one visitor's share, the bandwidth, time on disk. */
export type AttachmentLimits = { fileSize: number; totalSize: number; visitorTotal: number; visitorBandwidth: number; expiryMs: number };

/** What the web server is started with: where files live, the public URL their links start with, and the limits. */
export type AttachmentSettings = { dir: string; baseUrl: string; limits: AttachmentLimits };

/** A size as ntfy's ParseSize reads it (util.go): digits, then k, m or g (powers of 1024), any case; null: not one. */
export function parseSize(text: string): number | null {
  const m = /^(\d+)([kmgb])?$/i.exec(text.trim());
  if (!m) return null;
  const unit = { k: 1024, m: MB, g: 1024 * MB, b: 1 }[(m[2] ?? "b").toLowerCase() as "k" | "m" | "g" | "b"];
  return Number(m[1]) * unit;
}

/** A duration as ntfy's flags take one: Go's (3h, 90m, 1h30m), or whole days (2d); null: not one. */
export function parseDuration(text: string): number | null {
  const days = /^(\d+)d$/.exec(text.trim());
  return days ? Number(days[1]) * 86_400_000 : parseGoDuration(text.trim());
}

/** Which limit an upload ran into, for the 413's sentence. */
export type LimitHit = "file" | "total" | "visitor" | "bandwidth";

/** The sentence for a limit an upload ran into, naming the flag that sets it. */
export function limitSentence(hit: LimitHit, limits: AttachmentLimits): string {
  const size = formatSize;
  switch (hit) {
    case "file":
      return `the file is over the limit of ${size(limits.fileSize)} per file (--attachment-file-size-limit)`;
    case "total":
      return `the server's attachments would pass their total of ${size(limits.totalSize)} (--attachment-total-size-limit); try again when older ones have expired`;
    case "visitor":
      return `your attachments would pass your share of ${size(limits.visitorTotal)} (--visitor-attachment-total-size-limit); try again when older ones have expired`;
    case "bandwidth":
      return `your daily attachment bandwidth of ${size(limits.visitorBandwidth)} is used up (--visitor-attachment-daily-bandwidth-limit); it refills over 24 hours`;
  }
}

/** A file the ledger counts: who uploaded it, its size, and when it expires (ms). */
export type LedgerFile = { visitor: string; size: number; expiresMs: number };

/** An upload under way: each chunk counted as it arrives; then kept (commit) or dropped (abort). */
export type Upload = {
  /** Counts `n` more bytes; the limit they would pass (nothing is counted then), or null. */
  add: (n: number, nowMs: number) => LimitHit | null;
  commit: (id: string, expiresMs: number) => void;
  abort: () => void;
  readonly size: number;
};

const DAY_MS = 86_400_000;

/**
 * Every attachment byte against the limits: files on disk by visitor and in all, uploads under way (counted as their
 * bytes arrive, so two at once cannot both pass a limit), and each visitor's daily bandwidth, uploads and downloads
 * alike, as ntfy's BandwidthLimiter: a bucket of the daily limit that refills over 24 hours.
 */
export class AttachmentLedger {
  private readonly files = new Map<string, LedgerFile>();
  private readonly byVisitor = new Map<string, number>();
  private total = 0;
  /** Bytes a visitor may still move, and when that was worked out; refilled by the time passed since. */
  private readonly bandwidth = new Map<string, { left: number; at: number }>();

  constructor(readonly limits: AttachmentLimits) {}

  /** Bytes on disk (and under way) in all. */
  get totalSize(): number {
    return this.total;
  }

  /** Bytes on disk (and under way) that `visitor` uploaded. */
  usedBy(visitor: string): number {
    return this.byVisitor.get(visitor) ?? 0;
  }

  private count(visitor: string, n: number): void {
    this.total += n;
    const used = (this.byVisitor.get(visitor) ?? 0) + n;
    if (used > 0) this.byVisitor.set(visitor, used);
    else this.byVisitor.delete(visitor);
  }

  /** The bandwidth `visitor` has left now (a visitor never seen has the whole day's). */
  bandwidthLeft(visitor: string, nowMs: number): number {
    const b = this.bandwidth.get(visitor);
    if (!b) return this.limits.visitorBandwidth;
    return Math.min(this.limits.visitorBandwidth, b.left + ((nowMs - b.at) * this.limits.visitorBandwidth) / DAY_MS);
  }

  /** Takes `n` bytes of `visitor`'s bandwidth if it has them; false (nothing taken) if not. */
  takeBandwidth(visitor: string, n: number, nowMs: number): boolean {
    const left = this.bandwidthLeft(visitor, nowMs);
    if (n > left) return false;
    this.bandwidth.set(visitor, { left: left - n, at: nowMs });
    return true;
  }

  /** The first limit a file of `size` bytes from `visitor` would pass now, or null: the early check on Content-Length. */
  wouldPass(visitor: string, size: number, nowMs: number): LimitHit | null {
    if (size > this.limits.fileSize) return "file";
    if (this.total + size > this.limits.totalSize) return "total";
    if (this.usedBy(visitor) + size > this.limits.visitorTotal) return "visitor";
    if (size > this.bandwidthLeft(visitor, nowMs)) return "bandwidth";
    return null;
  }

  /** Starts counting an upload from `visitor`. */
  begin(visitor: string): Upload {
    let size = 0;
    let open = true;
    const ledger = this;
    return {
      get size() {
        return size;
      },
      add(n, nowMs) {
        if (!open) throw new Error("this upload is already committed or aborted");
        if (size + n > ledger.limits.fileSize) return "file";
        if (ledger.total + n > ledger.limits.totalSize) return "total";
        if (ledger.usedBy(visitor) + n > ledger.limits.visitorTotal) return "visitor";
        if (!ledger.takeBandwidth(visitor, n, nowMs)) return "bandwidth";
        size += n;
        ledger.count(visitor, n);
        return null;
      },
      commit(id, expiresMs) {
        if (!open) return;
        open = false;
        ledger.files.set(id, { visitor, size, expiresMs });
      },
      abort() {
        if (!open) return;
        open = false;
        ledger.count(visitor, -size); // the bandwidth it used stays used, as ntfy's limiter keeps it
      },
    };
  }

  /** A file found on disk (at start, or written by another web server sharing the directory). */
  know(id: string, file: LedgerFile): void {
    if (this.files.has(id)) return;
    this.files.set(id, file);
    this.count(file.visitor, file.size);
  }

  /** Forgets a removed file. */
  forget(id: string): void {
    const f = this.files.get(id);
    if (!f) return;
    this.files.delete(id);
    this.count(f.visitor, -f.size);
  }

  has(id: string): boolean {
    return this.files.has(id);
  }

  /** The files expired at `nowMs`. */
  expired(nowMs: number): string[] {
    return [...this.files].filter(([, f]) => f.expiresMs <= nowMs).map(([id]) => id);
  }

  /** Visitors whose bandwidth has refilled are forgotten, so memory stays bounded by recent uploaders. */
  sweep(nowMs: number): void {
    for (const [v] of this.bandwidth) if (this.bandwidthLeft(v, nowMs) >= this.limits.visitorBandwidth) this.bandwidth.delete(v);
  }
}

/** The flags that set attachments, with their env twins in web.ts's FLAGS. */
export const ATTACHMENT_FLAGS = {
  dir: "attachment-cache-dir",
  fileSize: "attachment-file-size-limit",
  totalSize: "attachment-total-size-limit",
  visitorTotal: "visitor-attachment-total-size-limit",
  visitorBandwidth: "visitor-attachment-daily-bandwidth-limit",
  expiry: "attachment-expiry-duration",
} as const;

/**
 * The server's public URL (--base-url, ntfy's base-url), without a trailing slash: http(s), no login, query or
 * fragment. A path is kept (a server behind a proxy at https://example.com/notify/). Throws a sentence.
 */
export function parseBaseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--base-url must be the server's public URL, like https://notify.example.com, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`--base-url must start with http:// or https://, got ${JSON.stringify(text)}`);
  if (url.username || url.password || url.search || url.hash) throw new Error(`--base-url must be a plain URL, with no login, query or fragment, got ${JSON.stringify(text)}`);
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

/**
 * Attachments' settings from the flags: undefined without --attachment-cache-dir (files are refused then, as ntfy
 * refuses them without an attachment store), else the directory, --base-url (required with it, as ntfy's serve.go
 * requires base-url: links go out to phones and must name the server as they reach it) and the limits. Throws a
 * sentence naming the flag.
 */
export function attachmentSettings(f: Record<string, string | undefined>, baseUrl: string | undefined): AttachmentSettings | undefined {
  const dir = f[ATTACHMENT_FLAGS.dir];
  if (!dir) return undefined;
  if (!baseUrl) throw new Error(`--${ATTACHMENT_FLAGS.dir} needs --base-url, the server's public URL (like https://notify.example.com): attachments' links start with it`);
  const size = (flag: string): number => {
    const n = parseSize(f[flag] ?? "");
    if (n === null || n <= 0) throw new Error(`--${flag} must be a size like 15M, 500K or 5G, got ${JSON.stringify(f[flag])}`);
    return n;
  };
  const expiryMs = parseDuration(f[ATTACHMENT_FLAGS.expiry] ?? "");
  if (expiryMs === null || expiryMs < 1000) throw new Error(`--${ATTACHMENT_FLAGS.expiry} must be a duration of at least 1s, like 3h, 90m or 2d, got ${JSON.stringify(f[ATTACHMENT_FLAGS.expiry])}`);
  const limits: AttachmentLimits = {
    fileSize: size(ATTACHMENT_FLAGS.fileSize),
    totalSize: size(ATTACHMENT_FLAGS.totalSize),
    visitorTotal: size(ATTACHMENT_FLAGS.visitorTotal),
    visitorBandwidth: size(ATTACHMENT_FLAGS.visitorBandwidth),
    expiryMs,
  };
  return { dir, baseUrl, limits };
}

/** A size for a start-up line: 15 MB, 5 GB, 300 KB, or bytes. */
export function formatSize(n: number): string {
  for (const [unit, size] of [["GB", 1024 * MB], ["MB", MB], ["KB", 1024]] as const) if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  return `${n} bytes`;
}
