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
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RouterClient } from '../src/router/client.ts';
import type { Result, Spec } from './load/loadgen.ts';
import { freePort } from '../src/app/free-port.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const QUICK = process.env.BENCH_QUICK === '1';
// per round and target; ROUNDS rounds, so each rate gets ROUNDS * RATE_MS of samples
const ROUNDS = QUICK ? 2 : 5;
const RATE_MS = QUICK ? 1_500 : 2_000;
const MAX_MS = QUICK ? 2_000 : 3_000;
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
function wrk(url: string, headers: Record<string, string>, ms: number): Promise<{ throughput: number; requests: number; p50Ms: number; p99Ms: number; errors: number }> {
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
      const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
      resolve({ throughput: rps, requests, p50Ms: p50, p99Ms: p99, errors });
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
  rates: { rate: number; p50Ms: number; p99Ms: number; p999Ms: number; errors: number; lateStarts: number; achieved: number; samples: number }[];
  max: { tool: string; throughput: number; roundsRps: number[]; p50Ms: number; p99Ms: number; errors: number } | null;
  /** proxy CPU time per request during the max-throughput runs (µs); independent of the machine's other load */
  cpuUsPerRequest: number | null;
}

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** pid of the proxy process (nginx: the master; its workers are found as children) */
  pid?: number;
}

/** CPU time (user + system, ms) of a process and its children's threads, from /proc; NaN if unreadable. */
function cpuMs(pid: number): number {
  try {
    const pids = [pid];
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (kids) pids.push(...kids.split(/\s+/).map(Number));
    }
    let ticks = 0;
    for (const p of pids) {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return (ticks * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function quantile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/**
 * The machine is shared and noisy, so the targets are measured in interleaved rounds (every
 * target once per round, in turn): noise lands on all of them alike. Latency samples of a rate
 * are merged over the rounds; max throughput is the median of the rounds.
 */
async function measureAll(targets: Target[]): Promise<Row[]> {
  for (const t of targets) {
    process.stderr.write(`-- ${t.name}: warm-up\n`);
    await loadgen({ url: t.url, mode: 'closed', durationMs: WARM_MS, connections: CONNECTIONS, client: 'undici', headers: t.headers });
  }
  const lat = targets.map(() => RATES.map(() => ({ us: [] as number[], errors: 0, late: 0, achieved: 0 })));
  const max = targets.map(() => ({ rps: [] as number[], p50: [] as number[], p99: [] as number[], errors: 0, cpuMs: 0, requests: 0 }));
  const useWrk = wrkAvailable();
  for (let round = 0; round < ROUNDS; round++) {
    for (let ti = 0; ti < targets.length; ti++) {
      const t = targets[ti]!;
      process.stderr.write(`-- round ${round + 1}/${ROUNDS}: ${t.name}\n`);
      for (let ri = 0; ri < RATES.length; ri++) {
        const r = await loadgen({ url: t.url, mode: 'rate', rate: RATES[ri]!, durationMs: RATE_MS, connections: CONNECTIONS, client: 'undici', headers: t.headers, raw: true });
        const acc = lat[ti]![ri]!;
        for (const x of r.rawUs ?? []) acc.us.push(x);
        acc.errors += r.errors + r.non2xx;
        acc.late += r.lateStarts;
        acc.achieved += r.throughput / ROUNDS;
      }
      const m = max[ti]!;
      const cpu0 = t.pid ? cpuMs(t.pid) : NaN;
      if (useWrk) {
        const w = await wrk(t.url, t.headers, MAX_MS);
        m.requests += w.requests;
        m.rps.push(w.throughput);
        m.p50.push(w.p50Ms);
        m.p99.push(w.p99Ms);
        m.errors += w.errors;
      } else {
        const r = await loadgen({ url: t.url, mode: 'closed', durationMs: MAX_MS, connections: CONNECTIONS, client: 'undici', headers: t.headers });
        m.rps.push(r.throughput);
        m.p50.push(r.latencyMs.p50);
        m.p99.push(r.latencyMs.p99);
        m.errors += r.errors + r.non2xx;
        m.requests += r.sent;
      }
      if (t.pid) m.cpuMs += cpuMs(t.pid) - cpu0;
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return targets.map((t, ti) => ({
    target: t.name,
    rates: RATES.map((rate, ri) => {
      const acc = lat[ti]![ri]!;
      const us = acc.us.sort((a, b) => a - b);
      return { rate, p50Ms: quantile(us, 0.5) / 1000, p99Ms: quantile(us, 0.99) / 1000, p999Ms: quantile(us, 0.999) / 1000, errors: acc.errors, lateStarts: acc.late, achieved: acc.achieved, samples: us.length };
    }),
    max: { tool: useWrk ? 'wrk -t1' : 'loadgen (undici)', throughput: median(max[ti]!.rps), roundsRps: max[ti]!.rps, p50Ms: median(max[ti]!.p50), p99Ms: median(max[ti]!.p99), errors: max[ti]!.errors },
    cpuUsPerRequest: t.pid && max[ti]!.requests > 0 ? (max[ti]!.cpuMs * 1000) / max[ti]!.requests : null,
  }));
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(os.tmpdir(), 'gl-bench-router-'));
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    const upPort = await freePort();
    await startProcess(LOAD_CPU, process.execPath, ['--experimental-strip-types', '--no-warnings', here('./load/upstream.ts'), String(upPort)], (l) => l.startsWith('{"port"'));
    const upstream = `http://127.0.0.1:${upPort}`;

    const targets: Target[] = [{ name: 'direct', url: upstream + '/', headers: {} }];

    // the router as deployed: its own process, started from main.ts, once per upstream client
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, TOKEN);
    const routers: { kind: string; client: RouterClient }[] = [];
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
      targets.push({ name: `greenlight router (${kind})`, url: `http://127.0.0.1:${rPort}/`, headers: { cookie: 'gl_v=v1; gl_cid=bench-client-1' }, pid: child.pid! });
      routers.push({ kind, client });
    }

    const nv = nginxVersion();
    if (nv === null) {
      notes.push('nginx is not installed: nginx column skipped (apt-get update && apt-get install -y nginx)');
      process.stderr.write('nginx not found: skipping the nginx column (install it with: apt-get update && apt-get install -y nginx)\n');
    } else {
      const nPort = await freePort();
      const ng = await startNginx(dir, nPort, upPort);
      targets.push({ name: `nginx (${nv.replace('nginx version: ', '')})`, url: `http://127.0.0.1:${nPort}/`, headers: {}, pid: ng.pid! });
    }
    rows.push(...(await measureAll(targets)));
    for (const r of routers) {
      const st = await r.client.stats();
      notes.push(`router (${r.kind}) counted ${st.versions.v1?.requests} requests, ${st.versions.v1?.status['2xx']} 2xx, ${st.versions.v1?.connectionErrors} connection errors`);
    }
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }

  const direct = rows[0]!;
  const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : 'n/a');
  const lines: string[] = [];
  lines.push(`cpus ${cpus}, node ${process.version}, load average (1 min) at the end ${os.loadavg()[0]!.toFixed(2)}, pinning: ${haveTaskset ? 'proxy on cpu 1; upstream and load generator on cpu 0' : 'none (taskset missing or 1 cpu)'}`);
  lines.push(`latency: ${ROUNDS} interleaved rounds x ${RATE_MS / 1000} s per rate and target, samples merged; measured from send to end of body`);
  lines.push('');
  lines.push('| target | rate | p50 ms | p99 ms | p99.9 ms | added p50 ms | added p99 ms | errors |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    r.rates.forEach((x, i) => {
      const d = direct.rates[i]!;
      lines.push(`| ${r.target} | ${x.rate}/s | ${fmt(x.p50Ms)} | ${fmt(x.p99Ms)} | ${fmt(x.p999Ms)} | ${r === direct ? '-' : fmt(x.p50Ms - d.p50Ms)} | ${r === direct ? '-' : fmt(x.p99Ms - d.p99Ms)} | ${x.errors} |`);
    });
  }
  lines.push('');
  lines.push(`| target | max req/s, median of ${ROUNDS} (${CONNECTIONS} conns, ${MAX_MS / 1000} s each) | each round | p50 ms | p99 ms | errors | proxy CPU µs/request | req/s per core from CPU | tool |`);
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    if (!r.max) continue;
    const cpu = r.cpuUsPerRequest;
    lines.push(`| ${r.target} | ${r.max.throughput.toFixed(0)} | ${r.max.roundsRps.map((x) => x.toFixed(0)).join(' ')} | ${fmt(r.max.p50Ms)} | ${fmt(r.max.p99Ms)} | ${r.max.errors} | ${cpu === null ? '-' : cpu.toFixed(1)} | ${cpu === null ? '-' : (1e6 / cpu).toFixed(0)} | ${r.max.tool} |`);
  }
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
      lines.push(`target throughput >= 1/2 of nginx on the same core: ${ratio >= 0.5 ? 'met' : 'NOT met'} (${(ratio * 100).toFixed(0)}% of nginx, measured; nginx may be held back by the shared upstream/load core)`);
    }
    if (nginx?.cpuUsPerRequest && router.cpuUsPerRequest) {
      const r2 = nginx.cpuUsPerRequest / router.cpuUsPerRequest;
      verdicts.cpuEfficiencyRatioVsNginx = r2;
      lines.push(`by CPU per request (req/s one core could carry): router ${(r2 * 100).toFixed(0)}% of nginx -> ${r2 >= 0.5 ? 'met' : 'NOT met'}`);
    }
  }
  for (const n of notes) lines.push(`note: ${n}`);
  process.stdout.write(lines.join('\n') + '\n');

  const result = {
    bench: 'router',
    at: new Date().toISOString(),
    quick: QUICK,
    machine: { cpus, cpuModel: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.release()}`, loadavg: os.loadavg(), nginx: nginxVersion(), pinning: haveTaskset },
    config: { rounds: ROUNDS, rates: RATES, rateDurationMsPerRound: RATE_MS, maxDurationMs: MAX_MS, connections: CONNECTIONS, upstreamBody: 'hello world\\n (12 bytes)' },
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
