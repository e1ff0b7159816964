// app/icons.ts — draws the app's icons (a bell on a gradient tile) and writes them as PNG files.
// Run once with `bun app/icons.ts`; the PNGs it writes are committed next to it.
import { deflateSync } from "node:zlib";

function crc32(buf: Uint8Array): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function png(size: number, pixel: (x: number, y: number) => [number, number, number, number]): Uint8Array {
  const raw = new Uint8Array(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) raw.set(pixel(x, y), y * (size * 4 + 1) + 1 + x * 4);
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, size);
  v.setUint32(4, size);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const sig = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]);
  const parts = [sig, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", new Uint8Array(0))];
  return Buffer.concat(parts);
}

/** The icon: a rounded-square indigo-to-violet tile with a white bell and a small dot for "new". */
function icon(size: number): Uint8Array {
  const s = size;
  return png(s, (px, py) => {
    const x = (px + 0.5) / s;
    const y = (py + 0.5) / s;
    // Maskable-safe: the tile fills the square; the glyph stays in the middle 60%.
    const t = (x + y) / 2;
    const bg: [number, number, number] = [Math.round(79 + (124 - 79) * t), Math.round(70 + (58 - 70) * t), Math.round(229 + (237 - 229) * t)];
    const cx = 0.5;
    // Bell body: a dome above a flared rim.
    const dx = x - cx;
    const bodyTop = 0.3;
    const bodyBottom = 0.64;
    let inBell = false;
    if (y >= bodyTop && y <= bodyBottom) {
      const k = (y - bodyTop) / (bodyBottom - bodyTop);
      const half = 0.13 + 0.09 * k * k;
      const dome = y < 0.4 ? Math.hypot(dx, (y - 0.4) * 1.0) <= 0.13 : Math.abs(dx) <= half;
      inBell = dome;
    }
    const rim = y > 0.62 && y < 0.67 && Math.abs(dx) < 0.25;
    const clapper = Math.hypot(dx, y - 0.71) < 0.05;
    const knob = Math.hypot(dx, y - 0.27) < 0.035;
    const dot = Math.hypot(x - 0.7, y - 0.3) < 0.075;
    if (dot) return [251, 191, 36, 255];
    if (inBell || rim || clapper || knob) return [255, 255, 255, 255];
    return [bg[0], bg[1], bg[2], 255];
  });
}

if (import.meta.main) {
  for (const size of [192, 512]) await Bun.write(`${import.meta.dir}/icon-${size}.png`, icon(size));
  console.log("wrote app/icon-192.png and app/icon-512.png");
}
