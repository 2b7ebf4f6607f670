// `greenlight drill from-incident <id>`: a scenario derived from what a recorded incident's events
// say failed, how much, in what order and when. A canary that failed its analysis becomes a real
// deployment of the same version with the measured share of failures injected into it; a
// dependency the diagnosis found incompatible reports the version found, at the moment it was
// found; crashes become dropped connections. The scenario also records the incident's verdict
// path, so a run of it can be compared with the original.
import { stringify } from 'yaml';
import type { EventLog, StoredEvent } from '../events/log.ts';
import { gatherEvidence, type IncidentEvidence } from '../incidents/evidence.ts';
import { reportIncidentById } from '../incidents/report.ts';
import type { DependencyFinding } from '../checks/compatibility/compatibility-check.ts';
import { parseScenario, type Scenario } from './scenario.ts';

type Data = Record<string, unknown>;

/**
 * The path a failure took through Greenlight's verdicts, in order: what the analysis and the
 * checks decided and what the rollout did about it. Two failures with the same path were caught
 * and handled the same way.
 */
export function verdictPath(deploymentEvents: readonly StoredEvent[], incidentTrigger?: string): string[] {
  const out: string[] = [];
  const push = (m: string) => {
    if (out.at(-1) !== m) out.push(m);
  };
  for (const e of [...deploymentEvents].sort((a, b) => a.seq - b.seq)) {
    const d = e.data as Data;
    if (e.type === 'analysis.verdict' && d.verdict === 'fail') push('analysis:fail');
    else if (e.type === 'rollout.weight.zero') push('canary:weight-zero');
    else if (e.type === 'check.failed') push(`check:${String(d.kind)}:${d.phase === 'diagnosis' ? 'diagnosis' : String(d.phase ?? 'run')}:fail`);
    else if (e.type.startsWith('deployment.environment.') && !e.type.endsWith('.started')) push(`environment:${e.type.slice('deployment.environment.'.length)}`);
  }
  if (incidentTrigger) push(`incident:${incidentTrigger}`);
  return out;
}

export async function scenarioFromIncident(log: EventLog, incidentId: string, now: number): Promise<{ scenario: Scenario; yaml: string; notes: string[] }> {
  const report = await reportIncidentById(log, incidentId, now);
  const ev: IncidentEvidence = await gatherEvidence(log, report.incident, now);
  const inc = report.incident;
  const notes: string[] = [];
  const dep = ev.deployments[0];
  const start = dep?.requestedAt ?? inc.openedAt;
  const end = inc.mitigatedAt ?? inc.resolvedAt ?? now;
  const faults: Data[] = [];
  const offset = (t: number) => `${Math.max(0, Math.round((t - start) / 1000))}s`;
  let deploy: Data | undefined;
  let cause = { summary: report.rootCause.text || inc.title, match: [] as string[] };

  if (dep) {
    deploy = { version: dep.version, at: '0s' };
    const imp = report.impact;
    const share = imp.canaryRequests && imp.canaryFailed !== undefined ? imp.canaryFailed / imp.canaryRequests : imp.failedShare;
    if (share !== undefined && share > 0) {
      faults.push({ kind: 'error', at: '0s', share: round(Math.min(1, share)), status: 500 });
      notes.push(`errors: ${Math.round(share * 1000) / 10}% of ${dep.version}'s requests failed (router counts)`);
    } else if (dep.events.some((e) => e.type === 'analysis.verdict' && (e.data as Data).verdict === 'fail')) {
      faults.push({ kind: 'error', at: '0s', share: 1, status: 500 });
      notes.push('errors: the analysis failed the version but no router counts were recorded; 100% assumed');
    }
    const compat = dep.events.find((e) => e.type === 'check.failed' && (e.data as Data).kind === 'compatibility');
    const findings = (((compat?.data as Data | undefined)?.details as Data | undefined)?.dependencies as DependencyFinding[] | undefined) ?? [];
    // In the order it was seen: after the first failure (earlier, the drill's own pre checks would
    // block the deployment before anything failed, which is not what happened).
    for (const f of findings.filter((x) => x.verdict === 'fail' && x.found)) {
      faults.push({ kind: 'dependency', after: 'failure', at: '0s', dependency: f.name, report: f.found });
      notes.push(`dependency: ${f.name} reported ${f.found} (required ${f.required}), found by the diagnosis after the first failure`);
      cause = { summary: cause.summary, match: [f.name] };
    }
    if (cause.match.length === 0) cause = { summary: cause.summary, match: [dep.version] };
  } else {
    const alert = inc.alerts[0];
    faults.push({ kind: 'error', at: '0s', share: round(report.impact.failedShare ?? 1), status: 500 });
    notes.push(`opened by ${alert ? `alert ${alert.labels.alertname ?? alert.fingerprint}` : 'a person'}; ${report.impact.failedShare !== undefined ? 'share of failures from the router counts' : 'no router counts: 100% errors assumed'}`);
    cause = { summary: cause.summary, match: [alert?.labels.alertname ?? inc.service ?? 'error'] };
  }
  if (ev.crashes.length) {
    faults.push({ kind: 'drop', at: offset(ev.crashes[0]!.time), share: round(Math.min(1, ev.crashes.length / 10)), for: `${Math.max(10, Math.round((end - ev.crashes[0]!.time) / 1000))}s` });
    notes.push(`crashes: ${ev.crashes.length} crash(es) of the version while the incident lasted`);
  }
  const lasted = Math.max(0, end - start);
  const duration = `${Math.min(4 * 3600, Math.max(15 * 60, Math.round((lasted * 2) / 1000)))}s`;
  const path = verdictPath(dep?.events ?? [], inc.trigger);
  const raw: Data = {
    version: 1,
    name: `incident-${inc.id.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`.slice(0, 64).replace(/-+$/, ''),
    title: `Replay of incident ${inc.id}: ${inc.title}`,
    description: `Derived from incident ${inc.id} (${inc.trigger}, ${inc.severity}). ${notes.join('; ')}.`,
    ...(dep ? { service: dep.service } : inc.service ? { service: inc.service } : {}),
    hits: dep ? dep.version : 'stable',
    duration,
    cause,
    faults,
    ...(deploy ? { deploy } : {}),
    mitigated_by: ['rollback', 'incident'],
    origin: { incident: inc.id, title: inc.title, verdict_path: path },
  };
  const yaml = `# Derived by \`greenlight drill from-incident ${inc.id}\`; edit and keep it in your repository.\n${stringify(raw, { lineWidth: 0 })}`;
  return { scenario: parseScenario(yaml, `incident ${inc.id}`), yaml, notes };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
