// glob.ts — Redis's glob matcher (util.c stringmatchlen) for PSUBSCRIBE and PUBSUB CHANNELS patterns, and what a
// stranger's glob may be: its cost and whether it stays inside a grant. Pure: a byte-for-byte port over latin1 strings.

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

/** What one glob from an HTTP client may be: the pub/sub server matches every pattern against every PUBLISH. */
export const GLOB_LIMITS = {
  /** Characters in one pattern. */
  maxLength: 256,
  /** Wildcards in one pattern: each `*` (a run of them is one), `?` and `[...]` class; `*`s make matching backtrack. */
  maxWildcards: 4,
};

/** The wildcards in `pattern` as globMatch reads them: a run of `*` counts once, a `\` escape none, a `[...]` once. */
export function wildcardCount(pattern: string): number {
  let n = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") i++;
    else if (c === "?") n++;
    else if (c === "*") {
      n++;
      while (pattern[i + 1] === "*") i++;
    } else if (c === "[") {
      n++;
      // To the class's closing ']' (an escaped one does not close it); an unterminated class runs to the end.
      for (i++; i < pattern.length && pattern[i] !== "]"; i++) if (pattern[i] === "\\") i++;
    }
  }
  return n;
}

/** Why a client's glob is too costly to hold (its length or its wildcards, with the limit), or null when it is fine. */
export function globCostRefusal(pattern: string): string | null {
  if (pattern.length > GLOB_LIMITS.maxLength) return `the glob ${JSON.stringify(pattern.slice(0, 40) + "…")} is ${pattern.length} characters long; a glob may have at most ${GLOB_LIMITS.maxLength}`;
  const n = wildcardCount(pattern);
  if (n > GLOB_LIMITS.maxWildcards) return `the glob ${JSON.stringify(pattern)} has ${n} wildcards; a glob may have at most ${GLOB_LIMITS.maxWildcards} (each *, ? or [...] counts)`;
  return null;
}

/**
 * Does `grant` (an ACL channel pattern) cover every channel `glob` can match? Decided for the practical cases, and
 * "no" when unsure, so a glob can never read past its grant:
 * - a name that is no pattern is covered when the grant matches it;
 * - a glob is covered by the very same pattern;
 * - a grant that is a plain prefix and one final `*` (`public/*`, or `*` alone) covers a glob that begins with that
 *   prefix as plain text: every character of it is then literal, so every match begins with it too.
 * Anything else is refused (`p*` or `*` under `public/*`, `alerts*` under `alerts?`, `[p]ublic/*` under `public/*`).
 */
export function globWithin(glob: string, grant: string): boolean {
  if (!isPattern(glob)) return compileGlob(grant)(glob);
  if (glob === grant) return true;
  if (!grant.endsWith("*")) return false;
  const prefix = grant.slice(0, -1);
  return !/[*?[\\]/.test(prefix) && glob.startsWith(prefix);
}
