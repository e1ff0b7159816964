// test/client_report.test.ts — problem lines: the first said at once, the same kind held back within the interval, and
// the held ones said (counted) when the interval ends, so none is swallowed.
import { expect, test } from "bun:test";
import { Reporter } from "../client_report";

test("a flood of one problem is one line now and one counted line when the interval ends", async () => {
  const lines: string[] = [];
  const r = new Reporter((l) => lines.push(l), 200);
  r.say("desktop", "failed A");
  r.say("desktop", "failed B");
  r.say("open", "other kind");
  r.say("desktop", "failed C");
  expect(lines).toEqual(["failed A", "other kind"]);
  await Bun.sleep(300);
  expect(lines).toEqual(["failed A", "other kind", "failed C (2 more times in the last 200 ms)"]);
  await Bun.sleep(300);
  r.say("desktop", "failed D");
  expect(lines.at(-1)).toBe("failed D");
});
