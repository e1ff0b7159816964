// test/client_markdown.test.ts — Markdown as clean text for a notification (issue 25): the syntax goes, the words and link
// addresses stay, code is kept as typed, and text that only looks like Markdown (snake_case, 2 * 3) is left alone.
import { describe, expect, test } from "bun:test";
import { plainMarkdown } from "../client_markdown";

describe("plainMarkdown", () => {
  test("emphasis, strikethrough, headings, quotes and lists lose their marks", () => {
    expect(plainMarkdown("**bold** and __also__, *em* and _em_, ~~gone~~")).toBe("bold and also, em and em, gone");
    expect(plainMarkdown("# Deploy\n## Step 2 ##\n> quoted\n> > twice")).toBe("Deploy\nStep 2\nquoted\ntwice");
    expect(plainMarkdown("- one\n* two\n  + nested\n- [x] done\n- [ ] todo\n1. first")).toBe("• one\n• two\n  • nested\n☑ done\n☐ todo\n1. first");
  });
  test("links read text (url); images their alt text; autolinks their address", () => {
    expect(plainMarkdown("see [the logs](https://ci.test/7 \"CI\") and ![a cat](https://x.test/c.png)")).toBe("see the logs (https://ci.test/7) and a cat");
    expect(plainMarkdown("[https://x.test](https://x.test) <https://y.test/a>")).toBe("https://x.test https://y.test/a");
  });
  test("code spans and fences keep their text exactly; a rule is a blank line; a table's divider goes", () => {
    expect(plainMarkdown("run `rm -rf **/*.tmp` now")).toBe("run rm -rf **/*.tmp now");
    expect(plainMarkdown("before\n```sh\necho **hi** # not a heading\n```\nafter")).toBe("before\necho **hi** # not a heading\nafter");
    expect(plainMarkdown("a\n---\nb")).toBe("a\n\nb");
    expect(plainMarkdown("| a | b |\n|---|:-:|\n| 1 | 2 |")).toBe("| a | b |\n| 1 | 2 |");
  });
  test("what only looks like Markdown stays: snake_case, arithmetic, escaped marks shown as the character", () => {
    expect(plainMarkdown("my_var_name is 2 * 3 * 4")).toBe("my_var_name is 2 * 3 * 4");
    expect(plainMarkdown("\\*not em\\* and 5\\_000")).toBe("*not em* and 5_000");
    expect(plainMarkdown("")).toBe("");
    // The placeholder an escape hides in is never made from what a sender typed: U+E01B stays, it does not become ESC.
    expect(plainMarkdown("\ue01b[2J \ue02a")).toBe("\ue01b[2J \ue02a");
  });
});
