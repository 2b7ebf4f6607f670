// Series identity is name + label set, as in Prometheus. Keys sort labels so the order a scraper
// or a rule writes them in never creates a second series.

export type Labels = Readonly<Record<string, string>>;

export function seriesKey(name: string, labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `${name}{${parts.join(',')}}`;
}

/** True when every label in `match` has the same value in `labels` (an empty value matches absence, like PromQL). */
export function matchesLabels(labels: Labels, match: Labels | undefined): boolean {
  if (!match) return true;
  for (const [k, v] of Object.entries(match)) {
    if ((labels[k] ?? '') !== v) return false;
  }
  return true;
}

export function withoutLabels(labels: Labels, drop: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (!drop.includes(k)) out[k] = v;
  return out;
}

export function onlyLabels(labels: Labels, keep: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keep) if (labels[k] !== undefined) out[k] = labels[k];
  return out;
}
