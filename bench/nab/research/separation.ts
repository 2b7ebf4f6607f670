// Separation check: per window, the highest undamped score inside it against the highest outside every
// window (after probation) in the same file, for a post.ts configuration with damping off. A detector
// can only localise windows whose inside maximum beats the outside one.
import { loadCorpus, loadReferenceScores } from '../corpus.ts';
import { scoreFile, type PostOpts } from './post.ts';
const corpus = loadCorpus().filter((_, i) => process.env['ALL'] || i % 2 === 0);
const o = { ...(JSON.parse(process.argv[2] ?? '{}') as PostOpts), suppress: 0 };
let beat = 0, tot = 0, hb = 0;
for (const f of corpus) {
  for (const [name, sc] of [['ours', scoreFile(f, o)], ['htm', loadReferenceScores('numenta', f)]] as const) {
    const prob = Math.min(Math.floor(0.15 * f.values.length), 750);
    const idx = f.windows.map(([a, b]) => [f.timestamps.indexOf(a), f.timestamps.indexOf(b)] as const);
    let out = 0;
    for (let i = prob; i < sc.length; i++) if (!idx.some(([a, b]) => i >= a && i <= b)) out = Math.max(out, sc[i]!);
    const ins = idx.map(([a, b]) => { let m = 0; for (let i = Math.max(a, prob); i <= b; i++) m = Math.max(m, sc[i]!); return m; });
    if (name === 'ours') { tot += ins.length; beat += ins.filter((m) => m > out).length; } else hb += ins.filter((m) => m > out).length;
    if (process.env['V']) console.log(name.padEnd(4), f.name.slice(0, 50).padEnd(50), 'outside max', out.toFixed(3), 'windows', ins.map((m) => m.toFixed(3)).join(' '));
  }
}
console.log(`windows whose inside max beats the outside max: ours ${beat} / ${tot}, htm ${hb} / ${tot}`);
