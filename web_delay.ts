// web_delay.ts — when a scheduled message is due, read as ntfy reads X-Delay/At/In (util/time.go ParseFutureTime): a
// Unix time, a duration (Go's or ntfy's `2d`, `2 days`) or natural language (chrono-node), checked against the limits. Pure.
import * as chrono from "chrono-node";
import { NTFY_ERRORS, NtfyError } from "./web_ntfy";

/** ntfy's MessageDelayMin (server/config.go DefaultMessageDelayMin): a message due sooner is no scheduled message. */
export const MIN_DELAY_MS = 10_000;
/** ntfy's message-delay-limit default (DefaultMessageDelayMax): 3 days. */
export const DEFAULT_DELAY_LIMIT_MS = 3 * 24 * 3600_000;

/** Go's time.ParseDuration units, in nanoseconds' place as milliseconds. */
const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3600_000 };
const GO_PART = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;

/**
 * Go's time.ParseDuration, in milliseconds: an optional sign, then one or more numbers each with a unit (`1h30m`,
 * `1.5h`, `300ms`), or a bare `0`. Null: not one.
 */
export function parseGoDuration(text: string): number | null {
  let s = text;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    sign = s.startsWith("-") ? -1 : 1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") return null;
  let total = 0;
  while (s !== "") {
    const m = GO_PART.exec(s);
    if (!m || (m[1] === "" && (m[2] ?? "") === "")) return null; // a unit needs a number before it
    total += Number(`${m[1] || "0"}.${m[2] || "0"}`) * GO_UNITS[m[3]!]!;
    s = s.slice(m[0].length);
  }
  return sign * total;
}

/** ntfy's durationStrRegex: days too, and words (`2 days`, `10 mins`), any case. */
const NTFY_DURATION = /^(\d+)\s*(d|days?|h|hours?|m|mins?|minutes?|s|secs?|seconds?)$/i;
const NTFY_UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3600_000, m: 60_000, s: 1000 };

/** ntfy's util.ParseDuration in milliseconds: Go's durations, then `2d`, `20h`, `2 days`, `30 mins`. Null: not one. */
export function parseDuration(text: string): number | null {
  const go = parseGoDuration(text);
  if (go !== null) return go;
  const m = NTFY_DURATION.exec(text);
  if (!m) return null;
  return Number(m[1]) * NTFY_UNIT_MS[m[2]![0]!.toLowerCase()]!;
}

/** The first date chrono-node finds in `text`, as ntfy's `when.EN.Parse` finds one anywhere in it; null: none. */
function naturalDate(text: string, nowMs: number, timezone?: string): number | null {
  // forwardDate: a weekday or a date without a year means the next one, as ntfy's users mean "Tuesday, 7am".
  const found = chrono.parse(text, timezone === undefined ? new Date(nowMs) : { instant: new Date(nowMs), timezone }, { forwardDate: true });
  return found.length ? found[0]!.date().getTime() : null;
}

/**
 * ntfy's ParseFutureTime, in its order: a Unix time (whole seconds, not in the past), else a duration from now, else
 * natural language (`tomorrow, 10am`), read forward (a weekday or a time of day already past means the next one); one
 * still not after now is read again with "tomorrow, " before it, as ntfy does. `timezone` (an IANA name or a UTC offset in minutes as
 * chrono takes it) is the server's own when not given. Returns the due time in milliseconds; null: none of them.
 */
export function parseFutureTime(text: string, nowMs: number, timezone?: string): number | null {
  const s = text.trim();
  if (/^[-+]?\d+$/.test(s)) {
    // strconv.Atoi: a whole number is a Unix time, and one in the past is no time at all (ntfy goes on to the others).
    const seconds = Number(s);
    if (seconds >= Math.floor(nowMs / 1000)) return seconds * 1000;
  }
  const d = parseDuration(s);
  if (d !== null) return nowMs + d;
  const first = naturalDate(s, nowMs, timezone);
  if (first === null) return null;
  if (first > nowMs) return first;
  const tomorrow = naturalDate(`tomorrow, ${s}`, nowMs, timezone);
  return tomorrow !== null && tomorrow > nowMs ? tomorrow : null;
}

/** A span in ntfy's words (util.FormatDuration, rounded down to its largest unit): 3d, 20h, 30m, 10s. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3600_000], ["m", 60_000], ["s", 1000]] as const) if (ms >= size) return `${Math.floor(ms / size)}${unit}`;
  return "0s";
}

/**
 * A publish's delay, read and checked as ntfy's parsePublishParams checks it: parsed (40004), at least 10 s ahead
 * (40005) and at most `limitMs` ahead (40006), compared in whole seconds as ntfy compares them. `where` names the
 * header or parameter for the sentence. Returns the due time in milliseconds, on a whole second (ntfy's time is Unix seconds).
 */
export function dueTime(value: string, where: string, nowMs: number, limitMs: number, timezone?: string): number {
  const due = parseFutureTime(value, nowMs, timezone);
  const shown = JSON.stringify(value.slice(0, 100));
  if (due === null)
    throw new NtfyError(NTFY_ERRORS.delayCannotParse, `${shown} from ${where} is no time: give a Unix time, a duration (30m, 2h, 2d, 2 days) or a time in words (tomorrow, 10am)`);
  const dueSeconds = Math.floor(due / 1000);
  const nowSeconds = Math.floor(nowMs / 1000);
  if (dueSeconds < nowSeconds + MIN_DELAY_MS / 1000)
    throw new NtfyError(NTFY_ERRORS.delayTooSmall, `${shown} from ${where} is due in ${Math.max(0, dueSeconds - nowSeconds)} s; a scheduled message must be at least ${MIN_DELAY_MS / 1000} s ahead (send it without a delay to deliver it now)`);
  if (dueSeconds > nowSeconds + Math.floor(limitMs / 1000))
    throw new NtfyError(NTFY_ERRORS.delayTooLarge, `${shown} from ${where} is ${formatDuration(due - nowMs)} ahead; this server schedules at most ${formatDuration(limitMs)} ahead (--delay-limit)`);
  return dueSeconds * 1000;
}
