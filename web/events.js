// How the dashboard reads each event type: one sentence per type of the event catalogue
// (src/events/catalogue), its tone, and the panels it changes. Pure: web/events.test.ts imports it.
import { fmtDuration, who } from './format.js';

export const NOISY = new Set(['monitor.summary']);

export function describe(e) {
  const d = e.data ?? {};
  const env = d.environment ? `${d.environment}: ` : '';
  const rel = d.service && d.version ? `${d.service}@${d.version}` : d.service ?? '';
  switch (e.type) {
    case 'release.registered':
      return `release ${rel} registered`;
    case 'deployment.requested':
      return `deployment of ${rel} to ${(d.environments ?? []).join(', ')} requested${d.force ? ' (forced)' : ''}`;
    case 'deployment.environment.started':
      return `${env}${rel} enters`;
    case 'deployment.gate.passed':
      return `${env}gate passed: ${d.because ?? ''}`;
    case 'deployment.gate.overridden':
      return `${env}BREAK-GLASS by ${who(d.forcedBy ?? e.actor)}: “${d.reason}” (${d.missing ?? ''})`;
    case 'deployment.stage':
      return `${env}stage ${d.stage}`;
    case 'rollout.step.started':
      return `${env}canary step ${d.step + 1}: ${d.weight}% of traffic for ${fmtDuration(d.holdMs)}`;
    case 'analysis.verdict':
      return `${env}analysis ${d.verdict}: ${d.summary ?? ''}`;
    case 'rollout.weight.zero':
      return `${env}canary at weight 0: ${d.reason ?? ''}`;
    case 'rollout.paused':
    case 'rollout.resumed':
      return `rollout of ${d.service} ${e.type.slice(8)} by ${who(e.actor)}`;
    case 'rollout.promote.requested':
      return `promotion (${d.promote}) of ${d.service} requested by ${who(e.actor)}`;
    case 'rollout.promoted':
      return `${env}canary promoted to 100%`;
    case 'check.passed':
    case 'check.failed':
      return `${env}check ${d.name} ${e.type === 'check.passed' ? 'passed' : 'failed'}: ${d.message ?? ''}`;
    case 'router.switched':
      return `${env}router sends ${d.service} traffic to ${d.to}${d.from ? ` (was ${d.from})` : ''}`;
    case 'environment.stable.changed':
      return `${env}stable ${d.service} is now ${d.version}`;
    case 'deployment.environment.passed':
      return `${env}${rel} passed`;
    case 'deployment.environment.rolled_back':
      return `${env}${rel} rolled back: ${d.reason ?? ''}`;
    case 'deployment.environment.blocked':
      return `${env}${rel} blocked: ${d.reason ?? ''}`;
    case 'deployment.environment.failed':
      return `${env}${rel} failed: ${d.reason ?? ''}`;
    case 'deployment.environment.aborted':
      return `${env}${rel} aborted: ${d.reason ?? ''}`;
    case 'deployment.promoted':
    case 'deployment.rolled_back':
    case 'deployment.blocked':
    case 'deployment.failed':
    case 'deployment.aborted':
      return `deployment of ${rel} ${e.type.slice(11).replace('_', ' ')}${d.reason ? `: ${d.reason}` : ''}`;
    case 'instance.started':
    case 'instance.ready':
    case 'instance.stopped':
    case 'instance.crashed':
    case 'instance.restarted':
      return `${env}instance ${e.subject.replace(/^instance\//, '')} (${rel}) ${e.type.slice(9)}${d.port ? ` on port ${d.port}` : ''}`;
    case 'incident.opened':
      return `incident opened (${d.severity}): ${d.title}`;
    case 'incident.acknowledged':
    case 'incident.mitigated':
    case 'incident.resolved':
      return `incident ${e.subject.replace(/^incident\//, '')} ${e.type.slice(9)}${d.reason ? `: ${d.reason}` : ''}`;
    case 'page.sent':
      return `paged ${(d.users ?? []).join(', ') || 'nobody'} (level ${(d.level ?? 0) + 1})${d.reason ? `: ${d.reason}` : ''}`;
    case 'monitor.alert.pending':
    case 'monitor.alert.firing':
    case 'monitor.alert.resolved': {
      const where = [d.labels?.environment, d.labels?.service].filter(Boolean).join('/');
      return `${where ? `${where}: ` : ''}alert ${d.name} ${e.type.slice(14)}${d.annotations?.summary ? ` — ${d.annotations.summary}` : ''}`;
    }
    case 'alert.pending':
    case 'alert.firing':
    case 'alert.resolved':
      return `alert ${d.alertname} ${e.type.slice(6)}${d.annotations?.summary ? ` — ${d.annotations.summary}` : ''}`;
    case 'monitor.probe.up':
    case 'monitor.probe.down':
      return `probe ${e.subject.replace(/^probe\//, '')} ${e.type.slice(14)}${d.error ? `: ${d.error}` : ''}`;
    case 'monitor.anomaly':
    case 'monitor.trend.warning':
      return `${env}${d.message ?? e.type}`;
    default: {
      const msg = d.message ?? d.summary ?? d.reason ?? '';
      return `${e.type}${msg ? `: ${msg}` : ''}`;
    }
  }
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
  return [...p];
}
