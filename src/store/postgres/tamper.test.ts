// Tampering with the PostgreSQL event log through a raw connection (triggers dropped): the chain
// computed by src/audit/chain.ts and stored by this store finds each change and names the event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { verifyChain } from '../../audit/chain.ts';
import { PostgresEventLog } from './postgres-event-log.ts';
import { freshDatabase, postgresMissing } from './testing.ts';

const skip = postgresMissing();

const cases: { name: string; sql: string; expect: { kind: string; seq: number; match: RegExp } }[] = [
  { name: 'change an event in place', sql: `UPDATE greenlight_events SET actor = 'user:nobody' WHERE seq = 4`, expect: { kind: 'changed', seq: 4, match: /event seq 4 .* was changed/ } },
  { name: 'delete an event', sql: 'DELETE FROM greenlight_events WHERE seq = 3', expect: { kind: 'removed', seq: 3, match: /event seq 3 was removed/ } },
  { name: 'swap two events', sql: 'UPDATE greenlight_events SET seq = -1 WHERE seq = 2; UPDATE greenlight_events SET seq = 2 WHERE seq = 3; UPDATE greenlight_events SET seq = 3 WHERE seq = -1', expect: { kind: 'reordered', seq: 2, match: /was recorded at seq 3/ } },
  { name: 'cut the tail off', sql: 'DELETE FROM greenlight_events WHERE seq > 5', expect: { kind: 'truncated', seq: 6, match: /ends at seq 5 but seq 8 was handed out/ } },
];

for (const c of cases) {
  test(`PostgresEventLog tampering: ${c.name} is found and named`, skip ? { skip } : {}, async () => {
    const url = await freshDatabase();
    const log = await PostgresEventLog.open(url);
    for (let i = 1; i <= 8; i++) await log.append({ type: 'deployment.gate.overridden', actor: `user:u${i}`, subject: `deployment/d${i}`, data: { i } });
    assert.equal((await verifyChain(log)).ok, true);
    const raw = new pg.Client(url);
    await raw.connect();
    await raw.query('DROP TRIGGER greenlight_events_append_only ON greenlight_events; DROP TRIGGER greenlight_events_fence ON greenlight_events');
    await raw.query(c.sql);
    await raw.end();
    const r = await verifyChain(log);
    await log.close();
    assert.equal(r.ok, false);
    assert.deepEqual([r.problem!.kind, r.problem!.seq], [c.expect.kind, c.expect.seq], r.problem!.detail);
    assert.match(r.problem!.detail, c.expect.match);
  });
}

test('PostgresEventLog: a log from before the chain gets an anchor, and verifies', skip ? { skip } : {}, async () => {
  const url = await freshDatabase();
  const first = await PostgresEventLog.open(url);
  await first.append({ type: 't', actor: 'a', subject: 's' });
  await first.close();
  const raw = new pg.Client(url);
  await raw.connect();
  // as written before the hash columns existed
  await raw.query('DROP TRIGGER greenlight_events_append_only ON greenlight_events');
  await raw.query('UPDATE greenlight_events SET hash = NULL, prev_hash = NULL');
  await raw.end();
  const log = await PostgresEventLog.open(url);
  const events = await log.query();
  assert.deepEqual(events.map((e) => e.type), ['t', 'audit.chain_started']);
  const v = await verifyChain(log);
  assert.deepEqual([v.ok, v.legacy], [true, 1]);
  await log.close();
});
