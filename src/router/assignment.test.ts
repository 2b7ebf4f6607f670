import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRouter, type Router } from './router.ts';
import { BUCKETS, bucketOf, layoutBuckets, parseIdentity, seedOf, type IdentitySource } from './assignment.ts';
import { CookieJar, request, startUpstream, type TestUpstream } from './testing.ts';

describe('bucket layout', () => {
  test('the canary (second live version) grows from bucket 0, a baseline (third) from the top; the stable version keeps the rest', () => {
    const at = (w: number) => layoutBuckets([100 - 2 * w, w, w]);
    let prev = at(1);
    for (const w of [2, 5, 10, 25, 33]) {
      const cur = at(w);
      assert.equal(cur[1]!.lo, 0);
      assert.ok(cur[1]!.hi >= prev[1]!.hi, 'canary range only grows');
      assert.equal(cur[2]!.hi, BUCKETS);
      assert.ok(cur[2]!.lo <= prev[2]!.lo, 'baseline range only grows');
      assert.equal(cur[0]!.lo, cur[1]!.hi);
      assert.equal(cur[0]!.hi, cur[2]!.lo);
      prev = cur;
    }
    assert.deepEqual(layoutBuckets([95, 5]), [{ lo: 500, hi: BUCKETS }, { lo: 0, hi: 500 }]);
    assert.deepEqual(layoutBuckets([1]), [{ lo: 0, hi: BUCKETS }]);
    // a tiny weight still gets one bucket; a canary above 50% keeps the bottom of the range
    assert.deepEqual(layoutBuckets([99.999, 0.001])[1], { lo: 0, hi: 1 });
    assert.deepEqual(layoutBuckets([40, 60])[1], { lo: 0, hi: 6000 });
  });

  test('buckets spread evenly and the salt changes which clients come first', () => {
    const counts = new Array<number>(10).fill(0);
    let same = 0;
    const a = seedOf('2.0.0');
    const b = seedOf('2.0.1');
    for (let i = 0; i < 20_000; i++) {
      const id = `user-${i}`;
      counts[Math.floor(bucketOf(id, a) / 1000)]!++;
      if (bucketOf(id, a) < 500 && bucketOf(id, b) < 500) same++;
    }
    for (const c of counts) assert.ok(Math.abs(c - 2000) < 5 * Math.sqrt(2000 * 0.9), `decile holds ${c} of 20000`);
    // independent salts: about 5% x 5% of clients are early on both releases, not 5%
    assert.ok(same < 200, `${same} clients were in the first 5% of both releases`);
  });

  test('identity sources parse from the router flag', () => {
    assert.deepEqual(parseIdentity('greenlight'), { from: 'greenlight' });
    assert.deepEqual(parseIdentity('address'), { from: 'address' });
    assert.deepEqual(parseIdentity('cookie:SESSION'), { from: 'cookie', name: 'SESSION' });
    assert.deepEqual(parseIdentity('header:X-User-Id'), { from: 'header', name: 'X-User-Id' });
    assert.equal(parseIdentity('header:'), null);
    assert.equal(parseIdentity('header:bad name'), null);
    assert.equal(parseIdentity('ip'), null);
  });
});

describe('assignment on a real router', () => {
  let stable: TestUpstream;
  let canary: TestUpstream;
  before(async () => {
    stable = await startUpstream('stable');
    canary = await startUpstream('canary');
  });
  after(async () => {
    await stable.close();
    await canary.close();
  });

  async function startRouter(identity?: IdentitySource): Promise<{ router: Router; base: string; close(): Promise<void> }> {
    const router = createRouter({ name: 'assign', ...(identity ? { identity } : {}) });
    const p = await router.listen('127.0.0.1:0');
    return {
      router,
      base: `http://127.0.0.1:${p.port}`,
      close: async () => {
        router.destroyConnections();
        await router.close();
      },
    };
  }
  let revision = 0;
  const split = (router: Router, canaryWeight: number) =>
    router.setTable({
      revision: ++revision,
      versions: [
        { version: 'stable', weight: 100 - canaryWeight, upstreams: [stable.url] },
        { version: '2.0.0', weight: canaryWeight, upstreams: [canary.url] },
      ],
    });

  test('1,000 returning clients across 1% -> 5% -> 25% -> 50%: each step serves its share of clients and of requests, no client flips back, a rollback empties the canary', async () => {
    const f = await startRouter();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    try {
      const n = 1000;
      const jars = Array.from({ length: n }, () => new CookieJar());
      const history: string[][] = Array.from({ length: n }, () => []);
      // each client makes 1-4 requests per step, so requests and clients are different shares
      const visit = async (weight: number | 'rollback') => {
        const perClient = jars.map(() => 1 + Math.floor(Math.random() * 4));
        let next = 0;
        const seen = new Map<number, Set<string>>();
        let canaryRequests = 0;
        let total = 0;
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            while (next < n) {
              const i = next++;
              for (let k = 0; k < perClient[i]!; k++) {
                const cookie = jars[i]!.header();
                const r = await request(f.base + '/', { agent, headers: cookie ? { cookie } : {} });
                assert.equal(r.status, 200, r.body);
                jars[i]!.take(r.headers['set-cookie']);
                const v = String(r.headers['x-greenlight-version']);
                (seen.get(i) ?? seen.set(i, new Set()).get(i)!).add(v);
                total++;
                if (v === '2.0.0') canaryRequests++;
              }
            }
          }),
        );
        let canaryClients = 0;
        for (let i = 0; i < n; i++) {
          const vs = seen.get(i)!;
          assert.equal(vs.size, 1, `client ${i} saw ${[...vs].join(' and ')} within one step at ${weight}`);
          const v = [...vs][0]!;
          history[i]!.push(v);
          if (v === '2.0.0') canaryClients++;
        }
        return { clients: canaryClients / n, requests: canaryRequests / total };
      };

      for (const w of [1, 5, 25, 50]) {
        await split(f.router, w);
        const share = await visit(w);
        const p = w / 100;
        // binomial spread of which clients hash below the weight; requests per client add a little
        const sd = Math.sqrt((p * (1 - p)) / n);
        assert.ok(Math.abs(share.clients - p) <= 5 * sd, `at ${w}%: ${(share.clients * 100).toFixed(1)}% of clients on the canary`);
        assert.ok(Math.abs(share.requests - p) <= 6 * sd, `at ${w}%: ${(share.requests * 100).toFixed(1)}% of requests on the canary`);
      }
      for (let i = 0; i < n; i++) {
        const h = history[i]!;
        const first = h.indexOf('2.0.0');
        if (first !== -1) assert.ok(h.slice(first).every((v) => v === '2.0.0'), `client ${i} went ${h.join(' -> ')}`);
      }

      const before = f.router.stats().versions['2.0.0']!.requests;
      await split(f.router, 0);
      const after = await visit('rollback');
      assert.equal(after.requests, 0, 'no request reaches a rolled-back canary');
      assert.equal(f.router.stats().versions['2.0.0']!.requests, before);
      assert.equal(f.router.stats().versions.stable!.status['5xx'], 0);

      // promotion: the canary alone has weight, everyone is on it
      await f.router.setTable({ revision: ++revision, versions: [{ version: 'stable', weight: 0, upstreams: [stable.url] }, { version: '2.0.0', weight: 100, upstreams: [canary.url] }] });
      const promoted = await visit(100);
      assert.equal(promoted.clients, 1);
    } finally {
      agent.destroy();
      await f.close();
    }
  });

  test('by a header: the same user id gets the same version; a request without it is split by weight per request', async () => {
    const f = await startRouter({ from: 'header', name: 'X-User-Id' });
    try {
      await split(f.router, 50);
      const versions = new Map<string, Set<string>>();
      for (let u = 0; u < 40; u++) {
        for (let k = 0; k < 3; k++) {
          const r = await request(f.base + '/', { headers: { 'x-user-id': `u${u}`, cookie: `gl_cid=shared-browser` } });
          const s = versions.get(`u${u}`) ?? new Set();
          s.add(String(r.headers['x-greenlight-version']));
          versions.set(`u${u}`, s);
        }
      }
      for (const [u, s] of versions) assert.equal(s.size, 1, `${u} saw ${[...s].join(', ')}`);
      const onCanary = [...versions.values()].filter((s) => s.has('2.0.0')).length;
      assert.ok(onCanary > 5 && onCanary < 35, `${onCanary} of 40 users on the canary at 50%`);
      // the header is forwarded to the application as it came
      const echoed = JSON.parse((await request(f.base + '/', { headers: { 'x-user-id': 'u1' } })).body) as { headers: Record<string, string> };
      assert.equal(echoed.headers['x-user-id'], 'u1');
      // no header: each request is split by weight on its own (one client id does not pin it)
      const anonymous = new Set<string>();
      for (let k = 0; k < 60; k++) anonymous.add(String((await request(f.base + '/', { headers: { cookie: 'gl_cid=same-browser' } })).headers['x-greenlight-version']));
      assert.deepEqual([...anonymous].sort(), ['2.0.0', 'stable']);
    } finally {
      await f.close();
    }
  });

  test('by a session cookie of the application, and by client address', async () => {
    const f = await startRouter({ from: 'cookie', name: 'SESSION' });
    try {
      await split(f.router, 50);
      const seen = new Map<string, Set<string>>();
      for (let u = 0; u < 30; u++) {
        for (let k = 0; k < 3; k++) {
          // a fresh Greenlight id each time: only the session decides
          const r = await request(f.base + '/', { headers: { cookie: `theme=dark; SESSION=s${u}` } });
          (seen.get(`s${u}`) ?? seen.set(`s${u}`, new Set()).get(`s${u}`)!).add(String(r.headers['x-greenlight-version']));
        }
      }
      for (const [u, s] of seen) assert.equal(s.size, 1, `${u} saw ${[...s].join(', ')}`);
    } finally {
      await f.close();
    }
    const g = await startRouter({ from: 'address' });
    try {
      await split(g.router, 50);
      const seen = new Set<string>();
      for (let k = 0; k < 30; k++) seen.add(String((await request(g.base + '/')).headers['x-greenlight-version']));
      assert.equal(seen.size, 1, 'every request from 127.0.0.1 is on one version');
    } finally {
      await g.close();
    }
  });
});
