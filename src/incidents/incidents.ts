// What people do to incidents: open one by hand, acknowledge, mark mitigated, resolve, add notes,
// write the root cause, change the severity. Each is one event with the person as actor; the
// lifecycle only moves forward (open -> acknowledged -> mitigated -> resolved, steps may be skipped).
import type { Clock } from '../clock/clock.ts';
import { GreenlightError } from '../errors/errors.ts';
import { eventWith, type DataBesides } from '../events/catalogue/index.ts';
import type { EventLog } from '../events/log.ts';
import { newIncidentId } from './automation.ts';
import type { AssessOptions } from './measures.ts';
import { INCIDENT_EVENTS as E, incidentSubject, parseSeverity, stateRank, type Incident, type IncidentState } from './model.ts';
import { loadIncident, loadIncidents } from './projection.ts';
import { reportIncident, type IncidentReport } from './report.ts';

export interface OpenIncidentInput {
  title: string;
  severity: unknown;
  service?: string;
  environment?: string;
  /** link the incident to a deployment, so its events join the timeline */
  deploymentId?: string;
  summary?: string;
}

export interface ListFilter {
  state?: IncidentState | 'active';
  service?: string;
  environment?: string;
}

export class Incidents {
  private readonly events: EventLog;
  private readonly clock: Clock;
  private readonly assessOptions: AssessOptions;

  constructor(deps: { events: EventLog; clock: Clock; assess?: AssessOptions }) {
    this.events = deps.events;
    this.clock = deps.clock;
    this.assessOptions = deps.assess ?? {};
  }

  async list(filter: ListFilter = {}): Promise<Incident[]> {
    const all = [...(await loadIncidents(this.events)).values()].sort((a, b) => b.openedAt - a.openedAt);
    return all.filter(
      (i) =>
        (!filter.state || (filter.state === 'active' ? i.state !== 'resolved' : i.state === filter.state)) &&
        (!filter.service || i.service === filter.service) &&
        (!filter.environment || i.environment === filter.environment),
    );
  }

  async get(id: string): Promise<Incident> {
    const inc = await loadIncident(this.events, id);
    if (!inc) throw new GreenlightError('NOT_FOUND', `no incident ${id}`, { hint: 'list them with greenlight incident list' });
    return inc;
  }

  async report(id: string): Promise<IncidentReport> {
    return reportIncident(this.events, await this.get(id), this.clock.now(), this.assessOptions);
  }

  async open(input: OpenIncidentInput, actor: string): Promise<Incident> {
    const title = input.title?.trim();
    if (!title) throw new GreenlightError('USAGE', 'an incident needs a title', { hint: 'greenlight incident open "checkout returns 500" --severity sev2' });
    // required, as the CLI's --severity is: a guessed default would hide how bad it is from the
    // pages and the postmortem; the 400 names the field and its values
    if (input.severity === undefined || input.severity === null || input.severity === '') {
      throw new GreenlightError('USAGE', 'an incident needs a severity: the "severity" field is missing', { hint: 'send "severity": one of sev1 (most users cannot use the service) .. sev4 (no user impact); greenlight incident open "title" --severity sev2' });
    }
    const severity = parseSeverity(input.severity);
    const id = newIncidentId(this.clock);
    await this.events.append({
      type: E.opened,
      actor,
      subject: incidentSubject(id),
      data: {
        incidentId: id,
        title,
        severity,
        trigger: 'manual',
        ...(input.service ? { service: input.service } : {}),
        ...(input.environment ? { environment: input.environment } : {}),
        ...(input.deploymentId ? { deploymentId: input.deploymentId, cause: `deployment/${input.deploymentId}` } : {}),
        ...(input.summary ? { summary: input.summary } : {}),
      },
    });
    return this.get(id);
  }

  acknowledge(id: string, actor: string): Promise<Incident> {
    return this.transition(id, 'acknowledged', E.acknowledged, actor, {});
  }

  mitigate(id: string, actor: string, text?: string): Promise<Incident> {
    return this.transition(id, 'mitigated', E.mitigated, actor, text ? { text } : {});
  }

  resolve(id: string, actor: string, text?: string): Promise<Incident> {
    return this.transition(id, 'resolved', E.resolved, actor, text ? { text } : {});
  }

  async note(id: string, actor: string, text: string): Promise<Incident> {
    if (!text?.trim()) throw new GreenlightError('USAGE', 'a note needs text');
    await this.get(id);
    await this.events.append({ type: E.note, actor, subject: incidentSubject(id), data: { incidentId: id, text: text.trim() } });
    return this.get(id);
  }

  async setRootCause(id: string, actor: string, text: string): Promise<Incident> {
    if (!text?.trim()) throw new GreenlightError('USAGE', 'a root cause needs text', { hint: 'the drafted root cause stays until a person writes one' });
    await this.get(id);
    await this.events.append({ type: E.rootCause, actor, subject: incidentSubject(id), data: { incidentId: id, text: text.trim() } });
    return this.get(id);
  }

  async setSeverity(id: string, actor: string, severity: unknown): Promise<Incident> {
    const sev = parseSeverity(severity);
    const inc = await this.get(id);
    if (inc.severity !== sev) await this.events.append({ type: E.severity, actor, subject: incidentSubject(id), data: { incidentId: id, severity: sev, previous: inc.severity } });
    return this.get(id);
  }

  private async transition<T extends 'incident.acknowledged' | 'incident.mitigated' | 'incident.resolved'>(
    id: string,
    to: IncidentState,
    type: T,
    actor: string,
    data: DataBesides<T, { incidentId: string }>,
  ): Promise<Incident> {
    const inc = await this.get(id);
    if (inc.state === 'resolved') {
      throw new GreenlightError('CONFLICT', `incident ${id} was resolved by ${inc.resolvedBy} already`, { hint: 'open a new incident if the problem is back' });
    }
    const done = to === 'acknowledged' ? inc.acknowledgedAt : to === 'mitigated' ? inc.mitigatedAt : undefined;
    if (done !== undefined) {
      const by = to === 'acknowledged' ? inc.acknowledgedBy : inc.mitigatedBy;
      throw new GreenlightError('CONFLICT', `incident ${id} is already ${to} (by ${by})`, { hint: stateRank(to) < stateRank('resolved') ? `resolve it with greenlight incident resolve ${id}` : undefined });
    }
    await this.events.append(eventWith({ incidentId: id }, { actor, subject: incidentSubject(id) })(type, data));
    return this.get(id);
  }
}
