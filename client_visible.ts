// client_visible.ts — message text made safe to show: control characters a terminal or a notification would obey (C0, DEL,
// C1, and the bidi overrides that reorder what is seen) become visible escapes like `\x1b`, never passed through. Pure.

/**
 * What is shown as an escape instead of passed through:
 * - C0 (U+0000–U+001F) but tab: ESC starts CSI and OSC sequences (clear the screen, set the window title, OSC 52
 *   writes the clipboard), CR and backspace overwrite a line, BEL rings. Newline is kept where a caller keeps it.
 * - DEL (U+007F), and C1 (U+0080–U+009F): xterm-like terminals obey C1 even when it arrives UTF-8 encoded, so
 *   U+009B is a CSI and U+009D an OSC on their own.
 * - Bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069, "Trojan Source"): they make text read
 *   other than it is ("‮gpj.exe" shows as "exe.jpg"), in a terminal that does bidi and in every notification
 *   daemon (Pango lays out bidi). The marks LRM, RLM and ALM only nudge neutral characters and are kept, with
 *   right-to-left text itself, emoji and their joiners.
 */
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
const CONTROLS_BUT_NEWLINE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/** One character as JavaScript writes it in a string literal: `\x1b` up to U+00FF, `\u202e` above. */
const escape = (c: string): string => {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
};

/**
 * `text` with every control character shown as an escape (`ESC[2J` reads `\x1b[2J`). Tabs are kept; newlines are
 * kept with `newlines: "keep"` (a CRLF counts as one newline), and shown as `\x0a` otherwise.
 */
export function showControls(text: string, newlines: "keep" | "show" = "keep"): string {
  return newlines === "keep" ? text.replace(/\r\n/g, "\n").replace(CONTROLS_BUT_NEWLINE, escape) : text.replace(CONTROLS, escape);
}

/** A line for the terminal: newlines (with the spaces around them) become one space, as formatLine does for the text. */
export function visibleLine(line: string): string {
  return showControls(line.replace(/\s*\n\s*/g, " "), "show");
}

/**
 * JSON for a terminal or a script: exactly the value (JSON.parse gives it back), but JSON.stringify writes DEL, C1
 * and the bidi controls raw, so those are written as `\u009b`-style escapes too.
 */
export function visibleJson(value: unknown): string {
  return JSON.stringify(value).replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
