// Tenth round: per-file difference between two valuepost.ts configurations (even half unless ALL=1), each at
// its own optimised threshold (standard profile): windows detected, FP rows, raw score; only the files that
// differ. Usage: nice -n 15 node --no-warnings bench/nab/research/value-diff.ts '<ValueOpts A>' '<ValueOpts B>'
import { loadCorpus } from '../corpus.ts';
import { profiles, scoreCorpus, scoreSeriesAt } from '../scorer.ts';
import { scoreValue, type ValueOpts } from './valuepost.ts';
const corpus = loadCorpus().filter((_, i) => process.env['ALL'] || i % 2 === 0);
const [A, B] = [process.argv[2] ?? '{}', process.argv[3] ?? '{}'].map((s) => JSON.parse(s) as ValueOpts);
const run = (o: ValueOpts) => {
  const s = corpus.map((f) => ({ ...f, scores: scoreValue(f, o) }));
  const r = scoreCorpus(s)[0]!;
  return { r, per: s.map((x) => scoreSeriesAt(x, r.threshold, profiles[0]!)), wins: s.map((x) => x.windows.length) };
};
const a = run(A!), b = run(B!);
console.log(`A: ${a.r.normalized.toFixed(1)} thr ${a.r.threshold.toFixed(3)} tp ${a.r.tp} fp ${a.r.fp} | B: ${b.r.normalized.toFixed(1)} thr ${b.r.threshold.toFixed(3)} tp ${b.r.tp} fp ${b.r.fp}`);
corpus.forEach((f, i) => {
  const x = a.per[i]!, y = b.per[i]!;
  if (x.tp === y.tp && x.fp === y.fp && Math.abs(x.raw - y.raw) < 0.01) return;
  console.log(`${f.name.slice(0, 50).padEnd(50)} tp-rows ${x.tp}->${y.tp} fp ${String(x.fp).padStart(3)}->${String(y.fp).padStart(3)} raw ${x.raw.toFixed(2).padStart(6)}->${y.raw.toFixed(2).padStart(6)} (${(y.raw - x.raw >= 0 ? '+' : '') + (y.raw - x.raw).toFixed(2)})`);
});
