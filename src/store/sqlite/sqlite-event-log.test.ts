import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { eventLogContract } from '../../events/log.contract.ts';
import { SqliteEventLog } from './sqlite-event-log.ts';

eventLogContract('SqliteEventLog', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'gl-events-')), 'events.db');
  return { log: new SqliteEventLog(path), reopen: async () => new SqliteEventLog(path), spec: { kind: 'sqlite', file: path } };
});

test('SqliteEventLog refuses updates and deletes: the log is append-only', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'gl-events-')), 'events.db');
  const log = new SqliteEventLog(path);
  await log.append({ type: 't', actor: 'a', subject: 's' });
  await log.close();
  const db = new DatabaseSync(path);
  assert.throws(() => db.exec("UPDATE events SET type = 'x'"), /append-only/);
  assert.throws(() => db.exec('DELETE FROM events'), /append-only/);
  db.close();
});

test('SqliteEventLog: a LIKE wildcard in a filter is taken literally', async () => {
  const log = new SqliteEventLog(':memory:');
  await log.append({ type: 'a_b', actor: 'a', subject: 's' });
  await log.append({ type: 'axb', actor: 'a', subject: 's' });
  assert.equal((await log.query({ types: ['a_*'] })).length, 1);
  await log.close();
});
