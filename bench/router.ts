// Router benchmark: the same tiny upstream reached directly, through the Greenlight router, and
// through nginx, on loopback. Measures added p50/p99 latency at fixed request rates and maximum
// throughput (closed loop). Prints a table and writes bench/results/router.json.
//   npm run bench:router            (about 2.5 minutes)
//   BENCH_QUICK=1 npm run bench:router   (short runs, for trying the bench itself)
// CPU layout: with taskset and >= 2 cores, the proxy under test (router process, or nginx with
// worker_processes 1) gets core 1; the upstream and the load generator share core 0. So the
// router and nginx get the same single core. Without taskset everything floats.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RouterClient } from '../src/router/client.ts';
import type { Result, Spec } from './load/loadgen.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const QUICK = process.env.BENCH_QUICK === '1';
const RATE_MS = QUICK ? 3_000 : 10_000;
const MAX_MS = QUICK ? 3_000 : 10_000;
const WARM_MS = QUICK ? 1_000 : 2_000;
const RATES = [1_000, 5_000];
const CONNECTIONS = 64;
const TOKEN = 'bench-token-0123456789abcdef';

const children: ChildProcess[] = [];
const cpus = os.cpus().length;
const haveTaskset = cpus >= 2 && spawnSync('taskset', ['--version']).status === 0;
const PROXY_CPU = '1';
const LOAD_CPU = '0';

function pinned(cpu: string, cmd: string, args: string[]): [string, string[]] {
  return haveTaskset ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args];
}

function startProcess(cpu: string, cmd: string, args: string[], readyWhen: (line: string) => boolean): Promise<ChildProcess> {
  const [c, a] = pinned(cpu, cmd, args);
  const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${cmd} not ready in 10 s: ${err}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        if (line && readyWhen(line)) {
          clearTimeout(timer);
          resolve(child);
        }
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited ${code}: ${err}`));
    });
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

function loadgen(spec: Spec): Promise<Result> {
  const [c, a] = pinned(LOAD_CPU, process.execPath, ['--experimental-strip-types', '--no-warnings', here('./load/loadgen.ts'), JSON.stringify(spec)]);
  return new Promise((resolve, reject) => {
    const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), spec.durationMs + 30_000);
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out) as Result);
      else reject(new Error(`loadgen exited ${code}`));
    });
  });
}

function wrkAvailable(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

/** Closed-loop max throughput with wrk (one thread, on the load core), requests/s. */
function wrk(url: string, headers: Record<string, string>, ms: number): Promise<{ throughput: number; p50Ms: number; p99Ms: number; errors: number }> {
  const hargs = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const [c, a] = pinned(LOAD_CPU, 'wrk', ['-t1', `-c${CONNECTIONS}`, `-d${Math.round(ms / 1000)}s`, '--latency', ...hargs, url]);
  return new Promise((resolve, reject) => {
    const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${out}`));
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const toMs = (s: string | undefined) => {
        const m = /([\d.]+)(us|ms|s)/.exec(s ?? '');
        if (!m) return NaN;
        return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
      };
      const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1]);
      const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1]);
      const errs = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
      const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const errors = (errs ? Number(errs[1]) : 0) + (sockErr ? sockErr.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
      resolve({ throughput: rps, p50Ms: p50, p99Ms: p99, errors });
    });
  });
}

function nginxVersion(): string | null {
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  if (r.error) return null;
  return (r.stderr || r.stdout).trim();
}

async function startNginx(dir: string, port: number, upstreamPort: number): Promise<ChildProcess> {
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(join(dir, d), { recursive: true });
  const conf = `
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream app {
    server 127.0.0.1:${upstreamPort};
    keepalive 128;
  }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 1000000;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      add_header x-greenlight-version nginx;
    }
  }
}
`;
  const file = join(dir, 'nginx.conf');
  await writeFile(file, conf);
  const [c, a] = pinned(PROXY_CPU, 'nginx', ['-c', file, '-e', `${dir}/error.log`]);
  const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  // nginx prints nothing when ready: wait for its port
  const end = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return child;
    if (child.exitCode !== null || Date.now() > end) throw new Error(`nginx did not start (see ${dir}/error.log)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Row {
  target: string;
  rates: { rate: number; p50Ms: number; p99Ms: number; p999Ms: number; errors: number; lateStarts: number; achieved: number }[];
  max: { tool: string; throughput: number; p50Ms: number; p99Ms: number; errors: number } | null;
}

async function measure(target: string, url: string, headers: Record<string, string>): Promise<Row> {
  process.stderr.write(`-- ${target}: warm-up\n`);
  await loadgen({ url, mode: 'closed', durationMs: WARM_MS, connections: CONNECTIONS, client: 'undici', headers });
  const rates: Row['rates'] = [];
  for (const rate of RATES) {
    process.stderr.write(`-- ${target}: ${rate} req/s for ${RATE_MS / 1000} s\n`);
    const r = await loadgen({ url, mode: 'rate', rate, durationMs: RATE_MS, connections: CONNECTIONS, client: 'undici', headers });
    rates.push({ rate, p50Ms: r.latencyMs.p50, p99Ms: r.latencyMs.p99, p999Ms: r.latencyMs.p999, errors: r.errors + r.non2xx, lateStarts: r.lateStarts, achieved: r.throughput });
  }
  process.stderr.write(`-- ${target}: max throughput, ${CONNECTIONS} connections, ${MAX_MS / 1000} s\n`);
  let max: Row['max'];
  if (wrkAvailable()) {
    const w = await wrk(url, headers, MAX_MS);
    max = { tool: 'wrk -t1', ...w };
  } else {
    const r = await loadgen({ url, mode: 'closed', durationMs: MAX_MS, connections: CONNECTIONS, client: 'undici', headers });
    max = { tool: 'loadgen (undici)', throughput: r.throughput, p50Ms: r.latencyMs.p50, p99Ms: r.latencyMs.p99, errors: r.errors + r.non2xx };
  }
  return { target, rates, max };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(os.tmpdir(), 'gl-bench-router-'));
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    const upPort = await freePort();
    await startProcess(LOAD_CPU, process.execPath, ['--experimental-strip-types', '--no-warnings', here('./load/upstream.ts'), String(upPort)], (l) => l.startsWith('{"port"'));
    const upstream = `http://127.0.0.1:${upPort}`;

    rows.push(await measure('direct', upstream + '/', {}));

    // the router as deployed: its own process, started from main.ts, once per upstream client
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, TOKEN);
    for (const kind of ['undici', 'http'] as const) {
      const rPort = await freePort();
      const aPort = await freePort();
      const child = await startProcess(
        PROXY_CPU,
        process.execPath,
        ['--experimental-strip-types', '--no-warnings', here('../src/router/main.ts'), '--name', 'bench', '--listen', `127.0.0.1:${rPort}`, '--admin', `127.0.0.1:${aPort}`, '--state-file', join(dir, `state-${kind}.json`), '--token-file', tokenFile, '--upstream-client', kind],
        (l) => l.includes('"ready":true'),
      );
      const client = new RouterClient({ adminUrl: `http://127.0.0.1:${aPort}`, token: TOKEN });
      await client.setTable({ revision: 1, versions: [{ version: 'v1', weight: 1, upstreams: [upstream] }] });
      // a returning client: pinned version and a client id, so no cookie is set per response
      rows.push(await measure(`greenlight router (${kind})`, `http://127.0.0.1:${rPort}/`, { cookie: 'gl_v=v1; gl_cid=bench-client-1' }));
      const st = await client.stats();
      notes.push(`router (${kind}) counted ${st.versions.v1?.requests} requests, ${st.versions.v1?.status['2xx']} 2xx, ${st.versions.v1?.connectionErrors} connection errors`);
      child.kill('SIGTERM');
    }

    const nv = nginxVersion();
    if (nv === null) {
      notes.push('nginx is not installed: nginx column skipped (apt-get update && apt-get install -y nginx)');
      process.stderr.write('nginx not found: skipping the nginx column (install it with: apt-get update && apt-get install -y nginx)\n');
    } else {
      const nPort = await freePort();
      await startNginx(dir, nPort, upPort);
      rows.push(await measure(`nginx (${nv.replace('nginx version: ', '')})`, `http://127.0.0.1:${nPort}/`, {}));
    }
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }

  const direct = rows[0]!;
  const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : 'n/a');
  const lines: string[] = [];
  lines.push(`cpus ${cpus}, node ${process.version}, pinning: ${haveTaskset ? 'proxy on cpu 1; upstream and load generator on cpu 0' : 'none (taskset missing or 1 cpu)'}`);
  lines.push('');
  lines.push('| target | rate | p50 ms | p99 ms | added p50 ms | added p99 ms | errors |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    r.rates.forEach((x, i) => {
      const d = direct.rates[i]!;
      lines.push(`| ${r.target} | ${x.rate}/s | ${fmt(x.p50Ms)} | ${fmt(x.p99Ms)} | ${r === direct ? '-' : fmt(x.p50Ms - d.p50Ms)} | ${r === direct ? '-' : fmt(x.p99Ms - d.p99Ms)} | ${x.errors} |`);
    });
  }
  lines.push('');
  lines.push(`| target | max req/s (${CONNECTIONS} conns, ${MAX_MS / 1000} s) | p50 ms | p99 ms | errors | tool |`);
  lines.push('|---|---|---|---|---|---|');
  for (const r of rows) if (r.max) lines.push(`| ${r.target} | ${r.max.throughput.toFixed(0)} | ${fmt(r.max.p50Ms)} | ${fmt(r.max.p99Ms)} | ${r.max.errors} | ${r.max.tool} |`);
  const router = rows.find((r) => r.target === 'greenlight router (undici)');
  const nginx = rows.find((r) => r.target.startsWith('nginx'));
  const verdicts: Record<string, unknown> = {};
  if (router) {
    const added = router.rates[0]!.p99Ms - direct.rates[0]!.p99Ms;
    verdicts.p99OverheadAt1000Ms = added;
    verdicts.p99OverheadUnder1ms = added < 1;
    lines.push('');
    lines.push(`target p99 overhead < 1 ms at 1000 req/s: ${added < 1 ? 'met' : 'NOT met'} (${fmt(added)} ms)`);
    if (nginx?.max && router.max) {
      const ratio = router.max.throughput / nginx.max.throughput;
      verdicts.throughputRatioVsNginx = ratio;
      verdicts.throughputAtLeastHalfOfNginx = ratio >= 0.5;
      lines.push(`target throughput >= 1/2 of nginx on the same core: ${ratio >= 0.5 ? 'met' : 'NOT met'} (${(ratio * 100).toFixed(0)}% of nginx)`);
    }
  }
  for (const n of notes) lines.push(`note: ${n}`);
  process.stdout.write(lines.join('\n') + '\n');

  const result = {
    bench: 'router',
    at: new Date().toISOString(),
    quick: QUICK,
    machine: { cpus, cpuModel: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.release()}`, loadavg: os.loadavg(), nginx: nginxVersion(), pinning: haveTaskset },
    config: { rates: RATES, rateDurationMs: RATE_MS, maxDurationMs: MAX_MS, connections: CONNECTIONS, upstreamBody: 'hello world\\n (12 bytes)' },
    rows,
    verdicts,
    notes,
  };
  await writeFile(here('./results/router.json'), JSON.stringify(result, null, 2) + '\n');
}

process.on('SIGINT', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  process.exit(130);
});
await main();
