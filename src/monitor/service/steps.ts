// Per-version step-change warnings (src/monitor/step) turned into episodes like the anomaly watcher's:
// the first confirmed step opens an episode and yields one notice, the episode ends after a quiet
// cool-down, and a series announces at most one episode per `minNoticeIntervalMs`.
import { StepDetector, type StepKind, type StepOptions } from '../step/step.ts';
import type { Labels } from '../series/labels.ts';
import type { AnomalySignal } from './signals.ts';

interface Track {
  detector: StepDetector;
  episode: AnomalySignal | undefined;
  lastStepAt: number;
  lastNoticeAt: number;
  lastAt: number;
}

export interface StepWatcherOptions {
  cooldownMs: number;
  maxSeries: number;
  minNoticeIntervalMs?: number;
  step?: StepOptions;
  describe: (name: string, labels: Labels, value: number) => { what: string; value: (v: number) => string };
}

const fmtRatio = (r: number) => (r >= 10 ? r.toFixed(0) : r.toFixed(1));
const fmtAge = (ms: number) => (ms < 90_000 ? `${Math.round(ms / 1000)} s` : ms < 5_400_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`);

export class StepWatcher {
  private readonly o: StepWatcherOptions;
  private readonly tracks = new Map<string, Track>();
  refused = 0;
  rateLimited = 0;

  constructor(o: StepWatcherOptions) {
    this.o = o;
  }

  get size(): number {
    return this.tracks.size;
  }

  /** Feeds one point; returns the signal when it opens (and announces) an episode. */
  observe(key: string, kind: StepKind, name: string, labels: Labels, at: number, value: number, requests = 1): AnomalySignal | undefined {
    let t = this.tracks.get(key);
    if (!t) {
      if (this.tracks.size >= this.o.maxSeries) {
        this.refused++;
        return undefined;
      }
      t = { detector: new StepDetector(kind, this.o.step), episode: undefined, lastStepAt: -Infinity, lastNoticeAt: -Infinity, lastAt: at };
      this.tracks.set(key, t);
    }
    t.lastAt = at;
    const step = t.detector.observe(at, value, requests);
    if (!step) {
      if (t.episode && at - t.lastStepAt >= this.o.cooldownMs) t.episode = undefined;
      return undefined;
    }
    t.lastStepAt = at;
    if (t.episode) {
      t.episode.lastAt = at;
      t.episode.value = step.value;
      return undefined;
    }
    const d = this.o.describe(name, labels, step.value);
    const up = step.ratio >= 1;
    const episode: AnomalySignal = {
      series: key,
      name,
      labels,
      since: step.since,
      lastAt: at,
      value: step.value,
      score: 1,
      peakScore: 1,
      threshold: 1,
      expected: step.baseline,
      deviations: step.ratio,
      basis: 'level',
      severity: 'warning',
      detector: 'step change',
      message: `early warning: ${d.what} stepped ${up ? 'up' : 'down'} to ${d.value(step.value)}, ${fmtRatio(step.ratio)}x its baseline of ${d.value(step.baseline)} (learnt over ${fmtAge(step.baselineMs)}), for ${fmtAge(at - step.since)}`,
    };
    t.episode = episode;
    if (at - t.lastNoticeAt < (this.o.minNoticeIntervalMs ?? 30 * 60_000)) {
      this.rateLimited++;
      episode.rateLimited = true;
      return undefined;
    }
    t.lastNoticeAt = at;
    return { ...episode };
  }

  active(): AnomalySignal[] {
    return [...this.tracks.values()].flatMap((t) => (t.episode ? [{ ...t.episode }] : []));
  }

  announced(): AnomalySignal[] {
    return this.active().filter((e) => !e.rateLimited);
  }

  forgetIdle(before: number): void {
    for (const [k, t] of this.tracks) if (t.lastAt < before) this.tracks.delete(k);
  }
}
