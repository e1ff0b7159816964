// test/web_tokens.test.ts — web_tokens.ts's rules for ntfy's access tokens, on their own: the format, expiry on
// creation and on PATCH, which tokens go past a user's 60, the JSON answered, and the store's key names.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { TOKEN_FORMAT, TOKEN_LIFETIME_S, TOKEN_MAX_PER_USER, TokenRequestSchema, expiryOf, isLive, newToken, toPrune, tokenJson, tokenKey, updated, type TokenRecord } from "../web_tokens";

const NOW = 1_800_000_000;
const rec = (over: Partial<TokenRecord> = {}): TokenRecord => ({ user: "alice", label: "", expires: 0, created: NOW - 10, origin: "192.0.2.1", ...over });

describe("a token's shape", () => {
  // ntfy's user/manager.go CreateToken: util.RandomLowerStringPrefix("tk_", 32).
  test("tk_ and 29 lower-case letters and digits, 32 in all, different each time", () => {
    const made = new Set(Array.from({ length: 200 }, newToken));
    expect(made.size).toBe(200);
    for (const t of made) {
      expect(t).toHaveLength(32);
      expect(t).toMatch(TOKEN_FORMAT);
    }
    expect(TOKEN_FORMAT.test("tk_ABCDEFGHIJKLMNOPQRSTUVWXYZabc")).toBe(false);
    expect(TOKEN_FORMAT.test("tk_abc")).toBe(false);
  });

  test("its key in the store is named by its SHA-256, never by the token", () => {
    const t = newToken();
    expect(tokenKey(t)).toBe(`notistream-token:${createHash("sha256").update(t).digest("hex")}`);
    expect(tokenKey(t)).not.toContain(t);
  });
});

describe("expiry, as ntfy's handleAccountTokenCreate and handleAccountTokenUpdate set it", () => {
  test("on creation: none given is 72 hours; 0 is never; a future time is kept; a past one is refused with a sentence", () => {
    expect(expiryOf(undefined, NOW)).toBe(NOW + 72 * 3600);
    expect(expiryOf(null, NOW)).toBe(NOW + TOKEN_LIFETIME_S);
    expect(expiryOf(0, NOW)).toBe(0);
    expect(expiryOf(NOW + 60, NOW)).toBe(NOW + 60);
    expect(() => expiryOf(NOW - 1, NOW)).toThrow("a time already past: give a future Unix time in seconds, or 0 for a token that never expires");
  });

  test("a token lives until its expiry; 0 never expires", () => {
    expect(isLive(rec({ expires: 0 }), NOW)).toBe(true);
    expect(isLive(rec({ expires: NOW }), NOW)).toBe(true);
    expect(isLive(rec({ expires: NOW - 1 }), NOW)).toBe(false);
  });

  test("PATCH: neither label nor expiry extends by 72 hours; a label alone keeps the expiry; an expiry is set as on creation", () => {
    const old = rec({ label: "phone", expires: NOW + 5 });
    expect(updated(old, {}, NOW)).toEqual({ ...old, expires: NOW + TOKEN_LIFETIME_S });
    expect(updated(old, { label: "laptop" }, NOW)).toEqual({ ...old, label: "laptop" });
    expect(updated(old, { expires: 0 }, NOW)).toEqual({ ...old, expires: 0 });
    expect(updated(old, { label: "x", expires: NOW + 100 }, NOW)).toEqual({ ...old, label: "x", expires: NOW + 100 });
    expect(() => updated(old, { expires: 5 }, NOW)).toThrow(RangeError);
  });

  test("the request's JSON: Home Assistant's {label, expires: 0}, aiontfy's label null, unknown keys ignored, wrong types refused", () => {
    expect(TokenRequestSchema.parse({ label: "Home Assistant", expires: 0 })).toEqual({ label: "Home Assistant", expires: 0 });
    expect(TokenRequestSchema.parse({ label: null, expires: 0, other: 1 })).toEqual({ label: null, expires: 0 });
    expect(TokenRequestSchema.safeParse({ expires: "tomorrow" }).success).toBe(false);
    expect(TokenRequestSchema.safeParse({ expires: 1.5 }).success).toBe(false);
  });
});

describe("a user's tokens past 60 (ntfy's tokenMaxCount)", () => {
  test("the expired go, then those that expire soonest; never-expiring ones are kept longest", () => {
    const tokens = Array.from({ length: TOKEN_MAX_PER_USER + 2 }, (_, i) => ({ hash: `h${i}`, rec: rec({ expires: i < 3 ? 0 : NOW + 1000 + i }) }));
    tokens.push({ hash: "expired", rec: rec({ expires: NOW - 1 }) });
    expect(toPrune(tokens, NOW).sort()).toEqual(["expired", "h3", "h4"]);
    expect(toPrune(tokens.slice(0, 10), NOW)).toEqual([]);
  });
});

describe("the JSON answered (ntfy's apiAccountTokenResponse)", () => {
  test("empty fields are left out: no label, no expiry for a token that never expires", () => {
    expect(tokenJson("tk_x", rec())).toEqual({ token: "tk_x", last_access: NOW - 10, last_origin: "192.0.2.1" });
    expect(tokenJson("tk_x", rec({ label: "Home Assistant", expires: NOW + 9 }))).toEqual({ token: "tk_x", label: "Home Assistant", last_access: NOW - 10, last_origin: "192.0.2.1", expires: NOW + 9 });
  });
});
