// A router killed with SIGKILL is restarted by the controller on the same address from its state
// file, with an event and an alert; a router that keeps dying is escalated (crash loop, paging).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HttpReceiver } from '../../src/alerting/notifiers/loopback-receivers.ts';
import { workspace } from './workspace.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function answers(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.status < 500 ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

test('a dead router is restarted on the same address from its state file, with an event and an alert; repeated deaths escalate', { timeout: 180_000 }, async (t) => {
  const ws = await workspace();
  t.after(() => ws.close());
  const hook = await HttpReceiver.start({ ok: { status: 200, body: 'ok' } });
  t.after(() => hook.close());
  appendFileSync(ws.config, `
alerting:
  route: { receiver: ops, group_by: [alertname], group_wait: 0s, group_interval: 1s }
  receivers:
    - name: ops
      notifiers: [{ kind: webhook, url: "${hook.url('/ops')}", retry: { attempts: 1 } }]
`);
  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  assert.equal((await ws.cli(['release', 'web', '1.0.0', '--artifact', 'web/v1'])).code, 0);
  assert.equal((await ws.cli(['deploy', 'web@1.0.0'])).code, 0);
  const url = `http://127.0.0.1:${ws.ports.production}/`;
  assert.match((await answers(url))!, /web@1\.0\.0/);
  const recordFile = join(ws.dir, '.greenlight/routers/production--web.json');
  const pidOf = () => (JSON.parse(readFileSync(recordFile, 'utf8')) as { pid: number }).pid;

  const first = pidOf();
  process.kill(first, 'SIGKILL');
  let back: string | undefined;
  for (let i = 0; i < 200 && !(back = await answers(url)); i++) await sleep(50);
  assert.match(back ?? '', /web@1\.0\.0/, 'serves its last table again on the same port');
  assert.notEqual(pidOf(), first);
  const events = async (type: string) => JSON.parse(`[${(await ws.cli(['events', '--type', type, '--json'])).stdout.trim().split('\n').filter(Boolean).join(',')}]`) as { data: Record<string, unknown> }[];
  for (let i = 0; i < 50 && (await events('router.restarted')).length === 0; i++) await sleep(100);
  const died = await events('router.died');
  const restarted = await events('router.restarted');
  assert.equal(died.length, 1);
  assert.equal(died[0]!.data.pid, first);
  assert.equal(restarted.length, 1);
  assert.equal(restarted[0]!.data.listen, `127.0.0.1:${ws.ports.production}`);
  assert.equal(typeof restarted[0]!.data.gapMs, 'number');
  await hook.waitForRequests(1);
  assert.match(hook.requests.map((r) => r.body).join('\n'), /RouterRestarted/);

  // keeps dying: escalated as a paging alert, and still brought back
  for (let k = 0; k < 2; k++) {
    const pid = pidOf();
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 400 && pidOf() === pid; i++) await sleep(50);
    for (let i = 0; i < 200 && !(await answers(url)); i++) await sleep(50);
  }
  for (let i = 0; i < 50 && (await events('router.crash_looping')).length === 0; i++) await sleep(100);
  const looping = await events('router.crash_looping');
  assert.equal(looping.length, 1);
  assert.equal(looping[0]!.data.deaths, 3);
  for (let i = 0; i < 100 && !(await answers(url)); i++) await sleep(100);
  assert.match((await answers(url)) ?? '', /web@1\.0\.0/, 'brought back after the back-off');
  for (let i = 0; i < 50 && !hook.requests.some((r) => r.body.includes('RouterCrashLooping')); i++) await sleep(100);
  assert.ok(hook.requests.some((r) => r.body.includes('RouterCrashLooping') && r.body.includes('page')), 'the crash loop pages');
});
