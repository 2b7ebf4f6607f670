import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startIncidentAutomation } from './automation.ts';
import { Incidents } from './incidents.ts';
import { formatDurationMs, formatShare } from './measures.ts';
import { canaryRollback, MIN, page, Recorder, S, switchBack, T0 } from './testing.ts';

async function incidentOf(r: Recorder) {
  const auto = await startIncidentAutomation({ events: r.log, clock: r.clock, environments: () => ['staging', 'production'] });
  return { auto, svc: new Incidents({ events: r.log, clock: r.clock }) };
}

test('measures: canary rollback — impact figures and durations from the recorded events', async () => {
  const r = new Recorder();
  const { auto, svc } = await incidentOf(r);
  await canaryRollback(r, { id: 'd-1', diagnosis: true });
  await auto.idle();
  const [inc] = await svc.list();
  // Paged at +7 s, acknowledged 12 minutes later, resolved by hand at +40 min.
  await page(r, inc!.id, T0 + 7 * S, T0 + 7 * S + 12 * MIN);
  await r.at(T0 + 40 * MIN, 'incident.resolved', `incident/${inc!.id}`, { incidentId: inc!.id, text: 'acme-auth upgraded' }, 'user:bob');
  const rep = await svc.report(inc!.id);

  assert.equal(rep.milestones.firstFailedAt, T0 + 2 * S);
  assert.equal(rep.milestones.impactStartAt, T0 + 2 * S, 'impact starts at the first failed request');
  assert.equal(rep.milestones.switchedAt, T0, 'the first canary step');
  assert.equal(rep.milestones.detectedAt, T0 + 5 * S, 'the failing verdict');
  assert.equal(rep.milestones.mitigatedAt, T0 + 5.2 * S, 'the canary at weight zero');
  assert.equal(rep.milestones.firstPagedAt, T0 + 7 * S);
  assert.equal(rep.durations.timeToDetectMs, 3000);
  assert.equal(rep.durations.timeToMitigateMs, 3200);
  assert.equal(rep.durations.timeToAcknowledgeMs, 12 * MIN, 'from the first page');
  assert.equal(rep.durations.timeToResolveMs, 40 * MIN - 2 * S);
  assert.equal(rep.durations.impactMs, 3200);
  assert.equal(rep.durations.ongoing, false);

  assert.equal(rep.impact.measured, true);
  assert.equal(rep.impact.requests, 8000);
  assert.equal(rep.impact.failed, 19);
  assert.equal(rep.impact.failedShare, 19 / 8000);
  assert.equal(rep.impact.clientsAffectedShare, 9 / 1200);
  assert.equal(formatShare(rep.impact.failedShare!), '0.24%');
  assert.equal(formatShare(rep.impact.clientsAffectedShare!), '0.75%');
  assert.deepEqual(rep.impact.versions.sort(), ['1.4.0', '2.0.0']);
  assert.equal(rep.incident.state, 'resolved');
  assert.equal(rep.incident.resolvedBy, 'user:bob');
  assert.equal(rep.incident.acknowledgedBy, 'user:bob', 'the page acknowledgement acknowledges the incident');
  auto.stop();
});

test('measures: the root cause is drafted from the diagnosis compatibility check; a person overrides it', async () => {
  const r = new Recorder();
  const { auto, svc } = await incidentOf(r);
  await canaryRollback(r, { id: 'd-1', diagnosis: true });
  await auto.idle();
  const [inc] = await svc.list();
  let rep = await svc.report(inc!.id);
  assert.equal(rep.rootCause.source, 'compatibility');
  assert.equal(rep.rootCause.text, 'release web@2.0.0 requires acme-auth >=3.0.0 <4; production runs acme-auth 2.4.1 (read from http://127.0.0.1:7102/version)');
  assert.ok(rep.measures.some((m) => m.text.startsWith('upgrade acme-auth in production to a version in >=3.0.0 <4')));

  await svc.setRootCause(inc!.id, 'user:carol', 'acme-auth was never upgraded in production after the 3.x handshake shipped');
  rep = await svc.report(inc!.id);
  assert.equal(rep.rootCause.source, 'person');
  assert.equal(rep.rootCause.by, 'user:carol');
  assert.match(rep.rootCause.draft, /requires acme-auth/);
  auto.stop();
});

test('measures: without a diagnosis the analysis summary is the draft; an all-at-once failure falls back to the check', async () => {
  const r = new Recorder();
  const { auto, svc } = await incidentOf(r);
  await canaryRollback(r, { id: 'd-1' });
  await switchBack(r, { id: 'd-2', service: 'api', version: '5.0.0', stable: '4.9.0', at: T0 + 10 * MIN });
  await auto.idle();
  const [api, web] = await svc.list();
  const w = await svc.report(web!.id);
  assert.equal(w.rootCause.source, 'analysis');
  assert.match(w.rootCause.text, /canary web@2\.0\.0 failed its analysis .* error rate 3% on the canary vs 0\.1% on stable/);
  const a = await svc.report(api!.id);
  assert.equal(a.rootCause.source, 'check');
  assert.equal(a.rootCause.text, 'check smoke failed on api@5.0.0 in production: GET /login answered 500');
  // All at once: impact from the switch, detection by the post check, mitigation by the switch back.
  assert.equal(a.milestones.impactStartAt, T0 + 10 * MIN);
  assert.equal(a.durations.timeToDetectMs, 3000);
  assert.equal(a.durations.timeToMitigateMs, 4000);
  assert.equal(a.impact.measured, false);
  assert.equal(a.impact.stableVersion, '4.9.0');
  assert.ok(a.measures.some((m) => /switched all traffic at once/.test(m.text)));
  auto.stop();
});

test('timeline: own, deployment, crash and page events merged and sorted, with the measured moments and milestones', async () => {
  const r = new Recorder();
  const { auto, svc } = await incidentOf(r);
  await canaryRollback(r, { id: 'd-1', diagnosis: true });
  await auto.idle();
  const [inc] = await svc.list();
  const crash = (service: string, version: string, at: number) =>
    r.at(at, 'instance.crashed', `instance/${service}-${at}`, { service, version, environment: 'production', role: 'candidate', port: 4000, pid: 42, exitCode: 1, phase: 'running' }, 'target:local');
  await crash('web', '2.0.0', T0 + 8 * S);
  await crash('billing', '1.0.0', T0 + 9 * S);
  await page(r, inc!.id, T0 + 10 * S, T0 + 70 * S);
  await svc.note(inc!.id, 'user:bob', 'looking at acme-auth');
  const rep = await svc.report(inc!.id);
  const tl = rep.timeline;
  const times = tl.map((e) => e.at);
  assert.deepEqual(times, [...times].sort((a, b) => a - b), 'sorted by time');
  const byType = (t: string) => tl.filter((e) => e.type === t);
  assert.equal(byType('measure.first_failed_request')[0]!.milestone, 'impact');
  assert.equal(byType('measure.first_failed_request')[0]!.at, T0 + 2 * S);
  assert.equal(byType('measure.first_canary_request').length, 1);
  assert.equal(byType('analysis.verdict')[0]!.milestone, 'detection');
  assert.match(byType('analysis.verdict')[0]!.text, /verdict fail: .*canary 12\/400 errors, stable 7\/7600/);
  assert.equal(byType('rollout.weight.zero')[0]!.milestone, 'decision');
  assert.equal(tl.filter((e) => e.milestone === 'recovery').length, 1);
  assert.equal(byType('instance.crashed').length, 1, 'only the versions involved');
  assert.match(byType('instance.crashed')[0]!.text, /web@2\.0\.0 crashed \(exit code 1\)/);
  assert.equal(byType('page.acknowledged')[0]!.milestone, 'acknowledged');
  assert.match(byType('page.acknowledged')[0]!.text, /acknowledged by bob after 1 min/);
  assert.equal(byType('notification.sent').length, 1);
  assert.match(byType('incident.note.added')[0]!.text, /note by bob: looking at acme-auth/);
  assert.match(byType('deployment.requested')[0]!.text, /requested by alice/);
  for (const e of tl) assert.ok(e.text.length > 0 && !e.text.includes('\n'), e.type);
  auto.stop();
});

test('measures: durations are formatted for people', () => {
  assert.equal(formatDurationMs(450), '450 ms');
  assert.equal(formatDurationMs(3200), '3.2 s');
  assert.equal(formatDurationMs(45_000), '45 s');
  assert.equal(formatDurationMs(12 * MIN), '12 min');
  assert.equal(formatDurationMs(37 * MIN + 5 * S), '37 min 5 s');
  assert.equal(formatDurationMs(2 * 60 * MIN + 3 * MIN), '2 h 3 min');
  assert.equal(formatShare(1), '100%');
  assert.equal(formatShare(0.00001), '<0.01%');
});
