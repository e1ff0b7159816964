// alerts.ts — alerting webhooks turned into notifications: Prometheus Alertmanager's (version 4, one notification
// per group) and Grafana alerting's, with Grafana's HMAC signature check. Pure: no I/O.
import type { Notification } from "./message";
import { hmacMatches, ignored, nonEmpty, obj, objs, published, type Json, type SenderOutcome } from "./sender";

/** The alerts' summaries (or descriptions), each once, in order. */
function summaries(alerts: Json[], common: Json): string {
  const lines: string[] = [];
  for (const a of alerts) {
    const ann = obj(a.annotations);
    const line = nonEmpty(ann.summary) ?? nonEmpty(ann.description) ?? nonEmpty(obj(a.labels).alertname);
    if (line && !lines.includes(line)) lines.push(line);
  }
  if (!lines.length) {
    const fallback = nonEmpty(obj(common).summary) ?? nonEmpty(obj(common).description);
    if (fallback) lines.push(fallback);
  }
  return lines.join("\n");
}

/** The group's name: its alertname label, from the group, the common labels, or the first alert. */
function alertName(p: Json, alerts: Json[]): string {
  return nonEmpty(obj(p.groupLabels).alertname) ?? nonEmpty(obj(p.commonLabels).alertname) ?? nonEmpty(obj(alerts[0]?.labels).alertname) ?? nonEmpty(p.receiver) ?? "alert";
}

/**
 * Alertmanager's webhook (version 4): one notification for the group. `[FIRING:2] HighLatency` or
 * `[RESOLVED] HighLatency`; priority 5 when firing with severity=critical, 4 for other firing, 3 when resolved.
 */
export function alertmanagerNotification(channel: string, p: Json): SenderOutcome {
  if (p.version !== undefined && nonEmpty(p.version) !== "4") return ignored(`Alertmanager webhook version ${JSON.stringify(p.version)} is not 4`);
  const alerts = objs(p.alerts);
  if (!alerts.length) return ignored("the group has no alerts");
  const firing = alerts.filter((a) => a.status === "firing");
  const status = nonEmpty(p.status) ?? (firing.length ? "firing" : "resolved");
  const name = alertName(p, alerts);
  const shown = status === "firing" ? firing : alerts;
  const critical = shown.some((a) => nonEmpty(obj(a.labels).severity)?.toLowerCase() === "critical") || nonEmpty(obj(p.commonLabels).severity)?.toLowerCase() === "critical";
  const n: Notification = {
    channel,
    title: status === "firing" ? `[FIRING:${firing.length}] ${name}` : `[RESOLVED] ${name}`,
    message: summaries(shown, obj(p.commonAnnotations)) || `${name} is ${status}`,
    priority: status === "firing" ? (critical ? 5 : 4) : 3,
    tags: [status, ...(nonEmpty(obj(p.commonLabels).severity) ? [nonEmpty(obj(p.commonLabels).severity)!] : [])],
    source: "alertmanager",
  };
  const url = nonEmpty(p.externalURL) ?? nonEmpty(alerts.find((a) => nonEmpty(a.generatorURL))?.generatorURL);
  return published(n, url);
}

/**
 * Grafana alerting's webhook: its title and message (or the alerts' summaries), firing or resolved, with the link
 * to the rule (ruleURL, or the first alert's generatorURL) or else the dashboard.
 */
export function grafanaNotification(channel: string, p: Json): SenderOutcome {
  const alerts = objs(p.alerts);
  const status = nonEmpty(p.status) ?? (nonEmpty(p.state) === "ok" ? "resolved" : "firing");
  const firing = alerts.filter((a) => a.status === "firing");
  const name = alertName(p, alerts);
  const title = nonEmpty(p.title) ?? (status === "firing" ? `[FIRING:${firing.length || alerts.length}] ${name}` : `[RESOLVED] ${name}`);
  const message = nonEmpty(p.message) ?? (summaries(status === "firing" && firing.length ? firing : alerts, obj(p.commonAnnotations)) || `${name} is ${status}`);
  const critical = alerts.some((a) => nonEmpty(obj(a.labels).severity)?.toLowerCase() === "critical");
  const n: Notification = { channel, title, message, priority: status === "firing" ? (critical ? 5 : 4) : 3, tags: [status], source: "grafana" };
  const first = alerts[0] ?? {};
  const url = nonEmpty(p.ruleURL) ?? nonEmpty(p.ruleUrl) ?? nonEmpty(first.generatorURL) ?? nonEmpty(p.dashboardURL) ?? nonEmpty(first.dashboardURL) ?? nonEmpty(p.externalURL);
  return published(n, url);
}

/**
 * Grafana's webhook HMAC: X-Grafana-Alerting-Signature is the hex HMAC-SHA256 of the body, or of
 * `<timestamp>:<body>` when it also sends X-Grafana-Alerting-Timestamp. Compared in constant time.
 */
export function verifyGrafanaSignature(secret: string, body: Uint8Array, signature: string | null, timestamp: string | null): boolean {
  return !!signature && hmacMatches(secret, timestamp ? [`${timestamp}:`, body] : [body], signature.trim());
}
