// web_gotify_history.ts — a Gotify user's messages read from their apps' channels' histories: numbered ones only,
// newest first by number, below `since`, at most limit + 1 (the extra one tells Gotify's paging there is more), hidden ones left out.
//
// API (used by web_gotify.ts):
//   readMessages(history, apps, marks, {since, limit}) → Promise<GotifyRow[]>   up to limit + 1 rows, newest first
//   findMessage(history, apps, n) → Promise<GotifyRow | null>                    the user's message numbered n
//   shownToGotify(env) → boolean                                                 numbered, no ntfy event, no base64 body
//   SCAN_PAGE, SCAN_SLACK
import type { CommandHistory } from "./catchup";
import type { Envelope } from "./message";
import { isHidden, newestFirst, type AppRecord, type HiddenMarks, type PagingQuery } from "./web_gotify_model";

/** A message as a Gotify listing shows it: the envelope and the user's app bound to its channel (its `appid`). */
export type GotifyRow = { env: Envelope; app: AppRecord };

/** Entries read per XREVRANGE while walking a channel's history back. */
export const SCAN_PAGE = 200;
/**
 * Entries read past the last one needed. Why: a number is taken before its XADD, so two messages published to one
 * channel at the same moment may sit in history in the other order; this many more entries find such a neighbour.
 */
export const SCAN_SLACK = 32;

/** Whether a Gotify client is shown this message: it has a number, is no ntfy event and its body is text. */
export const shownToGotify = (env: Envelope): boolean => (env.gotify?.id ?? 0) >= 1 && env.event === undefined && env.encoding !== "base64";

/**
 * Walks `channel`'s history back from the newest entry, handing each shown message to `take` until it answers
 * false, then through SCAN_SLACK entries more (still handed over), or until the history ends.
 */
async function walkBack(history: Pick<CommandHistory, "before">, channel: string, take: (env: Envelope) => boolean): Promise<void> {
  let before = "+";
  let slack = -1; // -1: still taking
  for (;;) {
    const page = await history.before(channel, before, SCAN_PAGE);
    for (const env of page) {
      if (slack === 0) return;
      if (slack > 0) slack--;
      if (shownToGotify(env) && !take(env) && slack < 0) slack = SCAN_SLACK;
    }
    if (page.length < SCAN_PAGE) return;
    before = page[page.length - 1]!.id;
  }
}

/**
 * The user's messages numbered below `since` (0: any), newest first, at most limit + 1, none hidden, from the
 * channels of `apps` (Gotify's GetMessagesByUserSince; one app for GetMessagesByApplicationSince).
 */
export async function readMessages(history: Pick<CommandHistory, "before">, apps: AppRecord[], marks: HiddenMarks, q: PagingQuery): Promise<GotifyRow[]> {
  const want = q.limit + 1;
  const rows: GotifyRow[] = [];
  await Promise.all(
    apps.map((app) => {
      let found = 0;
      // The slack entries may still hold a message that belongs (an older one numbered out of order): taken too.
      return walkBack(history, app.channel, (env) => {
        const n = env.gotify!.id;
        if ((q.since > 0 && n >= q.since) || isHidden(marks, app.id, n)) return true;
        rows.push({ env, app });
        return ++found < want;
      });
    }),
  );
  rows.sort((a, b) => newestFirst(a.env, b.env));
  return rows.slice(0, want);
}

/** The message numbered `n` on one of `apps`' channels, or null (never published there, or gone from history). */
export async function findMessage(history: Pick<CommandHistory, "before">, apps: AppRecord[], n: number): Promise<GotifyRow | null> {
  let hit: GotifyRow | null = null;
  await Promise.all(
    apps.map((app) =>
      walkBack(history, app.channel, (env) => {
        if (env.gotify!.id === n) hit ??= { env, app };
        return hit === null && env.gotify!.id > n; // numbers below n: it is not further back (but for the slack)
      }),
    ),
  );
  return hit;
}
