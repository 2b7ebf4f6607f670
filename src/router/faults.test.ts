// Drill faults in the router: what they do to traffic, and that they are bounded by the router's
// own clock, persisted with their absolute expiry, and gone after a restart past that expiry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../clock/clock.ts';
import { createRouter } from './router.ts';
import { RouterClient } from './client.ts';
import type { FaultRequest } from './faults.ts';
import { request, startUpstream } from './testing.ts';

const TOKEN = 'faults-token-0123456789abcdef';

async function fixture(clock: ManualClock, stateFile?: string) {
  const router = createRouter({ name: 'staging/web', adminToken: TOKEN, clock, ...(stateFile ? { stateFile } : {}) });
  const p = await router.listen('127.0.0.1:0');
  const a = await router.listenAdmin('127.0.0.1:0');
  return {
    router,
    base: `http://127.0.0.1:${p.port}`,
    client: new RouterClient({ adminUrl: `http://127.0.0.1:${a.port}`, token: TOKEN }),
    async close() {
      router.destroyConnections();
      await router.close();
    },
  };
}

test('an error fault hits exactly its share of one version, marked DRILL, and expires by the router clock', async (t) => {
  const clock = new ManualClock();
  const v1 = await startUpstream('v1');
  const v2 = await startUpstream('v2');
  const f = await fixture(clock);
  t.after(async () => {
    await f.close();
    await v1.close();
    await v2.close();
  });
  await f.router.setTable({ revision: 1, versions: [{ version: '2.0.0', weight: 1, upstreams: [v2.url] }, { version: '1.0.0', weight: 0, upstreams: [v1.url] }] });
  const put = await f.client.putFault({ id: 'd1-errors', drill: 'd1', version: '2.0.0', kind: 'error', share: 0.25, status: 503, ttlMs: 60_000 });
  assert.equal(put.expiresAt, clock.now() + 60_000, 'absolute expiry by the router clock');

  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) {
    const r = await request(f.base + '/');
    statuses.push(r.status);
    if (r.status === 503) {
      assert.equal(r.headers['x-greenlight-drill'], 'd1');
      assert.match(r.body, /DRILL d1/);
    }
  }
  assert.deepEqual(statuses, [200, 200, 200, 503, 200, 200, 200, 503]);
  const stats = f.router.stats();
  assert.equal(JSON.stringify(stats).includes('"2.0.0"'), true);
  assert.equal((await f.client.faults()).faults[0]!.injected, 2);

  // a fault on another version leaves this one alone
  await f.client.putFault({ id: 'd1-other', drill: 'd1', version: '1.0.0', kind: 'error', ttlMs: 120_000 });
  await clock.advance(60_000);
  assert.deepEqual((await f.client.faults()).faults.map((x) => x.id), ['d1-other'], 'the first fault expired on its own timer');
  for (let i = 0; i < 4; i++) assert.equal((await request(f.base + '/')).status, 200);
  assert.equal(await f.client.removeFaults('d1'), 1);
  assert.equal(f.router.faults.count, 0);
});

test('an environment-wide latency fault delays every version; a drop fault cuts the connection and counts as an error', async (t) => {
  const clock = new ManualClock();
  const v1 = await startUpstream('v1');
  const f = await fixture(clock);
  t.after(async () => {
    await f.close();
    await v1.close();
  });
  await f.router.setTable({ revision: 1, versions: [{ version: '1.0.0', weight: 1, upstreams: [v1.url] }] });
  await f.client.putFault({ id: 'slow', drill: 'd2', kind: 'latency', latencyMs: 5_000, ttlMs: 60_000 });
  let answered = false;
  const pending = request(f.base + '/').then((r) => {
    answered = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(answered, false, 'held by the added latency');
  await clock.advance(5_000);
  assert.equal((await pending).status, 200);

  await f.client.removeFaults();
  await f.client.putFault({ id: 'drop', drill: 'd2', kind: 'drop', ttlMs: 60_000 });
  await assert.rejects(request(f.base + '/'), /socket hang up|ECONNRESET/);
  const before = f.router.stats();
  assert.match(JSON.stringify(before), /"connectionErrors":1/);
});

test('faults are refused without a drill, without a limit or beyond the maximum', async (t) => {
  const f = await fixture(new ManualClock());
  t.after(() => f.close());
  await assert.rejects(f.client.putFault({ id: 'x', kind: 'error', ttlMs: 1000 } as unknown as FaultRequest), /drill/);
  await assert.rejects(f.client.putFault({ id: 'x', drill: 'd', kind: 'error' } as unknown as FaultRequest), /ttlMs/);
  await assert.rejects(f.client.putFault({ id: 'x', drill: 'd', kind: 'error', ttlMs: 5 * 3600_000 }), /ttlMs/);
  await assert.rejects(f.client.putFault({ id: 'x', drill: 'd', kind: 'latency', ttlMs: 1000 }), /latencyMs/);
});

test('faults are persisted with their absolute expiry; a router restarted before it keeps them, after it drops them', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gl-faults-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const stateFile = join(dir, 'staging-web.json');
  const clock = new ManualClock();
  const a = await fixture(clock, stateFile);
  const put = await a.client.putFault({ id: 'e', drill: 'd3', kind: 'error', ttlMs: 30_000 });
  await a.close();
  const saved = JSON.parse(await readFile(join(dir, 'staging-web.faults.json'), 'utf8')) as { faults: { expiresAt: number }[] };
  assert.equal(saved.faults[0]!.expiresAt, put.expiresAt);

  const b = await fixture(clock, stateFile);
  await b.router.loadState();
  assert.equal(b.router.faults.count, 1, 'still in force after a restart before the expiry');
  await b.close();
  await clock.advance(30_000);
  const c = await fixture(clock, stateFile);
  t.after(() => c.close());
  await c.router.loadState();
  assert.equal(c.router.faults.count, 0, 'past its expiry: not restored');
});

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

test('router process: a fault expires by the router\'s own clock with nobody left to remove it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gl-faults-proc-'));
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, TOKEN + '\n');
  const up = await startUpstream('v1');
  const child: ChildProcess = spawn(process.execPath, ['--no-warnings', MAIN, '--name', 'staging', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--state-file', join(dir, 'state.json'), '--token-file', tokenFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await up.close();
    await rm(dir, { recursive: true, force: true });
  });
  const ready = await new Promise<{ listen: string; admin: string }>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
    });
    child.once('exit', (code) => reject(new Error(`router exited ${code}`)));
  });
  const client = new RouterClient({ adminUrl: `http://${ready.admin}`, token: TOKEN });
  await client.setTable({ revision: 1, versions: [{ version: '1.0.0', weight: 1, upstreams: [up.url] }] });
  await client.putFault({ id: 'short', drill: 'd4', kind: 'error', ttlMs: 300 });
  assert.equal((await request(`http://${ready.listen}/`)).status, 500);
  // the controller that pushed it is this test, and it does nothing more: the router must expire it
  for (const until = Date.now() + 20_000; (await client.faults()).faults.length > 0; ) {
    assert.ok(Date.now() < until, 'the fault did not expire');
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal((await request(`http://${ready.listen}/`)).status, 200);
  // the expiry timer rewrites the state file (the fault is inactive from its expiry on regardless)
  const saved = async () => (JSON.parse(await readFile(join(dir, 'state.faults.json'), 'utf8')) as { faults: unknown[] }).faults;
  for (const until = Date.now() + 20_000; (await saved()).length > 0; ) {
    assert.ok(Date.now() < until, 'the state file still holds the expired fault');
    await new Promise((r) => setTimeout(r, 50));
  }
});
