// What the analysis reads: cumulative per-version counts since the canary started, as the router keeps them.

export interface LatencyHistogram {
  /** increasing upper bounds in ms; a trailing Infinity is allowed */
  boundsMs: number[];
  /** counts[i] = requests with latency in (boundsMs[i-1], boundsMs[i]]; one extra count for the +Inf bucket is allowed */
  counts: number[];
}

export interface VersionSample {
  /** completed requests */
  requests: number;
  /** 5xx + connection failures */
  errors: number;
  latency: LatencyHistogram;
  /** extra metrics by name: every reading so far (e.g. a gauge scraped from each instance) */
  metrics?: Record<string, readonly number[]>;
  /** extra metrics whose source could not answer, with why: judged `error`, never `fail` */
  metricErrors?: Record<string, string>;
}

function isCount(value: number): boolean {
  return Number.isInteger(value) && value >= 0;
}

/** A description of what is wrong with the counts, or undefined when they are usable. */
export function errorCountsProblem(who: string, requests: number, errors: number): string | undefined {
  if (!isCount(requests)) return `${who} request count ${requests} is not a non-negative integer`;
  if (!isCount(errors)) return `${who} error count ${errors} is not a non-negative integer`;
  if (errors > requests) return `${who} reports more errors (${errors}) than requests (${requests})`;
  return undefined;
}

/** Histogram as finite bounds plus the count beyond the last finite bound. */
export interface NormalisedHistogram {
  bounds: number[];
  counts: number[];
  overflow: number;
  total: number;
}

export function normaliseHistogram(who: string, histogram: LatencyHistogram): NormalisedHistogram | string {
  const { boundsMs, counts } = histogram;
  if (!Array.isArray(boundsMs) || !Array.isArray(counts)) return `${who} latency histogram is missing`;
  const finiteBounds = boundsMs.filter((bound) => bound !== Number.POSITIVE_INFINITY);
  const infiniteBound = finiteBounds.length < boundsMs.length;
  if (infiniteBound && boundsMs[boundsMs.length - 1] !== Number.POSITIVE_INFINITY) {
    return `${who} latency histogram has +Inf before its last bound`;
  }
  for (let i = 0; i < finiteBounds.length; i++) {
    const bound = finiteBounds[i] as number;
    if (!Number.isFinite(bound) || bound < 0) return `${who} latency bound ${bound} is not a finite non-negative number`;
    if (i > 0 && bound <= (finiteBounds[i - 1] as number)) return `${who} latency bounds are not increasing`;
  }
  if (counts.length !== boundsMs.length && counts.length !== boundsMs.length + 1) {
    return `${who} latency histogram has ${counts.length} counts for ${boundsMs.length} bounds`;
  }
  if (infiniteBound && counts.length !== boundsMs.length) {
    return `${who} latency histogram has a bucket beyond +Inf`;
  }
  if (!counts.every(isCount)) return `${who} latency counts are not non-negative integers`;
  const finiteCounts = counts.slice(0, finiteBounds.length);
  const overflow = counts.slice(finiteBounds.length).reduce((sum, c) => sum + c, 0);
  const total = counts.reduce((sum, c) => sum + c, 0);
  return { bounds: finiteBounds, counts: finiteCounts, overflow, total };
}
