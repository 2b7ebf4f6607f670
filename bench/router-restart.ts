// Router restart gap: how long production is unreachable when its router process is killed with
// SIGKILL, with the controller's supervision bringing it back on the same address from its state
// file. Real processes: a workspace copy of the examples, `greenlight up --detach`, web@1.0.0
// deployed; a probe sends a GET to the production router every 5 ms (one at a time). For each of
// KILLS kills: gap = first answered request after the kill - the kill (client side), and the
// controller's own figure (router.restarted gapMs, from noticing the death to the new router ready).
// The crash-loop escalation is set out of reach for the run (router_crash_loop.deaths: 1000), or
// its back-off would be what is measured. Prints a table and writes bench/results/router-restart.json.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createWorkspace, repoRoot } from '../src/demo/workspace.ts';

const KILLS = Number(process.env.KILLS ?? 20);
const bin = join(repoRoot, 'bin/greenlight.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

const ws = await createWorkspace({ prefix: 'gl-bench-restart-' });
const cli = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, '--config', ws.config, ...args], { cwd: ws.dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
const must = async (args: string[]) => {
  const r = await cli(args);
  if (r.code !== 0) throw new Error(`greenlight ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
};

try {
  writeFileSync(ws.config, readFileSync(ws.config, 'utf8').replace(/controller:\n  listen: (\S+)/, "controller:\n  listen: $1\n  router_crash_loop: { deaths: 1000, window: 1m }"));
  if (!readFileSync(ws.config, 'utf8').includes('router_crash_loop')) throw new Error('could not set controller.router_crash_loop in the workspace config');
  await must(['up', '--detach']);
  await must(['release', 'web', '1.0.0', '--artifact', 'web/v1']);
  await must(['deploy', 'web@1.0.0']);
  const url = `http://127.0.0.1:${ws.ports.production}/`;
  const record = join(ws.dir, '.greenlight/routers/production--web.json');
  const pidOf = () => (JSON.parse(readFileSync(record, 'utf8')) as { pid: number }).pid;
  const answered = async () => {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      return r.status < 500;
    } catch {
      return false;
    }
  };
  const gaps: number[] = [];
  let failedProbes = 0;
  for (let k = 0; k < KILLS; k++) {
    while (!(await answered())) await sleep(5);
    await sleep(300);
    const pid = pidOf();
    const killedAt = performance.now();
    process.kill(pid, 'SIGKILL');
    let ok = false;
    while (performance.now() - killedAt < 15_000) {
      if (await answered()) {
        ok = true;
        break;
      }
      failedProbes++;
      await sleep(5);
    }
    if (!ok) throw new Error(`kill ${k + 1}: the router was not back within 15 s`);
    gaps.push(performance.now() - killedAt);
    process.stdout.write(`kill ${String(k + 1).padStart(2)}: back after ${Math.round(gaps.at(-1)!)} ms\n`);
  }
  const ev = (await must(['events', '--type', 'router.restarted', '--json'])).stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { data: { gapMs: number } });
  const controllerGaps = ev.map((e) => e.data.gapMs).sort((a, b) => a - b);
  const sorted = [...gaps].sort((a, b) => a - b);
  const result = {
    measuredAt: new Date().toISOString(),
    machine: { cpus: cpus().length, loadavg: loadavg() },
    kills: KILLS,
    clientGapMs: { median: Math.round(quantile(sorted, 0.5)), p90: Math.round(quantile(sorted, 0.9)), worst: Math.round(sorted.at(-1)!), all: gaps.map(Math.round) },
    controllerGapMs: { median: quantile(controllerGaps, 0.5), worst: controllerGaps.at(-1), count: controllerGaps.length },
    refusedProbes: failedProbes,
    target: 'restarted on the same address within 1 s',
    met: sorted.at(-1)! < 1000,
  };
  console.log(`\nrouter restart gap over ${KILLS} kill -9 (client side, probe every 5 ms)`);
  console.log(`  median ${result.clientGapMs.median} ms   p90 ${result.clientGapMs.p90} ms   worst ${result.clientGapMs.worst} ms   (target < 1000 ms: ${result.met ? 'met' : 'NOT met'})`);
  console.log(`  controller's view (death noticed -> new router ready): median ${result.controllerGapMs.median} ms, worst ${result.controllerGapMs.worst} ms over ${result.controllerGapMs.count} restarts`);
  console.log(`  load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores`);
  mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
  writeFileSync(join(repoRoot, 'bench/results/router-restart.json'), JSON.stringify(result, null, 2) + '\n');
  console.log('wrote bench/results/router-restart.json');
} finally {
  await cli(['down', '--all']).catch(() => undefined);
  await ws.close();
}
