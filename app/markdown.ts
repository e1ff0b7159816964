// app/markdown.ts — Markdown messages (content_type "text/markdown"): rendered to HTML by markdown-it with raw HTML
// off and only http(s) and mailto links, or read as plain text for a notification. Pure: no DOM.
import MarkdownIt from "markdown-it";
import type { RenderRule } from "markdown-it/lib/renderer.mjs";

/** The only links a message may carry: web pages and mail. Never javascript:, data:, vbscript:, file: or a path of ours. */
const SAFE_LINK = /^(?:https?:\/\/|mailto:)/i;

// html: false escapes every raw HTML tag (<img onerror>, <script>) as text; linkify makes bare URLs links, as the
// app does for plain messages; breaks: a newline in a notification is a line break, as senders mean it.
const md = new MarkdownIt({ html: false, linkify: true, breaks: true });
// An image in the text would load anything from anywhere at any size: files come as attachments, previewed under a limit.
md.disable("image");
// markdown-it hands the normalised (percent-encoded) href: "java\tscript:" arrives as "java%09script:" and fails too.
md.validateLink = (url: string): boolean => SAFE_LINK.test(url);
const renderToken: RenderRule = (tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options);
const linkOpen = md.renderer.rules.link_open ?? renderToken;
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  // A link opens a new tab that cannot reach back into the app (window.opener) nor learn where it came from.
  tokens[idx]!.attrSet("target", "_blank");
  tokens[idx]!.attrSet("rel", "noopener noreferrer");
  return linkOpen(tokens, idx, options, env, self);
};

/** The message as HTML: escaped text, Markdown's own elements, and links that passed SAFE_LINK. */
export function markdownHtml(source: string): string {
  return md.render(source);
}

const BLOCK_ENDS = new Set(["paragraph_close", "heading_close", "list_item_close", "blockquote_close", "table_row_close"]);

/** The message as clean text (no asterisks, no link syntax), for a notification's body. */
export function markdownText(source: string): string {
  const out: string[] = [];
  for (const t of md.parse(source, {})) {
    if (t.type === "inline")
      for (const c of t.children ?? []) {
        if (c.type === "text" || c.type === "code_inline") out.push(c.content);
        else if (c.type === "softbreak" || c.type === "hardbreak") out.push("\n");
      }
    else if (t.type === "fence" || t.type === "code_block") out.push(t.content);
    else if (t.type === "list_item_open") out.push("• ");
    else if (BLOCK_ENDS.has(t.type) && !t.hidden) out.push("\n"); // a tight list's paragraphs are hidden
  }
  return out.join("").replace(/\n{3,}/g, "\n\n").trim();
}
