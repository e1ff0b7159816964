// alerts.ts — alerting webhooks turned into notifications: Prometheus Alertmanager's (version 4, one notification
// per group) and Grafana alerting's, with Grafana's HMAC signature check. Pure: no I/O.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Notification } from "./message";

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const arr = (v: unknown): Json[] => (Array.isArray(v) ? v.map(obj) : []);

export type AlertOutcome = { kind: "publish"; notification: Notification } | { kind: "ignored"; reason: string };

/** The alerts' summaries (or descriptions), each once, in order. */
function summaries(alerts: Json[], common: Json): string {
  const lines: string[] = [];
  for (const a of alerts) {
    const ann = obj(a.annotations);
    const line = str(ann.summary) ?? str(ann.description) ?? str(obj(a.labels).alertname);
    if (line && !lines.includes(line)) lines.push(line);
  }
  if (!lines.length) {
    const fallback = str(obj(common).summary) ?? str(obj(common).description);
    if (fallback) lines.push(fallback);
  }
  return lines.join("\n");
}

/** The group's name: its alertname label, from the group, the common labels, or the first alert. */
function alertName(p: Json, alerts: Json[]): string {
  return str(obj(p.groupLabels).alertname) ?? str(obj(p.commonLabels).alertname) ?? str(obj(alerts[0]?.labels).alertname) ?? str(p.receiver) ?? "alert";
}

/**
 * Alertmanager's webhook (version 4): one notification for the group. `[FIRING:2] HighLatency` or
 * `[RESOLVED] HighLatency`; priority 5 when firing with severity=critical, 4 for other firing, 3 when resolved.
 */
export function alertmanagerNotification(channel: string, p: Json): AlertOutcome {
  if (p.version !== undefined && str(p.version) !== "4") return { kind: "ignored", reason: `Alertmanager webhook version ${JSON.stringify(p.version)} is not 4` };
  const alerts = arr(p.alerts);
  if (!alerts.length) return { kind: "ignored", reason: "the group has no alerts" };
  const firing = alerts.filter((a) => a.status === "firing");
  const status = str(p.status) ?? (firing.length ? "firing" : "resolved");
  const name = alertName(p, alerts);
  const shown = status === "firing" ? firing : alerts;
  const critical = shown.some((a) => str(obj(a.labels).severity)?.toLowerCase() === "critical") || str(obj(p.commonLabels).severity)?.toLowerCase() === "critical";
  const n: Notification = {
    channel,
    title: status === "firing" ? `[FIRING:${firing.length}] ${name}` : `[RESOLVED] ${name}`,
    message: summaries(shown, obj(p.commonAnnotations)) || `${name} is ${status}`,
    priority: status === "firing" ? (critical ? 5 : 4) : 3,
    tags: [status, ...(str(obj(p.commonLabels).severity) ? [str(obj(p.commonLabels).severity)!] : [])],
    source: "alertmanager",
  };
  const url = str(p.externalURL) ?? str(alerts.find((a) => str(a.generatorURL))?.generatorURL);
  if (url) n.url = url;
  return { kind: "publish", notification: n };
}

/**
 * Grafana alerting's webhook: its title and message (or the alerts' summaries), firing or resolved, with the link
 * to the rule (ruleURL, or the first alert's generatorURL) or else the dashboard.
 */
export function grafanaNotification(channel: string, p: Json): AlertOutcome {
  const alerts = arr(p.alerts);
  const status = str(p.status) ?? (str(p.state) === "ok" ? "resolved" : "firing");
  const firing = alerts.filter((a) => a.status === "firing");
  const name = alertName(p, alerts);
  const title = str(p.title) ?? (status === "firing" ? `[FIRING:${firing.length || alerts.length}] ${name}` : `[RESOLVED] ${name}`);
  const message = str(p.message) ?? (summaries(status === "firing" && firing.length ? firing : alerts, obj(p.commonAnnotations)) || `${name} is ${status}`);
  const critical = alerts.some((a) => str(obj(a.labels).severity)?.toLowerCase() === "critical");
  const n: Notification = { channel, title, message, priority: status === "firing" ? (critical ? 5 : 4) : 3, tags: [status], source: "grafana" };
  const first = alerts[0] ?? {};
  const url = str(p.ruleURL) ?? str(p.ruleUrl) ?? str(first.generatorURL) ?? str(p.dashboardURL) ?? str(first.dashboardURL) ?? str(p.externalURL);
  if (url) n.url = url;
  return { kind: "publish", notification: n };
}

/**
 * Grafana's webhook HMAC: X-Grafana-Alerting-Signature is the hex HMAC-SHA256 of the body, or of
 * `<timestamp>:<body>` when it also sends X-Grafana-Alerting-Timestamp. Compared in constant time.
 */
export function verifyGrafanaSignature(secret: string, body: Uint8Array, signature: string | null, timestamp: string | null): boolean {
  if (!signature) return false;
  const mac = createHmac("sha256", secret);
  if (timestamp) mac.update(`${timestamp}:`);
  const expected = mac.update(body).digest("hex");
  const a = createHash("sha256").update(signature.trim().toLowerCase()).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}
