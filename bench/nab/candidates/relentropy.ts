// Relative-entropy detector after Wang et al. 2011 ("Statistical techniques for online anomaly detection
// in data centers"), written from the paper's description: the values of the last W points are binned
// into a histogram over the running range; it is compared with a bounded set of stored "normal"
// histograms by the relative entropy (KL divergence) and the chi-squared test 2*W*KL < chi2(bins-1, 1-T).
// No match: the window is stored as a new hypothesis and is surprising; a match to a hypothesis seen
// only a few times is also surprising. Causal: the range is the running min/max of the values seen so
// far (not the file's, as NAB runs it); when the range widens, stored histograms are re-binned into the
// new edges (uniform within a bin) so they stay comparable. Memory: W values + H * bins numbers.
import type { SurpriseModel } from './calibrate.ts';

export interface RelEntropyOptions {
  window?: number;
  bins?: number;
  /** stored hypotheses (bounded; the least used is replaced) */
  hypotheses?: number;
  /** chi-squared critical value for bins-1 degrees of freedom (13.28 = 99% for 4 dof) */
  chi2?: number;
  /** a matched hypothesis seen at most this many times still counts as unusual */
  rareCount?: number;
  /** 'binary': surprise 0 or 3.5 as in the paper; 'graded': sqrt of the best chi-squared statistic */
  mode?: 'binary' | 'graded';
}

export const defaultRelEntropyOptions: Required<RelEntropyOptions> = {
  window: 52,
  bins: 5,
  hypotheses: 32,
  chi2: 13.277,
  rareCount: 1,
  mode: 'graded',
};

const EPS = 1e-3;

export class RelEntropyModel implements SurpriseModel {
  private readonly o: Required<RelEntropyOptions>;
  private readonly ring: Float64Array;
  private n = 0;
  private lo = Number.POSITIVE_INFINITY;
  private hi = Number.NEGATIVE_INFINITY;
  /** stored histograms, row-major H x bins, as probabilities over the current edges */
  private readonly hyp: Float64Array;
  private readonly count: Float64Array;
  private readonly lastUsed: Float64Array;
  private nh = 0;
  private readonly q: Float64Array;
  private readonly tmp: Float64Array;

  constructor(opts: RelEntropyOptions = {}) {
    this.o = { ...defaultRelEntropyOptions, ...opts };
    this.ring = new Float64Array(this.o.window);
    this.hyp = new Float64Array(this.o.hypotheses * this.o.bins);
    this.count = new Float64Array(this.o.hypotheses);
    this.lastUsed = new Float64Array(this.o.hypotheses);
    this.q = new Float64Array(this.o.bins);
    this.tmp = new Float64Array(this.o.bins);
  }

  private rebin(oldLo: number, oldHi: number): void {
    const B = this.o.bins;
    if (!(oldHi > oldLo) || this.nh === 0) return;
    const ow = (oldHi - oldLo) / B;
    const nw = (this.hi - this.lo) / B;
    for (let h = 0; h < this.nh; h++) {
      this.tmp.fill(0);
      for (let i = 0; i < B; i++) {
        const m = this.hyp[h * B + i] as number;
        if (m === 0) continue;
        const a = oldLo + i * ow;
        const b = a + ow;
        // spread the old bin's mass uniformly over the new bins it overlaps
        const j0 = Math.max(0, Math.min(B - 1, Math.floor((a - this.lo) / nw)));
        const j1 = Math.max(0, Math.min(B - 1, Math.floor((b - this.lo) / nw - 1e-12)));
        for (let j = j0; j <= j1; j++) {
          const s = Math.max(a, this.lo + j * nw);
          const e = Math.min(b, this.lo + (j + 1) * nw);
          if (e > s) this.tmp[j] = (this.tmp[j] as number) + (m * (e - s)) / ow;
        }
      }
      let sum = 0;
      for (let j = 0; j < B; j++) sum += this.tmp[j] as number;
      for (let j = 0; j < B; j++) this.hyp[h * B + j] = sum > 0 ? (this.tmp[j] as number) / sum : 1 / B;
    }
  }

  surprise(_t: number, value: number): number {
    const o = this.o;
    const W = o.window;
    const B = o.bins;
    const x = Number.isFinite(value) ? value : this.n > 0 ? (this.ring[(this.n - 1) % W] as number) : 0;
    this.ring[this.n % W] = x;
    this.n++;
    if (x < this.lo || x > this.hi) {
      const oldLo = this.lo;
      const oldHi = this.hi;
      this.lo = Math.min(this.lo, x);
      this.hi = Math.max(this.hi, x);
      if (this.hi > this.lo) this.rebin(oldLo, oldHi);
    }
    if (this.n < W) return 0;
    const q = this.q;
    q.fill(0);
    const span = this.hi - this.lo;
    for (let i = 0; i < W; i++) {
      const v = this.ring[i] as number;
      const k = span > 0 ? Math.min(B - 1, Math.floor(((v - this.lo) / span) * B)) : 0;
      q[k] = (q[k] as number) + 1 / W;
    }
    let best = -1;
    let bestKl = Number.POSITIVE_INFINITY;
    for (let h = 0; h < this.nh; h++) {
      let kl = 0;
      for (let i = 0; i < B; i++) {
        const qi = q[i] as number;
        if (qi > 0) kl += qi * Math.log(qi / (((this.hyp[h * B + i] as number) + EPS) / (1 + B * EPS)));
      }
      if (kl < bestKl) {
        bestKl = kl;
        best = h;
      }
    }
    const stat = 2 * W * bestKl;
    let unusual: boolean;
    if (best >= 0 && stat < o.chi2) {
      this.count[best] = (this.count[best] as number) + 1;
      this.lastUsed[best] = this.n;
      unusual = (this.count[best] as number) <= o.rareCount;
    } else {
      // store the window as a new hypothesis, replacing the least used one when full
      let slot = this.nh;
      if (this.nh < o.hypotheses) this.nh++;
      else {
        slot = 0;
        for (let h = 1; h < this.nh; h++) {
          const c = this.count[h] as number;
          const cs = this.count[slot] as number;
          if (c < cs || (c === cs && (this.lastUsed[h] as number) < (this.lastUsed[slot] as number))) slot = h;
        }
      }
      for (let i = 0; i < B; i++) this.hyp[slot * B + i] = q[i] as number;
      this.count[slot] = 1;
      this.lastUsed[slot] = this.n;
      unusual = true;
    }
    if (o.mode === 'binary') return unusual ? 3.5 : 0;
    // graded: chi-like size of the best match's misfit, counted only when the window is unusual
    const s = Number.isFinite(stat) ? Math.sqrt(stat) : 10;
    return unusual ? s : 0.5 * s;
  }
}

export function createRelEntropyModel(opts: RelEntropyOptions = {}): RelEntropyModel {
  return new RelEntropyModel(opts);
}
