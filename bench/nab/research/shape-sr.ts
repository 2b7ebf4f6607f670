// Ninth round (docs/anomaly.md): spectral-residual saliency (Ren, Xu, Wang, Yi, Wang, Tong, Zhang,
// Rao, Wang, Zhang, "Time-Series Anomaly Detection Service at Microsoft", KDD 2019), written from the
// paper, causal: on a sliding window of the last n - m points,
// 1. extend the window by m estimated points (the paper's section 3.2: the newest point is otherwise at
//    the window's edge, where the saliency is unreliable): x_ext = x_{n-m+1} + g m, g = the mean slope
//    from the m preceding points to the newest one;
// 2. A(f) = |FFT|, L = log A, AL = L averaged over q neighbouring frequencies, R = L - AL (the spectral
//    residual), saliency S = |IFFT(exp(R + i P))|; since exp(R + iP) = X exp(-AL) (A = exp L), the
//    inverse only needs X scaled by exp(-AL);
// 3. the score of the newest real point: (S - mean S) / mean S, the mean over the newest points' last z
//    saliencies (the paper's local average), which the harness calibrates like the other members.
// Only the saliency at the newest real point is needed, so the inverse is one O(n) sum, not an FFT.
// Work per point: one n-point FFT (n log n), n logs and exps. Memory: a few n-sized arrays.
export interface SrOptions {
  /** FFT size (power of two), including the m extension points */
  n?: number;
  m?: number;
  q?: number;
  z?: number;
  /** subtract the window mean first (the paper does not) */
  detrend?: boolean;
}

export class SrMember {
  private readonly o: Required<SrOptions>;
  private readonly ring: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly rev: Uint32Array;
  private readonly logA: Float64Array;
  private readonly sal: Float64Array;
  private pos = 0;
  private n = 0;
  private salSum = 0;
  private salPos = 0;
  private salN = 0;

  constructor(opts: SrOptions = {}) {
    this.o = { n: 64, m: 5, q: 3, z: 21, detrend: false, ...opts };
    const N = this.o.n;
    if ((N & (N - 1)) !== 0 || N < 8) throw new RangeError(`sr: n must be a power of two >= 8 (got ${N})`);
    this.ring = new Float64Array(N - this.o.m);
    this.re = new Float64Array(N);
    this.im = new Float64Array(N);
    this.logA = new Float64Array(N);
    this.cos = new Float64Array(N);
    this.sin = new Float64Array(N);
    for (let k = 0; k < N; k++) { this.cos[k] = Math.cos((2 * Math.PI * k) / N); this.sin[k] = Math.sin((2 * Math.PI * k) / N); }
    this.rev = new Uint32Array(N);
    const bits = Math.log2(N);
    for (let i = 0; i < N; i++) { let r = 0; for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b); this.rev[i] = r; }
    this.sal = new Float64Array(this.o.z);
  }

  get bytes(): number {
    return this.ring.byteLength + 6 * this.re.byteLength + this.rev.byteLength + this.sal.byteLength + 96;
  }

  /** raw spectral-residual score of the newest point (0 until the window is full) */
  surprise(_t: number, x: number): number {
    if (!Number.isFinite(x)) return 0;
    const o = this.o, N = o.n, R = N - o.m, ring = this.ring;
    ring[this.pos] = x;
    this.pos = (this.pos + 1) % R;
    this.n++;
    if (this.n < R) return 0;
    const re = this.re, im = this.im, rev = this.rev;
    // window oldest first, in bit-reversed order for the in-place FFT
    let mean = 0;
    for (let i = 0; i < R; i++) mean += ring[(this.pos + i) % R]!;
    mean /= R;
    const off = o.detrend ? mean : 0;
    const newest = ring[(this.pos + R - 1) % R]!;
    let g = 0;
    for (let i = 1; i <= o.m; i++) g += (newest - ring[(this.pos + R - 1 - i) % R]!) / i;
    g /= o.m;
    const ext = ring[(this.pos + R - o.m) % R]! + g * o.m;
    for (let i = 0; i < N; i++) { re[rev[i]!] = (i < R ? ring[(this.pos + i) % R]! : ext) - off; im[rev[i]!] = 0; }
    for (let size = 2; size <= N; size <<= 1) {
      const half = size >> 1, step = N / size;
      for (let s = 0; s < N; s += size) {
        for (let j = 0; j < half; j++) {
          const c = this.cos[j * step]!, si = -this.sin[j * step]!;
          const a = s + j, b = a + half;
          const tr = re[b]! * c - im[b]! * si, ti = re[b]! * si + im[b]! * c;
          re[b] = re[a]! - tr; im[b] = im[a]! - ti;
          re[a] = re[a]! + tr; im[a] = im[a]! + ti;
        }
      }
    }
    const la = this.logA;
    for (let k = 0; k < N; k++) la[k] = Math.log(Math.hypot(re[k]!, im[k]!) + 1e-8);
    // S at the newest real point j = R - 1: |(1/N) sum_k X_k exp(-AL_k) e^{2 pi i k j / N}|
    const j = R - 1, h = o.q >> 1;
    let sr = 0, si = 0;
    for (let k = 0; k < N; k++) {
      let acc = 0, cnt = 0;
      for (let d = -h; d <= h; d++) { const kk = k + d; if (kk >= 0 && kk < N) { acc += la[kk]!; cnt++; } }
      const sc = Math.exp(-acc / cnt);
      const idx = (k * j) % N;
      const c = this.cos[idx]!, s = this.sin[idx]!;
      sr += sc * (re[k]! * c - im[k]! * s);
      si += sc * (re[k]! * s + im[k]! * c);
    }
    const S = Math.hypot(sr, si) / N;
    const avg = this.salN > 0 ? this.salSum / this.salN : S;
    const score = avg > 1e-12 ? Math.max(0, (S - avg) / avg) : 0;
    this.salSum += S - this.sal[this.salPos]!;
    this.sal[this.salPos] = S;
    this.salPos = (this.salPos + 1) % o.z;
    if (this.salN < o.z) this.salN++;
    return score;
  }
}
