// layout.ts — where a channel's history lives: the key names on one node and on a Redis Cluster (hash-tagged so a
// channel's stream sits in the slot its sharded messages use), and Redis Cluster's key-slot function. Pure.
import { compileGlob } from "./glob";

const HISTORY_PREFIX = "notistream:";
export const SLOTS = 16384;

/** CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with (cluster.c, crc16.c). */
const CRC_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

function crc16(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let crc = 0;
  for (let i = from; i < to; i++) crc = ((crc << 8) & 0xffff) ^ CRC_TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

const utf8 = new TextEncoder();

/** The hash tag Redis uses: the bytes between the first `{` and the next `}`, if that is not empty; else null. */
export function hashTag(name: string): string | null {
  const open = name.indexOf("{");
  if (open === -1) return null;
  const close = name.indexOf("}", open + 1);
  if (close === -1 || close === open + 1) return null;
  return name.slice(open + 1, close);
}

/** The slot a key or a shard channel maps to, as CLUSTER KEYSLOT computes it (over the UTF-8 bytes). */
export function keySlot(name: string): number {
  const tag = hashTag(name);
  const bytes = utf8.encode(tag ?? name);
  return crc16(bytes) % SLOTS;
}

/** A short tag for each slot, found on first use: for channels whose own bytes cannot sit inside `{…}`. */
const slotTags = new Map<number, string>();
function tagForSlot(slot: number): string {
  let tag = slotTags.get(slot);
  if (tag !== undefined) return tag;
  // About 16,384 tries on average, once per slot that ever needs one; each is a CRC of a few bytes.
  for (let i = 0; ; i++) {
    const candidate = i.toString(36);
    const s = keySlot(candidate);
    if (!slotTags.has(s)) slotTags.set(s, candidate);
    if (s === slot) return candidate;
  }
}

/** How history keys are named: one node keeps today's names; a cluster hash-tags them. */
export type Layout = {
  cluster: boolean;
  /** The stream that keeps `channel`'s history. */
  historyKey(channel: string): string;
  /** A KEYS pattern that finds the history keys a glob may match (on a cluster, a superset: filter with channelsMatching). */
  historyKeys(glob: string): string;
  /** The channels among history `keys` that `glob` matches, in the order given. */
  channelsMatching(keys: string[], glob: string): string[];
};

/** One node (Notistream's server or a lone Redis): `notistream:<channel>`, as it always was. */
export const SINGLE_NODE: Layout = {
  cluster: false,
  historyKey: (channel) => HISTORY_PREFIX + channel,
  historyKeys: (glob) => HISTORY_PREFIX + glob,
  channelsMatching: (keys) => keys.filter((k) => k.startsWith(HISTORY_PREFIX)).map((k) => k.slice(HISTORY_PREFIX.length)),
};

/**
 * The history key on a cluster, in the slot SPUBLISH uses for `channel`:
 * - a channel with no braces: `notistream:{<channel>}` (the whole name is the tag);
 * - a channel with a hash tag `{t}`: `notistream:{t}:<channel>` (the same tag);
 * - a channel with braces but no tag, and no `}`: `notistream:{<channel>}` still works (its tag is the whole name);
 * - otherwise (a `}` with no tag, as in `a}b` or `{}x`): `notistream:{<a tag of the same slot>}:<channel>`.
 * Every form ends in `}` or has `}:` right after the tag, so the channel can be read back from the key.
 */
export function clusterHistoryKey(channel: string): string {
  const tag = hashTag(channel);
  if (tag !== null) return `${HISTORY_PREFIX}{${tag}}:${channel}`;
  if (!channel.includes("}")) return `${HISTORY_PREFIX}{${channel}}`;
  return `${HISTORY_PREFIX}{${tagForSlot(keySlot(channel))}}:${channel}`;
}

/** The channel a cluster history key belongs to, or null if the key is not one. */
export function channelOfClusterKey(key: string): string | null {
  if (!key.startsWith(`${HISTORY_PREFIX}{`) || !key.includes("}")) return null;
  const rest = key.slice(HISTORY_PREFIX.length + 1);
  const close = rest.indexOf("}");
  if (close === rest.length - 1) return rest.slice(0, close);
  if (rest[close + 1] === ":") return rest.slice(close + 2);
  return null;
}

export const CLUSTER: Layout = {
  cluster: true,
  historyKey: clusterHistoryKey,
  historyKeys: () => `${HISTORY_PREFIX}{*`,
  channelsMatching: (keys, glob) => {
    const match = compileGlob(glob);
    const out: string[] = [];
    for (const k of keys) {
      const ch = channelOfClusterKey(k);
      if (ch !== null && clusterHistoryKey(ch) === k && match(ch)) out.push(ch);
    }
    return out;
  },
};

/** `INFO cluster` (or all of INFO) says whether the node is part of a cluster. */
export function layoutFromInfo(info: string): Layout {
  return /(^|\n)cluster_enabled:1\r?$/m.test(info) ? CLUSTER : SINGLE_NODE;
}
