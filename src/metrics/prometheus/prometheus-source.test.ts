// The prometheus source's control is the group the analysis compares: with a fresh baseline, its
// instances only (not every instance of the stable version), checked against Debian's Prometheus
// scraping real instances.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../clock/clock.ts';
import { rolloutSchema } from '../../rollout/schema.ts';
import { createMetricSource, metricSourceSchema } from '../registry.ts';
import type { MetricWindow } from '../source.ts';
import { instancesRegex } from './prometheus-source.ts';
import { gaugeInstance as instance, prometheusMissing, startPrometheus } from './testing.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

test('instancesRegex: host:port of each instance, dots literal, no backslashes', () => {
  assert.equal(instancesRegex(['http://127.0.0.1:4123', 'http://10.0.0.2:80']), '127[.]0[.]0[.]1:4123|10[.]0[.]0[.]2:80');
  assert.equal(instancesRegex(['https://web-a.internal']), 'web-a[.]internal:443');
  assert.equal(instancesRegex(['http://[::1]:9000/']), '.::1.:9000');
});

test('with a fresh baseline the control reads the baseline instances alone, through {{instances}}', { skip: prometheusMissing }, async (t) => {
  // The long-running stable instance has a deep queue (it has run for days); the baseline started
  // with the canary has not. By version alone, the control would be 22, not 2.
  const longRunning = await instance(20);
  const baseline = await instance(2);
  const canary = await instance(3);
  const prom = await startPrometheus({ scrapeIntervalMs: 250 });
  t.after(async () => {
    await prom.close();
    for (const i of [longRunning, baseline, canary]) await i.close();
  });
  prom.setTargets([
    { url: longRunning.url, labels: { version: '1.0.0' } },
    { url: baseline.url, labels: { version: '1.0.0' } },
    { url: canary.url, labels: { version: '2.0.0' } },
  ]);
  for (let i = 0; i < 150; i++) {
    const r = (await fetch(`${prom.url}/api/v1/query?query=count(up==1)`).then((x) => x.json())) as { data: { result: { value: [number, string] }[] } };
    if (r.data.result[0]?.value[1] === '3') break;
    await sleep(100);
  }
  const since = Date.now();
  await sleep(1200);
  const window = (): MetricWindow => ({
    environment: 'production',
    service: 'web',
    since,
    now: Date.now(),
    versions: [
      { label: '2.0.0', version: '2.0.0', instanceUrls: [canary.url] },
      { label: '1.0.0+baseline', version: '1.0.0', instanceUrls: [baseline.url] },
    ],
  });
  const read = (query: string) =>
    createMetricSource(metricSourceSchema.parse({ kind: 'prometheus', url: prom.url, query, step: '250ms' }), 'queue', { clock: systemClock, routerStats: () => Promise.reject(new Error('unused')) }).read(window());

  const matched = await read('sum(queue_depth{version="{{version}}",instance=~"{{instances}}"})');
  assert.ok(matched['1.0.0+baseline']!.length >= 2, JSON.stringify(matched));
  assert.deepEqual([...new Set(matched['1.0.0+baseline'])], [2], 'the control is the baseline alone');
  assert.deepEqual([...new Set(matched['2.0.0'])], [3]);

  const byVersion = await read('sum(queue_depth{version="{{version}}"})');
  assert.deepEqual([...new Set(byVersion['1.0.0+baseline'])], [22], 'by version alone the long-running instance is in the control');
});

test('config: baseline: fresh with a prometheus metric that cannot select the baseline is refused, with what to add', () => {
  const policy = (query: string, baseline: 'fresh' | 'stable') => ({
    steps: [{ weight: 5, hold: '10s' }],
    baseline,
    analysis: { metrics: [{ name: 'queue', source: { kind: 'prometheus', url: 'http://127.0.0.1:9090', query } }] },
  });
  const refused = rolloutSchema.safeParse(policy('sum(queue_depth{version="{{version}}"})', 'fresh'));
  assert.equal(refused.success, false);
  assert.deepEqual(refused.error!.issues[0]!.path, ['analysis', 'metrics', 0, 'source', 'query']);
  assert.match(refused.error!.issues[0]!.message, /metric "queue": with baseline: fresh .* add instance=~"\{\{instances\}\}"/);
  assert.ok(rolloutSchema.safeParse(policy('sum(queue_depth{version="{{version}}",instance=~"{{instances}}"})', 'fresh')).success);
  assert.ok(rolloutSchema.safeParse(policy('sum(queue_depth{version="{{version}}"})', 'stable')).success);
});
