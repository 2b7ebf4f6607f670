// The drills panel and the DRILL banner in a real browser, on a real controller with its routers
// and instances: the banner appears while a drill runs (live, from the event stream), the panel
// shows the running drill and then its scorecard, and a scenario title full of markup stays text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dashboardUrl } from '../src/api/dashboard.ts';
import { loadScenario, parseScenario } from '../src/drills/scenario.ts';
import { browserSkip, picturePath, startRig } from './testing.ts';

const skip = browserSkip('drills');

test('dashboard: DRILL banner while a drill runs, drills panel with the running drill and then its scorecard', { skip, timeout: 180_000 }, async (t) => {
  const rig = await startRig(t, { workspace: { authVersion: '3.1.0' } });
  const { ctl } = rig;
  await rig.register('1.0.0');
  assert.equal((await (await ctl.deployer.start({ service: 'web', version: '1.0.0', actor: 'user:test', only: ['staging'] })).done).state, 'promoted');

  const { page, problems } = await rig.open(dashboardUrl(ctl.url, ctl.token), { viewport: { width: 1440, height: 1000 }, dialogs: true });
  await page.locator('#drills').getByText('No drill is running').waitFor({ timeout: 20_000 });
  assert.equal(await page.locator('#drill-banner').isHidden(), true);

  // a built-in scenario first, for the screenshot in docs/drills.md
  const first = await ctl.drills.begin({ scenario: loadScenario('error-burst').scenario, ref: 'error-burst', environment: 'staging', actor: 'user:test', participants: ['alice'] });
  await page.locator(`#drills [data-drill="${first.id}"]`).getByText('1 of 1 in place').waitFor({ timeout: 20_000 });
  await page.locator('#drill-banner').waitFor({ state: 'visible', timeout: 20_000 });
  await page.screenshot({ path: picturePath('drills-screenshot.png'), clip: { x: 0, y: 0, width: 1440, height: 520 } });
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
