// The runner never passes an environment it did not change: a hosts: selector that picks no host
// there (the config check refuses one, but the runner holds whatever reaches it) fails that
// environment, so the next environment's gate stays shut. No host is contacted, so no fleet is needed:
// the targets are real ssh targets that are never connected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../clock/clock.ts';
import { MemoryEventLog } from '../events/memory-log.ts';
import { SshTarget } from '../targets/ssh/ssh-target.ts';
import { runChange, type ChangeEnvironment } from './runner.ts';
import { changeSchema } from './schema.ts';

test('a change whose selector picks no host of an environment fails there, passes nothing and changes nothing after it', async () => {
  const events = new MemoryEventLog();
  const stateDir = mkdtempSync(join(tmpdir(), 'gl-change-'));
  const env = (name: string, index: number, hosts: { name: string; port: number; labels: Record<string, string> }[]): ChangeEnvironment => {
    // port 1 on loopback: were a host ever contacted, it would fail, never change anything
    const target = new SshTarget({ hosts: hosts.map((h) => ({ ...h, address: '127.0.0.1' })), auth: { agent: false, key_file: '/nonexistent' }, known_hosts: '/nonexistent' }, { stateDir: join(stateDir, name), events, clock: systemClock });
    return { name, index, fleet: target.fleet(), drain: async () => {}, restore: async () => {}, healthy: async () => ({ ok: true, problems: [] }) };
  };
  const incidents: string[] = [];
  const r = await runChange(
    { name: 'upgrade', actor: 'test', spec: changeSchema.parse({ apply: 'true', verify: { command: 'true' }, undo: 'true', hosts: { role: 'web' } }) },
    {
      events,
      clock: systemClock,
      environments: [env('staging', 0, [{ name: 'staging-1', port: 1, labels: { env: 'staging' } }]), env('production', 1, [{ name: 'web-1', port: 2, labels: { role: 'web' } }])],
      openIncident: async (i) => (incidents.push(i.title), { id: 'inc-1' }),
    },
  );
  assert.equal(r.state, 'failed');
  assert.equal(r.message, 'change upgrade stopped in staging: no host of staging has the labels role=web (changes.upgrade.hosts): nothing would be changed there, so the change cannot pass it');
  assert.deepEqual(r.environments.map((e) => `${e.name} ${e.state}`), ['staging failed', 'production not-reached']);
  const types = (await events.query()).map((e) => e.type);
  assert.deepEqual(types, ['change.requested', 'change.stopped']);
  assert.deepEqual(incidents, [], 'nothing was changed: nothing to investigate');
});
