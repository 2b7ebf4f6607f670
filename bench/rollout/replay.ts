// Replays the traces a `BENCH_TRACE=1` run of bench:rollout recorded (per window, per version, the
// router's latency counts) through the latency comparison, pooled (requests taken as independent,
// cumulative since the canary started) and by matched windows (windows.ts), so that both readings
// of the same data can be set side by side.
//   node bench/rollout/replay.ts /tmp/trace.json
// Prints per run: the first time each reading fails the canary, and the largest "fail margin" seen
// (the canary's lower bound over the tolerated slowdown of the control's upper bound; > 1 fails).
import { readFileSync } from 'node:fs';
import { compareLatency, toleratedLatency, type LatencyResult } from '../../src/analysis/latency.ts';
import { defaultAnalysisParams } from '../../src/analysis/params.ts';
import { LatencyWindows } from '../../src/analysis/windows.ts';
import { LATENCY_BOUNDS_MS } from '../../src/router/stats.ts';

interface Run {
  scenario: string;
  run: number;
  version: string;
  stableVersion: string;
  outcome: string;
  trace?: { t: number; versions: Record<string, { counts: number[] }> }[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: node bench/rollout/replay.ts <results.json with BENCH_TRACE=1 traces>');
const runs = (JSON.parse(readFileSync(file, 'utf8')) as { runs: Run[] }).runs.filter((r) => r.trace);
const params = defaultAnalysisParams.latency;
const alpha = (1 - defaultAnalysisParams.confidence) / 2;
const bounds = [...LATENCY_BOUNDS_MS];
const width = bounds.length + 1;
const margin = (r: LatencyResult) => Math.max(0, ...r.quantiles.map((q) => q.canary.lower / toleratedLatency(q.control.upper, params)));

for (const r of runs) {
  const canary = new Array<number>(width).fill(0);
  const control = new Array<number>(width).fill(0);
  const windows = new LatencyWindows();
  const started = r.trace!.find((w) => w.versions[r.version])?.t;
  if (started === undefined) continue;
  const seen = { pooled: { fail: null as number | null, margin: 0 }, windows: { fail: null as number | null, margin: 0 } };
  for (const w of r.trace!) {
    if (w.t < started) continue;
    // the canary loop stops at weight 0 or promotion: stop when the control no longer gets traffic
    if (!w.versions[r.stableVersion]) break;
    w.versions[r.version]?.counts.forEach((c, i) => (canary[i]! += c));
    w.versions[r.stableVersion]?.counts.forEach((c, i) => (control[i]! += c));
    const c = { boundsMs: bounds, counts: [...canary] };
    const s = { boundsMs: bounds, counts: [...control] };
    windows.record(w.t, c, s);
    const pooled = compareLatency(c, s, params, alpha);
    const matched = compareLatency(c, s, params, alpha, windows.matched());
    const at = (w.t - started) / 1000;
    for (const [name, res] of [['pooled', pooled], ['windows', matched]] as const) {
      seen[name].margin = Math.max(seen[name].margin, margin(res));
      if (res.verdict === 'fail' && seen[name].fail === null) seen[name].fail = at;
    }
  }
  const f = (x: number | null) => (x === null ? '   -  ' : `${x.toFixed(2)}s`);
  console.log(`${r.scenario.padEnd(12)} ${String(r.run).padStart(3)} ${r.outcome.padEnd(11)} pooled: fail ${f(seen.pooled.fail)} margin ${seen.pooled.margin.toFixed(2)} | windows: fail ${f(seen.windows.fail)} margin ${seen.windows.margin.toFixed(2)}`);
}
