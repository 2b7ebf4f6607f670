// HTM-like sequence memory, simplified (after Hawkins & Ahmad 2016 / Ahmad et al. 2017 in spirit, not
// their code): values are quantised into buckets whose width is fixed from the first `learn` points'
// robust spread; the last `order` buckets form a context, hashed into a bounded table that remembers the
// `slots` most recent distinct next buckets seen after it. Raw anomaly of a point = its distance to the
// nearest predicted bucket, in encoder widths, clipped to [0, 1] (1 when the context was never seen):
// the share of "unpredicted" input, as HTM's raw score is. Several orders are kept and the lowest
// (best-predicted) raw score is used, so a pattern seen at any order is predictable.
export interface SeqOptions { learn?: number; buckets?: number; orders?: number[]; tableBits?: number; slots?: number; width?: number }
export class SeqMemory {
  private readonly o: Required<SeqOptions>;
  private readonly keys: Int32Array[];
  private readonly next: Int32Array[];
  private readonly hist: Int32Array;
  private n = 0;
  private res = 0;
  private lo = Infinity;
  private hi = -Infinity;
  private center = 0;
  private readonly warm: number[] = [];
  constructor(opts: SeqOptions = {}) {
    this.o = { learn: 300, buckets: 60, orders: [1, 3, 6], tableBits: 10, slots: 3, width: 3, ...opts };
    const T = 1 << this.o.tableBits;
    this.keys = this.o.orders.map(() => new Int32Array(T).fill(-1));
    this.next = this.o.orders.map(() => new Int32Array(T * this.o.slots).fill(0x7fffffff));
    this.hist = new Int32Array(Math.max(...this.o.orders));
  }
  get bytes(): number { return this.keys.reduce((s, a) => s + a.byteLength, 0) + this.next.reduce((s, a) => s + a.byteLength, 0) + this.hist.byteLength; }
  surprise(_t: number, x: number): number {
    const o = this.o;
    this.n++;
    if (this.n <= o.learn) {
      this.warm.push(x);
      if (this.n < o.learn) return 0;
      const s = [...this.warm].sort((a, b) => a - b);
      const q = (p: number) => s[Math.floor(p * (s.length - 1))]!;
      const span = Math.max(q(0.99) - q(0.01), 1e-9 + 1e-6 * Math.abs(q(0.5)));
      this.res = span / o.buckets;
      this.center = q(0.5);
      // seed the history with the last points
      for (let i = Math.max(0, this.warm.length - 40); i < this.warm.length; i++) this.learnPoint(this.bucket(this.warm[i]!), false);
      this.warm.length = 0;
      return 0;
    }
    return this.learnPoint(this.bucket(x), true);
  }
  private bucket(x: number): number {
    const b = Math.round((x - this.center) / this.res);
    return b > 1e6 ? 1e6 : b < -1e6 ? -1e6 : b;
  }
  private learnPoint(b: number, score: boolean): number {
    const o = this.o;
    const T = (1 << o.tableBits) - 1;
    let best = 1;
    for (let k = 0; k < o.orders.length; k++) {
      const ord = o.orders[k]!;
      // context hash of the last ord buckets
      let h = 2166136261 ^ ord;
      for (let j = 0; j < ord; j++) h = Math.imul(h ^ (this.hist[j]! + 0x9e3779b9), 16777619);
      const slot = (h >>> 0) & T;
      const key = (h >>> 0) >>> o.tableBits;
      const keys = this.keys[k]!, next = this.next[k]!;
      let r = 1;
      if (keys[slot] === key) {
        for (let s = 0; s < o.slots; s++) {
          const p = next[slot * o.slots + s]!;
          if (p === 0x7fffffff) continue;
          r = Math.min(r, Math.abs(p - b) / o.width);
        }
        // move b to front (most recent first)
        let at = o.slots - 1;
        for (let s = 0; s < o.slots; s++) if (next[slot * o.slots + s] === b) { at = s; break; }
        for (let s = at; s > 0; s--) next[slot * o.slots + s] = next[slot * o.slots + s - 1]!;
        next[slot * o.slots] = b;
      } else {
        keys[slot] = key;
        for (let s = 0; s < o.slots; s++) next[slot * o.slots + s] = 0x7fffffff;
        next[slot * o.slots] = b;
      }
      best = Math.min(best, Math.min(1, r));
    }
    for (let j = this.hist.length - 1; j > 0; j--) this.hist[j] = this.hist[j - 1]!;
    this.hist[0] = b;
    return score ? best : 0;
  }
}
