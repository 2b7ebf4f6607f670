// Incident routes of the v1 API. The controller mounts them on its Routes:
//   incidentRoutes(routes, { events: c.events, clock: c.clock, actorOf })
// Every write is one event with the caller as actor; every read is a projection of the log.
import type { Clock } from '../clock/clock.ts';
import { GreenlightError } from '../errors/errors.ts';
import type { EventLog } from '../events/log.ts';
import { Incidents } from '../incidents/incidents.ts';
import type { AssessOptions } from '../incidents/measures.ts';
import type { IncidentState } from '../incidents/model.ts';
import { draftPostmortem, postmortemJson } from '../incidents/postmortem.ts';
import type { Request, Routes } from './http.ts';

export interface IncidentRouteDeps {
  events: EventLog;
  clock: Clock;
  /** who is calling, e.g. "user:alice": the authenticated identity (never a header) */
  actorOf: (req: Request) => string;
  /** thresholds for the suggested measures (slow acknowledgement, slow detection) */
  assess?: AssessOptions;
}

const STATES = new Set(['open', 'acknowledged', 'mitigated', 'resolved', 'active']);

export function incidentRoutes(routes: Routes, deps: IncidentRouteDeps): Routes {
  const incidents = new Incidents({ events: deps.events, clock: deps.clock, ...(deps.assess ? { assess: deps.assess } : {}) });
  const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;
  const optString = (b: Record<string, unknown>, key: string): string | undefined => {
    const v = b[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new GreenlightError('USAGE', `"${key}" must be a string`);
    return v.trim() || undefined;
  };
  const text = (req: Request, what: string): string => {
    const t = optString(body(req), 'text');
    if (!t) throw new GreenlightError('USAGE', `"text" is required: the ${what}`);
    return t;
  };
  const id = (req: Request) => req.params.id!;
  const detail = async (incidentId: string) => {
    const r = await incidents.report(incidentId);
    return { incident: r.incident, timeline: r.timeline, impact: r.impact, durations: r.durations, milestones: r.milestones, rootCause: r.rootCause, measures: r.measures, breakGlass: r.breakGlass };
  };

  return routes
    .add('GET', '/v1/incidents', async (req) => {
      const state = req.query.get('state') ?? undefined;
      if (state && !STATES.has(state)) throw new GreenlightError('USAGE', `unknown state "${state}"`, { hint: `one of ${[...STATES].join(', ')}` });
      const service = req.query.get('service') ?? undefined;
      const environment = req.query.get('environment') ?? undefined;
      return { incidents: await incidents.list({ ...(state ? { state: state as IncidentState | 'active' } : {}), ...(service ? { service } : {}), ...(environment ? { environment } : {}) }) };
    })
    .add('GET', '/v1/incidents/:id', async (req) => detail(id(req)))
    .add('POST', '/v1/incidents', async (req) => {
      const b = body(req);
      const service = optString(b, 'service');
      const environment = optString(b, 'environment');
      const deploymentId = optString(b, 'deploymentId');
      const summary = optString(b, 'summary');
      const inc = await incidents.open(
        {
          title: optString(b, 'title') ?? '',
          severity: b.severity,
          ...(service ? { service } : {}),
          ...(environment ? { environment } : {}),
          ...(deploymentId ? { deploymentId } : {}),
          ...(summary ? { summary } : {}),
        },
        deps.actorOf(req),
      );
      return { status: 201, body: { incident: inc } };
    })
    .add('POST', '/v1/incidents/:id/acknowledge', async (req) => ({ incident: await incidents.acknowledge(id(req), deps.actorOf(req)) }))
    .add('POST', '/v1/incidents/:id/mitigate', async (req) => ({ incident: await incidents.mitigate(id(req), deps.actorOf(req), optString(body(req), 'text')) }))
    .add('POST', '/v1/incidents/:id/resolve', async (req) => ({ incident: await incidents.resolve(id(req), deps.actorOf(req), optString(body(req), 'text')) }))
    .add('POST', '/v1/incidents/:id/notes', async (req) => ({ status: 201, body: { incident: await incidents.note(id(req), deps.actorOf(req), text(req, 'note')) } }))
    .add('POST', '/v1/incidents/:id/root-cause', async (req) => ({ incident: await incidents.setRootCause(id(req), deps.actorOf(req), text(req, 'root cause')) }))
    .add('POST', '/v1/incidents/:id/severity', async (req) => ({ incident: await incidents.setSeverity(id(req), deps.actorOf(req), body(req).severity) }))
    .add('GET', '/v1/incidents/:id/postmortem', async (req) => {
      const format = req.query.get('format') ?? 'md';
      if (format !== 'md' && format !== 'json') throw new GreenlightError('USAGE', `unknown format "${format}"`, { hint: 'format=md or format=json' });
      const tz = req.query.get('tz') ?? undefined;
      const opts = tz ? { timeZone: tz } : {};
      const r = await incidents.report(id(req));
      if (format === 'json') return { format, postmortem: postmortemJson(r, r.timeline, opts) };
      return { format, incidentId: r.incident.id, markdown: draftPostmortem(r, r.timeline, opts) };
    });
}
