// How the rollout moves traffic: it only ever states the split it wants; this adapter turns it
// into a routing table with a fresh revision and pushes it to the environment's router.
import { GreenlightError } from '../errors/errors.ts';
import type { RoutingTable } from '../router/table.ts';
import type { RouterStats } from '../router/stats.ts';

/** The part of a router's admin API the rollout uses (owned here; RouterClient implements it). */
export interface RouterAdmin {
  setTable(table: RoutingTable): Promise<unknown>;
  getTable(): Promise<RoutingTable | null>;
  stats(): Promise<RouterStats>;
  /** what it is, for events and errors ("haproxy gl_web at 10.0.0.5:9999") */
  readonly describe?: string;
}

export interface Split {
  version: string;
  weight: number;
  upstreams: string[];
}

/**
 * With several controllers, a leader's revisions live in its own band: [token × EPOCH_SPAN,
 * (token + 1) × EPOCH_SPAN). A new leader's first table jumps to its band, so revisions stay
 * monotonic across leaders and the router (which refuses older revisions) refuses whatever a
 * deposed leader still sends.
 */
export const EPOCH_SPAN = 1_000_000;

export class TrafficControl {
  private readonly admin: RouterAdmin;
  private revision: number | undefined;
  private readonly epoch: () => number | undefined;

  /** epoch: the leader's fencing token (none with a single controller) */
  constructor(admin: RouterAdmin, opts: { epoch?: () => number | undefined } = {}) {
    this.admin = admin;
    this.epoch = opts.epoch ?? (() => undefined);
  }

  get describe(): string {
    return this.admin.describe ?? 'router';
  }

  /** Applies a split; versions with weight 0 stay listed so their pinned clients are re-pinned, not refused. */
  async route(split: Split[]): Promise<RoutingTable> {
    if (this.revision === undefined) this.revision = (await this.admin.getTable())?.revision ?? 0;
    let revision = this.revision + 1;
    const epoch = this.epoch();
    if (epoch !== undefined) {
      if (revision >= (epoch + 1) * EPOCH_SPAN) {
        throw new GreenlightError('FENCED', `the router holds routing table revision ${this.revision}, from a newer leader than this controller (token ${epoch})`, {
          hint: 'another controller leads now; this one must not move traffic',
        });
      }
      revision = Math.max(revision, epoch * EPOCH_SPAN);
    }
    const table: RoutingTable = { revision, versions: split.filter((s) => s.weight > 0 || s.upstreams.length > 0) };
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
