// test/layout.test.ts — layout.ts: Redis Cluster's key slots (CRC16 vectors from the cluster spec), hash tags, and
// history key names on one node and on a cluster, read back and fuzzed. (Checked against a real cluster's CLUSTER
// KEYSLOT in test/cluster.e2e.test.ts.)
import { describe, expect, test } from "bun:test";
import { CLUSTER, SINGLE_NODE, channelOfClusterKey, clusterHistoryKey, hashTag, keySlot, layoutFromInfo } from "../layout";
import { seededRandom } from "./helpers";

describe("keySlot", () => {
  test("the cluster spec's CRC16 vector and its hash-tag examples", () => {
    // CRC16 of "123456789" is 0x31C3 (the spec's check value); 0x31C3 % 16384 = 12739.
    expect(keySlot("123456789")).toBe(0x31c3 % 16384);
    expect(keySlot("{user1000}.following")).toBe(keySlot("{user1000}.followers"));
    expect(keySlot("foo{}{bar}")).not.toBe(keySlot("bar")); // an empty first tag: the whole key is hashed
    expect(keySlot("foo{{bar}}zap")).toBe(keySlot("{bar"));
    expect(keySlot("foo{bar}{zap}")).toBe(keySlot("bar"));
  });

  test("hash tags: first { to the next }, not empty", () => {
    expect(hashTag("a{b}c")).toBe("b");
    expect(hashTag("{}x")).toBeNull();
    expect(hashTag("a{b")).toBeNull();
    expect(hashTag("a}b{c}")).toBe("c");
    expect(hashTag("plain")).toBeNull();
  });
});

describe("history keys", () => {
  test("one node keeps today's names", () => {
    expect(SINGLE_NODE.historyKey("alerts")).toBe("notistream:alerts");
    expect(SINGLE_NODE.historyKeys("octo/*")).toBe("notistream:octo/*");
    expect(SINGLE_NODE.channelsMatching(["notistream:octo/a", "notistream:octo/b"], "octo/*")).toEqual(["octo/a", "octo/b"]);
  });

  test("a cluster hash-tags them into the channel's own slot", () => {
    expect(CLUSTER.historyKey("alerts")).toBe("notistream:{alerts}");
    expect(CLUSTER.historyKey("a{b}c")).toBe("notistream:{b}:a{b}c");
    expect(CLUSTER.historyKey("a{b")).toBe("notistream:{a{b}");
    for (const ch of ["alerts", "a{b}c", "a{b", "a}b", "{}x", "}{", "x}{}", "ünï/✓"]) {
      expect(keySlot(CLUSTER.historyKey(ch))).toBe(keySlot(ch));
      expect(channelOfClusterKey(CLUSTER.historyKey(ch))).toBe(ch);
    }
  });

  test("fuzz: any channel of braces and letters maps to its slot and reads back, and no two share a key", () => {
    const rnd = seededRandom(16);
    const alphabet = "ab{}:/*é";
    const keys = new Map<string, string>();
    for (let i = 0; i < 20_000; i++) {
      let ch = "";
      const len = 1 + Math.floor(rnd() * 8);
      for (let j = 0; j < len; j++) ch += alphabet[Math.floor(rnd() * alphabet.length)];
      const key = clusterHistoryKey(ch);
      expect(keySlot(key)).toBe(keySlot(ch));
      expect(channelOfClusterKey(key)).toBe(ch);
      const other = keys.get(key);
      if (other !== undefined) expect(other).toBe(ch);
      keys.set(key, ch);
    }
  });

  test("globs on a cluster: every history key is listed, then matched by channel", () => {
    const keys = ["a", "octo/x", "octo/{y}", "other", "octo/z}"].map(clusterHistoryKey);
    expect(CLUSTER.channelsMatching([...keys, "notistream:{junk}tail", "unrelated"], "octo/*")).toEqual(["octo/x", "octo/{y}", "octo/z}"]);
  });

  test("INFO cluster decides", () => {
    expect(layoutFromInfo("# Cluster\r\ncluster_enabled:1\r\n").cluster).toBe(true);
    expect(layoutFromInfo("txt:# Cluster\r\ncluster_enabled:0\r\n").cluster).toBe(false);
    expect(layoutFromInfo("").cluster).toBe(false);
  });
});
