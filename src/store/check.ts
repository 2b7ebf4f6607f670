// `greenlight store check`: is the configured event store sound? Read-only. It reports
//   integrity   SQLite's integrity_check (pages, indexes), or for PostgreSQL that it is reachable
//   schema      the tables and append-only triggers are there; PostgreSQL's migration version
//   ordering    seqs strictly increasing and gapless (PostgreSQL hands them out gapless), ids unique,
//               the head row (PostgreSQL) not behind the last event
//   chain       the hash chain (audit/chain.ts)
//   leader      PostgreSQL: who holds the controller lease
import { existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { verifyChain } from '../audit/chain.ts';
import { GreenlightError } from '../errors/errors.ts';
import { pages, type EventLog } from '../events/log.ts';
import { readLease } from '../leadership/lease.ts';
import { migrations, schemaVersion } from './postgres/migrations.ts';
import { PostgresEventLog } from './postgres/postgres-event-log.ts';
import { describeStore, openEventLog, type StoreSpec } from './registry.ts';

export interface CheckItem {
  name: 'integrity' | 'schema' | 'ordering' | 'chain' | 'leader';
  ok: boolean;
  detail: string;
}

export interface CheckReport {
  store: string;
  ok: boolean;
  events: number;
  items: CheckItem[];
}

export async function checkStore(spec: StoreSpec): Promise<CheckReport> {
  const items: CheckItem[] = [];
  if (spec.kind === 'sqlite') {
    if (!existsSync(spec.file)) throw new GreenlightError('NOT_FOUND', `no event log at ${spec.file}`, { hint: 'it is created by the first greenlight up' });
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(spec.file, { readOnly: true });
      const rows = db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[];
      const ok = rows.length === 1 && rows[0]!.integrity_check === 'ok';
      items.push({ name: 'integrity', ok, detail: ok ? 'SQLite integrity_check: ok' : `SQLite integrity_check: ${rows.slice(0, 5).map((r) => r.integrity_check).join('; ')}` });
      const objects = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')").all() as { name: string }[]).map((r) => r.name));
      const missing = ['events', 'events_append_only_update', 'events_append_only_delete'].filter((n) => !objects.has(n));
      items.push({ name: 'schema', ok: missing.length === 0, detail: missing.length ? `missing: ${missing.join(', ')}` : 'events table and append-only triggers present' });
      db.close();
    } catch (err) {
      items.push({ name: 'integrity', ok: false, detail: `the file cannot be read as SQLite: ${(err as Error).message}` });
      return { store: describeStore(spec), ok: false, events: 0, items };
    }
  }
  const log: EventLog = await openEventLog(spec, { readOnly: true });
  try {
    let head = 0;
    if (spec.kind === 'postgres') {
      const pgLog = log as PostgresEventLog;
      items.push({ name: 'integrity', ok: true, detail: 'PostgreSQL reachable' });
      const v = await pgLog.withClient((c) => schemaVersion(c));
      const latest = migrations[migrations.length - 1]!.version;
      items.push({ name: 'schema', ok: v === latest, detail: v === latest ? `schema version ${v} (latest)` : v < latest ? `schema version ${v}, this Greenlight migrates to ${latest} on start` : `schema version ${v} is newer than this Greenlight knows (${latest})` });
      head = await pgLog.lastSeq();
      const lease = await pgLog.withClient((c) => readLease(c)).catch(() => undefined);
      items.push({ name: 'leader', ok: true, detail: lease ? `${lease.live ? 'led' : 'last led'} by ${lease.holder} at ${lease.address} (token ${lease.token}${lease.live ? '' : ', lease expired'})` : 'no controller ever led' });
    }
    let count = 0;
    let prev = 0;
    let gaps = 0;
    let disorder = 0;
    const ids = new Set<string>();
    let dupes = 0;
    for await (const page of pages(log, {}, 2000)) {
      for (const e of page) {
        if (e.seq <= prev) disorder++;
        else if (e.seq !== prev + 1) gaps++;
        if (ids.has(e.id)) dupes++;
        ids.add(e.id);
        prev = e.seq;
        count++;
      }
    }
    const behind = spec.kind === 'postgres' && head < prev;
    const orderingOk = disorder === 0 && dupes === 0 && !behind && (spec.kind === 'sqlite' || gaps === 0);
    items.push({
      name: 'ordering',
      ok: orderingOk,
      detail: `${count} event(s), last seq ${prev}; ${disorder} out of order, ${dupes} duplicate id(s), ${gaps} gap(s)${spec.kind === 'sqlite' && gaps ? ' (SQLite: a gap alone can be a rolled-back append; the chain below tells whether events were removed)' : ''}${behind ? `; the head row (${head}) is behind the last event` : ''}`,
    });
    const chain = await verifyChain(log);
    items.push({ name: 'chain', ok: chain.ok, detail: chain.ok ? `hash chain intact over ${chain.checked} event(s)${chain.head ? `, head ${chain.head.seq}:${chain.head.hash.slice(0, 16)}…` : ''}` : `hash chain broken: ${chain.problem!.detail}` });
    return { store: describeStore(spec), ok: items.every((i) => i.ok), events: count, items };
  } finally {
    await log.close();
  }
}
