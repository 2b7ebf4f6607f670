// The HAProxy traffic provider: a routing table becomes server slots of one backend, changed
// through the runtime API only (no reload, so no connection is dropped). Versions that keep their
// weight keep their slots; a new instance takes a free slot (address, port, weight, then ready);
// a version at weight 0 or a freed slot goes to maintenance, which finishes what it has in flight
// and sends its pinned clients (cookie or hash) to the versions that have weight.
import { systemClock, type Clock } from '../../clock/clock.ts';
import { GreenlightError } from '../../errors/errors.ts';
import type { RouterStats } from '../../router/stats.ts';
import { parseUpstream, validateTable, type RoutingTable } from '../../router/table.ts';
import type { TrafficProvider } from '../provider.ts';
import type { HaproxyTrafficConfig } from './config.ts';
import { VersionCounters } from './counters.ts';
import { RuntimeApi, type StatRow } from './runtime-api.ts';

/** HAProxy's weights are integers 0..256; the largest per-server share gets the top. */
const MAX_WEIGHT = 256;
// map keys besides the slot names (which map to the version the header names)
const REVISION_KEY = '@revision';
const weightKey = (version: string) => `@weight:${version}`;
const memberKey = (slot: string) => `@slot:${slot}`;

interface Slot {
  name: string;
  /** "host:port" HAProxy holds for it */
  addr: string;
  /** the version the header map names for it (kept after the slot is freed, until it is reused) */
  headerVersion: string | undefined;
  /** its place in the table: version and position among the version's upstreams */
  member: { version: string; index: number } | undefined;
  status: string;
}

interface Snapshot {
  rows: StatRow[];
  map: Map<string, string>;
  slots: Slot[];
  table: RoutingTable | null;
}

export class HaproxyProvider implements TrafficProvider {
  readonly kind = 'haproxy';
  readonly describe: string;
  readonly url: string;
  private readonly api: RuntimeApi;
  private readonly backend: string;
  private readonly mapFile: string;
  private readonly clock: Clock;
  private counters: VersionCounters | undefined;
  /** one change or read at a time, so counts are attributed to the version a slot served then */
  private queue: Promise<unknown> = Promise.resolve();
  /** when each slot was last freed, to reuse the one idle longest */
  private readonly freedAt = new Map<string, number>();

  constructor(config: HaproxyTrafficConfig, opts: { clock?: Clock } = {}) {
    this.clock = opts.clock ?? systemClock;
    this.api = new RuntimeApi({ socket: config.socket, timeoutMs: config.timeout, clock: this.clock });
    this.backend = config.backend;
    this.mapFile = config.map;
    this.url = config.url.replace(/\/+$/, '');
    this.describe = `haproxy ${config.backend} at ${config.socket}`;
  }

  getTable(): Promise<RoutingTable | null> {
    return this.serial(async () => (await this.read()).table);
  }

  stats(): Promise<RouterStats> {
    return this.serial(async () => {
      const s = await this.read();
      const now = this.clock.now();
      const counters = this.countersAt(now);
      counters.add(s.rows, this.ownerOf(s), now);
      const weights = new Map((s.table?.versions ?? []).map((v) => [v.version, v.weight]));
      const up = new Set(s.slots.filter((x) => x.member && !/DOWN|MAINT/.test(x.status)).map((x) => `http://${x.addr}`));
      return counters.snapshot({ name: this.describe, now, revision: s.table?.revision ?? null, weights, healthy: (u) => up.has(u) });
    });
  }

  /** Throws CONFIG_INVALID (bad table, too few slots), CONFLICT (older revision) or ROUTER_UNREACHABLE. */
  setTable(input: RoutingTable): Promise<{ revision: number; changed: boolean }> {
    return this.serial(async () => {
      const v = validateTable(input);
      if (!v.ok) throw new GreenlightError('CONFIG_INVALID', `routing table refused: ${v.reason}`, { hint: 'fix the routing table' });
      const table = v.table;
      const s = await this.read();
      const current = s.table?.revision ?? -1;
      if (table.revision < current || (table.revision === current && !sameContent(table, s.table!))) {
        throw new GreenlightError('CONFLICT', `HAProxy backend ${this.backend} holds revision ${current}; refusing revision ${table.revision}`, {
          hint: 'read the current table and send a higher revision',
          data: { currentRevision: current },
        });
      }
      if (table.revision === current) return { revision: current, changed: false };
      // what each slot served so far is counted before a slot changes hands
      const now = this.clock.now();
      this.countersAt(now).add(s.rows, this.ownerOf(s), now);
      await this.apply(table, s);
      return { revision: table.revision, changed: true };
    });
  }

  private async apply(table: RoutingTable, s: Snapshot): Promise<void> {
    const want: { version: string; index: number; addr: string }[] = [];
    for (const v of table.versions) {
      v.upstreams.forEach((u, index) => {
        const p = parseUpstream(u)!;
        want.push({ version: v.version, index, addr: `${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}` });
      });
    }
    // a slot already serving this version at this address keeps serving it
    const assigned = new Map<Slot, (typeof want)[number]>();
    const unplaced: (typeof want)[number][] = [];
    for (const w of want) {
      const keep = s.slots.find((x) => !assigned.has(x) && x.member?.version === w.version && x.addr === w.addr);
      if (keep) assigned.set(keep, w);
      else unplaced.push(w);
    }
    // free slots: idle ones first (longest idle first), then those the table just let go of
    const free = s.slots
      .filter((x) => !assigned.has(x))
      .sort((a, b) => Number(a.member !== undefined) - Number(b.member !== undefined) || (this.freedAt.get(a.name) ?? 0) - (this.freedAt.get(b.name) ?? 0) || a.name.localeCompare(b.name, 'en', { numeric: true }));
    if (unplaced.length > free.length) {
      throw new GreenlightError('CONFIG_INVALID', `HAProxy backend ${this.backend} has ${s.slots.length} server slots; this table needs ${want.length}`, {
        hint: `raise the count of the backend's "server-template" (e.g. server-template gl 1-${Math.max(16, want.length * 2)} 127.0.0.1:9 disabled) and reload HAProxy once`,
      });
    }
    const fresh: Slot[] = [];
    for (const w of unplaced) {
      const slot = free.shift()!;
      assigned.set(slot, w);
      fresh.push(slot);
    }
    const weightOf = slotWeights(table);
    const server = (slot: Slot) => `${this.backend}/${slot.name}`;
    // 1. new slots, still in maintenance: address, version in the map, weight
    for (const slot of fresh) {
      const w = assigned.get(slot)!;
      if (!/MAINT/.test(slot.status)) await this.api.change(['set', 'server', server(slot), 'state', 'maint']);
      const [host, port] = splitAddr(w.addr);
      await this.api.change(['set', 'server', server(slot), 'addr', host, 'port', port], /changed from|no need to change/);
      await this.setMap(s.map, slot.name, w.version);
    }
    for (const [slot, w] of assigned) {
      await this.setMap(s.map, memberKey(slot.name), `${w.version}/${w.index}`);
      const weight = weightOf.get(w.version) ?? 0;
      if (weight > 0) await this.api.change(['set', 'server', server(slot), 'weight', weight]);
    }
    // 2. everything with weight takes traffic before anything stops taking it
    for (const [slot, w] of assigned) {
      if ((weightOf.get(w.version) ?? 0) > 0 && (slot.status === '' || /MAINT|DRAIN/.test(slot.status) || fresh.includes(slot))) {
        await this.api.change(['set', 'server', server(slot), 'state', 'ready']);
      }
    }
    // 3. versions at weight 0 and freed slots: maintenance (in-flight requests finish; pinned clients move)
    for (const [slot, w] of assigned) {
      if ((weightOf.get(w.version) ?? 0) === 0) await this.api.change(['set', 'server', server(slot), 'state', 'maint']);
    }
    for (const slot of s.slots) {
      if (assigned.has(slot) || !slot.member) continue;
      await this.api.change(['set', 'server', server(slot), 'state', 'maint']);
      await this.api.change(['del', 'map', this.mapFile, memberKey(slot.name)]);
      this.freedAt.set(slot.name, this.clock.now());
    }
    // 4. the table's own record: weights (in table order) and, last, the revision
    const keep = new Set(table.versions.map((v) => weightKey(v.version)));
    for (const key of s.map.keys()) if (key.startsWith('@weight:') && !keep.has(key)) await this.api.change(['del', 'map', this.mapFile, key]);
    for (const [i, v] of table.versions.entries()) await this.setMap(s.map, weightKey(v.version), `${v.weight}/${i}`);
    await this.setMap(s.map, REVISION_KEY, String(table.revision));
  }

  private async setMap(map: Map<string, string>, key: string, value: string): Promise<void> {
    if (map.get(key) === value) return;
    await this.api.change([map.has(key) ? 'set' : 'add', 'map', this.mapFile, key, value]);
    map.set(key, value);
  }

  /** What HAProxy holds now: its servers and the table recorded in the map. */
  private async read(): Promise<Snapshot> {
    const [rows, map] = await Promise.all([this.api.stat(this.backend), this.api.map(this.mapFile)]);
    const be = rows.find((r) => r.svname === 'BACKEND');
    if (!be) {
      throw new GreenlightError('CONFIG_INVALID', `HAProxy has no backend "${this.backend}"`, { hint: 'traffic.backend must name the backend section Greenlight manages (docs/traffic.md)' });
    }
    // A returning client must keep its version: HAProxy's cookie or a hash of something the client
    // sends. Anything else (roundrobin, leastconn, random without a cookie) splits request by request.
    if (be.mode !== 'http' || !(be.cookie || /^(hash|source|uri|url_param|hdr|rdp-cookie)/.test(be.algo ?? ''))) {
      throw new GreenlightError('CONFIG_INVALID', `HAProxy backend ${this.backend} is not sticky (mode ${be.mode ?? '?'}, balance ${be.algo ?? '?'}, no cookie): a returning client would change version from one request to the next`, {
        hint: 'use the backend section of docs/traffic.md: "mode http" with "balance hash" + "hash-type consistent", or a "cookie" directive',
      });
    }
    const slots: Slot[] = rows
      .filter((r) => r.svname && r.svname !== 'BACKEND' && r.svname !== 'FRONTEND')
      .map((r) => {
        const m = map.get(memberKey(r.svname!));
        const slash = m?.lastIndexOf('/') ?? -1;
        return {
          name: r.svname!,
          addr: r.addr ?? '',
          headerVersion: map.get(r.svname!),
          member: m && slash > 0 ? { version: m.slice(0, slash), index: Number(m.slice(slash + 1)) } : undefined,
          status: r.status ?? '',
        };
      });
    const revision = map.get(REVISION_KEY);
    let table: RoutingTable | null = null;
    if (revision !== undefined) {
      const versions: (RoutingTable['versions'][number] & { order: number })[] = [];
      for (const [key, value] of map) {
        if (!key.startsWith('@weight:')) continue;
        const [weight, order] = value.split('/');
        const version = key.slice('@weight:'.length);
        const upstreams = slots
          .filter((x) => x.member?.version === version)
          .sort((a, b) => a.member!.index - b.member!.index)
          .map((x) => `http://${x.addr}`);
        versions.push({ version, weight: Number(weight), upstreams, order: Number(order) });
      }
      versions.sort((a, b) => a.order - b.order);
      table = { revision: Number(revision), versions: versions.map(({ order: _order, ...v }) => v) };
    }
    return { rows, map, slots, table };
  }

  private ownerOf(s: Snapshot): (slot: string) => { version: string; upstream: string } | undefined {
    const bySlot = new Map(s.slots.map((x) => [x.name, x]));
    return (name) => {
      const x = bySlot.get(name);
      return x?.headerVersion ? { version: x.headerVersion, upstream: `http://${x.addr}` } : undefined;
    };
  }

  private countersAt(now: number): VersionCounters {
    this.counters ??= new VersionCounters(now);
    return this.counters;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** Per-slot integer weights: each version's weight shared by its upstreams, scaled so the largest is 256. */
export function slotWeights(table: RoutingTable): Map<string, number> {
  const share = new Map<string, number>();
  for (const v of table.versions) if (v.weight > 0 && v.upstreams.length > 0) share.set(v.version, v.weight / v.upstreams.length);
  const top = Math.max(0, ...share.values());
  const out = new Map<string, number>();
  for (const v of table.versions) {
    const s = share.get(v.version);
    // a positive weight never rounds to 0, which would take the version out of rotation
    out.set(v.version, s ? Math.max(1, Math.round((s / top) * MAX_WEIGHT)) : 0);
  }
  return out;
}

function sameContent(a: RoutingTable, b: RoutingTable): boolean {
  const key = (t: RoutingTable) => JSON.stringify(t.versions.map((v) => [v.version, v.weight, v.upstreams.map(normal)]));
  return key(a) === key(b);
}

const normal = (u: string) => {
  const p = parseUpstream(u)!;
  return `${p.host}:${p.port}`;
};

function splitAddr(addr: string): [string, string] {
  const i = addr.lastIndexOf(':');
  return [addr.slice(0, i).replace(/^\[|\]$/g, ''), addr.slice(i + 1)];
}
