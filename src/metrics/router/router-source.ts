// The router's own per-version counts as a metric source: each read turns what happened since the
// previous read into one reading per version (its error ratio, a latency quantile or its request
// rate), so a metric can be judged on the router's numbers with its own direction and effect.
import { z } from 'zod';
import { GreenlightError, describe } from '../../errors/errors.ts';
import type { RouterStats, VersionStats } from '../../router/stats.ts';
import type { MetricSource, MetricSourceDeps, MetricWindow } from '../source.ts';

export const ROUTER_MEASURES = ['error_ratio', 'p50_ms', 'p90_ms', 'p99_ms', 'request_rate'] as const;
type Measure = (typeof ROUTER_MEASURES)[number];

export const routerSourceSchema = z.strictObject({
  kind: z.literal('router'),
  /** what to read; default: the metric's name */
  measure: z.enum(ROUTER_MEASURES).optional(),
});
export type RouterSourceSpec = z.output<typeof routerSourceSchema>;

export class RouterSource implements MetricSource {
  readonly kind = 'router';
  readonly describe: string;
  private readonly measure: Measure;
  private readonly deps: MetricSourceDeps;
  private prev: { at: number; stats: RouterStats } | undefined;
  private readonly readings = new Map<string, number[]>();

  constructor(spec: RouterSourceSpec, metric: string, deps: MetricSourceDeps) {
    const m = spec.measure ?? metric;
    if (!(ROUTER_MEASURES as readonly string[]).includes(m)) {
      throw new GreenlightError('CONFIG_INVALID', `metric "${metric}" has source kind router but the router measures only ${ROUTER_MEASURES.join(', ')}`, {
        hint: `name the metric one of them, set source.measure, or read it from prometheus or scrape`,
      });
    }
    this.measure = m as Measure;
    this.describe = `router ${m}`;
    this.deps = deps;
  }

  async read(w: MetricWindow): Promise<Record<string, number[]>> {
    let stats: RouterStats;
    try {
      stats = await this.deps.routerStats();
    } catch (err) {
      throw new GreenlightError('ROUTER_UNREACHABLE', `router of ${w.environment} cannot be read: ${describe(err)}`, { retryable: true, hint: 'is the router process running?' });
    }
    const now = this.deps.clock.now();
    const prev = this.prev;
    this.prev = { at: now, stats };
    for (const v of w.versions) {
      const list = this.readings.get(v.label) ?? [];
      this.readings.set(v.label, list);
      if (!prev) continue;
      const value = this.value(stats.versions[v.label], prev.stats.versions[v.label], stats.latencyBoundsMs, (now - prev.at) / 1000);
      if (value !== undefined) list.push(value);
    }
    return Object.fromEntries([...this.readings].map(([k, v]) => [k, [...v]]));
  }

  /** One reading from the difference of two snapshots; undefined when the interval had no request to measure. */
  private value(now: VersionStats | undefined, then: VersionStats | undefined, bounds: number[], seconds: number): number | undefined {
    const requests = (now?.requests ?? 0) - (then?.requests ?? 0);
    if (this.measure === 'request_rate') return seconds > 0 ? requests / seconds : undefined;
    if (!now || requests <= 0) return undefined;
    if (this.measure === 'error_ratio') {
      const errors = now.status['5xx'] + now.connectionErrors - ((then?.status['5xx'] ?? 0) + (then?.connectionErrors ?? 0));
      return errors / requests;
    }
    const q = this.measure === 'p50_ms' ? 0.5 : this.measure === 'p90_ms' ? 0.9 : 0.99;
    const counts = now.latency.counts.map((c, i) => c - (then?.latency.counts[i] ?? 0));
    const total = counts.reduce((a, b) => a + b, 0);
    if (total === 0) return undefined;
    let seen = 0;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i]!;
      // the bucket's upper bound (the last, unbounded one reads as twice the largest bound)
      if (seen >= q * total) return bounds[i] ?? (bounds[bounds.length - 1] ?? 0) * 2;
    }
    return undefined;
  }
}
