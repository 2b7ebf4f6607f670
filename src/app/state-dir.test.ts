import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secureStateDir } from './state-dir.ts';

test('a state dir left readable by every local user is reported and tightened at start: dir 0700, files 0600', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'gl-state-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, '.greenlight');
  const old = process.umask(0o022);
  try {
    mkdirSync(join(dir, 'routers'), { recursive: true, mode: 0o755 });
    mkdirSync(join(dir, 'targets/production/logs/web'), { recursive: true, mode: 0o755 });
    for (const f of ['events.db', 'controller.log', 'routers/production--web.json', 'targets/production/logs/web/i-1.log']) writeFileSync(join(dir, f), 'x', { mode: 0o644 });
    chmodSync(dir, 0o755);
  } finally {
    process.umask(old);
  }
  const warnings = secureStateDir(dir);
  assert.ok(warnings.length >= 5, warnings.join('\n'));
  assert.ok(warnings.some((w) => /events\.db was mode 0644, readable by other local users; tightened to 0600/.test(w)), warnings.join('\n'));
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  for (const f of ['events.db', 'controller.log', 'routers/production--web.json', 'targets/production/logs/web/i-1.log']) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
  assert.deepEqual(secureStateDir(dir), [], 'nothing to say the second time');
  // files that are not Greenlight's are left alone (state_dir may be shared)
  writeFileSync(join(dir, 'README.txt'), 'x', { mode: 0o644 });
  chmodSync(join(dir, 'README.txt'), 0o644);
  assert.deepEqual(secureStateDir(dir), []);
  assert.equal(statSync(join(dir, 'README.txt')).mode & 0o777, 0o644);
  const fresh = join(root, 'fresh');
  assert.deepEqual(secureStateDir(fresh), []);
  assert.equal(statSync(fresh).mode & 0o777, 0o700);
});
