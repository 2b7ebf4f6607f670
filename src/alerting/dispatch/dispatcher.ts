// The dispatcher: routes each alert through the routing tree into aggregation groups and flushes
// each group through the notify pipeline on Alertmanager's timings:
//   - a new group waits group_wait before its first notification (alerts arriving meanwhile join it;
//     an alert that started more than group_wait ago is flushed at once, as in Alertmanager),
//   - then the group is flushed every group_interval; the dedup stage sends only when the set of
//     firing alerts grew, a resolution is news, or repeat_interval has passed since the last send,
//   - once every alert of a group is resolved and notified, the group is dropped.
// All timers read the injected Clock.
import { incomingAlertProblem } from '../incoming/api.ts';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import { pages, type EventLog, type StoredEvent } from '../../events/log.ts';
import { alertState, AlertStore, fromRuleChange, type Alert, type AlertOrigin, type IncomingAlert, type RuleAlertChange } from '../alerts/alert.ts';
import { fingerprint } from '../alerts/fingerprint.ts';
import { Inhibitor, type InhibitRule } from './inhibit.ts';
import type { Receiver } from './receiver.ts';
import { groupLabels, matchRoutes, type Route } from './route.ts';
import { Silences } from './silences.ts';
import {
  dedupStage,
  incidentStage,
  inhibitStage,
  Marker,
  NotificationLog,
  recordStage,
  runStages,
  sendStage,
  silenceStage,
  type FlushContext,
  type IncidentSink,
  type Stage,
} from './stages.ts';

export interface DispatcherOptions {
  clock: Clock;
  route: Route;
  receivers: ReadonlyMap<string, Receiver> | Record<string, Receiver>;
  inhibitRules?: readonly InhibitRule[];
  /** shared with the API that creates silences; a private one when absent */
  silences?: Silences;
  incidents?: IncidentSink;
  log?: EventLog;
  store?: AlertStore;
  onError?: (err: unknown) => void;
}

export interface GroupView {
  groupKey: string;
  receiver: string;
  routeId: string;
  labels: Record<string, string>;
  alerts: string[];
  nextFlushAt: number | undefined;
}

export interface AlertView extends Alert {
  state: 'pending' | 'firing' | 'resolved';
  status: { state: 'active' | 'suppressed'; silencedBy: string[]; inhibitedBy: string[] };
  receivers: string[];
}

class AggregationGroup {
  readonly key: string;
  readonly dedupKey: string;
  readonly route: Route;
  readonly labels: Record<string, string>;
  readonly alerts = new Map<string, Alert>();
  nextFlushAt: number | undefined;
  private timer: TimerHandle | undefined;
  private hasFlushed = false;
  private flushing = false;
  private flushAgain = false;
  private stopped = false;
  private readonly d: Dispatcher;

  constructor(d: Dispatcher, route: Route, labels: Record<string, string>, key: string, restored?: { firstFlushInMs: number; flushed: boolean }) {
    this.d = d;
    this.route = route;
    this.labels = labels;
    this.key = key;
    this.dedupKey = fingerprint(labels);
    this.hasFlushed = restored?.flushed ?? false;
    this.schedule(restored ? restored.firstFlushInMs : route.groupWait);
  }

  insert(a: Alert): void {
    this.alerts.set(a.fingerprint, { ...a, labels: { ...a.labels }, annotations: { ...a.annotations } });
    const now = this.d.clock.now();
    if (!this.hasFlushed && a.startsAt + this.route.groupWait < now && this.nextFlushAt !== undefined && this.nextFlushAt > now) this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.nextFlushAt = undefined;
  }

  private schedule(ms: number): void {
    this.timer?.cancel();
    this.nextFlushAt = this.d.clock.now() + ms;
    this.timer = this.d.clock.setTimeout(() => this.tick(), ms);
  }

  private tick(): void {
    if (this.stopped) return;
    // The cadence is fixed by the timer, not by how long a flush takes.
    this.schedule(this.route.groupInterval);
    void this.flush();
  }

  private async flush(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    this.flushing = true;
    try {
      do {
        this.flushAgain = false;
        this.hasFlushed = true;
        const now = this.d.clock.now();
        const snapshot = [...this.alerts.values()].map((a) => ({ ...a }));
        const ok = await this.d.flushGroup(this, snapshot, now);
        if (ok) {
          // Resolved alerts were delivered (or deliberately not): forget them unless they changed meanwhile.
          for (const a of snapshot) {
            const cur = this.alerts.get(a.fingerprint);
            if (cur && cur.updatedAt === a.updatedAt && alertState(cur, now) === 'resolved') this.alerts.delete(a.fingerprint);
          }
          if (this.alerts.size === 0) this.d.dropGroup(this);
        }
      } while (this.flushAgain && !this.stopped);
    } finally {
      this.flushing = false;
    }
  }
}

export class Dispatcher {
  readonly clock: Clock;
  readonly route: Route;
  readonly store: AlertStore;
  readonly silences: Silences;
  readonly marker = new Marker();
  readonly nflog = new NotificationLog();
  private readonly receivers: ReadonlyMap<string, Receiver>;
  private readonly groups = new Map<string, AggregationGroup>();
  private readonly stages: Stage[];
  private readonly onError: (err: unknown) => void;
  private stopped = false;

  constructor(opts: DispatcherOptions) {
    this.clock = opts.clock;
    this.route = opts.route;
    this.onError = opts.onError ?? (() => {});
    this.receivers = opts.receivers instanceof Map ? opts.receivers : new Map(Object.entries(opts.receivers));
    this.store = opts.store ?? new AlertStore({ clock: opts.clock, ...(opts.log ? { log: opts.log } : {}), onError: this.onError });
    this.silences = opts.silences ?? new Silences({ clock: opts.clock, ...(opts.log ? { log: opts.log } : {}), onError: this.onError });
    const inhibitor = new Inhibitor(opts.inhibitRules ?? [], () => this.store.list());
    this.stages = [inhibitStage(inhibitor, this.marker), silenceStage(this.silences, this.marker)];
    if (opts.incidents) this.stages.push(incidentStage(opts.incidents, { store: this.store, onError: this.onError }));
    this.stages.push(dedupStage(this.nflog), sendStage(), recordStage(this.nflog, opts.log, this.onError));
    const missing = new Set<string>();
    const check = (r: Route) => {
      if (!this.receivers.has(r.receiver)) missing.add(r.receiver);
      r.routes.forEach(check);
    };
    check(this.route);
    if (missing.size > 0) throw new Error(`routes name receivers that do not exist: ${[...missing].join(', ')}`);
  }

  /**
   * Rebuilds alerts, the notification log and the aggregation groups from the event log (on start
   * and on takeover). A group that was notified flushes next at its last notification plus
   * group_interval (at once if that passed while no controller ran) and the dedup stage sends only
   * what is news; a group never notified waits what is left of group_wait.
   */
  async restore(log: EventLog): Promise<{ alerts: number; groups: number }> {
    const events: StoredEvent[] = [];
    for await (const page of pages(log, { types: ['alert.pending', 'alert.firing', 'alert.resolved', 'alert.group.notified'] })) events.push(...page);
    this.store.restore(events);
    this.nflog.restore(events);
    const now = this.clock.now();
    for (const a of this.store.list()) {
      const state = alertState(a, now);
      if (state === 'pending') continue;
      for (const r of matchRoutes(this.route, a.labels)) {
        const labels = groupLabels(r, a.labels);
        const key = groupKeyOf(r, labels);
        const entry = this.nflog.get(key, r.receiver);
        // a resolution matters only to a group that notified the alert as firing
        if (state === 'resolved' && !entry?.firing.has(a.fingerprint)) continue;
        let g = this.groups.get(key);
        if (!g) {
          const firstFlushInMs = entry ? Math.max(0, entry.at + r.groupInterval - now) : Math.max(0, a.startsAt + r.groupWait - now);
          g = new AggregationGroup(this, r, labels, key, { firstFlushInMs, flushed: !!entry });
          this.groups.set(key, g);
        }
        g.alerts.set(a.fingerprint, { ...a, labels: { ...a.labels }, annotations: { ...a.annotations } });
      }
    }
    return { alerts: this.store.list().length, groups: this.groups.size };
  }

  /** Takes alerts in (from the API, Alertmanager or rules); notifications follow on the groups' timers. */
  receive(alerts: readonly IncomingAlert[], origin: AlertOrigin = 'api'): Alert[] {
    const out: Alert[] = [];
    for (const input of alerts) {
      // One malformed alert (from any producer) is refused alone: inside a group it would make
      // every notification of that group, and the dashboard's view of it, fail.
      const problem = incomingAlertProblem(input);
      if (problem) {
        this.onError(new Error(`alert refused (${origin}): ${problem}`));
        continue;
      }
      const t = this.store.put(input, origin);
      out.push(t.alert);
      this.route_(t.alert, t.to);
    }
    return out;
  }

  /** The adapter for Greenlight's rule engine: subscribe this to RuleEngine.subscribe(). */
  receiveRuleChanges(changes: readonly RuleAlertChange[]): Alert[] {
    return this.receive(changes.map(fromRuleChange), 'rule');
  }

  alerts(): AlertView[] {
    const now = this.clock.now();
    return this.store.list().map((a) => ({
      ...a,
      state: alertState(a, now),
      status: this.marker.status(a.fingerprint),
      receivers: [...new Set(matchRoutes(this.route, a.labels).map((r) => r.receiver))],
    }));
  }

  groupViews(): GroupView[] {
    return [...this.groups.values()].map((g) => ({
      groupKey: g.key,
      receiver: g.route.receiver,
      routeId: g.route.id,
      labels: { ...g.labels },
      alerts: [...g.alerts.keys()],
      nextFlushAt: g.nextFlushAt,
    }));
  }

  stop(): void {
    this.stopped = true;
    for (const g of this.groups.values()) g.stop();
    this.groups.clear();
    this.silences.stop();
  }

  /** @internal called by a group at each flush; true when the flush completed (sent or nothing to send). */
  async flushGroup(g: AggregationGroup, alerts: Alert[], now: number): Promise<boolean> {
    const receiver = this.receivers.get(g.route.receiver);
    if (!receiver) return false;
    const ctx: FlushContext = { now, groupKey: g.key, dedupKey: g.dedupKey, route: g.route, groupLabels: g.labels, receiver };
    try {
      await runStages(this.stages, ctx, alerts);
      return true;
    } catch (err) {
      this.onError(err);
      return false;
    }
  }

  /** @internal */
  dropGroup(g: AggregationGroup): void {
    g.stop();
    if (this.groups.get(g.key) === g) this.groups.delete(g.key);
  }

  private route_(a: Alert, state: 'pending' | 'firing' | 'resolved'): void {
    if (this.stopped || state === 'pending') return;
    for (const r of matchRoutes(this.route, a.labels)) {
      const labels = groupLabels(r, a.labels);
      const key = groupKeyOf(r, labels);
      let g = this.groups.get(key);
      if (state === 'resolved') {
        // A resolution only matters to a group that holds the alert; one never notified as firing is news to nobody.
        if (g?.alerts.has(a.fingerprint)) g.insert(a);
        continue;
      }
      if (!g) {
        g = new AggregationGroup(this, r, labels, key);
        this.groups.set(key, g);
      }
      g.insert(a);
    }
  }
}

function groupKeyOf(r: Route, labels: Record<string, string>): string {
  return `${r.id}:${JSON.stringify(Object.entries(labels).sort(([x], [y]) => (x < y ? -1 : 1)))}`;
}
