import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../clock/clock.ts';
import { createRouter } from '../router/router.ts';
import { startUpstream } from '../router/testing.ts';
import { startClientLoad, validateLoad } from './clients.ts';

test('returning clients keep their cookies through the router, a share of them POST, and the load stops at its bound', async (t) => {
  const stable = await startUpstream('stable');
  const canary = await startUpstream('canary');
  const router = createRouter({ name: 'load' });
  const p = await router.listen('127.0.0.1:0');
  t.after(async () => {
    router.destroyConnections();
    await router.close();
    await stable.close();
    await canary.close();
  });
  await router.setTable({ revision: 1, versions: [{ version: 'stable', weight: 70, upstreams: [stable.url] }, { version: 'canary', weight: 30, upstreams: [canary.url] }] });
  const load = startClientLoad({ url: `http://127.0.0.1:${p.port}/`, rate: 400, durationMs: 1000, clients: 40, postShare: 0.2 }, systemClock);
  const c = await load.done;
  assert.ok(c.sent <= 401, `bounded: ${c.sent} sent`);
  assert.ok(c.sent > 0);
  assert.equal(c.failed, 0);
  // how many were sent depends on the machine's speed (each client waits for its answer): no count asserted
  assert.ok(c.posts <= c.sent);
  assert.ok(c.sent < 30 || c.posts > 0, `${c.posts} POSTs of ${c.sent}`);
  const s = router.stats();
  // each client got one id and kept it: the router saw at most 40 distinct clients
  assert.ok(s.versions.stable!.clients + s.versions.canary!.clients <= 40, `${s.versions.stable!.clients} + ${s.versions.canary!.clients} clients`);
  // and each stayed on one version
  for (let i = 0; i < 40; i++) assert.ok(load.versionsOf(i).length <= 1, `client ${i}: ${load.versionsOf(i).join(' -> ')}`);
  assert.ok((c.byVersion.get('canary')?.requests ?? 0) > 0);
});

test('an unbounded or malformed load is refused with what to do', () => {
  assert.throws(() => validateLoad({ url: 'ftp://x', rate: 0, durationMs: 7_200_000, clients: 0.5 }), (err: Error & { hint?: string }) => {
    assert.match(err.message, /http:\/\/ or https:\/\/; rate must be between 0 and 5000 requests\/s; duration must be between 1 ms and 1 h; clients must be a whole number/);
    assert.match(err.hint!, /greenlight load http/);
    return true;
  });
});
