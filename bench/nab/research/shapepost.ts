// Ninth round (docs/anomaly.md): shape and time context for the context gate and the value score, over
// cached raw outputs (members.ts cache; kinds 'shape-*'). The shipped score is the base: the value score
// (post.ts, undamped), gated by the shipped contextual novelty (cadpost.ts's member, 6 levels, 2 facts,
// 2^10 cells: novelty >= 0.5 within 50 points), damped x0.1 for 200 points after a score >= 0.3. On top:
// - gate sources: a SAX word novelty >= saxA within saxG points (shape-sax.ts), a time-context novelty
//   >= tcA within tcG points (shape-time.ts); any open source opens the gate;
// - value sources, calibrated on their own running 98th percentile and max-combined into the value z:
//   spectral residual (shape-sr.ts) with weight wsr, SAX word rarity with weight wrare;
// - `outReq`: a CAD novelty whose level lies outside the learned range opens the gate only if a shape
//   (SAX) novelty is also within saxG points (series whose level leaves the learned range).
// `{}` reproduces the shipped detector's row (even 65.2). Choose on the even half only. Usage:
//   HALF=even nice -n 15 node --no-warnings bench/nab/research/shapepost.ts '<ShapeOpts JSON>' ...
// Without HALF it prints all / even / odd (standard, low FP, low FN): look at odd once, after choosing.
import type { NabFile } from '../corpus.ts';
import { sweepCli } from './sweep-cli.ts';
import { cached } from './members.ts';
import { scoreFile } from './post.ts';
import { cadRaw } from './cadpost.ts';
import type { CadOptions } from './cad.ts';
import { SaxMember, type SaxOptions } from './shape-sax.ts';
import { SrMember, type SrOptions } from './shape-sr.ts';
import { TimeContext, type TimeContextOptions } from './shape-time.ts';
import { normalTail } from '../../../src/monitor/anomaly/gaussian.ts';
import { scoreFromTail } from '../../../src/monitor/anomaly/detector.ts';
import { QuantileCalibrator } from '../../../src/monitor/anomaly/calibrate.ts';

export interface ShapeOpts {
  cad?: CadOptions;
  a?: number;
  g?: number;
  gf?: number;
  st?: number;
  rest?: number;
  sf?: number;
  warmup?: number;
  /** the shipped contextual gate on (false: only the sources below open it) */
  cadGate?: boolean;
  sax?: SaxOptions | null;
  saxA?: number;
  saxG?: number;
  wrare?: number;
  sr?: SrOptions | null;
  wsr?: number;
  tc?: TimeContextOptions | null;
  tcA?: number;
  tcG?: number;
  outReq?: boolean;
  /** the SAX / time gate opens only for value scores >= this (0 = any) */
  hs?: number;
}

export const shippedCad: CadOptions = { bins: 6, order: 2, tableBits: 10 };

export function saxRaw(f: NabFile, o: SaxOptions): Float32Array[] {
  return cached('shape-sax1', o, f, () => {
    const m = new SaxMember(o);
    const nov = new Float32Array(f.values.length), rar = new Float32Array(f.values.length), formed = new Float32Array(f.values.length);
    for (let i = 0; i < nov.length; i++) { const r = m.step(f.timestamps[i]!, f.values[i]!); nov[i] = r.novelty; rar[i] = r.rarity; formed[i] = r.formed ? 1 : 0; }
    return [nov, rar, formed];
  });
}
export function srRaw(f: NabFile, o: SrOptions): Float32Array {
  return cached('shape-sr1', o, f, () => {
    const m = new SrMember(o);
    const a = new Float32Array(f.values.length);
    for (let i = 0; i < a.length; i++) a[i] = m.surprise(f.timestamps[i]!, f.values[i]!);
    return [a];
  })[0]!;
}
export function tcRaw(f: NabFile, o: TimeContextOptions): Float32Array {
  return cached('shape-tc1', o, f, () => {
    const m = new TimeContext(o);
    const a = new Float32Array(f.values.length);
    for (let i = 0; i < a.length; i++) a[i] = m.novelty(f.timestamps[i]!, f.values[i]!);
    return [a];
  })[0]!;
}

/** whether each point's shipped-contextual level lies outside the learned range (first `learn` points' min-max) */
function outsideRange(f: NabFile, learn = 300): Uint8Array {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < Math.min(learn, f.values.length); i++) { const v = f.values[i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
  const out = new Uint8Array(f.values.length);
  for (let i = learn; i < out.length; i++) out[i] = f.values[i]! > hi || f.values[i]! < lo ? 1 : 0;
  return out;
}

export interface ShapeTrace { value: Float64Array; score: Float64Array; cadOpen: Uint8Array; saxOpen: Uint8Array; tcOpen: Uint8Array }

export function scoreShape(f: NabFile, opts: ShapeOpts, trace?: ShapeTrace): Float64Array {
  const o = { cad: shippedCad, a: 0.5, g: 50, gf: 0.1, st: 0.3, rest: 200, sf: 0.1, warmup: 300, cadGate: true, sax: null, saxA: 0.5, saxG: 50, wrare: 0, sr: null, wsr: 0, tc: null, tcA: 0.5, tcG: 50, outReq: false, hs: 0, ...opts };
  const raw = cadRaw(f, o.cad);
  const s0 = scoreFile(f, { suppress: 0 });
  const sx = o.sax ? saxRaw(f, o.sax) : undefined;
  const sr = o.sr && o.wsr > 0 ? srRaw(f, o.sr) : undefined;
  const tc = o.tc ? tcRaw(f, o.tc) : undefined;
  const out = o.outReq ? outsideRange(f) : undefined;
  const calSr = new QuantileCalibrator(0.98), calRare = new QuantileCalibrator(0.98);
  const N = f.values.length;
  const res = new Float64Array(N);
  let lastC = -Infinity, lastCin = -Infinity, lastX = -Infinity, lastT = -Infinity, since = Infinity;
  for (let i = 0; i < N; i++) {
    let s = s0[i]!;
    if (sr) { const z = o.wsr * calSr.next(sr[i]!); if (i >= o.warmup) s = Math.max(s, scoreFromTail(normalTail(z))); }
    if (sx && o.wrare > 0 && sx[2]![i]! > 0) { const z = o.wrare * calRare.next(sx[1]![i]!); if (i >= o.warmup) s = Math.max(s, scoreFromTail(normalTail(z))); }
    if (raw[i]! >= o.a) { lastC = i; if (!out || !out[i]) lastCin = i; }
    if (sx && sx[0]![i]! >= o.saxA) lastX = i;
    if (tc && tc[i]! >= o.tcA) lastT = i;
    const saxOpen = sx !== undefined && i - lastX <= o.saxG;
    const cadOpen = o.cadGate && (out ? i - lastCin <= o.g || (i - lastC <= o.g && saxOpen) : i - lastC <= o.g);
    const tcOpen = tc !== undefined && i - lastT <= o.tcG;
    const open = cadOpen || ((saxOpen || tcOpen) && s >= o.hs);
    if (trace) { trace.value[i] = s; trace.cadOpen[i] = cadOpen ? 1 : 0; trace.saxOpen[i] = saxOpen ? 1 : 0; trace.tcOpen[i] = tcOpen ? 1 : 0; }
    let v = open ? s : s * o.gf;
    if (i < o.warmup) v = 0;
    since++;
    if (since <= o.rest) v *= o.sf;
    else if (v >= o.st) since = 0;
    res[i] = Math.min(1, Math.max(0, v));
    if (trace) trace.score[i] = res[i]!;
  }
  return res;
}

if (import.meta.url === `file://${process.argv[1]}`) sweepCli(scoreShape);
