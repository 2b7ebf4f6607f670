// The drills panel and the DRILL banner in a real browser, on a real controller with its routers
// and instances: the banner appears while a drill runs (live, from the event stream), the panel
// shows the running drill and then its scorecard, and a scenario title full of markup stays text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { startController, type Controller } from '../src/app/controller.ts';
import { createWorkspace, type DemoWorkspace } from '../src/demo/workspace.ts';
import { registerRelease } from '../src/releases/releases.ts';
import { dashboardUrl } from '../src/api/dashboard.ts';
import { loadScenario, parseScenario } from '../src/drills/scenario.ts';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: the drills browser test needs Debian's chromium (apt-get install -y chromium)`;
if (skip) console.log(`# SKIPPED drills browser test: ${skip}`);

test('dashboard: DRILL banner while a drill runs, drills panel with the running drill and then its scorecard', { skip, timeout: 180_000 }, async (t) => {
  let ws: DemoWorkspace | undefined;
  let c: Controller | undefined;
  let browser: Browser | undefined;
  t.after(async () => {
    await browser?.close().catch(() => undefined);
    await c?.stop({ stopAll: true }).catch(() => undefined);
    await ws?.close().catch(() => undefined);
  });
  ws = await createWorkspace({ authVersion: '3.1.0' });
  c = await startController({ configPath: ws.config });
  const ctl = c;
  await registerRelease({ service: 'web', version: '1.0.0', artifact: `${ws.dir}/web/v1`, actor: 'user:test' }, { config: ctl.config, stateDir: ctl.loaded.stateDir, events: ctl.events, state: async () => ctl.state.view });
  assert.equal((await (await ctl.deployer.start({ service: 'web', version: '1.0.0', actor: 'user:test', only: ['staging'] })).done).state, 'promoted');

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 1000 } })).newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  await page.goto(dashboardUrl(ctl.url, ctl.token));
  await page.locator('#drills').getByText('No drill is running').waitFor({ timeout: 20_000 });
  assert.equal(await page.locator('#drill-banner').isHidden(), true);

  // a built-in scenario first, for the screenshot in docs/drills.md
  const first = await ctl.drills.begin({ scenario: loadScenario('error-burst').scenario, ref: 'error-burst', environment: 'staging', actor: 'user:test', participants: ['alice'] });
  await page.locator(`#drills [data-drill="${first.id}"]`).getByText('1 of 1 in place').waitFor({ timeout: 20_000 });
  await page.locator('#drill-banner').waitFor({ state: 'visible', timeout: 20_000 });
  await page.screenshot({ path: fileURLToPath(new URL('./drills-screenshot.png', import.meta.url)), clip: { x: 0, y: 0, width: 1440, height: 520 } });
  await ctl.drills.halt('user:test');
  await page.locator('#drill-banner').waitFor({ state: 'hidden', timeout: 20_000 });

  const title = '<img src=x onerror=alert(1)> Errors **bold**';
  const scenario = parseScenario(`version: 1\nname: ui-burst\ntitle: ${JSON.stringify(title)}\nduration: 5m\ncause: { summary: errors, match: ["503"] }\nfaults:\n  - { kind: error, share: 0.5, status: 503 }\n`);
  const d = await ctl.drills.begin({ scenario, ref: 'ui-burst', environment: 'staging', actor: 'user:test', participants: ['alice'] });
  const banner = page.locator('#drill-banner');
  await banner.waitFor({ state: 'visible', timeout: 20_000 });
  const text = await banner.textContent();
  assert.match(text ?? '', /^DRILL /);
  assert.ok(text!.includes(title), 'the title is shown as text, markup and all');
  assert.equal(await page.locator('#drill-banner img, #drills img').count(), 0, 'no element was made from the title');
  await page.locator(`#drills [data-drill="${d.id}"]`).getByText('1 of 1 in place').waitFor({ timeout: 20_000 });

  await ctl.drills.halt('user:test');
  await banner.waitFor({ state: 'hidden', timeout: 20_000 });
  const row = page.locator(`#drills table tr[data-drill="${d.id}"]`);
  await row.waitFor({ timeout: 20_000 });
  assert.match((await row.textContent()) ?? '', /ui-burst.*failed.*stopped/s);
  assert.deepEqual(problems, []);
});
