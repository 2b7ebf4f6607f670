import type { Command } from 'commander';
import { clientOf, globals } from '../context.ts';
import { color, printJson } from '../output.ts';

interface StatusView {
  controller: { url: string };
  environments: {
    name: string;
    services: {
      service: string;
      stable: { version: string; digest: string; since: number } | null;
      instances: InstanceView[];
      router: { url: string; reachable: boolean; error?: string; versions?: Record<string, { weight: number; requests: number; errors: number }> };
      runningDeployment: string | null;
      rollout?: { paused: boolean; reason?: string; waiting?: string } | null;
    }[];
  }[];
  monitors?: MonitorView[];
  pages?: { id: string; state: string; summary?: string }[];
  deployments: { id: string; service: string; version: string; state: string; reason?: string; overrides: { environment: string; actor: string; reason: string }[]; requestedAt: number; requestedBy?: string; approvals?: { environment: string; state: string; required: number; approvedBy: string[]; requester: string }[] }[];
}

interface MonitorView {
  environment: string;
  service: string;
  router: { versions: { version: string; requestRate: number; errorRatio?: number; p50Ms?: number; p99Ms?: number }[]; lastError?: string };
  probes: { probe: string; url: string; state: string; lastDurationMs?: number; lastError?: string }[];
  processes: { instance: string; version: string; up: boolean; residentBytes?: number; cpuCores?: number; memoryLimitBytes?: number }[];
  slos: {
    name: string;
    objective: number;
    periodMs?: number;
    coveredMs?: number;
    budgetSpent?: number;
    budgetRemaining?: number;
    tooLittleData?: string;
    compliant?: boolean;
    problem?: string;
    alerts: { name?: string; severity?: string; longWindowMs?: number; longWindowFull?: boolean; longBurnRate?: number; shortBurnRate?: number }[];
  }[];
  alerts: { name: string; state: string; value: number; annotations: Record<string, string> }[];
  anomalies: { series: string; score: number; message?: string }[];
  streamIrregularities?: { series: string; warnings: string[] }[];
  trends: { message: string }[];
}

export interface InstanceView {
  id: string;
  version: string;
  port: number;
  state: string;
  restarts: number;
  role?: string;
  /** the host an ssh target runs it on */
  host?: string;
}

/** One instance: on a fleet, the host it runs on is what a person needs first ("web-2:41082"). */
export function instanceLine(i: InstanceView): string {
  return `instance ${i.id} ${i.version} ${i.host ?? ''}:${i.port} ${i.state === 'ready' ? color.green(i.state) : color.yellow(i.state)}${i.restarts ? ` restarts ${i.restarts}` : ''}`;
}

const pctOf = (x: number | undefined, digits = 2) => (x === undefined ? 'n/a' : `${(x * 100).toFixed(digits)}%`);

// under a minute in seconds: a service 25 s old has held "25s", not "0m"
const dur = (ms: number) => (ms >= 86_400_000 ? `${+(ms / 86_400_000).toFixed(1)}d` : ms >= 3_600_000 ? `${+(ms / 3_600_000).toFixed(1)}h` : ms >= 59_500 ? `${Math.round(ms / 60_000)}m` : `${Math.round(ms / 1000)}s`);

/**
 * One SLO in words: budget spent over the window so far (of the whole period's budget), burn rates
 * per alert window (saying when the window is not full yet), and "too little data" where it is.
 */
export function sloLine(s: MonitorView['slos'][number]): string {
  const state = s.compliant === false ? color.red('budget spent') : 'within budget';
  const period = s.periodMs !== undefined ? dur(s.periodMs) : 'period';
  const held = s.coveredMs !== undefined && s.periodMs !== undefined && s.coveredMs < s.periodMs ? ` over the ${dur(s.coveredMs)} so far` : '';
  const budget = s.budgetSpent === undefined ? 'no traffic yet' : `${pctOf(s.budgetSpent, 2)} of the ${period} error budget spent${held} (${pctOf(s.budgetRemaining, 1)} left)`;
  const burns = s.alerts
    .map((a) => {
      const w = a.longWindowMs !== undefined ? dur(a.longWindowMs) : (a.name ?? a.severity ?? '');
      const partial = a.longWindowFull === false && s.coveredMs !== undefined ? ` (${dur(s.coveredMs)} held)` : '';
      return `${w} ${a.longBurnRate === undefined ? 'no traffic' : `${a.longBurnRate.toFixed(1)}x`}${partial}`;
    })
    .join(', ');
  const thin = s.tooLittleData ? color.yellow(`; ${s.tooLittleData}`) : '';
  return `SLO ${s.name} ${pctOf(s.objective, 1)}: ${state}, ${budget}${burns ? color.dim(`; burn ${burns}`) : ''}${thin}${s.problem ? color.yellow(` ${s.problem}`) : ''}`;
}

function printMonitors(monitors: MonitorView[]): void {
  for (const m of monitors) {
    console.log(color.bold(`monitoring ${m.environment}/${m.service}`));
    for (const v of m.router.versions) console.log(`  traffic ${v.version}: ${v.requestRate.toFixed(1)} req/s, errors ${pctOf(v.errorRatio)}, p50 ${v.p50Ms?.toFixed(1) ?? 'n/a'} ms, p99 ${v.p99Ms?.toFixed(1) ?? 'n/a'} ms`);
    for (const p of m.probes) console.log(`  probe ${p.probe} ${p.url} ${p.state === 'up' ? color.green('up') : p.state === 'down' ? color.red('down') : p.state}${p.lastDurationMs !== undefined ? ` ${p.lastDurationMs.toFixed(0)} ms` : ''}${p.lastError ? ` ${p.lastError}` : ''}`);
    for (const p of m.processes) {
      const mib = (b?: number) => (b === undefined ? 'n/a' : `${(b / 1048576).toFixed(0)} MiB`);
      console.log(`  process ${p.instance} ${p.version}: ${p.up ? `rss ${mib(p.residentBytes)}${p.memoryLimitBytes ? ` of ${mib(p.memoryLimitBytes)}` : ''}, cpu ${p.cpuCores?.toFixed(2) ?? 'n/a'} cores` : color.red('down')}`);
    }
    for (const s of m.slos) console.log(`  ${sloLine(s)}`);
    for (const a of m.alerts) console.log(`  alert ${a.state === 'firing' ? color.red(a.name) : color.yellow(a.name)} ${a.state} value ${a.value}${a.annotations.summary ? ` ${a.annotations.summary}` : ''}`);
    for (const a of m.anomalies) console.log(`  ${color.yellow('anomaly')} ${a.message ?? a.series} (score ${a.score.toFixed(2)})`);
    for (const t of m.trends) console.log(`  ${color.yellow('trend')} ${t.message}`);
    for (const w of (m.streamIrregularities ?? []).flatMap((i) => i.warnings)) console.log(`  ${color.dim('stream')} ${w}`);
  }
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('what runs where: stable versions, instances, router traffic, recent deployments')
    .action(async function (this: Command) {
      const client = clientOf(this);
      let s = await client.request<StatusView>('GET', '/v1/status');
      // a standby's own status is a thin view (no environments): follow it to the leader it names
      const named = (s.controller as { role?: string; leader?: string | null } | undefined);
      if (named?.role === 'standby' && named.leader && named.leader !== client.base) {
        client.base = named.leader;
        s = await client.request<StatusView>('GET', '/v1/status').catch(() => s);
      }
      if (globals(this).json) return printJson(s);
      for (const env of s.environments) {
        for (const svc of env.services) {
          console.log(`${color.bold(env.name)} ${svc.service}: ${svc.stable ? `stable ${svc.stable.version}` : 'nothing deployed'}${svc.runningDeployment ? color.yellow(` (deploying: ${svc.runningDeployment})`) : ''}`);
          const r = svc.router;
          if (!r.reachable) console.log(`  router ${r.url} ${color.red(`unreachable: ${r.error}`)}`);
          else {
            const split = Object.entries(r.versions ?? {}).map(([v, x]) => `${v} ${x.weight}% (${x.requests} req, ${x.errors} err)`).join(', ');
            console.log(`  router ${r.url}  ${split || 'no traffic yet'}`);
          }
          if (svc.rollout?.paused) console.log(`  ${color.yellow(`rollout paused: ${svc.rollout.reason ?? ''}`)}`);
          else if (svc.rollout?.waiting) console.log(`  ${color.yellow(`rollout waiting for canary traffic: ${svc.rollout.waiting}`)}`);
          for (const i of svc.instances) console.log(`  ${instanceLine(i)}`);
        }
      }
      if (s.monitors?.length) printMonitors(s.monitors);
      for (const p of s.pages ?? []) console.log(`${color.red('page')} ${p.id} ${p.state} ${p.summary ?? ''}`);
      if (s.deployments.length) {
        console.log(color.bold('recent deployments'));
        for (const d of s.deployments) {
          const forced = d.overrides.map((o) => color.yellow(` [break-glass in ${o.environment} by ${o.actor}: "${o.reason}"]`)).join('');
          const waiting = (d.approvals ?? []).filter((a) => a.state === 'waiting' && d.state === 'running').map((a) => color.yellow(` [waiting for approval in ${a.environment}: ${a.approvedBy.length} of ${a.required}, requested by ${a.requester}; greenlight approve ${d.id}]`)).join('');
          const approved = (d.approvals ?? []).filter((a) => a.state === 'approved').map((a) => color.dim(` [approved in ${a.environment} by ${a.approvedBy.join(', ')}]`)).join('');
          console.log(`  ${d.id} ${d.service}@${d.version} ${d.state}${forced}${waiting}${approved}${d.reason ? color.dim(` ${d.reason}`) : ''}`);
        }
      }
    });
}
