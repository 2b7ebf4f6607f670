// A drill's scorecard, read from the event log only (so it is the same after a restart and for
// a drill whose controller died): when the problem was detected, when a person acknowledged it,
// when the right root cause was recorded and when it was mitigated, each against the team's target.
//
// Detection counts from the drill's start (the faults went in); acknowledging, diagnosing and
// mitigating count from the first page, the moment a person was told, as the 3 June figures do
// ("acknowledged 10 minutes after the alert").
import type { StoredEvent } from '../events/log.ts';
import { isPerson } from '../incidents/model.ts';
import { rootCauseMatches, type Scenario } from './scenario.ts';
import type { DrillTargets } from './schema.ts';

export type MeasureName = 'detect' | 'acknowledge' | 'diagnose' | 'mitigate';
export const MEASURES: readonly MeasureName[] = ['detect', 'acknowledge', 'diagnose', 'mitigate'];

export interface Measure {
  /** null when it never happened during the drill */
  ms: number | null;
  targetMs: number | null;
  /** null when there is no target */
  met: boolean | null;
  from: 'start' | 'page';
  at: number | null;
  by: string | null;
}

export interface Scorecard {
  drillId: string;
  scenario: string;
  title: string;
  environment: string;
  service: string;
  version: string | null;
  participants: string[];
  startedBy: string;
  startedAt: number;
  endedAt: number | null;
  outcome: string | null;
  incidentId: string | null;
  pagedAt: number | null;
  pagedUsers: string[];
  rootCause: string | null;
  wrongDiagnoses: { at: number; by: string; text: string }[];
  mitigation: string | null;
  measures: Record<MeasureName, Measure>;
  passed: boolean;
  /** why it did not pass, in words */
  misses: string[];
  faults: { id: string; kind: string; at: number; detail: string }[];
  /** every action people took during the drill, in order */
  actions: { at: number; by: string; what: string }[];
  production: boolean;
  reason: string | null;
}

type Data = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Events a scorecard reads: the drill's own, and those of its incident. */
export function scoreDrill(drillId: string, events: readonly StoredEvent[], teamTargets: DrillTargets): Scorecard | null {
  const mine = events.filter((e) => e.subject === `drill/${drillId}`);
  const started = mine.find((e) => e.type === 'drill.started');
  if (!started) return null;
  const d = started.data as Data;
  const scenario = d.scenario as Scenario;
  const ended = mine.find((e) => e.type === 'drill.ended');
  const until = ended?.time ?? Infinity;
  const incidentId = str(mine.find((e) => e.type === 'drill.incident.linked')?.data.incidentId);
  const during = events.filter((e) => e.time >= started.time && e.time <= until);
  const onIncident = incidentId ? during.filter((e) => e.subject === `incident/${incidentId}`) : [];

  const detected = during.find((e) => e.type === 'alert.firing' && (e.data.labels as Data | undefined)?.drill === drillId) ?? onIncident.find((e) => e.type === 'incident.opened');
  const paged = onIncident.find((e) => e.type === 'page.sent');
  const acked = onIncident.find((e) => (e.type === 'page.acknowledged' || e.type === 'incident.acknowledged') && isPerson(e.actor));
  const causes = onIncident.filter((e) => e.type === 'incident.root_cause.set');
  const right = causes.find((e) => rootCauseMatches(scenario, String(e.data.text ?? '')));
  const wrong = causes.filter((e) => e !== right && (right === undefined || e.time <= right.time)).map((e) => ({ at: e.time, by: e.actor, text: String(e.data.text ?? '') }));
  const mitigated = mine.find((e) => e.type === 'drill.mitigated');

  const targets = { ...teamTargets, ...(scenario.targets ?? {}) } as Partial<Record<MeasureName, number>>;
  const base = paged?.time ?? detected?.time ?? started.time;
  const measure = (name: MeasureName, e: StoredEvent | undefined, from: 'start' | 'page', by?: string | null): Measure => {
    const origin = from === 'start' ? started.time : base;
    const ms = e ? e.time - origin : null;
    const targetMs = targets[name] ?? null;
    return { ms, targetMs, met: targetMs === null ? null : ms !== null && ms <= targetMs, from, at: e?.time ?? null, by: by ?? (e ? e.actor : null) };
  };
  const measures: Record<MeasureName, Measure> = {
    detect: measure('detect', detected, 'start'),
    acknowledge: measure('acknowledge', acked, 'page'),
    diagnose: measure('diagnose', right, 'page'),
    mitigate: measure('mitigate', mitigated, 'page', mitigated ? str(mitigated.data.actor) : null),
  };
  const misses: string[] = [];
  if (!detected) misses.push('the problem was never detected');
  if (!acked) misses.push('nobody acknowledged');
  if (!right) misses.push(causes.length ? 'the recorded root cause does not name the cause' : 'no root cause was recorded');
  if (!mitigated) misses.push('it was not mitigated before the drill ended');
  for (const n of MEASURES) {
    const m = measures[n];
    if (m.met === false && m.ms !== null) misses.push(`${n} took longer than the target`);
  }

  const actions = during
    .filter((e) => isPerson(e.actor) && (e.subject === `incident/${incidentId}` || e.subject.startsWith('deployment/') || e.type.startsWith('rollout.') || e.type.startsWith('page.')))
    .map((e) => ({ at: e.time, by: e.actor, what: describeAction(e) }));

  return {
    drillId,
    scenario: scenario.name,
    title: scenario.title,
    environment: String(d.environment),
    service: String(d.service),
    version: str(d.version),
    participants: (d.participants as string[] | undefined) ?? [],
    startedBy: started.actor,
    startedAt: started.time,
    endedAt: ended?.time ?? null,
    outcome: ended ? String(ended.data.outcome) : null,
    incidentId,
    pagedAt: paged?.time ?? null,
    pagedUsers: ((paged?.data.users as string[] | undefined) ?? []).map(String),
    rootCause: right ? String(right.data.text) : null,
    wrongDiagnoses: wrong,
    mitigation: mitigated ? String(mitigated.data.by) : null,
    measures,
    passed: misses.length === 0,
    misses,
    faults: mine
      .filter((e) => e.type === 'drill.fault.injected')
      .map((e) => ({ id: String(e.data.faultId), kind: String(e.data.kind), at: e.time, detail: String(e.data.detail ?? '') })),
    actions,
    production: d.production === true,
    reason: str(d.reason),
  };
}

function describeAction(e: StoredEvent): string {
  switch (e.type) {
    case 'page.acknowledged':
      return 'acknowledged the page';
    case 'incident.acknowledged':
      return 'acknowledged the incident';
    case 'incident.root_cause.set':
      return `recorded the root cause "${String(e.data.text ?? '')}"`;
    case 'incident.mitigated':
      return 'marked the incident mitigated';
    case 'incident.note.added':
      return `added a note "${String(e.data.text ?? '')}"`;
    case 'deployment.requested':
      return e.data.rollback ? `rolled back ${String(e.data.service)} to ${String(e.data.version)}` : `deployed ${String(e.data.service)}@${String(e.data.version)}`;
    case 'rollout.paused':
      return 'paused the rollout';
    default:
      return e.type;
  }
}
