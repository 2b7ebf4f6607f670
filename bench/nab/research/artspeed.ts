// Ninth round: CPU-time throughput of the ART member alone (the chosen options) over the 41 files, best of 3 passes.
// Usage: nice -n 15 node --no-warnings bench/nab/research/artspeed.ts
import { loadCorpus } from '../corpus.ts';
import { ArtMember } from './art.ts';
const corpus = loadCorpus();
let best = Infinity, pts = 0;
for (let pass = 0; pass < 3; pass++) {
  const c0 = process.cpuUsage(); pts = 0; let sink = 0;
  for (const f of corpus) { const m = new ArtMember({ window: 32, rho: 0.9, feat: 'shape' }); for (let i = 0; i < f.values.length; i++) { m.update(f.values[i]!); sink += m.dist; } pts += f.values.length; }
  const c = process.cpuUsage(c0); best = Math.min(best, (c.user + c.system) / 1e6);
  if (sink < 0) console.log(sink);
}
console.log(`${pts} points, ${Math.round(pts / best)} points per CPU second (best of 3)`);
