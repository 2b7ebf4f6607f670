// What the dashboard draws for a rollout: canary against control over time. Once a second the
// canary loop records a point (cumulative requests and errors, the error rate with its confidence
// band, p50 and p99 from the histograms of the window), and every few seconds the points since the
// last batch become one `analysis.samples` event, so running and past rollouts draw the same way.
import type { AnalysisResult } from '../analysis/verdict.ts';
import type { VersionSample } from '../analysis/sample.ts';

export interface SidePoint {
  requests: number;
  errors: number;
  /** error rate and its always-valid band, when the analysis had one */
  rate: number | null;
  lower: number | null;
  upper: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface SeriesPoint {
  t: number;
  weight: number;
  canary: SidePoint;
  control: SidePoint;
}

/** The upper bound of the histogram bucket holding the q-quantile (null: no requests). */
export function histogramQuantile(s: VersionSample, q: number): number | null {
  const counts = s.latency.counts;
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= q * total) return s.latency.boundsMs[i] ?? s.latency.boundsMs[s.latency.boundsMs.length - 1] ?? null;
  }
  return null;
}

type RateEstimate = { rate: number; lower: number; upper: number } | null | undefined;

function side(s: VersionSample, est: RateEstimate): SidePoint {
  return { requests: s.requests, errors: s.errors, rate: est?.rate ?? (s.requests ? s.errors / s.requests : null), lower: est?.lower ?? null, upper: est?.upper ?? null, p50Ms: histogramQuantile(s, 0.5), p99Ms: histogramQuantile(s, 0.99) };
}

export class SeriesRecorder {
  private pending: SeriesPoint[] = [];
  private lastPointAt = -Infinity;
  private lastFlushAt: number;
  private readonly everyMs: number;
  private readonly flushMs: number;

  constructor(now: number, opts: { everyMs?: number; flushMs?: number } = {}) {
    this.lastFlushAt = now;
    this.everyMs = opts.everyMs ?? 1000;
    this.flushMs = opts.flushMs ?? 5000;
  }

  /** Records a point when a second has passed; true when a batch is due. */
  add(now: number, weight: number, canary: VersionSample, control: VersionSample, result: AnalysisResult): boolean {
    if (now - this.lastPointAt >= this.everyMs) {
      this.lastPointAt = now;
      const er = result.metrics.find((m) => m.metric === 'error_rate') as { canary?: RateEstimate; control?: RateEstimate } | undefined;
      this.pending.push({ t: now, weight, canary: side(canary, er?.canary), control: side(control, er?.control) });
    }
    return this.pending.length > 0 && now - this.lastFlushAt >= this.flushMs;
  }

  /** The points not yet recorded (empties the batch). */
  take(now: number): SeriesPoint[] {
    this.lastFlushAt = now;
    const p = this.pending;
    this.pending = [];
    return p;
  }
}
