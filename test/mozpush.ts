// test/mozpush.ts — a push service speaking Mozilla's WebSocket push protocol (hello, register, notification, ack),
// for Firefox's dom.push.serverURL in tests: browsers register here, and a Web Push POSTed to a channel's endpoint
// is handed to the browser that registered it, the payload as sent (encrypted; only the browser can read it).
import type { ServerWebSocket } from "bun";
import { randomUUID } from "node:crypto";

type Conn = ServerWebSocket<{ uaid: string }>;

export function startMozillaPush() {
  const channels = new Map<string, Conn>(); // channelID → the browser's connection
  const log: string[] = [];
  const acks: string[] = [];
  let nextVersion = 1;
  const server = Bun.serve<{ uaid: string }>({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req, srv) {
      const url = new URL(req.url);
      if (req.headers.get("upgrade") === "websocket") return srv.upgrade(req, { data: { uaid: "" } }) ? undefined : new Response("upgrade failed", { status: 400 });
      const m = /^\/wpush\/v2\/([\w-]+)$/.exec(url.pathname);
      if (req.method === "POST" && m) {
        const ws = channels.get(m[1]!);
        if (!ws) return new Response(null, { status: 410 });
        const body = Buffer.from(await req.arrayBuffer());
        const version = String(nextVersion++);
        log.push(`push ${m[1]} ${body.length} bytes`);
        ws.send(JSON.stringify({ messageType: "notification", channelID: m[1], version, data: body.toString("base64url"), headers: { encoding: req.headers.get("content-encoding") ?? "aes128gcm" } }));
        return new Response(null, { status: 201, headers: { location: `${url.origin}/m/${version}` } });
      }
      return new Response("not found", { status: 404 });
    },
    websocket: {
      message(ws: Conn, raw) {
        const msg = JSON.parse(String(raw)) as { messageType?: string; channelID?: string; uaid?: string; updates?: { version: string }[] };
        log.push(`ws ${msg.messageType ?? "ping"}${msg.messageType === "nack" || msg.messageType === "ack" ? ` ${String(raw)}` : ""}`);
        switch (msg.messageType) {
          case "hello":
            ws.data.uaid = msg.uaid || randomUUID().replace(/-/g, "");
            // A browser coming back keeps its channels.
            for (const [id, c] of channels) if (c.data.uaid === ws.data.uaid) channels.set(id, ws);
            ws.send(JSON.stringify({ messageType: "hello", uaid: ws.data.uaid, status: 200, use_webpush: true, broadcasts: {} }));
            break;
          case "register":
            channels.set(msg.channelID!, ws);
            ws.send(JSON.stringify({ messageType: "register", channelID: msg.channelID, status: 200, pushEndpoint: `http://127.0.0.1:${server.port}/wpush/v2/${msg.channelID}` }));
            break;
          case "unregister":
            channels.delete(msg.channelID!);
            ws.send(JSON.stringify({ messageType: "unregister", channelID: msg.channelID, status: 200 }));
            break;
          case "ack":
            for (const u of msg.updates ?? []) acks.push(u.version);
            break;
          default:
            ws.send("{}"); // a ping
        }
      },
    },
  });
  return { url: `ws://127.0.0.1:${server.port}/`, origin: `http://127.0.0.1:${server.port}`, log, acks, registered: () => channels.size, stop: () => server.stop(true) };
}
