// Shape novelty by adaptive resonance, in the spirit of ARTime (Hampton, NAB 2021 entry), written from the
// papers (Carpenter, Grossberg & Rosen 1991, "Fuzzy ART"; Brito da Silva, Elnabarawy & Wunsch 2019, "Dual
// vigilance fuzzy ART"), not from ARTime's code. A second opener for the detector's context gate
// (detector.ts step 8, docs/anomaly.md "Ninth round"): the contextual member sees new levels and new
// transitions between levels; this one sees a recent window whose *shape* was never seen, which is what an
// anomaly inside known levels (an oscillation between levels it already had, a holiday in a daily pattern)
// looks like.
// - Values are min-max normalised over the range of the first `learn` points, with a margin; values beyond
//   are clipped to the edge (a new level is the contextual member's business).
// - The input of a step is the last `window` normalised values as `features` block means minus their mean,
//   plus 0.5 (clipped to [0, 1]), complement coded as I = [a, 1 - a].
// - Fuzzy ART: category j is a box [u_j, v_j] stored as w_j = [u_j, 1 - v_j]; with complement coding
//   |I ^ w_j| = M - |box_j| - d_j, where d_j is the L1 distance from a to box j. The winner is the category
//   of highest choice |I ^ w_j| / (alpha + |w_j|) whose match |I ^ w_j| / M passes the vigilance rho; it
//   learns w_j <- I ^ w_j (fast learning: its box grows to include a). When none passes, a becomes a new
//   category; when all `cats` are taken, the least recently chosen one is replaced.
// - Novelty: the distance of the window to the nearest box, min_j d_j / M, before learning (0 inside a known
//   box), against a lower vigilance adapted per series: a running 99th percentile of that distance. Most
//   windows fall inside a box, so this is "a shape outside everything seen" rather than "a shape a little
//   wider than usual".
// Memory is bounded (cats x 2M weights and a ring of `window` values); work per evaluated step is
// cats x 2M min/add, every `stride`-th point is evaluated and its outputs hold in between.
export interface ArtOptions {
  learn: number;
  window: number;
  features: number;
  /** learning vigilance: a box's total width is at most (1 - rho) x features */
  rho: number;
  /** choice parameter */
  alpha: number;
  cats: number;
  stride: number;
  /** normalisation range margin, in spans of the learned range, each side */
  margin: number;
  /** the adapted lower vigilance: this running quantile of the distance */
  quantile: number;
  /** relative step of that running quantile */
  quantileStep: number;
}

/** the ninth round's configuration, chosen on the even half of the NAB subset (docs/anomaly.md) */
export const artDefaults: ArtOptions = { learn: 300, window: 32, features: 8, rho: 0.9, alpha: 0.001, cats: 128, stride: 2, margin: 0.1, quantile: 0.99, quantileStep: 0.05 };

export class ArtNovelty {
  private readonly o: ArtOptions;
  private readonly dim: number;
  private readonly w: Float64Array;
  private readonly wsum: Float64Array;
  private readonly used: Float64Array;
  private readonly ring: Float64Array;
  private readonly input: Float64Array;
  private nCats = 0;
  private rp = 0;
  private filled = 0;
  private n = 0;
  private tick = 0;
  private warm: number[] = [];
  private lo = 0;
  private span = 1;
  private q = 0.05;
  /** the last evaluated window's distance to the nearest known box (held between evaluations) */
  distance = 0;

  constructor(opts: Partial<ArtOptions> = {}) {
    const o = { ...artDefaults, ...opts };
    if (!(o.learn >= 1 && o.features >= 1 && o.window >= o.features && o.cats >= 1 && o.stride >= 1 && o.rho > 0 && o.rho <= 1 && o.quantile > 0 && o.quantile < 1)) {
      throw new RangeError(`art novelty: learn, features, cats and stride must be >= 1, window >= features, rho in (0, 1] and quantile in (0, 1) (got ${JSON.stringify(o)})`);
    }
    this.o = o;
    this.dim = 2 * o.features;
    this.w = new Float64Array(o.cats * this.dim);
    this.wsum = new Float64Array(o.cats);
    this.used = new Float64Array(o.cats);
    this.ring = new Float64Array(o.window);
    this.input = new Float64Array(this.dim);
  }

  /** bytes held: weights, bookkeeping, the window ring, plus the learning points while they are collected */
  get bytes(): number {
    return this.w.byteLength + this.wsum.byteLength + this.used.byteLength + this.ring.byteLength + this.input.byteLength + 8 * this.o.learn;
  }

  get categories(): number {
    return this.nCats;
  }

  /** Feeds one finite value; true when the recent window is a shape outside everything seen (never while learning). */
  novelty(x: number): boolean {
    const o = this.o;
    this.n++;
    if (this.n <= o.learn) {
      this.warm.push(x);
      if (this.n === o.learn) this.learnRange();
      return false;
    }
    this.push(this.norm(x));
    if (this.n % o.stride === 0 && this.filled === o.window) this.present();
    // the adapted lower vigilance, against earlier distances only
    const thr = this.q;
    const d = this.distance;
    const step = o.quantileStep * Math.max(this.q, 1e-4);
    this.q += d > this.q ? step * o.quantile : -step * (1 - o.quantile);
    return d > 0 && d >= thr;
  }

  private learnRange(): void {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of this.warm) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.lo = lo;
    // a flat learning stretch must not make every later wiggle a new shape
    this.span = Math.max(hi - lo, 1e-3 * Math.max(Math.abs(lo), Math.abs(hi)), 1e-9);
    for (let i = 0; i < this.warm.length; i++) {
      this.push(this.norm(this.warm[i]!));
      if (this.filled === this.o.window && i % this.o.stride === 0) this.present();
    }
    this.warm = [];
    this.distance = 0;
  }

  private norm(x: number): number {
    const mg = this.o.margin;
    const u = ((x - this.lo) / this.span + mg) / (1 + 2 * mg);
    return u < 0 ? 0 : u > 1 ? 1 : u;
  }

  private push(u: number): void {
    this.ring[this.rp] = u;
    this.rp = (this.rp + 1) % this.ring.length;
    if (this.filled < this.ring.length) this.filled++;
  }

  /** the complement-coded shape of the ring (oldest first) */
  private encode(): void {
    const W = this.o.window;
    const F = this.o.features;
    const I = this.input;
    let mean = 0;
    for (let f = 0; f < F; f++) {
      const a = Math.floor((f * W) / F);
      const b = Math.floor(((f + 1) * W) / F);
      let s = 0;
      for (let k = a; k < b; k++) s += this.ring[(this.rp + k) % W]!;
      I[f] = s / (b - a);
      mean += I[f]! / F;
    }
    for (let f = 0; f < F; f++) {
      const v = 0.5 + (I[f]! - mean);
      I[f] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
    for (let f = 0; f < F; f++) I[F + f] = 1 - I[f]!;
  }

  /** one Fuzzy ART presentation: sets the distance to the nearest box, then learns */
  private present(): void {
    this.encode();
    const o = this.o;
    const D = this.dim;
    const M = D / 2;
    const I = this.input;
    const w = this.w;
    let best = -1;
    let bestT = -1;
    let minD = Infinity;
    for (let j = 0; j < this.nCats; j++) {
      let s = 0;
      const off = j * D;
      for (let i = 0; i < D; i++) {
        const a = I[i]!;
        const b = w[off + i]!;
        s += a < b ? a : b;
      }
      const d = this.wsum[j]! - s;
      if (d < minD) minD = d;
      if (s >= o.rho * M) {
        const T = s / (o.alpha + this.wsum[j]!);
        if (T > bestT) {
          bestT = T;
          best = j;
        }
      }
    }
    this.distance = this.nCats === 0 ? 1 : Math.max(0, minD) / M;
    this.tick++;
    let j = best;
    if (j < 0) {
      // no category resonates: the window becomes one (the least recently chosen makes room)
      j = this.nCats;
      if (j < o.cats) this.nCats++;
      else {
        j = 0;
        for (let k = 1; k < o.cats; k++) if (this.used[k]! < this.used[j]!) j = k;
      }
      const off = j * D;
      for (let i = 0; i < D; i++) w[off + i] = I[i]!;
    } else {
      const off = j * D;
      for (let i = 0; i < D; i++) {
        const a = I[i]!;
        if (a < w[off + i]!) w[off + i] = a;
      }
    }
    let ws = 0;
    for (let i = 0; i < D; i++) ws += w[j * D + i]!;
    this.wsum[j] = ws;
    this.used[j] = this.tick;
  }
}
