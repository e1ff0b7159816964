// bench/bare.ts — the webhook-ingest baselines with no store: a bare Bun.serve that answers 200 to every request, or
// with --form one that also reads and parses the form body and answers like POST /. Usage: bun bench/bare.ts <port> [--form]
const FORM = process.argv.includes("--form");
const headers = { "content-type": "application/json" };
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.argv[2] ?? 0),
  fetch: FORM
    ? async (req) => {
        const form = new URLSearchParams(await req.text());
        const channel = form.get("channel") ?? "bare";
        if (form.get("message") === null) return Response.json({ error: "no message" }, { status: 400 });
        return Response.json({ id: "0-1", channel, receivers: 0 });
      }
    : () => new Response('{"ok":true}', { headers }),
});
console.log(`bare${FORM ? " --form" : ""}: listening on ${server.port}`);
