// Series identity is name + label set, as in Prometheus. Keys sort labels so the order a scraper
// or a rule writes them in never creates a second series.

export type Labels = Readonly<Record<string, string>>;

export function seriesKey(name: string, labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `${name}{${parts.join(',')}}`;
}

/**
 * True when every matcher in `match` holds, with PromQL's four operators written as a value
 * prefix: "500" (equal), "!=500", "=~5..", "!~2..". Regexes are anchored, and a missing label
 * reads as "", both as in PromQL.
 */
export function matchesLabels(labels: Labels, match: Labels | undefined): boolean {
  if (!match) return true;
  for (const [k, m] of Object.entries(match)) {
    const v = labels[k] ?? '';
    if (m.startsWith('=~')) {
      if (!anchored(m.slice(2)).test(v)) return false;
    } else if (m.startsWith('!~')) {
      if (anchored(m.slice(2)).test(v)) return false;
    } else if (m.startsWith('!=')) {
      if (v === m.slice(2)) return false;
    } else if (v !== m) {
      return false;
    }
  }
  return true;
}

const regexCache = new Map<string, RegExp>();

/** The regex anchored at both ends, as PromQL and Alertmanager match label values; compiled once. */
export function anchored(source: string): RegExp {
  let re = regexCache.get(source);
  if (!re) {
    if (regexCache.size > 1000) regexCache.clear();
    re = new RegExp(`^(?:${source})$`);
    regexCache.set(source, re);
  }
  return re;
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
