// store migrate and store check against a real SQLite file and a real PostgreSQL.
import { event } from '../events/catalogue/index.ts';
import { note } from '../events/testing.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyChain } from '../audit/chain.ts';
import { Leadership } from '../leadership/lease.ts';
import { systemClock } from '../clock/clock.ts';
import { checkStore } from './check.ts';
import { migrateStore } from './migrate.ts';
import { PostgresEventLog } from './postgres/postgres-event-log.ts';
import { freshDatabase, postgresMissing } from './postgres/testing.ts';
import { SqliteEventLog } from './sqlite/sqlite-event-log.ts';

const skip = postgresMissing();
const opts = skip ? { skip } : {};

async function sqliteWith(n: number, file = join(mkdtempSync(join(tmpdir(), 'gl-migrate-')), 'events.db')) {
  const log = new SqliteEventLog(file);
  for (let i = 0; i < n; i += 500) {
    await log.appendAll(Array.from({ length: Math.min(500, n - i) }, (_, j) => note(`n ${i + j}`, { actor: 'controller', subject: `deployment/d${i + j}` })));
  }
  return { file, log };
}

test('store migrate copies a SQLite log verbatim (ids, seqs, hashes), checked event by event', opts, async () => {
  const { file, log } = await sqliteWith(2300);
  const source = await log.query();
  await log.close();
  const url = await freshDatabase();
  const r = await migrateStore({ from: file, to: url, batch: 700 });
  assert.equal(r.copied, 2300);
  assert.equal(r.targetEvents, 2300);
  assert.equal(r.chain.ok, true);
  const target = await PostgresEventLog.open(url);
  const copied = await target.query();
  assert.deepEqual(copied.map((e) => [e.seq, e.id, e.hash]), source.map((e) => [e.seq, e.id, e.hash]));
  assert.deepEqual(copied[5]!.data, source[5]!.data);
  assert.equal((await verifyChain(target)).ok, true);
  // the migrated log goes on: a new append chains onto the copied head
  await target.append(event('controller.started', { actor: 'controller', subject: 'controller', data: { pid: 1, config: 'greenlight.yaml', listen: '127.0.0.1:7070' } }));
  assert.equal((await verifyChain(target)).ok, true);
  await target.close();
});

test('store migrate resumes after what the target already holds, and refuses a target holding another log', opts, async () => {
  const { file, log } = await sqliteWith(600);
  const url = await freshDatabase();
  assert.equal((await migrateStore({ from: file, to: url })).copied, 600);
  // the source grew (the migration was interrupted, or run early): running it again copies the rest
  await log.appendAll([note('late.one', { actor: 'a', subject: 's' }), note('late.two', { actor: 'a', subject: 's' })]);
  const again = await migrateStore({ from: file, to: url });
  assert.deepEqual([again.alreadyThere, again.copied, again.targetEvents], [600, 2, 602]);
  assert.equal((await migrateStore({ from: file, to: url })).copied, 0, 'nothing twice');
  await log.close();
  const other = await sqliteWith(10);
  await other.log.close();
  await assert.rejects(migrateStore({ from: other.file, to: url }), (e: Error & { code?: string }) => e.code === 'CONFLICT' && /not the source's/.test(e.message));
});

test('store migrate refuses a target a controller leads', opts, async () => {
  const { file, log } = await sqliteWith(5);
  await log.close();
  const url = await freshDatabase();
  const pgLog = await PostgresEventLog.open(url);
  const lease = new Leadership({ log: pgLog, address: 'http://127.0.0.1:7070', clock: systemClock, ttlMs: 30_000 });
  assert.ok(await lease.tryAcquire());
  await assert.rejects(migrateStore({ from: file, to: url }), (e: Error & { code?: string }) => e.code === 'CONFLICT' && /leads on the target/.test(e.message));
  await lease.release();
  assert.equal((await migrateStore({ from: file, to: url })).copied, 5);
  await pgLog.close();
});

test('store check: a sound SQLite log and a sound PostgreSQL log pass; a file that is not SQLite fails with what is wrong', opts, async () => {
  const { file, log } = await sqliteWith(50);
  await log.close();
  const s = await checkStore({ kind: 'sqlite', file });
  assert.equal(s.ok, true, JSON.stringify(s.items));
  assert.deepEqual(s.items.map((i) => i.name), ['integrity', 'schema', 'ordering', 'chain']);
  const url = await freshDatabase();
  await migrateStore({ from: file, to: url });
  const p = await checkStore({ kind: 'postgres', url });
  assert.equal(p.ok, true, JSON.stringify(p.items));
  assert.match(p.items.find((i) => i.name === 'schema')!.detail, /schema version \d+ \(latest\)/);
  const junk = join(mkdtempSync(join(tmpdir(), 'gl-junk-')), 'events.db');
  writeFileSync(junk, 'this is not a database, just a file that took its place'.repeat(100));
  const j = await checkStore({ kind: 'sqlite', file: junk });
  assert.equal(j.ok, false);
  assert.match(j.items[0]!.detail, /not a database|cannot be read/);
});
