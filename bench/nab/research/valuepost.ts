// Tenth round (docs/anomaly.md): value scores and false positives, over cached raw members (members.ts
// cache). The shipped detector is the base (`{}` reproduces shapepost.ts's shipped row, even 72.5): the
// value score (level / step / recent mean / time of day, max-combined and calibrated together; the KNN
// member calibrated on its own), gated by the contextual novelty (6 levels, 2 facts, 2^10 cells, >= 0.5
// within 50 points) or a SAX word never formed (w 64, gate 64), damped x0.1 for 200 points after 0.3.
// Options of this round (all off by default):
// - warm-up: `warmup` (points with score 0) and `early`, what the gate does before its members have
//   learnt (the first `learn` points): 'shut' (shipped: nothing counts), 'open' (the value score counts
//   ungated), 'record' (the gate opens for `recG` points when a value leaves the range of the points so
//   far by more than `recMargin` of that range, after `recMin` points: a new level, judged on what has
//   been seen, as the contextual member judges later against its learnt range);
// - value members: `sep` (each of the four z-score members calibrated on its own running 98th percentile
//   before the max, instead of together), `wv` (the volatility member, members.ts: |log| of a fast mean
//   absolute step over the typical one), `scale` (a robust scale-shift member: a fast EW mean absolute
//   deviation from the fast mean against a slow, winsorised one, |log| ratio or its positive part; weight
//   `wscale`); both are log ratios, multiplied by `pre` before calibration (the calibrator floors its
//   quantile at 3), `alt` (a second baseline with other rates: its level and recent-mean z's, calibrated on
//   their own, weight `walt`), `knn` options and weight `wk`, a second KNN member `knn2` / `wk2`, `q`
//   (calibration quantile), `stepRaw` (step z in max(typical step, k x the unwinsorised mean step)), `tods`
//   (the time-of-day z weighted by a running seasonal strength);
// - false positives: `busy` (the contextual gate counts only while the share of the last `busyW` points
//   that were contextual novelties is below `busy`: a gate open all the time says nothing; `busyOut`: only
//   novelties at values outside the first 300 points' range count and are shut), `lvlRun` (a novelty at a
//   value outside that range opens the gate only once its level has held `lvlRun` points), `rest` (damping
//   length), `escape` (while damped, a gated score at or above it counts).
// Choose on the even half only. Usage:
//   HALF=even nice -n 15 node --no-warnings bench/nab/research/valuepost.ts '<ValueOpts JSON>' ...
// Without HALF it prints all / even / odd (standard, low FP, low FN): look at odd once, after choosing.
import type { NabFile } from '../corpus.ts';
import { sweepCli } from './sweep-cli.ts';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { knnMember, zMembers, type ZOpts } from './members.ts';
import { RobustBaseline } from '../../../src/monitor/anomaly/baseline.ts';
import { TimeOfDayProfile } from '../../../src/monitor/anomaly/seasonal.ts';
import { CadMember, type CadOptions } from './cad.ts';
import { SaxMember, type SaxOptions } from './shape-sax.ts';
import type { KnnCadOptions } from '../../../src/monitor/anomaly/knncad.ts';
import { normalTail } from '../../../src/monitor/anomaly/gaussian.ts';
import { scoreFromTail } from '../../../src/monitor/anomaly/detector.ts';
import { QuantileCalibrator } from '../../../src/monitor/anomaly/calibrate.ts';

export interface ScaleOpts { fast?: number; slow?: number; up?: boolean }
export interface ValueOpts {
  warmup?: number;
  early?: 'shut' | 'open' | 'record';
  learn?: number;
  recMargin?: number;
  recMin?: number;
  recG?: number;
  z?: ZOpts;
  w?: [number, number, number, number];
  q?: number;
  sep?: boolean;
  wv?: number;
  scale?: ScaleOpts | null;
  wscale?: number;
  /** the volatility and scale members are |log| ratios (about 0..3); multiplied by this before calibration, which floors its quantile at 3 */
  pre?: number;
  alt?: ZOpts | null;
  walt?: number;
  knn?: KnnCadOptions | null;
  wk?: number;
  /** second KNN member (other settings), weight wk2 */
  knn2?: KnnCadOptions | null;
  wk2?: number;
  sax?: SaxOptions;
  saxG?: number;
  g?: number;
  a?: number;
  gf?: number;
  st?: number;
  rest?: number;
  sf?: number;
  busy?: number;
  busyW?: number;
  lvlRun?: number;
  /** busy counts only novelties at values outside the first 300 points' range, and shuts only those */
  busyOut?: boolean;
  /** seasonal strength (after Wang, Smith, Hyndman 2006: 1 - residual spread / spread): an EW (rate) mean absolute
   *  residual around the time-of-day slot against the same around the slow level; the time-of-day member's z
   *  is multiplied by clamp(strength / s0, 0, 1), so a series with no daily pattern does not alarm on a slot
   *  that happened to be calm */
  tods?: { rate?: number; s0?: number } | null;
  /** heavy-tailed steps: the step member's z is measured in max(typical step, k x the unwinsorised EW mean absolute
   *  step), so a series whose routine includes rare large spikes (mostly 0, then bursts) is scaled by them (0 = off) */
  stepRaw?: number;
  /** record run: when the series has held one value (exactly) for longer than `ratio` x its longest earlier completed
   *  run (at least `min` points), once per run, that point opens the gate and gets a value score of `score` */
  runRec?: { ratio?: number; min?: number; score?: number } | null;
  /** while damped, a gated score at or above this counts undamped (and restarts the damping); 0 = off */
  escape?: number;
}

// a private copy of members.ts's cache (same layout, own directory, written atomically): the shared one is
// read while other sweeps write it, and a half-written file once gave a wrong row
const dir = '/tmp/gl-nab-cache-value';
export function cached(kind: string, opts: unknown, f: NabFile, compute: () => Float32Array[]): Float32Array[] {
  mkdirSync(dir, { recursive: true });
  const key = createHash('sha1').update(JSON.stringify([kind, opts, f.name])).digest('hex').slice(0, 16);
  const p = `${dir}/${key}.bin`;
  const n = f.values.length;
  if (existsSync(p)) {
    const buf = readFileSync(p);
    const k = buf.readUInt32LE(0);
    if (buf.length === 4 + k * n * 4) return Array.from({ length: k }, (_, j) => new Float32Array(buf.buffer.slice(buf.byteOffset + 4 + j * n * 4, buf.byteOffset + 4 + (j + 1) * n * 4)));
  }
  const arrs = compute();
  const buf = Buffer.alloc(4 + arrs.length * n * 4);
  buf.writeUInt32LE(arrs.length, 0);
  arrs.forEach((a, j) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(buf, 4 + j * n * 4));
  writeFileSync(`${p}.${process.pid}`, buf);
  renameSync(`${p}.${process.pid}`, p);
  return arrs;
}

export const shippedCad: CadOptions = { bins: 6, order: 2, tableBits: 10 };
export function cadRaw(f: NabFile, o: CadOptions): Float32Array {
  return cached('cad2', o, f, () => {
    const m = new CadMember(o);
    const a = new Float32Array(f.values.length);
    for (let i = 0; i < a.length; i++) a[i] = m.surprise(f.timestamps[i]!, f.values[i]!);
    return [a];
  })[0]!;
}
export function saxRaw(f: NabFile, o: SaxOptions): Float32Array[] {
  return cached('shape-sax1', o, f, () => {
    const m = new SaxMember(o);
    const nov = new Float32Array(f.values.length), rar = new Float32Array(f.values.length), formed = new Float32Array(f.values.length);
    for (let i = 0; i < nov.length; i++) { const r = m.step(f.timestamps[i]!, f.values[i]!); nov[i] = r.novelty; rar[i] = r.rarity; formed[i] = r.formed ? 1 : 0; }
    return [nov, rar, formed];
  });
}

export const shippedKnn: KnnCadOptions = { lag: 19, train: 300, calib: 200, k: 10, stride: 4, excessFloor: 1 };
const base: Required<ValueOpts> = {
  warmup: 300, early: 'shut', learn: 300, recMargin: 0.1, recMin: 50, recG: 50,
  z: {}, w: [0.5, 0.5, 1, 0.7], q: 0.98, sep: false, wv: 0, scale: null, wscale: 0, pre: 4, alt: null, walt: 0,
  knn: shippedKnn, wk: 1, knn2: null, wk2: 0,
  sax: { facts: { trans: false }, w: 64, exact: true }, saxG: 64, g: 50, a: 0.5, gf: 0.1, st: 0.3, rest: 200, sf: 0.1,
  busy: 0, busyW: 500, lvlRun: 0, busyOut: false, escape: 0, tods: null, stepRaw: 0, runRec: null,
};

/** robust scale shift: EW mean absolute deviation from a fast mean, fast rate against slow rate, |log| (or log+ when up) */
export function scaleRaw(f: NabFile, o: ScaleOpts): Float32Array {
  return cached('value-scale1', o, f, () => {
    const fr = o.fast ?? 0.05, sr = o.slow ?? 0.002;
    const N = f.values.length;
    const out = new Float32Array(N);
    let m = f.values[0] ?? 0, df = 0, ds = 0, n = 0;
    for (let i = 0; i < N; i++) {
      const x = Number.isFinite(f.values[i]!) ? f.values[i]! : m;
      n++;
      const e = Math.abs(x - m);
      const floor = 1e-9 + 1e-6 * Math.abs(m);
      if (n > 20) {
        const r = Math.log((df + floor) / (ds + floor));
        out[i] = o.up ? Math.max(0, r) : Math.abs(r);
      }
      // the slow scale is winsorised at 4x itself so a burst does not become its normal at once
      const rs = n < 1 / sr ? 1 / n : sr;
      ds += rs * (Math.min(e, 4 * (ds + floor) + (n < 20 ? e : 0)) - ds);
      df += Math.max(fr, 1 / n) * (e - df);
      m += 0.3 * (x - m);
    }
    return [out];
  })[0]!;
}

/** per point: the time-of-day z (as members.ts) and the running seasonal strength */
export function todRaw(f: NabFile, rate: number): Float32Array[] {
  return cached('value-tod1', rate, f, () => {
    const N = f.values.length;
    const z = new Float32Array(N), st = new Float32Array(N);
    const b = new RobustBaseline(0.001, 0.3);
    const season = new TimeOfDayProfile(48, 0.1, 3);
    let res = 0, lev = 0, n = 0;
    for (let i = 0; i < N; i++) {
      const x = Number.isFinite(f.values[i]!) ? f.values[i]! : b.prev;
      const r = b.read(x);
      if (r) {
        const s = season.observe(f.timestamps[i]!, x, r.dev, b.dev, r.floor);
        z[i] = s?.z ?? 0;
        if (s?.mature) {
          n++;
          const k = Math.max(rate, 1 / n);
          res += k * (Math.abs(x - s.expected) - res);
          lev += k * (Math.abs(x - b.mean) - lev);
          st[i] = lev > 0 ? 1 - res / lev : 0;
        }
      }
      b.learn(x);
    }
    return [z, st];
  });
}

/** per point: |x - previous| and the unwinsorised EW (rate 0.001, 1/n at first) mean absolute step before it */
export function stepRawMember(f: NabFile): Float32Array[] {
  return cached('value-step1', 0.001, f, () => {
    const N = f.values.length;
    const d = new Float32Array(N), m = new Float32Array(N);
    let prev = f.values[0] ?? 0, mean = 0;
    for (let i = 0; i < N; i++) {
      const x = Number.isFinite(f.values[i]!) ? f.values[i]! : prev;
      if (i > 0) { const e = Math.abs(x - prev); d[i] = e; m[i] = mean; mean += Math.max(0.001, 1 / i) * (e - mean); }
      prev = x;
    }
    return [d, m];
  });
}

export function valueScore(f: NabFile, o: Required<ValueOpts>): Float64Array {
  const zs = [...cached('z3', o.z, f, () => zMembers(f, o.z))];
  const zk = o.knn ? cached('knn', o.knn, f, () => [knnMember(f, o.knn!)])[0]! : undefined;
  const zk2 = o.knn2 && o.wk2 > 0 ? cached('knn', o.knn2, f, () => [knnMember(f, o.knn2!)])[0]! : undefined;
  const za = o.alt && o.walt > 0 ? cached('z3', o.alt, f, () => zMembers(f, o.alt!)) : undefined;
  const sc = o.scale && o.wscale > 0 ? scaleRaw(f, o.scale) : undefined;
  const N = f.values.length;
  const out = new Float64Array(N);
  const [a, b, c, d] = o.w;
  if (o.stepRaw > 0) {
    const [d, m] = stepRawMember(f) as [Float32Array, Float32Array];
    const z1 = new Float32Array(N);
    // zs[1] = d / diffDev; re-measure it in max(diffDev, k x raw mean) (diffDev recovered as d / z)
    for (let i = 0; i < N; i++) { const z = zs[1]![i]!; const dd = z > 0 ? d[i]! / z : Infinity; z1[i] = z > 0 ? d[i]! / Math.max(dd, o.stepRaw * m[i]!) : 0; }
    zs[1] = z1;
  }
  if (o.tods) {
    const [tz, st] = todRaw(f, o.tods.rate ?? 0.01) as [Float32Array, Float32Array];
    const s0 = o.tods.s0 ?? 0.3;
    const z3 = new Float32Array(N);
    for (let i = 0; i < N; i++) z3[i] = tz[i]! * Math.max(0, Math.min(1, st[i]! / s0));
    zs[3] = z3;
  }
  const cal = Array.from({ length: 10 }, () => new QuantileCalibrator(o.q));
  for (let i = 0; i < N; i++) {
    let zc: number;
    if (o.sep) {
      zc = Math.max(a * cal[0]!.next(zs[0]![i]!), b * cal[1]!.next(zs[1]![i]!), c * cal[2]!.next(zs[2]![i]!), d * cal[3]!.next(zs[3]![i]!));
    } else {
      zc = cal[0]!.next(Math.max(a * zs[0]![i]!, b * zs[1]![i]!, c * zs[2]![i]!, d * zs[3]![i]!));
    }
    if (zk) zc = Math.max(zc, o.wk * cal[4]!.next(zk[i]!));
    if (o.wv > 0) zc = Math.max(zc, o.wv * cal[5]!.next(o.pre * zs[4]![i]!));
    if (sc) zc = Math.max(zc, o.wscale * cal[6]!.next(o.pre * sc[i]!));
    if (za) zc = Math.max(zc, o.walt * cal[7]!.next(Math.max(a * za[0]![i]!, c * za[2]![i]!)));
    if (zk2) zc = Math.max(zc, o.wk2 * cal[8]!.next(zk2[i]!));
    out[i] = i < o.warmup ? 0 : scoreFromTail(normalTail(zc));
  }
  return out;
}

export interface ValueTrace { value: Float64Array; score: Float64Array; cadOpen: Uint8Array; saxOpen: Uint8Array }

export function scoreValue(f: NabFile, opts: ValueOpts, trace?: ValueTrace): Float64Array {
  const o = { ...base, ...opts } as Required<ValueOpts>;
  const raw = cadRaw(f, shippedCad);
  const sx = saxRaw(f, o.sax)[0]!;
  const s0 = valueScore(f, o);
  const N = f.values.length;
  const res = new Float64Array(N);
  let lastC = -Infinity, lastX = -Infinity, lastR = -Infinity, since = Infinity;
  let lo = Infinity, hi = -Infinity;
  // busy: ring of the last busyW novelty flags
  const ring = new Uint8Array(Math.max(1, o.busyW));
  let busyCount = 0;
  // lvlRun: the contextual member's level grid (as cad.ts places it on the first `learn` points)
  let glo = Infinity, ghi = -Infinity, width = 1, run = 0, prevLvl = NaN, pendingNew = false;
  let runLen = 0, runRecord = 0, runFired = false;
  for (let i = 0; i < N; i++) {
    const x = f.values[i]!;
    let s = s0[i]!;
    if (o.runRec) {
      if (i > 0 && x === f.values[i - 1]) runLen++;
      else { if (runLen > runRecord) runRecord = runLen; runLen = 1; runFired = false; }
      if (!runFired && i >= 300 && runRecord >= (o.runRec.min ?? 20) && runLen > (o.runRec.ratio ?? 1) * runRecord) { runFired = true; s = Math.max(s, o.runRec.score ?? 0.5); lastX = i; } // lastX: it holds the gate open like a new shape word
    }
    let novel = raw[i]! >= o.a;
    if (o.lvlRun > 0 && i >= 300) {
      // a novelty whose level is outside the learnt range opens the gate only once that level held lvlRun points
      const lvl = Math.floor((x - glo) / width);
      run = lvl === prevLvl ? run + 1 : 1;
      prevLvl = lvl;
      const outside = x > ghi || x < glo;
      if (novel && outside) { pendingNew = true; novel = false; }
      if (pendingNew && outside && run >= o.lvlRun) { novel = true; pendingNew = false; }
      if (!outside) pendingNew = false;
    }
    if (i < 300) { if (x < glo) glo = x; if (x > ghi) ghi = x; if (i === 299) width = Math.max(ghi - glo, 1e-3 * Math.max(Math.abs(glo), Math.abs(ghi)), 1e-9) / 6; }
    const out = i >= 300 && (x > ghi || x < glo);
    const counted = novel && (!o.busyOut || out);
    if (o.busy > 0) { busyCount += (counted ? 1 : 0) - ring[i % ring.length]!; ring[i % ring.length] = counted ? 1 : 0; }
    const busyNow = o.busy > 0 && busyCount >= o.busy * Math.min(i + 1, o.busyW);
    if (novel && !(busyNow && o.busyOut && out)) lastC = i;
    if (sx[i]! >= 0.5) lastX = i;
    if (o.early === 'record' && i < o.learn) {
      const span = hi - lo;
      if (i >= o.recMin && (x > hi + o.recMargin * span || x < lo - o.recMargin * span)) lastR = i;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    const cadOpen = i - lastC <= o.g && (o.busyOut || !busyNow);
    const saxOpen = i - lastX <= o.saxG;
    const earlyOpen = i < o.learn && (o.early === 'open' || (o.early === 'record' && i - lastR <= o.recG));
    const open = cadOpen || saxOpen || earlyOpen;
    let v = open ? s : s * o.gf;
    if (i < o.warmup) v = 0;
    since++;
    if (since <= o.rest) { if (o.escape > 0 && v >= o.escape) since = 0; else v *= o.sf; }
    else if (v >= o.st) since = 0;
    res[i] = Math.min(1, Math.max(0, v));
    if (trace) { trace.value[i] = s; trace.score[i] = res[i]!; trace.cadOpen[i] = cadOpen ? 1 : 0; trace.saxOpen[i] = saxOpen ? 1 : 0; }
  }
  return res;
}

if (import.meta.url === `file://${process.argv[1]}`) sweepCli(scoreValue);
