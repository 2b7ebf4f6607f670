// Per-file breakdown (windows hit / FP rows) of the shipped detector and of HTM's published outputs at
// each one's own corpus-optimised standard threshold: shows where the points are lost.
import { loadCorpus, loadReferenceScores } from '../corpus.ts';
import { runCorpus } from '../run.ts';
import { scoreCorpus, scoreSeriesAt, profiles } from '../scorer.ts';
import { createDetector } from '../../../src/monitor/anomaly/detector.ts';
const corpus = loadCorpus();
const ours = runCorpus(corpus, () => createDetector());
const htm = corpus.map((f) => loadReferenceScores('numenta', f));
const htmThr = scoreCorpus(corpus.map((f, i) => ({ ...f, scores: htm[i]! })))[0]!;
const ourThr = ours.results[0]!;
console.log('thr ours', ourThr.threshold, 'htm', htmThr.threshold, htmThr.tp, htmThr.fp);
let a = 0, b = 0;
corpus.forEach((f, i) => {
  const o = scoreSeriesAt({ ...f, scores: ours.scores[i]! }, ourThr.threshold, profiles[0]!);
  const h = scoreSeriesAt({ ...f, scores: htm[i]! }, htmThr.threshold, profiles[0]!);
  a += o.raw; b += h.raw;
  console.log(`${(i % 2 ? 'odd ' : 'even')} ${f.name.padEnd(60)} n=${f.values.length} w=${f.windows.length} ours raw ${o.raw.toFixed(2).padStart(6)} fp ${String(o.fp).padStart(3)} | htm raw ${h.raw.toFixed(2).padStart(6)} fp ${String(h.fp).padStart(3)}`);
});
console.log(a, b);
