// Adaptive-resonance novelty member (ninth round), in the spirit of ARTime (Hampton, NAB 2021 entry), written
// from the papers only (Carpenter, Grossberg & Rosen 1991, "Fuzzy ART"; Brito da Silva, Elnabarawy & Wunsch
// 2019, "Dual vigilance fuzzy adaptive resonance theory" / its distributed variant), not from ARTime's code:
// - the series is min-max normalised over the range of its first `learn` points (with a margin; values
//   beyond are clipped to the edge, a new level is the contextual member's business);
// - the input of a step is the window of the last `window` normalised values, summarised as `features`
//   block means (level), or block means minus the window mean (shape), or both; complement coded
//   I = [a, 1 - a], so |I| = M (the number of features) for every input;
// - Fuzzy ART: category j is a hyperbox [u_j, v_j] stored as w_j = [u_j, 1 - v_j]; choice
//   T_j = |I ^ w_j| / (alpha + |w_j|), match M_j = |I ^ w_j| / M; the winner is the category of highest choice
//   whose match passes the (upper) vigilance rho; it learns w_j <- beta (I ^ w_j) + (1 - beta) w_j; if none
//   passes, I becomes a new category (fast commit). With complement coding, |I ^ w_j| = M - |box_j| - d_j
//   where d_j is the L1 distance from a to box j, so rho bounds a box's total width by (1 - rho) M;
// - dual vigilance: a lower vigilance below the learning one decides whether an input that needs a new
//   category is still "of a known cluster" or novel. Here that lower vigilance is adapted per series
//   (artpost.ts: a running high quantile of the member's own mismatch), so the member outputs, per step,
//   the mismatch 1 - max_j M_j and the distance min_j d_j / M (0 inside a known box), both before learning.
// Memory is bounded: at most `cats` categories (the least recently chosen one is replaced when full) and a
// ring of `window` values. Work per evaluated step: cats x 2M min/add; every `stride`-th point is evaluated.
export interface ArtOptions {
  learn?: number;
  window?: number;
  features?: number;
  /** learning (upper) vigilance */
  rho?: number;
  /** choice parameter */
  alpha?: number;
  /** learning rate (1 = fast learning) */
  beta?: number;
  /** maximum categories */
  cats?: number;
  /** evaluate every stride-th point (the outputs hold in between) */
  stride?: number;
  /** normalisation range margin, in spans of the learned range, each side */
  margin?: number;
  feat?: 'level' | 'shape' | 'both';
  /** shape features: gain on (block mean - window mean), in normalised units */
  shapeGain?: number;
}

export const artDefaults: Required<ArtOptions> = { learn: 300, window: 32, features: 8, rho: 0.9, alpha: 0.001, beta: 1, cats: 128, stride: 2, margin: 0.1, feat: 'level', shapeGain: 1 };

export class ArtMember {
  private readonly o: Required<ArtOptions>;
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
  private warm: number[] = [];
  private lo = 0;
  private span = 1;
  private tick = 0;
  /** outputs of the last evaluated step (held between evaluations) */
  mismatch = 0;
  dist = 0;
  created = false;

  constructor(opts: ArtOptions = {}) {
    this.o = { ...artDefaults, ...opts };
    const o = this.o;
    if (!(o.window >= o.features && o.features >= 1 && o.cats >= 1 && o.rho > 0 && o.rho <= 1 && o.stride >= 1)) throw new RangeError(`art: bad options ${JSON.stringify(o)}`);
    const m = o.feat === 'both' ? o.features + 1 : o.features;
    this.dim = 2 * m;
    this.w = new Float64Array(o.cats * this.dim);
    this.wsum = new Float64Array(o.cats);
    this.used = new Float64Array(o.cats);
    this.ring = new Float64Array(o.window);
    this.input = new Float64Array(this.dim);
  }

  get bytes(): number { return this.w.byteLength + this.wsum.byteLength + this.used.byteLength + this.ring.byteLength + this.input.byteLength + 8 * this.o.learn; }
  get categories(): number { return this.nCats; }

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

  /** complement-coded input from the ring (oldest first) */
  private encode(): void {
    const o = this.o, W = o.window, F = o.features, I = this.input, m = this.dim / 2;
    let mean = 0;
    for (let f = 0; f < F; f++) {
      const a = Math.floor((f * W) / F), b = Math.floor(((f + 1) * W) / F);
      let s = 0;
      for (let k = a; k < b; k++) s += this.ring[(this.rp + k) % W]!;
      I[f] = s / (b - a);
      mean += I[f]! / F;
    }
    if (o.feat !== 'level') {
      for (let f = 0; f < F; f++) { const v = 0.5 + o.shapeGain * (I[f]! - mean); I[f] = v < 0 ? 0 : v > 1 ? 1 : v; }
      if (o.feat === 'both') I[F] = mean;
    }
    for (let f = 0; f < m; f++) I[m + f] = 1 - I[f]!;
  }

  /** one Fuzzy ART presentation of the current input: sets mismatch, dist, created; learns */
  private present(): void {
    const o = this.o, D = this.dim, m = D / 2, I = this.input, w = this.w;
    let best = -1, bestT = -1, maxS = 0, minD = Infinity;
    for (let j = 0; j < this.nCats; j++) {
      let s = 0;
      const off = j * D;
      for (let i = 0; i < D; i++) { const a = I[i]!, b = w[off + i]!; s += a < b ? a : b; }
      if (s > maxS) maxS = s;
      const d = this.wsum[j]! - s;
      if (d < minD) minD = d;
      if (s >= o.rho * m) {
        const T = s / (o.alpha + this.wsum[j]!);
        if (T > bestT) { bestT = T; best = j; }
      }
    }
    this.mismatch = 1 - maxS / m;
    this.dist = this.nCats === 0 ? 1 : Math.max(0, minD) / m;
    this.tick++;
    if (best >= 0) {
      const off = best * D;
      let ws = 0;
      for (let i = 0; i < D; i++) { const a = I[i]!, b = w[off + i]!; const v = o.beta * (a < b ? a : b) + (1 - o.beta) * b; w[off + i] = v; ws += v; }
      this.wsum[best] = ws;
      this.used[best] = this.tick;
      this.created = false;
      return;
    }
    let j = this.nCats;
    if (j < o.cats) this.nCats++;
    else { j = 0; for (let k = 1; k < o.cats; k++) if (this.used[k]! < this.used[j]!) j = k; }
    const off = j * D;
    let ws = 0;
    for (let i = 0; i < D; i++) { w[off + i] = I[i]!; ws += I[i]!; }
    this.wsum[j] = ws;
    this.used[j] = this.tick;
    this.created = true;
  }

  /** feeds one value; returns the mismatch (0 while learning) */
  update(x: number): void {
    const o = this.o;
    this.n++;
    if (this.n <= o.learn) {
      if (Number.isFinite(x)) this.warm.push(x);
      if (this.n === o.learn) {
        let lo = Infinity, hi = -Infinity;
        for (const v of this.warm) { if (v < lo) lo = v; if (v > hi) hi = v; }
        if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
        this.lo = lo;
        this.span = Math.max(hi - lo, 1e-3 * Math.max(Math.abs(lo), Math.abs(hi)), 1e-9);
        for (let i = 0; i < this.warm.length; i++) {
          this.push(this.norm(this.warm[i]!));
          if (this.filled === o.window && i % o.stride === 0) { this.encode(); this.present(); }
        }
        this.warm = [];
        this.mismatch = 0; this.dist = 0; this.created = false;
      }
      return;
    }
    this.push(this.norm(Number.isFinite(x) ? x : this.lo));
    if (this.n % o.stride === 0 && this.filled === o.window) { this.encode(); this.present(); }
  }
}
