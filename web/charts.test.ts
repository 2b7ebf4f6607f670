// The chart panel (web/charts.js) in a real browser on a real controller: a healthy canary promoted
// through its steps under load is drawn as canary against control over time (requests, error rate
// with its band, p50/p99), with the steps and the outcome on the time axis; uPlot comes from the
// controller itself; the picture is kept in web/charts.png (`npm run pictures`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startLoad } from '../src/demo/load.ts';
import { dashboardUrl } from '../src/api/dashboard.ts';
import { browserSkip, picturePath, startRig } from './testing.ts';

const skip = browserSkip('chart');
const picture = picturePath('charts.png');

test('charts: canary against control over time with steps and outcome marked, served without external requests', { skip, timeout: 180_000 }, async (t) => {
  const rig = await startRig(t, { workspace: { authVersion: '3.1.0' } });
  const { ctl, ws } = rig;
  for (const v of ['1.0.0', '2.0.0']) await rig.register(v);
  assert.equal((await (await ctl.deployer.start({ service: 'web', version: '1.0.0', actor: 'user:test' })).done).state, 'promoted');
  const load = startLoad(`http://127.0.0.1:${ws.ports.production}/`, { rate: 150, maxMs: 90_000, timeoutMs: 3000 });
  rig.stopFirst(() => load.stop());
  const v2 = await ctl.deployer.start({ service: 'web', version: '2.0.0', actor: 'user:test' });
  assert.equal((await v2.done).state, 'promoted');

  // the API: points, the three steps and the end
  const res = await fetch(`${ctl.url}/v1/deployments/${v2.id}/series`, { headers: { authorization: `Bearer ${ctl.token}` } });
  const s = (await res.json()) as { points: { environment: string; canary: { requests: number } }[]; steps: { weight: number; environment: string }[]; marks: { kind: string; text: string }[] };
  const prodPoints = s.points.filter((p) => p.environment === 'production');
  assert.ok(prodPoints.length >= 5, `${prodPoints.length} points`);
  assert.ok(prodPoints.at(-1)!.canary.requests > 0);
  assert.deepEqual(s.steps.filter((x) => x.environment === 'production').map((x) => x.weight), [1, 10, 50]);
  assert.ok(s.marks.some((m) => m.kind === 'end' && m.text === 'promoted'));

  const { page, requests, problems } = await rig.open(dashboardUrl(ctl.url, ctl.token), { viewport: { width: 1440, height: 1100 }, colorScheme: 'light', console: true });
  const panel = page.locator('#panel-charts');
  await panel.locator(`#chart-deployment option[value="${v2.id}"]`).waitFor({ state: 'attached', timeout: 15_000 });
  await panel.locator('.charts[data-points]').waitFor({ timeout: 15_000 });
  assert.equal(await panel.locator('#chart-deployment').inputValue(), v2.id, 'the newest deployment is drawn');
  assert.equal(await panel.locator('figure.chart canvas').count(), 3);
  assert.deepEqual(await panel.locator('figure.chart figcaption').allInnerTexts(), ['requests per second', 'error rate, with the canary’s confidence band', 'latency p50 and p99 (ms)']);
  assert.ok(Number(await panel.locator('.charts').getAttribute('data-points')) >= 5);
  await panel.locator('.u-legend', { hasText: 'canary' }).first().waitFor();
  await panel.screenshot({ path: picture });

  // a past deployment that went all at once has no canary to draw, and says so
  const v1 = ctl.state.view.deployments.values().next().value!;
  await panel.locator('#chart-deployment').selectOption(v1.id);
  await panel.getByText('No canary data for this deployment').waitFor({ timeout: 10_000 });

  const outside = requests.filter((u) => !u.startsWith(`${ctl.url}/`) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(outside, [], 'no request leaves the controller');
  assert.ok(requests.some((u) => u.endsWith('/ui/uplot.js')));
  assert.deepEqual(problems, []);
});
