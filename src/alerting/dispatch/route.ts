// The routing tree, as in Alertmanager (dispatch/route.go): an alert descends into the first child
// whose matchers hold, and keeps looking at later siblings only when that child says `continue`.
// When no child matches, the node itself takes the alert. Children inherit the receiver, group_by
// and timings of their parent unless they set their own.
import type { Labels } from '../../monitor/series/labels.ts';
import { formatMatcher, matchesAll, type Matcher } from './matchers.ts';

export const DEFAULT_GROUP_WAIT = 30_000;
export const DEFAULT_GROUP_INTERVAL = 300_000;
export const DEFAULT_REPEAT_INTERVAL = 4 * 3_600_000;

/** The `route:` config after parsing (durations in ms). */
export interface RouteConfig {
  receiver?: string | undefined;
  /** label names; ["..."] groups by every label, so each alert is its own group */
  group_by?: string[] | undefined;
  group_wait?: number | undefined;
  group_interval?: number | undefined;
  repeat_interval?: number | undefined;
  matchers?: Matcher[] | undefined;
  continue?: boolean | undefined;
  routes?: RouteConfig[] | undefined;
}

export interface Route {
  /** stable within one configuration: the path of matchers from the root */
  id: string;
  receiver: string;
  /** 'all' for group_by: ["..."] */
  groupBy: readonly string[] | 'all';
  groupWait: number;
  groupInterval: number;
  repeatInterval: number;
  matchers: readonly Matcher[];
  continue: boolean;
  routes: Route[];
}

export function buildRoute(cfg: RouteConfig, parent?: Route, index = 0): Route {
  const receiver = cfg.receiver ?? parent?.receiver;
  if (receiver === undefined) throw new Error('the root route needs a receiver');
  const matchers = cfg.matchers ?? [];
  const groupBy = cfg.group_by ? (cfg.group_by.includes('...') ? 'all' : [...cfg.group_by]) : (parent?.groupBy ?? []);
  const self: Route = {
    id: parent ? `${parent.id}/${index}{${matchers.map(formatMatcher).join(',')}}` : '{}',
    receiver,
    groupBy,
    groupWait: cfg.group_wait ?? parent?.groupWait ?? DEFAULT_GROUP_WAIT,
    groupInterval: cfg.group_interval ?? parent?.groupInterval ?? DEFAULT_GROUP_INTERVAL,
    repeatInterval: cfg.repeat_interval ?? parent?.repeatInterval ?? DEFAULT_REPEAT_INTERVAL,
    matchers,
    continue: cfg.continue ?? false,
    routes: [],
  };
  self.routes = (cfg.routes ?? []).map((c, i) => buildRoute(c, self, i));
  return self;
}

/** The routes that take an alert with these labels, in tree order (empty only if the root does not match). */
export function matchRoutes(route: Route, labels: Labels): Route[] {
  if (!matchesAll(route.matchers, labels)) return [];
  const all: Route[] = [];
  for (const child of route.routes) {
    const found = matchRoutes(child, labels);
    all.push(...found);
    if (found.length > 0 && !child.continue) break;
  }
  if (all.length === 0) all.push(route);
  return all;
}

/** The labels an alert is grouped by on this route. */
export function groupLabels(route: Route, labels: Labels): Record<string, string> {
  if (route.groupBy === 'all') return { ...labels };
  const out: Record<string, string> = {};
  for (const k of route.groupBy) if (labels[k] !== undefined && labels[k] !== '') out[k] = labels[k];
  return out;
}

export function walkRoutes(route: Route, visit: (r: Route) => void): void {
  visit(route);
  for (const c of route.routes) walkRoutes(c, visit);
}
