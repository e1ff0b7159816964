// test/client_exec.test.ts — --exec: one command per message, in order and never overlapping, the envelope on stdin and
// its fields in NOTISTREAM_* variables; a failing command is reported and the next message still runs.
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { Executor, execEnv } from "../client_exec";
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
    NOTISTREAM_EVENT: "",
    NOTISTREAM_SEQUENCE_ID: "1-0",
    NOTISTREAM_ATTACHMENT_URL: "",
  });
});

test("a withdrawal, an update's key and an attachment (issue 25)", () => {
  expect(execEnv({ id: "2-0", time: 1, channel: "c", message: "", event: "message_delete", sequence_id: "build-7" })).toMatchObject({ NOTISTREAM_EVENT: "message_delete", NOTISTREAM_SEQUENCE_ID: "build-7" });
  expect(execEnv({ id: "3-0", time: 1, channel: "c", message: "m", attachment: { name: "a.png", url: "https://x.test/file/a.png" } }).NOTISTREAM_ATTACHMENT_URL).toBe("https://x.test/file/a.png");
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

test("control characters in the variables are shown as escapes; stdin's JSON keeps the exact text (issue 22, medium 5)", () => {
  const vars = execEnv({ id: "1-0", time: 1, channel: "c\x1b", message: "a\x1b]52;c;ZXZpbA==\x07\nb\tc\u009b\u202e\0", title: "\x1b[2J" });
  expect(vars.NOTISTREAM_MESSAGE).toBe("a\\x1b]52;c;ZXZpbA==\\x07\nb\tc\\x9b\\u202e\\x00");
  expect(vars.NOTISTREAM_TITLE).toBe("\\x1b[2J");
  expect(vars.NOTISTREAM_CHANNEL).toBe("c\\x1b");
});

test("a message never becomes part of the command: $(…), backticks and ; in it are text (issue 22, medium 5)", async () => {
  const dir = tempPath("exec-inject");
  const out = `${dir}.out`;
  const json = `${dir}.json`;
  const reports: string[] = [];
  const evil = `$(touch ${dir}.pwned1); \`touch ${dir}.pwned2\`; touch ${dir}.pwned3 \x1b[2J\u009b`;
  const ex = new Executor(`printf '%s' "$NOTISTREAM_MESSAGE" > ${out}; cat > ${json}`, (l) => reports.push(l));
  ex.run({ id: "1-0", time: 1, channel: "c", message: evil });
  await ex.idle();
  expect(reports).toEqual([]);
  for (const n of [1, 2, 3]) expect(existsSync(`${dir}.pwned${n}`)).toBe(false);
  expect(readFileSync(out, "utf8")).toBe(evil.replace("\x1b", "\\x1b").replace("\u009b", "\\x9b"));
  const stdin = readFileSync(json, "utf8");
  expect(JSON.parse(stdin).message).toBe(evil);
  expect(stdin).not.toMatch(/[\x1b\u009b]/);
});
