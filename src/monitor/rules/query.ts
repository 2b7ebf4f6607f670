// Rules in YAML name a small structured query instead of PromQL: one function over one metric,
// optionally summed by labels and divided by a second query. That covers threshold, error-ratio
// and latency-quantile alerts on the built-in store; a Prometheus-backed source can take PromQL later.
import { onlyLabels, seriesKey, type Labels } from '../series/labels.ts';
import type { Sample, SeriesStore } from '../series/store.ts';
import type { ComparisonOp, Rule } from './engine.ts';

export type QueryFn =
  | 'latest'
  | 'rate'
  | 'increase'
  | 'avg_over_time'
  | 'max_over_time'
  | 'min_over_time'
  | 'histogram_quantile';

export interface QuerySpec {
  fn: QueryFn;
  metric: string;
  match?: Labels;
  /** ms; required by every fn but latest (optional for histogram_quantile: then cumulative) */
  window?: number;
  /** histogram_quantile only, 0..1 */
  quantile?: number;
  /** sums the results by these labels ([] sums everything into one element) */
  sum_by?: string[];
}

export interface RuleSpec {
  alert: string;
  expr: QuerySpec;
  divide_by?: QuerySpec;
  op: ComparisonOp;
  threshold: number;
  for: number;
  keep_firing_for: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function compileQuery(spec: QuerySpec, store: SeriesStore): (at: number) => Sample[] {
  const win = (at: number) => ({ windowMs: spec.window ?? 0, at });
  const base = (at: number): Sample[] => {
    switch (spec.fn) {
      case 'latest':
        return store.latest(spec.metric, spec.match, at);
      case 'rate':
        return store.rate(spec.metric, spec.match, win(at));
      case 'increase':
        return store.increase(spec.metric, spec.match, win(at));
      case 'avg_over_time':
        return store.avgOverTime(spec.metric, spec.match, win(at));
      case 'max_over_time':
        return store.maxOverTime(spec.metric, spec.match, win(at));
      case 'min_over_time':
        return store.minOverTime(spec.metric, spec.match, win(at));
      case 'histogram_quantile':
        return store.histogramQuantile(spec.quantile ?? 0.99, spec.metric, spec.match, spec.window ? win(at) : { at });
    }
  };
  if (!spec.sum_by) return base;
  const by = spec.sum_by;
  return (at) => sumBy(base(at), by, spec.metric);
}

export function sumBy(samples: readonly Sample[], by: readonly string[], name: string): Sample[] {
  const groups = new Map<string, Sample>();
  for (const s of samples) {
    const labels = onlyLabels(s.labels, by);
    const key = seriesKey(name, labels);
    const g = groups.get(key);
    if (g) g.value += s.value;
    else groups.set(key, { name, labels, value: s.value });
  }
  return [...groups.values()];
}

/** One-to-one division on identical label sets; elements without a partner or with a zero divisor drop out. */
export function divide(num: readonly Sample[], den: readonly Sample[]): Sample[] {
  const byKey = new Map(den.map((d) => [seriesKey('', d.labels), d.value]));
  const out: Sample[] = [];
  for (const n of num) {
    const d = byKey.get(seriesKey('', n.labels));
    if (d === undefined || d === 0) continue;
    out.push({ name: n.name, labels: n.labels, value: n.value / d });
  }
  return out;
}

export function compileRule(spec: RuleSpec, store: SeriesStore): Rule {
  const num = compileQuery(spec.expr, store);
  const den = spec.divide_by ? compileQuery(spec.divide_by, store) : undefined;
  const rule: Rule = {
    name: spec.alert,
    query: den ? (at) => divide(num(at), den(at)) : num,
    condition: { op: spec.op, threshold: spec.threshold },
    forMs: spec.for,
    keepFiringForMs: spec.keep_firing_for,
  };
  if (spec.labels) rule.labels = spec.labels;
  if (spec.annotations) rule.annotations = spec.annotations;
  return rule;
}
