// Recorded event logs for the incident tests: the events a canary rollback, an all-at-once switch
// back, a failed switch and an alert leave behind, at explicit times, appended to a MemoryEventLog
// whose ManualClock follows them (so whatever the automation appends lands at the right time too).
import { ManualClock } from '../clock/clock.ts';
import { event, type DataOf, type EventType } from '../events/catalogue/index.ts';
import { MemoryEventLog } from '../events/memory-log.ts';

/** 3 June 2026, 10:00:00 CEST. */
export const T0 = Date.UTC(2026, 5, 3, 8, 0, 0);
export const S = 1000;
export const MIN = 60_000;

export class Recorder {
  readonly clock: ManualClock;
  readonly log: MemoryEventLog;

  constructor(start = T0 - 10 * MIN) {
    this.clock = new ManualClock(start);
    this.log = new MemoryEventLog(this.clock);
  }

  /** Appends one catalogue event at `time`: the same schema the emitting module is held to. */
  async at<T extends EventType>(time: number, type: T, subject: string, data: DataOf<T>, actor = 'controller') {
    if (time > this.clock.now()) await this.clock.set(time);
    return this.log.append(event(type, { actor, subject, data, time }));
  }
}

export interface DeploymentScenario {
  id: string;
  service?: string;
  version?: string;
  stable?: string;
  environment?: string;
  /** when traffic first reaches the new version */
  at?: number;
  actor?: string;
  /** break-glass past staging with this reason */
  breakGlass?: string;
  /** record the diagnosis compatibility check after the rollback */
  diagnosis?: boolean;
}

const dep = (s: DeploymentScenario) => ({ service: s.service ?? 'web', version: s.version ?? '2.0.0', stable: s.stable ?? '1.4.0', environment: s.environment ?? 'production', at: s.at ?? T0 });

async function requested(r: Recorder, s: DeploymentScenario, t: number): Promise<void> {
  const d = dep(s);
  const base = { deploymentId: s.id, service: d.service, version: d.version };
  const subject = `deployment/${s.id}`;
  const envs = s.breakGlass ? [d.environment] : ['staging', d.environment];
  await r.at(t - 60 * S, 'deployment.requested', subject, { ...base, digest: 'sha256:abc', environments: envs, force: !!s.breakGlass, ...(s.breakGlass ? { reason: s.breakGlass } : {}) }, s.actor ?? 'user:alice');
  if (!s.breakGlass) {
    await r.at(t - 50 * S, 'deployment.environment.started', subject, { ...base, environment: 'staging' });
    await r.at(t - 49 * S, 'deployment.gate.passed', subject, { ...base, environment: 'staging', because: 'first environment of the pipeline' });
    await r.at(t - 20 * S, 'deployment.environment.passed', subject, { ...base, environment: 'staging', digest: 'sha256:abc' });
  }
  await r.at(t - 10 * S, 'deployment.environment.started', subject, { ...base, environment: d.environment });
  if (s.breakGlass) {
    await r.at(t - 9 * S, 'deployment.gate.overridden', subject, { ...base, environment: d.environment, previous: 'staging', missing: `${d.service}@${d.version} has not passed staging`, reason: s.breakGlass, forcedBy: s.actor ?? 'user:alice' }, s.actor ?? 'user:alice');
  } else {
    await r.at(t - 9 * S, 'deployment.gate.passed', subject, { ...base, environment: d.environment, previous: 'staging', because: `passed staging in deployment ${s.id}` });
  }
}

export const COMPAT_WHERE = 'http://127.0.0.1:7102/version, field "version"';

async function diagnosis(r: Recorder, s: DeploymentScenario, t: number): Promise<void> {
  const d = dep(s);
  const finding = {
    name: 'acme-auth',
    required: '>=3.0.0 <4',
    found: '2.4.1',
    raw: '2.4.1',
    where: COMPAT_WHERE,
    verdict: 'fail',
    message: `acme-auth 2.4.1 does not satisfy ">=3.0.0 <4" required by ${d.service}@${d.version} (read from ${COMPAT_WHERE})`,
    hint: `upgrade acme-auth in ${d.environment} to a version in >=3.0.0 <4, or release a version of ${d.service} that supports 2.4.1`,
  };
  await r.at(t, 'check.failed', `deployment/${s.id}`, {
    name: 'compatibility',
    kind: 'compatibility',
    verdict: 'fail',
    message: `${finding.message}; hint: ${finding.hint}`,
    durationMs: 12,
    details: { environment: d.environment, release: `${d.service}@${d.version}`, dependencies: [finding] },
    phase: 'diagnosis',
    environment: d.environment,
    service: d.service,
    version: d.version,
    digest: 'sha256:abc',
  });
}

/**
 * A canary in production that fails its analysis: first request at +1.2 s, first failure at +2 s,
 * verdict fail at +5 s, weight zero at +5.2 s, rolled back at +6 s.
 */
export async function canaryRollback(r: Recorder, s: DeploymentScenario): Promise<void> {
  const d = dep(s);
  const t = d.at;
  const base = { deploymentId: s.id, service: d.service, version: d.version, environment: d.environment };
  const subject = `deployment/${s.id}`;
  await requested(r, s, t);
  await r.at(t, 'rollout.step.started', subject, { ...base, step: 1, weight: 5, holdMs: 60_000 });
  await r.at(t + 5 * S, 'analysis.verdict', subject, {
    ...base,
    verdict: 'fail',
    summary: 'error rate 3% on the canary vs 0.1% on stable',
    metrics: [{ metric: 'error_rate', verdict: 'fail', summary: 'error rate 3% on the canary vs 0.1% on stable' }],
    canary: { requests: 400, errors: 12 },
    control: { requests: 7600, errors: 7 },
  });
  await r.at(t + 5.2 * S, 'rollout.weight.zero', subject, { ...base, revision: 7, reason: 'analysis failed' });
  // as src/rollout/canary.ts records it: the router's figures on the environment's rollback
  await r.at(t + 6 * S, 'deployment.environment.rolled_back', subject, {
    ...base,
    reason: 'analysis failed: error rate 3% on the canary vs 0.1% on stable',
    stage: 'canary',
    weightZeroAt: t + 5.2 * S,
    verdictAt: t + 5 * S,
    impact: {
      requests: 8000,
      failed: 19,
      canaryRequests: 400,
      canaryFailed: 12,
      clients: 1200,
      clientsWithErrors: 9,
      firstCanaryRequestAt: t + 1.2 * S,
      firstFailedAt: t + 2 * S,
      verdictAt: t + 5 * S,
      weightZeroAt: t + 5.2 * S,
      stableVersion: d.stable,
      canaryVersion: d.version,
    },
  });
  if (s.diagnosis) await diagnosis(r, s, t + 6.1 * S);
  await r.at(t + 6.5 * S, 'deployment.rolled_back', subject, { deploymentId: s.id, service: d.service, version: d.version, reason: `${d.environment}: analysis failed` });
}

/** All traffic switched at `at`; a post check fails at +3 s; switched back at +4 s. */
export async function switchBack(r: Recorder, s: DeploymentScenario): Promise<void> {
  const d = dep(s);
  const t = d.at;
  const base = { deploymentId: s.id, service: d.service, version: d.version };
  const subject = `deployment/${s.id}`;
  const routerSubject = `environment/${d.environment}/${d.service}`;
  await requested(r, s, t);
  await r.at(t - 1 * S, 'deployment.stage', subject, { ...base, environment: d.environment, stage: 'switch', from: d.stable, to: d.version });
  await r.at(t, 'router.switched', routerSubject, { deploymentId: s.id, environment: d.environment, service: d.service, to: d.version, from: d.stable, reason: 'deploy', revision: 3 });
  await r.at(t + 3 * S, 'check.failed', subject, { name: 'smoke', kind: 'http', verdict: 'fail', message: 'GET /login answered 500', durationMs: 40, phase: 'post', environment: d.environment, service: d.service, version: d.version, digest: 'sha256:abc' });
  await r.at(t + 3.5 * S, 'deployment.stage', subject, { ...base, environment: d.environment, stage: 'switch-back', to: d.stable, reason: 'check smoke failed' });
  await r.at(t + 4 * S, 'router.switched', routerSubject, { deploymentId: s.id, environment: d.environment, service: d.service, to: d.stable, from: d.version, reason: 'post-switch checks: check smoke failed', revision: 4 });
  await r.at(t + 4.5 * S, 'deployment.environment.rolled_back', subject, { ...base, environment: d.environment, reason: 'check smoke failed: GET /login answered 500', stage: 'checks:post', switchedBackTo: d.stable });
  if (s.diagnosis) await diagnosis(r, s, t + 4.6 * S);
  await r.at(t + 5 * S, 'deployment.rolled_back', subject, { ...base, reason: `${d.environment}: check smoke failed: GET /login answered 500` });
}

/** The router refused the new table; stable was put back. */
export async function failedSwitch(r: Recorder, s: DeploymentScenario): Promise<void> {
  const d = dep(s);
  const t = d.at;
  const base = { deploymentId: s.id, service: d.service, version: d.version };
  const subject = `deployment/${s.id}`;
  await requested(r, s, t);
  await r.at(t + 1 * S, 'router.switched', `environment/${d.environment}/${d.service}`, { deploymentId: s.id, environment: d.environment, service: d.service, to: d.stable, from: d.version, reason: 'switch failed', revision: 5 });
  await r.at(t + 1.5 * S, 'deployment.environment.failed', subject, { ...base, environment: d.environment, reason: `switching ${d.environment} to ${d.version} failed: router unreachable`, stage: 'switch' });
  await r.at(t + 2 * S, 'deployment.failed', subject, { ...base, reason: `${d.environment}: switching ${d.environment} to ${d.version} failed: router unreachable` });
}

/** Staging rollback after post checks (no analysis): not an incident. */
export async function stagingRollback(r: Recorder, s: DeploymentScenario, analysisFailed = false): Promise<void> {
  const d = dep({ ...s, environment: 'staging' });
  const t = d.at;
  const base = { deploymentId: s.id, service: d.service, version: d.version, environment: 'staging' };
  const subject = `deployment/${s.id}`;
  await r.at(t - 60 * S, 'deployment.requested', subject, { deploymentId: s.id, service: d.service, version: d.version, digest: 'sha256:abc', environments: ['staging', 'production'], force: false }, 'user:alice');
  await r.at(t - 50 * S, 'deployment.environment.started', subject, base);
  if (analysisFailed) await r.at(t + 3 * S, 'analysis.verdict', subject, { ...base, verdict: 'fail', summary: 'p99 latency 2x stable', metrics: [{ metric: 'latency', verdict: 'fail', summary: 'p99 latency 2x stable' }], canary: { requests: 50, errors: 0 }, control: { requests: 950, errors: 0 } });
  await r.at(t + 4 * S, 'deployment.environment.rolled_back', subject, { ...base, reason: analysisFailed ? 'analysis failed' : 'check smoke failed', stage: analysisFailed ? 'analysis' : 'checks:post' });
  await r.at(t + 5 * S, 'deployment.rolled_back', subject, { deploymentId: s.id, service: d.service, version: d.version, reason: `staging: ${analysisFailed ? 'analysis failed' : 'check smoke failed'}` });
}

export async function page(r: Recorder, incidentId: string, sentAt: number, ackAt?: number, by = 'user:bob'): Promise<void> {
  const subject = `incident/${incidentId}`;
  await r.at(sentAt, 'page.sent', subject, { pageId: 'p1', policy: 'web', incidentId, level: 0, round: 0, users: ['bob'], delivered: ['bob'], failed: [], ackTimeoutMs: 300_000 }, 'alerting');
  await r.at(sentAt + 50, 'notification.sent', subject, { notifier: 'webhook', kind: 'webhook', action: 'trigger', incidentId, recipient: 'bob', attempts: 1 }, 'notifier:webhook');
  if (ackAt !== undefined) await r.at(ackAt, 'page.acknowledged', subject, { pageId: 'p1', policy: 'web', incidentId, level: 0, round: 0, timeToAcknowledgeMs: ackAt - sentAt }, by);
}
