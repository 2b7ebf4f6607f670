// Incidents are a fold over the log: `incident.*` events on `incident/<id>`, plus the acknowledgement
// of a page linked to the incident (the on-call engineer acknowledging the page acknowledges the
// incident; nobody should have to do it twice).
import type { EventLog, StoredEvent } from '../events/log.ts';
import { INCIDENT_EVENTS as E, parseSeverity, stateRank, type Incident, type IncidentState, type IncidentTrigger, type Severity } from './model.ts';

type Data = Record<string, unknown>;
const str = (d: Data, k: string): string | undefined => (typeof d[k] === 'string' && d[k] !== '' ? (d[k] as string) : undefined);

export function incidentIdOf(subject: string): string | undefined {
  return subject.startsWith('incident/') ? subject.slice('incident/'.length) : undefined;
}

/** Applies one event to the map of incidents; events about other things are ignored. */
export function applyIncidentEvent(incidents: Map<string, Incident>, e: StoredEvent): void {
  const id = incidentIdOf(e.subject);
  if (id === undefined) return;
  const d = e.data as Data;
  if (e.type === E.opened) {
    if (incidents.has(id)) return;
    let severity: Severity = 'sev3';
    try {
      severity = parseSeverity(d.severity);
    } catch {
      // an unreadable severity in an old event should not hide the incident
    }
    const deploymentId = str(d, 'deploymentId');
    const cause = str(d, 'cause');
    const service = str(d, 'service');
    const environment = str(d, 'environment');
    const summary = str(d, 'summary');
    incidents.set(id, {
      id,
      title: str(d, 'title') ?? id,
      severity,
      state: 'open',
      trigger: (str(d, 'trigger') ?? 'manual') as IncidentTrigger,
      ...(cause ? { cause } : {}),
      ...(service ? { service } : {}),
      ...(environment ? { environment } : {}),
      ...(summary ? { summary } : {}),
      deploymentIds: deploymentId ? [deploymentId] : [],
      openedAt: e.time,
      openedBy: e.actor,
      notes: [],
      alerts: [],
      lastSeq: e.seq,
    });
    return;
  }
  const inc = incidents.get(id);
  if (!inc) return;
  inc.lastSeq = e.seq;
  const advance = (to: IncidentState) => {
    if (stateRank(to) > stateRank(inc.state)) inc.state = to;
  };
  switch (e.type) {
    case E.acknowledged:
    case 'page.acknowledged':
      if (inc.acknowledgedAt === undefined) {
        inc.acknowledgedAt = e.time;
        inc.acknowledgedBy = e.actor;
      }
      advance('acknowledged');
      break;
    case E.mitigated:
      if (inc.mitigatedAt === undefined) {
        inc.mitigatedAt = e.time;
        inc.mitigatedBy = e.actor;
      }
      advance('mitigated');
      break;
    case E.resolved:
      if (inc.resolvedAt === undefined) {
        inc.resolvedAt = e.time;
        inc.resolvedBy = e.actor;
      }
      advance('resolved');
      break;
    case E.note:
      inc.notes.push({ at: e.time, actor: e.actor, text: str(d, 'text') ?? '' });
      break;
    case E.rootCause:
      inc.rootCause = { text: str(d, 'text') ?? '', by: e.actor, at: e.time };
      break;
    case E.severity:
      try {
        inc.severity = parseSeverity(d.severity);
      } catch {
        // ignored, as above
      }
      break;
    case E.alertJoined:
      inc.alerts.push({
        fingerprint: str(d, 'fingerprint') ?? '',
        labels: (d.labels ?? {}) as Record<string, string>,
        summary: str(d, 'summary') ?? '',
        severity: str(d, 'severity') ?? '',
        at: e.time,
      });
      break;
  }
}

export function foldIncidents(events: Iterable<StoredEvent>): Map<string, Incident> {
  const out = new Map<string, Incident>();
  for (const e of events) applyIncidentEvent(out, e);
  return out;
}

/** Every event an incident projection needs: the incident subjects. */
export async function loadIncidents(log: EventLog): Promise<Map<string, Incident>> {
  return foldIncidents(await log.query({ subject: 'incident/*' }));
}

export async function loadIncident(log: EventLog, id: string): Promise<Incident | undefined> {
  return foldIncidents(await log.query({ subject: `incident/${id}` })).get(id);
}
