// Active health checks against real upstream processes: one frozen with SIGSTOP (the kernel still
// accepts its connections, nothing answers: what a hung host looks like to the router), one slow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRouter, type Router } from './router.ts';
import { DEFAULT_HEALTH_CHECK, healthCheckProblems, worstDetectionMs } from './health.ts';
import { request } from './testing.ts';

/** an HTTP server in its own process on 127.0.0.1, answering `name` after delayMs */
async function upstreamProcess(name: string, delayMs = 0): Promise<{ url: string; child: ChildProcess; stop(): void }> {
  const code = `const s=require('http').createServer((q,r)=>{q.resume();setTimeout(()=>r.end(${JSON.stringify(name)}),${delayMs})});s.listen(0,'127.0.0.1',()=>console.log(s.address().port))`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return {
    url: `http://127.0.0.1:${Number(String(line).trim())}`,
    child,
    stop: () => {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    },
  };
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

async function withRouter<T>(upstreamClient: 'undici' | 'http', fn: (r: Router, base: string) => Promise<T>): Promise<T> {
  const router = createRouter({ name: 'test', upstreamClient, healthCheck: DEFAULT_HEALTH_CHECK });
  const a = await router.listen('127.0.0.1:0');
  try {
    return await fn(router, `http://127.0.0.1:${a.port}`);
  } finally {
    router.destroyConnections();
    await router.close();
  }
}

for (const upstreamClient of ['undici', 'http'] as const) {
  test(`a hung upstream (SIGSTOP) leaves rotation; GETs in flight and arriving meanwhile are answered by the other, a POST that reached it gets a 502 saying so (${upstreamClient})`, { timeout: 60_000 }, async (t) => {
    const hung = await upstreamProcess('hung');
    const good = await upstreamProcess('good');
    try {
      await withRouter(upstreamClient, async (router, base) => {
        await router.setTable({ revision: 1, versions: [{ version: 'v1', weight: 1, upstreams: [hung.url, good.url] }] });
        const healthy = () => router.stats().versions.v1!.upstreams[hung.url]!.healthy;
        // warm: both answer, keep-alive connections open to both
        for (let i = 0; i < 10; i++) assert.equal((await request(base + '/')).status, 200);
        hung.child.kill('SIGSTOP');
        const frozenAt = Date.now();
        // GETs every 20 ms while it hangs (round-robin sends half of them there until it is out) and two POSTs
        const gets: Promise<number>[] = [];
        const posts = [request(base + '/', { method: 'POST', body: 'x' }), request(base + '/', { method: 'POST', body: 'y' })];
        let outAt = 0;
        for (let i = 0; i < 100 && Date.now() - frozenAt < 5_000; i++) {
          gets.push(request(base + '/').then((r) => r.status, () => -1));
          await new Promise((r) => setTimeout(r, 20));
          if (!outAt && !healthy()) outAt = Date.now();
          if (outAt && Date.now() - outAt > 300) break;
        }
        assert.ok(await until(() => !healthy(), 5_000), 'the hung upstream left rotation');
        outAt ||= Date.now();
        t.diagnostic(`out of rotation ${outAt - frozenAt} ms after SIGSTOP (worst by the settings: ${worstDetectionMs(DEFAULT_HEALTH_CHECK)} ms)`);
        const statuses = await Promise.all(gets);
        assert.ok(statuses.length >= 10, `load ran (${statuses.length})`);
        assert.deepEqual(statuses.filter((s) => s !== 200), [], 'every GET answered');
        const postReplies = await Promise.all(posts);
        assert.deepEqual(postReplies.map((r) => r.status).sort(), [200, 502], 'the POST that reached the hung upstream is not replayed');
        assert.match(postReplies.find((r) => r.status === 502)!.body, /stopped answering \(health check\) while this POST was in flight; it was not sent again/);
        // resumed: back after `rise` answered probes
        hung.child.kill('SIGCONT');
        assert.ok(await until(() => healthy(), 5_000), 'back in rotation once it answers');
      });
    } finally {
      hung.stop();
      good.stop();
    }
  });
}

test('a slow-but-healthy upstream (every answer, health path included, takes longer than the probe timeout) stays in rotation while it answers its traffic', { timeout: 60_000 }, async () => {
  const slow = await upstreamProcess('slow', DEFAULT_HEALTH_CHECK.timeoutMs + 150);
  const good = await upstreamProcess('good');
  try {
    await withRouter('undici', async (router, base) => {
      await router.setTable({ revision: 1, versions: [{ version: 'v1', weight: 1, upstreams: [slow.url, good.url] }] });
      let down = 0;
      const gets: Promise<number>[] = [];
      const t0 = Date.now();
      for (let i = 0; i < 150 && Date.now() - t0 < 3_000; i++) {
        gets.push(request(base + '/').then((r) => r.status, () => -1));
        await new Promise((r) => setTimeout(r, 20));
        if (!router.stats().versions.v1!.upstreams[slow.url]!.healthy) down++;
      }
      const statuses = await Promise.all(gets);
      assert.deepEqual(statuses.filter((s) => s !== 200), []);
      assert.equal(down, 0, 'never out of rotation');
      assert.ok(router.stats().versions.v1!.upstreams[slow.url]!.requests > 10, 'and it took its share');
    });
  } finally {
    slow.stop();
    good.stop();
  }
});

test('health check settings: defaults within a second, and bad values refused naming the field', () => {
  assert.deepEqual(healthCheckProblems(DEFAULT_HEALTH_CHECK), []);
  assert.ok(worstDetectionMs(DEFAULT_HEALTH_CHECK) < 1000);
  const bad = healthCheckProblems({ path: 'healthz', intervalMs: 10, timeoutMs: 500, fall: 0, rise: 11 });
  assert.equal(bad.length, 5, bad.join('\n'));
  assert.match(bad.join('\n'), /path "healthz" must start with "\/"/);
  assert.match(bad.join('\n'), /interval 10 ms/);
  assert.match(bad.join('\n'), /timeout 500 ms must be from 10 ms to the interval/);
  assert.match(bad.join('\n'), /fall 0/);
  assert.match(bad.join('\n'), /rise 11/);
});

test('router.health_check in greenlight.yaml: defaults, the service health path, and refusals naming the field', async () => {
  const { parseConfigText, ConfigError } = await import('../config/load.ts');
  const { routerFor, routerHealthCheck } = await import('../config/schema.ts');
  const text = (hc: string) => `version: 1\nservices:\n  web: { command: [node, s.mjs], health: { path: /ready } }\nenvironments:\n  - name: production\n    router: { listen: "127.0.0.1:8081"${hc} }\n`;
  const c = parseConfigText(text(''), 'g.yaml');
  assert.deepEqual(routerHealthCheck(routerFor(c.environments[0]!, 'web'), c.services.web!), { ...DEFAULT_HEALTH_CHECK, path: '/ready' });
  const d = parseConfigText(text(', health_check: { interval: 1s, timeout: 400ms, fall: 3, path: /alive }'), 'g.yaml');
  assert.deepEqual(routerHealthCheck(routerFor(d.environments[0]!, 'web'), d.services.web!), { path: '/alive', intervalMs: 1000, timeoutMs: 400, fall: 3, rise: 2 });
  try {
    parseConfigText(text(', health_check: { interval: 100ms, timeout: 1s }'), 'g.yaml');
    assert.fail('expected a refusal');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, /router\.health_check.*timeout 1000 ms must be from 10 ms to the interval \(100 ms\)/s);
  }
});
