// client_media.ts — the pictures a toast shows, fetched for the notification daemon: a message's icon and its image
// attachment, http(s) only, size-limited, checked to be a raster image by its bytes, kept in a file cache by URL.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

/** An icon is a small picture: more than this is not an icon, and is not downloaded further. */
export const ICON_MAX_BYTES = 512 * 1024;
/** An image attachment shown in a toast: ntfy's apps show up to a few MB; more is refused, not read. */
export const IMAGE_MAX_BYTES = 5 * 1024 * 1024;
/** How many pictures the cache keeps before the oldest go (each at most IMAGE_MAX_BYTES). */
const CACHE_FILES = 200;
/** How long one download may take. */
const FETCH_TIMEOUT_MS = 15_000;

/**
 * What a picture's first bytes say it is: the raster formats a notification daemon (gdk-pixbuf) reads. SVG and
 * everything else is refused: a sender picks the file, and an SVG loader is a large parser to hand it to.
 */
export function sniffImage(head: Uint8Array): "png" | "jpg" | "gif" | "webp" | "bmp" | null {
  const starts = (...b: number[]) => b.every((x, i) => head[i] === x);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "png";
  if (starts(0xff, 0xd8, 0xff)) return "jpg";
  if (starts(0x47, 0x49, 0x46, 0x38)) return "gif";
  if (starts(0x52, 0x49, 0x46, 0x46) && head[8] === 0x57 && head[9] === 0x45 && head[10] === 0x42 && head[11] === 0x50) return "webp";
  if (starts(0x42, 0x4d)) return "bmp";
  return null;
}

/** Where pictures are kept: $XDG_CACHE_HOME/notistream/pictures (~/.cache on Linux), else the temp directory's. */
export function pictureCacheDir(env: Record<string, string | undefined> = process.env): string {
  const home = env.HOME || homedir();
  const base = env.XDG_CACHE_HOME || (home ? join(home, ".cache") : tmpdir());
  return join(base, "notistream", "pictures");
}

/** A picture as a local file for the daemon, or the sentence saying why not. */
export type Picture = { path: string } | { problem: string };

export class Pictures {
  /** Downloads under way, so an icon on 50 messages is fetched once. */
  private readonly pending = new Map<string, Promise<Picture>>();

  constructor(private readonly dir = pictureCacheDir()) {}

  /** The picture at `url` as a file (from the cache when fetched before), at most `maxBytes`. */
  get(url: string, maxBytes: number): Promise<Picture> {
    let p = this.pending.get(url);
    if (!p) {
      p = this.fetchOnce(url, maxBytes).finally(() => this.pending.delete(url));
      this.pending.set(url, p);
    }
    return p;
  }

  private async fetchOnce(url: string, maxBytes: number): Promise<Picture> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return { problem: `not a URL` };
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return { problem: `only http(s) pictures are fetched` };
    const name = createHash("sha256").update(parsed.href).digest("hex").slice(0, 32);
    for (const ext of ["png", "jpg", "gif", "webp", "bmp"]) {
      const path = join(this.dir, `${name}.${ext}`);
      if (existsSync(path)) return { path };
    }
    const got = await download(parsed.href, maxBytes);
    if ("problem" in got) return got;
    const kind = sniffImage(got.bytes.subarray(0, 12));
    if (kind === null) return { problem: `it is not a PNG, JPEG, GIF, WebP or BMP image` };
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.prune();
    const path = join(this.dir, `${name}.${kind}`);
    // Written under another name and renamed: the daemon never reads a half-written file.
    writeFileSync(`${path}.part`, got.bytes, { mode: 0o600 });
    renameSync(`${path}.part`, path);
    return { path };
  }

  /** Keeps the cache to CACHE_FILES pictures, the oldest going first. */
  private prune(): void {
    let files: { path: string; at: number }[];
    try {
      files = readdirSync(this.dir).map((f) => ({ path: join(this.dir, f), at: statSync(join(this.dir, f)).mtimeMs }));
    } catch {
      return;
    }
    if (files.length < CACHE_FILES) return;
    files.sort((a, b) => a.at - b.at);
    for (const f of files.slice(0, files.length - CACHE_FILES + 1)) {
      try {
        unlinkSync(f.path);
      } catch {
        // gone already
      }
    }
  }
}

/** GET `url`, refusing an answer over `maxBytes` by its Content-Length or, when it has none or lies, while reading. */
async function download(url: string, maxBytes: number): Promise<{ bytes: Uint8Array } | { problem: string }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
  try {
    const r = await fetch(url, { signal: abort.signal, redirect: "follow" });
    if (!r.ok || !r.body) return { problem: `the server answered ${r.status} ${r.statusText}`.trim() };
    const said = Number(r.headers.get("content-length"));
    if (said > maxBytes) {
      await r.body.cancel();
      return { problem: `it is ${said} bytes, over the ${maxBytes} a toast takes` };
    }
    const parts: Uint8Array[] = [];
    let size = 0;
    const reader = r.body.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      size += read.value.length;
      if (size > maxBytes) {
        await reader.cancel(); // the rest is never read
        return { problem: `it is over the ${maxBytes} bytes a toast takes` };
      }
      parts.push(read.value);
    }
    return { bytes: Buffer.concat(parts) };
  } catch (err) {
    return { problem: abort.signal.aborted ? `no answer in ${FETCH_TIMEOUT_MS / 1000} s` : (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
