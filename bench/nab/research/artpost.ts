// Ninth round: the adaptive-resonance member (art.ts) as a standalone detector and as an extra novelty source
// for the shipped context gate, over cached raw outputs (members.ts cache). The shipped detector is
// `{"mode":"gate","art":null}` (the seventh-round gate: the value score counts within `g` points of a
// contextual novelty >= `a`). Choose on the even half only. Usage:
//   HALF=even nice -n 15 node --no-warnings bench/nab/research/artpost.ts '<ArtPostOpts JSON>' ...
// Without HALF it prints all / even / odd (standard, low FP, low FN): look at odd once, after choosing.
import type { NabFile } from '../corpus.ts';
import { sweepCli } from './sweep-cli.ts';
import { cached } from './members.ts';
import { scoreFile, type PostOpts } from './post.ts';
import { cadRaw } from './cadpost.ts';
import type { CadOptions } from './cad.ts';
import { ArtMember, type ArtOptions } from './art.ts';
import { saxRaw } from './shapepost.ts';
import type { SaxOptions } from './shape-sax.ts';
import { normalTail } from '../../../src/monitor/anomaly/gaussian.ts';
import { scoreFromTail } from '../../../src/monitor/anomaly/detector.ts';

export interface ArtPostOpts {
  art?: ArtOptions | null;
  /** which ART output is the novelty statistic: the mismatch 1 - max match, or the distance to the nearest box */
  stat?: 'mismatch' | 'dist' | 'created';
  /** alone: the ART novelty scored on its own (calibrated like the value members);
   *  gate: the shipped value score, counting fully only within g points of a contextual novelty or within ga
   *  points of an ART novelty; gateMax: max(that, wa x the standalone ART score) */
  mode?: 'alone' | 'gate' | 'gateMax' | 'and' | 'artGated' | 'maxGated';
  /** adapted lower vigilance: an ART novelty is stat >= max(k x running q-quantile of stat, floor) */
  q?: number;
  k?: number;
  floor?: number;
  /** the quantile tracker's relative step */
  eta?: number;
  /** use the contextual novelty in the gate as well (the shipped gate) */
  useCad?: boolean;
  cad?: CadOptions;
  a?: number;
  g?: number;
  ga?: number;
  gf?: number;
  wa?: number;
  /** damping: after a score >= st, scores are multiplied by sf for rest points */
  st?: number;
  rest?: number;
  sf?: number;
  warmup?: number;
  post?: PostOpts;
  /** and: ART novelty counts only if the value score is at least va (mode and) */
  va?: number;
  /** veto: a contextual novelty counts only when the ART statistic exceeded veto within the last vw points (-1 = off) */
  veto?: number;
  vw?: number;
  /** s4-shape's shipped SAX word gate as a further opener (their shapepost.ts row
   *  {"sax":{"facts":{"trans":false},"w":64,"exact":true},"saxG":64}: a SAX novelty >= 0.5 within saxG points); null = off */
  sax?: SaxOptions | null;
  saxG?: number;
}

const shippedCad: CadOptions = { bins: 6, order: 2, tableBits: 10 };

export function artRaw(f: NabFile, o: ArtOptions): Float32Array[] {
  return cached('art1', o, f, () => {
    const m = new ArtMember(o);
    const N = f.values.length;
    const mm = new Float32Array(N), d = new Float32Array(N), c = new Float32Array(N);
    for (let i = 0; i < N; i++) { m.update(f.values[i]!); mm[i] = m.mismatch; d[i] = m.dist; c[i] = m.created ? 1 : 0; }
    return [mm, d, c];
  });
}

/** running quantile of a non-negative statistic by stochastic approximation, step relative to its size */
export class RunningQuantile {
  q: number;
  private readonly level: number;
  private readonly eta: number;
  private readonly minQ: number;
  constructor(level: number, eta: number, init: number, minQ = 1e-4) { this.q = init; this.level = level; this.eta = eta; this.minQ = minQ; }
  next(x: number): number {
    const q = this.q;
    const step = this.eta * Math.max(this.q, this.minQ);
    this.q += x > this.q ? step * this.level : -step * (1 - this.level);
    return q;
  }
}

export function scoreArt(f: NabFile, opts: ArtPostOpts): Float64Array {
  const o = { art: {}, stat: 'mismatch', mode: 'gate', q: 0.99, k: 1, floor: 0, eta: 0.05, useCad: true, cad: shippedCad, a: 0.5, g: 50, ga: 50, gf: 0.1, wa: 1, st: 0.3, rest: 200, sf: 0.1, warmup: 300, post: {}, va: 0, veto: -1, vw: 0, sax: null, saxG: 64, ...opts } as Required<ArtPostOpts>;
  const N = f.values.length;
  const s0 = o.mode === 'alone' ? undefined : scoreFile(f, { ...o.post, suppress: 0 });
  const cad = o.mode !== 'alone' && o.useCad ? cadRaw(f, o.cad) : undefined;
  const ar = o.art ? artRaw(f, o.art) : undefined;
  // 'created': the mismatch where the member had to create a category (no resonance), 0 elsewhere
  const stat = ar ? (o.stat === 'dist' ? ar[1]! : o.stat === 'created' ? ar[0]!.map((m, i) => (ar[2]![i]! > 0 ? m : 0)) : ar[0]!) : undefined;
  const learn = o.art?.learn ?? 300;
  const sx = o.sax && o.mode !== 'alone' ? saxRaw(f, o.sax)[0]! : undefined;
  let lastX = -Infinity;
  const rq = new RunningQuantile(o.q, o.eta, 0.05);
  const out = new Float64Array(N);
  let lastC = -Infinity, lastA = -Infinity, lastV = -Infinity, since = Infinity;
  for (let i = 0; i < N; i++) {
    let artScore = 0, novelA = false;
    if (stat && i >= learn) {
      const x = stat[i]!;
      const thr = Math.max(o.k * rq.next(x), o.floor);
      novelA = x >= thr && x > 0;
      artScore = scoreFromTail(normalTail((3 * x) / Math.max(thr, 1e-6)));
    }
    if (stat && o.veto >= 0 && i >= learn && stat[i]! > o.veto) lastV = i;
    if (cad && cad[i]! >= o.a && (o.veto < 0 || i - lastV <= o.vw)) lastC = i;
    const s = s0 ? s0[i]! : 0;
    if (sx && sx[i]! >= 0.5) lastX = i;
    if (novelA && (o.mode !== 'and' || s >= o.va)) lastA = i;
    let v: number;
    const open = i - lastC <= o.g || i - lastA <= o.ga || (sx !== undefined && i - lastX <= o.saxG);
    switch (o.mode) {
      case 'alone': v = artScore; break;
      case 'gate': case 'and': v = open ? s : s * o.gf; break;
      case 'artGated': v = open ? artScore : artScore * o.gf; break;
      case 'maxGated': { const m = Math.max(s, o.wa * artScore); v = open ? m : m * o.gf; break; }
      case 'gateMax': v = Math.max(open ? s : s * o.gf, o.wa * artScore); break;
      default: throw new Error(`artpost: unknown mode ${String(o.mode)}`);
    }
    if (i < o.warmup) v = 0;
    since++;
    if (since <= o.rest) v *= o.sf;
    else if (v >= o.st) since = 0;
    out[i] = Math.min(1, Math.max(0, v));
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) sweepCli(scoreArt);
