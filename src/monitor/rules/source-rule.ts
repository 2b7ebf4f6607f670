// A rule that reads a metric source (the canary analysis' `prometheus` or `scrape` kinds) instead
// of the monitor's own store: "the monitor's rules may read the same sources". The source is read
// once per evaluation interval for every version running, over the last few intervals; the rule
// tests the latest reading of each version, so each version is its own alert. A source that cannot
// answer makes the rule's query throw, which the rule engine records as the rule's health
// ("lastError") instead of resolving or firing anything.
import type { Clock } from '../../clock/clock.ts';
import { describe } from '../../errors/errors.ts';
import { createMetricSource, type MetricSourceSpec } from '../../metrics/registry.ts';
import type { MetricSource } from '../../metrics/source.ts';
import type { Sample } from '../series/store.ts';

export interface SourceRuleGroup {
  version: string;
  instanceUrls: string[];
}

export class SourceRule {
  private readonly source: MetricSource;
  private readonly name: string;
  private readonly lookbackMs: number;
  private latest = new Map<string, number>();
  private error: string | undefined;
  private readonly clock: Clock;

  constructor(alert: string, spec: MetricSourceSpec, opts: { clock: Clock; evaluationIntervalMs: number }) {
    this.name = alert;
    this.clock = opts.clock;
    // a few intervals back, so a query_range step or a scrape counter's rate has points to give
    this.lookbackMs = Math.max(3 * opts.evaluationIntervalMs, 10_000);
    this.source = createMetricSource(spec, alert, {
      clock: opts.clock,
      routerStats: () => Promise.reject(new Error('a rule source reads prometheus or scrape, not the router')),
    });
  }

  async read(scope: { environment: string; service: string }, groups: SourceRuleGroup[]): Promise<void> {
    const now = this.clock.now();
    try {
      const r = await this.source.read({
        ...scope,
        since: now - this.lookbackMs,
        now,
        versions: groups.map((g) => ({ label: g.version, version: g.version, instanceUrls: g.instanceUrls })),
      });
      const latest = new Map<string, number>();
      for (const g of groups) {
        const last = r[g.version]?.at(-1);
        if (last !== undefined) latest.set(g.version, last);
      }
      this.latest = latest;
      this.error = undefined;
    } catch (err) {
      this.error = `${this.source.describe}: ${describe(err)}`;
    }
  }

  /** The rule's instant vector: the latest reading per version; throws while the source cannot answer. */
  query(): Sample[] {
    if (this.error !== undefined) throw new Error(`rule ${this.name} could not read its source: ${this.error}`);
    return [...this.latest].map(([version, value]) => ({ name: this.name, labels: { version }, value }));
  }
}
