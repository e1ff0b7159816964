// test/bench.median.test.ts — bench/median.ts: odd and even counts, order, and no rounds.
import { expect, test } from "bun:test";
import { median } from "../bench/median";

test("the median of the rounds: the middle one, or the mean of the middle two", () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([40, 10, 30, 20])).toBe(25); // not 30: four rounds take neither middle one alone
  expect(median([7])).toBe(7);
  expect(median([5, 5, 1, 9])).toBe(5);
  expect(median([])).toBeNaN();
});
