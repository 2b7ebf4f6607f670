// Collects what an incident is about from the log: its own events (incident.*, and the pages and
// notifications the alerting module recorded on `incident/<id>`), every event of the deployment
// that caused it (whatever its subject: router switches, canary steps and verdicts carry the
// deploymentId), and crashes of the versions involved while it lasted.
import { ofType } from '../events/catalogue/index.ts';
import type { EventLog, StoredEvent } from '../events/log.ts';
import type { Incident } from './model.ts';

export interface DeploymentEvidence {
  id: string;
  service: string;
  version: string;
  requestedAt: number;
  requestedBy: string;
  environments: string[];
  events: StoredEvent[];
}

export interface IncidentEvidence {
  incident: Incident;
  /** events on incident/<id>: incident.*, page.*, notification.* */
  own: StoredEvent[];
  deployments: DeploymentEvidence[];
  crashes: StoredEvent[];
  /** when the evidence was read; the end of an incident that is not resolved */
  now: number;
}

/** The types related to a deployment that are recorded on another subject than deployment/<id>. */
const SIDE_TYPES = ['router.switched', 'environment.stable.changed', 'rollout.*', 'analysis.*', 'check.*'];

export async function gatherEvidence(log: EventLog, incident: Incident, now: number): Promise<IncidentEvidence> {
  const own = await log.query({ subject: `incident/${incident.id}` });
  const deployments: DeploymentEvidence[] = [];
  for (const id of incident.deploymentIds) {
    const direct = await log.query({ subject: `deployment/${id}` });
    const req = direct.find(ofType('deployment.requested'));
    if (!req) continue;
    const side = (await log.query({ types: SIDE_TYPES, since: req.time })).filter((e) => e.subject !== `deployment/${id}` && 'deploymentId' in e.data && e.data.deploymentId === id);
    deployments.push({
      id,
      service: req.data.service,
      version: req.data.version,
      requestedAt: req.time,
      requestedBy: req.actor,
      environments: req.data.environments,
      events: [...direct, ...side].sort((a, b) => a.seq - b.seq),
    });
  }

  // Crashes of the service in the incident's environment, of the versions involved, while it lasted.
  const start = Math.min(incident.openedAt, ...deployments.map((d) => d.requestedAt), ...incident.alerts.map((a) => a.at));
  const end = incident.resolvedAt ?? now;
  const service = incident.service ?? deployments[0]?.service;
  const environments = new Set([incident.environment, ...deployments.flatMap((d) => rolledBackOrTouched(d))].filter((x): x is string => !!x));
  const versions = new Set(involvedVersions(deployments));
  const crashes = service
    ? (await log.query({ types: ['instance.crashed', 'instance.restarted'], since: start, until: end })).filter(ofType('instance.crashed', 'instance.restarted')).filter(({ data: d }) => {
        return d.service === service && (environments.size === 0 || environments.has(d.environment)) && (versions.size === 0 || versions.has(d.version));
      })
    : [];
  return { incident, own, deployments, crashes, now };
}

function rolledBackOrTouched(d: DeploymentEvidence): string[] {
  return [...new Set(d.events.filter(ofType('deployment.environment.started')).map((e) => e.data.environment))];
}

/** how an environment step that did not pass ended: these carry the router's figures (impact) */
const endedInEnvironment = ofType('deployment.environment.blocked', 'deployment.environment.rolled_back', 'deployment.environment.failed', 'deployment.environment.aborted');

/** The new version and the stable versions it ran against. */
export function involvedVersions(deployments: DeploymentEvidence[]): string[] {
  const out = new Set<string>();
  for (const d of deployments) {
    out.add(d.version);
    for (const e of d.events) {
      if (e.type === 'router.switched') {
        if (e.data.from !== null) out.add(e.data.from);
        out.add(e.data.to);
      }
      // the stable version the canary was measured against, where the router's figures were recorded
      if (endedInEnvironment(e) && e.data.impact) out.add(e.data.impact.stableVersion);
    }
  }
  return [...out];
}
