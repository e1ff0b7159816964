// web_unifiedpush.ts — UnifiedPush's routes: discovery (GET /<topic>?up=1) and the Matrix push gateway (GET and POST
// /_matrix/push/v1/notify), which publishes a homeserver's notification to the topic its pushkey names on this server.
import { publishRefusal } from "./web_access";
import { NTFY_MESSAGE_LIMIT } from "./web_attachments";
import { readBody } from "./web_body";
import type { WebContext } from "./web_context";
import { InputError, refuseChannelName } from "./web_input";
import { NTFY_CORS, NTFY_ERRORS, NtfyError, inNtfyShape, ntfyErrorResponse } from "./web_ntfy";
import { isTrue, readParam } from "./web_ntfy_publish";
import type { Handler, RouteRow } from "./web_routes";
import { matrixAnswer, matrixPushkey, pushkeyPath } from "./web_unifiedpush_rules";

/** ntfy's matrixPushPath (server.go): the Matrix push gateway API's path (spec.matrix.org push-gateway-api). */
export const MATRIX_PUSH_PATH = "/_matrix/push/v1/notify";

const ntfyJsonAnswer = (body: string): Response => new Response(body, { status: 200, headers: { "content-type": "application/json", ...NTFY_CORS } });

/**
 * GET /<topic> with up=1 (or the X-UnifiedPush header): UnifiedPush's discovery, {"unifiedpush":{"version":1}}, as
 * ntfy's handleTopic answers it for any topic, with no rights asked (it says nothing about the topic). Any other GET
 * /<topic> is `otherwise`'s.
 */
export function unifiedPushDiscovery(otherwise: Handler): Handler {
  return async (req, url, checked) => {
    const up = readParam({ header: (name) => req.headers.get(name), query: url.searchParams }, ["x-unifiedpush", "unifiedpush", "up"]);
    if (!up || !isTrue(up.value)) return otherwise(req, url, checked);
    return ntfyJsonAnswer(`{"unifiedpush":{"version":1}}\n`);
  };
}

/**
 * POST /_matrix/push/v1/notify (server_matrix.go newRequestFromMatrixJSON, server.go handlePublishMatrix): the
 * request, at most ntfy's message limit (41302), is published whole, as UnifiedPush's body, to the topic its first
 * pushkey names when the pushkey starts with --base-url and "/"; otherwise 200 {"rejected":[pushkey]}, which tells the
 * homeserver to drop it. The caller needs write rights on that topic, asked once it is known. Success is 200
 * {"rejected":[]}; a refused publish is its ntfy error. Without --base-url: ntfy's 500 (50003).
 */
function matrixPublish(ctx: WebContext, toChannel: Handler): Handler {
  const publish: Handler = async (req, url, checked) => {
    const base = ctx.opts.baseUrl;
    if (!base) return ntfyErrorResponse(NTFY_ERRORS.missingBaseUrl, "the Matrix gateway needs --base-url (the public URL that pushkeys start with)");
    const raw = await readMatrixBody(req, Math.min(NTFY_MESSAGE_LIMIT, ctx.opts.maxMessage));
    const pushkey = matrixPushkey(raw);
    const path = pushkeyPath(pushkey, base);
    if (path === null) return ntfyJsonAnswer(matrixAnswer([pushkey]));
    const target = new URL(path, url.origin);
    const channel = decodedChannel(target.pathname.slice(1));
    const denied = publishRefusal(ctx.opts.acl, req, checked, channel, checked.token);
    if (denied) return denied;
    // As ntfy's newRequest: the body alone, and the client's address as the proxy gave it.
    const forwarded = req.headers.get("x-forwarded-for");
    const inner = new Request(target, { method: "POST", body: new Uint8Array(raw), headers: forwarded ? { "x-forwarded-for": forwarded } : {} });
    const published = await toChannel(inner, target, { ...checked, channel, channels: [channel] });
    return published.status === 200 ? ntfyJsonAnswer(matrixAnswer([])) : published;
  };
  // Every answer in ntfy's shape: its codes for bad requests, and the ACL's 401 or 403 rewritten (inNtfyShape).
  return async (req, url, checked) => {
    try {
      return await inNtfyShape(await publish(req, url, checked));
    } catch (err) {
      if (err instanceof NtfyError) return ntfyErrorResponse(err.kind, err.detail);
      throw err;
    }
  };
}

/** The gateway's body, at most `limit` bytes: past it ntfy's 413 (41302, errHTTPEntityTooLargeMatrixRequest). */
async function readMatrixBody(req: Request, limit: number): Promise<Uint8Array> {
  try {
    return await readBody(req, limit);
  } catch (err) {
    if (err instanceof InputError && err.status === 413) throw new NtfyError(NTFY_ERRORS.entityTooLargeMatrixRequest, `${err.message} (ntfy's message limit)`);
    throw err;
  }
}

/** The topic a pushkey's path names, percent-decoded and checked as a path's channel is (a 400 otherwise). */
function decodedChannel(raw: string): string {
  let channel: string;
  try {
    channel = decodeURIComponent(raw);
  } catch {
    throw new NtfyError(NTFY_ERRORS.topicInvalid, `the pushkey's path ${JSON.stringify(raw.slice(0, 200))} has a broken percent-escape`);
  }
  try {
    refuseChannelName(channel);
  } catch (err) {
    if (err instanceof InputError) throw new NtfyError(NTFY_ERRORS.topicInvalid, `the pushkey names ${JSON.stringify(channel.slice(0, 200))}: ${err.message}`);
    throw err;
  }
  return channel;
}

/**
 * The Matrix push gateway's rows for web.ts's table: GET answers UnifiedPush's gateway discovery,
 * {"unifiedpush":{"gateway":"matrix"}} (server_matrix.go writeMatrixDiscoveryResponse; ntfy's 50003 without
 * --base-url); POST publishes (matrixPublish), "login" before the body, write rights on the pushkey's topic after.
 */
export function matrixGatewayRows(ctx: WebContext, toChannel: Handler): RouteRow[] {
  const discovery: Handler = async () =>
    ctx.opts.baseUrl ? ntfyJsonAnswer(`{"unifiedpush":{"gateway":"matrix"}}\n`) : ntfyErrorResponse(NTFY_ERRORS.missingBaseUrl, "the Matrix gateway needs --base-url (the public URL that pushkeys start with)");
  return [
    { method: "GET", path: MATRIX_PUSH_PATH, right: "none", handler: discovery },
    { method: "POST", path: MATRIX_PUSH_PATH, right: "login", handler: matrixPublish(ctx, toChannel) },
  ];
}
