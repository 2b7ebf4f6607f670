// Drills on the real tools: a controller (in this process, on a manual clock), its router
// processes, real instances of the sample service, the real monitors, alerting and escalation, a
// loopback webhook receiver standing in for a participant's pager, and the real CLI for the
// participant's answers. The participant's delays are set on the manual clock, so the scorecard
// must show exactly those delays.
import { queryType } from '../../src/events/log.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ManualClock } from '../../src/clock/clock.ts';
import { startController, type Controller } from '../../src/app/controller.ts';
import { verifyWebhook } from '../../src/alerting/notifiers/webhook/webhook.ts';
import { lintDrillReport, drillReport } from '../../src/drills/report.ts';
import type { Scorecard } from '../../src/drills/scorecard.ts';
import { steadyClient, workspace } from './workspace.ts';

interface Page { action: string; summary: string; incidentId: string | null; recipient: { name: string } | null; links: { acknowledge?: string } }

const STAGING_MONITORS = `    monitors:
      router_interval: 1s
      evaluation_interval: 5s
      rules:
        - alert: HighErrorRate
          expr: { fn: rate, metric: router_errors_total, window: 30s, sum_by: [service, environment] }
          divide_by: { fn: rate, metric: router_requests_total, window: 30s, sum_by: [service, environment] }
          op: ">"
          threshold: 0.05
          labels: { severity: page }
          annotations: { summary: "web answers 5xx to more than 5% of requests in staging" }
`;

function alertingConfig(hook: string, controllerPort: number): string {
  return `
alerting:
  route:
    receiver: oncall
    group_by: [environment]
    group_wait: 0s
  receivers:
    - name: oncall
      escalation_policy: web
      notifiers:
        - { kind: webhook, url: "${hook}", secret: hook-secret, timeout: 5s }
  escalation_policies:
    - name: web
      levels:
        - { users: [alice], ack_timeout: 30m }
  users:
    - { id: alice, name: Alice }
  action_links:
    base_url: "http://127.0.0.1:${controllerPort}/v1/action"
    secret: link-secret-of-at-least-16-chars
    ttl: 2h
drills:
  targets: { acknowledge: 5m, diagnose: 8m, mitigate: 10m }
`;
}

test('the 3 June drill in staging: paged through a loopback webhook, acknowledged by the signed link, diagnosed, rolled back, scored exactly, every fault gone', { timeout: 300_000 }, async (t) => {
  const ws = await workspace({ authVersion: '3.1.0' });
  const pages: Page[] = [];
  const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
  const receiver = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const ok = verifyWebhook({ secret: 'hook-secret', timestamp: req.headers['x-greenlight-timestamp'] as string, signature: req.headers['x-greenlight-signature'] as string, rawBody: body, now: clock.now() });
      res.writeHead(ok.ok ? 200 : 401).end();
      if (ok.ok) pages.push(JSON.parse(body) as Page);
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const hook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/pages`;
  const cfg = readFileSync(ws.config, 'utf8').replace('    checks: [compatibility, smoke]\n', `    checks: [compatibility, smoke]\n${STAGING_MONITORS}`);
  writeFileSync(ws.config, cfg + alertingConfig(hook, ws.ports.controller));
  let c: Controller | undefined;
  let traffic: ReturnType<typeof steadyClient> | undefined;
  t.after(async () => {
    await traffic?.stop();
    receiver.close();
    // shutting down needs the clock to move (drain, stop grace) like everything else here
    let stopped = false;
    const stopping = c?.stop({ stopAll: true }).finally(() => (stopped = true));
    for (let i = 0; c && !stopped && i < 2000; i++) {
      await clock.advance(500);
      await new Promise((r) => setTimeout(r, 5));
    }
    await stopping;
    await ws.close({ keep: !!process.env.GREENLIGHT_KEEP });
  });
  assert.equal((await ws.cli(['validate'])).code, 0);
  c = await startController({ configPath: ws.config, clock });

  /** Moves the manual clock in small steps, letting real I/O run between them, until cond holds. */
  const pump = async (what: string, cond: () => boolean | Promise<boolean>, stepMs = 250, realMs = 90_000) => {
    const until = Date.now() + realMs;
    while (!(await cond())) {
      if (Date.now() > until) assert.fail(`timed out waiting for ${what}; pages: ${pages.length}`);
      await clock.advance(stepMs);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const cli = async (args: string[], actor?: string) => {
    let done = false;
    const p = ws.cli(args, actor ? { actor } : {}).finally(() => (done = true));
    await pump(`greenlight ${args.join(' ')}`, () => done);
    const r = await p;
    assert.equal(r.code, 0, `greenlight ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r;
  };
  await cli(['release', 'web', '1.0.0', '--artifact', 'web/v1']);
  await cli(['release', 'web', '2.0.0', '--artifact', 'web/v2']);
  await cli(['deploy', 'web@1.0.0', '--env', 'staging']);
  await cli(['deploy', 'web@2.0.0', '--env', 'staging']);
  const staging = `http://127.0.0.1:${ws.ports.staging}/`;
  assert.match(await (await fetch(staging)).text(), /web@2\.0\.0/);
  traffic = steadyClient(staging, { everyMs: 20, maxMs: 240_000 });

  // --- the drill starts; from here the clock only moves when this test moves it
  const run = await ws.cli(['drill', 'run', '3-june', '--env', 'staging', '--participants', 'alice', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const drillId = (JSON.parse(run.stdout) as { drill: { id: string } }).drill.id;
  const routerRec = c.routers.readRecord('staging', 'web')!;
  const router = c.routers.client(routerRec);
  assert.equal((await router.faults()).faults.length, 1, 'the 5xx fault is in the staging router');
  assert.equal((await fetch(staging)).status, 500);

  // (production has a failing probe of its own here, nothing runs there: its pages are real, not DRILL)
  const isDrillPage = (p: Page) => p.action === 'trigger' && p.recipient?.name === 'Alice' && p.summary.includes(drillId);
  await pump('the drill page to Alice', () => pages.some(isDrillPage));
  const page = pages.find(isDrillPage)!;
  assert.match(page.summary, new RegExp(`^DRILL ${drillId}: `), 'the page says DRILL');
  for (const p of pages.filter((x) => !isDrillPage(x))) assert.doesNotMatch(p.summary, /DRILL/, 'only the drilled environment is marked');
  const incidentId = page.incidentId!;
  const sent = (await c.events.query({ subject: `incident/${incidentId}`, types: ['page.sent'] }))[0]!;
  const incident = (await queryType(c.events, 'incident.opened', { subject: `incident/${incidentId}` }))[0]!;
  assert.match(String(incident.data.title), /^DRILL /, 'the incident says DRILL');

  // --- the participant: acknowledges 90 s after the page through the signed link,
  // records the root cause at 150 s, rolls back at 240 s
  const ACK = 90_000;
  const ROOT_CAUSE = 150_000;
  const ROLLBACK = 240_000;
  await clock.set(sent.time + ACK);
  const ack = await fetch(page.links.acknowledge!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
  assert.equal(ack.status, 200, await ack.text());
  await clock.set(sent.time + ROOT_CAUSE);
  const rc = await ws.cli(['incident', 'root-cause', incidentId, 'acme-auth in staging reports 2.4.1, older than the >=3 that web 2.0.0 needs'], { actor: 'alice' });
  assert.equal(rc.code, 0, rc.stderr);
  await clock.set(sent.time + ROLLBACK);
  await cli(['rollback', 'web', '--env', 'staging', '--to', '1.0.0', '--reason', 'incompatible acme-auth'], 'alice');
  await pump('the drill to end', async () => (await c!.events.query({ subject: `drill/${drillId}`, types: ['drill.scored'] })).length > 0);

  const ended = (await queryType(c.events, 'drill.ended', { subject: `drill/${drillId}` }))[0]!;
  assert.equal(ended.data.outcome, 'mitigated');
  assert.equal(ended.data.left, 0);
  const switched = (await queryType(c.events, 'router.switched', { since: sent.time + ROLLBACK })).find((e) => e.data.from === '2.0.0' && e.data.to === '1.0.0')!;
  const firing = (await queryType(c.events, 'alert.firing')).find((e) => (e.data.labels as Record<string, string>).drill === drillId)!;
  const started = (await c.events.query({ subject: `drill/${drillId}`, types: ['drill.started'] }))[0]!;

  const card = (JSON.parse((await ws.cli(['drill', 'scorecard', drillId, '--json'])).stdout) as { scorecard: Scorecard }).scorecard;
  assert.equal(card.measures.acknowledge.ms, ACK, 'time to acknowledge = the participant\'s delay');
  assert.equal(card.measures.acknowledge.by, 'user:alice', 'the page was acknowledged by the person it was sent to');
  assert.equal(card.measures.diagnose.ms, ROOT_CAUSE, 'time to diagnose = the participant\'s delay');
  assert.equal(card.measures.mitigate.ms, switched.time - sent.time, 'time to mitigate = page to the router switching back');
  assert.ok(card.measures.mitigate.ms! >= ROLLBACK);
  assert.equal(card.measures.detect.ms, firing.time - started.time);
  assert.equal(card.mitigation, 'rollback');
  assert.equal(card.measures.diagnose.by, 'user:alice');
  assert.equal(card.measures.mitigate.by, 'user:alice');
  assert.equal(card.passed, true, card.misses.join('; '));

  // every fault is gone: router, dependency source, and traffic is healthy on 1.0.0
  assert.deepEqual((await router.faults()).faults, []);
  assert.deepEqual(JSON.parse(readFileSync(join(ws.dir, '.greenlight/drills/dependency-faults.json'), 'utf8')).faults, []);
  const after = await fetch(staging);
  assert.equal(after.status, 200);
  assert.match(await after.text(), /web@1\.0\.0/);

  const report = drillReport(card);
  assert.deepEqual(lintDrillReport(report), []);
  assert.match(report, /DRILL report/);
  const md = await ws.cli(['drill', 'report', drillId, '--out', join(ws.dir, 'drill.md')]);
  assert.equal(md.code, 0, md.stderr);
  assert.equal(readFileSync(join(ws.dir, 'drill.md'), 'utf8'), report);
  const history = await ws.cli(['drill', 'history']);
  assert.match(history.stdout, new RegExp(`${drillId}.*passed`));
  assert.match(history.stdout, /Alice|alice/);
  if (process.env.GREENLIGHT_DRILL_SAMPLE) {
    // the committed sample (docs/drill-sample.md) comes from this run
    const out = resolve(process.env.GREENLIGHT_DRILL_SAMPLE);
    writeFileSync(out, report);
    writeFileSync(out.replace(/\.md$/, '') + '.scorecard.json', JSON.stringify(card, null, 2) + '\n');
  }
});
