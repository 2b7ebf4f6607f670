import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'ws';
import parsePrometheus from 'parse-prometheus-text-format';
import { ManualClock } from '../clock/clock.ts';
import { GreenlightError } from '../errors/errors.ts';
import { createRouter, type Router } from './router.ts';
import { RouterClient } from './client.ts';
import { LATENCY_BOUNDS_MS, bucketIndex } from './stats.ts';
import { clientIdFor, CookieJar, deadPort, request, startUpstream, type TestUpstream } from './testing.ts';

const TOKEN = 'test-token-0123456789abcdef';

interface Fixture {
  router: Router;
  base: string;
  admin: string;
  client: RouterClient;
  close(): Promise<void>;
}

let upstreamClient: 'undici' | 'http' = 'undici';

async function startRouter(opts: { clock?: ManualClock; clientCap?: number; rescueCanaryErrors?: boolean } = {}): Promise<Fixture> {
  const router = createRouter({ name: 'test', adminToken: TOKEN, upstreamClient, ...opts });
  const p = await router.listen('127.0.0.1:0');
  const a = await router.listenAdmin('127.0.0.1:0');
  const admin = `http://127.0.0.1:${a.port}`;
  return {
    router,
    base: `http://127.0.0.1:${p.port}`,
    admin,
    client: new RouterClient({ adminUrl: admin, token: TOKEN }),
    close: async () => {
      router.destroyConnections();
      await router.close();
    },
  };
}

/** Runs n GETs with `concurrency` keep-alive connections; returns how many each version served. */
async function load(base: string, n: number, concurrency: number, path = '/'): Promise<Map<string, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const seen = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const r = await request(base + path, { agent });
      assert.equal(r.status, 200, r.body);
      const v = String(r.headers['x-greenlight-version']);
      seen.set(v, (seen.get(v) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return seen;
}

for (const kind of ['undici', 'http'] as const)
describe(`router (upstream client: ${kind})`, () => {
  let stable: TestUpstream;
  let canary: TestUpstream;
  let f: Fixture;

  before(async () => {
    upstreamClient = kind;
    stable = await startUpstream('stable');
    canary = await startUpstream('canary');
  });
  after(async () => {
    await stable.close();
    await canary.close();
  });

  test('answers 503 with a clear body before any table and when no version has weight', async () => {
    f = await startRouter();
    try {
      let r = await request(f.base + '/');
      assert.equal(r.status, 503);
      assert.match(r.body, /no routing table yet/);
      await f.router.setTable({ revision: 1, versions: [{ version: 'v1', weight: 0, upstreams: [stable.url] }] });
      r = await request(f.base + '/');
      assert.equal(r.status, 503);
      assert.match(r.body, /no version with weight > 0 in routing table revision 1/);
      assert.equal(f.router.stats().noRoute, 2);
    } finally {
      await f.close();
    }
  });

  test('splits traffic by weight (10k requests, 90/10, within 8 standard deviations)', async () => {
    f = await startRouter();
    try {
      await f.router.setTable({
        revision: 1,
        versions: [
          { version: 'stable', weight: 90, upstreams: [stable.url] },
          { version: 'canary', weight: 10, upstreams: [canary.url] },
        ],
      });
      const n = 10_000;
      const seen = await load(f.base, n, 16);
      const c = seen.get('canary') ?? 0;
      const sd = Math.sqrt(n * 0.1 * 0.9); // 30
      assert.ok(Math.abs(c - n * 0.1) < 8 * sd, `canary got ${c} of ${n}`);
      assert.equal((seen.get('stable') ?? 0) + c, n);
      const s = f.router.stats();
      assert.equal(s.versions.canary!.requests, c);
      assert.equal(s.versions.stable!.status['2xx'], n - c);
    } finally {
      await f.close();
    }
  });

  test('keeps a client on its version, and moves it without an error when its version goes to weight 0', async () => {
    f = await startRouter();
    try {
      const table = (canaryWeight: number, revision: number) => ({
        revision,
        versions: [
          { version: 'stable', weight: 50, upstreams: [stable.url] },
          { version: 'canary', weight: canaryWeight, upstreams: [canary.url] },
        ],
      });
      await f.router.setTable(table(50, 1));
      // find a client the router puts on the canary (its first answer sets its client id)
      let jar = new CookieJar();
      for (let i = 0; i < 200; i++) {
        jar = new CookieJar();
        const r = await request(f.base + '/', {});
        jar.take(r.headers['set-cookie']);
        if (r.headers['x-greenlight-version'] === 'canary') break;
      }
      const cid = jar.cookies.get('gl_cid');
      assert.ok(cid);
      for (let i = 0; i < 50; i++) {
        const r = await request(f.base + '/', { headers: { cookie: `other=1; ${jar.header()}` } });
        assert.equal(r.headers['x-greenlight-version'], 'canary');
        assert.equal(r.headers['set-cookie'], undefined, 'no cookie is re-set for a returning client');
      }
      // the canary's weight is raised: the client stays on it
      await f.router.setTable({ revision: 2, versions: [{ version: 'stable', weight: 40, upstreams: [stable.url] }, { version: 'canary', weight: 60, upstreams: [canary.url] }] });
      for (let i = 0; i < 20; i++) {
        const r = await request(f.base + '/', { headers: { cookie: jar.header()! } });
        assert.equal(r.headers['x-greenlight-version'], 'canary');
      }
      // rollback: canary to weight 0; the client lands on stable, no error, its id kept
      await f.router.setTable(table(0, 3));
      const r = await request(f.base + '/', { headers: { cookie: jar.header()! } });
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-greenlight-version'], 'stable');
      jar.take(r.headers['set-cookie']);
      assert.equal(jar.cookies.get('gl_cid'), cid, 'the client id is kept');
      // and a version that is gone from the table entirely
      await f.router.setTable({ revision: 4, versions: [{ version: 'v3', weight: 1, upstreams: [stable.url] }] });
      const r2 = await request(f.base + '/', { headers: { cookie: jar.header()! } });
      assert.equal(r2.status, 200);
      assert.equal(r2.headers['x-greenlight-version'], 'v3');
      const s = f.router.stats();
      assert.equal(s.versions.canary!.inTable, false);
      assert.equal(s.versions.canary!.connectionErrors + s.versions.canary!.status['5xx'], 0);
    } finally {
      await f.close();
    }
  });

  test('removes hop-by-hop headers both ways and sets X-Forwarded-*', async () => {
    const up = await startUpstream('hop', (req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        connection: 'x-upstream-hop',
        'x-upstream-hop': 'drop me',
        'keep-alive': 'timeout=5',
        'proxy-authenticate': 'Basic',
        'x-kept': 'yes',
      });
      res.end(JSON.stringify({ headers: req.headers, raw: req.rawHeaders }));
    });
    f = await startRouter();
    try {
      await f.router.setTable({ revision: 1, versions: [{ version: 'v1', weight: 1, upstreams: [up.url] }] });
      const r = await request(f.base + '/x', {
        headers: {
          host: 'shop.example',
          connection: 'keep-alive, x-client-hop',
          'x-client-hop': 'drop me',
          'keep-alive': 'timeout=9',
          te: 'trailers',
          'proxy-authorization': 'Basic abc',
          'proxy-connection': 'keep-alive',
          'x-forwarded-for': '203.0.113.7',
          'x-forwarded-proto': 'https',
          'x-end-to-end': 'kept',
        },
      });
      assert.equal(r.status, 200);
      const seen = JSON.parse(r.body) as { headers: Record<string, string> };
      for (const h of ['x-client-hop', 'keep-alive', 'te', 'proxy-authorization', 'proxy-connection']) {
        assert.equal(seen.headers[h], undefined, `${h} must not reach the upstream`);
      }
      assert.equal(seen.headers['x-end-to-end'], 'kept');
      assert.equal(seen.headers.host, 'shop.example');
      assert.equal(seen.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
      assert.equal(seen.headers['x-forwarded-proto'], 'http');
      assert.equal(seen.headers['x-forwarded-host'], 'shop.example');
      assert.equal(r.headers['x-upstream-hop'], undefined);
      assert.equal(r.headers['proxy-authenticate'], undefined);
      assert.equal(r.headers['x-kept'], 'yes');
      assert.equal(r.headers['x-greenlight-version'], 'v1');
    } finally {
      await f.close();
      await up.close();
    }
  });

  test('streams a chunked response without buffering it, and a large request body', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const up = await startUpstream('stream', (req, res) => {
      if (req.method === 'POST') {
        const h = createHash('sha256');
        let n = 0;
        req.on('data', (c: Buffer) => {
          h.update(c);
          n += c.length;
        });
        req.on('end', () => res.end(JSON.stringify({ n, sha: h.digest('hex') })));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk\n');
      // the rest only after the client has seen the first chunk: a buffering proxy deadlocks here
      void released.then(() => {
        for (let i = 0; i < 100; i++) res.write(Buffer.alloc(64 * 1024, 97));
        res.end('last\n');
      });
    });
    f = await startRouter();
    try {
      await f.router.setTable({ revision: 1, versions: [{ version: 'v1', weight: 1, upstreams: [up.url] }] });
      const got = await new Promise<{ first: string; total: number; te: string | undefined }>((resolve, reject) => {
        http.get(f.base + '/stream', (res) => {
          let total = 0;
          let first = '';
          res.on('data', (c: Buffer) => {
            if (total === 0) {
              first = c.toString();
              release();
            }
            total += c.length;
          });
          res.on('end', () => resolve({ first, total, te: res.headers['transfer-encoding'] }));
          res.on('error', reject);
        }).on('error', reject);
      });
      assert.equal(got.first, 'first chunk\n');
      assert.equal(got.total, 12 + 100 * 64 * 1024 + 5);
      assert.equal(got.te, 'chunked');

      // a 24 MiB upload, sent chunked from a stream
      const body = Buffer.alloc(24 * 1024 * 1024);
      for (let i = 0; i < body.length; i += 4096) body[i] = i % 251;
      const res = await new Promise<string>((resolve, reject) => {
        const req = http.request(f.base + '/upload', { method: 'POST' }, (r) => {
          let s = '';
          r.on('data', (c: Buffer) => (s += c.toString()));
          r.on('end', () => resolve(s));
        });
        req.on('error', reject);
        for (let i = 0; i < body.length; i += 1 << 20) req.write(body.subarray(i, i + (1 << 20)));
        req.end();
      });
      assert.deepEqual(JSON.parse(res), { n: body.length, sha: createHash('sha256').update(body).digest('hex') });
    } finally {
      await f.close();
      await up.close();
    }
  });

  test('passes WebSocket upgrades through (echo)', async () => {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws, req) => {
      ws.send(`hello ${req.headers['x-forwarded-for']}`);
      ws.on('message', (m) => ws.send(`echo:${m.toString()}`));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const upUrl = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    f = await startRouter();
    try {
      await f.router.setTable({ revision: 1, versions: [{ version: 'ws1', weight: 1, upstreams: [upUrl] }] });
      const ws = new WebSocket(f.base.replace('http', 'ws') + '/socket');
      const upgrade = once(ws, 'upgrade');
      const opened = once(ws, 'open');
      const messages: string[] = [];
      const got = (n: number) =>
        new Promise<void>((resolve) => {
          const check = () => (messages.length >= n ? resolve() : setTimeout(check, 5));
          check();
        });
      ws.on('message', (m) => messages.push(m.toString()));
      const [res] = (await upgrade) as [http.IncomingMessage];
      assert.equal(res.headers['x-greenlight-version'], 'ws1');
      await opened;
      ws.send('ping');
      ws.send('x'.repeat(100_000));
      await got(3);
      assert.equal(messages[0], 'hello 127.0.0.1');
      assert.equal(messages[1], 'echo:ping');
      assert.equal(messages[2], `echo:${'x'.repeat(100_000)}`);
      ws.close();
      await once(ws, 'close');
      assert.equal(f.router.stats().versions.ws1!.status['1xx'], 1);
    } finally {
      await f.close();
      wss.close();
      server.closeAllConnections();
      server.close();
    }
  });

  test('takes a refusing upstream out of rotation and retries on another, with no client error', async () => {
    const clock = new ManualClock();
    const port = await deadPort();
    const dead = `http://127.0.0.1:${port}`;
    f = await startRouter({ clock });
    let revived: TestUpstream | undefined;
    try {
      await f.router.setTable({ revision: 1, versions: [{ version: 'v1', weight: 1, upstreams: [dead, stable.url] }] });
      const seen = await load(f.base, 60, 4);
      assert.equal(seen.get('v1'), 60);
      let s = f.router.stats().versions.v1!;
      assert.equal(s.upstreams[dead]!.healthy, false);
      assert.equal(s.upstreams[dead]!.connectionErrors, 1, 'tried once, then out of rotation');
      assert.equal(s.upstreams[stable.url]!.requests, 60);
      assert.equal(s.connectionErrors, 0);
      assert.equal(s.status['2xx'], 60);

      // the probe (by the injected clock) brings it back once it listens again
      revived = await startUpstream('revived', undefined, port);
      await clock.advance(250);
      await waitFor(() => f.router.stats().versions.v1!.upstreams[dead]!.healthy);
      const again = await load(f.base, 20, 1);
      assert.equal(again.get('v1'), 20);
      s = f.router.stats().versions.v1!;
      assert.ok(s.upstreams[dead]!.requests >= 9, 'back in round-robin');
    } finally {
      await f.close();
      await revived?.close();
    }
  });

  test('answers 502, counted as a connection error, when no upstream of the version can be reached', async () => {
    const d1 = `http://127.0.0.1:${await deadPort()}`;
    const d2 = `http://127.0.0.1:${await deadPort()}`;
    f = await startRouter();
    try {
      await f.router.setTable({ revision: 1, versions: [{ version: 'v1', weight: 1, upstreams: [d1, d2] }] });
      const r = await request(f.base + '/', { method: 'POST', body: 'payload' });
      assert.equal(r.status, 502);
      assert.equal(r.headers['x-greenlight-version'], 'v1');
      assert.match(r.body, /no upstream of version v1 could be reached/);
      const r2 = await request(f.base + '/');
      assert.equal(r2.status, 502);
      const s = f.router.stats().versions.v1!;
      assert.equal(s.connectionErrors, 2);
      assert.equal(s.requests, 2);
      assert.equal(s.clientsWithErrors, 2);
      assert.equal(s.upstreams[d1]!.healthy, false);
      assert.equal(s.upstreams[d2]!.healthy, false);
    } finally {
      await f.close();
    }
  });

  test('counts requests, status classes, latency histogram and distinct clients per version', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 3, 10, 0, 0));
    f = await startRouter({ clock, clientCap: 3 });
    try {
      await f.router.setTable({ revision: 1, versions: [{ version: 'v1', weight: 1, upstreams: [stable.url] }] });
      const jars = [new CookieJar(), new CookieJar(), new CookieJar(), new CookieJar()];
      const paths = ['/ok', '/status/404', '/status/500', '/status/302', '/ok'];
      for (let i = 0; i < paths.length; i++) {
        const jar = jars[i % 2]!;
        const r = await request(f.base + paths[i], { headers: jar.header() ? { cookie: jar.header()! } : {} });
        jar.take(r.headers['set-cookie']);
      }
      await clock.set(Date.UTC(2026, 5, 3, 10, 0, 5));
      for (const jar of jars.slice(2)) {
        const r = await request(f.base + '/ok');
        jar.take(r.headers['set-cookie']);
      }
      const s = f.router.stats();
      const v = s.versions.v1!;
      assert.equal(v.requests, 7);
      assert.deepEqual(v.status, { '1xx': 0, '2xx': 4, '3xx': 1, '4xx': 1, '5xx': 1 });
      assert.equal(v.latency.count, 7);
      assert.equal(v.latency.counts.reduce((a, b) => a + b, 0), 7);
      assert.equal(v.latency.counts.length, s.latencyBoundsMs.length + 1);
      assert.ok(v.latency.sumMs > 0);
      assert.equal(v.firstRequestAt, Date.UTC(2026, 5, 3, 10, 0, 0));
      assert.equal(v.lastRequestAt, Date.UTC(2026, 5, 3, 10, 0, 5));
      assert.equal(v.clients, 3, 'capped at 3');
      assert.equal(v.clientsCapped, true);
      assert.equal(v.clientsWithErrors, 1, 'only the client that got the 500');
      assert.equal(v.upstreams[stable.url]!.requests, 7);
      assert.equal(v.upstreams[stable.url]!.errors, 1);

      // the same figures through the admin API, JSON and Prometheus
      const viaApi = await f.client.stats();
      assert.equal(viaApi.versions.v1!.requests, 7);
      const text = await (await fetch(f.admin + '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      const families = parsePrometheus(text) as { name: string; type: string; metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string }[] }[];
      const req = families.find((x) => x.name === 'greenlight_router_requests_total')!;
      const m5 = req.metrics.find((m) => m.labels?.version === 'v1' && m.labels.code === '5xx')!;
      assert.equal(m5.value, '1');
      const hist = families.find((x) => x.name === 'greenlight_router_request_duration_seconds')!;
      assert.equal(hist.type, 'HISTOGRAM');
      assert.match(text, /^greenlight_router_request_duration_seconds_count\{router="test",version="v1"\} 7$/m);
      assert.equal(hist.metrics[0]!.buckets!['+Inf'], '7');
    } finally {
      await f.close();
    }
  });

  test('histogram buckets: ~1.1x log spacing from 0.1 ms to 60 s, upper bound inclusive', () => {
    assert.equal(LATENCY_BOUNDS_MS[0], 0.1);
    assert.equal(LATENCY_BOUNDS_MS.at(-1), 60_000);
    for (let i = 1; i < LATENCY_BOUNDS_MS.length - 1; i++) {
      const ratio = LATENCY_BOUNDS_MS[i]! / LATENCY_BOUNDS_MS[i - 1]!;
      assert.ok(ratio > 1.09 && ratio < 1.11, `bound ${i} ratio ${ratio}`);
    }
    assert.equal(bucketIndex(0), 0);
    assert.equal(bucketIndex(0.1), 0);
    assert.equal(bucketIndex(0.1000001), 1);
    for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) {
      assert.equal(bucketIndex(LATENCY_BOUNDS_MS[i]!), i);
      assert.equal(bucketIndex(LATENCY_BOUNDS_MS[i]! * 1.0000001), i + 1);
    }
    assert.equal(bucketIndex(1e9), LATENCY_BOUNDS_MS.length);
  });

  test('admin API: 401 without or with a wrong token, 400 on a bad table, 409 on a stale revision', async () => {
    f = await startRouter();
    try {
      for (const auth of [undefined, 'Bearer wrong', `Basic ${TOKEN}`]) {
        const r = await request(f.admin + '/table', { method: 'PUT', headers: auth ? { authorization: auth } : {}, body: '{}' });
        assert.equal(r.status, 401);
        assert.equal((await request(f.admin + '/stats', { headers: auth ? { authorization: auth } : {} })).status, 401);
      }
      const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
      let r = await request(f.admin + '/table', { method: 'PUT', headers: auth, body: 'not json' });
      assert.equal(r.status, 400);
      r = await request(f.admin + '/table', {
        method: 'PUT',
        headers: auth,
        body: JSON.stringify({ revision: 1, versions: [{ version: 'v1', weight: -1, upstreams: ['ftp://x'] }] }),
      });
      assert.equal(r.status, 400);
      assert.match(r.body, /versions\.0\.weight/);
      assert.match(r.body, /versions\.0\.upstreams\.0/);

      const client = f.client;
      assert.equal(await client.getTable(), null);
      const t2 = { revision: 2, versions: [{ version: 'v1', weight: 1, upstreams: [stable.url] }] };
      assert.deepEqual(await client.setTable(t2), { revision: 2, persisted: true, changed: true });
      assert.deepEqual(await client.getTable(), t2);
      // the same table again is accepted (controller retries); a different one at the same revision is not
      assert.equal((await client.setTable(t2)).changed, false);
      await assert.rejects(client.setTable({ ...t2, versions: [] }), (e: GreenlightError) => e.code === 'CONFLICT');
      await assert.rejects(client.setTable({ ...t2, revision: 1 }), (e: GreenlightError) => e.code === 'CONFLICT' && e.data?.currentRevision === 2);
      r = await request(f.admin + '/table', { method: 'PUT', headers: auth, body: JSON.stringify({ ...t2, revision: 1 }) });
      assert.equal(r.status, 409);
      await assert.rejects(client.setTable({ revision: 3, versions: [{ version: 'bad name', weight: 1, upstreams: [] }] }), (e: GreenlightError) => e.code === 'CONFIG_INVALID');
      const h = await client.health();
      assert.equal(h.ok, true);
      assert.equal(h.revision, 2);
      assert.equal(h.serving, true);
      const bad = new RouterClient({ adminUrl: f.admin, token: 'wrong' });
      await assert.rejects(bad.stats(), (e: GreenlightError) => e.code === 'UNAUTHORIZED');
    } finally {
      await f.close();
    }
  });

  test('client: ROUTER_UNREACHABLE (retryable) when nothing listens, and on a timeout', async () => {
    const port = await deadPort();
    const c = new RouterClient({ adminUrl: `http://127.0.0.1:${port}`, token: TOKEN });
    await assert.rejects(c.health(), (e: GreenlightError) => e.code === 'ROUTER_UNREACHABLE' && e.retryable && /127\.0\.0\.1/.test(e.message) && !!e.hint);
    // a server that accepts and never answers: the injected clock fires the timeout
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const clock = new ManualClock();
    const c2 = new RouterClient({ adminUrl: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, token: TOKEN, timeoutMs: 1000, clock });
    const p = c2.stats();
    const check = assert.rejects(p, (e: GreenlightError) => e.code === 'ROUTER_UNREACHABLE' && /1000 ms/.test(e.message));
    await new Promise((r) => setTimeout(r, 50));
    await clock.advance(1000);
    await check;
    silent.close();
  });

  describe('a canary failure on a safe request is answered by stable', () => {
    let failing: TestUpstream;
    before(async () => {
      failing = await startUpstream('failing', (req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('canary broke');
        });
      });
    });
    after(async () => {
      await failing.close();
    });

    const split = (canaryUpstream: string, canaryWeight = 10) => ({
      revision: 1,
      versions: [
        { version: 'stable', weight: 100 - canaryWeight, upstreams: [stable.url] },
        { version: 'canary', weight: canaryWeight, upstreams: [canaryUpstream] },
      ],
    });
    const onCanary = { cookie: `gl_cid=${clientIdFor('canary', 0.1, true)}` };

    test('GETs routed to a 500ing canary all answer 200 from stable; the 500s still count for the canary', async () => {
      f = await startRouter();
      try {
        await f.router.setTable(split(failing.url));
        const n = 400;
        const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
        let rescuedSeen = 0;
        let next = 0;
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            while (next < n) {
              next++;
              const r = await request(f.base + '/', { agent });
              assert.equal(r.status, 200, r.body);
              assert.equal(r.headers['x-greenlight-version'], 'stable');
              assert.equal(JSON.parse(r.body).name, 'stable');
              if (r.headers['x-greenlight-rescued-from'] !== undefined) {
                assert.equal(r.headers['x-greenlight-rescued-from'], 'canary');
                // a new client gets its id, which keeps it on the canary
                assert.match((r.headers['set-cookie'] ?? []).join('\n'), /gl_cid=/);
                rescuedSeen++;
              }
            }
          }),
        );
        agent.destroy();
        assert.ok(rescuedSeen > 0, 'some requests were routed to the canary');
        const s = f.router.stats();
        const c = s.versions.canary!;
        assert.equal(c.requests, rescuedSeen);
        assert.equal(c.status['5xx'], rescuedSeen);
        assert.equal(c.rescued, rescuedSeen);
        assert.equal(c.clients, rescuedSeen, 'each request is a new client');
        assert.equal(c.clientsWithErrors, 0, 'rescued: no client saw the error');
        assert.equal(c.upstreams[failing.url]!.errors, rescuedSeen);
        assert.equal(c.latency.count, rescuedSeen);
        assert.equal(s.versions.stable!.requests, n);
        assert.equal(s.versions.stable!.status['2xx'], n);
        assert.equal(s.versions.stable!.rescued, 0);

        // a returning canary client: answered by stable, no cookie set
        const r = await request(f.base + '/x', { method: 'HEAD', headers: onCanary });
        assert.equal(r.status, 200);
        assert.equal(r.headers['x-greenlight-version'], 'stable');
        assert.equal(r.headers['x-greenlight-rescued-from'], 'canary');
        assert.equal(r.headers['set-cookie'], undefined);
        const m = f.router.metrics();
        assert.match(m, new RegExp(`greenlight_router_rescued_total\\{router="test",version="canary"\\} ${rescuedSeen + 1}\\n`));
        assert.match(m, /greenlight_router_rescued_total\{router="test",version="stable"\} 0\n/);
      } finally {
        await f.close();
      }
    });

    test('not for a request with a body, nor when the canary has the highest weight, nor with the option off', async () => {
      f = await startRouter();
      try {
        await f.router.setTable(split(failing.url));
        let r = await request(f.base + '/', { method: 'POST', body: 'payload', headers: onCanary });
        assert.equal(r.status, 500);
        assert.equal(r.body, 'canary broke');
        assert.equal(r.headers['x-greenlight-version'], 'canary');
        assert.equal(r.headers['x-greenlight-rescued-from'], undefined);
        r = await request(f.base + '/', { method: 'DELETE', headers: onCanary });
        assert.equal(r.status, 500);
        r = await request(f.base + '/', { headers: { ...onCanary, 'content-length': '1' }, body: 'x' });
        assert.equal(r.status, 500);
        let c = f.router.stats().versions.canary!;
        assert.equal(c.status['5xx'], 3);
        assert.equal(c.rescued, 0);

        await f.router.setTable({ ...split(failing.url, 100), revision: 2 });
        r = await request(f.base + '/');
        assert.equal(r.status, 500);
        assert.equal(r.headers['x-greenlight-version'], 'canary');
        assert.equal(r.headers['x-greenlight-rescued-from'], undefined);
        c = f.router.stats().versions.canary!;
        assert.equal(c.status['5xx'], 4);
        assert.equal(c.rescued, 0);
      } finally {
        await f.close();
      }
      f = await startRouter({ rescueCanaryErrors: false });
      try {
        await f.router.setTable(split(failing.url));
        const r = await request(f.base + '/', { headers: onCanary });
        assert.equal(r.status, 500);
        assert.equal(r.headers['x-greenlight-version'], 'canary');
        assert.equal(f.router.stats().versions.canary!.rescued, 0);
      } finally {
        await f.close();
      }
    });

    test('a canary none of whose upstreams can be reached is answered by stable for a GET', async () => {
      const d1 = `http://127.0.0.1:${await deadPort()}`;
      const d2 = `http://127.0.0.1:${await deadPort()}`;
      f = await startRouter();
      try {
        await f.router.setTable({ revision: 1, versions: [{ version: 'stable', weight: 90, upstreams: [stable.url] }, { version: 'canary', weight: 10, upstreams: [d1, d2] }] });
        const r = await request(f.base + '/', { headers: onCanary });
        assert.equal(r.status, 200, r.body);
        assert.equal(r.headers['x-greenlight-version'], 'stable');
        assert.equal(r.headers['x-greenlight-rescued-from'], 'canary');
        const r2 = await request(f.base + '/', { method: 'POST', body: 'payload', headers: onCanary });
        assert.equal(r2.status, 502);
        assert.equal(r2.headers['x-greenlight-version'], 'canary');
        const s = f.router.stats();
        const c = s.versions.canary!;
        assert.equal(c.requests, 2);
        assert.equal(c.connectionErrors, 2);
        assert.equal(c.rescued, 1);
        assert.equal(c.clientsWithErrors, 1);
        assert.equal(c.upstreams[d1]!.connectionErrors + c.upstreams[d2]!.connectionErrors, 4, 'both tried, each time');
        assert.equal(s.versions.stable!.requests, 1);
        assert.equal(s.versions.stable!.status['2xx'], 1);
      } finally {
        await f.close();
      }
    });
  });

  test('keeps serving with its table when nothing calls the admin API', async () => {
    f = await startRouter();
    try {
      await f.router.setTable({ revision: 1, versions: [{ version: 'v1', weight: 1, upstreams: [stable.url] }] });
      // the admin listener going away (as when the controller side is gone) changes nothing for traffic
      const seen = await load(f.base, 200, 4);
      assert.equal(seen.get('v1'), 200);
    } finally {
      await f.close();
    }
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
