// Two controllers on one PostgreSQL store; the leader reaches the database through a TCP proxy
// that the test cuts (packets stop flowing both ways, nothing is refused: a network partition,
// not a crash). The leader gives up at its lease deadline and stops acting, the standby takes
// over and puts the canary back on stable, the CLI pointed at the old leader follows the new one,
// and once the link heals the old leader comes back as a standby. Also: a standby authenticates
// users from the shared log (not only the bootstrap token).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { postgresMissing } from '../../src/store/postgres/testing.ts';
import { cluster, until } from './cluster.ts';
import { steadyClient } from './workspace.ts';

const skip = postgresMissing();

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('leader partitioned from PostgreSQL mid-rollout: it stops acting, the standby takes over, the CLI follows, healed it is a standby', { timeout: 300_000, ...(skip ? { skip } : {}) }, async (t) => {
  const c = await cluster({ partition: true });
  t.after(() => c.close());
  const { ws } = c;
  await ws.setAuthVersion('staging', '3.1.0');
  await ws.setAuthVersion('production', '3.1.0');
  await c.up(0);
  await c.up(1);
  assert.equal((await c.status(0))?.controller.role, 'leader');
  assert.equal((await c.status(1))?.controller.role, 'standby');
  const bootstrap = readFileSync(`${ws.dir}/.greenlight/token`, 'utf8').trim();
  const api = (i: number, path: string, token: string, init: RequestInit = {}) =>
    fetch(`http://${c.addresses[i]}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) }, signal: AbortSignal.timeout(10_000) });

  // users are events of the shared log: the standby authenticates them as the leader does
  const made = await api(0, '/v1/users', bootstrap, { method: 'POST', body: JSON.stringify({ name: 'vera', roles: ['viewer'] }) });
  assert.equal(made.status, 201, await made.clone().text());
  const vera = ((await made.json()) as { token: string }).token;
  const seenByStandby = await until('the standby to know vera', 10_000, async () => {
    const r = await api(1, '/v1/status', vera);
    return r.status === 200 ? ((await r.json()) as { controller: { role: string; leader: string } }) : undefined;
  });
  assert.equal(seenByStandby.controller.role, 'standby');
  assert.equal(seenByStandby.controller.leader, `http://${c.addresses[0]}`);
  const wrong = await api(1, '/v1/status', vera.slice(0, -2) + (vera.endsWith('aa') ? 'bb' : 'aa'));
  assert.equal(wrong.status, 401);
  const notAdmin = await api(1, '/v1/shutdown', vera, { method: 'POST', body: '{}' });
  assert.equal(notAdmin.status, 403, 'a viewer cannot stop a standby');
  assert.match(((await notAdmin.json()) as { error: { message: string } }).error.message, /controller\.shutdown/);

  for (const v of ['1.0.0', '2.0.0']) assert.equal((await ws.cli(['release', 'web', v, '--artifact', `web/v${v[0]}`])).code, 0);
  const first = await ws.cli(['deploy', 'web@1.0.0']);
  assert.equal(first.code, 0, first.stdout + first.stderr);

  const client = steadyClient(`http://127.0.0.1:${ws.ports.production}/`);
  const started = await ws.cli(['deploy', 'web@2.0.0', '--no-follow']);
  assert.equal(started.code, 0, started.stderr);
  const id = started.stdout.trim();
  await until('the canary step in production', 120_000, async () => (await c.events({ types: ['rollout.step.started'] })).some((e) => (e.data as { deploymentId?: string }).deploymentId === id));
  const oldPid = c.pids[0]!;
  const eventsBefore = (await c.events()).length;

  const cutAt = Date.now();
  c.proxy!.cut();
  await until('the standby to take over', 20_000, async () => ((await c.status(1))?.controller.role === 'leader' ? true : undefined));
  const takeoverMs = Date.now() - cutAt;
  // the partitioned leader stopped acting: its process is gone (a replacement waits for the store)
  await until('the partitioned leader to exit', 10_000, async () => !alive(oldPid));
  const log = readFileSync(`${ws.dir}/.greenlight/controller.log`, 'utf8');
  assert.match(log, /leadership lost \(the lease could not be renewed before it expired/);

  // the CLI configured with the old leader's address follows the new one (read from the lease)
  const dep = await until('the interrupted deployment to end', 60_000, async () => {
    const r = await ws.cli(['status', '--json']);
    const s = r.code === 0 ? JSON.parse(r.stdout) : undefined;
    const d = s?.deployments.find((x: { id: string }) => x.id === id);
    return d && d.state !== 'running' ? { s, d } : undefined;
  });
  assert.equal(dep.s.controller.url, `http://${c.addresses[1]}`, JSON.stringify(dep.s.controller));
  assert.equal(dep.s.controller.role, 'leader', JSON.stringify(dep.s.controller));
  assert.equal(dep.d.state, 'failed');
  assert.match(dep.d.reason, /takeover.*production is back on web@1\.0\.0/);
  const prod = dep.s.environments.find((e: { name: string }) => e.name === 'production').services[0];
  assert.deepEqual(prod.router.table.versions.filter((v: { weight: number }) => v.weight > 0).map((v: { version: string }) => v.version), ['1.0.0']);
  const newBand = prod.router.table.revision;
  assert.ok(newBand >= 2_000_000, `the new leader's table is in its own revision band (${newBand})`);
  // a write through the CLI at the old address goes to the new leader
  const silence = await ws.cli(['silence', 'add', 'alertname=Nothing', '--for', '5m', '--comment', 'partition test']);
  assert.equal(silence.code, 0, silence.stdout + silence.stderr);

  // the link heals: the old leader's replacement comes up as a standby and writes nothing
  c.proxy!.heal();
  const back = await until('the old leader to return as a standby', 30_000, async () => {
    const s = await c.status(0);
    return s?.controller.role === 'standby' ? s : undefined;
  });
  c.pids[0] = back.controller.pid;
  assert.notEqual(back.controller.pid, oldPid);
  assert.equal((await c.status(1))?.controller.role, 'leader');
  await new Promise((r) => setTimeout(r, 1000));
  // the router still has the new leader's table: nothing of the old leader's got through
  const after = await ws.cli(['status', '--json']);
  const prodAfter = JSON.parse(after.stdout).environments.find((e: { name: string }) => e.name === 'production').services[0];
  assert.ok(prodAfter.router.table.revision >= newBand);
  assert.deepEqual(prodAfter.router.table.versions.filter((v: { weight: number }) => v.weight > 0).map((v: { version: string }) => v.version), ['1.0.0']);
  // the log is one gapless sequence, no event twice
  const all = await c.events();
  assert.ok(all.length > eventsBefore);
  assert.deepEqual(all.map((e) => e.seq), all.map((_, i) => all[0]!.seq + i));
  assert.equal(new Set(all.map((e) => e.id)).size, all.length);
  const starts = all.filter((e) => e.type === 'controller.started').map((e) => (e.data as { token?: number }).token);
  assert.equal(new Set(starts).size, starts.length, 'each leader token started once');

  await client.stop();
  assert.ok(client.seen.requests > 100);
  assert.equal(client.seen.failed, 0, client.seen.failures.join(' | '));
  t.diagnostic(`partition takeover ${takeoverMs} ms (cut to the standby answering as leader); ${client.seen.requests} client requests, 0 failed`);
});
