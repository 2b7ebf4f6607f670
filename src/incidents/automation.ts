// Opens incidents nobody has to remember to open. It listens to the log and appends
// `incident.opened` when a deployment hurt (or could have hurt) users:
//   - an automatic rollback in the last environment, or any rollback after a failing analysis;
//   - a failing post-switch check in the last environment;
//   - a failed router switch;
//   - a paging alert (through openOrJoinForAlert, called by the alerting module).
// One incident per cause: everything a deployment does is keyed `deployment/<id>`, so its failing
// check, its rollback and its final event land in the same incident. Alerts for a service and an
// environment join the open incident of that pair (most recent first) instead of opening another.
// When the rollback completes (traffic back on stable) the incident is marked mitigated; resolving
// is left to a person, who knows whether the cause is really gone.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock/clock.ts';
import type { EventLog, NewEvent, StoredEvent } from '../events/log.ts';
import type { Alert } from '../alerting/alerts/alert.ts';
import type { IncidentSink } from '../alerting/dispatch/stages.ts';
import { INCIDENT_EVENTS as E, incidentSubject, isOpen, severityOfAlert, type Incident, type IncidentTrigger, type Severity } from './model.ts';
import { applyIncidentEvent, incidentIdOf } from './projection.ts';

export interface IncidentAutomationOptions {
  events: EventLog;
  clock: Clock;
  /**
   * The pipeline's environments in order (the last is production). Without it, the last
   * environment a deployment asked for is taken as its last one.
   */
  environments?: () => readonly string[];
  /** on start, deployments that ended this recently without their incident get one (crash between the two); 1 h by default */
  catchUpMs?: number;
  actor?: string;
  onError?: (err: unknown) => void;
}

export interface AlertForIncident {
  fingerprint: string;
  labels: Record<string, string>;
  summary: string;
  /** the alert's severity label: critical, page, warning, ... */
  severity: string;
  startsAt?: number;
}

interface DeploymentTrack {
  id: string;
  service: string;
  version: string;
  environments: string[];
  /** environments whose analysis said fail */
  analysisFailed: Set<string>;
  /** environments where traffic went back to stable: a switch back or the canary at weight zero */
  restored: Map<string, number>;
  rolledBackIn?: string;
  endedAt?: number;
  end?: string;
}

type Data = Record<string, unknown>;
const s = (d: Data, k: string): string => (typeof d[k] === 'string' ? (d[k] as string) : '');

export function newIncidentId(clock: Clock): string {
  return `inc-${clock.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export class IncidentAutomation {
  private readonly o: IncidentAutomationOptions;
  private readonly deployments = new Map<string, DeploymentTrack>();
  readonly incidents = new Map<string, Incident>();
  private chain: Promise<unknown> = Promise.resolve();
  private off: (() => void) | undefined;
  private lastSeq = 0;

  constructor(opts: IncidentAutomationOptions) {
    this.o = opts;
  }

  /** Replays the log, opens what a crash may have missed, then follows new events. */
  async start(): Promise<void> {
    // Subscribe first and hold what arrives during the replay, so nothing falls in between.
    let held: StoredEvent[] | undefined = [];
    this.off = this.o.events.subscribe((e) => (held ? held.push(e) : this.observe(e, true)));
    for (const e of await this.o.events.query()) this.observe(e, false);
    const pending = held;
    held = undefined;
    for (const e of pending) this.observe(e, true);
    const since = this.o.clock.now() - (this.o.catchUpMs ?? 3_600_000);
    for (const d of this.deployments.values()) {
      if (d.endedAt === undefined || d.endedAt < since) continue;
      const env = d.rolledBackIn;
      if (d.end === 'deployment.rolled_back' && env && this.rollbackOpens(d, env)) this.enqueue(() => this.rollbackEnded(d, env));
    }
    await this.idle();
  }

  stop(): void {
    this.off?.();
    this.off = undefined;
  }

  /** Resolves once every action triggered so far has been appended. */
  async idle(): Promise<void> {
    for (;;) {
      const c = this.chain;
      await c;
      if (c === this.chain) return;
    }
  }

  /**
   * The alerting hook: a paging alert opens an incident, or joins the open incident of its
   * service and environment (or the one it already joined).
   */
  openOrJoinForAlert(alert: AlertForIncident): Promise<{ incidentId: string; joined: boolean }> {
    return this.enqueue(() => this.alertArrived(alert));
  }

  /** The same hook in the shape the alerting dispatcher asks for (`createAlerting({ incidents })`). */
  sink(): IncidentSink {
    return {
      openOrJoin: async (a: Alert) => {
        const r = await this.openOrJoinForAlert({
          fingerprint: a.fingerprint,
          labels: a.labels,
          summary: a.annotations.summary ?? a.annotations.description ?? a.labels.alertname ?? a.fingerprint,
          severity: a.labels.severity ?? '',
          startsAt: a.startsAt,
        });
        return { incidentId: r.incidentId };
      },
    };
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.catch((err: unknown) => this.o.onError?.(err));
    return p;
  }

  private lastEnvironment(d: DeploymentTrack): string | undefined {
    return this.o.environments?.().at(-1) ?? d.environments.at(-1);
  }

  private rollbackOpens(d: DeploymentTrack, env: string): boolean {
    return env === this.lastEnvironment(d) || d.analysisFailed.has(env);
  }

  private observe(e: StoredEvent, live: boolean): void {
    if (e.seq <= this.lastSeq) return;
    this.lastSeq = e.seq;
    if (incidentIdOf(e.subject) !== undefined) {
      applyIncidentEvent(this.incidents, e);
      return;
    }
    const d = e.data as Data;
    // Checks carry their deployment in the subject only.
    const depId = s(d, 'deploymentId') || (e.subject.startsWith('deployment/') ? e.subject.slice('deployment/'.length) : '');
    if (e.type === 'deployment.requested') {
      this.deployments.set(depId, {
        id: depId,
        service: s(d, 'service'),
        version: s(d, 'version'),
        environments: Array.isArray(d.environments) ? (d.environments as string[]) : [],
        analysisFailed: new Set(),
        restored: new Map(),
      });
      return;
    }
    const dep = depId ? this.deployments.get(depId) : undefined;
    if (!dep) return;
    const env = s(d, 'environment');
    switch (e.type) {
      case 'analysis.verdict':
        if (d.verdict === 'fail') dep.analysisFailed.add(env);
        break;
      case 'rollout.weight.zero':
        if (!dep.restored.has(env)) dep.restored.set(env, e.time);
        break;
      case 'router.switched':
        if (s(d, 'to') !== dep.version && !dep.restored.has(env)) dep.restored.set(env, e.time);
        break;
      case 'check.failed':
        if (live && d.phase === 'post' && env === this.lastEnvironment(dep)) {
          this.enqueue(() => this.ensureIncident(dep, env, 'post-check', `check ${s(d, 'name')} failed after the switch: ${s(d, 'message')}`));
        }
        break;
      case 'deployment.environment.rolled_back':
        dep.rolledBackIn = env;
        if (live && this.rollbackOpens(dep, env)) this.enqueue(() => this.rollbackEnded(dep, env, s(d, 'reason')));
        break;
      case 'deployment.environment.failed':
        if (d.stage === 'switch' && live) this.enqueue(() => this.switchFailed(dep, env, s(d, 'reason')));
        break;
      case 'deployment.rolled_back':
      case 'deployment.failed':
      case 'deployment.promoted':
      case 'deployment.blocked':
      case 'deployment.aborted': {
        dep.endedAt = e.time;
        dep.end = e.type;
        const where = env || dep.rolledBackIn || s(d, 'reason').split(':')[0] || '';
        if (e.type === 'deployment.rolled_back') {
          dep.rolledBackIn ??= where;
          if (live && where && this.rollbackOpens(dep, where)) this.enqueue(() => this.rollbackEnded(dep, where, s(d, 'reason')));
        }
        if (e.type === 'deployment.failed' && d.stage === 'switch' && live) this.enqueue(() => this.switchFailed(dep, where, s(d, 'reason')));
        break;
      }
    }
  }

  private byCause(cause: string): Incident | undefined {
    for (const i of this.incidents.values()) if (i.cause === cause) return i;
    return undefined;
  }

  private async append(events: NewEvent[]): Promise<void> {
    await this.o.events.appendAll(events);
  }

  private async ensureIncident(dep: DeploymentTrack, env: string, trigger: IncidentTrigger, why: string): Promise<Incident> {
    const cause = `deployment/${dep.id}`;
    const known = this.byCause(cause);
    if (known) return known;
    const id = newIncidentId(this.o.clock);
    const last = env === this.lastEnvironment(dep);
    const severity: Severity = last ? 'sev2' : 'sev3';
    const title =
      trigger === 'switch-failed'
        ? `switching ${env} to ${dep.service}@${dep.version} failed`
        : trigger === 'post-check'
          ? `${dep.service}@${dep.version} failed its checks in ${env}`
          : `${dep.service}@${dep.version} rolled back in ${env}`;
    await this.append([
      {
        type: E.opened,
        actor: this.o.actor ?? 'controller',
        subject: incidentSubject(id),
        data: { incidentId: id, title, severity, trigger, cause, deploymentId: dep.id, service: dep.service, version: dep.version, environment: env, summary: why },
      },
    ]);
    return this.incidents.get(id)!;
  }

  private async mitigate(inc: Incident, dep: DeploymentTrack, env: string, how: string): Promise<void> {
    if (inc.mitigatedAt !== undefined || inc.resolvedAt !== undefined) return;
    const restoredAt = dep.restored.get(env);
    await this.append([
      {
        type: E.mitigated,
        actor: this.o.actor ?? 'controller',
        subject: incidentSubject(inc.id),
        data: { incidentId: inc.id, automatic: true, deploymentId: dep.id, environment: env, reason: how, ...(restoredAt !== undefined ? { trafficRestoredAt: restoredAt } : {}) },
      },
    ]);
  }

  private async rollbackEnded(dep: DeploymentTrack, env: string, reason = ''): Promise<void> {
    const inc = await this.ensureIncident(dep, env, 'rollback', reason || `automatic rollback in ${env}`);
    await this.mitigate(inc, dep, env, `automatic rollback: traffic is back on the stable version of ${dep.service} in ${env}`);
  }

  private async switchFailed(dep: DeploymentTrack, env: string, reason: string): Promise<void> {
    const inc = await this.ensureIncident(dep, env, 'switch-failed', reason);
    if (dep.restored.has(env)) await this.mitigate(inc, dep, env, `the router was put back on the stable version of ${dep.service} in ${env}`);
  }

  private async alertArrived(a: AlertForIncident): Promise<{ incidentId: string; joined: boolean }> {
    const open = [...this.incidents.values()].filter(isOpen);
    const already = open.find((i) => i.alerts.some((x) => x.fingerprint === a.fingerprint));
    if (already) return { incidentId: already.id, joined: true };
    const service = a.labels.service;
    const environment = a.labels.environment ?? a.labels.env;
    const joinedEvent = (id: string): NewEvent => ({
      type: E.alertJoined,
      actor: 'alerting',
      subject: incidentSubject(id),
      data: { incidentId: id, fingerprint: a.fingerprint, labels: a.labels, summary: a.summary, severity: a.severity, ...(a.startsAt !== undefined ? { startsAt: a.startsAt } : {}) },
    });
    if (service && environment) {
      const same = open.filter((i) => i.service === service && i.environment === environment).sort((x, y) => y.openedAt - x.openedAt)[0];
      if (same) {
        await this.append([joinedEvent(same.id)]);
        return { incidentId: same.id, joined: true };
      }
    }
    const id = newIncidentId(this.o.clock);
    const title = a.summary || a.labels.alertname || `alert ${a.fingerprint}`;
    await this.append([
      {
        type: E.opened,
        actor: 'alerting',
        subject: incidentSubject(id),
        data: {
          incidentId: id,
          title,
          severity: severityOfAlert(a.severity),
          trigger: 'alert',
          cause: service && environment ? `alert/${service}/${environment}` : `alert/${a.fingerprint}`,
          ...(service ? { service } : {}),
          ...(environment ? { environment } : {}),
          summary: a.summary,
        },
      },
      joinedEvent(id),
    ]);
    return { incidentId: id, joined: false };
  }
}

/** Builds the automation, replays the log and starts following it. Stop it with `.stop()`. */
export async function startIncidentAutomation(opts: IncidentAutomationOptions): Promise<IncidentAutomation> {
  const a = new IncidentAutomation(opts);
  await a.start();
  return a;
}
