// web_ops.ts — the routes for operators: GET /health (the hub's state), GET /healthz (ready: the pub/sub server answers
// and the hub can subscribe, for a load balancer) and GET /metrics (Prometheus), with the hub's gauges.
import { HUB_DOWN, NOT_CONNECTED, json, type WebContext } from "./web_context";
import type { Handler } from "./web_routes";

export function opsRoutes(ctx: WebContext): { health: Handler; healthz: Handler; metrics: Handler } {
  const { hub, metrics } = ctx;
  metrics.gauge("notistream_hub_channels", "Channels the shared RESP subscription holds.", () => hub.channelCount);
  metrics.gauge("notistream_hub_connected", "1 when the shared RESP subscription is connected.", () => (hub.connected ? 1 : 0));
  // Ready only when the pub/sub server answers and the hub can subscribe: a load balancer can take this instance out.
  // The answer says only up or down; the log has why (the hub logs its own), a reason once until it changes.
  let healthLogged: string | null = null;
  const healthz: Handler = async () => {
    let pubsub = "up";
    try {
      await ctx.publisher.send("PING", []);
      healthLogged = null;
    } catch (err) {
      pubsub = "down";
      if ((err as Error).message !== healthLogged) ctx.log(`web: /healthz: ${(healthLogged = (err as Error).message)}`);
    }
    const hubDown = hub.error !== null;
    if (pubsub === "up" && !hubDown) return json(200, { ok: true, pubsub });
    return json(503, { ok: false, pubsub, hub: hubDown ? "down" : "up", error: pubsub === "down" ? NOT_CONNECTED : HUB_DOWN });
  };
  return {
    health: async () => json(200, { ok: true, hub: { connected: hub.connected, channels: hub.channelCount, error: hub.error === null ? null : HUB_DOWN } }),
    healthz,
    metrics: async () => new Response(metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4" } }),
  };
}
