// Per-series calibration of a surprise: divides it by a running estimate of its own high quantile
// (stochastic approximation, constant memory) and scales so that 3 means "as unusual as this series
// usually gets at that quantile". This is what lets one threshold mean the same thing on a noisy and
// on a quiet series. Shared by the shipped detector and every research candidate in bench/nab/.
export class QuantileCalibrator {
  private q = 3;
  private readonly level: number;

  /** level: the quantile (0.98); 0 turns calibration off (the surprise is used as a z directly) */
  constructor(level: number) {
    this.level = level;
  }

  /** calibrated z of this surprise (against earlier surprises only), then learns from it */
  next(z: number): number {
    if (!(this.level > 0)) return z;
    const zc = (3 * z) / Math.max(this.q, 3);
    // steps up by level and down by (1 - level), relative to its size: settles where P(z > q) = 1 - level
    const step = 0.05 * Math.max(this.q, 1);
    this.q += z > this.q ? step * this.level : -step * (1 - this.level);
    return zc;
  }
}
