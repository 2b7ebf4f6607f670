import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseExposition, parseValue, type ParsedFamily } from './parse.ts';

const fixture = readFileSync(new URL('./fixtures/prometheus-2.42.0.metrics.txt', import.meta.url), 'utf8');
const family = (fs: ParsedFamily[], name: string) => {
  const f = fs.find((x) => x.name === name);
  assert.ok(f, `family ${name} parsed`);
  return f;
};

test('fixture: a real Prometheus 2.42 /metrics parses into typed families', () => {
  const fs = parseExposition(fixture);
  const declared = fixture.split('\n').filter((l) => l.startsWith('# TYPE ')).length;
  assert.equal(fs.length, declared, 'one family per TYPE line');

  const build = family(fs, 'prometheus_build_info');
  assert.equal(build.type, 'gauge');
  assert.equal(build.samples[0]!.labels.version, '2.42.0+ds');
  assert.equal(build.samples[0]!.value, 1);

  const gc = family(fs, 'go_gc_duration_seconds');
  assert.equal(gc.type, 'summary');
  assert.deepEqual(gc.samples.filter((s) => s.name === gc.name).map((s) => s.labels.quantile), ['0', '0.25', '0.5', '0.75', '1']);
  assert.equal(gc.samples.find((s) => s.name === 'go_gc_duration_seconds_count')!.value, 4);

  assert.equal(family(fs, 'go_goroutines').type, 'gauge');
  assert.equal(family(fs, 'prometheus_http_requests_total').type, 'counter');
});

test('fixture: a histogram with several label sets keeps each set\'s buckets, _sum and _count', () => {
  const fs = parseExposition(fixture);
  const h = family(fs, 'prometheus_http_request_duration_seconds');
  assert.equal(h.type, 'histogram');
  const handlers = [...new Set(h.samples.map((s) => s.labels.handler))].sort();
  assert.deepEqual(handlers, ['/-/ready', '/api/v1/status/buildinfo']);
  const count = (handler: string) => h.samples.find((s) => s.name.endsWith('_count') && s.labels.handler === handler)!.value;
  assert.equal(count('/-/ready'), 2);
  assert.equal(count('/api/v1/status/buildinfo'), 1);
  const inf = h.samples.filter((s) => s.name.endsWith('_bucket') && s.labels.le === '+Inf');
  assert.equal(inf.length, 2);
  // the package's own grouping would have merged both handlers into one bucket map and dropped
  // the labelled _count/_sum: this is why parse.ts regroups from TYPE lines itself
  const parsePackage = createRequire(import.meta.url)('parse-prometheus-text-format') as (t: string) => { name: string; metrics: { count?: string }[] }[];
  const theirs = parsePackage(fixture).find((f) => f.name === 'prometheus_http_request_duration_seconds')!;
  assert.equal(theirs.metrics.length, 1);
  assert.equal(theirs.metrics[0]!.count, undefined);
});

test('fixture: labelled summaries keep NaN quantiles', () => {
  const q = family(parseExposition(fixture), 'prometheus_engine_query_duration_seconds');
  assert.equal(q.type, 'summary');
  const inner = q.samples.filter((s) => s.labels.slice === 'inner_eval' && s.name === q.name);
  assert.equal(inner.length, 3);
  assert.ok(inner.every((s) => Number.isNaN(s.value)));
});

test('escaping, special values, timestamps and untyped lines', () => {
  const fs = parseExposition(
    [
      '# HELP weird A help with a \\n newline',
      '# TYPE weird gauge',
      'weird{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} +Inf 1395066363000',
      'bare 12.47',
      'neg -Inf',
      '',
    ].join('\n'),
  );
  const w = family(fs, 'weird');
  assert.equal(w.help, 'A help with a \n newline');
  assert.equal(w.samples[0]!.labels.path, 'C:\\DIR\\FILE.TXT');
  assert.equal(w.samples[0]!.labels.error, 'Cannot find file:\n"FILE.TXT"');
  assert.equal(w.samples[0]!.value, Infinity);
  assert.equal(w.samples[0]!.timestampMs, 1395066363000);
  assert.equal(family(fs, 'bare').type, 'untyped');
  assert.equal(family(fs, 'neg').samples[0]!.value, -Infinity);
  assert.ok(Number.isNaN(parseValue('NaN')));
});

test('garbage is a typed, retryable error', () => {
  assert.throws(() => parseExposition('# TYPE x counter\nx{a="1" 3\n'), (e: unknown) => {
    return e instanceof Error && (e as { code?: string }).code === 'DEPENDENCY_UNREADABLE' && /does not parse/.test(e.message);
  });
});
