// Which version serves a request: the routing table compiled once per change into what the
// request path reads without allocating, the pick by the client's identity (assignment.ts) or by
// weight for a request without one, and Greenlight's client cookie.

import { randomUUID } from 'node:crypto';
import { VersionCounters, type UpstreamCounters } from './stats.ts';
import type { RoutingTable } from './table.ts';
import { cookieValue } from './headers.ts';
import { bucketOf, defaultIdentity, layoutBuckets, seedOf, type IdentitySource } from './assignment.ts';
import type { Upstreams, UpstreamState } from './upstreams.ts';

export const CLIENT_COOKIE = 'gl_cid';

const CLIENT_COOKIE_MAX_AGE = 365 * 24 * 3600;

export interface Route {
  version: string;
  weight: number;
  upstreams: UpstreamState[];
  upCounters: UpstreamCounters[];
  rr: number;
  counters: VersionCounters;
  /** buckets [lo, hi) of the identity hash that this version serves (0, 0 when at weight 0) */
  lo: number;
  hi: number;
}

export interface Compiled {
  table: RoutingTable;
  routes: Route[];
  byName: Map<string, Route>;
  /** only routes with weight > 0, with cumulative weights */
  live: Route[];
  cum: number[];
  total: number;
  weights: Map<string, number>;
  /** the highest-weight version (first of equals), which answers for a failed canary; null when none has weight */
  primary: Route | null;
  /** salt of the identity hash: the canary's (second live version's) name */
  seed: number;
}

/**
 * Counters are kept by version across tables (stats survive a weight change); upstream states
 * are shared by URL, and those the table no longer names are retired.
 */
export function compile(t: RoutingTable, counters: Map<string, VersionCounters>, upstreams: Upstreams, clientCap: number): Compiled {
  const routes: Route[] = [];
  const byName = new Map<string, Route>();
  const live: Route[] = [];
  const cum: number[] = [];
  const weights = new Map<string, number>();
  const urls = new Set<string>();
  let total = 0;
  let primary: Route | null = null;
  for (const v of t.versions) {
    let vc = counters.get(v.version);
    if (!vc) {
      vc = new VersionCounters(v.version, clientCap);
      counters.set(v.version, vc);
    }
    const ups: UpstreamState[] = [];
    const upCounters: UpstreamCounters[] = [];
    for (const url of v.upstreams) {
      urls.add(url);
      ups.push(upstreams.acquire(url));
      upCounters.push(vc.upstream(url));
    }
    const route: Route = {
      version: v.version,
      weight: v.weight,
      upstreams: ups,
      upCounters,
      rr: 0,
      counters: vc,
      lo: 0,
      hi: 0,
    };
    routes.push(route);
    byName.set(v.version, route);
    weights.set(v.version, v.weight);
    if (v.weight > 0) {
      if (primary === null || v.weight > primary.weight) primary = route;
      total += v.weight;
      live.push(route);
      cum.push(total);
    }
  }
  upstreams.retireExcept(urls);
  const ranges = layoutBuckets(live.map((r) => r.weight));
  live.forEach((r, i) => {
    r.lo = ranges[i]!.lo;
    r.hi = ranges[i]!.hi;
  });
  return { table: t, routes, byName, live, cum, total, weights, primary, seed: seedOf(live[1]?.version) };
}

/**
 * Picks the route for a request: by the bucket of the client's identity, so a client stays on its
 * version across requests and weight increases; a request without an identity is split by weight.
 */
export function selectRoute(c: Compiled | null, identity: string | undefined): Route | null {
  if (c === null || c.total === 0) return null;
  const live = c.live;
  if (live.length === 1) return live[0]!;
  if (identity !== undefined) {
    const b = bucketOf(identity, c.seed);
    for (let i = 0; i < live.length; i++) {
      const r = live[i]!;
      if (b >= r.lo && b < r.hi) return r;
    }
    return live[0]!;
  }
  const x = Math.random() * c.total;
  const cum = c.cum;
  for (let i = 0; i < live.length - 1; i++) if (x < cum[i]!) return live[i]!;
  return live[live.length - 1]!;
}

/**
 * The version that answers instead when `route` fails a request: the highest-weight version of the
 * table in force now (it may have changed since the request was routed), or null when `route` is
 * itself that version or ties with it.
 */
export function rescuerOf(c: Compiled | null, route: Route): Route | null {
  const p = c === null ? null : c.primary;
  if (p === null || p.version === route.version) return null;
  const w = c!.weights.get(route.version) ?? 0;
  return w < p.weight ? p : null;
}

/** The identity source compiled once: what the request path compares against. */
export interface IdentityReader {
  source: IdentitySource;
  /** "name=" for a cookie source */
  cookieKey: string | null;
  /** lower-cased header name for a header source (Inbound captures its value) */
  header: string | null;
}

export function identityReader(source: IdentitySource = defaultIdentity): IdentityReader {
  return {
    source,
    cookieKey: source.from === 'cookie' ? `${source.name}=` : null,
    header: source.from === 'header' ? source.name.toLowerCase() : null,
  };
}

/** Client state shared by plain requests and upgrades: Greenlight's client id and the identity that picks the version. */
export function clientIdentity(
  reader: IdentityReader,
  cookieHeader: string | undefined,
  headerValue: string | undefined,
  remote: string | undefined,
  ex: { cid: string | undefined; newCid: string | null; identity: string | undefined },
): void {
  if (cookieHeader !== undefined) {
    const cid = cookieValue(cookieHeader, 'gl_cid=');
    // bounded so a client cannot grow the client sets with huge ids
    if (cid !== undefined && cid.length > 0 && cid.length <= 64) ex.cid = cid;
  }
  if (ex.cid === undefined) {
    ex.cid = randomUUID();
    ex.newCid = `${CLIENT_COOKIE}=${ex.cid}; Path=/; Max-Age=${CLIENT_COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax`;
  }
  switch (reader.source.from) {
    case 'greenlight':
      ex.identity = ex.cid;
      break;
    case 'cookie': {
      const v = cookieHeader === undefined ? undefined : cookieValue(cookieHeader, reader.cookieKey!);
      ex.identity = v === undefined || v.length === 0 ? undefined : v;
      break;
    }
    case 'header':
      ex.identity = headerValue === undefined || headerValue.length === 0 ? undefined : headerValue;
      break;
    case 'address':
      ex.identity = remote;
      break;
  }
}
