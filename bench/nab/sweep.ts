// Split-half sweep of a candidate factory: prints even / odd / all (standard, low FP, low FN).
// Usage: HALF=even node --no-warnings bench/nab/sweep.ts alarm-bar '{"raise":1.15}'  (or: default '{}')
import { loadCorpus } from './corpus.ts';
import { runCorpus } from './run.ts';
import { createRecord } from './candidates/alarm-bar.ts';
import { createDetector } from '../../src/monitor/anomaly/detector.ts';
const corpus = loadCorpus();
const even = corpus.filter((_, i) => i % 2 === 0);
const odd = corpus.filter((_, i) => i % 2 === 1);
const f = (n: number) => n.toFixed(1).padStart(5);
const kind = process.argv[2];
const makers: Record<string, (o: any) => any> = { 'alarm-bar': createRecord, default: createDetector };
for (const arg of process.argv.slice(3)) {
  const o = JSON.parse(arg);
  const make = () => makers[kind!]!(o);
  const e = runCorpus(even, make);
  if (process.env['HALF'] === 'even') { console.log(`even ${f(e.results[0]!.normalized)} fp ${e.results[0]!.fp} tp ${e.results[0]!.tp} | ${arg}`); continue; }
  const od = runCorpus(odd, make);
  const all = runCorpus(corpus, make);
  const [s, lfp, lfn] = all.results;
  console.log(`${f(s!.normalized)} ${f(lfp!.normalized)} ${f(lfn!.normalized)} | even ${f(e.results[0]!.normalized)} odd ${f(od.results[0]!.normalized)} | tp ${s!.tp} fp ${s!.fp} | ${Math.round(all.points / all.seconds / 1000)}k/s | ${arg}`);
}
