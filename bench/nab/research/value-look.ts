// Tenth round (docs/anomaly.md): what the shipped detector sees where it misses a window or raises a
// false positive. For the shipped row of shapepost.ts at its optimised threshold (even half unless ALL=1),
// per missed window: the values around it (every k-th), the highest ungated value score inside it and
// which member gave it (calibrated z of level / step / recent mean / time of day / KNN), and whether the
// gate was open; per file with FP rows: each FP row's position, value, score, deciding member and what
// held the gate open (new level / transition: cad; new shape word: sax). Only FILE=substring narrows it.
// Usage: [ALL=1] [FILE=name] nice -n 15 node --no-warnings bench/nab/research/value-look.ts ['<ShapeOpts JSON>']
import { loadCorpus, type NabFile } from '../corpus.ts';
import { scoreCorpus, probationaryLength } from '../scorer.ts';
import { knnMember, zMembers } from './members.ts';
import { cached } from './valuepost.ts';
import { scoreShape, type ShapeOpts, type ShapeTrace } from './shapepost.ts';
import { QuantileCalibrator } from '../../../src/monitor/anomaly/calibrate.ts';

export const shippedShape: ShapeOpts = { sax: { facts: { trans: false }, w: 64, exact: true }, saxG: 64 };
export const shippedKnn = { lag: 19, train: 300, calib: 200, k: 10, stride: 4, excessFloor: 1 };
const NAMES = ['level', 'step', 'mean', 'tod', 'knn'];

/** per point: calibrated z of the value ensemble, of the KNN member, and which of the 5 decided the max */
export function memberZ(f: NabFile): { zc: Float64Array; zk: Float64Array; who: Uint8Array; comp: Float64Array[] } {
  const zs = cached('z3', {}, f, () => zMembers(f, {}));
  const zkr = cached('knn', shippedKnn, f, () => [knnMember(f, shippedKnn)])[0]!;
  const w = [0.5, 0.5, 1, 0.7];
  const N = f.values.length;
  const c1 = new QuantileCalibrator(0.98), c2 = new QuantileCalibrator(0.98);
  const zc = new Float64Array(N), zk = new Float64Array(N), who = new Uint8Array(N);
  const comp = [0, 1, 2, 3].map(() => new Float64Array(N));
  for (let i = 0; i < N; i++) {
    let z = 0, arg = 0;
    for (let j = 0; j < 4; j++) { const v = w[j]! * zs[j]![i]!; comp[j]![i] = v; if (v > z) { z = v; arg = j; } }
    const bar = c1.next(z) / (z || 1); // calibrated / raw ratio
    zc[i] = z * bar;
    for (let j = 0; j < 4; j++) comp[j]![i]! *= bar;
    zk[i] = c2.next(zkr[i]!);
    who[i] = zk[i]! > zc[i]! ? 4 : arg;
  }
  return { zc, zk, who, comp };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const corpus = loadCorpus().filter((_, i) => process.env['ALL'] || i % 2 === 0);
  const o = process.argv[2] ? (JSON.parse(process.argv[2]) as ShapeOpts) : shippedShape;
  const traces = corpus.map((f) => { const N = f.values.length; const t: ShapeTrace = { value: new Float64Array(N), score: new Float64Array(N), cadOpen: new Uint8Array(N), saxOpen: new Uint8Array(N), tcOpen: new Uint8Array(N) }; scoreShape(f, o, t); return t; });
  const thr = scoreCorpus(corpus.map((f, i) => ({ ...f, scores: traces[i]!.score })))[0]!.threshold;
  console.log(`threshold ${thr.toFixed(4)}`);
  const only = process.env['FILE'];
  corpus.forEach((f, k) => {
    if (only && !f.name.includes(only)) return;
    const t = traces[k]!;
    const m = memberZ(f);
    const prob = probationaryLength(f.values.length);
    const inWin = new Uint8Array(f.values.length);
    for (const [ta, tb] of f.windows) {
      const a = f.timestamps.indexOf(ta), b = f.timestamps.indexOf(tb);
      for (let i = a; i <= b; i++) inWin[i] = 1;
      if (b < prob) continue;
      let det = -1; for (let i = Math.max(a, prob); i <= b; i++) if (t.score[i]! >= thr) { det = i; break; }
      if (det >= 0 && !process.env['ALLWIN']) continue;
      let mx = 0, at = a; for (let i = Math.max(a, prob); i <= b; i++) if (t.value[i]! > mx) { mx = t.value[i]!; at = i; }
      console.log(`\n${det >= 0 ? 'DETECTED' : 'MISSED'} ${f.name} window ${a}-${b} (n ${f.values.length}, probation ${prob}) det ${det}: max ungated value score ${mx.toFixed(3)} at ${at} by ${NAMES[m.who[at]!]} (zc ${m.zc[at]!.toFixed(2)}, zk ${m.zk[at]!.toFixed(2)}), gate ${t.cadOpen[at] ? 'cad' : ''}${t.saxOpen[at] ? 'sax' : ''}`);
      const lo = Math.max(0, a - 150), hi = Math.min(f.values.length - 1, b + 50);
      const step = Math.max(1, Math.round((hi - lo) / 60));
      const row: string[] = [];
      for (let i = lo; i <= hi; i += step) row.push(`${i}${i >= a && i <= b ? '*' : ''}:${+f.values[i]!.toPrecision(4)}/${m.zc[i]!.toFixed(1)}/${m.zk[i]!.toFixed(1)}${t.cadOpen[i] ? 'c' : ''}${t.saxOpen[i] ? 's' : ''}`);
      console.log('  i:value/zc/zk[gate] ' + row.join(' '));
      // the largest per-member calibrated z within the window
      const best = [0, 0, 0, 0, 0];
      for (let i = Math.max(a, prob); i <= b; i++) { for (let j = 0; j < 4; j++) best[j] = Math.max(best[j]!, m.comp[j]![i]!); best[4] = Math.max(best[4]!, m.zk[i]!); }
      console.log('  max calibrated z in window: ' + NAMES.map((n, j) => `${n} ${best[j]!.toFixed(2)}`).join(', '));
    }
    const fps: string[] = [];
    for (let i = prob; i < f.values.length; i++) if (!inWin[i] && t.score[i]! >= thr) fps.push(`${i}:${+f.values[i]!.toPrecision(4)} s${t.score[i]!.toFixed(2)} ${NAMES[m.who[i]!]} zc${m.zc[i]!.toFixed(1)} zk${m.zk[i]!.toFixed(1)} ${t.cadOpen[i] ? 'cad' : ''}${t.saxOpen[i] ? 'sax' : ''}`);
    if (fps.length > 0) console.log(`\nFP ${f.name}: ${fps.length} rows\n  ${fps.join('\n  ')}`);
  });
}
