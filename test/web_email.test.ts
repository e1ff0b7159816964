// test/web_email.test.ts — the mail a message makes (ntfy's server/smtp_sender.go formatMail), the settings' checks,
// the address and per-visitor checks (ntfy's 16 at once, then one an hour: 42902), and Mailer over real SMTP to a sink.
import { afterAll, describe, expect, test } from "bun:test";
import { EMAIL_BURST, Mailer, defaultSmtpFrom, formatMail, smtpSettingsRefusal } from "../web_email";
import type { Envelope } from "../message";
import { NtfyError } from "../web_ntfy";
import { until } from "./helpers";
import { SmtpSink } from "./smtpsink";

const env = (over: Partial<Envelope> = {}): Envelope => ({ id: "1-0", time: Date.UTC(2026, 11, 4, 20, 0, 0) / 1000, channel: "alerts", message: "Disk full", ...over });

describe("formatMail, as ntfy's formatMail", () => {
  test("the subject is the title, the text the message, then who sent it, when and where", () => {
    const m = formatMail(env({ title: "Server" }), "https://ntfy.example.com/alerts", "203.0.113.9");
    expect(m.subject).toBe("Server");
    expect(m.fromName).toBe("ntfy.example.com/alerts");
    expect(m.text).toBe("Disk full\n\n--\nThis message was sent by 203.0.113.9 at Fri, 04 Dec 2026 20:00:00 UTC via https://ntfy.example.com/alerts");
  });

  test("no title: the message is the subject, on one line", () => {
    expect(formatMail(env({ message: "line one\r\nline two" }), "http://h/alerts", "::1").subject).toBe("line one line two");
  });

  test("tags and a priority other than 3 come after the message", () => {
    const m = formatMail(env({ tags: ["warning", "db"], priority: 5 }), "http://h/alerts", "::1");
    expect(m.text.startsWith("Disk full\n\nTags: warning, db\nPriority: max\n\n--\n")).toBe(true);
    expect(formatMail(env({ priority: 3 }), "http://h/alerts", "::1").text).not.toContain("Priority");
  });
});

describe("settings", () => {
  test("--smtp-url must be smtp:// or smtps:// with a host; --smtp-from one address", () => {
    expect(smtpSettingsRefusal("smtp://u:p@mail.example.com:587", "n@example.com")).toBeNull();
    expect(smtpSettingsRefusal("smtps://mail.example.com", "n@example.com")).toBeNull();
    expect(smtpSettingsRefusal("http://mail.example.com", "n@example.com")).toContain("must start with smtp://");
    expect(smtpSettingsRefusal("mail.example.com:25", "n@example.com")).toContain("must start with smtp://");
    expect(smtpSettingsRefusal("smtp://mail.example.com", "a@b.c, d@e.f")).toContain("--smtp-from must be one e-mail address");
  });

  test("--smtp-from's default: the login when it is an address, else notistream@ this machine", () => {
    expect(defaultSmtpFrom("smtp://alerts%40example.com:pw@mail.example.com")).toBe("alerts@example.com");
    expect(defaultSmtpFrom("smtp://apikey:pw@mail.example.com")).toStartWith("notistream@");
  });
});

describe("Mailer", () => {
  const sink = SmtpSink.start();
  const logged: string[] = [];
  const mailer = new Mailer(`smtp://bob:s3cret@127.0.0.1:${sink.port}`, "notistream@example.com", (l) => logged.push(l));
  afterAll(() => {
    mailer.close();
    sink.stop();
  });

  test("one address, nothing else: no list, no header, no 'yes' (ntfy's own user's address)", () => {
    const codeOf = (to: string): number => {
      try {
        mailer.admit(to, "the X-Email header", `v-${to}`);
        return 0;
      } catch (err) {
        return (err as NtfyError).kind.code;
      }
    };
    expect(codeOf("phil@example.com")).toBe(0);
    for (const bad of ["a@example.com, b@example.com", "a@example.com\r\nBcc: b@example.com", "<a@example.com>", "nobody", "yes"]) expect(codeOf(bad)).toBe(40000);
  });

  test(`each visitor: ${EMAIL_BURST} at once, then 429 42902 (ntfy's visitor-email-limit-burst)`, () => {
    for (let i = 0; i < EMAIL_BURST; i++) mailer.admit("phil@example.com", "the X-Email header", "198.51.100.7");
    let refused: NtfyError | null = null;
    try {
      mailer.admit("phil@example.com", "the X-Email header", "198.51.100.7");
    } catch (err) {
      refused = err as NtfyError;
    }
    expect(refused?.kind.code).toBe(42902);
    expect(refused?.status).toBe(429);
    // another visitor still has its own share
    mailer.admit("phil@example.com", "the X-Email header", "198.51.100.8");
  });

  test("a mail over real SMTP: the login, the envelope, ntfy's From, Subject and text", async () => {
    mailer.send(env({ title: "Überlauf ✔", tags: ["db"] }), "phil@example.com", "https://push.example.com/alerts", "203.0.113.9");
    await until("the mail at the sink", () => sink.mails.length === 1);
    const mail = sink.mails[0]!;
    expect(mail.login).toBe("bob:s3cret");
    expect(mail.from).toBe("notistream@example.com");
    expect(mail.to).toEqual(["phil@example.com"]);
    expect(mail.data).toMatch(/^From: "push\.example\.com\/alerts" <notistream@example\.com>$/m);
    expect(mail.data).toMatch(/^To: phil@example\.com$/m);
    // RFC 2047 for the non-ASCII subject, as ntfy's mime.BEncoding does.
    const subject = /^Subject: (.*)$/m.exec(mail.data)![1]!;
    expect(subject).toMatch(/^=\?UTF-8\?[BQ]\?/i);
    const words = [...subject.matchAll(/=\?UTF-8\?([BQ])\?([^?]*)\?=/gi)].map(([, enc, text]) =>
      enc!.toUpperCase() === "B" ? Buffer.from(text!, "base64").toString() : decodeURIComponent(text!.replace(/_/g, " ").replace(/=([0-9A-F]{2})/gi, "%$1")),
    );
    expect(words.join("")).toBe("Überlauf ✔");
    const body = mail.data.slice(mail.data.indexOf("\r\n\r\n") + 4).replace(/=\r\n/g, "");
    expect(body).toContain("Disk full");
    expect(body).toContain("Tags: db");
    expect(body).toContain("This message was sent by 203.0.113.9 at Fri, 04 Dec 2026 20:00:00 UTC via https://push.example.com/alerts");
  });

  test("a server that refuses: logged, counted, nothing thrown at the publisher", async () => {
    const dead = new Mailer("smtp://127.0.0.1:1", "notistream@example.com", (l) => logged.push(l));
    dead.send(env(), "phil@example.com", "http://h/alerts", "::1");
    await until("the failure logged", () => dead.failed === 1);
    expect(logged.some((l) => l.includes("e-mail to phil@example.com for a message on alerts not sent"))).toBe(true);
    dead.close();
  });
});
