// Prometheus text exposition (format 0.0.4) to flat samples, the way Prometheus itself stores them:
// a histogram becomes <name>_bucket{le=...}, <name>_sum and <name>_count series; a summary becomes
// <name>{quantile=...}, <name>_sum and <name>_count.
//
// Lines are parsed by parse-prometheus-text-format (escaping, label syntax, special values,
// timestamps). Its histogram/summary grouping (flattenMetrics) is not used: it merges the buckets of
// every label set into one object and drops the _sum/_count of labelled series, which real
// exporters emit all the time (Prometheus' own prometheus_http_request_duration_seconds{handler}).
// So histogram and summary TYPE lines are presented to it as untyped, every sample comes back as its
// own line with its labels intact, and the families are regrouped here from the declared types.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { GreenlightError } from '../../errors/errors.ts';
import type { Labels } from '../series/labels.ts';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface ParsedSample {
  /** full series name, e.g. http_request_duration_seconds_bucket */
  name: string;
  labels: Labels;
  value: number;
  timestampMs?: number;
}

export interface ParsedFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: ParsedSample[];
}

const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

export function parseValue(text: string | undefined): number {
  switch (text) {
    case undefined:
    case '':
      return Number.NaN;
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    default:
      return Number(text);
  }
}

export function parseExposition(text: string): ParsedFamily[] {
  const declared = new Map<string, MetricType>();
  const lines = text.split('\n').map((line) => {
    const t = line.trim();
    if (!t.startsWith('# TYPE ')) return line;
    const [name, type] = t.slice('# TYPE '.length).split(' ');
    if (!name || !type) return line;
    const lower = type.toLowerCase() as MetricType;
    declared.set(name, TYPES.includes(lower) ? lower : 'untyped');
    return lower === 'histogram' || lower === 'summary' ? `# TYPE ${name} untyped` : line;
  });

  let raw: ReturnType<typeof parsePrometheusTextFormat>;
  try {
    raw = parsePrometheusTextFormat(lines.join('\n'));
  } catch (err) {
    throw new GreenlightError('DEPENDENCY_UNREADABLE', `metrics exposition does not parse: ${err instanceof Error ? err.message : String(err)}`, {
      retryable: true,
      hint: 'the endpoint must serve the Prometheus text format (version 0.0.4); open it with curl to see what it returns',
      cause: err,
    });
  }

  const out = new Map<string, ParsedFamily>();
  for (const fam of raw) {
    const base = familyOf(fam.name, declared);
    let f = out.get(base);
    if (!f) out.set(base, (f = { name: base, help: '', type: declared.get(base) ?? 'untyped', samples: [] }));
    if (fam.name === base && fam.help) f.help = fam.help;
    for (const m of fam.metrics) {
      const s: ParsedSample = { name: fam.name, labels: m.labels ?? {}, value: parseValue(m.value) };
      if (m.timestamp_ms !== undefined) s.timestampMs = Number(m.timestamp_ms);
      f.samples.push(s);
    }
  }
  return [...out.values()];
}

function familyOf(name: string, declared: Map<string, MetricType>): string {
  if (declared.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const t = declared.get(base);
    if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return base;
  }
  return name;
}
