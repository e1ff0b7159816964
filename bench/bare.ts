// bench/bare.ts — the webhook-ingest baseline: a bare Bun.serve that answers 200 to every request and publishes
// nothing, so the benchmark shows what the web server's own work costs. Usage: bun bench/bare.ts <port>
const server = Bun.serve({ hostname: "127.0.0.1", port: Number(process.argv[2] ?? 0), fetch: () => new Response('{"ok":true}', { headers: { "content-type": "application/json" } }) });
console.log(`bare: listening on ${server.port}`);
