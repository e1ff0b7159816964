// test/web_gotify_model.test.ts — Gotify's data as Notistream maps it, checked against Gotify v2.9.1's code
// (/work/.mirror/gotify+server/repo, tag v2.9.1): priorities both ways, tokens, POST /message into an envelope and any
// envelope back into Gotify's message JSON, dates as Go prints them, request checks, errors, paging and hidden marks.
import { describe, expect, test } from "bun:test";
import { buildEnvelope, envelopeFields, envelopeFromEntry, type Envelope } from "../message";
import {
  APP_TOKEN_FORMAT,
  AppParamsSchema,
  CLIENT_TOKEN_FORMAT,
  ClientParamsSchema,
  CreateMessageSchema,
  NO_HIDDEN,
  appJson,
  channelSlug,
  clientJson,
  defaultChannel,
  extrasOf,
  goTime,
  gotifyError,
  hideAll,
  sortKeyAfter,
  sortKeyOfNumber,
  tokenRefusal,
  hideApp,
  hideMessage,
  isHidden,
  messageJson,
  newAppToken,
  newClientToken,
  newImageName,
  notificationFromGotify,
  pagedMessages,
  parseParams,
  parsePaging,
  priorityFromGotify,
  priorityToGotify,
  type AppRecord,
  type GotifyMessage,
} from "../web_gotify_model";

const app: AppRecord = {
  id: 3, token: "AWH0wZ5r0Mbac.r", user: "alice", name: "Backup Server", description: "", defaultPriority: 4,
  image: "", channel: "gotify-backup-server", sortKey: "a3", lastUsed: null,
};
const create = (body: unknown) => {
  const r = parseParams(CreateMessageSchema, body);
  if (!r.ok) throw new Error(r.description);
  return r.value;
};

describe("priorities", () => {
  test("Gotify's 0–10 onto 1–5 as the Android app groups them: < 1, 1–3, 4–7, 8–9, ≥ 10", () => {
    // gotify/android's MissedMessageUtil/NotificationSupport group by: priority < 1, 1..3, 4..7, >= 8 (issue 27's rule adds 10 as max).
    const cases: [number, number][] = [[-5, 1], [0, 1], [1, 2], [3, 2], [4, 3], [7, 3], [8, 4], [9, 4], [10, 5], [42, 5]];
    for (const [gotify, ours] of cases) expect([gotify, priorityFromGotify(gotify)]).toEqual([gotify, ours]);
  });
  test("ours onto Gotify's: 1→0, 2→2, 3→5, 4→8, 5→10, and each comes back to where it started", () => {
    expect([1, 2, 3, 4, 5].map(priorityToGotify)).toEqual([0, 2, 5, 8, 10]);
    for (const p of [1, 2, 3, 4, 5]) expect(priorityFromGotify(priorityToGotify(p))).toBe(p);
  });
});

describe("tokens (auth/token.go generateRandomToken: prefix and 14 of a-zA-Z0-9.-_)", () => {
  test("app tokens start with A, client tokens with C, 15 characters, and they differ", () => {
    const apps = new Set(Array.from({ length: 200 }, newAppToken));
    expect(apps.size).toBe(200);
    for (const t of apps) expect(t).toMatch(APP_TOKEN_FORMAT);
    expect(newClientToken()).toMatch(CLIENT_TOKEN_FORMAT);
    expect(newClientToken()).not.toMatch(APP_TOKEN_FORMAT);
    // The example token in model/application.go.
    expect("AWH0wZ5r0Mbac.r").toMatch(APP_TOKEN_FORMAT);
    expect("CWH0wZ5r0Mbac.r").toMatch(CLIENT_TOKEN_FORMAT);
    // api/application.go UploadApplicationImage: generateImageName() (25 characters) + the extension.
    expect(newImageName(".PNG")).toMatch(/^[a-zA-Z0-9._-]{25}\.png$/);
  });

  // Our extension: POST /application and /client take a token carried over from a Gotify server (web_gotify_import.ts).
  test("a carried-over token must have Gotify v2's form for its kind; v3's enhanced tokens are refused with the reason", () => {
    expect(tokenRefusal("app", "AWH0wZ5r0Mbac.r")).toBeNull();
    expect(tokenRefusal("client", "CWH0wZ5r0Mbac.r")).toBeNull();
    expect(tokenRefusal("app", "CWH0wZ5r0Mbac.r")).toContain(`a client's (it starts with "C")`);
    expect(tokenRefusal("client", "AWH0wZ5r0Mbac.r")).toContain(`an application's (it starts with "A")`);
    expect(tokenRefusal("app", "Ashort")).toContain("this one has 6 characters");
    expect(tokenRefusal("app", "AWH0wZ5r0Mbac/r")).toContain(`"A" and 14 of a-z A-Z 0-9 . - _`);
    expect(tokenRefusal("client", "")).toContain("this one has 0 characters");
    // v3.0.0 auth/token.go: "gtfy" + ident + "." + base64url of a 32-byte key (String, GenerateApplicationToken).
    const enhanced = `gtfya.${Buffer.alloc(32, 7).toString("base64url")}`;
    expect(tokenRefusal("app", enhanced)).toContain("Gotify v3's enhanced tokens (gtfy…) cannot be carried over");
    expect(tokenRefusal("client", enhanced.replace("gtfya", "gtfyc"))).toContain("Gotify v3's enhanced tokens");
  });

  test("an application's and a client's params take an optional token", () => {
    expect(parseParams(AppParamsSchema, { name: "x", token: "AWH0wZ5r0Mbac.r" })).toMatchObject({ ok: true, value: { token: "AWH0wZ5r0Mbac.r" } });
    expect(parseParams(ClientParamsSchema, { name: "x", token: "CWH0wZ5r0Mbac.r" })).toEqual({ ok: true, value: { name: "x", token: "CWH0wZ5r0Mbac.r" } });
    expect(parseParams(ClientParamsSchema, { name: "x", token: 5 })).toEqual({ ok: false, description: "Field 'token' is not valid" });
  });
});

describe("POST /message into our envelope (api/message.go CreateMessage)", () => {
  test("a blank title is the app's name (strings.TrimSpace), a missing priority the app's default, kept exactly", () => {
    const n = notificationFromGotify(app, create({ message: "done", title: "  " }));
    expect(n).toEqual({ channel: "gotify-backup-server", message: "done", title: "Backup Server", priority: 3, gotify: { id: 0, priority: 4 } });
    const p0 = notificationFromGotify(app, create({ message: "m", title: "T", priority: 0 }));
    expect([p0.title, p0.priority, p0.gotify]).toEqual(["T", 1, { id: 0, priority: 0 }]);
  });
  test("form and query values are text: priority '7' is 7 (Gin binds it into an int)", () => {
    expect(notificationFromGotify(app, create({ message: "m", priority: "7" })).gotify?.priority).toBe(7);
    expect(parseParams(CreateMessageSchema, { message: "m", priority: "high" })).toEqual({ ok: false, description: "Field 'priority' is not valid" });
  });
  test("extras kept whole and mapped: Markdown, click.url, bigImageUrl", () => {
    const extras = {
      "client::display": { contentType: "text/markdown" },
      "client::notification": { click: { url: "https://x.test/run/5" }, bigImageUrl: "https://x.test/img/graph.png?s=1" },
      "home::lights::on": { brightness: 15 },
    };
    const n = notificationFromGotify(app, create({ message: "**ok**", extras }));
    expect(n.gotify).toEqual({ id: 0, priority: 4, extras });
    expect(n.content_type).toBe("text/markdown");
    expect(n.url).toBe("https://x.test/run/5");
    expect(n.attachment).toEqual({ name: "graph.png", url: "https://x.test/img/graph.png?s=1" });
  });
  test("extras that are not links are not mapped (a javascript: click URL, plain text contentType)", () => {
    const n = notificationFromGotify(app, create({ message: "m", extras: { "client::display": { contentType: "text/plain" }, "client::notification": { click: { url: "javascript:alert(1)" } } } }));
    expect([n.content_type, n.url, n.attachment]).toEqual([undefined, undefined, undefined]);
  });
  test("'message' is required (error/handler.go validationErrorToText)", () => {
    expect(parseParams(CreateMessageSchema, { title: "t" })).toEqual({ ok: false, description: "Field 'message' is required" });
    expect(parseParams(CreateMessageSchema, { message: "" })).toEqual({ ok: false, description: "Field 'message' is required" });
    expect(parseParams(AppParamsSchema, {})).toEqual({ ok: false, description: "Field 'name' is required" });
    expect(parseParams(ClientParamsSchema, { name: "" })).toEqual({ ok: false, description: "Field 'name' is required" });
  });
  test("an application's params: description and defaultPriority default to '' and 0 (ApplicationParams)", () => {
    expect(parseParams(AppParamsSchema, { name: "x", defaultPriority: "5" })).toEqual({ ok: true, value: { name: "x", description: "", defaultPriority: 5, sortKey: "" } });
    expect(parseParams(AppParamsSchema, { name: "x", channel: "alerts" })).toMatchObject({ ok: true, value: { channel: "alerts" } });
  });
});

describe("an envelope as Gotify's message JSON (model/message.go MessageExternal)", () => {
  const at = 1_764_892_800_123; // a stream ID's millisecond
  const stored = (e: Omit<Envelope, "id" | "time">): Envelope => {
    // Through history and back, as the listing reads it.
    return envelopeFromEntry(`${at}-0`, envelopeFields(e, at), e.channel);
  };
  test("a Gotify-published message comes back exactly: number, title, Gotify priority, extras, the date to the ms", () => {
    const n = notificationFromGotify(app, create({ message: "m", priority: 6, extras: { "x::y": [1, null, "z"] } }));
    const env = stored({ ...n, gotify: { ...n.gotify!, id: 41 } });
    expect(messageJson(env, 3)).toEqual({ id: 41, appid: 3, message: "m", title: "Backup Server", priority: 6, extras: { "x::y": [1, null, "z"] }, date: "2025-12-05T00:00:00.123Z" });
  });
  test("a message published another way: priority mapped (default 3 → 5), extras built from Markdown, click and image", () => {
    const env = stored({
      channel: "alerts", message: "*hi*", priority: 4, content_type: "text/markdown", url: "https://x.test/",
      attachment: { name: "a.png", type: "image/png", url: "https://x.test/a.png" }, gotify: { id: 7 },
    });
    expect(messageJson(env, 9)).toEqual({
      id: 7, appid: 9, message: "*hi*", title: "", priority: 8,
      extras: { "client::display": { contentType: "text/markdown" }, "client::notification": { click: { url: "https://x.test/" }, bigImageUrl: "https://x.test/a.png" } },
      date: "2025-12-05T00:00:00.123Z",
    });
    expect(messageJson(stored({ channel: "c", message: "plain", gotify: { id: 8 } }), 9)).toEqual({ id: 8, appid: 9, message: "plain", title: "", priority: 5, date: "2025-12-05T00:00:00.123Z" });
    // extras are omitted when empty (json:"extras,omitempty"); a file that is no image is no bigImageUrl.
    expect(extrasOf(buildEnvelope({ channel: "c", message: "m", attachment: { name: "a.pdf", type: "application/pdf", url: "https://x.test/a.pdf" } }, "1-0", at))).toBeUndefined();
  });
  test("not shown to Gotify clients: no number, an ntfy event, a base64 body", () => {
    expect(messageJson(stored({ channel: "c", message: "m" }), 1)).toBeNull();
    expect(messageJson(stored({ channel: "c", message: "", event: "message_delete", sequence_id: "s", gotify: { id: 3 } }), 1)).toBeNull();
    expect(messageJson(stored({ channel: "c", message: "AAAA", encoding: "base64", gotify: { id: 4 } }), 1)).toBeNull();
    expect(messageJson(buildEnvelope({ channel: "c", message: "m", gotify: { id: 0 } }, "1-0", at), 1)).toBeNull();
  });
  test("dates as Go's encoding/json prints a time.Time: RFC 3339, fraction without trailing zeros, none when whole", () => {
    expect(goTime(Date.UTC(2018, 1, 27, 18, 36, 10, 500))).toBe("2018-02-27T18:36:10.5Z");
    expect(goTime(Date.UTC(2018, 1, 27, 18, 36, 10, 0))).toBe("2018-02-27T18:36:10Z");
    expect(goTime(Date.UTC(2018, 1, 27, 18, 36, 10, 40))).toBe("2018-02-27T18:36:10.04Z");
    expect(new Date(goTime(1_764_892_800_123)).getTime()).toBe(1_764_892_800_123);
  });
});

describe("apps, clients and channels as the API shows them", () => {
  test("an app's JSON: model/application.go's fields, the image resolved (withResolvedImage), our channel", () => {
    expect(appJson(app)).toEqual({
      id: 3, token: "AWH0wZ5r0Mbac.r", name: "Backup Server", description: "", internal: false, image: "static/defaultapp.png",
      defaultPriority: 4, lastUsed: null, sortKey: "a3", channel: "gotify-backup-server",
    });
    expect(appJson({ ...app, image: "abc.png" }).image).toBe("image/abc.png");
    expect(clientJson({ id: 2, token: "Cx", user: "alice", name: "Phone", lastUsed: null })).toEqual({ id: 2, token: "Cx", name: "Phone", lastUsed: null });
  });
  test("a default channel: gotify-<slug>, with -<id> when the user already has it", () => {
    expect(channelSlug("Backup Server")).toBe("backup-server");
    expect(channelSlug("  Ünïcode & Émoji 🚀 ")).toBe("unicode-emoji");
    expect(channelSlug("!!!")).toBe("app");
    expect(channelSlug("x".repeat(100)).length).toBe(48);
    expect(defaultChannel("Backup Server", 9, () => false)).toBe("gotify-backup-server");
    expect(defaultChannel("Backup Server", 9, (c) => c === "gotify-backup-server")).toBe("gotify-backup-server-9");
    // One word, so ntfy's apps can subscribe to it as a topic (ntfy server.go topicRegex ^[-_A-Za-z0-9]{1,64}$), even
    // the longest name with the largest id.
    const longest = defaultChannel("x".repeat(200), Number.MAX_SAFE_INTEGER, () => true);
    for (const c of [defaultChannel("Backup Server", 9, () => false), longest]) expect(c).toMatch(/^[-_A-Za-z0-9]{1,64}$/);
  });
});

describe("errors and paging", () => {
  test("Gotify's error shape (model/error.go; error/handler.go writeError uses http.StatusText)", () => {
    expect(gotifyError(401, "you need to provide a valid access token or user credentials to access this api")).toEqual({
      error: "Unauthorized", errorCode: 401, errorDescription: "you need to provide a valid access token or user credentials to access this api",
    });
    expect(gotifyError(404, "x").error).toBe("Not Found");
  });
  test("limit 1..200, default 100; since ≥ 0 (api/message.go pagingParams binding:min=1,max=200)", () => {
    const q = (s: string) => parsePaging(new URLSearchParams(s));
    expect(q("")).toEqual({ ok: true, value: { limit: 100, since: 0 } });
    expect(q("limit=1&since=7")).toEqual({ ok: true, value: { limit: 1, since: 7 } });
    expect(q("limit=200")).toEqual({ ok: true, value: { limit: 200, since: 0 } });
    expect(q("limit=201")).toEqual({ ok: false, description: "Field 'limit' must be less or equal to 200" });
    expect(q("limit=0")).toEqual({ ok: false, description: "Field 'limit' must be more or equal to 1" });
    expect(q("limit=ten").ok).toBe(false);
    expect(q("since=-1").ok).toBe(false);
  });
  test("buildWithPaging: limit + 1 rows mean more: next is origin+path?limit&since (query.Encode sorts keys), since the last shown", () => {
    const rows: GotifyMessage[] = [9, 8, 6, 5].map((id) => ({ id, appid: 1, message: "m", title: "", priority: 5, date: "d" }));
    const more = pagedMessages(rows, 3, "http://h:8080/message");
    expect(more.paging).toEqual({ next: "http://h:8080/message?limit=3&since=6", size: 3, since: 6, limit: 3 });
    expect(more.messages.map((m) => m.id)).toEqual([9, 8, 6]);
    // No more: since 0 and no next (json:"next,omitempty").
    expect(pagedMessages(rows, 4, "http://h/message")).toEqual({ paging: { size: 4, since: 0, limit: 4 }, messages: rows });
    expect(pagedMessages([], 100, "http://h/message")).toEqual({ paging: { size: 0, since: 0, limit: 100 }, messages: [] });
  });
});

describe("hidden marks (DELETE /message, /message/{id}, /application/{id}/message)", () => {
  test("one, all up to a number, or one app's up to a number", () => {
    let m = hideMessage(NO_HIDDEN, 5);
    expect([isHidden(m, 1, 5), isHidden(m, 1, 4), isHidden(m, 1, 6)]).toEqual([true, false, false]);
    m = hideApp(m, 2, 10);
    expect([isHidden(m, 2, 10), isHidden(m, 1, 10), isHidden(m, 2, 11)]).toEqual([true, false, false]);
    m = hideAll(m, 7);
    expect([isHidden(m, 1, 7), isHidden(m, 1, 8), isHidden(m, 2, 9)]).toEqual([true, false, true]);
    expect(m.ids).toEqual([]); // 5 is under the watermark now
    expect(hideAll(m, 12).apps).toEqual({}); // app 2's mark (10) is too
  });
  test("single marks are capped, the oldest dropped first", () => {
    let m = NO_HIDDEN;
    for (let n = 1; n <= 5; n++) m = hideMessage(m, n, 3);
    expect(m.ids).toEqual([3, 4, 5]);
    expect(hideMessage(m, 4, 3)).toBe(m);
  });
});

describe("sort keys (Gotify v3 database/application.go CreateApplication: fracdex.KeyBetween(largest, \"\"))", () => {
  test("a0 first, then the integer part counted up in base 62, a longer one after az; byte order is creation order", () => {
    expect(sortKeyAfter(undefined)).toBe("a0");
    expect(sortKeyAfter("a0")).toBe("a1");
    expect(sortKeyAfter("a9")).toBe("aA");
    expect(sortKeyAfter("aZ")).toBe("aa");
    expect(sortKeyAfter("az")).toBe("b00");
    expect(sortKeyAfter("b0z")).toBe("b10");
    expect(sortKeyAfter("bzz")).toBe("c000");
    // A key with a fraction (one a client placed between two others): the next integer (fracdex incrementInt).
    expect(sortKeyAfter("a0V")).toBe("a1");
    const keys = [sortKeyAfter(undefined)];
    for (let i = 0; i < 5000; i++) keys.push(sortKeyAfter(keys.at(-1)));
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual(keys);
  });
  test("the n-th key of that count is what counting up from a0 n times gives", () => {
    let key = "a0";
    for (let n = 0; n < 5000; n++, key = sortKeyAfter(key)) expect(sortKeyOfNumber(n)).toBe(key);
  });
  test("a largest key that is not fracdex's is still followed by one that sorts after it", () => {
    for (const odd of ["zebra!", "Q", "a", "my-key", "1"]) expect(sortKeyAfter(odd) > odd).toBe(true);
  });
});
