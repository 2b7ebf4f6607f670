// Metric sources: where the canary analysis (and, in time, the monitor's rules and SLOs) reads a
// measure of each version, picked by `kind` like Argo Rollouts' metric providers. A source answers
// with every reading of the window so far, per version; one that cannot answer throws a retryable
// GreenlightError, which the analysis turns into `error` ("could not measure"), never `fail`.
import type { Clock } from '../clock/clock.ts';
import type { RouterStats } from '../router/stats.ts';

/** One group the analysis compares: the canary or the control, and where its instances listen. */
export interface VersionTarget {
  /** the key of the readings: the router's version name (the control may be "<stable>+baseline") */
  label: string;
  /** the release version, filled into queries */
  version: string;
  /** e.g. "http://127.0.0.1:41234" */
  instanceUrls: string[];
}

export interface MetricWindow {
  environment: string;
  service: string;
  versions: VersionTarget[];
  /** the window: since the canary started, until now (ms since the epoch) */
  since: number;
  now: number;
}

export interface MetricSource {
  readonly kind: string;
  /** what it measures, for messages ("p99_ms", a PromQL query, a metric name) */
  readonly describe: string;
  /**
   * Every reading of the window so far for each version label (never fewer than the previous
   * call returned for the same window). Throws a retryable GreenlightError when it cannot answer.
   */
  read(window: MetricWindow): Promise<Record<string, number[]>>;
}

export interface MetricSourceDeps {
  clock: Clock;
  /** the environment's router counts (the `router` kind) */
  routerStats: () => Promise<RouterStats>;
}
