import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../clock/clock.ts';
import type { CheckContext } from '../check.ts';
import { parseCheck } from '../registry.ts';
import { httpCheckSchema } from './http-check.ts';
import { deadUrl, startTestServer } from './test-server.ts';

const server = await startTestServer({
  '/healthz': { status: 200, body: 'ok' },
  '/json': { status: 200, body: JSON.stringify({ status: 'up', build: { version: '2.0.0' } }), headers: { 'content-type': 'application/json' } },
  '/created': { status: 201, body: 'made' },
  '/broken': { status: 500, body: 'auth handshake failed: unsupported protocol' },
  '/slow': { status: 200, body: 'ok', delayMs: 150 },
  '/hang': { status: 200, body: 'late', delayMs: 3000 },
  '/secret': { status: 200, body: 'ok' },
});
after(() => server.close());

function ctx(over: Partial<CheckContext> = {}): CheckContext {
  return {
    environment: 'staging',
    service: 'web',
    release: { version: '2.0.0', digest: 'sha256:abc', requires: {} },
    routerUrl: server.url,
    instanceUrls: [server.url],
    dependencies: {},
    clock: systemClock,
    ...over,
  };
}

const run = (spec: Record<string, unknown>, c: CheckContext = ctx()) => parseCheck('t', { kind: 'http', ...spec }).run(c);

test('http: a 2xx answer passes by default, through the router for a post check', async () => {
  const check = parseCheck('health', { kind: 'http', path: '/healthz' });
  assert.equal(check.phase, 'post');
  const r = await check.run(ctx({ instanceUrls: [] }));
  assert.equal(r.verdict, 'pass', r.message);
  assert.equal(r.name, 'health');
  assert.equal(r.kind, 'http');
  assert.equal((r.details as { target: string }).target, 'router');
  assert.match(r.message, /GET http:\/\/127\.0\.0\.1:\d+\/healthz answered 200/);
});

test('http: a 500 fails, quoting the status, the expectation and the body', async () => {
  const r = await run({ path: '/broken' });
  assert.equal(r.verdict, 'fail');
  assert.match(r.message, /answered 500, expected 2xx \(body: auth handshake failed: unsupported protocol\)/);
});

test('http: status lists accept any listed status and name them all when none matches', async () => {
  assert.equal((await run({ path: '/created', expect: { status: [200, 201] } })).verdict, 'pass');
  const r = await run({ path: '/healthz', expect: { status: [201, 204] } });
  assert.equal(r.verdict, 'fail');
  assert.match(r.message, /answered 200, expected 201 or 204/);
  assert.equal((await run({ path: '/nope', expect: { status: 404 } })).verdict, 'pass');
});

test('http: body_contains and body_matches pass on a matching body and fail otherwise', async () => {
  assert.equal((await run({ path: '/healthz', expect: { body_contains: 'ok' } })).verdict, 'pass');
  const c = await run({ path: '/healthz', expect: { body_contains: 'ready' } });
  assert.equal(c.verdict, 'fail');
  assert.match(c.message, /body does not contain "ready" \(body: ok\)/);
  assert.equal((await run({ path: '/json', expect: { body_matches: '"status":\\s*"up"' } })).verdict, 'pass');
  const m = await run({ path: '/json', expect: { body_matches: '^down$' } });
  assert.equal(m.verdict, 'fail');
  assert.match(m.message, /body does not match \/\^down\$\//);
});

test('http: expect.json compares a dotted field, and says what it found', async () => {
  assert.equal((await run({ path: '/json', expect: { json: { path: 'build.version', equals: '2.0.0' } } })).verdict, 'pass');
  const wrong = await run({ path: '/json', expect: { json: { path: 'status', equals: 'down' } } });
  assert.equal(wrong.verdict, 'fail');
  assert.match(wrong.message, /field "status" is "up", expected "down"/);
  const missing = await run({ path: '/json', expect: { json: { path: 'build.sha', equals: 'x' } } });
  assert.match(missing.message, /field "build.sha" is missing/);
  const notJson = await run({ path: '/healthz', expect: { json: { path: 'status', equals: 'up' } } });
  assert.equal(notJson.verdict, 'fail');
  assert.match(notJson.message, /body is not JSON/);
});

test('http: an answer slower than max_latency fails with both durations', async () => {
  const r = await run({ path: '/slow', max_latency: '50ms' });
  assert.equal(r.verdict, 'fail');
  assert.match(r.message, /answered in \d+ms, over the 50ms limit/);
  assert.equal((await run({ path: '/slow', max_latency: '2s' })).verdict, 'pass');
});

test('http: configured headers, method and body are sent', async () => {
  const before = server.requests.length;
  const r = await run({ path: '/secret', method: 'POST', headers: { 'x-greenlight-token': 's3cret' }, body: '{"ping":1}' });
  assert.equal(r.verdict, 'pass', r.message);
  const seen = server.requests.slice(before).find((q) => q.path === '/secret')!;
  assert.equal(seen.method, 'POST');
  assert.equal(seen.headers['x-greenlight-token'], 's3cret');
  assert.equal(seen.body, '{"ping":1}');
});

test('http: no answer within the timeout is an error, not a fail', async () => {
  const r = await run({ path: '/hang', timeout: '100ms' });
  assert.equal(r.verdict, 'error');
  assert.match(r.message, /no complete response within 100ms/);
});

test('http: an unreachable target is an error naming the URL and the cause', async () => {
  const dead = await deadUrl();
  const r = await run({ path: '/healthz' }, ctx({ routerUrl: dead }));
  assert.equal(r.verdict, 'error');
  assert.match(r.message, new RegExp(`GET ${dead}/healthz could not connect: ECONNREFUSED`));
});

test('http: without a router URL a router check cannot verify anything', async () => {
  const r = await run({ path: '/healthz' }, ctx({ routerUrl: undefined }));
  assert.equal(r.verdict, 'error');
  assert.match(r.message, /environment staging has no router URL/);
});

test('http: a pre check goes to every instance, and one bad instance fails it by name', async () => {
  const other = await startTestServer({ '/healthz': { status: 503, body: 'starting' } });
  try {
    const check = parseCheck('smoke', { kind: 'http', phase: 'pre', path: '/healthz' });
    const good = await check.run(ctx({ routerUrl: undefined, instanceUrls: [server.url, server.url] }));
    assert.equal(good.verdict, 'pass', good.message);
    assert.match(good.message, /all 2 instances answered GET \/healthz as expected/);
    const bad = await check.run(ctx({ routerUrl: undefined, instanceUrls: [server.url, other.url] }));
    assert.equal(bad.verdict, 'fail');
    assert.match(bad.message, new RegExp(`1 of 2 instances did not pass GET /healthz: ${other.url}/healthz answered 503`));
    assert.equal((bad.details as { results: unknown[] }).results.length, 2);
  } finally {
    await other.close();
  }
});

test('http: retries pass once the target recovers, and report the attempts', async () => {
  server.route('/flaky', (n) => (n < 3 ? { status: 503, body: 'warming' } : { status: 200, body: 'ok' }));
  const r = await run({ path: '/flaky', retries: 3, interval: '10ms' });
  assert.equal(r.verdict, 'pass', r.message);
  const res = (r.details as { results: { attempts: number }[] }).results[0]!;
  assert.equal(res.attempts, 3);
  server.route('/down', { status: 503, body: 'no' });
  const f = await run({ path: '/down', retries: 1, interval: '10ms' });
  assert.equal(f.verdict, 'fail');
  assert.match(f.message, /after 2 attempts/);
});

test('http: config is strict and validated', () => {
  assert.equal(httpCheckSchema.safeParse({ kind: 'http', path: '/x', expect: { status: 200 }, timeout: '2s' }).success, true);
  assert.equal(httpCheckSchema.safeParse({ kind: 'http', path: '/x', url: 'http://x' }).success, false);
  assert.equal(httpCheckSchema.safeParse({ kind: 'http', path: 'x' }).success, false);
  assert.equal(httpCheckSchema.safeParse({ kind: 'http', path: '/x', expect: { body_matches: '(' } }).success, false);
  assert.equal(httpCheckSchema.safeParse({ kind: 'http', path: '/x', expect: { status: 999 } }).success, false);
  assert.equal(httpCheckSchema.safeParse({ kind: 'http', path: '/x', timeout: 'soon' }).success, false);
  assert.throws(() => parseCheck('h', { kind: 'http', path: '/x', expect: { stauts: 200 } }), /checks\.h\.expect: Unrecognized key: "stauts"/);
});
