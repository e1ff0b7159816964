// test/web_routes.test.ts — web_routes.ts's matcher on a table shaped like the web server's: fixed paths, prefixes
// and any other path as a channel; 404 against 405 (with Allow, in the table's order); labels that stay bounded.
import { describe, expect, test } from "bun:test";
import { buildRoutes, matchRoute, methodRefusal, type Handler, type Right, type RouteRow } from "../web_routes";

const handler: Handler = async () => new Response("ok");
const row = (method: string, path: string, right: Right = "none"): RouteRow => ({ method, path, right, handler });

/** The web server's table, with its rows in the same order (the handlers do not matter here). */
const TABLE = buildRoutes([
  row("GET", "/"),
  row("HEAD", "/"),
  row("POST", "/", "login"),
  row("POST", "/github", "login"),
  row("POST", "/alertmanager/<channel>", "write"),
  row("POST", "/grafana/<channel>", "signed"),
  row("GET", "/events", "read"),
  row("GET", "/push/vapid"),
  row("POST", "/push/subscribe", "login"),
  row("DELETE", "/push/subscribe", "login"),
  row("GET", "/app.js"),
  row("POST", "/<channel>", "write"),
  row("PUT", "/<channel>", "write"),
  row("GET", "/<channel>"),
]);

const found = (method: string, path: string) => {
  const m = matchRoute(TABLE, method, path);
  if (m.kind !== "found") throw new Error(`${method} ${path}: ${m.kind}`);
  return m;
};

describe("matching a request to its row", () => {
  test("a fixed path is its own row and its own label", () => {
    const m = found("POST", "/github");
    expect(m.row.path).toBe("/github");
    expect(m.row.right).toBe("login");
    expect(m.label).toBe("/github");
    expect(m.rawChannel).toBe("");
    expect(found("HEAD", "/").row.method).toBe("HEAD");
    expect(found("GET", "/app.js").label).toBe("/app.js");
  });

  test("a prefix route takes the rest of the path as its channel, still escaped; an empty rest is left to the check", () => {
    const m = found("POST", "/grafana/ops%2Fdisk");
    expect(m.row.path).toBe("/grafana/<channel>");
    expect(m.row.right).toBe("signed");
    expect(m.rawChannel).toBe("ops%2Fdisk");
    expect(found("POST", "/alertmanager/a/b").rawChannel).toBe("a/b");
    expect(found("POST", "/alertmanager/").rawChannel).toBe("");
  });

  test("any other path is a channel, except one ending in / or under a fixed path's folder (/push/)", () => {
    const m = found("PUT", "/deploys");
    expect(m.row.path).toBe("/<channel>");
    expect(m.rawChannel).toBe("deploys");
    expect(found("POST", "/grafana").rawChannel).toBe("grafana"); // no slash: a channel named grafana
    expect(found("POST", "/a/b").rawChannel).toBe("a/b");
    for (const path of ["/deploys/", "/push/other", "/push/", "//"]) expect(matchRoute(TABLE, "POST", path)).toEqual({ kind: "no such path" });
  });

  test("a path with no row for the method is a 405 that lists the path's methods in the table's order", () => {
    expect(matchRoute(TABLE, "DELETE", "/")).toEqual({ kind: "no such method", allow: ["GET", "HEAD", "POST"] });
    expect(matchRoute(TABLE, "GET", "/github")).toEqual({ kind: "no such method", allow: ["POST"] });
    expect(matchRoute(TABLE, "GET", "/push/subscribe")).toEqual({ kind: "no such method", allow: ["POST", "DELETE"] });
    expect(matchRoute(TABLE, "DELETE", "/deploys")).toEqual({ kind: "no such method", allow: ["POST", "PUT", "GET"] });
    expect(matchRoute(TABLE, "GET", "/grafana/x")).toEqual({ kind: "no such method", allow: ["POST"] });
  });

  test("the 405's text and Allow header", () => {
    expect(methodRefusal("DELETE", "/", ["GET", "HEAD", "POST"])).toEqual({ message: "DELETE is not allowed on /; use GET or HEAD or POST", headers: { allow: "GET, HEAD, POST" } });
  });

  test("labels stay bounded: every channel path shares one, every prefix route one of its own", () => {
    const labels = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const name = `${Math.random().toString(36).slice(2)}-${i}`;
      labels.add(found("POST", `/${name}`).label);
      labels.add(found("POST", `/grafana/${name}`).label);
      labels.add(found("POST", `/alertmanager/${encodeURIComponent(name)}%20x`).label);
    }
    expect([...labels].sort()).toEqual(["/<channel>", "/alertmanager/<channel>", "/grafana/<channel>"]);
  });
});

describe("building the table", () => {
  test("a path pattern with the channel anywhere but at its end is refused", () => {
    for (const path of ["/a/<channel>/b", "/a<channel>", "github"]) expect(() => buildRoutes([row("POST", path)])).toThrow("a path is fixed");
  });

  test("a method named twice for one path is refused", () => {
    expect(() => buildRoutes([row("POST", "/x"), row("POST", "/x")])).toThrow("in the table twice");
    expect(() => buildRoutes([row("POST", "/<channel>"), row("POST", "/<channel>")])).toThrow("in the table twice");
  });

  test("without a /<channel> row, an unknown path is a 404", () => {
    expect(matchRoute(buildRoutes([row("GET", "/health")]), "GET", "/deploys")).toEqual({ kind: "no such path" });
  });
});

describe("verb paths, /<channels>/<verb> (ntfy's /<topics>/json: server.go's jsonPathRegex ... authPathRegex)", () => {
  const channelsOf = (raw: string) => raw.split(",");
  const verbRow = (method: string, path: string, right: Right = "read"): RouteRow => ({ method, path, right, handler, channelsOf });
  const VERBS = buildRoutes([
    row("GET", "/"),
    row("GET", "/events", "read"),
    row("POST", "/grafana/<channel>", "signed"),
    verbRow("GET", "/<channels>/json"),
    verbRow("GET", "/<channels>/ws"),
    verbRow("GET", "/<channels>/publish", "write"),
    row("POST", "/<channel>", "write"),
    row("PUT", "/<channel>", "write"),
    row("GET", "/<channel>"),
  ]);
  const at = (method: string, path: string) => {
    const m = matchRoute(VERBS, method, path);
    if (m.kind !== "found") throw new Error(`${method} ${path}: ${m.kind}`);
    return m;
  };

  test("the last segment is the verb; everything before it is the channels, still escaped, slashes and commas kept", () => {
    expect(at("GET", "/alerts/json")).toMatchObject({ label: "/<channels>/json", rawChannel: "alerts" });
    expect(at("GET", "/t1,t2/json").rawChannel).toBe("t1,t2");
    expect(at("GET", "/owner/repo/json").rawChannel).toBe("owner/repo");
    expect(at("GET", "/a%2Fb/ws")).toMatchObject({ label: "/<channels>/ws", rawChannel: "a%2Fb" });
    expect(at("GET", "/x/publish").row.right).toBe("write");
  });

  test("ntfy's verbs win on their methods: GET /a/json reads a; POST /a/json publishes to the channel named a/json; a/json is read at /a/json/json", () => {
    expect(at("POST", "/a/json")).toMatchObject({ label: "/<channel>", rawChannel: "a/json" });
    expect(at("PUT", "/a/ws").rawChannel).toBe("a/ws");
    expect(at("GET", "/a/json/json")).toMatchObject({ label: "/<channels>/json", rawChannel: "a/json" });
    // A method no row has on either: the channel path's 405.
    expect(matchRoute(VERBS, "DELETE", "/a/json")).toEqual({ kind: "no such method", allow: ["POST", "PUT", "GET"] });
  });

  test("a verb path wins over a prefix route, not over a fixed path; a bare verb (/json) is a channel named json", () => {
    expect(at("GET", "/grafana/json").label).toBe("/<channels>/json");
    expect(at("GET", "/events").label).toBe("/events");
    expect(at("GET", "/json").label).toBe("/<channel>");
    expect(at("GET", "/jsonx/json2").label).toBe("/<channel>");
    expect(at("GET", "//json").label).toBe("/<channel>");
  });

  test("verb rows are declared as data: a bad pattern, or one named twice, is refused at start", () => {
    for (const path of ["/<channels>/a/b", "/x/<channels>/json", "/<channels>", "/<channels>/"]) expect(() => buildRoutes([verbRow("GET", path)])).toThrow("a verb path is");
    expect(() => buildRoutes([verbRow("GET", "/<channels>/json"), verbRow("GET", "/<channels>/json")])).toThrow("in the table twice");
  });

  test("labels stay bounded: every channel on one verb shares its pattern", () => {
    const labels = new Set<string>();
    for (let i = 0; i < 200; i++) labels.add(at("GET", `/${Math.random().toString(36).slice(2)}/t${i}/json`).label);
    expect([...labels]).toEqual(["/<channels>/json"]);
  });
});
