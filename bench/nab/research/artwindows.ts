// Ninth round diagnosis: per window, the first detection of the shipped gate and of an artpost.ts candidate (each
// at its own optimised threshold), relative position y (-1 = left edge, 0 = right edge, - = missed); per file,
// FP rows of both and the share of points that are ART novelties. Even half unless ALL=1. Usage:
//   node --no-warnings bench/nab/research/artwindows.ts '<ArtPostOpts JSON>'
import { loadCorpus } from '../corpus.ts';
import { scoreCorpus, scoreSeriesAt, profiles } from '../scorer.ts';
import { scoreArt, type ArtPostOpts } from './artpost.ts';
const corpus = loadCorpus().filter((_, i) => process.env['ALL'] || i % 2 === 0);
const o = JSON.parse(process.argv[2] ?? '{}') as ArtPostOpts;
const base = corpus.map((f) => scoreArt(f, { art: null }));
const cand = corpus.map((f) => scoreArt(f, o));
const thr = (s: Float64Array[]) => scoreCorpus(corpus.map((f, i) => ({ ...f, scores: s[i]! })))[0]!.threshold;
const tb = thr(base), tc = thr(cand);
const fmt = (i: number, a: number, b: number) => (i < 0 ? '   -  ' : ((i - b) / (b - a + 1)).toFixed(2).padStart(6));
let gained = 0, lost = 0;
corpus.forEach((f, k) => {
  const prob = Math.min(Math.floor(0.15 * f.values.length), 750);
  const fb = scoreSeriesAt({ ...f, scores: base[k]! }, tb, profiles[0]!).fp, fc = scoreSeriesAt({ ...f, scores: cand[k]! }, tc, profiles[0]!).fp;
  const lines: string[] = [];
  for (const [ta, tbb] of f.windows) {
    const a = f.timestamps.indexOf(ta), b = f.timestamps.indexOf(tbb);
    if (b < prob) continue;
    const first = (arr: ArrayLike<number>, t: number) => { for (let i = Math.max(a, prob); i <= b; i++) if (arr[i]! >= t) return i; return -1; };
    const db = first(base[k]!, tb), dc = first(cand[k]!, tc);
    if (db < 0 && dc >= 0) gained++;
    if (db >= 0 && dc < 0) lost++;
    lines.push(`  ${String(a).padStart(5)}-${String(b).padEnd(5)} shipped ${fmt(db, a, b)} cand ${fmt(dc, a, b)}${(db < 0) !== (dc < 0) ? '  <--' : ''}`);
  }
  console.log(`${f.name.slice(0, 60).padEnd(60)} fp ${fb} -> ${fc}`);
  for (const l of lines) console.log(l);
});
console.log(`thresholds ${tb.toFixed(3)} / ${tc.toFixed(3)}; windows gained ${gained}, lost ${lost}`);
