// test/web_ntfy_publish.test.ts — web_ntfy_publish.ts on its own: every name ntfy reads each publish parameter by
// (headers, then lower-case query keys), RFC 2047 header values, priority names, `\n` in X-Message, the JSON publish
// merged with the request's headers, and the refusal table for features Notistream lacks. Each case cites ntfy's code.
import { describe, expect, test } from "bun:test";
import { NtfyError } from "../web_ntfy";
import {
  UNSUPPORTED,
  bodyMessage,
  isClearRequest,
  isNtfyJson,
  messageOf,
  readJsonPublish,
  readParam,
  readPublishParams,
  refuseUnsupportedFields,
  type ParamSource,
} from "../web_ntfy_publish";

/** A request's parameters: headers (any case, as fetch's Headers reads them) and a query string. */
const source = (headers: Record<string, string> = {}, query = "", json?: Map<string, string>): ParamSource => {
  const h = new Headers(headers);
  // present, as web_publishing.ts hands it: the header names, so absent ones are not looked up (and the fast path runs).
  return { header: (name) => h.get(name), present: new Set(h.keys()), query: new URLSearchParams(query), json };
};
const params = (headers: Record<string, string> = {}, query = "") => readPublishParams(source(headers, query));

/** The NtfyError a call throws (the test fails if it throws none, or something else). */
function refusal(f: () => unknown): NtfyError {
  try {
    f();
  } catch (err) {
    if (err instanceof NtfyError) return err;
    throw err;
  }
  throw new Error("no refusal");
}

describe("every name of each parameter (server/server.go parsePublishParams, docs/publish.md 'List of all parameters')", () => {
  // The names ntfy's parsePublishParams reads; ntfy's docs also name `ti` for the title.
  const NAMES: [field: "title" | "priority" | "tags" | "click" | "message", names: string[], value: string, want: string | number | string[]][] = [
    ["title", ["X-Title", "Title", "ti", "t"], "Dogs are better than cats", "Dogs are better than cats"],
    ["priority", ["X-Priority", "Priority", "prio", "p"], "high", 4],
    ["tags", ["X-Tags", "Tags", "Tag", "ta"], "warning, skull", ["warning", "skull"]],
    ["click", ["X-Click", "Click"], "https://home.nest.com/", "https://home.nest.com/"],
    ["message", ["X-Message", "Message", "m"], "Motion detected", "Motion detected"],
  ];
  for (const [field, names, value, want] of NAMES) {
    test(`${field}: ${names.join(", ")} as headers, and each lower-cased as a query key`, () => {
      for (const name of names) {
        expect(params({ [name]: value })[field], `header ${name}`).toEqual(want);
        expect(params({}, `${name.toLowerCase()}=${encodeURIComponent(value)}`)[field], `query ${name.toLowerCase()}`).toEqual(want);
      }
    });
  }

  test("a query key is read in lower case only, as readQueryParam asks for it: ?Title= is not the title", () => {
    expect(params({}, "Title=x").title).toBeUndefined();
    expect(params({}, "x-title=x").title).toBe("x");
  });

  test("headers win over the query, and earlier names over later ones; empty and blank values count as unset", () => {
    expect(params({ t: "header" }, "title=query").title).toBe("header");
    expect(params({ "X-Title": "x-title", Title: "title", t: "t" }).title).toBe("x-title");
    expect(params({ Title: "title", t: "t" }).title).toBe("title");
    expect(params({ "X-Title": "   " }, "t=from-query").title).toBe("from-query");
    expect(params({ "X-Title": "  padded  " }).title).toBe("padded");
  });

  test("priorities: 1-5 and ntfy's names in any case (util.ParsePriority); anything else is ntfy's 40007", () => {
    const want: Record<string, number> = { "1": 1, min: 1, "2": 2, low: 2, "3": 3, default: 3, "4": 4, high: 4, HIGH: 4, "5": 5, max: 5, urgent: 5, Urgent: 5 };
    for (const [raw, p] of Object.entries(want)) expect(params({ Priority: raw }).priority).toBe(p);
    for (const bad of ["0", "6", "loud", "4.0", "-1"]) {
      const e = refusal(() => params({ "X-Priority": bad }));
      expect([e.kind.code, e.kind.http]).toEqual([40007, 400]);
      expect(e.message).toContain("X-Priority header");
    }
  });

  test("Cloudflare's RFC 9218 Priority header (u=3, u=3, i) is no priority: X-Priority or the query still counts (util.go priorityHeaderIgnoreRegex)", () => {
    expect(params({ Priority: "u=3, i" }).priority).toBeUndefined();
    expect(params({ Priority: "u=1" }).priority).toBeUndefined();
    expect(params({ Priority: "u=4,i", "X-Priority": "5" }).priority).toBe(5);
    expect(params({ Priority: "u=3" }, "p=min").priority).toBe(1);
    // Only the header named Priority is ignored that way: u=3 anywhere else is a bad priority.
    expect(refusal(() => params({ "X-Priority": "u=3" })).kind.code).toBe(40007);
  });

  test("tags: a comma list, each trimmed, empty ones dropped (readCommaSeparatedParam)", () => {
    expect(params({ Tags: " a ,b,, c " }).tags).toEqual(["a", "b", "c"]);
    expect(params({ Tags: ",," }).tags).toBeUndefined();
  });

  test("a literal \\n in X-Message (header or query) is a newline; in the title it stays as written", () => {
    expect(params({ "X-Message": "line one\\nline two" }).message).toBe("line one\nline two");
    expect(params({}, `m=${encodeURIComponent("a\\nb\\nc")}`).message).toBe("a\nb\nc");
    expect(params({ Title: "a\\nb" }).title).toBe("a\\nb");
  });

  test("template: yes, 1 or true fills templates; no, 0 or false is a plain publish; a named template is refused (Notistream fills inline ones only)", () => {
    for (const yes of ["yes", "1", "true", "YES"]) expect(params({ "X-Template": yes }).template).toBe(true);
    for (const no of ["no", "0", "false"]) expect(params({}, `tpl=${no}`).template).toBe(false);
    const e = refusal(() => params({}, "template=github"));
    expect(e.kind.code).toBe(40043);
    expect(e.message).toContain('"github"');
  });
});

describe("header values as ntfy's Go server reads them", () => {
  test("RFC 2047 encoded-words, B and Q, are decoded (util.go maybeDecodeHeader, mime.WordDecoder)", () => {
    expect(params({ Title: "=?UTF-8?B?8J+YgCBCYWNrdXAgZG9uZQ==?=" }).title).toBe("😀 Backup done");
    expect(params({ Title: "=?utf-8?q?caf=C3=A9_au_lait?=" }).title).toBe("café au lait");
    expect(params({ "X-Tags": "=?UTF-8?B?d2FybmluZyxza3VsbA==?=" }).tags).toEqual(["warning", "skull"]);
    expect(params({ "X-Message": "=?UTF-8?B?YVxuYg==?=" }).message).toBe("a\nb"); // decoded, then \n
    // Two words in a row: the white space between them goes (RFC 2047 section 6.2).
    expect(params({ Title: "=?UTF-8?Q?one?= =?UTF-8?Q?_two?=" }).title).toBe("one two");
    expect(params({ Title: "plain =?ISO-8859-1?Q?Gr=FC=DFe?= text" }).title).toBe("plain Grüße text");
  });

  test("a value that only looks encoded stays as it was", () => {
    expect(params({ Title: "=?UTF-8?X?nope?=" }).title).toBe("=?UTF-8?X?nope?=");
    expect(params({ Title: "2+2=?" }).title).toBe("2+2=?");
  });

  test("UTF-8 header bytes, which fetch's Headers hand over one Latin-1 character each, are read as the text sent (Go reads UTF-8)", () => {
    const asFetchGivesIt = (s: string) => Buffer.from(s, "utf8").toString("latin1");
    expect(params({ Title: asFetchGivesIt("Café 😀") }).title).toBe("Café 😀");
    expect(params({ Tags: asFetchGivesIt("café,naïve") }).tags).toEqual(["café", "naïve"]);
    // Bytes that are not UTF-8 (a real Latin-1 header) stay as they came.
    expect(params({ Title: "Gr\u00fc\u00dfe" }).title).toBe("Gr\u00fc\u00dfe");
  });
});

describe("what Notistream does not do yet is refused with a 400 naming it, never published without it", () => {
  // Each name ntfy reads for each feature (server.go parsePublishParams), as a header and as a query key.
  for (const rule of UNSUPPORTED) {
    test(`${rule.feature}: ${rule.names.join(", ")}`, () => {
      const value = rule.feature.startsWith("cache") ? "no" : rule.feature.startsWith("markdown") ? "yes" : "https://example.com/x";
      const word = rule.feature.split(" ")[0]!.split("=")[0]!;
      for (const name of rule.names) {
        for (const [where, src] of [
          ["header", source({ [name]: value })],
          ["query", source({}, `${name}=${encodeURIComponent(value)}`)],
        ] as const) {
          const e = refusal(() => readPublishParams(src));
          expect(e.kind.http, `${name} as a ${where}`).toBe(400);
          expect(e.kind.code).toBe(rule.kind.code);
          expect(e.message).toContain(word);
          expect(e.message.toLowerCase()).toContain(where === "header" ? `the ${name} header` : `the "${name}" query parameter`);
        }
      }
    });
  }

  test("ntfy's codes where ntfy has one for a feature turned off: e-mail 40001, attachments 40014, calls 40032; the rest 40000", () => {
    expect(refusal(() => params({ "X-Email": "phil@example.com" })).kind.code).toBe(40001);
    expect(refusal(() => params({ Attach: "https://x/y.jpg" })).kind.code).toBe(40014);
    expect(refusal(() => params({ Filename: "flower.jpg" })).kind.code).toBe(40014);
    expect(refusal(() => params({ Call: "yes" })).kind.code).toBe(40032);
    expect(refusal(() => params({ Delay: "30m" })).kind.code).toBe(40000);
  });

  test("Markdown by Content-Type: text/markdown too (as ntfy reads it); markdown=no, cache=yes and firebase=no are no request for anything", () => {
    expect(refusal(() => params({ "Content-Type": "text/markdown" })).message).toContain("markdown");
    expect(params({ "X-Markdown": "false", "X-Cache": "yes", "X-Firebase": "no", "Content-Type": "text/plain" })).toEqual({ template: false });
  });

  test("several at once are all named, each with where it was asked for; ntfy's code is the first one's", () => {
    const e = refusal(() => params({ "X-Delay": "30m", "X-Icon": "https://x/i.png", "X-Actions": "view, Open, https://x" }));
    expect(e.kind.code).toBe(40000);
    for (const part of ["delay", "X-Delay header", "actions", "X-Actions header", "icon", "X-Icon header"]) expect(e.message).toContain(part);
  });
});

describe("ntfy's JSON publish to / (server.go transformBodyJSON, types.go publishMessage)", () => {
  test("told apart from our own POST / by its topic: a JSON object with a topic and no channel", () => {
    expect(isNtfyJson({ topic: "t", message: "m" })).toBe(true);
    expect(isNtfyJson({ channel: "c", topic: "t", message: "m" })).toBe(false);
    expect(isNtfyJson({ channel: "c", message: "m" })).toBe(false);
    expect(isNtfyJson({ topic: 7 })).toBe(false);
  });

  test("its keys become the X-* headers they stand for; the request's X-* headers count where the JSON sets nothing, as Apprise relies on", () => {
    const j = readJsonPublish({ topic: "alerts", message: "Disk full", title: "From JSON", tags: ["json"], "not-a-thing": "ignored" });
    expect(j.topic).toBe("alerts");
    expect(j.message).toBe("Disk full");
    // Apprise's ntfy:// sends priority and tags as headers beside its JSON.
    const p = readPublishParams(source({ "X-Priority": "high", "X-Title": "From a header", "X-Click": "https://example.com/" }, "", j.headers));
    expect(p).toEqual({ title: "From JSON", tags: ["json"], priority: 4, click: "https://example.com/", template: false });
  });

  test("priority as ntfy's number (0 is unset) or a name; tags as a list; our url stands for click when click is not given", () => {
    expect(readPublishParams(source({}, "", readJsonPublish({ topic: "t", priority: 5 }).headers)).priority).toBe(5);
    expect(readPublishParams(source({}, "", readJsonPublish({ topic: "t", priority: 0 }).headers)).priority).toBeUndefined();
    expect(readPublishParams(source({}, "", readJsonPublish({ topic: "t", priority: "min" }).headers)).priority).toBe(1);
    expect(readPublishParams(source({}, "", readJsonPublish({ topic: "t", url: "https://a/" }).headers)).click).toBe("https://a/");
    expect(readPublishParams(source({}, "", readJsonPublish({ topic: "t", url: "https://a/", click: "https://b/" }).headers)).click).toBe("https://b/");
    expect(refusal(() => readPublishParams(source({}, "", readJsonPublish({ topic: "t", priority: 9 }).headers))).kind.code).toBe(40007);
  });

  test("features in the JSON are refused like their headers, naming the JSON key (Uptime Kuma sends actions and icon)", () => {
    const kuma = readJsonPublish({ topic: "kuma", title: "Up", message: "[✅ Up] ok", priority: 3, tags: ["green_circle"], actions: [{ action: "view", label: "Open", url: "https://kuma.example.com" }], icon: "https://kuma.example.com/icon.svg" });
    const e = refusal(() => readPublishParams(source({}, "", kuma.headers)));
    for (const part of ['"actions" in the JSON', '"icon" in the JSON']) expect(e.message).toContain(part);
    expect(refusal(() => readPublishParams(source({}, "", readJsonPublish({ topic: "t", markdown: true }).headers))).message).toContain("markdown");
    expect(readPublishParams(source({}, "", readJsonPublish({ topic: "t", markdown: false, actions: [], firebase: "no" }).headers))).toEqual({ template: false });
    expect(refusal(() => readPublishParams(source({}, "", readJsonPublish({ topic: "t", delay: "30m", email: "a@b.c" }).headers))).message).toContain('"delay" in the JSON');
    // cache is a string in ntfy's JSON ("no"); a boolean false says the same and is refused the same way.
    for (const cache of ["no", false]) expect(refusal(() => readPublishParams(source({}, "", readJsonPublish({ topic: "t", cache }).headers))).message).toContain("cache=no");
    expect(readPublishParams(source({}, "", readJsonPublish({ topic: "t", cache: true }).headers))).toEqual({ template: false });
  });

  test("a key of the wrong type is ntfy's 40024; no topic is 40009", () => {
    expect(refusal(() => readJsonPublish({ topic: "t", title: { x: 1 } })).kind.code).toBe(40024);
    expect(refusal(() => readJsonPublish({ topic: "t", tags: [1] })).kind.code).toBe(40024);
    expect(refusal(() => readJsonPublish({ topic: "t", message: 5 })).kind.code).toBe(40024);
    expect(refusal(() => readJsonPublish({ topic: "" })).kind.code).toBe(40009);
  });

  test("our own POST / refuses the same features among its fields, rather than dropping them", () => {
    expect(() => refuseUnsupportedFields({ channel: "c", message: "m", title: "t", priority: "4", tags: "a" })).not.toThrow();
    const e = refusal(() => refuseUnsupportedFields({ channel: "c", message: "m", delay: "10m", attach: "https://x/y" }));
    for (const part of ['"delay" in the request', '"attach" in the request']) expect(e.message).toContain(part);
  });
});

describe("the body (server.go handlePublishBody, handleBodyAsTextMessage)", () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  test("UTF-8 text is the message, trimmed; with neither body nor Message it is 'triggered' (emptyMessageBody)", () => {
    expect(bodyMessage(bytes("  Backup successful 😀\n"), 4096)).toBe("Backup successful 😀");
    expect(messageOf("", { template: false })).toBe("triggered");
    expect(messageOf("", { template: false, message: "from m" })).toBe("from m");
    expect(messageOf("body", { template: false, message: "from m" })).toBe("body");
  });
  test("a body that is not UTF-8 is a file to ntfy: refused, naming attachments (40014)", () => {
    const e = refusal(() => bodyMessage(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0xff]), 4096));
    expect([e.kind.code, e.kind.http]).toEqual([40014, 400]);
    expect(e.message).toContain("attachments");
  });
  test("UnifiedPush (up=1, or Content-Encoding: aes128gcm): a binary body is refused naming UnifiedPush; a text one is a message", () => {
    for (const src of [source({}, "up=1"), source({ "X-UnifiedPush": "yes" }), source({ "Content-Encoding": "aes128gcm" })]) {
      const p = readPublishParams(src);
      expect(p.unifiedPush).toBe(true);
      expect(refusal(() => bodyMessage(Uint8Array.from([0xaa, 0xff, 0x00]), 4096, p.unifiedPush)).message).toContain("UnifiedPush");
      expect(bodyMessage(bytes("text"), 4096, p.unifiedPush)).toBe("text");
    }
    expect(readPublishParams(source({}, "up=0")).unifiedPush).toBeUndefined();
  });
  test("a body over the message limit would be an attachment too: 413 (41301), naming the limit", () => {
    const e = refusal(() => bodyMessage(bytes("x".repeat(101)), 100));
    expect([e.kind.code, e.kind.http]).toEqual([41301, 413]);
    expect(e.message).toContain("101 bytes");
    expect(bodyMessage(bytes("x".repeat(100)), 100)).toHaveLength(100);
  });
});

test("readParam says where a value came from: a header, a query key, or a JSON key", () => {
  expect(readParam(source({ "x-delay": "1m" }), ["x-delay"])?.where).toBe("the X-Delay header");
  expect(readParam(source({}, "in=1m"), ["x-in", "in"])?.where).toBe('the "in" query parameter');
  expect(readParam(source({}, "", new Map([["x-delay", "1m"]])), ["x-delay"])?.where).toBe('"delay" in the JSON');
});

test("ntfy's clear, PUT /<topic>/<sequence_id>/clear (or /read) with no body (server.go's v2.16 clear route), is told from a publish to a channel", () => {
  expect(isClearRequest("PUT", "/mytopic/abc123/clear", 0)).toBe(true);
  expect(isClearRequest("PUT", "/mytopic/abc123/read", 0)).toBe(true);
  // A body, POST, or a path that is not /<topic>/<sid>/clear publishes to the channel the path names, as before.
  expect(isClearRequest("PUT", "/mytopic/abc123/clear", 5)).toBe(false);
  expect(isClearRequest("POST", "/mytopic/abc123/clear", 0)).toBe(false);
  expect(isClearRequest("PUT", "/mytopic/clear", 0)).toBe(false);
  expect(isClearRequest("PUT", "/a/b/c/clear", 0)).toBe(false);
});
