// What the HTTP API needs of the controller, and nothing more: the API is built from this narrow
// interface instead of importing app/controller.ts (which builds the API, so importing it back
// made a circle). The controller satisfies it; tests can build an API from less.
import type { Clock } from '../clock/clock.ts';
import type { LoadedConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { DrillRunner } from '../drills/runner.ts';
import type { EventLog } from '../events/log.ts';
import type { Deployer } from '../rollout/deployer.ts';
import type { Runtime } from '../rollout/runtime.ts';
import type { LiveState } from '../state/projection.ts';
import type { Operations } from '../app/operations.ts';

export interface ApiContext {
  loaded: LoadedConfig;
  config: Config;
  clock: Clock;
  events: EventLog;
  state: LiveState;
  deployer: Deployer;
  runtime: Runtime;
  operations: Operations;
  drills: DrillRunner;
  /** the controller's own address, for links */
  url: string;
  /** set by `greenlight up`: what POST /v1/shutdown does */
  onShutdown?: (stopAll: boolean) => void;
}
