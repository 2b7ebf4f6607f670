// What an incident cost and how fast we reacted, measured from the recorded events, never typed in:
// the milestones (impact start, detection, mitigation, acknowledgement, resolution), the durations
// between them, the router's figures for the requests and clients hit, a root cause drafted from the
// strongest evidence, and corrective measures suggested from what happened.
import { ofType, type EventOf } from '../events/catalogue/index.ts';
import type { StoredEvent } from '../events/log.ts';
import type { DependencyFinding } from '../checks/compatibility/compatibility-check.ts';
import { involvedVersions, type IncidentEvidence } from './evidence.ts';

type CheckFailed = EventOf<'check.failed'>;
type Verdict = EventOf<'analysis.verdict'>;

export interface Milestones {
  deploymentRequestedAt?: number;
  /** all traffic moved to the new version, or the first canary step that gave it traffic */
  switchedAt?: number;
  firstCanaryRequestAt?: number;
  firstFailedAt?: number;
  /** the first failed request, else the switch, else the alert, else the opening */
  impactStartAt: number;
  /** the first failing analysis verdict or failing check after the switch, else the alert, else the opening */
  detectedAt?: number;
  /** the first page sent for this incident */
  firstPagedAt?: number;
  /** the canary at weight zero or the router switched back; else the incident marked mitigated */
  mitigatedAt?: number;
  acknowledgedAt?: number;
  resolvedAt?: number;
}

export interface Durations {
  /** impact start to detection */
  timeToDetectMs?: number;
  /** impact start to traffic back on the good version */
  timeToMitigateMs?: number;
  /** first page (or the opening when nobody was paged) to acknowledgement */
  timeToAcknowledgeMs?: number;
  /** impact start to resolution */
  timeToResolveMs?: number;
  /** how long users were hit: impact start to mitigation (to now while it lasts) */
  impactMs: number;
  ongoing: boolean;
}

export interface Impact {
  /** true when the router measured the figures (a canary rollout); false for all-at-once releases and alerts */
  measured: boolean;
  requests?: number;
  failed?: number;
  /** failed / requests */
  failedShare?: number;
  canaryRequests?: number;
  canaryFailed?: number;
  clients?: number;
  clientsWithErrors?: number;
  /** clientsWithErrors / clients */
  clientsAffectedShare?: number;
  stableVersion?: string;
  canaryVersion?: string;
  /** every version that served during the incident */
  versions: string[];
  crashes: number;
}

export interface RootCause {
  text: string;
  source: 'person' | 'compatibility' | 'analysis' | 'check' | 'switch' | 'alert' | 'none';
  /** who wrote it, when a person did */
  by?: string;
  /** what the draft would say, kept beside a person's text */
  draft: string;
}

export interface Measure {
  text: string;
  /** why it is suggested */
  because: string;
}

export interface BreakGlass {
  environment: string;
  skipped: string;
  actor: string;
  reason: string;
  at: number;
}

export interface Assessment {
  milestones: Milestones;
  durations: Durations;
  impact: Impact;
  rootCause: RootCause;
  measures: Measure[];
  breakGlass: BreakGlass[];
  /** the environment the incident is about */
  environment?: string;
}

export interface AssessOptions {
  /** acknowledgements slower than this are called out; 5 min by default */
  ackTargetMs?: number;
  /** detections slower than this are called out; 5 min by default */
  detectTargetMs?: number;
}

const first = (xs: (number | undefined)[]): number | undefined => {
  const v = xs.filter((x): x is number => x !== undefined);
  return v.length ? Math.min(...v) : undefined;
};

export function assess(ev: IncidentEvidence, opts: AssessOptions = {}): Assessment {
  const inc = ev.incident;
  const dep = ev.deployments[0];
  const events: StoredEvent[] = ev.deployments.flatMap((d) => d.events);
  const env = inc.environment ?? lastTouched(events);
  const inEnv = (e: { data: { environment: string } }) => !env || e.data.environment === env;
  // what the router measured, as recorded when the canary was rolled back
  const imp = events.filter(ofType('deployment.environment.rolled_back')).find((e) => e.data.impact)?.data.impact;
  const switches = events.filter(ofType('router.switched'));

  const switchedAt = first([
    ...switches.filter((e) => dep && e.data.to === dep.version && inEnv(e)).map((e) => e.time),
    ...events.filter(ofType('rollout.step.started')).filter((e) => e.data.weight > 0 && inEnv(e)).map((e) => e.time),
  ]);
  const firstFailedAt = imp?.firstFailedAt ?? undefined;
  const alertStart = first(inc.alerts.map((a) => a.at));
  const impactStartAt = firstFailedAt ?? switchedAt ?? alertStart ?? inc.openedAt;

  const failingVerdicts = events.filter(ofType('analysis.verdict')).filter((e) => e.data.verdict === 'fail' && inEnv(e));
  const failingChecks = events.filter(ofType('check.failed')).filter((e) => e.data.phase === 'post' && inEnv(e) && (switchedAt === undefined || e.time >= switchedAt));
  const detectedAt =
    first([...failingVerdicts.map((e) => e.time), ...failingChecks.map((e) => e.time)]) ?? imp?.verdictAt ?? alertStart ?? (dep ? undefined : inc.openedAt);

  // traffic back on the good version: the canary at weight zero, or the router switched back
  const switchedBack = switches.filter((e) => inEnv(e) && dep && e.data.to !== dep.version && (switchedAt === undefined || e.time >= switchedAt));
  const restoredAt = [...events.filter(ofType('rollout.weight.zero')).filter(inEnv), ...switchedBack].map((e) => e.time);
  const mitigatedAt = first(restoredAt) ?? imp?.weightZeroAt ?? inc.mitigatedAt;
  const firstPagedAt = first(ev.own.filter((e) => e.type === 'page.sent').map((e) => e.time));

  const milestones: Milestones = {
    impactStartAt,
    ...(dep ? { deploymentRequestedAt: dep.requestedAt } : {}),
    ...(switchedAt !== undefined ? { switchedAt } : {}),
    ...(imp?.firstCanaryRequestAt != null ? { firstCanaryRequestAt: imp.firstCanaryRequestAt } : {}),
    ...(firstFailedAt !== undefined ? { firstFailedAt } : {}),
    ...(detectedAt !== undefined ? { detectedAt } : {}),
    ...(firstPagedAt !== undefined ? { firstPagedAt } : {}),
    ...(mitigatedAt !== undefined ? { mitigatedAt } : {}),
    ...(inc.acknowledgedAt !== undefined ? { acknowledgedAt: inc.acknowledgedAt } : {}),
    ...(inc.resolvedAt !== undefined ? { resolvedAt: inc.resolvedAt } : {}),
  };

  const since = (t: number | undefined, from: number) => (t === undefined ? undefined : Math.max(0, t - from));
  const ackFrom = firstPagedAt ?? inc.openedAt;
  const durations: Durations = {
    impactMs: Math.max(0, (mitigatedAt ?? inc.resolvedAt ?? ev.now) - impactStartAt),
    ongoing: mitigatedAt === undefined && inc.resolvedAt === undefined,
  };
  const ttd = since(detectedAt, impactStartAt);
  const ttm = since(mitigatedAt, impactStartAt);
  const tta = since(inc.acknowledgedAt, ackFrom);
  const ttr = since(inc.resolvedAt, impactStartAt);
  if (ttd !== undefined) durations.timeToDetectMs = ttd;
  if (ttm !== undefined) durations.timeToMitigateMs = ttm;
  if (tta !== undefined) durations.timeToAcknowledgeMs = tta;
  if (ttr !== undefined) durations.timeToResolveMs = ttr;

  const impact: Impact = { measured: imp !== undefined, versions: involvedVersions(ev.deployments), crashes: ev.crashes.filter((e) => e.type === 'instance.crashed').length };
  if (imp) {
    for (const k of ['requests', 'failed', 'canaryRequests', 'canaryFailed', 'clients', 'clientsWithErrors'] as const) impact[k] = imp[k];
  }
  if (impact.requests && impact.failed !== undefined) impact.failedShare = impact.failed / impact.requests;
  if (impact.clients && impact.clientsWithErrors !== undefined) impact.clientsAffectedShare = impact.clientsWithErrors / impact.clients;
  if (imp) impact.stableVersion = imp.stableVersion;
  if (imp) impact.canaryVersion = imp.canaryVersion;
  else if (dep) impact.canaryVersion = dep.version;
  if (!impact.stableVersion && switchedBack[0]) impact.stableVersion = switchedBack[0].data.to;
  for (const v of inc.alerts.map((a) => a.labels.version).filter((v): v is string => !!v)) if (!impact.versions.includes(v)) impact.versions.push(v);

  const breakGlass: BreakGlass[] = events
    .filter(ofType('deployment.gate.overridden'))
    .map(({ data: d, actor, time }) => ({ environment: d.environment, skipped: d.previous, actor: d.forcedBy || actor, reason: d.reason ?? '', at: time }));

  const rootCause = draftRootCause(ev, events, env);
  const measures = suggestMeasures(ev, events, { env, durations, breakGlass, failingVerdicts, failingChecks, impact, opts });
  return { milestones, durations, impact, rootCause, measures, breakGlass, ...(env ? { environment: env } : {}) };
}

function lastTouched(events: StoredEvent[]): string | undefined {
  return events.filter(ofType('deployment.environment.started')).at(-1)?.data.environment;
}

/** The failing findings of a compatibility check: its details are the check kind's own (checks/compatibility). */
function failingFindings(e: CheckFailed): DependencyFinding[] {
  const deps = e.data.kind === 'compatibility' ? e.data.details?.dependencies : undefined;
  return Array.isArray(deps) ? deps.filter((f: Partial<DependencyFinding> | null): f is DependencyFinding => !!f && f.verdict === 'fail' && typeof f.name === 'string') : [];
}

/** "http://host/version, field "version"" reads better as the URL alone in a sentence. */
const placeOf = (where: string | undefined) => (where ?? '').replace(/, field "[^"]*"$/, '');

function draftRootCause(ev: IncidentEvidence, events: StoredEvent[], env: string | undefined): RootCause {
  const draft = ((): Omit<RootCause, 'draft'> => {
    // 1. A compatibility check that failed: the diagnosis after a rollback first, then any other.
    const compat = events
      .filter(ofType('check.failed'))
      .filter((e) => failingFindings(e).length)
      .sort((a, b) => Number(b.data.phase === 'diagnosis') - Number(a.data.phase === 'diagnosis'))[0];
    if (compat) {
      const d = compat.data;
      const where = d.environment || env || 'the environment';
      const text = failingFindings(compat)
        .map((f) => `release ${d.service}@${d.version} requires ${f.name} ${f.required}; ${where} runs ${f.name} ${f.found ?? '(unknown)'}${f.where ? ` (read from ${placeOf(f.where)})` : ''}`)
        .join('. ');
      return { text, source: 'compatibility' };
    }
    // 2. The canary analysis that failed.
    const verdict = events.filter(ofType('analysis.verdict')).find((e) => e.data.verdict === 'fail');
    if (verdict) {
      const d = verdict.data;
      return { text: `the canary ${d.service}@${d.version} failed its analysis against the stable version in ${d.environment}: ${d.summary || 'no summary recorded'}`, source: 'analysis' };
    }
    // 3. The check that failed after the switch.
    const check = events.find(ofType('check.failed'));
    if (check) {
      const d = check.data;
      return { text: `check ${d.name} failed on ${d.service}@${d.version} in ${d.environment}: ${firstLine(d.message)}`, source: 'check' };
    }
    const failed = events.filter(ofType('deployment.environment.failed')).find((e) => e.data.stage === 'switch');
    if (failed) return { text: failed.data.reason, source: 'switch' };
    const alert = ev.incident.alerts[0];
    if (alert) return { text: `alert ${alert.labels.alertname ?? alert.fingerprint} fired: ${alert.summary}; the cause is not recorded yet`, source: 'alert' };
    return { text: 'not determined from the recorded events yet', source: 'none' };
  })();
  const set = ev.incident.rootCause;
  if (set && set.text.trim()) return { text: set.text.trim(), source: 'person', by: set.by, draft: draft.text };
  return { ...draft, draft: draft.text };
}

export function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').trim();
}

export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const sec = Math.round(ms / 1000);
  if (sec < 60) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0).replace(/\.0$/, '')} s`;
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const r = sec % 60;
  if (h) return `${h} h ${m} min`;
  return r ? `${m} min ${r} s` : `${m} min`;
}

export function formatShare(x: number): string {
  const pct = x * 100;
  if (pct === 0) return '0%';
  if (pct < 0.01) return '<0.01%';
  return `${pct < 1 ? pct.toFixed(2) : pct < 10 ? pct.toFixed(1) : pct.toFixed(0)}%`.replace(/\.0+%$/, '%');
}

interface MeasureContext {
  env: string | undefined;
  durations: Durations;
  breakGlass: BreakGlass[];
  failingVerdicts: Verdict[];
  failingChecks: CheckFailed[];
  impact: Impact;
  opts: AssessOptions;
}

function suggestMeasures(ev: IncidentEvidence, events: StoredEvent[], c: MeasureContext): Measure[] {
  const out: Measure[] = [];
  const seen = new Set<string>();
  const add = (text: string, because: string) => {
    if (seen.has(text)) return;
    seen.add(text);
    out.push({ text, because });
  };
  for (const e of events.filter(ofType('check.failed'))) {
    const d = e.data;
    const where = d.environment || c.env || 'the environment';
    for (const f of failingFindings(e)) {
      add(`upgrade ${f.name} in ${where} to a version in ${f.required}, or release a version of ${d.service} that supports ${f.name} ${f.found ?? 'as it runs'}`, `${f.name} ${f.found ?? '?'} does not satisfy ${f.required}`);
      if (d.phase === 'diagnosis') {
        add(`run the compatibility check before the switch in ${where} (a pre check), so this release is refused instead of rolled back`, 'the incompatibility was found only by the diagnosis after the rollback');
      }
    }
  }
  for (const b of c.breakGlass) {
    add(
      `this release skipped ${b.skipped || 'the previous environment'} with a break-glass by ${b.actor.replace(/^user:/, '')}: '${b.reason}' — review why the gate was bypassed`,
      `the gate of ${b.environment} was overridden`,
    );
  }
  const ackTarget = c.opts.ackTargetMs ?? 300_000;
  const paged = ev.own.some((e) => e.type === 'page.sent');
  if (c.durations.timeToAcknowledgeMs !== undefined && c.durations.timeToAcknowledgeMs > ackTarget) {
    add(`the ${paged ? 'alert' : 'incident'} took ${formatDurationMs(c.durations.timeToAcknowledgeMs)} to be acknowledged — review the escalation policy`, `the acknowledgement target is ${formatDurationMs(ackTarget)}`);
  } else if (paged && ev.incident.acknowledgedAt === undefined) {
    add('nobody acknowledged the page — review the escalation policy and the on-call schedule', 'no page.acknowledged was recorded');
  }
  const escalations = ev.own.filter((e) => e.type === 'page.escalated').length;
  if (escalations > 0) add(`the page escalated ${escalations} time(s) — check that the first level of the on-call schedule is reachable`, 'page.escalated was recorded');
  const detectTarget = c.opts.detectTargetMs ?? 300_000;
  if (c.durations.timeToDetectMs !== undefined && c.durations.timeToDetectMs > detectTarget) {
    add(`detection took ${formatDurationMs(c.durations.timeToDetectMs)} — add a monitor or a post-switch check that catches this failure sooner`, `the detection target is ${formatDurationMs(detectTarget)}`);
  }
  const dep = ev.deployments[0];
  const canary = events.some((e) => e.type === 'rollout.step.started');
  const switchedAll = events.filter(ofType('router.switched')).some((e) => dep && e.data.to === dep.version);
  if (dep && switchedAll && !canary && (c.failingChecks.length || c.failingVerdicts.length)) {
    add(`${dep.service} switched all traffic at once in ${c.env ?? 'production'}; a canary rollout policy would have limited the requests hit`, 'no rollout.step.started was recorded');
  }
  for (const e of c.failingChecks.slice(0, 1)) {
    const d = e.data;
    if (d.kind !== 'compatibility') add(`add a test that reproduces "${firstLine(d.message)}" to ${d.service}'s pre-release tests`, `check ${d.name} caught it only after the switch`);
  }
  if (c.failingVerdicts.length && !out.some((m) => m.because.includes('does not satisfy'))) {
    const d = c.failingVerdicts[0]!.data;
    add(`find why ${d.service}@${d.version} failed on live traffic (${firstLine(d.summary) || 'see the analysis'}) and add a check for it to staging`, 'the canary analysis failed');
  }
  if (c.impact.crashes > 0) add(`investigate the ${c.impact.crashes} instance crash(es) recorded during the incident (greenlight events --type instance.crashed)`, 'instance.crashed was recorded');
  if (out.length === 0) add('review the timeline with the team and record what would have prevented this incident', 'no specific cause was found in the events');
  return out;
}
