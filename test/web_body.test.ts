// test/web_body.test.ts — reading a body's JSON on its own: the parse error that says where, and the nesting limit that
// turns a deeply nested body into a 400 before anything walks it.
import { describe, expect, test } from "bun:test";
import { InputError } from "../web_input";
import { nestsDeeper, parseJson } from "../web_body";

describe("parseJson", () => {
  test("bad JSON is a 400 naming the part", () => {
    expect(() => parseJson("{", "the body")).toThrow(/^the body is not valid JSON/);
    expect(() => parseJson("{", "the body")).toThrow(InputError);
  });

  test("with a depth limit, deeper nesting is a 400; brackets inside strings do not count", () => {
    expect(parseJson('{"a":[[1]]}', "the body", 3)).toEqual({ a: [[1]] });
    expect(() => parseJson('{"a":[[[1]]]}', "the body", 3)).toThrow("the body nests arrays or objects more than 3 levels deep; the limit is 3");
    expect(parseJson('{"a":"[[[[[{{{{\\\\","b":"\\"[[[["}', "the body", 1)).toEqual({ a: "[[[[[{{{{\\", b: '"[[[[' });
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    expect(nestsDeeper(deep, 64)).toBe(true);
    expect(nestsDeeper("[]".repeat(1000), 1)).toBe(false);
  });
});
