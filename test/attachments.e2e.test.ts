// test/attachments.e2e.test.ts — ntfy's attachments on real web servers and a real pub/sub server (issue 25): files
// uploaded with curl -T as ntfy's docs write it (docs/publish.md "Attachments"), by Apprise and the `ntfy` npm
// package; the body that is a file (server.go handlePublishBody's order); links by URL (Attach); GET and HEAD
// /file/<id>.<ext> with the sniffed type, HTML and SVG served as downloads; the limits' 413s (41301, errors.go) and
// the download bandwidth's 429 (42905); expiry, by the sweeper and at start-up; the read right on the channel.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { publish as ntfyPublish } from "ntfy";
import { Subscriber, needs, run, startPubSub, startWebServer, tempPath, until, type Running } from "./helpers";

const BASE = "https://notify.example.com";
let pubsub: Running;
let sub: Subscriber;
const servers: (Running & { url: string })[] = [];

/** A web server keeping files in a directory of its own, with `args` for the limits. */
async function filesServer(args: string[] = [], dir = tempPath("attachments")): Promise<Running & { url: string; dir: string }> {
  mkdirSync(dir, { recursive: true });
  const web = await startWebServer(`redis://127.0.0.1:${pubsub.port}`, ["--base-url", BASE, "--attachment-cache-dir", dir, ...args]);
  servers.push(web);
  return { ...web, dir };
}

let files: Running & { url: string; dir: string };

beforeAll(async () => {
  pubsub = await startPubSub();
  sub = await Subscriber.open(pubsub.port, ["up", "auto", "linked", "limits", "team/files", "apprise-files", "npm-files", "short"]);
  files = await filesServer();
});
afterAll(async () => {
  sub?.close();
  for (const s of servers) await s.stop();
  await pubsub?.stop();
});

type Envelope = Record<string, unknown> & { attachment?: { name: string; type?: string; size?: number; expires?: number; url: string } };
const on = (channel: string): Envelope[] => sub.messages.filter((m) => m.channel === channel).map((m) => JSON.parse(m.payload) as Envelope);
async function nextOn(channel: string, seen: number): Promise<Envelope> {
  await until(`a message on ${channel}`, () => on(channel).length > seen, 10_000);
  return on(channel)[seen]!;
}

/** curl as a person types it; the status comes after the body, on a line of its own. */
async function curl(...args: string[]): Promise<{ status: number; body: string; code: number }> {
  const r = await run(["curl", "-sS", "-w", "\n%{http_code}", ...args]);
  const cut = r.stdout.lastIndexOf("\n");
  return { status: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, cut), code: r.code };
}

/** The file's URL on the server under test: the attachment's URL names --base-url's host, the path is ours. */
const local = (web: { url: string }, url: string): string => `${web.url}${new URL(url).pathname}`;
/** The files a store holds (each file and its JSON). */
const stored = (dir: string): string[] => readdirSync(dir).filter((f) => !f.startsWith("."));

const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, ...new Array(500).fill(7)]);
function fileOf(name: string, content: Uint8Array | string): string {
  const path = tempPath(name);
  writeFileSync(path, content);
  return path;
}

describe("an uploaded file (ntfy's docs: curl -T flower.jpg -H \"Filename: flower.jpg\" ntfy.sh/flowers)", () => {
  test("it goes out as the attachment, with ntfy's message, and is served with its sniffed type inline", async () => {
    const seen = on("up").length;
    const r = await curl("-T", fileOf("flower.jpg", JPEG), "-H", "Filename: flower.jpg", `${files.url}/up`);
    expect(r.status, r.body).toBe(200);
    const reply = JSON.parse(r.body) as Envelope;
    // server.go handleBodyAsAttachment: type, size and expires for a file kept; the URL is base-url/file/<id><ext>.
    expect(reply).toMatchObject({ event: "message", topic: "up", message: "You received a file: flower.jpg", attachment: { name: "flower.jpg", type: "image/jpeg", size: JPEG.length } });
    const att = reply.attachment!;
    expect(att.url).toMatch(new RegExp(`^${BASE}/file/[A-Za-z0-9]{16}\\.jpg$`));
    expect(att.expires! - Math.floor(Date.now() / 1000)).toBeGreaterThan(3 * 3600 - 60);
    expect((await nextOn("up", seen)).attachment).toEqual(att);
    const got = await fetch(local(files, att.url));
    expect(got.status).toBe(200);
    expect(got.headers.get("content-type")).toBe("image/jpeg");
    expect(got.headers.get("content-length")).toBe(String(JPEG.length));
    expect(got.headers.get("content-disposition")).toStartWith('inline; filename="flower.jpg"');
    expect(got.headers.get("x-content-type-options")).toBe("nosniff");
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(JPEG);
    const head = await fetch(local(files, att.url), { method: "HEAD" });
    expect([head.status, head.headers.get("content-length"), head.headers.get("content-type")]).toEqual([200, String(JPEG.length), "image/jpeg"]);
  });

  test("an HTML upload, and an SVG with a script, are served as downloads whatever the sender called them", async () => {
    const cases: [name: string, content: string, claimed: string][] = [
      ["page.html", "<!DOCTYPE html><html><body><script>fetch('/messages').then(r=>r.text()).then(alert)</script></body></html>", "text/html"],
      ["logo.svg", '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>', "image/svg+xml"],
      ["flower.png", "<html><img src=x onerror=alert(1)></html>", "image/png"],
    ];
    for (const [name, content, claimed] of cases) {
      const r = await curl("-T", fileOf(name, content), "-H", `Filename: ${name}`, "-H", `Content-Type: ${claimed}`, `${files.url}/up`);
      expect(r.status, r.body).toBe(200);
      const att = (JSON.parse(r.body) as Envelope).attachment!;
      expect(att.type).toBe(name.endsWith(".svg") ? "image/svg+xml" : "text/html");
      const got = await fetch(local(files, att.url));
      expect(got.headers.get("content-type"), name).toBe("application/octet-stream");
      expect(got.headers.get("content-disposition"), name).toStartWith(`attachment; filename="${name}"`);
      expect(got.headers.get("x-content-type-options")).toBe("nosniff");
      expect(got.headers.get("content-security-policy")).toContain("sandbox");
      expect(await got.text()).toBe(content);
    }
  });

  test("a body that is a file without Filename (not UTF-8, or over ntfy's 4096 bytes) is an attachment; a short text is the message", async () => {
    const seen = on("auto").length;
    const png = fileOf("no-name.png", Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00, 0xfe]));
    const binary = JSON.parse((await curl("-T", png, `${files.url}/auto`)).body) as Envelope;
    expect(binary).toMatchObject({ message: "You received a file: attachment.png", attachment: { name: "attachment.png", type: "image/png", size: 11 } });
    const long = JSON.parse((await curl("-H", "Title: log", "--data-binary", `@${fileOf("long.txt", "line\n".repeat(1000))}`, `${files.url}/auto`)).body) as Envelope;
    expect(long).toMatchObject({ title: "log", message: "You received a file: attachment.txt", attachment: { type: "text/plain; charset=utf-8", size: 5000 } });
    const short = JSON.parse((await curl("-d", "just text", `${files.url}/auto`)).body) as Envelope;
    expect(short.message).toBe("just text");
    expect(short.attachment).toBeUndefined();
    // X-Message names the file's message (server.go: m.Message is kept when set).
    const said = JSON.parse((await curl("-T", png, "-H", "Filename: chart.png", "-H", "X-Message: Today's chart", `${files.url}/auto`)).body) as Envelope;
    expect(said).toMatchObject({ message: "Today's chart", attachment: { name: "chart.png" } });
    const arrived = [await nextOn("auto", seen), await nextOn("auto", seen + 1), await nextOn("auto", seen + 2), await nextOn("auto", seen + 3)];
    expect(arrived.map((e) => e.attachment?.name ?? e.message)).toEqual(["attachment.png", "attachment.txt", "just text", "chart.png"]);
  });
});

describe("a file for a scheduled message (server.go handleBodyAsAttachment: 40015)", () => {
  test("due after the file would expire: 400 (40015), nothing kept; due sooner: accepted", async () => {
    const late = await curl("-T", fileOf("late.jpg", JPEG), "-H", "Filename: late.jpg", "-H", "Delay: 2d", `${files.url}/up`);
    expect([late.status, (JSON.parse(late.body) as { code: number }).code]).toEqual([400, 40015]);
    expect(late.body).toContain("--attachment-expiry-duration");
    const before = stored(files.dir).length;
    const soon = await curl("-T", fileOf("soon.jpg", JPEG), "-H", "Filename: soon.jpg", "-H", "Delay: 1h", `${files.url}/up`);
    expect(soon.status, soon.body).toBe(200);
    expect(stored(files.dir).length).toBe(before + 2);
  });
});

describe("a link (Attach: server.go parsePublishParams)", () => {
  test("an http(s) URL goes out as the attachment, named by its path, with no type, size or expiry; another scheme is 40013", async () => {
    const off = await startWebServer(`redis://127.0.0.1:${pubsub.port}`);
    servers.push(off);
    const seen = on("linked").length;
    // No store needed for a link, as in ntfy.
    const r = await curl("-H", "Attach: https://f-droid.org/F-Droid.apk", "-X", "POST", `${off.url}/linked`);
    expect(r.status, r.body).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ message: "You received a file: F-Droid.apk", attachment: { name: "F-Droid.apk", url: "https://f-droid.org/F-Droid.apk" } });
    expect((await nextOn("linked", seen)).attachment).toEqual({ name: "F-Droid.apk", url: "https://f-droid.org/F-Droid.apk" });
    const bad = await curl("-H", "Attach: javascript:alert(1)", "-d", "x", `${off.url}/linked`);
    expect([bad.status, (JSON.parse(bad.body) as { code: number }).code]).toEqual([400, 40013]);
    // JSON to / with attach and filename, as Apprise sends a link.
    const json = await curl("-d", JSON.stringify({ topic: "linked", message: "the APK", attach: "https://f-droid.org/F-Droid.apk", filename: "fdroid.apk" }), off.url);
    expect(JSON.parse(json.body)).toMatchObject({ message: "the APK", attachment: { name: "fdroid.apk", url: "https://f-droid.org/F-Droid.apk" } });
    // Our own POST / takes attach too (a link), rather than dropping it.
    const ours = await curl("-H", "Content-Type: application/json", "-d", JSON.stringify({ channel: "linked", message: "ours", attach: "https://example.com/files/report.pdf" }), `${off.url}/`);
    expect(ours.status, ours.body).toBe(200);
    expect(await nextOn("linked", seen + 2)).toMatchObject({ message: "ours", attachment: { name: "report.pdf", url: "https://example.com/files/report.pdf" } });
    // Without a store, a file is ntfy's 40014 (handleBodyAsAttachment), saying which flags keep files.
    const file = await curl("-T", fileOf("f.jpg", JPEG), "-H", "Filename: f.jpg", `${off.url}/linked`);
    expect([file.status, (JSON.parse(file.body) as { code: number }).code]).toEqual([400, 40014]);
    expect(file.body).toContain("--attachment-cache-dir");
  }, 30_000);
});

describe("limits: 413 with ntfy's 41301 (errors.go errHTTPEntityTooLargeAttachment), counted as the bytes arrive", () => {
  let tight: Running & { url: string; dir: string };
  // Each visitor is a client address behind the trusted proxy (loopback), so one test is several visitors.
  const as = (ip: string): string[] => ["-H", `X-Forwarded-For: ${ip}`];
  beforeAll(async () => {
    tight = await filesServer(["--trust-proxy", "--attachment-file-size-limit", "100K", "--visitor-attachment-total-size-limit", "150K", "--attachment-total-size-limit", "250K", "--visitor-attachment-daily-bandwidth-limit", "400K"]);
  });
  const big = (): string => fileOf("big.bin", new Uint8Array(200 * 1024).fill(1));
  const ninety = (): string => fileOf("ninety.bin", new Uint8Array(90 * 1024).fill(2));

  test("per file: refused on Content-Length before a byte is stored, and mid-stream when sent chunked; nothing kept, nothing published", async () => {
    const seen = on("limits").length;
    const declared = await curl(...as("203.0.113.1"), "-T", big(), "-H", "Filename: big.bin", `${tight.url}/limits`);
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body)).toMatchObject({ code: 41301, http: 413 });
    expect(declared.body).toContain("--attachment-file-size-limit");
    const chunked = await curl(...as("203.0.113.1"), "-T", big(), "-H", "Transfer-Encoding: chunked", "-H", "Filename: big.bin", `${tight.url}/limits`);
    expect(chunked.status, chunked.body).toBe(413);
    expect((JSON.parse(chunked.body) as { code: number }).code).toBe(41301);
    expect(readdirSync(tight.dir)).toEqual([]);
    await Bun.sleep(200);
    expect(on("limits").length).toBe(seen);
  });

  test("per visitor, then in all; and downloads take the uploader's daily bandwidth (429, 42905)", async () => {
    const first = await curl(...as("203.0.113.2"), "-T", ninety(), "-H", "Filename: a.bin", `${tight.url}/limits`);
    expect(first.status, first.body).toBe(200);
    const second = await curl(...as("203.0.113.2"), "-T", ninety(), "-H", "Filename: b.bin", `${tight.url}/limits`);
    expect([second.status, (JSON.parse(second.body) as { code: number }).code]).toEqual([413, 41301]);
    expect(second.body).toContain("--visitor-attachment-total-size-limit");
    expect((await curl(...as("203.0.113.3"), "-T", ninety(), "-H", "Filename: c.bin", `${tight.url}/limits`)).status).toBe(200);
    const total = await curl(...as("203.0.113.4"), "-T", ninety(), "-H", "Filename: d.bin", `${tight.url}/limits`);
    expect(total.status).toBe(413);
    expect(total.body).toContain("--attachment-total-size-limit");
    // 203.0.113.2 moved 90K up; three downloads bring it to 360K of 400K, the fourth is refused, whoever asks.
    const url = local(tight, (JSON.parse(first.body) as Envelope).attachment!.url);
    for (let i = 0; i < 3; i++) expect((await fetch(url, { headers: { "x-forwarded-for": `198.51.100.${i}` } })).status).toBe(200);
    const refused = await fetch(url, { headers: { "x-forwarded-for": "198.51.100.9" } });
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { code: number }).code).toBe(42905);
  });
});

describe("expiry", () => {
  test("a file past --attachment-expiry-duration is 404 and removed by the sweeper; one expired while the server was down is removed at start-up", async () => {
    const dir = tempPath("attachments-short");
    const short = await filesServer(["--attachment-expiry-duration", "2s"], dir);
    const r = JSON.parse((await curl("-T", fileOf("soon.txt", "soon gone"), "-H", "Filename: soon.txt", `${short.url}/short`)).body) as Envelope;
    expect(r.attachment!.expires! - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(2);
    expect((await fetch(local(short, r.attachment!.url))).status).toBe(200);
    expect(stored(dir).length).toBe(2); // the file and its JSON
    await until("the sweeper removing the expired file", () => stored(dir).length === 0, 15_000);
    const gone = await fetch(local(short, r.attachment!.url));
    expect([gone.status, ((await gone.json()) as { code: number }).code]).toEqual([404, 40401]);
    // Another file, the server stopped before it expires, and a new one started after.
    expect((await curl("-T", fileOf("later.txt", "later"), "-H", "Filename: later.txt", `${short.url}/short`)).status).toBe(200);
    await short.stop();
    expect(stored(dir).length).toBe(2);
    await Bun.sleep(2500); // past the file's expiry
    const next = await filesServer(["--attachment-expiry-duration", "2s"], dir);
    await until("the start-up line", () => next.output().includes("1 expired file removed"), 10_000);
    expect(stored(dir)).toEqual([]);
  }, 60_000);
});

describe("the read right: /file/<id> is for whoever may read the channel it was published to", () => {
  test("with an ACL: the publisher and readers of the channel get it; anonymous 401, another user 403", async () => {
    const commands = "-@all +hello +auth +ping +quit +reset +subscribe +psubscribe +ssubscribe +unsubscribe +punsubscribe +sunsubscribe +publish +xrange +xrevrange +xread";
    const acl = tempPath("attachments.acl");
    const hash = (pw: string): string => createHash("sha256").update(pw).digest("hex");
    writeFileSync(acl, [`user default on nopass %R&public/* ${commands}`, `user alice on #${hash("alicepw")} &team/* ${commands}`, `user bob on #${hash("bobpw")} &other/* ${commands}`, ""].join("\n"));
    const locked = await filesServer(["--acl", acl]);
    // POST keeps the slash in team/files (curl -T alone is a PUT, and PUT /team/files would update sequence ID files on team).
    const r = await curl("-u", "alice:alicepw", "-X", "POST", "-T", fileOf("plan.txt", "the plan"), "-H", "Filename: plan.txt", `${locked.url}/team/files`);
    expect(r.status, r.body).toBe(200);
    const url = local(locked, (JSON.parse(r.body) as Envelope).attachment!.url);
    const basic = (who: string) => ({ authorization: `Basic ${Buffer.from(who).toString("base64")}` });
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: basic("bob:bobpw") })).status).toBe(403);
    const ok = await fetch(url, { headers: basic("alice:alicepw") });
    expect([ok.status, await ok.text()]).toEqual([200, "the plan"]);
    // ntfy's web app logs in with ?auth= (the Authorization header's value, base64url).
    expect((await fetch(`${url}?auth=${Buffer.from(basic("alice:alicepw").authorization).toString("base64url")}`)).status).toBe(200);
    // Anonymous may not upload there at all: the row's write right is checked before a byte of the body is read.
    expect((await curl("-T", fileOf("x.txt", "x"), "-H", "Filename: x.txt", `${locked.url}/team/files`)).status).toBe(401);
  }, 30_000);
});

describe("start-up", () => {
  test("--attachment-cache-dir without --base-url is a usage error naming it (exit 2), as ntfy's serve.go refuses it", async () => {
    const r = await run([process.execPath, "web.ts", "--port", "0", "--attachment-cache-dir", tempPath("no-base")], { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--attachment-cache-dir needs --base-url");
  }, 30_000);
});

needs("apprise").describe("Apprise's attachments (Debian's plugins/NotifyNtfy.py: POST /<topic>?filename=… with the file as a form's `file` field)", () => {
  test("apprise --attach file ntfy://host:port/topic: the file arrives as the attachment, its bytes served back", async () => {
    const seen = on("apprise-files").length;
    const path = fileOf("report.jpg", JPEG);
    const r = await run(["apprise", "-vvv", "-t", "Nightly", "-b", "the report", "--attach", path, `ntfy://127.0.0.1:${files.port}/apprise-files`]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const env = await nextOn("apprise-files", seen);
    expect(env).toMatchObject({ title: "Nightly", message: "the report", attachment: { name: "report.jpg", type: "image/jpeg", size: JPEG.length } });
    expect(new Uint8Array(await (await fetch(local(files, env.attachment!.url))).arrayBuffer())).toEqual(JPEG);
  }, 30_000);
});

describe("the `ntfy` npm package (fileAttachment: the file as the body; fileURL: X-Attach)", () => {
  test("both arrive as attachments", async () => {
    const seen = on("npm-files").length;
    const path = fileOf("npm.jpg", JPEG);
    await ntfyPublish({ fileAttachment: path, topic: "npm-files", server: files.url });
    await ntfyPublish({ message: "the app", fileURL: { url: "https://f-droid.org/F-Droid.apk", filename: "fdroid.apk" }, topic: "npm-files", server: files.url });
    expect((await nextOn("npm-files", seen)).attachment).toMatchObject({ name: "attachment.jpg", type: "image/jpeg", size: JPEG.length });
    expect((await nextOn("npm-files", seen + 1)).attachment).toEqual({ name: "fdroid.apk", url: "https://f-droid.org/F-Droid.apk" });
  });
});
