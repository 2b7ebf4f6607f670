// One call that reads everything known about an incident: the incident itself, its timeline, and
// the measured impact, durations, root cause and suggested measures. The API, the CLI and the
// postmortem all start from this.
import type { EventLog } from '../events/log.ts';
import { GreenlightError } from '../errors/errors.ts';
import { gatherEvidence } from './evidence.ts';
import { assess, type AssessOptions, type Assessment } from './measures.ts';
import type { Incident } from './model.ts';
import { loadIncident } from './projection.ts';
import { buildTimeline, type TimelineEntry } from './timeline.ts';

export interface IncidentReport extends Assessment {
  incident: Incident;
  timeline: TimelineEntry[];
  /** when it was read */
  now: number;
}

export async function reportIncident(log: EventLog, incident: Incident, now: number, opts: AssessOptions = {}): Promise<IncidentReport> {
  const ev = await gatherEvidence(log, incident, now);
  const a = assess(ev, opts);
  return { incident, ...a, timeline: buildTimeline(ev, a.milestones), now };
}

export async function reportIncidentById(log: EventLog, id: string, now: number, opts: AssessOptions = {}): Promise<IncidentReport> {
  const inc = await loadIncident(log, id);
  if (!inc) throw new GreenlightError('NOT_FOUND', `no incident ${id}`, { hint: 'list them with greenlight incident list' });
  return reportIncident(log, inc, now, opts);
}
