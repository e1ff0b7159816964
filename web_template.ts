// web_template.ts — templates for any JSON webhook: `{{.path.to.field}}` (ntfy's Go-template style) or `{{path.to.field}}`
// filled from the body, array items by index. A small strict filler: no code runs and only own data is reached. Pure.

/** A template that does not parse: says what and where (1-based column), so the 400 can point at it. */
export class TemplateError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
  }
}

/**
 * How deeply the JSON a template reads may nest: far more than any webhook sends, and far less than what overflows
 * the stack when a reached value is printed as JSON (a 100,000-deep array did: a 500 instead of a 400).
 */
export const MAX_DATA_DEPTH = 64;

type Part = { text: string } | { path: string[]; at: number };

const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** Parses a template into text and field references; throws TemplateError on an unclosed or malformed {{ }}. */
function parseTemplate(tpl: string): Part[] {
  const parts: Part[] = [];
  let i = 0;
  while (i < tpl.length) {
    const open = tpl.indexOf("{{", i);
    if (open < 0) {
      parts.push({ text: tpl.slice(i) });
      break;
    }
    if (open > i) parts.push({ text: tpl.slice(i, open) });
    const close = tpl.indexOf("}}", open + 2);
    if (close < 0) throw new TemplateError("'{{' is never closed with '}}'", open + 1);
    const inner = tpl.slice(open + 2, close).trim();
    const expr = inner.startsWith(".") ? inner.slice(1) : inner;
    if (expr === "") throw new TemplateError("'{{ }}' names no field: write {{.field}} or {{.a.b.0.c}}", open + 1);
    const path = expr.split(".");
    const bad = path.findIndex((seg) => !SEGMENT.test(seg));
    if (bad >= 0)
      throw new TemplateError(`'${inner}' is not a field path: use letters, digits, _ and -, separated by dots (functions and pipes are not supported)`, open + 1);
    parts.push({ path, at: open + 1 });
    i = close + 2;
  }
  return parts;
}

/** One step down: an object's own property, or an array item by index. Never the prototype, never a function. */
function step(value: unknown, key: string): unknown {
  if (Array.isArray(value)) return /^\d+$/.test(key) ? value[Number(key)] : undefined;
  if (value !== null && typeof value === "object" && Object.hasOwn(value, key)) return (value as Record<string, unknown>)[key];
  return undefined;
}

/** A value as text: strings as they are, numbers and booleans printed, objects and arrays as JSON; missing is empty. */
function show(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** Fills a template from `data`. A field that is not there renders empty. */
export function renderTemplate(tpl: string, data: unknown): string {
  return parseTemplate(tpl)
    .map((p) => ("text" in p ? p.text : show(p.path.reduce(step, data))))
    .join("");
}
