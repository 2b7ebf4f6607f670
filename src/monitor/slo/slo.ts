// Service level objectives measured from counters in the series store: availability (errors or
// good events over total) and latency (requests faster than a histogram bucket bound over all
// requests). An Slo reports its error budget and turns its burn-rate alerts into rules for the
// RuleEngine, so SLO pages and threshold alerts share one state machine and one output.
import { z } from 'zod';
import { duration, formatDuration } from '../../config/duration.ts';
import type { Labels } from '../series/labels.ts';
import { parseLe, sumValues, type SeriesStore } from '../series/store.ts';
import type { Rule } from '../rules/engine.ts';
import { burnRate, burnRateAlertSchema, defaultBurnRateAlerts, defaultSloPeriodMs, type BurnRateAlertSpec } from './burn-rate.ts';

const selectorSchema = z.strictObject({
  metric: z.string().min(1),
  /** label matchers: "500", "!=500", "=~5..", "!~2.." */
  match: z.record(z.string(), z.string()).optional(),
});

export const sloSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9_-]*$/, { message: 'use lowercase letters, digits, "-" and "_"' }),
    description: z.string().optional(),
    /** fraction of events that must be good, e.g. 0.999 */
    objective: z.number().gt(0).lt(1),
    period: duration.default(defaultSloPeriodMs),
    availability: z
      .strictObject({
        total: selectorSchema,
        errors: selectorSchema.optional(),
        good: selectorSchema.optional(),
      })
      .refine((a) => (a.errors === undefined) !== (a.good === undefined), { message: 'give exactly one of errors or good' })
      .optional(),
    latency: z
      .strictObject({
        /** histogram base name: <histogram>_bucket and <histogram>_count are read */
        histogram: z.string().min(1),
        match: z.record(z.string(), z.string()).optional(),
        /** bucket bound in the histogram's own unit (0.3 for 300 ms in a _seconds histogram); must be an existing le */
        threshold: z.number().positive(),
      })
      .optional(),
    alerts: z.array(burnRateAlertSchema).default(() => defaultBurnRateAlerts.map((a) => ({ ...a }))),
    labels: z.record(z.string(), z.string()).optional(),
  })
  .refine((s) => (s.availability === undefined) !== (s.latency === undefined), {
    message: 'give exactly one indicator: availability or latency',
  });

export type SloSpec = z.output<typeof sloSchema>;

export interface Counts {
  total: number;
  bad: number;
}

export interface BurnRateAlertStatus {
  severity: string;
  burnRateThreshold: number;
  longWindowMs: number;
  shortWindowMs: number;
  longBurnRate?: number;
  shortBurnRate?: number;
  /** false while the data held is shorter than the long window: its burn rate is over what is held */
  longWindowFull: boolean;
  firing: boolean;
}

export interface SloStatus {
  name: string;
  objective: number;
  periodMs: number;
  /** over the period (or the data the store has, if less) */
  errorRatio?: number;
  /** how much of the period the data held covers (period at most) */
  coveredMs: number;
  /** bad events so far */
  badEvents?: number;
  totalEvents?: number;
  /**
   * Share of the period's error budget spent so far: the budget is (1 - objective) of the period's
   * events, and the period's events are estimated from the traffic so far (rate x period). A fresh
   * service 5 minutes old with 0.7% errors on a 99.9% SLO has spent 7 x 5 min / 30 d = 0.08%, not 681%.
   */
  budgetSpent?: number;
  /** 1 - budgetSpent; negative only once the period's whole budget is spent; undefined without traffic */
  budgetRemaining?: number;
  /**
   * Set while there are too few events for the error ratio to mean much: fewer than it takes to see
   * 10 bad events at exactly the budget rate (10 / (1 - objective): 10,000 on a 99.9% SLO).
   */
  tooLittleData?: string;
  alerts: BurnRateAlertStatus[];
  problem?: string;
}

/** Events needed before an error ratio is worth reading: 10 bad ones at exactly the budget rate. */
export function minimumEvents(objective: number): number {
  return Math.ceil(10 / (1 - objective));
}

export class Slo {
  readonly spec: SloSpec;
  private readonly store: SeriesStore;
  problem: string | undefined;

  constructor(spec: SloSpec, store: SeriesStore) {
    this.spec = spec;
    this.store = store;
  }

  /** Total and bad events in the window ending at `at`. */
  counts(windowMs: number, at: number): Counts | undefined {
    const q = { windowMs, at };
    const av = this.spec.availability;
    if (av) {
      const total = sumValues(this.store.increase(av.total.metric, av.total.match, q));
      if (av.errors) return { total, bad: sumValues(this.store.increase(av.errors.metric, av.errors.match, q)) };
      const good = sumValues(this.store.increase(av.good!.metric, av.good!.match, q));
      return { total, bad: Math.max(0, total - good) };
    }
    const lat = this.spec.latency!;
    const buckets = this.store
      .select(`${lat.histogram}_bucket`, lat.match)
      .filter((s) => s.labels.le !== undefined && parseLe(s.labels.le) === lat.threshold);
    if (buckets.length === 0) {
      // interpolating inside a bucket would invent precision the histogram does not have
      this.problem = `no ${lat.histogram}_bucket series with le=${lat.threshold}; pick a threshold equal to a bucket bound`;
      return undefined;
    }
    this.problem = undefined;
    let good = 0;
    for (const b of buckets) good += sumValues(this.store.increase(b.name, b.labels, q));
    const total = sumValues(this.store.increase(`${lat.histogram}_count`, lat.match, q));
    return { total, bad: Math.max(0, total - good) };
  }

  /** Bad / total over the window; undefined when there was no traffic (no traffic burns no budget). */
  errorRatio(windowMs: number, at: number): number | undefined {
    const c = this.counts(windowMs, at);
    if (!c || c.total <= 0) return undefined;
    return c.bad / c.total;
  }

  burnRate(windowMs: number, at: number): number | undefined {
    const r = this.errorRatio(windowMs, at);
    return r === undefined ? undefined : burnRate(r, this.spec.objective);
  }

  /** How much of the window ending at `at` the data held covers. */
  coveredMs(windowMs: number, at: number): number {
    const metric = this.spec.availability ? this.spec.availability.total.metric : `${this.spec.latency!.histogram}_count`;
    const match = this.spec.availability ? this.spec.availability.total.match : this.spec.latency!.match;
    const first = this.store.firstSeen(metric, match);
    return first === undefined ? 0 : Math.max(0, Math.min(windowMs, at - first));
  }

  status(at: number): SloStatus {
    const period = this.spec.period;
    const c = this.counts(period, at);
    const covered = this.coveredMs(period, at);
    const out: SloStatus = {
      name: this.spec.name,
      objective: this.spec.objective,
      periodMs: period,
      coveredMs: covered,
      alerts: this.spec.alerts.map((a) => this.alertStatus(a, at, covered)),
    };
    if (c && c.total > 0) {
      const ratio = c.bad / c.total;
      out.errorRatio = ratio;
      out.badEvents = c.bad;
      out.totalEvents = c.total;
      // budget spent = bad / (allowed share x events expected over the whole period)
      out.budgetSpent = (burnRate(ratio, this.spec.objective) * covered) / period;
      out.budgetRemaining = 1 - out.budgetSpent;
    }
    const need = minimumEvents(this.spec.objective);
    if (!c || c.total < need) {
      out.tooLittleData = `too little data: ${Math.round(c?.total ?? 0).toLocaleString('en')} of the ${need.toLocaleString('en')} events it takes to see 10 errors at the budget rate`;
    }
    if (this.problem) out.problem = this.problem;
    return out;
  }

  /** One rule per burn-rate alert; the element's value is the long-window burn rate. */
  rules(): Rule[] {
    return this.spec.alerts.map((a) => ({
      name: ruleName(this.spec.name, a),
      query: (at: number) => {
        const st = this.alertStatus(a, at);
        if (!st.firing) return [];
        const labels: Labels = {
          ...this.spec.labels,
          slo: this.spec.name,
          severity: a.severity,
          long_window: formatDuration(a.long_window),
          short_window: formatDuration(a.short_window),
        };
        return [{ name: 'slo:burn_rate', labels, value: st.longBurnRate! }];
      },
      annotations: {
        summary: `SLO ${this.spec.name} (${this.spec.objective * 100}%) is burning its error budget at {{ $value }}x over ${formatDuration(a.long_window)} (threshold ${a.burn_rate}x, also over ${formatDuration(a.short_window)})`,
      },
    }));
  }

  private alertStatus(a: BurnRateAlertSpec, at: number, covered = this.coveredMs(a.long_window, at)): BurnRateAlertStatus {
    const long = this.burnRate(a.long_window, at);
    const short = this.burnRate(a.short_window, at);
    const st: BurnRateAlertStatus = {
      severity: a.severity,
      burnRateThreshold: a.burn_rate,
      longWindowMs: a.long_window,
      shortWindowMs: a.short_window,
      longWindowFull: covered >= a.long_window,
      firing: long !== undefined && short !== undefined && long >= a.burn_rate && short >= a.burn_rate,
    };
    if (long !== undefined) st.longBurnRate = long;
    if (short !== undefined) st.shortBurnRate = short;
    return st;
  }
}

export function ruleName(slo: string, a: BurnRateAlertSpec): string {
  return `slo_burn_rate:${slo}:${a.severity}:${formatDuration(a.long_window)}_${formatDuration(a.short_window)}`;
}
