// Eleventh round (docs/anomaly.md): the record run (record.ts) on top of the tenth round's harness
// (valuepost.ts: the shipped detector rebuilt from cached raw members, `{}` = the shipped row, even 72.5).
// The value score and the two gates (contextual novelty, SAX word) come from valuepost.ts's trace for the
// value options `v` (e.g. the slower second baseline `{"walt":1,"alt":{"slowRate":0.0002}}`); the record
// run is applied here, then the gate factor, the warm-up and the damping, exactly as valuepost.ts does:
// - `rec`: the record-run options (record.ts), null = off;
// - `score`: the value score given to the point where a run breaks the record (0 = none);
// - `gate`: points the gate stays open after it (0 = it opens nothing: the point alarms on its own score only
//   if another gate is open).
// Choose on the even half only. Usage:
//   HALF=even nice -n 15 node --no-warnings bench/nab/research/recordpost.ts '<RecordPostOpts JSON>' ...
// Without HALF it prints all / even / odd (standard, low FP, low FN): look at odd once, after choosing.
import type { NabFile } from '../corpus.ts';
import { sweepCli } from './sweep-cli.ts';
import { scoreValue, type ValueOpts, type ValueTrace } from './valuepost.ts';
import { RecordRun, type RecordOpts } from './record.ts';

export interface RecordPostOpts {
  v?: ValueOpts;
  rec?: RecordOpts | null;
  score?: number;
  gate?: number;
  gf?: number;
  st?: number;
  rest?: number;
  sf?: number;
  warmup?: number;
}

export interface RecordTrace extends ValueTrace { fired: Uint8Array; info?: string[] }

export function scoreRecord(f: NabFile, opts: RecordPostOpts, trace?: RecordTrace): Float64Array {
  const o = { v: {}, rec: {}, score: 0.5, gate: 64, gf: 0.1, st: 0.3, rest: 200, sf: 0.1, warmup: 300, ...opts };
  const N = f.values.length;
  const t: ValueTrace = trace ?? { value: new Float64Array(N), score: new Float64Array(N), cadOpen: new Uint8Array(N), saxOpen: new Uint8Array(N) };
  scoreValue(f, o.v, t);
  const rr = o.rec ? new RecordRun(o.rec) : undefined;
  const res = new Float64Array(N);
  let lastR = -Infinity, since = Infinity;
  for (let i = 0; i < N; i++) {
    let s = t.value[i]!;
    const fired = rr ? rr.step(f.values[i]!) : false;
    if (fired) { lastR = i; s = Math.max(s, o.score); }
    if (trace) { trace.fired[i] = fired ? 1 : 0; if (fired) (trace.info ??= []).push(`run ${rr!.length} record ${rr!.record} over ${rr!.runs} runs`); }
    const open = t.cadOpen[i]! === 1 || t.saxOpen[i]! === 1 || i - lastR <= o.gate;
    let v = open ? s : s * o.gf;
    if (i < o.warmup) v = 0;
    since++;
    if (since <= o.rest) v *= o.sf;
    else if (v >= o.st) since = 0;
    res[i] = Math.min(1, Math.max(0, v));
  }
  return res;
}

if (import.meta.url === `file://${process.argv[1]}`) sweepCli(scoreRecord);
