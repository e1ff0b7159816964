// test/web_ntfy_publish.test.ts — web_ntfy_publish.ts on its own: every name ntfy reads each publish parameter by
// (headers, then lower-case query keys), RFC 2047 header values, priority names, `\n` in X-Message, the JSON publish
// merged with the request's headers, and the refusal table for features Notistream lacks. Each case cites ntfy's code.
import { describe, expect, test } from "bun:test";
import { NtfyError } from "../web_ntfy";
import {
  UNSUPPORTED,
  bodyMessage,
  featureFields,
  isNtfyJson,
  messageOf,
  readFeatureFields,
  readJsonPublish,
  readParam,
  readPublishParams,
  sequencePath,
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
      const value = "https://example.com/x";
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

  test("ntfy's codes where ntfy has one for a feature turned off: calls 40032; the rest 40000; attachments are no longer refused here", () => {
    // Attach and Filename are read by web_filetype.ts (test/web_filetype.test.ts, test/attachments.e2e.test.ts) since issue 25.
    expect(() => params({ Attach: "https://x/y.jpg", Filename: "flower.jpg" })).not.toThrow();
    expect(refusal(() => params({ Call: "yes" })).kind.code).toBe(40032);
    expect(refusal(() => params({ "X-Poll-ID": "abc" })).kind.code).toBe(40000);
  });

  test("several at once are all named, each with where it was asked for; ntfy's code is the first one's", () => {
    const e = refusal(() => params({ "X-Call": "yes", "X-Poll-ID": "abc" }));
    expect(e.kind.code).toBe(40032);
    for (const part of ["call", "X-Call header", "poll_id", "X-Poll-Id header"]) expect(e.message).toContain(part);
  });
});

// Issue 25: these left the refusal table. Read as ntfy v2.27's parsePublishParams reads them (wire reference §2.2;
// v2.16's sequence ID from ntfy's docs/publish.md §Updating + deleting notifications).
describe("sequence ID, actions, icon, Markdown and Cache, read under every name ntfy takes", () => {
  test("X-Sequence-ID, Sequence-ID, SID and ?sid=: ntfy's topic regex, else 40049 naming where it came from", () => {
    for (const src of [source({ "X-Sequence-ID": "build-42" }), source({ "Sequence-ID": "build-42" }), source({ SID: "build-42" }), source({}, "sid=build-42"), source({}, "sequence-id=build-42")])
      expect(readPublishParams(src).sequenceId).toBe("build-42");
    for (const bad of ["has space", "x".repeat(65), "a/b", "é"]) {
      const e = refusal(() => params({ "X-Sequence-ID": encodeURIComponent(bad) === bad ? bad : `=?UTF-8?B?${Buffer.from(bad).toString("base64")}?=` }));
      expect([e.kind.code, e.kind.http]).toEqual([40049, 400]);
      expect(e.message).toContain("X-Sequence-Id header");
    }
    expect(refusal(() => readPublishParams(source({}, "", readJsonPublish({ topic: "t", sequence_id: "no way" }).headers))).message).toContain('"sequence_id" in the JSON');
  });
  test("X-Actions, Actions, Action and ?actions=: the simple format or JSON (web_actions.ts); a bad one is 40018", () => {
    for (const src of [source({ "X-Actions": "view, Open, https://x.test" }), source({ Actions: "view, Open, https://x.test" }), source({ Action: "view, Open, https://x.test" }), source({}, "actions=view,Open,https://x.test")]) {
      const [a] = readPublishParams(src).actions!;
      expect(a).toMatchObject({ action: "view", label: "Open", url: "https://x.test", clear: false });
    }
    expect(refusal(() => params({ "X-Actions": "view, Open" })).kind.code).toBe(40018);
    expect(readPublishParams(source({}, "", readJsonPublish({ topic: "t", actions: [] }).headers)).actions).toBeUndefined();
  });
  test("X-Icon, Icon: an http(s) URL, else 40021", () => {
    expect(params({ "X-Icon": "https://x.test/i.png" }).icon).toBe("https://x.test/i.png");
    expect(params({}, "icon=http%3A%2F%2Fx.test%2Fi.png").icon).toBe("http://x.test/i.png");
    for (const bad of ["javascript:alert(1)", "ftp://x/i.png", "x.test/i.png", "https://"]) expect(refusal(() => params({ Icon: bad })).kind.code).toBe(40021);
  });
  test("X-Markdown, Markdown, md (ntfy's booleans), or Content-Type: text/markdown (its media type, any case)", () => {
    for (const src of [source({ "X-Markdown": "yes" }), source({ Markdown: "1" }), source({ md: "true" }), source({}, "md=1"), source({ "Content-Type": "text/markdown" }), source({ "Content-Type": "Text/Markdown; charset=utf-8" })])
      expect(readPublishParams(src).markdown).toBe(true);
    expect(params({ "X-Markdown": "false", "Content-Type": "text/plain" }).markdown).toBeUndefined();
    expect(readPublishParams(source({}, "", readJsonPublish({ topic: "t", markdown: true }).headers)).markdown).toBe(true);
  });
  test("X-Cache, Cache: no (also 0, false; cache=no in JSON, or false) keeps a message out of history; yes is the default; any other word is a 400", () => {
    for (const v of ["no", "0", "false", "NO"]) expect(params({ Cache: v }).noCache).toBe(true);
    for (const v of ["yes", "1", "true"]) expect(params({ "X-Cache": v }).noCache).toBeUndefined();
    for (const cache of ["no", false]) expect(readPublishParams(source({}, "", readJsonPublish({ topic: "t", cache }).headers)).noCache).toBe(true);
    expect(refusal(() => params({ Cache: "maybe" })).kind.http).toBe(400);
    expect(params({ "X-Firebase": "no" })).toEqual({ template: false });
  });
  test("the envelope's fields they become", () => {
    const p = params({ SID: "s1", "X-Icon": "https://x.test/i.png", md: "1", Cache: "no", Actions: "copy, Copy, 1234" });
    const f = featureFields(p);
    expect(f).toMatchObject({ sequence_id: "s1", icon: "https://x.test/i.png", content_type: "text/markdown", uncached: true });
    expect(f.actions![0]).toMatchObject({ action: "copy", label: "Copy", value: "1234" });
    expect(featureFields({})).toEqual({});
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
    // Issue 25: taken now, as ntfy takes them.
    const p = readPublishParams(source({}, "", kuma.headers));
    expect(p.icon).toBe("https://kuma.example.com/icon.svg");
    expect(p.actions).toHaveLength(1);
    expect(p.actions![0]).toMatchObject({ action: "view", label: "Open", url: "https://kuma.example.com", clear: false });
    expect(readPublishParams(source({}, "", readJsonPublish({ topic: "t", markdown: false, actions: [], firebase: "no" }).headers))).toEqual({ template: false });
    // attach is no longer refused: web_filetype.ts reads it (a link), test/attachments.e2e.test.ts publishes one.
    expect(readPublishParams(source({}, "", readJsonPublish({ topic: "t", attach: "https://x/y" }).headers))).toEqual({ template: false });
    expect(readPublishParams(source({}, "", readJsonPublish({ topic: "t", cache: true }).headers))).toEqual({ template: false });
  });

  test("a key of the wrong type is ntfy's 40024; no topic is 40009", () => {
    expect(refusal(() => readJsonPublish({ topic: "t", title: { x: 1 } })).kind.code).toBe(40024);
    expect(refusal(() => readJsonPublish({ topic: "t", tags: [1] })).kind.code).toBe(40024);
    expect(refusal(() => readJsonPublish({ topic: "t", message: 5 })).kind.code).toBe(40024);
    expect(refusal(() => readJsonPublish({ topic: "" })).kind.code).toBe(40009);
  });

  test("our own POST / reads ntfy's feature keys among its fields, and refuses those Notistream lacks rather than dropping them", () => {
    expect(readFeatureFields({ channel: "c", message: "m", title: "t", priority: "4", tags: "a" })).toEqual({});
    const f = readFeatureFields({ channel: "c", message: "m", sequence_id: "s", actions: [{ action: "view", label: "L", url: "https://x" }], icon: "https://x/i.png", markdown: true, cache: "no" });
    expect(f).toMatchObject({ sequenceId: "s", icon: "https://x/i.png", markdown: true, noCache: true });
    expect(readFeatureFields({ actions: "view, L, https://x" }).actions![0]!.label).toBe("L");
    expect(refusal(() => readFeatureFields({ actions: [{ action: "view" }] })).kind.code).toBe(40018);
    const e = refusal(() => readFeatureFields({ channel: "c", message: "m", call: "yes", attach: "https://x/y" }));
    // attach goes out as a link (web_attachments.ts linkFromFields), so only the call is named.
    expect(e.message).toContain('"call" in the request');
    expect(e.message).not.toContain("attach");
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
  // The body itself is web_unifiedpush_rules.ts's (test/web_unifiedpush_rules.test.ts, test/unifiedpush.e2e.test.ts).
  test("UnifiedPush is asked for by up=1, X-UnifiedPush or Content-Encoding: aes128gcm (server.go parsePublishParams)", () => {
    for (const src of [source({}, "up=1"), source({ "X-UnifiedPush": "yes" }), source({ "Content-Encoding": "aes128gcm" })]) {
      expect(readPublishParams(src).unifiedPush).toBe(true);
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

test("an event path names its notification: the last segment is the sequence ID, everything before it the channel (a slash kept, as /owner/repo/json)", () => {
  // ntfy v2.16: DELETE /<topic>/<sid>, PUT /<topic>/<sid>/clear (wire reference §2.1 and its route table).
  expect(sequencePath("mytopic/abc123")).toEqual({ channel: "mytopic", sequenceId: "abc123" });
  expect(sequencePath("owner/repo/build-7")).toEqual({ channel: "owner/repo", sequenceId: "build-7" });
  expect(sequencePath("my%20topic/s")).toEqual({ channel: "my topic", sequenceId: "s" });
  expect(refusal(() => sequencePath("mytopic")).kind.code).toBe(40401);
  expect(refusal(() => sequencePath("a,b/s")).kind.code).toBe(40401);
  expect(refusal(() => sequencePath("t/has%20space")).kind.code).toBe(40049);
  expect(refusal(() => sequencePath(`t/${"x".repeat(65)}`)).kind.code).toBe(40049);
});
