import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../clock/clock.ts';
import { SeriesStore } from '../series/store.ts';
import { RuleEngine } from './engine.ts';
import { compileQuery, compileRule, divide, sumBy } from './query.ts';

const T0 = Date.UTC(2026, 0, 1);

test('sum_by and divide_by make an error-ratio rule per instance', async () => {
  const clock = new ManualClock(T0);
  const store = new SeriesStore({ clock });
  const add = (instance: string, code: string, v: number) =>
    store.add('http_requests_total', { instance, code }, v, clock.now(), 'counter');
  for (const [i, a200, a500] of [['a', 0, 0], ['b', 0, 0]] as const) {
    add(i, '200', a200);
    add(i, '500', a500);
  }
  await clock.advance(60_000);
  add('a', '200', 90);
  add('a', '500', 10); // 10% errors
  add('b', '200', 99);
  add('b', '500', 1); // 1%
  const rule = compileRule(
    {
      alert: 'ErrorRatio',
      expr: { fn: 'increase', metric: 'http_requests_total', match: { code: '500' }, window: 60_000, sum_by: ['instance'] },
      divide_by: { fn: 'increase', metric: 'http_requests_total', window: 60_000, sum_by: ['instance'] },
      op: '>',
      threshold: 0.05,
      for: 0,
      keep_firing_for: 0,
      annotations: { summary: '{{ $labels.instance }}: {{ $value }}' },
    },
    store,
  );
  const changes = new RuleEngine({ clock, rules: [rule] }).evaluate();
  assert.equal(changes.length, 1);
  assert.deepEqual(changes[0]!.labels, { instance: 'a' });
  assert.equal(changes[0]!.value, 0.1);
  assert.equal(changes[0]!.annotations.summary, 'a: 0.1');
});

test('histogram_quantile query', () => {
  const store = new SeriesStore({ clock: new ManualClock(0) });
  for (const [le, c] of [['0.1', 8], ['0.5', 10], ['+Inf', 10]] as const) store.add('d_bucket', { le }, c, 1);
  const q = compileQuery({ fn: 'histogram_quantile', metric: 'd', quantile: 0.5 }, store);
  assert.ok(Math.abs(q(1)[0]!.value - 0.0625) < 1e-12);
});

test('sumBy with no labels sums everything; divide drops zero divisors', () => {
  const s = [
    { name: 'x', labels: { a: '1' }, value: 2 },
    { name: 'x', labels: { a: '2' }, value: 3 },
  ];
  assert.deepEqual(sumBy(s, [], 'x'), [{ name: 'x', labels: {}, value: 5 }]);
  assert.deepEqual(divide(s, [{ name: 'y', labels: { a: '1' }, value: 0 }, { name: 'y', labels: { a: '2' }, value: 6 }]), [
    { name: 'x', labels: { a: '2' }, value: 0.5 },
  ]);
});
