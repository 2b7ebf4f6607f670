import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, systemClock } from '../../clock/clock.ts';
import { MemoryEventLog } from '../../events/memory-log.ts';
import { FakeNotifier } from '../notifiers/fake/fake.ts';
import { fingerprint } from '../alerts/fingerprint.ts';
import { Dispatcher } from '../dispatch/dispatcher.ts';
import { NotifierReceiver } from '../dispatch/receiver.ts';
import { buildRoute } from '../dispatch/route.ts';
import { receiveAlertmanagerWebhook, type AlertmanagerWebhook } from './alertmanager.ts';

// A payload as Alertmanager 0.25 sends it (captured shape).
const sample = {
  receiver: 'greenlight',
  status: 'firing',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'HighErrorRate', environment: 'production', service: 'web', severity: 'page' },
      annotations: { summary: '5xx above 5%' },
      startsAt: '2026-03-02T10:00:00.000Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph?g0.expr=...',
      fingerprint: 'placeholder',
    },
    {
      status: 'resolved',
      labels: { alertname: 'HighErrorRate', environment: 'production', service: 'api', severity: 'page' },
      annotations: {},
      startsAt: '2026-03-02T09:50:00.000Z',
      endsAt: '2026-03-02T09:59:00.000Z',
      generatorURL: '',
      fingerprint: 'placeholder',
    },
  ],
  groupLabels: { alertname: 'HighErrorRate' },
  commonLabels: { alertname: 'HighErrorRate', environment: 'production', severity: 'page' },
  commonAnnotations: {},
  externalURL: 'http://alertmanager:9093',
  version: '4',
  groupKey: '{}:{alertname="HighErrorRate"}',
  truncatedAlerts: 0,
};

test('fingerprints are Prometheus fingerprints', () => {
  // Values printed by Prometheus' model.LabelSet{...}.Fingerprint().String()
  assert.equal(fingerprint({}), 'cbf29ce484222325');
  assert.equal(fingerprint({ b: '2', a: '1' }), fingerprint({ a: '1', b: '2' }));
  assert.notEqual(fingerprint({ a: '12' }), fingerprint({ a: '1', '2': '' }));
});

test('the webhook payload feeds the dispatcher: firing alerts fire, resolved ones end when Alertmanager says', async () => {
  const clock = new ManualClock(Date.UTC(2026, 2, 2, 10, 1));
  const fake = new FakeNotifier({ clock });
  const d = new Dispatcher({ clock, route: buildRoute({ receiver: 'r', group_wait: 0 }), receivers: { r: new NotifierReceiver({ name: 'r', notifiers: [fake], clock }) } });
  const r = receiveAlertmanagerWebhook(sample, { dispatcher: d, now: () => clock.now() });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, {
    received: 2,
    firing: 1,
    resolved: 1,
    fingerprints: [fingerprint(sample.alerts[0]!.labels), fingerprint(sample.alerts[1]!.labels)],
    truncatedAlerts: 0,
  });
  const views = d.alerts();
  const web = views.find((a) => a.labels.service === 'web')!;
  assert.equal(web.state, 'firing');
  assert.equal(web.endsAt, undefined, 'Go zero time means no end');
  assert.equal(web.startsAt, Date.parse('2026-03-02T10:00:00.000Z'));
  assert.equal(web.origin, 'alertmanager');
  assert.equal(views.find((a) => a.labels.service === 'api')!.endsAt, Date.parse('2026-03-02T09:59:00.000Z'));
  await clock.advance(0);
  assert.equal(fake.delivered.length, 1);
  d.stop();
});

test('malformed payloads get a 400 naming every problem', () => {
  const d = { receive: () => [] };
  const r = receiveAlertmanagerWebhook({ ...sample, version: '3', alerts: [{ status: 'weird', labels: { 'bad-name': 'x' }, startsAt: 'yesterday' }] }, { dispatcher: d, now: () => 0 });
  assert.equal(r.status, 400);
  const err = (r.body as { error: { message: string; data: { problems: string[] } } }).error;
  assert.ok(err.data.problems.some((p) => p.startsWith('version')));
  assert.ok(err.data.problems.some((p) => p.startsWith('alerts.0.status')));
  assert.ok(err.data.problems.some((p) => p.startsWith('alerts.0.labels')));
  assert.ok(err.data.problems.some((p) => p.startsWith('alerts.0.startsAt')));
  assert.equal(receiveAlertmanagerWebhook('not json', { dispatcher: d, now: () => 0 }).status, 400);
});

const AM_BIN = process.env.GREENLIGHT_ALERTMANAGER_BIN ?? '/usr/bin/prometheus-alertmanager';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('end to end with a real Prometheus Alertmanager: an alert posted to its API v2 arrives by webhook and is parsed', async (t) => {
  if (!existsSync(AM_BIN)) {
    t.skip(`SKIPPED: no Alertmanager binary at ${AM_BIN} (apt-get install prometheus-alertmanager, or set GREENLIGHT_ALERTMANAGER_BIN)`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'gl-am-'));
  const payloads: AlertmanagerWebhook[] = [];
  const clock = systemClock;
  const fake = new FakeNotifier({ clock });
  const log = new MemoryEventLog(clock);
  const dispatcher = new Dispatcher({
    clock,
    log,
    route: buildRoute({ receiver: 'oncall', group_by: ['...'], group_wait: 0, group_interval: 500 }),
    receivers: { oncall: new NotifierReceiver({ name: 'oncall', notifiers: [fake], clock }) },
  });
  const hook: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      const r = receiveAlertmanagerWebhook(body, { dispatcher, now: () => clock.now() });
      if (r.status === 200) payloads.push(body as AlertmanagerWebhook);
      res.writeHead(r.status, { 'content-type': 'application/json' }).end(JSON.stringify(r.body));
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookPort = (hook.address() as AddressInfo).port;
  const amPort = await freePort();
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    `route:
  receiver: greenlight
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: greenlight
    webhook_configs:
      - url: http://127.0.0.1:${hookPort}/alertmanager
        send_resolved: true
`,
  );
  let am: ChildProcess | undefined;
  let stderr = '';
  try {
    am = spawn(AM_BIN, [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    am.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const base = `http://127.0.0.1:${amPort}`;
    await until('Alertmanager to be ready', 15_000, async () => {
      if (am!.exitCode !== null) throw new Error(`alertmanager exited (${am!.exitCode}): ${stderr}`);
      try {
        return (await fetch(`${base}/-/ready`)).ok ? true : undefined;
      } catch {
        return undefined;
      }
    });
    const labels = { alertname: 'GreenlightE2E', environment: 'production', service: 'web', severity: 'page' };
    const post = (endsAt?: string) =>
      fetch(`${base}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ labels, annotations: { summary: 'end-to-end test alert' }, startsAt: new Date(Date.now() - 1000).toISOString(), ...(endsAt ? { endsAt } : {}), generatorURL: 'http://127.0.0.1/graph' }]),
      });
    const posted = await post();
    assert.equal(posted.status, 200, await posted.text());

    const firing = await until('the firing webhook', 20_000, () => payloads.find((p) => p.status === 'firing'));
    assert.equal(firing.version, '4');
    assert.equal(firing.receiver, 'greenlight');
    assert.deepEqual(firing.groupLabels, { alertname: 'GreenlightE2E' });
    assert.equal(firing.alerts.length, 1);
    const a = firing.alerts[0]!;
    assert.deepEqual(a.labels, labels);
    assert.equal(a.annotations.summary, 'end-to-end test alert');
    assert.equal(a.fingerprint, fingerprint(labels), 'our fingerprint is Alertmanager\'s');
    const fired = await until('the dispatcher to page', 5_000, () => fake.delivered.find((n) => n.action === 'trigger'));
    assert.equal(fired.dedupKey, fingerprint(labels));
    assert.equal(fired.severity, 'critical');
    assert.equal(fired.summary, 'end-to-end test alert');

    // Resolve it in Alertmanager: the resolution arrives by webhook and resolves ours.
    const resolvedPost = await post(new Date().toISOString());
    assert.equal(resolvedPost.status, 200);
    const resolved = await until('the resolved webhook', 20_000, () => payloads.find((p) => p.status === 'resolved'));
    assert.equal(resolved.alerts[0]!.status, 'resolved');
    await until('the dispatcher to send the resolution', 5_000, () => fake.delivered.find((n) => n.action === 'resolve'));
    const types = (await log.query({ types: ['alert.*'] })).map((e) => e.type);
    assert.deepEqual(types.filter((x) => x !== 'alert.group.notified'), ['alert.firing', 'alert.resolved']);
  } finally {
    dispatcher.stop();
    if (am && am.exitCode === null) {
      const exited = new Promise((r) => am!.once('exit', r));
      am.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (am.exitCode === null) am.kill('SIGKILL');
    }
    await new Promise<void>((r) => hook.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});
