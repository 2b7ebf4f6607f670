// Failover chaos benchmark: two controllers on one PostgreSQL store (a throw-away cluster this
// process starts), the real CLI, routers and instances of the demo workspace, a client sending
// bounded load to production throughout. Each run deploys the release production does not run,
// fires an alert that pages alice (8 s acknowledgement timeout), then SIGKILLs the leader at a
// random point of the deployment; the standby takes over and the killed controller is restarted
// (it comes back as a standby). Reported:
//   takeover time       kill -> the standby answers as leader (median, worst)
//   inconsistent        the deployment did not end (promoted / failed / rolled back), or
//                       production's router does not send all traffic to the version the log says is stable
//   events lost / dup   gaps in the log's seqs, duplicate ids, a deployment without its terminal
//                       event, a controller's projection still showing an ended deployment running
//   client failures     requests that failed within 30 s after a kill
//   escalations missed  an escalation not fired by max(due, takeover) + 1 s
//   npm run bench:failover            (50 runs, ~20-25 minutes on a quiet 2-core machine)
//   BENCH_RUNS=n npm run bench:failover
// SIGINT/SIGTERM ends it after the current run, with the figures of the runs done (and cleans up).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { cluster } from '../test/e2e/cluster.ts';
import { steadyClient } from '../test/e2e/workspace.ts';
import { postgresMissing } from '../src/store/postgres/testing.ts';
import type { StoredEvent } from '../src/events/log.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 50);
const MAX_KILL_MS = Number(process.env.BENCH_MAX_KILL_MS ?? 12_000);
const root = new URL('..', import.meta.url).pathname;

const missing = postgresMissing();
if (missing) {
  console.error(`bench:failover needs PostgreSQL: ${missing}`);
  process.exit(2);
}

async function until<T>(ms: number, fn: () => Promise<T | undefined | false>): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};
const dep = (e: StoredEvent) => (e.data as { deploymentId?: string }).deploymentId;
const ENDS = ['deployment.promoted', 'deployment.failed', 'deployment.rolled_back', 'deployment.blocked', 'deployment.aborted'];

interface Run {
  run: number;
  version: string;
  killAfterMs: number;
  killedPhase: string;
  takeoverMs: number | null;
  outcome: string;
  consistent: boolean;
  why?: string;
  escalation: 'on time' | 'late within 1 s of takeover' | 'missed';
  escalationDelayMs: number | null;
}

let stopRequested = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => ((stopRequested = true), console.log(`${sig}: stopping after this run`)));
const started = Date.now();
const load = os.loadavg();
const c = await cluster({ steps: '        - { weight: 20, hold: 3s }\n        - { weight: 50, hold: 3s }\n' });
const { ws } = c;
const runs: Run[] = [];
const failuresAt: number[] = [];
const kills: number[] = [];
let client: ReturnType<typeof steadyClient> | undefined;
let watch: ReturnType<typeof setInterval> | undefined;
try {
  await ws.setAuthVersion('staging', '3.1.0');
  await ws.setAuthVersion('production', '3.1.0');
  await c.up(0);
  await c.up(1);
  for (const v of ['1.0.0', '2.0.0']) {
    const r = await ws.cli(['release', 'web', v, '--artifact', `web/v${v[0]}`]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  if ((await ws.cli(['deploy', 'web@1.0.0'])).code !== 0) throw new Error('first deployment failed');
  const token = readFileSync(`${ws.dir}/.greenlight/token`, 'utf8').trim();
  client = steadyClient(`http://127.0.0.1:${ws.ports.production}/`, { maxMs: 3_600_000, maxRequests: 2_000_000, everyMs: 20 });
  // failures with their times, to tell those after a kill from the rest
  let seenFailed = 0;
  watch = setInterval(() => {
    for (; seenFailed < client!.seen.failed; seenFailed++) failuresAt.push(Date.now());
  }, 50);

  for (let i = 0; i < RUNS && !stopRequested; i++) {
    const runStarted = Date.now();
    const leader = await until(20_000, () => c.leaderIndex().then((x) => (x === undefined ? undefined : { x })));
    if (!leader) throw new Error(`run ${i}: no leader`);
    const li = leader.x;
    const status = (await c.status(li)) as unknown as { environments: { name: string; services: { stable: { version: string } | null }[] }[] };
    const current = status.environments.find((e) => e.name === 'production')!.services[0]!.stable?.version ?? '1.0.0';
    const version = current === '1.0.0' ? '2.0.0' : '1.0.0';
    const d = await ws.cli(['deploy', `web@${version}`, '--no-follow'], { env: { GREENLIGHT_URL: `http://${c.addresses[li]}` } });
    if (d.code !== 0) throw new Error(`run ${i}: deploy failed: ${d.stderr}`);
    const id = d.stdout.trim();
    await fetch(`http://${c.addresses[li]}/v1/alerts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify([{ labels: { alertname: `Run${i}`, severity: 'page' }, annotations: { summary: `run ${i}` } }]),
    });
    const killAfterMs = Math.round(500 + Math.random() * (MAX_KILL_MS - 500));
    await new Promise((r) => setTimeout(r, killAfterMs));
    const mine = (await c.events({ types: ['deployment.stage', ...ENDS] })).filter((e) => dep(e) === id);
    const last = mine.at(-1);
    const killedPhase = !last ? 'requested' : last.type === 'deployment.stage' ? `${(last.data as { environment: string }).environment}:${(last.data as { stage: string }).stage}` : `${last.type.slice('deployment.'.length)} (already ended)`;
    const killedAt = Date.now();
    kills.push(killedAt);
    process.kill(c.pids[li]!, 'SIGKILL');
    const other = 1 - li;
    const took = await until(20_000, async () => ((await c.status(other))?.controller.role === 'leader' ? Date.now() : undefined));
    const takeoverMs = took === undefined ? null : took - killedAt;
    // the deployment ends, and production's router agrees with the log
    const end = await until(90_000, async () => {
      const r = await ws.cli(['status', '--json'], { env: { GREENLIGHT_URL: `http://${c.addresses[other]}` } });
      if (r.code !== 0) return undefined;
      const s = JSON.parse(r.stdout);
      const x = s.deployments.find((y: { id: string }) => y.id === id);
      return x && x.state !== 'running' ? { s, d: x } : undefined;
    });
    let consistent = false;
    let why: string | undefined;
    let outcome = 'did not end';
    if (end) {
      outcome = end.d.state;
      const p = end.s.environments.find((e: { name: string }) => e.name === 'production').services[0];
      const weighted = p.router.table.versions.filter((v: { weight: number }) => v.weight > 0).map((v: { version: string }) => v.version);
      consistent = ['promoted', 'failed', 'rolled_back', 'blocked'].includes(end.d.state) && weighted.length === 1 && weighted[0] === p.stable?.version;
      if (!consistent) why = `state ${end.d.state}, router weights on ${weighted.join(',')}, stable ${p.stable?.version}`;
    } else why = 'the deployment did not end within 90 s of the takeover';
    // the escalation of this run's page
    const triggered = (await c.events({ types: ['page.triggered'] })).find((e) => (e.data as { notification?: { labels?: Record<string, string> } }).notification?.labels?.alertname === `Run${i}`);
    let escalation: Run['escalation'] = 'missed';
    let escalationDelayMs: number | null = null;
    if (triggered) {
      const pageId = (triggered.data as { pageId: string }).pageId;
      const sent = (await c.events({ types: ['page.sent'] })).find((e) => (e.data as { pageId: string }).pageId === pageId);
      const dueAt = sent ? (sent.data as { dueAt: number }).dueAt : triggered.time + 8000;
      const esc = await until(30_000, async () => (await c.events({ types: ['page.escalated'] })).find((e) => (e.data as { pageId: string }).pageId === pageId));
      if (esc) {
        escalationDelayMs = esc.time - dueAt;
        const bound = Math.max(dueAt, took ?? killedAt) + 1000;
        escalation = esc.time <= dueAt + 1000 ? 'on time' : esc.time <= bound ? 'late within 1 s of takeover' : 'missed';
      }
    }
    runs.push({ run: i, version, killAfterMs, killedPhase, takeoverMs, outcome, consistent, ...(why ? { why } : {}), escalation, escalationDelayMs });
    console.log(`run ${String(i + 1).padStart(2)}/${RUNS}: web@${version}, killed after ${killAfterMs} ms in ${killedPhase}; takeover ${takeoverMs ?? '-'} ms; ${outcome}${consistent ? '' : ` INCONSISTENT (${why})`}; escalation ${escalation}${escalationDelayMs !== null ? ` (${escalationDelayMs} ms after due)` : ''}; client failures so far ${client.seen.failed}; ${Math.round((Date.now() - runStarted) / 1000)} s`);
    // the killed controller comes back, as a standby
    await c.up(li);
  }
} finally {
  if (watch) clearInterval(watch);
  await client?.stop();
}

// the log itself: gapless, no duplicates, every deployment ended, the projections agree with it
const all = await c.events();
let gaps = 0;
for (let k = 1; k < all.length; k++) if (all[k]!.seq !== all[k - 1]!.seq + 1) gaps++;
const duplicates = all.length - new Set(all.map((e) => e.id)).size;
const requested = all.filter((e) => e.type === 'deployment.requested').map(dep);
const ended = new Set(all.filter((e) => ENDS.includes(e.type)).map(dep));
const unended = requested.filter((x) => !ended.has(x)).length;
let projectionMismatches = 0;
for (const i of [0, 1]) {
  const s = (await c.status(i)) as unknown as { deployments?: { id: string; state: string }[] } | undefined;
  for (const x of s?.deployments ?? []) if (x.state === 'running' && ended.has(x.id)) projectionMismatches++;
}
const failuresNearKill = failuresAt.filter((t) => kills.some((k) => t >= k && t <= k + 30_000)).length;
await c.close();

const takeovers = runs.map((r) => r.takeoverMs).filter((x): x is number => x !== null);
const count = (key: (r: Run) => string) => Object.fromEntries([...new Set(runs.map(key))].map((o) => [o, runs.filter((r) => key(r) === o).length]));
const result = {
  measuredAt: new Date().toISOString(),
  durationS: Math.round((Date.now() - started) / 1000),
  machine: { cpus: os.cpus().length, loadavgAtStart: load, loadavgAtEnd: os.loadavg() },
  runs: runs.length,
  runsRequested: RUNS,
  takeoverMs: { median: median(takeovers), worst: Math.max(...takeovers), withoutTakeover: runs.length - takeovers.length },
  inconsistentRollouts: runs.filter((r) => !r.consistent).length,
  outcomes: count((r) => r.outcome),
  killedPhases: count((r) => r.killedPhase),
  events: { total: all.length, seqGaps: gaps, duplicateIds: duplicates, deploymentsWithoutEnd: unended, projectionMismatches },
  clientRequests: client?.seen.requests ?? 0,
  clientFailuresTotal: client?.seen.failed ?? 0,
  clientFailuresFromKills: failuresNearKill,
  escalations: { onTime: runs.filter((r) => r.escalation === 'on time').length, lateWithin1sOfTakeover: runs.filter((r) => r.escalation === 'late within 1 s of takeover').length, missed: runs.filter((r) => r.escalation === 'missed').length },
  perRun: runs,
};
console.log('\nfailover benchmark');
console.log(`  runs                        ${result.runs}${result.runs < RUNS ? ` of ${RUNS} requested (stopped early)` : ''} (leader SIGKILLed at a random point, 0.5-${MAX_KILL_MS / 1000} s into each deployment)`);
console.log(`  takeover time               median ${result.takeoverMs.median} ms, worst ${result.takeoverMs.worst} ms (${result.takeoverMs.withoutTakeover} without takeover)`);
console.log(`  inconsistent rollouts       ${result.inconsistentRollouts}   outcomes ${JSON.stringify(result.outcomes)}`);
console.log(`  events lost / duplicated    seq gaps ${gaps}, duplicate ids ${duplicates}, deployments without end ${unended}, projection mismatches ${projectionMismatches} (of ${all.length} events)`);
console.log(`  client failures from kills  ${failuresNearKill} of ${result.clientRequests} requests (${result.clientFailuresTotal} failures in all)`);
console.log(`  escalations missed          ${result.escalations.missed} (on time ${result.escalations.onTime}, late within 1 s of takeover ${result.escalations.lateWithin1sOfTakeover})`);
mkdirSync(`${root}bench/results`, { recursive: true });
writeFileSync(`${root}bench/results/failover.json`, `${JSON.stringify(result, null, 2)}\n`);
console.log('wrote bench/results/failover.json');
process.exit(0);
