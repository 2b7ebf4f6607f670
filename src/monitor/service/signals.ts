// Per-series anomaly and trend watchers that turn streams of scores into episodes: the first score
// over the threshold opens an episode and yields one notice; the episode closes only after the
// signal has stayed quiet for a cool-down, so a noisy incident is one event, not one per sample.
import { ANOMALY_THRESHOLD, createDetector, defaultDetectorOptions, type AnomalyDetector, type DetectorOptions, type Explanation, type NoveltyKind } from '../anomaly/detector.ts';
import { createTrendPredictor, humanDuration, type TrendOptions, type TrendPrediction, type TrendPredictor } from '../trend/trend.ts';
import type { Labels } from '../series/labels.ts';
import { ArrivalOrder, describeIrregularities, type Irregularity, type IrregularityCount } from '../series/arrival.ts';

export interface AnomalySignal {
  /** series key, e.g. router_error_ratio{version="2.0.0"} */
  series: string;
  name: string;
  labels: Labels;
  since: number;
  lastAt: number;
  value: number;
  score: number;
  peakScore: number;
  threshold: number;
  /** what the value was expected to be, on which basis, and by how many robust deviations it differs */
  expected: number;
  deviations: number;
  basis: Explanation['basis'];
  /** warning: worth a look; ticket: as unusual as scores get (score >= 0.9) */
  severity: 'warning' | 'ticket';
  message: string;
  /** true when the series had announced an episode too recently: visible in status, not notified */
  rateLimited?: boolean;
  /** which detector saw it: the streaming anomaly detector, or the fast step-change warning */
  detector?: 'anomaly' | 'step change';
}

const basisWords: Record<Explanation['basis'], string> = {
  level: 'its usual level',
  step: 'the previous value',
  'recent mean': 'its usual level (the recent average moved)',
  'time of day': 'the time-of-day expectation',
  shape: 'its usual level',
  'held value': 'the value it holds',
};

/**
 * One sentence a person can act on: the value, what was expected and on which basis, and by how many
 * robust deviations (mean absolute deviations) it differs, e.g. "p99 latency of web@2.0.0 is 412 ms,
 * 5.8 robust deviations above the time-of-day expectation (30-minute slots) of 120 ms".
 */
export function anomalySentence(
  d: { what: string; value: (v: number) => string },
  value: number,
  why: Explanation,
  score: number,
  threshold: number,
  opts: DetectorOptions = {},
): string {
  if (why.basis === 'held value' && why.held) return heldSentence(d, why.held, score, threshold);
  const dev = Math.abs(why.deviations);
  const direction = value >= why.expected ? 'above' : 'below';
  const buckets = opts.dailyBuckets ?? defaultDetectorOptions.dailyBuckets;
  const basis = why.basis === 'time of day' && buckets > 0 ? `the time-of-day expectation (${Math.round(1440 / buckets)}-minute slots)` : basisWords[why.basis];
  const devText = dev >= 100 ? dev.toFixed(0) : dev.toFixed(1);
  const shape = why.basis === 'shape' ? ', and its recent pattern is unlike anything in its history' : '';
  return `${d.what} is ${d.value(value)}, ${devText} robust deviations ${direction} ${basis} of ${d.value(why.expected)}${shape}${noveltyWords(why.novelty)} (anomaly score ${score.toFixed(2)}, threshold ${threshold})`;
}

/**
 * A value held exactly for longer than ever (record.ts): no deviation to report, so say what happened, how
 * long against what the series has done, and what to check, e.g. "p99 latency of web@2.0.0 has stayed at
 * exactly 120 ms for 40 samples (about 3 minutes), longer than it has ever held a value (at most 3 samples
 * before); ...".
 */
function heldSentence(d: { what: string; value: (v: number) => string }, h: NonNullable<Explanation['held']>, score: number, threshold: number): string {
  const dur = h.at > h.since ? ` (${humanDuration(h.at - h.since)})` : '';
  const before = `at most ${h.record} sample${h.record === 1 ? '' : 's'} before`;
  const ever = h.atFloor ? `longer than it has ever stayed at its lowest value (${before})` : `longer than it has ever held a value (${before})`;
  return `${d.what} has stayed at exactly ${d.value(h.value)} for ${h.samples} samples${dur}, ${ever}; a value that stops changing usually means its source stopped updating (a stuck exporter, a stalled writer): check that it still reports (anomaly score ${score.toFixed(2)}, threshold ${threshold})`;
}

// what opened the context gate, said at the point itself and some points later
const noveltyNow: Record<NoveltyKind, string> = { 'new level': 'a level it has not had before', 'new transition': 'a change between levels it has not made before', 'new shape': 'a pattern it has not shown before' };
const noveltyThen: Record<NoveltyKind, string> = { 'new level': 'a level it had not had before', 'new transition': 'a change between levels it had not made before', 'new shape': 'a pattern it had not shown before' };

/** why the detector let this deviation alarm (its context gate): what was new, and how recently */
function noveltyWords(n: Explanation['novelty']): string {
  if (!n) return '';
  if (n.pointsAgo === 0) return `; ${noveltyNow[n.kind]}`;
  return `; ${n.pointsAgo} sample${n.pointsAgo === 1 ? '' : 's'} after ${noveltyThen[n.kind]}`;
}

interface AnomalyTrack {
  name: string;
  labels: Labels;
  detector: AnomalyDetector;
  /** slow mean of past values, only to say what "usual" was in the message */
  usual: number;
  n: number;
  lastAt: number;
  lastQuietAt: number;
  episode: AnomalySignal | undefined;
  /** when this series last announced an episode (rate limit) */
  lastNoticeAt: number;
  order: ArrivalOrder;
}

/** A live series whose points did not come in order, repeated, paused or were not numbers. */
export interface StreamIrregularities {
  series: string;
  counts: Partial<Record<Irregularity, IrregularityCount>>;
  /** one sentence per kind, with the count and the first occurrence */
  warnings: string[];
}

export interface AnomalyWatcherOptions {
  detector?: DetectorOptions;
  /** an episode ends after this long without a score over the threshold */
  cooldownMs: number;
  /** detectors beyond this are not created (bounds memory against label explosions) */
  maxSeries: number;
  /** at most one announced episode per series per this long (default 30 min); later ones are counted */
  minNoticeIntervalMs?: number;
  /** per-series facts the detector cannot learn from the values, over `detector`: e.g. an error ratio's lowest
   *  value (0) is its healthy rest, so holding it longer than ever is no anomaly (`recordRun: 'above floor'`) */
  detectorFor?: (name: string, labels: Labels) => DetectorOptions | undefined;
  /** describes a value for a sentence, e.g. "3.2%" for a ratio */
  describe: (name: string, labels: Labels, value: number) => { what: string; value: (v: number) => string };
}

/** Anomaly detector per series with episode tracking. A detector holds about 13 KB (bench:nab prints it). */
export class AnomalyWatcher {
  private readonly opts: AnomalyWatcherOptions;
  private readonly tracks = new Map<string, AnomalyTrack>();
  readonly threshold: number;
  refused = 0;
  /** episodes not announced because their series announced one less than minNoticeIntervalMs ago */
  rateLimited = 0;

  constructor(opts: AnomalyWatcherOptions) {
    this.opts = opts;
    this.threshold = opts.detector?.threshold ?? ANOMALY_THRESHOLD;
  }

  get size(): number {
    return this.tracks.size;
  }

  /**
   * Feeds one point in arrival order; returns the signal when it opens a new episode. A point that
   * steps back in time or follows a gap is scored as it comes; a repeated timestamp (the same sample
   * read twice) and a value that is not a number are not scored. All of them are counted per series
   * (irregularities()), never a reason to stop watching it.
   */
  observe(key: string, name: string, labels: Labels, at: number, value: number): AnomalySignal | undefined {
    let t = this.tracks.get(key);
    if (!t) {
      if (!Number.isFinite(value)) return undefined;
      if (this.tracks.size >= this.opts.maxSeries) {
        this.refused++;
        return undefined;
      }
      t = { name, labels, detector: createDetector({ ...this.opts.detector, ...this.opts.detectorFor?.(name, labels) }), usual: value, n: 0, lastAt: at, lastQuietAt: at, episode: undefined, lastNoticeAt: Number.NEGATIVE_INFINITY, order: new ArrivalOrder() };
      this.tracks.set(key, t);
    }
    const verdict = t.order.check(at, value, at, new Date(at).toISOString());
    if (verdict === 'not a number' || verdict === 'duplicate') return undefined;
    t.lastAt = Math.max(t.lastAt, at);
    const score = t.detector.update(at, value);
    t.n++;
    const over = score >= this.threshold;
    let opened: AnomalySignal | undefined;
    if (over) {
      if (!t.episode) {
        const d = this.opts.describe(name, labels, value);
        const why = t.detector.explain();
        const severity = score >= 0.9 ? 'ticket' : 'warning';
        const episode: AnomalySignal = {
          series: key,
          name,
          labels,
          since: at,
          lastAt: at,
          value,
          score,
          peakScore: score,
          threshold: this.threshold,
          expected: why.expected,
          deviations: why.deviations,
          basis: why.basis,
          severity,
          message: anomalySentence(d, value, why, score, this.threshold, this.opts.detector),
        };
        t.episode = episode;
        const minGap = this.opts.minNoticeIntervalMs ?? 30 * 60_000;
        if (at - t.lastNoticeAt >= minGap) {
          t.lastNoticeAt = at;
          opened = episode;
        } else {
          this.rateLimited++;
          episode.rateLimited = true;
        }
      } else {
        t.episode.lastAt = at;
        t.episode.value = value;
        t.episode.score = score;
        t.episode.peakScore = Math.max(t.episode.peakScore, score);
      }
    } else {
      if (t.episode) {
        t.episode.score = score;
        if (at - t.episode.lastAt >= this.opts.cooldownMs) t.episode = undefined;
      }
      t.lastQuietAt = at;
      // the usual level learns only from unremarkable points (well under the threshold), so it still
      // says "usual" when an incident ramps up over several points before it scores as one
      if (score < this.threshold / 2) t.usual += (value - t.usual) * (t.n < 100 ? 1 / t.n : 0.01);
    }
    return opened ? { ...opened } : undefined;
  }

  active(): AnomalySignal[] {
    return [...this.tracks.values()].flatMap((t) => (t.episode ? [{ ...t.episode }] : []));
  }

  /** Open episodes that were announced (not rate limited): what the alerting pipeline is told. */
  announced(): AnomalySignal[] {
    return this.active().filter((e) => !e.rateLimited);
  }

  /** Series whose points came irregularly, with counts and the first occurrence of each kind. */
  irregularities(): StreamIrregularities[] {
    const out: StreamIrregularities[] = [];
    for (const [series, t] of this.tracks) {
      if (t.order.total === 0) continue;
      const counts = t.order.counts();
      out.push({ series, counts, warnings: describeIrregularities(counts, 'time').map((w) => `${series}: ${w}`) });
    }
    return out;
  }

  /** Drops detectors not fed since `before` (versions and instances that are gone). */
  forgetIdle(before: number): number {
    let n = 0;
    for (const [k, t] of this.tracks) {
      if (t.lastAt < before) {
        this.tracks.delete(k);
        n++;
      }
    }
    return n;
  }
}

export interface TrendWarning {
  /** what is watched, e.g. memory/web-1a2b or slo_budget/availability */
  key: string;
  subject: string;
  since: number;
  lastAt: number;
  limit: number;
  level: number;
  etaMs?: number;
  /** the forecast's 95% range */
  etaEarliestMs?: number;
  etaLatestMs?: number;
  status: TrendPrediction['status'];
  message: string;
  /** 1 for the first announcement of an episode, 2+ when it was announced again because it sped up */
  announcement: number;
}

interface TrendTrack {
  predictor: TrendPredictor;
  limit: number;
  lastAt: number;
  lastWarnAt: number;
  warning: TrendWarning | undefined;
  /** when the episode was last announced, and the limit time it forecast then */
  announcedAt: number;
  announcedLimitAt: number;
  /** since when the forecast has stayed much sooner than announced (a speed-up being confirmed) */
  soonerSince: number | undefined;
  /** changes when the thing watched is replaced (a restarted pid): the fit starts over */
  generation: string;
}

export interface TrendWatcherOptions {
  horizonMs: number;
  windowMs: number;
  /** a warning episode ends after the prediction has not warned for this long */
  cooldownMs: number;
  /** an open episode is announced again when the limit is now forecast this much sooner (default 0.3 = 30%) */
  speedUp?: number;
  /** ... and has stayed so for this long (default 60 s), so one speed-up is one announcement, with a settled forecast */
  confirmMs?: number;
}

/** Time-to-limit predictors (at most 240 points each) with one warning per episode. */
export class TrendWatcher {
  private readonly opts: TrendWatcherOptions;
  private readonly tracks = new Map<string, TrendTrack>();

  constructor(opts: TrendWatcherOptions) {
    this.opts = opts;
  }

  get size(): number {
    return this.tracks.size;
  }

  /**
   * Feeds one point; returns a warning when one starts. `message` words the prediction;
   * `generation` restarts the fit when it changes (a new process behind the same instance).
   */
  observe(
    key: string,
    at: number,
    value: number,
    spec: { limit: number; direction?: 'above' | 'below'; subject: string; generation?: string; message: (p: TrendPrediction) => string },
  ): TrendWarning | undefined {
    if (!Number.isFinite(value)) return undefined;
    const generation = spec.generation ?? '';
    let t = this.tracks.get(key);
    if (!t || t.limit !== spec.limit || t.generation !== generation) {
      const o: TrendOptions = { limit: spec.limit, horizonMs: this.opts.horizonMs, windowMs: this.opts.windowMs };
      if (spec.direction) o.direction = spec.direction;
      t = { predictor: createTrendPredictor(o), limit: spec.limit, lastAt: at, lastWarnAt: -Infinity, warning: undefined, announcedAt: -Infinity, announcedLimitAt: Infinity, soonerSince: undefined, generation };
      this.tracks.set(key, t);
    }
    t.lastAt = at;
    t.predictor.add(at, value);
    const p = t.predictor.predict();
    if (p.warn) {
      t.lastWarnAt = at;
      const limitAt = at + (p.etaMs ?? 0);
      // announced again when the limit now comes much sooner than the last announcement said (a leak
      // that sped up): the remaining time shrank by more than `speedUp` beyond the time that passed
      const remainingThen = t.announcedLimitAt - at;
      const speedUp = this.opts.speedUp ?? 0.3;
      const sooner = t.warning !== undefined && remainingThen > 0 && (p.etaMs ?? 0) < (1 - speedUp) * remainingThen;
      t.soonerSince = sooner ? (t.soonerSince ?? at) : undefined;
      const again = sooner && at - (t.soonerSince as number) >= (this.opts.confirmMs ?? 60_000);
      const opened = !t.warning || again;
      const w: TrendWarning = {
        key,
        subject: spec.subject,
        since: t.warning?.since ?? at,
        lastAt: at,
        limit: spec.limit,
        level: p.level,
        status: p.status,
        message: again ? `${spec.message(p)}; sooner than announced: it grows faster than the first forecast assumed` : spec.message(p),
        announcement: (t.warning?.announcement ?? 0) + (opened ? 1 : 0),
      };
      if (p.etaMs !== undefined) w.etaMs = p.etaMs;
      if (p.etaEarliestMs !== undefined) w.etaEarliestMs = p.etaEarliestMs;
      if (p.etaLatestMs !== undefined) w.etaLatestMs = p.etaLatestMs;
      t.warning = w;
      if (opened) {
        t.announcedAt = at;
        t.announcedLimitAt = limitAt;
        t.soonerSince = undefined;
      }
      return opened ? { ...w } : undefined;
    }
    if (t.warning && at - t.lastWarnAt >= this.opts.cooldownMs) {
      t.warning = undefined;
      t.announcedLimitAt = Infinity;
    }
    return undefined;
  }

  active(): TrendWarning[] {
    return [...this.tracks.values()].flatMap((t) => (t.warning ? [{ ...t.warning }] : []));
  }

  forget(keep: (key: string) => boolean): void {
    for (const k of this.tracks.keys()) if (!keep(k)) this.tracks.delete(k);
  }

  forgetIdle(before: number): void {
    for (const [k, t] of this.tracks) if (t.lastAt < before) this.tracks.delete(k);
  }
}
