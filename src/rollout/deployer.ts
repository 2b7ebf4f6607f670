// The deployment pipeline: a release goes through the environments in order; each one refuses a
// release that has not passed the previous one with the same digest (the gate), unless a person
// breaks the glass with a recorded reason. Every step is an event, so the deployment can be
// followed live, audited later and recovered after a crash.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock/clock.ts';
import { GreenlightError, describe } from '../errors/errors.ts';
import { eventWith } from '../events/catalogue/index.ts';
import type { EventLog } from '../events/log.ts';
import type { Emit } from './emit.ts';
import type { Release } from '../releases/releases.ts';
import { shortDigest } from '../releases/digest.ts';
import type { Deployment, StateView } from '../state/projection.ts';
import { deployToEnvironment } from './environment.ts';
import type { DeployerDeps, EnvironmentOutcome } from './step.ts';
import type { EnvironmentRuntime, Runtime } from './runtime.ts';
import { RolloutControl, type PromoteRequest } from './control.ts';

export interface DeployRequest {
  service: string;
  version: string;
  actor: string;
  /** break-glass: skip the gate of every environment whose previous one the release did not pass */
  force?: boolean;
  reason?: string;
  /** deploy to these environments only (in pipeline order); the gate still applies */
  only?: string[];
  /** a rollback: the version already ran in these environments, so the gate does not apply */
  rollback?: boolean;
}

export interface DeploymentHandle {
  id: string;
  done: Promise<Deployment>;
}

export type { DeployerDeps } from './step.ts';

export class Deployer {
  private readonly deps: DeployerDeps;
  /** one deployment per service at a time */
  private readonly running = new Map<string, { id: string; version: string; abort: AbortController; control: RolloutControl; done?: Promise<Deployment> }>();

  constructor(deps: DeployerDeps) {
    this.deps = deps;
  }

  /** Validates and starts a deployment; resolves once it is recorded, `done` when it ends. */
  async start(req: DeployRequest): Promise<DeploymentHandle> {
    const { state, runtime } = this.deps;
    if (!runtime.service(req.service)) {
      throw new GreenlightError('NOT_FOUND', `unknown service "${req.service}"`, { hint: 'services are defined under "services:" in greenlight.yaml' });
    }
    const release = state.releases.get(`${req.service}@${req.version}`);
    if (!release) {
      const known = [...state.releases.values()].filter((r) => r.service === req.service).map((r) => r.version);
      throw new GreenlightError('NOT_FOUND', `${req.service}@${req.version} is not a registered release`, {
        hint: `register it first: greenlight release ${req.service} ${req.version} --artifact <dir>${known.length ? ` (registered: ${known.join(', ')})` : ''}`,
      });
    }
    if (req.force && !req.reason?.trim()) {
      throw new GreenlightError('USAGE', '--force needs --reason "<why>"', { hint: 'a break-glass deployment is recorded with who forced it and why' });
    }
    const busy = this.running.get(req.service);
    if (busy) {
      const dep = state.deployments.get(busy.id);
      throw new GreenlightError('CONFLICT', `deployment ${busy.id} of ${req.service}@${dep?.version ?? '?'} is still running`, {
        retryable: true,
        hint: `wait for it (greenlight events --deployment ${busy.id} --follow) or stop it with greenlight abort ${req.service}`,
      });
    }
    let envs = runtime.environments(req.service);
    if (req.only?.length) {
      const unknown = req.only.filter((n) => !envs.some((e) => e.name === n));
      if (unknown.length) throw new GreenlightError('NOT_FOUND', `unknown environment ${unknown.join(', ')}`, { hint: `environments: ${envs.map((e) => e.name).join(', ')}` });
      envs = envs.filter((e) => req.only!.includes(e.name));
    }
    const id = `d-${this.deps.clock.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const abort = new AbortController();
    const control = new RolloutControl();
    this.running.set(req.service, { id, version: req.version, abort, control });
    try {
      await this.deps.events.append({
        type: 'deployment.requested',
        actor: req.actor,
        subject: `deployment/${id}`,
        data: {
          deploymentId: id,
          service: req.service,
          version: req.version,
          digest: release.digest,
          environments: envs.map((e) => e.name),
          force: !!req.force,
          rollback: !!req.rollback,
          ...(req.reason ? { reason: req.reason } : {}),
        },
      });
    } catch (err) {
      this.running.delete(req.service);
      throw err;
    }
    const done = this.run(id, req, release, envs, abort.signal, control).finally(() => this.running.delete(req.service));
    this.running.get(req.service)!.done = done;
    return { id, done };
  }

  /** Aborts the running deployment of a service: its environment in progress returns to stable. */
  abort(service: string, actor: string): string | undefined {
    const r = this.running.get(service);
    if (!r) return undefined;
    void this.deps.events
      .append({ type: 'rollout.abort.requested', actor, subject: `deployment/${r.id}`, data: { deploymentId: r.id, service, version: r.version, actor } })
      .catch(() => undefined);
    r.abort.abort(new GreenlightError('CONFLICT', `aborted by ${actor}`));
    r.control.wake();
    return r.id;
  }

  /** On shutdown: every running deployment returns its environment to stable and ends aborted. */
  async abortAll(actor: string): Promise<void> {
    const running = [...this.running.entries()];
    for (const [service] of running) this.abort(service, actor);
    await Promise.all(running.map(([, r]) => r.done?.catch(() => undefined)));
  }

  runningDeployment(service: string): string | undefined {
    return this.running.get(service)?.id;
  }

  /** whether the running rollout of a service is paused and why, and what its step waits for */
  rolloutState(service: string): { paused: boolean; reason?: string; waiting?: string } | undefined {
    const c = this.running.get(service)?.control;
    if (!c) return undefined;
    return { paused: c.paused, ...(c.pauseReason ? { reason: c.pauseReason } : {}), ...(c.waiting ? { waiting: c.waiting } : {}) };
  }

  /** pause / resume / promote the running rollout of a service; each is an event */
  async command(service: string, what: 'pause' | 'resume' | PromoteRequest, actor: string): Promise<string> {
    const r = this.running.get(service);
    if (!r) throw new GreenlightError('NOT_FOUND', `no deployment of ${service} is running`, { hint: 'greenlight status shows what runs' });
    const emit = eventWith({ deploymentId: r.id, service, version: r.version, actor }, { actor, subject: `deployment/${r.id}` });
    await this.deps.events.append(what === 'pause' ? emit('rollout.paused', {}) : what === 'resume' ? emit('rollout.resumed', {}) : emit('rollout.promote.requested', { promote: what }));
    if (what === 'pause') r.control.pause(`paused by ${actor}`);
    else if (what === 'resume') r.control.resume();
    else r.control.requestPromote(what);
    return r.id;
  }

  private async run(id: string, req: DeployRequest, release: Release, envs: EnvironmentRuntime[], signal: AbortSignal, control: RolloutControl): Promise<Deployment> {
    const build = eventWith({ deploymentId: id, service: req.service, version: req.version }, { actor: 'controller', subject: `deployment/${id}` });
    const emit: Emit = (type, data, actor) => this.deps.events.append(build(type, data, actor));
    const all = this.deps.runtime.environments(req.service);
    let final: { type: 'deployment.promoted' } | { type: 'deployment.blocked' | 'deployment.rolled_back' | 'deployment.failed' | 'deployment.aborted'; reason: string } = { type: 'deployment.promoted' };
    try {
      for (const env of envs) {
        await emit('deployment.environment.started', { environment: env.name, digest: release.digest });
        const gate = await this.gate(id, req, release, env, all, emit);
        if (!gate.ok) {
          await emit('deployment.environment.blocked', { environment: env.name, reason: gate.reason, stage: 'gate' });
          final = { type: 'deployment.blocked', reason: gate.reason };
          break;
        }
        // A rollback restores what already ran here: it does not wait for approvals.
        if (this.deps.approvals && !req.rollback) {
          const approval = await this.deps.approvals.wait({ deploymentId: id, service: req.service, version: req.version, environment: env.name, requester: req.actor, breakGlass: gate.overridden === true, signal });
          if (!approval.ok) {
            await emit('deployment.environment.blocked', { environment: env.name, reason: approval.reason, stage: 'approval' });
            final = { type: signal.aborted ? 'deployment.aborted' : 'deployment.blocked', reason: `${env.name}: ${approval.reason}` };
            break;
          }
        }
        const outcome: EnvironmentOutcome = await deployToEnvironment({ id, release, env, emit, deps: this.deps, signal, control, rollback: !!req.rollback });
        if (outcome.result !== 'passed') {
          final = {
            type: outcome.result === 'blocked' ? 'deployment.blocked' : outcome.result === 'rolled_back' ? 'deployment.rolled_back' : outcome.result === 'aborted' ? 'deployment.aborted' : 'deployment.failed',
            reason: `${env.name}: ${outcome.reason}`,
          };
          break;
        }
      }
    } catch (err) {
      final = { type: 'deployment.failed', reason: describe(err) };
    }
    await (final.type === 'deployment.promoted' ? emit(final.type, {}) : emit(final.type, { reason: final.reason }));
    return this.deps.state.deployments.get(id)!;
  }

  private async gate(
    id: string,
    req: DeployRequest,
    release: Release,
    env: EnvironmentRuntime,
    all: EnvironmentRuntime[],
    emit: Emit,
  ): Promise<{ ok: true; overridden?: boolean } | { ok: false; reason: string }> {
    const { state } = this.deps;
    const pos = all.findIndex((e) => e.name === env.name);
    if (req.rollback) {
      const ranHere = state.passed.get(`${env.name}/${req.service}@${req.version}`);
      if (ranHere?.digest === release.digest) {
        await emit('deployment.gate.passed', { environment: env.name, because: `${req.service}@${req.version} passed ${env.name} before (deployment ${ranHere.deploymentId})` });
        return { ok: true };
      }
    }
    if (pos <= 0) {
      await emit('deployment.gate.passed', { environment: env.name, because: 'first environment of the pipeline' });
      return { ok: true };
    }
    const prev = all[pos - 1]!;
    const passed = state.passed.get(`${prev.name}/${req.service}@${req.version}`);
    if (passed && passed.digest === release.digest) {
      await emit('deployment.gate.passed', { environment: env.name, previous: prev.name, because: `passed ${prev.name} in deployment ${passed.deploymentId}` });
      return { ok: true };
    }
    const why = passed
      ? `${req.service}@${req.version} passed ${prev.name} with digest ${shortDigest(passed.digest)}, but this release has ${shortDigest(release.digest)}`
      : `${req.service}@${req.version} has not passed ${prev.name}`;
    if (req.force) {
      await emit('deployment.gate.overridden', { environment: env.name, previous: prev.name, missing: why, reason: req.reason, forcedBy: req.actor }, req.actor);
      return { ok: true, overridden: true };
    }
    const reason = `${env.name} refuses ${req.service}@${req.version}: ${why}. Deploy it through ${prev.name} first (greenlight deploy ${req.service}@${req.version}); in an emergency, --force --reason "<why>" is recorded as a break-glass`;
    await emit('deployment.gate.refused', { environment: env.name, previous: prev.name, reason });
    return { ok: false, reason };
  }
}
