// Ninth round (docs/anomaly.md): symbolic shape words, written from the papers.
// - SAX (Lin, Keogh, Lonardi, Chiu 2003; Lin, Keogh, Wei, Lonardi 2007): the last w points are reduced
//   by PAA (Piecewise Aggregate Approximation) to p segment means, z-normalised, and each mean becomes a
//   letter of an alphabet of size a, cut at the standard normal's equiprobable breakpoints.
//   Normalisation is either per window (z-normalised on the window itself, as in the papers: shape only)
//   or against the learned range (mean and spread of the first `learn` points: shape and level).
//   Per the papers, a window whose spread is below a floor is not z-normalised (it is "flat"); the floor
//   here is `flat` x the learned spread.
// - Novelty, for the context gate: a word never seen before, or a transition (the word one hop earlier,
//   this word) never seen before, or (option) a (word, time-of-day slot) never seen in a slot that has
//   seen at least `todDays` words: the share of these facts not seen. Counted in a bounded direct-mapped
//   table of (fingerprint, count) cells; a colliding fact takes the cell over (forgets the older one).
// - Rarity, for the value score (HOT SAX's discord heuristic, Keogh, Lin, Fu 2005: the rarest words are
//   where discords are): sqrt(2 ln(total / count)) of the word's count among the words seen, a z-like
//   surprise the harness calibrates like the other members.
// A word is formed every `hop` points (hop = segment length by default: one new PAA segment per word), so
// the work per point is O(1) and O(p) per word; memory: the ring of w values and the table.
import { BREAKPOINTS } from '../../../src/monitor/anomaly/shape.ts';

export interface SaxOptions {
  /** points per word */
  w?: number;
  /** PAA segments per word (w must be a multiple) */
  p?: number;
  /** alphabet size, 2..10 */
  a?: number;
  /** 'window': z-normalised per window; 'range': against the learned mean and spread */
  norm?: 'window' | 'range';
  /** points that learn (no score), and whose spread sets the flat floor / the range normalisation */
  learn?: number;
  /** a window whose standard deviation is below flat x the learned one is flat (all middle letters) */
  flat?: number;
  /** a word every hop points (0 = w / p) */
  hop?: number;
  tableBits?: number;
  /** word facts counted exactly in an a^p array instead of the hashed table (no collisions) */
  exact?: boolean;
  /** a word seen fewer than this many times before counts as new (1 = never seen) */
  minCount?: number;
  /** which facts count: word, transition, (word, slot) */
  facts?: { word?: boolean; trans?: boolean; tod?: number; todDays?: number; week?: boolean };
}

export interface SaxStep {
  /** share of this word's facts never seen (0 when no word was formed at this point) */
  novelty: number;
  /** z-like rarity of the word (0 when no word was formed) */
  rarity: number;
  /** whether a word was formed at this point */
  formed: boolean;
}

export class SaxMember {
  private readonly o: Required<Omit<SaxOptions, 'facts'>> & { facts: Required<NonNullable<SaxOptions['facts']>> };
  private readonly ring: Float64Array;
  private readonly seg: Float64Array;
  private readonly fp: Int32Array;
  private readonly cnt: Uint32Array;
  private readonly slotWords: Uint32Array;
  private readonly breaks: readonly number[];
  private readonly words: Uint32Array;
  private pos = 0;
  private n = 0;
  private sum = 0;
  private sum2 = 0;
  private prevWord = -1;
  private total = 0;
  private learnSum = 0;
  private learnSum2 = 0;
  private mean = 0;
  private sd = 1;
  private readonly hop: number;
  private sinceWord = 0;

  constructor(opts: SaxOptions = {}) {
    const f = { word: true, trans: true, tod: 0, todDays: 3, week: false, ...opts.facts };
    this.o = { w: 32, p: 4, a: 4, norm: 'window', learn: 300, flat: 0.05, hop: 0, tableBits: 12, exact: false, minCount: 1, ...opts, facts: f };
    if (this.o.w % this.o.p !== 0) throw new RangeError(`sax: w (${this.o.w}) must be a multiple of p (${this.o.p})`);
    this.ring = new Float64Array(this.o.w);
    this.seg = new Float64Array(this.o.p);
    this.fp = new Int32Array(1 << this.o.tableBits);
    this.cnt = new Uint32Array(1 << this.o.tableBits);
    this.slotWords = new Uint32Array(Math.max(1, f.tod) * (f.week ? 7 : 1));
    this.breaks = BREAKPOINTS[this.o.a]!;
    this.words = new Uint32Array(this.o.exact ? this.o.a ** this.o.p : 0);
    this.hop = this.o.hop > 0 ? this.o.hop : this.o.w / this.o.p;
  }

  get bytes(): number {
    return this.ring.byteLength + this.seg.byteLength + this.fp.byteLength + this.cnt.byteLength + this.slotWords.byteLength + this.words.byteLength + 128;
  }

  private letter(z: number): number {
    const b = this.breaks;
    let k = 0;
    while (k < b.length && z >= b[k]!) k++;
    return k;
  }

  step(t: number, x: number): SaxStep {
    const o = this.o;
    const out: SaxStep = { novelty: 0, rarity: 0, formed: false };
    if (!Number.isFinite(x)) return out;
    const old = this.ring[this.pos]!;
    this.ring[this.pos] = x;
    this.pos = (this.pos + 1) % o.w;
    this.n++;
    this.sum += x;
    this.sum2 += x * x;
    if (this.n > o.w) { this.sum -= old; this.sum2 -= old * old; }
    if (this.n <= o.learn) { this.learnSum += x; this.learnSum2 += x * x; }
    if (this.n === o.learn) {
      this.mean = this.learnSum / o.learn;
      this.sd = Math.sqrt(Math.max(0, this.learnSum2 / o.learn - this.mean * this.mean));
      if (!(this.sd > 0)) this.sd = Math.max(1e-3 * Math.abs(this.mean), 1e-9);
    }
    if (this.n < o.w || this.n < Math.min(o.learn, 2 * o.w)) return out;
    if (++this.sinceWord < this.hop) return out;
    this.sinceWord = 0;
    // PAA of the window (oldest first)
    const L = o.w / o.p;
    for (let s = 0; s < o.p; s++) {
      let acc = 0;
      for (let j = 0; j < L; j++) acc += this.ring[(this.pos + s * L + j) % o.w]!;
      this.seg[s] = acc / L;
    }
    let mu: number, sd: number;
    const refSd = this.n >= o.learn ? this.sd : Math.sqrt(Math.max(0, this.sum2 / o.w - (this.sum / o.w) ** 2));
    if (o.norm === 'window') {
      mu = this.sum / o.w;
      sd = Math.sqrt(Math.max(0, this.sum2 / o.w - mu * mu));
      if (sd < o.flat * refSd || !(sd > 0)) sd = Infinity; // flat: every letter in the middle
    } else {
      mu = this.n >= o.learn ? this.mean : this.sum / o.w;
      sd = refSd > 0 ? refSd : 1;
    }
    let word = 0;
    for (let s = 0; s < o.p; s++) word = word * o.a + this.letter(sd === Infinity ? 0 : (this.seg[s]! - mu) / sd);
    const scoring = this.n > o.learn;
    const mask = (1 << o.tableBits) - 1;
    let facts = 0;
    let novel = 0;
    const h0 = Math.imul(word ^ 0x5bd1e995, 0x9e3779b1);
    const wf = h0 ^ (h0 >>> 15);
    const c0 = o.exact ? this.words[word]!++ : this.touch(wf, mask);
    this.total++;
    if (o.facts.word) { facts++; if (c0 < o.minCount) novel++; }
    if (o.facts.trans && this.prevWord >= 0) {
      const h = Math.imul(Math.imul(word ^ 0x27d4eb2f, 0x165667b1) ^ (this.prevWord + 0x3c6ef372), 0xc2b2ae35);
      facts++;
      if (this.touch(h ^ (h >>> 13), mask) === 0) novel++;
    }
    if (o.facts.tod > 0) {
      const day = 86_400_000;
      let slot = Math.floor((((t % day) + day) % day) / (day / o.facts.tod));
      if (o.facts.week) slot = slot * 7 + Math.floor(t / day + 4) % 7; // 1970-01-01 was a Thursday (4)
      const h = Math.imul(Math.imul(word ^ 0x1b873593, 0xcc9e2d51) ^ (slot + 0x6b43a9b5), 0x85ebca6b);
      const c = this.touch(h ^ (h >>> 16), mask);
      const seen = this.slotWords[slot]!;
      if (seen < 0xffffffff) this.slotWords[slot] = seen + 1;
      if (seen >= o.facts.todDays) { facts++; if (c === 0) novel++; }
    }
    this.prevWord = word;
    if (!scoring) return out;
    out.formed = true;
    out.novelty = facts > 0 ? novel / facts : 0;
    out.rarity = Math.sqrt(2 * Math.log(this.total / (c0 + 1)));
    return out;
  }

  /** count before this touch (0 = never seen, or forgotten by collision); then learns it */
  private touch(h: number, mask: number): number {
    const i = h & mask;
    const f = h | 1;
    if (this.fp[i] === f) {
      const c = this.cnt[i]!;
      this.cnt[i] = c + 1;
      return c;
    }
    this.fp[i] = f;
    this.cnt[i] = 1;
    return 0;
  }
}
