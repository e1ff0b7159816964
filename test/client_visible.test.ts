// test/client_visible.test.ts — control characters from messages are shown, never obeyed: every C0 (but tab, and newline
// where kept), DEL, every C1 and the bidi overrides become `\x1b`-style escapes; ordinary text is left exactly alone.
import { describe, expect, test } from "bun:test";
import { showControls, visibleJson, visibleLine } from "../client_visible";

/** The set, written out here on its own so the test does not lean on the code's regex. */
const SHOWN = new Set<number>();
for (let c = 0x00; c <= 0x1f; c++) if (c !== 0x09) SHOWN.add(c);
for (let c = 0x7f; c <= 0x9f; c++) SHOWN.add(c);
for (const c of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]) SHOWN.add(c);

const hex = (c: number, n: number) => c.toString(16).padStart(n, "0");

describe("showControls, one character at a time", () => {
  test("every BMP character: the set becomes \\xNN (up to U+00FF) or \\uNNNN, everything else passes unchanged", () => {
    const wrong: string[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue; // lone surrogates are not characters
      const ch = String.fromCharCode(c);
      const want = !SHOWN.has(c) ? ch : c <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`;
      if (showControls(ch, "show") !== want) wrong.push(`U+${hex(c, 4)}`);
      // Keeping newlines changes only the newline.
      if (showControls(ch, "keep") !== (c === 0x0a ? "\n" : want)) wrong.push(`U+${hex(c, 4)} (keep)`);
    }
    expect(wrong).toEqual([]);
  });

  test("the attacks from the report read as text: screen clear, title, OSC 52 clipboard, C1 CSI, overwrite, bidi", () => {
    expect(showControls("\x1b[2J\x1b[H")).toBe("\\x1b[2J\\x1b[H");
    expect(showControls("\x1b]0;pwned\x07")).toBe("\\x1b]0;pwned\\x07");
    expect(showControls("\x1b]52;c;ZXZpbA==\x1b\\")).toBe("\\x1b]52;c;ZXZpbA==\\x1b\\");
    expect(showControls("\u009b31mred\u009d0;t\u009c")).toBe("\\x9b31mred\\x9d0;t\\x9c");
    expect(showControls("all good\rALL BAD\b\b\x7f")).toBe("all good\\x0dALL BAD\\x08\\x08\\x7f");
    expect(showControls("invoice\u202egpj.exe")).toBe("invoice\\u202egpj.exe");
    expect(showControls("a\u2066b\u2069c")).toBe("a\\u2066b\\u2069c");
    expect(showControls("nul\0here")).toBe("nul\\x00here");
  });

  test("ordinary text stays exactly: tabs, newlines, CRLF as a newline, emoji with joiners, RTL text and its marks", () => {
    const ordinary = [
      "col1\tcol2",
      "line one\nline two",
      "✅ done 🚀 👩‍💻 🇫🇷 ünïcödé",
      "שלום עולם — مرحبا بالعالم",
      "abc \u200f(RLM) \u200e(LRM) \u061c(ALM)",
      "a\u00a0b\u00adc\u00ffd", // NBSP, soft hyphen, ÿ: printable Latin-1, not C1
      "𝕏 \u{1f600} \u{10ffff}",
      "C:\\Users\\x and \\x1b typed by hand",
    ];
    for (const s of ordinary) expect(showControls(s)).toBe(s);
    expect(showControls("windows\r\nline")).toBe("windows\nline");
    expect(showControls("windows\r\nline", "show")).toBe("windows\\x0d\\x0aline");
  });
});

describe("visibleLine: one terminal line", () => {
  test("newlines anywhere become one space, as formatLine does for the text; other controls are shown", () => {
    expect(visibleLine("[alerts] Title\n[alerts] forged: x")).toBe("[alerts] Title [alerts] forged: x");
    expect(visibleLine("[c] a \r\n  b\tc\x1b[2J")).toBe("[c] a b\tc\\x1b[2J");
    expect(visibleLine("[c] over\rwrite")).toBe("[c] over\\x0dwrite");
    expect(visibleLine("[c] ✅ שלום")).toBe("[c] ✅ שלום");
  });
});

describe("visibleJson: exact for scripts, inert for terminals", () => {
  test("parses back to exactly the value, and holds no raw control, C1 or bidi character", () => {
    let all = "";
    for (const c of SHOWN) all += String.fromCharCode(c);
    const value = { id: "1-0", message: `x${all}y ✅ שלום`, title: "\u202eevil" };
    const text = visibleJson(value);
    expect(JSON.parse(text)).toEqual(value);
    for (const ch of text) expect(SHOWN.has(ch.charCodeAt(0))).toBe(false);
    expect(text).toContain("\\u009b");
    expect(text).toContain("\\u202e");
    expect(text).toContain("✅ שלום");
  });
});
