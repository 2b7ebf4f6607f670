// Upper bound: the raw NAB score of the shipped detector and of HTM at their thresholds with false positives made free (where the points are lost).
import { loadCorpus, loadReferenceScores } from '../corpus.ts';
import { scoreSeriesAt } from '../scorer.ts';
import { scoreFile } from '../research/post.ts';
const corpus = loadCorpus();
const p0 = { name: 'x', tp: 1, fn: 1, fp: 0 }, p1 = { name: 's', tp: 1, fn: 1, fp: 0.11 };
for (const [name, thr, get] of [['ours', 0.2853, (f: any) => scoreFile(f, {})], ['htm', 0.5444, (f: any) => loadReferenceScores('numenta', f)]] as const) {
  let r0 = 0, r1 = 0;
  for (const f of corpus) { const s = get(f); r0 += scoreSeriesAt({ ...f, scores: s }, thr, p0).raw; r1 += scoreSeriesAt({ ...f, scores: s }, thr, p1).raw; }
  console.log(name, 'raw without FP cost', r0.toFixed(2), 'norm', (100 * (r0 + 69) / 138).toFixed(1), 'with', r1.toFixed(2), 'fpcost', (r0 - r1).toFixed(2));
}
