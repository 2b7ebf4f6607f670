import { test } from 'node:test';
import { note } from '../../events/testing.ts';
import assert from 'node:assert/strict';
import pg from 'pg';
import { eventLogContract } from '../../events/log.contract.ts';
import { PostgresEventLog } from './postgres-event-log.ts';
import { migrations } from './migrations.ts';
import { freshDatabase, postgresMissing } from './testing.ts';

const skip = postgresMissing();

eventLogContract('PostgresEventLog', async () => {
  const url = await freshDatabase();
  return { log: await PostgresEventLog.open(url), reopen: () => PostgresEventLog.open(url), spec: { kind: 'postgres', url } };
}, skip ? { skip } : {});

test('PostgresEventLog refuses updates, deletes and truncation: the log is append-only', skip ? { skip } : {}, async () => {
  const url = await freshDatabase();
  const log = await PostgresEventLog.open(url);
  await log.append(note('t', { actor: 'a', subject: 's' }));
  await log.close();
  const c = new pg.Client(url);
  await c.connect();
  await assert.rejects(c.query("UPDATE greenlight_events SET type = 'x'"), /append-only/);
  await assert.rejects(c.query('DELETE FROM greenlight_events'), /append-only/);
  await assert.rejects(c.query('TRUNCATE greenlight_events'), /append-only/);
  await c.end();
});

test('PostgresEventLog: migrations are versioned, run once, and two controllers starting at once agree', skip ? { skip } : {}, async () => {
  const url = await freshDatabase();
  const [a, b] = await Promise.all([PostgresEventLog.open(url), PostgresEventLog.open(url)]);
  const c = new pg.Client(url);
  await c.connect();
  const rows = (await c.query('SELECT version FROM greenlight_schema ORDER BY version')).rows.map((r) => r.version);
  assert.deepEqual(rows, migrations.map((m) => m.version));
  // a schema newer than this code knows is refused, nothing written
  await c.query(`INSERT INTO greenlight_schema (version, name) VALUES (999, 'from the future')`);
  await assert.rejects(PostgresEventLog.open(url), (err: Error & { code?: string }) => err.code === 'STORE_UNAVAILABLE' && /schema version 999/.test(err.message));
  await c.end();
  await a.close();
  await b.close();
});

test('PostgresEventLog: an unreachable server is a clear, retryable STORE_UNAVAILABLE', skip ? { skip } : {}, async () => {
  await assert.rejects(PostgresEventLog.open('postgres://nobody:secret@127.0.0.1:1/x'), (err: Error & { code?: string; retryable?: boolean }) => {
    assert.equal(err.code, 'STORE_UNAVAILABLE');
    assert.ok(err.retryable);
    assert.ok(!err.message.includes('secret'), 'the password is not in the message');
    return true;
  });
});
