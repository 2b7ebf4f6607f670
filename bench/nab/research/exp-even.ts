// experiment.ts on the even half only (the half configurations are chosen on).
import { loadCorpus } from '../corpus.ts';
import { runCorpus } from '../run.ts';
import { createDetector, type DetectorOptions } from '../candidates/experimental-detector.ts';
const corpus = loadCorpus();
const half = corpus.filter((_, i) => i % 2 === (process.env['HALF'] === 'odd' ? 1 : 0));
const f = (n: number) => n.toFixed(1).padStart(5);
for (const arg of process.argv.slice(2)) {
  const r = runCorpus(half, () => createDetector(JSON.parse(arg) as DetectorOptions)).results;
  console.log(`${process.env['HALF'] === 'odd' ? 'odd ' : 'even'} ${r.map((x) => f(x.normalized)).join(' ')} tp ${r[0]!.tp} fp ${r[0]!.fp} thr ${r[0]!.threshold.toFixed(3)} | ${arg}`);
}
