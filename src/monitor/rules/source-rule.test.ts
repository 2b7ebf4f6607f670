// The monitor's rules reading the canary analysis' metric sources by kind: `scrape` (the instances'
// own /metrics) and `prometheus` (Debian's, scraping the same instances), through the real
// MonitorService on the real clock; config validation of the `source` key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../clock/clock.ts';
import { MemoryEventLog } from '../../events/memory-log.ts';
import { gaugeInstance as instance, prometheusMissing, startPrometheus } from '../../metrics/prometheus/testing.ts';
import type { AlertChange } from './engine.ts';
import { monitorsSchema, slosSchema } from '../schema.ts';
import { MonitorService, type MonitoredInstance } from '../service/service.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function monitor(rule: Record<string, unknown>, live: MonitoredInstance[]): { svc: MonitorService; changes: AlertChange[] } {
  const changes: AlertChange[] = [];
  const svc = new MonitorService({
    clock: systemClock,
    events: new MemoryEventLog(systemClock),
    environment: 'production',
    service: 'web',
    config: monitorsSchema.parse({ evaluation_interval: '200ms', router_interval: '200ms', rules: [rule] }),
    slos: slosSchema.parse([]),
    routerStats: () => Promise.reject(new Error('no router in this test')),
    instances: () => live,
    onAlert: (c) => changes.push(c),
  });
  return { svc, changes };
}

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(50);
  }
}

test('a rule reading the instances\' /metrics (scrape) fires for the version whose queue is deep, not the other', async (t) => {
  const shallow = await instance(2);
  const deep = await instance(40);
  const { svc, changes } = monitor({ alert: 'QueueDeep', source: { kind: 'scrape', metric: 'queue_depth' }, op: '>', threshold: 10, labels: { severity: 'ticket' } }, [
    { id: 'a', version: '1.0.0', url: shallow.url, pid: 0 },
    { id: 'b', version: '2.0.0', url: deep.url, pid: 0 },
  ]);
  t.after(async () => {
    await svc.stop();
    await shallow.close();
    await deep.close();
  });
  svc.start();
  await until('QueueDeep firing', () => changes.some((c) => c.state === 'firing'));
  const fired = changes.filter((c) => c.state === 'firing');
  assert.deepEqual(fired.map((c) => c.labels.version), ['2.0.0']);
  assert.equal(fired[0]!.value, 40);
  assert.equal(fired[0]!.labels.severity, 'ticket');
  assert.equal(fired[0]!.labels.environment, 'production');
});

test('a rule reading Prometheus fires on the version it sees; Prometheus stopped is a rule error, not a resolution', { skip: prometheusMissing }, async (t) => {
  const shallow = await instance(2);
  const deep = await instance(40);
  const prom = await startPrometheus({ scrapeIntervalMs: 250 });
  prom.setTargets([
    { url: shallow.url, labels: { version: '1.0.0' } },
    { url: deep.url, labels: { version: '2.0.0' } },
  ]);
  const { svc, changes } = monitor(
    { alert: 'QueueDeep', source: { kind: 'prometheus', url: prom.url, query: 'sum(queue_depth{version="{{version}}",instance=~"{{instances}}"})', step: '250ms' }, op: '>', threshold: 10 },
    [
      { id: 'a', version: '1.0.0', url: shallow.url, pid: 0 },
      { id: 'b', version: '2.0.0', url: deep.url, pid: 0 },
    ],
  );
  t.after(async () => {
    await svc.stop();
    await prom.close();
    await shallow.close();
    await deep.close();
  });
  svc.start();
  await until('QueueDeep firing', () => changes.some((c) => c.state === 'firing'), 30_000);
  assert.deepEqual(changes.filter((c) => c.state === 'firing').map((c) => [c.labels.version, c.value]), [['2.0.0', 40]]);

  await prom.stop();
  await until('a rule error', () => svc.status().ruleErrors.some((e) => e.name === 'QueueDeep'));
  assert.match(svc.status().ruleErrors.find((e) => e.name === 'QueueDeep')!.lastError!, /could not read its source: prometheus .* cannot be read/);
  assert.equal(changes.filter((c) => c.state === 'resolved').length, 0, 'an unreadable source resolves nothing');
});

test('config: a rule has exactly one of expr and source; source is prometheus or scrape', () => {
  const parse = (rule: Record<string, unknown>) => monitorsSchema.safeParse({ rules: [{ alert: 'A', op: '>', threshold: 1, ...rule }] });
  assert.ok(parse({ source: { kind: 'scrape', metric: 'queue_depth' } }).success);
  assert.ok(parse({ expr: { fn: 'latest', metric: 'queue_depth' } }).success);
  const none = parse({});
  assert.equal(none.success, false);
  assert.match(none.error!.issues.map((i) => i.message).join(), /exactly one of expr .* and source/);
  assert.equal(parse({ expr: { fn: 'latest', metric: 'x' }, source: { kind: 'scrape', metric: 'x' } }).success, false);
  const router = parse({ source: { kind: 'router' } });
  assert.equal(router.success, false);
  assert.match(router.error!.issues.map((i) => i.message).join(), /router's counts are already in the monitor's store/);
  assert.equal(parse({ source: { kind: 'scrape', metric: 'x' }, divide_by: { fn: 'latest', metric: 'y' } }).success, false);
});
