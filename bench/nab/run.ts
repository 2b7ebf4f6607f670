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
  seconds: number;
  scores: Float64Array[];
}

export function runCorpus(corpus: readonly NabFile[], make: () => PointScorer): RunResult {
  let points = 0;
  let ns = 0n;
  const scores = corpus.map((f) => {
    const d = make();
    const out = new Float64Array(f.values.length);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < out.length; i++) out[i] = d.update(f.timestamps[i] as number, f.values[i] as number);
    ns += process.hrtime.bigint() - t0;
    points += out.length;
    return out;
  });
  const results = scoreCorpus(corpus.map((f, k) => ({ timestamps: f.timestamps, windows: f.windows, scores: scores[k] as Float64Array })));
  return { results, points, seconds: Number(ns) / 1e9, scores };
}
