// bench/median.ts — how every benchmark sums up its rounds: the median (the mean of the middle two for an even count,
// so four rounds are not biased to the worse or the better middle one). Pure; NaN for no rounds.
export const median = (xs: number[]): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
