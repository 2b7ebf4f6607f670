// max_unavailable as Kubernetes and Nomad mean it: at most N hosts of the environment out of
// service at once, counting the hosts that already are (unreachable, drained by a host change,
// or running instances none of which is ready), not only those a wave takes out itself.
import type { Clock } from '../clock/clock.ts';
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

export interface RoomWait<Stop> {
  environment: string;
  /** hosts still to go, in order */
  remaining: string[];
  batchSize: number;
  maxUnavailable: number;
  /** how long to wait for room (waves.unavailable_timeout) */
  timeoutMs: number;
  clock: Clock;
  /** the hosts out of service now */
  unavailable(): Unavailable;
  /** told each new reason there is no room (`why`), once */
  waiting(down: Unavailable, why: string): Promise<unknown>;
  /** looked at while waiting, before the timeout: something that ends the wait (an abort) */
  stop?(): Stop | undefined;
  /** waits up to ms before the next look (may wake early) */
  pause(ms: number): Promise<void>;
}

/**
 * The next wave (nextWave) within max_unavailable counting the hosts out of service already; while
 * there is no room, waits up to timeoutMs, looking again every pause. The shared loop of the
 * rollout's waves (rollout/waves.ts) and a host change's (changes/runner.ts).
 */
export async function waitForRoom<Stop>(o: RoomWait<Stop>): Promise<{ hosts: string[] } | { timedOut: string } | { stopped: Stop }> {
  const until = o.clock.now() + o.timeoutMs;
  let said = '';
  for (;;) {
    const down = o.unavailable();
    const hosts = nextWave(o.remaining, down, o.batchSize, o.maxUnavailable);
    if (hosts.length) return { hosts };
    const why = `max_unavailable is ${o.maxUnavailable} and ${down.size} host(s) of ${o.environment} are out of service already: ${describeUnavailable(down)}`;
    if (why !== said) {
      said = why;
      await o.waiting(down, why);
    }
    const stopped = o.stop?.();
    if (stopped !== undefined) return { stopped };
    const left = until - o.clock.now();
    if (left <= 0) return { timedOut: why };
    await o.pause(left);
  }
}
