// Predicts when a gauge with a limit (memory, disk, connections, error budget) reaches it, and tells a
// process that warms up and levels off from one that leaks. Theil–Sen fits (median of pairwise slopes,
// with Sen's confidence interval from the Mann–Kendall variance) over the whole window (robust to noise,
// covers a seasonal period), over its newer half, and over the most recent minute or so.
// - levelling off: the recent slope is confidently below half the window's, or the newer half's below
//   half the older half's (a warm-up reaching its plateau, a cache filled): no warning;
// - the forecast follows the longest of the three fits that heads to the limit with confidence, is
//   straight (its own two halves agree) and agrees with the last minute; the newer half and the recent
//   fit also need the gauge to be beyond everything before them (new territory), so the rising half of
//   a daily swing seen before is not a leak. A leak that starts after a plateau is forecast from the
//   recent fit once that minute is straight, and an acceleration moves the forecast to it too;
// - no fit qualifies: no warning (the gauge is changing shape; wait for it to show which).
// A warning needs the chosen fit's slow end to head to the limit and the central forecast within the
// horizon; the forecast carries its 95% range (etaEarliestMs .. etaLatestMs). No warning in the first
// `settleMs` of a series' life: a process warming up rises fastest when it starts.
// Time comes from the points' own timestamps.
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
  /** span of the recent fit that tells levelling off and speeding up (default 60 s, at least 8 points) */
  recentMs?: number;
  /** no warning before the series has been watched this long (default 2 min) */
  settleMs?: number;
}

export type TrendStatus = 'insufficient-data' | 'stable' | 'levelling' | 'approaching' | 'reached';

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
  /** the forecast's 95% range: at the fast end of the slope interval, and at its slow end (undefined: maybe never) */
  etaEarliestMs?: number;
  etaLatestMs?: number;
  /** which fit the forecast follows: the whole window, or the recent one because growth sped up */
  basis?: 'window' | 'recent';
  /** the recent slope, units per ms (what the gauge does now) */
  recentSlope?: number;
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

interface Fit {
  slope: number;
  low: number;
  high: number;
}

/** Theil–Sen slope with Sen's interval over points [from, to), using every `stride`-th one. */
function theilSen(ts: readonly number[], vs: readonly number[], from: number, to: number, stride: number, z: number): Fit | undefined {
  const idx: number[] = [];
  for (let i = to - 1; i >= from; i -= stride) idx.push(i);
  const n = idx.length;
  if (n < 3) return undefined;
  const slopes = new Float64Array((n * (n - 1)) / 2);
  let m = 0;
  for (let a = 0; a < n; a++) {
    const i = idx[a] as number;
    for (let b = a + 1; b < n; b++) {
      const j = idx[b] as number;
      const dt = (ts[i] as number) - (ts[j] as number);
      if (dt !== 0) slopes[m++] = ((vs[i] as number) - (vs[j] as number)) / dt;
    }
  }
  if (m === 0) return undefined;
  const sorted = slopes.subarray(0, m).sort();
  const varS = (n * (n - 1) * (2 * n + 5)) / 18;
  const c = z * Math.sqrt(varS);
  return {
    slope: median(sorted, m),
    low: sorted[Math.max(0, Math.floor((m - c) / 2))] as number,
    high: sorted[Math.min(m - 1, Math.ceil((m + c) / 2))] as number,
  };
}

export function createTrendPredictor(opts: TrendOptions): TrendPredictor {
  const maxPoints = Math.max(8, opts.maxPoints ?? 720);
  const minPoints = Math.max(4, opts.minPoints ?? 12);
  const z = quantileZ((1 - (opts.confidence ?? 0.95)) / 2);
  const sign = opts.direction === 'below' ? -1 : 1;
  const recentMs = opts.recentMs ?? 60_000;
  const settleMs = opts.settleMs ?? 2 * 60_000;
  /** the whole-window fit is thinned to about this many points (its cost is quadratic) */
  const fitPoints = 240;
  let ts: number[] = [];
  let vs: number[] = [];
  let firstAt = Number.NaN;
  // thinning: keep one point per `spacing` ms so the window fits in maxPoints, but never thinner
  // than the recent fit needs (8 points per recentMs)
  const spacing = Math.min(opts.windowMs / maxPoints, recentMs / 8);

  return {
    get size() {
      return ts.length;
    },
    add(timestamp, value) {
      if (!Number.isFinite(timestamp) || !Number.isFinite(value)) return;
      const last = ts[ts.length - 1];
      if (last !== undefined && timestamp < last) return;
      if (last !== undefined && timestamp - last < spacing) return;
      if (Number.isNaN(firstAt)) firstAt = timestamp;
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
      const none = { status: 'insufficient-data' as const, warn: false, level: vs[n - 1] ?? Number.NaN, at, slope: 0, slopeLow: 0, slopeHigh: 0 };
      if (n < minPoints) return none;
      const whole = theilSen(ts, vs, 0, n, Math.max(1, Math.ceil(n / fitPoints)), z);
      if (!whole) return none;
      let from = n - 1;
      while (from > 0 && at - (ts[from - 1] as number) <= recentMs) from--;
      from = Math.min(from, n - 8);
      const recent = from >= 0 ? theilSen(ts, vs, from, n, Math.max(1, Math.ceil((n - from) / fitPoints)), z) : undefined;
      // in the limit's direction: positive means heading to the limit
      const dir = (f: Fit): Fit => (sign > 0 ? f : { slope: -f.slope, low: -f.high, high: -f.low });
      const w = dir(whole);
      const r = recent ? dir(recent) : undefined;
      // levelling off: the last minute, or the newer half of the window, grows confidently slower than
      // half of what came before it (a warm-up decelerates from its first minute)
      const mid = n >> 1;
      const older = theilSen(ts, vs, 0, mid, Math.max(1, Math.ceil(mid / fitPoints)), z);
      const newer = theilSen(ts, vs, mid, n, Math.max(1, Math.ceil((n - mid) / fitPoints)), z);
      const o = older ? dir(older) : undefined;
      const nw = newer ? dir(newer) : undefined;
      const levelling = (r !== undefined && w.slope > 0 && r.high < 0.5 * w.slope) || (o !== undefined && nw !== undefined && o.slope > 0 && nw.high < 0.5 * o.slope);
      // which fit the forecast follows: the longest one (steadiest) that heads to the limit with
      // confidence, is straight (its two halves agree within their intervals, so a plateau followed by
      // the first seconds of a leak is not averaged into one slope) and agrees with what the last minute
      // does; the newer half and the recent fit also need new territory, beyond everything before
      // them, so the rising half of a daily swing the window has seen before is not taken for a leak
      const straight = (lo: number, hi: number): boolean => {
        const m = (lo + hi) >> 1;
        const a = theilSen(ts, vs, lo, m, Math.max(1, Math.ceil((m - lo) / fitPoints)), z);
        const b = theilSen(ts, vs, m, hi, Math.max(1, Math.ceil((hi - m) / fitPoints)), z);
        if (!a || !b) return true;
        return a.low <= b.high && b.low <= a.high;
      };
      const beyondBefore = (start: number): boolean => {
        let before = Number.NEGATIVE_INFINITY;
        for (let i = 0; i < start; i++) before = Math.max(before, sign * (vs[i] as number));
        return sign * (vs[n - 1] as number) > before;
      };
      const candidates: Array<[Fit | undefined, number, 'recent' | 'window']> = [
        [w, 0, 'window'],
        [nw, mid, 'window'],
        [r, Math.max(0, from), 'recent'],
      ];
      let chosen = w;
      let chosenFrom = 0;
      let basis: 'recent' | 'window' = 'window';
      let usable = false;
      for (const [f, start, b] of candidates) {
        if (!f || !(f.low > 0)) continue;
        if (start > 0 && !beyondBefore(start)) continue;
        if (!straight(start, n)) continue;
        if (r && f !== r && !(r.low <= f.slope && f.slope <= r.high)) continue;
        chosen = f;
        chosenFrom = start;
        basis = b;
        usable = true;
        break;
      }
      const slopeRaw = sign > 0 ? chosen.slope : -chosen.slope;
      // level now: median of the recent points projected to `at` along the chosen slope
      const lvFrom = chosenFrom;
      const resid: number[] = [];
      for (let i = lvFrom; i < n; i++) resid.push((vs[i] as number) - slopeRaw * ((ts[i] as number) - at));
      const level = median(resid);
      const out: TrendPrediction = {
        status: 'stable',
        warn: false,
        level,
        at,
        slope: sign > 0 ? chosen.slope : -chosen.slope,
        slopeLow: sign > 0 ? chosen.low : -chosen.high,
        slopeHigh: sign > 0 ? chosen.high : -chosen.low,
        basis,
      };
      if (recent) out.recentSlope = recent.slope;
      const gap = sign * (opts.limit - level);
      if (gap <= 0) return { ...out, status: 'reached', warn: true, etaMs: 0, etaConservativeMs: 0, etaEarliestMs: 0, etaLatestMs: 0 };
      if (chosen.slope > 0) out.etaMs = gap / chosen.slope;
      if (chosen.low > 0) out.etaConservativeMs = out.etaLatestMs = gap / chosen.low;
      if (chosen.high > 0) out.etaEarliestMs = gap / chosen.high;
      if (levelling) return { ...out, status: 'levelling' };
      const settled = at - firstAt >= settleMs;
      out.warn = settled && usable && out.etaConservativeMs !== undefined && out.etaMs !== undefined && out.etaMs <= opts.horizonMs;
      if (out.warn) out.status = 'approaching';
      return out;
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

/** The forecast's uncertainty in words: "between 9 and 16 minutes", or "" when it is not known. */
export function etaRange(p: TrendPrediction): string {
  if (p.etaEarliestMs === undefined || p.etaLatestMs === undefined) return '';
  const a = humanDuration(p.etaEarliestMs).replace(/^about /, '');
  const b = humanDuration(p.etaLatestMs).replace(/^about /, '');
  return a === b ? '' : ` (95%: ${a} to ${b})`;
}

/** `memory of web@2.0.0 instance 2 reaches its 512 MiB limit in about 14 minutes (95%: 11 minutes to 19 minutes)` */
export function trendMessage(p: TrendPrediction, what: { metric: string; subject: string; limit: string }): string {
  if (p.status === 'reached') return `${what.metric} of ${what.subject} has reached its ${what.limit} limit`;
  if (p.status === 'levelling') return `${what.metric} of ${what.subject} is levelling off below its ${what.limit} limit`;
  if (p.etaMs === undefined) return `${what.metric} of ${what.subject} is not approaching its ${what.limit} limit`;
  return `${what.metric} of ${what.subject} reaches its ${what.limit} limit in ${humanDuration(p.etaMs)}${etaRange(p)}`;
}
