// The incident's timeline: its own events, its deployment's events, crashes of the versions
// involved, pages and notifications, plus the moments only the router measured (first canary
// request, first failed request), merged and sorted, each in one line a person can read aloud.
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

type Data = Record<string, any>;
const MAX = 220;

function clip(text: string): string {
  const one = firstLine(text);
  return one.length > MAX ? `${one.slice(0, MAX - 1)}…` : one;
}

const who = (actor: string) => actor.replace(/^user:/, '');

/** One line for an event, or undefined for events too fine-grained for a timeline. */
export function describeIncidentEvent(e: StoredEvent): string | undefined {
  const d = e.data as Data;
  const env = d.environment ? `${d.environment}: ` : '';
  const ref = d.service && d.version ? `${d.service}@${d.version}` : '';
  switch (e.type) {
    case 'incident.opened':
      return `incident opened (${d.severity}): ${d.title}`;
    case 'incident.acknowledged':
      return `incident acknowledged by ${who(e.actor)}`;
    case 'incident.mitigated':
      return d.automatic ? `incident mitigated: ${d.reason}` : `incident mitigated by ${who(e.actor)}${d.text ? `: ${d.text}` : ''}`;
    case 'incident.resolved':
      return `incident resolved by ${who(e.actor)}${d.text ? `: ${d.text}` : ''}`;
    case 'incident.note.added':
      return `note by ${who(e.actor)}: ${d.text}`;
    case 'incident.root_cause.set':
      return `root cause written by ${who(e.actor)}`;
    case 'incident.severity.changed':
      return `severity set to ${d.severity} by ${who(e.actor)}`;
    case 'incident.alert.joined':
      return `alert ${d.labels?.alertname ?? d.fingerprint} (${d.severity}): ${d.summary}`;
    case 'page.sent':
      return `paged ${(d.delivered as string[] | undefined)?.join(', ') || (d.users as string[] | undefined)?.join(', ') || 'nobody'} (level ${Number(d.level ?? 0) + 1})${(d.failed as unknown[] | undefined)?.length ? `, ${(d.failed as unknown[]).length} delivery failed` : ''}`;
    case 'page.escalated':
      return `page escalated${d.toLevel !== undefined ? ` to level ${Number(d.toLevel) + 1}` : ''}: ${d.reason}`;
    case 'page.acknowledged':
      return `page acknowledged by ${who(e.actor)}${typeof d.timeToAcknowledgeMs === 'number' ? ` after ${formatDurationMs(d.timeToAcknowledgeMs)}` : ''}`;
    case 'page.snoozed':
      return `page snoozed by ${who(e.actor)}${typeof d.durationMs === 'number' ? ` for ${formatDurationMs(d.durationMs)}` : ''}`;
    case 'page.resolved':
      return `page resolved by ${who(e.actor)}`;
    case 'page.exhausted':
      return `paging gave up: ${d.reason}`;
    case 'notification.sent':
      return `notified${d.recipient ? ` ${d.recipient}` : ''} by ${d.notifier} (${d.action ?? 'trigger'})`;
    case 'notification.failed':
      return `notification by ${d.notifier} failed: ${d.reason}`;
    case 'deployment.requested':
      return `deployment ${d.deploymentId} of ${ref} to ${(d.environments as string[] | undefined)?.join(', ')} requested by ${who(e.actor)}${d.force ? ` with a break-glass: "${d.reason}"` : ''}`;
    case 'deployment.environment.started':
      return `${env}${ref} enters`;
    case 'deployment.gate.passed':
      return `${env}gate passed: ${d.because}`;
    case 'deployment.gate.refused':
      return `${env}gate refused`;
    case 'deployment.gate.overridden':
      return `${env}BREAK-GLASS: gate overridden by ${who(String(d.forcedBy ?? e.actor))} ("${d.reason}"): ${d.missing}`;
    case 'approval.requested':
      return `${env}waiting for ${d.required} approval(s) from someone other than ${who(String(d.requester))}${d.breakGlass ? ' (break-glass review)' : ''}`;
    case 'approval.granted':
      return `${env}approved by ${who(e.actor)}${d.comment ? `: "${d.comment}"` : ''}`;
    case 'approval.refused':
      return `${env}approval by ${who(e.actor)} refused: ${d.reason}`;
    case 'approval.rejected':
      return `${env}rejected by ${who(e.actor)}: ${d.reason}`;
    case 'approval.expired':
      return `${env}approval request expired`;
    case 'deployment.stage':
      if (d.stage === 'switch') return `${env}switching traffic from ${d.from ?? '(none)'} to ${d.to}`;
      if (d.stage === 'switch-back') return `${env}switching back to ${d.to}: ${d.reason}`;
      if (d.stage === 'instances' && d.ready === d.of && d.of > 0) return `${env}${d.of} instance(s) of ${ref} ready`;
      return undefined;
    case 'check.passed':
      return d.phase === 'diagnosis' ? `${env}diagnosis: check ${d.name} passed: ${d.message}` : undefined;
    case 'check.failed':
      return d.phase === 'diagnosis' ? `${env}diagnosis: check ${d.name} failed: ${d.message}` : `${env}check ${d.name} (${d.phase}) failed: ${d.message}`;
    case 'check.errored':
      return `${env}check ${d.name} (${d.phase}) could not verify: ${d.message}`;
    case 'router.switched':
      return `${env}router sends ${d.service} traffic to ${d.to}${d.from ? ` (was ${d.from})` : ''}${d.reason && d.reason !== 'deploy' ? `: ${d.reason}` : ''}`;
    case 'environment.stable.changed':
      return `${env}${d.service}@${d.version} is now stable`;
    case 'rollout.step.started':
      return `${env}canary step ${d.step}: ${d.weight}% of traffic to ${ref}${typeof d.holdMs === 'number' ? ` for ${formatDurationMs(d.holdMs)}` : ''}`;
    case 'analysis.verdict': {
      const c = d.canary as Data | undefined;
      const st = d.control as Data | undefined;
      const fig = c && st ? ` (canary ${c.errors}/${c.requests} errors, stable ${st.errors}/${st.requests})` : '';
      return `${env}analysis verdict ${d.verdict}: ${d.summary ?? ''}${fig}`;
    }
    case 'rollout.weight.zero':
      return `${env}canary ${ref} at weight 0, all traffic on stable${d.reason ? `: ${d.reason}` : ''}`;
    case 'rollout.paused':
    case 'rollout.resumed':
    case 'rollout.promoted':
    case 'rollout.aborted':
      return `${env}rollout ${e.type.slice('rollout.'.length)} by ${who(String(d.actor ?? e.actor))}`;
    case 'deployment.environment.passed':
      return `${env}passed`;
    case 'deployment.environment.blocked':
    case 'deployment.environment.rolled_back':
    case 'deployment.environment.failed':
      return `${env}${e.type.slice('deployment.environment.'.length).replace('_', ' ')}: ${d.reason}`;
    case 'deployment.promoted':
      return `${ref} promoted`;
    case 'deployment.blocked':
    case 'deployment.rolled_back':
    case 'deployment.failed':
    case 'deployment.aborted':
      return `deployment of ${ref} ${e.type.slice('deployment.'.length).replace('_', ' ')}: ${d.reason ?? ''}`;
    case 'instance.crashed':
      return `${env}an instance of ${ref} crashed${d.exitCode != null ? ` (exit code ${d.exitCode})` : d.signal ? ` (${d.signal})` : ''}${d.reason ? `: ${d.reason}` : ''}`;
    case 'instance.restarted':
      return `${env}an instance of ${ref} was restarted`;
    default:
      return undefined;
  }
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
