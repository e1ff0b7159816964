// github.ts — GitHub deliveries: the X-Hub-Signature-256 check, and an event payload turned into a
// notification (channel owner/repo, title, message, url), a ping, or "ignored". Pure: no I/O.
import { clip, firstLine, forgeNotice, hmacMatches, ignored, num, obj, objs, plural, published, str, type Json, type SenderOutcome } from "./sender";

/** Checks `sha256=<hex>` against an HMAC-SHA256 of the raw body, in constant time. */
export function verifyGithubSignature(secret: string, rawBody: Uint8Array, header: string | null): boolean {
  return header !== null && header.startsWith("sha256=") && hmacMatches(secret, [rawBody], header.slice(7));
}

// GitHub's fields are read with `str`, which keeps "": an empty name or title stays as GitHub sent it.

/** owner/repo: repository.full_name, else owner.name or owner.login plus /name. */
export function channelFor(payload: Json): string | null {
  const repo = obj(payload.repository);
  const full = str(repo.full_name);
  if (full) return full;
  const owner = obj(repo.owner);
  const who = str(owner.name) ?? str(owner.login);
  const name = str(repo.name);
  return who && name ? `${who}/${name}` : null;
}

const actor = (p: Json): string => str(obj(p.sender).login) ?? str(obj(p.pusher).name) ?? "someone";

function push(p: Json, channel: string, source: string): SenderOutcome {
  const ref = str(p.ref) ?? "";
  const isTag = ref.startsWith("refs/tags/");
  const name = ref.replace(/^refs\/(heads|tags)\//, "");
  const who = str(obj(p.pusher).name) ?? actor(p);
  const commits = objs(p.commits);
  const head = obj(p.head_commit);
  const url = str(p.compare) ?? str(obj(p.repository).html_url) ?? str(obj(p.repository).url);
  const kind = isTag ? "tag" : "branch";
  let title: string;
  let message: string;
  if (p.deleted === true) {
    title = `${who} deleted ${kind} ${name}`;
    message = `${kind === "tag" ? "Tag" : "Branch"} ${name} was deleted`;
  } else if (isTag) {
    title = `${who} pushed tag ${name}`;
    const sha = str(head.id) ?? str(p.after) ?? "";
    message = sha ? `${name} at ${sha.slice(0, 7)}${str(head.message) ? ` ${firstLine(str(head.message)!)}` : ""}` : name;
  } else {
    const count = commits.length || (str(head.id) ? 1 : 0);
    const verb = p.created === true ? `created branch ${name}` : p.forced === true ? `force-pushed` : "pushed";
    if (p.created === true) title = count ? `${who} created branch ${name} with ${plural(count, "commit")}` : `${who} created branch ${name}`;
    else title = count ? `${who} ${verb} ${plural(count, "commit")} to ${name}` : `${who} ${verb} to ${name}`;
    const headId = str(head.id) ?? str(commits.at(-1)?.id);
    const headMsg = str(head.message) ?? str(commits.at(-1)?.message);
    if (headId && headMsg) message = `${headId.slice(0, 7)} ${firstLine(headMsg)}${count > 1 ? ` (+${count - 1} more)` : ""}`;
    else message = p.forced === true ? `${name} was force-pushed` : `${name} was updated`;
  }
  return published({ channel, title: `${channel}: ${title}`, message, source }, url);
}

function item(p: Json, key: "pull_request" | "issue"): { num: number | undefined; title: string; url: string | undefined } {
  const it = obj(p[key]);
  return { num: num(it.number), title: str(it.title) ?? "", url: str(it.html_url) };
}

/**
 * Turns one delivery into what to publish. `event` is X-GitHub-Event, or null for an old post-receive hook.
 * Gitea and Forgejo send the same shapes (gitea.ts), and name themselves as the `source`.
 */
export function githubNotification(event: string | null, payload: Json, source = "github"): SenderOutcome {
  const channel = channelFor(payload);
  // GitHub's original post-receive hooks carry no event header; they are always pushes.
  const ev = event ?? (payload.commits !== undefined || payload.ref !== undefined ? "push" : null);
  if (ev === "ping") return { kind: "ping", zen: str(payload.zen) ?? "", channel };
  if (ev === null) return ignored("no X-GitHub-Event header and the payload is not a push");
  if (!channel) return ignored(`the ${ev} event has no repository to name a channel after`);
  const action = str(payload.action);
  const who = actor(payload);
  const make = forgeNotice(channel, source);
  switch (ev) {
    case "push":
      return push(payload, channel, source);
    case "pull_request": {
      const pr = item(payload, "pull_request");
      const merged = obj(payload.pull_request).merged === true;
      const verbs: Record<string, string> = { opened: "opened", reopened: "reopened", ready_for_review: "marked ready for review" };
      let verb = action ? verbs[action] : undefined;
      if (action === "closed") verb = merged ? "merged" : "closed";
      if (!verb) return ignored(`pull_request ${action ?? ""} is not worth a notification`);
      return make(`${who} ${verb} PR #${pr.num ?? "?"}`, pr.title, pr.url);
    }
    case "issues": {
      if (action !== "opened" && action !== "closed" && action !== "reopened") return ignored(`issues ${action ?? ""} is not worth a notification`);
      const is = item(payload, "issue");
      return make(`${who} ${action} issue #${is.num ?? "?"}`, is.title, is.url);
    }
    case "issue_comment": {
      if (action !== "created") return ignored(`issue_comment ${action ?? ""} is not worth a notification`);
      const is = item(payload, "issue");
      const comment = obj(payload.comment);
      const onPr = obj(payload.issue).pull_request !== undefined;
      return make(`${who} commented on ${onPr ? "PR" : "issue"} #${is.num ?? "?"}`, clip((str(comment.body) ?? "").trim(), 300), str(comment.html_url) ?? is.url);
    }
    case "release": {
      if (action !== "published") return ignored(`release ${action ?? ""} is not worth a notification`);
      const rel = obj(payload.release);
      const tag = str(rel.tag_name) ?? "";
      return make(`${who} published release ${tag}`, str(rel.name) || tag, str(rel.html_url));
    }
    case "workflow_run": {
      const run = obj(payload.workflow_run);
      const conclusion = str(run.conclusion);
      if (action !== "completed" || (conclusion !== "failure" && conclusion !== "timed_out"))
        return ignored(`workflow_run ${action ?? ""} ${conclusion ?? ""} is not news`);
      const name = str(run.name) ?? str(obj(payload.workflow).name) ?? "workflow";
      const branch = str(run.head_branch) ?? "?";
      const what = conclusion === "failure" ? "failed" : "timed out";
      const commit = str(obj(run.head_commit).message);
      return make(`${name} ${what} on ${branch}`, commit ? firstLine(commit) : `${name} ${what}`, str(run.html_url));
    }
    case "star":
      return make(action === "deleted" ? `${who} unstarred ${channel}` : `${who} starred ${channel}`, `${channel} has ${obj(payload.repository).stargazers_count ?? "?"} stars`, str(obj(payload.repository).html_url));
    case "fork": {
      const forkee = obj(payload.forkee);
      return make(`${who} forked ${channel}`, `into ${str(forkee.full_name) ?? "a new repository"}`, str(forkee.html_url));
    }
    case "create":
    case "delete": {
      const refType = str(payload.ref_type) ?? "ref";
      const ref = str(payload.ref) ?? "";
      const verb = ev === "create" ? "created" : "deleted";
      return make(`${who} ${verb} ${refType} ${ref}`, `${refType === "tag" ? "Tag" : "Branch"} ${ref} was ${verb}`, str(obj(payload.repository).html_url));
    }
    default:
      return ignored(`${ev} events are not turned into notifications`);
  }
}
