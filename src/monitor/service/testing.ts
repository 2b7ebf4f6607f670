// A stand-in for the router's stats endpoint for monitor service tests: cumulative per-version
// counters that grow with the injected clock at a set rate, error fraction and latency mix, with a
// seeded generator so runs are identical.
import type { Clock } from '../../clock/clock.ts';
import type { RouterStats, VersionStats } from '../../router/stats.ts';

export interface TrafficShape {
  /** requests per second */
  rate: number;
  /** share of requests answered 5xx (each request drawn independently) */
  errorFraction: number;
  /** latency of most requests, and of the slow share */
  latencyMs: number;
  slowFraction?: number;
  slowMs?: number;
}

export class FakeRouterStats {
  private readonly clock: Clock;
  readonly bounds: number[];
  readonly traffic = new Map<string, TrafficShape>();
  private readonly versions = new Map<string, VersionStats>();
  private last: number;
  private seed = 12345;
  calls = 0;

  constructor(clock: Clock, bounds: number[]) {
    this.clock = clock;
    this.bounds = bounds;
    this.last = clock.now();
  }

  set(version: string, shape: TrafficShape): void {
    this.traffic.set(version, shape);
  }

  private random(): number {
    // LCG (Numerical Recipes): deterministic, good enough for traffic noise
    this.seed = (Math.imul(this.seed, 1664525) + 1013904223) >>> 0;
    return this.seed / 2 ** 32;
  }

  private bucket(ms: number): number {
    const i = this.bounds.findIndex((b) => ms <= b);
    return i < 0 ? this.bounds.length : i;
  }

  /** The function handed to MonitorService as routerStats. */
  readonly stats = async (): Promise<RouterStats> => {
    this.calls++;
    const now = this.clock.now();
    const dt = (now - this.last) / 1000;
    this.last = now;
    for (const [version, t] of this.traffic) {
      let v = this.versions.get(version);
      if (!v) {
        v = {
          version,
          weight: 100,
          inTable: true,
          requests: 0,
          status: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
          connectionErrors: 0,
          aborted: 0,
          latency: { counts: new Array<number>(this.bounds.length + 1).fill(0), sumMs: 0, count: 0 },
          firstRequestAt: null,
          lastRequestAt: null,
          firstErrorAt: null,
          clients: 0,
          clientsWithErrors: 0,
          clientsCapped: false,
          upstreams: {},
        };
        this.versions.set(version, v);
      }
      const n = Math.round(t.rate * dt);
      for (let i = 0; i < n; i++) {
        const err = this.random() < t.errorFraction;
        if (err) {
          v.status['5xx']++;
          v.firstErrorAt ??= now;
        }
        else v.status['2xx']++;
        const ms = t.slowFraction && this.random() < t.slowFraction ? (t.slowMs ?? t.latencyMs * 10) : t.latencyMs;
        v.latency.counts[this.bucket(ms)]!++;
        v.latency.sumMs += ms;
        v.latency.count++;
      }
      v.requests += n;
      if (n > 0) {
        v.firstRequestAt ??= now;
        v.lastRequestAt = now;
      }
    }
    return structuredClone({
      router: 'test',
      startedAt: 0,
      now,
      revision: 1,
      latencyBoundsMs: this.bounds,
      clientCap: 100_000,
      noRoute: 0,
      versions: Object.fromEntries(this.versions),
    });
  };
}
