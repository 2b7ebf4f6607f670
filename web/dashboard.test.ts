// The dashboard on a real controller, real routers, real instances and a real browser: the page signs
// in from the #token= fragment, shows what runs where, follows a forced deploy live (pause and resume
// from its buttons, the canary rolled back by the analysis, the incident opened) through the event
// stream without a reload, and never asks anything from outside the controller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startLoad } from '../src/demo/load.ts';
import { Routes } from '../src/api/http.ts';
import { dashboardRoutes, dashboardUrl, safeWebFile } from '../src/api/dashboard.ts';
import { browserSkip, picturePath, startRig } from './testing.ts';
const screenshotPath = picturePath('screenshot.png');

function get(port: number, path: string): Promise<{ status: number; type: string; body: string; headers: Record<string, unknown> }> {
  // node:http sends the path exactly as given (fetch would normalise dot segments away)
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('static files: content types, security headers, no traversal, no private files', async (t) => {
  const routes = dashboardRoutes(new Routes()).add('GET', '/v1/secret', async () => ({ secret: true }));
  const server = createServer(routes.handler(() => 'tok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;

  const index = await get(port, '/');
  assert.equal(index.status, 200);
  assert.match(index.type, /^text\/html; charset=utf-8/);
  assert.match(index.body, /<script type="module" src="\/ui\/app\.js"><\/script>/);
  assert.match(String(index.headers['content-security-policy']), /default-src 'none'.*connect-src 'self'/);
  assert.equal(index.headers['x-content-type-options'], 'nosniff');
  assert.equal(index.headers['referrer-policy'], 'no-referrer');
  assert.match((await get(port, '/ui/app.js')).type, /^text\/javascript/);
  assert.match((await get(port, '/ui/style.css')).type, /^text\/css/);
  assert.match((await get(port, '/ui/index.html')).type, /^text\/html/);
  // one ES module per panel, served from web/panels/ and nowhere else below web/
  for (const panel of ['environments', 'running', 'deployments', 'incidents', 'monitoring', 'feed']) {
    assert.match((await get(port, `/ui/panels/${panel}.js`)).type, /^text\/javascript/, `panel ${panel}`);
  }
  for (const bad of ['/ui/panels/..%2Fapp.js', '/ui/panels/nope.js', '/ui/panels/', '/ui/screenshot/app.js']) {
    assert.equal((await get(port, bad)).status, 404, bad);
  }

  for (const bad of ['/ui/..%2Fpackage.json', '/ui/..%2F..%2Fpackage.json', '/ui/%2e%2e%2fsrc%2fapi%2fdashboard.ts', '/ui/../package.json', '/ui/dashboard.test.ts', '/ui/screenshot.png', '/ui/.hidden.js', '/ui/nope.js', '/ui/%2Fetc%2Fpasswd']) {
    const r = await get(port, bad);
    assert.equal(r.status, 404, `${bad} answered ${r.status}: ${r.body.slice(0, 80)}`);
    assert.doesNotMatch(r.body, /"name": "greenlight"|root:/);
  }
  assert.equal((await get(port, '/v1/secret')).status, 401, 'API routes keep their authentication');
  assert.equal(safeWebFile('app.js'), 'app.js');
  assert.equal(safeWebFile('../app.js'), undefined);
  assert.equal(dashboardUrl('http://127.0.0.1:7070/', 'a b+/='), 'http://127.0.0.1:7070/#token=a%20b%2B%2F%3D');
});

const skip = browserSkip('dashboard');

test('dashboard in a browser: state, live rollback and incident over SSE, pause/resume buttons, no external request', { skip, timeout: 180_000 }, async (t) => {
  const rig = await startRig(t, {
    // an SLO on the router's own counters, so the monitoring panel has something to show (unless the
    // example configuration already has some)
    configure: (ws) => {
      const yaml = readFileSync(ws.config, 'utf8');
      if (!/^    slos:/m.test(yaml)) writeFileSync(
        ws.config,
        yaml.replace(
          '    requirements_file: greenlight.requires.json\n',
          '    requirements_file: greenlight.requires.json\n    slos:\n      - name: availability\n        objective: 0.99\n        availability: { total: { metric: router_requests_total }, errors: { metric: router_errors_total } }\n',
        ),
      );
    },
  });
  const { ctl, ws } = rig;
  for (const v of ['1.0.0', '2.0.0']) await rig.register(v);
  // the page signs in as a person, with her own token, and her actions carry her name
  const made = await fetch(`${ctl.url}/v1/users`, { method: 'POST', headers: { authorization: `Bearer ${ctl.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'alice', roles: ['deployer', 'admin'] }) });
  const token = ((await made.json()) as { token: string }).token;
  const v1 = await ctl.deployer.start({ service: 'web', version: '1.0.0', actor: 'user:test' });
  assert.equal((await v1.done).state, 'promoted');

  const { page, context, requests, problems } = await rig.open(dashboardUrl(ctl.url, token), { viewport: { width: 1440, height: 1100 }, colorScheme: 'light', console: true });
  const prod = page.locator('[data-env="production"]');
  await prod.locator('[data-role="stable-version"]', { hasText: '1.0.0' }).waitFor({ timeout: 15_000 });
  assert.equal(await page.evaluate(() => location.hash), '', 'the token leaves the address bar');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('greenlight.token')), token);
  assert.equal(await prod.locator('[data-role="split"] [data-version="1.0.0"]').getAttribute('data-weight'), '100');
  assert.match((await prod.locator('[data-role="split"]').getAttribute('aria-label')) ?? '', /production\/web: 1\.0\.0 100%/);
  await page.locator(`#deployments-table tr[data-deployment="${v1.id}"]`, { hasText: 'promoted' }).waitFor({ timeout: 10_000 });
  await page.locator('#conn[data-state="live"]').waitFor({ timeout: 10_000 });
  await page.locator('[data-monitor="production/web"]', { hasText: 'availability' }).waitFor({ timeout: 10_000 });
  await page.evaluate(() => ((window as unknown as { marker: string }).marker = 'no reload'));

  // v2 forced into production without traffic: the canary waits at its first step (too few requests)
  // forced by alice through the API: the break-glass carries her authenticated name
  const forced = await fetch(`${ctl.url}/v1/deployments`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-greenlight-actor': 'not-alice' }, body: JSON.stringify({ service: 'web', version: '2.0.0', force: true, reason: 'test', environments: ['production'] }) });
  assert.equal(forced.status, 202);
  const v2 = (await forced.json()) as { id: string };
  const done2 = (async () => {
    for (let i = 0; i < 1800; i++) {
      const d = ctl.state.view.deployments.get(v2.id);
      if (d && d.state !== 'running') return d;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`deployment ${v2.id} did not end`);
  })();
  done2.catch(() => undefined);
  const card = page.locator(`#running [data-deployment="${v2.id}"]`);
  await card.locator('[data-role="canary-weight"]', { hasText: '1%' }).waitFor({ timeout: 15_000 });
  await card.locator('.breakglass', { hasText: '“test”' }).waitFor({ timeout: 5_000 });
  await prod.locator('[data-role="split"] [data-version="2.0.0"][data-weight="1"]').waitFor({ timeout: 10_000 });

  // Pause and resume from the buttons, through the confirmation dialog. With no traffic at all the
  // analysis cannot measure and the controller may pause the rollout by itself within its first
  // intervals (or not, if a probe reached stable): let that settle, then act from wherever it is.
  await new Promise((r) => setTimeout(r, 4_000));
  const dialog = page.locator('dialog#confirm');
  const resumed = page.locator('#feed li[data-type="rollout.resumed"]');
  const pausedBadge = card.locator('.badge', { hasText: 'paused' });
  const act = async (button: string, expect: RegExp) => {
    await card.getByRole('button', { name: button, exact: true }).click();
    await dialog.waitFor({ state: 'visible' });
    assert.match(await dialog.innerText(), expect);
    await dialog.getByRole('button', { name: button, exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
  };
  if (await pausedBadge.count()) {
    await card.getByText('paused by controller').waitFor();
    await act('Resume', /Resume the rollout of web@2\.0\.0/);
    await resumed.first().waitFor({ timeout: 10_000 });
  }
  await act('Pause', /Hold the rollout of web@2\.0\.0/);
  await pausedBadge.waitFor({ timeout: 10_000 });
  await page.locator('#feed li[data-type="rollout.paused"]', { hasText: 'alice' }).waitFor({ timeout: 10_000 });
  await card.getByText('paused by alice').waitFor();
  // keyboard: Enter opens the dialog, Escape cancels it and nothing is sent
  const resumedBefore = await resumed.count();
  await card.getByRole('button', { name: 'Resume', exact: true }).focus();
  await page.keyboard.press('Enter');
  await dialog.waitFor({ state: 'visible' });
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await resumed.count(), resumedBefore, 'a cancelled confirmation sends nothing');
  assert.ok(await pausedBadge.count(), 'still paused');
  await act('Resume', /Resume the rollout/);
  await page.waitForFunction((n) => document.querySelectorAll('#feed li[data-type="rollout.resumed"]').length > n, resumedBefore, { timeout: 10_000 });

  // Traffic arrives: acme-auth 2.4.1 makes every canary request fail and the analysis rolls it back.
  const load = startLoad(`http://127.0.0.1:${ws.ports.production}/`, { rate: 100, maxMs: 90_000, timeoutMs: 3000 });
  rig.stopFirst(() => load.stop());
  assert.equal((await done2).state, 'rolled_back');
  const row = page.locator(`#deployments-table tr[data-deployment="${v2.id}"]`);
  await row.locator('.badge', { hasText: 'rolled back' }).waitFor({ timeout: 15_000 });
  assert.match((await row.getAttribute('class')) ?? '', /row-breakglass/, 'the break-glass deployment is highlighted');
  await page.locator('#deployments-table .bg-note', { hasText: /overridden by alice — “test”/ }).waitFor({ timeout: 5_000 });
  const incident = page.locator('#incidents details.incident', { hasText: 'web@2.0.0 rolled back in production' });
  await incident.waitFor({ timeout: 15_000 });
  await incident.locator('.timeline li', { hasText: 'analysis verdict fail' }).waitFor({ timeout: 10_000 });
  await incident.locator('.facts dt', { hasText: 'time to mitigate' }).waitFor();
  await page.locator('#feed li[data-type="incident.opened"]').waitFor({ timeout: 10_000 });
  await prod.locator('[data-role="split"] [data-version="2.0.0"]').waitFor({ state: 'detached', timeout: 15_000 });
  await page.locator('#running', { hasText: 'No deployment is running' }).waitFor({ timeout: 10_000 });
  await page.locator('#running .verdict', { hasText: 'fail' }).waitFor({ timeout: 10_000 });
  assert.equal(await page.evaluate(() => (window as unknown as { marker?: string }).marker), 'no reload', 'all of it arrived without a reload');

  await incident.getByRole('button', { name: 'Show postmortem' }).click();
  await incident.locator('pre.postmortem', { hasText: '# Postmortem: web@2.0.0 rolled back in production' }).waitFor({ timeout: 10_000 });
  assert.doesNotMatch(await incident.locator('pre.postmortem').innerText(), /greenlight:section/);
  // the break-glass by alice, with her authenticated name, in the incident and its postmortem
  assert.match(await incident.innerText(), /overridden by\s*alice/);
  assert.match(await incident.locator('pre.postmortem').innerText(), /break-glass by alice: 'test'/);

  // Let the router counters and the SLO catch up with the traffic, then take the picture.
  await new Promise((r) => setTimeout(r, 6_000));
  await page.locator('[data-monitor="production/web"] .budget').first().waitFor({ timeout: 15_000 });
  // the whole page in one viewport (a full-page capture would paint the sticky bar mid-page)
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: 1440, height: Math.min(height, 4000) });
  await page.screenshot({ path: screenshotPath });

  // The form, for a tab opened without the fragment: a wrong token is refused, the right one works.
  const other = await context.newPage();
  other.on('request', (r) => requests.push(r.url()));
  await other.goto(`${ctl.url}/`);
  await other.getByLabel('API token').waitFor();
  await other.getByLabel('API token').fill('wrong');
  await other.getByRole('button', { name: 'Sign in' }).click();
  await other.locator('#signin-error', { hasText: 'refused' }).waitFor({ timeout: 10_000 });
  await other.getByLabel('API token').fill(token);
  await other.keyboard.press('Enter');
  await other.locator('[data-env="production"] [data-role="stable-version"]', { hasText: '1.0.0' }).waitFor({ timeout: 15_000 });

  const outside = requests.filter((u) => !u.startsWith(`${ctl.url}/`) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(outside, [], 'no request leaves the controller');
  assert.ok(requests.every((u) => !u.includes(token)), 'the token is never in a requested URL');
  // the wrong token's 401 is expected; nothing else may fail
  assert.deepEqual(problems.filter((p) => !/401/.test(p)), []);
  await page.close();
  await other.close();
});
