// Predicts when a gauge with a limit (memory, disk, connections, error budget) reaches it: Theil–Sen
// regression (median of pairwise slopes) over a sliding window, with Sen's confidence interval from the
// Mann–Kendall statistic. A warning needs the *lower* confidence bound of the slope to be rising and the
// limit to be reached within the horizon at that bound, so noise, a single spike and a seasonal swing
// that the window covers do not warn. Time comes from the points' own timestamps.
import { normalTail } from '../anomaly/gaussian.ts';

export interface TrendOptions {
  /** the limit the gauge must stay below (same unit as the values) */
  limit: number;
  /** warn when the limit is predicted within this many ms */
  horizonMs: number;
  /** points older than this (relative to the newest) are forgotten; cover at least one seasonal period */
  windowMs: number;
  /** memory bound: at most this many points are kept (older ones are thinned evenly) */
  maxPoints?: number;
  /** no prediction before this many points */
  minPoints?: number;
  /** two-sided confidence of the slope interval (default 0.95) */
  confidence?: number;
  /** which way the limit lies: 'above' (memory, disk) or 'below' (remaining error budget) */
  direction?: 'above' | 'below';
}

export type TrendStatus = 'insufficient-data' | 'stable' | 'approaching' | 'reached';

export interface TrendPrediction {
  status: TrendStatus;
  /** true when the limit is reached or predicted within the horizon */
  warn: boolean;
  /** robust level at `at` (the newest point's time) */
  level: number;
  at: number;
  /** Theil–Sen slope and its confidence interval, units per ms */
  slope: number;
  slopeLow: number;
  slopeHigh: number;
  /** ms until the limit at the central slope / at the conservative (slow) bound; undefined if never */
  etaMs?: number;
  etaConservativeMs?: number;
}

export interface TrendPredictor {
  add(timestamp: number, value: number): void;
  predict(): TrendPrediction;
  readonly size: number;
}

function quantileZ(p: number): number {
  // bisection on the precise tail: runs once per predictor
  let lo = 0;
  let hi = 40;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (normalTail(mid) > p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function median(a: Float64Array | number[], n = a.length): number {
  const s = Float64Array.from(a.slice(0, n)).sort();
  const h = n >> 1;
  return n % 2 ? (s[h] as number) : ((s[h - 1] as number) + (s[h] as number)) / 2;
}

export function createTrendPredictor(opts: TrendOptions): TrendPredictor {
  const maxPoints = Math.max(8, opts.maxPoints ?? 240);
  const minPoints = Math.max(4, opts.minPoints ?? 12);
  const z = quantileZ((1 - (opts.confidence ?? 0.95)) / 2);
  const sign = opts.direction === 'below' ? -1 : 1;
  let ts: number[] = [];
  let vs: number[] = [];
  // thinning: keep one point per `spacing` ms so the window fits in maxPoints
  const spacing = opts.windowMs / maxPoints;

  return {
    get size() {
      return ts.length;
    },
    add(timestamp, value) {
      if (!Number.isFinite(timestamp) || !Number.isFinite(value)) return;
      const last = ts[ts.length - 1];
      if (last !== undefined && timestamp < last) return;
      // thinning to one point per `spacing` ms keeps memory bounded at any sampling rate
      if (last !== undefined && timestamp - last < spacing) return;
      ts.push(timestamp);
      vs.push(value);
      let drop = 0;
      while (drop < ts.length && (ts[drop] as number) < timestamp - opts.windowMs) drop++;
      if (ts.length - drop > maxPoints) drop = ts.length - maxPoints;
      if (drop > 0) {
        ts = ts.slice(drop);
        vs = vs.slice(drop);
      }
    },
    predict() {
      const n = ts.length;
      const at = ts[n - 1] ?? Number.NaN;
      if (n < minPoints) {
        return { status: 'insufficient-data', warn: false, level: vs[n - 1] ?? Number.NaN, at, slope: 0, slopeLow: 0, slopeHigh: 0 };
      }
      const slopes = new Float64Array((n * (n - 1)) / 2);
      let m = 0;
      for (let i = 0; i < n; i++) {
        const ti = ts[i] as number;
        const vi = vs[i] as number;
        for (let j = i + 1; j < n; j++) {
          const dt = (ts[j] as number) - ti;
          const dv = (vs[j] as number) - vi;
          if (dt > 0) slopes[m++] = dv / dt;
        }
      }
      const sorted = slopes.subarray(0, m).sort();
      const slope = median(sorted, m);
      // Sen's interval: ranks (N -/+ z sqrt(var S)) / 2 of the sorted pairwise slopes
      const varS = (n * (n - 1) * (2 * n + 5)) / 18;
      const c = z * Math.sqrt(varS);
      const lo = Math.max(0, Math.floor((m - c) / 2));
      const hi = Math.min(m - 1, Math.ceil((m + c) / 2));
      const slopeLow = sorted[lo] as number;
      const slopeHigh = sorted[hi] as number;
      const resid = new Float64Array(n);
      for (let i = 0; i < n; i++) resid[i] = (vs[i] as number) - slope * ((ts[i] as number) - at);
      const level = median(resid);
      const gap = sign * (opts.limit - level);
      if (gap <= 0) return { status: 'reached', warn: true, level, at, slope, slopeLow, slopeHigh, etaMs: 0, etaConservativeMs: 0 };
      // rising towards the limit with confidence: the slow bound of the interval points at the limit
      const slow = sign > 0 ? slopeLow : -slopeHigh;
      const central = sign * slope;
      const etaMs = central > 0 ? gap / central : undefined;
      const etaConservativeMs = slow > 0 ? gap / slow : undefined;
      const warn = etaConservativeMs !== undefined && etaMs !== undefined && etaMs <= opts.horizonMs;
      return {
        status: warn ? 'approaching' : 'stable',
        warn,
        level,
        at,
        slope,
        slopeLow,
        slopeHigh,
        ...(etaMs !== undefined ? { etaMs } : {}),
        ...(etaConservativeMs !== undefined ? { etaConservativeMs } : {}),
      };
    },
  };
}

/** "about 14 minutes", "about 3 hours", "about 2 days" */
export function humanDuration(ms: number): string {
  const min = ms / 60_000;
  const unit = (v: number, name: string) => `about ${Math.max(1, Math.round(v))} ${name}${Math.round(v) === 1 ? '' : 's'}`;
  if (min < 1) return 'less than a minute';
  if (min < 90) return unit(min, 'minute');
  if (min < 48 * 60) return unit(min / 60, 'hour');
  return unit(min / 1440, 'day');
}

/** Formats bytes with binary units: 536870912 -> "512 MiB". */
export function formatBytes(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = b;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

/** `memory of web@2.0.0 instance 2 reaches its 512 MiB limit in about 14 minutes` */
export function trendMessage(p: TrendPrediction, what: { metric: string; subject: string; limit: string }): string {
  if (p.status === 'reached') return `${what.metric} of ${what.subject} has reached its ${what.limit} limit`;
  if (p.etaMs === undefined) return `${what.metric} of ${what.subject} is not approaching its ${what.limit} limit`;
  return `${what.metric} of ${what.subject} reaches its ${what.limit} limit in ${humanDuration(p.etaMs)}`;
}
