// test/web_filetype.test.ts — an attachment's type sniffed from its bytes, never from its sender, and how each type is
// served: only what cannot run in our origin shows inline (issue 25). ntfy sniffs the same way (util.go DetectContentType,
// content_type_writer.go, which also never serves text/html); we go further and serve HTML, SVG, XML and PDF as downloads.
import { describe, expect, test } from "bun:test";
import { cleanName, contentDisposition, multipartBoundary, multipartFile, readAttachParams, servingHeaders, sniff } from "../web_filetype";
import { NtfyError } from "../web_ntfy";

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("sniff: the type from the first bytes", () => {
  test("pictures, sound and video by their magic numbers, inline", () => {
    expect(sniff(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0), "x")).toEqual({ type: "image/png", ext: ".png", inline: true });
    expect(sniff(bytes(0xff, 0xd8, 0xff, 0xe0, 1), "flower.jpg")).toEqual({ type: "image/jpeg", ext: ".jpg", inline: true });
    expect(sniff(text("GIF89a\u0001\u0000"), "")).toMatchObject({ type: "image/gif", inline: true });
    expect(sniff(text("RIFF\u0000\u0000\u0000\u0000WEBPVP8 "), "")).toMatchObject({ type: "image/webp", inline: true });
    expect(sniff(text("ID3\u0004\u0000"), "")).toMatchObject({ type: "audio/mpeg", inline: true });
    expect(sniff(text("\u0000\u0000\u0000\u0018ftypisom"), "")).toMatchObject({ type: "video/mp4", inline: true });
  });

  test("the sender's name or Content-Type never makes HTML a picture: a PNG-named HTML file is HTML, a download", () => {
    const t = sniff(text("<!DOCTYPE html><script>alert(document.cookie)</script>"), "flower.png", true);
    expect(t).toEqual({ type: "text/html", ext: ".html", inline: false });
  });

  test("HTML, SVG (with or without an XML declaration) and XML are markup a browser runs: downloads", () => {
    for (const doc of ["<html><body>x</body></html>", "  \n<script>alert(1)</script>", "<!-- c --><p>x", "\uFEFF<iframe src=x>", "<a href=x>y</a>"])
      expect(sniff(text(doc), "page", true)).toMatchObject({ type: "text/html", inline: false });
    expect(sniff(text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), "x.png", true)).toMatchObject({ type: "image/svg+xml", inline: false });
    expect(sniff(text('<?xml version="1.0"?>\n<svg onload="alert(1)"/>'), "", true)).toMatchObject({ type: "image/svg+xml", inline: false });
    expect(sniff(text('<?xml version="1.0"?><feed/>'), "", true)).toMatchObject({ type: "application/xml", inline: false });
  });

  test("plain text is inline, unless named like a script or markup (a saved .js or .html must not be one we called safe)", () => {
    expect(sniff(text("backup done\nall good\n"), "log.txt", true)).toEqual({ type: "text/plain; charset=utf-8", ext: ".txt", inline: true });
    expect(sniff(text("alert(document.domain)"), "evil.js", true)).toMatchObject({ type: "text/plain; charset=utf-8", inline: false });
    expect(sniff(text("hello"), "note.html", true)).toMatchObject({ inline: false });
  });

  test("PDF, archives, executables and what is not known are downloads; an .apk is told from a zip by its name, as ntfy does", () => {
    expect(sniff(text("%PDF-1.7\n"), "")).toMatchObject({ type: "application/pdf", inline: false });
    expect(sniff(text("PK\u0003\u0004rest"), "app.apk")).toEqual({ type: "application/vnd.android.package-archive", ext: ".apk", inline: false });
    expect(sniff(text("PK\u0003\u0004rest"), "a.zip")).toMatchObject({ type: "application/zip", inline: false });
    expect(sniff(bytes(0x7f, 0x45, 0x4c, 0x46, 2, 1), "")).toMatchObject({ inline: false });
    expect(sniff(bytes(0, 1, 2, 3, 0xfe, 0xff), "")).toEqual({ type: "application/octet-stream", ext: ".bin", inline: false });
    expect(sniff(bytes(0xc3, 0x28), "", true)).toMatchObject({ type: "application/octet-stream" }); // not UTF-8
  });

  test("text starting with BM is text, not a bitmap; a UTF-8 character cut at the end of a prefix is still text", () => {
    expect(sniff(text("BMW is a car maker"), "", true)).toMatchObject({ type: "text/plain; charset=utf-8" });
    const cut = text("é".repeat(3000)).subarray(0, 4097);
    expect(sniff(cut, "", false)).toMatchObject({ type: "text/plain; charset=utf-8" });
  });
});

describe("servingHeaders: what cannot run is shown, everything else is downloaded", () => {
  test("a download: octet-stream, attachment, nosniff and a sandboxing CSP", () => {
    const h = servingHeaders({ name: "page.html", type: "text/html", size: 12, inline: false });
    expect(h["content-type"]).toBe("application/octet-stream");
    expect(h["content-disposition"]).toStartWith("attachment;");
    expect(h["x-content-type-options"]).toBe("nosniff");
    expect(h["content-security-policy"]).toContain("sandbox");
    expect(h["content-security-policy"]).toContain("default-src 'none'");
    expect(h["content-length"]).toBe("12");
  });
  test("a picture inline with its sniffed type, still under nosniff and the CSP", () => {
    const h = servingHeaders({ name: "flower.jpg", type: "image/jpeg", size: 3, inline: true });
    expect([h["content-type"], h["content-disposition"]!.split(";")[0], h["x-content-type-options"]]).toEqual(["image/jpeg", "inline", "nosniff"]);
  });
  test("Content-Disposition: an ASCII fallback without quotes or backslashes, and the UTF-8 name", () => {
    expect(contentDisposition("attachment", 'bl"ü\\me.txt')).toBe(`attachment; filename="bl___me.txt"; filename*=UTF-8''bl%22%C3%BC%5Cme.txt`);
  });
});

describe("names and ntfy's Attach/Filename parameters (server.go parsePublishParams)", () => {
  const src = (headers: Record<string, string>) => ({ header: (n: string) => headers[n.toLowerCase()] ?? null, query: new URLSearchParams() });
  test("a name keeps only its last segment and no control characters", () => {
    expect(cleanName("../../etc/passwd")).toBe("passwd");
    expect(cleanName("C:\\Users\\x\\report.pdf")).toBe("report.pdf");
    expect(cleanName("a\r\nb.txt")).toBe("ab.txt");
    expect(cleanName("..")).toBe("");
  });
  test("Attach: an http(s) URL named by its path's last segment, else 'attachment'; Filename wins", () => {
    expect(readAttachParams(src({ attach: "https://f-droid.org/F-Droid.apk" }))).toEqual({ url: "https://f-droid.org/F-Droid.apk", name: "F-Droid.apk" });
    expect(readAttachParams(src({ "x-attach": "https://example.com/" }))).toEqual({ url: "https://example.com/", name: "attachment" });
    expect(readAttachParams(src({ a: "https://example.com/a%20b.png", filename: "mine.png" }))).toEqual({ url: "https://example.com/a%20b.png", name: "mine.png" });
    expect(readAttachParams(src({ f: "flower.jpg" }))).toEqual({ name: "flower.jpg" });
  });
  test("Attach that is not http(s) is ntfy's 40013", () => {
    for (const bad of ["javascript:alert(1)", "file:///etc/passwd", "ftp://x/y", "//x/y"]) {
      let err: unknown;
      try {
        readAttachParams(src({ attach: bad }));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NtfyError);
      expect((err as NtfyError).kind.code).toBe(40013);
    }
  });
});

describe("multipartFile: the file in a form upload (Debian's Apprise sends its attachment so), streamed", () => {
  const form = (boundary: string, file: Uint8Array): Uint8Array =>
    Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n`), file, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  async function* split(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  }
  const collect = async (gen: AsyncGenerator<Uint8Array>): Promise<Uint8Array> => {
    const parts: Uint8Array[] = [];
    for await (const p of gen) parts.push(p);
    return Buffer.concat(parts);
  };
  test("the boundary from Content-Type, quoted or not; none for other bodies", () => {
    expect(multipartBoundary("multipart/form-data; boundary=abc123")).toBe("abc123");
    expect(multipartBoundary('multipart/form-data; charset=utf-8; boundary="a b"')).toBe("a b");
    expect(multipartBoundary("application/octet-stream")).toBeNull();
    expect(multipartBoundary(null)).toBeNull();
  });
  test("the part's bytes exactly, however the body is cut into chunks (a boundary split across two, a CR LF inside the file)", async () => {
    const file = Uint8Array.from([0xff, 0xd8, 0xff, 13, 10, 45, 45, 1, 2, 3, 13, 10]);
    const body = form("XyZ", file);
    for (const size of [1, 2, 3, 7, 64, body.length]) expect(await collect(multipartFile(split(body, size), "XyZ"))).toEqual(file);
  });
  test("a form cut short is a 400, never a file", async () => {
    const body = form("XyZ", text("abc")).subarray(0, 60);
    await expect(collect(multipartFile(split(body, 5), "XyZ"))).rejects.toBeInstanceOf(NtfyError);
  });
});
