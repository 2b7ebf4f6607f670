// The drill runner with a real router (in-process, on loopback), the real dependency faults file
// and an in-memory log, on a manual clock: production is never touched without allow_production
// and a reason; faults go in on time, bounded by the drill; the time limit removes them all.
import { queryType } from '../events/log.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from '../router/testing.ts';
import { loadScenario, parseScenario } from './scenario.ts';
import { drillFixture } from './testing.ts';

test('a drill never touches production without allow_production and a recorded reason', async (t) => {
  const { runner, routers, dependencyFaults, events } = await drillFixture(t);
  const { scenario } = loadScenario('3-june');
  await assert.rejects(runner.begin({ scenario, ref: '3-june', environment: 'production', actor: 'user:alice', reason: 'practice' }), /allow_production/);
  assert.equal(routers.get('production')!.router.faults.count, 0, 'no fault reached the production router');
  assert.deepEqual(dependencyFaults.list(), [], 'no dependency fault was written');
  assert.equal((await events.query({ types: ['drill.*'] })).length, 0, 'nothing was started');
  assert.equal((await request(routers.get('production')!.base + '/')).status, 200);
});

test('with allow_production a production drill still needs a reason, and records it', async (t) => {
  const { runner, routers, events } = await drillFixture(t, { allow_production: true });
  const { scenario } = loadScenario('error-burst');
  await assert.rejects(runner.begin({ scenario, ref: 'error-burst', environment: 'production', actor: 'user:alice' }), /recorded reason/);
  assert.equal(routers.get('production')!.router.faults.count, 0);
  const d = await runner.begin({ scenario, ref: 'error-burst', environment: 'production', actor: 'user:alice', reason: 'quarterly game day, approved by Bo' });
  const started = (await queryType(events, 'drill.started'))[0]!;
  assert.equal(started.data.production, true);
  assert.equal(started.data.reason, 'quarterly game day, approved by Bo');
  assert.equal(routers.get('production')!.router.faults.count, 1);
  await runner.halt('user:alice');
  assert.equal(routers.get('production')!.router.faults.count, 0);
  assert.ok(d.id.startsWith('drill-'));
});

test('faults go in at their offsets, never past the drill, and the time limit removes every one', async (t) => {
  const { runner, routers, dependencyFaults, clock, events } = await drillFixture(t);
  const scenario = parseScenario(`
version: 1
name: timed
title: Timed faults
duration: 2m
cause: { summary: acme-auth is down, match: [acme-auth] }
faults:
  - { kind: dependency, dependency: acme-auth, report: unreachable }
  - { kind: error, at: 30s, share: 0.5, status: 503 }
  - { kind: latency, at: 1m, latency: 100ms, ramp: { to: 300ms, over: 1m, steps: 2 } }
`);
  const staging = routers.get('staging')!;
  const d = await runner.begin({ scenario, ref: 'timed', environment: 'staging', actor: 'user:alice', participants: ['alice'] });
  assert.equal(staging.router.faults.count, 0, 'the router fault is not due yet');
  assert.equal(dependencyFaults.list().length, 1);
  await clock.advance(30_000);
  const [f] = (await staging.client.faults()).faults;
  assert.equal(f!.expiresAt, d.endsAt, 'bounded by the end of the drill');
  assert.equal(f!.version, '2.0.0', 'hits the version serving');
  await clock.advance(60_000);
  const latency = (await staging.client.faults()).faults.find((x) => x.kind === 'latency')!;
  assert.equal(latency.latencyMs, 200, 'the creep moved one step');

  // alerts of the drilled environment are marked; those of another are not
  const change = { name: 'HighErrorRate', labels: { service: 'web', environment: 'staging' }, state: 'firing' as const, activeAt: clock.now(), value: 0.5, annotations: { summary: 'web 5xx above 5%' } };
  const marked = runner.mark(change, 'staging', 'web');
  assert.equal(marked.labels.drill, d.id);
  assert.equal(marked.annotations.summary, `DRILL ${d.id}: web 5xx above 5%`);
  assert.equal(runner.mark(change, 'production', 'web').labels.drill, undefined);

  await clock.advance(30_000);
  const ended = (await queryType(events, 'drill.ended'))[0]!;
  assert.equal(ended.data.outcome, 'time_limit');
  assert.equal(ended.data.left, 0);
  assert.equal(staging.router.faults.count, 0);
  assert.deepEqual(dependencyFaults.list(), []);
  assert.equal(runner.running(), null);
  // the resolution of an alert marked during the drill keeps its label (same fingerprint)
  assert.equal(runner.mark({ ...change, state: 'resolved' }, 'staging', 'web').labels.drill, d.id);
  const card = (await queryType(events, 'drill.scored'))[0]!.data.scorecard as { passed: boolean; misses: string[] };
  assert.equal(card.passed, false);
  assert.ok(card.misses.includes('nobody acknowledged'));
});
