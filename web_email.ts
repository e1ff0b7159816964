// web_email.ts — e-mail notifications (ntfy's X-Email): the mail a message makes, shaped as ntfy's smtp_sender.go
// formatMail shapes it, sent through --smtp-url with nodemailer, and each visitor's share of mails (ntfy's email limit).
import { redactUrl } from "./web_publisher";
import nodemailer, { type Transporter } from "nodemailer";
import { hostname } from "node:os";
import type { Envelope } from "./message";
import { RateLimiter } from "./ratelimit";
import { NTFY_ERRORS, NtfyError } from "./web_ntfy";

/** ntfy's visitor-email-limit-burst and -replenish (server/config.go): 16 at once, then one an hour. */
export const EMAIL_BURST = 16;
const EMAIL_PER_SECOND = 1 / 3600;

/** One address, nothing else: a comma, a space or angle brackets would let one publish mail many people, or add headers. */
const ADDRESS = /^[^\s@<>,;:"()[\]\\]+@[^\s@<>,;:"()[\]\\]+$/;

/** ntfy's priority names (util.PriorityString). */
const PRIORITY_NAMES = ["", "min", "low", "default", "high", "max"];

/** The mail a message makes: ntfy's subject and text (formatMail), and who it is from. Pure. */
export type Mail = { fromName: string; subject: string; text: string; date: Date };

/**
 * ntfy's formatMail: the subject is the title, else the message, on one line; the text is the message, then the tags
 * and a priority other than 3, then who sent it, when and where. ntfy shows tags that are emoji short codes as emoji
 * in the subject; Notistream lists every tag in the text.
 */
export function formatMail(env: Envelope, topicUrl: string, senderIp: string): Mail {
  const subject = (env.title || env.message).replaceAll("\r", "").replaceAll("\n", " ");
  const trailer: string[] = [];
  if (env.tags?.length) trailer.push(`Tags: ${env.tags.join(", ")}`);
  if (env.priority !== undefined && env.priority !== 3) trailer.push(`Priority: ${PRIORITY_NAMES[env.priority]}`);
  const message = trailer.length ? `${env.message}\n\n${trailer.join("\n")}` : env.message;
  const date = new Date(env.time * 1000);
  // Go's RFC1123 in UTC: "Fri, 04 Dec 2026 20:00:00 UTC".
  const when = date.toUTCString().replace(/GMT$/, "UTC");
  return {
    fromName: topicUrl.replace(/^https?:\/\//, ""),
    subject,
    text: `${message}\n\n--\nThis message was sent by ${senderIp} at ${when} via ${topicUrl}`,
    date,
  };
}

/** Checks --smtp-url (smtp:// or smtps://, a host) and --smtp-from; returns a sentence saying what is wrong, or null. */
export function smtpSettingsRefusal(url: string, from: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `--smtp-url must be a URL such as smtp://user:password@mail.example.com:587 or smtps://mail.example.com, got ${JSON.stringify(redactUrl(url))}`;
  }
  if (u.protocol !== "smtp:" && u.protocol !== "smtps:") return `--smtp-url must start with smtp:// (STARTTLS when the server offers it) or smtps:// (TLS from the start), got ${u.protocol}//`;
  if (!u.hostname) return "--smtp-url names no host: smtp://mail.example.com:587";
  if (!ADDRESS.test(from)) return `--smtp-from must be one e-mail address such as notistream@example.com, got ${JSON.stringify(from)}`;
  return null;
}

/** --smtp-from's default: the login of --smtp-url when that is an address, else notistream@ this machine's name. */
export function defaultSmtpFrom(url: string | undefined): string {
  try {
    const user = url ? decodeURIComponent(new URL(url).username) : "";
    if (ADDRESS.test(user)) return user;
  } catch {
    // an unparsable URL is refused by smtpSettingsRefusal
  }
  return `notistream@${hostname() || "localhost"}`;
}

/** Sends notifications by mail: one pooled SMTP connection for the web server, each visitor's share checked first. */
export class Mailer {
  private readonly transport: Transporter;
  private readonly perVisitor = new RateLimiter(EMAIL_PER_SECOND, EMAIL_BURST);
  private readonly sweeper: ReturnType<typeof setInterval>;
  sent = 0;
  failed = 0;

  constructor(
    url: string,
    private readonly from: string,
    private readonly log: (line: string) => void,
  ) {
    // pool: one connection reused by every mail rather than a handshake (and TLS) per message.
    this.transport = nodemailer.createTransport(`${url}${url.includes("?") ? "&" : "?"}pool=true`);
    this.sweeper = setInterval(() => this.perVisitor.sweep(Date.now()), 3600_000);
    this.sweeper.unref?.();
  }

  /**
   * Checks a publish's address and its visitor's share before anything is published: one address (400), and at
   * most ntfy's 16 mails at once, then one an hour, per visitor (429, 42902).
   */
  admit(to: string, where: string, visitor: string): void {
    if (to.toLowerCase() === "yes")
      throw new NtfyError({ code: 40000, http: 400, error: "invalid request", link: "https://ntfy.sh/docs/publish/#e-mail-notifications" }, `${where} says "yes", which ntfy reads as a logged-in user's own address; Notistream keeps no addresses: give the address itself`);
    if (!ADDRESS.test(to))
      throw new NtfyError({ code: 40000, http: 400, error: "invalid request", link: "https://ntfy.sh/docs/publish/#e-mail-notifications" }, `${JSON.stringify(to.slice(0, 100))} from ${where} is not one e-mail address (name@example.com); one publish mails one address`);
    const wait = this.perVisitor.take(visitor, Date.now());
    if (wait > 0) throw new NtfyError(NTFY_ERRORS.tooManyEmails, `${visitor} sent ${EMAIL_BURST} e-mails lately, the most at once; one more is allowed each hour (in ${wait} s)`);
  }

  /** Sends the mail for a published message, in the background: a failure is logged and counted, the publish stands (as ntfy's go sendEmail). */
  send(env: Envelope, to: string, topicUrl: string, senderIp: string): void {
    const mail = formatMail(env, topicUrl, senderIp);
    this.transport
      .sendMail({ from: { name: mail.fromName, address: this.from }, to, subject: mail.subject, text: mail.text, date: mail.date })
      .then(
        () => void this.sent++,
        (err: Error) => {
          this.failed++;
          this.log(`web: e-mail to ${to} for a message on ${env.channel} not sent: ${err.message}`);
        },
      );
  }

  close(): void {
    clearInterval(this.sweeper);
    this.transport.close();
  }
}
