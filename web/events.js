// How the dashboard reads each event type: one sentence per type of the event catalogue
// (src/events/catalogue), its tone, and the panels it changes. Pure: web/events.test.ts imports it.
import { fmtDuration, who } from './format.js';

export const NOISY = new Set(['monitor.summary']);

const envOf = (d) => (d.environment ? `${d.environment}: ` : '');
const relOf = (d) => (d.service && d.version ? `${d.service}@${d.version}` : d.service ?? '');
/** the line of an event without a sentence of its own: its type and its message, if any */
const generic = (e) => {
  const d = e.data ?? {};
  const msg = d.message ?? d.summary ?? d.reason ?? '';
  return `${e.type}${msg ? `: ${msg}` : ''}`;
};
const ended = (e) => `deployment of ${relOf(e.data)} ${e.type.slice(11).replace('_', ' ')}${e.data.reason ? `: ${e.data.reason}` : ''}`;
const instance = (e) => `${envOf(e.data)}instance ${e.subject.replace(/^instance\//, '')} (${relOf(e.data)}) ${e.type.slice(9)}${e.data.port ? ` on port ${e.data.port}` : ''}`;
const incident = (e) => `incident ${e.subject.replace(/^incident\//, '')} ${e.type.slice(9)}${e.data.reason ? `: ${e.data.reason}` : ''}`;
const ruleAlert = ({ type, data: d }) => {
  const where = [d.labels?.environment, d.labels?.service].filter(Boolean).join('/');
  return `${where ? `${where}: ` : ''}alert ${d.name} ${type.slice(14)}${d.annotations?.summary ? ` — ${d.annotations.summary}` : ''}`;
};
const alert = ({ type, data: d }) => `alert ${d.alertname} ${type.slice(6)}${d.annotations?.summary ? ` — ${d.annotations.summary}` : ''}`;
const probe = (e) => `probe ${e.subject.replace(/^probe\//, '')} ${e.type.slice(14)}${e.data.reason ? `: ${e.data.reason}` : ''}`;
const envEnded = (word) => ({ data: d }) => `${envOf(d)}${relOf(d)} ${word}: ${d.reason ?? ''}`;

/**
 * The feed's line for every event type of the catalogue (src/events/catalogue). The compiler
 * cannot see this file: web/events.test.ts fails when a catalogue type has no entry here.
 */
export const RENDER = {
  'release.registered': ({ data: d }) => `release ${relOf(d)} registered`,
  'deployment.requested': ({ data: d }) => `deployment of ${relOf(d)} to ${(d.environments ?? []).join(', ')} requested${d.force ? ' (forced)' : ''}`,
  'deployment.environment.started': ({ data: d }) => `${envOf(d)}${relOf(d)} enters`,
  'deployment.gate.passed': ({ data: d }) => `${envOf(d)}gate passed: ${d.because ?? ''}`,
  'deployment.gate.overridden': (e) => `${envOf(e.data)}BREAK-GLASS by ${who(e.data.forcedBy ?? e.actor)}: “${e.data.reason}” (${e.data.missing ?? ''})`,
  'deployment.gate.refused': generic,
  'deployment.stage': ({ data: d }) => `${envOf(d)}stage ${d.stage}`,
  'deployment.environment.passed': ({ data: d }) => `${envOf(d)}${relOf(d)} passed`,
  'deployment.environment.rolled_back': envEnded('rolled back'),
  'deployment.environment.blocked': envEnded('blocked'),
  'deployment.environment.failed': envEnded('failed'),
  'deployment.environment.aborted': envEnded('aborted'),
  'deployment.promoted': ended,
  'deployment.rolled_back': ended,
  'deployment.blocked': ended,
  'deployment.failed': ended,
  'deployment.aborted': ended,
  'environment.stable.changed': ({ data: d }) => `${envOf(d)}stable ${d.service} is now ${d.version}`,
  'environment.traffic.restored': ({ data: d }) => `${envOf(d)}${d.provider} had lost its routing table: ${d.version} given all traffic again`,
  'environment.reconciled': generic,
  'environment.reconcile.failed': generic,
  'rollout.step.started': ({ data: d }) => `${envOf(d)}canary step ${d.step + 1}: ${d.weight}% of traffic for ${fmtDuration(d.holdMs)}`,
  'rollout.weight.zero': ({ data: d }) => `${envOf(d)}canary at weight 0: ${d.reason ?? ''}`,
  'rollout.paused': (e) => `rollout of ${e.data.service} ${e.type.slice(8)} by ${who(e.actor)}`,
  'rollout.resumed': (e) => `rollout of ${e.data.service} ${e.type.slice(8)} by ${who(e.actor)}`,
  'rollout.waiting': generic,
  'rollout.promote.requested': (e) => `promotion (${e.data.promote}) of ${e.data.service} requested by ${who(e.actor)}`,
  'rollout.promoted': ({ data: d }) => `${envOf(d)}canary promoted`,
  'rollout.wave.started': ({ data: d }) => `${envOf(d)}wave ${d.wave}/${d.of}: switching ${(d.hosts ?? []).join(', ')}`,
  'rollout.wave.passed': ({ data: d }) => `${envOf(d)}wave ${d.wave}/${d.of} healthy (${(d.hosts ?? []).join(', ')})`,
  'rollout.wave.failed': ({ data: d }) => `${envOf(d)}wave ${d.wave}/${d.of} failed: ${d.reason ?? ''}; back on ${d.stable}`,
  'rollout.host.excluded': ({ data: d }) => `${envOf(d)}host ${d.host} out of rotation: ${d.reason ?? ''}`,
  'rollout.cleanup.failed': ({ data: d }) => `${envOf(d)}${d.task === 'stop' ? 'could not stop the canary' : 'diagnosis failed'} after the rollback: ${d.error ?? ''}`,
  'rollout.abort.requested': generic,
  'analysis.verdict': ({ data: d }) => `${envOf(d)}analysis ${d.verdict}: ${d.summary ?? ''}`,
  'check.passed': ({ data: d }) => `${envOf(d)}check ${d.name} passed: ${d.message ?? ''}`,
  'check.failed': ({ data: d }) => `${envOf(d)}check ${d.name} failed: ${d.message ?? ''}`,
  'check.errored': generic,
  'router.started': generic,
  'router.adopted': generic,
  'router.stopped': generic,
  'router.died': generic,
  'router.crash_looping': generic,
  'router.restarted': generic,
  'router.restart_failed': generic,
  'router.switched': ({ data: d }) => `${envOf(d)}router sends ${d.service} traffic to ${d.to}${d.from ? ` (was ${d.from})` : ''}`,
  'instance.started': instance,
  'instance.ready': instance,
  'instance.crashed': instance,
  'instance.restarted': instance,
  'instance.stopped': instance,
  'instance.adopted': generic,
  'instance.lost': generic,
  'incident.opened': ({ data: d }) => `incident opened (${d.severity}): ${d.title}`,
  'incident.acknowledged': incident,
  'incident.mitigated': incident,
  'incident.resolved': incident,
  'incident.note.added': generic,
  'incident.root_cause.set': generic,
  'incident.severity.changed': generic,
  'incident.alert.joined': generic,
  'alert.pending': alert,
  'alert.firing': alert,
  'alert.resolved': alert,
  'alert.group.notified': generic,
  'page.triggered': generic,
  'page.sent': ({ data: d }) => `paged ${(d.users ?? []).join(', ') || 'nobody'} (level ${(d.level ?? 0) + 1})${d.reason ? `: ${d.reason}` : ''}`,
  'page.acknowledged': generic,
  'page.snoozed': generic,
  'page.resolved': generic,
  'page.escalated': generic,
  'page.exhausted': generic,
  'notification.sent': generic,
  'notification.failed': generic,
  'silence.created': generic,
  'silence.expired': generic,
  'monitor.summary': generic,
  'monitor.anomaly': (e) => `${envOf(e.data)}${e.data.message ?? e.type}`,
  'monitor.trend.warning': (e) => `${envOf(e.data)}${e.data.message ?? e.type}`,
  'monitor.alert.pending': ruleAlert,
  'monitor.alert.firing': ruleAlert,
  'monitor.alert.resolved': ruleAlert,
  'monitor.probe.up': probe,
  'monitor.probe.down': probe,
  'controller.started': generic,
  'controller.stopped': generic,
  'host.key_accepted': generic,
  'host.clock_skew': generic,
  'host.supervisor': ({ data: d }) => `host ${d.host}: instances kept alive by ${d.supervisor === 'systemd' ? 'systemd units' : "Greenlight's supervisor"} (${d.reason ?? ''})`,
  'host.unreachable': ({ data: d }) => `host ${d.host} unreachable: ${d.reason ?? ''}`,
  'host.reachable': generic,
  'artifact.uploaded': generic,
  'artifact.pruned': generic,
  'drill.started': generic,
  'drill.fault.injected': generic,
  'drill.deployment.started': generic,
  'drill.incident.linked': generic,
  'drill.mitigated': generic,
  'drill.ended': generic,
  'drill.missed': generic,
  'drill.scored': generic,
  'audit.chain_started': generic,
  'audit.break_accepted': generic,
  'analysis.samples': (e) => `${envOf(e.data)}${(e.data.points ?? []).length} analysis point(s) for the charts`,
  'analysis.metric.verdict': generic,
  'approval.requested': (e) => `${envOf(e.data)}${relOf(e.data)} waits for ${e.data.required} approval(s)`,
  'approval.granted': (e) => `${envOf(e.data)}${relOf(e.data)} approved by ${who(e.actor)}`,
  'approval.refused': generic,
  'approval.link.refused': generic,
  'approval.rejected': generic,
  'approval.expired': generic,
  'inventory.collected': generic,
  'inventory.drift': generic,
  'user.created': generic,
  'user.roles.changed': generic,
  'token.issued': generic,
  'token.revoked': generic,
  'drill.reminder.sent': generic,
  'drill.slot.done': generic,
  'drill.slot.start_failed': generic,
  'change.requested': generic,
  'change.blocked': generic,
  'change.override': generic,
  'change.environment.started': generic,
  'change.wave.started': generic,
  'change.wave.waiting': ({ data: d }) => `${envOf(d)}change wave ${d.wave} waits: ${d.message ?? ''}`,
  'change.stopped': ({ data: d }) => `${envOf(d)}change stopped: ${d.message ?? ''}`,
  'change.host.drained': generic,
  'change.host.applied': generic,
  'change.host.verified': generic,
  'change.host.verify_failed': generic,
  'change.host.undone': generic,
  'change.host.undo_failed': generic,
  'change.host.failed': generic,
  'change.host.restored': generic,
  'change.host.unhealthy': generic,
  'change.failed': generic,
  'change.passed': generic,
  'change.completed': generic,
};

/** The feed's line; a type this page does not know (a newer controller's) reads generically. */
export function describe(e) {
  return (RENDER[e.type] ?? generic)({ ...e, data: e.data ?? {} });
}

export function categoryOf(type) {
  if (/^(incident|page)\./.test(type) || /rolled_back|failed|blocked|weight\.zero|overridden|aborted/.test(type)) return 'bad';
  if (/^(alert|monitor)\./.test(type)) return 'warn';
  if (/promoted|passed|stable\.changed/.test(type)) return 'ok';
  return 'neutral';
}

/** Which panels an event changes. */
export function panelsFor(type) {
  const p = new Set();
  if (/^(deployment|rollout|analysis)\./.test(type)) p.add('deployments').add('status');
  if (/^check\./.test(type)) p.add('deployments');
  if (/^(router|environment|instance|monitor|alert|page)\./.test(type)) p.add('status');
  if (/^(incident|page)\./.test(type) || type === 'deployment.rolled_back') p.add('incidents');
  if (/^drill\./.test(type)) p.add('drills');
  if (/^approval\./.test(type) || /^deployment\.(promoted|blocked|rolled_back|failed|aborted)$/.test(type)) p.add('approvals');
  return [...p];
}
