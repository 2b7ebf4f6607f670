// Alerts as Alertmanager holds them: identified by their label set, active between startsAt and
// endsAt. Greenlight's own rules also report pending alerts (their `for` has not elapsed yet); those
// are kept for the dashboard but never routed. The store merges repeated reports of one alert and
// records each lifecycle change (pending, firing, resolved) as an event.
import type { Clock } from '../../clock/clock.ts';
import type { EventLog, StoredEvent } from '../../events/log.ts';
import type { Labels } from '../../monitor/series/labels.ts';
import { fingerprint } from './fingerprint.ts';

export type AlertState = 'pending' | 'firing' | 'resolved';
/** rollout: raised by the controller about a running deployment (a starved canary step) */
export type AlertOrigin = 'rule' | 'alertmanager' | 'api' | 'rollout' | 'controller';

/** What producers hand in: Alertmanager's alert shape with times in ms since the epoch. */
export interface IncomingAlert {
  labels: Labels;
  annotations?: Record<string, string>;
  startsAt?: number;
  /** in the past or now: resolved; in the future: firing until then unless refreshed */
  endsAt?: number;
  generatorURL?: string;
  /** a rule's alert whose `for` has not elapsed yet */
  pending?: boolean;
  /** the rule's current value, kept for the dashboard */
  value?: number;
}

export interface Alert {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: number;
  endsAt?: number;
  generatorURL?: string;
  pending: boolean;
  value?: number;
  origin: AlertOrigin;
  /** last time a producer reported it */
  updatedAt: number;
  /** set once the alert opened or joined an incident (severity page or critical) */
  incidentId?: string;
}

export function alertState(a: Pick<Alert, 'pending' | 'startsAt' | 'endsAt'>, now: number): AlertState {
  if (a.endsAt !== undefined && a.endsAt <= now) return 'resolved';
  if (a.pending || a.startsAt > now) return 'pending';
  return 'firing';
}

export function alertName(a: Pick<Alert, 'labels'>): string {
  return a.labels.alertname ?? '';
}

/** The label an alert's urgency is read from, as in most Prometheus rule sets. */
export function severityOf(a: Pick<Alert, 'labels'>): string {
  return a.labels.severity ?? '';
}

/** Alerts that page a person and open (or join) an incident. */
export function isPaging(a: Pick<Alert, 'labels'>): boolean {
  const s = severityOf(a);
  return s === 'page' || s === 'critical';
}

export interface AlertTransition {
  alert: Alert;
  from: AlertState | undefined;
  to: AlertState;
}

export interface AlertStoreOptions {
  clock: Clock;
  log?: EventLog;
  /** resolved alerts are forgotten this long after they ended; 1 h by default */
  retentionMs?: number;
  onError?: (err: unknown) => void;
}

export class AlertStore {
  private readonly alerts = new Map<string, Alert>();
  private readonly clock: Clock;
  private readonly log: EventLog | undefined;
  private readonly retentionMs: number;
  private readonly onError: (err: unknown) => void;

  constructor(opts: AlertStoreOptions) {
    this.clock = opts.clock;
    this.log = opts.log;
    this.retentionMs = opts.retentionMs ?? 3_600_000;
    this.onError = opts.onError ?? (() => {});
  }

  get(fp: string): Alert | undefined {
    return this.alerts.get(fp);
  }

  list(): Alert[] {
    return [...this.alerts.values()];
  }

  /** Inserts or merges one report; returns the stored alert and its state change, if any. */
  put(input: IncomingAlert, origin: AlertOrigin): AlertTransition | { alert: Alert; from: AlertState; to: AlertState; unchanged: true } {
    const now = this.clock.now();
    const fp = fingerprint(input.labels);
    const old = this.alerts.get(fp);
    const from = old ? alertState(old, now) : undefined;
    let alert: Alert;
    const fresh: Alert = {
      fingerprint: fp,
      labels: { ...input.labels },
      annotations: { ...input.annotations },
      startsAt: input.startsAt ?? now,
      pending: input.pending ?? false,
      origin,
      updatedAt: now,
    };
    if (input.endsAt !== undefined) fresh.endsAt = input.endsAt;
    if (input.generatorURL !== undefined) fresh.generatorURL = input.generatorURL;
    if (input.value !== undefined) fresh.value = input.value;
    if (!old || from === 'resolved') {
      // A report after the alert ended starts a new episode: new start, no incident yet.
      // A late copy of the resolution itself must not resurrect an older episode, though.
      if (old && from === 'resolved' && alertState(fresh, now) === 'resolved') return { alert: old, from, to: from, unchanged: true };
      alert = fresh;
    } else {
      alert = { ...fresh, startsAt: Math.min(old.startsAt, fresh.startsAt) };
      if (old.incidentId !== undefined) alert.incidentId = old.incidentId;
      // a firing alert never returns to pending within one episode
      if (from === 'firing') alert.pending = false;
    }
    this.alerts.set(fp, alert);
    const to = alertState(alert, now);
    this.gc(now);
    if (from === to) return { alert, from: to, to, unchanged: true };
    this.record(alert, from, to);
    return { alert, from, to };
  }

  setIncident(fp: string, incidentId: string): void {
    const a = this.alerts.get(fp);
    if (a) a.incidentId = incidentId;
  }

  /** Rebuilds the alerts from their recorded lifecycle events (alert.pending/firing/resolved), oldest first. */
  restore(events: Iterable<StoredEvent>): number {
    for (const e of events) {
      const to = e.type.slice('alert.'.length);
      if (to !== 'pending' && to !== 'firing' && to !== 'resolved') continue;
      const d = e.data as { fingerprint?: string; labels?: Record<string, string>; annotations?: Record<string, string>; startsAt?: number; endsAt?: number; origin?: AlertOrigin; value?: number; incidentId?: string; generatorURL?: string };
      if (typeof d.fingerprint !== 'string' || !d.labels) continue;
      const a: Alert = {
        fingerprint: d.fingerprint,
        labels: { ...d.labels },
        annotations: { ...d.annotations },
        startsAt: d.startsAt ?? e.time,
        pending: to === 'pending',
        origin: d.origin ?? 'api',
        updatedAt: e.time,
      };
      if (to === 'resolved') a.endsAt = d.endsAt ?? e.time;
      else if (d.endsAt !== undefined) a.endsAt = d.endsAt;
      if (d.value !== undefined) a.value = d.value;
      if (d.generatorURL !== undefined) a.generatorURL = d.generatorURL;
      const incident = d.incidentId ?? this.alerts.get(d.fingerprint)?.incidentId;
      if (incident !== undefined && to !== 'pending') a.incidentId = incident;
      this.alerts.set(d.fingerprint, a);
    }
    this.gc();
    return this.alerts.size;
  }

  /** Forgets alerts that ended more than the retention ago. */
  gc(now: number = this.clock.now()): number {
    let n = 0;
    for (const [fp, a] of this.alerts) {
      if (a.endsAt !== undefined && a.endsAt + this.retentionMs <= now) {
        this.alerts.delete(fp);
        n++;
      }
    }
    return n;
  }

  private record(a: Alert, from: AlertState | undefined, to: AlertState): void {
    if (!this.log) return;
    const data: Record<string, unknown> = {
      fingerprint: a.fingerprint,
      alertname: alertName(a),
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      origin: a.origin,
    };
    if (from !== undefined) data.from = from;
    // a firing alert's planned end too (Alertmanager's resolve timeout), so a restart restores it
    if (a.endsAt !== undefined) data.endsAt = a.endsAt;
    if (a.generatorURL !== undefined) data.generatorURL = a.generatorURL;
    if (a.value !== undefined) data.value = a.value;
    if (a.incidentId !== undefined) data.incidentId = a.incidentId;
    this.log
      .append({ type: `alert.${to}`, actor: `alerting:${a.origin}`, subject: `alert/${a.fingerprint}`, data })
      .catch(this.onError);
  }
}

/** The state-change record of Greenlight's rule engine (src/monitor/rules), as it publishes it. */
export interface RuleAlertChange {
  name: string;
  labels: Labels;
  state: 'pending' | 'firing' | 'resolved';
  activeAt: number;
  firedAt?: number;
  resolvedAt?: number;
  value: number;
  annotations: Record<string, string>;
}

/**
 * A rule's state change as an incoming alert. Like Prometheus, the rule name becomes the
 * `alertname` label and a firing alert starts when it fired (not when it became pending).
 */
export function fromRuleChange(c: RuleAlertChange): IncomingAlert {
  const out: IncomingAlert = {
    labels: { ...c.labels, alertname: c.name },
    annotations: { ...c.annotations },
    startsAt: c.firedAt ?? c.activeAt,
    pending: c.state === 'pending',
    value: c.value,
  };
  if (c.state === 'resolved') out.endsAt = c.resolvedAt ?? c.activeAt;
  return out;
}
