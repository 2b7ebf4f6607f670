// `greenlight change` as a user runs it, without a fleet: what it says before and after the controller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blockedChangeHint } from './fleet.ts';

const bin = fileURLToPath(new URL('../../../bin/greenlight.js', import.meta.url));

test('greenlight change --env with an environment that does not exist names it (exit 2), without asking the controller', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-change-'));
  const config = join(dir, 'greenlight.yaml');
  // port 9 (discard): nothing answers there, so asking the controller would be exit 3
  writeFileSync(config, 'version: 1\nstate_dir: state\ncontroller: { listen: "127.0.0.1:9" }\nservices:\n  web: { command: "true" }\nenvironments:\n  - { name: staging, router: { listen: "127.0.0.1:10" } }\n  - { name: production, router: { listen: "127.0.0.1:11" } }\n');
  const r = spawnSync(process.execPath, ['--no-warnings', bin, 'change', 'upgrade', '--env', 'staging', 'prod', '--config', config], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } });
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /no environment "prod"/);
  assert.match(r.stderr, /hint: environments: staging, production/);
});

test('a change refused by the gate says to pass the environment before first, or break glass', () => {
  const hint = blockedChangeHint({ change: 'upgrade-acme-auth', environments: [{ name: 'production', state: 'blocked', hosts: [] }] }, ['staging', 'production']);
  assert.equal(hint, 'production takes a change only after it passed staging: run greenlight change upgrade-acme-auth --env staging production, or skip the gate with --force --reason "..." (recorded)');
  assert.equal(blockedChangeHint({ change: 'x', environments: [{ name: 'staging', state: 'passed', hosts: [] }] }, ['staging']), undefined);
});
