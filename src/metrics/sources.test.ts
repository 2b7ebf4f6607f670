// Every metric source kind, and the fake, against the one contract, each with real peers: an
// in-process router on loopback, instances serving /metrics, and Debian's Prometheus.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../clock/clock.ts';
import { createRouter } from '../router/router.ts';
import { RouterClient } from '../router/client.ts';
import { FakeMetricSource } from './fake/fake-source.ts';
import { createMetricSource, metricSourceSchema } from './registry.ts';
import { metricSourceContract, type SourceFixture } from './source.contract.ts';
import { prometheusMissing, startPrometheus } from './prometheus/testing.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** An instance exposing `queue_depth <depth>` and `jobs_total` growing by `depth` per scrape, and answering / after delayMs. */
async function instance(depth: number, delayMs = 0): Promise<{ url: string; close(): Promise<void> }> {
  let jobs = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/metrics') {
      jobs += depth;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      return res.end(`# TYPE queue_depth gauge\nqueue_depth{queue="a"} ${depth}\nqueue_depth{queue="b"} ${depth}\n# TYPE jobs_total counter\njobs_total ${jobs}\n`);
    }
    setTimeout(() => res.end('ok'), delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

const window = (since: number, versions: { label: string; urls: string[] }[]) => () => ({
  environment: 'production',
  service: 'web',
  since,
  now: Date.now(),
  versions: versions.map((v) => ({ label: v.label, version: v.label, instanceUrls: v.urls })),
});

metricSourceContract('fake', async (): Promise<SourceFixture> => {
  const source = new FakeMetricSource();
  source.values.set('2.0.0', 10).set('1.0.0', 1);
  return {
    source,
    window: window(Date.now(), [{ label: '2.0.0', urls: [] }, { label: '1.0.0', urls: [] }]),
    worse: '2.0.0',
    better: '1.0.0',
    advance: async () => {},
    breakIt: async () => void (source.broken = 'switched off'),
    close: async () => {},
  };
});

metricSourceContract('router (p99_ms)', async (): Promise<SourceFixture> => {
  const fast = await instance(1);
  const slow = await instance(1, 40);
  const router = createRouter({ name: 'metrics', adminToken: 'metrics-token-0123456789' });
  const p = await router.listen('127.0.0.1:0');
  const a = await router.listenAdmin('127.0.0.1:0');
  await router.setTable({ revision: 1, versions: [{ version: '1.0.0', weight: 50, upstreams: [fast.url] }, { version: '2.0.0', weight: 50, upstreams: [slow.url] }] });
  const client = new RouterClient({ adminUrl: `http://127.0.0.1:${a.port}`, token: 'metrics-token-0123456789' });
  const spec = metricSourceSchema.parse({ kind: 'router' });
  const source = createMetricSource(spec, 'p99_ms', { clock: systemClock, routerStats: () => client.stats() });
  let closed = false;
  return {
    source,
    window: window(Date.now(), [{ label: '2.0.0', urls: [slow.url] }, { label: '1.0.0', urls: [fast.url] }]),
    worse: '2.0.0',
    better: '1.0.0',
    // new clients each time: the hash spreads them over both versions
    advance: async () => void (await Promise.all(Array.from({ length: 30 }, () => fetch(`http://127.0.0.1:${p.port}/`).then((r) => r.text())))),
    breakIt: async () => {
      closed = true;
      router.destroyConnections();
      await router.close();
    },
    close: async () => {
      if (!closed) {
        router.destroyConnections();
        await router.close();
      }
      await fast.close();
      await slow.close();
    },
  };
});

for (const type of ['gauge', 'counter'] as const) {
  metricSourceContract(`scrape (${type})`, async (): Promise<SourceFixture> => {
    const good = await instance(2);
    const bad = [await instance(20), await instance(20)];
    const spec = metricSourceSchema.parse(type === 'gauge' ? { kind: 'scrape', metric: 'queue_depth', labels: { queue: 'a' } } : { kind: 'scrape', metric: 'jobs_total', type: 'counter' });
    return {
      source: createMetricSource(spec, 'queue', { clock: systemClock, routerStats: () => Promise.reject(new Error('unused')) }),
      window: window(Date.now(), [{ label: '2.0.0', urls: bad.map((b) => b.url) }, { label: '1.0.0', urls: [good.url] }]),
      worse: '2.0.0',
      better: '1.0.0',
      advance: () => sleep(20),
      breakIt: () => bad[1]!.close(),
      close: async () => {
        await good.close();
        await bad[0]!.close();
        await bad[1]!.close().catch(() => undefined);
      },
    };
  });
}

metricSourceContract(
  'prometheus',
  async (): Promise<SourceFixture> => {
    const good = await instance(2);
    const bad = await instance(20);
    const prom = await startPrometheus({ scrapeIntervalMs: 250 });
    prom.setTargets([
      { url: good.url, labels: { version: '1.0.0', environment: 'production' } },
      { url: bad.url, labels: { version: '2.0.0', environment: 'production' } },
    ]);
    const since = Date.now();
    // wait for the first scrape of both, so the first read has something to check the query on
    for (let i = 0; i < 100; i++) {
      const r = (await fetch(`${prom.url}/api/v1/query?query=count(up==1)`).then((x) => x.json())) as { data: { result: { value: [number, string] }[] } };
      if (r.data.result[0]?.value[1] === '2') break;
      await sleep(100);
    }
    const spec = metricSourceSchema.parse({ kind: 'prometheus', url: prom.url, query: 'sum(queue_depth{version="{{version}}",environment="{{environment}}"})', step: '250ms' });
    return {
      source: createMetricSource(spec, 'queue', { clock: systemClock, routerStats: () => Promise.reject(new Error('unused')) }),
      window: window(since, [{ label: '2.0.0', urls: [] }, { label: '1.0.0', urls: [] }]),
      worse: '2.0.0',
      better: '1.0.0',
      advance: () => sleep(300),
      breakIt: () => prom.stop(),
      close: async () => {
        await prom.close();
        await good.close();
        await bad.close();
      },
    };
  },
  { skip: prometheusMissing },
);
