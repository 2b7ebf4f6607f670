// Approvals end to end on the real CLI and controller: production needs one approval from someone
// other than the requester. alice's deploy waits in production; alice cannot approve her own; bob
// approves and it proceeds. Then alice breaks the glass straight into production (bob approves
// again): the canary fails on the old acme-auth, and her authenticated name is in status, in the
// incident and in its postmortem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { workspace, type Workspace } from './workspace.ts';

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const eventsOf = async (ws: Workspace, type: string) =>
  (await ws.cli(['events', '--type', type, '--json'])).stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { actor: string; data: Record<string, unknown> });

test('approvals: production waits for bob; alice cannot approve her own; her break-glass carries her name everywhere', { timeout: 360_000 }, async (t) => {
  const ws = await workspace();
  t.after(() => ws.close());
  appendFileSync(ws.config, '\naccess:\n  environments:\n    production:\n      approvals: { required: 1, timeout: 30m }\n      break_glass: [deployer, admin]\n      break_glass_review: approval\n');
  assert.equal((await ws.cli(['validate'])).code, 0);
  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  const tokenOf = async (name: string, ...roles: string[]) => (await ws.cli(['user', 'add', name, '--role', ...roles])).stdout.trim().split('\n').at(-1)!;
  const alice = { GREENLIGHT_TOKEN: await tokenOf('alice', 'deployer', 'approver') /* she may approve, just not her own */ };
  const bob = { GREENLIGHT_TOKEN: await tokenOf('bob', 'approver') };

  for (const v of ['1.0.0', '2.0.0']) assert.equal((await ws.cli(['release', 'web', v, '--artifact', `web/v${v[0]}`], { env: alice })).code, 0);
  const started = await ws.cli(['deploy', 'web@1.0.0', '--no-follow'], { env: alice });
  assert.equal(started.code, 0, started.stderr);
  const id = started.stdout.trim();

  // staging needs no approval; production waits, with nothing started there
  await until('the approval request', async () => ((await eventsOf(ws, 'approval.requested')).some((e) => e.data.deploymentId === id) ? true : undefined));
  const status = await ws.cli(['status']);
  assert.match(status.stdout, new RegExp(`${id} web@1\\.0\\.0 running.*waiting for approval in production: 0 of 1, requested by user:alice`));
  const prod = JSON.parse((await ws.cli(['status', '--json'])).stdout).environments.find((e: { name: string }) => e.name === 'production').services[0];
  assert.equal(prod.stable, null, 'production untouched while waiting');

  const own = await ws.cli(['approve', id], { env: alice });
  assert.equal(own.code, 2);
  assert.match(own.stderr, new RegExp(`user:alice requested deployment ${id} and cannot approve it: approvals must come from someone else`));
  const byBob = await ws.cli(['approve', id, '--comment', 'looks fine'], { env: bob });
  assert.equal(byBob.code, 0, byBob.stderr);
  assert.match(byBob.stdout, /approved .* in production \(1 of 1\): it proceeds/);
  await until('the promotion', async () => {
    const d = JSON.parse((await ws.cli(['status', '--json'])).stdout).deployments.find((x: { id: string }) => x.id === id);
    return d.state === 'running' ? undefined : d;
  });
  assert.match((await ws.cli(['status'])).stdout, new RegExp(`${id} web@1\\.0\\.0 promoted \\[approved in production by user:bob\\]`));
  assert.deepEqual((await eventsOf(ws, 'approval.refused')).map((e) => e.actor), ['user:alice']);
  assert.deepEqual((await eventsOf(ws, 'approval.granted')).map((e) => [e.actor, e.data.comment]), [['user:bob', 'looks fine']]);

  // a break-glass by alice straight into production, approved by bob; v2 fails against acme-auth 2.4.1
  const forced = await ws.cli(['deploy', 'web@2.0.0', '--force', '--reason', 'hotfix for the login page', '--env', 'production', '--no-follow'], { env: { ...alice, GREENLIGHT_ACTOR: 'bob' } });
  assert.equal(forced.code, 0, forced.stderr);
  const id2 = forced.stdout.trim();
  await until('the break-glass approval request', async () => ((await eventsOf(ws, 'approval.requested')).find((e) => e.data.deploymentId === id2 && e.data.breakGlass === true) ? true : undefined));
  assert.equal((await ws.cli(['approve', id2], { env: alice })).code, 2, 'nor her own break-glass');
  assert.equal((await ws.cli(['approve', id2], { env: bob })).code, 0);
  // the canary fails on every request once traffic arrives (bounded: 3000 rounds)
  let ended: { state: string; overrides: { actor: string; reason: string }[] } | undefined;
  for (let i = 0; i < 3000 && !ended; i++) {
    const d = JSON.parse((await ws.cli(['status', '--json'])).stdout).deployments.find((x: { id: string }) => x.id === id2);
    if (d.state !== 'running') ended = d;
    else await Promise.all(Array.from({ length: 20 }, () => fetch(`http://127.0.0.1:${ws.ports.production}/`).then((r) => r.text()).catch(() => '')));
  }
  assert.equal(ended?.state, 'rolled_back');
  assert.deepEqual(ended.overrides.map((o) => [o.actor, o.reason]), [['user:alice', 'hotfix for the login page']]);
  assert.match((await ws.cli(['status'])).stdout, /\[break-glass in production by user:alice: "hotfix for the login page"\]/);

  const inc = await until('the incident', async () => {
    const list = JSON.parse((await ws.cli(['incident', 'list', '--json'])).stdout).incidents as { id: string; deploymentIds: string[] }[];
    return list.find((i) => i.deploymentIds.includes(id2));
  });
  const shown = JSON.parse((await ws.cli(['incident', 'show', inc.id, '--json'])).stdout);
  assert.deepEqual(shown.breakGlass.map((b: { actor: string }) => b.actor), ['user:alice']);
  const pm = (await ws.cli(['postmortem', inc.id])).stdout.replace(/\s+/g, ' ');
  assert.match(pm, /The production gate was bypassed with a break-glass by alice: 'hotfix for the login page'/);
  assert.match(pm, /- \[ \] this release skipped staging with a break-glass by alice: 'hotfix for the login page' — review why the gate was bypassed/);
  assert.match(pm, /\| production: approved by bob \| bob \|/, 'the approval is in the timeline');
});
