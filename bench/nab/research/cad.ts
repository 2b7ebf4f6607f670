// Contextual novelty member in the spirit of CAD OSE (Smirnov, "Contextual Anomaly Detector", NAB 2016),
// written from its published description only (NAB's code is AGPL and was not used):
// - values are quantised into `bins` levels over a range learned causally: the robust range of the
//   first `learn` points (values outside it get bins beyond, which are new facts, not clipped);
// - the facts of a step are the current bin together with 0..order-1 preceding bins (an n-gram per
//   order), optionally the current bin with its time-of-day slot;
// - a fact is "predicted" when the context it extends (the same n-gram without its newest bin, i.e.
//   the contexts active at the previous step) has been followed by it at least `minCount` times;
// - raw anomaly = share of the active facts not predicted: near zero on a pattern that repeats.
// Memory is bounded: one direct-mapped table of 2^tableBits (fingerprint, count) cells; a colliding
// new fact takes the cell over (forgets the older one).
export interface CadOptions {
  learn?: number;
  bins?: number;
  order?: number;
  /** quantiles of the learning points that span the bins */
  qLo?: number;
  qHi?: number;
  tableBits?: number;
  minCount?: number;
  /** time-of-day slots for a (bin, slot) fact; 0 = none */
  tod?: number;
  /** weight of the order-j fact grows as (1 + j)^wPow (0 = all equal) */
  wPow?: number;
  /** re-learn the range (and forget) when this many consecutive points fall more than `bins` bins outside it; 0 = never */
  regrid?: number;
  /** eighth round: at the end of every block of `learn` points, re-place the levels on that block (and
   *  forget) when its span is below 1/rescale of the current span, or its range reaches more than
   *  (rescale - 1) spans outside the current one (hysteresis); 0 = never */
  rescale?: number;
  /** with rescale: only shrink (1), only grow (2), both (0) */
  rescaleDir?: number;
  /** eighth round: outside the learned range, level k (k = 0, 1, ...) beyond its edge spans widths
   *  g^k .. g^(k+1) in geometric steps instead of one width each, so a series that grows far past its
   *  first points gets a few new levels, not a new one at every value (0 or 1 = equal widths) */
  outGrowth?: number;
  /** eighth round: a run-length fact (level, floor(log2 of the points spent in it so far)); when new, the
   *  surprise is at least runW (so staying at a known level longer than ever opens the gate); 0 = off */
  runW?: number;
  /** run-length buckets: log base (2 = doubling) */
  runBase?: number;
  /** eighth round: inner level edges at the bins-quantiles of the learning points (equal-frequency levels)
   *  instead of equal widths; outside the range levels stay one width wide */
  quantLevels?: boolean;
}

const EMPTY = 0;

export class CadMember {
  private readonly o: Required<CadOptions>;
  private readonly fp: Int32Array;
  private readonly cnt: Uint16Array;
  private readonly hist: Int32Array;
  private readonly warm: number[] = [];
  private readonly wts: Float64Array;
  private wsum = 0;
  private n = 0;
  private lo = 0;
  private width = 1;
  private outside = 0;
  private edges: number[] = [];
  private run = 0;
  private runLevel = NaN;
  constructor(opts: CadOptions = {}) {
    this.o = { learn: 300, bins: 8, order: 4, qLo: 0, qHi: 1, tableBits: 12, minCount: 1, tod: 0, wPow: 0, regrid: 0, rescale: 0, rescaleDir: 0, outGrowth: 0, runW: 0, runBase: 2, quantLevels: false, ...opts };
    this.fp = new Int32Array(1 << this.o.tableBits);
    this.cnt = new Uint16Array(1 << this.o.tableBits);
    this.hist = new Int32Array(this.o.order);
    this.wts = new Float64Array(this.o.order + 1);
    for (let j = 0; j < this.o.order; j++) this.wts[j] = (1 + j) ** this.o.wPow;
    this.wts[this.o.order] = this.o.tod > 0 ? 1 : 0;
    for (const w of this.wts) this.wsum += w;
  }
  get bytes(): number { return this.fp.byteLength + this.cnt.byteLength + this.hist.byteLength + this.wts.byteLength + 8 * this.o.learn; }

  private setRange(xs: number[]): void {
    const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
    if (s.length === 0) return;
    const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(p * (s.length - 1))))]!;
    const lo = q(this.o.qLo), hi = q(this.o.qHi);
    // a flat learning stretch must not make every later wiggle a new level
    const span = Math.max(hi - lo, 1e-3 * Math.max(Math.abs(lo), Math.abs(hi)), 1e-9);
    this.lo = lo;
    this.width = span / this.o.bins;
    if (this.o.quantLevels) {
      this.edges = [];
      for (let k = 1; k < this.o.bins; k++) this.edges.push(q(this.o.qLo + (k / this.o.bins) * (this.o.qHi - this.o.qLo)));
    }
  }

  private bin(x: number): number {
    if (this.o.quantLevels && x >= this.lo && x < this.lo + this.width * this.o.bins) {
      let k = 0;
      while (k < this.edges.length && x >= this.edges[k]!) k++;
      return k;
    }
    const g = this.o.outGrowth;
    if (g > 1) {
      const u = (x - this.lo) / this.width;
      if (u >= this.o.bins) return this.o.bins + Math.floor(Math.log1p((u - this.o.bins) * (g - 1)) / Math.log(g));
      if (u < 0) return -1 - Math.floor(Math.log1p(-u * (g - 1)) / Math.log(g));
    }
    const b = Math.floor((x - this.lo) / this.width);
    return b > 1e6 ? 1e6 : b < -1e6 ? -1e6 : b;
  }

  surprise(t: number, x: number): number {
    const o = this.o;
    if (!Number.isFinite(x)) return 0;
    this.n++;
    if (this.n <= o.learn) {
      this.warm.push(x);
      if (this.n === o.learn) {
        this.setRange(this.warm);
        for (const v of this.warm) this.step(t, this.bin(v), false);
        if (o.rescale > 0) this.warm.length = 0;
      }
      return 0;
    }
    const b = this.bin(x);
    if (o.rescale > 0) {
      this.warm.push(x);
      if (this.warm.length === o.learn) {
        let lo = Infinity, hi = -Infinity;
        for (const v of this.warm) { if (v < lo) lo = v; if (v > hi) hi = v; }
        const span = this.width * o.bins, clo = this.lo, chi = this.lo + span;
        const shrink = hi - lo < span / o.rescale;
        const grow = lo < clo - (o.rescale - 1) * span || hi > chi + (o.rescale - 1) * span;
        if ((shrink && o.rescaleDir !== 2) || (grow && o.rescaleDir !== 1)) {
          const blk = this.warm.slice();
          this.setRange(blk);
          this.fp.fill(EMPTY);
          this.cnt.fill(0);
          for (const v of blk) this.step(t, this.bin(v), false);
          this.warm.length = 0;
          return 0;
        }
        this.warm.length = 0;
      }
    }
    if (o.regrid > 0) {
      if (b < -o.bins || b >= 2 * o.bins) this.outside++;
      else this.outside = 0;
      this.warm.push(x);
      if (this.warm.length > o.learn) this.warm.shift();
      if (this.outside >= o.regrid) {
        this.outside = 0;
        this.setRange(this.warm);
        this.fp.fill(EMPTY);
        this.cnt.fill(0);
        for (const v of this.warm) this.step(t, this.bin(v), false);
        return 1;
      }
    }
    return this.step(t, b, true);
  }

  /** learns the facts of bin b after the history; returns the weighted share not predicted */
  private step(t: number, b: number, score: boolean): number {
    const o = this.o;
    const mask = (1 << o.tableBits) - 1;
    let novel = 0;
    let h = Math.imul(b ^ 0x5bd1e995, 0x9e3779b1);
    for (let j = 0; j < o.order; j++) {
      if (j > 0) h = Math.imul(h ^ (this.hist[j - 1]! + 0x7f4a7c15 + j), 0x85ebca6b);
      novel += this.wts[j]! * this.touch(h ^ (h >>> 15), mask);
    }
    if (o.tod > 0) {
      const slot = Math.floor(((t % 86_400_000) + 86_400_000) % 86_400_000 / (86_400_000 / o.tod));
      const ht = Math.imul(Math.imul(b ^ 0x27d4eb2f, 0x165667b1) ^ (slot + 0x3c6ef372), 0xc2b2ae35);
      novel += this.wts[o.order]! * this.touch(ht ^ (ht >>> 13), mask);
    }
    for (let j = o.order - 1; j > 0; j--) this.hist[j] = this.hist[j - 1]!;
    if (o.order > 0) this.hist[0] = b;
    let share = novel / this.wsum;
    if (o.runW > 0) {
      if (b === this.runLevel) this.run++;
      else { this.run = 1; this.runLevel = b; }
      const k = Math.floor(Math.log(this.run) / Math.log(o.runBase));
      const hr = Math.imul(Math.imul(b ^ 0x1b873593, 0xcc9e2d51) ^ (k + 0x6b43a9b5), 0x85ebca6b);
      if (this.touch(hr ^ (hr >>> 16), mask) > 0 && share < o.runW) share = o.runW;
    }
    return score ? share : 0;
  }

  /** 1 when the fact was not predicted (unseen, or seen fewer than minCount times), then learns it */
  private touch(h: number, mask: number): number {
    const i = h & mask;
    const f = (h | 1);
    if (this.fp[i] === f) {
      const c = this.cnt[i]!;
      if (c < 65535) this.cnt[i] = c + 1;
      return c >= this.o.minCount ? 0 : 1;
    }
    this.fp[i] = f;
    this.cnt[i] = 1;
    return this.o.minCount <= 0 ? 0 : 1;
  }
}
// cache version: 2 (rescale fixed)
