// The signed approval link in a page, end to end on a real controller and a real browser:
// production needs one approval; alice's deployment waits; the page (a webhook notification)
// carries a signed link; a tampered or expired link is refused with a clear message (and a refused
// attempt is recorded); the link alone approves nothing (a viewer is refused, alice cannot approve
// her own); bob follows it, signs in with his own token, confirms, and the deployment proceeds,
// recorded as bob, via the link.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Browser } from 'playwright-core';
import { startController, type Controller } from '../src/app/controller.ts';
import { createWorkspace, type DemoWorkspace } from '../src/demo/workspace.ts';
import { registerRelease } from '../src/releases/releases.ts';
import { buildApprovalUrl } from '../src/approvals/links.ts';
import { freePort } from '../src/app/free-port.ts';
import { browserSkip, launchChromium } from './testing.ts';

const skip = browserSkip('approval link');
const SECRET = 'approval-link-test-secret-0123456789';

test('signed approval link: tampered and expired refused, not a bearer credential, bob approves through it after signing in', { skip, timeout: 180_000 }, async (t) => {
  let ws: DemoWorkspace | undefined;
  let c: Controller | undefined;
  let browser: Browser | undefined;
  const notifications: { labels: Record<string, string>; annotations: Record<string, string>; action: string }[] = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      try {
        notifications.push(JSON.parse(body));
      } catch {
        /* not a notification */
      }
      res.writeHead(200).end('{}');
    });
  });
  const hookPort = await freePort();
  await new Promise<void>((r) => hook.listen(hookPort, '127.0.0.1', () => r()));
  t.after(async () => {
    await browser?.close().catch(() => undefined);
    await c?.stop({ stopAll: true }).catch(() => undefined);
    await ws?.close().catch(() => undefined);
    hook.close();
  });
  ws = await createWorkspace({ prefix: 'gl-approval-link-', authVersion: '3.1.0' });
  appendFileSync(
    ws.config,
    `
access:
  environments:
    production:
      approvals: { required: 1 }
alerting:
  route: { receiver: approvers, group_by: [alertname, deployment], group_wait: 0s, group_interval: 1m, repeat_interval: 1h }
  receivers:
    - name: approvers
      notifiers:
        - { kind: webhook, url: "http://127.0.0.1:${hookPort}/page", retry: { attempts: 1 } }
  action_links: { base_url: "http://127.0.0.1:${ws.ports.controller}/v1/action", secret: "${SECRET}" }
`,
  );
  c = await startController({ configPath: ws.config });
  const ctl = c;
  const user = async (name: string, roles: string[]) => {
    const r = await fetch(`${ctl.url}/v1/users`, { method: 'POST', headers: { authorization: `Bearer ${ctl.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name, roles }) });
    return ((await r.json()) as { token: string }).token;
  };
  const alice = await user('alice', ['deployer', 'approver']);
  const bob = await user('bob', ['approver']);
  const vera = await user('vera', ['viewer']);
  await registerRelease({ service: 'web', version: '1.0.0', artifact: `${ws.dir}/web/v1`, actor: 'user:alice' }, { config: ctl.config, stateDir: ctl.loaded.stateDir, events: ctl.events, state: async () => ctl.state.view });
  const dep = await fetch(`${ctl.url}/v1/deployments`, { method: 'POST', headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' }, body: JSON.stringify({ service: 'web', version: '1.0.0' }) });
  const { id } = (await dep.json()) as { id: string };

  // the page about the waiting deployment carries the signed link
  let page: (typeof notifications)[number] | undefined;
  for (let i = 0; i < 600 && !page; i++) {
    page = notifications.find((n) => n.labels.alertname === 'ApprovalWaiting' && n.action === 'trigger');
    if (!page) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(page, 'a page about the waiting deployment');
  const link = page.annotations.approve_url!;
  assert.match(link, new RegExp(`/v1/action/approvals/${id}/production\\?expires=\\d+&sig=`));
  assert.match(page.annotations.summary!, /web@1\.0\.0 waits for 1 approval\(s\) in production, requested by user:alice/);

  // tampered: another environment under the same signature; expired: signed, but in the past
  const tampered = link.replace('/production?', '/staging?');
  const t1 = await fetch(tampered, { redirect: 'manual' });
  assert.equal(t1.status, 403);
  assert.match(await t1.text(), /Invalid approval link.*altered/s);
  const expired = buildApprovalUrl({ baseUrl: `${ctl.url}/v1/action`, secret: SECRET, deploymentId: id, environment: 'production', expiresAt: Date.now() - 60_000 });
  const t2 = await fetch(expired, { redirect: 'manual' });
  assert.equal(t2.status, 410);
  assert.match(await t2.text(), /Approval link expired/);

  // the link is not a credential: POSTing its parts needs a token whose holder may approve
  const parts = (() => {
    const u = new URL(link);
    const [, , , , deploymentId, environment] = u.pathname.split('/');
    return { deploymentId, environment, expires: u.searchParams.get('expires'), sig: u.searchParams.get('sig') };
  })();
  const post = (token: string | undefined, body: unknown) =>
    fetch(`${ctl.url}/v1/approvals/link`, { method: 'POST', headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal((await post(undefined, parts)).status, 401);
  const byVera = await post(vera, parts);
  assert.equal(byVera.status, 403);
  assert.match(((await byVera.json()) as { error: { message: string } }).error.message, /user:vera .* lacks the permission "approve" in production/);
  const byAlice = await post(alice, parts);
  assert.equal(byAlice.status, 403);
  assert.match(((await byAlice.json()) as { error: { message: string } }).error.message, /cannot approve it: approvals must come from someone else/);
  const forged = await post(bob, { ...parts, sig: parts.sig!.slice(0, -2) + (parts.sig!.endsWith('AA') ? 'BB' : 'AA') });
  assert.equal(forged.status, 403);
  assert.match(((await forged.json()) as { error: { message: string } }).error.message, /approval link was altered/);
  const refusedLink = (await ctl.events.query({ types: ['approval.link.refused'] }))[0]!;
  assert.equal(refusedLink.actor, 'user:bob');
  assert.equal((refusedLink.data as { reason: string }).reason, 'bad-signature');
  assert.equal(ctl.state.view.deployments.get(id)?.state, 'running', 'still waiting');

  // bob follows the link in a browser: the dashboard asks him to sign in, then to confirm
  browser = await launchChromium();
  const problems: string[] = [];
  const tab = await (await browser.newContext()).newPage();
  tab.on('pageerror', (e) => problems.push(e.message));
  await tab.goto(link);
  assert.equal(new URL(tab.url()).hash, '', 'the link parameters left the address bar');
  await tab.locator('#token-input').waitFor({ timeout: 30_000 });
  await tab.fill('#token-input', bob);
  await tab.locator('#signin-form button[type="submit"], #signin-form button').first().click();
  const box = tab.locator('#approvals .approval-link');
  await box.waitFor({ timeout: 30_000 });
  assert.match(await box.innerText(), /approve web@1\.0\.0 into production as user:bob\?/);
  await box.getByRole('button', { name: 'Approve (signed link)' }).click();
  for (let i = 0; i < 600 && ctl.state.view.deployments.get(id)?.state === 'running'; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(ctl.state.view.deployments.get(id)?.state, 'promoted');
  const granted = (await ctl.events.query({ types: ['approval.granted'] }))[0]!;
  assert.equal(granted.actor, 'user:bob');
  assert.equal((granted.data as { via?: string }).via, 'link');
  await tab.locator('#approvals', { hasText: 'Approved' }).waitFor({ timeout: 15_000 });
  // spent: the deployment no longer waits, so the same link now says so
  const spent = await fetch(link, { redirect: 'manual' });
  assert.equal(spent.status, 409);
  assert.match(await spent.text(), /no longer waiting for approval in production/);
  assert.deepEqual(problems, []);
});
