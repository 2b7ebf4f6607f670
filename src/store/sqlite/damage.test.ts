// The store notices when its files are no longer the ones it opened, and refuses damaged logs at
// open with what is wrong and what to do; readers open the log read-only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync, existsSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventLog } from './sqlite-event-log.ts';

const dirOf = (t: { after(fn: () => void): void }) => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-damage-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

/** Another process opens the database read-write and closes it, as `greenlight events` used to. */
function otherProcessOpensAndCloses(path: string): void {
  execFileSync(process.execPath, ['--no-warnings', '-e', `const { DatabaseSync } = require('node:sqlite'); const db = new DatabaseSync(${JSON.stringify(path)}); db.prepare('SELECT COUNT(*) FROM events').get(); db.close();`]);
}

test('the issue-9 fault: the process reads its own database files, another connection closes and deletes the WAL; the store refuses to append into the unlinked file', async (t) => {
  const path = join(dirOf(t), 'events.db');
  const log = new SqliteEventLog(path);
  t.after(() => log.close());
  for (let i = 0; i < 20; i++) await log.append({ type: 'note', actor: 't', subject: 's' });
  // what digesting an artifact holding the state dir did: open and close every file in-process,
  // which drops this process's POSIX locks on the database
  for (const f of [path, `${path}-wal`, `${path}-shm`]) readFileSync(f);
  otherProcessOpensAndCloses(path);
  assert.equal(existsSync(`${path}-wal`), false, 'the other connection, believing it was the last, deleted the WAL');
  await assert.rejects(log.append({ type: 'note', actor: 't', subject: 's' }), (e: Error & { code?: string; hint?: string }) => {
    assert.equal(e.code, 'LOG_DAMAGED');
    assert.match(e.message, /write-ahead log/);
    assert.match(e.hint!, /restore .* from a backup/);
    return true;
  });
  // and it stays refused: nothing is appended to a log that lost its files
  await assert.rejects(log.append({ type: 'note', actor: 't', subject: 's' }), /LOG_DAMAGED|write-ahead/);
  assert.ok(log.damaged);
});

test('a database file replaced or deleted under the open store is noticed before the next append', async (t) => {
  const dir = dirOf(t);
  const path = join(dir, 'events.db');
  const log = new SqliteEventLog(path);
  t.after(() => log.close());
  await log.append({ type: 'note', actor: 't', subject: 's' });
  copyFileSync(path, join(dir, 'copy.db'));
  renameSync(join(dir, 'copy.db'), path);
  await assert.rejects(log.append({ type: 'note', actor: 't', subject: 's' }), /was replaced by another file/);

  const path2 = join(dir, 'two.db');
  const log2 = new SqliteEventLog(path2);
  t.after(() => log2.close());
  await log2.append({ type: 'note', actor: 't', subject: 's' });
  rmSync(path2);
  await assert.rejects(log2.append({ type: 'note', actor: 't', subject: 's' }), /was deleted/);
});

test('readers open the log read-only: a reader closing never checkpoints or deletes the WAL, and cannot append', async (t) => {
  const path = join(dirOf(t), 'events.db');
  const log = new SqliteEventLog(path);
  t.after(() => log.close());
  await log.append({ type: 'note', actor: 't', subject: 's' });
  const reader = new SqliteEventLog(path, undefined, { readOnly: true });
  assert.equal((await reader.query()).length, 1);
  await assert.rejects(reader.append({ type: 'note', actor: 't', subject: 's' }), /read-only/);
  await reader.close();
  assert.ok(existsSync(`${path}-wal`));
  await log.append({ type: 'note', actor: 't', subject: 's' });
  assert.equal(await log.lastSeq(), 2);
  assert.throws(() => new SqliteEventLog(join(path, '..', 'missing.db'), undefined, { readOnly: true }), /no event log at/);
});

test('a corrupted or truncated log is refused at open with what is wrong and what to do, and left as it was', async (t) => {
  const dir = dirOf(t);
  const path = join(dir, 'events.db');
  const log = new SqliteEventLog(path);
  for (let i = 0; i < 300; i++) await log.append({ type: 'note', actor: 't', subject: 's', data: { text: 'x'.repeat(200) } });
  await log.close();
  const size = statSync(path).size;
  truncateSync(path, Math.floor(size / 2));
  assert.throws(() => new SqliteEventLog(path), (e: Error & { code?: string; hint?: string }) => {
    assert.equal(e.code, 'LOG_DAMAGED');
    assert.match(e.message, /the event log .*events\.db (is corrupted|is not a readable)/);
    assert.match(e.hint!, /never overwritten/);
    assert.doesNotMatch(e.message, /\n\s+at /, 'no stack trace');
    return true;
  });
  assert.equal(statSync(path).size, Math.floor(size / 2), 'the damaged file was not rewritten');
  writeFileSync(path, 'this is not a database, just some text that is long enough to look like a header......');
  assert.throws(() => new SqliteEventLog(path), /LOG_DAMAGED|not a readable|cannot be opened|corrupted/);
});

test('the log and its WAL are created 0600 in a 0700 directory, whatever the umask', async (t) => {
  const dir = dirOf(t);
  const old = process.umask(0o022);
  try {
    const path = join(dir, 'state', 'events.db');
    const log = new SqliteEventLog(path);
    await log.append({ type: 'note', actor: 't', subject: 's' });
    for (const f of [path, `${path}-wal`, `${path}-shm`]) assert.equal(statSync(f).mode & 0o777, 0o600, f);
    assert.equal(statSync(join(dir, 'state')).mode & 0o777, 0o700);
    await log.close();
  } finally {
    process.umask(old);
  }
});
