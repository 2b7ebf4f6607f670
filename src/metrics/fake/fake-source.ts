// The fake metric source: readings scripted per version label, and a switch that makes it unable
// to answer. It passes the same contract as the real kinds.
import { GreenlightError } from '../../errors/errors.ts';
import type { MetricSource, MetricWindow } from '../source.ts';

export class FakeMetricSource implements MetricSource {
  readonly kind = 'fake';
  readonly describe = 'fake';
  /** the value each read appends per label (absent label: no reading) */
  values = new Map<string, number>();
  broken: string | null = null;
  private readonly readings = new Map<string, number[]>();

  async read(w: MetricWindow): Promise<Record<string, number[]>> {
    if (this.broken !== null) throw new GreenlightError('DEPENDENCY_UNREADABLE', `fake source: ${this.broken}`, { retryable: true });
    for (const v of w.versions) {
      const list = this.readings.get(v.label) ?? [];
      this.readings.set(v.label, list);
      const x = this.values.get(v.label);
      if (x !== undefined) list.push(x);
    }
    return Object.fromEntries([...this.readings].map(([k, v]) => [k, [...v]]));
  }
}
