// gitlab.ts — GitLab deliveries: the X-Gitlab-Token check, and an event turned into a notification in the style of
// github.ts (channel project.path_with_namespace, title, message, url) or "ignored". Pure: no I/O.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Notification } from "./message";

export type GitlabOutcome = { kind: "publish"; notification: Notification } | { kind: "ignored"; reason: string };

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const arr = (v: unknown): Json[] => (Array.isArray(v) ? v.map(obj) : []);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
const firstLine = (s: string) => s.split("\n")[0]!.trim();
const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + "…" : s);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const ZEROS = /^0+$/;

/** X-Gitlab-Token against --gitlab-secret, in constant time (both hashed first, so lengths do not leak). */
export function verifyGitlabToken(secret: string, header: string | null): boolean {
  if (header === null) return false;
  return timingSafeEqual(createHash("sha256").update(header).digest(), createHash("sha256").update(secret).digest());
}

/** Who did it: the user object, or the push's user_name. */
const who = (p: Json): string => str(obj(p.user).name) ?? str(obj(p.user).username) ?? str(p.user_name) ?? str(p.user_username) ?? "someone";

export function gitlabNotification(event: string | null, p: Json): GitlabOutcome {
  const project = obj(p.project);
  const channel = str(project.path_with_namespace);
  if (!event) return { kind: "ignored", reason: "no X-Gitlab-Event header" };
  if (!channel) return { kind: "ignored", reason: `the ${event} has no project.path_with_namespace to name a channel after` };
  const web = str(project.web_url);
  const attrs = obj(p.object_attributes);
  const action = str(attrs.action);
  const make = (title: string, message: string, url: string | undefined): GitlabOutcome => {
    const n: Notification = { channel, title: `${channel}: ${title}`, message: clip(message || title, 2000), source: "gitlab" };
    if (url) n.url = url;
    return { kind: "publish", notification: n };
  };
  switch (event) {
    case "Push Hook": {
      const branch = (str(p.ref) ?? "").replace(/^refs\/heads\//, "");
      const before = str(p.before) ?? "";
      const after = str(p.after) ?? "";
      if (ZEROS.test(after)) return make(`${who(p)} deleted branch ${branch}`, `Branch ${branch} was deleted`, web);
      const commits = arr(p.commits);
      const count = num(p.total_commits_count) ?? commits.length;
      const last = commits.at(-1);
      const head = last ? `${(str(last.id) ?? "").slice(0, 7)} ${firstLine(str(last.title) ?? str(last.message) ?? "")}${count > 1 ? ` (+${count - 1} more)` : ""}` : `${branch} was updated`;
      if (ZEROS.test(before))
        return make(count ? `${who(p)} created branch ${branch} with ${plural(count, "commit")}` : `${who(p)} created branch ${branch}`, last ? head : `Branch ${branch} was created`, web ? `${web}/-/tree/${branch}` : undefined);
      return make(`${who(p)} pushed ${plural(count, "commit")} to ${branch}`, head, web ? `${web}/-/compare/${before}...${after}` : str(last?.url));
    }
    case "Tag Push Hook": {
      const tag = (str(p.ref) ?? "").replace(/^refs\/tags\//, "");
      if (ZEROS.test(str(p.after) ?? "")) return make(`${who(p)} deleted tag ${tag}`, `Tag ${tag} was deleted`, web);
      const sha = str(p.checkout_sha) ?? str(p.after) ?? "";
      return make(`${who(p)} pushed tag ${tag}`, `${tag} at ${sha.slice(0, 7)}`, web ? `${web}/-/tags/${tag}` : undefined);
    }
    case "Merge Request Hook": {
      const verbs: Record<string, string> = { open: "opened", merge: "merged", close: "closed", reopen: "reopened" };
      const verb = action ? verbs[action] : undefined;
      if (!verb) return { kind: "ignored", reason: `merge request ${action ?? ""} is not worth a notification` };
      return make(`${who(p)} ${verb} MR !${num(attrs.iid) ?? "?"}`, `${str(attrs.title) ?? ""}${str(attrs.target_branch) ? ` (into ${str(attrs.target_branch)})` : ""}`, str(attrs.url));
    }
    case "Pipeline Hook": {
      if (str(attrs.status) !== "failed") return { kind: "ignored", reason: `a ${str(attrs.status) ?? "changed"} pipeline is not news; only failed ones are` };
      const commit = obj(p.commit);
      const id = num(attrs.id);
      return make(`Pipeline #${id ?? "?"} failed on ${str(attrs.ref) ?? "?"}`, firstLine(str(commit.title) ?? str(commit.message) ?? `pipeline ${id ?? ""} failed`), str(attrs.url) ?? (web && id !== undefined ? `${web}/-/pipelines/${id}` : undefined));
    }
    case "Issue Hook": {
      const verbs: Record<string, string> = { open: "opened", close: "closed", reopen: "reopened" };
      const verb = action ? verbs[action] : undefined;
      if (!verb) return { kind: "ignored", reason: `issue ${action ?? ""} is not worth a notification` };
      return make(`${who(p)} ${verb} issue #${num(attrs.iid) ?? "?"}`, str(attrs.title) ?? "", str(attrs.url));
    }
    case "Note Hook": {
      if (action !== undefined && action !== "create") return { kind: "ignored", reason: `an edited comment (${action}) is not news` };
      const on: Record<string, string> = { Commit: "commit", MergeRequest: "MR", Issue: "issue", Snippet: "snippet" };
      const type = str(attrs.noteable_type) ?? "";
      const target = type === "MergeRequest" ? ` !${num(obj(p.merge_request).iid) ?? "?"}` : type === "Issue" ? ` #${num(obj(p.issue).iid) ?? "?"}` : type === "Commit" ? ` ${(str(obj(p.commit).id) ?? "").slice(0, 7)}` : "";
      return make(`${who(p)} commented on ${on[type] ?? "something"}${target}`, clip((str(attrs.note) ?? "").trim(), 300), str(attrs.url));
    }
    case "Release Hook": {
      // A release's action is at the top level, not in object_attributes.
      const action = str(p.action);
      if (action !== "create") return { kind: "ignored", reason: `release ${action ?? ""} is not worth a notification` };
      const tag = str(p.tag) ?? "";
      return make(`released ${tag}`, str(p.name) ?? tag, str(p.url));
    }
    default:
      return { kind: "ignored", reason: `${event} events are not turned into notifications` };
  }
}
