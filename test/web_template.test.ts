// test/web_template.test.ts — templates for any JSON webhook: both spellings, array items by index, missing fields empty,
// values printed, parse errors with their position, and nothing but the body's own data reachable.
import { describe, expect, test } from "bun:test";
import { TemplateError, renderTemplate } from "../web_template";

const data = { status: "firing", alerts: [{ labels: { alertname: "HighLatency" }, value: 1.5, ok: false }], nested: { list: [1, 2] } };

describe("templates", () => {
  test("{{.path}} and {{path}}, array indexes, numbers and booleans, objects as JSON, missing fields empty", () => {
    expect(renderTemplate("{{.alerts.0.labels.alertname}} is {{status}}", data)).toBe("HighLatency is firing");
    expect(renderTemplate("{{ .alerts.0.value }} {{.alerts.0.ok}} {{.nested.list}} {{.nested}}", data)).toBe('1.5 false [1,2] {"list":[1,2]}');
    expect(renderTemplate("[{{.missing.deep}}][{{.alerts.9.labels}}][{{.status.length}}]", data)).toBe("[][][]");
    expect(renderTemplate("no fields at all", data)).toBe("no fields at all");
  });
  test("nothing outside the body's own data: no prototype, no constructor, no functions", () => {
    expect(renderTemplate("{{.__proto__}}{{.constructor}}{{.alerts.constructor.name}}{{.toString}}", data)).toBe("");
    expect(renderTemplate("{{.status.constructor}}", data)).toBe("");
  });
  test("a template that does not parse says what and where", () => {
    const bad = (tpl: string, pos: number, what: RegExp) => {
      try {
        renderTemplate(tpl, data);
        throw new Error("parsed");
      } catch (err) {
        expect(err).toBeInstanceOf(TemplateError);
        expect((err as TemplateError).position).toBe(pos);
        expect((err as Error).message).toMatch(what);
      }
    };
    bad("Alert {{.status", 7, /never closed/);
    bad("{{}}", 1, /names no field/);
    bad("ok {{ .a | upper }}", 4, /not a field path/);
    bad('{{ printf "%s" .a }}', 1, /not a field path/);
    bad("{{.a..b}}", 1, /not a field path/);
  });
});
