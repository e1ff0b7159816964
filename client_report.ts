// client_report.ts — problems the client reports on stderr as they happen, each kind at most once per interval; the ones
// held back are counted and said when the interval ends, so every failure is told and a flood does not drown it.

export class Reporter {
  private readonly kinds = new Map<string, { at: number; held: number; last: string; timer: ReturnType<typeof setTimeout> | null }>();

  constructor(
    private readonly write: (line: string) => void,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Says `line` now, unless a line of the same `kind` was said less than the interval ago: then it is counted. */
  say(kind: string, line: string): void {
    const t = this.now();
    const k = this.kinds.get(kind);
    if (!k || t - k.at >= this.intervalMs) {
      if (k?.timer) clearTimeout(k.timer);
      if (k?.held) this.write(`${k.last} (and ${k.held} more like it since)`);
      this.kinds.set(kind, { at: t, held: 0, last: line, timer: null });
      this.write(line);
      return;
    }
    k.held++;
    k.last = line;
    // Said when the interval ends, even if nothing else happens by then.
    k.timer ??= setTimeout(() => {
      k.timer = null;
      if (k.held) this.write(`${k.last} (${k.held === 1 ? "once more" : `${k.held} more times`} in the last ${this.intervalMs >= 1000 ? `${Math.round(this.intervalMs / 1000)} s` : `${this.intervalMs} ms`})`);
      k.held = 0;
      k.at = this.now();
    }, this.intervalMs - (t - k.at));
  }
}
