// KNN conformal anomaly detector after Burnaev & Ishimtsev 2016 ("Conformalized density- and
// distance-based anomaly detection in time-series data"), written from the paper's description: the
// current lag vector (last L values) gets a nonconformity = sum of distances to its k nearest
// neighbours among a bounded training set of earlier lag vectors; its conformal p-value is the share of
// a bounded calibration set of earlier nonconformities that are at least as large. Bounded memory (a
// ring of N + G + L values and M past nonconformities) and O(N * L) work per point; a stride over the
// training vectors trades accuracy for speed. Euclidean distance on raw values (the paper's
// Mahalanobis form needs a covariance re-estimate, too slow for the 100k points/s budget). Beyond the
// calibration set's resolution the surprise grows with ln(alpha / max); `excessFloor` measures that
// excess against at least a multiple of the long-run mean nonconformity, because after a near-flat
// stretch (a metric stuck at about one value) the calibration set holds only near-perfect matches
// (max ~ 0) and the series' ordinary behaviour, when it comes back, would otherwise look unboundedly new.

export interface KnnCadOptions {
  /** lag-vector length */
  lag?: number;
  /** training lag vectors (the most recent ones that do not overlap the current vector) */
  train?: number;
  /** calibration nonconformities */
  calib?: number;
  /** neighbours */
  k?: number;
  /** use every stride-th training vector */
  stride?: number;
  /** keep every calibEvery-th nonconformity, so the calibration set spans calib x calibEvery points */
  calibEvery?: number;
  /** beyond the calibration set's maximum, measure the excess against at least this multiple of the long-run mean nonconformity (0 = off), so a calibration set of near-perfect matches does not turn the next ordinary mismatch into an unbounded surprise */
  excessFloor?: number;
}

export const defaultKnnCadOptions: Required<KnnCadOptions> = { lag: 19, train: 300, calib: 200, k: 10, stride: 2, calibEvery: 1, excessFloor: 0 };

/** A streaming model: one surprise (>= 0, roughly a |z|) per point, from that point and earlier ones. */
export class KnnCadModel {
  private readonly o: Required<KnnCadOptions>;
  private readonly vals: Float64Array;
  private readonly alphas: Float64Array;
  private readonly best: Float64Array;
  private n = 0;
  private na = 0;
  private seen = 0;
  private prev = 0;
  private alphaMean = 0;
  private alphaN = 0;

  /** bytes held: the value ring, past nonconformities and the neighbour buffer */
  get bytes(): number {
    return this.vals.byteLength + this.alphas.byteLength + this.best.byteLength;
  }

  constructor(opts: KnnCadOptions = {}) {
    this.o = { ...defaultKnnCadOptions, ...opts };
    this.vals = new Float64Array(this.o.train + 2 * this.o.lag);
    this.alphas = new Float64Array(this.o.calib);
    this.best = new Float64Array(this.o.k);
  }

  surprise(_t: number, value: number): number {
    const { lag: L, train: N, k, stride, calib: M } = this.o;
    const x = Number.isFinite(value) ? value : this.prev;
    this.prev = x;
    const R = this.vals.length;
    this.vals[this.n % R] = x;
    const n = ++this.n;
    // the current vector ends at n-1; training vectors end at n-1-L-j for j = 0..N-1 (no shared points)
    const have = Math.min(N, n - 2 * L + 1);
    if (have < k * stride) return 0;
    const best = this.best;
    best.fill(Number.POSITIVE_INFINITY);
    let worst = Number.POSITIVE_INFINITY;
    const cur = n - L; // index of the current vector's first value
    for (let j = 0; j < have; j += stride) {
      const start = cur - L - j;
      let d = 0;
      for (let i = 0; i < L && d < worst; i++) {
        const e = (this.vals[(cur + i) % R] as number) - (this.vals[(start + i) % R] as number);
        d += e * e;
      }
      if (d < worst) {
        // replace the current worst of the k best, then find the new worst
        let wi = 0;
        for (let a = 1; a < k; a++) if ((best[a] as number) > (best[wi] as number)) wi = a;
        best[wi] = d;
        worst = 0;
        for (let a = 0; a < k; a++) worst = Math.max(worst, best[a] as number);
      }
    }
    let alpha = 0;
    for (let a = 0; a < k; a++) alpha += Math.sqrt(best[a] as number);
    // conformal p-value against earlier nonconformities
    const m = Math.min(this.na, M);
    let ge = 0;
    let max = 0;
    for (let a = 0; a < m; a++) {
      const c = this.alphas[a] as number;
      if (c >= alpha) ge++;
      if (c > max) max = c;
    }
    if (this.seen++ % this.o.calibEvery === 0) {
      this.alphas[this.na % M] = alpha;
      this.na++;
    }
    if (m < 20) return 0;
    const p = (ge + 1) / (m + 1);
    // z-like: sqrt(-2 ln p); beyond the calibration set's resolution, grow with how far alpha exceeds its max
    let z = Math.sqrt(-2 * Math.log(p));
    if (ge === 0 && max > 0) z += Math.max(0, Math.log(alpha / Math.max(max, this.o.excessFloor * this.alphaMean)));
    this.alphaN++;
    this.alphaMean += (alpha - this.alphaMean) / Math.min(this.alphaN, 2000);
    return z;
  }
}

export function createKnnCadModel(opts: KnnCadOptions = {}): KnnCadModel {
  return new KnnCadModel(opts);
}
