// HAProxy (Debian's package, started here with a throw-away config) passes the traffic-provider
// contract with either stickiness: its own cookie, or a consistent hash of the client id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GreenlightError } from '../../errors/errors.ts';
import { trafficProviderContract } from '../provider.contract.ts';
import { HaproxyProvider, slotWeights } from './provider.ts';
import { haproxyMissing, startHaproxy } from './testing.ts';
import { startUpstream } from '../../router/testing.ts';

const skip = haproxyMissing();

for (const stickiness of ['cookie', 'hash'] as const) {
  trafficProviderContract(`haproxy (${stickiness})`, async () => {
    const h = await startHaproxy({ stickiness: { kind: stickiness } });
    return { provider: new HaproxyProvider(h.config), close: () => h.stop() };
  }, skip ? { skip } : {});
}

// the runtime API over TCP, as on an edge host (test/e2e/haproxy-edge.test.ts runs it across a fleet)
trafficProviderContract('haproxy (hash, TCP runtime API)', async () => {
  const h = await startHaproxy({ stickiness: { kind: 'hash' }, tcpStats: true });
  return { provider: new HaproxyProvider(h.config), close: () => h.stop() };
}, skip ? { skip } : {});

test('slot weights: each version shared by its instances, scaled to HAProxy 0..256, never rounded to 0', () => {
  const w = slotWeights({ revision: 1, versions: [
    { version: 'a', weight: 99, upstreams: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] },
    { version: 'b', weight: 1, upstreams: ['http://127.0.0.1:3'] },
    { version: 'c', weight: 0, upstreams: ['http://127.0.0.1:4'] },
  ] });
  assert.deepEqual([...w], [['a', 256], ['b', 5], ['c', 0]]);
  assert.equal(slotWeights({ revision: 1, versions: [{ version: 'a', weight: 1000, upstreams: ['http://127.0.0.1:1'] }, { version: 'b', weight: 0.01, upstreams: ['http://127.0.0.1:3'] }] }).get('b'), 1);
});

test('haproxy: too few slots, a missing backend and a dead socket are clear errors', { skip }, async (t) => {
  const h = await startHaproxy({ slots: 2 });
  t.after(() => h.stop());
  const up = await startUpstream('x');
  t.after(() => up.close());
  const p = new HaproxyProvider(h.config);
  await assert.rejects(p.setTable({ revision: 1, versions: [{ version: '1.0.0', weight: 1, upstreams: [up.url, 'http://127.0.0.1:2', 'http://127.0.0.1:3'] }] }), (e: unknown) => e instanceof GreenlightError && e.code === 'CONFIG_INVALID' && /has 2 server slots; this table needs 3/.test(e.message) && /server-template/.test(e.hint ?? ''));
  assert.equal(await p.getTable(), null, 'nothing was applied');
  await assert.rejects(new HaproxyProvider({ ...h.config, backend: 'nope' }).getTable(), (e: unknown) => e instanceof GreenlightError && e.code === 'CONFIG_INVALID' && /no backend "nope"/.test(e.message));
  await assert.rejects(new HaproxyProvider({ ...h.config, socket: `${h.dir}/missing.sock` }).stats(), (e: unknown) => e instanceof GreenlightError && e.code === 'ROUTER_UNREACHABLE' && e.retryable);
});

test('haproxy: a second provider (a restarted controller) reads back the table HAProxy serves', { skip }, async (t) => {
  const h = await startHaproxy();
  t.after(() => h.stop());
  const a = await startUpstream('a');
  const b = await startUpstream('b');
  t.after(async () => { await a.close(); await b.close(); });
  const table = { revision: 7, versions: [{ version: '1.0.0', weight: 90, upstreams: [a.url] }, { version: '2.0.0', weight: 10, upstreams: [b.url] }] };
  await new HaproxyProvider(h.config).setTable(table);
  assert.deepEqual(await new HaproxyProvider(h.config).getTable(), table);
});

test('haproxy: a backend that is not sticky, or balances statically, is refused with what to change', { skip }, async (t) => {
  const rr = await startHaproxy({ backendSection: 'backend gl_web\n  mode http\n  balance roundrobin\n  http-response set-header x-greenlight-version %[srv_name,map({map})]\n  server-template gl 1-4 127.0.0.1:9 disabled\n' });
  t.after(() => rr.stop());
  await assert.rejects(new HaproxyProvider(rr.config).getTable(), (e: unknown) => e instanceof GreenlightError && e.code === 'CONFIG_INVALID' && /backend gl_web is not sticky \(mode http, balance roundrobin, no cookie\)/.test(e.message) && /hash-type consistent/.test(e.hint ?? ''));
  // map-based hashing is static: HAProxy itself refuses weights other than 0% and 100%
  const staticHash = await startHaproxy({ backendSection: 'backend gl_web\n  mode http\n  balance hash req.cook(gl_cid)\n  hash-type map-based\n  http-response set-header x-greenlight-version %[srv_name,map({map})]\n  server-template gl 1-4 127.0.0.1:9 disabled\n' });
  t.after(() => staticHash.stop());
  const up = await startUpstream('x');
  t.after(() => up.close());
  await assert.rejects(
    new HaproxyProvider(staticHash.config).setTable({ revision: 1, versions: [{ version: '1.0.0', weight: 90, upstreams: [up.url] }, { version: '2.0.0', weight: 10, upstreams: [up.url] }] }),
    (e: unknown) => e instanceof GreenlightError && e.code === 'CONFIG_INVALID' && /HAProxy refused "set server gl_web\/gl\d weight \d+": .*static/i.test(e.message),
  );
});
