// gitea.ts — Gitea and Forgejo deliveries: their bare hex HMAC-SHA256 signature, and their GitHub-like payloads
// rendered by github.ts once the few differing fields are mapped. Channel owner/repo. Pure: no I/O.
import { githubNotification } from "./github";
import { hmacMatches, ignored, type Json, type SenderOutcome } from "./sender";

/** The sender and its event: X-Forgejo-Event, X-Gitea-Event or (older) X-Gogs-Event. */
export function giteaEvent(header: (name: string) => string | null): { sender: "forgejo" | "gitea"; event: string | null } {
  const forgejo = header("x-forgejo-event");
  if (forgejo) return { sender: "forgejo", event: forgejo };
  return { sender: "gitea", event: header("x-gitea-event") ?? header("x-gogs-event") };
}

/** X-Forgejo-Signature or X-Gitea-Signature: the hex HMAC-SHA256 of the body, without GitHub's "sha256=" prefix. */
export function verifyGiteaSignature(secret: string, rawBody: Uint8Array, header: (name: string) => string | null): boolean {
  const sig = header("x-forgejo-signature") ?? header("x-gitea-signature");
  return sig !== null && hmacMatches(secret, [rawBody], sig.trim());
}

/** A delivery as GitHub would have sent it: Gitea names the compare link compare_url. */
function asGithub(p: Json): Json {
  return p.compare === undefined && typeof p.compare_url === "string" ? { ...p, compare: p.compare_url } : p;
}

export function giteaNotification(sender: "forgejo" | "gitea", event: string | null, payload: Json): SenderOutcome {
  if (!event) return ignored("no X-Gitea-Event or X-Forgejo-Event header");
  return githubNotification(event, asGithub(payload), sender);
}
