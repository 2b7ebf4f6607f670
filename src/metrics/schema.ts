// `analysis.metrics[].source`: which source a metric is read from, discriminated by `kind`.
import { z } from 'zod';
import { prometheusSourceSchema } from './prometheus/prometheus-source.ts';
import { routerSourceSchema } from './router/router-source.ts';
import { scrapeSourceSchema } from './scrape/scrape-source.ts';

export const metricSourceSchema = z.discriminatedUnion('kind', [routerSourceSchema, prometheusSourceSchema, scrapeSourceSchema]);
export type MetricSourceSpec = z.output<typeof metricSourceSchema>;
