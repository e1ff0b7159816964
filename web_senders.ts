// web_senders.ts — the webhook senders' routes, declared as data (path, secret and its check, body limit, rendering:
// github.ts, gitlab.ts, gitea.ts, alerts.ts) and run by one handler; and templates, which fill a message from any JSON.
import { alertmanagerNotification, grafanaNotification, verifyGrafanaSignature } from "./alerts";
import { giteaEvent, giteaNotification, verifyGiteaSignature } from "./gitea";
import { githubNotification, verifyGithubSignature } from "./github";
import { gitlabNotification, verifyGitlabToken } from "./gitlab";
import type { SenderOutcome } from "./sender";
import { identify, publishRefusal, refuse } from "./web_access";
import { parseJson, readBody, senderPayload } from "./web_body";
import { error, json, type WebContext } from "./web_context";
import { InputError, checkNotification, fitText, refuseChannelName } from "./web_input";
import { CHANNEL, type Checked, type Handler, type RouteRow } from "./web_routes";
import { MAX_DATA_DEPTH, TemplateError, renderTemplate } from "./web_template";

/** GitHub caps webhook payloads at 25 MB; GitLab's and Gitea's deliveries get the same room. */
export const GITHUB_MAX_BODY = 25 * 1024 * 1024;

/** A delivery rendered: what it becomes, and the fields its reply adds (the event, the delivery's id, the sender). */
type Rendered = { outcome: SenderOutcome; extra: Record<string, unknown> };

/** One sender's route. A new sender is one more entry in SENDERS (its renderer in a file of its own, on sender.ts). */
type Sender = {
  /** POST here: a fixed path (the channel is in the payload), or one ending in /<channel>. */
  path: string;
  /**
   * The option holding the sender's secret, its check, and the 401 when a delivery lacks it. Set, a delivery whose
   * secret matches is taken; else (and without a secret) a caller who logs in with write rights on the channel.
   */
  secret?: {
    option: "githubSecret" | "gitlabSecret" | "giteaSecret" | "grafanaSecret";
    verify: (secret: string, raw: Uint8Array, header: (name: string) => string | null) => boolean;
    unsigned: string;
  };
  /** Whether the body may take GitHub's 25 MB (a forge's push of many commits) rather than --max-body. */
  large: boolean;
  /** The payload (parsed by senderPayload, which names the sender in its errors) as a notification, a ping or nothing. */
  render: (req: Request, raw: Uint8Array, channel: string) => Rendered;
};

const header = (req: Request) => (name: string) => req.headers.get(name);

export const SENDERS: Sender[] = [
  {
    path: "/github",
    secret: {
      option: "githubSecret",
      verify: (secret, raw, h) => verifyGithubSignature(secret, raw, h("x-hub-signature-256")),
      unsigned: "the X-Hub-Signature-256 header is missing or does not match: check the webhook secret on GitHub and NOTISTREAM_GITHUB_SECRET",
    },
    large: true,
    render: (req, raw) => {
      const event = req.headers.get("x-github-event");
      const outcome = githubNotification(event, senderPayload(req, raw, "GitHub"));
      return { outcome, extra: { event: event ?? "push", delivery: req.headers.get("x-github-delivery") } };
    },
  },
  {
    path: "/gitlab",
    secret: {
      option: "gitlabSecret",
      verify: (secret, _raw, h) => verifyGitlabToken(secret, h("x-gitlab-token")),
      unsigned: "the X-Gitlab-Token header is missing or wrong: put the same Secret token in GitLab's webhook settings and NOTISTREAM_GITLAB_SECRET",
    },
    large: true,
    render: (req, raw) => {
      const event = req.headers.get("x-gitlab-event");
      return { outcome: gitlabNotification(event, senderPayload(req, raw, "GitLab")), extra: { event, delivery: req.headers.get("x-gitlab-event-uuid") } };
    },
  },
  {
    path: "/gitea",
    secret: {
      option: "giteaSecret",
      verify: (secret, raw, h) => verifyGiteaSignature(secret, raw, h),
      unsigned: "the X-Gitea-Signature (or X-Forgejo-Signature) header is missing or does not match: check the webhook secret in Gitea or Forgejo and NOTISTREAM_GITEA_SECRET",
    },
    large: true,
    render: (req, raw) => {
      const h = header(req);
      const { sender, event } = giteaEvent(h);
      const outcome = giteaNotification(sender, event, senderPayload(req, raw, sender === "forgejo" ? "Forgejo" : "Gitea"));
      return { outcome, extra: { event, delivery: h("x-forgejo-delivery") ?? h("x-gitea-delivery") } };
    },
  },
  // Alertmanager signs nothing: with an ACL its caller needs write rights on the channel, checked before the body is read.
  {
    path: `/alertmanager/${CHANNEL}`,
    large: false,
    render: (req, raw, channel) => ({ outcome: alertmanagerNotification(channel, senderPayload(req, raw, "Alertmanager")), extra: { sender: "alertmanager" } }),
  },
  {
    path: `/grafana/${CHANNEL}`,
    secret: {
      option: "grafanaSecret",
      verify: (secret, raw, h) => verifyGrafanaSignature(secret, raw, h("x-grafana-alerting-signature"), h("x-grafana-alerting-timestamp")),
      unsigned: "the X-Grafana-Alerting-Signature header is missing or does not match: set the same HMAC secret in Grafana's webhook contact point and NOTISTREAM_GRAFANA_SECRET",
    },
    large: false,
    render: (req, raw, channel) => ({ outcome: grafanaNotification(channel, senderPayload(req, raw, "Grafana")), extra: { sender: "grafana" } }),
  },
];

/**
 * A sender's row. With an ACL (or --token), a sender takes a delivery whose secret matches, or a caller who logs in
 * (Authorization, or ?token= for senders that only take a URL) with write rights on the channel, as POST / asks.
 * Without an ACL, only a secret that is set is checked. No secret set: the dispatcher checks the caller before the
 * body is read ("write" on a channel in the path, "login" when it is in the payload). A secret set: the signature
 * covers the body, so the handler reads it first ("signed").
 */
export function senderRow(ctx: WebContext, sender: Sender): RouteRow {
  const secret = sender.secret ? ctx.opts[sender.secret.option] : undefined;
  const inPath = sender.path.endsWith(CHANNEL);
  const right = secret !== undefined ? "signed" : inPath ? "write" : "login";
  return { method: "POST", path: sender.path, right, token: "query", handler: senderHandler(ctx, sender, secret, inPath) };
}

/** The one handler every sender runs: the body, the secret (or the caller), the rendering, the reply. */
function senderHandler(ctx: WebContext, sender: Sender, secret: string | undefined, inPath: boolean): Handler {
  return async (req, url, checked) => {
    const acl = ctx.opts.acl;
    // ?channel= sends a forge's events to a channel of the caller's choosing instead of owner/repo: ntfy's apps take
    // no slash in a topic, so this is how a phone on ntfy's app gets a repository. Checked before the body is read.
    const chosen = inPath ? null : url.searchParams.get("channel");
    if (chosen !== null) refuseChannelName(chosen);
    const raw = await readBody(req, sender.large ? Math.max(ctx.opts.maxBody, GITHUB_MAX_BODY) : ctx.opts.maxBody);
    // Whether the caller's rights on the payload's channel are settled: by the dispatcher for a channel in the path.
    let authorized = !acl || inPath;
    if (secret !== undefined && sender.secret) {
      authorized = sender.secret.verify(secret, raw, header(req));
      if (!authorized) {
        const token = checked.token;
        if (!acl || (!req.headers.has("authorization") && token === undefined)) return error(401, sender.secret.unsigned);
        const denied = inPath ? refuse(acl, req, "publish", [checked.channel], token) : identify(acl, req, token);
        if (denied instanceof Response) return denied;
        authorized = inPath;
      }
    }
    const { outcome, extra } = sender.render(req, raw, checked.channel);
    return senderReply(ctx, req, checked, authorized, chosen === null ? outcome : onChannel(outcome, chosen), extra);
  };
}

/** A rendered delivery moved to the channel the caller chose (?channel=); its rights are checked on that channel. */
function onChannel(outcome: SenderOutcome, channel: string): SenderOutcome {
  if (outcome.kind === "publish") return { ...outcome, notification: { ...outcome.notification, channel } };
  if (outcome.kind === "ping") return { ...outcome, channel };
  return outcome;
}

/**
 * What a sender's delivery became: published (200), a ping (200), or not worth a notification (202). A notification
 * passes the checks every route's does (web_input.ts): its text cut to the caps (the reply says which fields were
 * shortened), then the channel's name and an http(s) url, or a 400 naming the field. Unless `authorized`, the caller
 * needs write rights on the channel.
 */
async function senderReply(ctx: WebContext, req: Request, checked: Checked, authorized: boolean, outcome: SenderOutcome, extra: Record<string, unknown>): Promise<Response> {
  if (outcome.kind === "ignored") return json(202, { ignored: true, ...extra, reason: outcome.reason });
  const channel = outcome.kind === "ping" ? outcome.channel : outcome.notification.channel;
  const shortened = outcome.kind === "publish" ? fitText(outcome.notification, ctx.opts.maxMessage) : [];
  if (outcome.kind === "publish") checkNotification(outcome.notification, ctx.opts.maxMessage);
  const denied = authorized || channel === null ? null : publishRefusal(ctx.opts.acl, req, checked, channel, checked.token);
  if (denied) return denied;
  if (outcome.kind === "ping") return json(200, { ok: true, event: "ping", zen: outcome.zen, channel: outcome.channel, ...extra });
  return json(200, { ...(await ctx.publish(outcome.notification)), ...extra, ...(shortened.length ? { shortened } : {}) });
}

/**
 * A template publish (POST /<channel>?template=1): the body is any sender's JSON, and the message and title are
 * templates ({{.path}}) filled from it. The 400s say which template does not parse, or that the message has none.
 */
export function fillTemplates(body: string, message: string | undefined, title: unknown): { message: string; title: unknown } {
  const data = parseJson(body, "with a template, the body", MAX_DATA_DEPTH);
  const fill = (tpl: string, what: string) => {
    try {
      return renderTemplate(tpl, data);
    } catch (err) {
      if (err instanceof TemplateError) throw new InputError(`the ${what} template does not parse: ${err.message}`);
      throw err;
    }
  };
  if (message === undefined) throw new InputError("a template needs a message template: ?message=… or an X-Message header, e.g. {{.alerts.0.labels.alertname}} is {{.status}}");
  const filled = fill(message, "message");
  return { message: filled, title: typeof title === "string" ? fill(title, "title") : title };
}
