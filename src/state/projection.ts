// Current state is a fold over the event log: what is registered, what runs where, what each
// deployment did. Nothing here is stored on its own; a restart replays the log.
import type { EventLog, StoredEvent } from '../events/log.ts';
import type { Release } from '../releases/releases.ts';

export type DeploymentState = 'running' | 'promoted' | 'blocked' | 'rolled_back' | 'failed' | 'aborted';

export interface Override {
  environment: string;
  actor: string;
  reason: string;
  at: number;
}

export interface EnvironmentProgress {
  name: string;
  state: 'pending' | 'running' | 'passed' | 'blocked' | 'rolled_back' | 'failed' | 'aborted' | 'skipped';
  startedAt?: number;
  endedAt?: number;
  reason?: string;
  stage?: string;
}

export interface Deployment {
  id: string;
  service: string;
  version: string;
  digest: string;
  state: DeploymentState;
  requestedBy: string;
  requestedAt: number;
  endedAt?: number;
  reason?: string;
  environments: EnvironmentProgress[];
  overrides: Override[];
  /** approvals asked for in an environment (approval.* events), latest last */
  approvals?: ApprovalProgress[];
}

export interface ApprovalProgress {
  environment: string;
  required: number;
  requester: string;
  state: 'waiting' | 'approved' | 'rejected' | 'expired';
  approvedBy: string[];
  refused: string[];
  requestedAt: number;
  expiresAt: number;
  breakGlass: boolean;
  rejectedBy?: string;
  reason?: string;
}

export interface Placement {
  service: string;
  environment: string;
  version: string;
  digest: string;
  since: number;
  deploymentId?: string;
}

export interface StateView {
  releases: Map<string, Release>;
  deployments: Map<string, Deployment>;
  /** key `${environment}/${service}`: the version serving (stable) there */
  stable: Map<string, Placement>;
  /** key `${environment}/${service}@${version}`: digests that passed this environment */
  passed: Map<string, { digest: string; deploymentId: string; at: number }>;
  lastSeq: number;
}

export function emptyState(): StateView {
  return { releases: new Map(), deployments: new Map(), stable: new Map(), passed: new Map(), lastSeq: 0 };
}

/**
 * Applies one event. A switch over the whole catalogue: the compiler checks every type is decided
 * here (the ones that change no state are listed at the end), and an event of a type this
 * Greenlight does not know (an older log's) changes nothing.
 */
export function apply(state: StateView, e: StoredEvent): StateView {
  state.lastSeq = e.seq;
  switch (e.type) {
    case 'release.registered': {
      const d = e.data;
      state.releases.set(`${d.service}@${d.version}`, {
        service: d.service,
        version: d.version,
        digest: d.digest,
        artifactDir: d.artifactDir,
        source: d.source,
        requires: d.requires,
        registeredAt: e.time,
        registeredBy: e.actor,
      });
      break;
    }
    case 'deployment.requested': {
      const d = e.data;
      state.deployments.set(d.deploymentId, {
        id: d.deploymentId,
        service: d.service,
        version: d.version,
        digest: d.digest,
        state: 'running',
        requestedBy: e.actor,
        requestedAt: e.time,
        environments: d.environments.map((name) => ({ name, state: 'pending' })),
        overrides: [],
      });
      break;
    }
    case 'deployment.environment.started':
      withEnv(state, e.data, (env) => Object.assign(env, { state: 'running', startedAt: e.time, stage: 'gate' }));
      break;
    case 'deployment.stage':
      withEnv(state, e.data, (env) => (env.stage = e.data.stage));
      break;
    case 'deployment.gate.overridden': {
      const d = e.data;
      state.deployments.get(d.deploymentId)?.overrides.push({ environment: d.environment, actor: e.actor, reason: d.reason ?? '', at: e.time });
      break;
    }
    case 'approval.requested': {
      const d = e.data;
      withEnv(state, d, (env) => (env.stage = 'approval'));
      const dep = state.deployments.get(d.deploymentId);
      (dep && (dep.approvals ??= []))?.push({
        environment: d.environment,
        required: d.required,
        requester: d.requester,
        state: 'waiting',
        approvedBy: [],
        refused: [],
        requestedAt: e.time,
        expiresAt: d.expiresAt,
        breakGlass: d.breakGlass,
      });
      break;
    }
    case 'approval.granted':
    case 'approval.refused':
    case 'approval.rejected':
    case 'approval.expired': {
      const d = e.data;
      const a = state.deployments.get(d.deploymentId)?.approvals?.findLast((x) => x.environment === d.environment);
      if (!a) break;
      if (e.type === 'approval.granted') {
        a.approvedBy.push(e.actor);
        if (e.data.satisfied) a.state = 'approved';
      } else if (e.type === 'approval.refused') a.refused.push(e.actor);
      else if (e.type === 'approval.rejected') Object.assign(a, { state: 'rejected', rejectedBy: e.actor, reason: e.data.reason });
      else a.state = 'expired';
      break;
    }
    case 'deployment.environment.passed': {
      const d = e.data;
      withEnv(state, d, (env) => Object.assign(env, { state: 'passed', endedAt: e.time, stage: 'done' }));
      state.passed.set(`${d.environment}/${d.service}@${d.version}`, { digest: d.digest, deploymentId: d.deploymentId, at: e.time });
      break;
    }
    case 'deployment.environment.blocked':
    case 'deployment.environment.rolled_back':
    case 'deployment.environment.failed':
    case 'deployment.environment.aborted': {
      const st = e.type.slice('deployment.environment.'.length) as EnvironmentProgress['state'];
      withEnv(state, e.data, (env) => Object.assign(env, { state: st, endedAt: e.time, reason: e.data.reason }));
      break;
    }
    case 'deployment.promoted':
    case 'deployment.blocked':
    case 'deployment.rolled_back':
    case 'deployment.failed':
    case 'deployment.aborted': {
      const dep = state.deployments.get(e.data.deploymentId);
      if (dep) {
        dep.state = e.type.slice('deployment.'.length) as DeploymentState;
        dep.endedAt = e.time;
        if ('reason' in e.data && e.data.reason) dep.reason = e.data.reason;
        for (const env of dep.environments) if (env.state === 'pending') env.state = 'skipped';
      }
      break;
    }
    case 'environment.stable.changed': {
      const d = e.data;
      state.stable.set(`${d.environment}/${d.service}`, {
        service: d.service,
        environment: d.environment,
        version: d.version,
        digest: d.digest,
        since: e.time,
        ...(d.deploymentId ? { deploymentId: d.deploymentId } : {}),
      });
      break;
    }
    // events that change no state of this view
    case 'deployment.gate.passed':
    case 'deployment.gate.refused':
    case 'environment.reconciled':
    case 'environment.traffic.restored':
    case 'environment.reconcile.failed':
    case 'rollout.step.started':
    case 'rollout.weight.zero':
    case 'rollout.paused':
    case 'rollout.waiting':
    case 'rollout.resumed':
    case 'rollout.promote.requested':
    case 'rollout.promoted':
    case 'rollout.wave.started':
    case 'rollout.wave.passed':
    case 'rollout.wave.failed':
    case 'rollout.host.excluded':
    case 'rollout.cleanup.failed':
    case 'rollout.abort.requested':
    case 'analysis.verdict':
    case 'check.passed':
    case 'check.failed':
    case 'check.errored':
    case 'router.started':
    case 'router.adopted':
    case 'router.stopped':
    case 'router.died':
    case 'router.crash_looping':
    case 'router.restarted':
    case 'router.restart_failed':
    case 'router.switched':
    case 'instance.started':
    case 'instance.ready':
    case 'instance.crashed':
    case 'instance.restarted':
    case 'instance.stopped':
    case 'instance.adopted':
    case 'instance.lost':
    case 'incident.opened':
    case 'incident.acknowledged':
    case 'incident.mitigated':
    case 'incident.resolved':
    case 'incident.note.added':
    case 'incident.root_cause.set':
    case 'incident.severity.changed':
    case 'incident.alert.joined':
    case 'alert.pending':
    case 'alert.firing':
    case 'alert.resolved':
    case 'alert.group.notified':
    case 'page.triggered':
    case 'page.sent':
    case 'page.acknowledged':
    case 'page.snoozed':
    case 'page.resolved':
    case 'page.escalated':
    case 'page.exhausted':
    case 'notification.sent':
    case 'notification.failed':
    case 'silence.created':
    case 'silence.expired':
    case 'monitor.summary':
    case 'monitor.anomaly':
    case 'monitor.trend.warning':
    case 'monitor.alert.pending':
    case 'monitor.alert.firing':
    case 'monitor.alert.resolved':
    case 'monitor.probe.up':
    case 'monitor.probe.down':
    case 'controller.started':
    case 'controller.stopped':
    case 'host.key_accepted':
    case 'host.clock_skew':
    case 'host.unreachable':
    case 'host.reachable':
    case 'host.supervisor':
    case 'artifact.uploaded':
    case 'artifact.pruned':
    case 'drill.started':
    case 'drill.fault.injected':
    case 'drill.deployment.started':
    case 'drill.incident.linked':
    case 'drill.mitigated':
    case 'drill.ended':
    case 'drill.missed':
    case 'drill.scored':
    case 'audit.chain_started':
    case 'audit.break_accepted':
    case 'analysis.samples':
    case 'analysis.metric.verdict':
    case 'inventory.collected':
    case 'inventory.drift':
    case 'approval.link.refused':
    case 'user.created':
    case 'user.roles.changed':
    case 'token.issued':
    case 'token.revoked':
    case 'drill.reminder.sent':
    case 'drill.slot.done':
    case 'drill.slot.start_failed':
    case 'change.requested':
    case 'change.blocked':
    case 'change.override':
    case 'change.environment.started':
    case 'change.wave.started':
    case 'change.wave.waiting':
    case 'change.stopped':
    case 'change.host.drained':
    case 'change.host.applied':
    case 'change.host.verified':
    case 'change.host.verify_failed':
    case 'change.host.undone':
    case 'change.host.undo_failed':
    case 'change.host.failed':
    case 'change.host.restored':
    case 'change.host.unhealthy':
    case 'change.failed':
    case 'change.passed':
    case 'change.completed':
      break;
    default:
      unknownType(e);
  }
  return state;
}

/** Compile time: every catalogue type has its case above. Run time: an unknown type is ignored. */
function unknownType(_e: never): void {}

function withEnv(state: StateView, d: { deploymentId: string; environment: string }, fn: (env: EnvironmentProgress) => void): void {
  const dep = state.deployments.get(d.deploymentId);
  const env = dep?.environments.find((x) => x.name === d.environment);
  if (env) fn(env);
}

/** Keeps a StateView current: replays the log once, then applies each new event as it is appended. */
export class LiveState {
  readonly view: StateView = emptyState();
  private readonly log: EventLog;
  private off: (() => void) | undefined;

  constructor(log: EventLog) {
    this.log = log;
  }

  async start(): Promise<void> {
    for (const e of await this.log.query({ afterSeq: this.view.lastSeq })) apply(this.view, e);
    this.off = this.log.subscribe((e) => {
      if (e.seq > this.view.lastSeq) apply(this.view, e);
    });
  }

  stop(): void {
    this.off?.();
  }
}

export async function replay(log: EventLog): Promise<StateView> {
  const s = emptyState();
  for (const e of await log.query()) apply(s, e);
  return s;
}
