// Eleventh round (docs/anomaly.md): what runs of exactly repeated values look like, per file (even half
// unless ALL=1; look at the odd half only after its one scored look). Per file: points, the share of points
// that repeat their predecessor, the share at the running minimum, and every run of at least MIN points
// (default 20): start, length, value, where the value sits in the range of the points before it (0 = the
// lowest seen, 1 = the highest), the share of earlier points at exactly that value, whether it breaks the
// record of the earlier completed runs, and whether it overlaps a labelled window.
// Usage: [ALL=1] [FILE=name] [MIN=20] nice -n 15 node --no-warnings bench/nab/research/record-look.ts
import { loadCorpus } from '../corpus.ts';
import { probationaryLength } from '../scorer.ts';

const MIN = Number(process.env['MIN'] ?? 20);
const corpus = loadCorpus().filter((_, i) => process.env['ALL'] || i % 2 === 0);
for (const f of corpus) {
  if (process.env['FILE'] && !f.name.includes(process.env['FILE'])) continue;
  const v = f.values, N = v.length;
  const win = f.windows.map(([a, b]) => [f.timestamps.indexOf(a), f.timestamps.indexOf(b)] as [number, number]);
  let rep = 0;
  for (let i = 1; i < N; i++) if (v[i] === v[i - 1]) rep++;
  const runs: Array<[number, number]> = [];
  let s = 0;
  for (let i = 1; i <= N; i++) if (i === N || v[i] !== v[i - 1]) { if (i - s >= MIN) runs.push([s, i - s]); s = i; }
  const mn = Math.min(...v), atMin = v.filter((x) => x === mn).length;
  console.log(`\n${f.name} n ${N} probation ${probationaryLength(N)} repeat share ${(rep / (N - 1)).toFixed(3)} min ${mn} share at min ${(atMin / N).toFixed(3)} windows ${win.map(([a, b]) => `${a}-${b}`).join(' ')}`);
  let record = 0;
  let shown = 0;
  // every completed run (any length) sets the record; the listed ones are those of at least MIN points
  let s2 = 0;
  const recAt = new Map<number, number>();
  for (let i = 1; i <= N; i++) if (i === N || v[i] !== v[i - 1]) { recAt.set(s2, record); record = Math.max(record, i - s2); s2 = i; }
  for (const [a, len] of runs) {
    if (shown++ > 30) { console.log('  ...'); break; }
    let lo = Infinity, hi = -Infinity, same = 0;
    for (let i = 0; i < a; i++) { if (v[i]! < lo) lo = v[i]!; if (v[i]! > hi) hi = v[i]!; if (v[i] === v[a]) same++; }
    const pos = hi > lo ? (v[a]! - lo) / (hi - lo) : NaN;
    const rec = recAt.get(a) ?? 0;
    const inw = win.filter(([wa, wb]) => a <= wb && a + len - 1 >= wa).map(([wa, wb]) => `${wa}-${wb}`).join(',');
    console.log(`  run ${a}+${len} value ${+v[a]!.toPrecision(5)} pos ${pos.toFixed(2)} share ${(same / Math.max(1, a)).toFixed(3)} record-before ${rec}${len > rec && a >= 1 ? ` BREAKS at ${a + rec}` : ''}${inw ? ` in window ${inw}` : ''}`);
  }
}
