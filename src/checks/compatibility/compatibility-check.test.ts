import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../clock/clock.ts';
import type { CheckContext } from '../check.ts';
import { deadUrl, startTestServer } from '../http/test-server.ts';
import { parseCheck } from '../registry.ts';
import type { DependencyFinding } from './compatibility-check.ts';
import { dependencySourceSchema, type DependencySource } from './sources.ts';

// The 3 June outage in miniature: web@2.0.0 needs the new auth handshake of acme-auth 3.x, and
// production's acme-auth still runs 2.4.1.
const auth = await startTestServer({
  '/version': { body: '{"version":"2.4.1"}' },
  '/v3': { body: '{"version":"3.1.0"}' },
  '/ver': { body: '{"ver":"2"}' },
  '/garbage': { body: 'Service Unavailable' },
  '/bad-semver': { body: '{"version":"2.4"}' },
});
after(() => auth.close());

const src = (raw: Record<string, unknown>): DependencySource => dependencySourceSchema.parse(raw);

function ctx(dependencies: Record<string, DependencySource>, requires: Record<string, string> = { 'acme-auth': '>=3.0.0 <4' }): CheckContext {
  return {
    environment: 'production',
    service: 'web',
    release: { version: '2.0.0', digest: 'sha256:abc', requires },
    instanceUrls: [],
    dependencies,
    clock: systemClock,
  };
}

const check = parseCheck('compat', { kind: 'compatibility' });
const findings = (r: { details?: Record<string, unknown> }) => (r.details as { dependencies: DependencyFinding[] }).dependencies;

test('compatibility: is a pre check by default', () => {
  assert.equal(check.phase, 'pre');
  assert.equal(parseCheck('c', { kind: 'compatibility', phase: 'post' }).phase, 'post');
});

test('compatibility: a running version inside the range passes, and is reported', async () => {
  const r = await check.run(ctx({ 'acme-auth': src({ kind: 'http', url: `${auth.url}/v3`, field: 'version' }) }));
  assert.equal(r.verdict, 'pass', r.message);
  assert.equal(r.message, 'every requirement of web@2.0.0 is met in production: acme-auth 3.1.0 satisfies ">=3.0.0 <4"');
  assert.deepEqual(findings(r), [
    {
      name: 'acme-auth',
      required: '>=3.0.0 <4',
      found: '3.1.0',
      raw: '3.1.0',
      where: `${auth.url}/v3, field "version"`,
      verdict: 'pass',
      message: `acme-auth 3.1.0 satisfies ">=3.0.0 <4" (read from ${auth.url}/v3, field "version")`,
    },
  ]);
});

test('compatibility: the 3 June case fails, naming dependency, range, found version, where, and what to do', async () => {
  const r = await check.run(ctx({ 'acme-auth': src({ kind: 'http', url: `${auth.url}/version`, field: 'version' }) }));
  assert.equal(r.verdict, 'fail');
  const line = `acme-auth 2.4.1 does not satisfy ">=3.0.0 <4" required by web@2.0.0 (read from ${auth.url}/version, field "version")`;
  const hint = 'upgrade acme-auth in production to a version in >=3.0.0 <4, or release a version of web that supports 2.4.1';
  assert.equal(r.message, `${line}; hint: ${hint}`);
  const [f] = findings(r);
  assert.equal(f!.verdict, 'fail');
  assert.equal(f!.message, line);
  assert.equal(f!.hint, hint);
  assert.equal(f!.found, '2.4.1');
});

test('compatibility: every dependency is reported, passing ones too; a fail outranks an error', async () => {
  const r = await check.run(
    ctx(
      {
        'acme-auth': src({ kind: 'http', url: `${auth.url}/version`, field: 'version' }),
        postgres: src({ kind: 'fixed', version: '16.2.0' }),
        'pay-api': src({ kind: 'command', command: 'echo "pay-api 1.9.0"', match: '(\\d+\\.\\d+\\.\\d+)' }),
      },
      { 'acme-auth': '>=3.0.0 <4', postgres: '>=15', 'pay-api': '^1.8.0', redis: '>=7' },
    ),
  );
  assert.equal(r.verdict, 'fail');
  const byName = Object.fromEntries(findings(r).map((f) => [f.name, f]));
  assert.deepEqual(Object.keys(byName).sort(), ['acme-auth', 'pay-api', 'postgres', 'redis']);
  assert.equal(byName.postgres!.verdict, 'pass');
  assert.equal(byName['pay-api']!.verdict, 'pass');
  assert.equal(byName['pay-api']!.found, '1.9.0');
  assert.equal(byName['acme-auth']!.verdict, 'fail');
  assert.equal(byName.redis!.verdict, 'error');
  const lines = r.message.split('\n');
  assert.match(lines[0]!, /^acme-auth 2\.4\.1 does not satisfy/);
  assert.match(lines[1]!, /^web@2\.0\.0 requires redis ">=7", but environment production has no version source for redis/);
});

test('compatibility: a required dependency with no source is an error saying which config key to add', async () => {
  const r = await check.run(ctx({}));
  assert.equal(r.verdict, 'error');
  assert.match(r.message, /web@2\.0\.0 requires acme-auth ">=3\.0\.0 <4", but environment production has no version source for acme-auth/);
  assert.match(r.message, /add "acme-auth" under "dependencies:" of environment "production" in greenlight\.yaml \(environments\[\]\.dependencies\.acme-auth\)/);
});

test('compatibility: a source that is down is an error, not a fail', async () => {
  const dead = await deadUrl();
  const r = await check.run(ctx({ 'acme-auth': src({ kind: 'http', url: `${dead}/version`, field: 'version' }) }));
  assert.equal(r.verdict, 'error');
  assert.match(r.message, new RegExp(`^acme-auth version at ${dead}/version: could not connect: ECONNREFUSED; hint: check that ${dead}/version is up`));
});

test('compatibility: garbage, a missing field and an invalid version are errors with clear text', async () => {
  const cases: [string, string][] = [
    ['/garbage', `acme-auth version at ${auth.url}/garbage: the body is not JSON: Service Unavailable`],
    ['/ver', `acme-auth version at ${auth.url}/ver: field "version" is missing in {"ver":"2"}`],
    ['/bad-semver', `acme-auth version at ${auth.url}/bad-semver: "2.4" is not a valid semver version`],
  ];
  for (const [path, message] of cases) {
    const r = await check.run(ctx({ 'acme-auth': src({ kind: 'http', url: `${auth.url}${path}`, field: 'version' }) }));
    assert.equal(r.verdict, 'error', path);
    assert.equal(findings(r)[0]!.message, message);
    assert.ok(r.message.startsWith(message), r.message);
  }
});

test('compatibility: loose: true accepts "2.4" as 2.4.0 when the config asks for it', async () => {
  const r = await check.run(ctx({ 'acme-auth': src({ kind: 'http', url: `${auth.url}/bad-semver`, field: 'version', loose: true }) }, { 'acme-auth': '^2.4.0' }));
  assert.equal(r.verdict, 'pass', r.message);
  assert.equal(findings(r)[0]!.found, '2.4.0');
  assert.equal(findings(r)[0]!.raw, '2.4');
});

test('compatibility: a requirement that is not a semver range is an error', async () => {
  const r = await check.run(ctx({ 'acme-auth': src({ kind: 'fixed', version: '3.0.0' }) }, { 'acme-auth': 'latest please' }));
  assert.equal(r.verdict, 'error');
  assert.match(r.message, /web@2\.0\.0 requires acme-auth "latest please", which is not a semver range/);
});

test('compatibility: a release without requirements passes', async () => {
  const r = await check.run(ctx({}, {}));
  assert.equal(r.verdict, 'pass');
  assert.equal(r.message, 'web@2.0.0 declares no third-party requirements');
});

test('compatibility: the check timeout bounds a slow source', async () => {
  auth.route('/slow', { body: '{"version":"3.0.0"}', delayMs: 3000 });
  const quick = parseCheck('c', { kind: 'compatibility', timeout: '100ms' });
  const r = await quick.run(ctx({ 'acme-auth': src({ kind: 'http', url: `${auth.url}/slow`, field: 'version' }) }));
  assert.equal(r.verdict, 'error');
  assert.match(r.message, /no answer within 100ms/);
});
