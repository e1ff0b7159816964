// web_actions.ts — action buttons as a publish sends them, read as ntfy's server reads them (action/action.go, v2.27;
// server/actions.go in v2.13): the simple format and the JSON one into the envelope's actions, or ntfy's 40018 saying which and why. Pure.
//
// Simple format: `view, Open, https://x; http, Close door, https://y, method=PUT, body=...; copy, Copy code, 1234`.
// Actions are split by `;`, sections by `,`; a section is `key=value` or a bare value whose key comes from its place
// (action, label, then url for view and http, value for copy). A value may be quoted with " or ', a backslash
// escaping the quote, so that it holds commas and semicolons. `headers.X=...` and `extras.k=...` fill the maps.
import { MAX_ACTIONS, type Action } from "./message";
import { NTFY_ERRORS, NtfyError } from "./web_ntfy";

/** ntfy's action ID length (actionIDLength). */
const ACTION_ID_LENGTH = 10;
const KINDS = ["view", "broadcast", "http", "copy"] as const;
type Kind = (typeof KINDS)[number];
const KINDS_WITH_URL: readonly string[] = ["view", "http"];
/** `key =` at the start of a section (actionsKeyRegex): letters, digits, _, - and . (headers.X-Y). */
const KEY = /^([-.\w]+)\s*=\s*/;
const BOOLEANS = ["true", "yes", "1", "false", "no", "0"];

/** A bad actions parameter: ntfy's 40018, with a sentence naming the action and what was wrong. */
const invalid = (detail: string): NtfyError => new NtfyError(NTFY_ERRORS.actionsInvalid, detail);

/** An action while it is read: every field a string, as ntfy's struct holds them before they are checked. */
type Draft = { action: string; label: string; clear: boolean; url: string; method: string; headers: Record<string, string>; body: string; intent: string; extras: Record<string, string>; value: string };
const draft = (): Draft => ({ action: "", label: "", clear: false, url: "", method: "", headers: {}, body: "", intent: "", extras: {}, value: "" });

/** One action's place for a sentence: `action 2 (http "Close door")`, or `action 2` before it has a kind. */
function named(index: number, d?: Partial<Draft>): string {
  const what = [d?.action, d?.label ? JSON.stringify(d.label.slice(0, 40)) : ""].filter(Boolean).join(" ");
  return what ? `action ${index + 1} (${what})` : `action ${index + 1}`;
}

// ---- the simple format (parseActionsFromSimple and its actionParser) ----

const isSpace = (c: string | undefined): boolean => c === " " || c === "\t" || c === "\r" || c === "\n";
const isSectionEnd = (c: string | undefined): boolean => c === undefined || c === ";" || c === ",";
const isLastSection = (c: string | undefined): boolean => c === undefined || c === ";";

/** Walks the input as ntfy's actionParser does: position by position, sections ending at `,`, actions at `;`. */
class SimpleParser {
  private pos = 0;
  constructor(private readonly input: string) {}

  parse(): Draft[] {
    const actions: Draft[] = [];
    while (this.pos < this.input.length) actions.push(this.action(actions.length));
    return actions;
  }

  private action(index: number): Draft {
    const d = draft();
    for (let section = 0; ; section++) {
      const { key, value, last } = this.section(index, d);
      populate(d, index, section, key, value);
      this.slurpSpaces();
      if (last) return d;
    }
  }

  private section(index: number, d: Draft): { key: string; value: string; last: boolean } {
    this.slurpSpaces();
    const key = this.key();
    const c = this.input[this.pos];
    if (isSectionEnd(c)) {
      if (c !== undefined) this.pos++;
      return { key, value: "", last: isLastSection(c) };
    }
    if (c === '"' || c === "'") return { key, ...this.quoted(c, index, d) };
    return { key, ...this.value() };
  }

  private key(): string {
    const m = KEY.exec(this.input.slice(this.pos));
    if (!m) return "";
    this.pos += m[0].length;
    return m[1]!;
  }

  /** An unquoted value: up to `,`, `;` or the end, trimmed. */
  private value(): { value: string; last: boolean } {
    const start = this.pos;
    while (!isSectionEnd(this.input[this.pos])) this.pos++;
    const c = this.input[this.pos];
    const value = this.input.slice(start, this.pos).trim();
    if (c !== undefined) this.pos++;
    return { value, last: isLastSection(c) };
  }

  /** A quoted value: up to the same quote not after a backslash (`\"` stands for `"`), then only spaces before `,` or `;`. */
  private quoted(quote: string, index: number, d: Draft): { value: string; last: boolean } {
    const start = ++this.pos;
    let prev = "";
    for (;;) {
      const c = this.input[this.pos];
      if (c === undefined) throw invalid(`${named(index, d)}: a value quoted with ${quote} at position ${start} has no closing ${quote}; add one, or escape a quote inside as \\${quote}`);
      if (c === quote && prev !== "\\") {
        const value = this.input.slice(start, this.pos).replaceAll(`\\${quote}`, quote);
        this.pos++;
        this.slurpSpaces();
        const end = this.input[this.pos];
        if (!isSectionEnd(end)) throw invalid(`${named(index, d)}: unexpected ${JSON.stringify(end)} at position ${this.pos} after a quoted value; end the value with , or ;`);
        if (end !== undefined) this.pos++;
        return { value, last: isLastSection(end) };
      }
      prev = c;
      this.pos++;
    }
  }

  private slurpSpaces(): void {
    while (isSpace(this.input[this.pos])) this.pos++;
  }
}

/** One section into the action (populateAction): a bare value's key from its place, then the field it names. */
function populate(d: Draft, index: number, section: number, rawKey: string, value: string): void {
  let key = rawKey;
  if (key === "" && section === 0) key = "action";
  else if (key === "" && section === 1) key = "label";
  else if (key === "" && section === 2 && KINDS_WITH_URL.includes(d.action.toLowerCase())) key = "url";
  else if (key === "" && section === 2 && d.action.toLowerCase() === "copy") key = "value";
  if (key === "") throw invalid(`${named(index, d)}: ${JSON.stringify(value.slice(0, 60))} is not key=value and its place names no field; write it as key=value (url=, method=, body=, headers.X=, intent=, extras.k=, value=, clear=)`);
  if (key.startsWith("headers.")) d.headers[key.slice("headers.".length)] = value;
  else if (key.startsWith("extras.")) d.extras[key.slice("extras.".length)] = value;
  else {
    const k = key.toLowerCase();
    if (k === "clear") {
      const v = value.toLowerCase();
      if (!BOOLEANS.includes(v)) throw invalid(`${named(index, d)}: clear must be true or false (also yes/no/1/0), got ${JSON.stringify(value.slice(0, 60))}`);
      d.clear = v === "true" || v === "yes" || v === "1";
    } else if (k === "action" || k === "label" || k === "url" || k === "method" || k === "body" || k === "intent" || k === "value") d[k] = value;
    else throw invalid(`${named(index, d)}: ntfy's actions have no key ${JSON.stringify(key.slice(0, 60))}; the keys are action, label, url, method, body, headers.<name>, intent, extras.<name>, value and clear`);
  }
}

// ---- the JSON format (parseActionsFromJSON) ----

/** A JSON array of actions: each an object whose fields have ntfy's types (strings, `clear` a boolean, string maps). */
function fromJson(text: string): Draft[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalid(`the actions start with [ but are not valid JSON (${(err as Error).message}); send a JSON array of actions, or the simple format: view, Open, https://...`);
  }
  if (!Array.isArray(parsed)) throw invalid("the actions must be a JSON array of objects");
  return parsed.map((item: unknown, index) => draftFromJson(item, index));
}

function draftFromJson(item: unknown, index: number): Draft {
  if (item === null || typeof item !== "object" || Array.isArray(item)) throw invalid(`${named(index)} must be an object like {"action":"view","label":"Open","url":"https://..."}`);
  const d = draft();
  const o = item as Record<string, unknown>;
  for (const k of ["action", "label", "url", "method", "body", "intent", "value"] as const) {
    const v = o[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string") throw invalid(`${named(index, d)}: "${k}" must be a string, got ${JSON.stringify(v)?.slice(0, 60)}`);
    d[k] = v;
  }
  if (o.clear !== undefined && o.clear !== null) {
    if (typeof o.clear !== "boolean") throw invalid(`${named(index, d)}: "clear" must be true or false, got ${JSON.stringify(o.clear)?.slice(0, 60)}`);
    d.clear = o.clear;
  }
  for (const k of ["headers", "extras"] as const) {
    const v = o[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== "object" || Array.isArray(v) || !Object.values(v).every((x) => typeof x === "string")) throw invalid(`${named(index, d)}: "${k}" must be an object of strings, like {"Authorization":"Bearer ..."}`);
    d[k] = { ...(v as Record<string, string>) };
  }
  return d;
}

// ---- checking and shaping ----

/** A random action ID, ntfy's 10 characters of [A-Za-z0-9] (util.RandomString). */
function actionId(): string {
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let id = "";
  for (const b of crypto.getRandomValues(new Uint8Array(ACTION_ID_LENGTH))) id += chars[b % chars.length];
  return id;
}

/** The checks of parseActions, in its order: at most 3, a known kind, a label, a url (view, http), a value (copy), no body on GET or HEAD. */
function checked(d: Draft, index: number): Action {
  const kind = d.action.toLowerCase();
  const method = d.method.toUpperCase();
  if (!(KINDS as readonly string[]).includes(kind)) throw invalid(`${named(index, { label: d.label })}: the kind must be view, broadcast, http or copy, got ${JSON.stringify(d.action.slice(0, 60))}`);
  if (d.label === "") throw invalid(`${named(index, { action: kind })}: a label is required (the button's text)`);
  if (KINDS_WITH_URL.includes(kind) && d.url === "") throw invalid(`${named(index, d)}: a url is required for a ${kind} action`);
  if (kind === "copy" && d.value === "") throw invalid(`${named(index, d)}: a value is required for a copy action (the text it copies)`);
  if (kind === "http" && (method === "GET" || method === "HEAD") && d.body !== "") throw invalid(`${named(index, d)}: a body cannot be sent with method ${method}; drop the body or use POST or PUT`);
  const a: Action = { id: actionId(), action: kind as Kind, label: d.label, clear: d.clear };
  // omitempty, in the struct's order (model.go Action): a field left empty is not sent.
  if (d.url) a.url = d.url;
  if (method) a.method = method;
  if (Object.keys(d.headers).length) a.headers = d.headers;
  if (d.body) a.body = d.body;
  if (d.intent) a.intent = d.intent;
  if (Object.keys(d.extras).length) a.extras = d.extras;
  if (d.value) a.value = d.value;
  return a;
}

/**
 * An actions parameter (X-Actions, Actions, Action, or JSON's `actions`) into the envelope's actions, each with a new
 * 10-character id: JSON when it starts with `[`, the simple format otherwise. Throws only NtfyError 40018.
 */
export function parseActions(text: string): Action[] {
  const s = text.trim();
  const drafts = s.startsWith("[") ? fromJson(s) : new SimpleParser(s).parse();
  if (drafts.length > MAX_ACTIONS) throw invalid(`${drafts.length} actions given; at most ${MAX_ACTIONS} are allowed`);
  return drafts.map(checked);
}
