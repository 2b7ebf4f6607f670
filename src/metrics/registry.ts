// Metric source kinds by name. Adding a kind (Datadog, CloudWatch, ...) is one entry here, not a
// branch in the analysis.
import { z } from 'zod';
import { GreenlightError } from '../errors/errors.ts';
import type { MetricSource, MetricSourceDeps } from './source.ts';
import type { MetricSourceSpec } from './schema.ts';
import { prometheusSourceSchema, PrometheusSource } from './prometheus/prometheus-source.ts';
import { routerSourceSchema, RouterSource } from './router/router-source.ts';
import { scrapeSourceSchema, ScrapeSource } from './scrape/scrape-source.ts';

interface SourceKind {
  schema: z.ZodObject<{ kind: z.ZodLiteral<string> } & z.ZodRawShape>;
  create(spec: any, metric: string, deps: MetricSourceDeps): MetricSource;
}

const kinds = new Map<string, SourceKind>([
  ['router', { schema: routerSourceSchema, create: (s, m, d) => new RouterSource(s, m, d) }],
  ['prometheus', { schema: prometheusSourceSchema, create: (s, _m, d) => new PrometheusSource(s, d) }],
  ['scrape', { schema: scrapeSourceSchema, create: (s, _m, d) => new ScrapeSource(s, d) }],
]);

export { metricSourceSchema, type MetricSourceSpec } from './schema.ts';

export function createMetricSource(spec: MetricSourceSpec, metric: string, deps: MetricSourceDeps): MetricSource {
  const k = kinds.get(spec.kind);
  if (!k) {
    throw new GreenlightError('CONFIG_INVALID', `unknown metric source kind ${JSON.stringify(spec.kind)}`, { hint: `use one of: ${[...kinds.keys()].join(', ')}` });
  }
  return k.create(spec, metric, deps);
}
