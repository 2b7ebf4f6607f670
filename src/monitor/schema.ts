// The monitor part of greenlight.yaml, for config/ to compose: per environment `monitors:`
// (probes, scraping, process metrics, rules, retention) and per service `slos:`. Keys are
// snake_case as everywhere in the YAML; durations use config/duration ("30s", "5m", "3d") and come
// out in milliseconds. The to*() helpers turn parsed config into what the runtime classes take.
import { z } from 'zod';
import { duration } from '../config/duration.ts';
import type { HttpProbeSpec } from './probe/http.ts';
import type { QueryFn, RuleSpec } from './rules/query.ts';
import { defaultRetention, type RetentionOptions } from './series/store.ts';
import { sloSchema } from './slo/slo.ts';
import { metricSourceSchema } from '../metrics/schema.ts';

export { sloSchema } from './slo/slo.ts';
export { burnRateAlertSchema, defaultBurnRateAlerts } from './slo/burn-rate.ts';

const NAME = /^[a-z][a-z0-9_-]*$/;
const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const labels = z.record(z.string().regex(LABEL, { message: 'label names are [a-zA-Z_][a-zA-Z0-9_]*' }), z.string());
const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });
const metric = z.string().regex(METRIC, { message: 'metric names are [a-zA-Z_:][a-zA-Z0-9_:]*' });

export const probeSchema = z
  .strictObject({
    name: z.string().regex(NAME, { message: 'use lowercase letters, digits, "-" and "_"' }),
    url: httpUrl,
    method: z.enum(['GET', 'HEAD']).default('GET'),
    interval: duration.default(15_000),
    timeout: duration.default(5_000),
    /** default: any 2xx */
    expect_status: z.array(z.int().min(100).max(599)).min(1).optional(),
    /** text the body must contain */
    expect_body: z.string().optional(),
    labels: labels.optional(),
    /** also probe every live instance of the service at this URL's path (the monitor service's per-instance probes) */
    per_instance: z.boolean().optional(),
  })
  .refine((p) => p.timeout <= p.interval, { message: 'timeout must not exceed interval', path: ['timeout'] });

export const scrapeSchema = z
  .strictObject({
    interval: duration.default(15_000),
    timeout: duration.default(10_000),
    /** path scraped on every instance of the environment's services; omit to not scrape them */
    metrics_path: z.string().startsWith('/', { message: 'must start with "/"' }).optional(),
    targets: z.array(z.strictObject({ url: httpUrl, labels: labels.optional() })).default([]),
  })
  .refine((s) => s.timeout <= s.interval, { message: 'timeout must not exceed interval', path: ['timeout'] });

const queryFns = ['latest', 'rate', 'increase', 'avg_over_time', 'max_over_time', 'min_over_time', 'histogram_quantile'] as const satisfies readonly QueryFn[];

export const querySchema = z
  .strictObject({
    fn: z.enum(queryFns),
    metric,
    /** label matchers: "500", "!=500", "=~5..", "!~2.." */
    match: z.record(z.string(), z.string()).optional(),
    window: duration.optional(),
    quantile: z.number().min(0).max(1).optional(),
    sum_by: z.array(z.string().regex(LABEL)).optional(),
  })
  .refine((q) => q.fn === 'latest' || q.fn === 'histogram_quantile' || q.window !== undefined, {
    message: 'this fn needs a window, e.g. window: 5m',
    path: ['window'],
  })
  .refine((q) => (q.fn === 'histogram_quantile') === (q.quantile !== undefined), {
    message: 'quantile is required by histogram_quantile and only allowed there',
    path: ['quantile'],
  });

export const ruleSchema = z.strictObject({
  /** the alert name, as in Prometheus ("HighErrorRate") */
  alert: z.string().regex(/^[A-Za-z_][A-Za-z0-9_:-]*$/, { message: 'alert names are letters, digits, "_", ":" and "-"' }),
  /** a query on the monitor's own store; or, instead, `source` */
  expr: querySchema.optional(),
  /** divides expr by this query, element by element on identical labels (for ratios) */
  divide_by: querySchema.optional(),
  /**
   * instead of expr: a metric source of the canary analysis (`prometheus` or `scrape`), read every
   * evaluation for each version running; the rule tests its latest reading, one alert per version
   */
  source: metricSourceSchema.optional(),
  op: z.enum(['>', '>=', '<', '<=', '==', '!=']),
  threshold: z.number(),
  for: duration.default(0),
  keep_firing_for: duration.default(0),
  labels: labels.optional(),
  /** may use {{ $value }} and {{ $labels.<name> }} */
  annotations: z.record(z.string(), z.string()).optional(),
}).superRefine((r, ctx) => {
  if ((r.expr === undefined) === (r.source === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['expr'], message: 'a rule needs exactly one of expr (the monitor\'s store) and source (a metric source: prometheus or scrape)' });
  }
  if (r.divide_by !== undefined && r.expr === undefined) {
    ctx.addIssue({ code: 'custom', path: ['divide_by'], message: 'divide_by divides expr; with source, let the query compute the ratio' });
  }
  if (r.source?.kind === 'router') {
    ctx.addIssue({ code: 'custom', path: ['source', 'kind'], message: 'the router\'s counts are already in the monitor\'s store: use expr (e.g. fn: latest, metric: router_error_ratio); source takes prometheus or scrape' });
  }
});

export const retentionSchema = z.strictObject({
  raw: duration.default(defaultRetention.rawRetentionMs),
  max_raw_points: z.int().min(16).max(1_000_000).default(defaultRetention.maxRawPoints),
  rollups: z
    .array(z.strictObject({ resolution: duration, retention: duration }))
    .min(1)
    .default(() => defaultRetention.tiers.map((t) => ({ resolution: t.resolutionMs, retention: t.retentionMs }))),
  max_series: z.int().min(1).default(defaultRetention.maxSeries),
});

const BYTE_UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };

/** Parses "512MiB", "1.5GiB", "800MB" or a plain byte count into bytes; undefined when it is not a size. */
export function parseByteSize(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text > 0 ? text : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$/.exec(text);
  if (!m) return undefined;
  const unit = BYTE_UNITS[m[2] ?? 'B'];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

/** "512MiB" style sizes (or a byte count), producing bytes. */
export const byteSize = z
  .union([z.string(), z.number()])
  .refine((v) => parseByteSize(v) !== undefined, { message: 'expected a size like "512MiB", "2GiB" or "800MB"' })
  .transform((v) => parseByteSize(v)!);

const unique = <T>(items: T[], key: (t: T) => string) => new Set(items.map(key)).size === items.length;

export const monitorsSchema = z.strictObject({
  probes: z.array(probeSchema).default([]).refine((ps) => unique(ps, (p) => p.name), { message: 'probe names must be unique' }),
  scrape: scrapeSchema.optional(),
  process_metrics: z
    .strictObject({
      interval: duration.default(15_000),
      /** resident memory limit for trend warnings: one size for every service, or per service name */
      memory_limit: z.union([byteSize, z.record(z.string(), byteSize)]).optional(),
    })
    .optional(),
  /** how often the monitor service reads the router's stats (default 5s) */
  router_interval: duration.optional(),
  /** how often a monitor.summary event is written (default 10m) */
  summary_interval: duration.optional(),
  /** time-to-limit warnings: warn when a limit is predicted within horizon (default 1h), fitting over window (default 1h) */
  trend: z.strictObject({ horizon: duration.optional(), window: duration.optional() }).optional(),
  /** how often rules and SLO burn-rate alerts are evaluated */
  evaluation_interval: duration.default(15_000),
  rules: z.array(ruleSchema).default([]).refine((rs) => unique(rs, (r) => r.alert), { message: 'rule alert names must be unique' }),
  retention: retentionSchema.optional(),
});

export const slosSchema = z.array(sloSchema).refine((ss) => unique(ss, (s) => s.name), { message: 'SLO names must be unique' });

export type MonitorsConfig = z.output<typeof monitorsSchema>;
export type ProbeConfig = z.output<typeof probeSchema>;
export type RuleConfig = z.output<typeof ruleSchema>;
export type SloConfig = z.output<typeof sloSchema>;

export function toProbeSpec(p: ProbeConfig): HttpProbeSpec {
  const spec: HttpProbeSpec = { name: p.name, url: p.url, method: p.method, intervalMs: p.interval, timeoutMs: p.timeout };
  if (p.expect_status) spec.expectStatus = p.expect_status;
  if (p.expect_body !== undefined) spec.expectBody = p.expect_body;
  if (p.labels) spec.labels = p.labels;
  return spec;
}

/** A store rule's spec; undefined for a rule that reads a metric source (the service reads those). */
export function toRuleSpec(r: RuleConfig): RuleSpec | undefined {
  if (r.expr === undefined) return undefined;
  const { source: _source, ...rest } = r;
  return { ...rest, expr: r.expr };
}

export function toRetention(r: z.output<typeof retentionSchema> | undefined): RetentionOptions {
  if (!r) return defaultRetention;
  return {
    ...defaultRetention,
    rawRetentionMs: r.raw,
    maxRawPoints: r.max_raw_points,
    tiers: r.rollups.map((t) => ({ resolutionMs: t.resolution, retentionMs: t.retention })).sort((a, b) => a.resolutionMs - b.resolutionMs),
    maxSeries: r.max_series,
  };
}
