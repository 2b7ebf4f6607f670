// Turns a deployment's events into the live progress lines `greenlight deploy` prints: one entry
// per event type of the catalogue (null: not part of a deployment's progress), so a new type
// cannot be left without a decision.
import { NO_LINE, readWith, silent, type EventType, type PerType } from '../events/catalogue/index.ts';
import type { StoredEvent } from '../events/log.ts';
import { color } from './output.ts';

const at = (environment: string | undefined) => (environment ? `${environment.padEnd(11)} ` : '');
const endedIn = (type: string) => type.slice('deployment.environment.'.length).replace('_', ' ');
const ended = (type: string) => type.slice('deployment.'.length).replace('_', ' ');

export const PROGRESS: PerType<string | undefined> = {
  'deployment.requested': (e) =>
    `${color.bold(`deploy ${e.data.service}@${e.data.version}`)} ${color.dim(`(${e.data.deploymentId}, ${e.data.digest.slice(0, 19)}…)`)}${e.data.force ? color.yellow(` break-glass: ${e.data.reason}`) : ''}`,
  'deployment.environment.started': null,
  'deployment.gate.passed': (e) => `  ${at(e.data.environment)}gate passed: ${e.data.because}`,
  'deployment.gate.overridden': (e) => `  ${at(e.data.environment)}${color.yellow(`gate OVERRIDDEN by ${e.actor}: ${e.data.missing}; reason: "${e.data.reason}"`)}`,
  'deployment.gate.refused': (e) => `  ${at(e.data.environment)}${color.red('gate refused')}`,
  'deployment.stage': ({ data: d }) => {
    const env = at(d.environment);
    switch (d.stage) {
      case 'instances':
        return `  ${env}instances ${d.ready}/${d.of} ready`;
      case 'switch':
        return `  ${env}switching traffic ${d.from ?? '(none)'} -> ${d.to}`;
      case 'switch-back':
        return `  ${env}${color.yellow(`switching back to ${d.to}: ${d.reason}`)}`;
      case 'already-stable':
        return `  ${env}${d.message}`;
      case 'checks:pre':
      case 'checks:post':
        return d.checks?.length ? `  ${env}${d.stage.slice(7)} checks: ${d.checks.join(', ')}` : undefined;
      case 'waves':
        return `  ${env}${d.message ?? 'waves'}`;
      case 'canary':
      case 'baseline':
        return `  ${env}${d.stage}`;
    }
  },
  'deployment.environment.passed': (e) => `  ${at(e.data.environment)}${color.green(e.data.unchanged ? 'unchanged' : 'passed')}`,
  'deployment.environment.blocked': (e) => `  ${at(e.data.environment)}${color.red(endedIn(e.type))}`,
  'deployment.environment.rolled_back': (e) => `  ${at(e.data.environment)}${color.red(endedIn(e.type))}`,
  'deployment.environment.failed': (e) => `  ${at(e.data.environment)}${color.red(endedIn(e.type))}`,
  'deployment.environment.aborted': (e) => `  ${at(e.data.environment)}${color.red(endedIn(e.type))}`,
  'deployment.promoted': (e) => color.green(`✓ ${e.data.service}@${e.data.version} promoted through every environment`),
  'deployment.blocked': (e) => color.red(`✗ ${ended(e.type)}: ${e.data.reason}`),
  'deployment.rolled_back': (e) => color.red(`✗ ${ended(e.type)}: ${e.data.reason}`),
  'deployment.failed': (e) => color.red(`✗ ${ended(e.type)}: ${e.data.reason}`),
  'deployment.aborted': (e) => color.red(`✗ ${ended(e.type)}: ${e.data.reason}`),
  'approval.requested': ({ data: d }) =>
    `  ${at(d.environment)}${color.yellow(`waiting for ${d.required} approval(s) from someone other than ${d.requester}${d.breakGlass ? ' (break-glass review)' : ''}: greenlight approve ${d.deploymentId}`)}`,
  'approval.granted': (e) => `  ${at(e.data.environment)}approved by ${e.actor} (${e.data.count} of ${e.data.required})`,
  'approval.link.refused': (e) => `  ${at(e.data.environment)}${color.yellow(`approval link from ${e.actor} refused: ${e.data.detail}`)}`,
  'approval.refused': (e) => `  ${at(e.data.environment)}${color.yellow(`approval by ${e.actor} refused: ${e.data.reason}`)}`,
  'approval.rejected': (e) => `  ${at(e.data.environment)}${color.red(`rejected by ${e.actor}: ${e.data.reason}`)}`,
  'approval.expired': (e) => `  ${at(e.data.environment)}${color.red('approval request expired')}`,
  'analysis.metric.verdict': ({ data: d }) =>
    // the router's own two are in analysis.verdict already; extra metrics get their own line
    d.metric === 'error_rate' || d.metric === 'latency'
      ? undefined
      : `  ${at(d.environment)}${d.verdict === 'fail' ? color.red(`metric ${d.metric} FAIL`) : d.verdict === 'error' ? color.yellow(`metric ${d.metric} error`) : color.dim(`metric ${d.metric} ${d.verdict}`)} (${d.source}): ${d.summary}`,
  'rollout.step.started': (e) => `  ${at(e.data.environment)}canary at ${e.data.weight}% for ${Math.round(e.data.holdMs / 100) / 10} s`,
  'analysis.verdict': ({ data: d }) =>
    `  ${at(d.environment)}${d.verdict === 'fail' ? color.red('analysis FAIL') : d.verdict === 'pass' ? color.green('analysis pass') : color.dim(`analysis ${d.verdict}`)}: ${d.summary.replace(/^\w+: /, '')}`,
  'rollout.weight.zero': (e) => `  ${at(e.data.environment)}${color.yellow(`canary weight 0: traffic is back on stable (${e.data.reason})`)}`,
  'rollout.paused': (e) => `  ${at(e.data.environment)}${color.yellow(`paused: ${e.data.reason ?? `by ${e.actor}`}`)}`,
  'rollout.waiting': ({ data: d }) =>
    `  ${at(d.environment)}${color.yellow(`waiting for canary traffic: ${d.message}`)}\n  ${at(d.environment)}  pauses in ${Math.round(d.pausesInMs / 1000)} s unless it arrives; meanwhile: ${d.starvation.actions.join(' | ')}`,
  'rollout.resumed': (e) => `  resumed by ${e.actor}`,
  'rollout.abort.requested': (e) => `  ${color.yellow(`abort requested by ${e.actor}`)}`,
  'rollout.promote.requested': (e) => `  promote (${e.data.promote}) requested by ${e.actor}`,
  'rollout.promoted': (e) => `  ${at(e.data.environment)}${color.green('canary promoted')}`,
  'rollout.wave.started': ({ data: d }) => `  ${at(d.environment)}wave ${d.wave}/${d.of}: switching ${d.hosts.join(', ')}`,
  'rollout.wave.passed': ({ data: d }) => `  ${at(d.environment)}${color.green(`wave ${d.wave}/${d.of} healthy`)} (${d.hosts.join(', ')}, ${d.instances} instance(s))`,
  'rollout.wave.failed': ({ data: d }) => `  ${at(d.environment)}${color.red(`wave ${d.wave}/${d.of} failed`)}: ${d.reason}; every host back on ${d.stable}`,
  'rollout.host.excluded': ({ data: d }) => `  ${at(d.environment)}${color.yellow(`host ${d.host} out of rotation: ${d.reason}`)}`,
  'rollout.cleanup.failed': ({ data: d }) =>
    `  ${at(d.environment)}${color.red(d.task === 'stop' ? `could not stop ${d.instances?.join(', ') ?? 'the canary'}` : 'compatibility diagnosis failed')}: ${d.error}`,
  'check.passed': ({ data: d }) => `  ${at(d.environment)}${color.green('✓')} ${d.name} ${color.dim(`${d.message} (${Math.round(d.durationMs)} ms)`)}`,
  'check.failed': ({ data: d }) => `  ${at(d.environment)}${color.red('✗')} ${d.name}: ${d.message}`,
  'check.errored': ({ data: d }) => `  ${at(d.environment)}${color.red('?')} ${d.name} could not verify: ${d.message}`,
  ...silent(...NO_LINE),
  // not a deployment's own events: `greenlight deploy` follows deployment/<id> only
  ...silent(
    'environment.stable.changed',
    'router.switched',
    'instance.crashed',
    'instance.restarted',
    'incident.opened',
    'incident.acknowledged',
    'incident.mitigated',
    'incident.resolved',
    'incident.note.added',
    'incident.root_cause.set',
    'incident.severity.changed',
    'incident.alert.joined',
    'page.sent',
    'page.acknowledged',
    'page.snoozed',
    'page.resolved',
    'page.escalated',
    'page.exhausted',
    'notification.sent',
    'notification.failed',
    // shown in an incident's timeline, not in a deployment's progress
    'host.unreachable',
    'host.reachable',
  ),
};

export function describeEvent(e: StoredEvent): string | undefined {
  return readWith(PROGRESS, e);
}

export const FINAL_DEPLOYMENT_EVENTS: ReadonlySet<string> = new Set<EventType>(['deployment.promoted', 'deployment.blocked', 'deployment.rolled_back', 'deployment.failed', 'deployment.aborted']);

