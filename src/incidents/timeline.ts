// The incident's timeline: its own events, its deployment's events, crashes of the versions
// involved, pages and notifications, plus the moments only the router measured (first canary
// request, first failed request), merged and sorted, each in one line a person can read aloud.
import { NO_LINE, readWith, silent, type PerType } from '../events/catalogue/index.ts';
import type { StoredEvent } from '../events/log.ts';
import type { IncidentEvidence } from './evidence.ts';
import { firstLine, formatDurationMs, type Milestones } from './measures.ts';

/** The moments a postmortem is built around, as in the Google SRE template. */
export type Milestone = 'impact' | 'detection' | 'decision' | 'recovery' | 'acknowledged' | 'resolved';

export interface TimelineEntry {
  at: number;
  actor: string;
  /** the event type, or "measure.*" for a moment measured by the router */
  type: string;
  text: string;
  milestone?: Milestone;
  /** the event's position in the log; absent for measured moments */
  seq?: number;
}

const MAX = 220;

function clip(text: string): string {
  const one = firstLine(text);
  return one.length > MAX ? `${one.slice(0, MAX - 1)}…` : one;
}

const who = (actor: string) => actor.replace(/^user:/, '');

const envOf = (environment: string | undefined) => (environment ? `${environment}: ` : '');
const refOf = (d: { service?: string; version?: string }) => (d.service && d.version ? `${d.service}@${d.version}` : '');
const endedIn = (type: string) => type.slice('deployment.environment.'.length).replace('_', ' ');
const ended = (type: string) => type.slice('deployment.'.length).replace('_', ' ');

/**
 * The timeline's sentence for each event type of the catalogue; null for events too fine-grained
 * (or unrelated) for an incident's timeline. The compiler refuses a type left without a decision.
 */
export const TIMELINE: PerType<string | undefined> = {
  'incident.opened': ({ data: d }) => `incident opened (${d.severity}): ${d.title}`,
  'incident.acknowledged': (e) => `incident acknowledged by ${who(e.actor)}`,
  'incident.mitigated': ({ data: d, actor }) => (d.automatic ? `incident mitigated: ${d.reason}` : `incident mitigated by ${who(actor)}${d.text ? `: ${d.text}` : ''}`),
  'incident.resolved': ({ data: d, actor }) => `incident resolved by ${who(actor)}${d.text ? `: ${d.text}` : ''}`,
  'incident.note.added': ({ data: d, actor }) => `note by ${who(actor)}: ${d.text}`,
  'incident.root_cause.set': (e) => `root cause written by ${who(e.actor)}`,
  'incident.severity.changed': ({ data: d, actor }) => `severity set to ${d.severity} by ${who(actor)}`,
  'incident.alert.joined': ({ data: d }) => `alert ${d.labels.alertname ?? d.fingerprint} (${d.severity}): ${d.summary}`,
  'page.sent': ({ data: d }) => `paged ${d.delivered.join(', ') || d.users.join(', ') || 'nobody'} (level ${d.level + 1})${d.failed.length ? `, ${d.failed.length} delivery failed` : ''}`,
  'page.escalated': ({ data: d }) => `page escalated${d.toLevel !== undefined ? ` to level ${d.toLevel + 1}` : ''}: ${d.reason}`,
  'page.acknowledged': ({ data: d, actor }) => `page acknowledged by ${who(actor)} after ${formatDurationMs(d.timeToAcknowledgeMs)}`,
  'page.snoozed': ({ data: d, actor }) => `page snoozed by ${who(actor)} for ${formatDurationMs(d.durationMs)}`,
  'page.resolved': (e) => `page resolved by ${who(e.actor)}`,
  'page.exhausted': ({ data: d }) => `paging gave up: ${d.reason}`,
  'notification.sent': ({ data: d }) => `notified${d.recipient ? ` ${d.recipient}` : ''} by ${d.notifier} (${d.action})`,
  'notification.failed': ({ data: d }) => `notification by ${d.notifier} failed: ${d.reason}`,
  'deployment.requested': ({ data: d, actor }) =>
    `deployment ${d.deploymentId} of ${refOf(d)} to ${d.environments.join(', ')} requested by ${who(actor)}${d.force ? ` with a break-glass: "${d.reason}"` : ''}`,
  'deployment.environment.started': ({ data: d }) => `${envOf(d.environment)}${refOf(d)} enters`,
  'deployment.gate.passed': ({ data: d }) => `${envOf(d.environment)}gate passed: ${d.because}`,
  'deployment.gate.refused': ({ data: d }) => `${envOf(d.environment)}gate refused`,
  'deployment.gate.overridden': ({ data: d, actor }) => `${envOf(d.environment)}BREAK-GLASS: gate overridden by ${who(d.forcedBy ?? actor)} ("${d.reason}"): ${d.missing}`,
  'approval.requested': ({ data: d }) => `${envOf(d.environment)}waiting for ${d.required} approval(s) from someone other than ${who(d.requester)}${d.breakGlass ? ' (break-glass review)' : ''}`,
  'approval.granted': ({ data: d, actor }) => `${envOf(d.environment)}approved by ${who(actor)}${d.comment ? `: "${d.comment}"` : ''}`,
  'approval.link.refused': ({ data: d, actor }) => `${envOf(d.environment)}approval link from ${who(actor)} refused: ${d.detail}`,
  'approval.refused': ({ data: d, actor }) => `${envOf(d.environment)}approval by ${who(actor)} refused: ${d.reason}`,
  'approval.rejected': ({ data: d, actor }) => `${envOf(d.environment)}rejected by ${who(actor)}: ${d.reason}`,
  'approval.expired': ({ data: d }) => `${envOf(d.environment)}approval request expired`,
  'deployment.stage': ({ data: d }) => {
    if (d.stage === 'switch') return `${envOf(d.environment)}switching traffic from ${d.from ?? '(none)'} to ${d.to}`;
    if (d.stage === 'switch-back') return `${envOf(d.environment)}switching back to ${d.to}: ${d.reason}`;
    if (d.stage === 'instances' && d.ready === d.of && (d.of ?? 0) > 0) return `${envOf(d.environment)}${d.of} instance(s) of ${refOf(d)} ready`;
    return undefined;
  },
  'check.passed': ({ data: d }) => (d.phase === 'diagnosis' ? `${envOf(d.environment)}diagnosis: check ${d.name} passed: ${d.message}` : undefined),
  'check.failed': ({ data: d }) =>
    d.phase === 'diagnosis' ? `${envOf(d.environment)}diagnosis: check ${d.name} failed: ${d.message}` : `${envOf(d.environment)}check ${d.name} (${d.phase}) failed: ${d.message}`,
  'check.errored': ({ data: d }) => `${envOf(d.environment)}check ${d.name} (${d.phase}) could not verify: ${d.message}`,
  'router.switched': ({ data: d }) => `${envOf(d.environment)}router sends ${d.service} traffic to ${d.to}${d.from ? ` (was ${d.from})` : ''}${d.reason && d.reason !== 'deploy' ? `: ${d.reason}` : ''}`,
  'environment.stable.changed': ({ data: d }) => `${envOf(d.environment)}${d.service}@${d.version} is now stable`,
  'rollout.step.started': ({ data: d }) => `${envOf(d.environment)}canary step ${d.step}: ${d.weight}% of traffic to ${refOf(d)} for ${formatDurationMs(d.holdMs)}`,
  'analysis.verdict': ({ data: d }) => {
    const fig = d.canary && d.control ? ` (canary ${d.canary.errors}/${d.canary.requests} errors, stable ${d.control.errors}/${d.control.requests})` : '';
    return `${envOf(d.environment)}analysis verdict ${d.verdict}: ${d.summary}${fig}`;
  },
  'rollout.weight.zero': ({ data: d }) => `${envOf(d.environment)}canary ${refOf(d)} at weight 0, all traffic on stable${d.reason ? `: ${d.reason}` : ''}`,
  'rollout.paused': ({ data: d, actor }) => `${envOf(d.environment)}rollout paused by ${who(d.actor ?? actor)}`,
  'rollout.resumed': ({ data: d, actor }) => `rollout resumed by ${who(d.actor ?? actor)}`,
  'rollout.promoted': ({ data: d, actor }) => `${envOf(d.environment)}rollout promoted by ${who(d.actor ?? actor)}`,
  'rollout.wave.started': ({ data: d }) => `${envOf(d.environment)}wave ${d.wave} of ${d.of}: ${refOf(d)} on ${d.hosts.join(', ')}`,
  'rollout.wave.passed': ({ data: d }) => `${envOf(d.environment)}wave ${d.wave} of ${d.of} healthy on ${d.hosts.join(', ')}`,
  'rollout.wave.failed': ({ data: d }) => `${envOf(d.environment)}wave ${d.wave} of ${d.of} failed on ${d.hosts.join(', ')}: ${d.reason}; every host back on ${d.stable}`,
  'rollout.host.excluded': ({ data: d }) => `${envOf(d.environment)}host ${d.host} taken out of rotation: ${d.reason}`,
  'rollout.cleanup.failed': ({ data: d }) =>
    `${envOf(d.environment)}${d.task === 'stop' ? `instances ${d.instances?.join(', ') ?? ''} could not be stopped after the rollback` : 'the compatibility diagnosis after the rollback failed'}: ${d.error}`,
  'host.unreachable': ({ data: d }) => `host ${d.host} (${d.address}) unreachable: ${d.reason}`,
  'host.reachable': ({ data: d }) => `host ${d.host} reachable again after ${formatDurationMs(d.downMs)}`,
  'deployment.environment.passed': ({ data: d }) => `${envOf(d.environment)}passed`,
  'deployment.environment.blocked': ({ type, data: d }) => `${envOf(d.environment)}${endedIn(type)}: ${d.reason}`,
  'deployment.environment.rolled_back': ({ type, data: d }) => `${envOf(d.environment)}${endedIn(type)}: ${d.reason}`,
  'deployment.environment.failed': ({ type, data: d }) => `${envOf(d.environment)}${endedIn(type)}: ${d.reason}`,
  'deployment.environment.aborted': ({ type, data: d }) => `${envOf(d.environment)}${endedIn(type)}: ${d.reason}`,
  'deployment.promoted': ({ data: d }) => `${refOf(d)} promoted`,
  'deployment.blocked': ({ type, data: d }) => `deployment of ${refOf(d)} ${ended(type)}: ${d.reason}`,
  'deployment.rolled_back': ({ type, data: d }) => `deployment of ${refOf(d)} ${ended(type)}: ${d.reason}`,
  'deployment.failed': ({ type, data: d }) => `deployment of ${refOf(d)} ${ended(type)}: ${d.reason}`,
  'deployment.aborted': ({ type, data: d }) => `deployment of ${refOf(d)} ${ended(type)}: ${d.reason}`,
  'instance.crashed': ({ data: d }) =>
    `${envOf(d.environment)}an instance of ${refOf(d)} crashed${d.exitCode != null ? ` (exit code ${d.exitCode})` : d.signal ? ` (${d.signal})` : ''}${d.reason ? `: ${d.reason}` : ''}`,
  'instance.restarted': ({ data: d }) => `${envOf(d.environment)}an instance of ${refOf(d)} was restarted`,
  // too fine-grained for a timeline, or not about an incident
  ...silent(...NO_LINE),
  ...silent(
    'rollout.waiting',
    'rollout.promote.requested',
    'rollout.abort.requested',
    'analysis.metric.verdict',
  ),
};

/** One line for an event, or undefined for events too fine-grained for a timeline. */
export function describeIncidentEvent(e: StoredEvent): string | undefined {
  return readWith(TIMELINE, e);
}

function milestoneOf(e: StoredEvent, m: Milestones): Milestone | undefined {
  if (m.firstFailedAt === undefined && m.switchedAt !== undefined && e.time === m.switchedAt && (e.type === 'router.switched' || e.type === 'rollout.step.started')) return 'impact';
  if (m.detectedAt !== undefined && e.time === m.detectedAt && (e.type === 'analysis.verdict' || e.type === 'check.failed' || e.type === 'incident.alert.joined')) return 'detection';
  if (m.mitigatedAt !== undefined && e.time === m.mitigatedAt && (e.type === 'rollout.weight.zero' || e.type === 'router.switched' || e.type === 'incident.mitigated')) return 'decision';
  if (e.type === 'deployment.rolled_back' || e.type === 'incident.mitigated') return 'recovery';
  if (m.acknowledgedAt !== undefined && e.time === m.acknowledgedAt && (e.type === 'page.acknowledged' || e.type === 'incident.acknowledged')) return 'acknowledged';
  if (e.type === 'incident.resolved') return 'resolved';
  return undefined;
}

export function buildTimeline(ev: IncidentEvidence, m: Milestones): TimelineEntry[] {
  const all = new Map<number, StoredEvent>();
  for (const e of [...ev.own, ...ev.deployments.flatMap((d) => d.events), ...ev.crashes]) all.set(e.seq, e);
  const out: TimelineEntry[] = [];
  const taken = new Set<Milestone>();
  for (const e of [...all.values()].sort((a, b) => a.time - b.time || a.seq - b.seq)) {
    const text = describeIncidentEvent(e);
    if (text === undefined) continue;
    const entry: TimelineEntry = { at: e.time, actor: e.actor, type: e.type, text: clip(text), seq: e.seq };
    const ms = milestoneOf(e, m);
    // Each milestone marks its first event only (a rollback has several "recovery" events).
    if (ms && !taken.has(ms)) {
      entry.milestone = ms;
      taken.add(ms);
    }
    out.push(entry);
  }
  const dep = ev.deployments[0];
  const ref = dep ? `${dep.service}@${dep.version}` : 'the new version';
  if (m.firstCanaryRequestAt !== undefined) out.push({ at: m.firstCanaryRequestAt, actor: 'router', type: 'measure.first_canary_request', text: `first request served by ${ref}` });
  if (m.firstFailedAt !== undefined) out.push({ at: m.firstFailedAt, actor: 'router', type: 'measure.first_failed_request', text: `first failed request on ${ref}`, milestone: 'impact' });
  out.sort((a, b) => a.at - b.at || (a.seq ?? -1) - (b.seq ?? -1));
  return out;
}
