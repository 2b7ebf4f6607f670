import { test } from 'node:test';
import { queryType } from '../events/log.ts';
import assert from 'node:assert/strict';
import { IncidentAutomation, startIncidentAutomation } from './automation.ts';
import { loadIncidents } from './projection.ts';
import { canaryRollback, failedSwitch, MIN, Recorder, S, stagingRollback, switchBack, T0 } from './testing.ts';

async function setup() {
  const r = new Recorder();
  const auto = await startIncidentAutomation({ events: r.log, clock: r.clock, environments: () => ['staging', 'production'] });
  const incidents = async () => {
    await auto.idle();
    return [...(await loadIncidents(r.log)).values()];
  };
  return { r, auto, incidents };
}

test('automation: a canary rolled back in production opens one incident, mitigated automatically, not resolved', async () => {
  const { r, auto, incidents } = await setup();
  await canaryRollback(r, { id: 'd-1', diagnosis: true });
  const all = await incidents();
  assert.equal(all.length, 1);
  const [inc] = all;
  assert.equal(inc!.cause, 'deployment/d-1');
  assert.equal(inc!.trigger, 'rollback');
  assert.equal(inc!.severity, 'sev2');
  assert.equal(inc!.service, 'web');
  assert.equal(inc!.environment, 'production');
  assert.deepEqual(inc!.deploymentIds, ['d-1']);
  assert.equal(inc!.state, 'mitigated');
  assert.equal(inc!.mitigatedBy, 'controller');
  assert.equal(inc!.resolvedAt, undefined, 'a person resolves');
  const mitigated = await queryType(r.log, 'incident.mitigated');
  assert.equal(mitigated.length, 1);
  assert.equal(mitigated[0]!.data.trafficRestoredAt, T0 + 5.2 * S);
  auto.stop();
});

test('automation: a failed post check, the switch back and the rollback of one deployment make one incident', async () => {
  const { r, auto, incidents } = await setup();
  await switchBack(r, { id: 'd-2' });
  const all = await incidents();
  assert.equal(all.length, 1);
  assert.equal(all[0]!.trigger, 'post-check', 'opened by the first cause seen');
  assert.equal(all[0]!.openedAt, T0 + 3 * S);
  assert.equal(all[0]!.state, 'mitigated');
  assert.equal((await queryType(r.log, 'incident.opened')).length, 1);
  assert.equal((await queryType(r.log, 'incident.mitigated')).length, 1);
  auto.stop();
});

test('automation: a staging rollback opens nothing unless the analysis failed', async () => {
  const { r, auto, incidents } = await setup();
  await stagingRollback(r, { id: 'd-3' });
  assert.equal((await incidents()).length, 0);
  await stagingRollback(r, { id: 'd-4', at: T0 + 10 * MIN }, true);
  const all = await incidents();
  assert.equal(all.length, 1);
  assert.equal(all[0]!.cause, 'deployment/d-4');
  assert.equal(all[0]!.environment, 'staging');
  assert.equal(all[0]!.severity, 'sev3');
  auto.stop();
});

test('automation: a failed switch opens an incident, mitigated when stable was put back', async () => {
  const { r, auto, incidents } = await setup();
  await failedSwitch(r, { id: 'd-5' });
  const all = await incidents();
  assert.equal(all.length, 1);
  assert.equal(all[0]!.trigger, 'switch-failed');
  assert.match(all[0]!.title, /switching production to web@2\.0\.0 failed/);
  assert.equal(all[0]!.state, 'mitigated');
  auto.stop();
});

test('automation: two deployments rolled back in one window are two incidents (one per cause); alerts join by service and environment', async () => {
  const { r, auto, incidents } = await setup();
  await canaryRollback(r, { id: 'd-web', service: 'web' });
  await canaryRollback(r, { id: 'd-api', service: 'api', version: '3.1.0', stable: '3.0.2', at: T0 + 3 * S });
  let all = await incidents();
  assert.equal(all.length, 2);
  assert.deepEqual(all.map((i) => i.cause).sort(), ['deployment/d-api', 'deployment/d-web']);

  const webInc = all.find((i) => i.service === 'web')!;
  const apiInc = all.find((i) => i.service === 'api')!;
  const a1 = await auto.openOrJoinForAlert({ fingerprint: 'f1', labels: { alertname: 'HighErrorRate', service: 'web', environment: 'production' }, summary: 'web 5xx above 1%', severity: 'page' });
  assert.deepEqual(a1, { incidentId: webInc.id, joined: true });
  const a2 = await auto.openOrJoinForAlert({ fingerprint: 'f2', labels: { alertname: 'HighLatency', service: 'api', environment: 'production' }, summary: 'api p99 above 1 s', severity: 'page' });
  assert.equal(a2.incidentId, apiInc.id);
  // The same alert again is already in; no second event.
  const before = (await queryType(r.log, 'incident.alert.joined')).length;
  assert.equal((await auto.openOrJoinForAlert({ fingerprint: 'f1', labels: { service: 'web', environment: 'production' }, summary: 'again', severity: 'page' })).incidentId, webInc.id);
  assert.equal((await queryType(r.log, 'incident.alert.joined')).length, before);
  // Another pair opens its own incident.
  const a3 = await auto.openOrJoinForAlert({ fingerprint: 'f3', labels: { alertname: 'Down', service: 'web', environment: 'staging' }, summary: 'web down in staging', severity: 'critical' });
  assert.equal(a3.joined, false);
  all = await incidents();
  assert.equal(all.length, 3);
  const opened = all.find((i) => i.id === a3.incidentId)!;
  assert.equal(opened.severity, 'sev1');
  assert.equal(opened.trigger, 'alert');
  assert.equal(opened.cause, 'alert/web/staging');
  assert.equal(opened.alerts.length, 1);
  auto.stop();
});

test('automation: concurrent alerts for one pair open one incident; a resolved incident is not joined', async () => {
  const { r, auto, incidents } = await setup();
  const alert = (fp: string) => ({ fingerprint: fp, labels: { alertname: 'Down', service: 'web', environment: 'production' }, summary: 'web down', severity: 'page' });
  const [x, y] = await Promise.all([auto.openOrJoinForAlert(alert('a')), auto.openOrJoinForAlert(alert('b'))]);
  assert.equal(x.incidentId, y.incidentId);
  assert.equal((await incidents()).length, 1);
  await r.at(T0 + MIN, 'incident.resolved', `incident/${x.incidentId}`, { incidentId: x.incidentId }, 'user:bob');
  const z = await auto.openOrJoinForAlert(alert('c'));
  assert.notEqual(z.incidentId, x.incidentId);
  assert.equal((await incidents()).length, 2);
  auto.stop();
});

test('automation: the sink the alerting dispatcher takes opens from an Alert', async () => {
  const { auto, incidents } = await setup();
  const { incidentId } = await auto.sink().openOrJoin({
    fingerprint: 'abc',
    labels: { alertname: 'Down', service: 'web', environment: 'production', severity: 'critical' },
    annotations: { summary: 'web is down' },
    startsAt: T0,
    pending: false,
    origin: 'rule',
    updatedAt: T0,
  });
  const [inc] = await incidents();
  assert.equal(inc!.id, incidentId);
  assert.equal(inc!.title, 'web is down');
  assert.equal(inc!.severity, 'sev1');
  auto.stop();
});

test('automation: a restart replays and opens nothing twice; a rollback it missed while down gets its incident', async () => {
  const r = new Recorder();
  const first = await startIncidentAutomation({ events: r.log, clock: r.clock });
  await canaryRollback(r, { id: 'd-1' });
  await first.idle();
  first.stop();
  // Down: this rollback happens with nobody listening.
  await canaryRollback(r, { id: 'd-2', service: 'api', at: T0 + 2 * MIN });
  const second = new IncidentAutomation({ events: r.log, clock: r.clock });
  await second.start();
  const all = [...(await loadIncidents(r.log)).values()];
  assert.deepEqual(all.map((i) => i.cause).sort(), ['deployment/d-1', 'deployment/d-2']);
  assert.equal((await queryType(r.log, 'incident.opened')).length, 2);
  assert.equal((await queryType(r.log, 'incident.mitigated')).length, 2);
  second.stop();
  // A third start still opens nothing new.
  const third = await startIncidentAutomation({ events: r.log, clock: r.clock });
  assert.equal((await queryType(r.log, 'incident.opened')).length, 2);
  third.stop();
});
