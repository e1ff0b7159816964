// test/alerts.test.ts — Alertmanager (v4) and Grafana alerting payloads as notifications: titles, messages from the
// annotations, priority from state and severity, links; and Grafana's HMAC signature, with and without a timestamp.
import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { alertmanagerNotification, grafanaNotification, verifyGrafanaSignature } from "../alerts";
import { ALERTMANAGER, GRAFANA } from "./fixtures/senders";

const pub = (o: ReturnType<typeof alertmanagerNotification>) => {
  if (o.kind !== "publish") throw new Error(`not published: ${JSON.stringify(o)}`);
  return o.notification;
};

describe("Alertmanager", () => {
  test("firing: one notification for the group, critical is priority 5, the link is externalURL", () => {
    expect(pub(alertmanagerNotification("ops", ALERTMANAGER.firing))).toEqual({
      channel: "ops",
      title: "[FIRING:2] HighLatency",
      message: "High request latency on api-1:8080\nHigh request latency on api-2:8080",
      priority: 5,
      tags: ["firing"],
      url: "http://alertmanager.example.org:9093",
      source: "alertmanager",
    });
  });
  test("resolved is priority 3; firing without critical is 4; no externalURL falls back to the generatorURL", () => {
    expect(pub(alertmanagerNotification("ops", ALERTMANAGER.resolved))).toMatchObject({ title: "[RESOLVED] HighLatency", priority: 3, message: "High request latency on api-2:8080", tags: ["resolved", "warning"] });
    const warning = { ...ALERTMANAGER.firing, externalURL: "", alerts: [ALERTMANAGER.firing.alerts[1]!] };
    expect(pub(alertmanagerNotification("ops", warning))).toMatchObject({ title: "[FIRING:1] HighLatency", priority: 4, url: "http://prometheus.example.org:9090/graph?g0.expr=api_latency_seconds%3E1&g0.tab=1" });
    expect(alertmanagerNotification("ops", { ...ALERTMANAGER.firing, version: "3" }).kind).toBe("ignored");
    expect(alertmanagerNotification("ops", { ...ALERTMANAGER.firing, alerts: [] }).kind).toBe("ignored");
  });
});

describe("Grafana", () => {
  test("firing and resolved: Grafana's title and message, the rule's link, priority by state", () => {
    expect(pub(grafanaNotification("ops", GRAFANA.firing))).toEqual({
      channel: "ops",
      title: "[FIRING:2]  (blue)",
      message: GRAFANA.firing.message,
      priority: 4,
      tags: ["firing"],
      url: "https://grafana.example.com/alerting/1afz29v7z/edit",
      source: "grafana",
    });
    expect(pub(grafanaNotification("ops", GRAFANA.resolved))).toMatchObject({ title: "[RESOLVED] High memory usage (blue us-1)", priority: 3, tags: ["resolved"] });
    const bare = { ...GRAFANA.firing, title: undefined, message: undefined };
    expect(pub(grafanaNotification("ops", bare))).toMatchObject({ title: "[FIRING:2] High memory usage", message: "This alert was triggered for zone us-1\nThis alert was triggered for zone eu-1" });
  });
  test("the signature: hex HMAC-SHA256 of the body, or of timestamp:body", () => {
    const body = Buffer.from(JSON.stringify(GRAFANA.firing));
    const plain = createHmac("sha256", "k").update(body).digest("hex");
    const timed = createHmac("sha256", "k").update("1700000000:").update(body).digest("hex");
    expect(verifyGrafanaSignature("k", body, plain, null)).toBe(true);
    expect(verifyGrafanaSignature("k", body, timed, "1700000000")).toBe(true);
    expect(verifyGrafanaSignature("k", body, plain, "1700000000")).toBe(false);
    expect(verifyGrafanaSignature("k", body, null, null)).toBe(false);
  });
});
