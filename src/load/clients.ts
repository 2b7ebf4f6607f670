// A bounded population of returning clients: `clients` visitors that keep the cookies the service
// (and Greenlight's router) set, as browsers do, each with one request at a time, sending `rate` requests per second between them
// (open loop: on schedule, whatever the answers), a share of them POSTs with a body (which a router
// must never replay). Bounded in time, rate, count and requests in flight.
import type { Clock } from '../clock/clock.ts';
import { GreenlightError } from '../errors/errors.ts';

export const LIMITS = { maxRate: 5000, maxDurationMs: 3_600_000, maxClients: 100_000, maxInFlight: 1000 };

export interface LoadSpec {
  url: string;
  /** requests per second over all clients */
  rate: number;
  durationMs: number;
  clients: number;
  /** 0..1: share of requests that are POSTs with a small JSON body */
  postShare?: number;
  timeoutMs?: number;
}

export interface LoadCounts {
  sent: number;
  answered: number;
  /** 5xx, no answer, timeouts */
  failed: number;
  posts: number;
  postsFailed: number;
  /** responses by the version header (x-greenlight-version), "" when absent */
  byVersion: Map<string, { requests: number; failed: number }>;
  /** clients that saw at least one failure */
  clientsWithFailures: number;
  /** not sent because every client (or maxInFlight) was waiting for an answer: the service is too slow for the rate */
  skipped: number;
}

export interface ClientLoad {
  counts: LoadCounts;
  /** per client, the versions it was answered by, in order of change (e.g. ["1.0.0", "2.0.0"]) */
  versionsOf(client: number): string[];
  done: Promise<LoadCounts>;
  stop(): Promise<LoadCounts>;
}

export function validateLoad(spec: LoadSpec): void {
  const problems: string[] = [];
  let u: URL | undefined;
  try {
    u = new URL(spec.url);
  } catch {
    problems.push(`"${spec.url}" is not a URL`);
  }
  if (u && u.protocol !== 'http:' && u.protocol !== 'https:') problems.push('the URL must be http:// or https://');
  if (!(spec.rate > 0 && spec.rate <= LIMITS.maxRate)) problems.push(`rate must be between 0 and ${LIMITS.maxRate} requests/s`);
  if (!(spec.durationMs > 0 && spec.durationMs <= LIMITS.maxDurationMs)) problems.push('duration must be between 1 ms and 1 h');
  if (!(Number.isInteger(spec.clients) && spec.clients >= 1 && spec.clients <= LIMITS.maxClients)) problems.push(`clients must be a whole number from 1 to ${LIMITS.maxClients}`);
  const p = spec.postShare ?? 0;
  if (!(p >= 0 && p <= 1)) problems.push('post share must be between 0 and 1');
  if (problems.length) throw new GreenlightError('USAGE', `load: ${problems.join('; ')}`, { hint: 'e.g. greenlight load http://127.0.0.1:8082/ --rate 50 --duration 2m --clients 100' });
}

export function startClientLoad(spec: LoadSpec, clock: Clock): ClientLoad {
  validateLoad(spec);
  const jars: Map<string, string>[] = Array.from({ length: spec.clients }, () => new Map());
  const history: string[][] = Array.from({ length: spec.clients }, () => []);
  const failedClients = new Set<number>();
  // a client sends one request at a time, like a person (and so it has its cookies before the next)
  const busy = new Uint8Array(spec.clients);
  const counts: LoadCounts = { sent: 0, answered: 0, failed: 0, posts: 0, postsFailed: 0, byVersion: new Map(), clientsWithFailures: 0, skipped: 0 };
  const maxRequests = Math.ceil(spec.rate * (spec.durationMs / 1000));
  const t0 = clock.now();
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  let next = 0;
  let resolveDone!: (c: LoadCounts) => void;
  const done = new Promise<LoadCounts>((r) => (resolveDone = r));

  const one = async (client: number, post: boolean) => {
    const jar = jars[client]!;
    const headers: Record<string, string> = {};
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (post) headers['content-type'] = 'application/json';
    let failed = true;
    let version = '';
    try {
      const res = await fetch(spec.url, { method: post ? 'POST' : 'GET', headers, ...(post ? { body: JSON.stringify({ client, n: counts.sent }) } : {}), signal: AbortSignal.timeout(spec.timeoutMs ?? 5000), redirect: 'manual' });
      await res.arrayBuffer();
      counts.answered++;
      failed = res.status >= 500;
      version = res.headers.get('x-greenlight-version') ?? '';
      for (const c of res.headers.getSetCookie()) {
        const first = c.split(';')[0]!;
        const eq = first.indexOf('=');
        if (eq > 0) jar.set(first.slice(0, eq).trim(), first.slice(eq + 1).trim());
      }
    } catch {
      failed = true;
    }
    const v = counts.byVersion.get(version) ?? { requests: 0, failed: 0 };
    v.requests++;
    if (failed) v.failed++;
    counts.byVersion.set(version, v);
    const h = history[client]!;
    if (version && h[h.length - 1] !== version) h.push(version);
    if (failed) {
      counts.failed++;
      if (post) counts.postsFailed++;
      failedClients.add(client);
      counts.clientsWithFailures = failedClients.size;
    }
  };

  const tick = () => {
    if (stopped) return;
    const elapsed = clock.now() - t0;
    const due = Math.min(maxRequests, Math.floor((elapsed / 1000) * spec.rate) + 1);
    while (next < due) {
      next++;
      let client = Math.floor(Math.random() * spec.clients);
      for (let k = 0; k < spec.clients && busy[client]; k++) client = (client + 1) % spec.clients;
      if (inFlight.size >= LIMITS.maxInFlight || busy[client]) {
        counts.skipped++;
        continue;
      }
      busy[client] = 1;
      const post = Math.random() < (spec.postShare ?? 0);
      counts.sent++;
      if (post) counts.posts++;
      const p = one(client, post).finally(() => {
        busy[client] = 0;
        inFlight.delete(p);
      });
      inFlight.add(p);
    }
    if (next >= maxRequests || elapsed >= spec.durationMs) return void finish();
    timer = clock.setTimeout(tick, Math.max(1, Math.min(50, 1000 / spec.rate)));
  };
  const finish = async () => {
    if (stopped) return;
    stopped = true;
    timer?.cancel();
    await Promise.all([...inFlight]);
    resolveDone(counts);
  };
  let timer: { cancel(): void } | undefined;
  tick();
  return {
    counts,
    versionsOf: (client) => [...history[client]!],
    done,
    stop: async () => {
      await finish();
      return done;
    },
  };
}
