// test/ntfyserver.ts — a small server that speaks ntfy's wire format (v2, server/server.go and docs/subscribe/api.md), so
// the client's tests prove "any ntfy server": random 12-character IDs (not our stream IDs), open and keepalive events,
// since=<id> across topics, a cache kept in a file across restarts, Basic and Bearer logins, and ntfy's error JSON.
//
// As a process: bun test/ntfyserver.ts --port N --cache-file F [--keepalive-ms N (0: none)] [--user name:pw]
// [--token tk_...] [--deny-anonymous]. Each request is logged on stdout as "REQ <method> <path?query>".
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { spawn, type Subprocess } from "bun";
import { BUN, collect, freePort, waitForPort } from "./helpers";

/** ntfy's message JSON (server/types.go message), with its omitempty fields. */
export type NtfyMessage = {
  id: string;
  time: number;
  expires?: number;
  event: string;
  topic: string;
  title?: string;
  message?: string;
  priority?: number;
  tags?: string[];
  click?: string;
  poll_id?: string;
};

const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** model.GenerateMessageID / util.RandomString(12): 12 random letters and digits. */
export const randomId = (): string => Array.from({ length: 12 }, () => ID_CHARS[Math.floor(Math.random() * ID_CHARS.length)]).join("");

/** ntfy's message cache duration (config.go DefaultCacheDuration, 12 h): a message's `expires` is its time plus this. */
const CACHE_SECONDS = 12 * 3600;

/** A message as this server caches it: one JSON line in the cache file, so a restart keeps it (ntfy's cache-file). */
export function cachedMessage(topic: string, message: string, extra: Partial<NtfyMessage> = {}): NtfyMessage {
  const time = Math.floor(Date.now() / 1000);
  return { id: randomId(), time, expires: time + CACHE_SECONDS, event: "message", topic, ...extra, message };
}

/** Adds a message to a (stopped) server's cache file, as if another ntfy instance sharing it had taken the publish. */
export function appendToCache(file: string, m: NtfyMessage): void {
  appendFileSync(file, JSON.stringify(m) + "\n");
}

/** ntfy's error JSON (server/errors.go errHTTP), with its HTTP status. */
const ntfyError = (code: number, status: number, error: string, link = ""): Response =>
  new Response(JSON.stringify({ code, http: status, error, ...(link ? { link } : {}) }) + "\n", { status, headers: { "content-type": "application/json" } });
const UNAUTHORIZED = () => ntfyError(40101, 401, "unauthorized", "https://ntfy.sh/docs/publish/#authentication");
const FORBIDDEN = () => ntfyError(40301, 403, "forbidden", "https://ntfy.sh/docs/publish/#authentication");

/** ntfy's priority parse (util.go ParsePriority). */
const PRIORITIES: Record<string, number> = { "1": 1, min: 1, "2": 2, low: 2, "3": 3, default: 3, "4": 4, high: 4, "5": 5, max: 5, urgent: 5 };

/** RFC 2047 encoded words, as ntfy's util.go maybeDecodeHeader (mime.WordDecoder) reads them: B and Q, UTF-8. */
function decodeHeader(value: string): string {
  return value.replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_all, how: string, text: string) =>
    how.toLowerCase() === "b" ? Buffer.from(text, "base64").toString("utf8") : Buffer.from(text.replace(/_/g, " ").replace(/=([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), "latin1").toString("utf8"),
  );
}

type Since = { kind: "none" } | { kind: "all" } | { kind: "latest" } | { kind: "id"; id: string } | { kind: "time"; time: number };

/** server.go parseSince: all, none, latest, a message ID, a Unix time or a duration; anything else is 400 40008. */
function parseSince(raw: string, poll: boolean): Since | null {
  if (raw === "") return poll ? { kind: "all" } : { kind: "none" };
  if (raw === "all" || raw === "none" || raw === "latest") return { kind: raw };
  if (/^[A-Za-z0-9]{12}$/.test(raw)) return { kind: "id", id: raw };
  if (/^\d+$/.test(raw)) return { kind: "time", time: Number(raw) };
  const d = /^(\d+)(ms|s|m|h)$/.exec(raw);
  if (d) return { kind: "time", time: Math.floor((Date.now() - Number(d[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[d[2] as "ms"]) / 1000) };
  return null;
}

type Options = { port: number; cacheFile: string; keepaliveMs: number; users: Map<string, string>; tokens: Set<string>; denyAnonymous: boolean };

function serve(o: Options): void {
  const cache: NtfyMessage[] = existsSync(o.cacheFile)
    ? readFileSync(o.cacheFile, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as NtfyMessage)
    : [];
  const subscribers = new Set<{ topics: string[]; send: (m: NtfyMessage) => void }>();
  const encoder = new TextEncoder();
  const line = (m: NtfyMessage) => encoder.encode(JSON.stringify(m) + "\n");

  /** server.go maybeAuthenticate: no header is anonymous; a wrong login is 401; Basic with an empty user is a token. */
  const login = (req: Request): "anonymous" | "user" | "bad" => {
    const h = req.headers.get("authorization");
    if (!h) return "anonymous";
    if (h.startsWith("Bearer ")) return o.tokens.has(h.slice(7).trim()) ? "user" : "bad";
    if (!h.startsWith("Basic ")) return "bad";
    const [user, ...rest] = Buffer.from(h.slice(6), "base64").toString("utf8").split(":");
    const pw = rest.join(":");
    if (user === "") return o.tokens.has(pw) ? "user" : "bad";
    return o.users.get(user!) === pw ? "user" : "bad";
  };
  const refused = (req: Request): Response | null => {
    const who = login(req);
    if (who === "bad") return UNAUTHORIZED();
    if (who === "anonymous" && o.denyAnonymous) return FORBIDDEN();
    return null;
  };

  /** message_cache.go Messages, merged over the topics and sorted by time (server.go sendOldMessages). */
  const cached = (topics: string[], since: Since): NtfyMessage[] => {
    const on = cache.map((m, row) => ({ m, row })).filter(({ m }) => topics.includes(m.topic));
    let picked: NtfyMessage[];
    if (since.kind === "none") picked = [];
    else if (since.kind === "latest") picked = topics.flatMap((t) => on.filter(({ m }) => m.topic === t).slice(-1)).map(({ m }) => m);
    else if (since.kind === "time") picked = on.filter(({ m }) => m.time >= since.time).map(({ m }) => m);
    else if (since.kind === "id") {
      // The row of the ID, on any topic ("Do not include topic, see #336"); an unknown ID gives everything.
      const row = cache.findIndex((m) => m.id === since.id);
      picked = on.filter((x) => row < 0 || x.row > row).map(({ m }) => m);
    } else picked = on.map(({ m }) => m);
    return picked.sort((a, b) => a.time - b.time);
  };

  const subscribe = (req: Request, url: URL, topicsStr: string): Response => {
    const no = refused(req);
    if (no) return no;
    const poll = /^(1|yes|true)$/i.test(req.headers.get("x-poll") ?? url.searchParams.get("poll") ?? url.searchParams.get("po") ?? "");
    const since = parseSince(req.headers.get("x-since") ?? url.searchParams.get("since") ?? url.searchParams.get("si") ?? "", poll);
    if (since === null) return ntfyError(40008, 400, "invalid since parameter", "https://ntfy.sh/docs/subscribe/api/#fetch-cached-messages");
    const topics = topicsStr.split(",");
    const headers = { "content-type": "application/x-ndjson; charset=utf-8", "access-control-allow-origin": "*" };
    if (poll) return new Response(cached(topics, since).map((m) => JSON.stringify(m) + "\n").join(""), { headers });
    const now = () => Math.floor(Date.now() / 1000);
    let sub: { topics: string[]; send: (m: NtfyMessage) => void } | null = null;
    let keepalive: ReturnType<typeof setInterval> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        // Subscribe first, then open, then the cached messages, then live (server.go handleSubscribeHTTP).
        sub = { topics, send: (m) => controller.enqueue(line(m)) };
        subscribers.add(sub);
        controller.enqueue(line({ id: randomId(), time: now(), event: "open", topic: topicsStr }));
        for (const m of cached(topics, since)) controller.enqueue(line(m));
        if (o.keepaliveMs > 0) keepalive = setInterval(() => controller.enqueue(line({ id: randomId(), time: now(), event: "keepalive", topic: topicsStr })), o.keepaliveMs);
      },
      cancel() {
        if (sub) subscribers.delete(sub);
        clearInterval(keepalive);
      },
    });
    return new Response(body, { headers });
  };

  const publish = async (req: Request, url: URL, topic: string): Promise<Response> => {
    const no = refused(req);
    if (no) return no;
    const param = (...names: string[]): string => {
      for (const n of names) {
        const v = decodeHeader(req.headers.get(n) ?? "").trim();
        if (v) return v;
      }
      for (const n of names) {
        const v = url.searchParams.get(n.toLowerCase());
        if (v) return v.trim();
      }
      return "";
    };
    const extra: Partial<NtfyMessage> = {};
    const title = param("x-title", "title", "ti", "t");
    if (title) extra.title = title;
    const p = param("x-priority", "priority", "prio", "p");
    if (p) {
      const n = PRIORITIES[p.toLowerCase()];
      if (n === undefined) return ntfyError(40007, 400, "invalid priority parameter", "https://ntfy.sh/docs/publish/#message-priority");
      if (n !== 3) extra.priority = n;
    }
    const tags = param("x-tags", "tags", "tag", "ta");
    if (tags) extra.tags = tags.split(",").map((t) => t.trim()).filter(Boolean);
    const click = param("x-click", "click");
    if (click) extra.click = click;
    const body = (await req.text()).trim();
    // X-Poll-ID: a poll_request event, not cached ("New message" unless a body is given; server.go handlePublishInternal).
    const pollId = param("x-poll-id", "poll-id");
    if (pollId) {
      const m: NtfyMessage = { id: randomId(), time: Math.floor(Date.now() / 1000), event: "poll_request", topic, message: body || "New message", poll_id: pollId };
      for (const s of subscribers) if (s.topics.includes(topic)) s.send(m);
      return new Response(JSON.stringify(m) + "\n", { headers: { "content-type": "application/json" } });
    }
    const m = cachedMessage(topic, body || param("x-message", "message", "m") || "triggered", extra);
    cache.push(m);
    appendFileSync(o.cacheFile, JSON.stringify(m) + "\n");
    for (const s of subscribers) if (s.topics.includes(topic)) s.send(m);
    return new Response(JSON.stringify(m) + "\n", { headers: { "content-type": "application/json", "access-control-allow-origin": "*" } });
  };

  Bun.serve({
    port: o.port,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      process.stdout.write(`REQ ${req.method} ${url.pathname}${url.search}\n`);
      if (url.pathname === "/v1/health" && req.method === "GET") return Response.json({ healthy: true });
      const sub = /^\/([-_A-Za-z0-9]{1,64}(?:,[-_A-Za-z0-9]{1,64})*)\/json$/.exec(url.pathname);
      if (sub && req.method === "GET") return subscribe(req, url, sub[1]!);
      const topic = /^\/([-_A-Za-z0-9]{1,64})$/.exec(url.pathname);
      if (topic && (req.method === "POST" || req.method === "PUT")) return publish(req, url, topic[1]!);
      // GET /<topic> is the web app's page (server.go handleTopic), so GET /health is HTML here, as on ntfy.sh.
      if (topic && req.method === "GET") return new Response("<!DOCTYPE html><html><head><title>ntfy</title></head><body></body></html>", { headers: { "content-type": "text/html; charset=utf-8" } });
      return ntfyError(40401, 404, "page not found");
    },
  });
}

/** A test's ntfy server: started as a process, killed, and started again on the same port and cache file. */
export type NtfyServer = { url: string; port: number; cacheFile: string; proc: Subprocess; output: () => string; restart: () => Promise<void>; kill: () => Promise<void> };

export async function startNtfyServer(cacheFile: string, args: string[] = []): Promise<NtfyServer> {
  const port = await freePort();
  const start = () => spawn([BUN, import.meta.path, "--port", String(port), "--cache-file", cacheFile, ...args], { stdout: "pipe", stderr: "pipe" });
  const s: NtfyServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    cacheFile,
    proc: start(),
    output: () => "",
    restart: async () => {
      const before = s.output;
      s.proc = start();
      const now = collect(s.proc);
      s.output = () => before() + now();
      await waitForPort(port);
    },
    kill: async () => {
      s.proc.kill("SIGKILL");
      await s.proc.exited;
    },
  };
  s.output = collect(s.proc);
  await waitForPort(port);
  return s;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      "cache-file": { type: "string" },
      "keepalive-ms": { type: "string", default: "45000" },
      user: { type: "string", multiple: true, default: [] },
      token: { type: "string", multiple: true, default: [] },
      "deny-anonymous": { type: "boolean", default: false },
    },
  });
  serve({
    port: Number(values.port),
    cacheFile: values["cache-file"]!,
    keepaliveMs: Number(values["keepalive-ms"]),
    users: new Map(values.user!.map((u) => [u.slice(0, u.indexOf(":")), u.slice(u.indexOf(":") + 1)] as [string, string])),
    tokens: new Set(values.token),
    denyAnonymous: values["deny-anonymous"] === true,
  });
}
