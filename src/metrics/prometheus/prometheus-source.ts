// A PromQL query as a metric source, read through the Prometheus HTTP API: `{{version}}`,
// `{{environment}}`, `{{service}}` and `{{instances}}` in the query are filled in per group, the first read checks
// the query with /api/v1/query (so a typo is reported with Prometheus' own message), and every read
// takes the window since the canary started from /api/v1/query_range at `step`. The query must give
// one series per version (wrap it in sum(...) when instances are separate series).
import { z } from 'zod';
import { durationOrMs } from '../../config/duration.ts';
import { GreenlightError, describe } from '../../errors/errors.ts';
import type { MetricSource, MetricSourceDeps, MetricWindow, VersionTarget } from '../source.ts';

export const prometheusSourceSchema = z.strictObject({
  kind: z.literal('prometheus'),
  /** base URL of the Prometheus server, e.g. http://127.0.0.1:9090 */
  url: z.url({ protocol: /^https?$/ }),
  /**
   * PromQL; {{version}}, {{environment}}, {{service}} and {{instances}} are filled in, e.g.
   * sum(rate(http_errors_total{version="{{version}}",instance=~"{{instances}}"}[1m]))
   */
  query: z.string().min(1),
  /** resolution of query_range: one reading per step */
  step: durationOrMs.default(1000),
  timeout: durationOrMs.default(2000),
});
export type PrometheusSourceSpec = z.output<typeof prometheusSourceSchema>;

/**
 * The group's instances as a regex of Prometheus' `instance` label (host:port, as Prometheus labels
 * a target it scrapes at that address). Written without backslashes ("." as "[.]") so it means the
 * same in PromQL's "...", '...' and `...` strings: this is what lets the control be exactly the
 * fresh baseline (started with the canary), not every instance of the stable version.
 */
export function instancesRegex(urls: readonly string[]): string {
  return urls
    .map((u) => {
      const url = new URL(u);
      const host = `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
      // "." literally; IPv6's brackets by "." (any character), which cannot match another address
      return host.replace(/[.[\]]/g, (c) => (c === '.' ? '[.]' : '.'));
    })
    .join('|');
}

interface PromResponse {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[] };
}

export class PrometheusSource implements MetricSource {
  readonly kind = 'prometheus';
  readonly describe: string;
  private readonly spec: PrometheusSourceSpec;
  private readonly deps: MetricSourceDeps;
  private checked = false;
  private readonly last = new Map<string, number[]>();
  private lastSince: number | undefined;

  constructor(spec: PrometheusSourceSpec, deps: MetricSourceDeps) {
    this.spec = spec;
    this.deps = deps;
    this.describe = `prometheus ${spec.query}`;
  }

  query(w: MetricWindow, v: VersionTarget): string {
    let q = this.spec.query.replaceAll('{{version}}', v.version).replaceAll('{{environment}}', w.environment).replaceAll('{{service}}', w.service);
    if (q.includes('{{instances}}')) {
      if (v.instanceUrls.length === 0) {
        throw new GreenlightError('DEPENDENCY_UNREADABLE', `no running instance of ${v.label} to fill {{instances}} of the prometheus query with`, {
          retryable: true,
          hint: 'the analysis reports "error" until the group has instances again',
        });
      }
      q = q.replaceAll('{{instances}}', instancesRegex(v.instanceUrls));
    }
    return q;
  }

  async read(w: MetricWindow): Promise<Record<string, number[]>> {
    if (!this.checked) {
      for (const v of w.versions) await this.get('/api/v1/query', { query: this.query(w, v), time: String(w.now / 1000) });
      this.checked = true;
    }
    const stepS = Math.max(0.001, this.spec.step / 1000);
    const out: Record<string, number[]> = {};
    for (const v of w.versions) {
      const q = this.query(w, v);
      // Align the range to the step so successive reads return the same points plus new ones.
      const start = Math.ceil(w.since / 1000 / stepS) * stepS;
      const end = Math.max(start, w.now / 1000);
      const r = await this.get('/api/v1/query_range', { query: q, start: String(start), end: String(end), step: String(stepS) });
      const series = r.data?.result ?? [];
      if (series.length > 1) {
        throw new GreenlightError('CONFIG_INVALID', `prometheus query for ${v.version} returned ${series.length} series, one per version is needed: ${q}`, {
          hint: 'aggregate it, e.g. sum(...) or sum by () (...)',
        });
      }
      const values = (series[0]?.values ?? []).map(([, s]) => Number(s)).filter((x) => Number.isFinite(x));
      // query_range over a window that only grows never loses points, except at Prometheus'
      // staleness edge; keep the longer answer so readings never go backwards. A window that moved
      // (the monitor's rules read the last minutes) is a new answer.
      const prev = this.lastSince === w.since ? (this.last.get(v.label) ?? []) : [];
      const kept = values.length >= prev.length ? values : prev;
      this.last.set(v.label, kept);
      out[v.label] = kept;
    }
    this.lastSince = w.since;
    return out;
  }

  private async get(path: string, params: Record<string, string>): Promise<PromResponse> {
    const url = `${this.spec.url.replace(/\/$/, '')}${path}?${new URLSearchParams(params)}`;
    const ac = new AbortController();
    const timer = this.deps.clock.setTimeout(() => ac.abort(), this.spec.timeout);
    let res: Response;
    let body: PromResponse | undefined;
    try {
      res = await fetch(url, { signal: ac.signal, headers: { accept: 'application/json' } });
      body = (await res.json().catch(() => undefined)) as PromResponse | undefined;
    } catch (err) {
      throw new GreenlightError('DEPENDENCY_UNREADABLE', `prometheus at ${this.spec.url} cannot be read: ${ac.signal.aborted ? `no answer within ${this.spec.timeout} ms` : describe(err)}`, {
        retryable: true,
        hint: 'is Prometheus running and reachable from the controller? the analysis reports "error" (not "fail") until it answers',
      });
    } finally {
      timer.cancel();
    }
    if (body?.status === 'error' && (body.errorType === 'bad_data' || res.status === 400)) {
      throw new GreenlightError('CONFIG_INVALID', `prometheus refused the query ${params.query}: ${body.error}`, { retryable: true, hint: 'fix analysis.metrics[].source.query (try it in the Prometheus UI)' });
    }
    if (!res.ok || body?.status !== 'success') {
      throw new GreenlightError('DEPENDENCY_UNREADABLE', `prometheus at ${this.spec.url} answered HTTP ${res.status}${body?.error ? `: ${body.error}` : ''}`, { retryable: true, hint: 'see the Prometheus server log' });
    }
    return body;
  }
}
