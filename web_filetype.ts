// web_filetype.ts — an attachment's pure rules: its type sniffed from its first bytes (never the sender's word), how it
// is served (inline or as a download, and the headers that keep it from running in our origin), its name, and ntfy's
// Attach and Filename parameters read (server.go parsePublishParams), and the file in a multipart upload. Pure: no I/O.
import { NTFY_ERRORS, NtfyError } from "./web_ntfy";
import { readParam, type ParamSource } from "./web_ntfy_publish";

/** How many leading bytes sniffing looks at (tar's magic sits at 257; text is judged on this much). */
export const SNIFF_BYTES = 4096;

/** A sniffed type: the MIME type recorded in the attachment, the file extension for its URL, and whether it may show inline. */
export type FileType = { type: string; ext: string; inline: boolean };

const bytesAt = (head: Uint8Array, at: number, magic: number[]): boolean => head.length >= at + magic.length && magic.every((b, i) => head[at + i] === b);
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const textAt = (head: Uint8Array, at: number, s: string): boolean => bytesAt(head, at, ascii(s));

/**
 * Binary formats by their magic numbers, first match wins. `inline`: formats a browser shows as a picture or plays, with
 * no script of their own. SVG is not among them (it is XML, with script), nor PDF (its viewer runs script).
 */
const MAGIC: { test: (h: Uint8Array) => boolean; type: string; ext: string; inline?: true }[] = [
  { test: (h) => bytesAt(h, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), type: "image/png", ext: ".png", inline: true },
  { test: (h) => bytesAt(h, 0, [0xff, 0xd8, 0xff]), type: "image/jpeg", ext: ".jpg", inline: true },
  { test: (h) => textAt(h, 0, "GIF87a") || textAt(h, 0, "GIF89a"), type: "image/gif", ext: ".gif", inline: true },
  { test: (h) => textAt(h, 0, "RIFF") && textAt(h, 8, "WEBP"), type: "image/webp", ext: ".webp", inline: true },
  { test: (h) => textAt(h, 0, "RIFF") && textAt(h, 8, "WAVE"), type: "audio/wav", ext: ".wav", inline: true },
  { test: (h) => textAt(h, 0, "RIFF") && textAt(h, 8, "AVI "), type: "video/x-msvideo", ext: ".avi" },
  // BMP's "BM" alone would take text starting with BM: its reserved bytes 6-9 are zero as well.
  { test: (h) => textAt(h, 0, "BM") && bytesAt(h, 6, [0, 0, 0, 0]), type: "image/bmp", ext: ".bmp", inline: true },
  { test: (h) => bytesAt(h, 0, [0, 0, 1, 0]) && h.length > 6 && h[4]! > 0, type: "image/x-icon", ext: ".ico", inline: true },
  { test: (h) => textAt(h, 4, "ftypavif") || textAt(h, 4, "ftypavis"), type: "image/avif", ext: ".avif", inline: true },
  { test: (h) => textAt(h, 4, "ftypheic") || textAt(h, 4, "ftypheix") || textAt(h, 4, "ftypmif1"), type: "image/heic", ext: ".heic" },
  { test: (h) => textAt(h, 4, "ftypM4A "), type: "audio/mp4", ext: ".m4a", inline: true },
  { test: (h) => textAt(h, 4, "ftypqt  "), type: "video/quicktime", ext: ".mov" },
  { test: (h) => textAt(h, 4, "ftyp"), type: "video/mp4", ext: ".mp4", inline: true },
  { test: (h) => bytesAt(h, 0, [0x1a, 0x45, 0xdf, 0xa3]), type: "video/webm", ext: ".webm", inline: true },
  { test: (h) => textAt(h, 0, "OggS"), type: "audio/ogg", ext: ".ogg", inline: true },
  { test: (h) => textAt(h, 0, "fLaC"), type: "audio/flac", ext: ".flac", inline: true },
  { test: (h) => textAt(h, 0, "ID3") || bytesAt(h, 0, [0xff, 0xfb]) || bytesAt(h, 0, [0xff, 0xf3]) || bytesAt(h, 0, [0xff, 0xf2]), type: "audio/mpeg", ext: ".mp3", inline: true },
  { test: (h) => textAt(h, 0, "%PDF-"), type: "application/pdf", ext: ".pdf" },
  { test: (h) => textAt(h, 0, "PK\u0003\u0004") || textAt(h, 0, "PK\u0005\u0006"), type: "application/zip", ext: ".zip" },
  { test: (h) => bytesAt(h, 0, [0x1f, 0x8b]), type: "application/gzip", ext: ".gz" },
  { test: (h) => textAt(h, 0, "BZh"), type: "application/x-bzip2", ext: ".bz2" },
  { test: (h) => bytesAt(h, 0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), type: "application/x-xz", ext: ".xz" },
  { test: (h) => bytesAt(h, 0, [0x28, 0xb5, 0x2f, 0xfd]), type: "application/zstd", ext: ".zst" },
  { test: (h) => bytesAt(h, 0, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]), type: "application/x-7z-compressed", ext: ".7z" },
  { test: (h) => textAt(h, 0, "Rar!\u001a\u0007"), type: "application/vnd.rar", ext: ".rar" },
  { test: (h) => textAt(h, 257, "ustar"), type: "application/x-tar", ext: ".tar" },
  { test: (h) => bytesAt(h, 0, [0x7f, 0x45, 0x4c, 0x46]), type: "application/x-executable", ext: ".bin" },
  { test: (h) => textAt(h, 0, "MZ"), type: "application/vnd.microsoft.portable-executable", ext: ".exe" },
  { test: (h) => bytesAt(h, 0, [0x00, 0x61, 0x73, 0x6d]), type: "application/wasm", ext: ".wasm" },
];

/** Zip-based formats told apart by name, as ntfy tells an .apk (util.go DetectContentType); their bytes are a zip's. */
const ZIP_BY_NAME: Record<string, [type: string, ext: string]> = {
  ".apk": ["application/vnd.android.package-archive", ".apk"],
  ".jar": ["application/java-archive", ".jar"],
  ".docx": ["application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"],
  ".xlsx": ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"],
  ".pptx": ["application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx"],
  ".odt": ["application/vnd.oasis.opendocument.text", ".odt"],
  ".epub": ["application/epub+zip", ".epub"],
};

/**
 * Names a browser or a desktop would run or render as markup: text named so is served as a download, never inline,
 * even though text/plain under nosniff runs nowhere (a saved .html opened later must not be one we called safe).
 */
const SCRIPT_NAMES = /\.(html?|xhtml|shtml|svgz?|xml|xsl|xslt|js|mjs|cjs|css|hta|php|swf|wasm|vbs|bat|cmd|ps1|sh)$/i;

/** Markup at the start of a text (the WHATWG sniffing rules' HTML list, and XML and SVG): a browser would render it. */
const HTML_START = /^<(!doctype html|html|head|body|script|iframe|h1|div|font|table|a|style|title|b|br|p|!--)[\s/>]/i;

/** Control bytes that text has no business holding (NUL and the like; tab, LF, FF, CR and ESC are text's). */
const isBinaryControl = (b: number): boolean => b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d && b !== 0x1b;

/** Whether the bytes are UTF-8 text; a character cut at the end of `head` (only a prefix was read) still counts. */
function isText(head: Uint8Array, whole: boolean): boolean {
  if (head.some(isBinaryControl)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(head, { stream: !whole });
    return true;
  } catch {
    return false;
  }
}

/** A text's kind: HTML, SVG or other XML (each markup a browser renders, so served as a download), or plain text. */
function textType(head: Uint8Array): FileType {
  const start = new TextDecoder().decode(head.subarray(0, 1024)).replace(/^\uFEFF/, "").trimStart();
  if (HTML_START.test(start)) return { type: "text/html", ext: ".html", inline: false };
  if (/^<svg[\s>]/i.test(start) || (/^<\?xml/i.test(start) && /<svg[\s>]/i.test(start))) return { type: "image/svg+xml", ext: ".svg", inline: false };
  if (/^<\?xml/i.test(start)) return { type: "application/xml", ext: ".xml", inline: false };
  return { type: "text/plain; charset=utf-8", ext: ".txt", inline: true };
}

/**
 * A file's type from its first bytes (`whole`: `head` is the whole file), never from what the sender said: a binary
 * format by its magic number, else UTF-8 text (markup or plain), else application/octet-stream. `name` only tells zip
 * formats apart and turns text named like a script or markup into a download.
 */
export function sniff(head: Uint8Array, name: string, whole = false): FileType {
  const h = head.subarray(0, SNIFF_BYTES);
  const ext = /\.[A-Za-z0-9]+$/.exec(name)?.[0].toLowerCase() ?? "";
  const known = MAGIC.find((m) => m.test(h));
  if (known?.type === "application/zip" && ZIP_BY_NAME[ext]) {
    const [type, zipExt] = ZIP_BY_NAME[ext]!;
    return { type, ext: zipExt, inline: false };
  }
  if (known) return { type: known.type, ext: known.ext, inline: known.inline ?? false };
  if (isText(h, whole && head.length <= SNIFF_BYTES)) {
    const t = textType(h);
    return t.inline && SCRIPT_NAMES.test(name) ? { ...t, inline: false } : t;
  }
  return { type: "application/octet-stream", ext: ".bin", inline: false };
}

/**
 * The headers a stored file is served with. Inline only for a type that shows without running anything (pictures,
 * sound, video, plain text); everything else, HTML, SVG, XML, PDF and what is not known, goes as
 * application/octet-stream with `attachment`. For all: nosniff, so no browser second-guesses the type, and a CSP
 * that allows no script and sandboxes the document, so even a file opened in a tab cannot act as our origin.
 */
export function servingHeaders(file: { name: string; type: string; size: number; inline: boolean }): Record<string, string> {
  return {
    "content-type": file.inline ? file.type : "application/octet-stream",
    "content-length": String(file.size),
    "content-disposition": contentDisposition(file.inline ? "inline" : "attachment", file.name),
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "referrer-policy": "no-referrer",
    // ntfy serves files with CORS (server.go handleFile), so another site's page may show a public file; never with credentials.
    "access-control-allow-origin": "*",
  };
}

/** Content-Disposition with the name twice: a plain ASCII fallback, and RFC 8187's UTF-8 form for the real one. */
export function contentDisposition(kind: "inline" | "attachment", name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** The longest attachment name kept, in characters (a file system's usual limit). */
const MAX_NAME = 255;

/**
 * A file name as the sender gave it, made safe to show and to save: only its last path segment, no control
 * characters, at most MAX_NAME characters; "" when nothing is left.
 */
export function cleanName(name: string): string {
  const last = name.split(/[\\/]/).pop() ?? "";
  const clean = last.replace(/[\u0000-\u001f\u007f-\u009f]/g, "").trim();
  return clean === "." || clean === ".." ? "" : [...clean].slice(0, MAX_NAME).join("");
}

/** The names ntfy reads the two parameters under (server.go parsePublishParams). */
export const ATTACH_NAMES = { attach: ["x-attach", "attach", "a"], filename: ["x-filename", "filename", "file", "f"] } as const;

/** What a publish says of attachments: an external URL (Attach) and its name, or a name for an uploaded body (Filename). */
export type AttachParams = { url?: string; name?: string };

/**
 * ntfy's Attach and Filename parameters (server.go parsePublishParams): Attach must start with http:// or https://
 * (ntfy's urlRegex, else 40013); its name is Filename, else the URL path's last segment, else "attachment".
 */
export function readAttachParams(src: ParamSource): AttachParams {
  const attach = readParam(src, ATTACH_NAMES.attach);
  const filename = readParam(src, ATTACH_NAMES.filename);
  const out: AttachParams = {};
  if (filename) out.name = cleanName(filename.value) || "attachment";
  if (!attach) return out;
  let url: URL | null = null;
  try {
    url = /^https?:\/\//.test(attach.value) ? new URL(attach.value) : null;
  } catch {
    url = null;
  }
  if (!url) throw new NtfyError(NTFY_ERRORS.attachmentUrlInvalid, `${JSON.stringify(attach.value.slice(0, 200))} from ${attach.where} is not an http:// or https:// URL`);
  out.url = attach.value;
  if (!out.name) {
    let last = url.pathname.split("/").pop() ?? "";
    try {
      last = decodeURIComponent(last);
    } catch {
      // a broken escape: the name stays as written
    }
    out.name = cleanName(last) || "attachment";
  }
  return out;
}

/** ntfy's message for an attachment sent without one (server.go defaultAttachmentMessage). */
export const fileMessage = (name: string): string => `You received a file: ${name}`;

/** The boundary of a multipart/form-data body, from its Content-Type; null for any other body. */
export function multipartBoundary(contentType: string | null): string | null {
  const m = /^multipart\/form-data\s*;.*\bboundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType ?? "");
  return m ? (m[1] ?? m[2]!) : null;
}

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => (a.length === 0 ? b : Buffer.concat([a, b]));

/**
 * The first part's bytes of a multipart/form-data upload, streamed: Debian's Apprise (plugins/NotifyNtfy.py) posts
 * its attachment as a form's `file` field, where ntfy would keep the whole form as the file. The part's headers are
 * skipped and its end found at the next boundary; at most one boundary's length is held back between chunks. A body
 * that is not a well-formed form is a 400 naming what is missing.
 */
export async function* multipartFile(chunks: AsyncIterable<Uint8Array>, boundary: string): AsyncGenerator<Uint8Array> {
  const start = Buffer.from(`--${boundary}`);
  const end = Buffer.from(`\r\n--${boundary}`);
  let buffered: Uint8Array = new Uint8Array(0);
  let inBody = false;
  for await (const chunk of chunks) {
    buffered = concat(buffered, chunk);
    if (!inBody) {
      const at = Buffer.from(buffered).indexOf(start);
      const headersEnd = at < 0 ? -1 : Buffer.from(buffered).indexOf("\r\n\r\n", at);
      if (headersEnd < 0) {
        if (buffered.length > 64 * 1024) throw new NtfyError(NTFY_ERRORS.badRequest, "the multipart body has no part headers in its first 64 KB");
        continue;
      }
      buffered = buffered.subarray(headersEnd + 4);
      inBody = true;
    }
    const stop = Buffer.from(buffered).indexOf(end);
    if (stop >= 0) {
      if (stop > 0) yield buffered.subarray(0, stop);
      return; // the rest (other fields, the closing boundary) is not the file
    }
    const keep = Math.min(buffered.length, end.length - 1); // a boundary may be cut across two chunks
    if (buffered.length > keep) yield buffered.subarray(0, buffered.length - keep);
    buffered = buffered.subarray(buffered.length - keep);
  }
  throw new NtfyError(NTFY_ERRORS.badRequest, inBody ? "the multipart body ends before its closing boundary" : "the multipart body has no part");
}
