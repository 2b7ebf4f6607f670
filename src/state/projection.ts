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
  state: 'pending' | 'running' | 'passed' | 'blocked' | 'rolled_back' | 'failed' | 'skipped';
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

type Data = Record<string, unknown>;
const str = (d: Data, k: string): string => String(d[k] ?? '');

export function apply(state: StateView, e: StoredEvent): StateView {
  state.lastSeq = e.seq;
  const d = e.data as Data;
  switch (e.type) {
    case 'release.registered':
      state.releases.set(`${str(d, 'service')}@${str(d, 'version')}`, {
        service: str(d, 'service'),
        version: str(d, 'version'),
        digest: str(d, 'digest'),
        artifactDir: str(d, 'artifactDir'),
        source: str(d, 'source'),
        requires: (d.requires ?? {}) as Record<string, string>,
        registeredAt: e.time,
        registeredBy: e.actor,
      });
      break;
    case 'deployment.requested':
      state.deployments.set(str(d, 'deploymentId'), {
        id: str(d, 'deploymentId'),
        service: str(d, 'service'),
        version: str(d, 'version'),
        digest: str(d, 'digest'),
        state: 'running',
        requestedBy: e.actor,
        requestedAt: e.time,
        environments: ((d.environments ?? []) as string[]).map((name) => ({ name, state: 'pending' })),
        overrides: [],
      });
      break;
    case 'deployment.environment.started':
      withEnv(state, d, (env) => Object.assign(env, { state: 'running', startedAt: e.time, stage: 'gate' }));
      break;
    case 'deployment.stage':
      withEnv(state, d, (env) => (env.stage = str(d, 'stage')));
      break;
    case 'deployment.gate.overridden': {
      const dep = state.deployments.get(str(d, 'deploymentId'));
      dep?.overrides.push({ environment: str(d, 'environment'), actor: e.actor, reason: str(d, 'reason'), at: e.time });
      break;
    }
    case 'approval.requested': {
      withEnv(state, d, (env) => (env.stage = 'approval'));
      const dep = state.deployments.get(str(d, 'deploymentId'));
      (dep && (dep.approvals ??= []))?.push({ environment: str(d, 'environment'), required: Number(d.required), requester: str(d, 'requester'), state: 'waiting', approvedBy: [], refused: [], requestedAt: e.time, expiresAt: Number(d.expiresAt), breakGlass: d.breakGlass === true });
      break;
    }
    case 'approval.granted':
    case 'approval.refused':
    case 'approval.rejected':
    case 'approval.expired': {
      const a = state.deployments.get(str(d, 'deploymentId'))?.approvals?.findLast((x) => x.environment === str(d, 'environment'));
      if (!a) break;
      if (e.type === 'approval.granted') {
        a.approvedBy.push(e.actor);
        if (d.satisfied === true) a.state = 'approved';
      } else if (e.type === 'approval.refused') a.refused.push(e.actor);
      else if (e.type === 'approval.rejected') Object.assign(a, { state: 'rejected', rejectedBy: e.actor, reason: str(d, 'reason') });
      else a.state = 'expired';
      break;
    }
    case 'deployment.environment.passed':
      withEnv(state, d, (env) => Object.assign(env, { state: 'passed', endedAt: e.time, stage: 'done' }));
      state.passed.set(`${str(d, 'environment')}/${str(d, 'service')}@${str(d, 'version')}`, {
        digest: str(d, 'digest'),
        deploymentId: str(d, 'deploymentId'),
        at: e.time,
      });
      break;
    case 'deployment.environment.blocked':
    case 'deployment.environment.rolled_back':
    case 'deployment.environment.failed': {
      const st = e.type.slice('deployment.environment.'.length) as EnvironmentProgress['state'];
      withEnv(state, d, (env) => Object.assign(env, { state: st, endedAt: e.time, reason: str(d, 'reason') }));
      break;
    }
    case 'deployment.promoted':
    case 'deployment.blocked':
    case 'deployment.rolled_back':
    case 'deployment.failed':
    case 'deployment.aborted': {
      const dep = state.deployments.get(str(d, 'deploymentId'));
      if (dep) {
        dep.state = e.type.slice('deployment.'.length) as DeploymentState;
        dep.endedAt = e.time;
        if (d.reason) dep.reason = str(d, 'reason');
        for (const env of dep.environments) if (env.state === 'pending') env.state = 'skipped';
      }
      break;
    }
    case 'environment.stable.changed':
      state.stable.set(`${str(d, 'environment')}/${str(d, 'service')}`, {
        service: str(d, 'service'),
        environment: str(d, 'environment'),
        version: str(d, 'version'),
        digest: str(d, 'digest'),
        since: e.time,
        ...(d.deploymentId ? { deploymentId: str(d, 'deploymentId') } : {}),
      });
      break;
  }
  return state;
}

function withEnv(state: StateView, d: Data, fn: (env: EnvironmentProgress) => void): void {
  const dep = state.deployments.get(str(d, 'deploymentId'));
  const env = dep?.environments.find((x) => x.name === str(d, 'environment'));
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
