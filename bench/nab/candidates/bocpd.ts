// Bayesian online changepoint detection (Adams & MacKay 2007) with the run length truncated at R, so
// memory and work per point are bounded. Values are standardised by a slow exponentially weighted
// baseline (causal), each run length carries Normal-Gamma sufficient statistics, the predictive is
// Student-t; the lgamma terms depend only on the run length and are tabulated once. Surprise: how far
// the point falls below the mixture predictive's peak density, on a z scale (sqrt(2 ln(peak / p(x))),
// which is |z| for a Gaussian); optionally the posterior mass of short runs (a new regime) as well.
import type { SurpriseModel } from './calibrate.ts';

export interface BocpdOptions {
  /** maximum run length kept (the last bucket absorbs longer runs) */
  maxRun?: number;
  /** constant hazard: prior probability of a change at any point */
  hazard?: number;
  /** Normal-Gamma prior on standardised values */
  kappa0?: number;
  alpha0?: number;
  beta0?: number;
  /** EW rate of the standardising baseline */
  rate?: number;
  /** weight of the short-run mass (runs shorter than shortRun) as a second surprise (0 = off) */
  wChange?: number;
  shortRun?: number;
}

export const defaultBocpdOptions: Required<BocpdOptions> = {
  maxRun: 64,
  hazard: 1 / 250,
  kappa0: 1,
  alpha0: 1,
  beta0: 1,
  rate: 0.001,
  wChange: 0,
  shortRun: 5,
};

function lgamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9), x > 0
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  x -= 1;
  let a = c[0] as number;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

export class BocpdModel implements SurpriseModel {
  private readonly o: Required<BocpdOptions>;
  private readonly R: number;
  private p: Float64Array;
  private mu: Float64Array;
  private kappa: Float64Array;
  private beta: Float64Array;
  private np: Float64Array;
  private nmu: Float64Array;
  private nkappa: Float64Array;
  private nbeta: Float64Array;
  /** per run length: alpha, and the lgamma part of the Student-t log density */
  private readonly alpha: Float64Array;
  private readonly cst: Float64Array;
  private active = 1;
  private n = 0;
  private mean = 0;
  private dev = 0;
  private prev = 0;

  constructor(opts: BocpdOptions = {}) {
    this.o = { ...defaultBocpdOptions, ...opts };
    const R = (this.R = Math.max(2, this.o.maxRun | 0));
    this.p = new Float64Array(R);
    this.mu = new Float64Array(R);
    this.kappa = new Float64Array(R);
    this.beta = new Float64Array(R);
    this.np = new Float64Array(R);
    this.nmu = new Float64Array(R);
    this.nkappa = new Float64Array(R);
    this.nbeta = new Float64Array(R);
    this.alpha = new Float64Array(R);
    this.cst = new Float64Array(R);
    for (let r = 0; r < R; r++) {
      const a = this.o.alpha0 + r / 2;
      const nu = 2 * a;
      this.alpha[r] = a;
      this.cst[r] = lgamma((nu + 1) / 2) - lgamma(nu / 2) - 0.5 * Math.log(nu * Math.PI);
    }
    this.p[0] = 1;
    this.mu[0] = 0;
    this.kappa[0] = this.o.kappa0;
    this.beta[0] = this.o.beta0;
  }

  surprise(_t: number, value: number): number {
    const o = this.o;
    const raw = Number.isFinite(value) ? value : this.prev;
    this.prev = raw;
    const n = ++this.n;
    if (n === 1) this.mean = raw;
    const floor = 1e-9 + 1e-6 * Math.abs(this.mean);
    const x = (raw - this.mean) / (this.dev + floor);
    // standardising baseline (winsorised, like the default detector's)
    const rate = n < 1 / o.rate ? 1 / n : o.rate;
    const dv = this.dev + floor;
    const ce = Math.max(-4 * dv, Math.min(4 * dv, raw - this.mean));
    this.mean += rate * ce;
    this.dev += rate * (Math.abs(ce) - this.dev);
    if (n < 3) return 0;
    const xx = Math.max(-50, Math.min(50, x));

    const R = this.R;
    const act = this.active;
    let pred = 0;
    let peak = 0;
    let cp = 0;
    const np = this.np;
    np.fill(0);
    for (let r = 0; r < act; r++) {
      const pr = this.p[r] as number;
      const a = this.alpha[r] as number;
      const k = this.kappa[r] as number;
      const b = this.beta[r] as number;
      const nu = 2 * a;
      const s2 = (b * (k + 1)) / (a * k);
      const d = xx - (this.mu[r] as number);
      const logTop = (this.cst[r] as number) - 0.5 * Math.log(s2);
      const lik = Math.exp(logTop - ((nu + 1) / 2) * Math.log1p((d * d) / (nu * s2)));
      const w = pr * lik;
      pred += w;
      peak += pr * Math.exp(logTop);
      cp += w * o.hazard;
      const g = r + 1 < R ? r + 1 : R - 1;
      np[g] = (np[g] as number) + w * (1 - o.hazard);
      // sufficient statistics after seeing x, for run length g (the last bucket keeps its own run)
      if (r + 1 < R || r === R - 1) {
        const k1 = k + 1;
        this.nmu[g] = (k * (this.mu[r] as number) + xx) / k1;
        this.nkappa[g] = k1;
        this.nbeta[g] = b + (k * d * d) / (2 * k1);
      }
    }
    np[0] = cp;
    this.nmu[0] = 0;
    this.nkappa[0] = o.kappa0;
    this.nbeta[0] = o.beta0;
    let tot = 0;
    for (let r = 0; r <= Math.min(act, R - 1); r++) tot += np[r] as number;
    let short = 0;
    if (tot > 0 && Number.isFinite(tot)) for (let r = 0; r <= Math.min(act, R - 1); r++) {
      np[r] = (np[r] as number) / tot;
      if (r < o.shortRun) short += np[r] as number;
    } else {
      np.fill(0);
      np[0] = 1;
    }
    [this.p, this.np] = [np, this.p];
    [this.mu, this.nmu] = [this.nmu, this.mu];
    [this.kappa, this.nkappa] = [this.nkappa, this.kappa];
    [this.beta, this.nbeta] = [this.nbeta, this.beta];
    this.active = Math.min(R, act + 1);
    const z = pred > 0 && peak > pred ? Math.sqrt(2 * Math.log(peak / pred)) : pred > 0 ? 0 : 10;
    if (o.wChange > 0) return Math.max(z, o.wChange * 10 * Math.max(0, short - o.shortRun * o.hazard));
    return z;
  }
}

export function createBocpdModel(opts: BocpdOptions = {}): BocpdModel {
  return new BocpdModel(opts);
}
