// The controller's handle on one router process: its admin API over HTTP, with a timeout on every
// call. A router that cannot be reached is a retryable ROUTER_UNREACHABLE, never a hang.

import { systemClock, type Clock } from '../clock/clock.ts';
import { GreenlightError, describe } from '../errors/errors.ts';
import type { RoutingTable } from './table.ts';
import type { RouterStats } from './stats.ts';
import type { FaultRequest, FaultView } from './faults.ts';

export interface RouterClientOptions {
  /** admin base URL, e.g. "http://127.0.0.1:9081" */
  adminUrl: string;
  token: string;
  /** per call; default 3 s */
  timeoutMs?: number;
  clock?: Clock;
}

export interface RouterHealth {
  ok: boolean;
  router: string;
  revision: number | null;
  /** false while there is no table or no version with weight > 0 */
  serving: boolean;
  persistError: string | null;
  uptimeMs: number;
}

export interface SetTableResult {
  revision: number;
  /** false when the router applied the table but could not write its state file */
  persisted: boolean;
  /** false when the same revision with the same content was already in force */
  changed: boolean;
  warning?: string;
}

export class RouterClient {
  private readonly base: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly clock: Clock;

  constructor(opts: RouterClientOptions) {
    this.base = opts.adminUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 3_000;
    this.clock = opts.clock ?? systemClock;
  }

  /** Throws CONFLICT (stale revision, data.currentRevision), CONFIG_INVALID (bad table), UNAUTHORIZED or ROUTER_UNREACHABLE. */
  async setTable(table: RoutingTable): Promise<SetTableResult> {
    return (await this.call('PUT', '/table', table)) as SetTableResult;
  }

  /** null when the router has no table yet */
  async getTable(): Promise<RoutingTable | null> {
    try {
      return (await this.call('GET', '/table')) as RoutingTable;
    } catch (err) {
      if (err instanceof GreenlightError && err.code === 'NOT_FOUND') return null;
      throw err;
    }
  }

  async stats(): Promise<RouterStats> {
    return (await this.call('GET', '/stats')) as RouterStats;
  }

  /** Pushes a drill fault; the router bounds it by ttlMs on its own clock. Throws CONFIG_INVALID. */
  async putFault(fault: FaultRequest): Promise<FaultView> {
    return (await this.call('POST', '/faults', fault)) as FaultView;
  }

  async faults(): Promise<{ router: string; now: number; faults: FaultView[] }> {
    return (await this.call('GET', '/faults')) as { router: string; now: number; faults: FaultView[] };
  }

  /** Removes the faults of one drill (or all when drill is absent); returns how many. */
  async removeFaults(drill?: string): Promise<number> {
    const q = drill === undefined ? '' : `?drill=${encodeURIComponent(drill)}`;
    return ((await this.call('DELETE', `/faults${q}`)) as { removed: number }).removed;
  }

  async health(): Promise<RouterHealth> {
    return (await this.call('GET', '/healthz')) as RouterHealth;
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = this.base + path;
    const ac = new AbortController();
    const timer = this.clock.setTimeout(() => ac.abort(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: ac.signal,
      });
      text = await res.text();
    } catch (err) {
      const reason = ac.signal.aborted ? describe(ac.signal.reason) : describe((err as { cause?: unknown }).cause ?? err);
      throw new GreenlightError('ROUTER_UNREACHABLE', `router admin API at ${this.base} could not be reached (${method} ${path}): ${reason}`, {
        retryable: true,
        hint: 'check that the router process for this environment is running and listening on its --admin address',
        cause: err,
      });
    } finally {
      timer.cancel();
    }
    let json: unknown;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      json = null;
    }
    if (res.ok) return json;
    const e = (json ?? {}) as { message?: string; hint?: string; data?: Record<string, unknown> };
    const msg = `router ${method} ${path}: ${e.message ?? `HTTP ${res.status}`}`;
    switch (res.status) {
      case 400:
        throw new GreenlightError('CONFIG_INVALID', msg, { hint: e.hint ?? 'fix the routing table' });
      case 401:
        throw new GreenlightError('UNAUTHORIZED', msg, { hint: 'the token does not match the router\'s --token-file; restart one of them with the same token' });
      case 404:
        throw new GreenlightError('NOT_FOUND', msg, { hint: e.hint ?? 'nothing there yet' });
      case 409:
        throw new GreenlightError('CONFLICT', msg, { hint: e.hint ?? 'read the current table and send a higher revision', ...(e.data ? { data: e.data } : {}) });
      default:
        throw new GreenlightError('ROUTER_UNREACHABLE', msg, { retryable: res.status >= 500, hint: 'the router answered with an error; see its stderr' });
    }
  }
}
