// What the HTTP API needs of the controller, and nothing more: the API is built from this narrow
// interface instead of importing app/controller.ts (which builds the API, so importing it back
// made a circle). The controller satisfies it structurally; a test can build an API from less.
import type { Clock } from '../clock/clock.ts';
import type { LoadedConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { DrillRunner } from '../drills/runner.ts';
import type { DrillScheduler } from '../drills/schedule.ts';
import type { EventLog } from '../events/log.ts';
import type { Deployer } from '../rollout/deployer.ts';
import type { Runtime } from '../rollout/runtime.ts';
import type { LiveState } from '../state/projection.ts';
import type { Operations } from '../app/operations.ts';
import type { FleetDeps } from '../app/fleet-ops.ts';
import type { Approvals } from '../approvals/approvals.ts';
import type { Directory } from '../auth/directory.ts';
import type { Policy } from '../auth/permissions.ts';
import type { FailureLimiter } from '../auth/rate-limit.ts';

export interface ApiContext {
  loaded: Pick<LoadedConfig, 'file' | 'baseDir' | 'stateDir'>;
  config: Config;
  clock: Clock;
  events: EventLog;
  state: Pick<LiveState, 'view'>;
  deployer: Pick<Deployer, 'start' | 'abort' | 'command' | 'runningDeployment' | 'rolloutState'>;
  approvals: Pick<Approvals, 'approve' | 'reject' | 'get'>;
  runtime: Pick<Runtime, 'environments'>;
  operations: Pick<Operations, 'alerting' | 'status'>;
  drills: DrillRunner;
  /** the drills' schedule, when configured */
  drillSchedule?: DrillScheduler | undefined;
  /** fleets: host changes and inventory */
  fleet: FleetDeps;
  /** users, service accounts and tokens */
  directory: Directory;
  policy: Policy;
  loginLimiter: FailureLimiter;
  /** the PostgreSQL lease, whose fencing token `status` shows (absent with SQLite) */
  leadership: { readonly token: number | undefined; controllers(): Promise<string[]> } | undefined;
  /** leader or standby (a standby answers the public /v1/health through this API too) */
  role(): 'leader' | 'standby';
  /** who leads, as the store says: /v1/health names it for dashboards looking for the leader */
  leader(): Promise<{ address: string; live: boolean } | undefined>;
  /** the controller's own address, for links */
  url: string;
  /** set by `greenlight up`: what POST /v1/shutdown does */
  onShutdown?: (stopAll: boolean) => void;
}
