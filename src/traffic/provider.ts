// What splits traffic between versions of a service in one environment: the built-in router
// (default) or a team's own HAProxy. The rollout states the split it wants as a routing table
// (rollout/traffic.ts owns that narrow interface, RouterAdmin); a provider applies it, reads it
// back, and reports per-version counts in the router's stats shape for the analysis.
import type { RouterAdmin } from '../rollout/traffic.ts';

export interface TrafficProvider extends RouterAdmin {
  readonly kind: string;
  /** for messages: which router or load balancer this is */
  readonly describe: string;
  /** where clients (and post-switch checks) reach the service through this provider */
  readonly url: string;
}
