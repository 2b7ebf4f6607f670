// Fast early warning for a step change in a version's latency quantile or error ratio: the anomaly
// detector needs 300 points of history per series (25 minutes at 5 s) and a burn-rate page needs the
// budget to burn; this one needs half a minute. It starts without history: the first `baselinePoints`
// points of a series (30 s at the router's 5 s) are its baseline, which then follows the series slowly
// (winsorised, so a step does not become the baseline at once). A step is a warning, never a page.
//
// - latency (a quantile in ms): in log space, so a step is a ratio: warn when `confirm` consecutive
//   points are at least `factor` times the baseline and beyond 4 robust deviations of its log;
// - error ratio (bad / all with the number of requests behind each point): warn when the errors over
//   the last `confirm` points are at least `factor` times what the baseline rate predicts, the
//   Poisson log-likelihood ratio of that excess exceeds `llr` (about p < 1e-4 at 9), and at least
//   `minRequests` requests were seen: "enough traffic" is a count, not a time.

export type StepKind = 'latency' | 'error ratio';

export interface StepOptions {
  /** points that make the starting baseline (default 6) */
  baselinePoints?: number;
  /** consecutive points that must agree (default 3: 15 s at the router's 5 s) */
  confirm?: number;
  /** the step is at least this ratio to the baseline (default 3) */
  factor?: number;
  /** EW rate at which the baseline follows the series after its start (default 0.02) */
  rate?: number;
  /** error ratio: requests the confirming points must hold (default 100) */
  minRequests?: number;
  /** error ratio: Poisson log-likelihood ratio the excess must reach (default 9) */
  llr?: number;
  /** error ratio: the baseline rate is never taken below this (default 0.001) */
  floorRatio?: number;
}

export interface StepChange {
  kind: StepKind;
  /** the value over the confirming points (median latency, or errors / requests) */
  value: number;
  /** the baseline it is compared with */
  baseline: number;
  /** value / baseline */
  ratio: number;
  /** when the first confirming point arrived */
  since: number;
  /** how much history the baseline has, ms */
  baselineMs: number;
}

const defaults: Required<StepOptions> = { baselinePoints: 6, confirm: 3, factor: 3, rate: 0.02, minRequests: 100, llr: 9, floorRatio: 0.001 };

/** One series' step detector. Bounded: a few numbers and a ring of `confirm` points. */
export class StepDetector {
  readonly kind: StepKind;
  private readonly o: Required<StepOptions>;
  private n = 0;
  private firstAt = Number.NaN;
  // latency: EW mean and mean absolute deviation of log(value)
  private m = 0;
  private d = 0;
  // error ratio: EW errors and requests
  private e = 0;
  private r = 0;
  private readonly ringV: Float64Array;
  private readonly ringW: Float64Array;
  private readonly ringT: Float64Array;
  private pos = 0;
  private held = 0;

  constructor(kind: StepKind, opts: StepOptions = {}) {
    this.kind = kind;
    this.o = { ...defaults, ...opts };
    this.ringV = new Float64Array(this.o.confirm);
    this.ringW = new Float64Array(this.o.confirm);
    this.ringT = new Float64Array(this.o.confirm);
  }

  /** Feeds one point; `requests` is how many requests stand behind it (error ratio only). */
  observe(at: number, value: number, requests = 1): StepChange | undefined {
    if (!Number.isFinite(value) || !(requests > 0)) return undefined;
    if (this.kind === 'latency' && !(value > 0)) return undefined;
    if (Number.isNaN(this.firstAt)) this.firstAt = at;
    this.ringV[this.pos] = value;
    this.ringW[this.pos] = requests;
    this.ringT[this.pos] = at;
    this.pos = (this.pos + 1) % this.o.confirm;
    this.held = Math.min(this.held + 1, this.o.confirm);
    const ready = this.n >= this.o.baselinePoints && this.held === this.o.confirm;
    const step = ready ? (this.kind === 'latency' ? this.latencyStep() : this.errorStep()) : undefined;
    this.learn(value, requests, step !== undefined);
    if (!step) return undefined;
    // since: the earliest confirming point that is itself beyond the factor (the step's onset)
    let since = at;
    for (let i = 0; i < this.o.confirm; i++) {
      const v = this.ringV[i] as number;
      if (v >= step.baseline * this.o.factor) since = Math.min(since, this.ringT[i] as number);
    }
    return { ...step, kind: this.kind, since, baselineMs: at - this.firstAt };
  }

  private latencyStep(): Omit<StepChange, 'kind' | 'since' | 'baselineMs'> | undefined {
    const need = Math.max(Math.log(this.o.factor), 4 * this.d);
    let lowest = Infinity;
    for (const v of this.ringV) lowest = Math.min(lowest, Math.log(v) - this.m);
    if (lowest < need) return undefined;
    const sorted = Float64Array.from(this.ringV).sort();
    const value = sorted[sorted.length >> 1] as number;
    const baseline = Math.exp(this.m);
    return { value, baseline, ratio: value / baseline };
  }

  private errorStep(): Omit<StepChange, 'kind' | 'since' | 'baselineMs'> | undefined {
    let errors = 0;
    let requests = 0;
    for (let i = 0; i < this.o.confirm; i++) {
      errors += (this.ringV[i] as number) * (this.ringW[i] as number);
      requests += this.ringW[i] as number;
    }
    if (requests < this.o.minRequests) return undefined;
    const base = Math.max(this.r > 0 ? this.e / this.r : 0, this.o.floorRatio);
    const expected = base * requests;
    if (errors < this.o.factor * expected) return undefined;
    const llr = errors * Math.log(errors / expected) - (errors - expected);
    if (llr < this.o.llr) return undefined;
    const value = errors / requests;
    return { value, baseline: base, ratio: value / base };
  }

  /** The baseline learns from every point, winsorised; while a step is seen it learns at a tenth of the rate. */
  private learn(value: number, requests: number, stepping: boolean): void {
    this.n++;
    const rate = (this.n <= this.o.baselinePoints ? 1 / this.n : this.o.rate) * (stepping ? 0.1 : 1);
    if (this.kind === 'latency') {
      const x = Math.log(value);
      if (this.n === 1) {
        this.m = x;
        return;
      }
      const clip = Math.max(4 * this.d, 0.05);
      const ce = Math.max(-clip, Math.min(clip, x - this.m));
      this.m += rate * ce;
      this.d += rate * (Math.abs(ce) - this.d);
    } else {
      this.e += rate * (value * requests - this.e);
      this.r += rate * (requests - this.r);
    }
  }
}
