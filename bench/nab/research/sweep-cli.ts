// The command line shared by the post-processing sweeps (post.ts, cadpost.ts, shapepost.ts, ...): each
// argument is one options JSON; every one is scored on the NAB corpus and printed as one row. With
// HALF=even only the even half is scored (choose there); without it, all / even / odd (standard, low FP,
// low FN), so that the odd half is looked at once, after choosing.
import { loadCorpus, type NabFile } from '../corpus.ts';
import { scoreCorpus } from '../scorer.ts';

export function sweepCli<O>(score: (f: NabFile, o: O) => Float64Array, args: readonly string[] = process.argv.slice(2)): void {
  const corpus = loadCorpus();
  const even = corpus.filter((_, i) => i % 2 === 0);
  const odd = corpus.filter((_, i) => i % 2 === 1);
  const f = (n: number) => n.toFixed(1).padStart(5);
  const sc = (fs: NabFile[], o: O) => scoreCorpus(fs.map((x) => ({ ...x, scores: score(x, o) })));
  for (const arg of args) {
    const o = JSON.parse(arg) as O;
    const e = sc(even, o);
    if (process.env['HALF'] === 'even') { console.log(`even ${f(e[0]!.normalized)} ${f(e[1]!.normalized)} ${f(e[2]!.normalized)} tp ${e[0]!.tp} fp ${e[0]!.fp} thr ${e[0]!.threshold.toFixed(3)} | ${arg}`); continue; }
    const od = sc(odd, o), all = sc(corpus, o);
    console.log(`all ${all.map((r) => f(r.normalized)).join(' ')} | even ${e.map((r) => f(r.normalized)).join(' ')} | odd ${od.map((r) => f(r.normalized)).join(' ')} | tp ${all[0]!.tp} fp ${all[0]!.fp} | ${arg}`);
  }
}
