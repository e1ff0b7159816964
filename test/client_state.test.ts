// client_state.test.ts — the client's place in each channel's history: advance() shows each message once, in ID order,
// and replayMissed() caps only a start or a long absence.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { ClientState } from "../client_state";
import { tempPath } from "./helpers";
import { replayMissed, type Handlers } from "../catchup";
import type { Envelope } from "../message";

const env = (id: string, channel = "c"): Envelope => ({ id, time: 0, channel, message: `m ${id}` });

function recorder(): { on: Handlers; shown: string[]; said: string[] } {
  const shown: string[] = [];
  const said: string[] = [];
  const on: Handlers = { message: (e) => shown.push(e.id), caughtUp: () => {}, status: (l) => said.push(l), fatal: () => {} };
  return { on, shown, said };
}

test("advance moves on for a newer ID and refuses one already shown or older", () => {
  const s = new ClientState(null, "srv");
  expect(s.advance(env("5-0"))).toBe(true);
  expect(s.get("c")).toBe("5-0");
  expect(s.advance(env("5-0"))).toBe(false);
  expect(s.advance(env("4-9"))).toBe(false);
  expect(s.advance(env("5-1"))).toBe(true);
  expect(s.get("c")).toBe("5-1");
  expect(s.advance(env("1-0", "other"))).toBe(true);
  // A message without an ID (from a plain Redis PUBLISH) is always shown and leaves the place alone.
  expect(s.advance(env(""))).toBe(true);
  expect(s.get("c")).toBe("5-1");
});

test("replayMissed after a short gap shows everything missed", () => {
  const s = new ClientState(null, "srv");
  s.set("c", "0-0");
  const r = recorder();
  const missed = Array.from({ length: 8 }, (_, i) => env(`${i + 1}-0`));
  replayMissed(missed, Date.now() - 1000, 3, s, r.on);
  expect(r.shown).toEqual(missed.map((e) => e.id));
  expect(r.said).toEqual([]);
  expect(s.get("c")).toBe("8-0");
});

test("replayMissed on a start or after a long absence shows the newest `limit` and says how many it skipped", () => {
  for (const lastDownAt of [0, Date.now() - 60 * 60_000]) {
    const s = new ClientState(null, "srv");
    s.set("c", "0-0");
    const r = recorder();
    replayMissed(Array.from({ length: 8 }, (_, i) => env(`${i + 1}-0`)), lastDownAt, 3, s, r.on);
    expect(r.shown).toEqual(["6-0", "7-0", "8-0"]);
    expect(r.said).toEqual(["c: skipped 5 older messages while away; showing the last 3"]);
    expect(s.get("c")).toBe("8-0");
  }
});

test("an ID that is not a stream ID never throws and never moves the place (issue 22, high 5)", () => {
  const s = new ClientState(null, "srv");
  s.set("c", "5-0");
  for (const bad of ["abc", "1-x", "-1-0", "1", "1-0-0", "18446744073709551616-0", " 6-0", "6-0\n"]) {
    expect(s.advance(env(bad))).toBe(true); // shown (as what it is), but not remembered
    expect(s.get("c")).toBe("5-0");
  }
  expect(s.advance(env("18446744073709551615-18446744073709551615"))).toBe(true); // the largest well-formed one compares
});

test("a saved place that is not a stream ID is forgotten when the file is read, the others kept (issue 22, high 5)", () => {
  const path = tempPath("state.json");
  writeFileSync(path, JSON.stringify({ servers: { srv: { good: "7-1", forged: "abc", huge: "99999999999999999999999-0" }, other: { x: "1-0" } } }));
  const s = new ClientState(path, "srv");
  expect([s.get("good"), s.get("forged"), s.get("huge")]).toEqual(["7-1", undefined, undefined]);
  expect(new ClientState(path, "other").get("x")).toBe("1-0");
});

test("an ntfy stream's place is kept per server and stream, merged with other clients', and a damaged one is dropped alone", () => {
  const path = tempPath("state.json");
  writeFileSync(path, JSON.stringify({ servers: { "https://n": { c: "1-0" } }, opaque: { "https://n": { "x,y": { since: "nope" } }, other: { s: { since: "k", horizon: 1, seen: [] } } } }));
  const s = new ClientState(path, "https://n");
  const places = s.opaquePlaces("a,b");
  expect([places.get(), s.opaquePlaces("x,y").get(), s.opaquePlaces("a,b") === places]).toEqual([undefined, undefined, true]);
  places.startAt(50);
  places.advance({ id: "Ab3dEf7hIj9k", time: 51, channel: "a", message: "m" });
  s.save();
  const again = new ClientState(path, "https://n");
  expect(again.opaquePlaces("a,b").snapshot()).toEqual({ since: "Ab3dEf7hIj9k", horizon: 50, seen: [["Ab3dEf7hIj9k", 51]] });
  expect(again.opaquePlaces("a,b").advance({ id: "Ab3dEf7hIj9k", time: 51, channel: "b", message: "m" })).toBe(false);
  expect(again.get("c")).toBe("1-0");
  expect(new ClientState(path, "other").opaquePlaces("s").get()).toBe("k");
});
