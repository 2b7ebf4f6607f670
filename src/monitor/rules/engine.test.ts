import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../clock/clock.ts';
import { MemoryEventLog } from '../../events/memory-log.ts';
import { SeriesStore } from '../series/store.ts';
import { RuleEngine, expandTemplate, type AlertChange, type Rule } from './engine.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);

function setup(rule: Partial<Rule> = {}) {
  const clock = new ManualClock(T0);
  const store = new SeriesStore({ clock });
  const base: Rule = {
    name: 'HighLatency',
    query: (at) => store.latest('latency_ms', {}, at),
    condition: { op: '>', threshold: 300 },
    labels: { severity: 'page' },
    annotations: { summary: '{{ $labels.instance }} at {{ $value }} ms' },
  };
  const engine = new RuleEngine({ clock, rules: [{ ...base, ...rule }], intervalMs: MIN });
  const set = (v: number, instance = 'a') => store.add('latency_ms', { instance }, v, clock.now());
  const step = async (v: number | undefined): Promise<AlertChange[]> => {
    await clock.advance(MIN);
    if (v !== undefined) set(v);
    return engine.evaluate();
  };
  return { clock, store, engine, set, step };
}

const states = (cs: AlertChange[]) => cs.map((c) => c.state);

test('inactive -> pending -> firing -> resolved with for', async () => {
  const { step, engine } = setup({ forMs: 2 * MIN });
  assert.deepEqual(await step(100), []);
  const p = await step(400); // t0+2m
  assert.deepEqual(states(p), ['pending']);
  assert.equal(p[0]!.activeAt, T0 + 2 * MIN);
  assert.equal(p[0]!.firedAt, undefined);
  assert.deepEqual(p[0]!.labels, { instance: 'a', severity: 'page' });
  assert.deepEqual(p[0]!.annotations, { summary: 'a at 400 ms' });
  assert.deepEqual(await step(500), []); // 1m held: still pending
  assert.equal(engine.alerts()[0]!.value, 500);
  const f = await step(450); // 2m held: fires
  assert.deepEqual(states(f), ['firing']);
  assert.equal(f[0]!.activeAt, T0 + 2 * MIN);
  assert.equal(f[0]!.firedAt, T0 + 4 * MIN);
  assert.equal(f[0]!.value, 450);
  assert.deepEqual(await step(600), []);
  const r = await step(200);
  assert.deepEqual(states(r), ['resolved']);
  assert.equal(r[0]!.resolvedAt, T0 + 6 * MIN);
  assert.equal(r[0]!.firedAt, T0 + 4 * MIN);
  assert.equal(r[0]!.value, 600); // the last value seen while active
  assert.deepEqual(engine.alerts(), []);
  assert.deepEqual(await step(200), []);
});

test('pending resets when the condition goes false before for elapses', async () => {
  const { step } = setup({ forMs: 2 * MIN });
  assert.deepEqual(states(await step(400)), ['pending']);
  const cleared = await step(100);
  assert.deepEqual(states(cleared), ['resolved']);
  assert.equal(cleared[0]!.firedAt, undefined, 'never fired: the pipeline must not notify');
  const again = await step(400);
  assert.deepEqual(states(again), ['pending']);
  assert.equal(again[0]!.activeAt, T0 + 3 * MIN, 'the hold starts over');
  assert.deepEqual(await step(400), []);
  assert.deepEqual(states(await step(400)), ['firing']);
});

test('for: 0 fires on the first evaluation that matches', async () => {
  const { step } = setup();
  const f = await step(400);
  assert.deepEqual(states(f), ['firing']);
  assert.equal(f[0]!.activeAt, f[0]!.firedAt);
});

test('keep_firing_for holds a firing alert after the condition clears, then resolves', async () => {
  const { step, engine } = setup({ keepFiringForMs: 3 * MIN });
  assert.deepEqual(states(await step(400)), ['firing']); // t+1m
  assert.deepEqual(await step(100), []); // clears at t+2m: kept
  assert.deepEqual(await step(100), []); // t+3m: 1m into the hold
  assert.equal(engine.alerts()[0]!.state, 'firing');
  assert.deepEqual(await step(100), []); // t+4m: 2m
  const r = await step(100); // t+5m: 3m since it cleared: resolved
  assert.deepEqual(states(r), ['resolved']);
  assert.equal(r[0]!.resolvedAt, T0 + 5 * MIN);
  assert.equal(r[0]!.firedAt, T0 + 1 * MIN);
});

test('keep_firing_for restarts when the condition comes back during the hold', async () => {
  const { step } = setup({ keepFiringForMs: 2 * MIN });
  assert.deepEqual(states(await step(400)), ['firing']); // 1m
  assert.deepEqual(await step(100), []); // 2m cleared
  assert.deepEqual(await step(400), []); // 3m true again: hold forgotten
  assert.deepEqual(await step(100), []); // 4m cleared again
  assert.deepEqual(await step(100), []); // 5m: 1m into the new hold
  assert.deepEqual(states(await step(100)), ['resolved']); // 6m
});

test('keep_firing_for does not apply to pending alerts', async () => {
  const { step } = setup({ forMs: 5 * MIN, keepFiringForMs: 10 * MIN });
  assert.deepEqual(states(await step(400)), ['pending']);
  assert.deepEqual(states(await step(100)), ['resolved']);
});

test('each label set is its own alert; rule labels override series labels', async () => {
  const { clock, engine, set } = setup({ labels: { severity: 'page', instance: 'overridden' } });
  await clock.advance(MIN);
  set(400, 'a');
  set(100, 'b');
  assert.equal(engine.evaluate().length, 1);
  // both label sets collapse into one identity after the override, so a second series is
  // reported as a duplicate rather than flapping one alert
  await clock.advance(MIN);
  set(400, 'a');
  set(400, 'b');
  const cs = engine.evaluate();
  assert.deepEqual(cs, []);
  assert.match(engine.ruleHealth()[0]!.lastError ?? '', /two elements/);
});

test('independent alerts per instance', async () => {
  const { clock, engine, set } = setup({ forMs: MIN });
  await clock.advance(MIN);
  set(400, 'a');
  set(400, 'b');
  assert.deepEqual(states(engine.evaluate()), ['pending', 'pending']);
  await clock.advance(MIN);
  set(400, 'a');
  set(100, 'b');
  const cs = engine.evaluate();
  assert.deepEqual(cs.map((c) => [c.labels.instance, c.state]).sort(), [['a', 'firing'], ['b', 'resolved']]);
});

test('a failing query keeps alert state and records the error', async () => {
  let fail = false;
  const clock = new ManualClock(T0);
  const engine = new RuleEngine({
    clock,
    rules: [{ name: 'X', query: () => { if (fail) throw new Error('boom'); return [{ name: 'x', labels: {}, value: 1 }]; } }],
  });
  assert.deepEqual(states(engine.evaluate()), ['firing']);
  fail = true;
  await clock.advance(MIN);
  assert.deepEqual(engine.evaluate(), []);
  assert.equal(engine.alerts().length, 1);
  assert.equal(engine.ruleHealth()[0]!.lastError, 'boom');
});

test('start() evaluates on the clock, publishes changes and appends events', async () => {
  const clock = new ManualClock(T0);
  const store = new SeriesStore({ clock });
  const events = new MemoryEventLog(clock);
  const engine = new RuleEngine({
    clock,
    events,
    intervalMs: 30_000,
    rules: [{ name: 'Down', query: (at) => store.latest('up', {}, at), condition: { op: '==', threshold: 0 }, forMs: MIN }],
  });
  const seen: AlertChange[] = [];
  engine.subscribe((cs) => seen.push(...cs));
  store.add('up', { job: 'web' }, 0, clock.now());
  engine.start();
  assert.deepEqual(states(seen), ['pending']);
  await clock.advance(30_000);
  store.add('up', { job: 'web' }, 0, clock.now());
  await clock.advance(30_000);
  assert.deepEqual(states(seen), ['pending', 'firing']);
  store.add('up', { job: 'web' }, 1, clock.now());
  await clock.advance(30_000);
  assert.deepEqual(states(seen), ['pending', 'firing', 'resolved']);
  engine.stop();
  assert.equal(clock.pendingCount(), 0);
  await clock.advance(0);
  const logged = await events.query({ types: ['monitor.alert.*'] });
  assert.deepEqual(logged.map((e) => e.type), ['monitor.alert.pending', 'monitor.alert.firing', 'monitor.alert.resolved']);
  assert.equal(logged[1]!.time, T0 + MIN);
});

test('templates expand $value and $labels', () => {
  assert.equal(expandTemplate('{{$labels.job}} is {{ $value }}', { job: 'web' }, 0.5), 'web is 0.5');
  assert.equal(expandTemplate('{{ $labels.missing }}!', {}, 1), '!');
});

test('duplicate rule names are refused', () => {
  const q = () => [];
  assert.throws(() => new RuleEngine({ clock: new ManualClock(), rules: [{ name: 'A', query: q }, { name: 'A', query: q }] }));
});
