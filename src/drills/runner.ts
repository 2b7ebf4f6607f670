// Runs a drill inside the controller: pushes the scenario's faults on time (each bounded by the
// drill's end, enforced by the router or the dependency source itself), marks the alerts it
// causes as DRILL, links the incident they open, watches the log for the mitigation, and ends on
// mitigation, on the time limit or on `greenlight drill stop`, removing every fault. The
// monitoring, alerting, paging and rollout machinery are the real ones: the drill only adds
// faults and labels.
import { randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../clock/clock.ts';
import type { DependencyFaults } from '../checks/compatibility/faults.ts';
import { describe, GreenlightError } from '../errors/errors.ts';
import type { EventLog, StoredEvent } from '../events/log.ts';
import type { RuleAlertChange } from '../alerting/alerts/alert.ts';
import type { FaultRequest, FaultView } from '../router/faults.ts';
import { planFaults, rootCauseMatches, type PlannedFault, type Scenario } from './scenario.ts';
import { isProduction, type DrillsConfig } from './schema.ts';
import { scoreDrill, type Scorecard } from './scorecard.ts';

/** The part of a router's admin API a drill uses (RouterClient implements it). */
export interface RouterFaultAdmin {
  putFault(f: FaultRequest): Promise<FaultView>;
  removeFaults(drill?: string): Promise<number>;
  faults(): Promise<{ faults: FaultView[] }>;
}

export interface DrillDeps {
  events: EventLog;
  clock: Clock;
  drills: DrillsConfig;
  environments: readonly string[];
  services: readonly string[];
  routerFaults(environment: string, service: string): RouterFaultAdmin | undefined;
  dependencyFaults: DependencyFaults;
  stableVersion(environment: string, service: string): string | undefined;
  /** starts a real deployment (the scenario's `deploy:`); returns its id */
  deploy(req: { service: string; version: string; environment: string; actor: string }): Promise<string>;
  /** open incidents not opened by a drill: a drill never mixes with a real incident */
  realOpenIncidents(environment: string, service: string): Promise<{ id: string; title: string }[]>;
  onError?: (err: unknown) => void;
}

export interface StartRequest {
  scenario: Scenario;
  /** how it was named: a built-in name or a file */
  ref: string;
  environment: string;
  service?: string;
  participants?: string[];
  actor: string;
  reason?: string;
}

export interface DrillView {
  id: string;
  scenario: string;
  title: string;
  environment: string;
  service: string;
  version: string | null;
  participants: string[];
  startedAt: number;
  endsAt: number;
  incidentId: string | null;
  faults: { id: string; kind: string; at: number; pushed: boolean }[];
}

interface Running extends DrillView {
  scenarioDef: Scenario;
  plan: PlannedFault[];
  timers: TimerHandle[];
  deploymentId: string | null;
  ending: boolean;
  /** mitigated, waiting for the right root cause before ending (so the diagnosis is still scored) */
  mitigated: boolean;
  diagnosed: boolean;
  /** when the first failure was seen (faults with after: failure are pushed from then) */
  failedAt: number | null;
}

export class DrillRunner {
  private readonly d: DrillDeps;
  private current: Running | null = null;
  /** alerts a drill marked, by rule name and labels: their later changes (resolution) keep the mark */
  private readonly marked = new Map<string, string>();
  private unsubscribe: (() => void) | null = null;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(deps: DrillDeps) {
    this.d = deps;
  }

  /** Follows the log, and closes drills a dead controller left running (their faults have expired or are removed now). */
  async start(): Promise<void> {
    this.unsubscribe = this.d.events.subscribe((e) => {
      this.chain = this.chain.then(() => this.observe(e)).catch((err: unknown) => this.d.onError?.(err));
    });
    const started = await this.d.events.query({ types: ['drill.started', 'drill.ended'] });
    const ended = new Set(started.filter((e) => e.type === 'drill.ended').map((e) => e.subject));
    for (const e of started) {
      if (e.type !== 'drill.started' || ended.has(e.subject)) continue;
      const id = String(e.data.drillId);
      await this.removeFaults(id, String(e.data.environment), String(e.data.service));
      await this.record(id, 'drill.ended', 'controller', { outcome: 'interrupted', reason: 'the controller stopped during the drill; every fault was bounded by the drill\'s end and is removed' });
      await this.score(id);
    }
  }

  stop(): void {
    this.unsubscribe?.();
    for (const t of this.current?.timers ?? []) t.cancel();
  }

  running(): DrillView | null {
    if (!this.current) return null;
    const { scenarioDef: _s, plan: _p, timers: _t, deploymentId: _d, ending: _e, mitigated: _m, diagnosed: _g, failedAt: _f, ...view } = this.current;
    return view;
  }

  async begin(req: StartRequest): Promise<DrillView> {
    const { d } = this;
    const s = req.scenario;
    if (!d.environments.includes(req.environment)) {
      throw new GreenlightError('USAGE', `unknown environment "${req.environment}"`, { hint: `environments: ${d.environments.join(', ')}` });
    }
    const service = req.service ?? s.service ?? (d.services.length === 1 ? d.services[0]! : undefined);
    if (!service || !d.services.includes(service)) {
      throw new GreenlightError('USAGE', service ? `unknown service "${service}"` : 'which service? the config has several', { hint: `give --service, one of ${d.services.join(', ')}` });
    }
    const production = isProduction(d.drills, d.environments, req.environment);
    if (production && !d.drills.allow_production) {
      throw new GreenlightError('USAGE', `refused: ${req.environment} is a production environment and drills.allow_production is not set`, {
        hint: 'drill in staging, or set drills.allow_production: true in greenlight.yaml and give --reason',
      });
    }
    if (production && !req.reason?.trim()) {
      throw new GreenlightError('USAGE', `refused: a drill in production (${req.environment}) needs a recorded reason`, { hint: 'add --reason "<why this drill must run in production>"' });
    }
    if (this.current) {
      throw new GreenlightError('CONFLICT', `drill ${this.current.id} is already running in ${this.current.environment}`, { hint: 'one drill at a time: greenlight drill stop ends it' });
    }
    const real = await d.realOpenIncidents(req.environment, service);
    if (real.length) {
      throw new GreenlightError('CONFLICT', `refused: ${service} in ${req.environment} has an open incident (${real.map((i) => `${i.id} "${i.title}"`).join(', ')})`, {
        hint: 'a drill never mixes with a real incident; resolve it first',
      });
    }
    const hit = s.hits === 'all' ? null : s.hits === 'stable' ? (s.deploy?.version ?? d.stableVersion(req.environment, service) ?? null) : s.hits;
    if (s.hits !== 'all' && hit === null) {
      throw new GreenlightError('USAGE', `nothing serves ${service} in ${req.environment} for the drill's faults to hit`, { hint: `deploy ${service} to ${req.environment} first, or use a scenario with hits: all` });
    }
    const now = d.clock.now();
    const id = `drill-${new Date(now).toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`;
    const plan = planFaults(s, id, hit);
    const run: Running = {
      id,
      scenario: s.name,
      title: s.title,
      environment: req.environment,
      service,
      version: hit,
      participants: req.participants ?? [],
      startedAt: now,
      endsAt: now + s.duration,
      incidentId: null,
      faults: plan.map((p) => ({ id: p.id, kind: p.target === 'dependency' ? 'dependency' : p.kind, at: now + p.at, pushed: false })),
      scenarioDef: s,
      plan,
      timers: [],
      deploymentId: null,
      ending: false,
      mitigated: false,
      diagnosed: false,
      failedAt: null,
    };
    this.current = run;
    try {
      await this.record(id, 'drill.started', req.actor, {
        scenario: s,
        ref: req.ref,
        environment: req.environment,
        service,
        version: hit,
        participants: run.participants,
        endsAt: run.endsAt,
        production,
        ...(req.reason ? { reason: req.reason } : {}),
      });
      run.timers.push(d.clock.setTimeout(() => void this.end('time_limit', 'controller', `the drill's time limit (${Math.round(s.duration / 1000)} s) was reached`).catch(d.onError), s.duration));
      const due = (at: number, fn: () => Promise<void>) => {
        if (at === 0) return fn();
        run.timers.push(d.clock.setTimeout(() => void fn().catch((err: unknown) => d.onError?.(err)), at));
        return Promise.resolve();
      };
      for (const [i, p] of plan.entries()) if (!p.afterFailure) await due(p.at, () => this.push(run, p, i));
      if (s.deploy) await due(s.deploy.at, () => this.deploy(run, s.deploy!.version));
    } catch (err) {
      await this.end('failed', 'controller', `the drill could not start: ${describe(err)}`).catch(() => undefined);
      throw err;
    }
    return this.running()!;
  }

  /** `greenlight drill stop` */
  async halt(actor: string, reason = 'stopped by a person'): Promise<Scorecard | null> {
    const run = this.current;
    if (!run) throw new GreenlightError('NOT_FOUND', 'no drill is running');
    return this.end('stopped', actor, reason);
  }

  /**
   * Marks a monitor's alert change as DRILL when a drill runs where it fires: a `drill` label and
   * the summary prefixed, so the page, the incident and the dashboard all say so.
   */
  mark(c: RuleAlertChange, environment: string, service: string): RuleAlertChange {
    const key = `${c.name}|${environment}|${service}|${JSON.stringify(c.labels)}`;
    const run = this.current;
    let drill = this.marked.get(key);
    if (!drill && run && !run.ending && run.environment === environment && run.service === service && c.state !== 'resolved') drill = run.id;
    if (!drill) return c;
    if (c.state === 'resolved') this.marked.delete(key);
    else this.marked.set(key, drill);
    const summary = c.annotations.summary ?? c.annotations.description ?? c.name;
    return { ...c, labels: { ...c.labels, drill }, annotations: { ...c.annotations, summary: summary.startsWith('DRILL') ? summary : `DRILL ${drill}: ${summary}` } };
  }

  private async push(run: Running, p: PlannedFault, index: number): Promise<void> {
    const { d } = this;
    if (run.ending) return;
    // never past the drill's end, whatever the plan says
    const ttlMs = Math.min(p.ttlMs, run.endsAt - d.clock.now());
    if (ttlMs <= 0) return;
    let detail: string;
    let expiresAt: number;
    if (p.target === 'dependency') {
      const f = d.dependencyFaults.put({ id: p.id, drill: run.id, environment: run.environment, dependency: p.dependency, report: p.report, ttlMs });
      expiresAt = f.expiresAt;
      detail = p.report === 'unreachable' ? `${p.dependency} unreachable` : `${p.dependency} reports ${p.report}`;
    } else {
      const admin = d.routerFaults(run.environment, run.service);
      if (!admin) throw new GreenlightError('ROUTER_UNREACHABLE', `no router for ${run.environment}/${run.service}`, { hint: 'is the controller running its routers? greenlight status' });
      const base = { id: p.id, drill: run.id, ttlMs, ...(p.version !== null ? { version: p.version } : {}) };
      const req: FaultRequest =
        p.kind === 'error' ? { ...base, kind: 'error', share: p.share, status: p.status } : p.kind === 'drop' ? { ...base, kind: 'drop', share: p.share } : { ...base, kind: 'latency', latencyMs: p.latencyMs };
      const f = await admin.putFault(req);
      expiresAt = f.expiresAt;
      const scope = p.version === null ? `every version of ${run.service}` : `${run.service}@${p.version}`;
      detail = p.kind === 'error' ? `${Math.round(p.share * 100)}% of requests to ${scope} answer ${p.status}` : p.kind === 'drop' ? `${Math.round(p.share * 100)}% of connections to ${scope} dropped` : `${p.latencyMs} ms added to every request to ${scope}`;
    }
    const view = run.faults[index];
    if (view) view.pushed = true;
    await this.record(run.id, 'drill.fault.injected', 'controller', { faultId: p.id, kind: p.target === 'dependency' ? 'dependency' : p.kind, target: p.target, detail, ttlMs, expiresAt, environment: run.environment, service: run.service });
  }

  private async deploy(run: Running, version: string): Promise<void> {
    if (run.ending) return;
    run.deploymentId = await this.d.deploy({ service: run.service, version, environment: run.environment, actor: `drill:${run.id}` });
    await this.record(run.id, 'drill.deployment.started', 'controller', { deploymentId: run.deploymentId, version });
  }

  private async observe(e: StoredEvent): Promise<void> {
    const run = this.current;
    if (!run || run.ending || e.subject === `drill/${run.id}`) return;
    const data = e.data as Record<string, unknown>;
    if (run.failedAt === null) {
      const verdict = e.type === 'analysis.verdict' && data.verdict === 'fail' && run.deploymentId !== null && data.deploymentId === run.deploymentId;
      const alert = e.type === 'alert.firing' && (data.labels as Record<string, string> | undefined)?.drill === run.id;
      if (verdict || alert) {
        run.failedAt = e.time;
        for (const [i, p] of run.plan.entries()) {
          if (!p.afterFailure) continue;
          if (p.at === 0) await this.push(run, p, i);
          else run.timers.push(this.d.clock.setTimeout(() => void this.push(run, p, i).catch((err: unknown) => this.d.onError?.(err)), p.at));
        }
      }
    }
    if (run.incidentId === null) {
      const labels = data.labels as Record<string, string> | undefined;
      const byAlert = e.type === 'incident.alert.joined' && labels?.drill === run.id;
      const byDeployment = e.type === 'incident.opened' && run.deploymentId !== null && data.deploymentId === run.deploymentId;
      if (byAlert || byDeployment) {
        run.incidentId = String(data.incidentId);
        await this.record(run.id, 'drill.incident.linked', 'controller', { incidentId: run.incidentId });
        await this.d.events.append({
          type: 'incident.note.added',
          actor: `drill:${run.id}`,
          subject: `incident/${run.incidentId}`,
          data: { incidentId: run.incidentId, text: `DRILL ${run.id}: this incident is a rehearsal (scenario ${run.scenario}); respond as you would for real` },
        });
      }
    }
    if (run.incidentId !== null && e.type === 'incident.root_cause.set' && e.subject === `incident/${run.incidentId}` && rootCauseMatches(run.scenarioDef, String(data.text ?? ''))) {
      run.diagnosed = true;
      if (run.mitigated) await this.end('mitigated', 'controller', 'mitigated, and the root cause is recorded');
      return;
    }
    if (run.mitigated) return;
    const by = run.scenarioDef.mitigated_by;
    if (by.includes('rollback') && run.version !== null && e.type === 'router.switched' && data.environment === run.environment && data.service === run.service && data.from === run.version && data.to !== run.version) {
      const actor = await this.actorOfDeployment(String(data.deploymentId ?? ''));
      await this.mitigated(run, 'rollback', actor, `traffic moved from ${run.service}@${run.version} to ${String(data.to)}`);
      return;
    }
    if (by.includes('incident') && run.incidentId !== null && e.type === 'incident.mitigated' && e.subject === `incident/${run.incidentId}`) {
      await this.mitigated(run, 'incident', e.actor, 'the incident was marked mitigated');
    }
  }

  private async actorOfDeployment(id: string): Promise<string> {
    const req = (await this.d.events.query({ subject: `deployment/${id}`, types: ['deployment.requested'] }))[0];
    return req?.actor ?? 'controller';
  }

  private async mitigated(run: Running, how: string, actor: string, detail: string): Promise<void> {
    run.mitigated = true;
    await this.record(run.id, 'drill.mitigated', 'controller', { by: how, actor, detail });
    // an automatic rollback can mitigate before anyone diagnosed: the drill goes on for the diagnosis
    if (run.diagnosed) await this.end('mitigated', 'controller', detail);
  }

  private async end(outcome: string, actor: string, reason: string): Promise<Scorecard | null> {
    const run = this.current;
    if (!run || run.ending) return null;
    run.ending = true;
    for (const t of run.timers) t.cancel();
    const removed = await this.removeFaults(run.id, run.environment, run.service);
    await this.record(run.id, 'drill.ended', actor, { outcome, reason, ...removed });
    this.current = null;
    return this.score(run.id);
  }

  /** Removes a drill's faults everywhere; what could not be removed still expires by its own limit. */
  private async removeFaults(id: string, environment: string, service: string): Promise<{ removedRouter: number; removedDependency: number; left: number; removeError?: string }> {
    let removedRouter = 0;
    let left = 0;
    let removeError: string | undefined;
    const admin = this.d.routerFaults(environment, service);
    try {
      if (admin) {
        removedRouter = await admin.removeFaults(id);
        left = (await admin.faults()).faults.filter((f) => f.drill === id).length;
      }
    } catch (err) {
      removeError = `${describe(err)}; the router expires them by their limit`;
    }
    const removedDependency = this.d.dependencyFaults.remove({ drill: id });
    left += this.d.dependencyFaults.list().filter((f) => f.drill === id).length;
    return { removedRouter, removedDependency, left, ...(removeError ? { removeError } : {}) };
  }

  private async score(id: string): Promise<Scorecard | null> {
    const card = await scorecardOf(this.d.events, id, this.d.drills);
    if (card) await this.record(id, 'drill.scored', 'controller', { scorecard: card });
    return card;
  }

  private record(id: string, type: string, actor: string, data: Record<string, unknown>): Promise<StoredEvent> {
    return this.d.events.append({ type, actor, subject: `drill/${id}`, data: { drillId: id, ...data } });
  }
}

/** The scorecard of one drill, from the log (the drill's events and those of its incident). */
export async function scorecardOf(events: EventLog, id: string, drills: DrillsConfig): Promise<Scorecard | null> {
  const own = await events.query({ subject: `drill/${id}` });
  const started = own.find((e) => e.type === 'drill.started');
  if (!started) return null;
  const ended = own.find((e) => e.type === 'drill.ended');
  const all = await events.query({ since: started.time, ...(ended ? { until: ended.time } : {}) });
  return scoreDrill(id, all, drills.targets);
}
