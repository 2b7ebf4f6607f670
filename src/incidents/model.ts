// What an incident is, as the rest of Greenlight sees it. An incident is never stored on its own:
// it is a fold of the `incident.*` events on `incident/<id>` (plus page acknowledgements on the same
// subject), so a restart, a second controller or a postmortem all read the same thing.
import { GreenlightError } from '../errors/errors.ts';

/**
 * One scheme, numbered as most on-call tools do (PagerDuty, incident.io, FireHydrant):
 * sev1 most users cannot use the service; sev2 a share of users is affected in production;
 * sev3 degraded or limited impact, or outside production; sev4 no user impact (a near miss).
 */
export const SEVERITIES = ['sev1', 'sev2', 'sev3', 'sev4'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const SEVERITY_MEANING: Record<Severity, string> = {
  sev1: 'most users cannot use the service',
  sev2: 'a share of users is affected in production',
  sev3: 'degraded or limited impact, or outside production',
  sev4: 'no user impact (a near miss)',
};

/** Accepts sev1..sev4, 1..4, and the critical/major/minor/low words people type anyway. */
export function parseSeverity(raw: unknown): Severity {
  // Only a string or a number is a severity: String() of an object can throw, and an own-keys
  // lookup keeps "constructor" from reaching Object.prototype (both found by the API fuzz test).
  if (typeof raw !== 'string' && typeof raw !== 'number') {
    throw new GreenlightError('USAGE', `the severity must be a string such as "sev2", not ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`, { hint: `use one of ${SEVERITIES.join(', ')} (sev1 is the worst)` });
  }
  const s = String(raw).trim().toLowerCase();
  const words: Record<string, Severity> = { critical: 'sev1', major: 'sev2', minor: 'sev3', low: 'sev4', info: 'sev4' };
  if ((SEVERITIES as readonly string[]).includes(s)) return s as Severity;
  if (/^[1-4]$/.test(s)) return `sev${s}` as Severity;
  const w = Object.hasOwn(words, s) ? words[s] : undefined;
  if (w) return w;
  throw new GreenlightError('USAGE', `"${s.slice(0, 100)}" is not a severity`, { hint: `use one of ${SEVERITIES.join(', ')} (sev1 is the worst)` });
}

/** How an alert's `severity` label maps to an incident severity. */
export function severityOfAlert(label: string | undefined): Severity {
  switch ((label ?? '').toLowerCase()) {
    case 'critical':
      return 'sev1';
    case 'page':
    case 'error':
      return 'sev2';
    case 'warning':
      return 'sev3';
    default:
      return 'sev4';
  }
}

export type IncidentState = 'open' | 'acknowledged' | 'mitigated' | 'resolved';
const ORDER: Record<IncidentState, number> = { open: 0, acknowledged: 1, mitigated: 2, resolved: 3 };
export const stateRank = (s: IncidentState): number => ORDER[s];

export type IncidentTrigger = 'rollback' | 'post-check' | 'switch-failed' | 'alert' | 'manual';

export interface JoinedAlert {
  fingerprint: string;
  labels: Record<string, string>;
  summary: string;
  severity: string;
  at: number;
}

export interface IncidentNote {
  at: number;
  actor: string;
  text: string;
}

export interface Incident {
  id: string;
  title: string;
  severity: Severity;
  state: IncidentState;
  trigger: IncidentTrigger;
  /** one incident per cause: "deployment/<id>" for a deployment, "alert/<service>/<env>" for alerts, absent when opened by hand */
  cause?: string;
  service?: string;
  environment?: string;
  /** the deployments this incident is about (the one that caused it) */
  deploymentIds: string[];
  openedAt: number;
  openedBy: string;
  acknowledgedAt?: number;
  acknowledgedBy?: string;
  mitigatedAt?: number;
  mitigatedBy?: string;
  resolvedAt?: number;
  resolvedBy?: string;
  /** set by a person; overrides the drafted root cause */
  rootCause?: { text: string; by: string; at: number };
  notes: IncidentNote[];
  alerts: JoinedAlert[];
  /** what opened it, in one line */
  summary?: string;
  lastSeq: number;
}

export const INCIDENT_EVENTS = {
  opened: 'incident.opened',
  acknowledged: 'incident.acknowledged',
  mitigated: 'incident.mitigated',
  resolved: 'incident.resolved',
  note: 'incident.note.added',
  rootCause: 'incident.root_cause.set',
  severity: 'incident.severity.changed',
  alertJoined: 'incident.alert.joined',
} as const;

export const incidentSubject = (id: string): string => `incident/${id}`;

export function isOpen(i: Pick<Incident, 'state'>): boolean {
  return i.state !== 'resolved';
}

/** True for actors that are people ("user:alice"), as opposed to the controller, alerting or a router. */
export function isPerson(actor: string): boolean {
  return actor.startsWith('user:');
}
