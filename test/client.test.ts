// test/client.test.ts — the client's words for failures that settings must fix: each says what happened and what
// to do. (The flags and the whole command run as a process in client.e2e.test.ts.)
import { describe, expect, test } from "bun:test";
import { explainFailure } from "../client";
import { failureFromError, failureFromReply, notRespFailure } from "../link";

const c = { host: "h.example", port: 6379, user: "ann", channels: ["alerts", "ci"] };

describe("explaining failures", () => {
  test("each says what to do", () => {
    expect(explainFailure(failureFromReply("WRONGPASS invalid username-password pair or user is disabled."), c)).toBe(
      'h.example:6379 refused the password for user "ann" (the server said: WRONGPASS invalid username-password pair or user is disabled.). Run `notistream setup` to enter it again.',
    );
    expect(explainFailure(failureFromReply("NOAUTH Authentication required."), { ...c, user: undefined })).toContain("needs a password");
    expect(explainFailure(failureFromReply("NOPERM this user has no permissions to access one of the channels used as arguments"), c)).toContain('does not let user "ann" read alerts, ci');
    expect(explainFailure(notRespFailure(Buffer.from("HTTP/1.1 400 Bad Request"), "h.example:8080"), { ...c, port: 8080 })).toContain("looks like an HTTP server");
    expect(explainFailure(notRespFailure(Buffer.from("HTTP/1.1 400 Bad Request"), "h.example:8080"), { ...c, port: 8080 })).toContain("--url https://h.example:8080");
    expect(explainFailure(failureFromError({ code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND h.example" }, "h.example:6379"), c)).toBe(
      'the host name "h.example" does not resolve. Check it for typos, or run `notistream setup`.',
    );
    expect(explainFailure({ fatal: true, code: "HTTP401", reason: "https://w.example wants a login: no" }, { ...c, url: "https://w.example" })).toContain("notistream setup");
  });
});
