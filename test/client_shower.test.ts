// test/client_shower.test.ts — what reaches the desktop (issue 25): an update of a notification on screen replaces it at
// once (never paced into a summary), a delete or clear closes it, a catch-up closes what was withdrawn while away.
import { describe, expect, test } from "bun:test";
import { desktopShower, type Screen } from "../client_shower";
import type { Toast } from "../client_toast";
import type { Envelope } from "../message";

const env = (n: number, extra: Partial<Envelope> = {}): Envelope => ({ id: `${n}-0`, time: n, channel: "ci", message: `m${n}`, ...extra });

function fakeScreen(): Screen & { log: string[] } {
  const on = new Set<string>();
  const log: string[] = [];
  return {
    log,
    show: (t: Toast) => {
      if (t.key) on.add(t.key);
      log.push(`show ${t.body}`);
    },
    close: (key) => {
      on.delete(key);
      log.push(`close ${key.replace("\n", "/")}`);
    },
    showing: (key) => on.has(key),
  };
}

describe("desktopShower", () => {
  test("updates of a notification on screen replace it even in a burst; a delete closes it", () => {
    const screen = fakeScreen();
    const s = desktopShower(screen, 60_000);
    s.message(env(1, { sequence_id: "build", message: "running" }), false);
    for (let i = 2; i <= 4; i++) s.message(env(i), false); // the window's three are used up
    s.message(env(5), false); // held
    s.message(env(6, { sequence_id: "build", message: "passed" }), false);
    s.message(env(7, { sequence_id: "build", event: "message_delete", message: "" }), false);
    expect(screen.log).toEqual(["show running", "show m2", "show m3", "show passed", "close ci/build"]);
  });
  test("a catch-up closes what was withdrawn while away and shows the latest of each update", () => {
    const screen = fakeScreen();
    const s = desktopShower(screen);
    s.message(env(1, { sequence_id: "a", message: "v1" }), true);
    s.message(env(2, { sequence_id: "a", message: "v2" }), true);
    s.message(env(3, { sequence_id: "old", event: "message_clear", message: "" }), true);
    expect(screen.log).toEqual([]);
    s.caughtUp();
    expect(screen.log).toEqual(["close ci/old", "show v2"]);
  });
});
