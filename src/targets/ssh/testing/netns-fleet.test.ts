// The fleet harness itself: real sshd per namespace, reachable at its own address, and guarded
// (a cut or unknown address in the range fails locally, nothing routes out of a namespace).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { createTestFleet } from './netns-fleet.ts';

function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 2000 });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    s.once('timeout', () => {
      s.destroy();
      resolve('timeout');
    });
  });
}

test('test fleet: sshd per host at its own address, guarded range, link cut fails locally, teardown removes everything', async (t) => {
  const made = await createTestFleet([{ name: 'staging-1' }, { name: 'web-1' }, { name: 'web-2' }, { name: 'web-3' }]);
  if (!made.fleet) return t.skip(made.skip);
  const fleet = made.fleet;
  let closed = false;
  try {
    assert.equal(new Set(fleet.hosts.map((h) => h.address)).size, 4);
    for (const h of fleet.hosts) assert.equal(await tryConnect(h.address, 22), 'connected', `sshd answers on ${h.name}`);
    // an address of the range with no host behind it fails at once, locally
    assert.equal(await tryConnect(`${fleet.subnet}.250`, 22), 'EHOSTUNREACH');
    // inside a namespace: no default route, so an outside address is unreachable from there
    const routes = fleet.exec('web-1', ['ip', 'route', 'show']);
    assert.ok(!/^default/m.test(routes), `no default route in the namespace: ${routes}`);
    assert.throws(() => fleet.exec('web-1', ['ip', 'route', 'get', '192.0.2.2']), /unreachable/i);
    // hosts reach the controller's bridge address (for the router, HAProxy, dependency endpoints)
    assert.match(fleet.exec('web-1', ['ip', 'route', 'get', fleet.controllerAddress]), /dev eth0/);
    await fleet.cutLink('web-2');
    assert.equal(await tryConnect(fleet.host('web-2').address, 22), 'EHOSTUNREACH', 'a cut host fails locally');
    assert.equal(await tryConnect(fleet.host('web-3').address, 22), 'connected', 'the others are untouched');
    await fleet.restoreLink('web-2');
    assert.equal(await tryConnect(fleet.host('web-2').address, 22), 'connected');
    const netns = fleet.hosts.map((h) => h.netns);
    await fleet.close();
    closed = true;
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const ns of netns) assert.ok(!left.includes(ns), `${ns} removed`);
    assert.ok(!execFileSync('ip', ['route', 'show', 'table', 'all'], { encoding: 'utf8' }).includes(`${fleet.subnet}.`), 'routes removed');
  } finally {
    if (!closed) await fleet.close();
  }
});
