// test/web_visitor.test.ts — who a request comes from, on its own: addresses parsed and printed (IPv4-mapped IPv6
// as IPv4), networks, the client behind trusted proxies (rightmost untrusted X-Forwarded-For entry), the IPv6 /64
// visitor key, and which cross-site requests are refused.
import { describe, expect, test } from "bun:test";
import { DEFAULT_TRUSTED_PROXIES, clientAddress, crossSiteRefusal, formatIp, inCidrs, isLoopback, parseCidrs, parseIp, visitorKey } from "../web_visitor";

const ip = (text: string) => {
  const parsed = parseIp(text);
  if (!parsed) throw new Error(`not an address: ${text}`);
  return parsed;
};

describe("addresses", () => {
  test("IPv4 and IPv6 parse and print in their short forms; IPv4-mapped IPv6 is the IPv4 address", () => {
    expect(formatIp(ip("192.0.2.7"))).toBe("192.0.2.7");
    expect(formatIp(ip("2001:DB8:0:0:0:0:0:1"))).toBe("2001:db8::1");
    expect(formatIp(ip("2001:db8:0:1:0:0:0:0"))).toBe("2001:db8:0:1::");
    expect(formatIp(ip("::"))).toBe("::");
    expect(formatIp(ip("::1"))).toBe("::1");
    expect(formatIp(ip("1:0:0:2:0:0:0:3"))).toBe("1:0:0:2::3"); // the longer run of zeros is the one shortened
    expect(formatIp(ip("1:2:3:4:5:6:7:8"))).toBe("1:2:3:4:5:6:7:8");
    expect(formatIp(ip("::ffff:203.0.113.9"))).toBe("203.0.113.9");
    expect(formatIp(ip("::FFFF:cb00:7109"))).toBe("203.0.113.9");
    expect(formatIp(ip("fe80::1%eth0"))).toBe("fe80::1");
    expect(formatIp(ip("64:ff9b::192.0.2.1"))).toBe("64:ff9b::c000:201");
  });

  test("what is not an address is null", () => {
    for (const bad of ["", "unknown", "1.2.3", "1.2.3.256", "1.2.3.4.5", "01234.1.1.1", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "g::1", "1:2:3:4:5:6:7::8:9", "::1.2.3", "[::1]"])
      expect(parseIp(bad)).toBeNull();
  });

  test("networks: IPv4 in IPv4 ones, IPv6 in IPv6 ones, prefixes that end inside a byte; bad entries say which", () => {
    const nets = parseCidrs(" 10.0.0.0/8, 192.168.4.0/22 ,fd00::/8, 2001:db8::7 ");
    expect(inCidrs(ip("10.200.1.1"), nets)).toBe(true);
    expect(inCidrs(ip("11.0.0.1"), nets)).toBe(false);
    expect(inCidrs(ip("192.168.7.255"), nets)).toBe(true);
    expect(inCidrs(ip("192.168.8.0"), nets)).toBe(false);
    expect(inCidrs(ip("fdab::1"), nets)).toBe(true);
    expect(inCidrs(ip("2001:db8::7"), nets)).toBe(true);
    expect(inCidrs(ip("2001:db8::8"), nets)).toBe(false);
    expect(inCidrs(ip("::ffff:10.1.2.3"), nets)).toBe(true);
    const loopback = parseCidrs(DEFAULT_TRUSTED_PROXIES);
    expect(inCidrs(ip("127.0.0.1"), loopback) && inCidrs(ip("127.9.9.9"), loopback) && inCidrs(ip("::1"), loopback)).toBe(true);
    expect(inCidrs(ip("::2"), loopback)).toBe(false);
    expect(parseCidrs("0.0.0.0/0").length).toBe(1);
    for (const bad of ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/8/8", "10.0.0.0/x", "proxy.local", "10.0.0.0/-1"])
      expect(() => parseCidrs(`127.0.0.1,${bad}`)).toThrow(`${JSON.stringify(bad)} is not an IP address or a network`);
  });
});

describe("clientAddress", () => {
  const loopback = parseCidrs(DEFAULT_TRUSTED_PROXIES);

  test("without --trust-proxy the peer, whatever X-Forwarded-For says", () => {
    expect(clientAddress("198.51.100.4", "1.1.1.1", null)).toBe("198.51.100.4");
    expect(clientAddress("::ffff:198.51.100.4", null, null)).toBe("198.51.100.4");
  });

  test("the rightmost entry that is not a trusted proxy: what the client wrote on the left is never believed", () => {
    // nginx appends $remote_addr: a client that sends its own header only adds entries on the left.
    expect(clientAddress("127.0.0.1", "6.6.6.6, 203.0.113.9", loopback)).toBe("203.0.113.9");
    expect(clientAddress("127.0.0.1", "203.0.113.9", loopback)).toBe("203.0.113.9");
    // Two proxies: the inner one's address is trusted too, so the walk goes past it.
    const chain = parseCidrs("127.0.0.0/8,10.0.0.0/8");
    expect(clientAddress("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.0.0.5", chain)).toBe("203.0.113.9");
    expect(clientAddress("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.0.0.5", loopback)).toBe("10.0.0.5");
    // Ports some proxies add, brackets, spaces, empty entries and a second header joined with a comma.
    expect(clientAddress("127.0.0.1", "203.0.113.9:4711", loopback)).toBe("203.0.113.9");
    expect(clientAddress("::1", "[2001:db8::9]:443 ,, ", loopback)).toBe("2001:db8::9");
    expect(clientAddress("::ffff:127.0.0.1", "::ffff:203.0.113.9", loopback)).toBe("203.0.113.9");
  });

  test("a peer that is not a trusted proxy is the client, its header ignored; no header, or only proxies, or garbage", () => {
    expect(clientAddress("198.51.100.4", "6.6.6.6", loopback)).toBe("198.51.100.4");
    expect(clientAddress("127.0.0.1", null, loopback)).toBe("127.0.0.1");
    expect(clientAddress("127.0.0.1", "127.0.0.2, 127.0.0.3", loopback)).toBe("127.0.0.2");
    // An entry that is not an address stops the walk at the hop that passed it on.
    expect(clientAddress("127.0.0.1", "203.0.113.9, unknown", loopback)).toBe("127.0.0.1");
    expect(clientAddress("127.0.0.1", "garbage, 127.0.0.5", loopback)).toBe("127.0.0.5");
    expect(clientAddress("unknown", "203.0.113.9", loopback)).toBe("unknown");
  });
});

describe("visitorKey", () => {
  test("IPv4 as it is; IPv6 by its /64, so one home's or one server's addresses count as one visitor", () => {
    expect(visitorKey("203.0.113.9")).toBe("203.0.113.9");
    expect(visitorKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(visitorKey("2001:db8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64");
    expect(visitorKey("2001:db8:1:3::1")).toBe("2001:db8:1:3::/64");
    expect(visitorKey("2001:db8::1")).toBe("2001:db8::/64");
    expect(visitorKey("::1")).toBe("::/64");
    expect(visitorKey("unknown")).toBe("unknown");
  });

  test("isLoopback: this machine's own addresses, in every spelling", () => {
    for (const a of ["127.0.0.1", "127.200.0.9", "::1", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"]) expect(isLoopback(a)).toBe(true);
    for (const a of ["128.0.0.1", "::2", "192.0.2.1", "unknown", "2001:db8::1"]) expect(isLoopback(a)).toBe(false);
  });
});

describe("crossSiteRefusal", () => {
  test("a cross-site or same-site POST or HEAD a browser sends without a preflight is refused", () => {
    for (const site of ["cross-site", "same-site"])
      for (const type of ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain", ""]) {
        expect(crossSiteRefusal("POST", site, type)).toContain(`Sec-Fetch-Site: ${site}`);
        expect(crossSiteRefusal("HEAD", site, type)).not.toBeNull();
      }
  });

  test("same-origin and none pass, and so do GETs, preflighted methods and types, and requests without the header", () => {
    expect(crossSiteRefusal("POST", "same-origin", "text/plain")).toBeNull();
    expect(crossSiteRefusal("POST", "none", "application/x-www-form-urlencoded")).toBeNull();
    expect(crossSiteRefusal("POST", null, "text/plain")).toBeNull();
    expect(crossSiteRefusal("GET", "cross-site", "")).toBeNull();
    expect(crossSiteRefusal("PUT", "cross-site", "text/plain")).toBeNull();
    expect(crossSiteRefusal("DELETE", "cross-site", "")).toBeNull();
    expect(crossSiteRefusal("POST", "cross-site", "application/json")).toBeNull();
  });

  test("a GET that publishes (ntfy's GET /<topic>/publish) is refused cross-site and same-site, whatever its type", () => {
    expect(crossSiteRefusal("GET", "cross-site", "", true)).toContain("publish here with a GET");
    expect(crossSiteRefusal("GET", "same-site", "text/plain", true)).toContain("Sec-Fetch-Site: same-site");
    expect(crossSiteRefusal("GET", "same-origin", "", true)).toBeNull();
    expect(crossSiteRefusal("GET", null, "", true)).toBeNull();
  });
});
