// Shape novelty: a symbolic word for the shape of the recent window, and whether the series has ever
// made that word before. Written from the SAX papers (Lin, Keogh, Lonardi, Chiu, "A symbolic
// representation of time series", DMKD 2003; Lin, Keogh, Wei, Lonardi, "Experiencing SAX", DMKD 2007):
// the last `window` points are z-normalised on themselves, reduced by PAA (Piecewise Aggregate
// Approximation) to `segments` means, and each mean becomes one of `alphabet` letters cut at the
// equiprobable breakpoints of the standard normal. As in the papers, a window whose spread is tiny is
// not z-normalised (it would turn noise into shape): below `flat` x the spread of the first `learn`
// points it is a flat word.
// Why the detector wants it (docs/anomaly.md, "Ninth round"): the contextual member (contextual.ts)
// knows levels and transitions between them, so an anomaly that stays on known levels (a daily pattern
// that stops, an oscillation between levels it already had, a holiday) never opens the context gate. A
// shape word is scale-free and level-free: it is new exactly when the *form* of the recent window is.
// A word is formed every window / segments points (one new PAA segment per word), so the work per point
// is O(1), plus O(window) per word. Memory: the ring of `window` values and one seen-flag per possible
// word (alphabet^segments: 256 with the defaults), exact, with no hashing and nothing forgotten.
export interface ShapeOptions {
  window: number;
  segments: number;
  /** letters, 2..10 */
  alphabet: number;
  /** points before any word is new (their words are learnt; their spread sets the flat floor) */
  learn: number;
  /** a window whose standard deviation is below flat x that of the first `learn` points is flat */
  flat: number;
}

export const defaultShapeOptions: ShapeOptions = { window: 64, segments: 4, alphabet: 4, learn: 300, flat: 0.05 };

// equiprobable breakpoints of N(0, 1) for 2..10 letters (Lin et al. 2003); the research SAX member
// (bench/nab/research/shape-sax.ts) reads the same table
export const BREAKPOINTS: readonly (readonly number[])[] = [
  [],
  [],
  [0],
  [-0.43, 0.43],
  [-0.67, 0, 0.67],
  [-0.84, -0.25, 0.25, 0.84],
  [-0.97, -0.43, 0, 0.43, 0.97],
  [-1.07, -0.57, -0.18, 0.18, 0.57, 1.07],
  [-1.15, -0.67, -0.32, 0, 0.32, 0.67, 1.15],
  [-1.22, -0.76, -0.43, -0.14, 0.14, 0.43, 0.76, 1.22],
  [-1.28, -0.84, -0.52, -0.25, 0, 0.25, 0.52, 0.84, 1.28],
];

export class ShapeNovelty {
  private readonly o: ShapeOptions;
  private readonly ring: Float64Array;
  private readonly seen: Uint8Array;
  private readonly breaks: readonly number[];
  private readonly hop: number;
  private pos = 0;
  private n = 0;
  private sum = 0;
  private sum2 = 0;
  private learnSum = 0;
  private learnSum2 = 0;
  private learnSd = 0;
  private sinceWord = 0;

  constructor(o: ShapeOptions = defaultShapeOptions) {
    if (!(o.segments >= 1 && o.window >= o.segments && o.window % o.segments === 0 && o.alphabet >= 2 && o.alphabet <= 10 && o.alphabet ** o.segments <= 1 << 20 && o.learn >= 1 && o.flat >= 0)) {
      throw new RangeError(`shape novelty: window must be a multiple of segments, alphabet in 2..10, alphabet^segments <= 2^20, learn >= 1 and flat >= 0 (got ${JSON.stringify(o)})`);
    }
    this.o = o;
    this.ring = new Float64Array(o.window);
    this.seen = new Uint8Array(o.alphabet ** o.segments);
    this.breaks = BREAKPOINTS[o.alphabet]!;
    this.hop = o.window / o.segments;
  }

  /** bytes held: the window ring and the seen flags */
  get bytes(): number {
    return this.ring.byteLength + this.seen.byteLength;
  }

  /**
   * Feeds one finite value; true when it completes a word the series has never formed before (never during
   * the first `learn` points, whose words are learnt).
   */
  isNew(x: number): boolean {
    const o = this.o;
    const old = this.ring[this.pos]!;
    this.ring[this.pos] = x;
    this.pos = (this.pos + 1) % o.window;
    const n = ++this.n;
    this.sum += x;
    this.sum2 += x * x;
    if (n > o.window) {
      this.sum -= old;
      this.sum2 -= old * old;
    }
    if (n <= o.learn) {
      this.learnSum += x;
      this.learnSum2 += x * x;
      if (n === o.learn) {
        const m = this.learnSum / n;
        this.learnSd = Math.sqrt(Math.max(0, this.learnSum2 / n - m * m));
        // a flat learning stretch: the floor is relative to the level, so later noise is still not shape
        if (!(this.learnSd > 0)) this.learnSd = Math.max(1e-3 * Math.abs(m), 1e-9);
      }
    }
    // the first word needs a full window (and, for short windows, two, so the sums have settled)
    if (n < o.window || n < Math.min(o.learn, 2 * o.window)) return false;
    if (++this.sinceWord < this.hop) return false;
    this.sinceWord = 0;
    const mean = this.sum / o.window;
    const sd = Math.sqrt(Math.max(0, this.sum2 / o.window - mean * mean));
    const floor = o.flat * (n >= o.learn ? this.learnSd : sd);
    const flat = !(sd > 0) || sd < floor;
    let word = 0;
    for (let s = 0; s < o.segments; s++) {
      let acc = 0;
      for (let j = 0; j < this.hop; j++) acc += this.ring[(this.pos + s * this.hop + j) % o.window]!;
      word = word * o.alphabet + this.letter(flat ? 0 : (acc / this.hop - mean) / sd);
    }
    const isNew = this.seen[word] === 0;
    this.seen[word] = 1;
    return isNew && n > o.learn;
  }

  private letter(z: number): number {
    const b = this.breaks;
    let k = 0;
    while (k < b.length && z >= b[k]!) k++;
    return k;
  }
}
