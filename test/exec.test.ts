// test/exec.test.ts — --exec: one command per message, in order and never overlapping, the envelope on stdin and
// its fields in NOTISTREAM_* variables; a failing command is reported and the next message still runs.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { Executor, execEnv } from "../exec";
import { tempPath } from "./helpers";

test("the variables a command gets", () => {
  expect(execEnv({ id: "1-0", time: 1, channel: "c", message: "m", title: "T", priority: 4, tags: ["a", "b"], url: "https://x.test" })).toEqual({
    NOTISTREAM_ID: "1-0",
    NOTISTREAM_CHANNEL: "c",
    NOTISTREAM_TITLE: "T",
    NOTISTREAM_MESSAGE: "m",
    NOTISTREAM_PRIORITY: "4",
    NOTISTREAM_URL: "https://x.test",
    NOTISTREAM_TAGS: "a,b",
  });
});

test("in order, one at a time, stdin and variables; a failure is reported and the next still runs", async () => {
  const log = tempPath("exec.log");
  const reports: string[] = [];
  // Each run sleeps a random moment: overlapping runs would interleave or reorder the lines.
  const cmd = `read -r json; sleep 0.0$(( RANDOM % 5 )); echo "start $NOTISTREAM_ID $NOTISTREAM_TITLE|$json" >> ${log}; [ "$NOTISTREAM_ID" != "2-0" ]; r=$?; echo "end $NOTISTREAM_ID" >> ${log}; exit $r`;
  const ex = new Executor(`bash -c '${cmd.replace(/'/g, "'\\''")}'`, (l) => reports.push(l));
  for (let i = 1; i <= 4; i++) ex.run({ id: `${i}-0`, time: i, channel: "c", message: `m${i}`, title: `t ${i}` });
  await ex.idle();
  const lines = readFileSync(log, "utf8").trim().split("\n");
  expect(lines.map((l) => l.split("|")[0])).toEqual(["start 1-0 t 1", "end 1-0", "start 2-0 t 2", "end 2-0", "start 3-0 t 3", "end 3-0", "start 4-0 t 4", "end 4-0"]);
  expect(JSON.parse(lines[0]!.split("|")[1]!)).toMatchObject({ id: "1-0", message: "m1" });
  expect(reports).toEqual(["notistream: --exec command failed for message 2-0 on c (exit 1); going on with the next"]);
});
