// client_markdown.ts — a Markdown message (content_type text/markdown) as clean text for a notification or a line: the
// syntax taken away, the words kept, links shown with their address. Pure. A notification daemon shows no Markdown.

/** Where an escaped ASCII character hides while the rules run: the Private Use Area, which no rule matches. */
const ESCAPED = 0xe000;

/**
 * Inline syntax outside code spans: images and links first (their text may hold emphasis), then emphasis and
 * strikethrough. `\*` and the like are the character itself: hidden from the rules, then put back.
 */
function inline(line: string): string {
  // A line that already holds such characters (rare) keeps its escapes' backslashes instead: nothing it holds is mistaken.
  if (/[\ue000-\ue07f]/.test(line)) return rules(line);
  return rules(line.replace(/\\([\\`*_{}[\]()#+\-.!~>|])/g, (_, c: string) => String.fromCharCode(ESCAPED + c.charCodeAt(0)))).replace(/[\ue000-\ue07f]/g, (c) =>
    String.fromCharCode(c.charCodeAt(0) - ESCAPED),
  );
}

/** The inline rules themselves. */
function rules(line: string): string {
  return (
    line
      // ![alt](src "title") → alt: the picture itself cannot be shown in text
      .replace(/!\[([^\]]*)\]\(([^)\s]*)(?:\s+"[^"]*")?\)/g, "$1")
      // [text](url "title") → text (url); a link whose text is its address once
      .replace(/\[([^\]]+)\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g, (_, text: string, url: string) => (text === url ? url : `${text} (${url})`))
      // <https://…> autolinks
      .replace(/<((?:https?|mailto):[^>\s]+)>/g, "$1")
      .replace(/(\*\*|__)(?=\S)([^]*?\S)\1/g, "$2")
      // *em* and _em_, but not snake_case words or 2 * 3 * 4
      .replace(/(^|[^\w*])\*(?=\S)([^*]*?\S)\*(?!\w)/g, "$1$2")
      .replace(/(^|[^\w])_(?=\S)([^_]*?\S)_(?!\w)/g, "$1$2")
      .replace(/~~(?=\S)([^]*?\S)~~/g, "$1")
  );
}

/**
 * `text` as plain text: headings, emphasis, code marks and fences, quotes and rules lose their syntax; list items
 * start with a bullet; links read `text (url)`. Lines inside a code fence are kept exactly.
 */
export function plainMarkdown(text: string): string {
  const out: string[] = [];
  let fence: string | null = null;
  for (const raw of text.replace(/\r\n/g, "\n").split("\n")) {
    const opens = /^\s*(```+|~~~+)/.exec(raw);
    if (fence !== null) {
      if (opens && opens[1]!.startsWith(fence)) fence = null;
      else out.push(raw);
      continue;
    }
    if (opens) {
      fence = opens[1]!;
      continue;
    }
    // A rule (---, ***, ___) is a break, not text.
    if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(raw)) {
      out.push("");
      continue;
    }
    const heading = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(raw); // # Heading #
    let line = (heading ? heading[1]! : raw)
      .replace(/^(\s*>)+\s?/, "") // > quote
      .replace(/^(\s*)[-*+]\s+\[([ xX])\]\s+/, (_, sp: string, x: string) => `${sp}${x === " " ? "☐" : "☑"} `) // - [x] task
      .replace(/^(\s*)[-*+]\s+/, "$1• "); // - item
    if (/^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)+\|?\s*$/.test(line)) continue; // a table's |---|---| line
    // `code` keeps its text as typed: only the parts between code spans are read as Markdown.
    out.push(line.split(/`([^`]+)`/).map((part, i) => (i % 2 ? part : inline(part))).join(""));
  }
  return out.join("\n");
}
