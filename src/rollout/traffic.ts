// How the rollout moves traffic: it only ever states the split it wants; this adapter turns it
// into a routing table with a fresh revision and pushes it to the environment's router.
import type { RoutingTable } from '../router/table.ts';
import type { RouterStats } from '../router/stats.ts';

/** The part of a router's admin API the rollout uses (owned here; RouterClient implements it). */
export interface RouterAdmin {
  setTable(table: RoutingTable): Promise<unknown>;
  getTable(): Promise<RoutingTable | null>;
  stats(): Promise<RouterStats>;
}

export interface Split {
  version: string;
  weight: number;
  upstreams: string[];
}

export class TrafficControl {
  private readonly admin: RouterAdmin;
  private revision: number | undefined;

  constructor(admin: RouterAdmin) {
    this.admin = admin;
  }

  /** Applies a split; versions with weight 0 stay listed so their pinned clients are re-pinned, not refused. */
  async route(split: Split[]): Promise<RoutingTable> {
    if (this.revision === undefined) this.revision = (await this.admin.getTable())?.revision ?? 0;
    const table: RoutingTable = { revision: this.revision + 1, versions: split.filter((s) => s.weight > 0 || s.upstreams.length > 0) };
    await this.admin.setTable(table);
    this.revision = table.revision;
    return table;
  }

  /**
   * Keeps the weights and points each version at the instances that are live now (an instance
   * replaced after a crash may listen on another port). Pushes a table only when something changed.
   */
  async refresh(upstreamsOf: (version: string) => string[]): Promise<boolean> {
    const t = await this.current();
    if (!t) return false;
    const next = t.versions.map((v) => ({ ...v, upstreams: upstreamsOf(v.version) }));
    const changed = next.some((v, i) => v.upstreams.join(' ') !== t.versions[i]!.upstreams.join(' '));
    if (!changed) return false;
    // a version with weight but no live instance keeps its last upstreams: the router's own
    // health handling answers for it, and a table it would refuse is worse
    await this.route(next.map((v, i) => (v.weight > 0 && v.upstreams.length === 0 ? t.versions[i]! : v)));
    return true;
  }

  async current(): Promise<RoutingTable | null> {
    const t = await this.admin.getTable();
    if (t) this.revision = Math.max(this.revision ?? 0, t.revision);
    return t;
  }

  stats(): Promise<RouterStats> {
    return this.admin.stats();
  }
}
