// test/client_media.test.ts — pictures fetched for a toast (issue 25): raster images only, by their bytes; over the size
// limit refused (by Content-Length, and while reading when there is none); fetched once and then read from the cache.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pictures, pictureCacheDir, sniffImage } from "../client_media";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 1, 2, 3]);

describe("sniffImage", () => {
  test("PNG, JPEG, GIF, WebP and BMP by their first bytes; SVG, HTML and the rest are not images for a toast", () => {
    expect(sniffImage(PNG)).toBe("png");
    expect(sniffImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).toBe("jpg");
    expect(sniffImage(new TextEncoder().encode("GIF89a"))).toBe("gif");
    expect(sniffImage(new TextEncoder().encode("RIFF\0\0\0\0WEBPVP8 "))).toBe("webp");
    expect(sniffImage(new TextEncoder().encode("BM...."))).toBe("bmp");
    expect(sniffImage(new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg">'))).toBeNull();
    expect(sniffImage(new TextEncoder().encode("<html>"))).toBeNull();
  });
  test("the cache lives under XDG_CACHE_HOME, else ~/.cache", () => {
    expect(pictureCacheDir({ XDG_CACHE_HOME: "/c" })).toBe("/c/notistream/pictures");
    expect(pictureCacheDir({ HOME: "/home/u" })).toBe("/home/u/.cache/notistream/pictures");
  });
});

describe("Pictures", () => {
  let hits = 0;
  const big = new Uint8Array(2000).fill(7);
  big.set(PNG);
  const server = Bun.serve({
    port: 0,
    fetch(req) {
      hits++;
      const path = new URL(req.url).pathname;
      if (path === "/icon.png") return new Response(PNG, { headers: { "content-type": "image/png" } });
      if (path === "/big.png") return new Response(big);
      // No Content-Length: a stream that goes on past the limit.
      if (path === "/endless.png") return new Response(new ReadableStream({ pull: (c) => c.enqueue(big) }));
      if (path === "/page.png") return new Response("<html><script>x</script>", { headers: { "content-type": "image/png" } });
      return new Response("no", { status: 404 });
    },
  });
  afterAll(() => server.stop(true));
  const base = `http://127.0.0.1:${server.port}`;

  test("an image is written to the cache once; the second time no request is made", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pics-"));
    const pics = new Pictures(dir);
    const first = await pics.get(`${base}/icon.png`, 1000);
    expect("path" in first && first.path.endsWith(".png")).toBe(true);
    expect(new Uint8Array(readFileSync((first as { path: string }).path))).toEqual(PNG);
    const before = hits;
    expect(await new Pictures(dir).get(`${base}/icon.png`, 1000)).toEqual(first);
    expect(hits).toBe(before);
  });
  test("too large by its length, too large while reading, not an image whatever its type says, not http(s), not there", async () => {
    const pics = new Pictures(mkdtempSync(join(tmpdir(), "pics-")));
    expect(await pics.get(`${base}/big.png`, 1000)).toEqual({ problem: "it is 2000 bytes, over the 1000 a toast takes" });
    expect(await pics.get(`${base}/endless.png`, 100_000)).toEqual({ problem: "it is over the 100000 bytes a toast takes" });
    expect(await pics.get(`${base}/page.png`, 1000)).toEqual({ problem: "it is not a PNG, JPEG, GIF, WebP or BMP image" });
    expect(await pics.get("file:///etc/passwd", 1000)).toEqual({ problem: "only http(s) pictures are fetched" });
    expect(await pics.get(`${base}/missing.png`, 1000)).toEqual({ problem: "the server answered 404 Not Found" });
  });
});
