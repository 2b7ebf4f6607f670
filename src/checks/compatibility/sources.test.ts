import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../clock/clock.ts';
import { GreenlightError } from '../../errors/errors.ts';
import { deadUrl, startTestServer } from '../http/test-server.ts';
import { dependencySourceContract } from './sources.contract.ts';
import { dependencySourceSchema, readDependencyVersion, type DependencySource } from './sources.ts';

// The contract, once per kind (and per way of using it).
dependencySourceContract('http source, JSON field', async (reported, loose) => {
  const s = await startTestServer({ '/version': { body: JSON.stringify({ name: 'acme-auth', build: { version: reported } }) } });
  return { spec: dependencySourceSchema.parse({ kind: 'http', url: `${s.url}/version`, field: 'build.version', loose }), close: () => s.close() };
});
dependencySourceContract('http source, plain-text body', async (reported, loose) => {
  const s = await startTestServer({ '/version': { body: `${reported}\n` } });
  return { spec: dependencySourceSchema.parse({ kind: 'http', url: `${s.url}/version`, loose }), close: () => s.close() };
});
dependencySourceContract('command source, stdout', async (reported, loose) => ({
  spec: dependencySourceSchema.parse({ kind: 'command', command: ['printf', '%s\n', reported], loose }),
}));
dependencySourceContract('command source, match', async (reported, loose) => ({
  spec: dependencySourceSchema.parse({ kind: 'command', command: ['printf', 'acme-auth server\nversion: %s (linux)\n', reported], match: 'version: (.+) \\(', loose }),
}));
dependencySourceContract('fixed source', async (reported, loose) => ({ spec: dependencySourceSchema.parse({ kind: 'fixed', version: reported, loose }) }));

const server = await startTestServer({
  '/version': { body: '{"version":"2.4.1"}' },
  '/ver': { body: '{"ver":"2"}' },
  '/garbage': { body: '<html>Service Unavailable</html>' },
  '/unavailable': { status: 503, body: 'maintenance' },
  '/object': { body: '{"version":{"major":2}}' },
  '/empty': { body: '' },
  '/hang': { body: '1.0.0', delayMs: 3000 },
});
after(() => server.close());

const read = (spec: Record<string, unknown>) => readDependencyVersion('acme-auth', dependencySourceSchema.parse(spec) as DependencySource, { clock: systemClock });

async function unreadable(spec: Record<string, unknown>, message: string | RegExp, retryable?: boolean): Promise<void> {
  await assert.rejects(read(spec), (err: unknown) => {
    assert.ok(err instanceof GreenlightError, String(err));
    assert.equal(err.code, 'DEPENDENCY_UNREADABLE');
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    if (retryable !== undefined) assert.equal(err.retryable, retryable);
    return true;
  });
}

test('http source: says where it read the version', async () => {
  const v = await read({ kind: 'http', url: `${server.url}/version`, field: 'version' });
  assert.equal(v.version, '2.4.1');
  assert.equal(v.where, `${server.url}/version, field "version"`);
});

test('http source: a missing field names the field and quotes the body', async () => {
  await unreadable({ kind: 'http', url: `${server.url}/ver`, field: 'version' }, `acme-auth version at ${server.url}/ver: field "version" is missing in {"ver":"2"}`, false);
});

test('http source: a body that is not JSON is unreadable, quoting it', async () => {
  await unreadable({ kind: 'http', url: `${server.url}/garbage`, field: 'version' }, `acme-auth version at ${server.url}/garbage: the body is not JSON: <html>Service Unavailable</html>`);
});

test('http source: a non-2xx answer is unreadable with the status and body', async () => {
  await unreadable({ kind: 'http', url: `${server.url}/unavailable`, field: 'version' }, `acme-auth version at ${server.url}/unavailable: HTTP 503 with body maintenance`, true);
});

test('http source: a field that is not a string or number is unreadable', async () => {
  await unreadable({ kind: 'http', url: `${server.url}/object`, field: 'version' }, `acme-auth version at ${server.url}/object: field "version" is an object, not a version: {"major":2}`);
});

test('http source: an empty plain-text body is unreadable', async () => {
  await unreadable({ kind: 'http', url: `${server.url}/empty` }, `acme-auth version at ${server.url}/empty: the body is empty`);
});

test('http source: an endpoint that is down is unreadable, retryable, naming the URL', async () => {
  const dead = await deadUrl();
  await unreadable({ kind: 'http', url: `${dead}/version`, field: 'version' }, `acme-auth version at ${dead}/version: could not connect: ECONNREFUSED`, true);
});

test('http source: an endpoint that does not answer in time is unreadable', async () => {
  await unreadable({ kind: 'http', url: `${server.url}/hang`, timeout: '100ms' }, `acme-auth version at ${server.url}/hang: no answer within 100ms`, true);
});

test('http source: configured headers are sent', async () => {
  const before = server.requests.length;
  await read({ kind: 'http', url: `${server.url}/version`, field: 'version', headers: { authorization: 'Bearer t0ken' } });
  assert.equal(server.requests.slice(before)[0]!.headers.authorization, 'Bearer t0ken');
});

test('command source: a failing command is unreadable with its exit code and stderr', async () => {
  await unreadable({ kind: 'command', command: 'echo "acme-auth: connection refused" >&2; exit 2' }, 'acme-auth version from command "echo "acme-auth: connection refused" >&2; exit 2": it exited with 2: acme-auth: connection refused');
});

test('command source: output that does not match is unreadable, quoting it', async () => {
  await unreadable({ kind: 'command', command: 'echo hello', match: 'version (\\S+)' }, 'acme-auth version from command "echo hello": its output does not match /version (\\S+)/: hello');
});

test('command source: a command that hangs is killed and unreadable', async () => {
  await unreadable({ kind: 'command', command: 'sleep 30', timeout: '100ms' }, /from command "sleep 30": it did not finish within 100ms and was killed/);
});

test('source config is strict and checks what it can up front', () => {
  assert.equal(dependencySourceSchema.safeParse({ kind: 'http', url: 'http://127.0.0.1:7101/version', field: 'version', timeout: '2s' }).success, true);
  assert.equal(dependencySourceSchema.safeParse({ kind: 'http', url: 'ftp://x/version' }).success, false);
  assert.equal(dependencySourceSchema.safeParse({ kind: 'http', url: 'http://x', feild: 'version' }).success, false);
  assert.equal(dependencySourceSchema.safeParse({ kind: 'command', command: 'x', match: 'no group' }).success, false);
  assert.equal(dependencySourceSchema.safeParse({ kind: 'command', command: 'x', match: 'v(\\d+' }).success, false);
  assert.equal(dependencySourceSchema.safeParse({ kind: 'fixed' }).success, false);
  assert.equal(dependencySourceSchema.safeParse({ kind: 'consul', key: 'x' }).success, false);
});
