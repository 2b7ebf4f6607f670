import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../clock/clock.ts';
import { MemoryEventLog } from '../../events/memory-log.ts';
import { RuleEngine } from '../../monitor/rules/engine.ts';
import { AlertStore, alertState, fromRuleChange, type RuleAlertChange } from './alert.ts';

test('the store merges reports of one label set, keeps the earliest start, and starts a new episode after a resolution', async () => {
  const clock = new ManualClock();
  const log = new MemoryEventLog(clock);
  const store = new AlertStore({ clock, log, retentionMs: 60_000 });
  const labels = { alertname: 'Down', service: 'web' };
  const t0 = clock.now();
  const first = store.put({ labels, startsAt: t0 - 5000 }, 'api');
  assert.equal(first.to, 'firing');
  store.setIncident(first.alert.fingerprint, 'inc-1');
  await clock.advance(1000);
  const again = store.put({ labels: { service: 'web', alertname: 'Down' }, startsAt: t0, annotations: { summary: 'updated' } }, 'api');
  assert.ok('unchanged' in again);
  assert.equal(again.alert.startsAt, t0 - 5000);
  assert.equal(again.alert.incidentId, 'inc-1');
  assert.equal(again.alert.annotations.summary, 'updated');
  store.put({ labels, endsAt: clock.now() }, 'api');
  assert.equal(alertState(store.get(first.alert.fingerprint)!, clock.now()), 'resolved');
  // a late duplicate of the resolution does not reopen it
  assert.ok('unchanged' in store.put({ labels, endsAt: clock.now() - 10 }, 'api'));
  await clock.advance(1000);
  const next = store.put({ labels }, 'api');
  assert.equal(next.from, 'resolved');
  assert.equal(next.to, 'firing');
  assert.equal(next.alert.incidentId, undefined, 'a new episode has no incident yet');
  assert.equal(next.alert.startsAt, clock.now());
  assert.deepEqual((await log.query({ types: ['alert.*'] })).map((e) => e.type), ['alert.firing', 'alert.resolved', 'alert.firing']);
  store.put({ labels, endsAt: clock.now() }, 'api');
  await clock.advance(60_000);
  assert.equal(store.gc(), 1, 'resolved alerts are forgotten after the retention');
});

test('an alert with a future endsAt fires until then (Prometheus-style refresh)', () => {
  const clock = new ManualClock();
  const store = new AlertStore({ clock });
  const { alert } = store.put({ labels: { alertname: 'X' }, endsAt: clock.now() + 60_000 }, 'api');
  assert.equal(alertState(alert, clock.now()), 'firing');
  assert.equal(alertState(alert, clock.now() + 60_000), 'resolved');
});

test('the adapter takes what the rule engine publishes', () => {
  const clock = new ManualClock();
  let value = 0.2;
  const engine = new RuleEngine({
    clock,
    rules: [{ name: 'HighErrorRate', query: () => [{ name: 'ratio', labels: { service: 'web' }, value }], condition: { op: '>', threshold: 0.05 }, forMs: 0, labels: { severity: 'page' }, annotations: { summary: 'errors at {{ $value }}' } }],
  });
  const changes: RuleAlertChange[] = engine.evaluate();
  assert.equal(changes.length, 1);
  const firing = fromRuleChange(changes[0]!);
  assert.deepEqual(firing.labels, { service: 'web', severity: 'page', alertname: 'HighErrorRate' });
  assert.equal(firing.pending, false);
  assert.equal(firing.annotations!.summary, 'errors at 0.2');
  value = 0;
  const resolved = fromRuleChange(engine.evaluate(clock.now() + 1000)[0]!);
  assert.equal(resolved.endsAt, clock.now() + 1000);
});
