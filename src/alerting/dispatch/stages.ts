// The notify pipeline one aggregation group runs through at each flush, in Alertmanager's order:
//   inhibit -> silence -> incident -> dedup -> send -> record
// Each stage takes the group's alerts and returns those that go on; an empty list ends the flush
// quietly (nothing to say). A stage that throws fails the flush, so nothing is recorded and the
// next group_interval tries again. Each stage is a plain function, tested on its own.
import type { EventLog, StoredEvent } from '../../events/log.ts';
import { alertState, isPaging, type Alert, type AlertStore } from '../alerts/alert.ts';
import type { Inhibitor } from './inhibit.ts';
import type { GroupNotice, Receiver } from './receiver.ts';
import type { Route } from './route.ts';
import type { Silences } from './silences.ts';

export interface FlushContext {
  now: number;
  groupKey: string;
  dedupKey: string;
  route: Route;
  groupLabels: Record<string, string>;
  receiver: Receiver;
  signal?: AbortSignal;
  /** filled by the incident stage */
  incidentId?: string;
}

export type Stage = (ctx: FlushContext, alerts: Alert[]) => Promise<Alert[]>;

/** Why an alert is currently not notified, for the API and the dashboard. */
export class Marker {
  private readonly silenced = new Map<string, string[]>();
  private readonly inhibited = new Map<string, string[]>();

  setSilenced(fp: string, by: string[]): void {
    if (by.length) this.silenced.set(fp, by);
    else this.silenced.delete(fp);
  }
  setInhibited(fp: string, by: string[]): void {
    if (by.length) this.inhibited.set(fp, by);
    else this.inhibited.delete(fp);
  }
  status(fp: string): { state: 'active' | 'suppressed'; silencedBy: string[]; inhibitedBy: string[] } {
    const silencedBy = this.silenced.get(fp) ?? [];
    const inhibitedBy = this.inhibited.get(fp) ?? [];
    return { state: silencedBy.length || inhibitedBy.length ? 'suppressed' : 'active', silencedBy, inhibitedBy };
  }
  forget(fp: string): void {
    this.silenced.delete(fp);
    this.inhibited.delete(fp);
  }
}

export function inhibitStage(inhibitor: Inhibitor, marker?: Marker): Stage {
  return async (ctx, alerts) =>
    alerts.filter((a) => {
      const by = inhibitor.inhibitedBy(a, ctx.now);
      marker?.setInhibited(a.fingerprint, by);
      return by.length === 0;
    });
}

export function silenceStage(silences: Silences, marker?: Marker): Stage {
  return async (ctx, alerts) =>
    alerts.filter((a) => {
      const by = silences.mutedBy(a.labels, ctx.now);
      marker?.setSilenced(a.fingerprint, by);
      return by.length === 0;
    });
}

/** Owned by alerting, implemented by the incidents module: a paging alert opens or joins an incident. */
export interface IncidentSink {
  openOrJoin(alert: Alert): Promise<{ incidentId: string }>;
}

/**
 * Firing alerts with severity page or critical open or join an incident before anyone is paged, so
 * the page names the incident. A failing sink is reported and the page goes out without one:
 * reaching a person matters more than the bookkeeping.
 */
export function incidentStage(sink: IncidentSink, opts: { store?: AlertStore; onError?: (err: unknown) => void } = {}): Stage {
  const inFlight = new Map<string, Promise<string | undefined>>();
  const join = (a: Alert): Promise<string | undefined> => {
    const key = `${a.fingerprint}@${a.startsAt}`;
    let p = inFlight.get(key);
    if (!p) {
      p = sink.openOrJoin(structuredClone(a)).then(
        (r) => r.incidentId,
        (err: unknown) => {
          opts.onError?.(err);
          inFlight.delete(key);
          return undefined;
        },
      );
      inFlight.set(key, p);
      // One open per alert episode; the memo only bridges concurrent flushes of several routes.
      void p.then(() => inFlight.delete(key));
    }
    return p;
  };
  return async (ctx, alerts) => {
    for (const a of alerts) {
      if (a.incidentId === undefined && isPaging(a) && alertState(a, ctx.now) === 'firing') {
        const stored = opts.store?.get(a.fingerprint);
        const known = stored && stored.startsAt === a.startsAt ? stored.incidentId : undefined;
        const id = known ?? (await join(a));
        if (id !== undefined) {
          a.incidentId = id;
          if (stored && stored.startsAt === a.startsAt) opts.store?.setIncident(a.fingerprint, id);
        }
      }
      if (ctx.incidentId === undefined && a.incidentId !== undefined) ctx.incidentId = a.incidentId;
    }
    return alerts;
  };
}

/** What was last notified for one group and receiver (Alertmanager's notification log entry). */
export interface LogEntry {
  firing: Set<string>;
  resolved: Set<string>;
  at: number;
}

export class NotificationLog {
  private readonly entries = new Map<string, LogEntry>();
  private readonly retentionMs: number;

  constructor(retentionMs = 5 * 86_400_000) {
    this.retentionMs = retentionMs;
  }

  static key(groupKey: string, receiver: string): string {
    return `${receiver}:${groupKey}`;
  }

  get(groupKey: string, receiver: string): LogEntry | undefined {
    return this.entries.get(NotificationLog.key(groupKey, receiver));
  }

  /** Rebuilds the log from alert.group.notified events, oldest first. */
  restore(events: Iterable<StoredEvent>): void {
    for (const e of events) {
      if (e.type !== 'alert.group.notified') continue;
      const d = e.data as { receiver?: string; groupKey?: string; firing?: string[]; resolved?: string[] };
      if (typeof d.receiver !== 'string' || typeof d.groupKey !== 'string') continue;
      this.set(d.groupKey, d.receiver, { firing: new Set(d.firing ?? []), resolved: new Set(d.resolved ?? []), at: e.time });
    }
  }

  set(groupKey: string, receiver: string, entry: LogEntry): void {
    this.entries.set(NotificationLog.key(groupKey, receiver), entry);
    for (const [k, e] of this.entries) if (e.at + this.retentionMs < entry.at) this.entries.delete(k);
  }
}

function isSubset(sub: Set<string>, of: Set<string>): boolean {
  for (const x of sub) if (!of.has(x)) return false;
  return true;
}

/** Alertmanager's DedupStage.needsUpdate, with the repeat due at (not strictly after) last + repeat_interval. */
export function needsUpdate(entry: LogEntry | undefined, firing: Set<string>, resolved: Set<string>, sendResolved: boolean, repeatMs: number, now: number): boolean {
  if (!entry) return firing.size > 0;
  if (!isSubset(firing, entry.firing)) return true;
  // All resolved: tell the receiver, unless it never heard of these alerts.
  if (firing.size === 0) return entry.firing.size > 0;
  if (sendResolved && !isSubset(resolved, entry.resolved)) return true;
  return entry.at + repeatMs <= now;
}

export function splitByState(alerts: readonly Alert[], now: number): { firing: Alert[]; resolved: Alert[] } {
  const firing: Alert[] = [];
  const resolved: Alert[] = [];
  for (const a of alerts) (alertState(a, now) === 'resolved' ? resolved : firing).push(a);
  return { firing, resolved };
}

export function dedupStage(nflog: NotificationLog): Stage {
  return async (ctx, alerts) => {
    const { firing, resolved } = splitByState(alerts, ctx.now);
    const entry = nflog.get(ctx.groupKey, ctx.receiver.name);
    const update = needsUpdate(
      entry,
      new Set(firing.map((a) => a.fingerprint)),
      new Set(resolved.map((a) => a.fingerprint)),
      ctx.receiver.sendResolved,
      ctx.route.repeatInterval,
      ctx.now,
    );
    return update ? alerts : [];
  };
}

export class SendError extends Error {
  constructor(receiver: string, reason: string) {
    super(`receiver "${receiver}" failed: ${reason}`);
    this.name = 'SendError';
  }
}

export function noticeOf(ctx: FlushContext, alerts: readonly Alert[]): GroupNotice {
  const { firing, resolved } = splitByState(alerts, ctx.now);
  const notice: GroupNotice = {
    groupKey: ctx.groupKey,
    dedupKey: ctx.dedupKey,
    receiver: ctx.receiver.name,
    route: ctx.route,
    groupLabels: ctx.groupLabels,
    firing,
    resolved,
    at: ctx.now,
  };
  if (ctx.incidentId !== undefined) notice.incidentId = ctx.incidentId;
  return notice;
}

export function sendStage(): Stage {
  return async (ctx, alerts) => {
    const notice = noticeOf(ctx, alerts);
    // A receiver that does not want resolutions still gets the record stage, which clears its log.
    if (notice.firing.length === 0 && !ctx.receiver.sendResolved) return alerts;
    if (!ctx.receiver.sendResolved) notice.resolved = [];
    const r = await ctx.receiver.notify(notice, ctx.signal);
    if (!r.ok) throw new SendError(ctx.receiver.name, r.error ?? 'unknown failure');
    return alerts;
  };
}

export function recordStage(nflog: NotificationLog, log?: EventLog, onError?: (err: unknown) => void): Stage {
  return async (ctx, alerts) => {
    const { firing, resolved } = splitByState(alerts, ctx.now);
    nflog.set(ctx.groupKey, ctx.receiver.name, {
      firing: new Set(firing.map((a) => a.fingerprint)),
      resolved: new Set(resolved.map((a) => a.fingerprint)),
      at: ctx.now,
    });
    if (log) {
      await log
        .append({
          type: 'alert.group.notified',
          actor: 'alerting',
          subject: ctx.incidentId ? `incident/${ctx.incidentId}` : `alert/${ctx.dedupKey}`,
          data: {
            receiver: ctx.receiver.name,
            groupKey: ctx.groupKey,
            groupLabels: ctx.groupLabels,
            firing: firing.map((a) => a.fingerprint),
            resolved: resolved.map((a) => a.fingerprint),
          },
        })
        .catch((err: unknown) => onError?.(err));
    }
    return alerts;
  };
}

/** Runs the stages in order; stops early (returning false) when a stage leaves no alerts. */
export async function runStages(stages: readonly Stage[], ctx: FlushContext, alerts: Alert[]): Promise<boolean> {
  let current = alerts;
  for (const stage of stages) {
    if (current.length === 0) return false;
    current = await stage(ctx, current);
  }
  return current.length > 0;
}
