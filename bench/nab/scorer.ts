// NAB scoring, written from NAB v1.1's published rules and checked against its published outputs
// (shared/data/nab/reference-results, asserted in scorer.test.ts):
// - every row's anomaly score is first rounded to 12 significant digits, because NAB's detectors write
//   their scores to CSV with Python 2's str(float) and the optimiser reads them back: near-certain
//   scores such as 1 - 1e-14 and 1 become one tie at "1.0". Without that rounding the exhaustive
//   threshold search can separate them and the windowed Gaussian scores 30.14 instead of 29.06;
// - the threshold is chosen per profile over the whole corpus by trying every distinct score (rows
//   with score >= threshold are detections); among equal totals the highest threshold wins;
// - a window is entered at the row whose timestamp equals its start and left at the row whose
//   timestamp equals its end (so a row that steps back in time stays wherever the file puts it); its
//   width is counted in rows between the first occurrences of those two timestamps;
// - rows of the probationary period, min(floor(0.15 n), 750), are not scored, and a window with no
//   row after it is not counted as missed;
// - normalisation: null = the null detector's total (every scorable window missed), perfect =
//   tpWeight x every window in the labels.

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

/** NAB round-trips scores through CSV with 12 significant digits; see the header. */
export function nabRound(score: number): number {
  return Number.isFinite(score) ? Number(score.toPrecision(12)) : score;
}

/** One scorable row: anomaly score, unweighted sweep value, window id (-1 outside every window). */
interface Row {
  score: number;
  /** scaledSigmoid value, before the profile weights */
  sigmoid: number;
  window: number;
}

function sweepRows(series: ScoredSeries, windowBase: number): { rows: Row[] } {
  const n = series.timestamps.length;
  const prob = probationaryLength(n);
  const firstIndex = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const t = series.timestamps[i] as number;
    if (!firstIndex.has(t)) firstIndex.set(t, i);
  }
  const indexOf = (t: number, what: string, k: number): number => {
    const i = firstIndex.get(t);
    if (i === undefined) {
      throw new Error(`NAB window ${k} ${what} ${new Date(t).toISOString()} is not a timestamp of the file: the windows must come from the same data (combined_windows.json of this corpus)`);
    }
    return i;
  };
  const rows: Row[] = [];
  const maxTp = scaledSigmoid(-1);
  let next = 0; // next window to enter, in label order
  let cur = -1; // window we are in, or -1
  let curRight = 0;
  let curWidth = 0;
  let prevRight = -1;
  let prevWidth = 0;
  for (let i = 0; i < n; i++) {
    const t = series.timestamps[i] as number;
    const pending = series.windows[next];
    if (cur < 0 && pending !== undefined && t === pending[0]) {
      cur = next++;
      curRight = indexOf(pending[1], 'end', cur);
      curWidth = curRight - indexOf(pending[0], 'start', cur) + 1;
    }
    let sigmoid: number;
    if (cur >= 0) sigmoid = scaledSigmoid(-(curRight - i + 1) / curWidth) / maxTp;
    else if (prevRight < 0) sigmoid = -1;
    else sigmoid = scaledSigmoid(Math.abs(prevRight - i) / (prevWidth - 1));
    if (i >= prob) rows.push({ score: nabRound(series.scores[i] as number), sigmoid, window: cur >= 0 ? windowBase + cur : -1 });
    if (cur >= 0 && t === (series.windows[cur] as readonly [number, number])[1]) {
      prevRight = i;
      prevWidth = curWidth;
      cur = -1;
    }
  }
  return { rows };
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
