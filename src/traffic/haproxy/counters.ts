// HAProxy counts per server (slot) since it started; the analysis wants counts per version since
// the provider started, and a slot changes version when Greenlight reuses it. So each read takes
// the difference of every slot's counters since the previous read and adds it to the version the
// slot served (the map keeps a freed slot's version until the slot is reused, so requests that
// finish late are still counted for it).
//
// Latency: HAProxy keeps, per server, averages over its last 1024 requests, not a distribution; a
// read puts that interval's requests in the bucket of queue + connect + response time (qtime +
// ctime + rtime: until the server's response headers). Not ttime: with keep-alive it includes the
// client's idle time between requests (a returning client reads as seconds slow). Quantiles of an
// HAProxy-backed version are therefore its recent average, which shows a canary that is slower as
// a whole, not a slow tail.
import { LATENCY_BOUNDS_MS, bucketIndex, type RouterStats, type VersionStats } from '../../router/stats.ts';
import type { StatRow } from './runtime-api.ts';

interface Raw {
  hrsp: [number, number, number, number, number, number];
  econ: number;
  cliAbrt: number;
  wredis: number;
  latencyMs: number;
}

const num = (s: string | undefined) => {
  const n = Number(s);
  return Number.isFinite(n) && n > 0 ? n : 0;
};

function rawOf(r: StatRow): Raw {
  return {
    hrsp: [num(r.hrsp_1xx), num(r.hrsp_2xx), num(r.hrsp_3xx), num(r.hrsp_4xx), num(r.hrsp_5xx), num(r.hrsp_other)],
    econ: num(r.econ),
    cliAbrt: num(r.cli_abrt),
    wredis: num(r.wredis),
    latencyMs: num(r.qtime) + num(r.ctime) + num(r.rtime),
  };
}

const answered = (r: Raw) => r.hrsp.reduce((a, b) => a + b, 0);

interface Acc {
  status: [number, number, number, number, number];
  connectionErrors: number;
  aborted: number;
  rescued: number;
  buckets: number[];
  sumMs: number;
  count: number;
  firstAt: number | null;
  lastAt: number | null;
  firstErrorAt: number | null;
  upstreams: Map<string, { requests: number; errors: number; connectionErrors: number }>;
}

export class VersionCounters {
  readonly startedAt: number;
  private readonly last = new Map<string, Raw>();
  private lastBackend: Raw | undefined;
  private readonly acc = new Map<string, Acc>();
  noRoute = 0;

  constructor(startedAt: number) {
    this.startedAt = startedAt;
  }

  /**
   * Adds what happened since the previous read. ownerOf(slot): the version and upstream the slot
   * served; undefined for a slot that never served one (its counts are then only remembered).
   */
  add(rows: StatRow[], ownerOf: (slot: string) => { version: string; upstream: string } | undefined, now: number): void {
    let serverAnswered = 0;
    let serverConnErrors = 0;
    for (const row of rows) {
      const slot = row.svname;
      if (!slot || slot === 'BACKEND' || slot === 'FRONTEND') continue;
      const raw = rawOf(row);
      const prev = this.last.get(slot);
      this.last.set(slot, raw);
      // a counter lower than before: HAProxy restarted, so everything it has counted is new
      const restarted = prev !== undefined && answered(raw) + raw.econ < answered(prev) + prev.econ;
      const base = !prev || restarted ? undefined : prev;
      const d = {
        hrsp: raw.hrsp.map((v, i) => v - (base?.hrsp[i] ?? 0)),
        econ: raw.econ - (base?.econ ?? 0),
        cliAbrt: raw.cliAbrt - (base?.cliAbrt ?? 0),
        wredis: raw.wredis - (base?.wredis ?? 0),
      };
      serverAnswered += d.hrsp.reduce((a, b) => a + b, 0);
      serverConnErrors += d.econ;
      // the first read only sets the baseline: counts from before the provider started are not ours
      if (!prev) continue;
      const owner = ownerOf(slot);
      if (!owner) continue;
      const a = this.version(owner.version);
      // hrsp_other (a status outside 1xx-5xx) has no class in the router's shape and is left out
      const completed = d.hrsp.slice(0, 5).reduce((x, y) => x + y, 0);
      for (let i = 0; i < 5; i++) a.status[i as 0] += d.hrsp[i]!;
      a.connectionErrors += d.econ;
      a.aborted += d.cliAbrt;
      a.rescued += Math.min(d.wredis, d.econ);
      if (completed > 0) {
        a.buckets[bucketIndex(raw.latencyMs)]! += completed;
        a.sumMs += raw.latencyMs * completed;
        a.count += completed;
      }
      if (completed + d.econ + d.cliAbrt > 0) {
        a.firstAt ??= now;
        a.lastAt = now;
      }
      if (d.hrsp[4]! + d.econ > 0) a.firstErrorAt ??= now;
      const u = a.upstreams.get(owner.upstream) ?? { requests: 0, errors: 0, connectionErrors: 0 };
      u.requests += completed + d.econ;
      u.errors += d.hrsp[4]!;
      u.connectionErrors += d.econ;
      a.upstreams.set(owner.upstream, u);
    }
    const backend = rows.find((r) => r.svname === 'BACKEND');
    if (backend) {
      const raw = rawOf(backend);
      const prev = this.lastBackend;
      this.lastBackend = raw;
      if (prev && answered(raw) >= answered(prev)) {
        // answers HAProxy gave without a server: no slot in service (503)
        this.noRoute += Math.max(0, answered(raw) - answered(prev) - serverAnswered - serverConnErrors);
      }
    }
  }

  private version(name: string): Acc {
    let a = this.acc.get(name);
    if (!a) {
      a = {
        status: [0, 0, 0, 0, 0],
        connectionErrors: 0,
        aborted: 0,
        rescued: 0,
        buckets: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0),
        sumMs: 0,
        count: 0,
        firstAt: null,
        lastAt: null,
        firstErrorAt: null,
        upstreams: new Map(),
      };
      this.acc.set(name, a);
    }
    return a;
  }

  /** RouterStats in the built-in router's shape, so the analysis reads both the same way. */
  snapshot(o: { name: string; now: number; revision: number | null; weights: Map<string, number>; healthy: (upstream: string) => boolean }): RouterStats {
    const versions: Record<string, VersionStats> = {};
    const names = new Set([...this.acc.keys(), ...o.weights.keys()]);
    for (const name of names) {
      const a = this.version(name);
      const status = { '1xx': a.status[0], '2xx': a.status[1], '3xx': a.status[2], '4xx': a.status[3], '5xx': a.status[4] };
      versions[name] = {
        version: name,
        weight: o.weights.get(name) ?? 0,
        inTable: o.weights.has(name),
        requests: a.status.reduce((x, y) => x + y, 0) + a.connectionErrors + a.aborted,
        status,
        connectionErrors: a.connectionErrors,
        aborted: a.aborted,
        rescued: a.rescued,
        latency: { counts: [...a.buckets], sumMs: a.sumMs, count: a.count },
        firstRequestAt: a.firstAt,
        lastRequestAt: a.lastAt,
        firstErrorAt: a.firstErrorAt,
        // HAProxy does not tell clients apart in its counters
        clients: 0,
        clientsWithErrors: 0,
        clientsCapped: false,
        upstreams: Object.fromEntries([...a.upstreams].map(([u, c]) => [u, { ...c, healthy: o.healthy(u) }])),
      };
    }
    return {
      router: o.name,
      startedAt: this.startedAt,
      now: o.now,
      revision: o.revision,
      latencyBoundsMs: [...LATENCY_BOUNDS_MS],
      clientCap: 0,
      noRoute: this.noRoute,
      versions,
    };
  }
}
