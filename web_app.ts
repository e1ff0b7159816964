// web_app.ts — the browser app's routes: app/ built once at start (TypeScript bundled by Bun.build, static files read
// as they are) and served from memory with a Content-Security-Policy; the page asks for a login when anonymous clients
// may read nothing.
import { userFromAuthorization } from "./acl";
import { CHALLENGE, type WebContext } from "./web_context";
import type { Handler } from "./web_routes";

type Asset = { body: ArrayBuffer | string; type: string };

/** The app's static files and their content types; "/" is the page itself. */
const APP_FILES: [string, string, string][] = [
  ["/", "index.html", "text/html; charset=utf-8"],
  ["/app.css", "app.css", "text/css; charset=utf-8"],
  ["/manifest.webmanifest", "manifest.webmanifest", "application/manifest+json"],
  ["/icon-192.png", "icon-192.png", "image/png"],
  ["/icon-512.png", "icon-512.png", "image/png"],
];

/**
 * The page's Content-Security-Policy: scripts only from our own files (app.js), never inline, so even markup that
 * slipped into a message could not run; images (icons, attachments) from any http(s) host; requests to any http(s)
 * host, which an http action needs; no plugins, no <base>, not framed by another site.
 */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: http:; connect-src 'self' https: http:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Builds the browser app (app/) once at start: TypeScript bundled by Bun.build, static files read as they are. */
export async function buildApp(): Promise<Map<string, Asset>> {
  const dir = `${import.meta.dir}/app`;
  const assets = new Map<string, Asset>();
  const built = await Bun.build({ entrypoints: [`${dir}/app.ts`, `${dir}/sw.ts`], target: "browser", minify: true, naming: "[name].[ext]" });
  if (!built.success) throw new Error(`cannot build the web app: ${built.logs.map(String).join("; ")}`);
  for (const out of built.outputs) assets.set(`/${out.path.split("/").pop()}`, { body: await out.text(), type: "text/javascript; charset=utf-8" });
  for (const [path, file, type] of APP_FILES) assets.set(path, { body: await Bun.file(`${dir}/${file}`).arrayBuffer(), type });
  return assets;
}

/** The page ("/") and each other asset's path with its handler. */
export function appRoutes(ctx: WebContext, assets: Map<string, Asset>): { page: Handler; files: [string, Handler][] } {
  /** The app page asks for a login when anonymous clients have no rights, so the browser sends it to /events later. */
  const appLogin = (req: Request): Response | null => {
    const acl = ctx.opts.acl;
    if (!acl || (acl.anonymous.enabled && acl.anonymous.nopass)) return null;
    const who = userFromAuthorization(acl, req.headers.get("authorization"));
    return "user" in who ? null : new Response("This Notistream server needs a login.\n", { status: 401, headers: { ...CHALLENGE, "content-type": "text/plain; charset=utf-8" } });
  };
  const asset =
    (path: string): Handler =>
    async (req) => {
      if (path === "/") {
        const login = appLogin(req);
        if (login) return login;
      }
      const a = assets.get(path)!;
      // The page and the service worker must always be fresh; the rest may be cached briefly.
      const cache = path === "/" || path === "/sw.js" ? "no-cache" : "public, max-age=300";
      const headers: Record<string, string> = { "content-type": a.type, "cache-control": cache };
      if (path === "/") headers["content-security-policy"] = CSP;
      return new Response(a.body, { headers });
    };
  return { page: asset("/"), files: [...assets.keys()].filter((p) => p !== "/").map((p) => [p, asset(p)]) };
}
