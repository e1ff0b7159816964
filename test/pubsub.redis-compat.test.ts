// test/pubsub.redis-compat.test.ts — end to end: the same bytes go to a real redis-server 7.0 and to our server,
// and every reply byte (and whether the connection closed) must be the same.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { Raw, needs, startPubSub, startRedis, tempPath, type Running } from "./helpers";
import { encodeCommand, latin1 } from "../resp";

type Step = { conn?: number; send: string | Uint8Array; ids?: boolean };
type Case = { name: string; steps: Step[] };

const cmd = (...args: string[]) => encodeCommand(args);
const s = (conn: number, ...args: string[]): Step => ({ conn, send: cmd(...args) });

const CASES: Case[] = [
  { name: "PING and ECHO", steps: [{ send: cmd("PING") }, { send: cmd("PING", "hi") }, { send: cmd("PING", "a", "b") }, { send: cmd("ECHO") }, { send: cmd("ECHO", "x", "y") }, { send: cmd("echo", "bin\x00\r\nary") }] },
  { name: "unknown commands", steps: [{ send: cmd("FOO") }, { send: cmd("foo", "a", "b") }, { send: cmd("GETX", "x".repeat(200), "y") }, { send: cmd("bad\r\ncmd", "a\nb") }, { send: cmd("nul", "ab\x00cd", "e") }, { send: cmd("z", ...Array.from({ length: 40 }, (_, i) => `arg${i}`)) }] },
  { name: "inline commands", steps: [{ send: "PING\r\n" }, { send: "ping hello\n" }, { send: "   \r\n" }, { send: 'ECHO "a\\x41b\\n"\r\n' }, { send: "ECHO 'it\\'s'\r\n" }, { send: "echo  two   spaces\r\n" }, { send: "\r\n\r\nPING\r\n" }] },
  { name: "inline unbalanced quotes closes", steps: [{ send: 'ECHO "abc\r\nPING\r\n' }] },
  { name: "inline quote followed by text", steps: [{ send: 'ECHO "abc"def\r\n' }] },
  { name: "empty multibulk is ignored", steps: [{ send: "*0\r\n*-1\r\nPING\r\n" }] },
  { name: "bad multibulk length", steps: [{ send: "*abc\r\n" }] },
  { name: "multibulk length with plus", steps: [{ send: "*+1\r\n$4\r\nPING\r\n" }] },
  { name: "multibulk length too large", steps: [{ send: "*3000000000\r\n" }] },
  { name: "expected $", steps: [{ send: "*1\r\n+foo\r\n" }] },
  { name: "expected $ got newline", steps: [{ send: "*2\r\n$4\r\nECHO\r\n\n\r\n" }] },
  { name: "negative bulk length", steps: [{ send: "*1\r\n$-1\r\n" }] },
  { name: "bad bulk length", steps: [{ send: "*1\r\n$1x\r\n" }] },
  { name: "bulk length over proto-max-bulk-len", steps: [{ send: "*1\r\n$536870913\r\n" }] },
  { name: "pipelined commands before a protocol error still get replies", steps: [{ send: "PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n" }] },
  { name: "too big inline request", steps: [{ send: "A".repeat(70000) }] },
  { name: "too big mbulk count string", steps: [{ send: "*" + "1".repeat(70000) }] },
  { name: "too big bulk count string", steps: [{ send: "*1\r\n$" + "1".repeat(70000) }] },
  { name: "pipelined and split commands", steps: [{ send: "*2\r\n$4\r\nECHO\r\n$3\r\nab" }, { send: "c\r\n*1\r\n$4\r\nPI" }, { send: "NG\r\n" }] },
  {
    name: "SUBSCRIBE, PUBLISH and RESP2 subscribed mode",
    steps: [
      s(0, "SUBSCRIBE", "a", "b", "a"),
      s(1, "PUBLISH", "a", "hello"),
      s(1, "PUBLISH", "nobody", "x"),
      s(0, "PING"),
      s(0, "PING", "x"),
      s(0, "ECHO", "x"),
      s(0, "PUBLISH", "a", "x"),
      s(0, "CLIENT", "ID"),
      s(0, "UNSUBSCRIBE", "a", "zz"),
      s(1, "PUBLISH", "b", "bin\x00\r\n"),
      s(0, "UNSUBSCRIBE"),
      s(0, "UNSUBSCRIBE"),
      s(0, "PING"),
    ],
  },
  {
    name: "PSUBSCRIBE and pattern messages",
    steps: [
      s(0, "PSUBSCRIBE", "foo.*", "bar.?", "foo.*"),
      s(1, "PUBLISH", "foo.1", "m1"),
      s(1, "PUBLISH", "bar.x", "m2"),
      s(1, "PUBLISH", "bar.xx", "m3"),
      s(0, "SUBSCRIBE", "foo.1"),
      s(1, "PUBLISH", "foo.1", "both"),
      s(1, "PUBSUB", "NUMPAT"),
      s(0, "PUNSUBSCRIBE", "foo.*", "nope"),
      s(0, "PUNSUBSCRIBE"),
      s(0, "PUNSUBSCRIBE"),
      s(0, "UNSUBSCRIBE"),
    ],
  },
  {
    name: "pattern syntax",
    steps: [
      s(0, "PSUBSCRIBE", "h[ae]llo", "x[^a]y", "r[a-c]", "esc\\*", "star*", "cls[\\]]", "rev[z-a]", "open["),
      s(1, "PUBLISH", "hello", "1"),
      s(1, "PUBLISH", "hallo", "2"),
      s(1, "PUBLISH", "hxllo", "3"),
      s(1, "PUBLISH", "xby", "4"),
      s(1, "PUBLISH", "xay", "5"),
      s(1, "PUBLISH", "rb", "6"),
      s(1, "PUBLISH", "esc*", "7"),
      s(1, "PUBLISH", "escX", "8"),
      s(1, "PUBLISH", "star", "9"),
      s(1, "PUBLISH", "starry", "10"),
      s(1, "PUBLISH", "cls]", "11"),
      s(1, "PUBLISH", "revm", "12"),
      s(1, "PUBLISH", "open", "13"),
    ],
  },
  {
    name: "shard channels",
    steps: [
      s(0, "SSUBSCRIBE", "s1", "s2"),
      s(0, "SUBSCRIBE", "c1"),
      s(1, "SPUBLISH", "s1", "hi"),
      s(1, "PUBLISH", "s1", "not shard"),
      s(1, "PUBSUB", "SHARDCHANNELS", "s1"),
      s(1, "PUBSUB", "SHARDNUMSUB", "s1", "s3"),
      s(0, "SUNSUBSCRIBE", "s1"),
      s(0, "SUNSUBSCRIBE"),
      s(0, "SUNSUBSCRIBE"),
      s(0, "PING"),
      s(0, "UNSUBSCRIBE"),
      s(0, "PING"),
    ],
  },
  {
    name: "PUBSUB introspection",
    steps: [
      s(0, "SUBSCRIBE", "only"),
      s(1, "PUBSUB", "CHANNELS"),
      s(1, "PUBSUB", "CHANNELS", "o*"),
      s(1, "PUBSUB", "CHANNELS", "x*"),
      s(1, "PUBSUB", "NUMSUB", "only", "other"),
      s(1, "PUBSUB", "NUMSUB"),
      s(1, "PUBSUB", "NUMPAT"),
      s(1, "PUBSUB", "NUMPAT", "x"),
      s(1, "PUBSUB", "CHANNELS", "a", "b"),
      s(1, "PUBSUB", "SHARDCHANNELS"),
      s(1, "PUBSUB", "HELP"),
      s(1, "pubsub", "help"),
      s(1, "PUBSUB", "HELP", "x"),
      s(1, "PUBSUB", "FOO"),
      s(1, "PUBSUB"),
    ],
  },
  {
    name: "RESP3 pushes and nulls",
    steps: [
      { conn: 0, send: cmd("HELLO", "3"), ids: true },
      s(0, "SUBSCRIBE", "r3"),
      s(0, "PING"),
      s(0, "PING", "x"),
      s(0, "ECHO", "allowed in resp3"),
      s(0, "CLIENT", "GETNAME"),
      s(1, "PUBLISH", "r3", "pushed"),
      s(0, "PSUBSCRIBE", "r*"),
      s(1, "PUBLISH", "r3", "twice"),
      s(0, "UNSUBSCRIBE"),
      s(0, "UNSUBSCRIBE"),
      s(0, "PUNSUBSCRIBE"),
      s(0, "PUNSUBSCRIBE"),
      s(0, "PUBSUB", "NUMSUB", "r3"),
      { conn: 0, send: cmd("HELLO", "2"), ids: true },
      s(0, "CLIENT", "GETNAME"),
    ],
  },
  {
    name: "HELLO",
    steps: [
      s(0, "HELLO", "4"),
      s(0, "HELLO", "1"),
      s(0, "HELLO", "abc"),
      s(0, "HELLO", "3", "FOO"),
      s(0, "HELLO", "3", "AUTH", "default"),
      s(0, "HELLO", "2", "SETNAME", "a b"),
      { conn: 0, send: cmd("HELLO", "2", "SETNAME", "myname"), ids: true },
      s(0, "CLIENT", "GETNAME"),
      { conn: 0, send: cmd("HELLO", "3", "AUTH", "default", "anything"), ids: true },
      s(0, "HELLO", "2", "AUTH", "bob", "x"),
      { conn: 0, send: cmd("HELLO"), ids: true },
    ],
  },
  {
    name: "AUTH without a password",
    steps: [s(0, "AUTH", "x"), s(0, "AUTH", "a", "b", "c"), s(0, "AUTH", "default", "whatever"), s(0, "AUTH", "bob", "x"), s(0, "AUTH")],
  },
  {
    name: "CLIENT subcommands",
    steps: [
      { conn: 0, send: cmd("CLIENT", "ID"), ids: true },
      s(0, "CLIENT", "GETNAME"),
      s(0, "CLIENT", "SETNAME", "worker-1"),
      s(0, "CLIENT", "GETNAME"),
      s(0, "CLIENT", "SETNAME", "a b"),
      s(0, "CLIENT", "SETNAME", "nl\n"),
      s(0, "CLIENT", "SETNAME", ""),
      s(0, "CLIENT", "GETNAME"),
      s(0, "CLIENT", "SETNAME"),
      s(0, "CLIENT", "FOO"),
      s(0, "CLIENT"),
      s(0, "CLIENT", "HELP"),
      s(0, "CLIENT", "REPLY", "maybe"),
      s(0, "CLIENT", "KILL", "1.2.3.4:5"),
      s(0, "CLIENT", "KILL", "ID", "abc"),
      s(0, "CLIENT", "KILL", "ID", "0"),
      s(0, "CLIENT", "KILL", "ID", "999999"),
      s(0, "CLIENT", "KILL", "TYPE", "foo"),
      s(0, "CLIENT", "KILL", "TYPE"),
      s(0, "CLIENT", "KILL", "USER", "bob"),
      s(0, "CLIENT", "KILL", "SKIPME", "maybe"),
      s(0, "CLIENT", "KILL", "BOGUS", "x"),
      s(0, "CLIENT", "KILL", "TYPE", "pubsub"),
      s(0, "CLIENT", "LIST", "TYPE", "foo"),
      s(0, "CLIENT", "LIST", "x"),
      s(0, "CLIENT", "LIST", "ID", "abc"),
      s(0, "CLIENT", "LIST", "ID", "999999"),
      s(0, "CLIENT", "ID", "x"),
    ],
  },
  {
    name: "CLIENT REPLY",
    steps: [
      s(0, "CLIENT", "REPLY", "OFF"),
      s(0, "PING"),
      s(0, "NOSUCH"),
      s(0, "SUBSCRIBE", "quiet"),
      s(1, "PUBLISH", "quiet", "still delivered"),
      s(0, "UNSUBSCRIBE"),
      s(0, "CLIENT", "REPLY", "ON"),
      s(0, "CLIENT", "REPLY", "SKIP"),
      s(0, "PING", "skipped"),
      s(0, "PING", "shown"),
      { conn: 0, send: cmd("CLIENT", "REPLY", "SKIP") },
      { conn: 0, send: "PING\r\nPING b\r\n" },
    ],
  },
  { name: "CLIENT KILL by address closes that client", steps: [s(0, "SUBSCRIBE", "k"), s(1, "CLIENT", "KILL", "TYPE", "pubsub"), s(1, "PUBSUB", "NUMSUB", "k")] },
  { name: "CLIENT KILL SKIPME no kills the caller", steps: [s(0, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"), s(0, "PING")] },
  { name: "ACL without an ACL file", steps: [s(0, "ACL", "WHOAMI"), s(0, "ACL", "LOAD"), s(0, "ACL", "LOAD", "x")] },
  { name: "SELECT", steps: [s(0, "SELECT", "0"), s(0, "SELECT", "x"), s(0, "SELECT", "01"), s(0, "SELECT", "99999999999"), s(0, "SELECT")] },
  { name: "QUIT closes after +OK", steps: [{ send: "PING\r\nQUIT\r\nPING\r\n" }] },
  { name: "QUIT in subscribed mode", steps: [s(0, "SUBSCRIBE", "q"), s(0, "QUIT", "extra", "args")] },
  {
    name: "RESET",
    steps: [
      s(0, "HELLO", "3", "SETNAME", "n1"),
      s(0, "SUBSCRIBE", "x"),
      s(0, "PSUBSCRIBE", "y*"),
      s(0, "RESET"),
      s(0, "CLIENT", "GETNAME"),
      s(1, "PUBSUB", "NUMSUB", "x"),
      s(1, "PUBSUB", "NUMPAT"),
      s(0, "PING"),
      s(0, "RESET", "x"),
    ].map((st, i) => (i === 0 ? { ...st, ids: true } : st)),
  },
  {
    name: "FLUSHALL and FUNCTION FLUSH",
    steps: [
      s(0, "FLUSHALL"),
      s(0, "FLUSHALL", "ASYNC"),
      s(0, "flushall", "sync"),
      s(0, "FLUSHALL", "x"),
      s(0, "FLUSHALL", "a", "b"),
      s(0, "FUNCTION", "FLUSH"),
      s(0, "FUNCTION", "FLUSH", "ASYNC"),
      s(0, "FUNCTION", "FLUSH", "x"),
      s(0, "FUNCTION", "FLUSH", "a", "b"),
      s(0, "FUNCTION"),
      s(0, "FUNCTION", "NOPE"),
    ],
  },
  {
    name: "commands not allowed while subscribed (RESP2)",
    steps: [s(0, "SUBSCRIBE", "z"), s(0, "HELLO"), s(0, "AUTH", "x"), s(0, "PUBSUB", "NUMPAT"), s(0, "CLIENT", "SETNAME", "x"), s(0, "SELECT", "0"), s(0, "FLUSHALL"), s(0, "INFO"), s(0, "NOSUCH"), s(0, "PING", "a", "b")],
  },
];

// Streams and keys, with explicit IDs so both servers give the same answers.
const STREAM_CASES: Case[] = [
  {
    name: "XADD IDs and errors",
    steps: [
      s(0, "XADD", "s1", "1-1", "f", "v"),
      s(0, "XADD", "s1", "1-1", "f", "v"),
      s(0, "XADD", "s1", "1-*", "f", "v2"),
      s(0, "XADD", "s1", "5", "a", "1", "b", "2"),
      s(0, "XADD", "s1", "0-0", "f", "v"),
      s(0, "XADD", "s1", "abc", "f", "v"),
      s(0, "XADD", "s1", "1-x", "f", "v"),
      s(0, "XADD", "s1", "-", "f", "v"),
      s(0, "XADD", "s1", "+", "f", "v"),
      s(0, "XADD", "s1", "9-1", "f"),
      s(0, "XADD", "s1", "9-1"),
      s(0, "XADD", "s1", "18446744073709551615-18446744073709551615", "f", "v"),
      s(0, "XADD", "s1", "*", "f", "v"),
      s(0, "XADD", "s2", "NOMKSTREAM", "*", "f", "v"),
      s(0, "EXISTS", "s2"),
      s(0, "XADD", "s3", "007-01", "f", "v"),
      s(0, "XADD", "s3", "MAXLEN", "x", "*", "f", "v"),
      s(0, "XADD", "s3", "MAXLEN", "-1", "*", "f", "v"),
      s(0, "XADD", "s3", "MAXLEN", "1", "MINID", "1", "*", "f", "v"),
      s(0, "XADD", "s3", "LIMIT", "10", "*", "f", "v"),
      s(0, "XADD", "s3", "MAXLEN", "1", "LIMIT", "10", "*", "f", "v"),
      s(0, "XADD", "s3", "MAXLEN", "=", "1", "LIMIT", "-1", "*", "f", "v"),
      s(0, "XADD", "s3", "MINID", "-", "*", "f", "v"),
      // IDs read from the received bytes in their plain forms, and the forms around them that parseId reads.
      ...["0-*", "01-*", "999999999999999-*", "1000000000000000-*", "1000000000000000-+7", " 1000000000000001-1", "1000000000000001-1 ", "1000000000000001--1", "1-", "2000000000000000-**", "2000000000000000-1-1"].map((id) => s(0, "XADD", "s4", id, "f", "v")),
      s(0, "XLEN", "s1"),
      s(0, "XLEN", "nope"),
      s(0, "TYPE", "s1"),
      s(0, "TYPE", "nope"),
    ],
  },
  {
    name: "XRANGE and XREVRANGE",
    steps: [
      ...Array.from({ length: 12 }, (_, i) => s(0, "XADD", "r", `${i + 1}-${i % 3}`, "n", String(i), "bin", "a\x00b")),
      s(0, "XRANGE", "r", "-", "+"),
      s(0, "XRANGE", "r", "-", "+", "COUNT", "3"),
      s(0, "XRANGE", "r", "-", "+", "COUNT", "0"),
      s(0, "XRANGE", "r", "-", "+", "COUNT", "-5"),
      s(0, "XRANGE", "r", "(3-2", "6"),
      s(0, "XRANGE", "r", "3", "(6-2"),
      s(0, "XRANGE", "r", "4", "4"),
      s(0, "XRANGE", "r", "(18446744073709551615-18446744073709551615", "+"),
      s(0, "XRANGE", "r", "-", "(0-0"),
      s(0, "XRANGE", "r", "(-", "+"),
      s(0, "XRANGE", "r", "x", "+"),
      s(0, "XRANGE", "r", "-", "+", "COUNT"),
      s(0, "XRANGE", "r", "-", "+", "COUNT", "x"),
      s(0, "XRANGE", "r", "-", "+", "FOO", "1"),
      s(0, "XRANGE", "nope", "-", "+"),
      s(0, "XRANGE", "nope", "-", "+", "COUNT", "0"),
      s(0, "XREVRANGE", "r", "+", "-", "COUNT", "4"),
      s(0, "XREVRANGE", "r", "(9", "(2"),
      s(0, "XREVRANGE", "r", "-", "+"),
      s(0, "XRANGE", "r"),
    ],
  },
  {
    name: "XDEL, XTRIM, DEL and EXISTS",
    steps: [
      ...Array.from({ length: 250 }, (_, i) => ({ conn: 0, send: cmd("XADD", "t", `${i + 1}-0`, "k", "v") })),
      s(0, "XDEL", "t", "1-0", "2-0", "999-0", "1-0"),
      s(0, "XDEL", "t", "bad"),
      s(0, "XDEL", "nope", "1-0"),
      s(0, "XLEN", "t"),
      s(0, "XTRIM", "t", "MAXLEN", "~", "200"),
      s(0, "XLEN", "t"),
      s(0, "XTRIM", "t", "MAXLEN", "~", "10", "LIMIT", "100"),
      s(0, "XLEN", "t"),
      s(0, "XTRIM", "t", "MAXLEN", "=", "120"),
      s(0, "XRANGE", "t", "-", "+", "COUNT", "1"),
      s(0, "XTRIM", "t", "MINID", "200"),
      s(0, "XRANGE", "t", "-", "+", "COUNT", "1"),
      s(0, "XTRIM", "t", "MINID", "~", "240"),
      s(0, "XLEN", "t"),
      s(0, "XTRIM", "t", "MAXLEN", "0"),
      s(0, "XLEN", "t"),
      s(0, "XTRIM", "t", "FOO", "1"),
      s(0, "XTRIM", "t", "LIMIT", "5"),
      s(0, "XTRIM", "t", "MAXLEN", "1", "LIMIT", "5"),
      s(0, "XTRIM", "nope", "MAXLEN", "1"),
      s(0, "XADD", "t", "1-0", "k", "v"),
      s(0, "EXISTS", "t", "t", "nope"),
      s(0, "DEL", "t", "nope", "t"),
      s(0, "EXISTS", "t"),
      s(0, "XADD", "t", "1-0", "k", "v"),
    ],
  },
  {
    name: "approximate trimming on XADD",
    steps: [
      ...Array.from({ length: 350 }, (_, i) => ({ conn: 0, send: cmd("XADD", "a", "MAXLEN", "~", "120", `${i + 1}-0`, "f", "v") })),
      s(0, "XLEN", "a"),
      s(0, "XRANGE", "a", "-", "+", "COUNT", "1"),
      s(0, "XADD", "a", "MAXLEN", "5", "1000-0", "f", "v"),
      s(0, "XLEN", "a"),
    ],
  },
  {
    name: "approximate trimming honours stream-node-max-bytes (nodes of ~90-byte envelopes hold under 100)",
    steps: [
      ...Array.from({ length: 300 }, (_, i) => ({
        conn: 0,
        send: cmd("XADD", "e", "MAXLEN", "~", "50", `${1700000000000 + i * 13}-${i % 4}`, "envelope", JSON.stringify({ channel: "alerts", message: `disk ${i} is ${"x".repeat(40)}`, priority: 3 })),
      })),
      s(0, "XLEN", "e"),
      s(0, "XRANGE", "e", "-", "+", "COUNT", "1"),
      // Entries with their own field names, long values and integers stored as integers fill nodes differently.
      ...Array.from({ length: 200 }, (_, i) => s(0, "XADD", "f", "MAXLEN", "~", "30", `${i + 1}-0`, i % 3 ? "a" : "b", i % 2 ? "y".repeat(i * 3) : String(i * 1000), "n", String(-i))),
      s(0, "XLEN", "f"),
      s(0, "XRANGE", "f", "-", "+", "COUNT", "1"),
    ],
  },
  {
    // Parts below 2^53 are held as doubles and from there as BigInts (pubsub_entry.ts's U64): every step crosses it.
    name: "IDs across 2^53, where a double stops being exact",
    steps: [
      s(0, "XADD", "e", "9007199254740991-9007199254740990", "a", "1"),
      s(0, "XADD", "e", "9007199254740991-*", "a", "2"),
      s(0, "XADD", "e", "9007199254740991-*", "a", "3"),
      s(0, "XADD", "e", "9007199254740991-*", "a", "3b"),
      s(0, "XADD", "e", "9007199254740992-0", "a", "4"),
      s(0, "XADD", "e", "9007199254740992", "a", "5"),
      s(0, "XADD", "e", "9007199254740993-9007199254740993", "a", "6"),
      s(0, "XADD", "e", "9007199254740993-9007199254740992", "a", "7"),
      s(0, "XRANGE", "e", "-", "+"),
      s(0, "XRANGE", "e", "(9007199254740991-9007199254740991", "+"),
      s(0, "XRANGE", "e", "9007199254740991-9007199254740992", "(9007199254740992-1"),
      s(0, "XREVRANGE", "e", "+", "(9007199254740991-9007199254740992", "COUNT", "2"),
      s(0, "XREAD", "STREAMS", "e", "9007199254740991-9007199254740991"),
      s(0, "XDEL", "e", "9007199254740992-0", "9007199254740991-9007199254740992"),
      s(0, "XTRIM", "e", "MINID", "9007199254740991-9007199254740991"),
      s(0, "XRANGE", "e", "-", "+"),
      s(0, "XADD", "e", "MAXLEN", "2", "*", "a", "8"),
      s(0, "XLEN", "e"),
      s(0, "XADD", "d", "9007199254740993-18446744073709551615", "a", "1"),
      s(0, "XADD", "d", "9007199254740993-*", "a", "2"),
      s(0, "XADD", "d", "*", "a", "3"),
      s(0, "XRANGE", "d", "-", "+", "COUNT", "5"),
    ],
  },
  {
    name: "XADD sequence overflow, and XREADGROUP's options on XREAD",
    steps: [
      s(0, "XADD", "o", "1-18446744073709551615", "a", "b"),
      s(0, "XADD", "o", "1-*", "c", "d"),
      s(0, "XADD", "o", "2-*", "c", "d"),
      s(0, "XLEN", "o"),
      s(0, "XREAD", "NOACK", "STREAMS", "o", "0"),
      s(0, "XREAD", "COUNT", "1", "NOACK", "STREAMS", "o", "0"),
      s(0, "XREAD", "GROUP", "g", "c", "STREAMS", "o", "0"),
      s(0, "XREAD", "GROUP", "g", "STREAMS", "o", "0"),
    ],
  },
  {
    name: "XREAD",
    steps: [
      s(0, "XADD", "x1", "1-0", "a", "1"),
      s(0, "XADD", "x1", "2-0", "a", "2"),
      s(0, "XADD", "x2", "3-0", "b", "3"),
      s(0, "XREAD", "STREAMS", "x1", "x2", "0", "0"),
      s(0, "XREAD", "COUNT", "1", "STREAMS", "x1", "x2", "1-0", "0"),
      s(0, "XREAD", "STREAMS", "x1", "2-0"),
      s(0, "XREAD", "STREAMS", "x1", "$"),
      s(0, "XREAD", "STREAMS", "nope", "0"),
      s(0, "XREAD", "STREAMS", "x1"),
      s(0, "XREAD", "STREAMS", "x1", "x2", "0"),
      s(0, "XREAD", "STREAMS", "x1", ">"),
      s(0, "XREAD", "STREAMS", "x1", "bad"),
      s(0, "XREAD", "COUNT", "x", "STREAMS", "x1", "0"),
      s(0, "XREAD", "BLOCK", "-1", "STREAMS", "x1", "0"),
      s(0, "XREAD", "BLOCK", "x", "STREAMS", "x1", "0"),
      s(0, "XREAD", "FOO", "STREAMS", "x1", "0"),
      s(0, "XREAD", "COUNT", "1", "x1"),
      s(0, "XREAD", "BLOCK", "50", "STREAMS", "x1", "$"),
      { conn: 0, send: cmd("XREAD", "BLOCK", "0", "STREAMS", "x1", "x2", "$", "$") },
      s(1, "XADD", "x2", "4-0", "woke", "up"),
      s(0, "PING"),
      { conn: 0, send: cmd("XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "newkey", "$") },
      { conn: 0, send: cmd("PING", "queued while blocked") },
      s(1, "XADD", "newkey", "7-0", "first", "1"),
      s(0, "HELLO", "3"),
      s(0, "XREAD", "STREAMS", "x1", "x2", "0", "3"),
      s(0, "XREAD", "STREAMS", "nope", "0"),
      s(0, "XRANGE", "x1", "-", "+", "COUNT", "0"),
      s(0, "XREAD", "BLOCK", "50", "STREAMS", "x1", "$"),
    ].map((st) => (st.send instanceof Uint8Array && latin1(st.send).includes("HELLO") ? { ...st, ids: true } : st)),
  },
  {
    name: "KEYS, SCAN and FLUSHALL",
    steps: [
      s(0, "XADD", "notistream:c1", "1-0", "m", "x"),
      s(0, "KEYS", "*"),
      s(0, "KEYS", "notistream:*"),
      s(0, "KEYS", "other*"),
      s(0, "SCAN", "0"),
      s(0, "SCAN", "0", "MATCH", "notistream:*", "COUNT", "100"),
      s(0, "SCAN", "0", "TYPE", "stream"),
      s(0, "SCAN", "0", "TYPE", "string"),
      s(0, "SCAN", "x"),
      s(0, "SCAN", "0", "COUNT", "0"),
      s(0, "SCAN", "0", "COUNT", "x"),
      s(0, "SCAN", "0", "FOO"),
      s(0, "FLUSHALL"),
      s(0, "KEYS", "*"),
      s(0, "XLEN", "notistream:c1"),
    ],
  },
];

const PASSWORD_CASES: Case[] = [
  {
    name: "NOAUTH before AUTH",
    steps: [s(0, "PING"), s(0, "SUBSCRIBE", "x"), s(0, "PUBLISH", "x", "y"), s(0, "NOSUCH"), s(0, "PING", "a", "b", "c"), s(0, "CLIENT", "ID"), s(0, "AUTH", "wrong"), s(0, "AUTH", "default", "wrong"), s(0, "AUTH", "nobody", "s3cret"), s(0, "HELLO", "3"), s(0, "HELLO", "3", "AUTH", "default", "wrong"), s(0, "HELLO", "3", "SETNAME", "early"), s(0, "AUTH", "s3cret"), s(0, "PING"), s(0, "CLIENT", "GETNAME")],
  },
  { name: "HELLO AUTH", steps: [{ conn: 0, send: cmd("HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "me"), ids: true }, s(0, "CLIENT", "GETNAME"), s(0, "RESET"), s(0, "PING")] },
  { name: "unauthenticated multibulk length", steps: [{ send: "*11\r\n" }] },
  { name: "unauthenticated bulk length", steps: [{ send: "*1\r\n$16385\r\n" }] },
  { name: "authenticated clients may send big requests", steps: [s(0, "AUTH", "s3cret"), { conn: 0, send: cmd("ECHO", "x".repeat(20000)) }, { conn: 0, send: cmd("PING", ..."abcdefghijkl".split("")) }] },
  { name: "QUIT works before AUTH", steps: [s(0, "QUIT")] },
];

/** One ACL file that both servers load (redis-server --aclfile, ours --acl): Redis's syntax is ours too. */
const sha = (p: string) => new Bun.CryptoHasher("sha256").update(p).digest("hex");
const ACL_FILE = [
  "user default on nopass resetchannels &public.* ~notistream:public.* -@all +@connection +subscribe +psubscribe +unsubscribe +xlen +xrange +acl|whoami",
  `user alice on #${sha("alicepw")} &alerts.* &public.* ~notistream:alerts.* +@all`,
  `user pub on #${sha("pubpw")} #${sha("pubpw2")} resetchannels &alerts.news allkeys -@all +publish +ping +xadd`,
  `user gone off #${sha("gonepw")} allchannels allkeys +@all`,
  "user open on nopass allchannels allkeys +@all -flushall -client|kill",
].join("\n");
const ACL_CLOSED_FILE = [`user default off #${sha("x")} allchannels allkeys +@all`, `user bob on #${sha("bobpw")} allchannels allkeys +@all`].join("\n");

const ACL_CASES: Case[] = [
  {
    name: "anonymous (default user) rights",
    steps: [
      s(0, "PUBLISH", "public.a", "x"),
      s(0, "XLEN", "notistream:public.a"),
      s(0, "XLEN", "notistream:alerts.a"),
      s(0, "XADD", "notistream:public.a", "1-1", "a", "b"),
      s(0, "FLUSHALL"),
      s(0, "ACL", "WHOAMI"),
      s(0, "AUTH", "anything"),
      s(0, "SUBSCRIBE", "alerts.a"),
      s(0, "SUBSCRIBE", "public.b", "alerts.a"),
      s(0, "PSUBSCRIBE", "public.x*"),
      s(0, "PSUBSCRIBE", "public.*"),
      s(0, "SUBSCRIBE", "public.a"),
      s(0, "XLEN", "notistream:alerts.a"),
      s(0, "XRANGE", "notistream:public.a", "-", "+"),
      s(0, "PING"),
    ],
  },
  {
    name: "AUTH user pass, then channel and key rights",
    steps: [
      s(0, "AUTH", "alice", "wrong"),
      s(0, "AUTH", "gone", "gonepw"),
      s(0, "AUTH", "nobody", "alicepw"),
      s(0, "AUTH", "alice", "alicepw"),
      s(0, "ACL", "WHOAMI"),
      s(0, "PUBLISH", "alerts.x", "hi"),
      s(0, "PUBLISH", "other", "hi"),
      s(0, "XADD", "notistream:alerts.x", "1-1", "message", "hi"),
      s(0, "XADD", "notistream:other", "1-1", "message", "hi"),
      s(0, "XRANGE", "notistream:public.a", "-", "+"),
      s(0, "SUBSCRIBE", "alerts.x", "public.y"),
      s(1, "AUTH", "alice", "alicepw"),
      s(1, "PUBLISH", "public.y", "to-alice"),
      s(0, "RESET"),
      s(0, "ACL", "WHOAMI"),
      s(0, "DEL", "notistream:alerts.x"),
      s(2, "AUTH", "open", "x"),
      s(2, "CLIENT", "KILL", "USER", "nobody"),
      s(2, "CLIENT", "KILL", "USER", "alice"),
      s(1, "PING"),
    ],
  },
  {
    name: "HELLO AUTH and command rules",
    steps: [
      s(0, "HELLO", "3", "AUTH", "pub", "wrong"),
      { conn: 0, send: cmd("HELLO", "3", "AUTH", "pub", "pubpw2"), ids: true },
      s(0, "PUBLISH", "alerts.news", "x"),
      s(0, "PUBLISH", "alerts.x", "x"),
      s(0, "SUBSCRIBE", "alerts.news"),
      s(0, "XADD", "anything", "1-1", "a", "b"),
      s(0, "XLEN", "anything"),
      s(0, "CLIENT", "GETNAME"),
      s(0, "PING"),
      s(0, "ACL", "WHOAMI"),
      s(0, "AUTH", "open", "any-password"),
      s(0, "FLUSHALL"),
      s(0, "CLIENT", "KILL", "ID", "999999"),
      s(0, "CLIENT", "GETNAME"),
      s(0, "ACL", "WHOAMI"),
    ],
  },
];

ACL_CASES.push({
  name: "ACL LOAD closes every connection of a named user, the caller's after its +OK",
  steps: [
    s(0, "AUTH", "alice", "alicepw"),
    s(1, "AUTH", "open", "x"),
    s(2, "SUBSCRIBE", "public.z"),
    s(1, "ACL", "LOAD"),
    s(0, "PING"),
    s(2, "PING"),
    s(3, "ACL", "WHOAMI"),
  ],
});

const ACL_CLOSED_CASES: Case[] = [
  {
    name: "default user off: everything needs AUTH",
    steps: [s(0, "PING"), s(0, "SUBSCRIBE", "x"), s(0, "AUTH", "x"), s(0, "AUTH", "default", "x"), s(0, "HELLO", "3"), s(0, "AUTH", "bob", "bobpw"), s(0, "PUBLISH", "x", "y"), s(0, "RESET"), s(0, "PING")],
  },
];

type Transcript = { step: number; conn: number; bytes: string; closed: boolean }[];

async function flush(port: number): Promise<void> {
  const r = await Raw.open(port);
  await r.call("FLUSHALL");
  r.close();
}

function normalizeIds(bytes: string): string {
  return bytes.replace(/\$2\r\nid\r\n:\d+\r\n/g, "$2\r\nid\r\n:<id>\r\n").replace(/^:\d+\r\n$/, ":<id>\r\n");
}

/**
 * Redis's transcript, then ours against it. Recording Redis's waits a fixed moment per step, which a loaded machine
 * can overrun (a reply then lands on the next step): a mismatch records both again, once, with more time per step,
 * after `reset` puts both servers back where they started.
 */
async function compare(redisPort: number, oursPort: number, c: Case, reset: () => Promise<void> = async () => {}): Promise<[string, string]> {
  let want = await play(redisPort, c);
  let got = await play(oursPort, c, want);
  if (show(got) !== show(want)) {
    await reset();
    want = await play(redisPort, c, undefined, 200);
    got = await play(oursPort, c, want);
  }
  return [show(got), show(want)];
}

async function play(port: number, c: Case, expected?: Transcript, recordMs = 30): Promise<Transcript> {
  const nconns = Math.max(...c.steps.map((st) => st.conn ?? 0)) + 1;
  const conns: Raw[] = [];
  for (let i = 0; i < nconns; i++) conns.push(await Raw.open(port));
  const out: Transcript = [];
  for (let i = 0; i < c.steps.length; i++) {
    const st = c.steps[i]!;
    conns[st.conn ?? 0]!.send(st.send);
    if (expected) {
      // Wait for as many bytes as Redis sent for this step, then a little longer to catch extras.
      for (let k = 0; k < nconns; k++) {
        const want = expected.find((e) => e.step === i && e.conn === k);
        if (want && (want.bytes.length || want.closed)) await conns[k]!.waitBytes(want.bytes.length, 3000);
      }
      await Bun.sleep(15);
    } else {
      await Bun.sleep(recordMs);
    }
    for (let k = 0; k < nconns; k++) {
      const raw = conns[k]!.take().toString("latin1");
      out.push({ step: i, conn: k, bytes: st.ids && k === (st.conn ?? 0) ? normalizeIds(raw) : raw, closed: conns[k]!.closed });
    }
  }
  for (const r of conns) r.close();
  return out;
}

function show(t: Transcript): string {
  return t.map((e) => `#${e.step} c${e.conn}${e.closed ? " (closed)" : ""}: ${JSON.stringify(e.bytes)}`).join("\n");
}

needs("redis-server").describe("byte-for-byte against redis-server", () => {
  let redis: Running, ours: Running, redisPw: Running, oursPw: Running;
  beforeAll(async () => {
    [redis, ours, redisPw, oursPw] = await Promise.all([
      startRedis(),
      // No age limit: the stream cases use tiny explicit IDs (from 1970), which the 7-day limit would expire.
      startPubSub(["--history-max-age", "0"]),
      startRedis(["--requirepass", "s3cret"]),
      startPubSub(["--password", "s3cret", "--history-max-age", "0"]),
    ]);
  });
  afterAll(async () => {
    await Promise.all([redis?.stop(), ours?.stop(), redisPw?.stop(), oursPw?.stop()]);
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const [got, want] = await compare(redis.port, ours.port, c);
      expect(got).toBe(want);
    }, 60000);
  }
  for (const c of STREAM_CASES) {
    test(`streams: ${c.name}`, async () => {
      const reset = () => Promise.all([flush(redis.port), flush(ours.port)]).then(() => {});
      await reset();
      const [got, want] = await compare(redis.port, ours.port, c, reset);
      expect(got).toBe(want);
    }, 180000);
  }
  for (const c of PASSWORD_CASES) {
    test(`with a password: ${c.name}`, async () => {
      const [got, want] = await compare(redisPw.port, oursPw.port, c);
      expect(got).toBe(want);
    }, 60000);
  }
});

// Cluster-aware clients probe a node before they trust it: a server without cluster support answers like this.
CASES.push({
  name: "CLUSTER, READONLY, READWRITE and ASKING on a server without cluster support",
  steps: [
    s(0, "CLUSTER", "INFO"),
    s(0, "CLUSTER", "SLOTS"),
    s(0, "CLUSTER", "SHARDS"),
    s(0, "CLUSTER", "NODES"),
    s(0, "CLUSTER", "KEYSLOT", "notistream:{alerts}"),
    s(0, "CLUSTER", "HELP"),
    s(0, "CLUSTER", "MYID", "x"),
    s(0, "CLUSTER", "NOSUCH"),
    s(0, "CLUSTER"),
    s(0, "cluster", "info"),
    s(0, "READONLY"),
    s(0, "READWRITE"),
    s(0, "ASKING"),
    s(0, "INFO", "cluster"),
  ],
});

// INFO sections whose bytes do not depend on timing; each case gets fresh servers so error counts start at zero.
const INFO_CASES: Case[] = [
  { name: "INFO cluster, modules, an unknown section, and Redis's section order", steps: [s(0, "INFO", "cluster"), s(0, "INFO", "modules"), s(0, "INFO", "nosuch"), s(0, "INFO", "cluster", "modules", "cluster")] },
  {
    name: "INFO errorstats counts every error reply by its code",
    steps: [
      s(0, "INFO", "errorstats"),
      s(0, "NOSUCH"),
      s(0, "SUBSCRIBE"),
      s(0, "CLIENT", "NOSUCH"),
      s(0, "XADD", "k", "0-0", "a", "b"),
      s(0, "SELECT", "x"),
      s(0, "HELLO", "4"),
      s(0, "AUTH", "a", "b"),
      s(1, "SUBSCRIBE", "c"),
      s(1, "PUBLISH", "c", "x"),
      { conn: 1, send: "*1\r\n$x\r\n" },
      s(0, "INFO", "errorstats", "cluster"),
      s(0, "CLIENT", "REPLY", "OFF"),
      s(0, "NOSUCH"),
      s(0, "CLIENT", "REPLY", "ON"),
      s(0, "INFO", "errorstats"),
    ],
  },
  {
    // Redis keeps error codes in a radix tree, so errorstats lists them in byte order, not in the order they happened.
    name: "INFO errorstats lists codes in byte order",
    steps: [s(0, "AUTH", "a", "b"), s(0, "HELLO", "4"), s(0, "NOSUCH"), s(0, "INFO", "errorstats")],
  },
];

needs("redis-server").describe("INFO byte-for-byte against redis-server", () => {
  for (const c of INFO_CASES) {
    test(c.name, async () => {
      const [redis, ours] = await Promise.all([startRedis(), startPubSub(["--history-max-age", "0"])]);
      try {
        const want = await play(redis.port, c);
        const got = await play(ours.port, c, want);
        expect(show(got)).toBe(show(want));
      } finally {
        await Promise.all([redis.stop(), ours.stop()]);
      }
    }, 30000);
  }
});

// INFO's layout against redis-server 7.0.15: values differ (uptime, memory, ids), the section headers, their order, the
// blank lines between them and the field names must not. Redis runs with latency tracking off, as ours keeps no
// per-command latency histograms (its Latencystats section is then a bare header, as ours is).
/** Fields Redis 7.0.15 does not print, each ours on purpose; any other name must be Redis's own. */
const INFO_EXTRAS = new Set([
  "pubsub_clients", // Redis 7.2's name, in Clients
  "client_output_buffer_limit_disconnections", // Redis 7.2's name, in Stats
  "total_published_messages", // PUBLISH calls that reached the server
  "total_delivered_messages", // messages written to subscribers
]);
const ours_ = (name: string) => name.startsWith("notistream_") || INFO_EXTRAS.has(name);
/** Sections whose field names we print exactly as Redis does, every one of them. */
const INFO_EXACT = new Set(["# Replication", "# CPU", "# Modules", "# Commandstats", "# Errorstats", "# Latencystats", "# Cluster", "# Keyspace"]);

/** INFO's text with each value cut off, section by section: "# Header" and "name:" lines, blank lines kept. */
function infoSkeleton(text: string): { header: string; names: string[] }[] {
  const out: { header: string; names: string[] }[] = [];
  for (const line of text.split("\r\n")) {
    if (line.startsWith("# ")) out.push({ header: line, names: [] });
    else if (line !== "") out.at(-1)!.names.push(line.slice(0, line.indexOf(":")));
  }
  return out;
}

needs("redis-server").describe("INFO's sections and field names against redis-server", () => {
  let redis: Running, ours: Running;
  const conns: Raw[] = [];
  beforeAll(async () => {
    [redis, ours] = await Promise.all([startRedis(["--latency-tracking", "no"]), startPubSub(["--history-max-age", "0"])]);
    for (const port of [redis.port, ours.port]) {
      const c = await Raw.open(port);
      // A key and a few commands, so Keyspace and Commandstats have lines to compare.
      for (const args of [["XADD", "notistream:info", "*", "message", "x"], ["PING"], ["PUBLISH", "c", "m"], ["NOSUCH"]]) await c.call(...args);
      conns.push(c);
    }
  });
  afterAll(async () => {
    for (const c of conns) c.close();
    await Promise.all([redis?.stop(), ours?.stop()]);
  });

  const ARGS = [[], ["default"], ["all"], ["everything"], ["cpu", "replication"], ["replication", "cpu"], ["cpu", "all"], ["cpu", "default"], ["cpu", "sentinel"],
    ["commandSTATS"], ["latencystats"], ["module_list"], ["modules"], ["CPU", "cpu", "Replication"], ["default", "commandstats"], ["nosuch"], ["all", "nosuch"], ["keyspace", "server"]];
  for (const args of ARGS) {
    test(`INFO ${args.join(" ") || "(no argument)"}: the same sections in the same order, Redis's field names in Redis's order`, async () => {
      // Twice each, so the INFO just sent is counted in Commandstats on both sides.
      const [redisText, oursText] = await Promise.all(conns.map(async (c) => (await c.call("INFO", ...args), String(await c.call("INFO", ...args)))));
      const want = infoSkeleton(redisText!);
      const got = infoSkeleton(oursText!);
      // The frame: same headers in the same order, sections separated by one blank line, the text ending in CRLF.
      expect(got.map((x) => x.header)).toEqual(want.map((x) => x.header));
      expect(oursText!.replace(/^(?!#)[^\r\n]*\r\n/gm, "")).toBe(redisText!.replace(/^(?!#)[^\r\n]*\r\n/gm, ""));
      for (let i = 0; i < want.length; i++) {
        // Commandstats follows Redis's command dict, whose hash is seeded at random on each start: compare as sets.
        const order = (names: string[]) => (want[i]!.header === "# Commandstats" ? names.toSorted() : names);
        const mine = order(got[i]!.names.filter((n) => !ours_(n)));
        // A section we serve in part keeps Redis's order among the fields it has; a name Redis lacks fails here.
        const redisHas = order(INFO_EXACT.has(want[i]!.header) ? want[i]!.names : want[i]!.names.filter((n) => mine.includes(n)));
        expect(`${got[i]!.header}\n${mine.join("\n")}`).toBe(`${want[i]!.header}\n${redisHas.join("\n")}`);
      }
    });
  }

  test("INFO replication is a master's with no replicas, value for value but for the random master_replid", async () => {
    const [redisText, oursText] = await Promise.all(conns.map(async (c) => String(await c.call("INFO", "replication"))));
    const mask = (t: string) => t.replace(/master_replid:[0-9a-f]{40}/, "master_replid:<40 hex>");
    expect(mask(oursText!)).toBe(mask(redisText!));
    expect(oursText).toMatch(/master_replid:[0-9a-f]{40}\r\n/);
  });
});

needs("redis-server").describe("ACL byte-for-byte against redis-server --aclfile", () => {
  const servers: Record<string, Running> = {};
  beforeAll(async () => {
    const open = tempPath("users.acl");
    const closed = tempPath("closed.acl");
    writeFileSync(open, ACL_FILE + "\n");
    writeFileSync(closed, ACL_CLOSED_FILE + "\n");
    [servers.redis, servers.ours, servers.redisClosed, servers.oursClosed] = await Promise.all([
      startRedis(["--aclfile", open]),
      startPubSub(["--acl", open, "--history-max-age", "0"]),
      startRedis(["--aclfile", closed]),
      startPubSub(["--acl", closed, "--history-max-age", "0"]),
    ]);
  });
  afterAll(async () => {
    await Promise.all(Object.values(servers).map((r) => r.stop()));
  });
  for (const c of ACL_CASES) {
    test(c.name, async () => {
      const want = await play(servers.redis!.port, c);
      const got = await play(servers.ours!.port, c, want);
      expect(show(got)).toBe(show(want));
    }, 30000);
  }
  for (const c of ACL_CLOSED_CASES) {
    test(c.name, async () => {
      const want = await play(servers.redisClosed!.port, c);
      const got = await play(servers.oursClosed!.port, c, want);
      expect(show(got)).toBe(show(want));
    }, 30000);
  }
});
