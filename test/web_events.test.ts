// test/web_events.test.ts — web_events.ts without a server: the request limits and ID checks, the output-limit flag's format,
// and /messages over an in-memory store (the merge across channels, paging, every read with a COUNT, reads bounded).
import { describe, expect, test } from "bun:test";
import { compareIds, type Envelope } from "../message";
import { InputError } from "../web_input";
import { MAX_NAMES, MAX_READ_CHANNELS, channelsFrom, checkId, recentMessages } from "../web_events";
import { SINGLE_NODE } from "../layout";
import { globMatch } from "../glob";
import type { Store } from "../web_publisher";
import { seededRandom } from "./helpers";

const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as InputError).message;
  }
  throw new Error("no InputError");
};

describe("what a request may name", () => {
  test("channels and globs: at most MAX_NAMES, each glob within its limits", () => {
    expect(channelsFrom(new URL("http://x/?channels=a,b&channel=c&channel=a"))).toEqual(["c", "a", "b"]);
    const many = Array.from({ length: MAX_NAMES + 1 }, (_, i) => `c${i}`).join(",");
    expect(refusal(() => channelsFrom(new URL(`http://x/?channels=${many}`)))).toContain(`the limit is ${MAX_NAMES}`);
    expect(channelsFrom(new URL(`http://x/?channels=${many.split(",").slice(1).join(",")}`)).length).toBe(MAX_NAMES);
    expect(refusal(() => channelsFrom(new URL(`http://x/?channel=${encodeURIComponent("a*b*c*d*e*f")}`)))).toContain("at most 4");
    expect(channelsFrom(new URL(`http://x/?channel=${encodeURIComponent("team/*/x/[ab]?")}`))).toEqual(["team/*/x/[ab]?"]);
  });
  test("ids: complete stream IDs of two unsigned 64-bit numbers, else a 400 that says so", () => {
    expect(checkId("18446744073709551615-18446744073709551615", "since")).toBe("18446744073709551615-18446744073709551615");
    expect(checkId(null, "since")).toBeUndefined();
    expect(checkId("", "since")).toBeUndefined();
    for (const bad of ["99999999999999999999-0", "18446744073709551616-0", "1-18446744073709551616", "1", "1-", "x-1", "1-1 "])
      expect(refusal(() => checkId(bad, "since"))).toContain("at most 18446744073709551615");
  });

});

/** An in-memory store of channel histories that answers XRANGE, XREVRANGE and KEYS as Redis does, and counts reads. */
function memoryStore(histories: Map<string, string[]>) {
  const reads: { command: string; args: string[]; returned: number }[] = [];
  const inRange = (id: string, lo: string, hi: string) => {
    const above = lo === "-" || (lo.startsWith("(") ? compareIds(id, lo.slice(1)) > 0 : compareIds(id, lo) >= 0);
    const below = hi === "+" || (hi.startsWith("(") ? compareIds(id, hi.slice(1)) < 0 : compareIds(id, hi) <= 0);
    return above && below;
  };
  const store: Store = {
    async send(command, args) {
      const [key, a, b, countWord, count] = args as [string, string, string, string?, string?];
      const ch = key.slice("notistream:".length);
      const ids = histories.get(ch) ?? [];
      const rev = command === "XREVRANGE";
      const [lo, hi] = rev ? [b, a] : [a, b];
      let hits = ids.filter((id) => inRange(id, lo, hi));
      if (rev) hits = hits.reverse();
      if (countWord === "COUNT") hits = hits.slice(0, Number(count));
      reads.push({ command, args, returned: hits.length });
      return hits.map((id) => [id, ["time", "1", "channel", ch, "message", `${ch} ${id}`]]);
    },
    async keys(pattern) {
      return [...histories.keys()].map((c) => `notistream:${c}`).filter((k) => globMatch(pattern, k));
    },
    async layout() {
      return SINGLE_NODE;
    },
    async publishPayload() {
      return 0;
    },
  };
  return { store, reads };
}

describe("GET /messages over many channels", () => {
  // 30 channels with interleaved IDs (some sharing a millisecond), 0 to 300 entries each.
  const rnd = seededRandom(7);
  const histories = new Map<string, string[]>();
  let ms = 1_700_000_000_000;
  for (let i = 0; i < 3000; i++) {
    ms += Math.floor(rnd() * 3);
    const ch = `g/${Math.floor(rnd() * rnd() * 30)}`;
    const list = histories.get(ch) ?? [];
    const last = list.at(-1);
    const seq = last && last.startsWith(`${ms}-`) ? Number(last.split("-")[1]) + 1 : 0;
    list.push(`${ms}-${seq}`);
    histories.set(ch, list);
  }
  histories.set("other", ["1-0"]);
  const all = [...histories.entries()].filter(([c]) => c.startsWith("g/")).flatMap(([, ids]) => ids).sort(compareIds);
  const ask = async (query: string) => {
    const { store, reads } = memoryStore(histories);
    const got: Envelope[] = await recentMessages(new URL(`http://x/messages?${query}`), store);
    return { ids: got.map((e) => e.id), got, reads };
  };

  test("the newest, older pages with before, newer ones with since: each exactly what a full sort gives", async () => {
    for (const limit of [1, 7, 50, 1000]) {
      expect((await ask(`channel=g/*&limit=${limit}`)).ids).toEqual(all.slice(-limit));
      // Channels have IDs of their own, so two may share one: since and before leave out the pivot on every channel.
      const pivot = all[Math.floor(all.length / 2)]!;
      expect((await ask(`channel=g/*&limit=${limit}&before=${pivot}`)).ids).toEqual(all.filter((id) => compareIds(id, pivot) < 0).slice(-limit));
      expect((await ask(`channel=g/*&limit=${limit}&since=${pivot}`)).ids).toEqual(all.filter((id) => compareIds(id, pivot) > 0).slice(0, limit));
    }
    expect((await ask("channel=g/*&since=0-0&limit=5")).ids).toEqual(all.slice(0, 5));
    expect((await ask("channel=g/*&before=0-0")).ids).toEqual([]);
    expect((await ask("channel=g/*&since=18446744073709551615-18446744073709551615")).ids).toEqual([]);
    const mixed = await ask("channels=g/3,g/*,other&limit=20");
    expect(mixed.ids).toEqual([...all, "1-0"].sort(compareIds).slice(-20));
    expect(mixed.got.every((e) => e.message === `${e.channel} ${e.id}`)).toBe(true);
  });

  test("every read has a COUNT, and a request reads about twice its limit, not the channels in full", async () => {
    for (const limit of [10, 100, 1000]) {
      const { reads } = await ask(`channel=g/*&limit=${limit}`);
      expect(reads.every((r) => r.args.includes("COUNT"))).toBe(true);
      const read = reads.reduce((n, r) => n + r.returned, 0);
      expect(read).toBeLessThanOrEqual(2 * Math.max(limit, 64) + histories.size);
    }
  });

  test(`more than ${MAX_READ_CHANNELS} channels behind the names: a 400 naming the limit`, async () => {
    const wide = new Map<string, string[]>(Array.from({ length: MAX_READ_CHANNELS + 1 }, (_, i) => [`w/${i}`, ["1-0"]]));
    const { store } = memoryStore(wide);
    const err = await recentMessages(new URL("http://x/messages?channel=w/*"), store).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toContain(`at most ${MAX_READ_CHANNELS}`);
  });
});
