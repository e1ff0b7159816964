// test/web_metrics.test.ts — web_metrics.ts on its own: counters with labels (escaped as Prometheus's text format asks),
// gauges read at render time, and a cumulative histogram.
import { expect, test } from "bun:test";
import { Metrics } from "../web_metrics";

test("counters by label set, label values escaped, gauges read when rendered, cumulative histogram buckets", () => {
  const m = new Metrics();
  const requests = m.counter("t_requests_total", "Requests.");
  m.counter("t_idle_total", "Never counted.");
  let open = 3;
  m.gauge("t_open", "Open now.", () => open);
  const latency = m.histogram("t_seconds", "Latency.", [0.01, 0.1]);
  requests({ route: "/", code: "200" });
  requests({ route: "/", code: "200" });
  requests({ route: "/<channel>", code: "404" }, 5);
  requests({ route: 'a"b\\c\nd', code: "400" });
  latency(0.005);
  latency(0.05);
  latency(3);
  open = 7;
  expect(m.render()).toBe(
    [
      "# HELP t_requests_total Requests.",
      "# TYPE t_requests_total counter",
      't_requests_total{route="/",code="200"} 2',
      't_requests_total{route="/<channel>",code="404"} 5',
      't_requests_total{route="a\\"b\\\\c\\nd",code="400"} 1',
      "# HELP t_idle_total Never counted.",
      "# TYPE t_idle_total counter",
      "t_idle_total 0",
      "# HELP t_open Open now.",
      "# TYPE t_open gauge",
      "t_open 7",
      "# HELP t_seconds Latency.",
      "# TYPE t_seconds histogram",
      't_seconds_bucket{le="0.01"} 1',
      't_seconds_bucket{le="0.1"} 2',
      't_seconds_bucket{le="+Inf"} 3',
      "t_seconds_sum 3.055",
      "t_seconds_count 3",
      "",
    ].join("\n"),
  );
});

test("counterFrom renders a tally kept elsewhere as a counter, read when rendered", () => {
  const m = new Metrics();
  let closed = 0;
  m.counterFrom("t_closed_total", "Closed.", () => closed);
  closed = 3;
  expect(m.render()).toBe("# HELP t_closed_total Closed.\n# TYPE t_closed_total counter\nt_closed_total 3\n");
});
