// Eleventh round: per-file difference between two recordpost.ts configurations (even half unless ALL=1),
// each at its own optimised threshold (standard profile): windows, FP rows, raw score, only the files that
// differ; then every point where B's record run fired (index, value, run length against the record, in a
// window or not, before the probation's end). Usage:
//   [ALL=1] nice -n 15 node --no-warnings bench/nab/research/record-diff.ts '<RecordPostOpts A>' '<RecordPostOpts B>'
import { loadCorpus } from '../corpus.ts';
import { probationaryLength, profiles, scoreCorpus, scoreSeriesAt } from '../scorer.ts';
import { scoreRecord, type RecordPostOpts, type RecordTrace } from './recordpost.ts';
const corpus = loadCorpus().filter((_, i) => process.env['ALL'] || i % 2 === 0);
const [A, B] = [process.argv[2] ?? '{}', process.argv[3] ?? '{}'].map((s) => JSON.parse(s) as RecordPostOpts);
const traces: RecordTrace[] = [];
const info: string[][] = [];
const run = (o: RecordPostOpts, keep: boolean) => {
  const s = corpus.map((f) => {
    const N = f.values.length;
    const t: RecordTrace = { value: new Float64Array(N), score: new Float64Array(N), cadOpen: new Uint8Array(N), saxOpen: new Uint8Array(N), fired: new Uint8Array(N) };
    const scores = scoreRecord(f, o, t);
    if (keep) { traces.push(t); info.push(t.info ?? []); }
    return { ...f, scores };
  });
  const r = scoreCorpus(s)[0]!;
  return { r, s, per: s.map((x) => scoreSeriesAt(x, r.threshold, profiles[0]!)) };
};
const a = run(A!, false), b = run(B!, true);
console.log(`A: ${a.r.normalized.toFixed(1)} thr ${a.r.threshold.toFixed(3)} tp ${a.r.tp} fp ${a.r.fp} | B: ${b.r.normalized.toFixed(1)} thr ${b.r.threshold.toFixed(3)} tp ${b.r.tp} fp ${b.r.fp}`);
corpus.forEach((f, i) => {
  const x = a.per[i]!, y = b.per[i]!;
  if (x.tp === y.tp && x.fp === y.fp && Math.abs(x.raw - y.raw) < 0.01) return;
  console.log(`${f.name.slice(0, 50).padEnd(50)} tp-rows ${x.tp}->${y.tp} fp ${String(x.fp).padStart(3)}->${String(y.fp).padStart(3)} raw ${x.raw.toFixed(2).padStart(6)}->${y.raw.toFixed(2).padStart(6)} (${(y.raw - x.raw >= 0 ? '+' : '') + (y.raw - x.raw).toFixed(2)})`);
});
console.log('record runs fired by B:');
corpus.forEach((f, k) => {
  const t = traces[k]!;
  const win = f.windows.map(([p, q]) => [f.timestamps.indexOf(p), f.timestamps.indexOf(q)] as [number, number]);
  const prob = probationaryLength(f.values.length);
  for (let i = 0; i < f.values.length; i++) {
    if (!t.fired[i]) continue;
    const w = win.find(([p, q]) => i >= p && i <= q);
    const alarmed = b.s[k]!.scores[i]! >= b.r.threshold;
    console.log(`  ${f.name.slice(0, 50).padEnd(50)} ${i} value ${+f.values[i]!.toPrecision(5)} ${w ? `in window ${w[0]}-${w[1]}` : i < prob ? 'in probation' : 'outside windows'}${alarmed ? ' ALARM' : ' (damped or below)'} ${info[k]!.shift() ?? ''}`);
  }
});
