// A bounded load generator for loopback benchmarks, run as its own process.
//   node bench/load/loadgen.ts '<json Spec>'   -> prints one JSON Result line
// mode "rate": requests start on a fixed schedule (open loop, 1 ms ticks) on a keep-alive pool;
//   latency is measured from the moment each request is sent to the end of its body, and
//   requests that left more than 1 ms after their slot are counted (lateStarts).
// mode "closed": `connections` loops each send the next request as soon as the last ended.
// Either stops after durationMs (and at most maxRequests); nothing runs unbounded.

import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface Spec {
  url: string;
  mode: 'rate' | 'closed';
  rate?: number;
  durationMs: number;
  connections: number;
  client: 'undici' | 'http';
  /** sent on every request, e.g. the router's cookies for a returning client */
  headers?: Record<string, string>;
  maxRequests?: number;
  /** also return every latency (µs, integers) so runs can be merged */
  raw?: boolean;
}

export interface Result {
  spec: Spec;
  sent: number;
  ok: number;
  errors: number;
  non2xx: number;
  lateStarts: number;
  elapsedMs: number;
  throughput: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  rawUs?: number[];
}

interface Sender {
  send(done: (ok: boolean, status: number) => void): void;
  close(): Promise<void>;
}

function undiciSender(spec: Spec): Sender {
  const u = new URL(spec.url);
  const pool = new Pool(u.origin, { connections: spec.connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const path = u.pathname + u.search;
  const headers = spec.headers ?? {};
  return {
    send(done) {
      pool.request({ path, method: 'GET', headers }).then(
        (r) => r.body.dump().then(() => done(true, r.statusCode), () => done(false, 0)),
        () => done(false, 0),
      );
    },
    close: () => pool.close(),
  };
}

function httpSender(spec: Spec): Sender {
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections, scheduling: 'lifo' });
  const u = new URL(spec.url);
  const opts: http.RequestOptions = { host: u.hostname, port: u.port, path: u.pathname + u.search, agent, headers: spec.headers ?? {} };
  return {
    send(done) {
      const req = http.get(opts, (res) => {
        res.on('data', () => {});
        res.on('end', () => done(true, res.statusCode ?? 0));
        res.on('error', () => done(false, 0));
      });
      req.on('error', () => done(false, 0));
    },
    close: async () => agent.destroy(),
  };
}

export async function run(spec: Spec): Promise<Result> {
  const sender = spec.client === 'undici' ? undiciSender(spec) : httpSender(spec);
  const max = spec.maxRequests ?? (spec.mode === 'rate' ? Math.ceil(((spec.rate ?? 1000) * spec.durationMs) / 1000) : 5_000_000);
  const lat = new Float64Array(max);
  let sent = 0;
  let completed = 0;
  let ok = 0;
  let errors = 0;
  let non2xx = 0;
  let lateStarts = 0;
  const t0 = performance.now();
  const end = t0 + spec.durationMs;

  const fire = (onDone?: () => void) => {
    const i = sent++;
    const start = performance.now();
    sender.send((good, status) => {
      const l = performance.now() - start;
      if (completed < max) lat[completed] = l;
      completed++;
      if (!good) errors++;
      else if (status >= 200 && status < 300) ok++;
      else non2xx++;
      onDone?.();
    });
    return i;
  };

  await new Promise<void>((resolve) => {
    if (spec.mode === 'closed') {
      let active = spec.connections;
      const loop = () => {
        if (performance.now() >= end || sent >= max) {
          if (--active === 0) resolve();
          return;
        }
        fire(loop);
      };
      for (let c = 0; c < spec.connections; c++) loop();
      return;
    }
    const interval = 1000 / (spec.rate ?? 1000);
    const tick = () => {
      const now = performance.now();
      while (sent < max && t0 + sent * interval <= now) {
        if (now - (t0 + sent * interval) > 1) lateStarts++;
        fire();
      }
      if (sent < max && now < end) setTimeout(tick, 1);
      else {
        // wait for the stragglers, bounded
        const wait = () => (completed >= sent || performance.now() > end + 10_000 ? resolve() : setTimeout(wait, 2));
        wait();
      }
    };
    tick();
  });
  const elapsedMs = performance.now() - t0;
  await sender.close();
  const n = Math.min(completed, max);
  const sorted = lat.subarray(0, n).sort();
  const q = (p: number) => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.floor(p * n))]!);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    spec,
    sent,
    ok,
    errors,
    non2xx,
    lateStarts,
    elapsedMs,
    throughput: (completed / elapsedMs) * 1000,
    latencyMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: n ? sorted[n - 1]! : NaN, mean: n ? sum / n : NaN },
    ...(spec.raw ? { rawUs: Array.from(sorted, (x) => Math.round(x * 1000)) } : {}),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
  const r = await run(spec);
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}
