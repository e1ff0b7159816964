// bench/pushsink.ts — a push service for the push benchmark, in a process of its own: it answers 201 to every push
// and prints a line per STEP received (`got N <ms since epoch>`; argv[2], default 1000), counted apart from the web server.
export {}; // a module, so its names stay its own
const STEP = Number(process.argv[2] ?? 1000);
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    await req.arrayBuffer();
    if (++got % STEP === 0) console.log(`got ${got} ${Date.now()}`);
    return new Response(null, { status: 201 });
  },
});
let got = 0;
console.log(`ready ${server.port}`);
