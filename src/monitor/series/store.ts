// In-memory time-series store with bounded retention. Each series keeps recent raw points in a ring
// (bounded by age and count) and, for long windows such as 3-day burn-rate and 30-day SLO periods,
// time-bucketed rollups (count/sum/min/max/last/increase per bucket). A query picks the finest
// level that still covers its whole window, so short windows are exact and long ones cost a few
// thousand buckets instead of millions of points. Memory bounds are in docs/monitoring.md.
import { systemClock, type Clock } from '../../clock/clock.ts';
import { ColumnRing } from './ring.ts';
import { matchesLabels, seriesKey, withoutLabels, type Labels } from './labels.ts';

export type MetricKind = 'counter' | 'gauge' | 'untyped';

export interface RollupTier {
  resolutionMs: number;
  retentionMs: number;
}

export interface RetentionOptions {
  /** raw points older than this (relative to the series' newest point) are dropped */
  rawRetentionMs: number;
  /** hard cap on raw points per series, whatever the sample rate */
  maxRawPoints: number;
  /** coarser levels, finest first */
  tiers: RollupTier[];
  /** new series beyond this are refused (counted in stats().refusedSamples) to bound cardinality */
  maxSeries: number;
  /** latest() ignores points older than this, like Prometheus' 5-minute lookback */
  stalenessMs: number;
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export const defaultRetention: RetentionOptions = {
  rawRetentionMs: 2 * HOUR,
  maxRawPoints: 8192,
  tiers: [
    { resolutionMs: MIN, retentionMs: 3 * DAY + HOUR },
    { resolutionMs: HOUR, retentionMs: 30 * DAY + DAY },
  ],
  maxSeries: 10_000,
  stalenessMs: 5 * MIN,
};

/** One element of an instant vector: a series' labels and a value computed for it. */
export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

export interface Point {
  t: number;
  v: number;
}

export interface WindowQuery {
  windowMs: number;
  /** end of the window; defaults to the store's clock */
  at?: number;
}

// raw ring columns
const RT = 0;
const RV = 1;
// rollup ring columns
const BSTART = 0;
const BCOUNT = 1;
const BSUM = 2;
const BMIN = 3;
const BMAX = 4;
const BLAST = 5;
const BINC = 6;

interface Tier {
  resolutionMs: number;
  retentionMs: number;
  ring: ColumnRing;
  evicted: boolean;
}

interface Aggregate {
  count: number;
  sum: number;
  min: number;
  max: number;
}

class Series {
  readonly name: string;
  readonly labels: Labels;
  kind: MetricKind;
  readonly raw: ColumnRing;
  rawEvicted = false;
  readonly tiers: Tier[];
  lastT = -Infinity;
  /** time of the first sample ever added (kept after the sample itself is evicted) */
  firstT = Number.NaN;
  /** last finite value, the baseline for the next increase */
  lastV = Number.NaN;

  constructor(name: string, labels: Labels, kind: MetricKind, opts: RetentionOptions) {
    this.name = name;
    this.labels = labels;
    this.kind = kind;
    this.raw = new ColumnRing(2, opts.maxRawPoints);
    this.tiers = opts.tiers.map((t) => ({
      resolutionMs: t.resolutionMs,
      retentionMs: t.retentionMs,
      ring: new ColumnRing(7, Math.ceil(t.retentionMs / t.resolutionMs) + 1),
      evicted: false,
    }));
  }

  add(t: number, v: number, rawRetentionMs: number): boolean {
    if (t <= this.lastT) return false;
    if (Number.isNaN(this.firstT)) this.firstT = t;
    this.lastT = t;
    let delta = 0;
    if (Number.isFinite(v)) {
      // a counter that went down was reset (process restart): it counted v since then
      if (Number.isFinite(this.lastV)) delta = v >= this.lastV ? v - this.lastV : v;
      this.lastV = v;
    }
    if (this.raw.push([t, v])) this.rawEvicted = true;
    let old = 0;
    while (old < this.raw.length && this.raw.get(old, RT) < t - rawRetentionMs) old++;
    if (old > 0) {
      this.raw.dropOldest(old);
      this.rawEvicted = true;
    }
    for (const tier of this.tiers) this.addToTier(tier, t, v, delta);
    return true;
  }

  private addToTier(tier: Tier, t: number, v: number, delta: number): void {
    const ring = tier.ring;
    const start = Math.floor(t / tier.resolutionMs) * tier.resolutionMs;
    const finite = Number.isFinite(v);
    const n = ring.length;
    if (n > 0 && ring.get(n - 1, BSTART) === start) {
      const i = n - 1;
      if (finite) {
        ring.set(i, BCOUNT, ring.get(i, BCOUNT) + 1);
        ring.set(i, BSUM, ring.get(i, BSUM) + v);
        ring.set(i, BMIN, Math.min(ring.get(i, BMIN), v));
        ring.set(i, BMAX, Math.max(ring.get(i, BMAX), v));
      }
      ring.set(i, BLAST, v);
      ring.set(i, BINC, ring.get(i, BINC) + delta);
    } else {
      const evicted = ring.push(
        finite ? [start, 1, v, v, v, v, delta] : [start, 0, 0, Infinity, -Infinity, v, delta],
      );
      if (evicted) tier.evicted = true;
    }
    let old = 0;
    while (old < ring.length && ring.get(old, BSTART) < t - tier.retentionMs) old++;
    if (old > 0) {
      ring.dropOldest(old);
      tier.evicted = true;
    }
  }

  /** The level that holds the whole window (start, end]: raw if it does, else the finest tier. */
  private source(start: number): 'raw' | Tier | undefined {
    if (!this.rawEvicted || (this.raw.length > 0 && this.raw.get(0, RT) <= start)) return 'raw';
    for (const tier of this.tiers) {
      if (!tier.evicted || (tier.ring.length > 0 && tier.ring.get(0, BSTART) <= start)) return tier;
    }
    // nothing reaches back that far: answer from the longest level we have
    return this.tiers[this.tiers.length - 1] ?? 'raw';
  }

  latest(at: number, stalenessMs: number): Point | undefined {
    const i = this.raw.lowerBound(RT, at + 1) - 1;
    if (i < 0) return undefined;
    const t = this.raw.get(i, RT);
    if (at - t > stalenessMs) return undefined;
    return { t, v: this.raw.get(i, RV) };
  }

  /** Counter increase in (start, end], adjusted for resets; undefined without two points to compare. */
  increase(start: number, end: number): number | undefined {
    const src = this.source(start);
    if (src === 'raw') {
      const r = this.raw;
      let i = r.lowerBound(RT, start + 1);
      let prev = Number.NaN;
      // the last point at or before the window start is the baseline, so the increase is exact
      // rather than extrapolated as PromQL does
      if (i > 0) prev = r.get(i - 1, RV);
      let inc = 0;
      let pairs = 0;
      for (; i < r.length && r.get(i, RT) <= end; i++) {
        const v = r.get(i, RV);
        if (!Number.isFinite(v)) continue;
        if (Number.isFinite(prev)) {
          inc += v >= prev ? v - prev : v;
          pairs++;
        }
        prev = v;
      }
      return pairs > 0 ? inc : undefined;
    }
    if (!src) return undefined;
    const { from, to } = bucketRange(src, start, end);
    if (to <= from) return undefined;
    let inc = 0;
    for (let i = from; i < to; i++) inc += src.ring.get(i, BINC);
    return inc;
  }

  aggregate(start: number, end: number): Aggregate | undefined {
    const src = this.source(start);
    const agg: Aggregate = { count: 0, sum: 0, min: Infinity, max: -Infinity };
    if (src === 'raw') {
      const r = this.raw;
      for (let i = r.lowerBound(RT, start + 1); i < r.length && r.get(i, RT) <= end; i++) {
        const v = r.get(i, RV);
        if (!Number.isFinite(v)) continue;
        agg.count++;
        agg.sum += v;
        agg.min = Math.min(agg.min, v);
        agg.max = Math.max(agg.max, v);
      }
    } else if (src) {
      const { from, to } = bucketRange(src, start, end);
      for (let i = from; i < to; i++) {
        agg.count += src.ring.get(i, BCOUNT);
        agg.sum += src.ring.get(i, BSUM);
        agg.min = Math.min(agg.min, src.ring.get(i, BMIN));
        agg.max = Math.max(agg.max, src.ring.get(i, BMAX));
      }
    }
    return agg.count > 0 ? agg : undefined;
  }

  points(start: number, end: number): Point[] {
    const out: Point[] = [];
    const r = this.raw;
    for (let i = r.lowerBound(RT, start + 1); i < r.length && r.get(i, RT) <= end; i++) {
      out.push({ t: r.get(i, RT), v: r.get(i, RV) });
    }
    return out;
  }

  bytes(): number {
    return this.raw.bytes() + this.tiers.reduce((s, t) => s + t.ring.bytes(), 0);
  }

  pointCount(): number {
    return this.raw.length;
  }

  bucketCount(): number {
    return this.tiers.reduce((s, t) => s + t.ring.length, 0);
  }
}

/** Buckets that start inside (start, end]: the window rounded down to whole buckets at its old edge. */
function bucketRange(tier: Tier, start: number, end: number): { from: number; to: number } {
  return { from: tier.ring.lowerBound(BSTART, start), to: tier.ring.lowerBound(BSTART, end + 1) };
}

export interface StoreStats {
  series: number;
  rawPoints: number;
  rollupBuckets: number;
  bytes: number;
  maxBytesPerSeries: number;
  refusedSamples: number;
  outOfOrderSamples: number;
}

export class SeriesStore {
  private readonly opts: RetentionOptions;
  private readonly clock: Clock;
  private readonly byKey = new Map<string, Series>();
  private readonly byName = new Map<string, Set<Series>>();
  private refused = 0;
  private outOfOrder = 0;

  constructor(options: { clock?: Clock; retention?: Partial<RetentionOptions> } = {}) {
    this.clock = options.clock ?? systemClock;
    this.opts = { ...defaultRetention, ...options.retention };
  }

  get retention(): Readonly<RetentionOptions> {
    return this.opts;
  }

  /** Appends a point; out-of-order or duplicate timestamps are ignored (and counted), as Prometheus does. */
  add(name: string, labels: Labels, value: number, t: number = this.clock.now(), kind: MetricKind = 'untyped'): boolean {
    const key = seriesKey(name, labels);
    let s = this.byKey.get(key);
    if (!s) {
      if (this.byKey.size >= this.opts.maxSeries) {
        this.refused++;
        return false;
      }
      s = new Series(name, { ...labels }, kind, this.opts);
      this.byKey.set(key, s);
      let set = this.byName.get(name);
      if (!set) this.byName.set(name, (set = new Set()));
      set.add(s);
    } else if (kind !== 'untyped') {
      s.kind = kind;
    }
    const ok = s.add(t, value, this.opts.rawRetentionMs);
    if (!ok) this.outOfOrder++;
    return ok;
  }

  /** Series of that name whose labels include `match`. */
  select(name: string, match?: Labels): { name: string; labels: Labels; kind: MetricKind }[] {
    return this.matching(name, match).map((s) => ({ name: s.name, labels: s.labels, kind: s.kind }));
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  latest(name: string, match?: Labels, at: number = this.clock.now()): Sample[] {
    return this.map(name, match, (s) => s.latest(at, this.opts.stalenessMs)?.v);
  }

  /** Raw points in (at - windowMs, at], oldest first (raw level only). */
  range(name: string, labels: Labels, q: WindowQuery): Point[] {
    const s = this.byKey.get(seriesKey(name, labels));
    const end = q.at ?? this.clock.now();
    return s ? s.points(end - q.windowMs, end) : [];
  }

  increase(name: string, match: Labels | undefined, q: WindowQuery): Sample[] {
    const end = q.at ?? this.clock.now();
    return this.map(name, match, (s) => s.increase(end - q.windowMs, end));
  }

  /** Per-second rate over the window (increase / window). */
  rate(name: string, match: Labels | undefined, q: WindowQuery): Sample[] {
    return this.increase(name, match, q).map((x) => ({ ...x, value: x.value / (q.windowMs / 1000) }));
  }

  avgOverTime(name: string, match: Labels | undefined, q: WindowQuery): Sample[] {
    return this.overTime(name, match, q, (a) => a.sum / a.count);
  }

  maxOverTime(name: string, match: Labels | undefined, q: WindowQuery): Sample[] {
    return this.overTime(name, match, q, (a) => a.max);
  }

  minOverTime(name: string, match: Labels | undefined, q: WindowQuery): Sample[] {
    return this.overTime(name, match, q, (a) => a.min);
  }

  /**
   * Quantile (0..1) from Prometheus-style histogram series `<name>_bucket{le=...}`, one result per
   * label set without `le`. With a window it uses each bucket's increase over the window (what
   * histogram_quantile(q, rate(x_bucket[w])) does); without one, the latest cumulative counts.
   */
  histogramQuantile(q: number, name: string, match: Labels | undefined, opts: { windowMs?: number; at?: number } = {}): Sample[] {
    const at = opts.at ?? this.clock.now();
    const counts = opts.windowMs
      ? this.increase(`${name}_bucket`, match, { windowMs: opts.windowMs, at })
      : this.latest(`${name}_bucket`, match, at);
    const groups = new Map<string, { labels: Labels; buckets: { le: number; count: number }[] }>();
    for (const c of counts) {
      const leText = c.labels.le;
      if (leText === undefined) continue;
      const labels = withoutLabels(c.labels, ['le']);
      const key = seriesKey(name, labels);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { labels, buckets: [] }));
      g.buckets.push({ le: parseLe(leText), count: c.value });
    }
    return [...groups.values()].map((g) => ({ name, labels: g.labels, value: bucketQuantile(q, g.buckets) }));
  }

  /** Drops series with no point newer than the longest retention; returns how many went. */
  prune(at: number = this.clock.now()): number {
    const horizon = Math.max(this.opts.rawRetentionMs, ...this.opts.tiers.map((t) => t.retentionMs));
    let n = 0;
    for (const [key, s] of this.byKey) {
      if (s.lastT < at - horizon) {
        this.byKey.delete(key);
        this.byName.get(s.name)?.delete(s);
        if (this.byName.get(s.name)?.size === 0) this.byName.delete(s.name);
        n++;
      }
    }
    return n;
  }

  stats(): StoreStats {
    let rawPoints = 0;
    let rollupBuckets = 0;
    let bytes = 0;
    for (const s of this.byKey.values()) {
      rawPoints += s.pointCount();
      rollupBuckets += s.bucketCount();
      bytes += s.bytes();
    }
    return {
      series: this.byKey.size,
      rawPoints,
      rollupBuckets,
      bytes,
      maxBytesPerSeries: maxBytesPerSeries(this.opts),
      refusedSamples: this.refused,
      outOfOrderSamples: this.outOfOrder,
    };
  }

  /** Earliest first sample among the matching series: how far back this metric's history goes. */
  firstSeen(name: string, match?: Labels): number | undefined {
    let first = Number.POSITIVE_INFINITY;
    for (const s of this.matching(name, match)) if (s.firstT < first) first = s.firstT;
    return Number.isFinite(first) ? first : undefined;
  }

  private matching(name: string, match?: Labels): Series[] {
    const set = this.byName.get(name);
    if (!set) return [];
    return [...set].filter((s) => matchesLabels(s.labels, match));
  }

  private map(name: string, match: Labels | undefined, fn: (s: Series) => number | undefined): Sample[] {
    const out: Sample[] = [];
    for (const s of this.matching(name, match)) {
      const value = fn(s);
      if (value !== undefined) out.push({ name: s.name, labels: s.labels, value });
    }
    return out;
  }

  private overTime(name: string, match: Labels | undefined, q: WindowQuery, pick: (a: Aggregate) => number): Sample[] {
    const end = q.at ?? this.clock.now();
    return this.map(name, match, (s) => {
      const a = s.aggregate(end - q.windowMs, end);
      return a ? pick(a) : undefined;
    });
  }
}

/** Upper bound on one series' memory: raw ring (2 columns) plus every tier (7 columns), 8 bytes each. */
export function maxBytesPerSeries(opts: RetentionOptions): number {
  const raw = 2 * opts.maxRawPoints * 8;
  const tiers = opts.tiers.reduce((s, t) => s + 7 * (Math.ceil(t.retentionMs / t.resolutionMs) + 1) * 8, 0);
  return raw + tiers;
}

export function parseLe(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

export function sumValues(samples: readonly Sample[]): number {
  return samples.reduce((s, x) => s + x.value, 0);
}

/** Prometheus' bucketQuantile: linear interpolation inside the bucket that holds the rank. */
export function bucketQuantile(q: number, input: readonly { le: number; count: number }[]): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const buckets = [...input].sort((a, b) => a.le - b.le);
  const last = buckets[buckets.length - 1];
  if (!last || last.le !== Infinity || buckets.length < 2) return Number.NaN;
  // counts can dip between scrapes of different buckets; Prometheus forces them monotonic
  for (let i = 1; i < buckets.length; i++) {
    if (buckets[i]!.count < buckets[i - 1]!.count) buckets[i] = { ...buckets[i]!, count: buckets[i - 1]!.count };
  }
  const observations = last.count;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  const b = buckets.findIndex((x) => x.count >= rank);
  if (b === buckets.length - 1) return buckets[buckets.length - 2]!.le;
  if (b === 0 && buckets[0]!.le <= 0) return buckets[0]!.le;
  let bucketStart = 0;
  const bucketEnd = buckets[b]!.le;
  let count = buckets[b]!.count;
  if (b > 0) {
    bucketStart = buckets[b - 1]!.le;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}
