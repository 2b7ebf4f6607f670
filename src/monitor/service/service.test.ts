import { test } from 'node:test';
import { ofType } from '../../events/catalogue/index.ts';
import { queryType } from '../../events/log.ts';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../clock/clock.ts';
import { MemoryEventLog } from '../../events/memory-log.ts';
import { LATENCY_BOUNDS_MS } from '../../router/stats.ts';
import type { AlertChange } from '../rules/engine.ts';
import { monitorsSchema, slosSchema } from '../schema.ts';
import { MonitorService, type MonitoredInstance, type MonitorServiceDeps } from './service.ts';
import { FakeRouterStats } from './testing.ts';

const SMALL_BOUNDS = [10, 50, 100, 300, 1000];
const MIN = 60_000;
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

const availabilitySlo = {
  name: 'availability',
  objective: 0.999,
  availability: { total: { metric: 'router_requests_total' }, errors: { metric: 'router_errors_total' } },
};
const latencySlo = { name: 'latency', objective: 0.99, latency: { histogram: 'router_request_duration_ms', threshold: 300 } };

function setup(
  extra: Partial<MonitorServiceDeps> & { monitors?: unknown; sloList?: unknown[]; bounds?: number[] } = {},
): { clock: ManualClock; events: MemoryEventLog; router: FakeRouterStats; svc: MonitorService; changes: AlertChange[] } {
  const clock = new ManualClock(Date.UTC(2026, 0, 5, 9));
  const events = new MemoryEventLog(clock);
  const router = new FakeRouterStats(clock, extra.bounds ?? SMALL_BOUNDS);
  const changes: AlertChange[] = [];
  const svc = new MonitorService({
    clock,
    events,
    environment: 'production',
    service: 'web',
    config: monitorsSchema.parse(extra.monitors ?? {}),
    slos: slosSchema.parse(extra.sloList ?? []),
    routerStats: router.stats,
    instances: () => [],
    onAlert: (c) => changes.push(c),
    ...extra,
  });
  return { clock, events, router, svc, changes };
}

/** Advances the clock in steps, letting real sockets and event writes finish after each. */
async function run(clock: ManualClock, svc: MonitorService, ms: number, step = 5_000, each?: () => void | Promise<void>): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await clock.advance(step);
    await svc.idle();
    await each?.();
  }
}

test('SLO burn: 100% errors page through the 1h/5m alert after 0.864 min, events and status show it', async () => {
  const { clock, events, router, svc, changes } = setup({
    monitors: { evaluation_interval: '10s', router_interval: '5s' },
    sloList: [availabilitySlo, latencySlo],
  });
  router.set('2.0.0', { rate: 20, errorFraction: 0, latencyMs: 20 });
  svc.start();
  // a clean hour first, so the 1h window starts clean as in the Workbook's arithmetic
  await run(clock, svc, 65 * MIN);
  assert.equal(changes.length, 0, 'a clean hour raises nothing');
  let st = svc.status();
  assert.equal(st.slos[0]!.budgetRemaining, 1);
  assert.equal(st.slos[0]!.compliant, true);
  assert.equal(st.slos[1]!.problem, undefined, 'threshold 300 is a router bound here');

  const outageAt = clock.now();
  router.set('2.0.0', { rate: 20, errorFraction: 1, latencyMs: 20 });
  const pageName = 'slo_burn_rate:availability:page:1h_5m';
  await run(clock, svc, 3 * MIN);
  const fired = changes.find((c) => c.name === pageName && c.state === 'firing');
  assert.ok(fired, 'the 1h/5m page fires');
  const after = fired.firedAt! - outageAt;
  // 14.4 x 60 min / 1000 = 0.864 min, plus at most one router read (5 s) and one evaluation (10 s)
  assert.ok(after >= 0.864 * MIN && after <= 0.864 * MIN + 15_000, `fired ${after / 1000} s into the outage`);
  assert.deepEqual(fired.labels, {
    environment: 'production',
    service: 'web',
    slo: 'availability',
    severity: 'page',
    long_window: '1h',
    short_window: '5m',
  });

  const firingEvents = await queryType(events, 'monitor.alert.firing');
  assert.ok(firingEvents.some((e) => e.data.name === pageName && e.subject.startsWith('alert/slo_burn_rate:availability:page:1h_5m{')));
  st = svc.status();
  const avail = st.slos.find((s) => s.name === 'availability')!;
  // the budget is 0.1% of 30 days of events (43.2 min of full outage at this rate): 3 minutes spend
  // about 7% of it, not "-300%" as dividing by the 68 minutes of data held would say
  assert.ok(Math.abs(avail.budgetSpent! - 3 / 43.2) < 0.015, `spent ${avail.budgetSpent}`);
  assert.ok(Math.abs(avail.budgetRemaining! - (1 - avail.budgetSpent!)) < 1e-12);
  assert.equal(avail.compliant, true, 'budget left');
  assert.equal(avail.tooLittleData, undefined, '68 min at 20 req/s is over 10,000 events');
  assert.equal(avail.alerts.find((a) => a.longWindowMs === 60 * MIN)!.longWindowFull, true);
  assert.equal(avail.alerts.find((a) => a.longWindowMs === 6 * 60 * MIN)!.longWindowFull, false);
  const page = avail.alerts.find((a) => a.severity === 'page' && a.longWindowMs === 60 * MIN)!;
  assert.equal(page.firing, true);
  assert.ok(page.longBurnRate! > 14.4 && page.shortBurnRate! > 14.4);
  assert.equal(st.slos.find((s) => s.name === 'latency')!.budgetRemaining, 1, 'fast errors do not burn the latency SLO');
  assert.ok(st.alerts.some((a) => a.name === pageName && a.state === 'firing'));
  // the draining budget is also a trend warning: 100% errors spend a 30-day budget in 43 minutes
  assert.deepEqual(st.trends.map((t) => t.key), ['slo_budget/availability']);
  assert.match(st.trends[0]!.message, /^error budget of SLO availability of web runs out in about \d+ minutes at the current burn/);
  assert.equal(st.router.versions[0]!.errorRatio, 1);

  // recovery: the page resolves within the short window
  router.set('2.0.0', { rate: 20, errorFraction: 0, latencyMs: 20 });
  await run(clock, svc, 6 * MIN);
  assert.ok(changes.some((c) => c.name === pageName && c.state === 'resolved' && c.firedAt !== undefined));
  const resolved = await queryType(events, 'monitor.alert.resolved');
  assert.ok(resolved.some((e) => e.data.name === pageName));
  // only alert changes, anomalies, trend warnings and summaries (every 10 min): never one event per sample
  const all = await events.query();
  const types = new Set(all.map((e) => e.type));
  for (const t of types) assert.match(t, /^monitor\.(alert\.(pending|firing|resolved)|anomaly|trend\.warning|summary)$/);
  const summaries = all.filter(ofType('monitor.summary'));
  assert.equal(summaries.length, 7, '74 minutes at one summary per 10 minutes');
  const s = summaries.at(-1)!.data;
  assert.equal(s.versions[0]!.version, '2.0.0');
  assert.ok(Math.abs(s.versions[0]!.requestRate - 20) < 0.5);
  assert.deepEqual(s.slos.map((x) => x.name), ['availability', 'latency']);

  await svc.stop();
  assert.equal(clock.pendingCount(), 0);
});

test('router series: exact histogram for p50/p99 on the real router bounds; a round SLO threshold gets a conservative bucket', async () => {
  const { clock, router, svc } = setup({ sloList: [latencySlo], bounds: [...LATENCY_BOUNDS_MS], monitors: { evaluation_interval: '15s' } });
  router.set('2.0.0', { rate: 100, errorFraction: 0, latencyMs: 20, slowFraction: 0.02, slowMs: 500 });
  router.set('1.9.0', { rate: 0, errorFraction: 0, latencyMs: 20 });
  svc.start();
  await run(clock, svc, 5 * MIN);
  const st = svc.status();
  const v = st.router.versions.find((x) => x.version === '2.0.0')!;
  assert.ok(Math.abs(v.requestRate - 100) < 1);
  assert.equal(v.errorRatio, 0);
  assert.ok(v.p50Ms! > 18 && v.p50Ms! <= 20.5, `p50 ${v.p50Ms}`);
  // 500 ms lies in the router bucket (466, 513]: Prometheus' interpolation answers inside it
  assert.ok(v.p99Ms! > 466 && v.p99Ms! <= 513.2, `p99 ${v.p99Ms}`);
  const slo = st.slos[0]!;
  assert.equal(slo.problem, undefined);
  assert.ok(Math.abs(slo.errorRatio! - 0.02) < 0.005, `latency error ratio ${slo.errorRatio}`);
  assert.ok(svc.store.select('router_request_duration_ms_bucket', { version: '2.0.0', le: '300' }).length === 1);
  // an idle version is written once a minute, not every read
  const idlePoints = svc.store.range('router_requests_total', { version: '1.9.0' }, { windowMs: 5 * MIN }).length;
  assert.ok(idlePoints >= 4 && idlePoints <= 6, `idle version points ${idlePoints}`);
  assert.ok(st.memory.series > 280 && st.memory.series < 320, `series ${st.memory.series}`);
  assert.equal(st.memory.maxBytes, st.memory.maxSeries * st.memory.maxBytesPerSeries);
  assert.ok(st.memory.bytes < st.memory.series * st.memory.maxBytesPerSeries);
  await svc.stop();
  assert.equal(clock.pendingCount(), 0);
});

test('anomaly in the error ratio: one monitor.anomaly event per episode', async () => {
  const { clock, events, router, svc } = setup({ monitors: { evaluation_interval: '15s' } });
  const normal = { rate: 50, errorFraction: 0.01, latencyMs: 20, slowFraction: 0.01, slowMs: 200 };
  const bad = { ...normal, errorFraction: 0.2 };
  router.set('2.0.0', normal);
  svc.start();
  await run(clock, svc, 40 * MIN); // past the detector's 300-point warm-up (25 min at 5 s)
  const errorAnomalies = async () =>
    (await queryType(events, 'monitor.anomaly')).filter((e) => e.data.name === 'router_error_ratio' && e.data.detector !== 'step change');
  const stepWarnings = async () => (await queryType(events, 'monitor.anomaly')).filter((e) => e.data.detector === 'step change');
  assert.equal((await errorAnomalies()).length, 0, 'no anomaly in normal traffic');

  const firstAt = clock.now();
  router.set('2.0.0', bad);
  await run(clock, svc, 3 * MIN);
  let found = await errorAnomalies();
  assert.equal(found.length, 1, 'one event for the whole episode');
  // the fast step warning saw it too (1% -> 20% errors at 50 req/s), as a warning
  const steps = await stepWarnings();
  assert.equal(steps.length, 1);
  assert.ok(steps[0]!.time - firstAt <= 30_000, `step warning after ${(steps[0]!.time - firstAt) / 1000} s`);
  assert.match(String(steps[0]!.data.message), /^early warning: error ratio of web@2\.0\.0 stepped up to [\d.]+%, [\d.]+x its baseline of [\d.]+% \(learnt over \d+ min\), for \d+ s$/);
  assert.equal(steps[0]!.data.severity, 'warning');
  assert.ok(found[0]!.time - firstAt <= MIN, 'raised within a minute');
  const d = found[0]!.data as { series: string; value: number; score: number; threshold: number; message: string; expected: number; deviations: number; severity: string };
  assert.equal(d.series, 'router_error_ratio{version="2.0.0"}');
  assert.ok(d.score >= d.threshold);
  // what was expected, on which basis, and by how much: e.g. "error ratio of web@2.0.0 is 2.37%,
  // 3.7 robust deviations above its usual level of 0.841%, and its recent pattern is unlike ..."
  assert.match(d.message, /^error ratio of web@2\.0\.0 is [\d.]+%, [\d.]+ robust deviations above (its usual level|the previous value|the time-of-day expectation \(30-minute slots\)) of [\d.]+%.* \(anomaly score [\d.]+, threshold 0\.3\)$/);
  assert.ok(d.expected < 0.02 && d.deviations > 2, `expected ${d.expected}, ${d.deviations} deviations`);
  assert.ok(d.severity === 'warning' || d.severity === 'ticket');
  assert.ok(svc.status().anomalies.some((a) => a.name === 'router_error_ratio'));
  // and it reaches the alerting pipeline as a SeriesAnomaly alert with that sentence and severity, never a page
  await run(clock, svc, 30_000);
  const alert = svc.status().alerts.find((a) => a.name === 'SeriesAnomaly' && a.labels.series === 'router_error_ratio');
  assert.ok(alert, 'SeriesAnomaly alert');
  assert.equal(alert.annotations.summary, d.message);
  assert.equal(alert.labels.severity, d.severity);

  router.set('2.0.0', normal);
  await run(clock, svc, 30 * MIN);
  assert.equal((await errorAnomalies()).length, 1, 'recovery is not a second episode');
  // the detector's per-series calibration (a running 98th percentile of surprise) rises during an
  // incident and takes hours to settle, so the next incident is looked for three hours later
  await run(clock, svc, 150 * MIN);
  assert.ok(!svc.status().anomalies.some((a) => a.name === 'router_error_ratio'), 'the episode ended after the cool-down');

  router.set('2.0.0', bad);
  await run(clock, svc, 3 * MIN);
  found = await errorAnomalies();
  assert.equal(found.length, 2, 'a later incident is a new episode');
  router.set('2.0.0', normal);
  await run(clock, svc, 2 * MIN);
  const others = (await queryType(events, 'monitor.anomaly')).filter((e) => e.data.name !== 'router_error_ratio' && e.data.detector !== 'step change');
  // a 20x jump in errors moves nothing else here; list what did if this ever fails
  assert.deepEqual(others.map((e) => e.data.message), []);
  await svc.stop();
  assert.equal(clock.pendingCount(), 0);
});

// --- a real instance: a child process with a health endpoint, prom-client metrics and a leak ----

const CHILD = `
const http = require('node:http');
const client = require('prom-client');
const reg = new client.Registry();
new client.Gauge({ name: 'app_queue_depth', help: 'jobs waiting', registers: [reg] }).set(7);
const jobs = new client.Counter({ name: 'app_jobs_total', help: 'jobs done', registers: [reg] });
let healthy = true;
const hoard = [];
http.createServer(async (req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/healthz') { res.statusCode = healthy ? 200 : 500; return res.end(healthy ? 'ok' : 'failing'); }
  if (u.pathname === '/metrics') { jobs.inc(); res.setHeader('content-type', reg.contentType); return res.end(await reg.metrics()); }
  if (u.pathname === '/fail') { healthy = false; return res.end(); }
  if (u.pathname === '/heal') { healthy = true; return res.end(); }
  if (u.pathname === '/leak') { hoard.push(Buffer.alloc(Number(u.searchParams.get('mb')) * 1048576, 1)); return res.end(); }
  res.statusCode = 404; res.end();
}).listen(0, '127.0.0.1', function () { process.stdout.write(JSON.stringify({ port: this.address().port }) + '\\n'); });
`;

async function startChild(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['-e', CHILD], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error('child did not start in 10 s')), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(t);
        resolve((JSON.parse(buf.slice(0, nl)) as { port: number }).port);
      }
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

async function serve(): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

test('real instance: probes (router and instance), scraping, process metrics; a failing probe alerts after for, a blip does not; a leak warns', async (t) => {
  if (process.platform !== 'linux') return t.skip('process metrics need /proc');
  const { child, url: instanceUrl } = await startChild();
  const { server, url: routerUrl } = await serve();
  const instance: MonitoredInstance = { id: 'web-a1b2', version: '2.0.0', url: instanceUrl, pid: child.pid! };
  const { clock, events, router, svc, changes } = setup({
    monitors: {
      evaluation_interval: '15s',
      probes: [{ name: 'web-health', url: `${routerUrl}/healthz`, interval: '10s', timeout: '2s', per_instance: true, expect_body: 'ok' }],
      scrape: { interval: '15s', timeout: '5s', metrics_path: '/metrics' },
      process_metrics: { interval: '15s', memory_limit: '512MiB' },
      trend: { horizon: '1h', window: '30m' },
    },
    instances: () => [instance],
  });
  const post = async (path: string) => void (await (await fetch(`${instanceUrl}${path}`)).text());
  try {
    router.set('2.0.0', { rate: 10, errorFraction: 0, latencyMs: 20 });
    svc.start();
    await run(clock, svc, 2 * MIN);
    let st = svc.status();
    assert.deepEqual(
      st.probes.map((p) => [p.probe, p.instance ?? null, p.state, p.lastStatus]),
      [
        ['web-health', null, 'up', 200],
        ['web-health', 'web-a1b2', 'up', 200],
      ],
    );
    assert.equal(st.scrapes.length, 1);
    assert.equal(st.scrapes[0]!.up, true, st.scrapes[0]!.lastError);
    assert.equal(st.scrapes[0]!.instance, 'web-a1b2');
    assert.equal(svc.store.latest('app_queue_depth', { instance: 'web-a1b2' })[0]?.value, 7);
    assert.deepEqual(svc.store.latest('app_jobs_total', {})[0]?.labels, { job: 'web', instance: 'web-a1b2', version: '2.0.0' });
    assert.equal(st.processes.length, 1);
    assert.equal(st.processes[0]!.up, true);
    assert.ok(st.processes[0]!.residentBytes! > 10 * 2 ** 20);
    assert.equal(st.processes[0]!.memoryLimitBytes, 512 * 2 ** 20);

    // the instance fails its health check: InstanceProbeDown is pending at once and fires after `for` (1m)
    const failAt = clock.now();
    await post('/fail');
    await run(clock, svc, 2 * MIN);
    const pending = changes.find((c) => c.name === 'InstanceProbeDown' && c.state === 'pending')!;
    const firing = changes.find((c) => c.name === 'InstanceProbeDown' && c.state === 'firing')!;
    assert.ok(pending && firing);
    assert.ok(pending.activeAt - failAt <= 25_000, 'pending within a probe interval and an evaluation');
    assert.ok(firing.firedAt! - pending.activeAt >= MIN && firing.firedAt! - pending.activeAt < MIN + 15_000);
    assert.deepEqual(firing.labels, { probe: 'web-health', instance: 'web-a1b2', version: '2.0.0', environment: 'production', service: 'web', severity: 'ticket' });
    st = svc.status();
    const ip = st.probes.find((p) => p.instance === 'web-a1b2')!;
    assert.equal(ip.state, 'down');
    assert.equal(ip.lastStatus, 500);
    assert.match(ip.lastError!, /status 500/);
    assert.ok(st.alerts.some((a) => a.name === 'InstanceProbeDown' && a.state === 'firing'));
    assert.ok(!st.alerts.some((a) => a.name === 'ProbeDown'), 'the router probe is still up');

    await post('/heal');
    await run(clock, svc, MIN);
    assert.ok(changes.some((c) => c.name === 'InstanceProbeDown' && c.state === 'resolved' && c.firedAt !== undefined));

    // a 20-second blip is pending, then clears: onAlert hears the resolve, the event log does not
    await post('/fail');
    await run(clock, svc, 20_000);
    await post('/heal');
    await run(clock, svc, MIN);
    const blip = changes.filter((c) => c.name === 'InstanceProbeDown').at(-1)!;
    assert.equal(blip.state, 'resolved');
    assert.equal(blip.firedAt, undefined);
    const resolvedEvents = await queryType(events, 'monitor.alert.resolved');
    assert.equal(resolvedEvents.filter((e) => e.data.name === 'InstanceProbeDown').length, 1, 'only the alert that fired is resolved in the log');
    assert.equal((await queryType(events, 'monitor.alert.pending')).filter((e) => e.data.name === 'InstanceProbeDown').length, 2);

    // a leak of 4 MiB per process sample (16 MiB/min) towards the 512 MiB limit
    let ticks = 0;
    await run(clock, svc, 8 * MIN, 5_000, async () => {
      if (++ticks % 3 === 0) await post('/leak?mb=4');
    });
    const warnings = await queryType(events, 'monitor.trend.warning');
    // one episode: announced once, and again at most once if the forecast came much sooner
    assert.ok(warnings.length >= 1 && warnings.length <= 2, `${warnings.length} announcements`);
    const w = warnings[0]!.data as { message: string; etaMs: number; etaEarliestMs: number; etaLatestMs: number; instance: string; limit: number };
    assert.match(w.message, /^memory of web@2\.0\.0 instance 1 reaches its 512 MiB limit in (about \d+ minutes?|less than a minute)( \(95%: .* to .*\))?$/);
    assert.ok(w.etaMs > 0 && w.etaMs <= 60 * MIN, `eta ${w.etaMs / MIN} min`);
    assert.ok(w.etaEarliestMs <= w.etaMs && w.etaMs <= w.etaLatestMs, 'the forecast states its range');
    assert.equal(w.instance, 'web-a1b2');
    st = svc.status();
    const now = st.trends.find((x) => x.key === 'memory/web-a1b2' && x.status === 'approaching')!;
    assert.ok(now.etaMs! < w.etaMs, `status eta ${now.etaMs! / MIN} min < first estimate`);
    assert.match(now.message, /^memory of web@2\.0\.0 instance 1 reaches its 512 MiB limit in /);
    assert.ok(st.memory.detectors > 0 && st.memory.trendPredictors === 1);
    assert.ok(st.processes[0]!.residentBytes! > 40 * 2 ** 20);

    // the instance goes away: its probe, scrape and process watchers go too
    await svc.stop();
    assert.equal(clock.pendingCount(), 0);
    assert.equal(svc.status().running, false);
  } finally {
    child.kill();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('stop() before any tick leaves no timers; start() twice is one service', async () => {
  const { clock, svc } = setup({
    monitors: { probes: [{ name: 'x', url: 'http://127.0.0.1:9/healthz' }], scrape: { targets: [] }, process_metrics: {} },
  });
  svc.start();
  svc.start();
  assert.ok(clock.pendingCount() > 0);
  await svc.stop();
  assert.equal(clock.pendingCount(), 0);
});

test('error budget trend: a 5x burn on a 30-day budget is not "running out"; a full outage warns once, before the budget is spent', async () => {
  const { clock, events, router, svc } = setup({ monitors: { evaluation_interval: '15s', summary_interval: '1h' }, sloList: [availabilitySlo] });
  router.set('2.0.0', { rate: 20, errorFraction: 0, latencyMs: 20 });
  svc.start();
  assert.match(svc.status().slos[0]!.tooLittleData ?? '', /^too little data: 0 of the 10,000 events/);
  await run(clock, svc, 3 * 60 * MIN);
  // 0.5% errors on a 99.9% SLO is a 5x burn: it would spend the 30-day budget in 6 days
  router.set('2.0.0', { rate: 20, errorFraction: 0.005, latencyMs: 20 });
  await run(clock, svc, 60 * MIN);
  const budgetWarnings = async () => (await queryType(events, 'monitor.trend.warning')).filter((e) => e.data.slo === 'availability');
  assert.deepEqual((await budgetWarnings()).map((e) => [e.time, e.data.message]), [], 'a 5x burn does not run a 30-day budget out within the hour');
  assert.ok(svc.status().slos[0]!.budgetRemaining! > 0.99);
  // 100% errors spend the budget in 43.2 minutes
  router.set('2.0.0', { rate: 20, errorFraction: 1, latencyMs: 20 });
  const outageAt = clock.now();
  let spentAt: number | undefined;
  await run(clock, svc, 50 * MIN, 5_000, () => {
    if (spentAt === undefined && (svc.status().slos[0]!.budgetRemaining ?? 1) <= 0) spentAt = clock.now();
  });
  const warnings = await budgetWarnings();
  // announced once, and again at most once: when the forecast came much sooner, or when it is spent
  assert.ok(warnings.length >= 1 && warnings.length <= 2, `${warnings.length} announcements`);
  if (warnings.length === 2) assert.match(String(warnings[1]!.data.message), /sooner than announced|is spent$/);
  assert.ok(spentAt !== undefined && spentAt - outageAt > 40 * MIN && spentAt - outageAt < 46 * MIN, `spent after ${(spentAt! - outageAt) / MIN} min`);
  assert.ok(warnings[0]!.time < spentAt, 'the warning comes before the budget is gone');
  assert.match(String(warnings[0]!.data.message), /^error budget of SLO availability of web runs out in about \d+ minutes at the current burn \(\d+% left\)/);
  await svc.stop();
  assert.equal(clock.pendingCount(), 0);
});

test('config: the monitor service keys parse (sizes, per-instance probes, intervals, trend)', async () => {
  const { parseByteSize } = await import('../schema.ts');
  assert.equal(parseByteSize('512MiB'), 512 * 2 ** 20);
  assert.equal(parseByteSize('1.5GiB'), 1.5 * 2 ** 30);
  assert.equal(parseByteSize('800MB'), 800e6);
  assert.equal(parseByteSize(4096), 4096);
  assert.equal(parseByteSize('lots'), undefined);
  const m = monitorsSchema.parse({
    router_interval: '5s',
    summary_interval: '10m',
    trend: { horizon: '2h' },
    probes: [{ name: 'web-health', url: 'http://127.0.0.1:8080/healthz', per_instance: true }],
    process_metrics: { memory_limit: { web: '512MiB', api: '1GiB' } },
  });
  assert.equal(m.router_interval, 5_000);
  assert.equal(m.summary_interval, 600_000);
  assert.deepEqual(m.trend, { horizon: 7_200_000 });
  assert.equal(m.probes[0]!.per_instance, true);
  assert.deepEqual(m.process_metrics!.memory_limit, { web: 512 * 2 ** 20, api: 2 ** 30 });
  const bad = monitorsSchema.safeParse({ process_metrics: { memory_limit: '512 potatoes' } });
  assert.equal(bad.success, false);
});

test('early warning from the first minutes of a service: p99 2 ms -> 32 ms (under any SLO threshold) is flagged within a minute', async () => {
  const { clock, events, router, svc } = setup({ monitors: { evaluation_interval: '15s' } });
  router.set('2.0.0', { rate: 100, errorFraction: 0, latencyMs: 2 });
  svc.start();
  await run(clock, svc, 3 * MIN); // a service three minutes old: the anomaly detector has no history yet
  const stepAt = clock.now();
  router.set('2.0.0', { rate: 100, errorFraction: 0, latencyMs: 32 });
  await run(clock, svc, 2 * MIN);
  const steps = (await queryType(events, 'monitor.anomaly')).filter((e) => e.data.detector === 'step change');
  assert.equal(steps.length, 1, JSON.stringify(steps.map((e) => e.data.message)));
  assert.equal(steps[0]!.data.name, 'router_latency_p99_ms');
  assert.ok(steps[0]!.time - stepAt <= 60_000, `flagged after ${(steps[0]!.time - stepAt) / 1000} s`);
  assert.match(String(steps[0]!.data.message), /^early warning: p99 latency of web@2\.0\.0 stepped up to/);
  // it reaches the alerting pipeline as a warning, never a page
  const alert = svc.status().alerts.find((a) => a.name === 'SeriesAnomaly');
  assert.equal(alert?.labels.severity, 'warning');
  await svc.stop();
});

test('a value held longer than ever, per metric: an idle process holding its memory and an error ratio at 0 say nothing; a frozen p99 does', async () => {
  const { AnomalyWatcher } = await import('./signals.ts');
  const { anomalyDetectorFor } = await import('./service.ts');
  const { ROUTER_ERROR_RATIO, ROUTER_P99 } = await import('./router-series.ts');
  const watch = (name: string, f: (i: number) => number) => {
    const w = new AnomalyWatcher({ cooldownMs: MIN, maxSeries: 10, detectorFor: (n) => anomalyDetectorFor(n, undefined), describe: (n) => ({ what: n, value: (v) => String(v) }) });
    const said: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const s = w.observe(name, name, {}, i * 5_000, f(i));
      if (s) said.push(s.message);
    }
    return said.filter((m) => m.includes('has stayed at exactly'));
  };
  // resident memory warms up page by page for 3 minutes, then an idle process holds it exactly (measured: an idle
  // node process's RSS did not change over 30 one-second samples)
  const pages = (i: number) => 4096 * Math.round(15_000 + 40_000 * (1 - Math.exp(-Math.min(i, 36) / 12)));
  assert.deepEqual(watch('process_resident_memory_bytes', pages), []);
  // errors in a burst every 100 samples, then none
  const errors = (i: number) => (i < 1000 && i % 100 < 5 ? 0.01 + (i % 100) / 1000 : 0);
  assert.deepEqual(watch(ROUTER_ERROR_RATIO, errors), []);
  // a p99 that moves every sample, then freezes
  const p99 = (i: number) => (i < 1000 ? 20 + ((i * 7919) % 101) / 10 : 25.3);
  assert.equal(watch(ROUTER_P99, p99).length, 1);
  // without the declaration, the same memory series would be announced: the rule is what keeps it quiet
  const w = new AnomalyWatcher({ cooldownMs: MIN, maxSeries: 10, describe: (n) => ({ what: n, value: (v) => String(v) }) });
  let announced = false;
  for (let i = 0; i < 2000; i++) announced = (w.observe('m', 'process_resident_memory_bytes', {}, i * 5_000, pages(i))?.message.includes('has stayed at exactly') ?? false) || announced;
  assert.ok(announced);
});
