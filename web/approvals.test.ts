// The approvals panel in a real browser on a real controller: production needs one approval; alice's
// deployment waits there; alice, signed in, is told approvals must come from someone else; bob,
// signed in with his own token, approves from the page and the deployment is promoted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { dashboardUrl } from '../src/api/dashboard.ts';
import { browserSkip, startRig } from './testing.ts';

const skip = browserSkip('approvals');

test('dashboard approvals: the requester cannot approve her own; bob approves from the page and it proceeds', { skip, timeout: 180_000 }, async (t) => {
  const rig = await startRig(t, {
    workspace: { prefix: 'gl-approvals-', authVersion: '3.1.0' },
    configure: (ws) => appendFileSync(ws.config, '\naccess:\n  environments:\n    production:\n      approvals: { required: 1 }\n'),
  });
  const { ctl } = rig;
  const user = async (name: string, roles: string[]) => {
    const r = await fetch(`${ctl.url}/v1/users`, { method: 'POST', headers: { authorization: `Bearer ${ctl.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name, roles }) });
    return ((await r.json()) as { token: string }).token;
  };
  const alice = await user('alice', ['deployer', 'approver']);
  const bob = await user('bob', ['approver']);
  await rig.register('1.0.0', 'user:alice');
  const dep = await fetch(`${ctl.url}/v1/deployments`, { method: 'POST', headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' }, body: JSON.stringify({ service: 'web', version: '1.0.0' }) });
  const { id } = (await dep.json()) as { id: string };

  const { page: asAlice, problems } = await rig.open(dashboardUrl(ctl.url, alice));
  const mine = asAlice.locator(`#approvals li[data-deployment="${id}"]`);
  await mine.waitFor({ timeout: 60_000 });
  await mine.getByText('You requested it: approvals must come from someone else.').waitFor();
  assert.equal(await mine.getByRole('button', { name: 'Approve' }).count(), 0);
  assert.match(await mine.innerText(), /web@1\.0\.0 into production[\s\S]*requested by user:alice · 0 of 1 approval/);

  const { page: asBob, problems: bobsProblems } = await rig.open(dashboardUrl(ctl.url, bob));
  const card = asBob.locator(`#approvals li[data-deployment="${id}"]`);
  await card.waitFor({ timeout: 15_000 });
  await card.getByRole('button', { name: 'Approve' }).click();
  for (let i = 0; i < 600 && ctl.state.view.deployments.get(id)?.state === 'running'; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(ctl.state.view.deployments.get(id)?.state, 'promoted');
  const granted = (await ctl.events.query({ types: ['approval.granted'] }))[0]!;
  assert.equal(granted.actor, 'user:bob');
  await asBob.locator('#approvals', { hasText: 'No deployment is waiting for approval.' }).waitFor({ timeout: 15_000 });
  await asAlice.locator('#approvals', { hasText: 'No deployment is waiting for approval.' }).waitFor({ timeout: 15_000 });
  assert.deepEqual([...problems, ...bobsProblems], []);
});
