// Per-file raw / FP rows / detection rows of a post.ts configuration at its optimised threshold (even half unless ALL=1).
import { loadCorpus } from '../corpus.ts';
import { scoreCorpus, scoreSeriesAt, profiles } from '../scorer.ts';
import { scoreFile, type PostOpts } from './post.ts';
const corpus = loadCorpus().filter((_, i) => process.env['ALL'] || i % 2 === 0);
const o = JSON.parse(process.argv[2] ?? '{}') as PostOpts;
const sc = corpus.map((f) => scoreFile(f, o));
const r = scoreCorpus(corpus.map((f, i) => ({ ...f, scores: sc[i]! })))[0]!;
console.log('thr', r.threshold, r.tp, r.fp, r.normalized.toFixed(1));
corpus.forEach((f, i) => {
  const s = scoreSeriesAt({ ...f, scores: sc[i]! }, r.threshold, profiles[0]!);
  const rows: number[] = []; sc[i]!.forEach((v, j) => { if (v >= r.threshold) rows.push(j); });
  const wins = f.windows.map(([a, b]) => `${f.timestamps.indexOf(a)}-${f.timestamps.indexOf(b)}`).join(',');
  console.log(`${f.name.slice(0, 50).padEnd(50)} raw ${s.raw.toFixed(2).padStart(6)} fp ${String(s.fp).padStart(3)} prob ${Math.min(Math.floor(0.15 * f.values.length), 750)} win ${wins} | ${rows.join(' ')}`);
});
