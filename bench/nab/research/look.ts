// Looks at one file: value quantiles, HTM detection rows at its threshold, the windows, and 100-row block means / maxima.
import { loadCorpus, loadReferenceScores } from '../corpus.ts';
const c = loadCorpus();
for (const nm of process.argv.slice(2)) {
const f = c.find((x) => x.name.includes(nm))!;
const h = loadReferenceScores('numenta', f);
const rows: string[] = []; h.forEach((v, i) => { if (v >= 0.5444) rows.push(String(i)); });
const s = [...f.values].sort((a, b) => a - b); const q = (p: number) => s[Math.floor(p * (s.length - 1))]!.toPrecision(3);
console.log(f.name, 'q01', q(0.01), 'q50', q(0.5), 'q90', q(0.9), 'q99', q(0.99), 'max', q(1));
console.log(' htm rows', rows.join(' '));
console.log(' windows', f.windows.map(([a, b]) => `${f.timestamps.indexOf(a)}-${f.timestamps.indexOf(b)}`).join(','));
// coarse profile: mean of 50-point blocks
const bl: string[] = []; for (let i = 0; i < f.values.length; i += 100) { let m = 0, mx = -Infinity; for (let j = i; j < Math.min(i + 100, f.values.length); j++) { m += f.values[j]!; mx = Math.max(mx, f.values[j]!); } bl.push(`${i}:${(m / 100).toPrecision(2)}/${mx.toPrecision(2)}`); }
console.log(' ', bl.join(' '));
}
