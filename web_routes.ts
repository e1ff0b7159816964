// web_routes.ts — the web server's route table as data: rows of method, path pattern, the right a request needs and
// its handler; and the matcher that finds a request's row or says 404 or 405, with each row's metrics label (pure).
//
// Adding a protocol (ntfy's, Gotify's, ...): write one file, web_<name>.ts, whose handlers take (req, url, checked)
// and read the body only when they need it; then add its rows to the table in web.ts's routeTable() (a webhook
// sender is one entry in web_senders.ts's SENDERS instead). The dispatcher checks each row's right before its
// handler runs, so a request that may not be there is turned away before a byte of its body is read.
//
// A verb path, /<channels>/json (ntfy's /<topics>/json), names its channels before its last segment, the verb: a
// row says how to read them (channelsOf), and web.ts's dispatcher answers there in ntfy's shape. A verb row claims
// only its own methods: GET /a/json reads channel a, while POST /a/json publishes to the channel named a/json (the
// /<channel> rows), and channel a/json is read at /a/json/json.
import type { AclUser } from "./acl";

/**
 * What the dispatcher checks before the handler runs, with an ACL (--acl or --token; without one, everyone may do
 * everything):
 * - "none": nothing (the handler checks what it needs, as the app page asks for a login itself);
 * - "read": read rights on the channels the query names (?channel=…, as web_events.ts's channelsFrom reads them),
 *   or on a verb row the channels its path names (channelsOf);
 * - "write": write rights on the channel the path names (/<channel>, /grafana/<channel>);
 * - "login": a caller who can log in (a wrong password or token, or anonymous clients turned off, get their 401):
 *   the channel is in the body, so the handler checks its rights once the body is read;
 * - "signed": the sender's secret, or else a login with write rights (senders whose secret is set): the signature
 *   covers the body, so the handler checks both once it has read it; only the path's channel name is checked before.
 */
export type Right = "none" | "read" | "write" | "login" | "signed";

/**
 * Where a login may bring its token besides the Authorization header: "query" is ?token= (a webhook that only takes
 * a URL); "query or body" also a `token` field of the body (POST /), so with neither header nor ?token= the anonymous
 * refusal waits for the body. Unset: the Authorization header only.
 */
export type TokenFrom = "query" | "query or body";

/** What the dispatcher found and checked, handed to the handler. */
export type Checked = {
  /** The channel the path names, percent-decoded and checked; "" when the pattern names none (or the right is "none"). */
  channel: string;
  /** The channels the query names, for "read" rows; [] otherwise. */
  channels: string[];
  /** The user the check let in: undefined without an ACL, or when the row's check waits for the body. */
  who: AclUser | undefined;
  /** The ?token= the check logged `who` in with, if any: a handler that finds another token in the body asks again. */
  token: string | undefined;
};

/** A route's handler: the request, its parsed URL, and what the dispatcher checked. */
export type Handler = (req: Request, url: URL, checked: Checked) => Promise<Response>;

export type RouteRow = {
  method: string;
  /** A fixed path (/github), a prefix and the channel (/grafana/<channel>), or any other path as the channel (/<channel>). */
  path: string;
  right: Right;
  handler: Handler;
  token?: TokenFrom;
  /**
   * A verb row's channels from its path's `<channels>` part (still escaped); they are `checked.channels`, and the
   * first is `checked.channel`. Bad names throw (an InputError).
   */
  channelsOf?: (raw: string) => string[];
};

/** The channel's place in a path pattern. */
export const CHANNEL = "<channel>";
/** The channels' place in a verb path pattern, /<channels>/<verb>: everything before the last segment. */
export const CHANNELS = "<channels>";

/** One path pattern's rows by method, in the table's order (the order a 405's Allow lists them in). */
type PathRows = { pattern: string; prefix: string; methods: Map<string, RouteRow> };

export type RouteTable = {
  fixed: Map<string, PathRows>;
  /** Verb rows by their last segment with its slash (/json). */
  verbs: Map<string, PathRows>;
  prefixed: PathRows[];
  channel: PathRows | null;
  /** Folders of fixed paths (/push/): nothing under them is a channel. */
  notChannels: string[];
};

/** Builds the table once, at start: rows grouped by path pattern; a pattern named twice for one method is a bug. */
export function buildRoutes(rows: RouteRow[]): RouteTable {
  const table: RouteTable = { fixed: new Map(), verbs: new Map(), prefixed: [], channel: null, notChannels: [] };
  const patterns = new Map<string, PathRows>();
  for (const row of rows) {
    if (row.path.includes(CHANNELS)) {
      addVerbRow(table, row);
      continue;
    }
    const at = row.path.indexOf(CHANNEL);
    if (!row.path.startsWith("/") || (at >= 0 && (at + CHANNEL.length !== row.path.length || !row.path.endsWith(`/${CHANNEL}`))))
      throw new Error(`route ${row.method} ${row.path}: a path is fixed (/github), or ends in /${CHANNEL}`);
    let rowsOfPath = patterns.get(row.path);
    if (!rowsOfPath) {
      rowsOfPath = { pattern: row.path, prefix: at >= 0 ? row.path.slice(0, at) : row.path, methods: new Map() };
      patterns.set(row.path, rowsOfPath);
      if (at < 0) table.fixed.set(row.path, rowsOfPath);
      else if (at === 1) table.channel = rowsOfPath;
      else table.prefixed.push(rowsOfPath);
      const folder = row.path.indexOf("/", 1);
      if (at < 0 && folder > 0) table.notChannels.push(row.path.slice(0, folder + 1));
    }
    if (rowsOfPath.methods.has(row.method)) throw new Error(`route ${row.method} ${row.path} is in the table twice`);
    rowsOfPath.methods.set(row.method, row);
  }
  return table;
}

/** A verb row, /<channels>/<verb>: the verb is one plain segment. */
function addVerbRow(table: RouteTable, row: RouteRow): void {
  const verb = row.path.slice(CHANNELS.length + 1);
  if (!row.path.startsWith(`/${CHANNELS}/`) || !/^\/[a-z0-9_-]+$/.test(verb)) throw new Error(`route ${row.method} ${row.path}: a verb path is /${CHANNELS}/<verb>, the verb one plain segment`);
  let rowsOfPath = table.verbs.get(verb);
  if (!rowsOfPath) table.verbs.set(verb, (rowsOfPath = { pattern: row.path, prefix: "/", methods: new Map() }));
  if (rowsOfPath.methods.has(row.method)) throw new Error(`route ${row.method} ${row.path} is in the table twice`);
  rowsOfPath.methods.set(row.method, row);
}

/**
 * A request's row. `label` names it in the request metrics: the path for a fixed route, the pattern for the others,
 * so channels and scanners' random paths never each grow a label. `rawChannel` is the path's channel, still escaped.
 */
type Match =
  | { kind: "found"; row: RouteRow; label: string; rawChannel: string }
  | { kind: "no such path" }
  | { kind: "no such method"; allow: string[] };

/**
 * Finds a path's row: a fixed path first, then a verb path with a row for the method (ntfy's verbs win on their
 * methods), then a prefix, then any other path as a channel (not one ending in /).
 */
export function matchRoute(table: RouteTable, method: string, pathname: string): Match {
  let rows = table.fixed.get(pathname);
  if (!rows && table.verbs.size) {
    const slash = pathname.lastIndexOf("/");
    const verbRow = slash > 1 ? table.verbs.get(pathname.slice(slash))?.methods.get(method) : undefined;
    if (verbRow) return { kind: "found", row: verbRow, label: verbRow.path, rawChannel: pathname.slice(1, slash) };
  }
  if (!rows) rows = table.prefixed.find((p) => pathname.startsWith(p.prefix));
  if (!rows && table.channel && pathname.length > 1 && !pathname.endsWith("/") && !table.notChannels.some((f) => pathname.startsWith(f))) rows = table.channel;
  if (!rows) return { kind: "no such path" };
  const row = rows.methods.get(method);
  if (!row) return { kind: "no such method", allow: [...rows.methods.keys()] };
  return { kind: "found", row, label: rows.pattern, rawChannel: rows.prefix === rows.pattern ? "" : pathname.slice(rows.prefix.length) };
}

/** The 405's text and its Allow header: the methods the path takes. */
export function methodRefusal(method: string, pathname: string, allow: string[]): { message: string; headers: Record<string, string> } {
  return { message: `${method} is not allowed on ${pathname}; use ${allow.join(" or ")}`, headers: { allow: allow.join(", ") } };
}
