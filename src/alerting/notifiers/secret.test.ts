// Config secrets: inline, from an environment variable, or from a file (a mounted secret).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../clock/clock.ts';
import { resolveSecret, secretRef } from './spec.ts';

test('secrets come inline, from { env } or from { file }; a missing one says which field and what to do, never the value', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-secret-'));
  const file = join(dir, 'token');
  writeFileSync(file, 's3cr3t-from-file\n', { mode: 0o600 });
  const deps = { clock: systemClock, env: { HOOK_TOKEN: 's3cr3t-from-env' } };
  assert.equal(resolveSecret(secretRef.parse('inline'), deps, 'f'), 'inline');
  assert.equal(resolveSecret(secretRef.parse({ env: 'HOOK_TOKEN' }), deps, 'f'), 's3cr3t-from-env');
  assert.equal(resolveSecret(secretRef.parse({ file }), deps, 'f'), 's3cr3t-from-file');
  assert.throws(() => resolveSecret({ file: join(dir, 'nope') }, deps, 'audit.head_webhook.headers.authorization'), /audit\.head_webhook\.headers\.authorization: cannot read the secret file .*nope \(ENOENT\)/);
  assert.throws(() => resolveSecret({ env: 'UNSET_VAR' }, deps, 'x'), /environment variable UNSET_VAR is not set/);
  assert.equal(secretRef.safeParse({ file: '' }).success, false);
  assert.equal(secretRef.safeParse({ env: 'A', file: 'b' }).success, false);
});
