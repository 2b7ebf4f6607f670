// Start-up on a damaged event log: what is wrong and what to do, no stack trace; an empty log on a
// machine whose routers and instances still serve is refused and left as it is, never overwritten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { workspace } from './workspace.ts';

test('an emptied or corrupted events.db is refused at start with guidance; restored, everything is back', { timeout: 240_000 }, async (t) => {
  const ws = await workspace();
  t.after(() => ws.close());
  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  assert.equal((await ws.cli(['release', 'web', '1.0.0', '--artifact', 'web/v1'])).code, 0);
  assert.equal((await ws.cli(['deploy', 'web@1.0.0'])).code, 0);
  // issue 9's first fault: an artifact holding the state dir is refused, and the log stays whole
  const dot = await ws.cli(['release', 'web', '3.0.0', '--artifact', '.']);
  assert.equal(dot.code, 2);
  assert.match(dot.stderr, /contains Greenlight's state directory[\s\S]*hint: point --artifact at the directory holding the built service/);
  const seqs = (await ws.cli(['events', '--json'])).stdout.trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq);
  assert.equal(seqs.length, seqs.at(-1), 'count(events) == max(seq)');
  assert.equal((await ws.cli(['down'])).code, 0, 'controller only: routers and instances keep serving');
  const db = join(ws.dir, '.greenlight/events.db');
  const backup = join(ws.dir, 'events.db.backup');
  copyFileSync(db, backup);
  rmSync(`${db}-wal`, { force: true });
  rmSync(`${db}-shm`, { force: true });

  truncateSync(db, 0);
  const empty = await ws.cli(['up', '--detach']);
  assert.notEqual(empty.code, 0);
  assert.match(empty.stderr, /the event log .*events\.db is empty \(0 bytes\), but/);
  assert.match(empty.stderr, /the router of production\/web \(pid \d+\) serves web@1\.0\.0/);
  assert.match(empty.stderr, /instance .* of web@1\.0\.0 runs in production/);
  assert.match(empty.stderr, /hint: restore the event log from a backup/);
  assert.doesNotMatch(empty.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  assert.equal(statSync(db).size, 0, 'the empty log was not written to');
  const fg = await ws.cli(['up']);
  assert.notEqual(fg.code, 0);
  assert.match(fg.stderr, /is empty \(0 bytes\)/);
  assert.doesNotMatch(fg.stderr, /\n\s+at .+:\d+:\d+/);

  writeFileSync(db, Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4080, 0x41)]));
  const corrupt = await ws.cli(['up', '--detach']);
  assert.notEqual(corrupt.code, 0);
  assert.match(corrupt.stderr, /the event log .*events\.db (is not a readable Greenlight event log|cannot be opened|is corrupted)/);
  assert.match(corrupt.stderr, /restore .*from a backup/);
  assert.doesNotMatch(corrupt.stderr, /\n\s+at .+:\d+:\d+/);
  const events = await ws.cli(['events']);
  assert.notEqual(events.code, 0);
  assert.doesNotMatch(events.stderr, /\n\s+at .+:\d+:\d+/);

  copyFileSync(backup, db);
  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  const status = JSON.parse((await ws.cli(['status', '--json'])).stdout);
  assert.equal(status.environments.find((e: { name: string }) => e.name === 'production').services[0].stable.version, '1.0.0');
  assert.match(readFileSync(join(ws.dir, '.greenlight/controller.log'), 'utf8'), /is empty \(0 bytes\)/);
});
