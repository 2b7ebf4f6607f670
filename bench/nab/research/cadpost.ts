// Sweep of the contextual (CAD-like, cad.ts) member alone and combined with the shipped detector's
// undamped score, over cached raw outputs (members.ts cache), with a suppression policy. Choose on the
// even half only. Usage:
//   HALF=even nice -n 15 node --no-warnings bench/nab/research/cadpost.ts '<CadPostOpts JSON>' ...
// Without HALF it prints all / even / odd (standard, low FP, low FN): look at odd once, after choosing.
import type { NabFile } from '../corpus.ts';
import { sweepCli } from './sweep-cli.ts';
import { cached } from './members.ts';
import { scoreFile, type PostOpts } from './post.ts';
import { CadMember, type CadOptions } from './cad.ts';

export interface CadPostOpts {
  cad?: CadOptions;
  /** alone: the CAD share only; max: max(shipped, wc x CAD); and: min(shipped, CAD) (both must agree);
   *  gate: the shipped score, times gf unless the CAD share reached `a` within the last `g` points;
   *  gateC: the CAD share, times gf unless the shipped score reached `a` within the last `g` points */
  mode?: 'alone' | 'max' | 'and' | 'gate' | 'gateC' | 'mean' | 'gateMax';
  /** gateMax: max(gated shipped score, wc x the share of a second contextual member `cad2`) */
  cad2?: CadOptions;
  /** mean of the last `smooth` CAD shares */
  smooth?: number;
  wc?: number;
  a?: number;
  g?: number;
  gf?: number;
  /** damping: after a score >= st, scores are multiplied by sf for `rest` points */
  st?: number;
  rest?: number;
  sf?: number;
  warmup?: number;
  post?: PostOpts;
  /** eighth round, gate mode: a value score >= hb counts even with the gate shut (0 = off) */
  hb?: number;
  /** eighth round, gate mode: a value score >= h2 counts within g2 points after a novelty (0 = off) */
  g2?: number;
  h2?: number;
  /** eighth round, gate mode: the gate also opens when at least nk novelties happened within the last nw points (0 = off) */
  nk?: number;
  nw?: number;
  /** eighth round, gate mode: at a novelty, the score is at least the highest (gated-out) value score of the last lb points (0 = off) */
  lb?: number;
}

export function cadRaw(f: NabFile, o: CadOptions): Float32Array {
  return cached('cad2', o, f, () => {
    const m = new CadMember(o);
    const a = new Float32Array(f.values.length);
    for (let i = 0; i < a.length; i++) a[i] = m.surprise(f.timestamps[i]!, f.values[i]!);
    return [a];
  })[0]!;
}

export function scoreCad(f: NabFile, opts: CadPostOpts): Float64Array {
  const o = { mode: 'alone', smooth: 1, wc: 1, a: 0.5, g: 5, gf: 0.3, st: 0.5, rest: 200, sf: 0.1, warmup: 300, cad: {}, post: {}, hb: 0, g2: 0, h2: 1, nk: 0, nw: 0, lb: 0, ...opts };
  const raw = cadRaw(f, o.cad);
  const raw2 = o.cad2 ? cadRaw(f, o.cad2) : undefined;
  const s0 = o.mode === 'alone' ? undefined : scoreFile(f, { ...o.post, suppress: 0 });
  const N = f.values.length;
  const out = new Float64Array(N);
  const ring = new Float64Array(Math.max(1, o.smooth));
  let rs = 0, rp = 0;
  let lastC = -Infinity, lastS = -Infinity;
  let since = Infinity;
  const novel: number[] = [];
  for (let i = 0; i < N; i++) {
    rs += raw[i]! - ring[rp]!; ring[rp] = raw[i]!; rp = (rp + 1) % ring.length;
    const c = rs / Math.min(i + 1, ring.length);
    const s = s0 ? s0[i]! : 0;
    if (c >= o.a) { lastC = i; if (o.nk > 0) novel.push(i); }
    if (s >= o.a) lastS = i;
    let v: number;
    switch (o.mode) {
      case 'alone': v = c; break;
      case 'max': v = Math.max(s, o.wc * c); break;
      case 'mean': v = (s + o.wc * c) / (1 + o.wc); break;
      case 'and': v = Math.min(s, o.wc * c); break;
      case 'gate': {
        let open = i - lastC <= o.g || (o.hb > 0 && s >= o.hb) || (o.g2 > 0 && s >= o.h2 && i - lastC <= o.g2);
        if (o.nk > 0) {
          while (novel.length > 0 && i - novel[0]! > o.nw) novel.shift();
          if (novel.length >= o.nk) open = true;
        }
        v = open ? s : s * o.gf;
        if (o.lb > 0 && c >= o.a) for (let j = Math.max(0, i - o.lb); j < i; j++) v = Math.max(v, s0![j]!);
        break;
      }
      case 'gateMax': v = Math.max(i - lastC <= o.g ? s : s * o.gf, o.wc * (raw2 ? raw2[i]! : c)); break;
      case 'gateC': v = i - lastS <= o.g ? c : c * o.gf; break;
      default: throw new Error(`cadpost: unknown mode ${String(o.mode)}`);
    }
    if (i < o.warmup) v = 0;
    since++;
    if (since <= o.rest) v *= o.sf;
    else if (v >= o.st) since = 0;
    out[i] = Math.min(1, Math.max(0, v));
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) sweepCli(scoreCad);
