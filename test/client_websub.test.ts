// test/client_websub.test.ts — what the client takes from the web server's /events and /messages: the channel it asked for,
// and an id only when it is a stream ID, so nothing in a message can throw or blind the saved place (issue 22, high 5);
// and the login it sends.
import { expect, test } from "bun:test";
import { ClientState } from "../client_state";
import { envelopeFromServer } from "../client_websub";
import { authorization } from "../client_http";

test("the channel is the one asked for; an id that is not a stream ID is dropped, the message still shows", () => {
  expect(envelopeFromServer("team/x", { id: "5-0", time: 1, channel: "alerts", message: "m" })).toEqual({ id: "5-0", time: 1, channel: "team/x", message: "m" });
  const s = new ClientState(null, "srv");
  s.set("c", "5-0");
  for (const id of ["abc", "1-0\nevent: x", "99999999999999999999999-0", ""]) {
    const env = envelopeFromServer("c", { id, time: 1, channel: "c", message: "m" });
    expect(env.id).toBe("");
    expect(env.message).toBe("m");
    expect(s.advance(env)).toBe(true);
    expect(s.get("c")).toBe("5-0");
  }
});

test("data that is not an envelope shows as its text", () => {
  expect(envelopeFromServer("c", "not json")).toMatchObject({ id: "", channel: "c", message: "not json" });
  expect(envelopeFromServer("c", { id: 5 })).toMatchObject({ id: "", channel: "c", message: '{"id":5}' });
});

test("the login sent to the web server: Bearer for a token, Basic for a user, Bearer for a password alone, nothing without either", () => {
  expect(authorization({ token: "tk_abc", user: "ann", password: "pw" })).toBe("Bearer tk_abc");
  expect(authorization({ user: "ann", password: "pw:with:colons" })).toBe(`Basic ${btoa("ann:pw:with:colons")}`);
  expect(authorization({ password: "tok" })).toBe("Bearer tok");
  expect(authorization({ user: "ann" })).toBeNull();
  expect(authorization({})).toBeNull();
});
