// test/gitlab.test.ts — GitLab's events turned into notifications: pushes (new and deleted branches too), tags, merge
// requests opened, merged and closed, failed pipelines, issues, comments and releases; what is ignored; the token.
import { describe, expect, test } from "bun:test";
import { gitlabNotification, verifyGitlabToken } from "../gitlab";
import { GITLAB } from "./fixtures/senders";

const n = (event: string, p: object) => {
  const o = gitlabNotification(event, p as Record<string, unknown>);
  if (o.kind !== "publish") throw new Error(`not published: ${JSON.stringify(o)}`);
  return o.notification;
};

describe("GitLab", () => {
  test("pushes, new and deleted branches, tags", () => {
    expect(n("Push Hook", GITLAB.push)).toEqual({
      channel: "mike/diaspora",
      title: "mike/diaspora: John Smith pushed 4 commits to master",
      message: "da15608 fixed readme (+3 more)",
      url: "http://gitlab.example.com/mike/diaspora/-/compare/95790bf891e76fee5e1747ab589903a6a1f80f22...da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
      source: "gitlab",
    });
    expect(n("Push Hook", GITLAB.newBranch).title).toBe("mike/diaspora: John Smith created branch feature/x");
    expect(n("Push Hook", GITLAB.newBranch).url).toBe("http://gitlab.example.com/mike/diaspora/-/tree/feature/x");
    expect(n("Push Hook", GITLAB.deletedBranch)).toMatchObject({ title: "mike/diaspora: John Smith deleted branch feature/x", message: "Branch feature/x was deleted" });
    expect(n("Tag Push Hook", GITLAB.tagPush)).toMatchObject({ title: "mike/diaspora: John Smith pushed tag v1.0.0", message: "v1.0.0 at 82b3d5a", url: "http://gitlab.example.com/mike/diaspora/-/tags/v1.0.0" });
  });
  test("merge requests: opened, merged, closed; an update is ignored", () => {
    expect(n("Merge Request Hook", GITLAB.mergeRequest("open"))).toMatchObject({ title: "mike/diaspora: Administrator opened MR !1", message: "MS-Viewport (into master)", url: "http://gitlab.example.com/mike/diaspora/-/merge_requests/1" });
    expect(n("Merge Request Hook", GITLAB.mergeRequest("merge")).title).toBe("mike/diaspora: Administrator merged MR !1");
    expect(n("Merge Request Hook", GITLAB.mergeRequest("close")).title).toBe("mike/diaspora: Administrator closed MR !1");
    expect(gitlabNotification("Merge Request Hook", GITLAB.mergeRequest("update")).kind).toBe("ignored");
  });
  test("a failed pipeline is news, a passing one is not", () => {
    expect(n("Pipeline Hook", GITLAB.pipeline("failed"))).toMatchObject({ title: "mike/diaspora: Pipeline #31 failed on master", message: "test", url: "http://gitlab.example.com/mike/diaspora/-/pipelines/31" });
    expect(gitlabNotification("Pipeline Hook", GITLAB.pipeline("success")).kind).toBe("ignored");
  });
  test("issues, comments and releases", () => {
    expect(n("Issue Hook", GITLAB.issue("open"))).toMatchObject({ title: "mike/diaspora: Administrator opened issue #23", message: "New API: create/update/delete file" });
    expect(gitlabNotification("Issue Hook", GITLAB.issue("update")).kind).toBe("ignored");
    expect(n("Note Hook", GITLAB.note)).toMatchObject({ title: "mike/diaspora: Administrator commented on MR !1", message: "This MR needs work." });
    expect(n("Release Hook", GITLAB.release("create"))).toMatchObject({ title: "mike/diaspora: released v1.1", message: "Awesome release", url: "http://gitlab.example.com/mike/diaspora/-/releases/v1.1" });
    expect(gitlabNotification("Release Hook", GITLAB.release("update")).kind).toBe("ignored");
    expect(gitlabNotification("Wiki Page Hook", GITLAB.push).kind).toBe("ignored");
    expect(gitlabNotification(null, GITLAB.push).kind).toBe("ignored");
  });
  test("an empty field falls through to the next one, as a missing one does", () => {
    expect(n("Push Hook", { ...GITLAB.push, user_name: "" }).title).toBe("mike/diaspora: jsmith pushed 4 commits to master");
    expect(n("Release Hook", { ...GITLAB.release("create"), name: "" }).message).toBe("v1.1");
    expect(gitlabNotification("Push Hook", { ...GITLAB.push, project: { ...GITLAB.push.project, path_with_namespace: "" } }).kind).toBe("ignored");
  });
  test("the token is compared whole", () => {
    expect(verifyGitlabToken("s3cret", "s3cret")).toBe(true);
    expect(verifyGitlabToken("s3cret", "s3cre")).toBe(false);
    expect(verifyGitlabToken("s3cret", null)).toBe(false);
  });
});
