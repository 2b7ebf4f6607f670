import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ManualClock } from '../clock/clock.ts';
import { RuleEngine } from './rules/engine.ts';
import { compileRule } from './rules/query.ts';
import { SeriesStore } from './series/store.ts';
import { monitorsSchema, slosSchema, toProbeSpec, toRetention, toRuleSpec } from './schema.ts';

const yaml = `
probes:
  - name: web-health
    url: http://127.0.0.1:8080/healthz
    interval: 10s
    timeout: 2s
    expect_body: ok
scrape:
  metrics_path: /metrics
  targets:
    - url: http://127.0.0.1:9090/metrics
      labels: { job: prometheus }
process_metrics: {}
rules:
  - alert: HighErrorRatio
    expr: { fn: increase, metric: http_requests_total, match: { code: "=~5.." }, window: 5m, sum_by: [instance] }
    divide_by: { fn: increase, metric: http_requests_total, window: 5m, sum_by: [instance] }
    op: ">"
    threshold: 0.01
    for: 2m
    keep_firing_for: 5m
    labels: { severity: page }
    annotations: { summary: "{{ $labels.instance }} errors at {{ $value }}" }
retention:
  raw: 1h
  rollups:
    - { resolution: 1h, retention: 30d }
    - { resolution: 1m, retention: 3d }
`;

test('a monitors block from YAML parses with defaults and compiles', async () => {
  const m = monitorsSchema.parse(parseYaml(yaml));
  assert.equal(m.evaluation_interval, 15_000);
  assert.deepEqual(toProbeSpec(m.probes[0]!), {
    name: 'web-health',
    url: 'http://127.0.0.1:8080/healthz',
    method: 'GET',
    intervalMs: 10_000,
    timeoutMs: 2_000,
    expectBody: 'ok',
  });
  assert.equal(m.scrape!.interval, 15_000);
  assert.equal(m.process_metrics!.interval, 15_000);
  const r = m.rules[0]!;
  assert.equal(r.for, 120_000);
  assert.equal(r.keep_firing_for, 300_000);
  const ret = toRetention(m.retention);
  assert.deepEqual(ret.tiers, [{ resolutionMs: 60_000, retentionMs: 3 * 86_400_000 }, { resolutionMs: 3_600_000, retentionMs: 30 * 86_400_000 }]);
  assert.equal(ret.rawRetentionMs, 3_600_000);

  const clock = new ManualClock(0);
  const store = new SeriesStore({ clock, retention: ret });
  const engine = new RuleEngine({ clock, rules: [compileRule(toRuleSpec(r)!, store)] });
  for (const [t, ok, err] of [[0, 0, 0], [60_000, 90, 10]] as const) {
    store.add('http_requests_total', { instance: 'a', code: '200' }, ok, t);
    store.add('http_requests_total', { instance: 'a', code: '503' }, err, t);
  }
  const cs = engine.evaluate(60_000);
  assert.deepEqual(cs.map((c) => [c.state, c.value, c.annotations.summary]), [['pending', 0.1, 'a errors at 0.1']]);
});

test('errors name the field', () => {
  const bad = monitorsSchema.safeParse({
    probes: [{ name: 'Web', url: 'ftp://x', interval: '1s', timeout: '5s', extra: 1 }],
    rules: [{ alert: 'X', expr: { fn: 'rate', metric: 'x' }, op: '>', threshold: 1 }],
  });
  assert.equal(bad.success, false);
  const paths = bad.error!.issues.map((i) => i.path.join('.'));
  for (const p of ['probes.0.name', 'probes.0.url', 'probes.0', 'rules.0.expr.window']) assert.ok(paths.includes(p), `${p} in ${paths}`);
});

test('SLO list: unique names, Workbook defaults', () => {
  const ss = slosSchema.parse(
    parseYaml(`
- name: availability
  objective: 0.999
  availability:
    total: { metric: http_requests_total }
    errors: { metric: http_requests_total, match: { code: "=~5.." } }
- name: latency
  objective: 0.99
  latency: { histogram: http_request_duration_seconds, threshold: 0.3 }
`),
  );
  assert.deepEqual(ss[0]!.alerts.map((a) => a.burn_rate), [14.4, 6, 1]);
  assert.equal(slosSchema.safeParse([ss[0], ss[0]]).success, false);
});

test('the schemas export to JSON Schema (input side) for editor support', () => {
  const js = z.toJSONSchema(monitorsSchema, { io: 'input' }) as { properties: Record<string, unknown> };
  assert.ok(js.properties.probes && js.properties.rules);
  assert.ok(z.toJSONSchema(slosSchema, { io: 'input' }));
});
