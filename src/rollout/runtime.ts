// What the rollout needs of one environment for one service, built by the composition root (app/)
// from the configuration. Kept as plain data and small interfaces so tests can assemble one from
// fakes.
import type { Check, DependencySource } from '../checks/check.ts';
import type { DependencyFaultLookup } from '../checks/compatibility/faults.ts';
import type { Target } from '../targets/target.ts';
import type { TrafficControl } from './traffic.ts';
import type { RolloutPolicy } from './schema.ts';

export interface ServiceRuntime {
  name: string;
  command: string[] | string;
  env: Record<string, string>;
  health: { path: string; timeoutMs: number; intervalMs: number };
  stopGraceMs: number;
  instances: number;
}

export interface EnvironmentRuntime {
  name: string;
  /** position in the pipeline; 0 is the first environment (no gate) */
  index: number;
  target: Target;
  traffic: TrafficControl;
  /** the router's public address, e.g. http://127.0.0.1:8082 */
  routerUrl: string;
  checks: Check[];
  /** run against the new instances before any user request reaches them (synthetic.ts); empty: off */
  synthetic?: Check[];
  dependencies: Record<string, DependencySource>;
  /** drill faults on the dependency sources (the drills module writes them) */
  dependencyFaults?: DependencyFaultLookup;
  /** instance count here (the environment's override or the service's) */
  instances: number;
  /** environment variables for instances here, over the service's */
  env: Record<string, string>;
  /** post-switch checks are repeated for this long before the switch is final */
  verifyForMs: number;
  /** after traffic leaves a version, its instances stay up this long before they are stopped */
  drainMs: number;
  /** progressive rollout with canary analysis; absent: all at once */
  rollout?: RolloutPolicy;
}

export interface Runtime {
  service(name: string): ServiceRuntime | undefined;
  /** environments in pipeline order, for this service */
  environments(service: string): EnvironmentRuntime[];
}
