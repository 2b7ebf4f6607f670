import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock, systemClock } from '../../clock/clock.ts';
import { MemoryEventLog } from '../../events/memory-log.ts';
import { SeriesStore } from '../series/store.ts';
import { ProbeScheduler, runHttpProbe, type HttpProbeSpec, type ProbeStateChange } from './http.ts';

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
async function close(server: Server) {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

const spec = (url: string, extra: Partial<HttpProbeSpec> = {}): HttpProbeSpec => ({ name: 'web', url, intervalMs: 10_000, timeoutMs: 2_000, ...extra });

test('status and body expectations', async () => {
  const { url, server } = await serve((req, res) => {
    if (req.url === '/teapot') {
      res.statusCode = 418;
      return res.end('short and stout');
    }
    res.end('{"status":"ok"}');
  });
  try {
    const ok = await runHttpProbe(spec(`${url}/healthz`, { expectBody: '"ok"' }), systemClock);
    assert.equal(ok.success, true, ok.error);
    assert.equal(ok.status, 200);
    assert.ok(ok.durationMs >= 0);
    const body = await runHttpProbe(spec(`${url}/healthz`, { expectBody: 'healthy' }), systemClock);
    assert.equal(body.success, false);
    assert.match(body.error!, /does not contain "healthy"/);
    const teapot = await runHttpProbe(spec(`${url}/teapot`), systemClock);
    assert.equal(teapot.success, false);
    assert.match(teapot.error!, /418 not in 2xx/);
    const expected = await runHttpProbe(spec(`${url}/teapot`, { expectStatus: [418] }), systemClock);
    assert.equal(expected.success, true);
  } finally {
    await close(server);
  }
});

test('connection refused and timeout fail the probe', async () => {
  const { url, server } = await serve(() => {}); // accepts, never answers
  const refusedUrl = await serve(() => {}).then(async ({ url: u, server: s }) => (await close(s), u));
  try {
    const refused = await runHttpProbe(spec(refusedUrl), systemClock);
    assert.equal(refused.success, false);
    assert.match(refused.error!, /ECONNREFUSED/);
    const clock = new ManualClock(0);
    const p = runHttpProbe(spec(url, { timeoutMs: 2_000 }), clock);
    await clock.advance(2_000);
    const r = await p;
    assert.equal(r.success, false);
    assert.equal(r.error, 'timed out after 2000 ms');
    assert.equal(r.durationMs, 2_000);
  } finally {
    await close(server);
  }
});

test('scheduler: series every interval, state changes only on flips, events appended', async () => {
  let healthy = true;
  const { url, server } = await serve((_req, res) => {
    res.statusCode = healthy ? 200 : 503;
    res.end();
  });
  try {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = new SeriesStore({ clock });
    const events = new MemoryEventLog(clock);
    const sched = new ProbeScheduler({ clock, store, events, probes: [spec(url)] });
    const changes: ProbeStateChange[] = [];
    sched.subscribe((c) => changes.push(c));
    sched.start();
    await sched.idle();
    for (const h of [true, false, false, true]) {
      healthy = h;
      await clock.advance(10_000);
      await sched.idle();
    }
    sched.stop();
    assert.equal(clock.pendingCount(), 0);
    assert.deepEqual(changes.map((c) => [c.previous, c.state]), [[undefined, 'up'], ['up', 'down'], ['down', 'up']]);
    assert.match(changes[1]!.reason!, /503/);
    const labels = { probe: 'web', instance: new URL(url).host };
    assert.deepEqual(store.range('probe_success', labels, { windowMs: 60_000 }).map((p) => p.v), [1, 1, 0, 0, 1]);
    assert.deepEqual(store.range('probe_http_status_code', labels, { windowMs: 60_000 }).map((p) => p.v), [200, 200, 503, 503, 200]);
    assert.equal(store.range('probe_duration_ms', labels, { windowMs: 60_000 }).length, 5);
    const logged = await events.query({ types: ['monitor.probe.*'] });
    assert.deepEqual(logged.map((e) => e.type), ['monitor.probe.up', 'monitor.probe.down', 'monitor.probe.up']);
  } finally {
    await close(server);
  }
});

test('scheduler skips a turn while the previous probe is still running', async () => {
  let hits = 0;
  const { url, server } = await serve(() => void hits++); // hangs until the timeout
  try {
    const clock = new ManualClock(0);
    const store = new SeriesStore({ clock });
    const sched = new ProbeScheduler({ clock, store, probes: [spec(url, { intervalMs: 1_000, timeoutMs: 2_500 })] });
    sched.start();
    await until(() => hits >= 1, 'the first request');
    await clock.advance(1_000);
    await clock.advance(1_000);
    assert.equal(hits, 1, 'no second request while the first is in flight');
    await clock.advance(500); // the first times out at 2.5 s
    await sched.idle();
    assert.equal(sched.current('web'), 'down');
    await clock.advance(500); // the 3 s turn starts a new probe
    await until(() => hits >= 2, 'the second request');
    sched.stop();
    await clock.advance(2_500);
    await sched.idle();
    assert.equal(hits, 2);
  } finally {
    await close(server);
  }
});
