// web_visitor.ts — who an HTTP request comes from: the client's address (behind trusted proxies, the rightmost
// X-Forwarded-For entry that is not one), the key per-visitor limits count by, and whether another site sent it. Pure.

/** An address as bytes: 4 for IPv4, 16 for IPv6. */
type Ip = Uint8Array;
/** A network: its first address and how many leading bits name it. */
export type Cidr = { ip: Ip; bits: number };

/** This machine's own addresses; also what --trusted-proxies is by default: a reverse proxy on the same machine. */
export const DEFAULT_TRUSTED_PROXIES = "127.0.0.0/8,::1";

function parseIpv4(text: string): Ip | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return Uint8Array.from(parts.map(Number));
}

/**
 * An IPv4 or IPv6 address (a zone such as %eth0 is ignored), or null. An IPv4-mapped IPv6 address (::ffff:a.b.c.d,
 * as a dual-stack socket reports an IPv4 client) is read as the IPv4 address it is, so both spellings are one visitor.
 */
export function parseIp(text: string): Ip | null {
  if (!text.includes(":")) return parseIpv4(text);
  const zone = text.indexOf("%");
  let s = zone >= 0 ? text.slice(0, zone) : text;
  let tail: number[] = [];
  const dot = s.lastIndexOf(":");
  if (s.includes(".", dot)) {
    // An IPv4 tail (::ffff:1.2.3.4) is the last two groups.
    const v4 = parseIpv4(s.slice(dot + 1));
    if (!v4) return null;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    s = s.slice(0, dot + 1) + "0"; // a placeholder group, dropped below
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (h: string): number[] | null => {
    if (h === "") return [];
    const gs = h.split(":");
    return gs.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g)) ? gs.map((g) => parseInt(g, 16)) : null;
  };
  const head = groupsOf(halves[0]!);
  const rest = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !rest) return null;
  if (tail.length) (rest.length ? rest : head).pop();
  const given = head.length + rest.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return null;
  const groups = [...head, ...new Array<number>(8 - given).fill(0), ...rest, ...tail];
  const ip = new Uint8Array(16);
  groups.forEach((g, i) => ((ip[2 * i] = g >> 8), (ip[2 * i + 1] = g & 0xff)));
  // ::ffff:a.b.c.d is an IPv4 client on an IPv6 socket.
  if (ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff) return ip.slice(12);
  return ip;
}

/** An address as text: IPv4 dotted, IPv6 in its short form (RFC 5952: lower case, the longest run of zeros as ::). */
export function formatIp(ip: Ip): string {
  if (ip.length === 4) return ip.join(".");
  const groups = Array.from({ length: 8 }, (_, i) => (ip[2 * i]! << 8) | ip[2 * i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j > i ? j : i + 1;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  return best < 0 ? hex(groups) : `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/** A comma list of addresses and networks (127.0.0.0/8, ::1, 10.0.0.0/8, fd00::/8); an Error names a bad entry. */
export function parseCidrs(list: string): Cidr[] {
  return list
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean)
    .map((entry) => {
      const [addr, bitsText, extra] = entry.split("/");
      const ip = parseIp(addr!);
      const max = ip ? ip.length * 8 : 0;
      const bits = bitsText === undefined ? max : Number(bitsText);
      if (!ip || extra !== undefined || !/^\d*$/.test(bitsText ?? "") || bitsText === "" || bits > max)
        throw new Error(`${JSON.stringify(entry)} is not an IP address or a network like 10.0.0.0/8 or fd00::/8`);
      return { ip, bits };
    });
}

const LOOPBACK = parseCidrs(DEFAULT_TRUSTED_PROXIES);

/** Whether `ip` lies in one of the networks (IPv4 only in IPv4 ones, IPv6 in IPv6 ones). */
export function inCidrs(ip: Ip, cidrs: Cidr[]): boolean {
  return cidrs.some(({ ip: net, bits }) => {
    if (net.length !== ip.length) return false;
    const whole = bits >> 3;
    for (let i = 0; i < whole; i++) if (ip[i] !== net[i]) return false;
    const rest = bits & 7;
    if (rest === 0) return true;
    const mask = (0xff << (8 - rest)) & 0xff;
    return (ip[whole]! & mask) === (net[whole]! & mask);
  });
}

/** An X-Forwarded-For entry's address: without the port some proxies add (1.2.3.4:5678, [2001:db8::1]:443). */
function entryAddress(entry: string): string {
  const e = entry.trim();
  if (e.startsWith("[")) return e.includes("]") ? e.slice(1, e.indexOf("]")) : e;
  const colon = e.indexOf(":");
  return colon >= 0 && colon === e.lastIndexOf(":") ? e.slice(0, colon) : e;
}

/**
 * The client's address. `trusted` null: the peer, whatever the headers say (anyone can send X-Forwarded-For).
 * Otherwise, when the peer is a trusted proxy, X-Forwarded-For is read from the right, as each proxy appends the
 * address it saw: the first entry that is not a trusted proxy is the client; entries left of it are whatever the
 * client wrote, so they are never believed. An entry that is not an address stops the walk at the hop that passed it.
 */
export function clientAddress(peer: string, forwardedFor: string | null, trusted: Cidr[] | null): string {
  let hop = parseIp(peer);
  if (!hop) return peer;
  if (trusted === null || forwardedFor === null || !inCidrs(hop, trusted)) return formatIp(hop);
  const entries = forwardedFor.split(",");
  for (let i = entries.length - 1; i >= 0; i--) {
    if (entries[i]!.trim() === "") continue;
    const ip = parseIp(entryAddress(entries[i]!));
    if (!ip) break;
    hop = ip;
    if (!inCidrs(ip, trusted)) break;
  }
  return formatIp(hop);
}

/** Whether an address is this machine's own (127.0.0.0/8, ::1, and IPv4-mapped ::ffff:127.x.y.z). */
export function isLoopback(address: string): boolean {
  const ip = parseIp(address);
  return ip !== null && inCidrs(ip, LOOPBACK);
}

/**
 * The key per-visitor limits count by: an IPv4 address as it is, an IPv6 address by its /64 (one home or one
 * server is handed a whole /64, so counting each address would give one visitor 2^64 of them).
 */
export function visitorKey(address: string): string {
  const ip = parseIp(address);
  if (!ip || ip.length === 4) return address;
  return `${formatIp(Uint8Array.from([...ip.subarray(0, 8), 0, 0, 0, 0, 0, 0, 0, 0]))}/64`;
}

/** The content types a browser sends cross-site without asking first (no CORS preflight), as Fetch defines them. */
const SIMPLE_TYPES = new Set(["", "application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]);

/**
 * Why a request is refused as cross-site, or null. A browser sends a "simple" request (POST or HEAD with a form,
 * multipart, text/plain or no body type) to another site without a CORS preflight, carrying its cached login and
 * its place on the network: another site's page could publish, or subscribe a push endpoint, as the visitor. So
 * such a request whose Sec-Fetch-Site is not same-origin or none (typed in, a bookmark) is refused. same-site is
 * refused too: a sibling subdomain is another origin, and may be less trusted than this server. Requests that went
 * through a preflight (PUT, DELETE, JSON) pass, and so do GETs (without CORS a page cannot read the answer), except
 * the GETs that publish (`getPublishes`: ntfy's GET /<topic>/publish); curl and webhooks send no Sec-Fetch-Site and pass.
 */
export function crossSiteRefusal(method: string, fetchSite: string | null, mediaType: string, getPublishes = false): string | null {
  if (fetchSite === null || fetchSite === "same-origin" || fetchSite === "none") return null;
  // ntfy's GET /<topic>/publish (send, trigger) changes something on a GET: an <img> on another site would publish.
  if (getPublishes && method === "GET") return `a page on another site may not make a browser publish here with a GET (Sec-Fetch-Site: ${fetchSite}): it would act with the visitor's login; publish with curl, a webhook or this server's own app`;
  if ((method !== "POST" && method !== "HEAD") || !SIMPLE_TYPES.has(mediaType)) return null;
  return `a page on another site may not make a browser ${method} here (Sec-Fetch-Site: ${fetchSite}): it would act with the visitor's login; publish from this server's own app, or send JSON (application/json), which the browser checks with this server first`;
}
