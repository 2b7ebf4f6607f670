// Eleventh round (docs/anomaly.md): the record run, research copy. A series that holds one value exactly
// for longer than it has ever held a value is frozen in a way no value score sees (a constant is no
// surprise to a z-score, and its lag vectors match earlier flat ones): a stalled writer, a stuck exporter.
// Bounded memory: the current run (value, length), the lowest value seen (the floor), the longest completed
// run at the floor and elsewhere, a flag. Options (research; the defaults are the round's starting point):
// - `ratio`: the run must be longer than ratio x the record (the longest earlier completed run);
// - `minRun`: and at least this many points (a series that never repeats has a record of 1);
// - `floor`: whether runs at the lowest value the series has had count. A series that rests at its floor
//   (an error ratio at 0, an idle counter) is healthy there, and holding it longer than ever is good news;
//   a stalled writer at 0 looks exactly the same, so whether it counts is a fact about the metric
//   (which way is bad), not something the values can tell;
// - `shared`: one record for all runs (the tenth round's rule) instead of one at the floor and one elsewhere
//   (a latency that never repeats, with a few long runs at an idle floor, still has an off-floor record of 1);
// - `learn`: no record run fires before this many points (records over a short history are cheap);
// - `minRecord`: the record must be at least this long (the tenth round's rule: 20);
// - `minRuns`: completed runs (of the same kind, any length) needed before a record can be broken: a run
//   longer than each of K earlier ones has a conformal p-value of 1 / (K + 1), so K >= 19 is p <= 0.05; a
//   series constant from its first point has no record (nothing says how long it usually holds a value).
export interface RecordOpts {
  ratio?: number;
  minRun?: number;
  floor?: boolean;
  shared?: boolean;
  learn?: number;
  minRuns?: number;
  /** the record must be at least this long (the tenth round's `min`) */
  minRecord?: number;
}

export class RecordRun {
  private readonly ratio: number;
  private readonly minRun: number;
  private readonly floorCounts: boolean;
  private readonly shared: boolean;
  private readonly learn: number;
  private readonly minRuns: number;
  private readonly minRecord: number;
  private n = 0;
  private prev = NaN;
  private runLen = 0;
  private floor = Infinity;
  private recFloor = 0;
  private recOther = 0;
  private runsFloor = 0;
  private runsOther = 0;
  private fired = false;
  /** length of the current run and the record it is compared with (for the explanation) */
  length = 0;
  record = 0;
  /** completed runs the record is taken over (of the same kind: at the floor or elsewhere, unless shared) */
  runs = 0;

  constructor(o: RecordOpts = {}) {
    this.ratio = o.ratio ?? 1;
    this.minRun = o.minRun ?? 20;
    this.floorCounts = o.floor ?? true;
    this.shared = o.shared ?? false;
    this.learn = o.learn ?? 300;
    this.minRuns = o.minRuns ?? 1;
    this.minRecord = o.minRecord ?? 0;
  }

  /** true at the one point of a run where it becomes longer than the record */
  step(x: number): boolean {
    this.n++;
    if (!Number.isFinite(x)) return false;
    if (x === this.prev) this.runLen++;
    else {
      if (this.runLen > 0) {
        // the completed run's value against the floor as it stood during the run
        if (this.prev <= this.floor) { this.recFloor = Math.max(this.recFloor, this.runLen); this.runsFloor++; }
        else { this.recOther = Math.max(this.recOther, this.runLen); this.runsOther++; }
      }
      this.runLen = 1;
      this.fired = false;
      this.prev = x;
      if (x < this.floor) this.floor = x;
    }
    const atFloor = x <= this.floor;
    const record = this.shared ? Math.max(this.recFloor, this.recOther) : atFloor ? this.recFloor : this.recOther;
    const runs = this.shared ? this.runsFloor + this.runsOther : atFloor ? this.runsFloor : this.runsOther;
    this.length = this.runLen;
    this.record = record;
    this.runs = runs;
    if (this.fired || this.n <= this.learn || runs < this.minRuns) return false;
    if (atFloor && !this.floorCounts) return false;
    if (record < this.minRecord || this.runLen < this.minRun || this.runLen <= this.ratio * record) return false;
    this.fired = true;
    return true;
  }
}
