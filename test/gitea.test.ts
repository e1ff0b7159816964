// test/gitea.test.ts — Gitea and Forgejo through github.ts's rendering: push (compare_url), pull requests opened and
// merged, issues, releases, the bare hex signature from either header, and the event header of each.
import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { giteaEvent, giteaNotification, verifyGiteaSignature } from "../gitea";
import { GITEA } from "./fixtures/senders";

const n = (event: string, p: object, sender: "gitea" | "forgejo" = "gitea") => {
  const o = giteaNotification(sender, event, p as Record<string, unknown>);
  if (o.kind !== "publish") throw new Error(`not published: ${JSON.stringify(o)}`);
  return o.notification;
};

describe("Gitea and Forgejo", () => {
  test("the same renderings as GitHub's, channel owner/repo, named by the sender", () => {
    expect(n("push", GITEA.push)).toEqual({
      channel: "gitea/webhooks",
      title: "gitea/webhooks: gitea pushed 1 commit to develop",
      message: "bffeb74 Webhooks Yay!",
      url: "http://gitea.example:3000/gitea/webhooks/compare/28e1879d029cb852e4844d9c718537df08844e03...bffeb74224043ba2feb48d137756c8a9331c449a",
      source: "gitea",
    });
    expect(n("pull_request", GITEA.pullRequest("opened", false), "forgejo")).toMatchObject({ title: "gitea/webhooks: gitea opened PR #12", message: "Add webhook docs", source: "forgejo" });
    expect(n("pull_request", GITEA.pullRequest("closed", true)).title).toBe("gitea/webhooks: gitea merged PR #12");
    expect(n("issues", GITEA.issues).title).toBe("gitea/webhooks: gitea opened issue #5");
    expect(n("release", GITEA.release)).toMatchObject({ title: "gitea/webhooks: gitea published release v2.0.0", message: "Version 2" });
    expect(giteaNotification("gitea", null, GITEA.push).kind).toBe("ignored");
  });
  test("signatures: bare hex HMAC-SHA256 in X-Gitea-Signature or X-Forgejo-Signature", () => {
    const body = Buffer.from(JSON.stringify(GITEA.push));
    const sig = createHmac("sha256", "k").update(body).digest("hex");
    const h = (m: Record<string, string>) => (name: string) => m[name] ?? null;
    expect(verifyGiteaSignature("k", body, h({ "x-gitea-signature": sig }))).toBe(true);
    expect(verifyGiteaSignature("k", body, h({ "x-forgejo-signature": sig }))).toBe(true);
    expect(verifyGiteaSignature("other", body, h({ "x-gitea-signature": sig }))).toBe(false);
    expect(verifyGiteaSignature("k", body, h({}))).toBe(false);
    expect(giteaEvent(h({ "x-forgejo-event": "push", "x-gitea-event": "push" }))).toEqual({ sender: "forgejo", event: "push" });
    expect(giteaEvent(h({ "x-gitea-event": "issues" }))).toEqual({ sender: "gitea", event: "issues" });
  });
});
