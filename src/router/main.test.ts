// The router as the controller runs it: a real child process started from main.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RouterClient } from './client.ts';
import { request, startUpstream } from './testing.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const TOKEN = 'child-token-0123456789abcdef';

interface Started {
  child: ChildProcess;
  ready: { ready: true; listen: string; admin: string; revision: number | null; pid: number };
}

function startChild(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, ['--experimental-strip-types', '--no-warnings', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl !== -1) resolve({ child, ready: JSON.parse(out.slice(0, nl)) as Started['ready'] });
    });
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => reject(Object.assign(new Error(`router exited ${code}: ${err}`), { code, stderr: err })));
  });
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  return exited;
}

test('router process: serves, persists its table, and serves it again after a restart with no admin call', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gl-router-'));
  const stateFile = join(dir, 'state', 'production.json');
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, TOKEN + '\n');
  const up = await startUpstream('v1');
  const args = ['--name', 'production', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--state-file', stateFile, '--token-file', tokenFile];
  let s: Started | undefined;
  try {
    s = await startChild(args);
    assert.equal(s.ready.ready, true);
    assert.equal(s.ready.revision, null);
    const client = new RouterClient({ adminUrl: `http://${s.ready.admin}`, token: TOKEN });
    assert.equal((await client.health()).serving, false);
    const table = { revision: 7, versions: [{ version: 'v1', weight: 1, upstreams: [up.url] }] };
    await client.setTable(table);
    let r = await request(`http://${s.ready.listen}/a`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-greenlight-version'], 'v1');
    assert.deepEqual(JSON.parse(await readFile(stateFile, 'utf8')).table, table);
    assert.equal(await stop(s.child), 0);

    // restarted, nobody calls the admin API: it serves the same routes from the state file
    s = await startChild(args);
    assert.equal(s.ready.revision, 7);
    r = await request(`http://${s.ready.listen}/b`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-greenlight-version'], 'v1');
    const client2 = new RouterClient({ adminUrl: `http://${s.ready.admin}`, token: TOKEN });
    assert.deepEqual(await client2.getTable(), table);
    await assert.rejects(client2.setTable({ ...table, revision: 6 }), /older than the revision 7/);
  } finally {
    if (s) await stop(s.child);
    await up.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('router process: exits non-zero naming the address when the port is in use', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gl-router-'));
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, TOKEN);
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const err = (await startChild(['--name', 'staging', '--listen', `127.0.0.1:${port}`, '--admin', '127.0.0.1:0', '--state-file', join(dir, 's.json'), '--token-file', tokenFile]).then(
      () => assert.fail('should not start'),
      (e: unknown) => e,
    )) as { code: number; stderr: string };
    assert.equal(err.code, 2);
    assert.match(err.stderr, new RegExp(`127\\.0\\.0\\.1:${port}.*already in use`));
    assert.match(err.stderr, /hint: .*stop it, or start this router with another address/);
  } finally {
    blocker.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('router process: refuses to start on a missing token file, with usage', async () => {
  const err = (await startChild(['--name', 'x', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--state-file', '/nonexistent/s.json', '--token-file', '/nonexistent/token']).then(
    () => assert.fail('should not start'),
    (e: unknown) => e,
  )) as { code: number; stderr: string };
  assert.equal(err.code, 2);
  assert.match(err.stderr, /cannot read the admin token file \/nonexistent\/token/);
});

test('router process: refuses health check settings that cannot work, naming each', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gl-router-main-'));
  try {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, TOKEN);
    const err = (await startChild(['--name', 'x', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--state-file', join(dir, 's.json'), '--token-file', tokenFile, '--health-check', '{"intervalMs":100,"timeoutMs":300}']).then(
      () => assert.fail('expected the router to refuse'),
      (e: unknown) => e,
    )) as { code: number; stderr: string };
    assert.equal(err.code, 2);
    assert.match(err.stderr, /--health-check: timeout 300 ms must be from 10 ms to the interval \(100 ms\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
