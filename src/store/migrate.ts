// `greenlight store migrate --from <sqlite file> --to <postgres url>`: copies the event log
// verbatim (seq, id, type, schema version v, time, actor, data as written, hashes), so the hash chain and every reference to an event
// survive the move. Checked: the target must be empty or hold exactly a prefix of the source
// (then the copy resumes after it), no controller may lead the target meanwhile, and afterwards
// both logs are compared event by event and the target's chain is verified. Nothing is written
// to the source.
import { existsSync } from 'node:fs';
import { verifyChain } from '../audit/chain.ts';
import { GreenlightError } from '../errors/errors.ts';
import type { StoredRow } from '../events/catalogue/index.ts';
import { rowPages } from '../events/log.ts';
import { readLease } from '../leadership/lease.ts';
import { PostgresEventLog } from './postgres/postgres-event-log.ts';
import { SqliteEventLog } from './sqlite/sqlite-event-log.ts';

export interface MigrateReport {
  sourceEvents: number;
  /** events the target already had (a resumed migration) */
  alreadyThere: number;
  copied: number;
  targetEvents: number;
  chain: { ok: boolean; head: { seq: number; hash: string } | null; problem?: string };
}

// rows as stored, v included: a copy that lost v would upcast data that is already current
const same = (a: StoredRow, b: StoredRow) =>
  a.seq === b.seq && a.id === b.id && a.type === b.type && a.v === b.v && a.time === b.time && a.actor === b.actor && a.subject === b.subject && (a.hash ?? null) === (b.hash ?? null) && JSON.stringify(a.data) === JSON.stringify(b.data);

export async function migrateStore(opts: { from: string; to: string; batch?: number; progress?: (copied: number, total: number) => void }): Promise<MigrateReport> {
  if (!existsSync(opts.from)) throw new GreenlightError('NOT_FOUND', `no SQLite event log at ${opts.from}`, { hint: 'pass the events.db of the state directory (e.g. .greenlight/events.db)' });
  const source = new SqliteEventLog(opts.from, undefined, { readOnly: true });
  const target = await PostgresEventLog.open(opts.to);
  try {
    const lease = await target.withClient((c) => readLease(c));
    if (lease?.live) {
      throw new GreenlightError('CONFLICT', `a controller (${lease.address}) leads on the target store: migrating into a live store would interleave two logs`, {
        hint: 'stop the controllers that use the PostgreSQL store first (greenlight down), then run the migration again',
      });
    }
    const sourceEvents = await source.lastSeq();
    const alreadyThere = await target.lastSeq();
    // resumable: whatever the target holds must be exactly the source's beginning
    if (alreadyThere > 0) {
      let checkedUpTo = 0;
      for await (const page of rowPages(target, {}, opts.batch ?? 1000)) {
        const theirs = await source.queryRows({ afterSeq: page[0]!.seq - 1, limit: page.length });
        for (let i = 0; i < page.length; i++) {
          if (!theirs[i] || !same(page[i]!, theirs[i]!)) {
            throw new GreenlightError('CONFLICT', `the target store is not empty and its event ${page[i]!.seq} (${page[i]!.type}) is not the source's`, {
              hint: 'migrate into an empty database (CREATE DATABASE ...), or drop the target\'s greenlight_* tables if they are a failed earlier attempt of another log',
            });
          }
          checkedUpTo = page[i]!.seq;
        }
      }
      if (checkedUpTo !== alreadyThere) throw new GreenlightError('CONFLICT', `the target store's head says ${alreadyThere} events but holds ${checkedUpTo}`, { hint: 'run greenlight store check on the target' });
    }
    let copied = 0;
    for await (const page of rowPages(source, { afterSeq: alreadyThere }, opts.batch ?? 1000)) {
      await target.importEvents(page);
      copied += page.length;
      opts.progress?.(alreadyThere + copied, sourceEvents);
    }
    // checked: the whole target equals the source, event by event, and its chain holds
    let compared = 0;
    for await (const page of rowPages(target, {}, opts.batch ?? 1000)) {
      const theirs = await source.queryRows({ afterSeq: page[0]!.seq - 1, limit: page.length });
      for (let i = 0; i < page.length; i++) {
        if (!theirs[i] || !same(page[i]!, theirs[i]!)) throw new GreenlightError('INTERNAL', `after the copy, event ${page[i]!.seq} differs between source and target`, { hint: 'nothing was changed in the source; report this, and keep using the SQLite store meanwhile' });
        compared++;
      }
    }
    if (compared !== sourceEvents) throw new GreenlightError('INTERNAL', `after the copy the target holds ${compared} events, the source ${sourceEvents}`, { hint: 'run the migration again: it resumes after what is there' });
    const v = await verifyChain(target);
    return {
      sourceEvents,
      alreadyThere,
      copied,
      targetEvents: compared,
      chain: { ok: v.ok, head: v.head, ...(v.problem ? { problem: v.problem.detail } : {}) },
    };
  } finally {
    await source.close();
    await target.close();
  }
}
