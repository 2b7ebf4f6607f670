// Per-window diagnosis of a cadpost.ts configuration at its optimised threshold (even half unless ALL=1):
// for each window, the first detection's relative position y (-1 = left edge, 0 = right edge), the first
// row where the ungated value score crosses the threshold, the first contextual novelty >= `a` in or just
// before the window, and HTM's first detection at its own threshold, so missed windows and gate latency
// can be read file by file. Usage: node --no-warnings bench/nab/research/windows.ts '<CadPostOpts JSON>'
import { loadCorpus, loadReferenceScores } from '../corpus.ts';
import { scoreCorpus, scaledSigmoid } from '../scorer.ts';
import { scoreFile } from './post.ts';
import { cadRaw, scoreCad, type CadPostOpts } from './cadpost.ts';
const corpus = loadCorpus().filter((_, i) => process.env['ALL'] || i % 2 === 0);
const o = JSON.parse(process.argv[2] ?? '{"cad":{"bins":6,"order":2,"tableBits":10},"mode":"gate","a":0.5,"g":50,"gf":0.1,"st":0.3}') as CadPostOpts;
const sc = corpus.map((f) => scoreCad(f, o));
const thr = scoreCorpus(corpus.map((f, i) => ({ ...f, scores: sc[i]! })))[0]!.threshold;
const htm = corpus.map((f) => loadReferenceScores('numenta', f));
const htmThr = scoreCorpus(corpus.map((f, i) => ({ ...f, scores: htm[i]! })))[0]!.threshold;
const fmt = (i: number, a: number, b: number) => (i < 0 ? '   -  ' : ((i - b) / (b - a + 1)).toFixed(2).padStart(6));
let missed = 0, late = 0, lostToLatency = 0, gatedMiss = 0, noValue = 0;
const worth = (i: number, a: number, b: number) => scaledSigmoid((i - b) / (b - a + 1)) / scaledSigmoid(-1);
corpus.forEach((f, k) => {
  const s0 = scoreFile(f, { ...o.post, suppress: 0 });
  const raw = cadRaw(f, o.cad ?? {});
  const prob = Math.min(Math.floor(0.15 * f.values.length), 750);
  for (const [ta, tb] of f.windows) {
    const a = f.timestamps.indexOf(ta), b = f.timestamps.indexOf(tb);
    if (b < prob) continue;
    const first = (arr: ArrayLike<number>, t: number, from = a) => { for (let i = Math.max(from, prob); i <= b; i++) if (arr[i]! >= t) return i; return -1; };
    const det = first(sc[k]!, thr), val = first(s0, thr), nov = first(raw, o.a ?? 0.5, a - (o.g ?? 50)), h = first(htm[k]!, htmThr);
    let mx = 0; for (let i = Math.max(a, prob); i <= b; i++) mx = Math.max(mx, s0[i]!);
    if (det < 0) { missed++; if (val >= 0) gatedMiss++; else noValue++; } else if (val >= 0 && val < det) { late++; lostToLatency += worth(val, a, b) - worth(det, a, b); }
    console.log(`${f.name.slice(0, 52).padEnd(52)} ${String(a).padStart(5)}-${String(b).padEnd(5)} det ${fmt(det, a, b)} val ${fmt(val, a, b)} nov ${fmt(nov, a, b)} htm ${fmt(h, a, b)} maxval ${mx.toFixed(3)}`);
  }
});
console.log(`threshold ${thr.toFixed(3)} (htm ${htmThr.toFixed(3)}); missed ${missed} (the ungated value score crosses in ${gatedMiss}, never in ${noValue}); detected later than the ungated value score ${late}, worth ${lostToLatency.toFixed(2)} raw points (standard) had they fired at its first crossing`);
