// Which version serves a request: the routing table compiled once per change into what the
// request path reads without allocating, the weighted pick, and the cookies that keep a client
// on its version.

import { randomUUID } from 'node:crypto';
import { VersionCounters, type UpstreamCounters } from './stats.ts';
import type { RoutingTable } from './table.ts';
import { cookieValue } from './headers.ts';
import type { Upstreams, UpstreamState } from './upstreams.ts';

export const VERSION_COOKIE = 'gl_v';
export const CLIENT_COOKIE = 'gl_cid';

const CLIENT_COOKIE_MAX_AGE = 365 * 24 * 3600;
const VERSION_COOKIE_MAX_AGE = 24 * 3600;

export interface Route {
  version: string;
  weight: number;
  upstreams: UpstreamState[];
  upCounters: UpstreamCounters[];
  rr: number;
  counters: VersionCounters;
  versionCookie: string;
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
      versionCookie: `${VERSION_COOKIE}=${v.version}; Path=/; Max-Age=${VERSION_COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax`,
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
  return { table: t, routes, byName, live, cum, total, weights, primary };
}

/** Picks the route for a request: the pinned version while it has weight, else by weight. */
export function selectRoute(c: Compiled | null, pinned: string | undefined): Route | null {
  if (c === null || c.total === 0) return null;
  if (pinned !== undefined) {
    const r = c.byName.get(pinned);
    if (r !== undefined && r.weight > 0) return r;
  }
  const live = c.live;
  if (live.length === 1) return live[0]!;
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

/** Client-side sticky state shared by plain requests and upgrades. */
export function clientCookies(cookieHeader: string | undefined, ex: { cid: string | undefined; newCid: string | null; pinned: string | undefined }): void {
  if (cookieHeader !== undefined) {
    ex.pinned = cookieValue(cookieHeader, 'gl_v=');
    const cid = cookieValue(cookieHeader, 'gl_cid=');
    // bounded so a client cannot grow the client sets with huge ids
    if (cid !== undefined && cid.length > 0 && cid.length <= 64) ex.cid = cid;
  }
  if (ex.cid === undefined) {
    ex.cid = randomUUID();
    ex.newCid = `${CLIENT_COOKIE}=${ex.cid}; Path=/; Max-Age=${CLIENT_COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax`;
  }
}
