// gitlab.ts — GitLab deliveries: the X-Gitlab-Token check, and an event turned into a notification in the style of
// github.ts (channel project.path_with_namespace, title, message, url) or "ignored". Pure: no I/O.
import { clip, firstLine, forgeNotice, ignored, nonEmpty, num, obj, objs, plural, sameSecret, type Json, type SenderOutcome } from "./sender";

const ZEROS = /^0+$/;

/** X-Gitlab-Token against --gitlab-secret, in constant time. */
export function verifyGitlabToken(secret: string, header: string | null): boolean {
  return header !== null && sameSecret(header, secret);
}

/** Who did it: the user object, or the push's user_name. */
const who = (p: Json): string => nonEmpty(obj(p.user).name) ?? nonEmpty(obj(p.user).username) ?? nonEmpty(p.user_name) ?? nonEmpty(p.user_username) ?? "someone";

export function gitlabNotification(event: string | null, p: Json): SenderOutcome {
  const project = obj(p.project);
  const channel = nonEmpty(project.path_with_namespace);
  if (!event) return ignored("no X-Gitlab-Event header");
  if (!channel) return ignored(`the ${event} has no project.path_with_namespace to name a channel after`);
  const web = nonEmpty(project.web_url);
  const attrs = obj(p.object_attributes);
  const action = nonEmpty(attrs.action);
  const make = forgeNotice(channel, "gitlab");
  switch (event) {
    case "Push Hook": {
      const branch = (nonEmpty(p.ref) ?? "").replace(/^refs\/heads\//, "");
      const before = nonEmpty(p.before) ?? "";
      const after = nonEmpty(p.after) ?? "";
      if (ZEROS.test(after)) return make(`${who(p)} deleted branch ${branch}`, `Branch ${branch} was deleted`, web);
      const commits = objs(p.commits);
      const count = num(p.total_commits_count) ?? commits.length;
      const last = commits.at(-1);
      const head = last ? `${(nonEmpty(last.id) ?? "").slice(0, 7)} ${firstLine(nonEmpty(last.title) ?? nonEmpty(last.message) ?? "")}${count > 1 ? ` (+${count - 1} more)` : ""}` : `${branch} was updated`;
      if (ZEROS.test(before))
        return make(count ? `${who(p)} created branch ${branch} with ${plural(count, "commit")}` : `${who(p)} created branch ${branch}`, last ? head : `Branch ${branch} was created`, web ? `${web}/-/tree/${branch}` : undefined);
      return make(`${who(p)} pushed ${plural(count, "commit")} to ${branch}`, head, web ? `${web}/-/compare/${before}...${after}` : nonEmpty(last?.url));
    }
    case "Tag Push Hook": {
      const tag = (nonEmpty(p.ref) ?? "").replace(/^refs\/tags\//, "");
      if (ZEROS.test(nonEmpty(p.after) ?? "")) return make(`${who(p)} deleted tag ${tag}`, `Tag ${tag} was deleted`, web);
      const sha = nonEmpty(p.checkout_sha) ?? nonEmpty(p.after) ?? "";
      return make(`${who(p)} pushed tag ${tag}`, `${tag} at ${sha.slice(0, 7)}`, web ? `${web}/-/tags/${tag}` : undefined);
    }
    case "Merge Request Hook": {
      const verbs: Record<string, string> = { open: "opened", merge: "merged", close: "closed", reopen: "reopened" };
      const verb = action ? verbs[action] : undefined;
      if (!verb) return ignored(`merge request ${action ?? ""} is not worth a notification`);
      return make(`${who(p)} ${verb} MR !${num(attrs.iid) ?? "?"}`, `${nonEmpty(attrs.title) ?? ""}${nonEmpty(attrs.target_branch) ? ` (into ${nonEmpty(attrs.target_branch)})` : ""}`, nonEmpty(attrs.url));
    }
    case "Pipeline Hook": {
      if (nonEmpty(attrs.status) !== "failed") return ignored(`a ${nonEmpty(attrs.status) ?? "changed"} pipeline is not news; only failed ones are`);
      const commit = obj(p.commit);
      const id = num(attrs.id);
      return make(`Pipeline #${id ?? "?"} failed on ${nonEmpty(attrs.ref) ?? "?"}`, firstLine(nonEmpty(commit.title) ?? nonEmpty(commit.message) ?? `pipeline ${id ?? ""} failed`), nonEmpty(attrs.url) ?? (web && id !== undefined ? `${web}/-/pipelines/${id}` : undefined));
    }
    case "Issue Hook": {
      const verbs: Record<string, string> = { open: "opened", close: "closed", reopen: "reopened" };
      const verb = action ? verbs[action] : undefined;
      if (!verb) return ignored(`issue ${action ?? ""} is not worth a notification`);
      return make(`${who(p)} ${verb} issue #${num(attrs.iid) ?? "?"}`, nonEmpty(attrs.title) ?? "", nonEmpty(attrs.url));
    }
    case "Note Hook": {
      if (action !== undefined && action !== "create") return ignored(`an edited comment (${action}) is not news`);
      const on: Record<string, string> = { Commit: "commit", MergeRequest: "MR", Issue: "issue", Snippet: "snippet" };
      const type = nonEmpty(attrs.noteable_type) ?? "";
      const target = type === "MergeRequest" ? ` !${num(obj(p.merge_request).iid) ?? "?"}` : type === "Issue" ? ` #${num(obj(p.issue).iid) ?? "?"}` : type === "Commit" ? ` ${(nonEmpty(obj(p.commit).id) ?? "").slice(0, 7)}` : "";
      return make(`${who(p)} commented on ${on[type] ?? "something"}${target}`, clip((nonEmpty(attrs.note) ?? "").trim(), 300), nonEmpty(attrs.url));
    }
    case "Release Hook": {
      // A release's action is at the top level, not in object_attributes.
      const action = nonEmpty(p.action);
      if (action !== "create") return ignored(`release ${action ?? ""} is not worth a notification`);
      const tag = nonEmpty(p.tag) ?? "";
      return make(`released ${tag}`, nonEmpty(p.name) ?? tag, nonEmpty(p.url));
    }
    default:
      return ignored(`${event} events are not turned into notifications`);
  }
}
