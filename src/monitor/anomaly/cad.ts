// Contextual anomaly detection in the manner of CAD OSE (Smirnov, "Contextual Anomaly Detector, open
// source edition", the NAB detector `context_ose`): the value is quantised into a few bits, each bit
// becomes a "fact"; a context pairs the facts active one step ago (sensor facts plus "neuron" facts
// for the contexts that fired) with the facts that followed. The anomaly score is high when the
// contexts that should have fired did not and many new contexts had to be learnt.
// This is an independent TypeScript implementation of the published algorithm. It reproduces the
// reference behaviour exactly, including two CPython 2 details the algorithm's output depends on: the
// 64-bit tuple hash (used to identify semi-contexts and to break ties between active contexts) and
// the iteration order of small int-keyed dicts (which decides the order new contexts are numbered).
// `maxContexts` bounds memory (no new contexts are learnt once it is reached).

const MASK64 = (1n << 64n) - 1n;
const SIGN64 = 1n << 63n;

/** CPython 2.7 hash of a tuple of non-negative ints (64-bit build). */
export function pyTupleHash(items: readonly number[]): bigint {
  let x = 0x345678n;
  let mult = 1000003n;
  let len = items.length;
  for (const item of items) {
    len--;
    x = ((x ^ BigInt(item)) * mult) & MASK64;
    mult = (mult + 82520n + BigInt(len + len)) & MASK64;
  }
  x = (x + 97531n) & MASK64;
  let signed = x >= SIGN64 ? x - (1n << 64n) : x;
  if (signed === -1n) signed = -2n;
  return signed;
}

/** Open-addressing table with CPython 2.7's probing and growth, so iteration order matches its dicts. */
class IntKeyTable {
  keys: Int32Array = new Int32Array(8).fill(-1);
  vals: Int32Array = new Int32Array(8);
  used = 0;

  private slot(keys: Int32Array, key: number): number {
    const mask = keys.length - 1;
    let i = key & mask;
    if (keys[i] === -1 || keys[i] === key) return i;
    let perturb = key;
    for (;;) {
      i = (i * 5 + perturb + 1) & mask;
      if (keys[i] === -1 || keys[i] === key) return i;
      perturb = Math.floor(perturb / 32);
    }
  }

  /** value for key, inserting `value` first if the key is new */
  setDefault(key: number, value: number): number {
    const i = this.slot(this.keys, key);
    if (this.keys[i] === key) return this.vals[i] as number;
    this.keys[i] = key;
    this.vals[i] = value;
    this.used++;
    if (this.used * 3 >= this.keys.length * 2) this.resize(4 * this.used);
    return value;
  }

  private resize(minUsed: number): void {
    let size = 8;
    while (size <= minUsed) size *= 2;
    const keys = new Int32Array(size).fill(-1);
    const vals = new Int32Array(size);
    for (let s = 0; s < this.keys.length; s++) {
      const k = this.keys[s] as number;
      if (k === -1) continue;
      const i = this.slot(keys, k);
      keys[i] = k;
      vals[i] = this.vals[s] as number;
    }
    this.keys = keys;
    this.vals = vals;
  }
}

interface LeftSemi {
  crossed: number[];
  size: number;
  hits: number;
  /** right semi-context id -> context id */
  contexts: IntKeyTable;
}

interface RightSemi {
  crossed: number[];
  size: number;
  hits: number;
}

interface Context {
  /** sum of the right sizes over the steps its left side was fully matched */
  tried: number;
  /** sum of the matched right facts over those steps */
  matched: number;
  /** times it fired completely */
  fired: number;
  rightFacts: number[];
  zeroLevel: boolean;
  leftHash: bigint;
  rightHash: bigint;
}

type FactPair = [number[], number[]];

class ContextMemory {
  readonly leftIds = new Map<bigint, number>();
  readonly rightIds = new Map<bigint, number>();
  readonly lefts: LeftSemi[] = [];
  readonly rights: RightSemi[] = [];
  readonly leftByFact = new Map<number, LeftSemi[]>();
  readonly rightByFact = new Map<number, RightSemi[]>();
  crossedLefts: LeftSemi[] = [];
  crossedRights: RightSemi[] = [];
  readonly contexts: Context[] = [];
  /** id of the zero-level context created this step; 0 doubles as "none", as in the reference */
  newContextId = 0;

  readonly maxLeftLength: number;
  readonly maxContexts: number;

  constructor(maxLeftLength: number, maxContexts: number) {
    this.maxLeftLength = maxLeftLength;
    this.maxContexts = maxContexts;
  }

  /** Looks up or learns each pair; for a zero-level pair returns whether it was new, else how many were. */
  learn(pairs: readonly FactPair[], zeroLevel: boolean): number | boolean {
    let added = 0;
    for (const [lf, rf] of pairs) {
      if (this.contexts.length >= this.maxContexts) return zeroLevel ? false : added;
      const lh = pyTupleHash(lf);
      const rh = pyTupleHash(rf);
      let lid = this.leftIds.get(lh);
      if (lid === undefined) {
        lid = this.lefts.length;
        this.leftIds.set(lh, lid);
        const semi: LeftSemi = { crossed: [], size: lf.length, hits: 0, contexts: new IntKeyTable() };
        this.lefts.push(semi);
        for (const f of lf) push(this.leftByFact, f, semi);
      }
      let rid = this.rightIds.get(rh);
      if (rid === undefined) {
        rid = this.rights.length;
        this.rightIds.set(rh, rid);
        const semi: RightSemi = { crossed: [], size: rf.length, hits: 0 };
        this.rights.push(semi);
        for (const f of rf) push(this.rightByFact, f, semi);
      }
      const next = this.contexts.length;
      const cid = (this.lefts[lid] as LeftSemi).contexts.setDefault(rid, next);
      if (cid === next) {
        added++;
        this.contexts.push({ tried: 0, matched: 0, fired: 0, rightFacts: rf, zeroLevel, leftHash: lh, rightHash: rh });
        if (zeroLevel) {
          this.newContextId = cid;
          return true;
        }
      } else if (zeroLevel) {
        (this.contexts[cid] as Context).zeroLevel = true;
        return false;
      }
    }
    return added;
  }

  private cross<S extends { crossed: number[]; hits: number }>(facts: readonly number[], byFact: Map<number, S[]>, all: readonly S[], previous: readonly S[]): S[] {
    for (const s of previous) {
      s.crossed = [];
      s.hits = 0;
    }
    for (const f of facts) {
      const list = byFact.get(f);
      if (list) for (const s of list) s.crossed.push(f);
    }
    const crossed: S[] = [];
    for (const s of all) {
      s.hits = s.crossed.length;
      if (s.hits > 0) crossed.push(s);
    }
    return crossed;
  }

  /** Crosses the right semi-contexts with the current facts and scores the contexts whose left side held. */
  crossRight(facts: readonly number[], newFlag: boolean): { active: Array<[number, number, bigint, bigint]>; selected: number; candidates: FactPair[] } {
    this.crossedRights = this.cross(facts, this.rightByFact, this.rights, this.crossedRights);
    const active: Array<[number, number, bigint, bigint]> = [];
    const candidates: FactPair[] = [];
    let selected = 0;
    for (const left of this.crossedLefts) {
      const t = left.contexts;
      for (let s = 0; s < t.keys.length; s++) {
        const rid = t.keys[s] as number;
        if (rid === -1) continue;
        const cid = t.vals[s] as number;
        if (cid === this.newContextId) continue;
        const ctx = this.contexts[cid] as Context;
        const right = this.rights[rid] as RightSemi;
        if (left.size === left.hits) {
          selected++;
          ctx.tried += right.size;
          if (right.hits > 0) {
            ctx.matched += right.hits;
            if (right.size === right.hits) {
              ctx.fired++;
              active.push([cid, ctx.fired, ctx.leftHash, ctx.rightHash]);
            } else if (ctx.zeroLevel && newFlag && left.hits <= this.maxLeftLength) {
              candidates.push([left.crossed.slice(), right.crossed.slice()]);
            }
          }
        } else if (ctx.zeroLevel && newFlag && right.hits > 0 && left.hits <= this.maxLeftLength) {
          candidates.push([left.crossed.slice(), right.crossed.slice()]);
        }
      }
    }
    this.newContextId = 0;
    return { active, selected, candidates };
  }

  /** Learns the candidate contexts, crosses the left semi-contexts with `facts`, returns the prediction. */
  crossLeft(facts: readonly number[], candidates: readonly FactPair[]): { added: number; predicted: Set<number> } {
    const added = candidates.length > 0 ? (this.learn(candidates, false) as number) : 0;
    this.crossedLefts = this.cross(facts, this.leftByFact, this.lefts, this.crossedLefts);
    let best = 0;
    let winners: Context[] = [];
    for (const left of this.crossedLefts) {
      if (left.size !== left.hits) continue;
      const t = left.contexts;
      for (let s = 0; s < t.keys.length; s++) {
        if (t.keys[s] === -1) continue;
        const ctx = this.contexts[t.vals[s] as number] as Context;
        const w = ctx.tried > 0 ? ctx.matched / ctx.tried : 0;
        if (w > best) {
          best = w;
          winners = [ctx];
        } else if (w === best) winners.push(ctx);
      }
    }
    const predicted = new Set<number>();
    for (const c of winners) for (const f of c.rightFacts) predicted.add(f);
    return { added, predicted };
  }
}

function push<T>(m: Map<number, T[]>, k: number, v: T): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface CadOptions {
  /** value range mapped onto the 2^bits levels */
  minValue: number;
  maxValue: number;
  /** after a raw score >= baseThreshold, report 0 for this many points */
  restPeriod: number;
  baseThreshold?: number;
  maxLeftSemiContextsLength?: number;
  maxActiveNeurons?: number;
  numNormValueBits?: number;
  /** stop learning new contexts beyond this many (memory bound); Infinity = the reference */
  maxContexts?: number;
  /** causal range: widen [minValue, maxValue] to every value seen so far (the reference is fixed) */
  runningRange?: boolean;
}

export interface CadDetector {
  /** anomaly score of the next value, in [0, 1] */
  score(value: number): number;
  /** the raw score before the rest period is applied */
  readonly raw: number;
  readonly contexts: number;
}

export function createCad(o: CadOptions): CadDetector {
  const baseThreshold = o.baseThreshold ?? 0.75;
  const maxActive = o.maxActiveNeurons ?? 15;
  const bits = o.numNormValueBits ?? 3;
  const maxBin = 2 ** bits - 1;
  let lo = o.minValue;
  let hi = o.maxValue;
  let step = 1;
  const setStep = () => {
    const range = hi - lo;
    step = (range === 0 ? maxBin : range) / maxBin;
  };
  setStep();
  const memory = new ContextMemory(o.maxLeftSemiContextsLength ?? 7, o.maxContexts ?? Number.POSITIVE_INFINITY);
  const rest = Math.trunc(o.restPeriod);
  // recent raw scores (the reference starts its history with 1.0, so the first points are quiet)
  const history = new Float64Array(Math.max(rest, 1) + 1);
  history[0] = 1;
  let histLen = 1;
  let histPos = 1;
  let leftGroup: number[] = [];
  let predicted = new Set<number>();
  let raw = 0;

  const step1 = (sens: number[]): [Set<number>, number, number] => {
    const uniq = new Set<string>();
    let newFlag = false;
    if (leftGroup.length > 0 && sens.length > 0) {
      uniq.add(leftGroup.join(',') + '|' + sens.join(','));
      newFlag = memory.learn([[leftGroup, sens]], true) as boolean;
    }
    const { active, selected, candidates } = memory.crossRight(sens, newFlag);
    for (const [l, r] of candidates) uniq.add(l.join(',') + '|' + r.join(','));
    const pctActive = selected > 0 ? active.length / selected : 0;
    active.sort((a, b) => a[1] - b[1] || cmpBig(a[2], b[2]) || cmpBig(a[3], b[3]));
    const group = new Set<number>(sens);
    for (const a of active.slice(-maxActive)) group.add(2 ** 31 + a[0]);
    leftGroup = [...group].sort((a, b) => a - b);
    let { added, predicted: next } = memory.crossLeft(leftGroup, candidates);
    if (newFlag) added++;
    const pctAdded = newFlag && uniq.size > 0 ? added / uniq.size : 0;
    return [next, pctActive, pctAdded];
  };

  return {
    get raw() {
      return raw;
    },
    get contexts() {
      return memory.contexts.length;
    },
    score(value: number): number {
      if (o.runningRange && Number.isFinite(value) && (value < lo || value > hi)) {
        if (value < lo) lo = value;
        if (value > hi) hi = value;
        setStep();
      }
      let level = Math.trunc((value - lo) / step);
      if (!(level >= 0)) level = 0;
      if (level > maxBin) level = maxBin;
      const sens: number[] = [];
      let error = 0;
      for (let b = 0; b < bits; b++) {
        const fact = 65536 + b * 2 + ((level >> b) & 1);
        sens.push(fact);
        if (!predicted.has(fact)) error += 2 ** b;
      }
      sens.sort((a, b) => a - b);
      const [next, pctActive, pctAdded] = step1(sens);
      predicted = next;
      raw = error > 0 ? (1 - pctActive + pctAdded) / 2 : 0;
      // max over the last `rest` raw scores (ring buffer; rest 0 would mean all, unused in practice)
      let m = -Infinity;
      for (let k = 0; k < histLen; k++) if ((history[k] as number) > m) m = history[k] as number;
      const cap = Math.max(rest, 1);
      history[histPos % cap] = raw;
      histPos = (histPos + 1) % cap;
      if (histLen < cap) histLen++;
      return m < baseThreshold ? raw : 0;
    },
  };
}
