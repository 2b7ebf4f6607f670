// "The upstreams of a version": the instance URLs the router may send that version's traffic to.
// One definition, used by every routing table the controller builds (a deployment's switch, the
// canary's split, reconcile, recovery, host changes), because three slightly different answers
// meant a table could name a crashed instance, or count a baseline as stable, depending on who
// built it. The answer:
// - instances of this service, version and environment that are `ready`: a crashed one has no
//   process behind its port, a starting or restarting one has not answered its health check yet,
//   a stopping one is draining (it leaves rotation first, then gets its grace);
// - a canary analysis's fresh baseline is not the stable version's: it is routed under its own
//   label (`<stable>+baseline`) and compared with the canary, so it is listed only when asked for
//   (`role: 'baseline'`) and never among the version's own upstreams;
// - an instance on a host out of rotation (drained by a host change, or unreachable) is left out,
//   so nothing re-adds a drained host by accident.
// A version may then have no upstream at all; TrafficControl.refresh keeps a weighted version's
// last upstreams rather than push a table the router refuses.
import { fleetOf } from '../fleet/fleet.ts';
import type { InstanceInfo, Target } from '../targets/target.ts';

export interface UpstreamScope {
  name: string;
  target: Target;
}

/** the instances behind upstreamsOf, for callers that need their ids or hosts */
export function servingInstances(env: UpstreamScope, service: string, version: string, opts: { role?: 'serving' | 'baseline' } = {}): InstanceInfo[] {
  const fleet = fleetOf(env.target);
  const baseline = opts.role === 'baseline';
  return env.target
    .list({ service, version, environment: env.name })
    .filter((i) => (i.role === 'baseline') === baseline && i.state === 'ready' && !(i.host !== undefined && fleet && !fleet.rotation(i.host).in));
}

export function upstreamsOf(env: UpstreamScope, service: string, version: string, opts: { role?: 'serving' | 'baseline' } = {}): string[] {
  return servingInstances(env, service, version, opts).map((i) => i.url);
}
