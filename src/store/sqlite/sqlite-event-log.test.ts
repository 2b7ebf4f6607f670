import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { eventLogContract } from '../../events/log.contract.ts';
import { event, ofType } from '../../events/catalogue/index.ts';
import { SqliteEventLog } from './sqlite-event-log.ts';

eventLogContract('SqliteEventLog', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'gl-events-')), 'events.db');
  return { log: new SqliteEventLog(path), reopen: async () => new SqliteEventLog(path), spec: { kind: 'sqlite', file: path } };
});

test('SqliteEventLog refuses updates and deletes: the log is append-only', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'gl-events-')), 'events.db');
  const log = new SqliteEventLog(path);
  await log.append(event('incident.note.added', { actor: 'a', subject: 'incident/i1', data: { incidentId: 'i1', text: 't' } }));
  await log.close();
  const db = new DatabaseSync(path);
  assert.throws(() => db.exec("UPDATE events SET type = 'x'"), /append-only/);
  assert.throws(() => db.exec('DELETE FROM events'), /append-only/);
  db.close();
});

test('SqliteEventLog: a LIKE wildcard in a filter is taken literally', async () => {
  const log = new SqliteEventLog(':memory:');
  const note = (subject: string) => event('incident.note.added', { actor: 'a', subject, data: { incidentId: 'i1', text: 't' } });
  await log.append(note('a_b/1'));
  await log.append(note('axb/1'));
  assert.equal((await log.query({ subject: 'a_b*' })).length, 1);
  assert.equal((await log.query({ types: ['incident.note_*'] })).length, 0);
  await log.close();
});

test('SqliteEventLog opens a log written before event versions: its events read as version 1 of their types', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'gl-events-')), 'events.db');
  const db = new DatabaseSync(path);
  // the table as Greenlight 0.1 created it, without the v column
  db.exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, time INTEGER NOT NULL,
    actor TEXT NOT NULL, subject TEXT NOT NULL, data TEXT NOT NULL)`);
  db.prepare('INSERT INTO events (id, type, time, actor, subject, data) VALUES (?, ?, ?, ?, ?, ?)').run('e1', 'incident.note.added', 5, 'user:a', 'incident/i1', JSON.stringify({ incidentId: 'i1', text: 'old' }));
  db.close();
  const log = new SqliteEventLog(path);
  await log.append(event('incident.note.added', { actor: 'user:a', subject: 'incident/i1', data: { incidentId: 'i1', text: 'new' } }));
  assert.deepEqual((await log.query()).filter(ofType('incident.note.added')).map((e) => e.data), [{ incidentId: 'i1', text: 'old' }, { incidentId: 'i1', text: 'new' }]);
  await log.close();
  const raw = new DatabaseSync(path);
  assert.deepEqual(raw.prepare("SELECT v FROM events WHERE type = 'incident.note.added' ORDER BY seq").all().map((r) => Number(r.v)), [1, 1]);
  raw.close();
});
