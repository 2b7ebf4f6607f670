// The approvals panel in a real browser on a real controller: production needs one approval; alice's
// deployment waits there; alice, signed in, is told approvals must come from someone else; bob,
// signed in with his own token, approves from the page and the deployment is promoted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startController, type Controller } from '../src/app/controller.ts';
import { createWorkspace, type DemoWorkspace } from '../src/demo/workspace.ts';
import { registerRelease } from '../src/releases/releases.ts';
import { dashboardUrl } from '../src/api/dashboard.ts';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: the approvals browser test needs Debian's chromium (apt-get install -y chromium)`;
if (skip) console.log(`# SKIPPED approvals browser test: ${skip}`);

test('dashboard approvals: the requester cannot approve her own; bob approves from the page and it proceeds', { skip, timeout: 180_000 }, async (t) => {
  let ws: DemoWorkspace | undefined;
  let c: Controller | undefined;
  let browser: Browser | undefined;
  t.after(async () => {
    await browser?.close().catch(() => undefined);
    await c?.stop({ stopAll: true }).catch(() => undefined);
    await ws?.close().catch(() => undefined);
  });
  ws = await createWorkspace({ prefix: 'gl-approvals-', authVersion: '3.1.0' });
  appendFileSync(ws.config, '\naccess:\n  environments:\n    production:\n      approvals: { required: 1 }\n');
  c = await startController({ configPath: ws.config });
  const ctl = c;
  const user = async (name: string, roles: string[]) => {
    const r = await fetch(`${ctl.url}/v1/users`, { method: 'POST', headers: { authorization: `Bearer ${ctl.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name, roles }) });
    return ((await r.json()) as { token: string }).token;
  };
  const alice = await user('alice', ['deployer', 'approver']);
  const bob = await user('bob', ['approver']);
  await registerRelease({ service: 'web', version: '1.0.0', artifact: `${ws.dir}/web/v1`, actor: 'user:alice' }, { config: ctl.config, stateDir: ctl.loaded.stateDir, events: ctl.events, state: async () => ctl.state.view });
  const dep = await fetch(`${ctl.url}/v1/deployments`, { method: 'POST', headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' }, body: JSON.stringify({ service: 'web', version: '1.0.0' }) });
  const { id } = (await dep.json()) as { id: string };

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  const problems: string[] = [];
  const asAlice = await (await browser.newContext()).newPage();
  asAlice.on('pageerror', (e) => problems.push(e.message));
  await asAlice.goto(dashboardUrl(ctl.url, alice));
  const mine = asAlice.locator(`#approvals li[data-deployment="${id}"]`);
  await mine.waitFor({ timeout: 60_000 });
  await mine.getByText('You requested it: approvals must come from someone else.').waitFor();
  assert.equal(await mine.getByRole('button', { name: 'Approve' }).count(), 0);
  assert.match(await mine.innerText(), /web@1\.0\.0 into production[\s\S]*requested by user:alice · 0 of 1 approval/);

  const asBob = await (await browser.newContext()).newPage();
  asBob.on('pageerror', (e) => problems.push(e.message));
  await asBob.goto(dashboardUrl(ctl.url, bob));
  const card = asBob.locator(`#approvals li[data-deployment="${id}"]`);
  await card.waitFor({ timeout: 15_000 });
  await card.getByRole('button', { name: 'Approve' }).click();
  for (let i = 0; i < 600 && ctl.state.view.deployments.get(id)?.state === 'running'; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(ctl.state.view.deployments.get(id)?.state, 'promoted');
  const granted = (await ctl.events.query({ types: ['approval.granted'] }))[0]!;
  assert.equal(granted.actor, 'user:bob');
  await asBob.locator('#approvals', { hasText: 'No deployment is waiting for approval.' }).waitFor({ timeout: 15_000 });
  await asAlice.locator('#approvals', { hasText: 'No deployment is waiting for approval.' }).waitFor({ timeout: 15_000 });
  assert.deepEqual(problems, []);
});
