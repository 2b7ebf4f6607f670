// Runs a detector factory over the corpus in-process and scores it.
import type { NabFile } from './corpus.ts';
import { scoreCorpus, type ProfileResult } from './scorer.ts';
/** Anything that scores a stream point by point: the shipped detector or a candidate. */
export interface PointScorer {
  update(timestamp: number, value: number): number;
}

export interface RunResult {
  results: ProfileResult[];
  points: number;
  /** wall-clock seconds inside the detectors' update loops */
  seconds: number;
  /** CPU seconds (user + system) of this process over the same loops: on a shared machine the wall
   * clock also counts the time other processes held the core, CPU time does not */
  cpuSeconds: number;
  scores: Float64Array[];
}

export function runCorpus(corpus: readonly NabFile[], make: () => PointScorer): RunResult {
  let points = 0;
  let ns = 0n;
  let cpuUs = 0;
  const scores = corpus.map((f) => {
    const d = make();
    const out = new Float64Array(f.values.length);
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    for (let i = 0; i < out.length; i++) out[i] = d.update(f.timestamps[i] as number, f.values[i] as number);
    const c = process.cpuUsage(c0);
    ns += process.hrtime.bigint() - t0;
    cpuUs += c.user + c.system;
    points += out.length;
    return out;
  });
  const results = scoreCorpus(corpus.map((f, k) => ({ timestamps: f.timestamps, windows: f.windows, scores: scores[k] as Float64Array })));
  return { results, points, seconds: Number(ns) / 1e9, cpuSeconds: cpuUs / 1e6, scores };
}
