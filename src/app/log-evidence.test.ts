import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyState } from '../state/projection.ts';
import { liveEvidence, refuseEmptyLogFile, refuseShortLog } from './log-evidence.ts';

test('a log shorter than what live routers and instances serve is refused; dead ones are no evidence', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-evidence-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'routers'));
  mkdirSync(join(dir, 'targets/production/instances'), { recursive: true });
  const table = join(dir, 'routers/production--web.table.json');
  writeFileSync(table, JSON.stringify({ format: 1, table: { revision: 3, versions: [{ version: '1.0.0', weight: 100, upstreams: [] }, { version: '0.9.0', weight: 0, upstreams: [] }] } }));
  // this test process stands in for a running router
  writeFileSync(join(dir, 'routers/production--web.json'), JSON.stringify({ environment: 'production', service: 'web', pid: process.pid, stateFile: table }));
  writeFileSync(join(dir, 'targets/production/instances/i-dead.json'), JSON.stringify({ id: 'i-dead', pid: 2 ** 22 + 12345, spec: { service: 'web', version: '0.8.0' } }));
  const ev = liveEvidence(dir);
  assert.deepEqual(ev.map((e) => `${e.service}@${e.version}`), ['web@1.0.0']);
  const state = emptyState();
  assert.throws(() => refuseShortLog(state, 'SQLite x', dir), (e: Error & { code?: string; hint?: string }) => {
    assert.equal(e.code, 'LOG_DAMAGED');
    assert.match(e.message, /holds 0 events and no release web@1\.0\.0: it is shorter than what runs/);
    assert.match(e.hint!, /restore the event log from a backup/);
    return true;
  });
  state.releases.set('web@1.0.0', { service: 'web', version: '1.0.0', digest: 'sha256:x', artifactDir: '', source: '', requires: {}, registeredAt: 0, registeredBy: 't' });
  assert.doesNotThrow(() => refuseShortLog(state, 'SQLite x', dir));
  assert.throws(() => refuseEmptyLogFile(join(dir, 'events.db'), dir), /does not exist, but/);
  writeFileSync(join(dir, 'events.db'), '');
  assert.throws(() => refuseEmptyLogFile(join(dir, 'events.db'), dir), /is empty \(0 bytes\), but/);
  const fresh = mkdtempSync(join(tmpdir(), 'gl-evidence-fresh-'));
  t.after(() => rmSync(fresh, { recursive: true, force: true }));
  assert.doesNotThrow(() => refuseEmptyLogFile(join(fresh, 'events.db'), fresh), 'a first start has nothing running');
});
