// A canary step that cannot get the requests it needs must say so in numbers, not sit silently:
// how many canary requests it saw, how much traffic production serves, how long the missing
// requests should take at this weight, and so which of the two problems it is (too little
// traffic overall, or traffic that does not reach the canary).

/** Notice "waiting for requests" this long into a step (or 10 s past its hold, or halfway to max_hold, whichever is first). */
export const WAIT_NOTICE_MS = 30_000;

export interface TrafficNeed {
  environment: string;
  service: string;
  weight: number;
  /** canary requests this step, and the step's need */
  canaryRequests: number;
  minRequests: number;
  /** time into the step */
  heldMs: number;
  /** every version's requests per second over the step */
  productionRate: number;
}

export interface Starvation extends TrafficNeed {
  /** the canary requests expected so far at this weight, given production's traffic */
  expectedCanaryRequests: number;
  /** how long the missing canary requests need at this weight and rate (null: no traffic at all) */
  needMs: number | null;
  /** traffic: production serves too little; routing: production has traffic the canary does not get */
  cause: 'traffic' | 'routing';
  message: string;
  /** what a person can do, as commands (resume only once paused) */
  actions: string[];
}

export function starvation(n: TrafficNeed, paused: boolean): Starvation {
  const share = n.weight / 100;
  const expected = n.productionRate * (n.heldMs / 1000) * share;
  const missing = Math.max(0, n.minRequests - n.canaryRequests);
  const canaryRate = n.productionRate * share;
  const needMs = canaryRate > 0 ? (missing / canaryRate) * 1000 : null;
  // Production sent enough for the canary's share to have filled the step (and at least twice
  // what the canary got): the canary is not getting its share.
  const cause = expected >= n.minRequests && expected >= 2 * Math.max(1, n.canaryRequests) ? 'routing' : 'traffic';
  const head = `canary ${n.canaryRequests} of ${n.minRequests} requests in ${fmtMs(n.heldMs)} at ${n.weight}%; production serves ${fmtRate(n.productionRate)}`;
  let tail: string;
  if (cause === 'routing') {
    tail = `, so ${n.minRequests} canary requests need about ${fmtMs((n.minRequests / canaryRate) * 1000)}: is traffic reaching the canary? (clients without the identity the router assigns by, or a proxy in front that pins them)`;
  } else if (needMs === null) {
    tail = `: nothing to judge the canary on; send traffic to the service (e.g. greenlight load <url>)`;
  } else {
    tail = `, so the missing ${missing} canary requests need about ${fmtMs(needMs)} at ${n.weight}%: too little traffic to judge`;
  }
  return {
    ...n,
    expectedCanaryRequests: Math.round(expected * 10) / 10,
    needMs: needMs === null ? null : Math.round(needMs),
    cause,
    message: head + tail,
    actions: [`greenlight promote ${n.service}`, ...(paused ? [`greenlight resume ${n.service}`] : []), `greenlight abort ${n.service}`],
  };
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'forever';
  const s = ms / 1000;
  if (s < 1) return `${Math.max(0, Math.round(ms))} ms`;
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} m`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

function fmtRate(r: number): string {
  if (r === 0) return '0 req/s';
  if (r < 1) return `${r.toFixed(2)} req/s`;
  if (r < 10) return `${r.toFixed(1)} req/s`;
  return `${Math.round(r)} req/s`;
}
