function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = above;
    }
  }
  return prev[b.length];
}

/** The closest known names to a misspelled one, best first; empty when nothing is close. */
export function closest(input: string, known: Iterable<string>, max = 3): string[] {
  const needle = input.toLowerCase();
  const limit = Math.max(2, Math.floor(needle.length / 8));
  const scored: Array<[string, number]> = [];
  for (const candidate of known) {
    const d = editDistance(needle, candidate.toLowerCase());
    if (d <= limit) scored.push([candidate, d]);
  }
  return scored
    .sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]))
    .slice(0, max)
    .map(([c]) => c);
}

/** " (did you mean "a" or "b"?)" or "" when there is no close name. */
export function didYouMean(input: string, known: Iterable<string>): string {
  const names = closest(input, known);
  return names.length ? `; did you mean ${names.map(n => `"${n}"`).join(" or ")}?` : "";
}
