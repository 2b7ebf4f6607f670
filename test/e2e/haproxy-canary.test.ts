// The canary through a real HAProxy (Debian's package) instead of the built-in router: the same
// CLI, controller and instance processes, production's traffic split by HAProxy's runtime API
// and stickiness by a consistent hash of the client id (HAProxy's `cookie` persistence would keep
// every returning client on stable: the canary would only ever get new clients, see README). A
// release failing every request is rolled back by the analysis on HAProxy's counts; a healthy one
// is promoted, no client going back and forth, and every returning client is then on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { systemClock } from '../../src/clock/clock.ts';
import { startClientLoad } from '../../src/load/clients.ts';
import { haproxyMissing, startHaproxy } from '../../src/traffic/haproxy/testing.ts';
import { RuntimeApi } from '../../src/traffic/haproxy/runtime-api.ts';
import { assertCanaryRolledBack, workspace } from './workspace.ts';

// 1,000 returning clients, not a few hundred: at the first step (1%) the canary's share of HAProxy's
// hash ring is ~1% of the clients, and with 300 of them no client lands on it in about 1 run in 20
// (0.99^300), which starves the step instead of testing the analysis.
const CLIENTS = 1000;

const lines = (out: string) => out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { data: Record<string, any> });

test('through HAProxy: a failing canary is rolled back on HAProxy\'s counts, a healthy one promoted with returning clients moved', { timeout: 300_000, skip: haproxyMissing() }, async (t) => {
  // synthetic checks off: the failing release must meet user traffic for the canary to be tested
  const ws = await workspace({ syntheticChecks: false });
  t.after(() => ws.close());
  // HAProxy takes production's public port; Greenlight drives it through its stats socket
  const haproxy = await startHaproxy({ stickiness: { kind: 'hash' }, port: ws.ports.production });
  t.after(() => haproxy.stop());
  const c = haproxy.config;
  const before = readFileSync(ws.config, 'utf8');
  const yaml = before
    .replace(`    router: { listen: 127.0.0.1:${ws.ports.production} }\n`, `    traffic: { kind: haproxy, socket: ${c.socket}, backend: ${c.backend}, map: ${c.map}, url: "${c.url}" }\n`)
    .replace('latency: { minEffectMs: 25 }', 'latency: { minEffectMs: 500 }');
  assert.notEqual(yaml, before);
  assert.match(yaml, /traffic: \{ kind: haproxy/);
  writeFileSync(ws.config, yaml);
  const up = await ws.cli(['up', '--detach']);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  for (const v of ['1.0.0', '2.0.0']) assert.equal((await ws.cli(['release', 'web', v, '--artifact', `web/v${v[0]}`])).code, 0);
  const first = await ws.cli(['deploy', 'web@1.0.0']);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  const prod = `${haproxy.url}/`;
  assert.equal((await fetch(prod)).headers.get('x-greenlight-version'), '1.0.0', 'HAProxy serves 1.0.0');

  // 1. web@2.0.0 forced into production while acme-auth is 2.4.1: every request it answers fails.
  let load = startClientLoad({ url: prod, rate: 200, durationMs: 90_000, clients: CLIENTS }, systemClock);
  const forced = await ws.cli(['deploy', 'web@2.0.0', '--env', 'production', '--force', '--reason', 'e2e: as on 3 June, through HAProxy']);
  await new Promise((r) => setTimeout(r, 500));
  let counts = await load.stop();
  assertCanaryRolledBack(forced, counts, { via: 'through HAProxy', canary: 'the forced canary' });
  assert.ok(counts.failed / counts.sent < 0.05, `${counts.failed} of ${counts.sent} requests failed`);
  const rolled = lines((await ws.cli(['events', '--type', 'deployment.environment.rolled_back', '--json'])).stdout);
  assert.equal(rolled.length, 1);
  // after the rollback HAProxy sends everyone to 1.0.0 again
  assert.equal((await fetch(prod)).headers.get('x-greenlight-version'), '1.0.0');

  // 2. acme-auth upgraded: the same release is healthy, promoted, and every returning client ends on it.
  await ws.setAuthVersion('staging', '3.1.0');
  await ws.setAuthVersion('production', '3.1.0');
  load = startClientLoad({ url: prod, rate: 200, durationMs: 120_000, clients: CLIENTS }, systemClock);
  const healthy = await ws.cli(['deploy', 'web@2.0.0']);
  // once promoted, any returning client (whatever its gl_cid) is answered by 2.0.0
  for (let i = 0; i < 50; i++) {
    const r = await fetch(prod, { headers: { cookie: `gl_cid=returning-${i}` } });
    await r.arrayBuffer();
    assert.equal(r.headers.get('x-greenlight-version'), '2.0.0', `returning client ${i} after the promotion`);
  }
  counts = await load.stop();
  assert.equal(healthy.code, 0, healthy.stdout + healthy.stderr);
  assert.match(healthy.stdout, /promoted through every environment/);
  assert.equal(counts.failed, 0, `failed: ${counts.failed} of ${counts.sent}`);
  assert.ok((counts.byVersion.get('2.0.0')?.requests ?? 0) > 0);
  for (let i = 0; i < CLIENTS; i++) {
    const h = load.versionsOf(i);
    assert.ok(h.length <= 2 && (h.length < 2 || (h[0] === '1.0.0' && h[1] === '2.0.0')), `client ${i}: ${h.join(' -> ')}`);
  }
  // HAProxy holds the final table: 2.0.0 alone, in its map
  const map = await new RuntimeApi({ socket: c.socket }).map(c.map);
  assert.equal(map.get('@weight:2.0.0'), '100/0');
  assert.equal(map.has('@weight:1.0.0'), false);
});
