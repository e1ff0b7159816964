// glob.ts — Redis's glob matcher (util.c stringmatchlen) for PSUBSCRIBE and PUBSUB CHANNELS patterns.
// Pure: a byte-for-byte port over binary-safe latin1 strings, plus a guard against deep nesting.

/** How deep '*' may recurse before we give up and report no match, as later Redis versions do. */
export const MAX_NESTING = 1000;

/** C's char is signed on x86: bytes >= 0x80 compare as negative numbers inside [a-z] ranges. */
const signed = (c: number) => (c > 127 ? c - 256 : c);

/** Does `str` match `pattern`? Both are latin1 strings (one char per byte). */
export function globMatch(pattern: string, str: string): boolean {
  const skip = { longer: false };
  return match(pattern, 0, pattern.length, str, 0, str.length, skip, 0);
}

function match(
  pat: string,
  p: number,
  plen: number,
  str: string,
  s: number,
  slen: number,
  skip: { longer: boolean },
  nesting: number,
): boolean {
  // pat[p] past the end reads as NUL, like the terminator of the C string.
  const P = (i: number) => (i < pat.length ? pat.charCodeAt(i) : 0);
  const S = (i: number) => (i < str.length ? str.charCodeAt(i) : 0);
  if (nesting > MAX_NESTING) return false;
  while (plen && slen) {
    const c = P(p);
    if (c === 42 /* * */) {
      while (plen && P(p + 1) === 42) {
        p++;
        plen--;
      }
      if (plen === 1) return true;
      while (slen) {
        if (match(pat, p + 1, plen - 1, str, s, slen, skip, nesting + 1)) return true;
        if (skip.longer) return false;
        s++;
        slen--;
      }
      // No match for the rest anywhere in the string: earlier stars cannot help either (Redis's skipLongerMatches).
      skip.longer = true;
      return false;
    } else if (c === 63 /* ? */) {
      s++;
      slen--;
    } else if (c === 91 /* [ */) {
      p++;
      plen--;
      const not = P(p) === 94; /* ^ */
      if (not) {
        p++;
        plen--;
      }
      let matched = false;
      for (;;) {
        if (P(p) === 92 && plen >= 2) {
          p++;
          plen--;
          if (P(p) === S(s)) matched = true;
        } else if (P(p) === 93 /* ] */) {
          break;
        } else if (plen === 0) {
          p--;
          plen++;
          break;
        } else if (plen >= 3 && P(p + 1) === 45 /* - */) {
          let start = signed(P(p));
          let end = signed(P(p + 2));
          const ch = signed(S(s));
          if (start > end) [start, end] = [end, start];
          p += 2;
          plen -= 2;
          if (ch >= start && ch <= end) matched = true;
        } else if (P(p) === S(s)) {
          matched = true;
        }
        p++;
        plen--;
      }
      if (not) matched = !matched;
      if (!matched) return false;
      s++;
      slen--;
    } else {
      if (c === 92 /* \ */ && plen >= 2) {
        p++;
        plen--;
      }
      if (P(p) !== S(s)) return false;
      s++;
      slen--;
    }
    p++;
    plen--;
    if (slen === 0) {
      while (P(p) === 42) {
        p++;
        plen--;
      }
      break;
    }
  }
  return plen === 0 && slen === 0;
}

/**
 * A matcher for one pattern, chosen once at PSUBSCRIBE time. Most patterns are a literal or a literal
 * followed by one '*' (like "octo/*"); those become a string compare, which PUBLISH runs for every pattern.
 * Everything else goes through globMatch. Both give exactly globMatch's answer.
 */
export function compileGlob(pattern: string): (str: string) => boolean {
  const special = /[*?[\\]/;
  if (!special.test(pattern)) return (str) => str === pattern;
  const prefix = pattern.slice(0, -1);
  // "abc*" matches "abc" and anything longer starting with it; the string must not be empty ("*" needs a byte).
  if (pattern.endsWith("*") && !special.test(prefix)) return prefix === "" ? (str) => str.length > 0 : (str) => str.startsWith(prefix);
  return (str) => globMatch(pattern, str);
}

/** Glob characters make a channel name a pattern: subscribed with PSUBSCRIBE, matched with globMatch. */
export const isPattern = (channel: string): boolean => /[*?[]/.test(channel);
