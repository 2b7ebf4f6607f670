// Robust running baseline of one series: a slow exponentially weighted level and spread, the typical
// size of a step between consecutive points, and a fast mean. Inputs are winsorised at CLIP spreads
// before they update the slow statistics, so a spike or a new level does not become normal at once.
// Shared by the shipped detector and the research variants in bench/nab/candidates/.

/** z beyond which an input is winsorised before it updates a baseline, so spikes do not inflate it */
export const CLIP = 4;

/** The surprise measures of one point against the baseline as it was before that point. */
export interface BaselineReading {
  /** |x - level| in spreads */
  zLevel: number;
  /** |x - previous value| in typical steps */
  zDiff: number;
  /** |fast mean - level| in spreads (a level shift, seen after a few points) */
  zFast: number;
  /** the spread the level z was measured in (never 0) */
  dev: number;
  /** the typical step the difference z was measured in (never 0) */
  diffDev: number;
  /** the scale floor used, relative to the level: a flat series that moves is surprising but finite */
  floor: number;
}

export class RobustBaseline {
  private readonly slowRate: number;
  private readonly fastRate: number;
  private n = 0;
  /** the previous value (the expectation of the step measure) */
  prev = 0;
  /** slow level and its mean absolute deviation (unfloored) */
  mean = 0;
  dev = 0;
  diffDev = 0;
  /** fast mean */
  fast = 0;

  constructor(slowRate: number, fastRate: number) {
    this.slowRate = slowRate;
    this.fastRate = fastRate;
  }

  /** points seen */
  get count(): number {
    return this.n;
  }

  /**
   * Reads point x against the baseline (undefined for the very first point, which only seeds it) and
   * moves the fast mean; call learn(x) after the other measures have read the baseline.
   */
  read(x: number): BaselineReading | undefined {
    const n = ++this.n;
    if (n === 1) {
      this.mean = x;
      this.fast = x;
      return undefined;
    }
    const floor = 1e-9 + 1e-6 * Math.abs(this.mean);
    const dev = this.dev + floor;
    const diffDev = this.diffDev + floor;
    this.fast += this.fastRate * (x - this.fast);
    return { zLevel: Math.abs(x - this.mean) / dev, zDiff: Math.abs(x - this.prev) / diffDev, zFast: Math.abs(this.fast - this.mean) / dev, dev, diffDev, floor };
  }

  /** Updates the slow statistics with x (winsorised); `minRate` lets a caller learn faster for a while. */
  learn(x: number, minRate = 0): void {
    const n = this.n;
    if (n > 1) {
      const floor = 1e-9 + 1e-6 * Math.abs(this.mean);
      const dev = this.dev + floor;
      const rate = Math.max(n < 1 / this.slowRate ? 1 / n : this.slowRate, minRate);
      const e = x - this.mean;
      const ce = Math.max(-CLIP * dev, Math.min(CLIP * dev, e));
      this.mean += rate * ce;
      this.dev += rate * (Math.abs(ce) - this.dev);
      const cd = Math.min(Math.abs(x - this.prev), CLIP * (this.diffDev + floor));
      this.diffDev += rate * (cd - this.diffDev);
    }
    this.prev = x;
  }
}
