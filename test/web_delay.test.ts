// test/web_delay.test.ts — when a scheduled message is due: ntfy's ParseFutureTime order (util/time.go: Unix time,
// then duration, then natural language with the "tomorrow, " retry) and parsePublishParams's limits (40004/40005/40006).
import { describe, expect, test } from "bun:test";
import { DEFAULT_DELAY_LIMIT_MS, dueTime, formatDuration, parseDuration, parseFutureTime, parseGoDuration } from "../web_delay";
import { NtfyError } from "../web_ntfy";

// Friday 4 December 2026, 20:00:00 UTC; every natural-language case is read in UTC so the test does not depend on the machine's zone.
const NOW = Date.UTC(2026, 11, 4, 20, 0, 0);
const at = (iso: string) => Date.parse(iso);

describe("durations", () => {
  test("Go's time.ParseDuration (util.ParseDuration tries it first)", () => {
    expect(parseGoDuration("30m")).toBe(1_800_000);
    expect(parseGoDuration("1h30m")).toBe(5_400_000);
    expect(parseGoDuration("1.5h")).toBe(5_400_000);
    expect(parseGoDuration("300ms")).toBe(300);
    expect(parseGoDuration("-5m")).toBe(-300_000);
    expect(parseGoDuration("0")).toBe(0);
    for (const bad of ["", "m", "5", "5x", "1d", "2 days", ".m"]) expect(parseGoDuration(bad)).toBeNull();
  });

  test("ntfy's own forms: days and words, any case (durationStrRegex)", () => {
    expect(parseDuration("2d")).toBe(2 * 86_400_000);
    expect(parseDuration("2 days")).toBe(2 * 86_400_000);
    expect(parseDuration("1 day")).toBe(86_400_000);
    expect(parseDuration("20h")).toBe(20 * 3600_000);
    expect(parseDuration("3 Hours")).toBe(3 * 3600_000);
    expect(parseDuration("10 mins")).toBe(600_000);
    expect(parseDuration("45 seconds")).toBe(45_000);
    expect(parseDuration("2 weeks")).toBeNull();
    expect(parseDuration("1.5d")).toBeNull();
  });

  test("formatDuration rounds down to the largest unit (util.FormatDuration)", () => {
    expect(formatDuration(DEFAULT_DELAY_LIMIT_MS)).toBe("3d");
    expect(formatDuration(90 * 60_000)).toBe("1h");
    expect(formatDuration(59_999)).toBe("59s");
    expect(formatDuration(500)).toBe("0s");
  });
});

describe("parseFutureTime, in ntfy's order", () => {
  test("a Unix time in the future is taken as it is", () => {
    expect(parseFutureTime("1796500000", NOW)).toBe(1_796_500_000_000);
    expect(parseFutureTime(String(NOW / 1000), NOW)).toBe(NOW);
  });

  test("a Unix time in the past is no time: ntfy goes on, and a bare number is neither a duration nor a date", () => {
    expect(parseFutureTime("1000", NOW)).toBeNull();
  });

  test("a duration counts from now", () => {
    expect(parseFutureTime("30m", NOW)).toBe(NOW + 1_800_000);
    expect(parseFutureTime(" 2 days ", NOW)).toBe(NOW + 2 * 86_400_000);
    expect(parseFutureTime("10s", NOW)).toBe(NOW + 10_000);
  });

  test("natural language, as ntfy's docs write it", () => {
    expect(parseFutureTime("tomorrow, 10am", NOW, "UTC")).toBe(at("2026-12-05T10:00:00Z"));
    expect(parseFutureTime("Tuesday, 7am", NOW, "UTC")).toBe(at("2026-12-08T07:00:00Z"));
    expect(parseFutureTime("in 2 hours", NOW, "UTC")).toBe(NOW + 2 * 3600_000);
  });

  test("a time of day already past is tomorrow's (ntfy retries with \"tomorrow, \" prefixed)", () => {
    expect(parseFutureTime("10am", NOW, "UTC")).toBe(at("2026-12-05T10:00:00Z"));
    expect(parseFutureTime("8pm", NOW, "UTC")).toBe(at("2026-12-05T20:00:00Z")); // exactly now is not in the future
    expect(parseFutureTime("9pm", NOW, "UTC")).toBe(at("2026-12-04T21:00:00Z"));
  });

  test("words that name no time are none", () => {
    expect(parseFutureTime("whenever", NOW, "UTC")).toBeNull();
    expect(parseFutureTime("", NOW, "UTC")).toBeNull();
  });
});

describe("dueTime: ntfy's limits and error codes (server.go parsePublishParams)", () => {
  const code = (f: () => unknown): number => {
    try {
      f();
    } catch (err) {
      if (err instanceof NtfyError) return err.kind.code;
      throw err;
    }
    throw new Error("no error");
  };

  test("in range: the due time on a whole second", () => {
    expect(dueTime("1h", "the X-Delay header", NOW + 400, DEFAULT_DELAY_LIMIT_MS)).toBe(NOW + 3600_000);
    expect(dueTime("10s", "the X-Delay header", NOW, DEFAULT_DELAY_LIMIT_MS)).toBe(NOW + 10_000);
    expect(dueTime("3d", "the X-Delay header", NOW, DEFAULT_DELAY_LIMIT_MS)).toBe(NOW + DEFAULT_DELAY_LIMIT_MS);
  });

  test("40004 unparsable, 40005 under 10 s, 40006 past the limit", () => {
    expect(code(() => dueTime("soonish", "the X-Delay header", NOW, DEFAULT_DELAY_LIMIT_MS))).toBe(40004);
    expect(code(() => dueTime("9s", "the X-Delay header", NOW, DEFAULT_DELAY_LIMIT_MS))).toBe(40005);
    expect(code(() => dueTime("1000", "the X-Delay header", NOW, DEFAULT_DELAY_LIMIT_MS))).toBe(40004);
    expect(code(() => dueTime("73h", "the X-Delay header", NOW, DEFAULT_DELAY_LIMIT_MS))).toBe(40006);
    expect(code(() => dueTime("2h", "the X-Delay header", NOW, 3600_000))).toBe(40006);
  });

  test("the sentence names the value, where it came from and the way out", () => {
    try {
      dueTime("73h", 'the "delay" query parameter', NOW, DEFAULT_DELAY_LIMIT_MS);
    } catch (err) {
      expect((err as Error).message).toContain('"73h" from the "delay" query parameter is 3d ahead; this server schedules at most 3d ahead (--delay-limit)');
    }
  });
});
