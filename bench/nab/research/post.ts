// Post-processing sweep over cached member surprises (members.ts): calibration (running quantile, two-quantile
// bar, peaks over threshold), combination, HTM-style likelihood, novelty against the recent worst, value-range
// gate, damping; `{}` is the shipped detector. Choose on the even half only. Usage:
//   HALF=even node --no-warnings bench/nab/research/post.ts '<PostOpts JSON>' ...
import type { NabFile } from '../corpus.ts';
import { sweepCli } from './sweep-cli.ts';
import { cached, knnMember, zMembers, type ZOpts } from './members.ts';
import { normalTail } from '../../../src/monitor/anomaly/gaussian.ts';
import { scoreFromTail } from '../../../src/monitor/anomaly/detector.ts';
import { SeqMemory, type SeqOptions } from './seqmem.ts';
import type { KnnCadOptions } from '../../../src/monitor/anomaly/knncad.ts';

export interface PostOpts {
  z?: ZOpts;
  w?: [number, number, number, number];
  knn?: KnnCadOptions | null;
  wk?: number;
  wv?: number;
  seq?: SeqOptions | null;
  /** 'alone': the sequence member through lik2 only; 'max': its likelihood z max-combined with zc */
  seqMode?: 'alone' | 'max';
  ws2?: number;
  q?: number;
  /** second, higher calibration quantile: the bar is max(q quantile, q2 quantile / gamma) (0 = off) */
  q2?: number;
  gamma?: number;
  q2k?: number;
  gammak?: number;
  qk?: number;
  warmup?: number;
  suppress?: number;
  sf?: number;
  /** anomaly likelihood over the combined calibrated z: short mean length, long EW rate */
  lik?: { short: number; rate: number; cap?: number; ofMean?: boolean; bin?: number } | null;
  /** daily-recurrence veto: compare with max zc in a +-r slot one day ago (needs ring) */
  day?: { ratio: number; width: number } | null;
  /** peaks-over-threshold tail calibration (SPOT-like): exponential tail above the q quantile */
  /** score at which the damping starts */
  st?: number;
  /** score = zc / (zc + K) instead of the saturating log-tail (ranks large surprises); damping starts at zc >= zst */
  ratio?: { K: number; zst: number } | null;
  /** novelty against each member's recent worst: every member calibrated on its own, then divided by max(1, alpha x its largest calibrated z over the last blocks x block points, this block included) */
  nov?: { block: number; blocks: number; alpha: number; sep?: boolean; from?: number; cap?: number } | null;
  /** novelty gate: inside the range of the last blocks x block points (plus margin spreads), the level-family z is multiplied by factor (and the KNN z by kFactor) */
  range?: { block: number; blocks: number; factor: number; kFactor?: number; margin?: number } | null;
  /** HTM-style likelihood: raw in [0,1] = clamp((zc-lo)/(hi-lo)), averaged over short, against the long-run mean/std of that average (floors as NAB's) */
  lik2?: { short: number; lo: number; hi: number; rate?: number; meanFloor?: number; sdFloor?: number; tail?: boolean } | null;

  pot?: { rate: number; clip?: number; scale?: number; minEx?: number } | null;
}

const base: Required<PostOpts> = { z: {}, w: [0.5, 0.5, 1, 0.7], knn: { lag: 19, train: 300, calib: 200, k: 10, stride: 4, excessFloor: 1 }, wk: 1, wv: 0, q2: 0, gamma: 1, q2k: undefined as unknown as number, gammak: undefined as unknown as number, seq: null, seqMode: 'alone', ws2: 1, q: 0.98, qk: 0.98, warmup: 300, suppress: 200, sf: 0.1, lik: null, day: null, pot: null, st: 0.3, lik2: null, range: null, nov: null, ratio: null };

/** exponential tail above a running quantile; returns an equivalent Gaussian z of the tail probability */
class Pot {
  q = 0; beta = 1; n = 0; ex = 0;
  level: number; rate: number; clip: number; minEx: number;
  constructor(level: number, rate: number, clip: number, minEx: number) { this.level = level; this.rate = rate; this.clip = clip; this.minEx = minEx; }
  /** -log10 of the tail probability of z, against earlier points only */
  next(z: number): number {
    this.n++;
    let l = 0;
    if (this.ex >= this.minEx && z > this.q) l = -Math.log10(1 - this.level) + ((z - this.q) / this.beta) / Math.LN10;
    else if (z > this.q) l = -Math.log10(1 - this.level);
    // learn: quantile by stochastic approximation, mean excess by EW mean of clipped excesses
    const step = 0.05 * Math.max(Math.abs(this.q), 0.1);
    this.q += z > this.q ? step * this.level : -step * (1 - this.level);
    if (z > this.q) {
      const e = Math.min(z - this.q, this.clip * this.beta);
      this.ex++;
      const r = this.ex < 1 / this.rate ? 1 / this.ex : this.rate;
      this.beta += r * (e - this.beta);
      if (!(this.beta > 1e-6)) this.beta = 1e-6;
    }
    return l;
  }
}

class Q {
  q = 3;
  q2 = 3;
  level: number;
  level2: number;
  gamma: number;
  constructor(level: number, level2 = 0, gamma = 1) { this.level = level; this.level2 = level2; this.gamma = gamma; }
  next(z: number): number {
    const bar = this.level2 > 0 ? Math.max(this.q, this.q2 / this.gamma) : this.q;
    const zc = (3 * z) / Math.max(bar, 3);
    const step = 0.05 * Math.max(this.q, 1);
    this.q += z > this.q ? step * this.level : -step * (1 - this.level);
    if (this.level2 > 0) {
      const s2 = 0.05 * Math.max(this.q2, 1);
      this.q2 += z > this.q2 ? s2 * this.level2 : -s2 * (1 - this.level2);
    }
    return zc;
  }
}

class MaxRing {
  ring: Float64Array; cur = 0; k = 0; pos = 0; block: number;
  constructor(block: number, blocks: number) { this.block = block; this.ring = new Float64Array(blocks); }
  get max(): number { let m = this.cur; for (const v of this.ring) if (v > m) m = v; return m; }
  push(v: number): void { if (v > this.cur) this.cur = v; if (++this.k === this.block) { this.ring[this.pos] = this.cur; this.pos = (this.pos + 1) % this.ring.length; this.cur = 0; this.k = 0; } }
}

function scoreNovel(f: NabFile, o: Required<PostOpts>): Float64Array {
  const zs = cached('z3', o.z, f, () => zMembers(f, o.z)) as Float32Array[];
  const members: Float32Array[] = o.nov!.sep ? [zs[0]!, zs[1]!, zs[2]!, zs[3]!] : [];
  const weights: number[] = o.nov!.sep ? [...o.w] : [];
  const zk = o.knn ? cached('knn', o.knn, f, () => [knnMember(f, o.knn!)])[0]! : undefined;
  const N = f.values.length;
  if (!o.nov!.sep) { const g = new Float32Array(N); for (let i = 0; i < N; i++) g[i] = Math.max(o.w[0] * zs[0]![i]!, o.w[1] * zs[1]![i]!, o.w[2] * zs[2]![i]!, o.w[3] * zs[3]![i]!); members.push(g); weights.push(1); }
  if (zk) { members.push(zk); weights.push(o.wk); }
  const cals = members.map(() => new Q(o.q));
  const rings = members.map(() => new MaxRing(o.nov!.block, o.nov!.blocks));
  const out = new Float64Array(N);
  let since = Infinity;
  for (let i = 0; i < N; i++) {
    let zc = 0;
    for (let m = 0; m < members.length; m++) {
      const c = weights[m]! * cals[m]!.next(members[m]![i]!);
      const bar = Math.max(1, o.nov!.alpha * rings[m]!.max / 3);
      zc = Math.max(zc, c / bar);
      if (i >= (o.nov!.from ?? 0)) rings[m]!.push(o.nov!.cap ? Math.min(c, o.nov!.cap * Math.max(3, rings[m]!.max)) : c);
    }
    let s = i < o.warmup ? 0 : scoreFromTail(normalTail(zc));
    since++;
    if (since <= o.suppress) s *= o.sf;
    if (s >= o.st) since = 0;
    out[i] = s;
  }
  return out;
}

export function scoreFile(f: NabFile, opts: PostOpts): Float64Array {
  const o = { ...base, ...opts };
  if (o.nov) return scoreNovel(f, o);
  const [zl, zd, zf, zs, zv] = cached('z3', o.z, f, () => zMembers(f, o.z)) as Float32Array[];
  const zk = o.knn ? cached('knn', o.knn, f, () => [knnMember(f, o.knn!)])[0]! : undefined;
  const zq = o.seq ? cached('seq', o.seq, f, () => { const m = new SeqMemory(o.seq!); const a = new Float32Array(f.values.length); for (let i = 0; i < a.length; i++) a[i] = m.surprise(f.timestamps[i]!, f.values[i]!); return [a]; })[0]! : undefined;
  const N = f.values.length;
  const out = new Float64Array(N);
  const P = o.pot;
  const c1 = P ? new Pot(o.q, P.rate, P.clip ?? 5, P.minEx ?? 10) : new Q(o.q, o.q2, o.gamma), c2 = P ? new Pot(o.qk, P.rate, P.clip ?? 5, P.minEx ?? 10) : new Q(o.qk, o.q2k ?? o.q2, o.gammak ?? o.gamma);
  let since = Infinity;
  const [a, b, c, d] = o.w;
  // likelihood
  const L = o.lik;
  const ring = new Float64Array(L ? L.short : o.lik2 ? o.lik2.short : 1);
  let rs = 0, rp = 0, rm = 0, rv = 0;
  const R = o.range;
  const bmax = new Float64Array(R ? R.blocks : 1).fill(-Infinity), bmin = new Float64Array(R ? R.blocks : 1).fill(Infinity);
  let curMax = -Infinity, curMin = Infinity, inBlock = 0, bi = 0;
  let emaDev = 0, emaMean = f.values[0] ?? 0;
  for (let i = 0; i < N; i++) {
    let gate = 1, kgate = 1;
    if (R) {
      const x = f.values[i]!;
      let mx = curMax, mn = curMin;
      for (let j = 0; j < bmax.length; j++) { if (bmax[j]! > mx) mx = bmax[j]!; if (bmin[j]! < mn) mn = bmin[j]!; }
      const m = (R.margin ?? 0) * emaDev;
      if (i > R.block && x <= mx + m && x >= mn - m) { gate = R.factor; kgate = R.kFactor ?? 1; }
      curMax = Math.max(curMax, x); curMin = Math.min(curMin, x);
      if (++inBlock === R.block) { bmax[bi] = curMax; bmin[bi] = curMin; bi = (bi + 1) % bmax.length; curMax = -Infinity; curMin = Infinity; inBlock = 0; }
      const r = i < 1000 ? 1 / (i + 1) : 0.001; emaDev += r * (Math.abs(x - emaMean) - emaDev); emaMean += r * (x - emaMean);
    }
    const z = gate * Math.max(a * zl![i]!, b * zd![i]!, c * zf![i]!, d * zs![i]!, o.wv * zv![i]!);
    let zc = c1.next(z);
    if (zk) zc = Math.max(zc, kgate * o.wk * c2.next(zk[i]!));
    let s: number;
    const L2 = o.lik2;
    if (L2) {
      const raw = zq ? zq[i]! : L2.tail ? scoreFromTail(normalTail(zc)) : Math.max(0, Math.min(1, (zc - L2.lo) / (L2.hi - L2.lo)));
      rs += raw - ring[rp]!; ring[rp] = raw; rp = (rp + 1) % ring.length;
      const sm = rs / Math.min(i + 1, ring.length);
      const n = i + 1; const lr = Math.max(1 / n, L2.rate ?? 0);
      const mu = Math.max(rm, L2.meanFloor ?? 0.03);
      const sd = Math.sqrt(Math.max(rv, (L2.sdFloor ?? 0.0173) ** 2));
      const zz = n < 2 ? 0 : (sm - mu) / sd;
      const dd = sm - rm; rm += lr * dd; rv += lr * (dd * (sm - rm) - rv);
      s = i < o.warmup ? 0 : scoreFromTail(normalTail(o.seqMode === 'max' && zq ? Math.max(o.ws2 * zz, zc) : zz));
    } else if (L) {
      const raw = L.bin ? (zc >= L.bin ? 1 : 0) : Math.min(zc, L.cap ?? 1e9);
      rs += raw - ring[rp]!; ring[rp] = raw; rp = (rp + 1) % ring.length;
      const sm = rs / Math.min(i + 1, ring.length);
      const n = i + 1; const lr = n < 1 / L.rate ? 1 / n : L.rate;
      const sd = Math.sqrt(rv) + 1e-3;
      const zz = (sm - rm) / sd;
      const v = L.ofMean ? sm : raw; const dd = v - rm; rm += lr * dd; rv += lr * (dd * (v - rm) - rv);
      s = i < o.warmup ? 0 : scoreFromTail(normalTail(zz));
    } else if (o.ratio) s = i < o.warmup ? 0 : zc / (zc + o.ratio.K);
    else if (P) s = i < o.warmup ? 0 : Math.min(1, zc / (P.scale ?? 12));
    else s = i < o.warmup ? 0 : scoreFromTail(normalTail(zc));
    since++;
    if (since <= o.suppress) s *= o.sf;
    if (o.ratio ? zc >= o.ratio.zst && i >= o.warmup && since > o.suppress : s >= o.st) since = 0;
    out[i] = s;
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) sweepCli(scoreFile);
