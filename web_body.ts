// web_body.ts — reading an HTTP request's body: the size limit (413 whether or not Content-Length was sent), the media
// type, and its fields from a form, multipart or JSON object, or a sender's JSON payload. Errors are InputErrors.
import { InputError } from "./web_input";

/** Reads the body, refusing (413) as soon as it passes `limit`, whether or not Content-Length was sent. */
export async function readBody(req: Request, limit: number): Promise<Uint8Array> {
  const lengthHeader = req.headers.get("content-length");
  const declared = Number(lengthHeader ?? "0");
  if (declared > limit) throw new InputError(`the request body is ${declared} bytes; the limit is ${limit} bytes`, 413);
  // With a Content-Length already checked, Bun's native arrayBuffer() reads the body at once, without the
  // ReadableStream machinery that pulling it chunk by chunk would run.
  if (lengthHeader !== null) return new Uint8Array(await req.arrayBuffer());
  if (!req.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.length;
    if (size > limit) throw new InputError(`the request body is over the limit of ${limit} bytes`, 413);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** The media type, lower-cased, without parameters ("" when there is no Content-Type). */
export const mediaType = (req: Request): string => (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();

const decoder = new TextDecoder();

/**
 * Parses JSON, or says what is wrong with it and where (`what` names the part: "the body", "the payload field").
 * With `maxDepth`, arrays and objects nested deeper than that are a 400 too (checked on the text, before parsing).
 */
export function parseJson(text: string, what: string, maxDepth?: number): unknown {
  if (maxDepth !== undefined && nestsDeeper(text, maxDepth)) throw new InputError(`${what} nests arrays or objects more than ${maxDepth} levels deep; the limit is ${maxDepth}`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Whether JSON text opens more than `max` arrays or objects inside each other (brackets in strings do not count). */
export function nestsDeeper(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * The body's fields (form, multipart or JSON object; an empty body has none), and whether they came as a JSON object:
 * POST / tells ntfy's JSON publish from our own fields by it.
 */
export async function bodyFields(req: Request, raw: Uint8Array): Promise<{ fields: Record<string, unknown>; json: boolean }> {
  if (raw.length === 0) return { fields: {}, json: false };
  const type = mediaType(req);
  // ntfy's web app PUTs its JSON publish as a string, which fetch labels text/plain (web/src/app/Api.js publish), and
  // ntfy reads a body to / as JSON whatever its type (server.go transformBodyJSON): a JSON object is read as such.
  if (type === "text/plain" && raw[0] === 0x7b) {
    try {
      const parsed: unknown = JSON.parse(decoder.decode(raw));
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return { fields: parsed as Record<string, unknown>, json: true };
    } catch {
      // not JSON: refused below as any other text/plain body
    }
  }
  if (type === "application/x-www-form-urlencoded") {
    const text = decoder.decode(raw);
    // curl -d '{"topic": …}' sends JSON labelled as a form (ntfy's own examples do this): read it as the JSON it is.
    if (text.trimStart().startsWith("{")) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return { fields: parsed as Record<string, unknown>, json: true };
      } catch {
        // not JSON after all: a form
      }
    }
    return { fields: Object.fromEntries(new URLSearchParams(text)), json: false };
  }
  if (type === "application/json" || type.endsWith("+json")) {
    const parsed = parseJson(decoder.decode(raw), "the body");
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new InputError('the JSON body must be an object, like {"channel": "alerts", "message": "hello"}');
    return { fields: parsed as Record<string, unknown>, json: true };
  }
  if (type === "multipart/form-data") {
    let form: FormData;
    try {
      form = await new Response(Buffer.from(raw), { headers: { "content-type": req.headers.get("content-type")! } }).formData();
    } catch (err) {
      // Found by the HTTP fuzz test: a broken multipart body used to surface as a 500.
      throw new InputError(`the multipart body cannot be read: ${(err as Error).message}`);
    }
    const fields: Record<string, unknown> = {};
    for (const [k, v] of form) {
      if (typeof v !== "string") throw new InputError(`the multipart field "${k}" is a file, and Notistream does not support attachments: send text fields only`);
      fields[k] = v;
    }
    return { fields, json: false };
  }
  throw new InputError(`unsupported content type ${JSON.stringify(type || "(none)")}: send application/x-www-form-urlencoded, multipart/form-data or application/json`, 415);
}

/**
 * A webhook sender's JSON object, sent as application/json (or with no type) or, as GitHub's legacy hooks do, as a
 * form with the JSON in a `payload` field. `sender` names who sends it, for the error messages.
 */
export function senderPayload(req: Request, raw: Uint8Array, sender: string): Record<string, unknown> {
  const type = mediaType(req);
  let payload: unknown;
  if (type === "application/x-www-form-urlencoded") {
    const p = new URLSearchParams(decoder.decode(raw)).get("payload");
    if (p === null) throw new InputError('a form delivery needs a "payload" field holding the JSON');
    payload = parseJson(p, 'the "payload" field');
  } else if (type === "application/json" || type === "") payload = parseJson(decoder.decode(raw), "the body");
  else throw new InputError(`unsupported content type ${JSON.stringify(type)}: ${sender} sends application/json or application/x-www-form-urlencoded`, 415);
  if (!payload || typeof payload !== "object" || Array.isArray(payload)) throw new InputError(`the ${sender} payload must be a JSON object`);
  return payload as Record<string, unknown>;
}
