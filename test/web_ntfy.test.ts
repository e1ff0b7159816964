// test/web_ntfy.test.ts — web_ntfy.ts, ntfy's wire format without sockets: the message JSON and its field order, the
// other events, each stream's line, the error shape and codes, topic paths, since, the filters and readParam's aliases.
// Each expectation cites where ntfy does it (its server/ files, or docs/subscribe/api.md).
import { describe, expect, test } from "bun:test";
import type { Envelope } from "../message";
import { InputError } from "../web_input";
import {
  NTFY_ERRORS,
  NtfyError,
  decodeHeaderWords,
  idBefore,
  idBeforeTime,
  ntfyErrorBody,
  ntfyErrorForStatus,
  ntfyErrorResponse,
  inNtfyShape,
  isNtfyRequest,
  ntfyEvent,
  ntfyJson,
  ntfyLine,
  ntfyMessage,
  ntfyVerbOf,
  parseGoDuration,
  parseSince,
  parseSubscribeParams,
  passes,
  randomNtfyId,
  readParam,
  topicString,
  topicsOf,
} from "../web_ntfy";

const ENV: Envelope = { id: "1700000000000-0", time: 1700000000, channel: "alerts", message: "disk full", title: "db1", priority: 5, tags: ["warning", "skull"], url: "https://example.com/x", source: "github" };
const NOW = 1_700_000_000_000;
const params = (query = "", headers: Record<string, string> = {}) => parseSubscribeParams(new Headers(headers), new URLSearchParams(query), NOW);

describe("the message JSON (types.go's message struct; docs/subscribe/api.md 'JSON message format')", () => {
  test("fields in the struct's order: id, time, event, topic, title, message, priority, tags, click; ours ride along after", () => {
    expect(ntfyJson(ntfyMessage(ENV))).toBe(
      '{"id":"1700000000000-0","time":1700000000,"event":"message","topic":"alerts","title":"db1","message":"disk full","priority":5,"tags":["warning","skull"],"click":"https://example.com/x","source":"github"}',
    );
  });

  test("empty fields are left out (omitempty); no expires, as history keeps a count, not an age", () => {
    expect(ntfyJson(ntfyMessage({ id: "1-0", time: 1, channel: "owner/repo", message: "", tags: [] }))).toBe('{"id":"1-0","time":1,"event":"message","topic":"owner/repo"}');
  });

  test("<, > and & are not escaped (v2.25 on); U+2028 and U+2029 are, as Go's encoder does", () => {
    expect(ntfyJson(ntfyMessage({ ...ENV, title: undefined, tags: undefined, url: undefined, source: undefined, priority: undefined, message: "a<b>&c\u2028d" }))).toBe(
      '{"id":"1700000000000-0","time":1700000000,"event":"message","topic":"alerts","message":"a<b>&c\\u2028d"}',
    );
  });

  test("open, keepalive and poll_request: id, time, event, topic (newOpenMessage); a poll request says New message", () => {
    expect(ntfyEvent("open", "t1,t2", NOW, "abcdefghijkl")).toEqual({ id: "abcdefghijkl", time: 1700000000, event: "open", topic: "t1,t2" });
    expect(ntfyJson(ntfyEvent("keepalive", "t1", NOW, "abcdefghijkl"))).toBe('{"id":"abcdefghijkl","time":1700000000,"event":"keepalive","topic":"t1"}');
    expect(ntfyEvent("poll_request", "t", NOW, "abcdefghijkl", "XYZ")).toEqual({ id: "abcdefghijkl", time: 1700000000, event: "poll_request", topic: "t", message: "New message", poll_id: "XYZ" });
    expect(randomNtfyId()).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(randomNtfyId()).not.toBe(randomNtfyId());
  });
});

describe("each stream's line (server.go handleSubscribeJSON, handleSubscribeSSE, handleSubscribeRaw)", () => {
  const open = ntfyEvent("open", "t", NOW, "abcdefghijkl");
  const msg = ntfyMessage({ id: "1-0", time: 1, channel: "t", message: "two\nlines" });
  test("json: the JSON and a newline", () => {
    expect(ntfyLine("json", msg)).toBe('{"id":"1-0","time":1,"event":"message","topic":"t","message":"two\\nlines"}\n');
  });
  test("sse: data: only for messages (so EventSource.onmessage fires), event: first for the others", () => {
    expect(ntfyLine("sse", msg)).toBe('data: {"id":"1-0","time":1,"event":"message","topic":"t","message":"two\\nlines"}\n\n');
    expect(ntfyLine("sse", open)).toBe('event: open\ndata: {"id":"abcdefghijkl","time":1700000000,"event":"open","topic":"t"}\n\n');
  });
  test("raw: a message's text on one line, newlines as spaces; an empty line for any other event", () => {
    expect(ntfyLine("raw", msg)).toBe("two lines\n");
    expect(ntfyLine("raw", open)).toBe("\n");
    expect(ntfyLine("raw", ntfyEvent("keepalive", "t", NOW))).toBe("\n");
  });
});

describe("errors (errors.go errHTTP: code, http, error, link)", () => {
  test("the body: code, http, error, link in that order, and a newline; code and link left out when empty", () => {
    expect(ntfyErrorBody(NTFY_ERRORS.sinceInvalid)).toBe('{"code":40008,"http":400,"error":"invalid since parameter","link":"https://ntfy.sh/docs/subscribe/api/#fetch-cached-messages"}\n');
    expect(ntfyErrorBody(NTFY_ERRORS.topicInvalid, "why")).toBe('{"code":40009,"http":400,"error":"invalid request: topic invalid; why"}\n');
    expect(ntfyErrorBody({ code: 0, http: 418, error: "x", link: "" })).toBe('{"http":418,"error":"x"}\n');
  });

  test("ntfy's codes and statuses, as errors.go has them", () => {
    const table = Object.fromEntries(Object.entries(NTFY_ERRORS).map(([k, v]) => [k, [v.code, v.http]]));
    expect(table).toMatchObject({
      priorityInvalid: [40007, 400],
      sinceInvalid: [40008, 400],
      topicInvalid: [40009, 400],
      webSocketUpgradeMissing: [40016, 400],
      messageJsonInvalid: [40017, 400],
      jsonInvalid: [40024, 400],
      unauthorized: [40101, 401],
      forbidden: [40301, 403],
      notFound: [40401, 404],
      tooManyRequests: [42901, 429],
      tooManySubscriptions: [42903, 429],
      tooManyAuthFailures: [42909, 429],
      internal: [50001, 500],
    });
    expect(ntfyErrorForStatus(401)).toBe(NTFY_ERRORS.unauthorized);
    expect(ntfyErrorForStatus(403)).toBe(NTFY_ERRORS.forbidden);
    expect(ntfyErrorForStatus(500).code).toBe(50001);
    // A status ntfy has no code for (503 when the pub/sub server is away): the status and our text, no code.
    expect(ntfyErrorBody(ntfyErrorForStatus(503), "the pub/sub server is not connected")).toBe('{"http":503,"error":"the pub/sub server is not connected"}\n');
  });

  test("the Response: the status, application/json and CORS (handleError)", async () => {
    const r = ntfyErrorResponse(NTFY_ERRORS.forbidden, "user bob may not read x");
    expect(r.status).toBe(403);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
    expect(await r.json()).toEqual({ code: 40301, http: 403, error: "forbidden; user bob may not read x", link: "https://ntfy.sh/docs/publish/#authentication" });
  });

  test("NtfyError is an InputError, so every route's catch answers it", () => {
    const err = new NtfyError(NTFY_ERRORS.priorityInvalid, "got 9");
    expect(err).toBeInstanceOf(InputError);
    expect(err.status).toBe(400);
    expect(err.message).toBe("invalid priority parameter; got 9");
  });
});

describe("topic paths (server.go jsonPathRegex and topicsFromPath)", () => {
  test("the verb is the last segment: json, sse, raw, ws, auth, and the publishing publish, send, trigger", () => {
    for (const v of ["json", "sse", "raw", "ws", "auth", "publish", "send", "trigger"]) expect(ntfyVerbOf(`/t/${v}`)).toBe(v as never);
    expect(ntfyVerbOf("/owner/repo/json")).toBe("json");
    for (const p of ["/json", "/", "/t", "/t/jsonx", "/t/JSON"]) expect(ntfyVerbOf(p)).toBeNull();
  });

  test("one topic or a comma list, slashes kept (a GitHub channel owner/repo), decoded, each once", () => {
    expect(topicsOf("alerts")).toEqual(["alerts"]);
    expect(topicsOf("t1,t2,t1")).toEqual(["t1", "t2"]);
    expect(topicsOf("owner/repo,a%2Cb")).toEqual(["owner/repo", "a,b"]);
    expect(topicString("t1,t2")).toBe("t1,t2");
  });

  test("no topic, a glob, a reserved or a control character, or a broken escape: 40009", () => {
    for (const raw of ["", ",", "a*", "notistream:push", "a%0Ab", "%E0%A4%A"]) {
      try {
        topicsOf(raw);
        throw new Error(`${raw} was taken`);
      } catch (err) {
        expect(err).toBeInstanceOf(NtfyError);
        expect((err as NtfyError).kind.code).toBe(40009);
      }
    }
  });
});

describe("since (server.go parseSince; docs/subscribe/api.md 'Fetch cached messages')", () => {
  test("empty: none when streaming, all when polling; all, none and latest by name", () => {
    expect(parseSince("", false, NOW)).toEqual({ kind: "none" });
    expect(parseSince("", true, NOW)).toEqual({ kind: "all" });
    for (const k of ["all", "none", "latest"] as const) expect(parseSince(k, false, NOW)).toEqual({ kind: k });
  });

  test("a stream ID is a position: after it; ntfy's own 12-character ID is unknown here, so everything cached", () => {
    expect(parseSince("1700000000000-3", false, NOW)).toEqual({ kind: "id", id: "1700000000000-3" });
    expect(parseSince("sPs71M8A2T12", false, NOW)).toEqual({ kind: "all" });
  });

  test("a Unix time, or a duration back from now (10m, 100ms, 1h30m)", () => {
    expect(parseSince("1643935928", false, NOW)).toEqual({ kind: "time", seconds: 1643935928 });
    expect(parseSince("10m", false, NOW)).toEqual({ kind: "time", seconds: 1700000000 - 600 });
    expect(parseSince("1h30m", false, NOW)).toEqual({ kind: "time", seconds: 1700000000 - 5400 });
    expect(parseSince("100ms", false, NOW)).toEqual({ kind: "time", seconds: 1699999999 });
  });

  test("anything else: 40008", () => {
    for (const bad of ["yesterday", "10d", "1.2.3", "-", "abc"]) {
      expect(() => parseSince(bad, false, NOW)).toThrow("invalid since parameter");
      try {
        parseSince(bad, false, NOW);
      } catch (err) {
        expect((err as NtfyError).kind.code).toBe(40008);
      }
    }
  });

  test("Go's durations: units ns to h, fractions, a sign, no days", () => {
    expect(parseGoDuration("1h30m")).toBe(5_400_000);
    expect(parseGoDuration("1.5h")).toBe(5_400_000);
    expect(parseGoDuration("100ms")).toBe(100);
    expect(parseGoDuration("-2s")).toBe(-2000);
    expect(parseGoDuration("2d")).toBeNull();
    expect(parseGoDuration("m")).toBeNull();
  });

  test("the stream IDs a time or latest starts after", () => {
    expect(idBeforeTime(1700000000)).toBe("1699999999999-18446744073709551615");
    expect(idBeforeTime(0)).toBe("0-0");
    expect(idBefore("5-2")).toBe("5-1");
    expect(idBefore("5-0")).toBe("4-18446744073709551615");
    expect(idBefore("0-0")).toBe("0-0");
  });
});

describe("parameters as headers or lower-case query keys (server/util.go readParam; docs/subscribe/api.md 'List of all parameters')", () => {
  test("a header wins over the query; each alias works; query keys are read in lower case only", () => {
    const q = (s: string) => new URLSearchParams(s);
    expect(readParam(new Headers({ "X-Since": "all" }), q("since=none"), "x-since", "since", "si")).toBe("all");
    expect(readParam(new Headers({ Si: "10m" }), q(""), "x-since", "since", "si")).toBe("10m");
    expect(readParam(new Headers(), q("si=latest"), "x-since", "since", "si")).toBe("latest");
    expect(readParam(new Headers(), q("x-since=all"), "x-since", "since", "si")).toBe("all");
    expect(readParam(new Headers(), q("Since=all"), "x-since", "since", "si")).toBe("");
  });

  test("RFC 2047 words in a header are decoded (maybeDecodeHeader)", () => {
    expect(decodeHeaderWords("=?UTF-8?B?w7xiZXI=?=")).toBe("über");
    expect(decodeHeaderWords("=?ISO-8859-1?Q?f=FCr_alle?=")).toBe("für alle");
    expect(decodeHeaderWords("=?UTF-8?B?YQ==?= =?UTF-8?B?Yg==?=")).toBe("ab");
    expect(decodeHeaderWords("plain =? text")).toBe("plain =? text");
    expect(params("", { "X-Title": "=?UTF-8?B?w7xiZXI=?=" }).filters?.title).toBe("über");
  });

  test("poll (x-poll, poll, po) and scheduled (x-scheduled, scheduled, sched): 1, yes, true", () => {
    expect(params("poll=1").poll).toBe(true);
    expect(params("po=yes").poll).toBe(true);
    expect(params("", { "X-Poll": "true" }).poll).toBe(true);
    expect(params("poll=0").poll).toBe(false);
    expect(params("sched=1").scheduled).toBe(true);
    expect(params("", { "X-Scheduled": "1" }).scheduled).toBe(true);
    expect(params("poll=1").since).toEqual({ kind: "all" });
    expect(params("").since).toEqual({ kind: "none" });
  });

  test("filters: id, message (m), title (t), priority (prio, p: numbers or names), tags (tag, ta); none at all is null", () => {
    expect(params("").filters).toBeNull();
    expect(params("id=1-0&m=hi&t=T&p=high,1&ta=a,b").filters).toEqual({ id: "1-0", message: "hi", title: "T", priorities: [4, 1], tags: ["a", "b"] });
    expect(params("", { "X-Priority": "urgent", "X-Tags": "x" }).filters).toEqual({ id: "", message: "", title: "", priorities: [5], tags: ["x"] });
    expect(() => params("priority=9")).toThrow("invalid priority parameter");
  });
});

describe("filters (types.go queryFilter.Pass; docs/subscribe/api.md 'Filter messages')", () => {
  const f = (query: string) => params(query).filters;
  test("id, message and title match exactly", () => {
    expect(passes(f("id=1700000000000-0"), ENV)).toBe(true);
    expect(passes(f("id=1-0"), ENV)).toBe(false);
    expect(passes(f("message=disk full"), ENV)).toBe(true);
    expect(passes(f("message=disk"), ENV)).toBe(false);
    expect(passes(f("title=db1"), ENV)).toBe(true);
    expect(passes(f("title=db2"), ENV)).toBe(false);
  });
  test("priority: any of the list; no priority counts as 3", () => {
    expect(passes(f("priority=4,5"), ENV)).toBe(true);
    expect(passes(f("priority=high"), ENV)).toBe(false);
    const plain = { ...ENV, priority: undefined };
    expect(passes(f("priority=3"), plain)).toBe(true);
    expect(passes(f("priority=default"), plain)).toBe(true);
    expect(passes(f("priority=4"), plain)).toBe(false);
  });
  test("tags: all of the list", () => {
    expect(passes(f("tags=warning"), ENV)).toBe(true);
    expect(passes(f("tags=warning,skull"), ENV)).toBe(true);
    expect(passes(f("tags=warning,cat"), ENV)).toBe(false);
    expect(passes(f("tags=x"), { ...ENV, tags: undefined })).toBe(false);
  });
  test("no filters pass everything", () => {
    expect(passes(null, ENV)).toBe(true);
  });
});

describe("our replies in ntfy's shape on ntfy's routes (server.go handleError: JSON, the status, CORS)", () => {
  test("a 401 or 403 of ours becomes ntfy's 40101 or 40301 with our text as the detail, without the challenge", async () => {
    const ours = new Response(JSON.stringify({ error: "anonymous clients may not read \"x\"" }), { status: 401, headers: { "content-type": "application/json", "www-authenticate": "Basic" } });
    const r = await inNtfyShape(ours);
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toBeNull();
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
    expect(await r.text()).toBe('{"code":40101,"http":401,"error":"unauthorized; anonymous clients may not read \\"x\\"","link":"https://ntfy.sh/docs/publish/#authentication"}\n');
    const forbidden = await inNtfyShape(new Response(JSON.stringify({ error: "no" }), { status: 403 }));
    expect(await forbidden.json()).toMatchObject({ code: 40301, http: 403, error: "forbidden; no" });
  });

  test("a 429 keeps its Retry-After; a 503 keeps its status with no code", async () => {
    const r = await inNtfyShape(new Response(JSON.stringify({ error: "slow down" }), { status: 429, headers: { "retry-after": "3" } }));
    expect(r.headers.get("retry-after")).toBe("3");
    expect(await r.json()).toMatchObject({ code: 42901, http: 429 });
    const away = await inNtfyShape(new Response(JSON.stringify({ error: "away" }), { status: 503 }));
    expect(away.status).toBe(503);
    expect(await away.json()).toEqual({ http: 503, error: "away" });
  });

  test("a success gets CORS and is otherwise untouched; an answer already in ntfy's shape is left as it is", async () => {
    const ok = await inNtfyShape(new Response('{"success":true}\n'));
    expect(ok.headers.get("access-control-allow-origin")).toBe("*");
    expect(await ok.text()).toBe('{"success":true}\n');
    const already = ntfyErrorResponse(NTFY_ERRORS.sinceInvalid);
    expect(await inNtfyShape(already)).toBe(already);
  });
});

describe("which requests are ntfy's before routing (the rate limit's 429 and OPTIONS)", () => {
  test("GET or OPTIONS on a verb path, and anything under /v1/; not a publish to a channel named a/json", () => {
    expect(isNtfyRequest("GET", "/a/json")).toBe(true);
    expect(isNtfyRequest("OPTIONS", "/a,b/ws")).toBe(true);
    expect(isNtfyRequest("POST", "/v1/account/token")).toBe(true);
    expect(isNtfyRequest("POST", "/a/json")).toBe(false);
    expect(isNtfyRequest("GET", "/events")).toBe(false);
    expect(isNtfyRequest("OPTIONS", "/")).toBe(false);
  });
  test("ntfy's delete and clear (v2.16): DELETE /<topic>/<sid>, GET or PUT /<topic>/<sid>/clear, /read, /delete; not our DELETE /push/subscribe", () => {
    expect(isNtfyRequest("DELETE", "/t/s1")).toBe(true);
    expect(isNtfyRequest("PUT", "/t/s1/clear")).toBe(true);
    expect(isNtfyRequest("GET", "/t/s1/read")).toBe(true);
    expect(isNtfyRequest("GET", "/t/s1/delete")).toBe(true);
    expect(isNtfyRequest("DELETE", "/push/subscribe")).toBe(false);
    expect(isNtfyRequest("POST", "/t/s1/clear")).toBe(false);
    expect(isNtfyRequest("GET", "/clear")).toBe(false);
  });
});

// Issue 25: the fields and events of v2.16+ (wire reference §1.4 and §1.1: model.go Message, ForJSON, handleSubscribeSSE).
describe("the message JSON's new fields and events", () => {
  const action = { id: "a1b2c3d4e5", action: "view" as const, label: "Open", clear: false, url: "https://x.test" };
  test("sequence_id right after id, dropped when it is the id (ForJSON); icon, actions, attachment and content_type in the struct's order", () => {
    const env: Envelope = { id: "5-0", time: 1, channel: "t", message: "m", sequence_id: "b7", icon: "https://x.test/i.png", actions: [action], attachment: { name: "a.png", url: "https://x.test/a.png" }, content_type: "text/markdown", url: "https://x.test/c" };
    expect(ntfyJson(ntfyMessage(env))).toBe(
      '{"id":"5-0","sequence_id":"b7","time":1,"event":"message","topic":"t","message":"m","click":"https://x.test/c","icon":"https://x.test/i.png","actions":[{"id":"a1b2c3d4e5","action":"view","label":"Open","clear":false,"url":"https://x.test"}],"attachment":{"name":"a.png","url":"https://x.test/a.png"},"content_type":"text/markdown"}',
    );
    expect(ntfyMessage({ id: "5-0", time: 1, channel: "t", message: "m", sequence_id: "5-0" }).sequence_id).toBeUndefined();
  });
  test("message_delete and message_clear: the kind, topic and sequence ID, no message; SSE writes them with data: alone, raw as an empty line", () => {
    const del = ntfyMessage({ id: "6-0", time: 2, channel: "t", message: "", event: "message_delete", sequence_id: "b7" });
    expect(ntfyJson(del)).toBe('{"id":"6-0","sequence_id":"b7","time":2,"event":"message_delete","topic":"t"}');
    expect(ntfyLine("sse", del)).toBe('data: {"id":"6-0","sequence_id":"b7","time":2,"event":"message_delete","topic":"t"}\n\n');
    expect(ntfyLine("json", del)).toBe(`${ntfyJson(del)}\n`);
    expect(ntfyLine("raw", del)).toBe("\n");
    const clear = ntfyMessage({ id: "7-0", time: 3, channel: "t", message: "", event: "message_clear", sequence_id: "b7" });
    expect(ntfyLine("sse", clear)).toBe('data: {"id":"7-0","sequence_id":"b7","time":3,"event":"message_clear","topic":"t"}\n\n');
  });
});
