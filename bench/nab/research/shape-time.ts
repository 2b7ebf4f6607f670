// Ninth round (docs/anomaly.md): time-context facts for the contextual gate. The shipped contextual
// member (contextual.ts) knows a point's level and the transition into it; it does not know *when* a
// level is usual, so a daily pattern that stops on a level it had, or a holiday that looks like a
// Sunday, is not new to it. These facts add the time: (level, slot of the day) and, optionally,
// (level, weekday, slot). A fact only counts once its slot has been seen on at least `minDays` earlier
// days (otherwise the first week would be all novelties), and then it is novel when that level has never
// been seen in that slot. Levels as in contextual.ts: `bins` equal widths over the min-max range of the
// first `learn` points, values outside get levels beyond it. Memory: a direct-mapped fingerprint table
// of 2^tableBits cells, a per-slot day counter and the learning points while they are collected.
export interface TimeContextOptions {
  learn?: number;
  bins?: number;
  /** slots per day */
  slots?: number;
  /** (level, weekday, slot) facts as well */
  week?: boolean;
  /** (level, slot) facts (false: weekday facts only) */
  day?: boolean;
  /** earlier days a slot must have seen before its facts count */
  minDays?: number;
  tableBits?: number;
  /** a level within `tolerance` levels of one seen in the slot is not new (0 = exact level) */
  tolerance?: number;
}

const DAY = 86_400_000;

export class TimeContext {
  private readonly o: Required<TimeContextOptions>;
  private readonly fp: Int32Array;
  private readonly daysSeen: Uint16Array;
  private readonly lastDay: Int32Array;
  private warm: number[] = [];
  private warmT: number[] = [];
  private n = 0;
  private lo = 0;
  private width = 1;
  constructor(opts: TimeContextOptions = {}) {
    this.o = { learn: 300, bins: 6, slots: 48, week: true, day: true, minDays: 2, tableBits: 12, tolerance: 0, ...opts };
    this.fp = new Int32Array(1 << this.o.tableBits);
    this.daysSeen = new Uint16Array(this.o.slots * 8);
    this.lastDay = new Int32Array(this.o.slots * 8).fill(-1);
  }
  get bytes(): number { return this.fp.byteLength + this.daysSeen.byteLength + this.lastDay.byteLength + 16 * this.o.learn; }

  private level(x: number): number {
    const b = Math.floor((x - this.lo) / this.width);
    return b > 1e6 ? 1e6 : b < -1e6 ? -1e6 : b;
  }

  /** share of the mature time facts of this point never seen (0 while learning or when none is mature) */
  novelty(t: number, x: number): number {
    if (!Number.isFinite(x) || !Number.isFinite(t)) return 0;
    this.n++;
    if (this.n <= this.o.learn) {
      this.warm.push(x); this.warmT.push(t);
      if (this.n === this.o.learn) {
        let lo = Infinity, hi = -Infinity;
        for (const v of this.warm) { if (v < lo) lo = v; if (v > hi) hi = v; }
        const span = Math.max(hi - lo, 1e-3 * Math.max(Math.abs(lo), Math.abs(hi)), 1e-9);
        this.lo = lo; this.width = span / this.o.bins;
        for (let i = 0; i < this.warm.length; i++) this.facts(this.warmT[i]!, this.level(this.warm[i]!));
        this.warm = []; this.warmT = [];
      }
      return 0;
    }
    return this.facts(t, this.level(x));
  }

  private facts(t: number, b: number): number {
    const o = this.o;
    const d = Math.floor(t / DAY);
    const slot = Math.floor((((t % DAY) + DAY) % DAY) / (DAY / o.slots));
    const wd = (((d + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
    let facts = 0, novel = 0;
    const kinds: number[] = [];
    if (o.day) kinds.push(slot);
    if (o.week) kinds.push(o.slots * (1 + wd) + slot);
    for (const key of kinds) {
      // count the day in this slot once
      if (this.lastDay[key] !== d) { this.lastDay[key] = d; if (this.daysSeen[key]! < 65535) this.daysSeen[key]!++; }
      const mature = this.daysSeen[key]! > o.minDays; // this day plus minDays earlier ones
      let seen = false;
      for (let dl = -o.tolerance; dl <= o.tolerance && !seen; dl++) seen = this.has(key, b + dl);
      this.put(key, b);
      if (mature) { facts++; if (!seen) novel++; }
    }
    return facts > 0 ? novel / facts : 0;
  }

  private cell(key: number, b: number): [number, number] {
    const h0 = Math.imul(Math.imul(b ^ 0x27d4eb2f, 0x165667b1) ^ (key + 0x3c6ef372), 0xc2b2ae35);
    const h = h0 ^ (h0 >>> 13);
    return [h & ((1 << this.o.tableBits) - 1), h | 1];
  }
  private has(key: number, b: number): boolean { const [i, f] = this.cell(key, b); return this.fp[i] === f; }
  private put(key: number, b: number): void { const [i, f] = this.cell(key, b); this.fp[i] = f; }
}
