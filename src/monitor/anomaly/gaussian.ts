// Gaussian tail probabilities with full relative precision far into the tail, because anomaly scores
// of the form 1 - Q(z) are compared by rank and ties at exactly 1.0 change which rows fire.

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const ONE_OVER_SQRT_PI = 0.5641895835477563;

/** Complementary error function, relative error ~1e-14 for all x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2.5) {
    // erf(x) = 2/sqrt(pi) e^{-x^2} sum 2^n x^{2n+1} / (1*3*...*(2n+1)): positive terms, no cancellation
    let term = x;
    let sum = x;
    const x2 = 2 * x * x;
    for (let n = 1; n < 200; n++) {
      term *= x2 / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return 1 - TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
  }
  if (x > 27) return 0;
  // continued fraction erfc(x) = e^{-x^2}/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))),
  // evaluated backwards with enough terms for x >= 2.5
  let f = x;
  for (let k = 60; k >= 1; k--) f = x + k / 2 / f;
  return (ONE_OVER_SQRT_PI * Math.exp(-x * x)) / f;
}

/** Upper tail P(Z > z) of the standard normal distribution. */
export function normalTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}
