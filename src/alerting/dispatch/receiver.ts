// A receiver is where a route delivers a group's notification: a set of notifiers (Slack, webhook,
// PagerDuty, email from src/alerting/notifiers) and/or an escalation policy that pages people in
// turn. The dispatcher only knows this interface; src/alerting/alerting.ts builds receivers from
// the config.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock/clock.ts';
import { fanOut } from '../notifiers/fanout.ts';
import type { Notification, Notifier, Severity } from '../notifiers/notifier.ts';
import { alertName, severityOf, type Alert } from '../alerts/alert.ts';
import type { Route } from './route.ts';

/** One aggregation group's state, handed to a receiver at a flush. */
export interface GroupNotice {
  /** route id + group labels: unique per aggregation group */
  groupKey: string;
  /** the fingerprint of the group labels: the same key for every notification of this group */
  dedupKey: string;
  receiver: string;
  route: Route;
  groupLabels: Record<string, string>;
  firing: Alert[];
  resolved: Alert[];
  /** the incident the group's paging alerts opened or joined, if any */
  incidentId?: string;
  /** when the dispatcher flushed the group */
  at: number;
}

export interface ReceiverResult {
  ok: boolean;
  error?: string;
}

export interface Receiver {
  readonly name: string;
  /** false: notices without firing alerts are not delivered (the resolution is still recorded) */
  readonly sendResolved: boolean;
  notify(notice: GroupNotice, signal?: AbortSignal): Promise<ReceiverResult>;
}

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2, critical: 3 };

export function notificationSeverity(alert: Pick<Alert, 'labels'>): Severity {
  switch (severityOf(alert)) {
    case 'page':
    case 'critical':
      return 'critical';
    case 'error':
      return 'error';
    case 'info':
    case 'none':
      return 'info';
    default:
      // an alert was raised but nobody said how bad: worth a look, not a page
      return 'warning';
  }
}

function commonOf(maps: Array<Record<string, string>>): Record<string, string> {
  const [first, ...rest] = maps;
  if (!first) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first)) if (rest.every((m) => m[k] === v)) out[k] = v;
  return out;
}

function describeAlert(a: Alert, status: 'FIRING' | 'RESOLVED'): string {
  const labels = Object.entries(a.labels)
    .filter(([k]) => k !== 'alertname')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const summary = a.annotations.summary ?? a.annotations.description;
  return `${status} ${alertName(a)}${labels ? ` {${labels}}` : ''}${summary ? `: ${summary}` : ''}`;
}

/** The group as one Notification for the notifiers (Alertmanager's template data, flattened). */
export function toNotification(notice: GroupNotice): Notification {
  const all = [...notice.firing, ...notice.resolved];
  const action = notice.firing.length > 0 ? 'trigger' : 'resolve';
  const ranked = notice.firing.length > 0 ? notice.firing : notice.resolved;
  let severity: Severity = 'info';
  for (const a of ranked) {
    const s = notificationSeverity(a);
    if (SEVERITY_RANK[s] > SEVERITY_RANK[severity]) severity = s;
  }
  const labels = commonOf(all.map((a) => a.labels));
  const annotations = commonOf(all.map((a) => a.annotations));
  const name = labels.alertname ?? notice.groupLabels.alertname ?? alertName(all[0] ?? { labels: {} });
  let summary: string;
  if (all.length === 1 && all[0]!.annotations.summary) summary = all[0]!.annotations.summary;
  else {
    const counts = [notice.firing.length ? `FIRING:${notice.firing.length}` : '', notice.resolved.length ? `RESOLVED:${notice.resolved.length}` : '']
      .filter(Boolean)
      .join(' ');
    const extra = Object.entries(notice.groupLabels)
      .filter(([k]) => k !== 'alertname')
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    summary = `[${counts}] ${name}${extra ? ` (${extra})` : ''}`;
  }
  // a rehearsal must never be mistaken for the real thing, whatever the alerts' own wording
  const drill = all.find((a) => a.labels.drill)?.labels.drill;
  if (drill !== undefined && !summary.startsWith('DRILL')) summary = `DRILL ${drill}: ${summary}`;
  if (all.length > 1) {
    annotations.alerts = [...notice.firing.map((a) => describeAlert(a, 'FIRING')), ...notice.resolved.map((a) => describeAlert(a, 'RESOLVED'))].join('\n');
  }
  const source = [labels.environment, labels.service].filter(Boolean).join('/') || name || 'greenlight';
  const n: Notification = {
    id: randomUUID(),
    dedupKey: notice.dedupKey,
    action,
    severity,
    summary,
    source,
    labels,
    annotations,
    startsAt: Math.min(...all.map((a) => a.startsAt)),
  };
  if (notice.incidentId !== undefined) n.incidentId = notice.incidentId;
  return n;
}

/** A receiver that sends each notice through its notifiers at once (each with its own retries). */
export class NotifierReceiver implements Receiver {
  readonly name: string;
  readonly sendResolved: boolean;
  readonly notifiers: readonly Notifier[];
  private readonly clock: Clock;
  private readonly deadlineMs: number | undefined;

  constructor(opts: { name: string; notifiers: readonly Notifier[]; clock: Clock; sendResolved?: boolean; deadlineMs?: number }) {
    this.name = opts.name;
    this.notifiers = opts.notifiers;
    this.clock = opts.clock;
    this.sendResolved = opts.sendResolved ?? true;
    this.deadlineMs = opts.deadlineMs;
  }

  async notify(notice: GroupNotice, signal?: AbortSignal): Promise<ReceiverResult> {
    const n = toNotification(notice);
    const outcomes = await fanOut(this.notifiers, n, {
      clock: this.clock,
      ...(this.deadlineMs !== undefined ? { deadlineMs: this.deadlineMs } : {}),
      ...(signal ? { signal } : {}),
    });
    const failed = outcomes.filter((o) => !o.result.ok);
    if (failed.length === 0) return { ok: true };
    return { ok: false, error: failed.map((o) => `${o.name}: ${o.result.error ?? 'failed'}`).join('; ') };
  }
}

/** Several receivers behind one name (a receiver with notifiers and an escalation policy). */
export class CompositeReceiver implements Receiver {
  readonly name: string;
  readonly sendResolved: boolean;
  private readonly parts: readonly Receiver[];

  constructor(name: string, parts: readonly Receiver[], sendResolved = true) {
    this.name = name;
    this.parts = parts;
    this.sendResolved = sendResolved;
  }

  async notify(notice: GroupNotice, signal?: AbortSignal): Promise<ReceiverResult> {
    const results = await Promise.all(this.parts.map((p) => p.notify(notice, signal).catch((err: unknown) => ({ ok: false, error: String(err) }))));
    const failed = results.filter((r) => !r.ok);
    return failed.length === 0 ? { ok: true } : { ok: false, error: failed.map((r) => r.error).join('; ') };
  }
}
