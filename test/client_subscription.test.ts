// test/client_subscription.test.ts — a live message over RESP is not taken at its word: the channel is the frame's, an id
// must be a stream ID found in that channel's history (and what shows is the entry read back), else it is plain
// text that never moves the saved place; messages keep their order while checks are answered. (Issue 22, high 5.)
import { describe, expect, test } from "bun:test";
import { isStreamId, type Envelope } from "../message";
import { ClientState } from "../client_state";
import { ArrivalOrder, envelopeFromHistory, inIdOrder, liveMessage, placeAgainstHistory, settleLive, type Entry } from "../catchup";

const NOW = 1_700_000_000_000;
const payload = (o: Record<string, unknown>) => JSON.stringify({ time: 1, message: "m", ...o });
const entry = (id: string, channel: string, message: string, extra: string[] = []): Entry => ({ id, fields: ["time", "5", "channel", channel, "message", message, ...extra] });

describe("isStreamId", () => {
  test("both parts unsigned 64-bit, digits only", () => {
    for (const ok of ["0-0", "1-0", "1700000000000-3", "18446744073709551615-18446744073709551615", "007-1"]) expect(isStreamId(ok)).toBe(true);
    for (const bad of ["", "abc", "1", "1-", "-1", "1-x", "-1-0", "1-0-0", "+1-0", " 1-0", "1-0\n", "1-0\r\nid: 9", "18446744073709551616-0", "0-18446744073709551616", "1e3-0", "1.5-0", "٣-0"])
      expect(isStreamId(bad)).toBe(false);
  });
});

describe("liveMessage: what a payload may claim", () => {
  test("the channel is the frame's, whatever the payload says", () => {
    const m = liveMessage("team/x", payload({ id: "5-0", channel: "alerts" }), NOW);
    expect(m.channel).toBe("team/x");
    expect(m.checkId).toBe("5-0");
    expect(m.plain.channel).toBe("team/x");
  });
  test("an id that is not a stream ID is not looked up: the whole payload is plain text with no id", () => {
    for (const id of ["abc", "", "1-0\nevent: x", "99999999999999999999999-0"]) {
      const p = payload({ id, channel: "alerts" });
      expect(liveMessage("c", p, NOW)).toEqual({ channel: "c", checkId: null, plain: { id: "", time: NOW / 1000, channel: "c", message: p, plain: true } });
    }
    expect(liveMessage("c", "hello", NOW).checkId).toBeNull();
    expect(liveMessage("c", "{not json", NOW).plain.message).toBe("{not json");
    expect(liveMessage("c", payload({ id: 5 }), NOW).checkId).toBeNull(); // not an envelope at all
  });
});

describe("settleLive: history decides", () => {
  const huge = "18446744073709551615-18446744073709551615";
  test("an id found in the channel's history shows the entry read back, with the frame's channel", () => {
    const m = liveMessage("team/x", payload({ id: "5-0", channel: "alerts", message: "TAMPERED", title: "forged" }), NOW);
    expect(settleLive(m, envelopeFromHistory(entry("5-0", "alerts", "the real text", ["title", "Real"]), "alerts"))).toEqual({ id: "5-0", time: 5, channel: "team/x", message: "the real text", title: "Real" });
  });
  test("an id not in history (a huge one, or another channel's) shows the payload as plain text", () => {
    const m = liveMessage("blind", payload({ id: huge }), NOW);
    expect(settleLive(m, null)).toBe(m.plain);
    expect(settleLive(m, envelopeFromHistory(entry("6-0", "blind", "other entry"), "blind"))).toBe(m.plain);
  });
  test("a plain payload stays plain and never moves the saved place", () => {
    const s = new ClientState(null, "srv");
    s.set("blind", "5-0");
    const m = liveMessage("blind", payload({ id: huge }), NOW);
    expect(s.advance(settleLive(m, null))).toBe(true);
    expect(s.get("blind")).toBe("5-0");
  });
  test("history's own entries keep the channel they were read from", () => {
    expect(envelopeFromHistory(entry("1-0", "alerts", "x"), "team/x").channel).toBe("team/x");
  });
});

describe("ArrivalOrder", () => {
  test("a message waits for the checks before it; plain ones do not overtake; clear() drops what is in line", () => {
    const out: string[] = [];
    const line = new ArrivalOrder((e) => out.push(e.message));
    const e = (message: string): Envelope => ({ id: "", time: 0, channel: "c", message });
    const first = line.take();
    line.take()(e("plain 2"));
    const third = line.take();
    expect(out).toEqual([]);
    third(e("checked 3"));
    expect(out).toEqual([]);
    first(e("checked 1"));
    expect(out).toEqual(["checked 1", "plain 2", "checked 3"]);
    const lost = line.take();
    line.take()(e("behind"));
    line.clear();
    lost(e("late answer of an ended connection"));
    line.take()(e("new connection"));
    expect(out).toEqual(["checked 1", "plain 2", "checked 3", "new connection"]);
  });
});

describe("placeAgainstHistory", () => {
  test("a saved place from the future (a forged huge id) starts again from the newest entry, and says so", () => {
    const said: string[] = [];
    const s = new ClientState(null, "srv");
    s.set("c", "18446744073709551615-0");
    expect(placeAgainstHistory("c", "1700000000000-2", s, { status: (l) => said.push(l) })).toBeNull();
    expect(s.get("c")).toBe("1700000000000-2");
    expect(said).toEqual(["c: the saved place 18446744073709551615-0 is past the newest message in its history; going on from 1700000000000-2"]);
    expect(placeAgainstHistory("c", "1700000000000-2", s, { status: (l) => said.push(l) })).toBeNull();
    expect(placeAgainstHistory("c", "1800000000000-0", s, { status: (l) => said.push(l) })).toBeNull();
    expect(s.get("c")).toBe("1700000000000-2");
    expect(said).toHaveLength(1);
  });
  test("a real place past history (a node behind the newest writes, an emptied history) is kept, and the gap returned; a channel never seen is left alone", () => {
    const s = new ClientState(null, "srv");
    s.set("c", "5-0");
    expect(placeAgainstHistory("c", null, s, { status: () => {} })).toEqual({ last: "5-0", newest: null });
    expect(placeAgainstHistory("c", "4-9", s, { status: () => {} })).toEqual({ last: "5-0", newest: "4-9" });
    expect(s.get("c")).toBe("5-0");
    s.set("f", "99999999999999-0");
    expect(placeAgainstHistory("f", null, s, { status: () => {} })).toBeNull();
    expect(s.get("f")).toBe("0-0");
    expect(placeAgainstHistory("new", null, s, { status: () => {} })).toBeNull();
    expect(s.get("new")).toBeUndefined();
  });
});

test("inIdOrder: held messages with ids in id order among their places, plain ones where they arrived", () => {
  const m = (id: string, message: string) => ({ id, time: 1, channel: "c", message });
  const held = [m("5-0", "five"), m("", "plain a"), m("3-0", "three"), m("", "plain b"), m("4-0", "four")];
  expect(inIdOrder(held).map((e) => e.message)).toEqual(["three", "plain a", "four", "plain b", "five"]);
  expect(inIdOrder([m("", "x"), m("", "y")]).map((e) => e.message)).toEqual(["x", "y"]);
});
