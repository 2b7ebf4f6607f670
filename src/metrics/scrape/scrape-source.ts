// The instances' own /metrics as a metric source: every read scrapes each instance of each version
// and sums the metric's samples per version (a gauge as it is; a counter as its rate since the
// previous read), appending one reading per version. An instance that does not answer makes the
// read fail (retryable), so the analysis says "could not measure" instead of judging on half.
import { z } from 'zod';
import { durationOrMs } from '../../config/duration.ts';
import { GreenlightError, describe } from '../../errors/errors.ts';
import { fetchExposition } from '../../monitor/scrape/scrape.ts';
import { parseExposition } from '../../monitor/scrape/parse.ts';
import type { MetricSource, MetricSourceDeps, MetricWindow } from '../source.ts';

export const scrapeSourceSchema = z.strictObject({
  kind: z.literal('scrape'),
  /** sample name in the exposition, e.g. shop_checkout_failures_total */
  metric: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a Prometheus metric name'),
  /** only samples with these labels count */
  labels: z.record(z.string(), z.string()).default({}),
  /** gauge: the summed value; counter: its per-second rate between reads */
  type: z.enum(['gauge', 'counter']).default('gauge'),
  path: z.string().startsWith('/').default('/metrics'),
  timeout: durationOrMs.default(2000),
});
export type ScrapeSourceSpec = z.output<typeof scrapeSourceSchema>;

export class ScrapeSource implements MetricSource {
  readonly kind = 'scrape';
  readonly describe: string;
  private readonly spec: ScrapeSourceSpec;
  private readonly deps: MetricSourceDeps;
  /** per label, each reading and when it was taken: a read returns those of its window only */
  private readonly readings = new Map<string, { at: number; value: number }[]>();
  /** counter: last value per instance URL, and when */
  private readonly lastCounter = new Map<string, { at: number; value: number }>();

  constructor(spec: ScrapeSourceSpec, deps: MetricSourceDeps) {
    this.spec = spec;
    this.deps = deps;
    this.describe = `scrape ${spec.metric}`;
  }

  async read(w: MetricWindow): Promise<Record<string, number[]>> {
    const values = await Promise.all(w.versions.map((v) => Promise.all(v.instanceUrls.map((u) => this.scrapeOne(u)))));
    const now = this.deps.clock.now();
    w.versions.forEach((v, i) => {
      const list = this.readings.get(v.label) ?? [];
      this.readings.set(v.label, list);
      if (v.instanceUrls.length === 0) return;
      const per = values[i]!;
      if (this.spec.type === 'gauge') {
        list.push({ at: now, value: per.reduce((a, b) => a + b, 0) });
        return;
      }
      let rate = 0;
      let complete = true;
      v.instanceUrls.forEach((u, j) => {
        const prev = this.lastCounter.get(u);
        const value = per[j]!;
        this.lastCounter.set(u, { at: now, value });
        if (!prev || now <= prev.at) complete = false;
        // a reset (restart) starts from 0: the new value is the increase
        else rate += (value >= prev.value ? value - prev.value : value) / ((now - prev.at) / 1000);
      });
      if (complete) list.push({ at: now, value: rate });
    });
    // older readings than the window are dropped: a long-lived reader (the monitor's rules) stays bounded
    for (const [label, list] of this.readings) {
      const first = list.findIndex((r) => r.at >= w.since);
      if (first !== 0) list.splice(0, first < 0 ? list.length : first);
      if (!w.versions.some((v) => v.label === label)) this.readings.delete(label);
    }
    return Object.fromEntries([...this.readings].map(([k, v]) => [k, v.map((r) => r.value)]));
  }

  private async scrapeOne(base: string): Promise<number> {
    const url = `${base.replace(/\/$/, '')}${this.spec.path}`;
    let text: string;
    try {
      text = await fetchExposition(url, { clock: this.deps.clock, timeoutMs: this.spec.timeout });
    } catch (err) {
      throw new GreenlightError('DEPENDENCY_UNREADABLE', `cannot scrape ${url}: ${describe(err)}`, { retryable: true, hint: 'the instance must serve the Prometheus text format at source.path' });
    }
    let sum = 0;
    let found = false;
    for (const f of parseExposition(text)) {
      for (const s of f.samples) {
        if (s.name !== this.spec.metric) continue;
        if (!Object.entries(this.spec.labels).every(([k, v]) => s.labels[k] === v)) continue;
        if (Number.isFinite(s.value)) {
          sum += s.value;
          found = true;
        }
      }
    }
    if (!found) {
      throw new GreenlightError('DEPENDENCY_UNREADABLE', `${url} exposes no sample of ${this.spec.metric}${Object.keys(this.spec.labels).length ? ` with ${JSON.stringify(this.spec.labels)}` : ''}`, {
        retryable: true,
        hint: 'check source.metric and source.labels against what the instance exports',
      });
    }
    return sum;
  }
}
