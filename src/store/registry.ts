// Event store kinds by name: `store: { kind: sqlite }` (the embedded default, one file in the
// state directory) or `store: { kind: postgres, url }` (shared by several controllers). The
// composition root, the CLI's direct readers and the store tools all open the log through here.
import { join } from 'node:path';
import { z } from 'zod';
import type { Clock } from '../clock/clock.ts';
import { GreenlightError } from '../errors/errors.ts';
import { duration } from '../config/duration.ts';
import { kind, Registry } from '../registry/registry.ts';
import type { EventLog } from '../events/log.ts';
import { PostgresEventLog } from './postgres/postgres-event-log.ts';
import { SqliteEventLog } from './sqlite/sqlite-event-log.ts';

export const sqliteStoreSchema = z.strictObject({
  kind: z.literal('sqlite'),
  /** the database file; relative to the state directory (default events.db) */
  path: z.string().min(1).default('events.db'),
});

export const postgresStoreSchema = z.strictObject({
  kind: z.literal('postgres'),
  /** postgres://user:password@host:port/database; `$NAME` takes it from the environment variable NAME */
  url: z.string().regex(/^(postgres(ql)?:\/\/|\$[A-Z_][A-Z0-9_]*$)/, { message: 'expected a postgres:// URL or $ENV_VAR holding one' }),
  /** the leader's lease: a standby takes over at most this long after the leader's last renewal */
  lease: duration.default(4000),
});

/** What a child process needs to open the same store (tests, tools). */
export type StoreSpec = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

// Each kind once: its config, and where that config says the store is. Opening and naming a store
// read the StoreSpec (below), which a child process gets without the config.
export const storeKinds = new Registry('store', {
  sqlite: kind(sqliteStoreSchema, (config, d: { stateDir: string }): StoreSpec => ({ kind: 'sqlite', file: join(d.stateDir, config.path) })),
  postgres: kind(postgresStoreSchema, (config): StoreSpec => ({ kind: 'postgres', url: resolveUrl(config.url) })),
});

export const storeConfigSchema = storeKinds.schema();
export type StoreConfig = z.output<typeof storeConfigSchema>;
export const defaultStore: StoreConfig = { kind: 'sqlite', path: 'events.db' };

export function storeSpec(config: StoreConfig, stateDir: string): StoreSpec {
  return storeKinds.create(config, { stateDir }, 'store');
}

export function resolveUrl(url: string): string {
  if (!url.startsWith('$')) return url;
  const v = process.env[url.slice(1)];
  if (!v) throw new GreenlightError('CONFIG_INVALID', `store.url names the environment variable ${url.slice(1)}, which is not set`, { hint: `export ${url.slice(1)}=postgres://user:password@host:5432/greenlight` });
  return v;
}

export interface OpenOptions {
  clock?: Clock;
  /** the fencing token of the leader's writes (PostgreSQL) */
  fence?: () => string | undefined;
  /** PostgreSQL: how long a transaction waiting for its next statement is kept (see PostgresLogOptions) */
  idleInTransactionMs?: number;
  /** PostgreSQL: run migrations (default true) */
  migrate?: boolean;
  /** SQLite: open the file read-only (readers: `greenlight events`, `audit verify`); PostgreSQL: no migration */
  readOnly?: boolean;
}

export async function openEventLog(spec: StoreSpec, opts: OpenOptions = {}): Promise<EventLog> {
  switch (spec.kind) {
    case 'sqlite':
      return new SqliteEventLog(spec.file, opts.clock, { readOnly: !!opts.readOnly });
    case 'postgres':
      return PostgresEventLog.open(spec.url, opts.readOnly ? { ...opts, migrate: false } : opts);
  }
}

export function describeStore(spec: StoreSpec): string {
  return spec.kind === 'sqlite' ? `SQLite ${spec.file}` : `PostgreSQL ${new URL(spec.url).host}${new URL(spec.url).pathname}`;
}
