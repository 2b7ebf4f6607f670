// Part of npm run bench:fleet: the latency each traffic provider adds, side by side in one run on
// the same upstream: direct, through the built-in router (its own process, as deployed) and
// through HAProxy (Debian's, one thread, driven by the HAProxy provider). Rates are open loop on a
// keep-alive pool, with a returning client's gl_cid cookie; the targets are measured in
// interleaved rounds so the shared machine's noise lands on all of them alike.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../src/app/free-port.ts';
import { RouterClient } from '../src/router/client.ts';
import type { RoutingTable } from '../src/router/table.ts';
import { HaproxyProvider } from '../src/traffic/haproxy/provider.ts';
import { haproxyMissing, startHaproxy } from '../src/traffic/haproxy/testing.ts';
import type { Result, Spec } from './load/loadgen.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const TOKEN = 'bench-token-0123456789abcdef';

export interface ProviderLatency {
  rates: number[];
  rounds: number;
  rows: { target: string; rates: { rate: number; p50Ms: number; p99Ms: number; errors: number; samples: number }[] }[];
  /** per rate: latency added over direct (p50, p99) and HAProxy's added latency / the router's */
  added: { rate: number; router: { p50Ms: number; p99Ms: number }; haproxy: { p50Ms: number; p99Ms: number }; haproxyOverRouter: { p50: number | null; p99: number | null } }[];
  skipped?: string;
  note: string;
}

function run(cmd: string, args: string[], readyWhen: (line: string) => boolean, kids: ChildProcess[]): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  kids.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${cmd} not ready in 10 s: ${err}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').some((l) => l && readyWhen(l))) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited ${code}: ${err}`));
    });
  });
}

function loadgen(spec: Spec, kids: ChildProcess[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--experimental-strip-types', '--no-warnings', here('./load/loadgen.ts'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
    kids.push(child);
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

const q = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! / 1000 : NaN);
const r3 = (x: number) => Math.round(x * 1000) / 1000;

export async function measureProviderLatency(o: { rounds?: number; rates?: number[]; rateMs?: number } = {}): Promise<ProviderLatency> {
  const rounds = o.rounds ?? 5;
  const rates = o.rates ?? [500, 2000];
  const rateMs = o.rateMs ?? 2000;
  const note = 'loopback, one shared 2-core machine, nothing pinned; HAProxy with nbthread 1 (the router is one Node.js thread); upstream: bench/load/upstream.ts; split 90/10 over two versions on the same upstream; a returning client (gl_cid cookie) on a 16-connection keep-alive pool';
  const missing = haproxyMissing();
  if (missing) return { rates, rounds, rows: [], added: [], skipped: missing, note };
  const kids: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'gl-bench-traffic-'));
  const haproxy = await startHaproxy({ stickiness: { kind: 'hash' }, threads: 1 });
  try {
    const upPort = await freePort();
    await run(process.execPath, ['--experimental-strip-types', '--no-warnings', here('./load/upstream.ts'), String(upPort)], (l) => l.startsWith('{"port"'), kids);
    const upstream = `http://127.0.0.1:${upPort}`;
    const table: RoutingTable = { revision: 1, versions: [{ version: '1.0.0', weight: 90, upstreams: [upstream] }, { version: '2.0.0', weight: 10, upstreams: [upstream] }] };

    const [rPort, aPort] = [await freePort(), await freePort()];
    writeFileSync(join(dir, 'token'), TOKEN);
    await run(process.execPath, ['--experimental-strip-types', '--no-warnings', here('../src/router/main.ts'), '--name', 'bench', '--listen', `127.0.0.1:${rPort}`, '--admin', `127.0.0.1:${aPort}`, '--state-file', join(dir, 'state.json'), '--token-file', join(dir, 'token')], (l) => l.includes('"ready":true'), kids);
    await new RouterClient({ adminUrl: `http://127.0.0.1:${aPort}`, token: TOKEN }).setTable(table);
    await new HaproxyProvider(haproxy.config).setTable(table);

    const headers = { cookie: 'gl_cid=bench-returning-client' };
    const targets = [
      { name: 'direct', url: `${upstream}/` },
      { name: 'builtin router', url: `http://127.0.0.1:${rPort}/` },
      { name: 'haproxy', url: `${haproxy.url}/` },
    ];
    for (const t of targets) await loadgen({ url: t.url, mode: 'closed', durationMs: 1000, connections: 16, client: 'undici', headers }, kids);
    const acc = targets.map(() => rates.map(() => ({ us: [] as number[], errors: 0 })));
    for (let round = 0; round < rounds; round++) {
      // each round starts with another target, so none is always the one measured first
      for (let k = 0; k < targets.length; k++) {
        const ti = (k + round) % targets.length;
        const t = targets[ti]!;
        process.stderr.write(`-- traffic providers, round ${round + 1}/${rounds}: ${t.name}\n`);
        for (const [ri, rate] of rates.entries()) {
          const r = await loadgen({ url: t.url, mode: 'rate', rate, durationMs: rateMs, connections: 16, client: 'undici', headers, raw: true }, kids);
          for (const x of r.rawUs ?? []) acc[ti]![ri]!.us.push(x);
          acc[ti]![ri]!.errors += r.errors + r.non2xx;
        }
      }
    }
    const rows = targets.map((t, ti) => ({
      target: t.name,
      rates: rates.map((rate, ri) => {
        const us = acc[ti]![ri]!.us.sort((a, b) => a - b);
        return { rate, p50Ms: r3(q(us, 0.5)), p99Ms: r3(q(us, 0.99)), errors: acc[ti]![ri]!.errors, samples: us.length };
      }),
    }));
    const added = rates.map((rate, ri) => {
      const [d, r, h] = rows.map((row) => row.rates[ri]!);
      const router = { p50Ms: r3(r!.p50Ms - d!.p50Ms), p99Ms: r3(r!.p99Ms - d!.p99Ms) };
      const hp = { p50Ms: r3(h!.p50Ms - d!.p50Ms), p99Ms: r3(h!.p99Ms - d!.p99Ms) };
      // a ratio of two differences is only meaningful when both are above the noise
      const ratio = (a: number, b: number) => (a > 0 && b > 0 ? Math.round((a / b) * 100) / 100 : null);
      return { rate, router, haproxy: hp, haproxyOverRouter: { p50: ratio(hp.p50Ms, router.p50Ms), p99: ratio(hp.p99Ms, router.p99Ms) } };
    });
    return { rates, rounds, rows, added, note };
  } finally {
    for (const k of kids) if (k.exitCode === null) k.kill('SIGTERM');
    await haproxy.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printProviderLatency(r: ProviderLatency): void {
  if (r.skipped) {
    console.log(`traffic provider latency skipped: ${r.skipped}`);
    return;
  }
  console.log('latency added by the traffic provider (open loop, p50 / p99 ms; added = target - direct):');
  for (const [ri, rate] of r.rates.entries()) {
    const cell = (name: string) => {
      const x = r.rows.find((row) => row.target === name)!.rates[ri]!;
      return `${x.p50Ms.toFixed(3)} / ${x.p99Ms.toFixed(3)}${x.errors ? ` (${x.errors} errors)` : ''}`;
    };
    const a = r.added[ri]!;
    console.log(`  ${rate} req/s: direct ${cell('direct')}; builtin router ${cell('builtin router')} (+${a.router.p50Ms} / +${a.router.p99Ms}); haproxy ${cell('haproxy')} (+${a.haproxy.p50Ms} / +${a.haproxy.p99Ms}); haproxy added / router added: p50 ${a.haproxyOverRouter.p50 === null ? 'n/a (below the noise)' : `x${a.haproxyOverRouter.p50}`}, p99 ${a.haproxyOverRouter.p99 === null ? 'n/a (below the noise)' : `x${a.haproxyOverRouter.p99}`}`);
  }
}
