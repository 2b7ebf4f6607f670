// Turns the router's cumulative per-version counters into store series, so SLOs, rules and
// histogramQuantile read the router exactly like a scraped Prometheus target, and derives the
// one-minute gauges (rate, error ratio, p50/p99) that the anomaly detectors watch.
import type { RouterStats } from '../../router/stats.ts';
import type { Labels } from '../series/labels.ts';
import { sumValues, type SeriesStore } from '../series/store.ts';

export const ROUTER_REQUESTS = 'router_requests_total';
export const ROUTER_ERRORS = 'router_errors_total';
export const ROUTER_LATENCY = 'router_request_duration_ms';
export const ROUTER_RATE = 'router_request_rate';
export const ROUTER_ERROR_RATIO = 'router_error_ratio';
export const ROUTER_P50 = 'router_latency_p50_ms';
export const ROUTER_P99 = 'router_latency_p99_ms';

/** An idle version is still written this often, so latest() does not go stale on it. */
const HEARTBEAT_MS = 60_000;

export interface DerivedGauges {
  version: string;
  at: number;
  /** requests per second over the window */
  requestRate: number;
  /** bad / all over the window; undefined without traffic */
  errorRatio?: number;
  p50Ms?: number;
  p99Ms?: number;
}

function leText(bound: number): string {
  return String(bound);
}

export class RouterSeriesWriter {
  private readonly store: SeriesStore;
  /** extra `le` bounds (SLO thresholds that are not router bounds), written conservatively */
  private readonly extraBounds: number[];
  private readonly last = new Map<string, { requests: number; at: number }>();

  constructor(store: SeriesStore, extraBounds: number[] = []) {
    this.store = store;
    this.extraBounds = [...new Set(extraBounds)].sort((a, b) => a - b);
  }

  /**
   * Writes every version whose counters moved (or whose heartbeat is due) at time `at`; returns
   * the versions written. Unchanged versions are skipped because a counter that did not move adds
   * nothing to increase() and the store keeps the older point as the baseline.
   */
  write(stats: RouterStats, at: number): string[] {
    const written: string[] = [];
    const bounds = stats.latencyBoundsMs;
    for (const v of Object.values(stats.versions)) {
      const prev = this.last.get(v.version);
      if (prev && prev.requests === v.requests && at - prev.at < HEARTBEAT_MS) continue;
      this.last.set(v.version, { requests: v.requests, at });
      const labels: Labels = { version: v.version };
      const s = this.store;
      s.add(ROUTER_REQUESTS, labels, v.requests, at, 'counter');
      s.add(ROUTER_ERRORS, labels, v.status['5xx'] + v.connectionErrors, at, 'counter');
      const cum: number[] = [];
      let c = 0;
      for (let i = 0; i < bounds.length; i++) {
        c += v.latency.counts[i] ?? 0;
        cum.push(c);
        s.add(`${ROUTER_LATENCY}_bucket`, { version: v.version, le: leText(bounds[i]!) }, c, at, 'counter');
      }
      c += v.latency.counts[bounds.length] ?? 0;
      s.add(`${ROUTER_LATENCY}_bucket`, { version: v.version, le: '+Inf' }, c, at, 'counter');
      s.add(`${ROUTER_LATENCY}_count`, labels, c, at, 'counter');
      s.add(`${ROUTER_LATENCY}_sum`, labels, v.latency.sumMs, at, 'counter');
      // an SLO threshold between two router bounds gets a bucket holding the requests *certainly*
      // under it (the count at the bound below): conservative, never interpolated
      for (const extra of this.extraBounds) {
        if (bounds.includes(extra)) continue;
        let idx = -1;
        for (let i = 0; i < bounds.length && bounds[i]! <= extra; i++) idx = i;
        s.add(`${ROUTER_LATENCY}_bucket`, { version: v.version, le: leText(extra) }, idx < 0 ? 0 : cum[idx]!, at, 'counter');
      }
      written.push(v.version);
    }
    return written;
  }

  /** Known versions (seen in any stats so far). */
  versions(): string[] {
    return [...this.last.keys()];
  }

  /** Forgets versions no longer reported, so a long-lived service does not keep state for every old release. */
  retain(versions: Iterable<string>): void {
    const keep = new Set(versions);
    for (const v of this.last.keys()) if (!keep.has(v)) this.last.delete(v);
  }

  /** Rate, error ratio and quantiles of one version over (at - windowMs, at]; undefined without two points. */
  derive(version: string, at: number, windowMs: number): DerivedGauges | undefined {
    const q = { windowMs, at };
    const m = { version };
    const req = this.store.increase(ROUTER_REQUESTS, m, q);
    if (req.length === 0) return undefined;
    const total = sumValues(req);
    const out: DerivedGauges = { version, at, requestRate: total / (windowMs / 1000) };
    if (total > 0) {
      out.errorRatio = sumValues(this.store.increase(ROUTER_ERRORS, m, q)) / total;
      const p50 = this.store.histogramQuantile(0.5, ROUTER_LATENCY, m, q)[0]?.value;
      const p99 = this.store.histogramQuantile(0.99, ROUTER_LATENCY, m, q)[0]?.value;
      if (p50 !== undefined && Number.isFinite(p50)) out.p50Ms = p50;
      if (p99 !== undefined && Number.isFinite(p99)) out.p99Ms = p99;
    }
    return out;
  }

  /** Stores the derived gauges (so rules and status can read them) and returns name/value pairs written. */
  writeDerived(d: DerivedGauges): { name: string; value: number }[] {
    const labels: Labels = { version: d.version };
    const out: { name: string; value: number }[] = [{ name: ROUTER_RATE, value: d.requestRate }];
    if (d.errorRatio !== undefined) out.push({ name: ROUTER_ERROR_RATIO, value: d.errorRatio });
    if (d.p50Ms !== undefined) out.push({ name: ROUTER_P50, value: d.p50Ms });
    if (d.p99Ms !== undefined) out.push({ name: ROUTER_P99, value: d.p99Ms });
    for (const g of out) this.store.add(g.name, labels, g.value, d.at, 'gauge');
    return out;
  }
}
