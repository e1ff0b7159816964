// test/pushservice.ts — a push service for tests and benchmarks, on a free local port (plain or TLS): it takes Web
// Push POSTs, decrypts each payload (RFC 8291) with the subscription's own private key and auth secret, and checks
// the VAPID JWT (RFC 8292): its ES256 signature, aud, exp within 24 hours, and sub. Browsers' side made here too.
import { createECDH, createPublicKey, hkdfSync, createDecipheriv, randomBytes, verify, type ECDH } from "node:crypto";

/** One browser subscription: what PushSubscription.toJSON() would give, and the keys to read what is pushed to it. */
export type TestSubscription = { json: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } }; ecdh: ECDH; auth: Buffer };

export function makeSubscription(endpoint: string): TestSubscription {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return { json: { endpoint, expirationTime: null, keys: { p256dh: ecdh.getPublicKey().toString("base64url"), auth: auth.toString("base64url") } }, ecdh, auth };
}

/** RFC 8291 (aes128gcm): the receiving user agent's side. */
export function decryptPush(body: Uint8Array, sub: TestSubscription): string {
  const buf = Buffer.from(body);
  const salt = buf.subarray(0, 16);
  const idlen = buf[20]!;
  const asPublic = buf.subarray(21, 21 + idlen);
  const ciphertext = buf.subarray(21 + idlen);
  const uaPublic = sub.ecdh.getPublicKey();
  const secret = sub.ecdh.computeSecret(asPublic);
  const keyInfo = Buffer.concat([Buffer.from("WebPush: info\0"), uaPublic, asPublic]);
  const ikm = Buffer.from(hkdfSync("sha256", secret, sub.auth, keyInfo, 32));
  const cek = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
  const nonce = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
  const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const plain = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  if (plain[end] !== 2) throw new Error("the last record's padding delimiter is not 2");
  return plain.subarray(0, end).toString("utf8");
}

export type VapidClaims = { aud: string; exp: number; sub: string };

/** Checks `Authorization: vapid t=<jwt>, k=<key>`: an ES256 signature by k over the JWT, and returns its claims. */
export function verifyVapid(header: string | null): { claims: VapidClaims; key: string } {
  const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? "");
  if (!m) throw new Error(`not a VAPID Authorization header: ${header}`);
  const [h, p, s] = m[1]!.split(".");
  const jwtHeader = JSON.parse(Buffer.from(h!, "base64url").toString()) as { typ: string; alg: string };
  if (jwtHeader.alg !== "ES256") throw new Error(`the JWT is signed with ${jwtHeader.alg}, not ES256`);
  const point = Buffer.from(m[2]!, "base64url");
  const key = createPublicKey({ key: { kty: "EC", crv: "P-256", x: point.subarray(1, 33).toString("base64url"), y: point.subarray(33, 65).toString("base64url") }, format: "jwk" });
  const ok = verify("sha256", Buffer.from(`${h}.${p}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(s!, "base64url"));
  if (!ok) throw new Error("the VAPID JWT's signature does not verify");
  return { claims: JSON.parse(Buffer.from(p!, "base64url").toString()) as VapidClaims, key: m[2]! };
}

export type Received = { path: string; headers: Record<string, string>; body: Uint8Array; at: number };

/**
 * A push service: every POST is kept; `answer` decides the status (201 unless told otherwise) and headers, so a
 * test can answer 410 or 429 with Retry-After.
 */
export function startPushService(opts: { tls?: { cert: string; key: string } } = {}) {
  const received: Received[] = [];
  let answer: (r: Received, nth: number) => { status: number; headers?: Record<string, string> } = () => ({ status: 201 });
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    ...(opts.tls ? { tls: opts.tls } : {}),
    async fetch(req) {
      const r: Received = { path: new URL(req.url).pathname, headers: Object.fromEntries(req.headers), body: new Uint8Array(await req.arrayBuffer()), at: Date.now() };
      received.push(r);
      const a = answer(r, received.filter((x) => x.path === r.path).length);
      return new Response(null, { status: a.status, headers: a.headers });
    },
  });
  return {
    origin: `${opts.tls ? "https" : "http"}://127.0.0.1:${server.port}`,
    received,
    answer: (fn: typeof answer) => {
      answer = fn;
    },
    stop: () => server.stop(true),
  };
}
