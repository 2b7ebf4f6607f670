// Per-version counters kept by the router on the request path, and their JSON and Prometheus
// views. Everything is cumulative since the router started; the controller takes differences
// between two snapshots to get a window. Recording is O(1) with no allocation (except the first
// sight of a client id, which is inserted into a capped set).

/**
 * Upper bounds (ms, inclusive) of the latency buckets: 0.1 ms * 1.1^i up to 60 s, then one
 * overflow bucket (+Inf). ~1.1x spacing keeps quantile error under 5%, fine enough to compare a
 * canary's distribution with stable's.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = (() => {
  const b: number[] = [];
  for (let v = 0.1; v < 60_000; v *= 1.1) b.push(Number(v.toPrecision(6)));
  b.push(60_000);
  return b;
})();

const LOG_BASE = Math.log(1.1);

/** Index of the bucket a latency falls in: the first bound >= ms, or bounds.length (overflow). */
export function bucketIndex(ms: number): number {
  const bounds = LATENCY_BOUNDS_MS;
  if (!(ms > 0.1)) return 0;
  // the logarithm gives the index up to float rounding; one step each way corrects it
  let i = Math.ceil(Math.log(ms / 0.1) / LOG_BASE);
  if (i >= bounds.length) i = bounds.length - 1;
  while (i > 0 && ms <= bounds[i - 1]!) i--;
  while (i < bounds.length && ms > bounds[i]!) i++;
  return i;
}

export const DEFAULT_CLIENT_CAP = 100_000;

export interface UpstreamStats {
  requests: number;
  /** responses with status >= 500 from this upstream */
  errors: number;
  /** attempts that could not connect or were reset before a response */
  connectionErrors: number;
  healthy: boolean;
}

export interface VersionStats {
  version: string;
  /** weight in the current table; 0 when the version is no longer in it */
  weight: number;
  inTable: boolean;
  /** completed requests (each exactly once in status, connectionErrors or aborted) */
  requests: number;
  status: { '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  /** requests answered 502 by the router because no upstream of the version could be reached */
  connectionErrors: number;
  /** client went away before the response completed */
  aborted: number;
  /**
   * requests of this version that failed (5xx or connection error, still counted above) and were
   * answered by another version instead; optional only so stats of older routers still parse (= 0)
   */
  rescued?: number;
  /** counts[i] = requests with latency <= latencyBoundsMs[i] and > the previous bound; the last entry is the overflow (> 60 s) */
  latency: { counts: number[]; sumMs: number; count: number };
  /** epoch ms by the router's clock; null before the first request */
  firstRequestAt: number | null;
  lastRequestAt: number | null;
  /** when the first 5xx or connection error of this version completed; null before any */
  firstErrorAt: number | null;
  /** distinct gl_cid values seen, and those that got a 5xx or connection error (not counting one replayed on another version) */
  clients: number;
  clientsWithErrors: number;
  /** true when a client set reached clientCap: the counts are then lower bounds */
  clientsCapped: boolean;
  upstreams: Record<string, UpstreamStats>;
}

export interface RouterStats {
  router: string;
  startedAt: number;
  now: number;
  /** revision of the table in force; null before any table */
  revision: number | null;
  /** upper bounds of the latency buckets in ms; latency.counts has one more entry (overflow) */
  latencyBoundsMs: number[];
  clientCap: number;
  /** requests answered 503 because there was no table or no version with weight > 0 */
  noRoute: number;
  versions: Record<string, VersionStats>;
}

/** Mutable per-upstream counters; one object per upstream URL, reused across tables. */
export class UpstreamCounters {
  requests = 0;
  errors = 0;
  connectionErrors = 0;
}

/** Mutable per-version counters on the hot path. */
export class VersionCounters {
  readonly version: string;
  requests = 0;
  s1 = 0;
  s2 = 0;
  s3 = 0;
  s4 = 0;
  s5 = 0;
  connectionErrors = 0;
  aborted = 0;
  rescued = 0;
  readonly buckets = new Float64Array(LATENCY_BOUNDS_MS.length + 1);
  sumMs = 0;
  firstAt = 0;
  lastAt = 0;
  firstErrorAt = 0;
  readonly clients = new Set<string>();
  readonly errorClients = new Set<string>();
  capped = false;
  readonly upstreams = new Map<string, UpstreamCounters>();
  private readonly cap: number;

  constructor(version: string, cap: number) {
    this.version = version;
    this.cap = cap;
  }

  upstream(url: string): UpstreamCounters {
    let u = this.upstreams.get(url);
    if (!u) {
      u = new UpstreamCounters();
      this.upstreams.set(url, u);
    }
    return u;
  }

  /** status 0 = connection error (router answered 502), -1 = client aborted */
  /** clientSawError false: the failure was replayed on another version and the client got that answer */
  record(status: number, latencyMs: number, now: number, clientId: string | undefined, clientSawError = true): void {
    this.requests++;
    if (this.firstAt === 0) this.firstAt = now;
    this.lastAt = now;
    let error = false;
    if (status >= 500) {
      this.s5++;
      error = true;
    } else if (status >= 400) this.s4++;
    else if (status >= 300) this.s3++;
    else if (status >= 200) this.s2++;
    else if (status >= 100) this.s1++;
    else if (status === 0) {
      this.connectionErrors++;
      error = true;
    } else this.aborted++;
    if (error && this.firstErrorAt === 0) this.firstErrorAt = now;
    if (status !== -1) {
      this.buckets[bucketIndex(latencyMs)]!++;
      this.sumMs += latencyMs;
    }
    if (clientId !== undefined) {
      this.addClient(this.clients, clientId);
      if (error && clientSawError) this.addClient(this.errorClients, clientId);
    }
  }

  private addClient(set: Set<string>, id: string): void {
    if (set.size < this.cap) set.add(id);
    else if (!set.has(id)) this.capped = true;
  }
}

export interface SnapshotInput {
  router: string;
  startedAt: number;
  now: number;
  revision: number | null;
  clientCap: number;
  noRoute: number;
  counters: Iterable<VersionCounters>;
  weights: Map<string, number>;
  healthy: (url: string) => boolean;
}

export function snapshot(i: SnapshotInput): RouterStats {
  const versions: Record<string, VersionStats> = {};
  for (const c of i.counters) {
    const upstreams: Record<string, UpstreamStats> = {};
    for (const [url, u] of c.upstreams) {
      upstreams[url] = { requests: u.requests, errors: u.errors, connectionErrors: u.connectionErrors, healthy: i.healthy(url) };
    }
    let count = 0;
    for (const n of c.buckets) count += n;
    versions[c.version] = {
      version: c.version,
      weight: i.weights.get(c.version) ?? 0,
      inTable: i.weights.has(c.version),
      requests: c.requests,
      status: { '1xx': c.s1, '2xx': c.s2, '3xx': c.s3, '4xx': c.s4, '5xx': c.s5 },
      connectionErrors: c.connectionErrors,
      aborted: c.aborted,
      rescued: c.rescued,
      latency: { counts: Array.from(c.buckets), sumMs: c.sumMs, count },
      firstRequestAt: c.firstAt === 0 ? null : c.firstAt,
      lastRequestAt: c.lastAt === 0 ? null : c.lastAt,
      firstErrorAt: c.firstErrorAt === 0 ? null : c.firstErrorAt,
      clients: c.clients.size,
      clientsWithErrors: c.errorClients.size,
      clientsCapped: c.capped,
      upstreams,
    };
  }
  return {
    router: i.router,
    startedAt: i.startedAt,
    now: i.now,
    revision: i.revision,
    latencyBoundsMs: [...LATENCY_BOUNDS_MS],
    clientCap: i.clientCap,
    noRoute: i.noRoute,
    versions,
  };
}

/** Prometheus text exposition (format 0.0.4) of a snapshot. Latency is exported in seconds. */
export function toPrometheus(s: RouterStats): string {
  const out: string[] = [];
  const r = `router="${esc(s.router)}"`;
  const family = (name: string, type: string, help: string) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  const vs = Object.values(s.versions);
  const lbl = (v: VersionStats) => `${r},version="${esc(v.version)}"`;

  family('greenlight_router_requests_total', 'counter', 'Completed requests by version and status class (conn_error: 502 from the router, aborted: client left).');
  for (const v of vs) {
    for (const [cls, n] of Object.entries(v.status)) out.push(`greenlight_router_requests_total{${lbl(v)},code="${cls}"} ${n}`);
    out.push(`greenlight_router_requests_total{${lbl(v)},code="conn_error"} ${v.connectionErrors}`);
    out.push(`greenlight_router_requests_total{${lbl(v)},code="aborted"} ${v.aborted}`);
  }
  family('greenlight_router_rescued_total', 'counter', 'Failed requests of the version (5xx or conn_error, also counted in requests_total) answered by another version instead.');
  for (const v of vs) out.push(`greenlight_router_rescued_total{${lbl(v)}} ${v.rescued ?? 0}`);
  family('greenlight_router_request_duration_seconds', 'histogram', 'Time from request received to response completed.');
  for (const v of vs) {
    let cum = 0;
    for (let i = 0; i < s.latencyBoundsMs.length; i++) {
      cum += v.latency.counts[i] ?? 0;
      out.push(`greenlight_router_request_duration_seconds_bucket{${lbl(v)},le="${fmt(s.latencyBoundsMs[i]! / 1000)}"} ${cum}`);
    }
    cum += v.latency.counts[s.latencyBoundsMs.length] ?? 0;
    out.push(`greenlight_router_request_duration_seconds_bucket{${lbl(v)},le="+Inf"} ${cum}`);
    out.push(`greenlight_router_request_duration_seconds_sum{${lbl(v)}} ${fmt(v.latency.sumMs / 1000)}`);
    out.push(`greenlight_router_request_duration_seconds_count{${lbl(v)}} ${cum}`);
  }
  family('greenlight_router_version_weight', 'gauge', 'Weight of the version in the current routing table (0 when absent).');
  for (const v of vs) out.push(`greenlight_router_version_weight{${lbl(v)}} ${v.weight}`);
  family('greenlight_router_clients', 'gauge', 'Distinct client ids seen by version (capped).');
  for (const v of vs) out.push(`greenlight_router_clients{${lbl(v)}} ${v.clients}`);
  family('greenlight_router_clients_with_errors', 'gauge', 'Distinct client ids that got a 5xx or connection error, by version (capped).');
  for (const v of vs) out.push(`greenlight_router_clients_with_errors{${lbl(v)}} ${v.clientsWithErrors}`);
  family('greenlight_router_first_request_timestamp_seconds', 'gauge', 'Time of the first request to the version.');
  for (const v of vs) if (v.firstRequestAt !== null) out.push(`greenlight_router_first_request_timestamp_seconds{${lbl(v)}} ${fmt(v.firstRequestAt / 1000)}`);
  family('greenlight_router_last_request_timestamp_seconds', 'gauge', 'Time of the last request to the version.');
  for (const v of vs) if (v.lastRequestAt !== null) out.push(`greenlight_router_last_request_timestamp_seconds{${lbl(v)}} ${fmt(v.lastRequestAt / 1000)}`);
  family('greenlight_router_upstream_requests_total', 'counter', 'Responses received from an upstream.');
  for (const v of vs) for (const [u, x] of Object.entries(v.upstreams)) out.push(`greenlight_router_upstream_requests_total{${lbl(v)},upstream="${esc(u)}"} ${x.requests}`);
  family('greenlight_router_upstream_errors_total', 'counter', 'Responses with status >= 500 from an upstream.');
  for (const v of vs) for (const [u, x] of Object.entries(v.upstreams)) out.push(`greenlight_router_upstream_errors_total{${lbl(v)},upstream="${esc(u)}"} ${x.errors}`);
  family('greenlight_router_upstream_connection_errors_total', 'counter', 'Attempts that could not connect to an upstream.');
  for (const v of vs) for (const [u, x] of Object.entries(v.upstreams)) out.push(`greenlight_router_upstream_connection_errors_total{${lbl(v)},upstream="${esc(u)}"} ${x.connectionErrors}`);
  family('greenlight_router_upstream_healthy', 'gauge', '1 while the upstream is in rotation.');
  for (const v of vs) for (const [u, x] of Object.entries(v.upstreams)) out.push(`greenlight_router_upstream_healthy{${lbl(v)},upstream="${esc(u)}"} ${x.healthy ? 1 : 0}`);
  family('greenlight_router_no_route_total', 'counter', 'Requests answered 503 for want of a table or a version with weight > 0.');
  out.push(`greenlight_router_no_route_total{${r}} ${s.noRoute}`);
  family('greenlight_router_table_revision', 'gauge', 'Revision of the routing table in force (-1 before any).');
  out.push(`greenlight_router_table_revision{${r}} ${s.revision ?? -1}`);
  return out.join('\n') + '\n';
}

function esc(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(9)));
}
