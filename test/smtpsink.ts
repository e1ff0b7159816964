// test/smtpsink.ts — a real SMTP listener for tests (RFC 5321's few commands a sender needs, AUTH PLAIN and LOGIN
// taken as given): it keeps every mail it is handed, with its envelope and login, for the test to read back.
import type { Socket, TCPSocketListener } from "bun";

export type SunkMail = { from: string; to: string[]; data: string; login: string | null };

type Session = { buf: string; from: string; to: string[]; data: string[] | null; login: string | null; authStep: "user" | "pass" | null; user: string };

export class SmtpSink {
  readonly mails: SunkMail[] = [];
  private constructor(private readonly listener: TCPSocketListener<Session>) {}

  get port(): number {
    return this.listener.port;
  }

  static start(): SmtpSink {
    let sink: SmtpSink;
    const listener = Bun.listen<Session>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(s) {
          s.data = { buf: "", from: "", to: [], data: null, login: null, authStep: null, user: "" };
          s.write("220 sink.test ESMTP ready\r\n");
        },
        data(s, chunk) {
          s.data.buf += chunk.toString();
          for (let i = s.data.buf.indexOf("\r\n"); i !== -1; i = s.data.buf.indexOf("\r\n")) {
            const line = s.data.buf.slice(0, i);
            s.data.buf = s.data.buf.slice(i + 2);
            sink.line(s, line);
          }
        },
      },
    });
    sink = new SmtpSink(listener);
    return sink;
  }

  private line(s: Socket<Session>, line: string): void {
    const d = s.data;
    if (d.data !== null) {
      if (line === ".") {
        this.mails.push({ from: d.from, to: d.to, data: d.data.join("\r\n"), login: d.login });
        d.data = null;
        d.to = [];
        s.write("250 2.0.0 kept\r\n");
      } else d.data.push(line.startsWith("..") ? line.slice(1) : line);
      return;
    }
    if (d.authStep === "user") {
      d.user = Buffer.from(line, "base64").toString();
      d.authStep = "pass";
      s.write(`334 ${Buffer.from("Password:").toString("base64")}\r\n`);
      return;
    }
    if (d.authStep === "pass") {
      d.login = `${d.user}:${Buffer.from(line, "base64").toString()}`;
      d.authStep = null;
      s.write("235 2.7.0 accepted\r\n");
      return;
    }
    const [verb = "", ...rest] = line.split(" ");
    switch (verb.toUpperCase()) {
      case "EHLO":
        s.write("250-sink.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
        return;
      case "HELO":
        s.write("250 sink.test\r\n");
        return;
      case "AUTH": {
        if (rest[0]?.toUpperCase() === "PLAIN" && rest[1]) {
          const [, user, pass] = Buffer.from(rest[1], "base64").toString().split("\0");
          d.login = `${user}:${pass}`;
          s.write("235 2.7.0 accepted\r\n");
        } else {
          d.authStep = "user";
          s.write(`334 ${Buffer.from("Username:").toString("base64")}\r\n`);
        }
        return;
      }
      case "MAIL":
        d.from = /<([^>]*)>/.exec(line)?.[1] ?? "";
        s.write("250 2.1.0 ok\r\n");
        return;
      case "RCPT":
        d.to.push(/<([^>]*)>/.exec(line)?.[1] ?? "");
        s.write("250 2.1.5 ok\r\n");
        return;
      case "DATA":
        d.data = [];
        s.write("354 go ahead\r\n");
        return;
      case "RSET":
        d.to = [];
        s.write("250 ok\r\n");
        return;
      case "NOOP":
        s.write("250 ok\r\n");
        return;
      case "QUIT":
        s.write("221 bye\r\n");
        s.end();
        return;
      default:
        s.write("502 5.5.2 not implemented\r\n");
    }
  }

  stop(): void {
    this.listener.stop(true);
  }
}
