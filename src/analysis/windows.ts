// Latency by time window, so that the canary is compared with the control *in the same moments*.
//
// Why: a rollout's canary share grows step by step (1% -> 5% -> 25%), so most canary requests fall in
// the last step while the control's are spread over the whole rollout. On a shared machine latency
// moves with the load from one second to the next; comparing the canary's cumulative histogram with
// the control's mixes "canary slower" with "the canary's requests came at a slower moment" (a
// Simpson's-paradox confound). And latency comes in bursts (a stall slows every request in flight),
// so requests are not the independent draws the per-request bands assume: n requests carry the
// information of fewer.
//
// What this keeps: the cumulative per-version histograms at every window boundary (500 ms),
// so the analysis can (1) weigh each window of the control by the canary's share of requests in that
// window (stratification: the control is read as if its requests had come when the canary's did), and
// (2) measure how much the canary's share of requests below a bound varies between windows beyond
// what the control in the same windows and independent requests would give (the quasi-binomial
// dispersion relative to the control), and shrink the canary's counts by it.
import type { LatencyHistogram } from './sample.ts';

/** Per-window latency counts of both versions, window i of one the same moments as window i of the other. */
export interface MatchedWindows {
  /** canary[i][b] = canary requests of window i in bucket b (the router's buckets, overflow last) */
  canary: number[][];
  control: number[][];
}

/**
 * About the length of the bursts seen on a loaded machine (bench:rollout traces: stalls of 250-750 ms):
 * a window much longer than a burst hides it inside, one much shorter holds too few requests.
 */
const WINDOW_MS = 500;
/** beyond this, adjacent windows are merged pairwise: bounded memory and cost on a rollout of hours */
const MAX_WINDOWS = 240;

export class LatencyWindows {
  private readonly windowMs: number;
  private readonly maxWindows: number;
  /** cumulative counts of both versions at each closed window's start, oldest first */
  private boundaries: { at: number; canary: number[]; control: number[] }[] = [];
  private latest: { canary: number[]; control: number[] } | undefined;

  constructor(opts: { windowMs?: number; maxWindows?: number } = {}) {
    this.windowMs = opts.windowMs ?? WINDOW_MS;
    this.maxWindows = Math.max(2, opts.maxWindows ?? MAX_WINDOWS);
  }

  /** Takes the cumulative histograms since the canary started, as read at `now`. */
  record(now: number, canary: LatencyHistogram, control: LatencyHistogram): void {
    const last = this.boundaries.at(-1);
    if (last === undefined) {
      // the first reading opens the first window; counts since the canary started belong to it
      const zero = (h: LatencyHistogram) => new Array<number>(h.counts.length).fill(0);
      this.boundaries.push({ at: now, canary: zero(canary), control: zero(control) });
    } else if (now - last.at >= this.windowMs && this.latest) {
      this.boundaries.push({ at: now, canary: this.latest.canary, control: this.latest.control });
      if (this.boundaries.length > this.maxWindows) this.boundaries = this.boundaries.filter((_, i) => i % 2 === 0 || i === this.boundaries.length - 1);
    }
    this.latest = { canary: [...canary.counts], control: [...control.counts] };
  }

  /** The windows so far (the last one still open); empty before two readings. */
  matched(): MatchedWindows {
    const out: MatchedWindows = { canary: [], control: [] };
    if (!this.latest) return out;
    const points = [...this.boundaries, { at: Infinity, ...this.latest }];
    for (let i = 1; i < points.length; i++) {
      const a = points[i - 1]!;
      const b = points[i]!;
      out.canary.push(b.canary.map((c, k) => c - (a.canary[k] ?? 0)));
      out.control.push(b.control.map((c, k) => c - (a.control[k] ?? 0)));
    }
    return out;
  }
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * Windows in which the control has no request cannot be matched: each is merged into its neighbour
 * (the previous one, or the next for the first), both versions alike, so no canary request is lost.
 */
export function mergeUnmatched(w: MatchedWindows): MatchedWindows {
  const canary: number[][] = [];
  const control: number[][] = [];
  let carry: { canary: number[]; control: number[] } | undefined;
  for (let i = 0; i < w.canary.length; i++) {
    let c = w.canary[i]!;
    let s = w.control[i]!;
    if (carry) {
      c = c.map((x, k) => x + (carry!.canary[k] ?? 0));
      s = s.map((x, k) => x + (carry!.control[k] ?? 0));
      carry = undefined;
    }
    if (sum(s) > 0) {
      canary.push(c);
      control.push(s);
    } else if (canary.length > 0) {
      const j = canary.length - 1;
      canary[j] = canary[j]!.map((x, k) => x + (c[k] ?? 0));
      control[j] = control[j]!.map((x, k) => x + (s[k] ?? 0));
    } else {
      carry = { canary: c, control: s };
    }
  }
  return { canary, control };
}

/**
 * How much more the canary's "latency <= bound" varies from window to window than independent
 * requests would, *relative to the control in the same window*: the quasi-binomial dispersion
 * (Pearson's chi-square over its degrees of freedom, McCullagh & Nelder) of the canary's count in
 * each window about what the control's proportion in that window, shifted by the canary's average
 * difference in log-odds, predicts. So load common to both versions (the control moves too) and a
 * steady regression (the shift) do not count; bursts of the canary's own (a stall of its process) do.
 * Never below 1: the band never gets narrower than for independent requests.
 */
export function relativeDispersion(canaryBelow: readonly number[], canaryTotals: readonly number[], controlBelow: readonly number[], controlTotals: readonly number[]): number {
  // the control's log-odds per window, with half a count each side so no window predicts certainty
  const windows: { x: number; n: number; offset: number }[] = [];
  let x = 0;
  let n = 0;
  for (let i = 0; i < canaryTotals.length; i++) {
    const t = canaryTotals[i] as number;
    const m = controlTotals[i] as number;
    if (!(t > 0 && m > 0)) continue;
    const p = ((controlBelow[i] as number) + 0.5) / (m + 1);
    windows.push({ x: canaryBelow[i] as number, n: t, offset: Math.log(p / (1 - p)) });
    x += canaryBelow[i] as number;
    n += t;
  }
  if (windows.length < 3) return 1;
  // the canary's shift in log-odds (a logistic fit with the control as offset): the expected count,
  // increasing in the shift, equals the observed one; bisection, the shift being within +-20
  const predicted = (shift: number, w: { offset: number }) => 1 / (1 + Math.exp(-(w.offset + shift)));
  let lo = -20;
  let hi = 20;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (windows.reduce((a, w) => a + w.n * predicted(mid, w), 0) < x) lo = mid;
    else hi = mid;
  }
  const shift = (lo + hi) / 2;
  let chi = 0;
  for (const w of windows) {
    const q = Math.min(0.99, Math.max(0.01, predicted(shift, w)));
    chi += (w.x - w.n * q) ** 2 / (w.n * q * (1 - q));
  }
  return Math.max(1, chi / (windows.length - 1));
}
