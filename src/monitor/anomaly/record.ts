// Record run: a series that holds one value exactly for longer than it has ever held a value. No value
// score sees it: a constant is no surprise to a z-score, and its lag vectors match earlier flat ones
// (knncad.ts). It is what a stalled writer, a stuck exporter or a frozen gauge looks like, and it is
// one of the labelled anomalies the value members could not reach (docs/anomaly.md, "Eleventh round").
// Which runs count, relative to what the series has done:
// - a run breaks the record when it is longer than `ratio` x the longest earlier completed run of its
//   kind and at least `minRun` points long, after at least `minRuns` completed runs of that kind (a run
//   longer than each of K earlier ones has a conformal p-value of 1 / (K + 1): 20 runs is p < 0.05), and
//   after the first `learn` points; it fires once per run;
// - two kinds, two records: runs at the floor (the lowest value the series has had) and runs elsewhere. A
//   latency that never repeats has a record of 1 elsewhere however long it once rested at an idle floor;
// - the direction: a series whose floor is its healthy state (an error ratio at 0: holding it longer than
//   ever is good news) is built with `floor: false`, and only runs above the floor count. The values cannot
//   tell that case from a stalled writer at 0 (both rest at 0 most of the time with bursts between), so it
//   is a fact the caller states about the metric; by default (a metric of unknown meaning) both count.
// Memory: a dozen numbers; O(1) per point.
export interface RecordRunOptions {
  ratio: number;
  minRun: number;
  minRuns: number;
  learn: number;
  /** runs at the lowest value the series has had count too (false: that value is its healthy rest) */
  floor: boolean;
}

/** chosen on the even half of the NAB subset (docs/anomaly.md, "Eleventh round"): the middle of a plateau */
export const defaultRecordRunOptions: RecordRunOptions = { ratio: 1.15, minRun: 30, minRuns: 20, learn: 300, floor: true };

/** the run a record-breaking point belongs to, for the explanation */
export interface HeldValue {
  value: number;
  /** points the value has been held, this one included */
  samples: number;
  /** the longest earlier completed run of the same kind, in points */
  record: number;
  /** the value is the lowest the series has had (the record is that of its runs there) */
  atFloor: boolean;
  /** timestamp of the run's first point, and of this one */
  since: number;
  at: number;
}

export class RecordRun {
  private readonly o: RecordRunOptions;
  private n = 0;
  private prev = Number.NaN;
  private runStart = 0;
  private runLen = 0;
  private floor = Number.POSITIVE_INFINITY;
  private recFloor = 0;
  private recOther = 0;
  private runsFloor = 0;
  private runsOther = 0;
  private fired = false;
  /** set at the point that broke the record (until the next step) */
  held: HeldValue | undefined;

  constructor(opts: Partial<RecordRunOptions> = {}) {
    this.o = { ...defaultRecordRunOptions, ...opts };
  }

  /** bytes held: about a dozen numbers */
  get bytes(): number {
    return 12 * 8;
  }

  /** Feeds one point; true at the one point of a run where it becomes longer than the record. */
  step(timestamp: number, x: number): boolean {
    this.n++;
    this.held = undefined;
    // a value that is not a number neither extends nor ends a run
    if (!Number.isFinite(x)) return false;
    if (x === this.prev) this.runLen++;
    else {
      if (this.runLen > 0) {
        // the completed run's kind is judged against the floor as it stood while it ran
        if (this.prev <= this.floor) {
          this.recFloor = Math.max(this.recFloor, this.runLen);
          this.runsFloor++;
        } else {
          this.recOther = Math.max(this.recOther, this.runLen);
          this.runsOther++;
        }
      }
      this.prev = x;
      this.runLen = 1;
      this.runStart = timestamp;
      this.fired = false;
      if (x < this.floor) this.floor = x;
    }
    const o = this.o;
    const atFloor = x <= this.floor;
    if (this.fired || this.n <= o.learn || (atFloor && !o.floor)) return false;
    const record = atFloor ? this.recFloor : this.recOther;
    const runs = atFloor ? this.runsFloor : this.runsOther;
    if (runs < o.minRuns || this.runLen < o.minRun || this.runLen <= o.ratio * record) return false;
    this.fired = true;
    this.held = { value: x, samples: this.runLen, record, atFloor, since: this.runStart, at: timestamp };
    return true;
  }
}
