// Router stats are cumulative since the router started; the analysis wants what happened since the
// canary started. These take differences between two snapshots.
import type { VersionSample } from '../analysis/verdict.ts';
import type { RouterStats, VersionStats } from '../router/stats.ts';

const errorsOf = (v: VersionStats) => v.status['5xx'] + v.connectionErrors;
const completedOf = (v: VersionStats) => v.requests - v.aborted;

export function sampleSince(now: RouterStats, then: RouterStats | undefined, version: string): VersionSample {
  const v = now.versions[version];
  const b = then?.versions[version];
  const counts = v ? v.latency.counts.map((c, i) => c - (b?.latency.counts[i] ?? 0)) : new Array<number>(now.latencyBoundsMs.length + 1).fill(0);
  return {
    requests: v ? completedOf(v) - (b ? completedOf(b) : 0) : 0,
    errors: v ? errorsOf(v) - (b ? errorsOf(b) : 0) : 0,
    latency: { boundsMs: now.latencyBoundsMs, counts },
  };
}

/**
 * Requests and failures over all versions between two snapshots: what clients saw. A canary failure
 * the router replayed on stable ("rescued") was counted for both versions but reached the client as
 * stable's answer, so it is one request and not a failure.
 */
export function totalsSince(now: RouterStats, then: RouterStats | undefined): { requests: number; failed: number; rescued: number } {
  let requests = now.noRoute - (then?.noRoute ?? 0);
  let failed = requests;
  let rescued = 0;
  for (const [name, v] of Object.entries(now.versions)) {
    const b = then?.versions[name];
    requests += completedOf(v) - (b ? completedOf(b) : 0);
    failed += errorsOf(v) - (b ? errorsOf(b) : 0);
    rescued += (v.rescued ?? 0) - (b?.rescued ?? 0);
  }
  return { requests: requests - rescued, failed: failed - rescued, rescued };
}
