// Ad-hoc configuration sweep (kept so the record in docs/anomaly.md can be re-run): every argument is a
// JSON object of DetectorOptions; prints standard / low FP / low FN on all 41 files, and the standard
// score on the even-indexed and odd-indexed halves (files sorted by name) with each half's own
// threshold, for the split-half honesty check.
// Usage: node --experimental-strip-types --no-warnings bench/nab/experiment.ts '{}' '{"suppress":400}'
import { loadCorpus } from './corpus.ts';
import { runCorpus } from './run.ts';
import { createDetector, type DetectorOptions } from './candidates/experimental-detector.ts';

const corpus = loadCorpus();
const even = corpus.filter((_, i) => i % 2 === 0);
const odd = corpus.filter((_, i) => i % 2 === 1);
const f = (n: number) => n.toFixed(1).padStart(5);
for (const arg of process.argv.slice(2)) {
  const opts = JSON.parse(arg) as DetectorOptions;
  const all = runCorpus(corpus, () => createDetector(opts));
  const e = runCorpus(even, () => createDetector(opts)).results[0]!;
  const o = runCorpus(odd, () => createDetector(opts)).results[0]!;
  const [s, lfp, lfn] = all.results;
  console.log(`${f(s!.normalized)} ${f(lfp!.normalized)} ${f(lfn!.normalized)} | even ${f(e.normalized)} odd ${f(o.normalized)} | thr ${s!.threshold.toFixed(3)} tp ${s!.tp} fp ${s!.fp} | ${Math.round(all.points / all.seconds / 1000)}k/s | ${arg}`);
}
