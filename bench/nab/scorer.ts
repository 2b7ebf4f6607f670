// NAB scoring (v1.1 rules as published): sweep scores per row, corpus-wide threshold optimisation per
// profile, normalisation between the null detector (0) and the perfect detector (100).
// Mirrors nab/sweeper.py + nab/optimizer.py of NAB v1.1: the optimiser is an exhaustive sweep over
// every distinct score in the corpus (sweeper.calcScoreByThreshold, best total wins; the older
// twiddle local search is gone), the per-file score at that threshold is summed over files, and
// runner.normalize uses null = the null detector's corpus total and perfect = tpWeight x the number
// of windows in combined_windows.json. Detections are rows whose score >= threshold; the first (best) detection in
// a window counts; rows outside windows are false positives weighted by their distance past the
// previous window; the probationary period min(floor(0.15 n), 750) is not scored.

export interface Profile {
  name: string;
  tp: number;
  fn: number;
  fp: number;
}

export const profiles: readonly Profile[] = [
  { name: 'standard', tp: 1, fn: 1, fp: 0.11 },
  { name: 'reward_low_FP_rate', tp: 1, fn: 1, fp: 0.22 },
  { name: 'reward_low_FN_rate', tp: 1, fn: 2, fp: 0.11 },
];

export interface ScoredSeries {
  timestamps: ArrayLike<number>;
  scores: ArrayLike<number>;
  windows: ReadonlyArray<readonly [number, number]>;
}

// NAB v1.1 sweeper.py returns -1 from a relative position of 3.0 inclusive (`>= 3.0`); the older
// scorer.py used `> 3.0`. The sweeper is what scores v1.1 results, so match it.
export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition >= 3) return -1;
  return 2 / (1 + Math.exp(5 * relativePosition)) - 1;
}

export function probationaryLength(n: number, fraction = 0.15): number {
  return Math.min(Math.floor(fraction * n), fraction * 5000);
}

/** One scorable row: anomaly score, unweighted sweep value, window id (-1 outside every window). */
interface Row {
  score: number;
  /** scaledSigmoid value, before the profile weights */
  sigmoid: number;
  window: number;
}

function sweepRows(series: ScoredSeries, windowBase: number): { rows: Row[]; windowCount: number } {
  const n = series.timestamps.length;
  const prob = probationaryLength(n);
  // window index ranges by timestamp; rows inside [start, end] belong to the window
  const ranges: Array<[number, number]> = [];
  for (const [a, b] of series.windows) {
    let lo = -1;
    let hi = -1;
    for (let i = 0; i < n; i++) {
      const t = series.timestamps[i] as number;
      if (t >= a && t <= b) {
        if (lo < 0) lo = i;
        hi = i;
      }
    }
    if (lo >= 0) ranges.push([lo, hi]);
  }
  const rows: Row[] = [];
  const scorableWindows = new Set<number>();
  let w = 0;
  let prevRight = -1;
  let prevWidth = 0;
  for (let i = 0; i < n; i++) {
    const cur = ranges[w];
    const inWindow = cur !== undefined && i >= cur[0] && i <= cur[1];
    let sigmoid: number;
    if (inWindow) {
      const width = cur[1] - cur[0] + 1;
      sigmoid = scaledSigmoid(-(cur[1] - i + 1) / width) / scaledSigmoid(-1);
    } else if (prevRight < 0) {
      sigmoid = -1;
    } else {
      sigmoid = scaledSigmoid(Math.abs(prevRight - i) / (prevWidth - 1));
    }
    if (i >= prob) {
      const id = inWindow ? windowBase + w : -1;
      if (inWindow) scorableWindows.add(id);
      rows.push({ score: series.scores[i] as number, sigmoid, window: id });
    }
    if (inWindow && i === cur[1]) {
      prevRight = i;
      prevWidth = cur[1] - cur[0] + 1;
      w++;
    }
  }
  return { rows, windowCount: scorableWindows.size };
}

export interface ProfileResult {
  profile: string;
  threshold: number;
  raw: number;
  normalized: number;
  tp: number;
  fp: number;
  fn: number;
}

/**
 * Scores a corpus of detector outputs under each profile, choosing per profile the threshold that
 * maximises the corpus total (as NAB's optimiser does), and normalising between null and perfect.
 */
export function scoreCorpus(corpus: readonly ScoredSeries[], which: readonly Profile[] = profiles): ProfileResult[] {
  const all: Row[] = [];
  let totalWindows = 0;
  let base = 0;
  for (const s of corpus) {
    const { rows } = sweepRows(s, base);
    totalWindows += s.windows.length;
    base += s.windows.length;
    for (const r of rows) all.push(r);
  }
  all.sort((a, b) => b.score - a.score);
  return which.map((p) => {
    const best = new Float64Array(base).fill(Number.NaN);
    let fpSum = 0;
    let fpCount = 0;
    let tpSum = 0;
    let detected = 0;
    // scorable windows that are never detected contribute -fn; windows lying wholly in the
    // probationary period are unscorable and, as in NAB, simply absent from the sweep
    const scorable = new Set<number>();
    for (const r of all) if (r.window >= 0) scorable.add(r.window);
    const nullRaw = -p.fn * scorable.size;
    const total = () => fpSum + tpSum - p.fn * (scorable.size - detected);
    let bestTotal = total();
    let bestThreshold = Number.POSITIVE_INFINITY;
    let bestCounts = { tp: 0, fp: 0, fn: scorable.size };
    let i = 0;
    while (i < all.length) {
      const t = (all[i] as Row).score;
      while (i < all.length && (all[i] as Row).score === t) {
        const r = all[i] as Row;
        if (r.window < 0) {
          fpSum += r.sigmoid * p.fp;
          fpCount++;
        } else {
          const v = r.sigmoid * p.tp;
          const prev = best[r.window] as number;
          if (Number.isNaN(prev)) {
            best[r.window] = v;
            tpSum += v;
            detected++;
          } else if (v > prev) {
            best[r.window] = v;
            tpSum += v - prev;
          }
        }
        i++;
      }
      const tot = total();
      if (tot > bestTotal) {
        bestTotal = tot;
        bestThreshold = t;
        bestCounts = { tp: detected, fp: fpCount, fn: scorable.size - detected };
      }
    }
    const perfect = p.tp * totalWindows;
    return {
      profile: p.name,
      threshold: bestThreshold,
      raw: bestTotal,
      normalized: (100 * (bestTotal - nullRaw)) / (perfect - nullRaw),
      ...bestCounts,
    };
  });
}

/** Raw score of one series at a fixed threshold (detections are rows with score >= threshold). */
export function scoreSeriesAt(series: ScoredSeries, threshold: number, p: Profile): { raw: number; tp: number; fp: number } {
  const { rows } = sweepRows(series, 0);
  const best = new Map<number, number>();
  let fpSum = 0;
  let fp = 0;
  let tp = 0;
  const windows = new Set<number>();
  for (const r of rows) {
    if (r.window >= 0) windows.add(r.window);
    if (r.score < threshold) continue;
    if (r.window < 0) {
      fpSum += r.sigmoid * p.fp;
      fp++;
    } else {
      tp++;
      const v = r.sigmoid * p.tp;
      best.set(r.window, Math.max(best.get(r.window) ?? -Infinity, v));
    }
  }
  let raw = fpSum - p.fn * (windows.size - best.size);
  for (const v of best.values()) raw += v;
  return { raw, tp, fp };
}
