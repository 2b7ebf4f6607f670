// The dashboard follows the leader, in a real browser on two real controllers sharing a real
// PostgreSQL: opened on the standby it lands on the leader's dashboard; when the leader goes
// away and the standby takes over, the open page loses its event stream, asks the controllers it
// knows who leads now (GET /v1/health) and moves to the new leader's dashboard, signed in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { startController, type Controller } from '../src/app/controller.ts';
import { createWorkspace, type DemoWorkspace } from '../src/demo/workspace.ts';
import { dashboardUrl } from '../src/api/dashboard.ts';
import { freePort } from '../src/app/free-port.ts';
import { freshDatabase, postgresMissing } from '../src/store/postgres/testing.ts';
import { browserSkip, launchChromium } from './testing.ts';

const noBrowser = browserSkip('dashboard failover');
const skip = noBrowser || postgresMissing();
if (skip && !noBrowser) console.log(`# SKIPPED dashboard failover test: ${skip}`);

test('dashboard: opened on a standby it shows the leader; when the leader goes away it follows the new one', { skip: skip || false, timeout: 180_000 }, async (t) => {
  let ws: DemoWorkspace | undefined;
  const controllers: Controller[] = [];
  let browser: Browser | undefined;
  t.after(async () => {
    await browser?.close().catch(() => undefined);
    for (const c of controllers.reverse()) await c.stop({ stopAll: true }).catch(() => undefined);
    await ws?.close().catch(() => undefined);
  });
  ws = await createWorkspace({ prefix: 'gl-follow-', authVersion: '3.1.0' });
  const url = await freshDatabase();
  appendFileSync(ws.config, `\nstore: { kind: postgres, url: "${url}", lease: 2s }\n`);
  const a = await startController({ configPath: ws.config });
  controllers.push(a);
  const b = await startController({ configPath: ws.config, listen: `127.0.0.1:${await freePort()}` });
  controllers.push(b);
  assert.equal(a.role(), 'leader');
  assert.equal(b.role(), 'standby');
  const user = await fetch(`${a.url}/v1/users`, { method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'vera', roles: ['viewer'] }) });
  const vera = ((await user.json()) as { token: string }).token;
  // the leader lists both controllers once each has said where it is (every lease tick)
  for (let i = 0; i < 100; i++) {
    const h = (await (await fetch(`${a.url}/v1/health`)).json()) as { controllers: string[] };
    if (h.controllers.includes(b.url)) break;
    await new Promise((r) => setTimeout(r, 100));
  }

  browser = await launchChromium();
  const problems: string[] = [];
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (e) => problems.push(e.message));
  if (process.env.GL_DEBUG) page.on('console', (m) => console.log('# page:', m.text()));
  await page.goto(dashboardUrl(b.url, vera));
  assert.equal(new URL(page.url()).origin, a.url, 'the standby sends the browser to the leader');
  await page.locator('#conn[data-state="live"]').waitFor({ timeout: 30_000 });

  // the leader goes away (a clean stop hands the lease over at once); the standby takes over
  await a.stop();
  controllers.splice(controllers.indexOf(a), 1);
  await b.leading;
  await page.waitForURL((u) => u.origin === b.url, { timeout: 60_000 });
  await page.locator('#conn[data-state="live"]').waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('#signin').isHidden(), true, 'still signed in: the token came along in the fragment');
  assert.equal(new URL(page.url()).hash, '', 'and left the address bar at once');
  assert.deepEqual(problems, []);
});
