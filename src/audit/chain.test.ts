// The hash chain against schema versions: it covers the rows as stored (data as written and the
// version `v` it was written at), so an upcaster added by a later Greenlight leaves old logs
// verifying, a `v` changed in place is found, and `store migrate` keeps both.
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { definitionOf } from '../events/catalogue/index.ts';
import type { EventDefinition } from '../events/catalogue/define.ts';
import { note } from '../events/testing.ts';
import { SqliteEventLog } from '../store/sqlite/sqlite-event-log.ts';
import { PostgresEventLog } from '../store/postgres/postgres-event-log.ts';
import { freshDatabase, postgresMissing } from '../store/postgres/testing.ts';
import { migrateStore } from '../store/migrate.ts';
import { chainHash, GENESIS_HASH, verifyChain } from './chain.ts';

/**
 * What a later Greenlight does to incident.note.added: version 2, data from version 1 upcast by
 * adding a field. Undone afterwards (the definition is the catalogue's own object).
 */
function withVersion2<T>(fn: () => Promise<T>): Promise<T> {
  const def = definitionOf('incident.note.added') as { -readonly [K in keyof EventDefinition]: EventDefinition[K] };
  const saved = { version: def.version, upcasters: def.upcasters };
  def.version = 2;
  def.upcasters = [{ from: 1, up: (d: Record<string, unknown>) => ({ ...d, format: 'plain' }) }];
  return fn().finally(() => Object.assign(def, saved));
}

const file = () => join(mkdtempSync(join(tmpdir(), 'gl-chain-')), 'events.db');

test('v is hashed when it is not 1, and version-1 rows hash as they did before v was covered', () => {
  const row = { seq: 1, id: 'a', type: 'incident.note.added', v: 1, time: 1, actor: 'x', subject: 's', data: { text: 't' } };
  assert.notEqual(chainHash(GENESIS_HASH, row), chainHash(GENESIS_HASH, { ...row, v: 2 }));
  assert.notEqual(chainHash(GENESIS_HASH, { ...row, v: 2 }), chainHash(GENESIS_HASH, { ...row, v: 3 }));
  // the formula of logs chained before: {seq,id,type,time,actor,subject,data}, keys sorted
  const before = '{"actor":"x","data":{"text":"t"},"id":"a","seq":1,"subject":"s","time":1,"type":"incident.note.added"}';
  assert.equal(chainHash(GENESIS_HASH, row), createHash('sha256').update(GENESIS_HASH).update('\n').update(before).digest('hex'));
});

test('an upcaster added later: readers get the upcast data, the verifier hashes the rows as stored and the chain holds', async () => {
  const path = file();
  const log = new SqliteEventLog(path);
  await log.appendAll([note('written at v1'), note('also v1')]);
  await withVersion2(async () => {
    const read = await log.query();
    assert.equal((read[0]!.data as { format?: string }).format, 'plain', 'readers see version 2');
    const rows = await log.queryRows();
    assert.deepEqual([rows[0]!.v, (rows[0]!.data as { format?: string }).format], [1, undefined], 'the row is as written');
    assert.equal((await verifyChain(log)).ok, true, 'the chain is over what was written');
    await log.append(note('written at v2'));
    assert.equal((await log.queryRows())[2]!.v, 2);
    assert.equal((await verifyChain(log)).ok, true);
  });
  await log.close();

  // someone flips a row's v (readers would upcast it again, or not): found and named
  const db = new DatabaseSync(path);
  db.exec('DROP TRIGGER IF EXISTS events_append_only_update');
  db.exec('UPDATE events SET v = 1 WHERE seq = 3');
  db.close();
  const again = new SqliteEventLog(path, undefined, { readOnly: true });
  const r = await verifyChain(again);
  assert.equal(r.ok, false);
  assert.equal(r.problem?.seq, 3);
  assert.match(r.problem!.detail, /event seq 3 \(incident\.note\.added, id .*\) was changed/);
  await again.close();
});

const pgSkip = postgresMissing();
test('store migrate copies v: a migrated log with rows of several versions still verifies and reads the same', pgSkip ? { skip: pgSkip } : {}, async () => {
  const path = file();
  const log = new SqliteEventLog(path);
  await log.append(note('v1 row'));
  await withVersion2(async () => {
    await log.append(note('v2 row', {}));
    await log.close();
    const url = await freshDatabase();
    const r = await migrateStore({ from: path, to: url });
    assert.equal(r.chain.ok, true, r.chain.problem);
    const target = await PostgresEventLog.open(url);
    try {
      assert.deepEqual((await target.queryRows()).map((e) => e.v), [1, 2]);
      assert.equal((await verifyChain(target)).ok, true);
      const source = new SqliteEventLog(path, undefined, { readOnly: true });
      assert.deepEqual((await target.query()).map((e) => e.data), (await source.query()).map((e) => e.data), 'readers see the same data on both');
      await source.close();
    } finally {
      await target.close();
    }
  });
});
