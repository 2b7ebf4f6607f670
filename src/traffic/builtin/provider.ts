// The built-in router as a traffic provider: the router (a process the controller supervises, or
// one in this process for tests) already speaks routing tables; this only names it and its address.
import type { RouterAdmin } from '../../rollout/traffic.ts';
import type { RouterStats } from '../../router/stats.ts';
import type { RoutingTable } from '../../router/table.ts';
import type { Router } from '../../router/router.ts';
import type { TrafficProvider } from '../provider.ts';

export class BuiltinProvider implements TrafficProvider {
  readonly kind = 'builtin';
  readonly describe: string;
  readonly url: string;
  private readonly admin: RouterAdmin;

  /** admin: the router's admin API (a RouterClient) or an in-process router (inProcess below) */
  constructor(admin: RouterAdmin, url: string, describe = `router at ${url}`) {
    this.admin = admin;
    this.url = url.replace(/\/+$/, '');
    this.describe = describe;
  }

  setTable(table: RoutingTable): Promise<unknown> {
    return this.admin.setTable(table);
  }

  getTable(): Promise<RoutingTable | null> {
    return this.admin.getTable();
  }

  stats(): Promise<RouterStats> {
    return this.admin.stats();
  }

  /** A router running in this process (tests, benchmarks). */
  static inProcess(router: Router, url: string): BuiltinProvider {
    return new BuiltinProvider({ setTable: (t) => router.setTable(t), getTable: async () => router.table(), stats: async () => router.stats() }, url, `in-process router at ${url}`);
  }
}
