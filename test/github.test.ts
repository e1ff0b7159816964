// test/github.test.ts — GitHub deliveries on their own: every documented example in @octokit/webhooks-examples
// gets a sensible outcome, plus the cases those lack (multi-commit and force pushes, a merged PR, a failed
// workflow, tags, legacy post-receive hooks), and the signature check.
import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import examples from "@octokit/webhooks-examples";
import { channelFor, githubNotification, verifyGithubSignature } from "../github";

type Json = Record<string, unknown>;
const repo = { full_name: "octo/hello", name: "hello", html_url: "https://github.com/octo/hello", owner: { login: "octo" } };

describe("every documented GitHub example", () => {
  const all = (examples as { name: string; examples: Json[] }[]).flatMap((e) => e.examples.map((ex) => ({ event: e.name, payload: ex })));
  test(`${all.length} examples: publish with a channel, title and message, or ping, or ignored with a reason`, () => {
    const counts = { publish: 0, ping: 0, ignored: 0 };
    for (const { event, payload } of all) {
      const out = githubNotification(event, payload);
      counts[out.kind]++;
      if (out.kind === "publish") {
        const n = out.notification;
        expect(n.channel).toMatch(/^[^/\s]+\/[^/\s]+$/);
        expect(n.title!.startsWith(`${n.channel}: `)).toBe(true);
        expect(n.title!).not.toContain("undefined");
        expect(n.message.length).toBeGreaterThan(0);
        expect(n.message).not.toContain("undefined");
        if (n.url) expect(n.url).toMatch(/^https?:\/\//);
      } else if (out.kind === "ignored") expect(out.reason.length).toBeGreaterThan(0);
    }
    expect(counts.publish).toBeGreaterThan(20);
    expect(counts.ping).toBeGreaterThan(0);
  });

  test("the documented push example reads well", () => {
    const push = (examples as { name: string; examples: Json[] }[]).find((e) => e.name === "push")!.examples[0]!;
    const out = githubNotification("push", push);
    expect(out.kind).toBe("publish");
  });
});

describe("push", () => {
  const commit = (id: string, message: string) => ({ id, message });
  test("several commits: who, how many, which branch, the head commit's subject, the compare link", () => {
    const out = githubNotification("push", {
      ref: "refs/heads/main",
      repository: repo,
      pusher: { name: "ann" },
      sender: { login: "ann" },
      compare: "https://github.com/octo/hello/compare/a...b",
      commits: [commit("1111111aaaa", "First"), commit("2222222bbbb", "Second"), commit("abc1234def", "Fix login\n\nlong body")],
      head_commit: commit("abc1234def", "Fix login\n\nlong body"),
    });
    expect(out).toEqual({
      kind: "publish",
      notification: {
        channel: "octo/hello",
        title: "octo/hello: ann pushed 3 commits to main",
        message: "abc1234 Fix login (+2 more)",
        url: "https://github.com/octo/hello/compare/a...b",
        source: "github",
      },
    });
  });

  test("a force push, a new branch, a deleted branch, a tag", () => {
    const base = { repository: repo, pusher: { name: "ann" }, compare: "https://github.com/octo/hello/compare/x" };
    const title = (p: Json) => {
      const o = githubNotification("push", { ...base, ...p });
      return o.kind === "publish" ? o.notification.title : o.kind;
    };
    expect(title({ ref: "refs/heads/main", forced: true, commits: [commit("abc1234", "Rewrite")], head_commit: commit("abc1234", "Rewrite") })).toBe(
      "octo/hello: ann force-pushed 1 commit to main",
    );
    expect(title({ ref: "refs/heads/feature", created: true, commits: [commit("abc1234", "Start")], head_commit: commit("abc1234", "Start") })).toBe(
      "octo/hello: ann created branch feature with 1 commit",
    );
    expect(title({ ref: "refs/heads/old", deleted: true, commits: [], head_commit: null })).toBe("octo/hello: ann deleted branch old");
    expect(title({ ref: "refs/tags/v1.0", created: true, commits: [], head_commit: commit("abc1234", "Release") })).toBe("octo/hello: ann pushed tag v1.0");
    expect(title({ ref: "refs/tags/v0.9", deleted: true, commits: [] })).toBe("octo/hello: ann deleted tag v0.9");
  });

  test("a legacy post-receive hook: no event header, repository.owner.name, no full_name", () => {
    const out = githubNotification(null, {
      before: "5aef35982fb2d34e9d9d4502f6ede1072793222d",
      after: "de8251ff97ee194a289832576287d6f8ad74e3d0",
      ref: "refs/heads/master",
      repository: { name: "github", url: "http://github.com/defunkt/github", owner: { email: "chris@ozmm.org", name: "defunkt" } },
      commits: [{ id: "41a212ee83ca127e3c8cf465891ab7216a705f59", message: "okay i give in", author: { name: "Chris Wanstrath" } }],
    });
    expect(out.kind).toBe("publish");
    if (out.kind !== "publish") return;
    expect(out.notification.channel).toBe("defunkt/github");
    expect(out.notification.title).toBe("defunkt/github: someone pushed 1 commit to master");
    expect(out.notification.message).toBe("41a212e okay i give in");
  });
});

describe("other events", () => {
  const base = { repository: repo, sender: { login: "bob" } };
  const pr = { number: 12, title: "Add dark mode", html_url: "https://github.com/octo/hello/pull/12" };
  const n = (event: string, p: Json) => {
    const o = githubNotification(event, { ...base, ...p });
    return o.kind === "publish" ? `${o.notification.title} | ${o.notification.message}` : o.kind;
  };
  test("pull requests: opened, merged, closed, reopened, ready for review; others ignored", () => {
    expect(n("pull_request", { action: "opened", pull_request: pr })).toBe("octo/hello: bob opened PR #12 | Add dark mode");
    expect(n("pull_request", { action: "closed", pull_request: { ...pr, merged: true } })).toBe("octo/hello: bob merged PR #12 | Add dark mode");
    expect(n("pull_request", { action: "closed", pull_request: { ...pr, merged: false } })).toBe("octo/hello: bob closed PR #12 | Add dark mode");
    expect(n("pull_request", { action: "ready_for_review", pull_request: pr })).toBe("octo/hello: bob marked ready for review PR #12 | Add dark mode");
    expect(n("pull_request", { action: "labeled", pull_request: pr })).toBe("ignored");
  });
  test("a failed or timed-out workflow is news, a success is not", () => {
    const run = (conclusion: string) => ({ action: "completed", workflow_run: { name: "CI", conclusion, head_branch: "main", html_url: "https://github.com/octo/hello/actions/runs/1", head_commit: { message: "Fix tests\nbody" } } });
    expect(n("workflow_run", run("failure"))).toBe("octo/hello: CI failed on main | Fix tests");
    expect(n("workflow_run", run("timed_out"))).toBe("octo/hello: CI timed out on main | Fix tests");
    expect(n("workflow_run", run("success"))).toBe("ignored");
  });
  test("issues, comments, releases, stars, forks, create and delete", () => {
    expect(n("issues", { action: "opened", issue: { number: 3, title: "Crash", html_url: "https://x.test/3" } })).toBe("octo/hello: bob opened issue #3 | Crash");
    expect(n("issues", { action: "labeled", issue: { number: 3 } })).toBe("ignored");
    expect(n("issue_comment", { action: "created", issue: { number: 3 }, comment: { body: "Same here", html_url: "https://x.test/c" } })).toBe(
      "octo/hello: bob commented on issue #3 | Same here",
    );
    expect(n("release", { action: "published", release: { tag_name: "v2", name: "Two", html_url: "https://x.test/r" } })).toBe("octo/hello: bob published release v2 | Two");
    expect(n("star", { action: "created" })).toMatch(/^octo\/hello: bob starred octo\/hello/);
    expect(n("fork", { forkee: { full_name: "bob/hello", html_url: "https://github.com/bob/hello" } })).toBe("octo/hello: bob forked octo/hello | into bob/hello");
    expect(n("create", { ref: "v3", ref_type: "tag" })).toBe("octo/hello: bob created tag v3 | Tag v3 was created");
    expect(n("delete", { ref: "wip", ref_type: "branch" })).toBe("octo/hello: bob deleted branch wip | Branch wip was deleted");
    expect(n("gollum", {})).toBe("ignored");
  });
  test("ping answers with the zen", () => {
    expect(githubNotification("ping", { zen: "Keep it simple.", repository: repo })).toEqual({ kind: "ping", zen: "Keep it simple.", channel: "octo/hello" });
  });
  test("channel falls back to owner.name or owner.login plus /name", () => {
    expect(channelFor({ repository: { name: "r", owner: { login: "o" } } })).toBe("o/r");
    expect(channelFor({ repository: { name: "r", owner: { name: "n" } } })).toBe("n/r");
    expect(channelFor({})).toBeNull();
  });
});

describe("verifyGithubSignature", () => {
  const body = Buffer.from('{"zen":"x"}');
  const sig = "sha256=" + createHmac("sha256", "s3cret").update(body).digest("hex");
  test("accepts the right HMAC and refuses anything else", () => {
    expect(verifyGithubSignature("s3cret", body, sig)).toBe(true);
    expect(verifyGithubSignature("s3cret", body, sig.toUpperCase().replace("SHA256=", "sha256="))).toBe(true);
    expect(verifyGithubSignature("other", body, sig)).toBe(false);
    expect(verifyGithubSignature("s3cret", Buffer.from('{"zen":"y"}'), sig)).toBe(false);
    expect(verifyGithubSignature("s3cret", body, null)).toBe(false);
    expect(verifyGithubSignature("s3cret", body, "sha1=abc")).toBe(false);
    expect(verifyGithubSignature("s3cret", body, "sha256=")).toBe(false);
  });
});
