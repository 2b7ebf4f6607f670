// Ninth round: per-file difference between two shapepost.ts configurations (even half unless ALL=1), each
// at its own optimised threshold (standard profile): windows detected, FP rows, raw score; only the files
// that differ. Usage: node --no-warnings bench/nab/research/shape-diff.ts '<ShapeOpts A>' '<ShapeOpts B>'
import { loadCorpus } from '../corpus.ts';
import { profiles, scoreCorpus, scoreSeriesAt } from '../scorer.ts';
import { scoreShape, type ShapeOpts } from './shapepost.ts';
const corpus = loadCorpus().filter((_, i) => process.env['ALL'] || i % 2 === 0);
const [A, B] = [process.argv[2] ?? '{}', process.argv[3] ?? '{}'].map((s) => JSON.parse(s) as ShapeOpts);
const run = (o: ShapeOpts) => {
  const s = corpus.map((f) => ({ ...f, scores: scoreShape(f, o) }));
  const r = scoreCorpus(s)[0]!;
  return { r, per: s.map((x) => scoreSeriesAt(x, r.threshold, profiles[0]!)) };
};
const a = run(A!), b = run(B!);
console.log(`A: ${a.r.normalized.toFixed(1)} thr ${a.r.threshold.toFixed(3)} tp ${a.r.tp} fp ${a.r.fp} | B: ${b.r.normalized.toFixed(1)} thr ${b.r.threshold.toFixed(3)} tp ${b.r.tp} fp ${b.r.fp}`);
corpus.forEach((f, i) => {
  const x = a.per[i]!, y = b.per[i]!;
  if (x.tp === y.tp && x.fp === y.fp && Math.abs(x.raw - y.raw) < 0.01) return;
  console.log(`${f.name.slice(0, 50).padEnd(50)} tp ${x.tp}->${y.tp}/${f.windows.length} fp ${String(x.fp).padStart(3)}->${String(y.fp).padStart(3)} raw ${x.raw.toFixed(2).padStart(6)}->${y.raw.toFixed(2).padStart(6)} (${(y.raw - x.raw >= 0 ? '+' : '') + (y.raw - x.raw).toFixed(2)})`);
});
