// Streams as they come: real metric streams step back in time (a clock correction, NAB's
// machine_temperature_system_failure.csv at row 10,151), repeat a timestamp (a DST fold, a scrape read
// twice), stop for a while (a gap) or carry a value that is not a number. None of that is a reason to
// refuse the stream: the detector takes points in arrival order, as NAB's detectors do, and this counts
// each kind of irregularity with where it first happened, so the person reading the output is told.

export type Irregularity = 'step back' | 'duplicate' | 'gap' | 'not a number';

export interface IrregularityCount {
  count: number;
  /** where it first happened: a line number for a file, a timestamp for a live series */
  first: number;
  /** a short description of the first occurrence, e.g. `2014-01-07 02:00:00 after 2014-01-07 02:55:00` */
  firstDetail: string;
}

export type ArrivalVerdict = 'ok' | Irregularity;

export interface ArrivalOptions {
  /** an interval longer than this many times the usual interval is a gap */
  gapFactor?: number;
}

/**
 * Classifies each point against the ones before it. O(1) memory: the last timestamp and a running
 * estimate of the usual interval (the smallest recent positive step, relaxed slowly upwards, so a
 * few long steps do not make the next gap look normal).
 */
export class ArrivalOrder {
  private readonly gapFactor: number;
  private last = Number.NaN;
  private lastText = '';
  private usual = Number.NaN;
  private readonly seen = new Map<Irregularity, IrregularityCount>();

  constructor(opts: ArrivalOptions = {}) {
    this.gapFactor = opts.gapFactor ?? 10;
  }

  /**
   * Classifies one point. `where` locates it (line number or timestamp) and `text` is how its
   * timestamp was written, for the warning. A non-number value does not move the clock.
   */
  check(timestamp: number, value: number, where: number, text = String(timestamp), valueText = String(value)): ArrivalVerdict {
    if (!Number.isFinite(value) || !Number.isFinite(timestamp)) {
      this.note('not a number', where, Number.isFinite(timestamp) ? `value "${valueText}" at ${text}` : `timestamp "${text}"`);
      return 'not a number';
    }
    let verdict: ArrivalVerdict = 'ok';
    if (Number.isFinite(this.last)) {
      const step = timestamp - this.last;
      if (step < 0) verdict = 'step back';
      else if (step === 0) verdict = 'duplicate';
      else {
        if (Number.isFinite(this.usual) && step > this.gapFactor * this.usual) verdict = 'gap';
        // the usual interval follows the smallest steps quickly and longer ones slowly
        this.usual = !Number.isFinite(this.usual) || step < this.usual ? step : this.usual + 0.01 * (step - this.usual);
      }
      if (verdict !== 'ok') this.note(verdict, where, `${text} after ${this.lastText}`);
    }
    this.last = timestamp;
    this.lastText = text;
    return verdict;
  }

  private note(kind: Irregularity, where: number, detail: string): void {
    const c = this.seen.get(kind);
    if (c) c.count++;
    else this.seen.set(kind, { count: 1, first: where, firstDetail: printable(detail) });
  }

  /** Counts so far, by kind (only kinds that happened). */
  counts(): Partial<Record<Irregularity, IrregularityCount>> {
    const out: Partial<Record<Irregularity, IrregularityCount>> = {};
    for (const [k, v] of this.seen) out[k] = { ...v };
    return out;
  }

  get total(): number {
    let n = 0;
    for (const v of this.seen.values()) n += v.count;
    return n;
  }
}

/** The detail quotes input text: no control characters reach a terminal, and it stays short. */
function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length > 120 ? `${clean.slice(0, 117)}...` : clean;
}

const handling: Record<Irregularity, string> = {
  'step back': 'scored in arrival order',
  duplicate: 'scored in arrival order',
  gap: 'scored as they come',
  'not a number': 'skipped, not scored',
};

/** One sentence per kind, e.g. `1 row steps back in time (first at line 10152: …); scored in arrival order`. */
export function describeIrregularities(counts: Partial<Record<Irregularity, IrregularityCount>>, unit: 'line' | 'time'): string[] {
  const out: string[] = [];
  for (const kind of ['step back', 'duplicate', 'gap', 'not a number'] as const) {
    const c = counts[kind];
    if (!c) continue;
    const noun = unit === 'line' ? 'row' : 'point';
    const rows = c.count === 1 ? `1 ${noun}` : `${c.count} ${noun}s`;
    const what =
      kind === 'step back'
        ? `${c.count === 1 ? 'steps' : 'step'} back in time`
        : kind === 'duplicate'
          ? `${c.count === 1 ? 'repeats' : 'repeat'} the timestamp before ${c.count === 1 ? 'it' : 'them'}`
          : kind === 'gap'
            ? `${c.count === 1 ? 'comes' : 'come'} after a gap`
            : `${c.count === 1 ? 'has' : 'have'} no usable number`;
    // a live point's detail already names its time
    const where = unit === 'line' ? `first at line ${c.first}: ${c.firstDetail}` : `first: ${c.firstDetail}`;
    out.push(`${rows} ${what} (${where}); ${handling[kind]}`);
  }
  return out;
}
