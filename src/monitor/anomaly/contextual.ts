// Contextual novelty, in the spirit of the Contextual Anomaly Detector (CAD OSE, Smirnov, NAB 2016),
// written from its published description (not from its AGPL code): values are quantised into a few
// levels over the range of the warm-up points (values outside get levels beyond it); the facts of a
// step are the current level alone and the current level after each of the `order - 1` preceding ones;
// a fact is predicted when it has been seen before, i.e. when a context active at the previous step was
// followed by it. The novelty of a point is the share of its facts not predicted: 0 on a pattern that
// repeats, 1 on a level never seen. The detector uses it as a second, different view (see detector.ts):
// a value deviation only alarms near a contextual novelty, which removes the alarms a series raises on
// its own routine extremes (docs/anomaly.md, "Seventh round").
// Memory is bounded: one direct-mapped table of 2^tableBits (fingerprint, count) cells; a colliding new
// fact takes the cell over, so what was seen least recently is forgotten first.
export interface ContextOptions {
  /** points whose min and max place the levels */
  learn: number;
  /** quantisation levels over that range */
  bins: number;
  /** facts per step: the level alone, then with 1 .. order-1 preceding levels */
  order: number;
  tableBits: number;
}

export class ContextualNovelty {
  private readonly o: ContextOptions;
  private readonly fp: Int32Array;
  private readonly hist: Int32Array;
  private warm: number[] = [];
  private n = 0;
  private lo = 0;
  private width = 1;
  /** whether the last point's level itself (its first fact) had not been seen before */
  levelWasNew = false;

  constructor(o: ContextOptions) {
    if (!(o.bins >= 1 && o.order >= 1 && o.tableBits >= 4 && o.tableBits <= 24 && o.learn >= 1)) {
      throw new RangeError(`contextual novelty: bins, order and learn must be >= 1 and tableBits in 4..24 (got ${JSON.stringify(o)})`);
    }
    this.o = o;
    this.fp = new Int32Array(1 << o.tableBits);
    this.hist = new Int32Array(o.order);
  }

  /** bytes held: the table and history, plus the warm-up points while they are collected */
  get bytes(): number {
    return this.fp.byteLength + this.hist.byteLength + 8 * this.o.learn;
  }

  /** Feeds one finite value; returns the share of its facts not predicted, in [0, 1] (0 while learning). */
  novelty(x: number): number {
    const o = this.o;
    this.n++;
    if (this.n <= o.learn) {
      this.warm.push(x);
      if (this.n === o.learn) {
        this.placeLevels(this.warm);
        for (const v of this.warm) this.step(this.level(v));
        this.warm = [];
      }
      return 0;
    }
    return this.step(this.level(x)) / o.order;
  }

  private placeLevels(xs: number[]): void {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of xs) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    // a flat warm-up must not make every later wiggle a new level
    const span = Math.max(hi - lo, 1e-3 * Math.max(Math.abs(lo), Math.abs(hi)), 1e-9);
    this.lo = lo;
    this.width = span / this.o.bins;
  }

  private level(x: number): number {
    const b = Math.floor((x - this.lo) / this.width);
    return b > 1e6 ? 1e6 : b < -1e6 ? -1e6 : b;
  }

  /** learns the facts of level b after the history; returns how many were not predicted */
  private step(b: number): number {
    const o = this.o;
    const mask = (1 << o.tableBits) - 1;
    let novel = 0;
    let h = Math.imul(b ^ 0x5bd1e995, 0x9e3779b1);
    for (let j = 0; j < o.order; j++) {
      if (j > 0) h = Math.imul(h ^ (this.hist[j - 1]! + 0x7f4a7c15 + j), 0x85ebca6b);
      const f = h ^ (h >>> 15);
      const i = f & mask;
      const key = f | 1; // 0 marks an empty cell
      const isNew = this.fp[i] !== key;
      if (isNew) {
        this.fp[i] = key;
        novel++;
      }
      if (j === 0) this.levelWasNew = isNew;
    }
    for (let j = o.order - 1; j > 0; j--) this.hist[j] = this.hist[j - 1]!;
    this.hist[0] = b;
    return novel;
  }
}
