// max_unavailable as Kubernetes and Nomad mean it: at most N hosts of the environment out of
// service at once, counting the hosts that already are (unreachable, drained by a host change,
// or running instances none of which is ready), not only those a wave takes out itself.
import type { InstanceInfo } from '../targets/target.ts';
import type { Fleet } from './fleet.ts';

/** host -> why it is out of service now */
export type Unavailable = Map<string, string>;

/**
 * The hosts of the fleet out of service now: out of rotation (drained, unreachable), or running
 * instances (of `instances`, the environment's) none of which is ready. A host that runs none is
 * not counted: it serves nothing, and loses nothing either.
 */
export function unavailableHosts(fleet: Fleet, instances: InstanceInfo[]): Unavailable {
  const out: Unavailable = new Map();
  for (const h of fleet.hosts()) {
    const r = fleet.rotation(h.name);
    if (!r.in) {
      out.set(h.name, `${r.why}: ${r.reason}`);
      continue;
    }
    const mine = instances.filter((i) => i.host === h.name && i.state !== 'stopped');
    if (mine.length > 0 && !mine.some((i) => i.state === 'ready')) out.set(h.name, `unhealthy: ${mine.map((i) => `${i.id} ${i.state}`).join(', ')}`);
  }
  return out;
}

/**
 * The next wave: hosts of `remaining` in order, at most batchSize, while the hosts out of service
 * (those already unavailable, plus this wave's) stay within maxUnavailable. A host already
 * unavailable costs nothing more: it is counted already. Empty: no room now (wait, or fail).
 */
export function nextWave(remaining: string[], unavailable: Unavailable, batchSize: number, maxUnavailable: number): string[] {
  const wave: string[] = [];
  let out = unavailable.size;
  for (const h of remaining) {
    if (wave.length >= batchSize) break;
    const cost = unavailable.has(h) ? 0 : 1;
    if (cost > 0 && out + cost > maxUnavailable) break;
    out += cost;
    wave.push(h);
  }
  return wave;
}

/** "web-3 (unreachable: ...), web-4 (drained: ...)" */
export function describeUnavailable(u: Unavailable): string {
  return [...u].map(([h, why]) => `${h} (${why})`).join(', ');
}
