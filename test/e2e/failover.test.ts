// Two controllers on one PostgreSQL store. The leader is killed (SIGKILL) while a canary rollout
// has traffic and a page is waiting for its acknowledgement; the standby takes over, puts
// production back on stable with no client request failing, escalates the page on time, and the
// old leader, restarted, comes back as a standby.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { postgresMissing } from '../../src/store/postgres/testing.ts';
import { cluster, until } from './cluster.ts';
import { steadyClient } from './workspace.ts';

const skip = postgresMissing();

test('leader killed mid-rollout with a page pending: the standby takes over, rolls back safely, escalates on time; the old leader returns as standby', { timeout: 300_000, ...(skip ? { skip } : {}) }, async (t) => {
  const c = await cluster();
  t.after(() => c.close());
  const { ws } = c;
  await ws.setAuthVersion('staging', '3.1.0');
  await ws.setAuthVersion('production', '3.1.0');
  await c.up(0);
  await c.up(1);
  assert.equal((await c.status(0))?.controller.role, 'leader');
  assert.equal((await c.status(1))?.controller.role, 'standby');
  for (const v of ['1.0.0', '2.0.0']) assert.equal((await ws.cli(['release', 'web', v, '--artifact', `web/v${v[0]}`])).code, 0);
  // a write sent to the standby is followed to the leader by the CLI
  const viaStandby = await ws.cli(['deploy', 'web@1.0.0'], { env: { GREENLIGHT_URL: `http://${c.addresses[1]}` } });
  assert.equal(viaStandby.code, 0, viaStandby.stdout + viaStandby.stderr);

  const client = steadyClient(`http://127.0.0.1:${ws.ports.production}/`);
  const started = await ws.cli(['deploy', 'web@2.0.0', '--no-follow']);
  assert.equal(started.code, 0, started.stderr);
  const id = started.stdout.trim();
  await until('the canary step in production', 120_000, async () => (await c.events({ types: ['rollout.step.started'] })).some((e) => (e.data as { deploymentId?: string }).deploymentId === id));

  // a page for alice, whose 8 s acknowledgement timeout runs across the kill
  const token = (await import('node:fs')).readFileSync(`${ws.dir}/.greenlight/token`, 'utf8').trim();
  const fired = await fetch(`http://${c.addresses[0]}/v1/alerts`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify([{ labels: { alertname: 'WebDown', severity: 'page' }, annotations: { summary: 'web is down' } }]) });
  assert.ok(fired.ok, await fired.text());
  const sent = await until('the first page', 20_000, async () => (await c.events({ types: ['page.sent'] }))[0]);
  const dueAt = (sent.data as { dueAt: number }).dueAt;
  assert.deepEqual(c.pages.map((p) => p.user), ['Alice']);

  const killedAt = Date.now();
  process.kill(c.pids[0]!, 'SIGKILL');
  const leader = await until('the standby to take over', 15_000, async () => ((await c.status(1))?.controller.role === 'leader' ? true : undefined));
  const takeoverMs = Date.now() - killedAt;
  assert.ok(leader);
  assert.ok(takeoverMs < 10_000, `took over in ${takeoverMs} ms`);

  // the rollout ends: back on stable (the canary's evidence died with the old leader)
  const dep = await until('the interrupted deployment to end', 60_000, async () => {
    const r = await ws.cli(['status', '--json'], { env: { GREENLIGHT_URL: `http://${c.addresses[1]}` } });
    const s = r.code === 0 ? JSON.parse(r.stdout) : undefined;
    const d = s?.deployments.find((x: { id: string }) => x.id === id);
    return d && d.state !== 'running' ? { s, d } : undefined;
  });
  assert.equal(dep.d.state, 'failed');
  assert.match(dep.d.reason, /takeover.*production is back on web@1\.0\.0/);
  const prod = dep.s.environments.find((e: { name: string }) => e.name === 'production').services[0];
  assert.deepEqual(prod.router.table.versions.filter((v: { weight: number }) => v.weight > 0).map((v: { version: string }) => v.version), ['1.0.0']);
  assert.ok(prod.router.table.revision >= 2_000_000, `the new leader's table is in its own revision band (${prod.router.table.revision})`);
  const phase = (await c.events({ types: ['deployment.environment.failed'] })).find((e) => (e.data as { deploymentId?: string }).deploymentId === id)!;
  // the phase is the environment's last recorded stage (normally canary; an instance-ready stage event can land after it)
  assert.match((phase.data as { phase: string }).phase, /^(canary|instances)$/);
  assert.equal((phase.data as { recovery: string }).recovery, 'put back on stable');

  // the escalation set before the kill fires on time, or within 1 s after the takeover marked late
  const escalated = await until('the escalation', 30_000, async () => (await c.events({ types: ['page.escalated'] }))[0]);
  const late = (escalated.data as { lateByMs?: number }).lateByMs ?? 0;
  assert.ok(escalated.time - dueAt <= 1000, `escalated ${escalated.time - dueAt} ms after it was due`);
  assert.ok(late <= 1000);
  await until('carol to be paged', 10_000, async () => c.pages.some((p) => p.user === 'Carol'));

  // the old leader, restarted, is a standby
  await c.up(0);
  assert.equal((await c.status(0))?.controller.role, 'standby');
  assert.equal((await c.status(1))?.controller.role, 'leader');

  await new Promise((r) => setTimeout(r, 500));
  await client.stop();
  assert.ok(client.seen.requests > 100);
  assert.equal(client.seen.failed, 0, client.seen.failures.join(' | '));
  t.diagnostic(`takeover ${takeoverMs} ms; escalation ${escalated.time - dueAt} ms after due; ${client.seen.requests} client requests, 0 failed`);
});
