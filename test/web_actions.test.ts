// test/web_actions.test.ts — ntfy's action buttons read from both of their formats, every field, the split and quoting
// rules, and every refusal: cases from ntfy's own server/actions_test.go (TestParseActions, v2.13) with `copy` as the
// wire reference (§2.1, action/action.go of v2.27) describes it, then a fuzz that nothing but a 40018 is ever thrown.
import { describe, expect, test } from "bun:test";
import { parseActions } from "../web_actions";
import { NtfyError } from "../web_ntfy";

/** The actions without their random ids (each checked to be 10 characters of [A-Za-z0-9]). */
function parsed(text: string): Record<string, unknown>[] {
  return parseActions(text).map(({ id, ...rest }) => {
    expect(id).toMatch(/^[A-Za-z0-9]{10}$/);
    return rest;
  });
}

/** The 40018 a bad actions parameter gets, its sentence returned. */
function refusal(text: string): string {
  try {
    parseActions(text);
  } catch (err) {
    expect(err).toBeInstanceOf(NtfyError);
    const e = err as NtfyError;
    expect(e.kind.code).toBe(40018);
    expect(e.status).toBe(400);
    return e.detail ?? "";
  }
  throw new Error(`no refusal for ${text}`);
}

describe("the simple format", () => {
  test("whole: two actions, positional and key=value", () => {
    expect(parsed("action=http, label=Open door, url=https://door.lan/open; view, Show portal, https://door.lan")).toEqual([
      { action: "http", label: "Open door", clear: false, url: "https://door.lan/open" },
      { action: "view", label: "Show portal", clear: false, url: "https://door.lan" },
    ]);
  });
  test("every field: method upper-cased, headers.X and extras.k (dashes, underscores), body, intent, clear, copy's value", () => {
    expect(parsed("action=http, label=Send, url=http://example.com, method=put, headers.Content-Type=application/json, headers.Authorization=Basic sdasffsf, body=this is a body, clear=yes")).toEqual([
      { action: "http", label: "Send", clear: true, url: "http://example.com", method: "PUT", headers: { "Content-Type": "application/json", Authorization: "Basic sdasffsf" }, body: "this is a body" },
    ]);
    expect(parsed("action=broadcast, label=Do a thing, intent=io.heckel.ntfy.TEST_INTENT, extras.command=some command, extras.some_param=a parameter")).toEqual([
      { action: "broadcast", label: "Do a thing", clear: false, intent: "io.heckel.ntfy.TEST_INTENT", extras: { command: "some command", some_param: "a parameter" } },
    ]);
    expect(parsed("copy, Copy code, 1234-5678; COPY, Again, value=x, clear=1")).toEqual([
      { action: "copy", label: "Copy code", clear: false, value: "1234-5678" },
      { action: "copy", label: "Again", clear: true, value: "x" },
    ]);
  });
  test("quoting: commas, semicolons and escaped quotes inside \" or ' values; spaces around = and ,", () => {
    expect(parsed(`action=http, "Look ma, \\"quotes\\"; and semicolons", url=http://example.com`)[0]!.label).toBe(`Look ma, "quotes"; and semicolons`);
    expect(parsed(`action=http, '"quotes" and \\'single quotes\\'', url=http://example.com`)[0]!.label).toBe(`"quotes" and 'single quotes'`);
    expect(parsed(`action=http, Post it, url=http://example.com, body='{"temperature": 65}'`)[0]!.body).toBe(`{"temperature": 65}`);
    expect(parsed(`label="Out of order!" , action="http", url=http://example.com`)).toEqual([{ action: "http", label: "Out of order!", clear: false, url: "http://example.com" }]);
    expect(parsed(`action = http, label = 'this is a label', url = "http://google.com"`)).toEqual([{ action: "http", label: "this is a label", clear: false, url: "http://google.com" }]);
    expect(parsed(`action = http, 'Кохайтеся а не воюйте, 💙🫤', url = "http://google.com"`)[0]!.label).toBe("Кохайтеся а не воюйте, 💙🫤");
  });
  test("splitting: awkward spacing, a quoted label keeps its spaces, a trailing ; and an empty input", () => {
    expect(parsed(`http , 'Make love, not war 💙🫤' , https://ntfy.sh ; view, " yo ", https://x.org, clear=true`)).toEqual([
      { action: "http", label: "Make love, not war 💙🫤", clear: false, url: "https://ntfy.sh" },
      { action: "view", label: " yo ", clear: true, url: "https://x.org" },
    ]);
    expect(parsed("view, Open, https://x.test/a?b=c&d=e; ")).toEqual([{ action: "view", label: "Open", clear: false, url: "https://x.test/a?b=c&d=e" }]);
    expect(parsed("")).toEqual([]);
    expect(parsed("[]")).toEqual([]);
  });
  test("an unquoted value ends at the first comma: a url with a comma must be quoted", () => {
    expect(refusal("view, Open, https://x.test/a,b")).toContain("action 1 (view \"Open\")");
    expect(parsed(`view, Open, "https://x.test/a,b"`)[0]!.url).toBe("https://x.test/a,b");
  });
});

describe("the JSON format", () => {
  test("an array of objects, each field with ntfy's types; unknown keys ignored, as Go's decoder ignores them", () => {
    expect(parsed(`[{"action":"http","label":"Open door","url":"https://door.lan/open","method":"post","headers":{"X-A":"1"},"body":"b","clear":true,"id":"ignored","color":"red"},{"action":"view","label":"Show","url":"https://door.lan"}]`)).toEqual([
      { action: "http", label: "Open door", clear: true, url: "https://door.lan/open", method: "POST", headers: { "X-A": "1" }, body: "b" },
      { action: "view", label: "Show", clear: false, url: "https://door.lan" },
    ]);
    expect(parsed(`[{"action":"broadcast","label":"B","extras":{"cmd":"pic"}},{"action":"copy","label":"C","value":"v"}]`)).toEqual([
      { action: "broadcast", label: "B", clear: false, extras: { cmd: "pic" } },
      { action: "copy", label: "C", clear: false, value: "v" },
    ]);
  });
  test("each action gets an id of its own, whatever the sender put there", () => {
    const [a, b] = parseActions(`[{"action":"view","label":"A","url":"https://a","id":"same"},{"action":"view","label":"B","url":"https://b","id":"same"}]`);
    expect(a!.id).not.toBe("same");
    expect(a!.id).not.toBe(b!.id);
  });
});

describe("refusals: 40018, saying which action and why", () => {
  test("ntfy's own cases", () => {
    expect(refusal(`label="Out of order!" x, action="http", url=http://example.com`)).toContain('unexpected "x" at position 22');
    expect(refusal(`label="", action="http", url=http://example.com`)).toBe("action 1 (http): a label is required (the button's text)");
    expect(refusal(`label=, action="http", url=http://example.com`)).toContain("a label is required");
    expect(refusal(`label="xx", action="http", url=http://example.com, what is this anyway`)).toContain('"what is this anyway" is not key=value');
    expect(refusal("fdsfdsf")).toBe('action 1: the kind must be view, broadcast, http or copy, got "fdsfdsf"');
    expect(refusal(`aaa=a, "bbb, 'ccc, ddd, eee "`)).toContain('no key "aaa"');
    expect(refusal(`action=http, label="omg the end quote is missing`)).toContain("has no closing");
    expect(refusal(";;;;")).toBe("4 actions given; at most 3 are allowed");
    expect(refusal(",,,,,,;;")).toContain("is not key=value");
    expect(refusal(`''";,;"`)).toContain("unexpected");
    expect(refusal("action=http, label=a label, body=somebody")).toBe('action 1 (http "a label"): a url is required for a http action');
    expect(refusal("action=http, label=a label, url=http://ntfy.sh, method=HEAD, body=somebody")).toContain("a body cannot be sent with method HEAD");
    expect(refusal("[ invalid json ]")).toContain("not valid JSON");
    expect(refusal(`[ { "some": "object" } ]`)).toContain('the kind must be view, broadcast, http or copy, got ""');
    expect(refusal("http, label, http://x.org, clear=x")).toBe('action 1 (http "label"): clear must be true or false (also yes/no/1/0), got "x"');
  });
  test("the second or third action is named as such", () => {
    expect(refusal("view, A, https://a; copy, B")).toBe('action 2 (copy "B"): a value is required for a copy action (the text it copies)');
    expect(refusal("view, A, https://a; view, B, https://b; view, C")).toBe('action 3 (view "C"): a url is required for a view action');
    expect(refusal(`[{"action":"view","label":"A","url":"https://a"},{"action":"view","label":5}]`)).toBe('action 2 (view): "label" must be a string, got 5');
    expect(refusal(`[{"action":"view","label":"A","url":"https://a","clear":"yes"}]`)).toContain('"clear" must be true or false');
    expect(refusal(`[{"action":"http","label":"A","url":"https://a","headers":{"X":1}}]`)).toContain('"headers" must be an object of strings');
    expect(refusal(`[null]`)).toContain("action 1 must be an object");
    expect(refusal(`[1,2]`)).toContain("action 1 must be an object");
    // Not starting with [: the simple format, where the whole object is the first section, the kind.
    expect(refusal(`{"action":"view"}`)).toContain('the kind must be view, broadcast, http or copy, got "{\\"action\\"');
  });
  test("four actions in JSON too", () => {
    const one = { action: "view", label: "L", url: "https://x" };
    expect(refusal(JSON.stringify([one, one, one, one]))).toBe("4 actions given; at most 3 are allowed");
  });
});

test("fuzz: random strings built of the format's own characters either parse into at most 3 checked actions or throw the 40018", () => {
  const pieces = ["view", "http", "copy", "broadcast", "Open", ",", ";", "=", '"', "'", "\\", " ", "url", "label", "clear=", "true", "headers.X", "extras.k", "method=GET", "body=b", "value=v", "https://x.test", "[", "]", "{", "}", ":", "💙", "\n", "\t", "\u0000", "action="];
  let seed = 25;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  let ok = 0;
  for (let i = 0; i < 20_000; i++) {
    let s = "";
    for (let n = rand(14); n > 0; n--) s += pieces[rand(pieces.length)];
    try {
      const actions = parseActions(s);
      expect(actions.length).toBeLessThanOrEqual(3);
      for (const a of actions) {
        expect(["view", "http", "broadcast", "copy"]).toContain(a.action);
        expect(a.label).not.toBe("");
        if (a.action === "view" || a.action === "http") expect(a.url).toBeTruthy();
        if (a.action === "copy") expect(a.value).toBeTruthy();
      }
      ok++;
    } catch (err) {
      if (!(err instanceof NtfyError) || err.kind.code !== 40018) throw new Error(`${JSON.stringify(s)} threw ${String(err)}`);
    }
  }
  expect(ok).toBeGreaterThan(0);
});
