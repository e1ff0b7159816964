// client_http.ts — what the client's HTTP side shares (subscribing through our web server or an ntfy server, publishing):
// the login it sends, an HTTP refusal as a failure, the CA it trusts, and which kind of server a --url is.
import { readFileSync } from "node:fs";
import type { LinkFailure } from "./link";
import type { Config } from "./client_config";

/**
 * The Authorization header for the settings: a token as Bearer (ntfy's tk_…, or the web server's); else a user logs in
 * with Basic; a password alone is a Bearer token (the web server's --token, or an ACL password); else none.
 */
export function authorization(c: Pick<Config, "user" | "password" | "token">): string | null {
  if (c.token !== undefined) return `Bearer ${c.token}`;
  if (c.password === undefined) return null;
  return c.user ? `Basic ${Buffer.from(`${c.user}:${c.password}`).toString("base64")}` : `Bearer ${c.password}`;
}

/** What the server said in an error answer: ntfy's and ours both carry {"error": "..."}; else the text itself, clipped. */
export function serverSaid(body: string): string {
  try {
    const said = (JSON.parse(body) as { error?: unknown }).error;
    if (typeof said === "string") return said;
  } catch {
    // not JSON: the text as it is
  }
  return body.trim().slice(0, 300);
}

/**
 * An HTTP answer that will not change by asking again: 4xx are fatal (a login, rights, a wrong address: settings must
 * change), 5xx are retried. `missing` says what a 404 means for the route asked.
 */
export function httpFailure(status: number, body: string, base: string, missing: string): LinkFailure {
  const said = serverSaid(body);
  if (status === 401) return { fatal: true, code: "HTTP401", reason: `${base} wants a login: ${said}` };
  if (status === 403) return { fatal: true, code: "HTTP403", reason: `${base} refused: ${said}` };
  if (status === 404) return { fatal: true, code: "HTTP404", reason: `${base} ${missing} (${said})` };
  // 429: the server limits how often (or how many streams): asking again later is the cure.
  if (status >= 400 && status < 500 && status !== 429) return { fatal: true, code: `HTTP${status}`, reason: `${base} answered ${status}: ${said}` };
  return { fatal: false, code: `HTTP${status}`, reason: `${base} answered ${status}: ${said}` };
}

/** Where a --url goes: its base (no trailing slash, so a path is appended once), the login header, the CA to trust. */
export type HttpTarget = { base: string; headers: Record<string, string>; tls: { ca: string } | undefined };

export function httpTarget(config: Pick<Config, "user" | "password" | "token" | "ca"> & { url: string }): HttpTarget {
  const auth = authorization(config);
  return { base: config.url.replace(/\/+$/, ""), headers: auth ? { authorization: auth } : {}, tls: trustedCa(config.ca) };
}

/** fetch's TLS options for a CA file (a self-signed server), read once. */
export function trustedCa(caFile: string | undefined): { ca: string } | undefined {
  return caFile ? { ca: readFileSync(caFile, "utf8") } : undefined;
}

/** An answer to one probe: its status and body. */
export type Probe = { status: number; body: string };

export type ServerKind = "notistream" | "ntfy";

const jsonObject = (body: string): Record<string, unknown> | null => {
  try {
    const v: unknown = JSON.parse(body);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
};

/**
 * Which kind of server a --url is, from two probes. Our web server answers GET /health with {"ok", "hub": {...}}, the
 * hub being its shared subscription: no ntfy server has one (ntfy serves its web app, or 404, for /health, a topic's
 * page). So that answer means ours, which is read through /messages and /events (per channel, with ordered stream IDs
 * and globs' refusal said plainly). Otherwise an answer {"healthy": true|false} to GET /v1/health (ntfy's
 * server.go:handleHealth; ours gives it too) means an ntfy server. Anything else is neither; null.
 */
export function serverKind(health: Probe, v1health: Probe): ServerKind | null {
  const ours = health.status === 200 ? jsonObject(health.body) : null;
  if (ours && typeof ours.hub === "object" && ours.hub !== null) return "notistream";
  const theirs = v1health.status === 200 ? jsonObject(v1health.body) : null;
  if (theirs && typeof theirs.healthy === "boolean") return "ntfy";
  return null;
}

/** A probe's answer in words, for the sentence that says a --url is neither kind. */
const probeSaid = (p: Probe): string => `${p.status} ${JSON.stringify(p.body.trim().slice(0, 80))}`;

/**
 * Asks `base` which kind of server it is (GET /health, then GET /v1/health): the kind, or a failure. A server error or
 * a rate limit may pass (a proxy before a server still starting), so it is not fatal; an answer of neither kind is.
 * Throws when no answer came, as probe does. The client's --url and `notistream setup` both ask through this.
 */
export async function askKind(base: string, tls: { ca: string } | undefined, timeoutMs: number, stop: AbortSignal): Promise<{ kind: ServerKind } | { failure: LinkFailure }> {
  const health = await probe(`${base}/health`, tls, timeoutMs, stop);
  const v1health = await probe(`${base}/v1/health`, tls, timeoutMs, stop);
  const kind = serverKind(health, v1health);
  if (kind) return { kind };
  const passing = (p: { status: number }) => p.status >= 500 || p.status === 429;
  if (passing(health) || passing(v1health)) return { failure: { fatal: false, code: "ERROR", reason: `${base} answered ${Math.max(health.status, v1health.status)}` } };
  return {
    failure: {
      fatal: true,
      code: "NOTHTTPSUB",
      reason: `${base} answers neither as a Notistream web server (GET /health: ${probeSaid(health)}) nor as an ntfy server (GET /v1/health: ${probeSaid(v1health)}). Check the address; if it is an ntfy server that hides /v1/health, add --ntfy`,
    },
  };
}

/** The first `max` bytes of a body as text (a probe needs no more, whatever a server sends), the rest left unread. */
async function head(r: Response, max: number): Promise<string> {
  if (!r.body) return "";
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of r.body) {
    parts.push(chunk);
    size += chunk.length;
    if (size >= max) break;
  }
  return new TextDecoder().decode(Buffer.concat(parts).subarray(0, max));
}

/** GET `url`'s status and body. Throws when no answer came (refused, reset, a certificate), or "did not answer" after `timeoutMs`. */
export async function probe(url: string, tls: { ca: string } | undefined, timeoutMs: number, stop: AbortSignal): Promise<Probe> {
  const abort = new AbortController();
  const end = () => abort.abort();
  const timer = setTimeout(end, timeoutMs);
  stop.addEventListener("abort", end);
  try {
    const r = await fetch(url, { signal: abort.signal, tls });
    return { status: r.status, body: await head(r, 4096) };
  } catch (err) {
    if (abort.signal.aborted && !stop.aborted) throw new Error(`${url} did not answer in ${(timeoutMs / 1000).toFixed(0)} s`);
    throw err;
  } finally {
    clearTimeout(timer);
    stop.removeEventListener("abort", end);
  }
}
