import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { ManualClock, systemClock } from '../../clock/clock.ts';
import { SeriesStore } from '../series/store.ts';
import { parseExposition } from './parse.ts';
import { Scraper, fetchExposition } from './scrape.ts';

/** Waits for real sockets to catch up, failing after 5 s (50 ms x 100 tries) rather than hanging. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

test('scrapes a real prom-client registry: counter, gauge, histogram, summary', async () => {
  const registry = new Registry();
  const requests = new Counter({ name: 'http_requests_total', help: 'requests', labelNames: ['code'], registers: [registry] });
  const inflight = new Gauge({ name: 'inflight', help: 'in flight', registers: [registry] });
  const latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'latency',
    labelNames: ['route'],
    buckets: [0.1, 0.3, 1],
    registers: [registry],
  });
  const size = new Summary({ name: 'response_bytes', help: 'size', percentiles: [0.5, 0.9], labelNames: ['route'], registers: [registry] });
  const { url, server } = await serve(async (_req, res) => {
    res.setHeader('content-type', registry.contentType);
    res.end(await registry.metrics());
  });
  try {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = new SeriesStore({ clock });
    const scraper = new Scraper({ clock, store, targets: [{ url: `${url}/metrics`, labels: { job: 'web' } }], intervalMs: 15_000 });
    const instance = new URL(url).host;

    requests.inc({ code: '200' }, 10);
    inflight.set(3);
    for (const [route, v] of [['/a', 0.05], ['/a', 0.2], ['/a', 0.5], ['/b', 2]] as const) latency.observe({ route }, v);
    size.observe({ route: '/a' }, 100);
    const first = (await scraper.scrapeAll())[0]!;
    assert.equal(first.ok, true, first.error);
    // 1 counter + 1 gauge + 2 routes x (4 buckets + _sum + _count) + 2 quantiles + _sum + _count
    assert.equal(first.samples, 18);

    await clock.advance(15_000);
    requests.inc({ code: '200' }, 5);
    requests.inc({ code: '500' }, 1);
    for (let i = 0; i < 9; i++) latency.observe({ route: '/a' }, 0.05);
    latency.observe({ route: '/a' }, 0.5);
    await scraper.scrapeAll();

    assert.deepEqual(store.latest('up', { job: 'web' }).map((s) => [s.labels.instance, s.value]), [[instance, 1]]);
    assert.equal(store.latest('inflight')[0]!.value, 3);
    assert.deepEqual(store.latest('inflight')[0]!.labels, { job: 'web', instance });
    assert.equal(store.increase('http_requests_total', { code: '200' }, { windowMs: 15_000 })[0]!.value, 5);
    assert.equal(store.select('http_requests_total', { code: '500' })[0]!.kind, 'counter');
    // the 15 s window holds the ten new /a observations: 9 under 0.1, 1 in (0.3, 1]
    const p50 = store.histogramQuantile(0.5, 'http_request_duration_seconds', { route: '/a' }, { windowMs: 15_000 });
    assert.ok(Math.abs(p50[0]!.value - 0.1 * (5 / 9)) < 1e-9, `p50 ${p50[0]!.value}`);
    assert.equal(store.latest('http_request_duration_seconds_count', { route: '/b' })[0]!.value, 1);
    assert.equal(store.latest('response_bytes', { route: '/a', quantile: '0.5' })[0]!.value, 100);
    assert.equal(store.select('response_bytes', { quantile: '0.5' })[0]!.kind, 'gauge');
    assert.equal(store.latest('response_bytes_count', { route: '/a' })[0]!.value, 1);
    // prom-client's default-free registry still names its content type; Prometheus text 0.0.4
    assert.match(registry.contentType, /text\/plain/);
  } finally {
    await close(server);
  }
});

test('a timed-out, failing or garbled target is up=0 with the reason', async () => {
  const { url, server } = await serve((req, res) => {
    if (req.url === '/hang') return; // never answers
    if (req.url === '/500') {
      res.statusCode = 500;
      return res.end('oops');
    }
    res.end('# TYPE x counter\nx{a="1" 3\n');
  });
  try {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = new SeriesStore({ clock });
    const results: string[] = [];
    const scraper = new Scraper({
      clock,
      store,
      timeoutMs: 5_000,
      targets: [{ url: `${url}/hang`, labels: { job: 'hang' } }, { url: `${url}/500`, labels: { job: 'err' } }, { url: `${url}/bad`, labels: { job: 'bad' } }],
      onResult: (r) => results.push(`${r.labels.job}:${r.error}`),
    });
    const all = scraper.scrapeAll();
    // let the two quick targets answer on real sockets, then move the clock past the timeout
    await until(() => results.length >= 2, 'the two quick targets');
    await clock.advance(5_000);
    const rs = await all;
    assert.deepEqual(rs.map((r) => r.ok), [false, false, false]);
    const by = Object.fromEntries(results.map((r) => r.split(/:(.*)/s).slice(0, 2)));
    assert.match(by.hang!, /timed out after 5000 ms/);
    assert.match(by.err!, /HTTP 500/);
    assert.match(by.bad!, /does not parse/);
    assert.deepEqual(store.latest('up').map((s) => s.value), [0, 0, 0]);
    assert.equal(rs[0]!.durationMs, 5_000);
  } finally {
    await close(server);
  }
});

test('exposed labels that clash with target labels become exported_<name>', async () => {
  const { url, server } = await serve((_req, res) => res.end('# TYPE g gauge\ng{instance="inner",job="x",k="v"} 1\n'));
  try {
    const clock = new ManualClock(0);
    const store = new SeriesStore({ clock });
    await new Scraper({ clock, store, targets: [{ url, labels: { job: 'outer' } }] }).scrapeAll();
    assert.deepEqual(store.latest('g', {}, 0)[0]!.labels, {
      exported_instance: 'inner',
      exported_job: 'x',
      k: 'v',
      job: 'outer',
      instance: new URL(url).host,
    });
  } finally {
    await close(server);
  }
});

test('start() scrapes on the clock and does not overlap a slow target', async () => {
  let hits = 0;
  let release: (() => void) | undefined;
  const { url, server } = await serve((_req, res) => {
    hits++;
    if (hits === 2) {
      release = () => res.end('# TYPE g gauge\ng 2\n');
      return;
    }
    res.end(`# TYPE g gauge\ng ${hits}\n`);
  });
  try {
    const clock = new ManualClock(0);
    const store = new SeriesStore({ clock });
    const scraper = new Scraper({ clock, store, intervalMs: 10_000, timeoutMs: 60_000, targets: [{ url }] });
    scraper.start();
    await scraper.idle();
    await clock.advance(10_000); // second scrape starts and hangs
    await until(() => hits >= 2, 'the second request');
    await clock.advance(10_000); // third tick: still in flight, not started again
    assert.equal(hits, 2);
    release!();
    await scraper.idle();
    scraper.stop();
    assert.equal(clock.pendingCount(), 0);
    assert.deepEqual(store.range('g', { job: 'greenlight', instance: new URL(url).host }, { windowMs: 60_000, at: 20_000 }).map((p) => p.v), [1, 2]);
  } finally {
    await close(server);
  }
});

function prometheusBinary(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const promBin = prometheusBinary();

test(
  'scrapes a real Prometheus server\'s own /metrics',
  { skip: promBin ? false : 'prometheus binary not on PATH (apt-get install -y prometheus); the fixture test covers its format' },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'greenlight-prom-'));
    writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\nscrape_configs: []\n');
    const port = await freePort();
    const child = spawn(
      promBin!,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--web.listen-address=127.0.0.1:${port}`, `--storage.tsdb.path=${join(dir, 'data')}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      const base = `http://127.0.0.1:${port}`;
      // bounded wait for readiness: 150 tries x 100 ms
      let ready = false;
      for (let i = 0; i < 150 && !ready && child.exitCode === null; i++) {
        ready = await fetch(`${base}/-/ready`).then((r) => r.ok, () => false);
        if (!ready) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(ready, `prometheus did not become ready:\n${stderr}`);

      const text = await fetchExposition(`${base}/metrics`, { clock: systemClock, timeoutMs: 10_000 });
      const fs = parseExposition(text);
      const names = new Set(fs.map((f) => f.name));
      for (const n of ['prometheus_build_info', 'go_gc_duration_seconds', 'go_goroutines', 'prometheus_http_request_duration_seconds']) {
        assert.ok(names.has(n), `${n} parsed`);
      }
      assert.equal(fs.find((f) => f.name === 'prometheus_http_request_duration_seconds')!.type, 'histogram');

      const store = new SeriesStore({ clock: systemClock });
      const r = (await new Scraper({ clock: systemClock, store, targets: [{ url: `${base}/metrics`, labels: { job: 'prometheus' } }] }).scrapeAll())[0]!;
      assert.equal(r.ok, true, r.error);
      assert.equal(store.latest('prometheus_build_info', { job: 'prometheus' })[0]!.value, 1);
      const ready2 = store.latest('prometheus_http_request_duration_seconds_count', { handler: '/-/ready' });
      assert.ok(ready2[0]!.value >= 1, 'our readiness polls were counted by Prometheus');
      const p99 = store.histogramQuantile(0.99, 'prometheus_http_request_duration_seconds', { handler: '/-/ready' });
      assert.ok(p99[0]!.value > 0 && Number.isFinite(p99[0]!.value), `p99 ${p99[0]!.value}`);
    } finally {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
