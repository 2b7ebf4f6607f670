// Split-half comparison of alternative detectors (docs/anomaly.md, "Alternative detectors"): every
// argument is a JSON EnsembleOptions (see bench/nab/candidates/ensemble.ts), or "default" for the shipped
// detector. Prints standard / low FP / low FN on all 41 files, the standard score on the even-indexed
// and on the odd-indexed files (each half with its own optimised threshold), and throughput.
// Choose on the even half only; report odd and all for the chosen one.
// Usage: node --experimental-strip-types --no-warnings bench/nab/candidates.ts default '{"members":[{"kind":"relentropy"}]}'
import { loadCorpus } from './corpus.ts';
import { runCorpus } from './run.ts';
import { createDetector } from '../../src/monitor/anomaly/detector.ts';
import { createEnsemble, type EnsembleOptions } from './candidates/ensemble.ts';

const corpus = loadCorpus();
const even = corpus.filter((_, i) => i % 2 === 0);
const odd = corpus.filter((_, i) => i % 2 === 1);
const f = (n: number) => n.toFixed(1).padStart(5);
const halfOnly = process.env['HALF'] === 'even';
for (const arg of process.argv.slice(2)) {
  const make = arg === 'default' ? () => createDetector() : () => createEnsemble(JSON.parse(arg) as EnsembleOptions);
  const e = runCorpus(even, make);
  const es = e.results[0]!;
  if (halfOnly) {
    console.log(`even ${f(es.normalized)} | ${Math.round(e.points / e.seconds / 1000)}k/s | ${arg}`);
    continue;
  }
  const all = runCorpus(corpus, make);
  const o = runCorpus(odd, make).results[0]!;
  const [s, lfp, lfn] = all.results;
  console.log(`${f(s!.normalized)} ${f(lfp!.normalized)} ${f(lfn!.normalized)} | even ${f(es.normalized)} odd ${f(o.normalized)} | thr ${s!.threshold.toFixed(3)} tp ${s!.tp} fp ${s!.fp} | ${Math.round(all.points / all.seconds / 1000)}k/s | ${arg}`);
}
