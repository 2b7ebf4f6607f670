// What the steps of a deployment share: what the Deployer gives each environment step, and what a
// step returns. Its own module so that the deployer, the environment step and the canary all
// import it and none of them imports another's types (no import circle, type-only ones included).
import type { Clock } from '../clock/clock.ts';
import type { ApprovalGate } from '../approvals/approvals.ts';
import type { DataOf } from '../events/catalogue/index.ts';
import type { EventLog } from '../events/log.ts';
import type { Release } from '../releases/releases.ts';
import type { StateView } from '../state/projection.ts';
import type { RolloutControl } from './control.ts';
import type { DeploymentRef, Emit } from './emit.ts';
import type { EnvironmentRuntime, Runtime } from './runtime.ts';

export interface DeployerDeps {
  events: EventLog;
  state: StateView;
  runtime: Runtime;
  clock: Clock;
  /** environments that need approvals wait here after their gate, before anything starts there */
  approvals?: ApprovalGate;
}

export type EnvironmentResult = 'passed' | 'blocked' | 'rolled_back' | 'failed' | 'aborted';

export interface EnvironmentOutcome {
  result: EnvironmentResult;
  reason?: string;
}

/** what an environment step that did not pass records besides its reason */
export type EndFields = Omit<DataOf<'deployment.environment.failed'>, keyof DeploymentRef | 'environment' | 'reason'>;
export type EndStep = (result: Exclude<EnvironmentResult, 'passed'>, reason: string, extra?: EndFields) => Promise<EnvironmentOutcome>;

export interface EnvironmentStep {
  id: string;
  release: Release;
  env: EnvironmentRuntime;
  emit: Emit;
  deps: DeployerDeps;
  signal: AbortSignal;
  control: RolloutControl;
  /** a rollback to a version that ran here before: switch at once, no canary steps */
  rollback?: boolean;
}
