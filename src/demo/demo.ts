// `greenlight demo`: the 3 June 2023 outage replayed on this machine, with the sample services and
// a client load running throughout, then the same upgrade done the Greenlight way.
//   a. v1 serves production; acme-auth is at 2.4.1 in both environments
//   b. v2 goes straight to production with --force --reason (as on 3 June): the canary fails,
//      is rolled back automatically, an incident is opened and its postmortem written
//   c. v2 deployed the normal way: blocked in staging by the compatibility check
//   d. acme-auth upgraded to 3.1.0, v2 deployed again: staging passes, the canary passes, promoted
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startController, type Controller } from '../app/controller.ts';
import { queryType, type StoredEvent } from '../events/log.ts';
import { describeEvent } from '../cli/progress.ts';
import { color } from '../cli/output.ts';
import { registerRelease } from '../releases/releases.ts';
import type { Deployment } from '../state/projection.ts';
import { Incidents } from '../incidents/incidents.ts';
import { draftPostmortem, lintPostmortem } from '../incidents/postmortem.ts';
import { createWorkspace } from './workspace.ts';
import { startLoad, type Load } from './load.ts';

export interface PhaseResult {
  name: string;
  deploymentId: string;
  state: Deployment['state'];
  reason?: string;
  /** client requests that started while the deployment ran, and how many failed */
  requests: number;
  failed: number;
  /** b only: from the canary's first request to the verdict and to weight 0 */
  toVerdictMs?: number;
  toWeightZeroMs?: number;
  /** b only: the canary's first traffic share */
  firstWeight?: number;
  /** b only: the canary's own answers and failures (the evidence), and how many the router answered from stable instead */
  canaryRequests?: number;
  canaryFailed?: number;
  canaryRescued?: number;
}

export interface DemoResult {
  phases: PhaseResult[];
  incidentId?: string;
  postmortem?: string;
  postmortemLint: string[];
  postmortemSections: string[];
  totals: { requests: number; failed: number };
  durationMs: number;
  /** where the demo ran; removed at the end unless kept */
  workspace: string;
  kept: boolean;
}

export interface DemoOptions {
  keep?: boolean;
  /** requests per second the client sends to production */
  rate?: number;
  /** where the postmortem is written (a directory); a fresh temp directory by default */
  out?: string;
  print?: (line: string) => void;
  timeZone?: string;
}

export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const began = Date.now();
  const rate = opts.rate ?? 200;
  const ws = await createWorkspace();
  let controller: Controller | undefined;
  let load: Load | undefined;
  let ticker: NodeJS.Timeout | undefined;
  try {
    print(color.bold('Greenlight demo: the 3 June 2023 outage, replayed'));
    print(color.dim(`workspace ${ws.dir}; acme-auth 2.4.1 in staging and production`));
    controller = await startController({ configPath: ws.config });
    const c = controller;
    const follow = c.events.subscribe((e: StoredEvent) => {
      const line = describeEvent(e);
      if (line && !e.type.startsWith('deployment.requested')) print(line);
    });
    for (const v of ['1.0.0', '2.0.0']) {
      await registerRelease({ service: 'web', version: v, artifact: join(ws.dir, `web/v${v[0]}`), actor: 'user:demo' }, { config: c.config, stateDir: c.loaded.stateDir, events: c.events, state: async () => c.state.view });
    }
    print(color.dim('registered web@1.0.0 (requires acme-auth >=2.0.0 <4) and web@2.0.0 (requires acme-auth >=3.0.0 <4)'));

    const deploy = async (name: string, req: { version: string; force?: boolean; reason?: string; only?: string[] }): Promise<PhaseResult> => {
      const from = Date.now();
      const h = await c.deployer.start({ service: 'web', actor: 'user:demo', ...req });
      const d = await h.done;
      const to = Date.now();
      const w = load ? load.window(from, to) : { requests: 0, failed: 0 };
      return { name, deploymentId: h.id, state: d.state, ...(d.reason ? { reason: d.reason } : {}), requests: w.requests, failed: w.failed };
    };

    print('');
    print(color.bold('a. web@1.0.0 serves production'));
    const a = await deploy('a: v1 to staging and production', { version: '1.0.0' });
    load = startLoad(`http://127.0.0.1:${ws.ports.production}/`, { rate, maxMs: 110_000, timeoutMs: 3000 });
    const l = load;
    if (process.stdout.isTTY) {
      ticker = setInterval(() => {
        const w = l.window(began, Date.now());
        process.stdout.write(color.dim(`   client: ${w.requests} requests, ${w.failed} failed\r`));
      }, 1000);
    }
    await new Promise((r) => setTimeout(r, 1500));

    print('');
    print(color.bold('b. web@2.0.0 goes straight to production, untested, as on 3 June 2023 (--force --reason)'));
    const b = await deploy('b: v2 forced into production', { version: '2.0.0', force: true, reason: 'urgent upgrade, straight to production as on 3 June 2023', only: ['production'] });
    const rolled = (await queryType(c.events, 'deployment.environment.rolled_back', { subject: `deployment/${b.deploymentId}` }))[0];
    const impact = rolled?.data.impact;
    if (impact) Object.assign(b, { canaryRequests: impact.canaryRequests, canaryFailed: impact.canaryFailed, canaryRescued: impact.canaryRescued ?? 0 });
    const firstStep = c.config.environments.at(-1)?.rollout?.steps.find((s) => 'weight' in s);
    if (firstStep && 'weight' in firstStep) b.firstWeight = firstStep.weight;
    if (impact?.firstCanaryRequestAt) {
      if (impact.verdictAt) b.toVerdictMs = impact.verdictAt - impact.firstCanaryRequestAt;
      b.toWeightZeroMs = impact.weightZeroAt - impact.firstCanaryRequestAt;
    }
    // The incident is opened by the automation as the rollback is recorded; give it a moment.
    const incidents = new Incidents({ events: c.events, clock: c.clock });
    let incident = (await incidents.list()).find((i) => i.deploymentIds.includes(b.deploymentId));
    for (let i = 0; i < 50 && !incident; i++) {
      await new Promise((r) => setTimeout(r, 100));
      incident = (await incidents.list()).find((x) => x.deploymentIds.includes(b.deploymentId));
    }
    let postmortemPath: string | undefined;
    let lint: string[] = [];
    let sections: string[] = [];
    if (incident) {
      const report = await incidents.report(incident.id);
      const md = draftPostmortem(report, report.timeline, { ...(opts.timeZone ? { timeZone: opts.timeZone } : {}) });
      const dir = opts.out ?? (opts.keep ? ws.dir : join(tmpdir(), `greenlight-demo-${new Date().toISOString().replace(/[:.]/g, '-')}`));
      mkdirSync(dir, { recursive: true });
      postmortemPath = join(dir, `postmortem-${incident.id}.md`);
      writeFileSync(postmortemPath, md);
      lint = lintPostmortem(md);
      sections = [...md.matchAll(/^## (.+)$/gm)].map((m) => m[1]!);
      print(`   incident ${incident.id} opened: ${incident.title}`);
      print(`   postmortem drafted: ${postmortemPath}`);
    }

    print('');
    print(color.bold('c. web@2.0.0 deployed the normal way: through staging first'));
    const cc = await deploy('c: v2 through staging', { version: '2.0.0' });

    print('');
    print(color.bold('d. acme-auth upgraded to 3.1.0 in staging and production; web@2.0.0 deployed again'));
    await ws.setAuthVersion('staging', '3.1.0');
    await ws.setAuthVersion('production', '3.1.0');
    const d = await deploy('d: v2 after the acme-auth upgrade', { version: '2.0.0' });

    await new Promise((r) => setTimeout(r, 500));
    if (ticker) clearInterval(ticker);
    await load.stop();
    follow();
    const totals = load.window(0, Number.MAX_SAFE_INTEGER);
    const result: DemoResult = {
      phases: [a, b, cc, d],
      ...(incident ? { incidentId: incident.id } : {}),
      ...(postmortemPath ? { postmortem: postmortemPath } : {}),
      postmortemLint: lint,
      postmortemSections: sections,
      totals,
      durationMs: Date.now() - began,
      workspace: ws.dir,
      kept: !!opts.keep,
    };
    printSummary(result, print);
    return result;
  } finally {
    if (ticker) clearInterval(ticker);
    await load?.stop();
    await controller?.stop({ stopAll: true });
    await ws.close({ keep: !!opts.keep });
  }
}

const pct = (f: number, n: number) => (n === 0 ? '0%' : `${((100 * f) / n).toFixed(f === 0 ? 0 : 2)}%`);

function printSummary(r: DemoResult, print: (l: string) => void): void {
  const [, b, c, d] = r.phases;
  print('');
  print(color.bold('What happened'));
  for (const p of r.phases) print(`  ${p.name.padEnd(36)} ${p.state.padEnd(12)} client requests failed: ${p.failed}/${p.requests} (${pct(p.failed, p.requests)})`);
  print('');
  print(color.bold('3 June 2023 vs Greenlight'));
  const rows: [string, string, string][] = [
    ['', '3 June 2023', 'this run'],
    ['bad release reaching users', 'all of production', b ? `a ${b.firstWeight ?? '?'}% canary, straight to production by break-glass` : '-'],
    ['time until traffic was back on the good version', '37 minutes (22 of full outage)', b?.toWeightZeroMs !== undefined ? `${(b.toWeightZeroMs / 1000).toFixed(1)} s after the canary's first request` : '-'],
    ['users / requests hit', '100% of users', b ? `${b.failed} of ${b.requests} client requests during the rollout (${pct(b.failed, b.requests)})` : '-'],
    ['what the canary did', 'n/a', b ? `failed ${b.canaryFailed ?? '?'} of its ${b.canaryRequests ?? '?'} requests; the router answered ${b.canaryRescued ?? 0} of them from stable` : '-'],
    ['rollback decided by', 'a person, 15 minutes after the alert', 'the canary analysis, automatically'],
    ['the normal way (staging first)', 'not used', c ? `${c.state} in staging, ${c.failed} failed requests` : '-'],
    ['after upgrading acme-auth', 'rollback, then manual fixes', d ? `${d.state}, ${d.failed} failed requests` : '-'],
    ['postmortem', 'written by hand', r.postmortem ?? 'not drafted'],
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  for (const [k, x, y] of rows) print(`  ${k.padEnd(w0)}  ${x.padEnd(w1)}  ${y}`);
  print('');
  print(color.dim(`demo finished in ${(r.durationMs / 1000).toFixed(0)} s; ${r.totals.requests} client requests, ${r.totals.failed} failed${r.kept ? `; workspace kept at ${r.workspace}` : ''}`));
}
