// web_metrics.ts — counters, gauges and a latency histogram, rendered in Prometheus's text exposition format.
// Pure: the web server feeds it and serves render() at GET /metrics.

type Labels = Record<string, string>;
const escapeValue = (v: string) => (/[\\"\n]/.test(v) ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : v);
// Runs on every request: a plain loop, and the replaces only for the rare value that needs them.
const key = (labels: Labels) => {
  let out = "";
  for (const k in labels) out += `${out ? "," : ""}${k}="${escapeValue(labels[k]!)}"`;
  return out;
};

export class Metrics {
  private readonly counters = new Map<string, { help: string; values: Map<string, number> }>();
  private readonly gauges = new Map<string, { help: string; read: () => number; type?: "counter" }>();
  private readonly histograms = new Map<string, { help: string; buckets: number[]; counts: number[]; sum: number; count: number }>();

  counter(name: string, help: string): (labels?: Labels, by?: number) => void {
    const c = { help, values: new Map<string, number>() };
    this.counters.set(name, c);
    return (labels = {}, by = 1) => {
      const k = key(labels);
      c.values.set(k, (c.values.get(k) ?? 0) + by);
    };
  }

  gauge(name: string, help: string, read: () => number): void {
    this.gauges.set(name, { help, read });
  }

  /** A counter kept elsewhere (a module's own tally), read when /metrics is asked: rendered as a counter. */
  counterFrom(name: string, help: string, read: () => number): void {
    this.gauges.set(name, { help, read, type: "counter" });
  }

  histogram(name: string, help: string, buckets: number[]): (value: number) => void {
    const h = { help, buckets, counts: buckets.map(() => 0), sum: 0, count: 0 };
    this.histograms.set(name, h);
    return (v) => {
      for (let i = 0; i < buckets.length; i++) if (v <= buckets[i]!) h.counts[i]!++;
      h.sum += v;
      h.count++;
    };
  }

  render(): string {
    const out: string[] = [];
    for (const [name, c] of this.counters) {
      out.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`);
      if (c.values.size === 0) out.push(`${name} 0`);
      for (const [k, v] of c.values) out.push(`${name}${k ? `{${k}}` : ""} ${v}`);
    }
    for (const [name, g] of this.gauges) out.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} ${g.type ?? "gauge"}`, `${name} ${g.read()}`);
    for (const [name, h] of this.histograms) {
      out.push(`# HELP ${name} ${h.help}`, `# TYPE ${name} histogram`);
      h.buckets.forEach((b, i) => out.push(`${name}_bucket{le="${b}"} ${h.counts[i]}`));
      out.push(`${name}_bucket{le="+Inf"} ${h.count}`, `${name}_sum ${h.sum}`, `${name}_count ${h.count}`);
    }
    return out.join("\n") + "\n";
  }
}
